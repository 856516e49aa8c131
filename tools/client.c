/*
 * tools/client.c — the control-socket exchange of volctl (see client.h).
 * One connection per request, as the protocol says; the client writes one
 * line and reads until the daemon's newline or end of stream.
 */
#include "tools/client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "meta/protocol.h"

/* An answer larger than this is treated as a broken daemon rather than
 * eating the machine's memory. */
#define CLIENT_MAX_ANSWER (256u << 20)

static int64_t timeout_ms;
static int64_t deadline_ms; /* of the call in progress; 0: none */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void client_set_timeout(int64_t ms)
{
	timeout_ms = ms;
}

/* One "<number><unit>" term of a duration; *s advances past it. */
static int duration_term(const char **s, int64_t *ms)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "ms", 1 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};
	char *end;
	errno = 0;
	long long n = strtoll(*s, &end, 10);

	if (end == *s || n < 0 || errno)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t len = strlen(units[i].unit);

		if (!strncmp(end, units[i].unit, len)) {
			if (n > INT64_MAX / units[i].ms / 2)
				return -1;
			*ms = n * units[i].ms;
			*s = end + len;
			return 0;
		}
	}
	return -1;
}

int client_parse_duration(const char *s, int64_t *ms)
{
	char *end;
	long long secs;

	if (!*s)
		return -1;
	secs = strtoll(s, &end, 10);
	if (!*end) { /* a bare number: seconds, as kubectl reads it */
		if (secs < 0 || secs > INT64_MAX / 1000)
			return -1;
		*ms = secs * 1000;
		return 0;
	}
	*ms = 0;
	while (*s) {
		int64_t term;

		if (duration_term(&s, &term) < 0 || *ms > INT64_MAX / 2 - term)
			return -1;
		*ms += term;
	}
	return 0;
}

/* Wait until fd is ready for events before the call's deadline: 1 ready,
 * 0 timed out (errno ETIMEDOUT). */
static int wait_ready(int fd, short events)
{
	for (;;) {
		int64_t left = deadline_ms ? deadline_ms - now_ms() : -1;
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (deadline_ms && left <= 0)
			break;
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0 || (n < 0 && errno != EINTR))
			return 1; /* the read or write that follows says what happened */
	}
	errno = ETIMEDOUT;
	return 0;
}

static void set_error(struct client_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	err->reason[0] = '\0';
}

void client_socket_path(const char *state_dir, char *buf, size_t len)
{
	size_t n = strlen(state_dir);
	int slash = n > 0 && state_dir[n - 1] == '/';

	snprintf(buf, len, "%s%s%s", state_dir, slash ? "" : "/", CLIENT_SOCKET_NAME);
}

/* Connect to the daemon's socket; returns the fd or -1 with err set to the
 * user-facing "cannot connect" line. */
