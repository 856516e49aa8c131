/*
 * tests/unit/fixtures.c — the fixtures of fixtures.h.
 */
#include "tests/unit/fixtures.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/unit.h"

#include "fs/vfs/vfs.h"

json_object *J(const char *text)
{
	char *s = strdup(text);
	json_object *o;

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	o = json_tokener_parse(s);
	free(s);
	if (!o)
		fail_msg("bad test JSON: %s", text);
	return o;
}

json_object *unit_json_list(json_object *first, ...)
{
	json_object *a = json_object_new_array();
	va_list ap;

	va_start(ap, first);
	for (json_object *o = first; o; o = va_arg(ap, json_object *))
		json_object_array_add(a, o);
	va_end(ap);
	return a;
}

void unit_expect_message(int r, const char *err, const char *want)
{
	if (!want) {
		assert_int_equal(r, 0);
		return;
	}
	assert_int_equal(r, -EINVAL);
	if (!strstr(err, want))
		fail_msg("message \"%s\" lacks \"%s\"", err, want);
}

void unit_temp_dir(char *dir, size_t len, const char *name)
{
	assert_true((size_t)snprintf(dir, len, "/tmp/volfs-%s-XXXXXX", name) < len);
	assert_non_null(mkdtemp(dir));
}

sqlite3_vfs *unit_shim_default_vfs(sqlite3_vfs *shim, const char *name,
                                   int (*open)(sqlite3_vfs *, const char *, sqlite3_file *, int,
                                               int *))
{
	sqlite3_vfs *base = sqlite3_vfs_find(NULL);
	assert_non_null(base);
	*shim = *base;
	shim->zName = name;
	shim->xOpen = open;
	assert_int_equal(sqlite3_vfs_register(shim, 1), SQLITE_OK);
	return base;
}

static void store_open_in(struct unit_store *e)
{
	char path[128], err[256];
	snprintf(path, sizeof path, "%s/meta.db", e->dir);
	assert_int_equal(db_open(&e->db, path, err, sizeof err), 0);
	assert_int_equal(store_open(&e->st, e->dir, e->db), 0);
}

int unit_store_setup(void **state, const char *name)
{
	struct unit_store *e = calloc(1, sizeof *e);
	assert_non_null(e);
	unit_temp_dir(e->dir, sizeof e->dir, name);
	store_open_in(e);
	*state = e;
	return 0;
}

int unit_store_teardown(void **state)
{
	struct unit_store *e = *state;
	store_close(e->st);
	db_close(e->db);
	unit_rm_tree(e->dir);
	free(e);
	return 0;
}

void unit_store_reopen(struct unit_store *e)
{
	store_close(e->st);
	db_close(e->db);
	store_open_in(e);
}

void unit_store_ref(struct unit_store *e, uint64_t id, int delta)
{
	/* Assertions fail by longjmp: never while holding the db lock. */
	db_lock(e->db);
	int r = db_begin(e->db);
	if (r == 0 && (r = store_ref(e->st, id, delta)) < 0)
		db_rollback(e->db);
	else if (r == 0)
		r = db_commit(e->db);
	db_unlock(e->db);
	assert_int_equal(r, 0);
}

int unit_store_host_exists(struct unit_store *e, uint64_t id)
{
	char path[256];
	struct stat sb;
	store_path(e->st, id, path, sizeof path);
	return stat(path, &sb) == 0;
}

char unit_dir[64];

int unit_vfs_setup(void **state)
{
	(void)state;
	unit_temp_dir(unit_dir, sizeof unit_dir, "vfs");
	return 0;
}

int unit_vfs_teardown(void **state)
{
	(void)state;
	unit_rm_tree(unit_dir);
	return 0;
}

