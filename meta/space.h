/*
 * meta/space.h — host space for metadata. meta.db shares the state
 * directory's filesystem with the volumes' data files; when data fills it,
 * a commit of meta.db would fail and SQLite would roll back every change of
 * the group, changes the callers were already told had succeeded. So:
 *
 *   - STATE/meta.reserve is a preallocated file whose blocks only meta.db
 *     may use: they are freed just before a commit that may need them
 *     ("lent") and taken back after it, as far as the host allows.
 *   - data may not take the host's last `floor` bytes (a small share of the
 *     host), nor what the reserve is short of its full size;
 *   - below the floor the host is "tight": metadata changes commit one by
 *     one, so a commit that still fails undoes only the change that is
 *     being refused, and a change that adds metadata is refused with ENOSPC
 *     once the floor and half of the reserve are gone. Changes that remove
 *     things (unlink, rmdir, removexattr, deleting a volume or snapshot)
 *     may use the whole reserve, so a full host can always be cleaned up.
 *
 * Sizes: floor = 2% of the host filesystem (1 MiB .. 256 MiB); reserve =
 * 2% of it (4 MiB .. 64 MiB), or VOLFS_META_RESERVE bytes if set.
 */
#ifndef VOLFS_META_SPACE_H
#define VOLFS_META_SPACE_H

#include <stdint.h>

struct meta_space;

/* Open (creating and preallocating) DIR/meta.reserve. Logs and returns a
 * negative errno on failure. */
int meta_space_open(struct meta_space **out, const char *dir);
/* Close; the reserve file stays for the next start. */
void meta_space_close(struct meta_space *s);

/* Whether the host is below the floor (metadata commits one change at a
 * time). */
int meta_space_tight(struct meta_space *s);
/* Whether a metadata change may start: 0 or -ENOSPC. `releasing`: the
 * change removes things and may use the whole reserve. */
int meta_space_admit(struct meta_space *s, int releasing);
/* Whether data may take `bytes` more of the host: 0 or -ENOSPC. Looks at
 * the host only when the budget the last look granted is spent. */
int meta_space_data_ok(struct meta_space *s, uint64_t bytes);

/* Whether a commit writing about `bytes` surely fits in what the host and
 * the reserve can give it, by the host's free space at the last look
 * (each change looks as it starts: meta_space_tight). */
int meta_space_fits(struct meta_space *s, uint64_t bytes);

/* Free blocks of the reserve for a commit that writes about `bytes` (1),
 * unless the host has room enough beside it (0); and take them back after
 * it. */
int meta_space_lend(struct meta_space *s, uint64_t bytes);
void meta_space_refill(struct meta_space *s);

/* Bytes the reserve holds now, and its full size (for tests and logs). */
uint64_t meta_space_held(struct meta_space *s);
uint64_t meta_space_size(struct meta_space *s);
/* How many times the host's free space was asked for (for tests). */
uint64_t meta_space_host_looks(struct meta_space *s);

#endif
