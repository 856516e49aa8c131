/*
 * tests/unit/test_vfs.c — the namespace layer (fs/vfs/vfs.h) without a
 * mount: a state directory opened as the daemon opens it, one volume tree,
 * and the calls the FUSE glue (fs/fuse/ll.c) makes, with the kernel's side
 * played by the test (every entry reply is forgotten again, as the kernel
 * does). Creating names, rename (plain, over a file, RENAME_EXCHANGE,
 * RENAME_NOREPLACE, a directory into itself), link, unlink, rmdir, readdir
 * resumed from its offsets, and a snapshot of the tree (taken as
 * fs/control/snapshot.c takes one) that keeps showing the old names and
 * contents while the volume changes; small files' inline bytes (sizes
 * around the threshold, appends that spill, truncation, fallocate, seek,
 * snapshots and clones, the check of their rows). Each case ends with
 * vfs_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/obs/counters.h"
#include "fs/store/block.h"
#include "fs/vfs/vfs.h"
#include "meta/db.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

#define CAPACITY (64ull << 20)

struct env {
	char dir[64];
	struct vfs *v;
	uint64_t tree;
	uint64_t root; /* the volume's root directory */
};

static const struct vfs_ctx ROOT_CTX = {.uid = 0, .gid = 0, .pid = 1};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);
	assert_non_null(e);
	unit_temp_dir(e->dir, sizeof e->dir, "vfs");
	e->tree = unit_vfs_volume(&e->v, e->dir, CAPACITY);
	e->root = VFS_INO(e->tree, 1);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	vfs_close(e->v);
	unit_rm_tree(e->dir);
	free(e);
	return 0;
}

static void report(void *arg, const char *msg)
{
	(void)arg;
	print_error("vfs_check: %s\n", msg);
}

/* Link counts agree with the names, no name dangles, data refs add up. */
static void expect_consistent(struct env *e)
{
	assert_int_equal(vfs_flush_all(e->v), 0);
	struct store_pending pending;
	db_lock(vfs_db(e->v));
	int problems = vfs_check(e->v, report, NULL, &pending);
	db_unlock(vfs_db(e->v));
	assert_int_equal(problems, 0);
}

/* The kernel's part: take the entry, then forget it again. */
static uint64_t settle(struct env *e, int r, const struct vfs_entry *ent)
{
	assert_int_equal(r, 0);
	vfs_forget(e->v, ent->ino, 1);
	return ent->ino;
}

/* The inode of name in parent, or 0 when there is none. */
static uint64_t ino_of(struct env *e, uint64_t parent, const char *name)
{
	struct vfs_entry ent;
	int r = vfs_lookup(e->v, parent, name, &ent);
	if (r == -ENOENT)
		return 0;
	return settle(e, r, &ent);
}

static uint64_t make_dir(struct env *e, uint64_t parent, const char *name)
{
	struct vfs_entry ent;
	return settle(e, vfs_mkdir(e->v, parent, name, 0755, &ROOT_CTX, &ent), &ent);
}

/* A file of name in parent holding text. */
static uint64_t make_file(struct env *e, uint64_t parent, const char *name, const char *text)
{
	struct vfs_entry ent;
	struct vfile *f;
	int r = vfs_create(e->v, parent, name, 0644, O_WRONLY, &ROOT_CTX, &ent, &f);
	assert_int_equal(r, 0);
	ssize_t n = vfs_write(e->v, f, text, strlen(text), 0);
	assert_int_equal(vfs_release(e->v, f), 0);
	assert_int_equal(n, (ssize_t)strlen(text));
	return settle(e, 0, &ent);
}

static void overwrite(struct env *e, uint64_t ino, const char *text)
{
	struct vfile *f;
	assert_int_equal(vfs_open(e->v, ino, O_WRONLY | O_TRUNC, &f), 0);
	struct stat in = {.st_size = 0}, out;
	int r = vfs_setattr(e->v, ino, &in, 1 << 3 /* FUSE_SET_ATTR_SIZE */, &ROOT_CTX, &out);
	ssize_t n = vfs_write(e->v, f, text, strlen(text), 0);
	assert_int_equal(vfs_release(e->v, f), 0);
	assert_int_equal(r, 0);
	assert_int_equal(n, (ssize_t)strlen(text));
}

static void expect_contents(struct env *e, uint64_t ino, const char *want)
{
	struct vfile *f;
	char buf[256] = "";
	assert_int_equal(vfs_open(e->v, ino, O_RDONLY, &f), 0);
	ssize_t n = vfs_read(e->v, f, buf, sizeof buf - 1, 0);
	assert_int_equal(vfs_release(e->v, f), 0);
	assert_int_equal(n, (ssize_t)strlen(want));
	assert_string_equal(buf, want);
}

static struct stat attr(struct env *e, uint64_t ino)
{
	struct stat st;
	assert_true(vfs_getattr(e->v, ino, &st) >= 0);
	return st;
}

/* --- readdir --- */

#define LIST_MAX 512

struct listing {
	char name[LIST_MAX][64];
	int64_t next[LIST_MAX];
	size_t count;
	size_t room; /* entries this call may still take, as a reply buffer */
};

static int collect(void *arg, const char *name, const struct stat *st, int64_t next)
{
	(void)st;
	struct listing *l = arg;
	if (l->room == 0 || l->count == LIST_MAX)
		return 1; /* full: the entry is not taken, the next call resumes at it */
	snprintf(l->name[l->count], sizeof l->name[0], "%s", name);
	l->next[l->count++] = next;
	l->room--;
	return 0;
}

/* One readdir call from offset off taking at most room entries. */
static void list_some(struct env *e, uint64_t dir, int64_t off, size_t room, struct listing *l)
{
	l->room = room;
	assert_int_equal(vfs_readdir(e->v, dir, off, collect, l), 0);
}

/* The whole directory, room entries per call, each call resuming at the
 * offset of the last entry the one before took. */
static void list_all(struct env *e, uint64_t dir, size_t room, struct listing *l)
{
	memset(l, 0, sizeof *l);
	assert_int_equal(vfs_opendir(e->v, dir), 0);
	for (;;) {
		size_t before = l->count;
		list_some(e, dir, before ? l->next[before - 1] : 0, room, l);
		if (l->count == before)
			return;
	}
}

static int listed(const struct listing *l, const char *name)
{
	int times = 0;
	for (size_t i = 0; i < l->count; i++)
		times += strcmp(l->name[i], name) == 0;
	return times;
}

/* The listing is exactly ".", ".." and the names given (NULL-ended). */
static void expect_names(const struct listing *l, const char *const *names)
{
	size_t n = 0;
	assert_true(l->count >= 2);
	assert_string_equal(l->name[0], ".");
	assert_string_equal(l->name[1], "..");
	for (; names[n]; n++)
		if (listed(l, names[n]) != 1)
			fail_msg("\"%s\" listed %d times", names[n], listed(l, names[n]));
	assert_int_equal(l->count, n + 2);
}

/* ------------------------------------------------------------------ */

