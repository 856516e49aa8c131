/*
 * tests/unit/test_evict_race.c — the inode table under the kernel's
 * forgets racing its lookups (fs/vfs/inode.c): after drop_caches the
 * kernel forgets inodes while other threads look the same names up again,
 * stat them and forget them once more. An inode being evicted must be
 * freed exactly once and never handed out again; a second eviction of the
 * same inode, or a reference taken while it is being freed, crashes here
 * (double free, or use after free under ASan).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "fs/vfs/vfs.h"

enum { FILES = 64, THREADS = 4, ROUNDS = 300 };

struct race {
	struct vfs *v;
	uint64_t root;
	int failures;
};

/* What the kernel does to each name while its cache is being dropped:
 * look it up (one lookup count), stat it by inode number, forget it. */
static void *lookup_stat_forget(void *arg)
{
	struct race *r = arg;
	struct vfs_entry e;
	struct stat st;
	char name[32];
	for (int round = 0; round < ROUNDS; round++)
		for (int i = 0; i < FILES; i++) {
			snprintf(name, sizeof name, "f%d", (i + round) % FILES);
			if (vfs_lookup(r->v, r->root, name, &e) != 0) {
				__atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (vfs_getattr(r->v, e.ino, &st) != 0 || st.st_ino != e.ino)
				__atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
			vfs_forget(r->v, e.ino, 1);
		}
	return NULL;
}

static void make_files(struct vfs *v, uint64_t root)
{
	struct vfs_ctx ctx = {0};
	struct vfs_entry e;
	char name[32];
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof name, "f%d", i);
		assert_int_equal(vfs_mknod(v, root, name, S_IFREG | 0644, 0, &ctx, &e), 0);
		vfs_forget(v, e.ino, 1);
	}
	assert_int_equal(vfs_flush_all(v), 0);
}

static void test_forget_racing_lookup_frees_once(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	struct race r = {.v = v, .root = VFS_INO(tree, 1)};
	make_files(v, r.root);

	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, lookup_stat_forget, &r), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(r.failures, 0);

	/* every lookup was given back: each file is still there, once */
	struct vfs_entry e;
	for (int i = 0; i < FILES; i++) {
		char name[32];
		snprintf(name, sizeof name, "f%d", i);
		assert_int_equal(vfs_lookup(v, r.root, name, &e), 0);
		assert_int_equal(e.st.st_nlink, 1);
		vfs_forget(v, e.ino, 1);
	}
	assert_int_equal(vfs_flush_all(v), 0);
	vfs_close(v);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forget_racing_lookup_frees_once, unit_vfs_setup, unit_vfs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
