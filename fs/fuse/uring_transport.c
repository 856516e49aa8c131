/*
 * fs/fuse/uring_transport.c — FUSE-over-io_uring (--fuse-transport=uring or
 * auto; Linux 6.14+, module parameter fuse.enable_uring). The kernel keeps
 * one request queue per possible CPU and hands a request to the queue of
 * the CPU that issued it; the daemon gives each queue entries (a header
 * buffer and a payload buffer each) by submitting
 * FUSE_IO_URING_CMD_REGISTER on an SQE128 io_uring, gets a request as the
 * completion of an entry's command, and answers it with
 * FUSE_IO_URING_CMD_COMMIT_AND_FETCH, which also gives the entry back for
 * the next request. A request served this way costs no wake-up of a
 * /dev/fuse reader on another CPU, and one io_uring_enter carries the
 * replies of a batch. libfuse 3.14 knows nothing of this: volfs keeps its
 * session, hands each ring request to fuse_session_process_buf, and
 * catches the reply in the session's custom writev (fs/fuse/ll.c).
 *
 * The contract:
 *
 *  - INIT, FORGET, BATCH_FORGET and INTERRUPT always come through
 *    /dev/fuse, and so does everything until every queue has an entry:
 *    the /dev/fuse workers keep reading. Notifications (volfs's inval
 *    notifications) are written to /dev/fuse: a reply whose unique is not
 *    the calling thread's ring request goes there. The INTERRUPT of a ring
 *    request reaches libfuse from /dev/fuse, which matches it by unique
 *    (every request is on the session's one list); the kernel sends one
 *    only if the signal came after the request was copied into an entry.
 *
 *  - A ring request is answered by the thread that took it, before its
 *    handler returns: every volfs handler replies before returning (group
 *    commit blocks the fsync's own thread; no reply is deferred to another
 *    thread), so the writev finds the entry by the reply's unique in the
 *    calling thread's current entry, and the COMMIT_AND_FETCH goes on that
 *    thread's own ring (an io_uring SQ has one producer; with
 *    IORING_SETUP_SINGLE_ISSUER it must be the ring's thread). A handler
 *    that returns without replying would hold its entry for ever: the
 *    entry is then answered with EIO, and logged.
 *
 *  - A reply larger than the entry's payload buffer cannot happen (the
 *    buffers are sized as the kernel checks them: the larger of 8 KiB,
 *    max_write and max_pages pages); if it did, the request is answered
 *    with EIO and the writev fails with EINVAL.
 *
 *  - Each queue is served by threads_per_queue threads (default 4), each
 *    with its own ring and a share of the queue's entries, pinned to the
 *    queue's CPU at SCHED_IDLE (idle_priority says why): the kernel gives
 *    a request to the entry committed last, so while one thread waits for
 *    a slow host write, the queue's other requests go to the entries of a
 *    thread that is free.
 *
 *  - Teardown: the rings' threads serve as long as the connection lives.
 *    When it ends (an unmount of an idle mount, fusermount -u, an abort;
 *    after the daemon's own lazy unmount, once the mount's last user has
 *    left, as the /dev/fuse workers wait for it), the kernel completes
 *    every registered entry with -ENOTCONN, and a thread stops when it has
 *    no entry left, after submitting its last replies; closing its ring
 *    cancels whatever the kernel still holds. The rings use a duplicate of
 *    the /dev/fuse descriptor: libfuse closes its own at unmount, and the
 *    rings' commands must still name the device. kill -9 leaves nothing:
 *    the kernel ends the connection when the last reference to the device
 *    goes.
 */
#include "fs/fuse/uring_transport.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "fs/fuse/uring_abi.h"
#include "fs/obs/fuse_transport.h"
#include "meta/log.h"

#define DEFAULT_ENTRIES_PER_QUEUE 32
#define DEFAULT_THREADS_PER_QUEUE 4
/* Room in front of the payload for the request's header and fixed
 * argument: the request is assembled there, contiguous with the payload
 * the kernel wrote, as /dev/fuse would deliver it, without copying the
 * payload. A page keeps the payload page-aligned. */
#define REQ_ROOM 4096
struct ring_server;

struct ring_entry {
	struct uring_abi_req_header hdr; /* the kernel writes the request here */
	struct iovec iov[2];
	char *buf;                       /* REQ_ROOM, then the payload buffer */
	uint64_t unique;                 /* of the request being served */
	int replied;
	struct ring_server *owner;
};

struct ring_server {
	int qid;
	struct io_uring ring;
	struct ring_entry *ents;
	int nents;
	int live; /* entries the kernel has not failed */
	pthread_t thread;
};