static void test_create_and_lookup(void **state)
{
	struct env *e = *state;
	uint64_t d = make_dir(e, e->root, "d");
	uint64_t f = make_file(e, d, "f", "hello");
	struct vfs_entry ent;
	uint64_t l = settle(e, vfs_symlink(e->v, e->root, "l", "d/f", &ROOT_CTX, &ent), &ent);

	assert_int_equal(VFS_TREE_OF(d), e->tree);
	assert_int_equal(ino_of(e, e->root, "d"), d);
	assert_int_equal(ino_of(e, d, "f"), f);
	assert_int_equal(ino_of(e, e->root, "f"), 0);
	assert_true(S_ISDIR(attr(e, d).st_mode));
	assert_int_equal(attr(e, e->root).st_nlink, 3);
	assert_int_equal(attr(e, d).st_nlink, 2);
	assert_int_equal(attr(e, f).st_nlink, 1);
	assert_int_equal(attr(e, f).st_size, 5);
	expect_contents(e, f, "hello");
	char target[64];
	assert_int_equal(vfs_readlink(e->v, l, target, sizeof target), 0);
	assert_string_equal(target, "d/f");
	/* names are unique; a file is no directory */
	assert_int_equal(vfs_mkdir(e->v, e->root, "d", 0755, &ROOT_CTX, &ent), -EEXIST);
	assert_int_equal(vfs_mknod(e->v, d, "f", S_IFREG | 0644, 0, &ROOT_CTX, &ent), -EEXIST);
	/* the kernel asks only of directories; without one, the layer checks */
	assert_int_equal(vfs_mkdir(e->v, f, "x", 0755, &ROOT_CTX, &ent), -ENOTDIR);
	assert_int_equal(vfs_link(e->v, l, f, "x", &ent), -ENOTDIR);
	assert_int_equal(vfs_rename(e->v, e->root, "l", f, "x", 0), -ENOTDIR);
	assert_int_equal(vfs_opendir(e->v, f), -ENOTDIR);
	expect_consistent(e);
}

static void test_rename_plain(void **state)
{
	struct env *e = *state;
	uint64_t a = make_dir(e, e->root, "a"), b = make_dir(e, e->root, "b");
	uint64_t f = make_file(e, a, "f", "data");
	uint64_t sub = make_dir(e, a, "sub");

	assert_int_equal(vfs_rename(e->v, a, "f", a, "g", 0), 0);
	assert_int_equal(ino_of(e, a, "f"), 0);
	assert_int_equal(ino_of(e, a, "g"), f);
	/* across directories: a directory's ".." moves with it */
	assert_int_equal(vfs_rename(e->v, a, "g", b, "f", 0), 0);
	assert_int_equal(vfs_rename(e->v, a, "sub", b, "sub", 0), 0);
	assert_int_equal(ino_of(e, b, "f"), f);
	assert_int_equal(ino_of(e, b, "sub"), sub);
	assert_int_equal(ino_of(e, a, "sub"), 0);
	assert_int_equal(attr(e, a).st_nlink, 2);
	assert_int_equal(attr(e, b).st_nlink, 3);
	expect_contents(e, f, "data");
	/* a missing source */
	assert_int_equal(vfs_rename(e->v, a, "nothing", b, "x", 0), -ENOENT);
	expect_consistent(e);
}

static void test_rename_over_existing(void **state)
{
	struct env *e = *state;
	uint64_t src = make_file(e, e->root, "src", "new");
	uint64_t dst = make_file(e, e->root, "dst", "old");
	/* the kernel still knows the replaced file, as through an open fd */
	struct vfs_entry held;
	assert_int_equal(vfs_lookup(e->v, e->root, "dst", &held), 0);

	assert_int_equal(vfs_rename(e->v, e->root, "src", e->root, "dst", 0), 0);
	assert_int_equal(ino_of(e, e->root, "src"), 0);
	assert_int_equal(ino_of(e, e->root, "dst"), src);
	expect_contents(e, src, "new");
	assert_int_equal(attr(e, dst).st_nlink, 0);
	expect_contents(e, dst, "old");
	vfs_forget(e->v, held.ino, 1);

	/* a directory replaces only an empty directory, and never a file */
	uint64_t d1 = make_dir(e, e->root, "d1"), d2 = make_dir(e, e->root, "d2");
	make_file(e, d2, "inside", "x");
	assert_int_equal(vfs_rename(e->v, e->root, "d1", e->root, "d2", 0), -ENOTEMPTY);
	assert_int_equal(vfs_rename(e->v, e->root, "d1", e->root, "dst", 0), -ENOTDIR);
	assert_int_equal(vfs_rename(e->v, e->root, "dst", e->root, "d1", 0), -EISDIR);
	assert_int_equal(vfs_unlink(e->v, d2, "inside"), 0);
	assert_int_equal(vfs_rename(e->v, e->root, "d1", e->root, "d2", 0), 0);
	assert_int_equal(ino_of(e, e->root, "d2"), d1);
	assert_int_equal(attr(e, e->root).st_nlink, 3);
	expect_consistent(e);
}

static void test_rename_exchange(void **state)
{
	struct env *e = *state;
	uint64_t a = make_dir(e, e->root, "a");
	uint64_t f = make_file(e, e->root, "f", "file");
	uint64_t d = make_dir(e, a, "d");

	assert_int_equal(vfs_rename(e->v, e->root, "f", a, "d", RENAME_EXCHANGE), 0);
	assert_int_equal(ino_of(e, e->root, "f"), d);
	assert_int_equal(ino_of(e, a, "d"), f);
	/* the directory changed parents: link counts follow */
	assert_int_equal(attr(e, e->root).st_nlink, 4);
	assert_int_equal(attr(e, a).st_nlink, 2);
	expect_contents(e, f, "file");
	/* both names must exist */
	assert_int_equal(vfs_rename(e->v, e->root, "f", a, "none", RENAME_EXCHANGE), -ENOENT);
	assert_int_equal(vfs_rename(e->v, e->root, "f", a, "d", RENAME_EXCHANGE | RENAME_NOREPLACE),
	                 -EINVAL);
	assert_int_equal(ino_of(e, e->root, "f"), d);
	expect_consistent(e);
}

