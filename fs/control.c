/*
 * fs/control.c — serves the control socket: accepts a connection, reads one
 * JSON request line, dispatches on its verb to the volume layer, writes one
 * JSON answer. Requests are handled one at a time: the daemon is the single
 * writer of meta.db, and volume operations are short.
 */
#include "fs/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs/snapshot.h"
#include "fs/volume.h"
#include "meta/objects.h"

#define REQUEST_MAX (4 << 20)

struct control {
	struct vfs *v;
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	char *path;
	void (*on_shutdown)(void *);
	void *arg;
};

static const char *reason_of(int err)
{
	switch (err) {
	case -ENOENT: return "NotFound";
	case -EEXIST: return "AlreadyExists";
	case -EINVAL: return "Invalid";
	case -EPERM: case -EACCES: return "Forbidden";
	case -EBUSY: return "Conflict";
	case -ENOSPC: return "NoSpace";
	default: return "Internal";
	}
}

static json_object *answer_error(int err, const char *msg)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "ok", json_object_new_boolean(0));
	json_object_object_add(a, "error", json_object_new_string(msg));
	json_object_object_add(a, "reason", json_object_new_string(reason_of(err)));
	return a;
}

static json_object *answer_ok(json_object *result)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "ok", json_object_new_boolean(1));
	json_object_object_add(a, "result", result ? result : json_object_new_object());
	return a;
}

static const char *str_field(json_object *req, const char *key)
{
	json_object *f;
	if (!json_object_object_get_ex(req, key, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	return json_object_get_string(f);
}

static int u64_field(json_object *req, const char *key, uint64_t *out)
{
	json_object *f;
	if (!json_object_object_get_ex(req, key, &f) || !json_object_is_type(f, json_type_int))
		return -1;
	int64_t x = json_object_get_int64(f);
	if (x < 0)
		return -1;
	*out = (uint64_t)x;
	return 0;
}

static json_object *items_result(json_object *items)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "items", items);
	return r;
}

static void add_problem(void *arg, const char *msg)
{
	json_object_array_add(arg, json_object_new_string(msg));
}

int control_check(struct vfs *v, void (*report)(void *arg, const char *msg), void *arg)
{
	struct db *db = vfs_db(v);
	char msg[512];
	int problems = 0;
	vfs_flush_all(v);
	db_lock(db);
	if (db_integrity_check(db, msg, sizeof msg) < 0) {
		char line[600];
		snprintf(line, sizeof line, "meta.db integrity check: %s", msg);
		report(arg, line);
		problems++;
	}
	problems += vfs_check(v, report, arg);
	db_unlock(db);
	return problems;
}

/* Verbs on PersistentVolumes; later kinds get handlers of their own. */
static json_object *handle_pv(struct vfs *v, const char *verb, json_object *req)
{
	char err[512] = "";
	const char *name = str_field(req, "name");
	uint64_t capacity = 0;
	json_object *out = NULL;
	int r;
	if (!strcmp(verb, "get")) {
		r = volume_pv_get(v, name, &out, err, sizeof err);
		return r < 0 ? answer_error(r, err) : answer_ok(items_result(out));
	}
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	if (!strcmp(verb, "create") || !strcmp(verb, "resize")) {
		if (u64_field(req, "capacity", &capacity) < 0)
			return answer_error(-EINVAL, "capacity (bytes) is required");
		r = !strcmp(verb, "create") ? volume_pv_create(v, name, capacity, &out, err, sizeof err)
		                            : volume_pv_resize(v, name, capacity, &out, err, sizeof err);
	} else if (!strcmp(verb, "describe")) {
		r = volume_pv_describe(v, name, &out, err, sizeof err);
	} else if (!strcmp(verb, "delete")) {
		r = volume_pv_delete(v, name, err, sizeof err);
		if (r == 0) {
			out = json_object_new_object();
			json_object_object_add(out, "deleted", json_object_new_string(name));
		}
	} else {
		snprintf(err, sizeof err, "verb \"%s\" is not supported for persistentvolumes", verb);
		r = -EINVAL;
	}
	return r < 0 ? answer_error(r, err) : answer_ok(out);
}

static const char *ns_field(json_object *req)
{
	const char *ns = str_field(req, "namespace");
	return ns && *ns ? ns : "default";
}

static json_object *result_or_error(int r, const char *err, json_object *out)
{
	return r < 0 ? answer_error(r, err) : answer_ok(out);
}

/* VolumeSnapshots: get, describe, delete; creation is the verb "snapshot". */
static json_object *handle_vs(struct vfs *v, const char *verb, json_object *req)
{
	char err[512] = "";
	const char *name = str_field(req, "name");
	json_object *out = NULL, *all;
	int every = json_object_object_get_ex(req, "allNamespaces", &all) && json_object_get_boolean(all);
	int r;
	if (!strcmp(verb, "get")) {
		r = snapshot_get(v, every ? NULL : ns_field(req), name, &out, err, sizeof err);
		return r < 0 ? answer_error(r, err) : answer_ok(items_result(out));
	}
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	if (!strcmp(verb, "describe"))
		r = snapshot_describe(v, ns_field(req), name, &out, err, sizeof err);
	else if (!strcmp(verb, "delete")) {
		r = snapshot_delete(v, ns_field(req), name, err, sizeof err);
		if (r == 0) {
			out = json_object_new_object();
			json_object_object_add(out, "deleted", json_object_new_string(name));
		}
	} else {
		snprintf(err, sizeof err, "verb \"%s\" is not supported for volumesnapshots", verb);
		r = -EINVAL;
	}
	return result_or_error(r, err, out);
}

