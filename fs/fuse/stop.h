/*
 * fs/fuse/stop.h — ending the daemon's FUSE mount at shutdown (`volctl
 * shutdown`, SIGTERM): the kernel's dirty pages written back while the
 * workers still serve, within a bound, then a connection that ends at once
 * even while a process still holds a file open in the mount.
 */
#ifndef VOLFS_FS_FUSE_STOP_H
#define VOLFS_FS_FUSE_STOP_H

/* How long a shutdown waits for the kernel to write its dirty pages back. */
#define STOP_WRITEBACK_MS 10000

struct stop_writeback;

/* syncfs(2) through PATH: the kernel writes back every dirty page of the
 * mount (and the times it owns) and returns once the last WRITE is
 * answered, so the daemon's workers must be serving and the caller must
 * hold nothing a WRITE needs. 0, or a negative errno. */
int stop_syncfs(const char *path);

/* FN(ARG) in a thread of its own: the caller waits for it with a bound
 * and is never caught by a write-back that cannot finish. NULL if no
 * thread could be started. */
struct stop_writeback *stop_write_back_start(int (*fn)(void *arg), void *arg);
/* FN's result once it returned, or -ETIMEDOUT after TIMEOUT_MS. */
int stop_write_back_wait(struct stop_writeback *w, int timeout_ms);
/* Once the connection has ended (FN's waits on the kernel then fail at
 * once): join the thread and free W; W may be NULL. */
void stop_write_back_end(struct stop_writeback *w);

/* Unmount PATH so the connection ends now: an abort (MNT_FORCE) and a
 * detach, so a /dev/fuse read or ring entry waiting for the next request
 * fails at once instead of waiting for the mount's last user to leave;
 * whatever that user asks afterwards fails with ENOTCONN. 0, or a
 * negative errno (not permitted: not root), the caller then unmounts the
 * ordinary (lazy) way. */
int stop_abort_mount(const char *path);

#endif
