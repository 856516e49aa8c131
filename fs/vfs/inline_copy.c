/*
 * fs/vfs/inline_copy.c — the copy in memory of an inline file's bytes
 * (fs/vfs/inline.c), kept from a change of them until a group commit holds
 * that change.
 *
 * An inline file's bytes have no other copy than their row: a lost group
 * (a failed group commit, fs/vfs/state.c) takes the row back to what the
 * last committed group wrote, while the acknowledged write, the inode's
 * size in memory and the kernel's page cache say otherwise. So each change
 * of the bytes leaves their copy on the inode; a committed group frees
 * every copy it holds (memory: the inline files changed since the last
 * group commit, at most VFS_INLINE_MAX bytes each); a lost group marks them
 * all lost. A lost copy is the file's bytes: reads and changes of the file
 * take them from it, and the inode's next flush (its row is written again
 * from memory after a lost group) writes them back, with the inode's row,
 * in one change of the next group.
 *
 * Everything here runs with the db locked, which guards the copies and
 * their list.
 */
#include "fs/vfs/vfs_int.h"
#include "meta/fault.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct inline_copy {
	struct vnode *n;
	struct inline_copy *next, *prev; /* v->inline_copies */
	/* The group that held the bytes was lost: the rows hold older ones. */
	int lost;
	size_t len;
	char bytes[];
};

struct inline_copy *inline_copy_new(const char *b, size_t len)
{
	assert(len <= VFS_INLINE_MAX);
	struct inline_copy *c = FAULT(FAULT_ALLOC) ? NULL : malloc(sizeof *c + len);
	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->len = len;
	if (len)
		memcpy(c->bytes, b, len);
	return c;
}

static void unlink_copy(struct vfs *v, struct inline_copy *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		v->inline_copies = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->n->inline_copy = NULL;
	free(c);
}

void inline_copy_drop(struct vfs *v, struct vnode *n)
{
	db_assert_locked(v->db);
	if (n->inline_copy)
		unlink_copy(v, n->inline_copy);
}

void inline_copy_keep(struct vfs *v, struct vnode *n, struct inline_copy *c)
{
	db_assert_locked(v->db);
	inline_copy_drop(v, n);
	c->n = n;
	c->lost = 0;
	c->prev = NULL;
	c->next = v->inline_copies;
	if (c->next)
		c->next->prev = c;
	v->inline_copies = c;
	n->inline_copy = c;
}

int inline_copy_bytes(struct vfs *v, struct vnode *n, char **val, size_t *len)
{
	db_assert_locked(v->db);
	struct inline_copy *c = n->inline_copy;
	if (!c)
		return 0;
	*val = NULL;
	*len = c->len;
	if (!c->len)
		return 1;
	*val = malloc(c->len);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, c->bytes, c->len);
	return 1;
}

int inline_copy_read(struct vfs *v, struct vnode *n, void *buf, size_t len, uint64_t off)
{
	db_assert_locked(v->db);
	struct inline_copy *c = n->inline_copy;
	if (!c)
		return 0;
	/* past the bytes the file reads as zeros (a truncation up) */
	size_t from = off < c->len ? c->len - (size_t)off : 0;
	if (from > len)
		from = len;
	if (from)
		memcpy(buf, c->bytes + off, from);
	memset((char *)buf + from, 0, len - from);
	return 1;
}

void inline_copies_committed(struct vfs *v)
{
	db_assert_locked(v->db);
	struct inline_copy *c = v->inline_copies, *next;
	for (; c; c = next) {
		next = c->next;
		if (!c->lost) /* else the committed group did not hold them */
			unlink_copy(v, c);
	}
}

void inline_copies_lost(struct vfs *v)
{
	db_assert_locked(v->db);
	for (struct inline_copy *c = v->inline_copies; c; c = c->next)
		c->lost = 1;
}

/* Write a lost copy's bytes (no row for none) and n's row in one change:
 * so no commit holds bytes longer than the size. */
static int write_back(struct vfs *v, struct vnode *n, const struct inline_copy *c)
{
	int r = db_begin_essential(v->db);
	if (r < 0)
		return r;
	r = c->len ? xattr_row_put(v, n, VFS_INLINE_NAME, c->bytes, c->len)
	           : xattr_row_remove(v, n, VFS_INLINE_NAME);
	if (r == 0)
		r = vnode_write_row_locked(v, n);
	return r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
}

int inline_copy_lost(struct vfs *v, struct vnode *n)
{
	db_assert_locked(v->db);
	struct inline_copy *c = n->inline_copy;
	if (!c || !c->lost)
		return 0;
	if (!inline_file(n)) { /* an empty file that took an object since */
		inline_copy_drop(v, n);
		return 0;
	}
	return 1;
}

int inline_copy_restore(struct vfs *v, struct vnode *n)
{
	db_assert_locked(v->db);
	struct inline_copy *c = n->inline_copy;
	assert(c && c->lost && inline_file(n));
	assert(atomic_load(&n->row_lineage) == atomic_load(&n->tree->lineage));
	int r = write_back(v, n, c);
	if (r < 0) {
		/* the rolled-back change held its row; the caller's inode stays
		 * on the dirty list (an eviction: it is freed, as its row) */
		vnode_set_dirty(n);
		return r;
	}
	/* a group lost in that very commit marked it lost again: then r < 0 */
	c->lost = 0;
	atomic_store(&n->inline_known, (int)c->len + 1);
	return 0;
}
