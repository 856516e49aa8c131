/*
 * fs/fuse/main.c — the volfs daemon: command line, the state directory and its
 * single-owner lock, mounting, the worker threads (FUSE session, control
 * socket, periodic group commit) and an orderly shutdown that flushes
 * everything before it exits. It is also the mount helper's target
 * (`mount -t fuse.volfs STATE MOUNTPOINT -o OPTS` runs `volfs STATE
 * MOUNTPOINT -o OPTS`) and a systemd Type=notify service.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/control/server.h"
#include "fs/control/controller.h"
#include "fs/control/hostpath.h"
#include "fs/control/localpath.h"
#include "fs/control/docker_plugin.h"
#include "fs/fuse/ll.h"
#include "fs/control/metrics_http.h"
#include "fs/fuse/mountopts.h"
#include "fs/fuse/sdnotify.h"
#include "fs/fuse/stop.h"
#include "fs/fuse/uring_transport.h"
#include "fs/obs/fuse_transport.h"
#include "fs/store/hostwrite.h"
#include "fs/store/store.h"
#include "fs/vfs/vfs.h"
#include "fs/control/volume.h"
#include "meta/db.h"
#include "meta/log.h"
#include "meta/quantity.h"
#include "meta/version.h"

#define FLUSH_INTERVAL_MS 1000
/* Workers reading /dev/fuse. A read that misses the host page cache does
 * not hold its worker (it finishes on the reader thread, fs/store/aread.c,
 * unless it is the only one waiting for the disk: --cold-read-workers),
 * so the pool need not match the kernel's asynchronous requests in flight
 * (max_background in fs/fuse/ll.c); each worker waiting in /dev/fuse
 * contends on the kernel's queue lock and serves its next request cold, so
 * 16 served every measured row as well as 64 (within the load's spread)
 * or better, depth-32 writes several times better (docs/performance.md,
 * "Cold reads on the reader thread"). A request that blocks (a write held
 * by a freeze, an fdatasync) still holds its worker. */
#define N_WORKERS 16
/* Sparse: a Docker volume's capacity costs nothing until written. */
#define DOCKER_DEFAULT_SIZE (10ULL << 30)

