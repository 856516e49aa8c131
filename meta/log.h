/*
 * meta/log.h — the daemon's log: one line per event, with a level and the
 * object it concerns, in logfmt:
 *
 *   time=2026-12-01T21:00:00.123Z level=info object=pvc/default/db msg="..."
 *
 * to stderr (foreground) or to syslog, which journald collects (daemonized,
 * or under systemd); syslog lines carry no time= (syslog adds its own) and
 * the level also becomes the syslog priority. Where nothing listens on
 * /dev/log (a container), syslog would drop every line without a word, so
 * the lines go to a fallback file instead, and the first says so. Lives in meta/ because the
 * metadata code the daemon and volctl share logs through it too.
 */
#ifndef VOLFS_META_LOG_H
#define VOLFS_META_LOG_H

enum vlog_level { VLOG_DEBUG, VLOG_INFO, VLOG_WARN, VLOG_ERROR };
enum vlog_target { VLOG_TO_AUTO, VLOG_TO_STDERR, VLOG_TO_SYSLOG };

/* "debug", "info", "warn" (or "warning"), "error"; -1 if none of them. */
int vlog_parse_level(const char *s, enum vlog_level *out);
/* "auto", "stderr", "syslog"; -1 if none of them. */
int vlog_parse_target(const char *s, enum vlog_target *out);
/* AUTO: syslog when daemonized (daemonized=1) or when stderr is the
 * journal's stream (systemd sets JOURNAL_STREAM), stderr otherwise. */
void vlog_setup(enum vlog_level min, enum vlog_target target, int daemonized);
/* Where a later vlog_setup that chooses syslog sends the log instead when
 * nothing listens on /dev/log (appended to, mode 0600). It also writes the
 * notice naming the file to stderr, for whoever started the daemon. */
void vlog_fallback_file(const char *path);
int vlog_enabled(enum vlog_level lvl);

/* object: "pv/NAME", "pvc/NS/NAME", "state/DIR", ... (NULL: "volfs"). */
void vlog(enum vlog_level lvl, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The object name of a Kubernetes object: "pvc/NS/NAME" or "pv/NAME". */
void vlog_object_name(char *buf, unsigned long len, const char *kind, const char *ns,
                      const char *name);

#define vlog_debug(obj, ...) vlog(VLOG_DEBUG, obj, __VA_ARGS__)
#define vlog_info(obj, ...) vlog(VLOG_INFO, obj, __VA_ARGS__)
#define vlog_warn(obj, ...) vlog(VLOG_WARN, obj, __VA_ARGS__)
#define vlog_error(obj, ...) vlog(VLOG_ERROR, obj, __VA_ARGS__)

#endif
