/*
 * fs/fuse/uring_transport.h — FUSE-over-io_uring: serving the kernel's
 * ordinary FUSE requests from one io_uring queue per CPU instead of
 * reading them from /dev/fuse (--fuse-transport; the contract is in
 * uring_transport.c's head comment).
 */
#ifndef VOLFS_FS_FUSE_URING_TRANSPORT_H
#define VOLFS_FS_FUSE_URING_TRANSPORT_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* dev: /dev/fuse only (the default). uring: the rings when the kernel
 * offers them, else /dev/fuse with a warning. auto: the same, silently. */
enum fuse_transport_mode { FUSE_MODE_DEV, FUSE_MODE_URING, FUSE_MODE_AUTO };

/* "dev", "uring" or "auto"; -EINVAL for anything else. */
int uring_transport_parse(const char *s, enum fuse_transport_mode *out);

/* How a ring thread serves one request held in memory (as a /dev/fuse
 * worker would: note it, then fuse_session_process_buf). */
typedef void (*uring_serve_fn)(struct fuse_session *se, const struct fuse_buf *buf);

/* Once mounted, before the INIT request is read. 0 or -errno (the rings
 * are then never offered). */
int uring_transport_setup(enum fuse_transport_mode mode, struct fuse_session *se,
                          uring_serve_fn serve);

/* From the /dev/fuse hooks: the kernel's INIT flags (flags2 in the upper
 * half); then the INIT reply libfuse is about to write, which asks for the
 * rings when the mode wants and the kernel offers them: 1 if it now does
 * (call uring_transport_start once the reply is written), else 0. */
void uring_transport_note_init(uint64_t kernel_flags);
int uring_transport_answer_init(struct fuse_init_out *out, size_t len);
void uring_transport_start(void);

/* The custom writev's first look at a reply: if it answers the request
 * the calling thread took from its ring, commit it there, set *ret to
 * what writev would return (bytes, or -1 with errno) and return 1;
 * otherwise (a /dev/fuse request's reply, a notification) return 0. */
int uring_transport_reply(const struct iovec *iov, int count, ssize_t *ret);

/* After unmounting: wait for the rings' threads, which stop when the
 * kernel ends the connection, and release the rings. */
void uring_transport_stop(void);

/* Whether the calling thread is serving a request from a ring. */
int uring_transport_serving(void);

/* Where a reply of up to len bytes to the request the calling thread is
 * serving from a ring can be built in place: the entry's payload buffer,
 * which the commit then sends without copying it. NULL when the thread
 * serves no ring request or len does not fit. */
void *uring_transport_reply_room(size_t len);

#endif