uint64_t unit_vfs_add_volume(struct vfs *v, uint64_t capacity)
{
	struct db *db = vfs_db(v);
	uint64_t tree;
	/* Assertions fail by longjmp: never while holding the db lock. */
	db_lock(db);
	int r = db_begin(db);
	if (r == 0)
		r = vfs_tree_create_rows(v, "volume", capacity, 0, &tree);
	r = r == 0 ? db_commit(db) : (db_rollback(db), r);
	if (r == 0)
		r = vfs_tree_attach(v, tree, "volume", capacity, 0);
	db_unlock(db);
	assert_int_equal(r, 0);
	return tree;
}

uint64_t unit_vfs_volume(struct vfs **v, const char *dir, uint64_t capacity)
{
	char err[256] = "";
	if (vfs_open_state(v, dir, 0, err, sizeof err) < 0)
		fail_msg("vfs_open_state: %s", err);
	return unit_vfs_add_volume(*v, capacity);
}

/* A new tree of kind with tree's contents, taken as fs/control/snapshot.c
 * takes it (freeze, copy the rows in one change, attach, thaw). */
static uint64_t copy_tree(struct vfs *v, uint64_t tree, const char *kind, uint64_t capacity)
{
	struct db *db = vfs_db(v);
	uint64_t copy = 0;
	int readonly = strcmp(kind, "snapshot") == 0;
	assert_int_equal(vfs_tree_freeze(v, tree), 0);
	db_lock(db);
	int r = db_begin(db);
	if (r == 0)
		r = vfs_tree_copy_rows(v, tree, kind, capacity, &copy);
	r = r == 0 ? db_commit(db) : (db_rollback(db), r);
	if (r == 0)
		r = vfs_tree_attach(v, copy, kind, capacity, readonly);
	db_unlock(db);
	vfs_tree_thaw(v, tree);
	assert_int_equal(r, 0);
	return copy;
}

uint64_t unit_vfs_snapshot(struct vfs *v, uint64_t tree, uint64_t capacity)
{
	return copy_tree(v, tree, "snapshot", capacity);
}

uint64_t unit_vfs_clone(struct vfs *v, uint64_t tree, uint64_t capacity)
{
	return copy_tree(v, tree, "volume", capacity);
}

void unit_vfs_release(struct vfs *v, uint64_t tree)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	int r = db_begin(db);
	if (r == 0)
		r = vfs_tree_delete_rows(v, tree);
	r = r == 0 ? db_commit(db) : (db_rollback(db), r);
	if (r == 0)
		vfs_tree_detach(v, tree);
	db_unlock(db);
	assert_int_equal(r, 0);
}

uint64_t unit_vfs_pending_rows(struct vfs *v)
{
	uint64_t lineages = 0, pending = 0;
	assert_int_equal(vfs_reclaim_pending(v, &lineages, &pending), 0);
	return pending;
}

uint8_t unit_pattern(uint64_t off, unsigned seed)
{
	uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;
	return (uint8_t)(x >> 56) | 1;
}

void unit_fill(uint8_t *buf, size_t len, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = unit_pattern(off + i, seed);
}

int64_t unit_write_pattern(struct dobj *o, uint64_t off, size_t len, unsigned seed)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	unit_fill(buf, len, off, seed);
	int64_t delta = -1;
	ssize_t n = store_write(o, buf, len, off, &delta);
	free(buf);
	assert_int_equal(n, (ssize_t)len);
	return delta;
}

void unit_expect_pattern(struct dobj *o, uint64_t off, size_t len, unsigned seed)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	memset(buf, 0xEE, len);
	ssize_t n = store_read(o, buf, len, off);
	size_t bad = len;
	for (size_t i = 0; n == (ssize_t)len && i < len && bad == len; i++)
		if (buf[i] != (seed ? unit_pattern(off + i, seed) : 0))
			bad = i;
	uint8_t got = bad < len ? buf[bad] : 0;
	free(buf);
	assert_int_equal(n, (ssize_t)len);
	if (bad < len)
		fail_msg("byte at %llu is %#x, want %#x (seed %u)", (unsigned long long)(off + bad), got,
		         seed ? unit_pattern(off + bad, seed) : 0, seed);
}
