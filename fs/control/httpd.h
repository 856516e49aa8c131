/*
 * fs/control/httpd.h — the daemon's HTTP servers (the metrics endpoint and the
 * Docker volume plugin) on libmicrohttpd: a server on a socket the caller
 * has bound, requests handed over whole (method, path, body), answers
 * built by the caller. One internal thread per server, so a handler runs
 * for one request at a time.
 */
#ifndef VOLFS_FS_HTTPD_H
#define VOLFS_FS_HTTPD_H

#include <stddef.h>

struct httpd;

struct httpd_request {
	const char *method;
	const char *path;       /* without the query string */
	const char *body;       /* NUL-terminated; "" when none */
	size_t len;
	int too_large;          /* the body passed the server's limit (body is "") */
};

struct httpd_reply {
	unsigned status;
	const char *type;       /* Content-Type */
	const char *allow;      /* an Allow header (405), or NULL */
	char *body;             /* malloc'ed; the server frees it */
	size_t len;             /* (a HEAD request gets the headers only) */
};

/* Fills reply; reply->body NULL means an empty body. */
typedef void (*httpd_handler)(void *arg, const struct httpd_request *req, struct httpd_reply *reply);

/* Serve on listen_fd (bound and listening; the server owns it once
 * started; on failure the caller still does). body_max: the largest body accepted. object names
 * the server in the log. Call with the daemon's signals blocked: the
 * server's thread inherits the mask. 0, or -1 with a reason in err. */
int httpd_start(struct httpd **out, int listen_fd, size_t body_max, httpd_handler handler, void *arg,
                const char *object, char *err, size_t errlen);
/* Stop serving, wait for the thread and close the socket (h may be NULL). */
void httpd_stop(struct httpd *h);

/* A reply whose body is a copy of text. */
void httpd_reply_text(struct httpd_reply *reply, unsigned status, const char *type, const char *text);

#endif