static void test_rename_noreplace(void **state)
{
	struct env *e = *state;
	uint64_t a = make_file(e, e->root, "a", "A");
	uint64_t b = make_file(e, e->root, "b", "B");

	assert_int_equal(vfs_rename(e->v, e->root, "a", e->root, "b", RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(ino_of(e, e->root, "a"), a);
	assert_int_equal(ino_of(e, e->root, "b"), b);
	expect_contents(e, b, "B");
	assert_int_equal(vfs_rename(e->v, e->root, "a", e->root, "c", RENAME_NOREPLACE), 0);
	assert_int_equal(ino_of(e, e->root, "c"), a);
	assert_int_equal(ino_of(e, e->root, "a"), 0);
	expect_consistent(e);
}

/* A directory moved below itself would leave a loop cut off from the root. */
static void test_rename_into_own_subtree(void **state)
{
	struct env *e = *state;
	uint64_t a = make_dir(e, e->root, "a");
	uint64_t b = make_dir(e, a, "b");
	uint64_t c = make_dir(e, b, "c");

	assert_int_equal(vfs_rename(e->v, e->root, "a", c, "a", 0), -EINVAL);
	assert_int_equal(vfs_rename(e->v, e->root, "a", a, "x", 0), -EINVAL);
	assert_int_equal(vfs_rename(e->v, a, "b", c, "b", RENAME_NOREPLACE), -EINVAL);
	/* exchanging an ancestor with a descendant is the same loop */
	assert_int_equal(vfs_rename(e->v, e->root, "a", b, "c", RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(ino_of(e, e->root, "a"), a);
	assert_int_equal(ino_of(e, a, "b"), b);
	assert_int_equal(ino_of(e, b, "c"), c);
	/* sideways and upwards is fine */
	assert_int_equal(vfs_rename(e->v, b, "c", e->root, "c", 0), 0);
	assert_int_equal(vfs_rename(e->v, e->root, "c", a, "c", 0), 0);
	assert_int_equal(ino_of(e, a, "c"), c);
	expect_consistent(e);
}

static void test_link_and_unlink(void **state)
{
	struct env *e = *state;
	uint64_t d = make_dir(e, e->root, "d");
	uint64_t f = make_file(e, e->root, "f", "shared");
	struct vfs_entry ent;

	assert_int_equal(settle(e, vfs_link(e->v, f, d, "g", &ent), &ent), f);
	assert_int_equal(attr(e, f).st_nlink, 2);
	assert_int_equal(ino_of(e, d, "g"), f);
	assert_int_equal(vfs_link(e->v, f, d, "g", &ent), -EEXIST);
	assert_int_equal(vfs_link(e->v, d, e->root, "d2", &ent), -EPERM);
	assert_int_equal(vfs_unlink(e->v, e->root, "f"), 0);
	assert_int_equal(ino_of(e, e->root, "f"), 0);
	assert_int_equal(attr(e, f).st_nlink, 1);
	expect_contents(e, f, "shared");
	assert_int_equal(vfs_unlink(e->v, e->root, "f"), -ENOENT);
	assert_int_equal(vfs_unlink(e->v, e->root, "d"), -EISDIR);

	/* an open file outlives its last name until it is closed */
	struct vfile *h;
	assert_int_equal(vfs_open(e->v, f, O_RDONLY, &h), 0);
	assert_int_equal(vfs_unlink(e->v, d, "g"), 0);
	char buf[16] = "";
	assert_int_equal(vfs_read(e->v, h, buf, sizeof buf - 1, 0), 6);
	assert_string_equal(buf, "shared");
	assert_int_equal(vfs_release(e->v, h), 0);
	assert_int_equal(vfs_flush_all(e->v), 0); /* the dirty list lets go of it too */
	assert_int_equal(vfs_getattr(e->v, f, &(struct stat){0}), -ENOENT);
	expect_consistent(e);
}

/* SQLite statements begun on the state's connection while counting is
 * on: those starting with `prefix`, or all but the group's own BEGIN and
 * COMMIT (which many changes share) when it is NULL. */
struct stmt_count {
	const char *prefix;
	int n;
};

static int count_statement(unsigned type, void *arg, void *stmt, void *sql)
{
	(void)type, (void)sql;
	struct stmt_count *c = arg;
	const char *text = sqlite3_sql(stmt);
	if (c->prefix ? !strncmp(text, c->prefix, strlen(c->prefix))
	              : strncmp(text, "BEGIN", 5) && strncmp(text, "COMMIT", 6))
		c->n++;
	return 0;
}

static void count_statements(struct env *e, struct stmt_count *c, const char *prefix)
{
	if (c)
		*c = (struct stmt_count){.prefix = prefix};
	sqlite3_trace_v2(vfs_db(e->v)->h, c ? SQLITE_TRACE_STMT : 0, count_statement, c);
}

/* `rm` of many files: each unlink is one change, and the kernel's
 * FORGET of the unlinked inode runs no change; the flusher's round
 * deletes the rows of all of them in one change. */
static void test_unlinked_rows_go_in_one_change(void **state)
{
	struct env *e = *state;
	enum { FILES = 20 };
	uint64_t ino[FILES];
	char name[16];
	struct vfs_entry dir; /* the kernel keeps the directory it works in */
	assert_int_equal(vfs_mkdir(e->v, e->root, "d", 0755, &ROOT_CTX, &dir), 0);
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof name, "f%d", i);
		ino[i] = make_file(e, dir.ino, name, i % 2 ? "data" : "");
	}
	assert_int_equal(vfs_flush_all(e->v), 0);
	struct stmt_count unlinking, forgetting, changes;
	for (int i = 0; i < FILES; i++) {
		struct vfs_entry ent;
		snprintf(name, sizeof name, "f%d", i);
		assert_int_equal(vfs_lookup(e->v, dir.ino, name, &ent), 0); /* the kernel's */
		count_statements(e, &unlinking, NULL);
		assert_int_equal(vfs_unlink(e->v, dir.ino, name), 0);
		count_statements(e, &forgetting, NULL);
		vfs_forget(e->v, ent.ino, 1);
		count_statements(e, NULL, NULL);
		/* find the name, savepoint, delete it, link count 0, release */
		assert_int_equal(unlinking.n, 5);
		/* at most a read of the metadata bytes it gives back (its
		 * inline bytes: these inodes were loaded again, so memory
		 * does not know them) */
		assert_true(forgetting.n <= 1);
	}
	struct stat st;
	count_statements(e, &changes, "SAVEPOINT");
	assert_int_equal(vfs_flush_all(e->v), 0);
	count_statements(e, NULL, NULL);
	assert_int_equal(changes.n, 1);
	for (int i = 0; i < FILES; i++)
		assert_int_equal(vfs_getattr(e->v, ino[i], &st), -ENOENT);
	vfs_forget(e->v, dir.ino, 1);
	expect_consistent(e);
}

/* An unlink writes the link count and times alone (a full row write
 * would rewrite the row's inodes_obj entry too), and the flusher deletes
 * each forgotten row with one statement: an inode known to have no
 * xattrs (made by this mount, or asked for one and found none) needs no
 * look for xattr rows to delete with it. */
static void test_forgotten_row_one_delete(void **state)
{
	struct env *e = *state;
	enum { FILES = 10 };
	char name[16];
	struct vfs_entry dir;
	assert_int_equal(vfs_mkdir(e->v, e->root, "d", 0755, &ROOT_CTX, &dir), 0);
	for (int i = 0; i < FILES; i++) { /* without data: no object to delete too */
		struct vfs_entry ent;
		snprintf(name, sizeof name, "f%d", i);
		assert_int_equal(vfs_mknod(e->v, dir.ino, name, S_IFREG | 0644, 0, &ROOT_CTX, &ent), 0);
		struct stmt_count nlink_writes;
		count_statements(e, &nlink_writes, "UPDATE inodes SET nlink=");
		assert_int_equal(vfs_unlink(e->v, dir.ino, name), 0);
		count_statements(e, NULL, NULL);
		/* the row is current: the link count and times alone change */
		assert_int_equal(nlink_writes.n, 1);
		vfs_forget(e->v, ent.ino, 1);
	}
	struct stmt_count deletes;
	count_statements(e, &deletes, "DELETE");
	assert_int_equal(vfs_flush_all(e->v), 0);
	count_statements(e, NULL, NULL);
	assert_int_equal(deletes.n, FILES);
	vfs_forget(e->v, dir.ino, 1);
	expect_consistent(e);
}

/* A lookup of a name whose inode is not in memory, in a volume never
 * snapshotted: one statement reads the name and the inode's row. */
static void test_lookup_statements(void **state)
{
	struct env *e = *state;
	uint64_t ino = make_file(e, e->root, "f", "x");
	assert_int_equal(vfs_flush_all(e->v), 0); /* forgotten, written: evicted */
	struct vfs_entry ent;
	struct stmt_count looking;
	count_statements(e, &looking, NULL);
	assert_int_equal(vfs_lookup(e->v, e->root, "f", &ent), 0);
	count_statements(e, NULL, NULL);
	assert_int_equal(looking.n, 1);
	assert_int_equal(ent.ino, ino);
	assert_int_equal(ent.st.st_size, 1);
	assert_int_equal(ent.st.st_nlink, 1);
	vfs_forget(e->v, ent.ino, 1);
	assert_int_equal(vfs_lookup(e->v, e->root, "none", &ent), -ENOENT);
	expect_consistent(e);
}

/* A create in a volume never snapshotted: savepoint, the inode row, the
 * name (whose unique index refuses one already there, with no look
 * first), release; the tree's next inode number is written once for a
 * run of numbers (the directory's create took the write). */
static void test_create_statements(void **state)
{
	struct env *e = *state;
	struct vfs_entry dir, ent;
	assert_int_equal(vfs_mkdir(e->v, e->root, "d", 0755, &ROOT_CTX, &dir), 0);
	struct stmt_count creating;
	struct vfile *f;
	count_statements(e, &creating, NULL);
	assert_int_equal(vfs_create(e->v, dir.ino, "f", 0644, O_WRONLY, &ROOT_CTX, &ent, &f), 0);
	count_statements(e, NULL, NULL);
	assert_int_equal(creating.n, 4);
	assert_int_equal(vfs_release(e->v, f), 0);
	vfs_forget(e->v, ent.ino, 1);
	assert_int_equal(vfs_create(e->v, dir.ino, "f", 0644, O_WRONLY, &ROOT_CTX, &ent, &f),
	                 -EEXIST);
	vfs_forget(e->v, dir.ino, 1);
	expect_consistent(e);
}

static void test_rmdir(void **state)
{
	struct env *e = *state;
	uint64_t d = make_dir(e, e->root, "d");
	make_dir(e, d, "sub");
	make_file(e, e->root, "f", "x");

	assert_int_equal(vfs_rmdir(e->v, e->root, "d"), -ENOTEMPTY);
	assert_int_equal(vfs_rmdir(e->v, e->root, "f"), -ENOTDIR);
	assert_int_equal(vfs_rmdir(e->v, e->root, "none"), -ENOENT);
	assert_int_equal(ino_of(e, e->root, "d"), d);
	assert_int_equal(attr(e, d).st_nlink, 3);
	assert_int_equal(vfs_rmdir(e->v, d, "sub"), 0);
	assert_int_equal(attr(e, d).st_nlink, 2);
	assert_int_equal(vfs_rmdir(e->v, e->root, "d"), 0);
	assert_int_equal(ino_of(e, e->root, "d"), 0);
	assert_int_equal(attr(e, e->root).st_nlink, 2);
	expect_consistent(e);
}

/* More names than one batch of the listing query, read a few per call
 * as a small reply buffer does; names removed or added meanwhile. */
static void test_readdir_resumes(void **state)
{
	struct env *e = *state;
	enum { N = 150 };
	char name[32];
	uint64_t d = make_dir(e, e->root, "d");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "n%03d", i);
		if (i % 10 == 0)
			make_dir(e, d, name);
		else
			make_file(e, d, name, "");
	}

	struct listing *l = malloc(sizeof *l);
	assert_non_null(l);
	list_all(e, d, 7, l);
	assert_int_equal(l->count, N + 2);
	assert_string_equal(l->name[0], ".");
	assert_string_equal(l->name[1], "..");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "n%03d", i);
		assert_string_equal(l->name[i + 2], name); /* creation order */
	}

	/* Stop after 40 entries; remove one name already listed and one not
	 * yet listed, add one; resume where the listing stopped. */
	memset(l, 0, sizeof *l);
	list_some(e, d, 0, 40, l);
	assert_int_equal(l->count, 40);
	int64_t cookie = l->next[39]; /* after n037 */
	assert_string_equal(l->name[39], "n037");
	assert_int_equal(vfs_unlink(e->v, d, "n005"), 0);
	assert_int_equal(vfs_unlink(e->v, d, "n101"), 0);
	make_file(e, d, "late", "");
	size_t before = l->count;
	for (;;) {
		size_t got = l->count;
		list_some(e, d, l->count > before ? l->next[l->count - 1] : cookie, 16, l);
		if (l->count == got)
			break;
	}
	assert_int_equal(listed(l, "n005"), 1);  /* listed before it went */
	assert_int_equal(listed(l, "n101"), 0);
	assert_int_equal(listed(l, "late"), 1);
	assert_int_equal(listed(l, "n038"), 1);
	assert_int_equal(listed(l, "n149"), 1);
	assert_int_equal(l->count, N + 2 - 1 + 1);
	/* an offset past the end lists nothing */
	struct listing *tail = calloc(1, sizeof *tail);
	assert_non_null(tail);
	list_some(e, d, l->next[l->count - 1], 16, tail);
	assert_int_equal(tail->count, 0);
	free(tail);
	free(l);
	expect_consistent(e);
}

