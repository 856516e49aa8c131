/*
 * meta/log.c — the daemon's one-line-per-event log (see log.h): level
 * filtering, logfmt formatting with msg quoted and escaped so that one
 * event is always one line, and the choice between stderr, syslog and the
 * fallback file.
 */
#include "meta/log.h"

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

static enum vlog_level min_level = VLOG_INFO;
static int to_syslog;
static int log_fd = STDERR_FILENO; /* where lines go when not to syslog */
static char fallback[4096];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int vlog_parse_level(const char *s, enum vlog_level *out)
{
	for (int i = VLOG_DEBUG; i <= VLOG_ERROR; i++)
		if (!strcmp(s, level_names[i])) {
			*out = (enum vlog_level)i;
			return 0;
		}
	if (!strcmp(s, "warning")) {
		*out = VLOG_WARN;
		return 0;
	}
	return -1;
}

int vlog_parse_target(const char *s, enum vlog_target *out)
{
	static const char *const names[] = {"auto", "stderr", "syslog"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum vlog_target)i;
			return 0;
		}
	return -1;
}

/* systemd passes JOURNAL_STREAM=DEV:INO of the stream it connected to
 * stderr; it only counts if stderr still is that stream. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void vlog_fallback_file(const char *path)
{
	snprintf(fallback, sizeof fallback, "%s", path);
}

/* Whether a syslog daemon takes lines on _PATH_LOG, tried as glibc's
 * syslog() does: a datagram socket, else a stream one. */
static int syslog_listening(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", _PATH_LOG);
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	for (int i = 0; i < 2; i++) {
		int s = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (s < 0)
			return 0;
		int r = connect(s, (struct sockaddr *)&a, sizeof a), err = errno;
		close(s);
		if (r == 0)
			return 1;
		if (err != EPROTOTYPE)
			return 0;
	}
	return 0;
}

/* Log to the fallback file instead of syslog; 0, or -1 if it cannot be
 * opened (then syslog it is, for lack of anything better). */
static int use_fallback_file(void)
{
	int fd = open(fallback, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	to_syslog = 0;
	dprintf(STDERR_FILENO, "volfs: nothing listens on %s: logging to %s\n", _PATH_LOG, fallback);
	vlog(VLOG_WARN, "daemon", "nothing listens on %s: logging to %s", _PATH_LOG, fallback);
	return 0;
}

void vlog_setup(enum vlog_level min, enum vlog_target target, int daemonized)
{
	min_level = min;
	if (target == VLOG_TO_AUTO)
		to_syslog = daemonized || (!isatty(STDERR_FILENO) && stderr_is_journal());
	else
		to_syslog = target == VLOG_TO_SYSLOG;
	if (to_syslog && *fallback && !syslog_listening() && use_fallback_file() == 0)
		return;
	if (to_syslog)
		openlog("volfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int vlog_enabled(enum vlog_level lvl)
{
	return lvl >= min_level;
}

/* msg="..." with backslash, quote and control characters escaped. */
static size_t put_quoted(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	if (cap < 4)
		return 0;
	out[n++] = '"';
	for (; *s && n + 3 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			out[n++] = '\\';
			out[n++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else if (c < 0x20 || c == 0x7f) {
			out[n++] = '?';
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	out[n] = 0;
	return n;
}

static void timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

void vlog(enum vlog_level lvl, const char *object, const char *fmt, ...)
{
	if (lvl < min_level)
		return;
	char msg[LINE_MAX_LEN], line[LINE_MAX_LEN * 2 + 128], ts[40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	size_t n;
	if (to_syslog) {
		n = (size_t)snprintf(line, sizeof line, "level=%s object=%s msg=", level_names[lvl],
		                     object && *object ? object : "volfs");
		put_quoted(line + n, sizeof line - n, msg);
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		syslog(prio[lvl], "%s", line);
		return;
	}
	timestamp(ts, sizeof ts);
	n = (size_t)snprintf(line, sizeof line, "time=%s level=%s object=%s msg=", ts, level_names[lvl],
	                     object && *object ? object : "volfs");
	n += put_quoted(line + n, sizeof line - n - 1, msg);
	line[n++] = '\n';
	/* One write per line: lines from different threads never interleave. */
	ssize_t w = write(log_fd, line, n);
	(void)w;
}

void vlog_object_name(char *buf, unsigned long len, const char *kind, const char *ns,
                      const char *name)
{
	static const char *const shorts[][2] = {
		{"PersistentVolume", "pv"},      {"PersistentVolumeClaim", "pvc"},
		{"VolumeSnapshot", "vs"},        {"VolumeSnapshotClass", "vsclass"},
		{"StorageClass", "sc"},          {"StatefulSet", "sts"},
		{"ResourceQuota", "quota"},      {"Namespace", "ns"},
		{"Pod", "pod"},                  {"ConfigMap", "cm"},
		{"Secret", "secret"},
	};
	const char *k = kind;
	for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++)
		if (!strcmp(kind, shorts[i][0]))
			k = shorts[i][1];
	if (ns && *ns)
		snprintf(buf, len, "%s/%s/%s", k, ns, name);
	else
		snprintf(buf, len, "%s/%s", k, name);
}
