/*
 * tests/unit/test_selector.c — label selectors (meta/selector.c) as a claim
 * uses them: matchLabels and matchExpressions with In, NotIn, Exists and
 * DoesNotExist, both together, the empty selector, invalid selectors, and
 * the label key and value rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "meta/selector.h"

struct match_case {
	const char *selector;
	const char *labels;	/* NULL: the object has no labels */
	int matches;
};

static const struct match_case cases[] = {
	/* empty selectors select everything */
	{ "{}", "{'tier':'gold'}", 1 },
	{ "{}", NULL, 1 },
	{ "{'matchLabels':{},'matchExpressions':[]}", NULL, 1 },
	/* matchLabels: every pair must be there */
	{ "{'matchLabels':{'tier':'gold'}}", "{'tier':'gold','zone':'a'}", 1 },
	{ "{'matchLabels':{'tier':'gold'}}", "{'tier':'silver'}", 0 },
	{ "{'matchLabels':{'tier':'gold'}}", "{}", 0 },
	{ "{'matchLabels':{'tier':'gold'}}", NULL, 0 },
	{ "{'matchLabels':{'tier':'gold','zone':'a'}}", "{'tier':'gold'}", 0 },
	{ "{'matchLabels':{'tier':''}}", "{'tier':''}", 1 },
	/* In */
	{ "{'matchExpressions':[{'key':'tier','operator':'In','values':['gold','platinum']}]}",
	  "{'tier':'platinum'}", 1 },
	{ "{'matchExpressions':[{'key':'tier','operator':'In','values':['gold','platinum']}]}",
	  "{'tier':'silver'}", 0 },
	{ "{'matchExpressions':[{'key':'tier','operator':'In','values':['gold']}]}", "{}", 0 },
	/* NotIn: a missing label is not in the set */
	{ "{'matchExpressions':[{'key':'tier','operator':'NotIn','values':['silver']}]}",
	  "{'tier':'gold'}", 1 },
	{ "{'matchExpressions':[{'key':'tier','operator':'NotIn','values':['silver']}]}",
	  "{'tier':'silver'}", 0 },
	{ "{'matchExpressions':[{'key':'tier','operator':'NotIn','values':['silver']}]}", NULL, 1 },
	/* Exists and DoesNotExist look at the key only */
	{ "{'matchExpressions':[{'key':'ssd','operator':'Exists'}]}", "{'ssd':''}", 1 },
	{ "{'matchExpressions':[{'key':'ssd','operator':'Exists'}]}", "{'hdd':'x'}", 0 },
	{ "{'matchExpressions':[{'key':'ssd','operator':'Exists','values':[]}]}", "{'ssd':'y'}", 1 },
	{ "{'matchExpressions':[{'key':'legacy','operator':'DoesNotExist'}]}", "{'ssd':'y'}", 1 },
	{ "{'matchExpressions':[{'key':'legacy','operator':'DoesNotExist'}]}", NULL, 1 },
	{ "{'matchExpressions':[{'key':'legacy','operator':'DoesNotExist'}]}", "{'legacy':'1'}", 0 },
	/* matchLabels and matchExpressions together: all requirements hold */
	{ "{'matchLabels':{'tier':'gold'},'matchExpressions':[{'key':'zone','operator':'In','values':"
	  "['a','b']},{'key':'legacy','operator':'DoesNotExist'}]}", "{'tier':'gold','zone':'b'}", 1 },
	{ "{'matchLabels':{'tier':'gold'},'matchExpressions':[{'key':'zone','operator':'In','values':"
	  "['a','b']},{'key':'legacy','operator':'DoesNotExist'}]}", "{'tier':'gold','zone':'c'}", 0 },
	{ "{'matchLabels':{'tier':'gold'},'matchExpressions':[{'key':'zone','operator':'In','values':"
	  "['a','b']},{'key':'legacy','operator':'DoesNotExist'}]}", "{'tier':'silver','zone':'a'}", 0 },
	{ "{'matchLabels':{'tier':'gold'},'matchExpressions':[{'key':'zone','operator':'In','values':"
	  "['a','b']},{'key':'legacy','operator':'DoesNotExist'}]}",
	  "{'tier':'gold','zone':'a','legacy':'yes'}", 0 },
	/* the manifest: gold only, by label and by expression */
	{ "{'matchLabels':{'tier':'gold'},'matchExpressions':[{'key':'tier','operator':'In','values':"
	  "['gold','platinum']}]}", "{'tier':'gold'}", 1 },
	/* an invalid selector selects nothing, as Kubernetes' conversion fails */
	{ "{'matchExpressions':[{'key':'tier','operator':'Has'}]}", "{'tier':'gold'}", 0 },
	{ "{'matchExpressions':[{'key':'tier','operator':'In','values':[]}]}", "{'tier':'gold'}", 0 },
	{ "{'matchExpressions':[{'key':'tier','operator':'NotIn'}]}", "{}", 0 },
	{ "{'matchLabels':{'tier':3}}", "{'tier':'3'}", 0 },
	{ "'tier=gold'", "{'tier':'gold'}", 0 },
	/* labels that are not strings are not labels */
	{ "{'matchExpressions':[{'key':'n','operator':'Exists'}]}", "{'n':1}", 0 },
};

