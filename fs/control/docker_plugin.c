/*
 * fs/control/docker_plugin.c — the VolumeDriver endpoints of Docker's plugin
 * protocol (see docker_plugin.h): routing, request and answer JSON, and
 * the mount references. HTTP is libmicrohttpd's (fs/control/httpd.c), whose one
 * thread serves the requests one at a time, so the references need no
 * lock.
 *
 * What the clients send (Docker 20.10, Podman 4.3): POST with a JSON body
 * or none, any Content-Type or none, an empty Host header (Docker) or
 * "plugin" (Podman). Both read a non-200 answer as an error carrying Err;
 * Podman looks for "no such volume" in it. Docker mounts with a new ID per
 * call, Podman with one constant ID per volume, so mounts are counted per
 * (volume, ID) and a volume is in use while any count is above zero.
 */
#include "fs/control/docker_plugin.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs/control/docker_volume.h"
#include "fs/control/httpd.h"
#include "meta/k8s.h"
#include "meta/log.h"
#include "meta/quantity.h"

#define PLUGIN_TYPE "application/vnd.docker.plugins.v1+json"
#define OBJECT "docker-plugin"

struct mount_ref {
	char *volume, *id;
	unsigned count;
	struct mount_ref *next;
};

struct docker_plugin {
	char *path;
	int fd;                 /* listening, until the server owns it */
	struct httpd *server;
	struct docker_volumes dv;
	char *mount_point;
	struct mount_ref *refs;
};

/* --- mount references --- */

static struct mount_ref **ref_slot(struct docker_plugin *p, const char *volume, const char *id)
{
	struct mount_ref **r = &p->refs;
	while (*r && (strcmp((*r)->volume, volume) || strcmp((*r)->id, id)))
		r = &(*r)->next;
	return r;
}

static int ref_add(struct docker_plugin *p, const char *volume, const char *id)
{
	struct mount_ref **slot = ref_slot(p, volume, id);
	if (!*slot) {
		struct mount_ref *r = calloc(1, sizeof *r);
		if (!r || !(r->volume = strdup(volume)) || !(r->id = strdup(id))) {
			if (r)
				free(r->volume);
			free(r);
			return -1;
		}
		*slot = r;
	}
	(*slot)->count++;
	return 0;
}

/* An Unmount without its Mount (a restarted daemon) is not an error. */
static void ref_drop(struct docker_plugin *p, const char *volume, const char *id)
{
	struct mount_ref **slot = ref_slot(p, volume, id), *r = *slot;
	if (!r)
		return;
	assert(r->count > 0); /* a reference at zero is unlinked */
	if (--r->count > 0)
		return;
	*slot = r->next;
	free(r->volume);
	free(r->id);
	free(r);
}

static unsigned refs_of(struct docker_plugin *p, const char *volume)
{
	unsigned n = 0;
	for (struct mount_ref *r = p->refs; r; r = r->next)
		if (!strcmp(r->volume, volume))
			n += r->count;
	return n;
}

/* --- endpoints --- */

/* Each fills out (an object) and returns 0, or -1 with the Err in err. */
typedef int (*endpoint_fn)(struct docker_plugin *p, json_object *req, const char *name, json_object *out,
                           char *err, size_t errlen);

static int activate(struct docker_plugin *p, json_object *req, const char *name, json_object *out,
                    char *err, size_t errlen)
{
	(void)p, (void)req, (void)name, (void)err, (void)errlen;
	json_object *impl = json_object_new_array();
	json_object_array_add(impl, json_object_new_string("VolumeDriver"));
	json_object_object_add(out, "Implements", impl);
	return 0;
}

static int capabilities(struct docker_plugin *p, json_object *req, const char *name, json_object *out,
                        char *err, size_t errlen)
{
	(void)p, (void)req, (void)name, (void)err, (void)errlen;
	jpath_set_str(out, "Capabilities.Scope", "local");
	return 0;
}

static int create(struct docker_plugin *p, json_object *req, const char *name, json_object *out,
                  char *err, size_t errlen)
{
	(void)out;
	if (docker_volume_create(&p->dv, name, jpath_get(req, "Opts"), err, errlen) < 0)
		return -1;
	vlog_info(OBJECT, "created volume %s", name);
	return 0;
}

static int remove_volume(struct docker_plugin *p, json_object *req, const char *name, json_object *out,
                         char *err, size_t errlen)
{
	(void)req, (void)out;
	unsigned n = refs_of(p, name);
	if (n) {
		snprintf(err, errlen, "volume %s is in use: mounted %u time%s; stop the containers using it first",
		         name, n, n == 1 ? "" : "s");
		return -1;
	}
	if (docker_volume_remove(&p->dv, name, err, errlen) < 0)
		return -1;
	vlog_info(OBJECT, "removed volume %s", name);
	return 0;
}

