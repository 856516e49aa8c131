/*
 * tests/unit/test_quantity.c — quantity_parse and quantity_format against
 * Kubernetes' rules for storage quantities: every accepted spelling, the
 * round-up of fractional bytes, the overflow edge and the rejects; CPU
 * quantities in millicores (quantity_parse_milli).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "meta/quantity.h"

#define KI UINT64_C(1024)
#define MI (KI * 1024)
#define GI (MI * 1024)
#define TI (GI * 1024)
#define PI (TI * 1024)
#define EI (PI * 1024)

struct accept_case {
	const char *in;
	uint64_t bytes;
};

static const struct accept_case accepted[] = {
	{ "0", 0 },
	{ "1", 1 },
	{ "1073741824", GI },
	{ "+1Gi", GI },
	{ "500Mi", 500 * MI },
	{ "10Gi", 10 * GI },
	{ "1Ki", KI },
	{ "1Ti", TI },
	{ "1Pi", PI },
	{ "1Ei", EI },
	{ "7Ei", 7 * EI },
	{ "1k", 1000 },
	{ "1M", 1000000 },
	{ "1G", 1000000000 },
	{ "1T", UINT64_C(1000000000000) },
	{ "1P", UINT64_C(1000000000000000) },
	{ "1E", UINT64_C(1000000000000000000) },
	{ "9E", UINT64_C(9000000000000000000) },
	{ "1.5Gi", GI + GI / 2 },
	{ "0.5Ki", 512 },
	{ ".5Ki", 512 },
	{ "2.Ki", 2048 },
	{ "1.5", 2 },		/* fractional bytes round up */
	{ "0.1", 1 },
	{ "0.0", 0 },
	{ "1.1Ki", 1127 },	/* 1126.4 -> 1127 */
	{ "1.000000000000000000000000001", 2 },
	{ "00012", 12 },
	{ "1e9", 1000000000 },
	{ "5E3", 5000 },
	{ "1e0", 1 },
	{ "1e+3", 1000 },
	{ "15e-1", 2 },
	{ "1e-3", 1 },
	{ "0e99999999999999", 0 },
	{ "1e-99999999999999", 1 },
	{ "1.5e3", 1500 },
	{ "1500m", 2 },		/* milli: 1.5 bytes, rounds up */
	{ "1000m", 1 },
	{ "9223372036854775807", UINT64_C(9223372036854775807) },
	{ "9223372036854775806.5", UINT64_C(9223372036854775807) },
	{ "8191.999999999Pi", UINT64_C(9223372036854775808) - 1125899 },
};

static void test_accepts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
		uint64_t got = 12345;
		char err[256] = "";

		if (quantity_parse(accepted[i].in, &got, err, sizeof err) != 0)
			fail_msg("\"%s\" rejected: %s", accepted[i].in, err);
		if (got != accepted[i].bytes)
			fail_msg("\"%s\" gave %llu, want %llu", accepted[i].in,
				 (unsigned long long)got, (unsigned long long)accepted[i].bytes);
	}
}

struct reject_case {
	const char *in;
	const char *reason; /* a fragment the message must contain */
};

static const struct reject_case rejected[] = {
	{ "", "empty" },
	{ " 1Gi", "whitespace" },
	{ "1Gi ", "whitespace" },
	{ "1 Gi", "whitespace" },
	{ "1\tGi", "whitespace" },
	{ "-1Gi", "negative" },
	{ "-0", "negative" },
	{ "10Gx", "unknown suffix \"Gx\"" },
	{ "1.2.3Gi", "more than one decimal point" },
	{ "1..2", "more than one decimal point" },
	{ "99999999999Ei", "too large" },
	{ "8Ei", "too large" },
	{ "9223372036854775808", "too large" },
	{ "9223372036854775807.01", "too large" },
	{ "10E", "too large" },
	{ "1e19", "too large" },
	{ "1e99999999999999999999", "too large" },
	{ "184467440737095516160000", "too large" },
	{ "Gi", "must start with a number" },
	{ ".", "must start with a number" },
	{ "+", "must start with a number" },
	{ "++1", "must start with a number" },
	{ "+-1", "must start with a number" },
	{ ".Gi", "must start with a number" },
	{ "1K", "unknown suffix" },	/* kilo is lowercase */
	{ "1gi", "unknown suffix" },
	{ "1GiB", "unknown suffix" },
	{ "1GB", "unknown suffix" },
	{ "1i", "unknown suffix" },
	{ "1e", "unknown suffix" },
	{ "1e+", "unknown suffix" },
	{ "1e1.5", "unknown suffix \"e1.5\"" },
	{ "1.5e1.5", "more than one decimal point" },
	{ "1e3Gi", "unknown suffix" },
	{ "1Gi1", "unknown suffix" },
	{ "0x10", "unknown suffix" },
	{ "1,5Gi", "unknown suffix" },
	{ "1mi", "unknown suffix" },
	{ "abc", "must start with a number" },
};

