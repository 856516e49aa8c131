/*
 * tools/verbs_exec.c — volctl exec: run a command in a private mount
 * namespace where each of a pod container's volumeMounts is bind-mounted
 * at its mountPath from MOUNT/pods/<ns>/<pod>/<volume>, the way kubelet
 * would mount them into the container (subPath, readOnly). The mounts
 * live and die with the namespace; the host's mount table and directories
 * are left as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "meta/jsonobj.h"
#include "meta/kinds.h"
#include "meta/pod.h"
#include "tools/verbs.h"

/* One bind mount to make: source (resolved) onto target, maybe read-only.
 * A host path is held open (host_fd) and bound through /proc/self/fd, so
 * what was checked is what gets mounted. */
struct bind {
	char source[PATH_MAX];
	int host_fd; /* -1 unless the source is a host path */
	const char *target;
	const char *volume;
	int read_only;
	int depth; /* path components of target: parents are mounted first */
};

/* Leave the host's mount namespace, and stop our mounts from propagating
 * back to it (systemd makes / shared). */
static int private_namespace(void)
{
	if (unshare(CLONE_NEWNS) < 0) {
		if (errno == EPERM)
			return cli_fail("volctl exec needs CAP_SYS_ADMIN to create a mount namespace "
			            "(run it as root)");
		return cli_fail("cannot create a mount namespace: %s", strerror(errno));
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cli_fail("cannot make the mount namespace private: %s", strerror(errno));
	return 0;
}

static json_object *fetch_pod(struct invocation *inv, const char *ns, const char *name)
{
	json_object *req = cli_new_request("get", k8s_kind_lookup("Pod", K8S_KIND_STORED), name);
	json_object *res = NULL;

	cli_add_string(req, "namespace", ns);
	if (cli_call(inv, req, &res) != CALL_OK)
		return NULL;
	json_object *items = cli_result_array(res, "items");
	json_object *pod = json_object_array_length(items)
	                   ? json_object_get(json_object_array_get_idx(items, 0)) : NULL;
	json_object_put(items);
	json_object_put(res);
	if (!pod)
		cli_fail("pods \"%s\" not found", name);
	return pod;
}

static int fetch_mount_point(struct invocation *inv, char *buf, size_t len)
{
	json_object *res = NULL;
	if (cli_call(inv, cli_new_request("version", NULL, NULL), &res) != CALL_OK)
		return 1;
	const char *mp = jpath_str(res, "mountPoint");
	int r = mp ? 0 : cli_fail("the daemon did not say where it is mounted (an older volfs?)");
	if (mp)
		snprintf(buf, len, "%s", mp);
	json_object_put(res);
	return r;
}

static int depth_of(const char *path)
{
	int d = 0;
	for (; *path; path++)
		d += *path == '/';
	return d;
}

/* mkdir -p of the subPath below root, with the root's mode, as kubelet's
 * SafeMakeDir; then the resolved path, which must stay in the volume. */
static int resolve_subpath(const char *root, const char *sub, const char *volume, char *out,
                           size_t len)
{
	struct stat rs;
	char path[PATH_MAX * 2];
	if (stat(root, &rs) < 0)
		return cli_fail("volume \"%s\": %s: %s", volume, root, strerror(errno));
	snprintf(path, sizeof path, "%s/%s", root, sub);
	for (char *p = path + strlen(root) + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		char real[PATH_MAX];
		/* Each existing step must still be inside the volume. */
		if (realpath(path, real) && !path_is_within(root, real))
			return cli_fail("subPath \"%s\" of volume \"%s\" leaves the volume (through a symlink to %s)",
			            sub, volume, real);
		/* kubelet chmods what it made: the umask must not narrow it. */
		if (mkdir(path, rs.st_mode & 07777) == 0 ? chmod(path, rs.st_mode & 07777) < 0 : errno != EEXIST)
			return cli_fail("cannot create subPath \"%s\" in volume \"%s\": %s", sub, volume,
			            strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	if (!realpath(path, out) || strlen(out) >= len)
		return cli_fail("subPath \"%s\" of volume \"%s\": %s", sub, volume, strerror(errno));
	if (!path_is_within(root, out))
		return cli_fail("subPath \"%s\" of volume \"%s\" leaves the volume (it resolves to %s)", sub,
		            volume, out);
	return 0;
}

static int open_resolved(int dirfd, const char *path, uint64_t resolve)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Where a pod's volume entry leads when that is outside the mount: the
 * host path of a hostPath volume (or of a claim's hostPath volume), which
 * the daemon resolved and checked against --hostpath-allow when it set the
 * pod up. 1 with the path in host, 0 for a volume inside the mount. */
static int host_path_of_entry(const char *mnt, const char *entry, char *host, size_t len)
{
	char at[PATH_MAX * 2], target[PATH_MAX], dir[PATH_MAX * 2];
	snprintf(at, sizeof at, "%s", entry);
	for (int hops = 0; hops < 8; hops++) {
		ssize_t n = readlink(at, target, sizeof target - 1);
		if (n < 0)
			return 0; /* a directory of the mount itself */
		target[n] = 0;
		if (target[0] == '/' && !path_is_within(mnt, target)) {
			snprintf(host, len, "%s", target);
			return 1;
		}
		snprintf(dir, sizeof dir, "%s", at);
		snprintf(at, sizeof at, "%s/%s", target[0] == '/' ? "" : dirname(dir), target);
	}
	return 0;
}

/* Open the host path without following any symbolic link: it was fully
 * resolved when the pod was set up, so a link in it now is one swapped in
 * since (a directory replaced by a link to /etc), leading who knows where. */
static int open_host_path(const char *host, const char *volume)
{
	int fd = open_resolved(AT_FDCWD, host, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ELOOP)
		cli_fail("volume \"%s\": host path %s changed since the pod was set up (a symbolic link "
		     "replaced part of it); refusing to mount it", volume, host);
	else if (fd < 0)
		cli_fail("volume \"%s\": host path %s: %s", volume, host, strerror(errno));
	return fd;
}

/* mkdir of the last component of path below root (mode), its parent
 * resolved beneath root: a link swapped in cannot redirect it. */
static void make_beneath(int root, char *path, mode_t mode)
{
	char *slash = strrchr(path, '/');
	int parent = root;
	if (slash) {
		*slash = 0;
		parent = open_resolved(root, path, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		*slash = '/';
	}
	/* A failure here shows when the whole subPath is opened. */
	if (parent >= 0 && mkdirat(parent, slash ? slash + 1 : path, mode) < 0)
		errno = 0;
	if (parent >= 0 && parent != root)
		close(parent);
}

/* The subPath below an open host directory, made (mode of the root) where
 * missing, as kubelet's SafeMakeDir; every step resolved beneath the
 * root. An O_PATH fd, or -1 after saying why. */
static int host_subpath(int root, const char *sub, const char *volume)
{
	struct stat rs;
	char path[PATH_MAX];
	if (fstat(root, &rs) < 0) {
		cli_fail("volume \"%s\": %s", volume, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s", sub);
	for (char *p = path;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		make_beneath(root, path, rs.st_mode & 07777);
		*p = c;
		if (!c)
			break;
	}
	int fd = open_resolved(root, sub, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		cli_fail("subPath \"%s\" of volume \"%s\": %s", sub, volume,
		     errno == EXDEV ? "it leaves the volume" : strerror(errno));
	return fd;
}

/* A hostPath source: held open, bound by descriptor. */
static int plan_host_bind(const char *host, const char *sub, struct bind *b)
{
	int root = open_host_path(host, b->volume);
	if (root < 0)
		return 1;
	b->host_fd = sub && *sub ? host_subpath(root, sub, b->volume) : root;
	if (b->host_fd != root)
		close(root);
	if (b->host_fd < 0)
		return 1;
	snprintf(b->source, sizeof b->source, "/proc/self/fd/%d", b->host_fd);
	return 0;
}

/* Where the mount's data is on this machine, and how to mount it. */
static int plan_bind(const char *mnt, json_object *pod, json_object *m, struct bind *b)
{
	const char *name = jpath_str(m, "name"), *sub = jpath_str(m, "subPath");
	json_object *vol = pod_volume_named(pod, name), *ro = jpath_get(m, "readOnly");
	char entry[PATH_MAX * 2], root[PATH_MAX], why[256];
	b->volume = name;
	b->host_fd = -1;
	b->target = jpath_str(m, "mountPath");
	b->read_only = (ro && json_object_get_boolean(ro)) || pod_volume_read_only(vol);
	b->depth = depth_of(b->target);
	snprintf(entry, sizeof entry, "%s/pods/%s/%s/%s", mnt, jpath_str(pod, "metadata.namespace"),
	         jpath_str(pod, "metadata.name"), name);
	if (sub && *sub && pod_subpath_check(sub, why, sizeof why) < 0)
		return cli_fail("subPath \"%s\" of volume \"%s\": %s", sub, name, why);
	if (host_path_of_entry(mnt, entry, root, sizeof root))
		return plan_host_bind(root, sub, b);
	/* Claims resolve to their volume inside the mount. */
	if (!realpath(entry, root))
		return cli_fail("volume \"%s\" of the pod is not available at %s: %s", name, entry,
		            strerror(errno));
	if (sub && *sub)
		return resolve_subpath(root, sub, name, b->source, sizeof b->source);
	snprintf(b->source, sizeof b->source, "%s", root);
	return 0;
}

static int do_bind(const struct bind *b)
{
	struct stat ts;
	if (stat(b->target, &ts) < 0)
		return cli_fail("mountPath %s of volume \"%s\" does not exist on this machine: create it "
		            "first (volctl exec mounts over existing paths and changes nothing on the host)",
		            b->target, b->volume);
	if (mount(b->source, b->target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return cli_fail("cannot mount volume \"%s\" (%s) at %s: %s", b->volume, b->source, b->target,
		            strerror(errno));
	if (b->read_only &&
	    mount(NULL, b->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
		return cli_fail("cannot make %s read-only: %s", b->target, strerror(errno));
	return 0;
}

static int by_depth(const void *a, const void *b)
{
	const struct bind *x = a, *y = b;
	return x->depth != y->depth ? x->depth - y->depth : strcmp(x->target, y->target);
}

static int mount_all(const char *mnt, json_object *pod, json_object *container)
{
	json_object *mounts = jpath_get(container, "volumeMounts");
	size_t n = mounts && json_object_is_type(mounts, json_type_array)
	           ? json_object_array_length(mounts) : 0;
	struct bind *binds = calloc(n ? n : 1, sizeof *binds);
	if (!binds)
		return cli_fail("out of memory");
	for (size_t i = 0; i < n; i++)
		binds[i].host_fd = -1;
	int r = 0;
	for (size_t i = 0; i < n && !r; i++)
		r = plan_bind(mnt, pod, json_object_array_get_idx(mounts, i), &binds[i]);
	qsort(binds, n, sizeof *binds, by_depth);
	for (size_t i = 0; i < n && !r; i++)
		r = do_bind(&binds[i]);
	for (size_t i = 0; i < n; i++)
		if (binds[i].host_fd >= 0)
			close(binds[i].host_fd);
	free(binds);
	return r;
}

/* The pod and container to use, checked. */
static json_object *exec_target(struct invocation *inv, const char *ns, json_object **container)
{
	const char *name = inv->pos[0];
	char err[1024], names[512];
	int defaulted;
	json_object *pod = fetch_pod(inv, ns, name);
	if (!pod)
		return NULL;
	const char *phase = jpath_str(pod, "status.phase");
	if (!phase || strcmp(phase, "Running")) {
		cli_fail("pod \"%s\" is %s, not Running: its volumes are not set up (see 'volctl describe pod %s')",
		     name, phase ? phase : "not set up", name);
		json_object_put(pod);
		return NULL;
	}
	*container = pod_container(pod, inv->value[F_CONTAINER], &defaulted, err, sizeof err);
	if (!*container) {
		cli_fail("%s", err);
		json_object_put(pod);
		return NULL;
	}
	if (defaulted) {
		pod_container_names(pod, names, sizeof names);
		fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", jpath_str(*container, "name"), names);
	}
	return pod;
}

int run_exec(struct invocation *inv)
{
	const char *ns;
	char mnt[PATH_MAX];
	json_object *container = NULL;
	if (inv->npos == 0)
		return cli_fail("a pod name is required; see 'volctl exec --help'");
	if (!inv->dashdash || inv->dashdash != 2)
		return cli_fail("usage: volctl exec POD [-c CONTAINER] -- COMMAND [ARGS...] (the command "
		            "follows --)");
	if (inv->npos < 2)
		return cli_fail("a command is required after --");
	if (cli_check_name(inv->pos[0]) || cli_check_namespace(inv, &ns))
		return 1;
	if (private_namespace())
		return 1;
	if (fetch_mount_point(inv, mnt, sizeof mnt))
		return 1;
	json_object *pod = exec_target(inv, ns, &container);
	if (!pod)
		return 1;
	int r = mount_all(mnt, pod, container);
	json_object_put(pod);
	if (r)
		return r;
	char *argv[MAX_ARGS + 1];
	size_t argc = 0;
	for (size_t i = 1; i < inv->npos; i++)
		argv[argc++] = (char *)inv->pos[i];
	argv[argc] = NULL;
	fflush(stdout);
	execvp(argv[0], argv);
	int e = errno;
	fprintf(stderr, "volctl: error: cannot run %s: %s\n", argv[0], strerror(e));
	return e == ENOENT ? 127 : 126;
}
