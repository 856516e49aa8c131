/*
 * fs/control/metrics_http.c — the --metrics-listen responder (see metrics_http.h).
 * Only the request line matters: "GET /metrics HTTP/1.1". Headers are read
 * and ignored; a client that sends nothing for a few seconds is dropped so
 * that it cannot hold the single serving thread.
 */
#include "fs/control/metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fs/control/metrics.h"
#include "meta/log.h"

#define REQUEST_HEAD_MAX 8192
#define CLIENT_TIMEOUT_MS 5000

struct metrics_http {
	struct vfs *v;
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	int running;
	char object[300];
};

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int metrics_http_parse(const char *addr, char *host, size_t hostlen, char *port, size_t portlen,
                       char *err, size_t errlen)
{
	const char *colon = strrchr(addr, ':');
	if (!colon) {
		snprintf(host, hostlen, "127.0.0.1");
		snprintf(port, portlen, "%s", addr);
	} else if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close + 1 != colon) {
			snprintf(err, errlen, "--metrics-listen %s: write an IPv6 address as [ADDR]:PORT", addr);
			return -1;
		}
		snprintf(host, hostlen, "%.*s", (int)(close - addr - 1), addr + 1);
		snprintf(port, portlen, "%s", colon + 1);
	} else {
		snprintf(host, hostlen, "%.*s", (int)(colon - addr), addr);
		snprintf(port, portlen, "%s", colon + 1);
	}
	if (!*host) {
		snprintf(err, errlen, "--metrics-listen %s: no address; give PORT for loopback only, "
		         "or write the address to listen on (0.0.0.0:PORT for every interface)", addr);
		return -1;
	}
	if (!all_digits(port) || atoi(port) < 1 || atoi(port) > 65535 || strlen(port) > 5) {
		snprintf(err, errlen, "--metrics-listen %s: port must be a number from 1 to 65535", addr);
		return -1;
	}
	return 0;
}

/* Bind and listen; object gets the log object name, "metrics/HOST:PORT". */
static int listen_on(const char *addr, char *object, size_t objlen, char *err, size_t errlen)
{
	char host[256], port[16];
	if (metrics_http_parse(addr, host, sizeof host, port, sizeof port, err, errlen) < 0)
		return -1;
	snprintf(object, objlen, strchr(host, ':') ? "metrics/[%s]:%s" : "metrics/%s:%s", host, port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "--metrics-listen %s: %s", addr, gai_strerror(r));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "--metrics-listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, const char *status, const char *type, const char *extra,
                    const char *body, size_t len, int head_only)
{
	char head[512];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
	                 status, type, len, extra);
	send_all(fd, head, (size_t)n);
	if (!head_only)
		send_all(fd, body, len);
}

static void respond_text(int fd, const char *status, const char *extra, const char *body)
{
	respond(fd, status, "text/plain; charset=utf-8", extra, body, strlen(body), 0);
}

/* Read until the end of the request head; the length read or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t used = 0;
	while (used < cap - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, CLIENT_TIMEOUT_MS) <= 0)
			return -1;
		ssize_t n = recv(fd, buf + used, cap - 1 - used, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	buf[used] = 0;
	return (ssize_t)used;
}

static void serve_one(struct metrics_http *h, int fd)
{
	char buf[REQUEST_HEAD_MAX], method[16], target[2048], version[16];
	if (read_head(fd, buf, sizeof buf) <= 0)
		return;
	buf[strcspn(buf, "\r\n")] = 0;
	if (sscanf(buf, "%15s %2047s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		respond_text(fd, "400 Bad Request", "", "bad request line\n");
		return;
	}
	int head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		respond_text(fd, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "only GET /metrics\n");
		return;
	}
	target[strcspn(target, "?")] = 0;
	if (strcmp(target, "/metrics")) {
		respond_text(fd, "404 Not Found", "", "not found: the metrics are at /metrics\n");
		return;
	}
	size_t len;
	char *text = metrics_render(h->v, &len);
	if (!text) {
		respond_text(fd, "500 Internal Server Error", "", "out of memory\n");
		return;
	}
	respond(fd, "200 OK", METRICS_CONTENT_TYPE, "", text, len, head);
	free(text);
}

static void *http_main(void *arg)
{
	struct metrics_http *h = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = h->fd, .events = POLLIN}, {.fd = h->stop_pipe[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			vlog_error(h->object, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(h, c);
		close(c);
	}
	return NULL;
}

int metrics_http_start(struct metrics_http **out, struct vfs *v, const char *addr, char *err,
                       size_t errlen)
{
	struct metrics_http *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->v = v;
	h->fd = listen_on(addr, h->object, sizeof h->object, err, errlen);
	if (h->fd < 0) {
		free(h);
		return -1;
	}
	if (pipe2(h->stop_pipe, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "--metrics-listen: %s", strerror(errno));
		close(h->fd);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

int metrics_http_run(struct metrics_http *h, char *err, size_t errlen)
{
	int r = pthread_create(&h->thread, NULL, http_main, h);
	if (r != 0) {
		snprintf(err, errlen, "--metrics-listen: cannot start the responder: %s", strerror(r));
		return -1;
	}
	h->running = 1;
	vlog_info(h->object, "serving the metrics at http://%s/metrics", h->object + strlen("metrics/"));
	return 0;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	if (h->running) {
		ssize_t w = write(h->stop_pipe[1], "x", 1);
		(void)w;
		pthread_join(h->thread, NULL);
	}
	close(h->fd);
	close(h->stop_pipe[0]);
	close(h->stop_pipe[1]);
	free(h);
}