struct daemon {
	const char *state;
	const char *mountpoint;
	int opts_too_long;
	int foreground, debug, single, check;
	int writeback_cache;
	char opts[4096];
	const char *metrics_listen;
	const char *docker_plugin;      /* the plugin socket, or NULL */
	uint64_t docker_size;           /* size of a Docker volume given none */
	enum vlog_level log_level;
	enum vlog_target log_target;
	enum host_write_mode host_writes;
	enum fuse_transport_mode transport;
	struct vfs *vfs;
	struct fuse_session *se;
	pthread_t main_thread;
	pthread_t flusher;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	int stopping;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: volfs [-f] [--state DIR] [-o OPTIONS] [--hostpath-allow PREFIX]...\n"
	        "             [--metrics-listen ADDR] [--log-level LEVEL] [--log-target TARGET]\n"
	        "             [--docker-plugin[=SOCKET]] [--docker-default-size SIZE]\n"
	        "             [--host-writes auto|uring|pwrite] [--fuse-transport dev|uring|auto]\n"
	        "             [--writeback-cache] [--cold-read-workers N]\n"
	        "             [STATE] MOUNTPOINT\n"
	        "       (volfs STATE MOUNTPOINT -o OPTIONS is how mount -t fuse.volfs runs it)\n"
	        "       volfs --check [--state DIR]\n"
	        "\n"
	        "Serve every persistent volume of this machine under MOUNTPOINT:\n"
	        "  MOUNTPOINT/pv/<name>/  one directory tree per volume\n"
	        "\n"
	        "options:\n"
	        "  -f, --foreground   stay in the foreground, log to stderr\n"
	        "  --state DIR        state directory (meta.db, data/, control.sock);\n"
	        "                     default /var/lib/volfs as root\n"
	        "  -o OPTIONS         FUSE mount options (allow_other, default_permissions, ro, ...);\n"
	        "                     mount(8)-only ones (defaults, _netdev, nofail, noauto,\n"
	        "                     user, rw, x-*, ...) are accepted and ignored\n"
	        "  --check            verify meta.db against the data files and exit\n"
	        "  --hostpath-allow PREFIX\n"
	        "                     allow hostPath volumes under PREFIX (repeatable; none:\n"
	        "                     every hostPath is refused)\n"
	        "  --metrics-listen ADDR\n"
	        "                     serve Prometheus metrics at http://ADDR/metrics; ADDR is\n"
	        "                     PORT (127.0.0.1 only), HOST:PORT or [IPV6]:PORT\n"
	        "  --docker-plugin[=SOCKET]\n"
	        "                     serve Docker's and Podman's volume plugin protocol on\n"
	        "                     SOCKET (default " DOCKER_PLUGIN_SOCKET ")\n"
	        "  --docker-default-size SIZE\n"
	        "                     capacity of a Docker volume created without -o size\n"
	        "                     (default 10Gi)\n"
	        "  --host-writes ENGINE\n"
	        "                     how writes reach the data files: auto (default: what\n"
	        "                     measured fastest on their filesystem), uring or pwrite\n"
	        "  --fuse-transport TRANSPORT\n"
	        "                     how FUSE requests reach volfs: dev (default: /dev/fuse),\n"
	        "                     uring (io_uring queues per CPU when the kernel offers them,\n"
	        "                     /dev/fuse with a warning otherwise) or auto (the same,\n"
	        "                     without the warning)\n"
	        "  --writeback-cache  let the kernel cache writes: faster small writes, but a\n"
	        "                     full volume fails fsync(2) or close(2), not write(2)\n"
	        "  --cold-read-workers N\n"
	        "                     at most N FUSE workers at once read uncached data\n"
	        "                     themselves (default 1); the other such reads go to the\n"
	        "                     reader thread (0: all of them)\n"
	        "  --log-level LEVEL  debug, info (default), warn or error\n"
	        "  --log-target TARGET\n"
	        "                     stderr, syslog, or auto (default: syslog when daemonized\n"
	        "                     or when stderr is systemd's journal, stderr otherwise)\n"
	        "  -d, --debug        FUSE debug output (implies -f)\n"
	        "  -s                 single-threaded FUSE loop\n"
	        "  -V, --version      print the version\n"
	        "  -h, --help         this help\n"
	        "\n"
	        "examples:\n"
	        "  volfs --state /var/lib/volfs /mnt/volfs\n"
	        "  volfs -f --log-level debug --metrics-listen 9464 /mnt/volfs\n"
	        "  curl -s http://127.0.0.1:9464/metrics | grep kubelet_volume_stats\n"
	        "  volctl create pv data --capacity 1Gi && ls /mnt/volfs/pv/data\n"
	        "  fusermount3 -u /mnt/volfs        (or: volctl shutdown)\n"
	        "  mount -t fuse.volfs /var/lib/volfs /mnt/volfs -o allow_other\n"
	        "  fstab: /var/lib/volfs /mnt/volfs fuse.volfs defaults,allow_other,_netdev 0 0\n");
}

static const char *default_state(void)
{
	static char buf[4096];
	if (geteuid() == 0)
		return "/var/lib/volfs";
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, sizeof buf, "%s/volfs", xdg);
	else
		snprintf(buf, sizeof buf, "%s/.local/share/volfs", home ? home : ".");
	return buf;
}

static void add_opt(struct daemon *d, const char *o)
{
	if (mountopts_append(d->opts, sizeof d->opts, o) < 0)
		d->opts_too_long = 1;
}

