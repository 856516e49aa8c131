/*
 * meta/schema.sql.h — the schema of meta.db, one string per migration.
 * Migration i takes user_version i to i+1. Never edit a shipped migration:
 * add a new one, so that existing state directories upgrade in place.
 */
#ifndef VOLFS_META_SCHEMA_H
#define VOLFS_META_SCHEMA_H

static const char *const db_migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"

	/* Kubernetes API objects (PersistentVolume, claims, classes, ...): the
	 * object itself is a JSON document shaped like the Kubernetes object;
	 * `tree` links a volume or snapshot object to its filesystem tree. */
	"CREATE TABLE objects("
	"  uid TEXT PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL DEFAULT '',"
	"  name TEXT NOT NULL, body TEXT NOT NULL, tree INTEGER, created INTEGER NOT NULL,"
	"  UNIQUE(kind, namespace, name));"
	"CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL,"
	"  name TEXT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,"
	"  time INTEGER NOT NULL);"
	"CREATE INDEX events_obj ON events(kind, namespace, name);"

	/* A tree is one POSIX namespace: a writable volume or a read-only
	 * snapshot. Inode numbers are local to a tree, so a snapshot is a copy of
	 * the rows with a new tree id and no renumbering. */
	"CREATE TABLE trees(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
	"  capacity INTEGER NOT NULL, next_ino INTEGER NOT NULL, origin INTEGER,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE inodes(tree INTEGER NOT NULL, ino INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	"  nlink INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
	"  blocks INTEGER NOT NULL DEFAULT 0, rdev INTEGER NOT NULL DEFAULT 0,"
	"  atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,"
	"  btime INTEGER NOT NULL, obj INTEGER, target BLOB,"
	"  PRIMARY KEY(tree, ino)) WITHOUT ROWID;"
	"CREATE TABLE dentries(id INTEGER PRIMARY KEY, tree INTEGER NOT NULL,"
	"  parent INTEGER NOT NULL, name TEXT NOT NULL, ino INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX dentries_name ON dentries(tree, parent, name);"
	"CREATE INDEX dentries_dir ON dentries(tree, parent, id);"
	"CREATE INDEX dentries_ino ON dentries(tree, ino);"
	"CREATE TABLE xattrs(tree INTEGER NOT NULL, ino INTEGER NOT NULL, name TEXT NOT NULL,"
	"  value BLOB NOT NULL, PRIMARY KEY(tree, ino, name)) WITHOUT ROWID;"

	/* Data objects: a sparse host file STATE/data/XX/ID plus a block map.
	 * refs = inode rows pointing at it + child objects layered on it.
	 * trunc_blk: blocks at or past it are never inherited from the parent. */
	"CREATE TABLE dataobjs(id INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER,"
	"  refs INTEGER NOT NULL, trunc_blk INTEGER);"
	"CREATE TABLE objmap(obj INTEGER NOT NULL, leaf INTEGER NOT NULL,"
	"  has BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY(obj, leaf)) WITHOUT ROWID;",

	/* 1 -> 2: "is this object's only holder one child layer?" is asked for
	 * every object a snapshot deletion releases. */
	"CREATE INDEX dataobjs_parent ON dataobjs(parent);"
	"CREATE INDEX inodes_obj ON inodes(obj);",

	/* 2 -> 3: a controller that retries says the same thing again and
	 * again; like Kubernetes, repeat an event by counting it. */
	"ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE events ADD COLUMN first INTEGER;",

	/* 3 -> 4: a tree's inode limit when it is not derived from the
	 * capacity (NULL). */
	"ALTER TABLE trees ADD COLUMN inodes INTEGER;",

	/* 4 -> 5: the generation of an object's size and map (gen), against
	 * the one its host file's sync marker records: a larger marker means
	 * an fdatasync made data durable that this row does not describe yet
	 * (fs/store/datasync.c). */
	"ALTER TABLE dataobjs ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;",

	/* 5 -> 6: metadata copy-on-write (docs/design.md). Rows of inodes,
	 * dentries and xattrs are versions keyed by a lineage id; lineages form
	 * trees (a family, named by its root id), `ancestors` is their closure
	 * (each id with itself and every ancestor), and a tree reads the newest
	 * version visible from its lineage. A whiteout version hides older
	 * ones. Each existing tree becomes the root of its own family, with its
	 * rows as they are: nothing is shared retroactively. used_blocks,
	 * inode_count and meta_bytes: a tree's usage when it was branched (a
	 * snapshot's never changes), so attaching it counts no rows. */
	"CREATE TABLE lineages(id INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER,"
	"  family INTEGER NOT NULL, dead INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX lineages_parent ON lineages(parent);"
	"CREATE TABLE ancestors(id INTEGER NOT NULL, anc INTEGER NOT NULL,"
	"  PRIMARY KEY(id, anc)) WITHOUT ROWID;"
	"CREATE INDEX ancestors_anc ON ancestors(anc);"
	"INSERT INTO lineages(id, parent, family) SELECT id, NULL, id FROM trees;"
	"INSERT INTO ancestors(id, anc) SELECT id, id FROM trees;"
	"ALTER TABLE trees ADD COLUMN lineage INTEGER;"
	"ALTER TABLE trees ADD COLUMN used_blocks INTEGER;"
	"ALTER TABLE trees ADD COLUMN inode_count INTEGER;"
	"ALTER TABLE trees ADD COLUMN meta_bytes INTEGER;"
	"UPDATE trees SET lineage=id;"
	"CREATE TABLE inodes5(family INTEGER NOT NULL, ino INTEGER NOT NULL,"
	"  lineage INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL,"
	"  gid INTEGER NOT NULL, nlink INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
	"  blocks INTEGER NOT NULL DEFAULT 0, rdev INTEGER NOT NULL DEFAULT 0,"
	"  atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,"
	"  btime INTEGER NOT NULL, obj INTEGER, target BLOB,"
	"  whiteout INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(family, ino, lineage)) WITHOUT ROWID;"
	"INSERT INTO inodes5(family, ino, lineage, mode, uid, gid, nlink, size, blocks, rdev,"
	"  atime, mtime, ctime, btime, obj, target) SELECT tree, ino, tree, mode, uid, gid, nlink,"
	"  size, blocks, rdev, atime, mtime, ctime, btime, obj, target FROM inodes;"
	"DROP TABLE inodes;"
	"ALTER TABLE inodes5 RENAME TO inodes;"
	"CREATE INDEX inodes_obj ON inodes(obj);"
	"CREATE INDEX inodes_lineage ON inodes(lineage);"
	"CREATE TABLE dentries5(id INTEGER PRIMARY KEY, family INTEGER NOT NULL,"
	"  parent INTEGER NOT NULL, name TEXT NOT NULL, lineage INTEGER NOT NULL,"
	"  ino INTEGER NOT NULL, whiteout INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO dentries5(id, family, parent, name, lineage, ino)"
	"  SELECT id, tree, parent, name, tree, ino FROM dentries;"
	"DROP TABLE dentries;"
	"ALTER TABLE dentries5 RENAME TO dentries;"
	"CREATE UNIQUE INDEX dentries_name ON dentries(family, parent, name, lineage);"
	"CREATE INDEX dentries_dir ON dentries(family, parent, id);"
	"CREATE INDEX dentries_ino ON dentries(family, ino);"
	"CREATE INDEX dentries_lineage ON dentries(lineage);"
	"CREATE TABLE xattrs5(family INTEGER NOT NULL, ino INTEGER NOT NULL, name TEXT NOT NULL,"
	"  lineage INTEGER NOT NULL, value BLOB, whiteout INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(family, ino, name, lineage)) WITHOUT ROWID;"
	"INSERT INTO xattrs5(family, ino, name, lineage, value)"
	"  SELECT tree, ino, name, tree, value FROM xattrs;"
	"DROP TABLE xattrs;"
	"ALTER TABLE xattrs5 RENAME TO xattrs;"
	"CREATE INDEX xattrs_lineage ON xattrs(lineage);",
	/* 6 -> 7: a volume's snapshots by their origin (df, the metrics):
	 * without it, listing each volume's snapshots read every tree, and
	 * the metrics of 10,000 volumes took half a minute under the db lock. */
	"CREATE INDEX trees_origin ON trees(origin, kind);",

	/* 7 -> 8: a lineage's ancestors as spans of ids instead of one row an
	 * ancestor (fs/vfs/lineage.c): a chain of d snapshots held d(d+1)/2
	 * closure rows, so each snapshot added rows in proportion to its
	 * depth. A span [lo, hi] of lineage id covers every lineage of id's
	 * family with lo <= its id <= hi, and those are exactly id and its
	 * ancestors. The closure is cut into spans at every lineage of the
	 * family that is not an ancestor (islands of consecutive family
	 * ranks). */
	"CREATE TABLE ancestor_spans(id INTEGER NOT NULL, lo INTEGER NOT NULL,"
	"  hi INTEGER NOT NULL, PRIMARY KEY(id, lo)) WITHOUT ROWID;"
	"INSERT INTO ancestor_spans(id, lo, hi) SELECT id, min(anc), max(anc) FROM"
	"  (SELECT a.id, a.anc, r.rank - row_number() OVER (PARTITION BY a.id ORDER BY a.anc)"
	"   AS island FROM ancestors a JOIN (SELECT id, row_number() OVER"
	"   (PARTITION BY family ORDER BY id) AS rank FROM lineages) r ON r.id=a.anc)"
	"  GROUP BY id, island;"
	"DROP TABLE ancestors;",

	/* 8 -> 9: only inodes with a data object in inodes_obj. Every query
	 * of it names an object; the rows of empty files, directories and
	 * symlinks kept one entry each under NULL, which every create, delete
	 * and link-count write of them changed too. */
	"DROP INDEX inodes_obj;"
	"CREATE INDEX inodes_obj ON inodes(obj) WHERE obj IS NOT NULL;",

	/* 9 -> 10: inline data (fs/vfs/inline.c). A regular file without a
	 * data object may keep its bytes in an xattrs row named
	 * 'volfs.inline'. No table changes; the version is what changes, so
	 * that a daemon of schema 9, which would read such files as zeros
	 * (and lose their bytes at the next write), refuses the directory. */
	"SELECT 1;",
};

#define DB_N_MIGRATIONS (sizeof(db_migrations) / sizeof(db_migrations[0]))

#endif
