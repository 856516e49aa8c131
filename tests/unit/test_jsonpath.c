/*
 * tests/unit/test_jsonpath.c — kubectl's JSONPath templates
 * (tools/jsonpath.c): fields, indexes, slices, wildcards, recursive
 * descent, filters, range/end, literals, and the errors of bad templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "tools/jsonpath.h"

static const char *LIST =
	"{\"kind\":\"List\",\"items\":["
	"{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"web\",\"app.kubernetes.io/name\":\"x\"}},"
	" \"spec\":{\"replicas\":3},\"status\":{\"phase\":\"Bound\",\"conditions\":["
	"  {\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"Synced\",\"status\":\"False\"}]}},"
	"{\"metadata\":{\"name\":\"b\",\"labels\":{\"app\":\"db\"}},\"spec\":{\"replicas\":1},"
	" \"status\":{\"phase\":\"Pending\"}},"
	"{\"metadata\":{\"name\":\"c\"},\"spec\":{\"replicas\":2},\"status\":{\"phase\":\"Bound\"}}]}";

/* The template's output against LIST. */
static char *render(const char *tmpl)
{
	struct json_object *root = json_tokener_parse(LIST);
	char err[512], *buf = NULL;
	size_t len = 0;
	struct jsonpath *jp = jsonpath_parse(tmpl, err, sizeof err);
	FILE *f = open_memstream(&buf, &len);

	if (!jp)
		fail_msg("parse %s: %s", tmpl, err);
	jsonpath_print(jp, root, f);
	fclose(f);
	jsonpath_free(jp);
	json_object_put(root);
	return buf;
}

struct render_case {
	const char *tmpl, *want;
};

static const struct render_case cases[] = {
	{ "{.kind}", "List" },
	{ "{.items[0].metadata.name}", "a" },
	{ "{.items[-1].metadata.name}", "c" },
	{ "{.items[*].metadata.name}", "a b c" },
	{ "{.items[0:2].metadata.name}", "a b" },
	{ "{.items[1:].metadata.name}", "b c" },
	{ "{$.items[2].spec.replicas}", "2" },
	{ ".items[0].spec", "{\"replicas\":3}" },
	{ "{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", "x" },
	{ "{.items[0].metadata.labels['app.kubernetes.io/name']}", "x" },
	{ "{.items[?(@.status.phase==\"Bound\")].metadata.name}", "a c" },
	{ "{.items[?(@.status.phase!='Bound')].metadata.name}", "b" },
	{ "{.items[?(@.spec.replicas>1)].metadata.name}", "a c" },
	{ "{.items[?(@.spec.replicas<=2)].metadata.name}", "b c" },
	{ "{.items[?(@.metadata.labels.app)].metadata.name}", "a b" },
	{ "{.items[0].status.conditions[?(@.type==\"Ready\")].status}", "True" },
	{ "{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}", "a\tBound\nb\tPending\nc\tBound\n" },
	{ "{range .items[*]}[{range .status.conditions[*]}{.type},{end}]{end}", "[Ready,Synced,][][]" },
	{ "names: {.items[*].metadata.name}!", "names: a b c!" },
	{ "{..phase}", "Bound Pending Bound" },
	{ "{.items[0].metadata.missing}", "" },
	{ "{.items[7].metadata.name}", "" },
	{ "{\"}\"}", "}" },
	{ "{.items[0].metadata.labels.*}", "web x" },
};

static void test_render(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = render(cases[i].tmpl);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].tmpl, got, cases[i].want);
		free(got);
	}
}

static void test_results(void **state)
{
	struct json_object *root = json_tokener_parse(LIST), *r;
	char err[256];
	struct jsonpath *jp = jsonpath_parse(".items[*].spec.replicas", err, sizeof err);

	(void)state;
	assert_non_null(jp);
	r = jsonpath_results(jp, root);
	assert_int_equal(json_object_array_length(r), 3);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(r, 1)), 1);
	json_object_put(r);
	jsonpath_free(jp);
	json_object_put(root);
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"{.items[0}", "{.items[?(@.a==\"x\"]}", "{range .items[*]}{.a}", "{end}", "{.a", "{\"abc}",
		"{.items[x]}", "{.a b}",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct jsonpath *jp = jsonpath_parse(bad[i], err, sizeof err);

		if (jp)
			fail_msg("%s parsed", bad[i]);
		assert_non_null(strstr(err, "error parsing jsonpath"));
	}
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