/* snapshot {source, name, namespace}, restore {snapshot, name, namespace,
 * capacity?}, clone {source, name}: sources and results are pv names. */
static json_object *handle_copy_verbs(struct vfs *v, const char *verb, json_object *req)
{
	char err[512] = "";
	const char *name = str_field(req, "name"), *source = str_field(req, "source");
	const char *snap = str_field(req, "snapshot");
	json_object *out = NULL;
	uint64_t capacity = 0;
	int r;
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	if (!strcmp(verb, "snapshot"))
		r = source ? snapshot_create(v, source, ns_field(req), name, NULL, &out, err, sizeof err)
		           : (snprintf(err, sizeof err, "a source volume is required"), -EINVAL);
	else if (!strcmp(verb, "restore")) {
		u64_field(req, "capacity", &capacity);
		r = snap ? volume_restore(v, ns_field(req), snap, name, capacity, NULL, &out, err, sizeof err)
		         : (snprintf(err, sizeof err, "a snapshot is required"), -EINVAL);
	} else
		r = source ? volume_clone(v, source, name, 0, NULL, &out, err, sizeof err)
		           : (snprintf(err, sizeof err, "a source volume is required"), -EINVAL);
	return result_or_error(r, err, out);
}

static json_object *dispatch(struct control *c, json_object *req, int *shutdown)
{
	const char *verb = str_field(req, "verb");
	if (!verb)
		return answer_error(-EINVAL, "request has no verb");
	if (!strcmp(verb, "version")) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "version", json_object_new_string(VOLFS_VERSION));
		json_object_object_add(r, "schema", json_object_new_int(DB_SCHEMA_VERSION));
		return answer_ok(r);
	}
	if (!strcmp(verb, "df"))
		return answer_ok(items_result(volume_df(c->v)));
	if (!strcmp(verb, "check")) {
		json_object *problems = json_object_new_array();
		control_check(c->v, add_problem, problems);
		json_object *r = json_object_new_object();
		json_object_object_add(r, "problems", problems);
		return answer_ok(r);
	}
	if (!strcmp(verb, "shutdown")) {
		*shutdown = 1;
		return answer_ok(NULL);
	}
	if (!strcmp(verb, "snapshot") || !strcmp(verb, "restore") || !strcmp(verb, "clone"))
		return handle_copy_verbs(c->v, verb, req);
	const char *kind = str_field(req, "kind");
	if (!kind)
		return answer_error(-EINVAL, "request has no kind");
	if (!strcmp(kind, KIND_PV))
		return handle_pv(c->v, verb, req);
	if (!strcmp(kind, "VolumeSnapshot"))
		return handle_vs(c->v, verb, req);
	char msg[256];
	snprintf(msg, sizeof msg, "kind %s is not supported by this volfs yet", kind);
	return answer_error(-EINVAL, msg);
}

static char *read_request(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			if (cap >= REQUEST_MAX)
				break;
			char *bigger = realloc(buf, cap * 2);
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static int serve_one(struct control *c, int fd)
{
	int shutdown = 0;
	char *line = read_request(fd);
	json_object *req = line ? json_tokener_parse(line) : NULL;
	json_object *ans = req && json_object_is_type(req, json_type_object)
	                           ? dispatch(c, req, &shutdown)
	                           : answer_error(-EINVAL, "request is not a JSON object");
	/* What the control plane acknowledges survives kill -9. */
	vfs_flush_all(c->v);
	const char *s = json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PLAIN);
	write_all(fd, s, strlen(s));
	write_all(fd, "\n", 1);
	json_object_put(ans);
	json_object_put(req);
	free(line);
	return shutdown;
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->stop_pipe[0], .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		int shutdown = serve_one(c, fd);
		close(fd);
		if (shutdown && c->on_shutdown)
			c->on_shutdown(c->arg);
	}
	return NULL;
}

static int bind_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path); /* stale: we hold the state directory's lock */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int control_start(struct control **out, struct vfs *v, const char *sock_path,
                  void (*on_shutdown)(void *arg), void *arg, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->v = v;
	c->on_shutdown = on_shutdown;
	c->arg = arg;
	c->path = strdup(sock_path);
	c->fd = bind_socket(sock_path, err, errlen);
	if (c->fd < 0 || pipe2(c->stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&c->thread, NULL, control_main, c) != 0) {
		if (c->fd >= 0)
			close(c->fd);
		free(c->path);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void control_stop(struct control *c)
{
	if (!c)
		return;
	if (write(c->stop_pipe[1], "x", 1) < 0)
		perror("volfs: control stop");
	pthread_join(c->thread, NULL);
	close(c->fd);
	close(c->stop_pipe[0]);
	close(c->stop_pipe[1]);
	unlink(c->path);
	free(c->path);
	free(c);
}
