/*
 * tests/unit/test_list_paged.c — kobj_list_paged (meta/objects.c) reads a
 * kind a page at a time into a buffer allocated outside the db lock: the
 * list is the same as one read in a single hold, whatever the bodies'
 * sizes (pages cut short when the buffer fills, a body larger than the
 * buffer, more objects than a page holds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

#include "meta/db.h"
#include "meta/objects.h"

/* A ConfigMap whose one value is `bytes` long. */
static void put_config(struct db *db, const char *name, size_t bytes)
{
	char *value = malloc(bytes + 1);
	assert_non_null(value);
	memset(value, 'v', bytes);
	value[bytes] = 0;
	json_object *data = json_object_new_object();
	json_object_object_add(data, "k", json_object_new_string(value));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(o, "kind", json_object_new_string("ConfigMap"));
	json_object_object_add(o, "data", data);
	free(value);
	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(kobj_insert(db, "ConfigMap", "default", name, o, 0), 0);
	assert_int_equal(db_commit(db), 0);
	db_unlock(db);
	json_object_put(o);
}

static void test_paged_list_is_the_whole_list(void **state)
{
	(void)state;
	struct db *db = NULL;
	char err[256];
	assert_int_equal(db_open(&db, ":memory:", err, sizeof err), 0);
	/* 150 small ones, 100 of 8 KiB (a page's worth fills the first
	 * buffer before 64 rows), and one of 600 KiB (larger than it) */
	char name[32];
	for (int i = 0; i < 250; i++) {
		snprintf(name, sizeof name, "cm-%03d", i);
		put_config(db, name, i < 100 ? 10 : i < 200 ? 8192 : 100);
	}
	put_config(db, "cm-150-big", 600 * 1024);

	db_lock(db);
	json_object *whole = kobj_list(db, "ConfigMap", NULL);
	db_unlock(db);
	json_object *paged = kobj_list_paged(db, "ConfigMap");
	assert_non_null(whole);
	assert_non_null(paged);
	assert_int_equal(json_object_array_length(whole), 251);
	assert_string_equal(json_object_to_json_string(paged), json_object_to_json_string(whole));
	json_object_put(whole);
	json_object_put(paged);
	db_close(db);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paged_list_is_the_whole_list),
	};
	unit_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
