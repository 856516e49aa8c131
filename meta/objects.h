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
int obj_insert(struct db *db, const char *kind, const char *ns, const char *name,
               json_object *body, uint64_t tree);
/* The object (new reference) or NULL; *tree gets its tree id (0 if none). */
json_object *obj_get(struct db *db, const char *kind, const char *ns, const char *name,
                     uint64_t *tree);
int obj_update(struct db *db, const char *kind, const char *ns, const char *name,
               json_object *body);
int obj_delete(struct db *db, const char *kind, const char *ns, const char *name);
/* Array of objects of a kind, by name; ns NULL means every namespace. */
json_object *obj_list(struct db *db, const char *kind, const char *ns);

void event_add(struct db *db, const char *kind, const char *ns, const char *name,
               const char *type, const char *reason, const char *message);
json_object *event_list(struct db *db, const char *kind, const char *ns, const char *name);

/* RFC 3339 UTC timestamp of a unix time. */
void rfc3339(int64_t t, char *buf, size_t len);

#endif
