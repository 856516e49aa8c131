/*
 * fs/control/httpd.c — libmicrohttpd glue for the daemon's HTTP servers (see
 * httpd.h): a body is gathered up to the server's limit (a longer one is
 * read and dropped, and the handler told), then the handler answers.
 * Parsing, keep-alive, HEAD and client time-outs are libmicrohttpd's.
 */
#include "fs/control/httpd.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/db.h"
#include "meta/log.h"

/* The thread polls every connection, so a stalled client delays no other;
 * an idle or stalled one is closed after this long, so that such clients
 * cannot use up the connection limit. */
#define CLIENT_TIMEOUT_S 30
#define CONNECTIONS_MAX 64

struct httpd {
	struct MHD_Daemon *mhd;
	size_t body_max;
	httpd_handler handler;
	void *arg;
	char object[128];
};

/* One request's body as it arrives. */
struct pending {
	char *buf;
	size_t len, cap;
	int too_large;
};

static void log_mhd(void *arg, const char *fmt, va_list ap)
{
	struct httpd *h = arg;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = 0;
	vlog_debug(h->object, "%s", line);
}

static void append_body(struct httpd *h, struct pending *p, const char *data, size_t n)
{
	if (p->too_large || p->len + n > h->body_max) {
		p->too_large = 1;
		return;
	}
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 1024;
		while (cap < p->len + n + 1)
			cap *= 2;
		char *bigger = realloc(p->buf, cap);
		if (!bigger) {
			p->too_large = 1;
			return;
		}
		p->buf = bigger;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, data, n);
	p->len += n;
	p->buf[p->len] = 0;
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct httpd_reply *reply)
{
	struct MHD_Response *resp =
		reply->body ? MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE)
		            : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(reply->body);
		return MHD_NO;
	}
	if (reply->type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->type);
	if (reply->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
	enum MHD_Result r = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct pending *p = *con_cls;
	(void)version;
	if (!p) { /* the headers are in; the body (if any) follows */
		p = calloc(1, sizeof *p);
		*con_cls = p;
		return p ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		append_body(h, p, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct httpd_request req = {.method = method, .path = url, .body = p->buf && !p->too_large ? p->buf : "",
	                            .len = p->too_large ? 0 : p->len, .too_large = p->too_large};
	struct httpd_reply reply = {.status = 500};
	/* the metrics and the Docker plugin: control-plane work, which lets
	 * the data path go first for the db lock */
	db_thread_background();
	h->handler(h->arg, &req, &reply);
	return queue_reply(conn, &reply);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct pending *p = *con_cls;
	if (p) {
		free(p->buf);
		free(p);
	}
	*con_cls = NULL;
}

int httpd_start(struct httpd **out, int listen_fd, size_t body_max, httpd_handler handler, void *arg,
                const char *object, char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->body_max = body_max;
	h->handler = handler;
	h->arg = arg;
	snprintf(h->object, sizeof h->object, "%s", object);
	h->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                          on_request, h,
	                          MHD_OPTION_EXTERNAL_LOGGER, log_mhd, h,
	                          MHD_OPTION_LISTEN_SOCKET, listen_fd,
	                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CLIENT_TIMEOUT_S,
	                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
	                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	                          MHD_OPTION_END);
	if (!h->mhd) {
		free(h);
		snprintf(err, errlen, "%s: cannot start the HTTP server", object);
		return -1;
	}
	*out = h;
	return 0;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd); /* closes the listening socket too */
	free(h);
}

void httpd_reply_text(struct httpd_reply *reply, unsigned status, const char *type, const char *text)
{
	reply->status = status;
	reply->type = type;
	reply->len = strlen(text);
	reply->body = strdup(text);
	if (!reply->body)
		reply->len = 0;
}