static void test_matches(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_object *sel = J(cases[i].selector);
		json_object *labels = cases[i].labels ? J(cases[i].labels) : NULL;
		int got = selector_matches(sel, labels);

		json_object_put(sel);
		json_object_put(labels);
		if (got != cases[i].matches)
			fail_msg("case %zu: %s on %s: got %d, want %d", i, cases[i].selector,
				 cases[i].labels ? cases[i].labels : "(none)", got, cases[i].matches);
	}
}

static void test_null_selector_matches_everything(void **state)
{
	json_object *labels = J("{'a':'b'}");

	(void)state;
	assert_true(selector_matches(NULL, labels));
	assert_true(selector_matches(NULL, NULL));
	assert_int_equal(selector_validate(NULL, "spec.selector", NULL, 0), 0);
	json_object_put(labels);
}

struct invalid_case {
	const char *selector;
	const char *message;
};

static const struct invalid_case invalid[] = {
	{ "{'matchExpressions':[{'key':'tier','operator':'Has'}]}",
	  "spec.selector.matchExpressions[0].operator: Unsupported value: \"Has\": supported values: "
	  "\"DoesNotExist\", \"Exists\", \"In\", \"NotIn\"" },
	{ "{'matchExpressions':[{'key':'a','operator':'Exists'},{'key':'tier'}]}",
	  "spec.selector.matchExpressions[1].operator: Required value" },
	{ "{'matchExpressions':[{'operator':'Exists'}]}",
	  "spec.selector.matchExpressions[0].key: Required value" },
	{ "{'matchExpressions':[{'key':'tier','operator':'In'}]}",
	  "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` "
	  "is 'In' or 'NotIn'" },
	{ "{'matchExpressions':[{'key':'tier','operator':'NotIn','values':[]}]}",
	  "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` "
	  "is 'In' or 'NotIn'" },
	{ "{'matchExpressions':[{'key':'tier','operator':'Exists','values':['x']}]}",
	  "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is "
	  "'Exists' or 'DoesNotExist'" },
	{ "{'matchExpressions':[{'key':'tier','operator':'In','values':['ok','not ok']}]}",
	  "spec.selector.matchExpressions[0].values[1]: Invalid value: \"not ok\": a valid label must be "
	  "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
	  "with an alphanumeric character" },
	{ "{'matchExpressions':[{'key':'tier','operator':'In','values':[1]}]}",
	  "spec.selector.matchExpressions[0].values[0]: Invalid value: 1: must be a string" },
	{ "{'matchExpressions':[{'key':'-tier','operator':'Exists'}]}",
	  "spec.selector.matchExpressions[0].key: Invalid value: \"-tier\": name part must consist of "
	  "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
	  "character (e.g. 'MyName', 'my.name' or '123-abc')" },
	{ "{'matchExpressions':[{'key':'tier','operator':1}]}",
	  "spec.selector.matchExpressions[0].operator: Invalid value: 1: must be a string" },
	{ "{'matchExpressions':['tier']}",
	  "spec.selector.matchExpressions[0]: Invalid value: \"tier\": must be an object" },
	{ "{'matchExpressions':{'key':'tier'}}",
	  "spec.selector.matchExpressions: Invalid value: {\"key\":\"tier\"}: must be a list" },
	{ "{'matchLabels':{'Tier Name':'gold'}}",
	  "spec.selector.matchLabels: Invalid value: \"Tier Name\": name part must consist of "
	  "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
	  "character (e.g. 'MyName', 'my.name' or '123-abc')" },
	{ "{'matchLabels':{'tier':'gold!'}}",
	  "spec.selector.matchLabels: Invalid value: \"gold!\": a valid label must be an empty string or "
	  "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
	  "alphanumeric character" },
	{ "{'matchLabels':{'tier':true}}", "spec.selector.matchLabels: Invalid value: true: must be a string" },
	{ "{'matchLabels':['tier']}", "spec.selector.matchLabels: Invalid value: [\"tier\"]: must be an object" },
	{ "'tier=gold'", "spec.selector: Invalid value: \"tier=gold\": must be an object" },
};

