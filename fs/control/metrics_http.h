/*
 * fs/control/metrics_http.h — --metrics-listen: an HTTP server (libmicrohttpd)
 * that serves GET (and HEAD) /metrics with the Prometheus exposition, 404
 * for any other path, 405 for other methods.
 */
#ifndef VOLFS_FS_METRICS_HTTP_H
#define VOLFS_FS_METRICS_HTTP_H

#include <stddef.h>

#include "fs/vfs/vfs.h"

struct metrics_http;

/* ADDR is PORT (loopback: 127.0.0.1), HOST:PORT or [IPV6]:PORT. An empty
 * host (":9464") is refused: listening beyond loopback must be written out
 * (0.0.0.0:9464). Returns 0, or -1 with a one-line reason in err. */
int metrics_http_parse(const char *addr, char *host, size_t hostlen, char *port, size_t portlen,
                       char *err, size_t errlen);
/* Bind and listen (before the daemon forks, so that a port in use is
 * reported on the terminal); metrics_http_run then starts serving. */
int metrics_http_start(struct metrics_http **out, struct vfs *v, const char *addr, char *err,
                       size_t errlen);
int metrics_http_run(struct metrics_http *h, char *err, size_t errlen);
/* Stop serving and close (h may be NULL). */
void metrics_http_stop(struct metrics_http *h);

#endif
