/*
 * The namespace layer's CPU per metadata operation, without FUSE: one
 * process opens a fresh state directory through fs/vfs (as the daemon
 * does), makes one volume and, in one directory of it, runs the loops
 * the kernel's requests would:
 *
 *   create   vfs_create + vfs_release + vfs_forget of COUNT new files,
 *            then the flusher's round (vfs_flush_all)
 *   stat     vfs_lookup + vfs_getattr + vfs_forget of each (cold: the
 *            forget evicts the inode, so each lookup reads its rows)
 *   unlink   vfs_lookup + vfs_unlink + vfs_forget of each, then the
 *            flusher's round that deletes the rows
 *
 *   vfscpu STATE_DIR COUNT
 *
 * prints "create stat unlink" in microseconds of process CPU time per
 * file. What the kernel and libfuse spend per request is left out, so a
 * change to the daemon's own work shows here far above the noise of a
 * shared machine. Built against a tree's objects by vfscpu.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "fs/vfs/vfs.h"
#include "meta/db.h"

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what, int r)
{
	fprintf(stderr, "vfscpu: %s: %d\n", what, r);
	exit(1);
}

static uint64_t make_volume(struct vfs *v)
{
	struct db *db = vfs_db(v);
	uint64_t tree = 0, capacity = 16ull << 30;
	db_lock(db);
	int r = db_begin(db);
	if (r == 0)
		r = vfs_tree_create_rows(v, "volume", capacity, 0, &tree);
	r = r == 0 ? db_commit(db) : (db_rollback(db), r);
	if (r == 0)
		r = vfs_tree_attach(v, tree, "volume", capacity, 0);
	db_unlock(db);
	if (r < 0)
		die("volume", r);
	return tree;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: vfscpu STATE_DIR COUNT\n");
		return 2;
	}
	int count = atoi(argv[2]), r;
	struct vfs *v;
	char err[256];
	if (vfs_open_state(&v, argv[1], 0, err, sizeof err) < 0) {
		fprintf(stderr, "vfscpu: %s\n", err);
		return 1;
	}
	const struct vfs_ctx c = {.uid = 0, .gid = 0, .pid = 1};
	struct vfs_entry d, e;
	struct vfile *f;
	struct stat st;
	char name[32];
	if ((r = vfs_mkdir(v, VFS_INO(make_volume(v), 1), "d", 0755, &c, &d)) < 0)
		die("mkdir", r);
	double t0 = cpu_s();
	for (int i = 0; i < count; i++) {
		snprintf(name, sizeof name, "f.%d", i);
		if ((r = vfs_create(v, d.ino, name, 0644, O_WRONLY, &c, &e, &f)) < 0)
			die("create", r);
		vfs_release(v, f);
		vfs_forget(v, e.ino, 1);
	}
	vfs_flush_all(v);
	double t1 = cpu_s();
	for (int i = 0; i < count; i++) {
		snprintf(name, sizeof name, "f.%d", i);
		if ((r = vfs_lookup(v, d.ino, name, &e)) < 0 || (r = vfs_getattr(v, e.ino, &st)) < 0)
			die("stat", r);
		vfs_forget(v, e.ino, 1);
	}
	double t2 = cpu_s();
	for (int i = 0; i < count; i++) {
		snprintf(name, sizeof name, "f.%d", i);
		if ((r = vfs_lookup(v, d.ino, name, &e)) < 0 || (r = vfs_unlink(v, d.ino, name)) < 0)
			die("unlink", r);
		vfs_forget(v, e.ino, 1);
	}
	vfs_flush_all(v);
	double t3 = cpu_s();
	printf("%.1f %.1f %.1f\n", (t1 - t0) / count * 1e6, (t2 - t1) / count * 1e6,
	       (t3 - t2) / count * 1e6);
	vfs_close(v);
	return 0;
}
