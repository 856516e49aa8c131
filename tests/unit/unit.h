/*
 * unit.h: what every cmocka test binary shares.
 *
 * unit_filter: `test_foo PATTERN` runs only the cases whose name matches the
 * glob PATTERN (cmocka's test filter), so one case can be run alone.
 * unit_rm_tree: remove a test's temporary state directory and all in it.
 */
#ifndef VOLFS_TESTS_UNIT_H
#define VOLFS_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void unit_filter(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
}

static inline void unit_rm_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		unlink(path);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char sub[4096];
		if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) < (int)sizeof sub)
			unit_rm_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

#endif