static void test_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
		uint64_t got = 0;
		char err[256] = "";

		if (quantity_parse(rejected[i].in, &got, err, sizeof err) == 0)
			fail_msg("\"%s\" accepted as %llu", rejected[i].in, (unsigned long long)got);
		if (!strstr(err, rejected[i].reason))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", rejected[i].in, err,
				 rejected[i].reason);
		if (strncmp(err, "invalid quantity \"", 18) != 0)
			fail_msg("\"%s\": message \"%s\" does not name the input", rejected[i].in, err);
		if (strchr(err, '\n'))
			fail_msg("\"%s\": message spans lines", rejected[i].in);
	}
}

static void test_message_names_input(void **state)
{
	char err[256];
	uint64_t b;

	(void)state;
	assert_int_equal(quantity_parse("10Gx", &b, err, sizeof err), -1);
	assert_non_null(strstr(err, "invalid quantity \"10Gx\": unknown suffix \"Gx\""));
}

static void test_message_escapes_control_chars(void **state)
{
	char err[256];
	uint64_t b;

	(void)state;
	assert_int_equal(quantity_parse("1G\n\x01", &b, err, sizeof err), -1);
	assert_null(strchr(err, '\n'));
	assert_non_null(strstr(err, "\\x0a"));
}

static void test_small_error_buffer(void **state)
{
	char err[8];
	uint64_t b;

	(void)state;
	assert_int_equal(quantity_parse("10Gx", &b, err, sizeof err), -1);
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_int_equal(quantity_parse("10Gx", &b, NULL, 0), -1);
}

static void test_null_input(void **state)
{
	char err[128];
	uint64_t b;

	(void)state;
	assert_int_equal(quantity_parse(NULL, &b, err, sizeof err), -1);
	assert_non_null(strstr(err, "empty"));
}

/* CPU quantities in millicores, rounded up as MilliValue does. */
static void test_milli(void **state)
{
	static const struct accept_case cases[] = {
		{ "500m", 500 },
		{ "0.5", 500 },
		{ "2", 2000 },
		{ "1", 1000 },
		{ "0", 0 },
		{ "250m", 250 },
		{ "0.1m", 1 },
		{ "1.0005", 1001 },
		{ "1k", 1000000 },
		{ "1Ki", 1024000 },
		{ "2e-3", 2 },
		{ "+3", 3000 },
	};
	char err[160];
	uint64_t m;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (quantity_parse_milli(cases[i].in, &m, err, sizeof err) != 0)
			fail_msg("%s refused: %s", cases[i].in, err);
		if (m != cases[i].bytes)
			fail_msg("%s: %llu millis, want %llu", cases[i].in, (unsigned long long)m,
				 (unsigned long long)cases[i].bytes);
	}
	assert_int_equal(quantity_parse_milli("1x", &m, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown suffix"));
	assert_int_equal(quantity_parse_milli("-1", &m, NULL, 0), -1);
	assert_int_equal(quantity_parse_milli("9223372036854776", &m, err, sizeof err), -1);
	assert_non_null(strstr(err, "too large"));
}

static void test_format(void **state)
{
	static const struct accept_case cases[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "1000", 1000 },
		{ "1000000000", 1000000000 },
		{ "1Ki", KI },
		{ "1536Mi", 1536 * MI },
		{ "1Gi", GI },
		{ "10Gi", 10 * GI },
		{ "1025Ki", 1025 * KI },
		{ "1Ti", TI },
		{ "1Pi", PI },
		{ "1Ei", EI },
		{ "15Ei", 15 * EI },
		{ "9223372036854775807", UINT64_C(9223372036854775807) },
		{ "18446744073709551615", UINT64_MAX },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		quantity_format(cases[i].bytes, buf, sizeof buf);
		assert_string_equal(buf, cases[i].in);
	}
}

static void test_format_roundtrip(void **state)
{
	static const char *const inputs[] = { "500Mi", "10Gi", "1G", "1073741824", "1.5Gi", "3Ki", "7" };
	char buf[32];
	uint64_t a, b;

	(void)state;
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		assert_int_equal(quantity_parse(inputs[i], &a, NULL, 0), 0);
		quantity_format(a, buf, sizeof buf);
		assert_int_equal(quantity_parse(buf, &b, NULL, 0), 0);
		assert_true(a == b);
	}
}

static void test_format_truncates_safely(void **state)
{
	char buf[4];

	(void)state;
	quantity_format(1536 * MI, buf, sizeof buf);
	assert_string_equal(buf, "153");
	quantity_format(1, buf, 0); /* must not write */
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_message_names_input),
		cmocka_unit_test(test_message_escapes_control_chars),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_null_input),
		cmocka_unit_test(test_milli),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_format_truncates_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
