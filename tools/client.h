/*
 * tools/client.h — one request/answer exchange with the volfs daemon over
 * its control socket (docs/control-protocol.md): connect, write one JSON
 * object and a newline, read one JSON object back.
 */
#ifndef VOLFS_TOOLS_CLIENT_H
#define VOLFS_TOOLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define CLIENT_DEFAULT_STATE "/var/lib/volfs"
#define CLIENT_SOCKET_NAME "control.sock"

enum client_status {
	CLIENT_OK = 0,
	CLIENT_UNREACHABLE, /* no daemon: message is the whole "cannot connect ..." line */
	CLIENT_BROKEN,      /* the exchange failed half-way or the answer was not JSON */
	CLIENT_REFUSED,     /* the daemon answered ok:false; message is its "error" */
	CLIENT_TOO_LARGE,   /* not sent: over the protocol's request limit */
};

struct client_error {
	char message[1024]; /* one line, no prefix */
	char reason[32];    /* Kubernetes status reason ("NotFound"), or "" */
};

/* How long a request may wait for its answer unless --request-timeout
 * says otherwise: long enough for an apply of thousands of objects. */
#define CLIENT_DEFAULT_TIMEOUT "5m"

/* A duration as kubectl's --request-timeout takes it: Go's units h, m, s
 * and ms, combined ("1m30s"), or a bare number of seconds; "0" means no
 * limit. 0 with *ms set, or -1. */
int client_parse_duration(const char *s, int64_t *ms);
/* The limit on every later client_call, connect to answer (0: none). */
void client_set_timeout(int64_t ms);

/* The socket for a state directory: STATE/control.sock. */
void client_socket_path(const char *state_dir, char *buf, size_t len);

/* Send request and wait for the answer. On CLIENT_OK *result is a new
 * reference to the answer's "result" member (an empty object if the daemon
 * sent none) that the caller must json_object_put. Otherwise *result is
 * NULL and err says why. */
enum client_status client_call(const char *socket_path, struct json_object *request,
			       struct json_object **result, struct client_error *err);

/* A watch (get -w, wait): the first answer like client_call's, then one
 * JSON line per change until either side closes. */
struct client_stream;
enum client_status client_watch(const char *socket_path, struct json_object *request,
				struct json_object **result, struct client_stream **stream,
				struct client_error *err);
/* The next change, waiting at most timeout_ms (-1: forever). 1 with
 * *event set (a new reference), 0 on timeout, -1 when the stream ended
 * or broke. */
int client_stream_next(struct client_stream *s, int timeout_ms, struct json_object **event);
void client_stream_close(struct client_stream *s);

#endif
