/*
 * tests/unit/test_labelsel.c — kubectl's selector strings
 * (tools/labelsel.c): equality, inequality, set-based and existence
 * requirements against label sets, bad selectors, and field selectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "tools/labelsel.h"

struct sel_case {
	const char *selector, *object;
	int matches;
};

static const struct sel_case cases[] = {
	{ "app=web", "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", 1 },
	{ "app==web", "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", 1 },
	{ "app=web", "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}", 0 },
	{ "app=web", "{\"metadata\":{}}", 0 },
	{ "app!=web", "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}", 1 },
	{ "app!=web", "{\"metadata\":{}}", 1 },
	{ "app!=web", "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", 0 },
	{ "app=web,tier=gold", "{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"gold\"}}}", 1 },
	{ "app=web, tier=gold", "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", 0 },
	{ "env in (prod, staging)", "{\"metadata\":{\"labels\":{\"env\":\"staging\"}}}", 1 },
	{ "env in (prod,staging),app", "{\"metadata\":{\"labels\":{\"env\":\"prod\"}}}", 0 },
	{ "env notin (prod)", "{\"metadata\":{\"labels\":{\"env\":\"dev\"}}}", 1 },
	{ "env notin (prod)", "{\"metadata\":{\"labels\":{\"env\":\"prod\"}}}", 0 },
	{ "app", "{\"metadata\":{\"labels\":{\"app\":\"\"}}}", 1 },
	{ "app", "{\"metadata\":{}}", 0 },
	{ "!app", "{\"metadata\":{}}", 1 },
	{ "!app", "{\"metadata\":{\"labels\":{\"app\":\"x\"}}}", 0 },
	{ "app.kubernetes.io/name=db", "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"db\"}}}", 1 },
};

static void test_label_selectors(void **state)
{
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct json_object *sel = labelsel_parse(cases[i].selector, err, sizeof err);
		struct json_object *obj = json_tokener_parse(cases[i].object);

		if (!sel)
			fail_msg("%s: %s", cases[i].selector, err);
		if (labelsel_matches(sel, obj) != cases[i].matches)
			fail_msg("%s against %s: want %d", cases[i].selector, cases[i].object, cases[i].matches);
		json_object_put(sel);
		json_object_put(obj);
	}
}

static void test_bad_label_selectors(void **state)
{
	static const char *const bad[] = { "app=", "=web", "a b=c", "env in prod", "app,,x", "-app=x", "x=a b" };
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct json_object *sel = labelsel_parse(bad[i], err, sizeof err);

		if (i == 0) { /* an empty value is a valid label value */
			assert_non_null(sel);
			json_object_put(sel);
			continue;
		}
		if (sel)
			fail_msg("%s parsed", bad[i]);
		assert_non_null(strstr(err, "unable to parse requirement"));
	}
}

static void test_field_selectors(void **state)
{
	struct json_object *ev = json_tokener_parse(
		"{\"type\":\"Normal\",\"involvedObject\":{\"kind\":\"PersistentVolumeClaim\",\"name\":\"data\"}}");
	char err[256];
	struct fieldsel *fs;

	(void)state;
	fs = fieldsel_parse("involvedObject.name=data", err, sizeof err);
	assert_true(fieldsel_matches(fs, ev));
	fieldsel_free(fs);
	fs = fieldsel_parse("involvedObject.name==data,type!=Normal", err, sizeof err);
	assert_false(fieldsel_matches(fs, ev));
	fieldsel_free(fs);
	fs = fieldsel_parse("involvedObject.kind=PersistentVolumeClaim,type!=Warning", err, sizeof err);
	assert_true(fieldsel_matches(fs, ev));
	fieldsel_free(fs);
	assert_null(fieldsel_parse("involvedObject.name", err, sizeof err));
	assert_non_null(strstr(err, "invalid field selector"));
	json_object_put(ev);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_selectors),
		cmocka_unit_test(test_bad_label_selectors),
		cmocka_unit_test(test_field_selectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
