/*
 * tests/unit/test_hostpath.c — hostPath rules: prefix containment
 * component by component, manifest validation as the API server does it,
 * kubelet's type check messages (meta/hostpath.c); and the set-up on a
 * real temporary directory (fs/control/hostpath.c): the allow-list, *OrCreate
 * modes, symlink escapes, and taking back what a failed set-up made.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "fs/control/hostpath.h"
#include "meta/hostpath.h"

static void test_under_is_component_wise(void **state)
{
	(void)state;
	assert_true(hostpath_under("/srv/data", "/srv/data"));
	assert_true(hostpath_under("/srv/data/x/y", "/srv/data"));
	assert_false(hostpath_under("/srv/data2", "/srv/data"));
	assert_false(hostpath_under("/srv/dat", "/srv/data"));
	assert_false(hostpath_under("/srv", "/srv/data"));
	assert_false(hostpath_under("/etc", "/srv/data"));
	assert_true(hostpath_under("/anything", "/"));
	assert_true(hostpath_under("/", "/"));
}

static void expect_valid(const char *json, const char *want)
{
	json_object *o = json_tokener_parse(json);
	char err[512] = "";
	unit_expect_message(hostpath_validate(o, "spec.hostPath", err, sizeof err), err, want);
	json_object_put(o);
}

static void test_validate_as_the_api_server(void **state)
{
	(void)state;
	expect_valid("{\"path\":\"/srv/data\"}", NULL);
	expect_valid("{\"path\":\"/srv/data\",\"type\":\"\"}", NULL);
	expect_valid("{\"path\":\"/srv/..data/x.\",\"type\":\"FileOrCreate\"}", NULL);
	expect_valid("{}", "spec.hostPath.path: Required value");
	expect_valid("{\"path\":\"\"}", "spec.hostPath.path: Required value");
	expect_valid("{\"path\":3}", "spec.hostPath.path: Invalid value: must be a string");
	expect_valid("{\"path\":\"srv\"}", "\"srv\": must be an absolute path");
	expect_valid("{\"path\":\"/srv/../etc\"}", "\"/srv/../etc\": must not contain '..'");
	expect_valid("{\"path\":\"/srv/..\"}", "must not contain '..'");
	expect_valid("{\"path\":\"/a\",\"type\":\"Dir\"}",
	             "spec.hostPath.type: Unsupported value: \"Dir\": supported values: \"\", ");
}

static void expect_type(const char *type, int exists, mode_t mode, const char *want)
{
	char err[512] = "";
	int r = hostpath_check_type(type, "/p", exists, mode, err, sizeof err);
	if (!want)
		assert_int_equal(r, 0);
	else if (!strstr(err, want))
		fail_msg("%s on mode %o: \"%s\" lacks \"%s\"", type, (unsigned)mode, err, want);
	else
		assert_true(r < 0);
}

static void test_type_check_as_kubelet(void **state)
{
	(void)state;
	expect_type("", 0, 0, NULL);
	expect_type("Directory", 1, S_IFDIR, NULL);
	expect_type("DirectoryOrCreate", 1, S_IFDIR, NULL);
	expect_type("File", 1, S_IFREG, NULL);
	expect_type("FileOrCreate", 1, S_IFREG, NULL);
	expect_type("Socket", 1, S_IFSOCK, NULL);
	expect_type("CharDevice", 1, S_IFCHR, NULL);
	expect_type("BlockDevice", 1, S_IFBLK, NULL);
	expect_type("Directory", 0, 0, "hostPath /p doesn't exist");
	expect_type("DirectoryOrCreate", 1, S_IFREG,
	            "hostPath type check failed: /p is not a directory, it's a File");
	expect_type("File", 1, S_IFDIR, "/p is not a file, it's a Directory");
	expect_type("Socket", 1, S_IFREG, "/p is not a socket file, it's a File");
	expect_type("CharDevice", 1, S_IFBLK, "/p is not a character device, it's a BlockDevice");
	expect_type("BlockDevice", 1, S_IFCHR, "/p is not a block device, it's a CharDevice");
	expect_type("File", 1, S_IFIFO, "unable to determine its type");
	expect_type("Fancy", 1, S_IFREG, "Fancy is an invalid volume type");
	assert_null(hostpath_file_type(S_IFLNK));
	assert_string_equal(hostpath_file_type(S_IFSOCK), "Socket");
}

/* --- set-up on the host --- */

static char root[PATH_MAX];

static int make_root(void **state)
{
	(void)state;
	char err[512];
	snprintf(root, sizeof root, "/tmp/volfs-hostpath-unit.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/data", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/out", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/data", root);
	return hostpath_allow(p, err, sizeof err);
}