static int connect_daemon(const char *path, struct client_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof addr.sun_path) {
		set_error(err, "cannot connect to the volfs daemon at %s: socket path longer than %zu bytes",
			  path, sizeof addr.sun_path - 1);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_error(err, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	if (timeout_ms) {
		/* A Unix socket's connect waits for room in a full backlog
		 * only this long. */
		struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	while (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		if (errno == EINTR)
			continue;
		set_error(err, "cannot connect to the volfs daemon at %s: %s (is volfs running?)",
			  path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* MSG_NOSIGNAL: a daemon that hangs up early must give an error, not kill
 * volctl with SIGPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (!wait_ready(fd, POLLOUT))
			return -1;
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until a newline or end of stream. Returns a NUL-terminated buffer
 * to free, or NULL with errno set. */
static char *recv_line(int fd, size_t *out_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1), *grown;

	while (buf) {
		ssize_t n;

		if (len == cap) {
			if (cap >= CLIENT_MAX_ANSWER) {
				errno = EMSGSIZE;
				break;
			}
			cap *= 2;
			grown = realloc(buf, cap + 1);
			if (!grown)
				break;
			buf = grown;
		}
		if (!wait_ready(fd, POLLIN))
			break;
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			break;
		if (n == 0 || memchr(buf + len, '\n', (size_t)n)) {
			len += (size_t)n;
			buf[len] = '\0';
			*out_len = len;
			return buf;
		}
		len += (size_t)n;
	}
	int e = errno;
	free(buf);
	errno = e;
	return NULL;
}

/* Copy a daemon-supplied string as one printable line. */
static void copy_one_line(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < len; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
	dst[i] = '\0';
}

/* Turn a parsed answer into a status: result on success, the daemon's
 * message on refusal. */
static enum client_status unpack_answer(struct json_object *answer, struct json_object **result,
					struct client_error *err)
{
	struct json_object *ok, *res, *msg, *reason;

	if (!json_object_is_type(answer, json_type_object) ||
	    !json_object_object_get_ex(answer, "ok", &ok)) {
		set_error(err, "the volfs daemon sent an answer without \"ok\"");
		return CLIENT_BROKEN;
	}
	if (json_object_get_boolean(ok)) {
		if (json_object_object_get_ex(answer, "result", &res) && res)
			*result = json_object_get(res);
		else
			*result = json_object_new_object();
		return CLIENT_OK;
	}
	if (json_object_object_get_ex(answer, "error", &msg) && json_object_is_type(msg, json_type_string))
		copy_one_line(err->message, sizeof err->message, json_object_get_string(msg));
	else
		set_error(err, "the volfs daemon refused the request without saying why");
	err->reason[0] = '\0';
	if (json_object_object_get_ex(answer, "reason", &reason) && json_object_is_type(reason, json_type_string))
		copy_one_line(err->reason, sizeof err->reason, json_object_get_string(reason));
	return CLIENT_REFUSED;
}

static enum client_status exchange(int fd, const char *text, size_t text_len,
				   struct json_object **result, struct client_error *err)
{
	struct json_object *answer;
	enum client_status st;
	size_t len;
	char *line;

	if (send_all(fd, text, text_len) < 0 || send_all(fd, "\n", 1) < 0) {
		set_error(err, "cannot send the request to the volfs daemon: %s", strerror(errno));
		return CLIENT_BROKEN;
	}
	line = recv_line(fd, &len);
	if (!line && errno == ETIMEDOUT) {
		if (timeout_ms % 1000)
			set_error(err, "the volfs daemon did not answer within %lldms (--request-timeout)",
				  (long long)timeout_ms);
		else
			set_error(err, "the volfs daemon did not answer within %llds (--request-timeout)",
				  (long long)(timeout_ms / 1000));
		return CLIENT_BROKEN;
	}
	if (!line) {
		set_error(err, "cannot read the answer of the volfs daemon: %s", strerror(errno));
		return CLIENT_BROKEN;
	}
	if (len == 0) {
		free(line);
		set_error(err, "the volfs daemon closed the connection without answering");
		return CLIENT_BROKEN;
	}
	answer = json_tokener_parse(line);
	free(line);
	if (!answer) {
		set_error(err, "the volfs daemon sent an answer that is not JSON");
		return CLIENT_BROKEN;
	}
	st = unpack_answer(answer, result, err);
	json_object_put(answer);
	return st;
}

enum client_status client_call(const char *socket_path, struct json_object *request,
			       struct json_object **result, struct client_error *err)
{
	const char *text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t text_len = strlen(text);
	enum client_status st;
	int fd;

	*result = NULL;
	/* The daemon would refuse it after reading it all: say so before
	 * connecting and sending megabytes. */
	if (text_len + 1 > PROTOCOL_REQUEST_MAX) {
		set_error(err, "request of %zu bytes exceeds the control protocol's limit of %s (%u bytes)",
			  text_len + 1, PROTOCOL_REQUEST_MAX_TEXT, PROTOCOL_REQUEST_MAX);
		return CLIENT_TOO_LARGE;
	}
	deadline_ms = timeout_ms ? now_ms() + timeout_ms : 0;
	fd = connect_daemon(socket_path, err);
	if (fd < 0)
		return CLIENT_UNREACHABLE;
	st = exchange(fd, text, text_len, result, err);
	close(fd);
	return st;
}

/* ------------------------------------------------------------------ */
/* watch streams */

struct client_stream {
	int fd;
	char *buf;
	size_t len, cap;
};

/* A complete line in the buffer, taken out of it (to free), or NULL. */
static char *take_line(struct client_stream *s)
{
	char *nl = s->len ? memchr(s->buf, '\n', s->len) : NULL, *line;
	size_t n;

	if (!nl)
		return NULL;
	n = (size_t)(nl - s->buf);
	line = strndup(s->buf, n);
	if (!line)
		return NULL;
	memmove(s->buf, nl + 1, s->len - n - 1);
	s->len -= n + 1;
	return line;
}

/* Read what is there into the buffer: 1, 0 on timeout, -1 at the end. */
static int fill(struct client_stream *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	ssize_t n;
	int r;

	while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return 0;
	if (r < 0)
		return -1;
	if (s->cap - s->len < 4096) {
		char *grown;

		if (s->cap >= CLIENT_MAX_ANSWER)
			return -1;
		s->cap = s->cap ? s->cap * 2 : 65536;
		grown = realloc(s->buf, s->cap);
		if (!grown)
			return -1;
		s->buf = grown;
	}
	while ((n = read(s->fd, s->buf + s->len, s->cap - s->len)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return -1;
	s->len += (size_t)n;
	return 1;
}

/* The next line, waiting at most timeout_ms; see client_stream_next. */
static int next_line(struct client_stream *s, int timeout_ms, char **line)
{
	int r;

	while (!(*line = take_line(s)))
		if ((r = fill(s, timeout_ms)) <= 0)
			return r;
	return 1;
}

int client_stream_next(struct client_stream *s, int timeout_ms, struct json_object **event)
{
	char *line;
	int r = next_line(s, timeout_ms, &line);

	if (r <= 0)
		return r;
	*event = json_tokener_parse(line);
	free(line);
	return *event ? 1 : -1;
}

void client_stream_close(struct client_stream *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s->buf);
	free(s);
}

enum client_status client_watch(const char *socket_path, struct json_object *request,
				struct json_object **result, struct client_stream **stream,
				struct client_error *err)
{
	const char *text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	struct client_stream *s = calloc(1, sizeof *s);
	struct json_object *answer;
	enum client_status st;
	char *line = NULL;

	*result = NULL;
	*stream = NULL;
	if (!s)
		abort();
	/* --request-timeout bounds the connect and the request; the stream
	 * itself lasts as long as the caller reads it. */
	deadline_ms = timeout_ms ? now_ms() + timeout_ms : 0;
	if ((s->fd = connect_daemon(socket_path, err)) < 0) {
		free(s);
		return CLIENT_UNREACHABLE;
	}
	if (send_all(s->fd, text, strlen(text)) < 0 || send_all(s->fd, "\n", 1) < 0 ||
	    next_line(s, -1, &line) <= 0) {
		set_error(err, "the volfs daemon closed the connection without answering");
		client_stream_close(s);
		return CLIENT_BROKEN;
	}
	answer = json_tokener_parse(line);
	free(line);
	if (!answer) {
		set_error(err, "the volfs daemon sent an answer that is not JSON");
		client_stream_close(s);
		return CLIENT_BROKEN;
	}
	st = unpack_answer(answer, result, err);
	json_object_put(answer);
	if (st != CLIENT_OK)
		client_stream_close(s);
	else
		*stream = s;
	return st;
}
