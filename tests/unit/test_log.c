/*
 * tests/unit/test_log.c — meta/log.c: level and target names, filtering by
 * level, and the line format (logfmt, one line whatever the message holds).
 * The log's stderr is captured through a pipe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "meta/log.h"

static char captured[65536];

/* Run fn with stderr going into captured[]. */
static void capture(void (*fn)(void))
{
	int p[2], saved = dup(STDERR_FILENO);
	assert_int_equal(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = read(p[0], captured, sizeof captured - 1);
	captured[n > 0 ? n : 0] = 0;
	close(p[0]);
}

static void test_level_names(void **state)
{
	(void)state;
	enum vlog_level l;
	assert_int_equal(vlog_parse_level("debug", &l), 0);
	assert_int_equal(l, VLOG_DEBUG);
	assert_int_equal(vlog_parse_level("warn", &l), 0);
	assert_int_equal(l, VLOG_WARN);
	assert_int_equal(vlog_parse_level("warning", &l), 0);
	assert_int_equal(l, VLOG_WARN);
	assert_int_equal(vlog_parse_level("error", &l), 0);
	assert_int_equal(l, VLOG_ERROR);
	assert_int_equal(vlog_parse_level("INFO", &l), -1);
	assert_int_equal(vlog_parse_level("", &l), -1);
	assert_int_equal(vlog_parse_level("verbose", &l), -1);
	enum vlog_target t;
	assert_int_equal(vlog_parse_target("syslog", &t), 0);
	assert_int_equal(t, VLOG_TO_SYSLOG);
	assert_int_equal(vlog_parse_target("journal", &t), -1);
}

static void log_some(void)
{
	vlog_debug("pv/a", "hidden at info");
	vlog_info("pv/a", "shown");
	vlog_error(NULL, "two\nlines and a \"quote\" and a \\ backslash\tand a tab");
}

static void test_filter_and_format(void **state)
{
	(void)state;
	vlog_setup(VLOG_INFO, VLOG_TO_STDERR, 0);
	capture(log_some);
	assert_null(strstr(captured, "hidden"));
	assert_non_null(strstr(captured, " level=info object=pv/a msg=\"shown\"\n"));
	assert_non_null(strstr(captured, " level=error object=volfs msg=\"two\\nlines and a \\\"quote\\\" "
	                                 "and a \\\\ backslash\\tand a tab\"\n"));
	/* exactly two lines, each starting with time= */
	int lines = 0;
	for (char *p = captured; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2);
	assert_int_equal(strncmp(captured, "time=", 5), 0);
	vlog_setup(VLOG_DEBUG, VLOG_TO_STDERR, 0);
	capture(log_some);
	assert_non_null(strstr(captured, " level=debug object=pv/a msg=\"hidden at info\"\n"));
	assert_true(vlog_enabled(VLOG_DEBUG));
	vlog_setup(VLOG_ERROR, VLOG_TO_STDERR, 0);
	assert_false(vlog_enabled(VLOG_WARN));
	vlog_setup(VLOG_INFO, VLOG_TO_STDERR, 0);
}

static void long_message(void)
{
	char big[10000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	vlog_warn("pv/a", "%s", big);
}

static void test_long_message_is_one_line(void **state)
{
	(void)state;
	capture(long_message);
	size_t len = strlen(captured);
	assert_true(len > 1000);
	assert_int_equal(captured[len - 1], '\n');
	assert_int_equal(captured[len - 2], '"');
	assert_ptr_equal(strchr(captured, '\n'), captured + len - 1);
}

static void test_object_names(void **state)
{
	(void)state;
	char buf[128];
	vlog_object_name(buf, sizeof buf, "PersistentVolumeClaim", "default", "db");
	assert_string_equal(buf, "pvc/default/db");
	vlog_object_name(buf, sizeof buf, "PersistentVolume", "", "pvc-1");
	assert_string_equal(buf, "pv/pvc-1");
	vlog_object_name(buf, sizeof buf, "Widget", "ns", "w");
	assert_string_equal(buf, "Widget/ns/w");
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_filter_and_format),
		cmocka_unit_test(test_long_message_is_one_line),
		cmocka_unit_test(test_object_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