static int drop_root(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 32];
	hostpath_allow_free();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *at(const char *rel)
{
	static char buf[4][PATH_MAX + 64];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", root, rel);
	return buf[i];
}

static int prepare(const char *rel, const char *type, struct hostpath_made *made, char *err)
{
	char resolved[PATH_MAX];
	return hostpath_prepare(at(rel), type, made, resolved, sizeof resolved, err, 1024);
}

static mode_t mode_of(const char *rel)
{
	struct stat st;
	return lstat(at(rel), &st) == 0 ? st.st_mode : 0;
}

static void test_creates_with_kubelet_modes_and_undoes(void **state)
{
	(void)state;
	struct hostpath_made made;
	char err[1024] = "", resolved[PATH_MAX];
	mode_t old = umask(077);
	assert_int_equal(hostpath_prepare(at("data/a/b"), "DirectoryOrCreate", &made, resolved,
	                                  sizeof resolved, err, sizeof err), 0);
	assert_string_equal(resolved, at("data/a/b"));
	assert_int_equal(mode_of("data/a") & 07777, 0755);
	assert_int_equal(mode_of("data/a/b") & 07777, 0755);
	assert_string_equal(made.top, at("data/a"));
	hostpath_undo(&made);
	assert_int_equal(mode_of("data/a"), 0);
	assert_int_equal(prepare("data/f", "FileOrCreate", &made, err), 0);
	assert_true(S_ISREG(mode_of("data/f")));
	assert_int_equal(mode_of("data/f") & 07777, 0644);
	umask(old);
	hostpath_undo(&made);
	assert_int_equal(mode_of("data/f"), 0);
	assert_int_equal(prepare("data/nodir/f", "FileOrCreate", &made, err), -ENOENT);
	assert_non_null(strstr(err, "its parent directory does not exist"));
	assert_int_equal(mode_of("data/nodir"), 0);
}

static void test_escapes_are_refused_and_create_nothing(void **state)
{
	(void)state;
	struct hostpath_made made;
	char err[1024] = "";
	assert_int_equal(symlink(at("out"), at("data/link")), 0);
	assert_int_equal(prepare("data/link/new", "DirectoryOrCreate", &made, err), -EPERM);
	assert_non_null(strstr(err, "resolves to"));
	assert_int_equal(mode_of("out/new"), 0);
	assert_int_equal(hostpath_admit(at("data/link"), err, 1024), -EPERM);
	assert_int_equal(hostpath_admit(at("data/link2/x"), err, 1024), 0); /* nothing there yet */
	assert_int_equal(hostpath_admit(at("data"), err, 1024), 0);
	assert_int_equal(hostpath_admit(at("data//./x/"), err, 1024), 0);
	assert_int_equal(hostpath_admit(at("out"), err, 1024), -EPERM);
	assert_non_null(strstr(err, "is not under an allowed prefix (--hostpath-allow "));
	assert_int_equal(symlink(at("out/target"), at("data/dangling")), 0);
	assert_int_equal(prepare("data/dangling", "FileOrCreate", &made, err), -EEXIST);
	assert_non_null(strstr(err, "is a symbolic link to a path that does not exist"));
	assert_int_equal(prepare("data/dangling", "DirectoryOrCreate", &made, err), -ENOTDIR);
	assert_int_equal(mode_of("out/target"), 0);
}

static void test_existing_paths_are_typed(void **state)
{
	(void)state;
	struct hostpath_made made;
	char err[1024] = "";
	assert_int_equal(mkfifo(at("data/fifo"), 0600), 0);
	assert_int_equal(prepare("data/fifo", "File", &made, err), -EINVAL);
	assert_non_null(strstr(err, "unable to determine its type"));
	assert_int_equal(prepare("data/fifo", "", &made, err), 0);
	assert_int_equal(prepare("data", "Directory", &made, err), 0);
	assert_string_equal(made.top, "");
	assert_int_equal(prepare("data/none", "Socket", &made, err), -ENOENT);
	assert_non_null(strstr(err, "doesn't exist"));
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_under_is_component_wise),
		cmocka_unit_test(test_validate_as_the_api_server),
		cmocka_unit_test(test_type_check_as_kubelet),
		cmocka_unit_test_setup_teardown(test_creates_with_kubelet_modes_and_undoes, make_root, drop_root),
		cmocka_unit_test_setup_teardown(test_escapes_are_refused_and_create_nothing, make_root, drop_root),
		cmocka_unit_test_setup_teardown(test_existing_paths_are_typed, make_root, drop_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
