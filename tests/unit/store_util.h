/*
 * tests/unit/store_util.h — helpers the data-path unit tests share
 * (test_store.c, test_store_layers.c): new objects, host file stats, row
 * counts, and what a reader can observe of an object.
 */
#ifndef VOLFS_TESTS_UNIT_STORE_UTIL_H
#define VOLFS_TESTS_UNIT_STORE_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/store/store.h"
#include "meta/db.h"
#include "tests/unit/fixtures.h"

static inline uint64_t create_obj(struct unit_store *e, uint64_t parent)
{
	uint64_t id = 0;
	db_lock(e->db);
	int r = store_create(e->st, parent, &id);
	db_unlock(e->db);
	assert_int_equal(r, 0);
	assert_true(id > 0);
	return id;
}

static inline struct dobj *new_obj(struct unit_store *e)
{
	struct dobj *o = store_get(e->st, create_obj(e, 0));
	assert_non_null(o);
	return o;
}

static inline struct stat host_stat(struct unit_store *e, uint64_t id)
{
	char path[256];
	store_path(e->st, id, path, sizeof path);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb;
}

static inline int64_t count_rows(struct unit_store *e, const char *sql, uint64_t id)
{
	db_lock(e->db);
	sqlite3_stmt *s = db_prep(e->db, sql);
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	db_finish(s);
	db_unlock(e->db);
	return n;
}

/* Everything a reader can observe about [0, len). */
struct snapshot {
	uint8_t *bytes;
	uint64_t blocks;
	int64_t seeks[8];
};

static inline void observe(struct dobj *o, uint64_t len, struct snapshot *s)
{
	s->bytes = malloc(len);
	assert_int_equal(store_read(o, s->bytes, len, 0), (ssize_t)len);
	s->blocks = store_data_blocks(o);
	for (int i = 0; i < 4; i++) {
		s->seeks[2 * i] = store_seek(o, (uint64_t)i * len / 4, SEEK_DATA, len);
		s->seeks[2 * i + 1] = store_seek(o, (uint64_t)i * len / 4, SEEK_HOLE, len);
	}
}

static inline void same_view(struct dobj *o, uint64_t len, const struct snapshot *want)
{
	struct snapshot got;
	observe(o, len, &got);
	assert_memory_equal(got.bytes, want->bytes, len);
	assert_int_equal(got.blocks, want->blocks);
	assert_memory_equal(got.seeks, want->seeks, sizeof got.seeks);
	free(got.bytes);
}

#endif