static struct {
	enum fuse_transport_mode mode;
	struct fuse_session *se;
	uring_serve_fn serve;
	int devfd;
	uint64_t kernel_flags;
	size_t payload_max;
	int nqueues, threads_per_queue, entries_per_thread;
	int idle_policy; /* the queue threads run as SCHED_IDLE (idle_priority) */
	struct ring_server *servers;
	int nservers, started;
} T = {.devfd = -1};

/* The entry the calling ring thread is serving. */
static __thread struct ring_entry *serving;

int uring_transport_parse(const char *s, enum fuse_transport_mode *out)
{
	static const char *const names[] = {"dev", "uring", "auto"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum fuse_transport_mode)i;
			return 0;
		}
	return -EINVAL;
}

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);
	int n = v ? atoi(v) : 0;
	return n > 0 ? n : dflt;
}

/* The kernel has a queue per possible CPU (/sys/.../cpu/possible, "0-N"). */
static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	int last = -1;
	if (f) {
		char line[256];
		if (fgets(line, sizeof line, f)) {
			char *p = line + strlen(line);
			while (p > line && (p[-1] < '0' || p[-1] > '9'))
				p--;
			while (p > line && p[-1] >= '0' && p[-1] <= '9')
				p--;
			last = atoi(p);
		}
		fclose(f);
	}
	return last >= 0 ? last + 1 : get_nprocs_conf();
}

int uring_transport_setup(enum fuse_transport_mode mode, struct fuse_session *se,
                          uring_serve_fn serve)
{
	T.mode = mode;
	if (mode == FUSE_MODE_DEV)
		return 0;
	T.se = se;
	T.serve = serve;
	T.devfd = fcntl(fuse_session_fd(se), F_DUPFD_CLOEXEC, 0);
	if (T.devfd < 0) {
		T.mode = FUSE_MODE_DEV;
		return -errno;
	}
	T.nqueues = possible_cpus();
	T.threads_per_queue = env_int("VOLFS_FUSE_URING_THREADS", DEFAULT_THREADS_PER_QUEUE);
	int per_queue = env_int("VOLFS_FUSE_URING_ENTRIES", DEFAULT_ENTRIES_PER_QUEUE);
	T.entries_per_thread = per_queue / T.threads_per_queue;
	if (T.entries_per_thread < 1)
		T.entries_per_thread = 1;
	const char *idle = getenv("VOLFS_FUSE_URING_IDLE");
	T.idle_policy = !(idle && !strcmp(idle, "0"));
	return 0;
}

void uring_transport_note_init(uint64_t kernel_flags)
{
	T.kernel_flags = kernel_flags;
}

/* What the kernel checks each entry's payload buffer against. */
static size_t payload_size(const struct fuse_init_out *out)
{
	size_t pages = (out->flags & FUSE_MAX_PAGES) ? out->max_pages : 32;
	size_t n = out->max_write;
	if (pages * 4096 > n)
		n = pages * 4096;
	return n < 8192 ? 8192 : n;
}

int uring_transport_answer_init(struct fuse_init_out *out, size_t len)
{
	if (T.mode == FUSE_MODE_DEV)
		return 0;
	if (!(T.kernel_flags & URING_ABI_INIT_OVER_IO_URING) ||
	    len < offsetof(struct fuse_init_out, flags2) + sizeof out->flags2) {
		if (T.mode == FUSE_MODE_URING)
			vlog_warn("fuse", "--fuse-transport=uring: the kernel does not offer FUSE-over-io_uring; "
			          "serving /dev/fuse (as root: echo Y > /sys/module/fuse/parameters/enable_uring, "
			          "then mount again; Linux 6.14 or later)");
		else
			vlog_info("fuse", "FUSE transport: dev (the kernel does not offer io_uring)");
		return 0;
	}
	out->flags |= FUSE_INIT_EXT;
	out->flags2 |= (uint32_t)(URING_ABI_INIT_OVER_IO_URING >> 32);
	T.payload_max = payload_size(out);
	return 1;
}

static struct io_uring_sqe *entry_cmd(struct ring_server *s, struct ring_entry *e, uint32_t op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	/* The SQ holds a slot per entry: each has at most one command queued. */
	assert(sqe);
	memset(sqe, 0, 2 * sizeof *sqe); /* SQE128: the command area too */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = T.devfd;
	sqe->cmd_op = op;
	sqe->user_data = (uintptr_t)e;
	struct uring_abi_cmd_req *c = (struct uring_abi_cmd_req *)sqe->cmd;
	c->qid = (uint16_t)s->qid;
	c->commit_id = e->unique;
	if (op == URING_ABI_CMD_REGISTER) {
		sqe->addr = (uintptr_t)e->iov;
		sqe->len = 2;
	}
	return sqe;
}

/* The reply libfuse wrote, into the entry's buffers, and its commit
 * queued (submitted with the thread's next wait). */