/* out.Mountpoint of a volume that exists; -1 if it does not. */
static int mountpoint_of(struct docker_plugin *p, const char *name, json_object *out, char *err, size_t errlen)
{
	json_object *pv;
	char path[4400];
	if (docker_volume_find(&p->dv, name, &pv, err, errlen) < 0)
		return -1;
	docker_volume_path(&p->dv, pv, path, sizeof path);
	json_object_put(pv);
	json_object_object_add(out, "Mountpoint", json_object_new_string(path));
	return 0;
}

static const char *mount_id(json_object *req)
{
	const char *id = jpath_str(req, "ID");
	return id ? id : "";
}

static int mount(struct docker_plugin *p, json_object *req, const char *name, json_object *out, char *err,
                 size_t errlen)
{
	if (mountpoint_of(p, name, out, err, errlen) < 0)
		return -1;
	if (ref_add(p, name, mount_id(req)) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vlog_debug(OBJECT, "mount %s (id %s): %u mount%s", name, mount_id(req), refs_of(p, name),
	           refs_of(p, name) == 1 ? "" : "s");
	return 0;
}

/* Never fails: a container must be able to stop even if its volume was
 * deleted behind Docker's back (volctl delete pv). */
static int unmount(struct docker_plugin *p, json_object *req, const char *name, json_object *out,
                   char *err, size_t errlen)
{
	(void)out, (void)err, (void)errlen;
	ref_drop(p, name, mount_id(req));
	return 0;
}

static int path(struct docker_plugin *p, json_object *req, const char *name, json_object *out, char *err,
                size_t errlen)
{
	(void)req;
	return mountpoint_of(p, name, out, err, errlen);
}

static json_object *volume_entry(struct docker_plugin *p, json_object *pv, int with_status)
{
	char path[4400];
	json_object *v = json_object_new_object();
	docker_volume_path(&p->dv, pv, path, sizeof path);
	json_object_object_add(v, "Name", json_object_new_string(docker_volume_name(pv)));
	json_object_object_add(v, "Mountpoint", json_object_new_string(path));
	const char *created = jpath_str(pv, "metadata.creationTimestamp");
	if (created)
		json_object_object_add(v, "CreatedAt", json_object_new_string(created));
	if (with_status)
		json_object_object_add(v, "Status", docker_volume_status(&p->dv, pv));
	return v;
}

static int get(struct docker_plugin *p, json_object *req, const char *name, json_object *out, char *err,
               size_t errlen)
{
	json_object *pv;
	(void)req;
	if (docker_volume_find(&p->dv, name, &pv, err, errlen) < 0)
		return -1;
	json_object_object_add(out, "Volume", volume_entry(p, pv, 1));
	json_object_put(pv);
	return 0;
}

static int list(struct docker_plugin *p, json_object *req, const char *name, json_object *out, char *err,
                size_t errlen)
{
	json_object *pvs;
	(void)req, (void)name;
	if (docker_volume_list(&p->dv, &pvs, err, errlen) < 0)
		return -1;
	json_object *vols = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(pvs); i++)
		json_object_array_add(vols, volume_entry(p, json_object_array_get_idx(pvs, i), 0));
	json_object_put(pvs);
	json_object_object_add(out, "Volumes", vols);
	return 0;
}

static const struct endpoint {
	const char *path;
	endpoint_fn fn;
	int needs_name;
} endpoints[] = {
	{"/Plugin.Activate", activate, 0},
	{"/VolumeDriver.Capabilities", capabilities, 0},
	{"/VolumeDriver.Create", create, 1},
	{"/VolumeDriver.Remove", remove_volume, 1},
	{"/VolumeDriver.Mount", mount, 1},
	{"/VolumeDriver.Unmount", unmount, 1},
	{"/VolumeDriver.Path", path, 1},
	{"/VolumeDriver.Get", get, 1},
	{"/VolumeDriver.List", list, 0},
};

static const struct endpoint *endpoint_of(const char *path)
{
	for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
		if (!strcmp(endpoints[i].path, path))
			return &endpoints[i];
	return NULL;
}

/* --- requests --- */

static void reply_json(struct httpd_reply *reply, unsigned status, json_object *o)
{
	int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	httpd_reply_text(reply, status, PLUGIN_TYPE, json_object_to_json_string_ext(o, flags));
	json_object_put(o);
}

static void reply_err(struct httpd_reply *reply, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Err", json_object_new_string(msg));
	reply_json(reply, status, o);
}

static int blank(const char *s)
{
	return !s[strspn(s, " \t\r\n")];
}

/* The body as a JSON object: none, "null" and "{}" are all an empty
 * request. NULL with the reason in err if it is not JSON or not an object. */
