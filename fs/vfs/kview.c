/*
 * fs/vfs/kview.c — when the kernel's own copy of a file's attributes is
 * current, so that a GETATTR reply need not replace it.
 *
 * Without the writeback cache the kernel marks a file's size stale after
 * every write it sends, so the next lseek(SEEK_END) or stat asks for the
 * attributes; and taking attributes from any reply clears the inode's
 * S_NOSEC, so the write after that first asks for security.capability.
 * A database extends a relation by lseek(SEEK_END) then an 8 KiB write,
 * which made each extension cost a GETATTR and a GETXATTR besides the
 * WRITE.
 *
 * The kernel ignores an attribute reply when the inode's attributes were
 * invalidated while the request was in flight (its attr_version check), and
 * then keeps what it has, S_NOSEC included. What it has is current when,
 * since it last took a reply, only its own writes changed the file (it set
 * the size from them) and the daemon changed neither size nor mode behind
 * its back. When, besides, the file has no set-ID bit and no extended
 * attribute (so no capability), S_NOSEC is right, and the kernel may keep
 * it: the GETATTR is answered normally (stat(2) still gets the reply's
 * values), after an invalidation that makes the kernel drop the reply.
 * Its attributes stay marked stale, so the next GETATTR takes the reply
 * unless another cached write came first.
 *
 * Only a write that ends at the end of the file counts: a file growing at
 * its end (a relation, a log) has one lseek(SEEK_END) per write, while
 * after an overwrite in the middle (a database's page write-back) the
 * file's size is often asked for several times. A dropped reply leaves the
 * kernel's attributes stale, so the second lseek costs a GETATTR of its
 * own: dropping saves the GETXATTR of the next write only when exactly one
 * lseek comes before it, and costs a GETATTR whenever more do. For
 * PostgreSQL's select-only page writes neither dropping after every write
 * nor a per-file guess from the file's last write removed more than it
 * added in every traced run, and dropping for as long as only the kernel
 * wrote cost several times as many (docs/performance.md,
 * scripts/bench/kview-rules.py). There the writes come mostly from
 * background writers and the lseeks from the backend a client waits for:
 * an accepted reply makes the writer ask the GETXATTR, a dropped one makes
 * the backend ask again.
 *
 * Which opens write around the page cache (vfs_writes_direct) is decided
 * here too: only a cached write leaves the kernel's size current.
 */
#include "fs/vfs/vfs_int.h"

#include <fcntl.h>
#include <sys/stat.h>

/* O_DIRECT bypasses the kernel page cache all the way to our store. So do
 * write-only descriptors, which can neither read nor be mapped: sent
 * directly, each write(2) is one WRITE, where the cached path first asks
 * for security.capability (a GETXATTR round trip) and splits a write that
 * starts inside a page it has not read into two requests. The kernel drops
 * the cached pages of the range a direct write changes, so other
 * descriptors keep their caches and stay coherent. */
int vfs_writes_direct(int flags)
{
	return (flags & O_DIRECT) || (flags & O_ACCMODE) == O_WRONLY;
}

void kview_written(struct vfile *f, int ends_file)
{
	if (ends_file && !vfs_writes_direct(f->flags))
		atomic_fetch_or(&f->n->kview, KVIEW_WRITTEN);
}

void kview_changed(struct vnode *n)
{
	atomic_fetch_or(&n->kview, KVIEW_CHANGED);
}

/* Nothing a write would have to remove: no set-ID bit, no xattr at all
 * (so no security.capability). */
static int needs_no_privilege_check(struct vnode *n)
{
	ranked_lock(&n->alock, LOCK_LEAF);
	mode_t m = n->a.mode;
	ranked_unlock(&n->alock, LOCK_LEAF);
	return S_ISREG(m) && !(m & (S_ISUID | S_ISGID)) &&
	       atomic_load(&n->xattrs) == XATTRS_NONE;
}

int kview_keep_kernel_attrs(struct vfs *v, struct vnode *n)
{
	int seen = atomic_exchange(&n->kview, 0);
	if (seen != KVIEW_WRITTEN || !needs_no_privilege_check(n))
		return 0;
	if (v->notify.inval_inode)
		v->notify.inval_inode(v->notify.arg, n->ino, -1, 0);
	return 1;
}
