/* fuseuring: a measurement spike, not part of volfs. A minimal FUSE
 * filesystem (libfuse 3.14 low-level API) exposing the regular files of one
 * host directory, flat, served with pread/pwrite, with two transports:
 *
 *   dev    requests read from /dev/fuse by fuse_session_loop_mt (classic)
 *   uring  FUSE-over-io_uring (kernel >= 6.14, module parameter
 *          fuse.enable_uring=Y): the kernel keeps one queue per possible
 *          CPU; each is served by a thread (or FUSEURING_THREADS_PER_QUEUE)
 *          with its own SQE128 ring, pinned to that CPU unless
 *          FUSEURING_PIN=0; each queue entry is registered with
 *          FUSE_IO_URING_CMD_REGISTER and answered with
 *          FUSE_IO_URING_CMD_COMMIT_AND_FETCH. libfuse 3.14 knows nothing of
 *          this: requests from a ring are handed to fuse_session_process_buf
 *          and libfuse's replies are caught in the custom writev.
 *
 * INIT, FORGET, INTERRUPT and the daemon's notifications stay on /dev/fuse
 * (the kernel sends only ordinary requests through the rings), so the uring
 * transport runs a single-threaded fuse_session_loop beside the rings.
 *
 * Usage: fuseuring dev|uring BACKING_DIR MOUNTPOINT [ENTRIES_PER_QUEUE]
 * Environment: FUSEURING_MAX_BACKGROUND (128), FUSEURING_THREADS_PER_QUEUE (1),
 * FUSEURING_PIN (1).
 * Build (from the top of the tree): cc -O2 -Wall -Wextra -I. -o fuseuring \
 *            scripts/bench/fuseuring.c \
 *            $(pkg-config --cflags --libs fuse3) -luring -lpthread
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <liburing.h>

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs/fuse/uring_abi.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "fuseuring: %s: %s\n", what, strerror(err));
	exit(1);
}

/* ---- the filesystem: ino 1 is the root, 2.. are files of the backing dir */
#define MAX_FILES 16
static struct file {
	char name[256];
	int fd;
} files[MAX_FILES];
static int nfiles;
static int backdir_fd;

static int file_attr(fuse_ino_t ino, struct stat *st)
{
	if (ino == FUSE_ROOT_ID)
		return fstat(backdir_fd, st) ? -errno : 0;
	if (ino < 2 || ino >= 2 + (fuse_ino_t)nfiles)
		return -ENOENT;
	if (fstat(files[ino - 2].fd, st))
		return -errno;
	st->st_ino = ino;
	return 0;
}

static void fs_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	/* Deep queues: the default of 12 caps async direct I/O in flight. */
	const char *bg = getenv("FUSEURING_MAX_BACKGROUND");
	conn->max_background = bg ? atoi(bg) : 128;
	conn->congestion_threshold = conn->max_background * 3 / 4;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = {.attr_timeout = 1, .entry_timeout = 1};
	for (int i = 0; parent == FUSE_ROOT_ID && i < nfiles; i++)
		if (!strcmp(files[i].name, name)) {
			e.ino = 2 + i;
			int err = file_attr(e.ino, &e.attr);
			if (err)
				fuse_reply_err(req, -err);
			else
				fuse_reply_entry(req, &e);
			return;
		}
	fuse_reply_err(req, ENOENT);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	int err = file_attr(ino, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, 1);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
	if ((to_set & FUSE_SET_ATTR_SIZE) && ino >= 2 &&
	    ftruncate(files[ino - 2].fd, attr->st_size)) {
		fuse_reply_err(req, errno);
		return;
	}
	fs_getattr(req, ino, fi);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino < 2) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->fh = ino - 2;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	(void)ino;
	static __thread char *buf;
	static __thread size_t cap;
	if (size > cap) {
		free(buf);
		cap = size;
		buf = malloc(cap);
		assert(buf);
	}
	ssize_t n = pread(files[fi->fh].fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, n);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
                     off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	ssize_t n = pwrite(files[fi->fh].fd, data, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, n);
}