static json_object *parse_body(const struct httpd_request *req, char *err, size_t errlen)
{
	if (blank(req->body))
		return json_object_new_object();
	enum json_tokener_error jerr;
	json_object *o = json_tokener_parse_verbose(req->body, &jerr);
	if (jerr != json_tokener_success) {
		snprintf(err, errlen, "malformed JSON request to %s: %s", req->path, json_tokener_error_desc(jerr));
		return NULL;
	}
	if (!o)
		return json_object_new_object();
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "request to %s is not a JSON object", req->path);
		return NULL;
	}
	return o;
}

/* The request's body, or NULL with the HTTP status and Err of its refusal:
 * not a POST, no such endpoint, too large, not a JSON object, no Name. */
static json_object *admit(const struct httpd_request *req, const struct endpoint *e, unsigned *status,
                          char *err, size_t errlen)
{
	*status = 400;
	if (strcmp(req->method, "POST")) {
		*status = 405;
		snprintf(err, errlen, "the volume plugin API takes POST requests, not %s", req->method);
		return NULL;
	}
	if (!e) {
		*status = 404;
		snprintf(err, errlen, "unknown endpoint %s: volfs implements VolumeDriver", req->path);
		return NULL;
	}
	if (req->too_large) {
		*status = 413;
		snprintf(err, errlen, "request to %s is larger than %d bytes", req->path, DOCKER_BODY_MAX);
		return NULL;
	}
	json_object *body = parse_body(req, err, errlen);
	const char *name = jpath_str(body, "Name");
	if (body && e->needs_name && (!name || !*name)) {
		snprintf(err, errlen, "request to %s has no Name", req->path);
		json_object_put(body);
		return NULL;
	}
	return body;
}

static void answer(void *arg, const struct httpd_request *req, struct httpd_reply *reply)
{
	struct docker_plugin *p = arg;
	char err[1024] = "";
	unsigned status;
	const struct endpoint *e = endpoint_of(req->path);
	vlog_debug(OBJECT, "%s %s %.200s", req->method, req->path, req->body);
	json_object *body = admit(req, e, &status, err, sizeof err);
	if (!body) {
		reply_err(reply, status, "%s", err);
		reply->allow = status == 405 ? "POST" : NULL;
		return;
	}
	const char *name = jpath_str(body, "Name");
	json_object *out = json_object_new_object();
	if (e->fn(p, body, name, out, err, sizeof err) < 0) {
		/* Both clients ask Get of a volume before creating it. */
		vlog(e->fn == get ? VLOG_DEBUG : VLOG_WARN, OBJECT, "%s %s: %s", req->path + 1, name ? name : "", err);
		json_object_put(out);
		reply_err(reply, 500, "%s", err);
	} else {
		if (e->needs_name || e->fn == list)
			json_object_object_add(out, "Err", json_object_new_string(""));
		reply_json(reply, 200, out);
	}
	json_object_put(body);
}

/* --- the socket --- */

/* Is a process serving path? (A socket left by a crash refuses.) */
static int served(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live = fd >= 0 && connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0;
	if (fd >= 0)
		close(fd);
	return live;
}

static int make_parent(const char *path)
{
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
	snprintf(dir, sizeof dir, "%s", path);
	for (char *s = dir + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return 0;
}

static int bind_plugin_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path) {
		snprintf(err, errlen, "--docker-plugin %s: socket path too long", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	if (served(&addr)) {
		snprintf(err, errlen, "--docker-plugin %s: another process serves this socket", path);
		return -1;
	}
	if (make_parent(path) < 0) {
		snprintf(err, errlen, "--docker-plugin %s: cannot make its directory: %s", path, strerror(errno));
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	mode_t old = umask(0177);
	int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "--docker-plugin %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int docker_plugin_listen(struct docker_plugin **out, const char *sock_path, uint64_t default_size,
                         char *err, size_t errlen)
{
	struct docker_plugin *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(sock_path))) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->dv.default_size = default_size;
	p->fd = bind_plugin_socket(sock_path, err, errlen);
	if (p->fd < 0) {
		free(p->path);
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int docker_plugin_run(struct docker_plugin *p, struct control *ctl, const char *mount_point, char *err,
                      size_t errlen)
{
	p->mount_point = strdup(mount_point);
	p->dv.ctl = ctl;
	p->dv.mount_point = p->mount_point;
	if (!p->mount_point || httpd_start(&p->server, p->fd, DOCKER_BODY_MAX, answer, p, OBJECT, err, errlen) < 0)
		return -1;
	p->fd = -1;
	vlog_info(OBJECT, "serving the Docker volume plugin protocol on %s", p->path);
	return 0;
}

void docker_plugin_stop(struct docker_plugin *p)
{
	if (!p)
		return;
	httpd_stop(p->server);
	if (p->fd >= 0)
		close(p->fd);
	unlink(p->path);
	while (p->refs) {
		struct mount_ref *r = p->refs;
		p->refs = r->next;
		free(r->volume);
		free(r->id);
		free(r);
	}
	free(p->mount_point);
	free(p->path);
	free(p);
}
