/*
 * meta/objects.h — Kubernetes API objects (PersistentVolume, claims,
 * classes, ...) stored as JSON documents in the objects table, and their
 * events. Callers hold the db lock and, for changes, a transaction.
 */
#ifndef VOLFS_META_OBJECTS_H
#define VOLFS_META_OBJECTS_H

#include <json-c/json.h>
#include <stdint.h>

#include "meta/db.h"

/* Insert a new object. Fills metadata.name, namespace (when ns is not
 * ""), uid and creationTimestamp. -EEXIST if kind/ns/name exists. */
int kobj_insert(struct db *db, const char *kind, const char *ns, const char *name,
                json_object *body, uint64_t tree);
/* The object (new reference) or NULL; *tree gets its tree id (0 if none).
 * errno tells a NULL apart: ENOENT there is none, EIO the read failed (a
 * caller that would create, replace or delete on "none" must check). */
json_object *kobj_get(struct db *db, const char *kind, const char *ns, const char *name,
                      uint64_t *tree);
int kobj_update(struct db *db, const char *kind, const char *ns, const char *name,
                json_object *body);
/* Point an object at a tree (0: none). */
int kobj_set_tree(struct db *db, const char *kind, const char *ns, const char *name, uint64_t tree);
/* Point an object that still has tree `old` (0: none) at tree (not 0), or
 * -ESTALE: a caller that read `old` too long ago (or failed to read it)
 * never orphans the tree the object has now. */
int kobj_replace_tree(struct db *db, const char *kind, const char *ns, const char *name,
                      uint64_t old, uint64_t tree);
/* Give an object a new kind, namespace and name (a snapshot whose content
 * outlives it), keeping its uid and tree. */
int kobj_move(struct db *db, const char *kind, const char *ns, const char *name,
              const char *newkind, const char *newns, const char *newname, json_object *body);
int kobj_delete(struct db *db, const char *kind, const char *ns, const char *name);
/* Array of objects of a kind, by name; ns NULL means every namespace.
 * NULL when a read failed: a partial list is never returned as whole. */
json_object *kobj_list(struct db *db, const char *kind, const char *ns);

/* Every object of a kind, as kobj_list(db, kind, NULL), read a page at a
 * time, each under the db lock taken here: thousands of objects must not
 * keep the data path's commits waiting. A reader that is the only writer
 * of objects (the controllers) sees them consistent; NULL when a read
 * failed (a partial list would make present objects look deleted). db not
 * locked. */
json_object *kobj_list_paged(struct db *db, const char *kind);

/* Record an event; the same event as the object's newest one is counted
 * instead of repeated (events carry count, time and firstTime). */
void event_add(struct db *db, const char *kind, const char *ns, const char *name,
               const char *type, const char *reason, const char *message);
json_object *event_list(struct db *db, const char *kind, const char *ns, const char *name);
/* Every event of a namespace (NULL: all) as a core/v1 Event object, in
 * order; events of cluster-scoped objects count as namespace "default",
 * where kubectl shows them. */
json_object *event_objects(struct db *db, const char *ns);

/* RFC 3339 UTC timestamp of a unix time. */
void rfc3339(int64_t t, char *buf, size_t len);

#endif
