/*
 * meta/objects.c — the object store: Kubernetes objects as JSON documents
 * keyed by (kind, namespace, name), with a uid from libuuid, and the events
 * that `describe` shows.
 */
#include "meta/objects.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "meta/log.h"

void rfc3339(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_object *metadata_of(json_object *body)
{
	json_object *md;
	if (!json_object_object_get_ex(body, "metadata", &md)) {
		md = json_object_new_object();
		json_object_object_add(body, "metadata", md);
	}
	return md;
}

static void fill_metadata(json_object *body, const char *ns, const char *name, const char *uid,
                          int64_t now)
{
	json_object *md = metadata_of(body);
	char ts[32];
	rfc3339(now, ts, sizeof ts);
	json_object_object_add(md, "name", json_object_new_string(name));
	if (ns[0])
		json_object_object_add(md, "namespace", json_object_new_string(ns));
	json_object_object_add(md, "uid", json_object_new_string(uid));
	json_object_object_add(md, "creationTimestamp", json_object_new_string(ts));
}

/* A write of an object of this kind is about to happen (db->claims_gen). */
static void note_write(struct db *db, const char *kind)
{
	if (!strcmp(kind, "PersistentVolumeClaim") || !strcmp(kind, "ResourceQuota"))
		db->claims_gen++;
}

int kobj_insert(struct db *db, const char *kind, const char *ns, const char *name,
                json_object *body, uint64_t tree)
{
	assert(db_locked_by_me(db));
	note_write(db, kind);
	uuid_t u;
	char uid[40];
	uuid_generate(u);
	uuid_unparse_lower(u, uid);
	int64_t now = time(NULL);
	/* The key may point into body's own metadata, which filling it in
	 * replaces: bind copies. */
	char *key_ns = strdup(ns), *key_name = strdup(name);
	if (!key_ns || !key_name) {
		free(key_ns);
		free(key_name);
		return -ENOMEM;
	}
	fill_metadata(body, key_ns, key_name, uid, now);
	assert(!strcmp(json_object_get_string(json_object_object_get(metadata_of(body), "name")),
	               key_name));
	sqlite3_stmt *st = db_prep(db, "INSERT INTO objects(uid, kind, namespace, name, body, tree, created) "
	                               "VALUES(?,?,?,?,?,?,?)");
	sqlite3_bind_text(st, 1, uid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key_ns, -1, free);
	sqlite3_bind_text(st, 4, key_name, -1, free);
	sqlite3_bind_text(st, 5, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), -1,
	                  SQLITE_TRANSIENT);
	if (tree)
		sqlite3_bind_int64(st, 6, (int64_t)tree);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, now);
	return db_step_done(db, st);
}

