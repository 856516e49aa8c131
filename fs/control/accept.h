/*
 * fs/control/accept.h — accepting clients on a listening socket so that running
 * out of descriptors neither spins the accepting thread nor locks clients
 * out: each listener keeps one spare descriptor, given up to accept (and
 * serve) one client when accept fails with EMFILE/ENFILE, and taken back
 * when that client is done. When even that fails, the thread pauses
 * briefly before polling again, and the condition is logged at most once
 * a minute.
 */
#ifndef VOLFS_FS_ACCEPT_H
#define VOLFS_FS_ACCEPT_H

#include <time.h>

struct acceptor {
	int fd;             /* the listening socket (not owned) */
	int spare;          /* /dev/null held in reserve, or -1 */
	time_t warned;      /* when running out was last logged */
	const char *object; /* log object name */
};

void acceptor_init(struct acceptor *a, int listen_fd, const char *object);
/* The next client's descriptor, or -1 if there is none to serve now. */
int acceptor_next(struct acceptor *a);
/* Call after closing the client's descriptor: retakes the spare. */
void acceptor_done(struct acceptor *a);
void acceptor_destroy(struct acceptor *a);

#endif
