/*
 * tests/unit/test_client.c — client_parse_duration, the reading of
 * volctl --request-timeout: kubectl's forms (Go durations, a bare number
 * of seconds, 0 for none) and the strings it must refuse.
 */
#include "tests/unit/unit.h"
#include "tools/client.h"

static void expect_ms(const char *s, int64_t want)
{
	int64_t ms = -1;

	if (client_parse_duration(s, &ms) != 0)
		fail_msg("\"%s\" refused", s);
	if (ms != want)
		fail_msg("\"%s\": %lld ms, want %lld", s, (long long)ms, (long long)want);
}

static void expect_refused(const char *s)
{
	int64_t ms = 0;

	if (client_parse_duration(s, &ms) == 0)
		fail_msg("\"%s\" accepted as %lld ms", s, (long long)ms);
}

static void kubectl_forms(void **state)
{
	(void)state;
	expect_ms("0", 0);
	expect_ms("30", 30000);
	expect_ms("30s", 30000);
	expect_ms("1m", 60000);
	expect_ms("1h30m", 5400000);
	expect_ms("1m30s", 90000);
	expect_ms("1500ms", 1500);
	expect_ms("0s", 0);
}

static void nonsense_refused(void **state)
{
	(void)state;
	expect_refused("");
	expect_refused("soon");
	expect_refused("-1");
	expect_refused("-5s");
	expect_refused("5 s");
	expect_refused("5d");
	expect_refused("1.5s");
	expect_refused("s");
	expect_refused("99999999999999999999s");
	expect_refused("9223372036854775807h");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kubectl_forms),
		cmocka_unit_test(nonsense_refused),
	};

	unit_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
