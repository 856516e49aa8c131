/*
 * fs/control/metrics_http.c — the --metrics-listen endpoint (see metrics_http.h):
 * the address parsed and bound here, HTTP served by libmicrohttpd
 * (fs/control/httpd.c).
 */
#include "fs/control/metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fs/control/httpd.h"
#include "fs/control/metrics.h"
#include "meta/log.h"

#define TEXT_TYPE "text/plain; charset=utf-8"

struct metrics_http {
	struct vfs *v;
	int fd;             /* listening, until the server owns it */
	struct httpd *server;
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

/* GET (or HEAD) /metrics; 405 for other methods, 404 for other paths. */
static void answer(void *arg, const struct httpd_request *req, struct httpd_reply *reply)
{
	struct metrics_http *h = arg;
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		httpd_reply_text(reply, 405, TEXT_TYPE, "only GET /metrics\n");
		reply->allow = "GET, HEAD";
		return;
	}
	if (strcmp(req->path, "/metrics")) {
		httpd_reply_text(reply, 404, TEXT_TYPE, "not found: the metrics are at /metrics\n");
		return;
	}
	size_t len;
	char *text = metrics_render(h->v, &len);
	if (!text) {
		httpd_reply_text(reply, 500, TEXT_TYPE, "out of memory\n");
		return;
	}
	reply->status = 200;
	reply->type = METRICS_CONTENT_TYPE;
	reply->body = text;
	reply->len = len;
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
	*out = h;
	return 0;
}

int metrics_http_run(struct metrics_http *h, char *err, size_t errlen)
{
	char why[256];
	if (httpd_start(&h->server, h->fd, 0, answer, h, h->object, why, sizeof why) < 0) {
		snprintf(err, errlen, "--metrics-listen: %s", why);
		return -1;
	}
	h->fd = -1;
	vlog_info(h->object, "serving the metrics at http://%s/metrics", h->object + strlen("metrics/"));
	return 0;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	httpd_stop(h->server);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}
