/*
 * meta/walvfs.h — the SQLite VFS meta.db is opened with: SQLite's default
 * VFS, except that the WAL is written in whole pages at its end.
 *
 * Why: a WAL frame is a page plus a 24-byte header, so frames straddle the
 * host's pages, and the WAL file is reused from its start after every
 * checkpoint that caught up. A write that covers part of a page the kernel
 * no longer caches (clean WAL pages are the first to be evicted: nothing
 * reads them) makes the kernel read that page from disk before it can copy
 * the write in — a synchronous read behind whatever the disk is busy with,
 * inside a commit, under the db lock. Past the WAL's live end every byte is
 * dead (frames of an earlier round, with other salts, or nothing), so this
 * VFS pads such a write with zeros to the end of its page: the kernel then
 * overwrites the whole page and reads nothing. Writes inside the live part
 * (SQLite rewriting a frame of the open transaction) are left as they are.
 */
#ifndef VOLFS_META_WALVFS_H
#define VOLFS_META_WALVFS_H

#include <sqlite3.h>

/* The VFS's name for sqlite3_open_v2, registered (not as the default) on
 * the first call, over whatever VFS is the default then; NULL when it
 * could not be registered (SQLite's default VFS is used then). Thread-safe. */
const char *walvfs_name(void);

#endif
