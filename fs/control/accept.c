/*
 * fs/control/accept.c — accepting clients when descriptors run out (see
 * fs/control/accept.h): the spare descriptor, the pause, the rate-limited warning.
 */
#include "fs/control/accept.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meta/log.h"

/* How long to wait before polling again when nothing can be accepted: the
 * pending client stays queued and makes poll return at once. */
#define OUT_OF_FDS_PAUSE_MS 100

static int take_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void acceptor_init(struct acceptor *a, int listen_fd, const char *object)
{
	a->fd = listen_fd;
	a->spare = take_spare();
	a->warned = 0;
	a->object = object;
}

static int out_of_descriptors(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void warn_once_a_minute(struct acceptor *a, int err)
{
	time_t now = time(NULL);
	if (a->warned && now - a->warned < 60)
		return;
	a->warned = now;
	vlog_warn(a->object, "cannot accept clients: %s; serving them on a spare descriptor",
	          strerror(err));
}

int acceptor_next(struct acceptor *a)
{
	int fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0 || !out_of_descriptors(errno))
		return fd;
	warn_once_a_minute(a, errno);
	if (a->spare >= 0) {
		close(a->spare);
		a->spare = -1;
		fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	poll(NULL, 0, OUT_OF_FDS_PAUSE_MS);
	return -1;
}

void acceptor_done(struct acceptor *a)
{
	if (a->spare < 0)
		a->spare = take_spare();
}

void acceptor_destroy(struct acceptor *a)
{
	if (a->spare >= 0)
		close(a->spare);
	a->spare = -1;
}