/* A snapshot keeps the tree as it was: names, link counts and contents,
 * listed and looked up, while the volume renames, removes, adds and
 * rewrites; and it refuses every change. */
static void test_snapshot_keeps_old_names(void **state)
{
	struct env *e = *state;
	uint64_t d = make_dir(e, e->root, "docs");
	uint64_t f = make_file(e, d, "a.txt", "version 1");
	make_file(e, e->root, "old-name", "renamed later");
	make_file(e, e->root, "gone", "removed later");
	struct vfs_entry ent;
	settle(e, vfs_link(e->v, f, e->root, "a-link", &ent), &ent);

	uint64_t snap = VFS_INO(unit_vfs_snapshot(e->v, e->tree, CAPACITY), 1);
	assert_true(VFS_TREE_OF(snap) != e->tree);

	assert_int_equal(vfs_rename(e->v, e->root, "old-name", e->root, "new-name", 0), 0);
	assert_int_equal(vfs_unlink(e->v, e->root, "gone"), 0);
	assert_int_equal(vfs_unlink(e->v, e->root, "a-link"), 0);
	make_dir(e, e->root, "added");
	overwrite(e, f, "version 2, longer");
	assert_int_equal(vfs_rename(e->v, e->root, "docs", e->root, "papers", 0), 0);

	struct listing *l = malloc(sizeof *l);
	assert_non_null(l);
	list_all(e, snap, 2, l);
	expect_names(l, (const char *const[]){"docs", "old-name", "gone", "a-link", NULL});
	list_all(e, e->root, 2, l);
	expect_names(l, (const char *const[]){"papers", "new-name", "added", NULL});
	free(l);

	assert_int_equal(ino_of(e, snap, "new-name"), 0);
	assert_int_equal(ino_of(e, snap, "added"), 0);
	uint64_t sd = ino_of(e, snap, "docs");
	uint64_t sf = ino_of(e, sd, "a.txt");
	assert_true(sf != 0);
	assert_int_equal(VFS_TREE_OF(sf), VFS_TREE_OF(snap));
	assert_int_equal(ino_of(e, snap, "a-link"), sf);
	assert_int_equal(attr(e, sf).st_nlink, 2);
	expect_contents(e, sf, "version 1");
	expect_contents(e, ino_of(e, snap, "gone"), "removed later");
	expect_contents(e, f, "version 2, longer");
	assert_int_equal(attr(e, f).st_nlink, 1);

	/* read-only */
	assert_int_equal(vfs_mkdir(e->v, snap, "x", 0755, &ROOT_CTX, &ent), -EROFS);
	assert_int_equal(vfs_unlink(e->v, snap, "gone"), -EROFS);
	assert_int_equal(vfs_rename(e->v, snap, "gone", snap, "x", 0), -EROFS);
	assert_int_equal(vfs_rmdir(e->v, sd, "a.txt"), -EROFS);
	struct vfile *h;
	assert_int_equal(vfs_open(e->v, sf, O_WRONLY, &h), -EROFS);
	expect_consistent(e);
}