static void test_invalid_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		json_object *sel = J(invalid[i].selector);
		char err[512] = "";
		int r = selector_validate(sel, "spec.selector", err, sizeof err);

		json_object_put(sel);
		if (r != -EINVAL)
			fail_msg("case %zu: %s accepted", i, invalid[i].selector);
		if (strcmp(err, invalid[i].message))
			fail_msg("case %zu: got\n  %s\nwant\n  %s", i, err, invalid[i].message);
	}
}

static void test_valid_selectors(void **state)
{
	static const char *const ok[] = {
		"{}",
		"{'matchLabels':{'app.kubernetes.io/name':'db','tier':'','Zone_1':'A.b-c'}}",
		"{'matchExpressions':[{'key':'example.com/tier','operator':'NotIn','values':['a','']}]}",
		"{'matchExpressions':[{'key':'ssd','operator':'DoesNotExist'}],'matchLabels':null}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		json_object *sel = J(ok[i]);
		char err[512] = "";

		if (selector_validate(sel, "spec.selector", err, sizeof err) != 0)
			fail_msg("%s refused: %s", ok[i], err);
		json_object_put(sel);
	}
}

static void test_label_keys(void **state)
{
	static const char *const good[] = {
		"a", "A", "tier", "Zone_1", "a.b-c_d", "example.com/tier", "app.kubernetes.io/name",
		"kubectl.kubernetes.io/last-applied-configuration",
		"x234567890123456789012345678901234567890123456789012345678901234" + 1, /* 63 */
	};
	static const char *const bad[] = {
		"", "-a", "a-", "_a", "a b", "a/b/c", "/a", "a/", "Example.com/a", "ex_ample.com/a",
		"x234567890123456789012345678901234567890123456789012345678901234", /* 64 */
		"é",
	};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (selector_key_problem(good[i]))
			fail_msg("\"%s\" refused: %s", good[i], selector_key_problem(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!selector_key_problem(bad[i]))
			fail_msg("\"%s\" accepted as a label key", bad[i]);
	assert_string_equal(selector_key_problem("a/"), "name part must be non-empty");
	assert_string_equal(selector_key_problem("/a"), "prefix part must be non-empty");
	assert_non_null(strstr(selector_key_problem("Example.com/a"), "prefix part"));
	assert_non_null(selector_key_problem(NULL));
}

static void test_label_values(void **state)
{
	static const char *const good[] = { "", "gold", "Gold-1", "a.b_c", "0" };
	static const char *const bad[] = {
		"-gold", "gold.", "not ok", "a/b", "gold!",
		"x234567890123456789012345678901234567890123456789012345678901234",
	};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_null(selector_value_problem(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!selector_value_problem(bad[i]))
			fail_msg("\"%s\" accepted as a label value", bad[i]);
	assert_null(selector_value_problem(NULL));
	assert_string_equal(selector_value_problem(bad[5]), "must be no more than 63 characters");
}

static void test_message_fits_small_buffer(void **state)
{
	json_object *sel = J("{'matchExpressions':[{'key':'tier','operator':'Has'}]}");
	char err[12];

	(void)state;
	assert_int_equal(selector_validate(sel, "spec.selector", err, sizeof err), -EINVAL);
	assert_int_equal(strlen(err), sizeof err - 1);
	json_object_put(sel);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_null_selector_matches_everything),
		cmocka_unit_test(test_invalid_messages),
		cmocka_unit_test(test_valid_selectors),
		cmocka_unit_test(test_label_keys),
		cmocka_unit_test(test_label_values),
		cmocka_unit_test(test_message_fits_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