static ssize_t commit_reply(struct ring_entry *e, const struct iovec *iov, int count)
{
	struct fuse_out_header *oh = (struct fuse_out_header *)e->hdr.in_out;
	memcpy(oh, iov[0].iov_base, sizeof *oh);
	char *payload = e->buf + REQ_ROOM;
	size_t len = 0;
	ssize_t ret;
	for (int i = 1; i < count; i++)
		len += iov[i].iov_len;
	if (len > T.payload_max) {
		oh->error = -EIO;
		oh->len = sizeof *oh;
		len = 0;
		errno = EINVAL;
		ret = -1;
	} else {
		len = 0;
		/* memmove: a reply may quote the request's own payload; none
		 * when it was built in place (uring_transport_reply_room). */
		for (int i = 1; i < count; i++) {
			if (iov[i].iov_base != payload + len)
				memmove(payload + len, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
		ret = (ssize_t)(sizeof *oh + len);
	}
	e->hdr.ent.payload_sz = (uint32_t)len;
	e->replied = 1;
	entry_cmd(e->owner, e, URING_ABI_CMD_COMMIT_AND_FETCH);
	return ret;
}

static void commit_error(struct ring_entry *e, int err)
{
	struct fuse_out_header oh = {.len = sizeof oh, .error = -err, .unique = e->unique};
	struct iovec iov = {&oh, sizeof oh};
	commit_reply(e, &iov, 1);
}

int uring_transport_serving(void)
{
	return serving != NULL;
}

void *uring_transport_reply_room(size_t len)
{
	struct ring_entry *e = serving;
	return e && !e->replied && len <= T.payload_max ? e->buf + REQ_ROOM : NULL;
}

int uring_transport_reply(const struct iovec *iov, int count, ssize_t *ret)
{
	struct ring_entry *e = serving;
	if (!e || count < 1 || iov[0].iov_len < sizeof(struct fuse_out_header))
		return 0;
	const struct fuse_out_header *oh = iov[0].iov_base;
	if (oh->unique != e->unique || e->replied)
		return 0;
	*ret = commit_reply(e, iov, count);
	return 1;
}

/* A request the kernel put in entry e: assembled in front of its payload
 * and served on this thread, which replies through uring_transport_reply. */
static void serve_entry(struct ring_entry *e)
{
	const struct fuse_in_header *ih = (const struct fuse_in_header *)e->hdr.in_out;
	size_t pl = e->hdr.ent.payload_sz;
	e->unique = e->hdr.ent.commit_id;
	e->replied = 0;
	if (ih->len < sizeof *ih + pl || ih->len - sizeof *ih - pl > sizeof e->hdr.op_in ||
	    pl > T.payload_max || ih->unique != e->unique) {
		vlog_error("fuse", "io_uring: malformed request (opcode %u, length %u, payload %zu)",
		           ih->opcode, ih->len, pl);
		commit_error(e, EIO);
		return;
	}
	size_t oplen = ih->len - sizeof *ih - pl;
	char *req = e->buf + REQ_ROOM - sizeof *ih - oplen;
	memcpy(req, ih, sizeof *ih);
	memcpy(req + sizeof *ih, e->hdr.op_in, oplen);
	fuse_transport_delivered(FUSE_TRANSPORT_URING);
	struct fuse_buf fb = {.size = ih->len, .mem = req};
	serving = e;
	T.serve(T.se, &fb);
	serving = NULL;
	if (!e->replied) {
		vlog_error("fuse", "io_uring: request %llu (opcode %u) was not answered; answering EIO",
		           (unsigned long long)e->unique, ih->opcode);
		commit_error(e, EIO);
	}
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* An offline CPU's queue is served from wherever the thread runs. */
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* A queue's thread commits each reply from the requester's own CPU, so the
 * requester, woken by that commit, finds its CPU busy and the scheduler
 * moves it to the other one if that is idle; its next request then goes
 * to the other queue, and at queue depth 1 the writer crosses CPUs on
 * most requests (docs/performance.md, "Why depth 1 is slower on the
 * rings"). A CPU running only SCHED_IDLE tasks counts as idle when a task
 * wakes, so with the queue threads at SCHED_IDLE the requester is woken
 * where it was and preempts the thread that woke it. Those threads get
 * the CPU whenever its other tasks wait, which a requester does until it
 * is answered; under CPU hogs on every CPU the rings still answered at
 * depth 1 with a p99 of tens of microseconds. VOLFS_FUSE_URING_IDLE=0
 * keeps the normal policy. */
static void idle_priority(int qid)
{
	struct sched_param sp = {0};
	if (T.idle_policy && sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
		vlog_warn("fuse", "io_uring queue %d: SCHED_IDLE: %s", qid, strerror(errno));
}

static int server_init(struct ring_server *s)
{
	struct io_uring_params p = {.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
	                                     IORING_SETUP_DEFER_TASKRUN};
	int err = io_uring_queue_init_params((unsigned)(s->nents + 1) * 2, &s->ring, &p);
	if (err < 0)
		return err;
	for (int i = 0; i < s->nents; i++) {
		struct ring_entry *e = &s->ents[i];
		e->iov[0] = (struct iovec){&e->hdr, sizeof e->hdr};
		e->iov[1] = (struct iovec){e->buf + REQ_ROOM, T.payload_max};
		entry_cmd(s, e, URING_ABI_CMD_REGISTER);
	}
	s->live = s->nents;
	return 0;
}

/* One completion: a request to serve, or an entry the kernel gave back
 * with an error (the connection ended: -ENOTCONN). */
static void handle_cqe(struct ring_server *s, const struct io_uring_cqe *cqe)
{
	struct ring_entry *e = (struct ring_entry *)(uintptr_t)cqe->user_data;
	if (cqe->res < 0) {
		s->live--;
		if (cqe->res != -ENOTCONN && cqe->res != -ECONNABORTED)
			vlog_error("fuse", "io_uring queue %d: an entry failed: %s", s->qid,
			           strerror(-cqe->res));
		return;
	}
	serve_entry(e);
}

static void *server_main(void *arg)
{
	struct ring_server *s = arg;
	pin_to_cpu(s->qid);
	idle_priority(s->qid);
	int err = server_init(s);
	if (err < 0) {
		vlog_error("fuse", "io_uring queue %d: cannot set up a ring: %s; its CPU's requests "
		           "stay on /dev/fuse", s->qid, strerror(-err));
		return NULL;
	}
	while (s->live > 0) {
		err = io_uring_submit_and_wait(&s->ring, 1);
		if (err < 0 && err != -EINTR) {
			vlog_error("fuse", "io_uring queue %d: %s", s->qid, strerror(-err));
			break;
		}
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&s->ring, head, cqe) {
			seen++;
			handle_cqe(s, cqe);
		}
		io_uring_cq_advance(&s->ring, seen);
	}
	/* The last batch's replies (the connection may be gone: they fail). */
	io_uring_submit(&s->ring);
	io_uring_queue_exit(&s->ring);
	return NULL;
}

static int alloc_server(struct ring_server *s, int qid)
{
	s->qid = qid;
	s->nents = T.entries_per_thread;
	s->ents = calloc((size_t)s->nents, sizeof *s->ents);
	if (!s->ents)
		return -ENOMEM;
	for (int i = 0; i < s->nents; i++) {
		s->ents[i].owner = s;
		s->ents[i].buf = aligned_alloc(4096, REQ_ROOM + T.payload_max);
		if (!s->ents[i].buf)
			return -ENOMEM;
	}
	return 0;
}

static void free_server(struct ring_server *s)
{
	for (int i = 0; s->ents && i < s->nents; i++)
		free(s->ents[i].buf);
	free(s->ents);
}

void uring_transport_start(void)
{
	assert(T.mode != FUSE_MODE_DEV && !T.servers);
	T.nservers = T.nqueues * T.threads_per_queue;
	T.servers = calloc((size_t)T.nservers, sizeof *T.servers);
	for (int i = 0; T.servers && i < T.nservers; i++) {
		if (alloc_server(&T.servers[i], i % T.nqueues) < 0 ||
		    pthread_create(&T.servers[i].thread, NULL, server_main, &T.servers[i]) != 0) {
			vlog_error("fuse", "io_uring: cannot start queue %d's thread; requests stay on /dev/fuse",
			           i % T.nqueues);
			free_server(&T.servers[i]);
			break;
		}
		T.started++;
	}
	if (T.started < T.nservers) {
		vlog_info("fuse", "FUSE transport: dev");
		return;
	}
	fuse_transport_set(FUSE_TRANSPORT_URING);
	vlog_info("fuse", "FUSE transport: uring (%d queues x %d threads x %d entries, %zu-byte payloads, "
	          "threads %s)",
	          T.nqueues, T.threads_per_queue, T.entries_per_thread, T.payload_max,
	          T.idle_policy ? "SCHED_IDLE" : "SCHED_OTHER");
}

void uring_transport_stop(void)
{
	if (T.mode == FUSE_MODE_DEV)
		return;
	for (int i = 0; i < T.started; i++) {
		pthread_join(T.servers[i].thread, NULL);
		free_server(&T.servers[i]);
	}
	free(T.servers);
	T.servers = NULL;
	T.started = 0;
	close(T.devfd);
	T.devfd = -1;
	T.mode = FUSE_MODE_DEV;
}