/* Data objects that are layers over another (a snapshot's, mostly). */
static int64_t layered_objects(struct env *e)
{
	db_lock(vfs_db(e->v));
	sqlite3_stmt *s = db_prep(vfs_db(e->v), "SELECT count(*) FROM dataobjs WHERE parent IS NOT NULL");
	int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	db_finish(s);
	db_unlock(vfs_db(e->v));
	return n;
}

static void write_at(struct env *e, uint64_t ino, const void *buf, size_t len, uint64_t off)
{
	struct vfile *f;
	assert_int_equal(vfs_open(e->v, ino, O_WRONLY, &f), 0);
	ssize_t n = vfs_write(e->v, f, buf, len, off);
	assert_int_equal(vfs_release(e->v, f), 0);
	assert_int_equal(n, (ssize_t)len);
}

/* A write after a snapshot layers the file over the snapshot's data; once
 * the layer holds every block the snapshot's view has, the layer is
 * folded: the live file stops depending on the snapshot (no ancestor to
 * load or open on a cold read), and both still read their own contents. */
static void test_rewrite_after_snapshot_drops_layer(void **state)
{
	struct env *e = *state;
	uint64_t small = make_file(e, e->root, "small", "version 1");
	uint64_t big = make_file(e, e->root, "big", "");
	static char blocks[3 * STORE_BLOCK];
	memset(blocks, 'a', sizeof blocks);
	write_at(e, big, blocks, sizeof blocks, 0);
	uint64_t snap = VFS_INO(unit_vfs_snapshot(e->v, e->tree, CAPACITY), 1);
	assert_int_equal(layered_objects(e), 0);

	write_at(e, small, "V", 1, 0); /* copies up the file's only block */
	assert_int_equal(layered_objects(e), 0);
	expect_contents(e, small, "Version 1");
	expect_contents(e, ino_of(e, snap, "small"), "version 1");

	/* Blocks 1 and 2 still come from the snapshot until rewritten. */
	write_at(e, big, "b", 1, 0);
	assert_int_equal(layered_objects(e), 1);
	write_at(e, big, "c", 1, STORE_BLOCK);
	assert_int_equal(layered_objects(e), 1);
	write_at(e, big, "d", 1, 2 * STORE_BLOCK + 5);
	assert_int_equal(layered_objects(e), 0);
	struct vfile *f;
	static char got[3 * STORE_BLOCK];
	assert_int_equal(vfs_open(e->v, big, O_RDONLY, &f), 0);
	assert_int_equal(vfs_read(e->v, f, got, sizeof got, 0), (ssize_t)sizeof got);
	assert_int_equal(vfs_release(e->v, f), 0);
	blocks[0] = 'b';
	blocks[STORE_BLOCK] = 'c';
	blocks[2 * STORE_BLOCK + 5] = 'd';
	assert_memory_equal(got, blocks, sizeof got);
	uint64_t sbig = ino_of(e, snap, "big");
	assert_int_equal(vfs_open(e->v, sbig, O_RDONLY, &f), 0);
	assert_int_equal(vfs_read(e->v, f, got, sizeof got, 0), (ssize_t)sizeof got);
	assert_int_equal(vfs_release(e->v, f), 0);
	memset(blocks, 'a', sizeof blocks);
	assert_memory_equal(got, blocks, sizeof got);
	expect_consistent(e);
}

/* After a cached write that ended at the end of the file, the kernel's own
 * size and mode are current, and a GETATTR reply may be dropped
 * (fs/vfs/kview.c), once: not when the daemon changed the mode behind the
 * kernel's back, nor for a file with a set-ID bit or an xattr, nor without
 * such a write since the last reply, nor after a direct write. */
static void test_kernel_attrs_current(void **state)
{
	struct env *e = *state;
	struct stat st;
	uint64_t ino = make_file(e, e->root, "rel", "");
	struct vfile *f, *direct;
	assert_int_equal(vfs_open(e->v, ino, O_RDWR, &f), 0);
	assert_int_equal(vfs_open(e->v, ino, O_WRONLY, &direct), 0);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0); /* no write yet */
	/* as the kernel asks before a file's first write */
	assert_int_equal(vfs_getxattr(e->v, ino, "security.capability", NULL, 0), -ENODATA);
	assert_int_equal(vfs_write(e->v, f, "xy", 2, 0), 2);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 1);
	assert_int_equal(st.st_size, 2); /* the reply is still filled */
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0); /* taken by the reply */
	assert_int_equal(vfs_write(e->v, f, "x", 1, 0), 1); /* not at the end */
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0);
	assert_int_equal(vfs_write(e->v, f, "y", 1, 1), 1); /* overwrite ending it */
	assert_int_equal(vfs_getattr(e->v, ino | VFS_ALIAS_BIT, &st), 0); /* an alias */
	assert_int_equal(st.st_ino, ino | VFS_ALIAS_BIT);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 1);
	assert_int_equal(vfs_write(e->v, direct, "z", 1, 2), 1);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0); /* the kernel's size is stale */

	/* a set-ID bit the daemon then kills for a write: the kernel's mode is stale */
	struct stat in = {.st_mode = S_IFREG | 04755}, out;
	assert_int_equal(vfs_setattr(e->v, ino, &in, 1 << 0 /* FUSE_SET_ATTR_MODE */, &ROOT_CTX, &out), 0);
	assert_int_equal(vfs_write(e->v, f, "x", 1, 3), 1);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0); /* set-ID bit */
	assert_int_equal(vfs_write(e->v, f, "x", 1, 4), 1);
	assert_int_equal(vfs_kill_privs(e->v, ino, 1, 0), 1);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0);
	assert_int_equal(vfs_write(e->v, f, "x", 1, 5), 1);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 1);

	/* an xattr: it might be security.capability */
	assert_int_equal(vfs_setxattr(e->v, ino, "user.a", "1", 1, 0), 0);
	assert_int_equal(vfs_write(e->v, f, "x", 1, 6), 1);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0);
	assert_int_equal(vfs_release(e->v, direct), 0);
	assert_int_equal(vfs_release(e->v, f), 0);
	expect_consistent(e);
}

