/*
 * tests/unit/test_docker_volume.c — the pure parts of the Docker volume
 * plugin (fs/control/docker_volume.c): Docker names, their PersistentVolume names,
 * and the driver options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "fs/control/docker_volume.h"
#include "meta/names.h"

static void docker_names_are_docker_s_rule(void **state)
{
	(void)state;
	assert_true(docker_name_valid("pgdata"));
	assert_true(docker_name_valid("Project_Data.v2-x"));
	assert_true(docker_name_valid("0"));
	assert_false(docker_name_valid(""));
	assert_false(docker_name_valid("_x"));
	assert_false(docker_name_valid("../x"));
	assert_false(docker_name_valid("a/b"));
	assert_false(docker_name_valid("a b"));
}

static void pv_names_are_valid_and_distinct(void **state)
{
	(void)state;
	char a[256], b[256], err[256];
	docker_pv_name("pgdata", a, sizeof a);
	assert_string_equal(a, "pgdata");
	docker_pv_name("a_b", a, sizeof a);
	docker_pv_name("a-b", b, sizeof b);
	assert_string_equal(b, "a-b");
	assert_int_not_equal(strcmp(a, b), 0);
	assert_int_equal(strncmp(a, "a-b-", 4), 0);
	assert_int_equal(strlen(a), strlen("a-b-") + 8);
	assert_int_equal(name_check_subdomain(a, err, sizeof err), 0);
	docker_pv_name("PgData", a, sizeof a);
	docker_pv_name("pgdata_", b, sizeof b);
	assert_int_equal(name_check_subdomain(a, err, sizeof err), 0);
	assert_int_equal(name_check_subdomain(b, err, sizeof err), 0);
	assert_int_not_equal(strcmp(a, b), 0);
	/* a long name is cut, still valid */
	char longname[201];
	memset(longname, 'X', 200);
	longname[200] = 0;
	docker_pv_name(longname, a, sizeof a);
	assert_int_equal(name_check_subdomain(a, err, sizeof err), 0);
	assert_true(strlen(a) <= 63);
}

static int parse(const char *json, struct docker_opts *o, char *err, size_t errlen)
{
	json_object *opts = json_tokener_parse(json);
	int r = docker_opts_parse(opts, o, err, errlen);
	json_object_put(opts);
	return r;
}

static void options_parse(void **state)
{
	(void)state;
	struct docker_opts o;
	char err[512];
	assert_int_equal(docker_opts_parse(NULL, &o, err, sizeof err), 0);
	assert_int_equal(o.size, 0);
	assert_int_equal(o.uid, -1);
	assert_int_equal(o.mode, -1);
	assert_int_equal(parse("{\"size\":\"10Gi\",\"uid\":\"999\",\"gid\":\"0\",\"mode\":\"2775\"}", &o, err, sizeof err), 0);
	assert_int_equal(o.size, 10ULL << 30);
	assert_int_equal(o.uid, 999);
	assert_int_equal(o.gid, 0);
	assert_int_equal(o.mode, 02775);
}

static void bad_options_name_the_option(void **state)
{
	(void)state;
	struct docker_opts o;
	char err[512];
	static const struct {
		const char *json, *err;
	} cases[] = {
		{"{\"size\":\"0\"}", "option size: must be more than 0"},
		{"{\"size\":\"\"}", "option size: invalid quantity"},
		{"{\"uid\":\"4294967295\"}", "option uid: \"4294967295\" is not a number"},
		{"{\"gid\":\"1x\"}", "option gid: \"1x\" is not a number"},
		{"{\"mode\":\"8\"}", "option mode: \"8\" is not an octal mode"},
		{"{\"mode\":\"10000\"}", "option mode: \"10000\" is not an octal mode"},
		{"{\"class\":\"\"}", "option class needs a value"},
		{"{\"Size\":\"1Gi\"}", "unknown option \"Size\""},
		{"{\"size\":[1]}", "option size: the value must be a string"},
		{"{\"clone-of\":\"a\",\"from-snapshot\":\"s\"}", "options from-snapshot and clone-of exclude each other"},
		{"\"size=1Gi\"", "Opts must be an object of strings"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = 0;
		assert_int_equal(parse(cases[i].json, &o, err, sizeof err), -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)))
			fail_msg("%s: got \"%s\", want \"%s...\"", cases[i].json, err, cases[i].err);
	}
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker_names_are_docker_s_rule),
		cmocka_unit_test(pv_names_are_valid_and_distinct),
		cmocka_unit_test(options_parse),
		cmocka_unit_test(bad_options_name_the_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