static void fs_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	fs_ok(req, ino, fi);
}

static const struct fuse_lowlevel_ops ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_ok,
	.release = fs_ok,
	.fsync = fs_fsync,
};

/* ---- the io_uring transport */
struct entry {
	struct uring_abi_req_header hdr;
	struct iovec iov[2];
	char *payload;
	char *req;     /* the request reassembled as /dev/fuse would deliver it */
	uint64_t unique;
	int committed; /* a reply went into this entry's commit SQE */
};

struct queue {
	int qid;
	struct io_uring ring;
	struct entry *ents;
	pthread_t thread;
	unsigned long served;
};

static struct fuse_session *se;
static int devfd;
/* The kernel has one queue per possible CPU; each is served by
 * threads_per_queue threads, each with its own ring and a share of the
 * queue's entries, pinned to the queue's CPU unless FUSEURING_PIN=0. */
static int nqueues, entries_per_queue = 32, threads_per_queue = 1, pin = 1;
static int nservers, entries_per_server;
static struct queue *queues;
static size_t payload_max;
/* The INIT request as read, until answered. */
static _Atomic uint64_t init_unique;
static uint64_t init_flags64;
static __thread struct queue *cur_queue;
/* Requests served from /dev/fuse and from the rings, printed at exit. */
static _Atomic unsigned long dev_requests;
static __thread struct entry *cur_ent;

static struct io_uring_sqe *cmd_sqe(struct queue *q, struct entry *e, uint32_t op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	assert(sqe); /* the ring has room for every entry */
	memset(sqe, 0, 128);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = devfd;
	sqe->cmd_op = op;
	sqe->user_data = (uintptr_t)e;
	struct uring_abi_cmd_req *c = (struct uring_abi_cmd_req *)sqe->cmd;
	c->qid = q->qid;
	c->commit_id = e->unique;
	if (op == URING_ABI_CMD_REGISTER) {
		sqe->addr = (uintptr_t)e->iov;
		sqe->len = 2;
	}
	return sqe;
}

/* A reply libfuse wrote for the request of this thread's current entry: into
 * the entry's buffers, then a COMMIT_AND_FETCH queued (submitted with the
 * next wait, so replies to one batch of completions go in one syscall). */