static void collect_ino(void *arg, uint64_t ino)
{
	uint64_t *got = arg;
	assert_int_equal(got[0], 0); /* one call expected */
	got[0] = ino;
	got[1]++;
}

/* The files a handle may write through, for the write-back before a
 * freeze or a shutdown: not read-only handles, not released ones, not
 * another tree's; a handle never released (the connection was aborted)
 * is freed by vfs_close (the sanitizer build's leak check). */
static void test_open_writable_files(void **state)
{
	struct env *e = *state;
	uint64_t a = make_file(e, e->root, "a", "1"), b = make_file(e, e->root, "b", "2");
	struct vfile *ra, *wb, *kept;
	assert_int_equal(vfs_open(e->v, a, O_RDONLY, &ra), 0);
	assert_int_equal(vfs_open(e->v, b, O_RDWR, &wb), 0);
	uint64_t got[2] = {0, 0};
	assert_int_equal(vfs_for_each_open_writable(e->v, 0, collect_ino, got), 1);
	assert_int_equal(got[0], b);
	got[0] = got[1] = 0;
	assert_int_equal(vfs_for_each_open_writable(e->v, e->tree, collect_ino, got), 1);
	assert_int_equal(got[0], b);
	assert_int_equal(vfs_for_each_open_writable(e->v, e->tree + 1, collect_ino, NULL), 0);
	assert_int_equal(vfs_release(e->v, wb), 0);
	assert_int_equal(vfs_for_each_open_writable(e->v, 0, collect_ino, NULL), 0);
	assert_int_equal(vfs_release(e->v, ra), 0);
	assert_int_equal(vfs_open(e->v, a, O_WRONLY, &kept), 0); /* left to vfs_close */
	assert_int_equal(vfs_for_each_open_writable(e->v, 0, collect_ino, (uint64_t[2]){0, 0}), 1);
}

/* A direct write kills privileges through its open file, as through the
 * inode: set-user-ID (and set-group-ID of a group-executable file) go,
 * security.capability goes, the rest stays; a snapshot's file keeps all. */
