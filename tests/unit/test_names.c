/*
 * tests/unit/test_names.c — name_check_subdomain and name_check_label
 * against Kubernetes' DNS-1123 rules, above all the strings that must never
 * become a path component ("..", ".", "a/b").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "meta/names.h"

static const char SUBDOMAIN_RULE[] =
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
	"characters, '-' or '.', and must start and end with an alphanumeric character";
static const char LABEL_RULE[] =
	"a lowercase RFC 1123 label must consist of lower case alphanumeric "
	"characters or '-', and must start and end with an alphanumeric character";

/* A string of n copies of c (n < 400). */
static const char *repeat(char c, size_t n)
{
	static char buf[400];

	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void expect_ok(int (*check)(const char *, char *, size_t), const char *name)
{
	char err[512] = "";

	if (check(name, err, sizeof err) != 0)
		fail_msg("\"%s\" rejected: %s", name, err);
}

static void expect_bad(int (*check)(const char *, char *, size_t), const char *name,
		       const char *reason)
{
	char err[512] = "";

	if (check(name, err, sizeof err) == 0)
		fail_msg("\"%.80s\" accepted", name);
	if (!strstr(err, reason))
		fail_msg("\"%.80s\": message \"%s\" lacks \"%s\"", name, err, reason);
	if (strncmp(err, "invalid name \"", 14) != 0)
		fail_msg("\"%.80s\": message \"%s\" does not name the value", name, err);
	if (strchr(err, '\n'))
		fail_msg("\"%.80s\": message spans lines", name);
}

static void test_subdomain_accepts(void **state)
{
	static const char *const ok[] = {
		"a", "0", "data", "my-volume", "pvc-0123", "a.b", "example.com",
		"a-b.c-d.e", "1.2.3", "x1", "1x", "a--b", "web-0.db",
	};

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		expect_ok(name_check_subdomain, ok[i]);
	expect_ok(name_check_subdomain, repeat('a', 253));
}

static void test_subdomain_rejects(void **state)
{
	static const char *const bad[] = {
		"a/b", "..", ".", "UPPER", "Foo", "-a", "a-", ".a", "a.", "a..b",
		"a.-b", "a-.b", "a_b", "a b", " a", "a ", "a\nb", "/", "../etc",
		"a/../b", "é", "a:b", "a@b", "*", "a\\b",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad(name_check_subdomain, bad[i], SUBDOMAIN_RULE);
	expect_bad(name_check_subdomain, "", "must not be empty");
	expect_bad(name_check_subdomain, NULL, "must not be empty");
	expect_bad(name_check_subdomain, repeat('a', 254), "must be no more than 253 characters");
}

static void test_subdomain_message_like_kubectl(void **state)
{
	char err[512];
	char want[512];

	(void)state;
	snprintf(want, sizeof want, "invalid name \"Foo/bar\": %s", SUBDOMAIN_RULE);
	assert_int_equal(name_check_subdomain("Foo/bar", err, sizeof err), -1);
	assert_string_equal(err, want);
}

static void test_label_accepts(void **state)
{
	static const char *const ok[] = { "default", "kube-system", "a", "0", "ns1", "a--b" };

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		expect_ok(name_check_label, ok[i]);
	expect_ok(name_check_label, repeat('z', 63));
}

static void test_label_rejects(void **state)
{
	static const char *const bad[] = {
		"a.b", "..", ".", "a/b", "UPPER", "-a", "a-", "a_b", "Default", "a b",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad(name_check_label, bad[i], LABEL_RULE);
	expect_bad(name_check_label, "", "must not be empty");
	expect_bad(name_check_label, repeat('a', 64), "must be no more than 63 characters");
}

static void test_message_escapes_control_chars(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(name_check_subdomain("a\nb\x1b[31m", err, sizeof err), -1);
	assert_null(strchr(err, '\n'));
	assert_null(strchr(err, '\x1b'));
	assert_non_null(strstr(err, "a\\x0ab\\x1b"));
}

static void test_long_name_message_is_bounded(void **state)
{
	char err[1024];

	(void)state;
	assert_int_equal(name_check_subdomain(repeat('A', 399), err, sizeof err), -1);
	assert_true(strlen(err) < 600);
	assert_non_null(strstr(err, "...\""));
}

static void test_small_error_buffer(void **state)
{
	char err[5];

	(void)state;
	assert_int_equal(name_check_subdomain("A", err, sizeof err), -1);
	assert_string_equal(err, "inva");
	assert_int_equal(name_check_subdomain("A", NULL, 0), -1);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subdomain_accepts),
		cmocka_unit_test(test_subdomain_rejects),
		cmocka_unit_test(test_subdomain_message_like_kubectl),
		cmocka_unit_test(test_label_accepts),
		cmocka_unit_test(test_label_rejects),
		cmocka_unit_test(test_message_escapes_control_chars),
		cmocka_unit_test(test_long_name_message_is_bounded),
		cmocka_unit_test(test_small_error_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
