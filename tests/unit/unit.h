/*
 * unit.h: what every cmocka test binary shares.
 *
 * unit_filter: `test_foo PATTERN` runs only the cases whose name matches the
 * glob PATTERN (cmocka's test filter), so one case can be run alone.
 */
#ifndef VOLFS_TESTS_UNIT_H
#define VOLFS_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static inline void unit_filter(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
}

#endif