static void test_file_kill_privs(void **state)
{
	struct env *e = *state;
	uint64_t ino = make_file(e, e->root, "suid", "data");
	struct stat in = {.st_mode = S_IFREG | 06755}, st;
	assert_int_equal(vfs_setattr(e->v, ino, &in, 1 << 0 /* FUSE_SET_ATTR_MODE */, &ROOT_CTX, &st), 0);
	static const char cap[] = "security.capability";
	assert_int_equal(vfs_setxattr(e->v, ino, cap, "\1\0\0\2", 4, 0), 0);
	assert_int_equal(vfs_setxattr(e->v, ino, "user.keep", "1", 1, 0), 0);
	struct vfile *f;
	assert_int_equal(vfs_open(e->v, ino, O_WRONLY | O_DIRECT, &f), 0);
	assert_int_equal(vfs_file_kill_privs(e->v, f, 0, 0), 0);
	assert_int_equal(vfs_file_kill_privs(e->v, f, 1, 0), 1);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_true(vfs_getxattr(e->v, ino, cap, NULL, 0) >= 0);
	assert_int_equal(vfs_file_kill_privs(e->v, f, 1, 1), 1);
	assert_int_equal(vfs_getxattr(e->v, ino, cap, NULL, 0), -ENODATA);
	assert_int_equal(vfs_getxattr(e->v, ino, "user.keep", NULL, 0), 1);
	assert_int_equal(vfs_file_kill_privs(e->v, f, 1, 1), 0); /* nothing left */
	assert_int_equal(vfs_release(e->v, f), 0);

	in.st_mode = S_IFREG | 04755;
	assert_int_equal(vfs_setattr(e->v, ino, &in, 1 << 0, &ROOT_CTX, &st), 0);
	uint64_t snap = VFS_INO(unit_vfs_snapshot(e->v, e->tree, CAPACITY), 1);
	uint64_t sino = ino_of(e, snap, "suid");
	assert_int_equal(vfs_open(e->v, sino, O_RDONLY, &f), 0);
	assert_int_equal(vfs_file_kill_privs(e->v, f, 1, 1), 0);
	assert_int_equal(vfs_getattr(e->v, sino, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(vfs_release(e->v, f), 0);
	expect_consistent(e);
}

/* A write kills privileges with one check that the file takes changes:
 * the set-ID bits and the capability go with a write that happens, and a
 * snapshot's file, whose write fails, keeps them. */
static void test_write_kills_privs(void **state)
{
	struct env *e = *state;
	uint64_t ino = make_file(e, e->root, "suidw", "data");
	struct stat in = {.st_mode = S_IFREG | 06755}, st;
	assert_int_equal(vfs_setattr(e->v, ino, &in, 1 << 0 /* FUSE_SET_ATTR_MODE */, &ROOT_CTX, &st), 0);
	static const char cap[] = "security.capability";
	assert_int_equal(vfs_setxattr(e->v, ino, cap, "\1\0\0\2", 4, 0), 0);
	struct vfile *f;
	int killed = -1;
	assert_int_equal(vfs_open(e->v, ino, O_WRONLY | O_DIRECT, &f), 0);
	assert_int_equal(vfs_write_kill(e->v, f, "x", 1, 0, 0, &killed), 1);
	assert_int_equal(killed, 0);
	assert_int_equal(vfs_write_kill(e->v, f, "y", 1, 1, VFS_KILL_SUIDGID | VFS_KILL_CAPS, &killed), 1);
	assert_int_equal(killed, 1);
	assert_int_equal(vfs_getattr(e->v, ino, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(vfs_getxattr(e->v, ino, cap, NULL, 0), -ENODATA);
	assert_int_equal(vfs_write_kill(e->v, f, "z", 1, 2, VFS_KILL_SUIDGID | VFS_KILL_CAPS, &killed), 1);
	assert_int_equal(killed, 0); /* nothing left */
	assert_int_equal(vfs_release(e->v, f), 0);

	in.st_mode = S_IFREG | 04755;
	assert_int_equal(vfs_setattr(e->v, ino, &in, 1 << 0, &ROOT_CTX, &st), 0);
	uint64_t snap = VFS_INO(unit_vfs_snapshot(e->v, e->tree, CAPACITY), 1);
	uint64_t sino = ino_of(e, snap, "suidw");
	assert_int_equal(vfs_open(e->v, sino, O_RDONLY, &f), 0);
	assert_true(vfs_write_kill(e->v, f, "x", 1, 0, VFS_KILL_SUIDGID | VFS_KILL_CAPS, &killed) < 0);
	assert_int_equal(killed, 0);
	assert_int_equal(vfs_getattr(e->v, sino, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(vfs_release(e->v, f), 0);
	expect_consistent(e);
}

/* --- inline data (fs/vfs/inline.c) --- */

#define INLINE_MAX 944 /* VFS_INLINE_MAX */

static int64_t db_count(struct env *e, const char *sql)
{
	db_lock(vfs_db(e->v));
	sqlite3_stmt *s = db_prep(vfs_db(e->v), sql);
	int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	db_finish(s);
	db_unlock(vfs_db(e->v));
	return n;
}

/* Host files under STATE/data (data objects' files; not the markers). */
static int host_files(struct env *e)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "find %s/data -type f ! -name '.*' | wc -l", e->dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int n = -1;
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static uint64_t new_file(struct env *e, const char *name)
{
	return make_file(e, e->root, name, "");
}

/* The whole file (up to len bytes) into buf: its length. */
static ssize_t read_all(struct env *e, uint64_t ino, char *buf, size_t len)
{
	struct vfile *f;
	assert_int_equal(vfs_open(e->v, ino, O_RDONLY, &f), 0);
	ssize_t n = vfs_read(e->v, f, buf, len, 0);
	assert_int_equal(vfs_release(e->v, f), 0);
	return n;
}

static void expect_bytes(struct env *e, uint64_t ino, const char *want, size_t len)
{
	static char got[8192];
	assert_true(len < sizeof got);
	assert_int_equal(read_all(e, ino, got, sizeof got), (ssize_t)len);
	assert_memory_equal(got, want, len);
	assert_int_equal(attr(e, ino).st_size, (off_t)len);
}

static void fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + seed) % 26);
}

/* Files up to the threshold keep their bytes in meta.db: no data object,
 * no host file; one byte more takes an object. Every size reads back. */
static void test_inline_sizes(void **state)
{
	struct env *e = *state;
	static char data[INLINE_MAX + 1];
	const size_t sizes[] = {0, 1, INLINE_MAX - 1, INLINE_MAX};
	fill(data, sizeof data, 1);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%zu", sizes[i]);
		uint64_t ino = new_file(e, name);
		write_at(e, ino, data, sizes[i], 0);
		expect_bytes(e, ino, data, sizes[i]);
		assert_int_equal(attr(e, ino).st_blocks, (blkcnt_t)((sizes[i] + 511) / 512));
	}
	assert_int_equal(vfs_flush_all(e->v), 0);
	assert_int_equal(db_count(e, "SELECT count(*) FROM dataobjs"), 0);
	assert_int_equal(host_files(e), 0);
	assert_int_equal(db_count(e, "SELECT count(*) FROM xattrs WHERE name='volfs.inline'"), 3);
	/* each row whole in its b-tree page (-1: SQLite built without dbstat) */
	int64_t overflow = db_count(e, "SELECT count(*) FROM dbstat WHERE name='xattrs' AND "
	                               "pagetype='overflow'");
	assert_true(overflow == 0 || overflow == -1);
	uint64_t big = new_file(e, "big");
	write_at(e, big, data, INLINE_MAX + 1, 0);
	expect_bytes(e, big, data, INLINE_MAX + 1);
	assert_int_equal(vfs_flush_all(e->v), 0);
	assert_int_equal(db_count(e, "SELECT count(*) FROM dataobjs"), 1);
	assert_int_equal(host_files(e), 1);
	/* the row is no xattr to see or remove */
	uint64_t one = ino_of(e, e->root, "s1");
	char list[64];
	assert_int_equal(vfs_listxattr(e->v, one, list, sizeof list), 0);
	assert_int_equal(vfs_getxattr(e->v, one, "volfs.inline", list, sizeof list), -ENODATA);
	assert_int_equal(vfs_removexattr(e->v, one, "volfs.inline"), -ENODATA);
	expect_bytes(e, one, data, 1);
	expect_consistent(e);
}

/* Appends across the threshold: the file spills into an object once, in
 * which every byte written before is still there. */
static void test_inline_appends_spill(void **state)
{
	struct env *e = *state;
	static char data[2 * INLINE_MAX + 100];
	fill(data, sizeof data, 2);
	uint64_t ino = new_file(e, "log");
	for (size_t off = 0; off < sizeof data; off += 100) {
		size_t len = sizeof data - off < 100 ? sizeof data - off : 100;
		write_at(e, ino, data + off, len, off);
		expect_bytes(e, ino, data, off + len);
		assert_int_equal(db_count(e, "SELECT count(*) FROM dataobjs"), off + len > INLINE_MAX);
		assert_int_equal(db_count(e, "SELECT count(*) FROM xattrs"), off + len <= INLINE_MAX);
	}
	assert_int_equal(attr(e, ino).st_blocks,
	                 (sizeof data + STORE_BLOCK - 1) / STORE_BLOCK * (STORE_BLOCK / 512));
	expect_consistent(e);
}

static void truncate_to(struct env *e, uint64_t ino, uint64_t size)
{
	struct stat in = {.st_size = (off_t)size}, out;
	assert_int_equal(vfs_setattr(e->v, ino, &in, 1 << 3 /* SIZE */, &ROOT_CTX, &out), 0);
	assert_int_equal(out.st_size, (off_t)size);
}

/* A shrink cuts the bytes, a growth reads as zeros; past the threshold a
 * growth spills the bytes into an object. */
static void test_inline_truncate(void **state)
{
	struct env *e = *state;
	static char data[8192], want[8192];
	fill(data, sizeof data, 3);
	uint64_t ino = new_file(e, "t");
	write_at(e, ino, data, 700, 0);
	truncate_to(e, ino, 10);
	expect_bytes(e, ino, data, 10);
	assert_int_equal(db_count(e, "SELECT max(length(value)) FROM xattrs"), 10);
	truncate_to(e, ino, 500);
	memcpy(want, data, 10);
	expect_bytes(e, ino, want, 500); /* zeros after the 10 bytes */
	write_at(e, ino, "xy", 2, 600); /* past the size: zeros in between */
	memcpy(want + 600, "xy", 2);
	expect_bytes(e, ino, want, 602);
	assert_int_equal(db_count(e, "SELECT count(*) FROM dataobjs"), 0);
	truncate_to(e, ino, 5000);
	assert_int_equal(db_count(e, "SELECT count(*) FROM dataobjs"), 1);
	assert_int_equal(db_count(e, "SELECT count(*) FROM xattrs"), 0);
	expect_bytes(e, ino, want, 5000);
	truncate_to(e, ino, 0); /* an object stays an object */
	assert_int_equal(db_count(e, "SELECT count(*) FROM dataobjs"), 1);
	expect_consistent(e);

	uint64_t z = new_file(e, "z");
	write_at(e, z, data, 100, 0);
	truncate_to(e, z, 0);
	assert_int_equal(db_count(e, "SELECT count(*) FROM xattrs"), 0);
	expect_bytes(e, z, data, 0);
	expect_consistent(e);
}

/* Any fallocate takes an object; SEEK_DATA and SEEK_HOLE see an inline
 * file as data throughout. */
static void test_inline_fallocate_and_seek(void **state)
{
	struct env *e = *state;
	static char data[300];
	fill(data, sizeof data, 4);
	uint64_t ino = new_file(e, "f");
	write_at(e, ino, data, 300, 0);
	assert_int_equal(vfs_lseek(e->v, ino, 0, SEEK_DATA), 0);
	assert_int_equal(vfs_lseek(e->v, ino, 10, SEEK_DATA), 10);
	assert_int_equal(vfs_lseek(e->v, ino, 10, SEEK_HOLE), 300);
	assert_int_equal(vfs_lseek(e->v, ino, 300, SEEK_DATA), -ENXIO);
	assert_int_equal(vfs_fallocate(e->v, ino, 1 /* KEEP_SIZE */, 0, 100), 0);
	assert_int_equal(db_count(e, "SELECT count(*) FROM dataobjs"), 1);
	assert_int_equal(db_count(e, "SELECT count(*) FROM xattrs"), 0);
	expect_bytes(e, ino, data, 300);
	assert_int_equal(vfs_lseek(e->v, ino, 10, SEEK_HOLE), 300);
	expect_consistent(e);
}

/* A snapshot keeps the bytes it saw, through an overwrite, a shrink and a
 * spill of the live file; a clone writes its own. */
static void test_inline_snapshot_keeps_bytes(void **state)
{
	struct env *e = *state;
	static char data[INLINE_MAX + 500];
	fill(data, sizeof data, 5);
	uint64_t a = make_file(e, e->root, "a", "version 1");
	uint64_t b = make_file(e, e->root, "b", "shrinks later");
	uint64_t c = make_file(e, e->root, "c", "spills later");
	uint64_t snap = VFS_INO(unit_vfs_snapshot(e->v, e->tree, CAPACITY), 1);
	write_at(e, a, "V", 1, 0);
	truncate_to(e, b, 3);
	write_at(e, c, data, sizeof data, 0);
	expect_contents(e, ino_of(e, snap, "a"), "version 1");
	expect_contents(e, ino_of(e, snap, "b"), "shrinks later");
	expect_contents(e, ino_of(e, snap, "c"), "spills later");
	expect_contents(e, a, "Version 1");
	expect_contents(e, b, "shr");
	expect_bytes(e, c, data, sizeof data);
	uint64_t clone = VFS_INO(unit_vfs_clone(e->v, VFS_TREE_OF(snap), CAPACITY), 1);
	uint64_t ca = ino_of(e, clone, "a");
	write_at(e, ca, "clone", 5, 0);
	expect_contents(e, ca, "cloneon 1");
	expect_contents(e, ino_of(e, snap, "a"), "version 1");
	expect_contents(e, a, "Version 1");
	expect_consistent(e);
}

/* The host flushes of data files done when the spill's change first
 * named the new object (its inode row) and dropped the inline row. */
struct spill_order {
	uint64_t at_inode_row, at_inline_row;
};

static int note_spill_order(unsigned type, void *arg, void *stmt, void *sql)
{
	(void)type, (void)sql;
	struct spill_order *o = arg;
	const char *text = sqlite3_sql(stmt);
	uint64_t flushes = counters_host_flushes(COUNTERS_FLUSH_DATA) + 1; /* 0: not seen */
	if (!o->at_inode_row && !strncmp(text, "UPDATE inodes SET mode=", 23))
		o->at_inode_row = flushes;
	if (!o->at_inline_row && strstr(text, "FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND"))
		o->at_inline_row = flushes;
	return 0;
}

/* The spill writes the bytes into the new object's host file and flushes
 * it before its change names the object or drops the inline row: when that
 * change commits, the bytes are on the disk. */
static void test_inline_spill_flushes_before_its_change(void **state)
{
	struct env *e = *state;
	static char data[INLINE_MAX + 100];
	fill(data, sizeof data, 6);
	uint64_t ino = new_file(e, "s");
	write_at(e, ino, data, 100, 0);
	assert_int_equal(vfs_flush_all(e->v), 0);
	uint64_t before = counters_host_flushes(COUNTERS_FLUSH_DATA);
	struct spill_order o = {0, 0};
	sqlite3_trace_v2(vfs_db(e->v)->h, SQLITE_TRACE_STMT, note_spill_order, &o);
	write_at(e, ino, data + 100, INLINE_MAX, 100);
	sqlite3_trace_v2(vfs_db(e->v)->h, 0, NULL, NULL);
	assert_true(o.at_inode_row > before + 1);
	assert_true(o.at_inline_row > before + 1);
	expect_bytes(e, ino, data, sizeof data);
	expect_consistent(e);
}

struct reports {
	int count, inline_ones;
};

static void count_report(void *arg, const char *msg)
{
	struct reports *r = arg;
	r->count++;
	r->inline_ones += strstr(msg, "inline bytes") != NULL;
}

static int inline_problems(struct env *e)
{
	assert_int_equal(vfs_flush_all(e->v), 0);
	struct store_pending pending;
	struct reports r = {0, 0};
	db_lock(vfs_db(e->v));
	vfs_check(e->v, count_report, &r, &pending);
	db_unlock(vfs_db(e->v));
	return r.inline_ones;
}

static void corrupt(struct env *e, const char *sql)
{
	db_lock(vfs_db(e->v));
	assert_int_equal(db_exec(vfs_db(e->v), sql), 0);
	db_unlock(vfs_db(e->v));
}

/* The check finds inline bytes longer than their file, and inline bytes
 * beside a data object. */
static void test_inline_check_detects_bad_rows(void **state)
{
	struct env *e = *state;
	make_file(e, e->root, "a", "twelve bytes");
	assert_int_equal(inline_problems(e), 0);
	corrupt(e, "UPDATE xattrs SET value=zeroblob(20) WHERE name='volfs.inline'");
	assert_int_equal(inline_problems(e), 1);
	corrupt(e, "UPDATE xattrs SET value=zeroblob(12) WHERE name='volfs.inline'");
	assert_int_equal(inline_problems(e), 0);
	corrupt(e, "UPDATE inodes SET obj=12345 WHERE ino<>1");
	assert_int_equal(inline_problems(e), 1);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_writable_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_over_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_noreplace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_into_own_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_and_unlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlinked_rows_go_in_one_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forgotten_row_one_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rmdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_keeps_old_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_kill_privs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_kills_privs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_after_snapshot_drops_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_attrs_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_appends_spill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_fallocate_and_seek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_snapshot_keeps_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_check_detects_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_spill_flushes_before_its_change, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