json_object *kobj_get(struct db *db, const char *kind, const char *ns, const char *name,
                      uint64_t *tree)
{
	assert(db_locked_by_me(db));
	sqlite3_stmt *st = db_prep(db, "SELECT body, tree FROM objects WHERE kind=? AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	json_object *o = NULL;
	int row = db_step_row(st);
	if (row > 0) {
		o = json_tokener_parse((const char *)sqlite3_column_text(st, 0));
		if (tree)
			*tree = (uint64_t)sqlite3_column_int64(st, 1);
	}
	db_finish(st);
	errno = row < 0 ? EIO : o ? 0 : row == 0 ? ENOENT : EINVAL;
	return o;
}

int kobj_update(struct db *db, const char *kind, const char *ns, const char *name,
                json_object *body)
{
	assert(db_locked_by_me(db));
	note_write(db, kind);
	sqlite3_stmt *st = db_prep(db, "UPDATE objects SET body=? WHERE kind=? AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), -1,
	                  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	int r = db_step_done(db, st);
	if (r == 0 && !strcmp(kind, "Secret"))
		db_scrub_after_commit(db);
	return r == 0 && sqlite3_changes(db->h) == 0 ? -ENOENT : r;
}

int kobj_delete(struct db *db, const char *kind, const char *ns, const char *name)
{
	assert(db_locked_by_me(db));
	note_write(db, kind);
	sqlite3_stmt *st = db_prep(db, "DELETE FROM objects WHERE kind=? AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	int r = db_step_done(db, st);
	if (r == 0 && sqlite3_changes(db->h) == 0)
		return -ENOENT;
	if (r == 0 && !strcmp(kind, "Secret"))
		db_scrub_after_commit(db);
	st = db_prep(db, "DELETE FROM events WHERE kind=? AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	return r == 0 ? db_step_done(db, st) : r;
}

json_object *kobj_list(struct db *db, const char *kind, const char *ns)
{
	assert(db_locked_by_me(db));
	sqlite3_stmt *st = db_prep(db, ns ? "SELECT body FROM objects WHERE kind=? AND namespace=? ORDER BY namespace, name"
	                                  : "SELECT body FROM objects WHERE kind=? ORDER BY namespace, name");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (ns)
		sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	json_object *arr = json_object_new_array();
	int row;
	while ((row = db_step_row(st)) > 0) {
		json_object *o = json_tokener_parse((const char *)sqlite3_column_text(st, 0));
		if (o)
			json_object_array_add(arr, o);
	}
	db_finish(st);
	if (row < 0) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

/* Rows per hold of the db lock in kobj_list_paged. */
#define OBJ_LIST_PAGE 64
/* What a page's text buffer starts at: 64 bodies of a few KiB. */
#define OBJ_LIST_TEXT (256 * 1024)

/* A page of bodies, copied under the lock into memory allocated before
 * it: a malloc under the lock can cost milliseconds (right after an apply
 * freed its manifest, glibc sorts what was freed on the next allocations:
 * one page's 64 strdups took 7.7 ms of CPU). text + off[i] is body i. */
struct list_page {
	char *text;
	size_t cap, used;
	size_t off[OBJ_LIST_PAGE];
	long n;
	int more;     /* rows may follow: the page is full, or text was */
	size_t needs; /* the next row alone does not fit in cap (0: it did) */
};

/* Grow the buffer (outside the lock) to at least `at_least` bytes, and
 * touch it, so that the copy under the lock faults no page in. 0, or -1
 * when memory ran out. */
static int page_reserve(struct list_page *p, size_t at_least)
{
	if (at_least <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap : OBJ_LIST_TEXT;
	while (cap < at_least)
		cap *= 2;
	char *text = realloc(p->text, cap);
	if (!text)
		return -1;
	memset(text, 0, cap);
	p->text = text;
	p->cap = cap;
	return 0;
}

/* The next page of a kind's objects after (ns, name): their bodies into
 * p, (ns, name) of the last; 0, or -1 when a step failed. Copying the text
 * is all it does under the lock: parsing it costs ten times as much, and
 * is done after. db locked. */
static int list_page(struct db *db, const char *kind, char *ns, char *name, size_t len,
                     struct list_page *p)
{
	assert(db_locked_by_me(db));
	sqlite3_stmt *st = db_prep(db, "SELECT body, namespace, name FROM objects WHERE kind=? AND "
	                               "(namespace, name) > (?, ?) ORDER BY namespace, name LIMIT ?");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, OBJ_LIST_PAGE);
	p->n = 0;
	p->used = 0;
	p->more = 0;
	p->needs = 0;
	int r;
	while ((r = db_step_row(st)) > 0) {
		assert(p->n < OBJ_LIST_PAGE);
		size_t bytes = (size_t)sqlite3_column_bytes(st, 0) + 1;
		if (p->used + bytes > p->cap) {
			p->more = 1;
			p->needs = p->n ? 0 : bytes;
			break;
		}
		memcpy(p->text + p->used, sqlite3_column_text(st, 0), bytes);
		p->off[p->n++] = p->used;
		p->used += bytes;
		snprintf(ns, len, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(name, len, "%s", (const char *)sqlite3_column_text(st, 2));
	}
	db_finish(st);
	p->more |= p->n == OBJ_LIST_PAGE;
	return r < 0 ? -1 : 0;
}

/* Parse the page's bodies into arr with one tokener. */
static void parse_page(json_object *arr, const struct list_page *p)
{
	json_tokener *tok = json_tokener_new();
	for (long i = 0; tok && i < p->n; i++) {
		json_object *o = json_tokener_parse_ex(tok, p->text + p->off[i], -1);
		if (o)
			json_object_array_add(arr, o);
		json_tokener_reset(tok);
	}
	json_tokener_free(tok);
}

json_object *kobj_list_paged(struct db *db, const char *kind)
{
	char ns[256] = "", name[256] = "";
	struct list_page p = {0};
	json_object *arr = json_object_new_array();
	int r = page_reserve(&p, OBJ_LIST_TEXT);
	while (r == 0) {
		db_lock(db);
		r = list_page(db, kind, ns, name, sizeof ns, &p);
		db_unlock(db);
		if (r < 0)
			break;
		parse_page(arr, &p);
		if (!p.more)
			break;
		/* a body larger than the buffer: a larger one, and the page again */
		if (p.needs)
			r = page_reserve(&p, p.needs);
	}
	free(p.text);
	if (r < 0) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

/* The id of the object's newest event if it says exactly this, else 0. */
static int64_t same_as_last_event(struct db *db, const char *kind, const char *ns, const char *name,
                                  const char *type, const char *reason, const char *message)
{
	sqlite3_stmt *st = db_prep(db, "SELECT id, type, reason, message FROM events "
	                               "WHERE kind=? AND namespace=? AND name=? ORDER BY id DESC LIMIT 1");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	int64_t id = 0;
	if (sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 1), type) &&
	    !strcmp((const char *)sqlite3_column_text(st, 2), reason) &&
	    !strcmp((const char *)sqlite3_column_text(st, 3), message))
		id = sqlite3_column_int64(st, 0);
	db_finish(st);
	return id;
}

/* Every event is also a log line; a repeat (counted, not stored again) is
 * only worth a debug line. */
static void log_event(const char *kind, const char *ns, const char *name, const char *type,
                      const char *reason, const char *message, int repeat)
{
	char object[600];
	enum vlog_level lvl = repeat ? VLOG_DEBUG : strcmp(type, "Normal") ? VLOG_WARN : VLOG_INFO;
	if (!vlog_enabled(lvl))
		return;
	vlog_object_name(object, sizeof object, kind, ns, name);
	vlog(lvl, object, "%s: %s", reason, message);
}

void event_add(struct db *db, const char *kind, const char *ns, const char *name,
               const char *type, const char *reason, const char *message)
{
	assert(db_locked_by_me(db));
	int64_t now = (int64_t)time(NULL);
	int64_t repeat = same_as_last_event(db, kind, ns, name, type, reason, message);
	log_event(kind, ns, name, type, reason, message, repeat != 0);
	if (repeat) {
		sqlite3_stmt *st = db_prep(db, "UPDATE events SET count=count+1, time=?, "
		                               "first=coalesce(first, time) WHERE id=?");
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, repeat);
		db_step_done(db, st);
		return;
	}
	sqlite3_stmt *st = db_prep(db, "INSERT INTO events(kind, namespace, name, type, reason, message, time) "
	                               "VALUES(?,?,?,?,?,?,?)");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, message, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	db_step_done(db, st);
}

json_object *event_list(struct db *db, const char *kind, const char *ns, const char *name)
{
	assert(db_locked_by_me(db));
	sqlite3_stmt *st = db_prep(db, "SELECT type, reason, message, time, count, "
	                               "coalesce(first, time) FROM events "
	                               "WHERE kind=? AND namespace=? AND name=? ORDER BY id");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	json_object *arr = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_object *e = json_object_new_object();
		char ts[32];
		rfc3339(sqlite3_column_int64(st, 3), ts, sizeof ts);
		json_object_object_add(e, "type", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(e, "reason", json_object_new_string((const char *)sqlite3_column_text(st, 1)));
		json_object_object_add(e, "message", json_object_new_string((const char *)sqlite3_column_text(st, 2)));
		json_object_object_add(e, "time", json_object_new_string(ts));
		json_object_object_add(e, "count", json_object_new_int64(sqlite3_column_int64(st, 4)));
		rfc3339(sqlite3_column_int64(st, 5), ts, sizeof ts);
		json_object_object_add(e, "firstTime", json_object_new_string(ts));
		json_object_array_add(arr, e);
	}
	db_finish(st);
	return arr;
}

int kobj_set_tree(struct db *db, const char *kind, const char *ns, const char *name, uint64_t tree)
{
	assert(db_locked_by_me(db));
	sqlite3_stmt *st = db_prep(db, "UPDATE objects SET tree=? WHERE kind=? AND namespace=? AND name=?");
	if (tree)
		sqlite3_bind_int64(st, 1, (int64_t)tree);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	int r = db_step_done(db, st);
	return r == 0 && sqlite3_changes(db->h) == 0 ? -ENOENT : r;
}

int kobj_replace_tree(struct db *db, const char *kind, const char *ns, const char *name,
                      uint64_t old, uint64_t tree)
{
	assert(db_locked_by_me(db));
	assert(tree != 0);
	sqlite3_stmt *st = db_prep(db, "UPDATE objects SET tree=?1 WHERE kind=?2 AND namespace=?3 "
	                               "AND name=?4 AND tree IS ?5");
	sqlite3_bind_int64(st, 1, (int64_t)tree);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	if (old)
		sqlite3_bind_int64(st, 5, (int64_t)old);
	else
		sqlite3_bind_null(st, 5);
	int r = db_step_done(db, st);
	return r == 0 && sqlite3_changes(db->h) == 0 ? -ESTALE : r;
}

int kobj_move(struct db *db, const char *kind, const char *ns, const char *name,
              const char *newkind, const char *newns, const char *newname, json_object *body)
{
	assert(db_locked_by_me(db));
	note_write(db, kind);
	note_write(db, newkind);
	sqlite3_stmt *st = db_prep(db, "UPDATE objects SET kind=?, namespace=?, name=?, body=? "
	                               "WHERE kind=? AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, newkind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, newns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, newname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), -1,
	                  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, name, -1, SQLITE_STATIC);
	int r = db_step_done(db, st);
	return r == 0 && sqlite3_changes(db->h) == 0 ? -ENOENT : r;
}

static void add_text(json_object *o, const char *key, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	json_object_object_add(o, key, json_object_new_string(t ? (const char *)t : ""));
}

/* One events row (id, kind, namespace, name, type, reason, message, time,
 * count, first) as an Event named, as the API server names them,
 * OBJECT.ID. */
static json_object *event_object(sqlite3_stmt *st)
{
	json_object *e = json_object_new_object(), *meta = json_object_new_object();
	json_object *ref = json_object_new_object();
	const char *ns = (const char *)sqlite3_column_text(st, 2);
	char name[600], ts[32];

	snprintf(name, sizeof name, "%s.%llx", (const char *)sqlite3_column_text(st, 3),
	         (unsigned long long)sqlite3_column_int64(st, 0));
	json_object_object_add(e, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(e, "kind", json_object_new_string("Event"));
	json_object_object_add(meta, "name", json_object_new_string(name));
	json_object_object_add(meta, "namespace", json_object_new_string(ns && *ns ? ns : "default"));
	rfc3339(sqlite3_column_int64(st, 9), ts, sizeof ts);
	json_object_object_add(meta, "creationTimestamp", json_object_new_string(ts));
	json_object_object_add(e, "metadata", meta);
	add_text(ref, "kind", st, 1);
	add_text(ref, "name", st, 3);
	if (ns && *ns)
		add_text(ref, "namespace", st, 2);
	json_object_object_add(e, "involvedObject", ref);
	add_text(e, "type", st, 4);
	add_text(e, "reason", st, 5);
	add_text(e, "message", st, 6);
	json_object_object_add(e, "count", json_object_new_int64(sqlite3_column_int64(st, 8)));
	json_object_object_add(e, "firstTimestamp", json_object_new_string(ts));
	rfc3339(sqlite3_column_int64(st, 7), ts, sizeof ts);
	json_object_object_add(e, "lastTimestamp", json_object_new_string(ts));
	return e;
}

json_object *event_objects(struct db *db, const char *ns)
{
	assert(db_locked_by_me(db));
	sqlite3_stmt *st = db_prep(db, "SELECT id, kind, namespace, name, type, reason, message, time, count, "
	                               "coalesce(first, time) FROM events WHERE ?1 IS NULL OR namespace=?1 "
	                               "OR (namespace='' AND ?1='default') ORDER BY id");
	json_object *arr = json_object_new_array();

	sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_array_add(arr, event_object(st));
	db_finish(st);
	return arr;
}
