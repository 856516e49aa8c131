/*
 * tools/verbs_exec.c — volctl exec: run a command in a private mount
 * namespace where each of a pod container's volumeMounts is bind-mounted
 * at its mountPath from MOUNT/pods/<ns>/<pod>/<volume>, the way kubelet
 * would mount them into the container (subPath, readOnly). The mounts
 * live and die with the namespace; the host's mount table and directories
 * are left as they were.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/k8s.h"
#include "meta/pod.h"
#include "tools/cli.h"
#include "tools/verbs.h"

/* One bind mount to make: source (resolved) onto target, maybe read-only. */
struct bind {
	char source[PATH_MAX];
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
			return fail("volctl exec needs CAP_SYS_ADMIN to create a mount namespace "
			            "(run it as root)");
		return fail("cannot create a mount namespace: %s", strerror(errno));
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("cannot make the mount namespace private: %s", strerror(errno));
	return 0;
}

static json_object *fetch_pod(struct invocation *inv, const char *ns, const char *name)
{
	json_object *req = new_request("get", kind_of("Pod"), name), *res = NULL;
	add_string(req, "namespace", ns);
	if (call(inv, req, &res) != CALL_OK)
		return NULL;
	json_object *items = result_array(res, "items");
	json_object *pod = json_object_array_length(items)
	                   ? json_object_get(json_object_array_get_idx(items, 0)) : NULL;
	json_object_put(items);
	json_object_put(res);
	if (!pod)
		fail("pods \"%s\" not found", name);
	return pod;
}

static int fetch_mount_point(struct invocation *inv, char *buf, size_t len)
{
	json_object *res = NULL;
	if (call(inv, new_request("version", NULL, NULL), &res) != CALL_OK)
		return 1;
	const char *mp = k8s_str(res, "mountPoint");
	int r = mp ? 0 : fail("the daemon did not say where it is mounted (an older volfs?)");
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
		return fail("volume \"%s\": %s: %s", volume, root, strerror(errno));
	snprintf(path, sizeof path, "%s/%s", root, sub);
	for (char *p = path + strlen(root) + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		char real[PATH_MAX];
		/* Each existing step must still be inside the volume. */
		if (realpath(path, real) && !path_is_within(root, real))
			return fail("subPath \"%s\" of volume \"%s\" leaves the volume (through a symlink to %s)",
			            sub, volume, real);
		if (mkdir(path, rs.st_mode & 07777) < 0 && errno != EEXIST)
			return fail("cannot create subPath \"%s\" in volume \"%s\": %s", sub, volume,
			            strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	if (!realpath(path, out) || strlen(out) >= len)
		return fail("subPath \"%s\" of volume \"%s\": %s", sub, volume, strerror(errno));
	if (!path_is_within(root, out))
		return fail("subPath \"%s\" of volume \"%s\" leaves the volume (it resolves to %s)", sub,
		            volume, out);
	return 0;
}

/* Where the mount's data is on this machine, and how to mount it. */
static int plan_bind(const char *mnt, json_object *pod, json_object *m, struct bind *b)
{
	const char *name = k8s_str(m, "name"), *sub = k8s_str(m, "subPath");
	json_object *vol = pod_volume_named(pod, name), *ro = k8s_get(m, "readOnly");
	char entry[PATH_MAX * 2], root[PATH_MAX], why[256];
	b->volume = name;
	b->target = k8s_str(m, "mountPath");
	b->read_only = (ro && json_object_get_boolean(ro)) || pod_volume_read_only(vol);
	b->depth = depth_of(b->target);
	snprintf(entry, sizeof entry, "%s/pods/%s/%s/%s", mnt, k8s_str(pod, "metadata.namespace"),
	         k8s_str(pod, "metadata.name"), name);
	/* Claims resolve to their volume, hostPath volumes to the host path. */
	if (!realpath(entry, root))
		return fail("volume \"%s\" of the pod is not available at %s: %s", name, entry,
		            strerror(errno));
	if (sub && *sub) {
		if (pod_subpath_check(sub, why, sizeof why) < 0)
			return fail("subPath \"%s\" of volume \"%s\": %s", sub, name, why);
		return resolve_subpath(root, sub, name, b->source, sizeof b->source);
	}
	snprintf(b->source, sizeof b->source, "%s", root);
	return 0;
}

static int do_bind(const struct bind *b)
{
	struct stat ts;
	if (stat(b->target, &ts) < 0)
		return fail("mountPath %s of volume \"%s\" does not exist on this machine: create it "
		            "first (volctl exec mounts over existing paths and changes nothing on the host)",
		            b->target, b->volume);
	if (mount(b->source, b->target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail("cannot mount volume \"%s\" (%s) at %s: %s", b->volume, b->source, b->target,
		            strerror(errno));
	if (b->read_only &&
	    mount(NULL, b->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
		return fail("cannot make %s read-only: %s", b->target, strerror(errno));
	return 0;
}

static int by_depth(const void *a, const void *b)
{
	const struct bind *x = a, *y = b;
	return x->depth != y->depth ? x->depth - y->depth : strcmp(x->target, y->target);
}

static int mount_all(const char *mnt, json_object *pod, json_object *container)
{
	json_object *mounts = k8s_get(container, "volumeMounts");
	size_t n = mounts && json_object_is_type(mounts, json_type_array)
	           ? json_object_array_length(mounts) : 0;
	struct bind *binds = calloc(n ? n : 1, sizeof *binds);
	if (!binds)
		return fail("out of memory");
	int r = 0;
	for (size_t i = 0; i < n && !r; i++)
		r = plan_bind(mnt, pod, json_object_array_get_idx(mounts, i), &binds[i]);
	qsort(binds, n, sizeof *binds, by_depth);
	for (size_t i = 0; i < n && !r; i++)
		r = do_bind(&binds[i]);
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
	const char *phase = k8s_str(pod, "status.phase");
	if (!phase || strcmp(phase, "Running")) {
		fail("pod \"%s\" is %s, not Running: its volumes are not set up (see 'volctl describe pod %s')",
		     name, phase ? phase : "not set up", name);
		json_object_put(pod);
		return NULL;
	}
	*container = pod_container(pod, inv->value[F_CONTAINER], &defaulted, err, sizeof err);
	if (!*container) {
		fail("%s", err);
		json_object_put(pod);
		return NULL;
	}
	if (defaulted) {
		pod_container_names(pod, names, sizeof names);
		fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", k8s_str(*container, "name"), names);
	}
	return pod;
}

int run_exec(struct invocation *inv)
{
	const char *ns;
	char mnt[PATH_MAX];
	json_object *container = NULL;
	if (inv->npos == 0)
		return fail("a pod name is required; see 'volctl exec --help'");
	if (!inv->dashdash || inv->dashdash != 2)
		return fail("usage: volctl exec POD [-c CONTAINER] -- COMMAND [ARGS...] (the command "
		            "follows --)");
	if (inv->npos < 2)
		return fail("a command is required after --");
	if (check_name(inv->pos[0]) || check_namespace(inv, &ns))
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
