/*
 * tests/unit/test_mountopts.c — the -o filter (fs/fuse/mountopts.c): what
 * mount(8), mount.fuse3 and /etc/fstab pass that libfuse must not see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "fs/fuse/mountopts.h"

static void fstab_options_are_filtered(void **state)
{
	(void)state;
	char buf[256] = "";
	assert_int_equal(mountopts_append(buf, sizeof buf, "defaults,allow_other,_netdev"), 0);
	assert_string_equal(buf, "allow_other");
	assert_int_equal(mountopts_append(buf, sizeof buf,
	                                  "rw,nofail,noauto,user,x-systemd.requires=a.mount,comment=x,ro"), 0);
	assert_string_equal(buf, "allow_other,ro");
}

static void fuse_options_pass_through_in_order(void **state)
{
	(void)state;
	char buf[256] = "";
	assert_int_equal(mountopts_append(buf, sizeof buf, "default_permissions,max_read=65536"), 0);
	assert_int_equal(mountopts_append(buf, sizeof buf, "noatime,,nosuid"), 0);
	assert_string_equal(buf, "default_permissions,max_read=65536,noatime,nosuid");
	/* near-misses of mount-only names are not dropped */
	assert_false(mountopt_is_mount_only("users2"));
	assert_false(mountopt_is_mount_only("x"));
	assert_true(mountopt_is_mount_only("X-mount.mkdir"));
}

static void overflow_is_reported_and_keeps_the_list(void **state)
{
	(void)state;
	char buf[16] = "";
	assert_int_equal(mountopts_append(buf, sizeof buf, "allow_other"), 0);
	assert_int_equal(mountopts_append(buf, sizeof buf, "default_permissions"), -1);
	assert_string_equal(buf, "allow_other");
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fstab_options_are_filtered),
		cmocka_unit_test(fuse_options_pass_through_in_order),
		cmocka_unit_test(overflow_is_reported_and_keeps_the_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