static ssize_t commit_reply(struct entry *e, const struct iovec *iov, int count)
{
	struct fuse_out_header *oh = (struct fuse_out_header *)e->hdr.in_out;
	memcpy(oh, iov[0].iov_base, sizeof *oh);
	size_t len = 0;
	for (int i = 1; i < count; i++) {
		if (len + iov[i].iov_len > payload_max)
			return -EINVAL;
		memcpy(e->payload + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	e->hdr.ent.payload_sz = len;
	e->committed = 1;
	cmd_sqe(cur_queue, e, URING_ABI_CMD_COMMIT_AND_FETCH);
	return sizeof *oh + len;
}

static void *queue_run(void *arg)
{
	struct queue *q = arg;
	if (pin) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(q->qid, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	cur_queue = q;

	struct io_uring_params p = {.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
	                                     IORING_SETUP_DEFER_TASKRUN};
	int err = io_uring_queue_init_params(entries_per_server * 2, &q->ring, &p);
	if (err)
		die("io_uring_queue_init (SQE128, DEFER_TASKRUN)", -err);
	q->ents = calloc(entries_per_server, sizeof *q->ents);
	for (int i = 0; i < entries_per_server; i++) {
		struct entry *e = &q->ents[i];
		e->payload = aligned_alloc(4096, payload_max);
		e->req = aligned_alloc(4096, payload_max + 4096);
		assert(e->payload && e->req);
		e->iov[0] = (struct iovec){&e->hdr, sizeof e->hdr};
		e->iov[1] = (struct iovec){e->payload, payload_max};
		cmd_sqe(q, e, URING_ABI_CMD_REGISTER);
	}
	for (;;) {
		err = io_uring_submit_and_wait(&q->ring, 1);
		if (err < 0 && err != -EINTR)
			die("io_uring_submit_and_wait", -err);
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int stop = 0;
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			seen++;
			struct entry *e = (void *)(uintptr_t)cqe->user_data;
			if (cqe->res < 0) {
				/* -ENOTCONN/-ECONNABORTED: unmounted; anything else a bug. */
				if (cqe->res != -ENOTCONN && cqe->res != -ECONNABORTED)
					fprintf(stderr, "fuseuring: queue %d: %s\n", q->qid,
					        strerror(-cqe->res));
				stop = 1;
				continue;
			}
			const struct fuse_in_header *ih = (const void *)e->hdr.in_out;
			size_t pl = e->hdr.ent.payload_sz;
			assert(ih->len >= sizeof *ih + pl);
			size_t oplen = ih->len - sizeof *ih - pl;
			assert(oplen <= sizeof e->hdr.op_in);
			memcpy(e->req, ih, sizeof *ih);
			memcpy(e->req + sizeof *ih, e->hdr.op_in, oplen);
			memcpy(e->req + sizeof *ih + oplen, e->payload, pl);
			e->unique = e->hdr.ent.commit_id;
			assert(e->unique == ih->unique);
			e->committed = 0;
			cur_ent = e;
			q->served++;
			struct fuse_buf fb = {.size = ih->len, .mem = e->req};
			fuse_session_process_buf(se, &fb);
			cur_ent = NULL;
			/* Every handler here replies before returning; a request
			 * left unanswered would hold its entry for ever. */
			assert(e->committed);
		}
		io_uring_cq_advance(&q->ring, seen);
		if (stop)
			break;
	}
	return NULL;
}

static void start_queues(void)
{
	queues = calloc(nservers, sizeof *queues);
	for (int i = 0; i < nservers; i++) {
		queues[i].qid = i % nqueues;
		pthread_create(&queues[i].thread, NULL, queue_run, &queues[i]);
	}
}

static ssize_t io_read(int fd, void *buf, size_t len, void *ud)
{
	(void)ud;
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *h = buf;
	if (n > 0)
		dev_requests++;
	if (n >= (ssize_t)(sizeof *h + sizeof(struct fuse_init_in)) && h->opcode == FUSE_INIT) {
		const struct fuse_init_in *in = (const void *)(h + 1);
		init_flags64 = in->flags;
		if (in->flags & FUSE_INIT_EXT)
			init_flags64 |= (uint64_t)in->flags2 << 32;
		init_unique = h->unique;
	}
	return n;
}

/* The INIT reply: ask for io_uring if the kernel offers it (it does only
 * while fuse.enable_uring is on), and size the payload buffers as the
 * kernel will check them: max(8 KiB, max_write, max_pages pages). */
static int patch_init_reply(const struct iovec *iov, int count)
{
	if (count < 2 || iov[1].iov_len < sizeof(struct fuse_init_out))
		return 0;
	struct fuse_out_header *oh = iov[0].iov_base;
	if (oh->unique != init_unique || oh->error)
		return 0;
	init_unique = 0;
	struct fuse_init_out *out = iov[1].iov_base;
	if (!(init_flags64 & URING_ABI_INIT_OVER_IO_URING)) {
		fprintf(stderr, "fuseuring: the kernel does not offer FUSE_OVER_IO_URING "
		                "(fuse.enable_uring off?): serving /dev/fuse\n");
		return 0;
	}
	out->flags |= FUSE_INIT_EXT;
	out->flags2 |= URING_ABI_INIT_OVER_IO_URING >> 32;
	size_t pages = (out->flags & FUSE_MAX_PAGES) ? out->max_pages : 32;
	payload_max = out->max_write;
	if (pages * 4096 > payload_max)
		payload_max = pages * 4096;
	if (payload_max < 8192)
		payload_max = 8192;
	fprintf(stderr, "fuseuring: io_uring transport: %d queues x %d threads x %d entries, "
	        "payload %zu, %s\n", nqueues, threads_per_queue, entries_per_server, payload_max,
	        pin ? "pinned" : "unpinned");
	return 1;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *ud)
{
	(void)ud;
	const struct fuse_out_header *oh = iov[0].iov_base;
	if (cur_ent && oh->unique == cur_ent->unique)
		return commit_reply(cur_ent, iov, count);
	int uring = init_unique && patch_init_reply(iov, count);
	ssize_t n = writev(fd, iov, count);
	/* The kernel has taken the INIT reply by now (it is processed inside
	 * the write), so registration will not see -EAGAIN. */
	if (uring && n >= 0)
		start_queues();
	return n;
}

static void open_backing(const char *dir)
{
	backdir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (backdir_fd < 0)
		die(dir, errno);
	DIR *d = fdopendir(dup(backdir_fd));
	struct dirent *de;
	while ((de = readdir(d)) && nfiles < MAX_FILES) {
		if (de->d_type != DT_REG)
			continue;
		snprintf(files[nfiles].name, sizeof files[nfiles].name, "%s", de->d_name);
		files[nfiles].fd = openat(backdir_fd, de->d_name, O_RDWR);
		if (files[nfiles].fd < 0)
			die(de->d_name, errno);
		nfiles++;
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "dev") && strcmp(argv[1], "uring"))) {
		fprintf(stderr, "usage: fuseuring dev|uring BACKING_DIR MOUNTPOINT [ENTRIES]\n");
		return 2;
	}
	int uring = !strcmp(argv[1], "uring");
	if (argc > 4)
		entries_per_queue = atoi(argv[4]);
	nqueues = get_nprocs_conf();
	const char *env = getenv("FUSEURING_THREADS_PER_QUEUE");
	if (env && atoi(env) > 0)
		threads_per_queue = atoi(env);
	env = getenv("FUSEURING_PIN");
	pin = !env || atoi(env) != 0;
	nservers = nqueues * threads_per_queue;
	entries_per_server = entries_per_queue / threads_per_queue;
	if (entries_per_server < 1)
		entries_per_server = 1;
	open_backing(argv[2]);

	char *fargv[] = {argv[0], "-o", "fsname=fuseuring", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (!se || fuse_session_mount(se, argv[3]))
		die("mount", EIO);
	fuse_set_signal_handlers(se);
	/* The rings' own descriptor: fuse_session_unmount closes libfuse's,
	 * and the rings' last commands must still name a valid file, to see
	 * -ENOTCONN from the aborted connection rather than -EBADF. */
	devfd = dup(fuse_session_fd(se));
	if (devfd < 0)
		die("dup /dev/fuse", errno);
	int ret;
	if (uring) {
		static const struct fuse_custom_io io = {.writev = io_writev, .read = io_read};
		fuse_session_custom_io(se, &io, fuse_session_fd(se));
		ret = fuse_session_loop(se);
	} else {
		/* The loop configuration libfuse's examples get from
		 * fuse_parse_cmdline's defaults (passthrough_ll's too). */
		char *cargv[] = {argv[0], argv[3], NULL};
		struct fuse_args cargs = FUSE_ARGS_INIT(2, cargv);
		struct fuse_cmdline_opts opts;
		if (fuse_parse_cmdline(&cargs, &opts))
			die("fuse_parse_cmdline", EINVAL);
		struct fuse_loop_config cfg = {.clone_fd = opts.clone_fd,
		                               .max_idle_threads = opts.max_idle_threads};
		free(opts.mountpoint);
		fuse_opt_free_args(&cargs);
		ret = fuse_session_loop_mt(se, &cfg);
	}
	fuse_session_unmount(se);
	for (int i = 0; queues && i < nservers; i++)
		pthread_join(queues[i].thread, NULL);
	close(devfd);
	if (uring) {
		fprintf(stderr, "fuseuring: served %lu requests from /dev/fuse",
		        (unsigned long)dev_requests);
		for (int i = 0; queues && i < nservers; i++)
			fprintf(stderr, ", %lu from ring %d (queue %d)", queues[i].served, i,
			        queues[i].qid);
		fprintf(stderr, "\n");
	}
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return ret ? 1 : 0;
}
