/*
 * meta/walvfs.c — the VFS meta.db is opened with (see walvfs.h): files
 * other than the WAL are the base VFS's own; the WAL is wrapped so that a
 * write reaching a page past the WAL's live end is padded with zeros to
 * the end of that page.
 *
 * The live end. SQLite writes a WAL from its 32-byte header at offset 0
 * (when it starts the WAL over, with new salts), then frames in order;
 * recovery and readers only take frames that carry the current salts, in
 * one unbroken run from the header. So after a write at offset 0, nothing
 * beyond the furthest byte written since then is live, and zeros there
 * change nothing anyone reads. Until the first write at offset 0 (a WAL
 * left by an earlier run), the live end is unknown and nothing is padded.
 */
#include "meta/walvfs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct wal_file {
	sqlite3_file base;   /* pMethods: wal_methods */
	sqlite3_file *real;  /* the base VFS's file, in the same allocation */
	sqlite3_int64 live_end; /* -1: unknown (no write at offset 0 yet) */
	char *pad_buf;       /* a write and its zeros, copied for one xWrite */
	size_t pad_cap;
};

static sqlite3_vfs *base_vfs, wal_vfs;
static sqlite3_int64 page_size;

#define REAL(f) (((struct wal_file *)(f))->real)
#define REAL_OFFSET ((sizeof(struct wal_file) + 15) & ~(size_t)15)

static int wal_close(sqlite3_file *f)
{
	struct wal_file *w = (struct wal_file *)f;
	int rc = w->real->pMethods->xClose(w->real);
	free(w->pad_buf);
	w->pad_buf = NULL;
	return rc;
}

static int wal_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
}

/* The bytes after [off, end) to the end of end's page when that page lies
 * past every page written since the WAL started over, else 0. */
static sqlite3_int64 zeros_after(const struct wal_file *w, sqlite3_int64 end)
{
	if (w->live_end < 0 || end <= w->live_end || end % page_size == 0)
		return 0;
	/* A page the live part already reaches was written to its end when
	 * the live part first reached it: padding it again saves no read. */
	if (w->live_end > 0 && (end - 1) / page_size == (w->live_end - 1) / page_size)
		return 0;
	return page_size - end % page_size;
}

static int wal_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	struct wal_file *w = (struct wal_file *)f;
	if (off == 0)
		w->live_end = 0; /* the header of a WAL started over */
	sqlite3_int64 end = off + amt, pad = zeros_after(w, end);
	size_t len = (size_t)amt + (size_t)pad;
	if (pad && len > w->pad_cap) {
		char *p = realloc(w->pad_buf, len);
		if (p) {
			w->pad_buf = p;
			w->pad_cap = len;
		}
	}
	int rc;
	if (pad && len <= w->pad_cap) {
		memcpy(w->pad_buf, buf, (size_t)amt);
		memset(w->pad_buf + amt, 0, (size_t)pad);
		rc = w->real->pMethods->xWrite(w->real, w->pad_buf, (int)len, off);
	} else {
		rc = w->real->pMethods->xWrite(w->real, buf, amt, off);
	}
	if (rc == SQLITE_OK && w->live_end >= 0 && end > w->live_end)
		w->live_end = end;
	return rc;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wal_file *w = (struct wal_file *)f;
	if (w->live_end > size)
		w->live_end = size;
	return w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int wal_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int wal_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int wal_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int wal_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int wal_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

/* Version 1 methods only: SQLite maps no WAL and keeps no shared memory
 * in it (that is the -shm file, the base VFS's own). */
static const sqlite3_io_methods wal_methods = {
	.iVersion = 1,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_file_size,
	.xLock = wal_lock,
	.xUnlock = wal_unlock,
	.xCheckReservedLock = wal_check_reserved,
	.xFileControl = wal_file_control,
	.xSectorSize = wal_sector_size,
	.xDeviceCharacteristics = wal_device_characteristics,
};

static int wal_vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return base_vfs->xOpen(base_vfs, name, f, flags, out);
	struct wal_file *w = (struct wal_file *)f;
	memset(w, 0, sizeof *w);
	w->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	w->live_end = -1;
	int rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out);
	/* SQLite closes a file whose pMethods is set, even after a failed open */
	w->base.pMethods = w->real->pMethods ? &wal_methods : NULL;
	return rc;
}

static void register_once(void)
{
	sqlite3_vfs *b = sqlite3_vfs_find(NULL);
	long ps = sysconf(_SC_PAGESIZE);
	if (!b)
		return;
	page_size = ps > 0 ? ps : 4096;
	base_vfs = b;
	wal_vfs = *b;
	wal_vfs.zName = "volfs-wal";
	wal_vfs.pNext = NULL;
	wal_vfs.szOsFile = (int)REAL_OFFSET + b->szOsFile;
	wal_vfs.xOpen = wal_vfs_open;
	if (sqlite3_vfs_register(&wal_vfs, 0) != SQLITE_OK)
		base_vfs = NULL;
}

const char *walvfs_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_once);
	return base_vfs ? wal_vfs.zName : NULL;
}