/* The option getopt stopped at, as the user wrote it. */
static const char *bad_option(char **argv, char *buf)
{
	const char *arg = argv[optind - 1];
	if (!strncmp(arg, "--", 2) || !optopt)
		return arg;
	snprintf(buf, 3, "-%c", optopt);
	return buf;
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
	char short_opt[3];
	static const struct option longopts[] = {
		{"foreground", no_argument, 0, 'f'}, {"state", required_argument, 0, 'S'},
		{"check", no_argument, 0, 'C'},      {"debug", no_argument, 0, 'd'},
		{"version", no_argument, 0, 'V'},    {"help", no_argument, 0, 'h'},
		{"hostpath-allow", required_argument, 0, 'H'},
		{"metrics-listen", required_argument, 0, 'M'},
		{"docker-plugin", optional_argument, 0, 'D'},
		{"docker-default-size", required_argument, 0, 'Z'},
		{"log-level", required_argument, 0, 'L'},
		{"log-target", required_argument, 0, 'T'},
		{"host-writes", required_argument, 0, 'W'},
		{"fuse-transport", required_argument, 0, 'U'},
		{"writeback-cache", no_argument, 0, 'B'},
		{"cold-read-workers", required_argument, 0, 'R'},
		{0, 0, 0, 0},
	};
	int c;
	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, ":fdso:S:VhC", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': d->foreground = 1; break;
		case 'd': d->debug = d->foreground = 1; break;
		case 's': d->single = 1; break;
		case 'o': add_opt(d, optarg); break;
		case 'S': d->state = optarg; break;
		case 'C': d->check = 1; break;
		case 'H': {
			/* Canonical now: daemon_fork() changes to "/" later. */
			char err[PATH_MAX + 128];
			if (hostpath_allow(optarg, err, sizeof err) < 0) {
				fprintf(stderr, "volfs: %s\n", err);
				return -1;
			}
			break;
		}
		case 'M': d->metrics_listen = optarg; break;
		case 'D': d->docker_plugin = optarg ? optarg : DOCKER_PLUGIN_SOCKET; break;
		case 'Z': {
			char err[256] = "";
			if (quantity_parse(optarg, &d->docker_size, err, sizeof err) < 0 || d->docker_size == 0) {
				fprintf(stderr, "volfs: --docker-default-size: %s\n", *err ? err : "must be more than 0");
				return -1;
			}
			break;
		}
		case 'L':
			if (vlog_parse_level(optarg, &d->log_level) < 0) {
				fprintf(stderr, "volfs: invalid --log-level \"%s\": use debug, info, warn or error\n", optarg);
				return -1;
			}
			break;
		case 'T':
			if (vlog_parse_target(optarg, &d->log_target) < 0) {
				fprintf(stderr, "volfs: invalid --log-target \"%s\": use stderr, syslog or auto\n", optarg);
				return -1;
			}
			break;
		case 'W':
			if (host_write_parse(optarg, &d->host_writes) < 0) {
				fprintf(stderr, "volfs: invalid --host-writes \"%s\": use auto, uring or pwrite\n", optarg);
				return -1;
			}
			break;
		case 'U':
			if (uring_transport_parse(optarg, &d->transport) < 0) {
				fprintf(stderr, "volfs: invalid --fuse-transport \"%s\": use dev, uring or auto\n", optarg);
				return -1;
			}
			break;
		case 'B': d->writeback_cache = 1; break;
		case 'R': {
			char *end;
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 0 || n > N_WORKERS) {
				fprintf(stderr, "volfs: invalid --cold-read-workers \"%s\": use 0 to %d\n", optarg,
				        N_WORKERS);
				return -1;
			}
			store_set_cold_reads_here((int)n);
			break;
		}
		case 'V': printf("volfs %s\n", VOLFS_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		case ':':
			fprintf(stderr, "volfs: option %s needs a value (see volfs --help)\n",
			        bad_option(argv, short_opt));
			return -1;
		default:
			fprintf(stderr, "volfs: unknown option %s (see volfs --help)\n", bad_option(argv, short_opt));
			return -1;
		}
	}
	if (d->opts_too_long) {
		fprintf(stderr, "volfs: the -o options are longer than %zu bytes\n", sizeof d->opts - 1);
		return -1;
	}
	/* mount(8) and mount.fuse3 pass the state directory as the device. */
	if (!d->check && argc - optind == 2) {
		if (d->state && strcmp(d->state, argv[optind])) {
			fprintf(stderr, "volfs: two state directories: --state %s and %s\n", d->state,
			        argv[optind]);
			return -1;
		}
		d->state = argv[optind++];
	}
	if (!d->state)
		d->state = default_state();
	if (!d->check && optind == argc - 1)
		d->mountpoint = argv[optind];
	return 0;
}

/* daemon_fork() changes to "/", so relative paths must be resolved
 * first; the state directory may not exist yet. */
static int absolute_paths(struct daemon *d)
{
	static char state[PATH_MAX], mnt[PATH_MAX];
	if (!realpath(d->state, state)) {
		fprintf(stderr, "volfs: state directory %s: %s\n", d->state, strerror(errno));
		return -1;
	}
	d->state = state;
	if (d->mountpoint) {
		if (!realpath(d->mountpoint, mnt)) {
			fprintf(stderr, "volfs: mount point %s: %s\n", d->mountpoint, strerror(errno));
			return -1;
		}
		d->mountpoint = mnt;
	}
	return 0;
}

