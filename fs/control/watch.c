/*
 * fs/control/watch.c — watches of the control socket (see watch.h). Each watch
 * remembers the objects its client was last told about; after every
 * control request it lists its kind again and pushes the difference. The
 * control server does this after each request, under its lock, so a
 * watch sees every change a request made, in order, and nothing polls.
 */
#include "fs/control/watch.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fs/control/api.h"
#include "meta/k8s.h"
#include "meta/objects.h"

/* How long the first answer (every object of the kind) may wait for a
 * client to read; the control lock is held meanwhile. */
#define FIRST_ANSWER_WAIT_MS 10000

struct watch {
	int fd;
	char *kind, *ns, *name; /* ns NULL: every namespace; name NULL: every object */
	json_object *seen;      /* "namespace/name" -> object as last sent */
	struct watch *next;
};

struct watches {
	pthread_mutex_t lock;
	struct watch *head;
};

struct watches *watches_new(void)
{
	struct watches *w = calloc(1, sizeof *w);

	if (w)
		pthread_mutex_init(&w->lock, NULL);
	return w;
}

static void watch_free(struct watch *wt)
{
	close(wt->fd);
	free(wt->kind);
	free(wt->ns);
	free(wt->name);
	json_object_put(wt->seen);
	free(wt);
}

void watches_free(struct watches *w)
{
	if (!w)
		return;
	while (w->head) {
		struct watch *next = w->head->next;
		watch_free(w->head);
		w->head = next;
	}
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static const char *req_str(json_object *req, const char *key)
{
	json_object *f;
	if (!json_object_object_get_ex(req, key, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	return json_object_get_string(f);
}

int watch_request(json_object *req)
{
	const char *verb = req_str(req, "verb");
	return verb && !strcmp(verb, "watch");
}

int watch_list(struct vfs *v, const char *kind, const char *ns, const char *name, json_object **items,
               char *err, size_t errlen)
{
	if (strcmp(kind, "Event"))
		return api_get(v, kind, ns, name, items, err, errlen);
	db_lock(vfs_db(v));
	json_object *all = event_objects(vfs_db(v), ns);
	db_unlock(vfs_db(v));
	if (!name) {
		*items = all;
		return 0;
	}
	*items = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *e = json_object_array_get_idx(all, i);
		const char *n = jpath_str(e, "metadata.name");
		if (n && !strcmp(n, name))
			json_object_array_add(*items, json_object_get(e));
	}
	json_object_put(all);
	if (json_object_array_length(*items) == 0) {
		snprintf(err, errlen, "events \"%s\" not found", name);
		json_object_put(*items);
		*items = NULL;
		return -ENOENT;
	}
	return 0;
}

/* One line to a client that may have gone or may not read: a change
 * never blocks the control server for it (wait_ms 0: a client that does
 * not read is dropped); the first answer waits up to wait_ms for room.
 * 0, or -1 to drop the watch. */
static int send_line(int fd, json_object *msg, int wait_ms)
{
	const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	char *line = malloc(len + 1);
	if (!line)
		return -1;
	memcpy(line, s, len);
	line[len] = '\n';
	size_t off = 0;
	while (off <= len) {
		ssize_t n = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (n < 0 && errno == EAGAIN && wait_ms > 0 && poll(&p, 1, wait_ms) > 0)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(line);
	return off == len + 1 ? 0 : -1;
}

static void object_key(json_object *o, char *buf, size_t len)
{
	const char *ns = jpath_str(o, "metadata.namespace"), *name = jpath_str(o, "metadata.name");
	snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
}

static int send_event(int fd, const char *type, json_object *obj)
{
	json_object *msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string(type));
	json_object_object_add(msg, "object", json_object_get(obj));
	int r = send_line(fd, msg, 0);
	json_object_put(msg);
	return r;
}

/* Compare now with what the client saw; send the changes and remember
 * now. -1 when the client is gone. */
static int push_changes(struct watch *wt, json_object *now)
{
	json_object *next = json_object_new_object(), *old;
	char key[600];
	int r = 0;
	for (size_t i = 0; i < json_object_array_length(now) && r == 0; i++) {
		json_object *o = json_object_array_get_idx(now, i);
		object_key(o, key, sizeof key);
		if (!json_object_object_get_ex(wt->seen, key, &old))
			r = send_event(wt->fd, "ADDED", o);
		else if (!json_object_equal(old, o))
			r = send_event(wt->fd, "MODIFIED", o);
		json_object_object_add(next, key, json_object_get(o));
	}
	json_object_object_foreach(wt->seen, k, o) {
		if (r == 0 && !json_object_object_get_ex(next, k, NULL))
			r = send_event(wt->fd, "DELETED", o);
	}
	json_object_put(wt->seen);
	wt->seen = next;
	return r;
}

/* The objects a watch covers now; a named object that is gone is an empty
 * list, not an error. */
static json_object *watch_items(struct watch *wt, struct vfs *v)
{
	json_object *items = NULL;
	char err[512];
	if (watch_list(v, wt->kind, wt->ns, wt->name, &items, err, sizeof err) < 0)
		return json_object_new_array();
	return items;
}

static int client_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

static json_object *answer(int ok, const char *error, json_object *items)
{
	json_object *a = json_object_new_object(), *r;
	json_object_object_add(a, "ok", json_object_new_boolean(ok));
	if (!ok) {
		json_object_object_add(a, "error", json_object_new_string(error));
		json_object_object_add(a, "reason", json_object_new_string("Invalid"));
		return a;
	}
	r = json_object_new_object();
	json_object_object_add(r, "items", json_object_get(items));
	json_object_object_add(a, "result", r);
	return a;
}

void watches_add(struct watches *w, struct vfs *v, int fd, json_object *req)
{
	const char *kind = req_str(req, "kind"), *ns = req_str(req, "namespace"), *name = req_str(req, "name");
	json_object *all, *items = NULL, *ans;
	char err[512] = "";
	int every = json_object_object_get_ex(req, "allNamespaces", &all) && json_object_get_boolean(all);
	if (!ns || !*ns)
		ns = "default";
	int r = kind ? watch_list(v, kind, every ? NULL : ns, NULL, &items, err, sizeof err)
	             : (snprintf(err, sizeof err, "a watch needs a kind"), -EINVAL);
	if (r < 0) {
		ans = answer(0, err, NULL);
		send_line(fd, ans, FIRST_ANSWER_WAIT_MS);
		json_object_put(ans);
		close(fd);
		return;
	}
	struct watch *wt = calloc(1, sizeof *wt);
	if (!wt || !(wt->kind = strdup(kind)) || (!every && !(wt->ns = strdup(ns))) ||
	    (name && !(wt->name = strdup(name)))) {
		if (wt) {
			wt->fd = fd;
			wt->seen = json_object_new_object();
			watch_free(wt);
		} else {
			close(fd);
		}
		json_object_put(items);
		return;
	}
	wt->fd = fd;
	wt->seen = json_object_new_object();
	json_object *mine = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *o = json_object_array_get_idx(items, i);
		char key[600];
		object_key(o, key, sizeof key);
		if (!name || !strcmp(jpath_str(o, "metadata.name") ? jpath_str(o, "metadata.name") : "", name)) {
			json_object_object_add(wt->seen, key, json_object_get(o));
			json_object_array_add(mine, json_object_get(o));
		}
	}
	json_object_put(items);
	ans = answer(1, NULL, mine);
	json_object_put(mine);
	if (send_line(fd, ans, FIRST_ANSWER_WAIT_MS) < 0) {
		json_object_put(ans);
		watch_free(wt);
		return;
	}
	json_object_put(ans);
	pthread_mutex_lock(&w->lock);
	wt->next = w->head;
	w->head = wt;
	pthread_mutex_unlock(&w->lock);
}

void watches_notify(struct watches *w, struct vfs *v)
{
	pthread_mutex_lock(&w->lock);
	for (struct watch **p = &w->head; *p;) {
		struct watch *wt = *p;
		int drop = client_gone(wt->fd);
		if (!drop) {
			json_object *now = watch_items(wt, v);
			drop = push_changes(wt, now) < 0;
			json_object_put(now);
		}
		if (drop) {
			*p = wt->next;
			watch_free(wt);
		} else {
			p = &wt->next;
		}
	}
	pthread_mutex_unlock(&w->lock);
}