static int check_args(struct daemon *d, int argc)
{
	if (!d->check && optind != argc - 1) {
		fprintf(stderr, "volfs: expected MOUNTPOINT or STATE MOUNTPOINT (see volfs --help)\n");
		return -1;
	}
	char host[256], port[16], err[512];
	if (d->metrics_listen &&
	    metrics_http_parse(d->metrics_listen, host, sizeof host, port, sizeof port, err, sizeof err) < 0) {
		fprintf(stderr, "volfs: %s\n", err);
		return -1;
	}
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* The state directory holds every volume's data and meta.db's Secrets:
 * only its owner may enter it, whatever mkdir -p or a DaemonSet's
 * DirectoryOrCreate made it. */
static int private_state_dir(const char *state)
{
	struct stat sb;
	if (stat(state, &sb) < 0) {
		fprintf(stderr, "volfs: %s: %s\n", state, strerror(errno));
		return -1;
	}
	if ((sb.st_mode & 07777) == 0700)
		return 0;
	vlog_warn("state", "state directory %s had mode %04o; changing it to 0700 (it holds Secrets "
	          "and volume data)", state, (unsigned)(sb.st_mode & 07777));
	if (chmod(state, 0700) < 0) {
		fprintf(stderr, "volfs: cannot make %s private: %s\n", state, strerror(errno));
		return -1;
	}
	return 0;
}

/* One daemon per state directory: an exclusive flock on the directory
 * itself, held for the life of the process (inherited across the
 * daemonising fork). A lock on a file in it would be lost with the file;
 * STATE/lock only tells the next one which pid holds the directory. */
static int lock_state(const char *state)
{
	char path[4096], pid[32] = "";
	int fd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		vlog_error("state", "cannot open %s: %s", state, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(path, sizeof path, "%s/lock", state);
		int pf = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = pf >= 0 ? read(pf, pid, sizeof pid - 1) : 0;
		if (pf >= 0)
			close(pf);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		vlog_error("state", "state directory %s is in use by another volfs%s%s%s", state,
		           *pid ? " (pid " : "", pid, *pid ? ")" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static void write_pid(const char *state)
{
	char path[4096], pid[32];
	snprintf(path, sizeof path, "%s/lock", state);
	int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, pid, (size_t)n) != n)
		vlog_warn("state", "writing the pid to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void print_problem(void *arg, const char *msg)
{
	(*(int *)arg)++;
	printf("%s\n", msg);
}

/* Pending cleanup is not damage: printed, not counted. */
static void print_pending(void *arg, const char *msg)
{
	(void)arg;
	printf("%s\n", msg);
}

static int run_check(struct daemon *d)
{
	char err[512];
	if (vfs_open_state(&d->vfs, d->state, 1, err, sizeof err) < 0) {
		fprintf(stderr, "volfs: %s\n", err);
		return 1;
	}
	int n = 0;
	control_check(d->vfs, print_problem, print_pending, &n);
	vfs_close(d->vfs);
	if (n == 0)
		printf("volfs: %s is consistent\n", d->state);
	else
		fprintf(stderr, "volfs: %d problem%s found in %s\n", n, n == 1 ? "" : "s", d->state);
	return n ? 1 : 0;
}

/* Group commit: dirty inodes and block maps reach meta.db at least once a
 * second even without fsync, bounding what a crash can lose. */
static void *flusher_main(void *arg)
{
	struct daemon *d = arg;
	pthread_mutex_lock(&d->stop_lock);
	while (!d->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FLUSH_INTERVAL_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&d->stop_cond, &d->stop_lock, &ts);
		if (d->stopping)
			break;
		pthread_mutex_unlock(&d->stop_lock);
		vfs_flush_background(d->vfs);
		pthread_mutex_lock(&d->stop_lock);
	}
	pthread_mutex_unlock(&d->stop_lock);
	return NULL;
}

/* Shutdown, from any thread: the main thread waits in sigwait() for it,
 * as for SIGTERM, and stops the session itself once the kernel has written
 * back (stop_session): the workers must go on serving until then. */
static void request_shutdown(void *arg)
{
	struct daemon *d = arg;
	pthread_kill(d->main_thread, SIGTERM);
}

/* One request, from /dev/fuse or from a ring. */
static void serve_request(struct fuse_session *se, const struct fuse_buf *buf)
{
	ll_note_request(buf);
	fuse_session_process_buf(se, buf);
}

/* A fixed pool of workers, each reading requests from /dev/fuse and
 * serving them. libfuse 3.14's own loop starts a thread for almost every
 * request; a pool started once costs nothing per request. A worker stops
 * when the filesystem is unmounted (the read fails with ENODEV) and then
 * wakes the main thread. */
static void *worker_main(void *arg)
{
	struct daemon *d = arg;
	struct fuse_buf buf = {0};
	while (!fuse_session_exited(d->se)) {
		int res = fuse_session_receive_buf(d->se, &buf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0)
			break;
		fuse_transport_delivered(FUSE_TRANSPORT_DEV);
		serve_request(d->se, &buf);
	}
	free(buf.mem);
	request_shutdown(d);
	return NULL;
}

static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Before the workers stop: the kernel writes back what it caches (every
 * write(2) that returned before the shutdown was asked), served by the
 * workers, from a thread that holds nothing, waited for at most
 * STOP_WRITEBACK_MS; the reads handed to the reader thread answered;
 * then the connection is aborted and the mount
 * detached, so the workers stop now even while a process holds a file
 * open in the mount (a lazy unmount alone waits for it to close). Not
 * when the connection has already ended (an unmount from outside). */
static void stop_session(struct daemon *d)
{
	if (fuse_session_exited(d->se))
		return;
	struct stop_writeback *w = stop_write_back_start(ll_write_back_all, NULL);
	int rc = w ? stop_write_back_wait(w, STOP_WRITEBACK_MS) : -EAGAIN;
	if (rc == -ETIMEDOUT)
		vlog_warn("daemon", "the kernel's write-back through %s did not finish within %d s; "
		          "stopping without the rest", d->mountpoint, STOP_WRITEBACK_MS / 1000);
	else if (rc < 0)
		vlog_warn("daemon", "writing back the kernel's dirty pages through %s: %s", d->mountpoint,
		          strerror(-rc));
	/* The cold reads handed to the reader are answered before the abort,
	 * which would end their callers' requests with ECONNABORTED. */
	vfs_drain_reads();
	rc = stop_abort_mount(d->mountpoint);
	if (rc < 0)
		vlog_warn("daemon", "cannot abort the mount on %s (%s): unmounting it lazily, the "
		          "daemon exits once no process uses it", d->mountpoint, strerror(-rc));
	stop_write_back_end(w);
}

/* Serve until a signal, `volctl shutdown` or an unmount; then end the
 * connection (if still mounted) so every worker's read fails, and wait
 * for them. */
static void run_workers(struct daemon *d, const sigset_t *set)
{
	int n = d->single ? 1 : N_WORKERS, started = 0, sig;
	pthread_t workers[N_WORKERS];
	for (int i = 0; i < n; i++)
		if (pthread_create(&workers[i], NULL, worker_main, d) == 0)
			started++;
	if (started)
		sigwait(set, &sig);
	sdnotify("STOPPING=1");
	if (started)
		stop_session(d);
	fuse_session_exit(d->se);
	/* Cold reads the workers handed off are answered while /dev/fuse is
	 * still open: unmounting closes it, and a reply after that is lost,
	 * leaving its reader waiting. */
	vfs_drain_reads();
	fuse_session_unmount(d->se);
	uring_transport_stop();
	for (int i = 0; i < started; i++)
		pthread_join(workers[i], NULL);
	/* what a worker handed off meanwhile, before the store goes */
	vfs_drain_reads();
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct fuse_session *make_session(struct daemon *d, char *argv0)
{
	char *fargv[8];
	int fargc = 0;
	fargv[fargc++] = argv0;
	if (d->debug)
		fargv[fargc++] = "-d";
	char opts[4400];
	snprintf(opts, sizeof opts, "fsname=volfs,subtype=volfs,default_permissions%s%s%s",
	         geteuid() == 0 ? ",allow_other" : "", *d->opts ? "," : "", d->opts);
	fargv[fargc++] = "-o";
	fargv[fargc++] = opts;
	struct fuse_args args = FUSE_ARGS_INIT(fargc, fargv);
	struct fuse_session *se = fuse_session_new(&args, ll_counted_ops(), sizeof volfs_ll_ops, d->vfs);
	fuse_opt_free_args(&args);
	return se;
}

/* fuse_daemonize()'s fork, except that the parent (what mount(8) and the
 * shell wait for) exits only when the child reports: 0 once mounted with
 * the control socket listening, so `volctl` works as soon as `mount`
 * returns; 1 if it failed (the error went to the caller's stderr). Returns
 * the child's end of the report pipe, -1 in the foreground. */
static int daemon_fork(int foreground)
{
	int p[2];
	if (foreground || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1; /* stay in the foreground rather than fail */
	}
	if (pid > 0) {
		char status = 1;
		close(p[1]);
		while (read(p[0], &status, 1) < 0 && errno == EINTR)
			;
		_exit(status);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0)
		perror("volfs: chdir /");
	return p[1];
}

static void daemon_report(int fd, int ok)
{
	if (fd < 0)
		return;
	int null = ok ? open("/dev/null", O_RDWR) : -1;
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	char status = ok ? 0 : 1;
	if (write(fd, &status, 1) < 0)
		perror("volfs: reporting to the parent");
	close(fd);
}

static int serve(struct daemon *d, char *argv0)
{
	char err[512], sock[4200];
	int hw = host_write_choose(d->state, d->host_writes);
	if (hw < 0)
		vlog_warn("state", "cannot tell the filesystem of %s: %s", d->state, strerror(-hw));
	if (vfs_open_state(&d->vfs, d->state, 0, err, sizeof err) < 0) {
		vlog_error("state", "%s", err);
		return 1;
	}
	volume_install_names(d->vfs);
	localpath_install(d->vfs);
	/* Finish whatever a crash cut short: bindings, provisioning, reclaim. */
	controller_bootstrap(d->vfs);
	controller_run_startup(d->vfs);
	ll_want_writeback_cache(d->writeback_cache);
	d->se = make_session(d, argv0);
	if (!d->se) {
		vlog_error("mount", "invalid mount options: %s", d->opts);
		vfs_close(d->vfs);
		return 1;
	}
	struct metrics_http *http = NULL;
	if (d->metrics_listen && metrics_http_start(&http, d->vfs, d->metrics_listen, err, sizeof err) < 0) {
		vlog_error("metrics", "%s", err);
		fuse_session_destroy(d->se);
		vfs_close(d->vfs);
		return 1;
	}
	struct docker_plugin *plugin = NULL;
	if (d->docker_plugin &&
	    docker_plugin_listen(&plugin, d->docker_plugin, d->docker_size, err, sizeof err) < 0) {
		vlog_error("docker-plugin", "%s", err);
		metrics_http_stop(http);
		fuse_session_destroy(d->se);
		vfs_close(d->vfs);
		return 1;
	}
	if (fuse_session_mount(d->se, d->mountpoint) < 0) {
		vlog_error("mount", "cannot mount on %s", d->mountpoint);
		docker_plugin_stop(plugin);
		metrics_http_stop(http);
		fuse_session_destroy(d->se);
		vfs_close(d->vfs);
		return 1;
	}
	int ior = ll_install_io(d->se);
	if (ior < 0)
		vlog_warn("mount", "cannot take over killing set-ID bits (%s): the kernel asks "
		          "for security.capability before every cached write", strerror(-ior));
	ll_install_notify(d->se, d->vfs, d->mountpoint);
	if (d->transport != FUSE_MODE_DEV) {
		int ur = ior < 0 ? ior : uring_transport_setup(d->transport, d->se, serve_request);
		if (ur < 0)
			vlog_warn("mount", "FUSE requests stay on /dev/fuse: %s", strerror(-ur));
	}
	/* Until the parent is told, errors still reach the caller's stderr. */
	int report = daemon_fork(d->foreground);
	write_pid(d->state);
	d->main_thread = pthread_self();
	sigset_t set;
	block_signals(&set); /* before any thread starts: they all inherit it */
	snprintf(sock, sizeof sock, "%s/control.sock", d->state);
	struct control *ctl = NULL;
	int rc = 1;
	if (http && metrics_http_run(http, err, sizeof err) < 0) {
		vlog_error("metrics", "%s", err);
		daemon_report(report, 0);
	} else if (control_start(&ctl, d->vfs, sock, request_shutdown, d, err, sizeof err) < 0) {
		vlog_error("control.sock", "%s", err);
		daemon_report(report, 0);
	} else if (plugin && docker_plugin_run(plugin, ctl, d->mountpoint, err, sizeof err) < 0) {
		vlog_error("docker-plugin", "%s", err);
		control_stop(ctl);
		daemon_report(report, 0);
	} else {
		/* A daemon's stderr becomes /dev/null: the log goes to syslog, or
		 * to the fallback file, which is announced while stderr is still
		 * the caller's. */
		vlog_setup(d->log_level, d->log_target, !d->foreground);
		daemon_report(report, 1);
		control_set_mount_point(ctl, d->mountpoint);
		vlog_info("daemon", "volfs %s serving %s on %s (pid %d)", VOLFS_VERSION, d->state,
		          d->mountpoint, (int)getpid());
		vlog_info("daemon", "host writes: %s on %s (%s)", host_write_engine(), host_write_fstype(),
		          host_write_reason());
		if (d->transport == FUSE_MODE_DEV)
			vlog_info("daemon", "FUSE transport: dev");
		pthread_create(&d->flusher, NULL, flusher_main, d);
		vfs_start_reclaimer(d->vfs);
		char ready[64]; /* mounted, and the control socket listens */
		snprintf(ready, sizeof ready, "READY=1\nMAINPID=%d", (int)getpid());
		sdnotify(ready);
		run_workers(d, &set);
		rc = 0;
		pthread_mutex_lock(&d->stop_lock);
		d->stopping = 1;
		pthread_cond_signal(&d->stop_cond);
		pthread_mutex_unlock(&d->stop_lock);
		pthread_join(d->flusher, NULL);
		docker_plugin_stop(plugin);
		plugin = NULL;
		control_stop(ctl);
	}
	docker_plugin_stop(plugin);
	metrics_http_stop(http);
	fuse_session_unmount(d->se);
	fuse_session_destroy(d->se);
	vfs_close(d->vfs);
	if (rc == 0)
		vlog_info("daemon", "flushed and unmounted %s", d->mountpoint);
	return rc;
}

/* glibc keeps freed small blocks in "fastbins" and merges them all at the
 * next large allocation: after an apply frees a manifest of 10,000
 * documents, the next parse of a stored object under the db lock spent
 * 150 ms of CPU merging. Without fastbins each free merges at once, a
 * cost spread over the frees, outside the lock (the thread caches of
 * small blocks stay). And the heap keeps what a controller pass freed for
 * the next one instead of giving it back and faulting it in again (a
 * tenth of an apply's CPU went to growing the heap). */
static void no_deferred_free(void)
{
	mallopt(M_MXFAST, 0);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
}

/* VOLFS_TRACE_SLOW=MS: measure the CPU time of every hold of the db
 * lock, and log each hold and each fsync longer than MS milliseconds with
 * where its time went (docs/volfs.8, ENVIRONMENT). */
static void trace_slow_from_env(void)
{
	const char *ms = getenv("VOLFS_TRACE_SLOW");
	if (!ms || !*ms)
		return;
	char *end;
	double v = strtod(ms, &end);
	if (*end || v < 0) {
		vlog_warn("daemon", "VOLFS_TRACE_SLOW=%s is not a number of milliseconds; not tracing", ms);
		return;
	}
	db_trace_holds(1, (uint64_t)(v * 1e6));
	vfs_trace_fsync((uint64_t)(v * 1e6));
	vlog_info("daemon", "tracing: db lock holds and fsyncs over %g ms are logged", v);
}

int main(int argc, char **argv)
{
	struct daemon d = {.stop_lock = PTHREAD_MUTEX_INITIALIZER, .stop_cond = PTHREAD_COND_INITIALIZER,
	                   .log_level = VLOG_INFO, .log_target = VLOG_TO_AUTO,
	                   .docker_size = DOCKER_DEFAULT_SIZE};
	if (parse_args(&d, argc, argv) < 0 || check_args(&d, argc) < 0) {
		hostpath_allow_free();
		return 2;
	}
	/* Until the daemon detaches, its log is the terminal's (or journal's). */
	vlog_setup(d.log_level, d.log_target, 0);
	if (mkdir_p(d.state, 0700) < 0) {
		fprintf(stderr, "volfs: cannot create state directory %s: %s\n", d.state, strerror(errno));
		return 1;
	}
	if (absolute_paths(&d) < 0)
		return 1;
	char log_file[4200];
	snprintf(log_file, sizeof log_file, "%s/volfs.log", d.state);
	vlog_fallback_file(log_file);
	int lock = lock_state(d.state);
	if (lock < 0)
		return 1;
	if (private_state_dir(d.state) < 0) {
		close(lock);
		return 1;
	}

	raise_fd_limit();
	no_deferred_free();
	trace_slow_from_env();
	int rc = d.check ? run_check(&d) : serve(&d, argv[0]);
	close(lock);
	hostpath_allow_free();
	return rc;
}
