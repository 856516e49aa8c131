/*
 * fs/control/api.h — the API server: validating, admitting and storing Kubernetes
 * objects for the control socket (see fs/control/api.c). Every call that changes
 * objects runs the controllers before it returns, so the answer already
 * shows bindings, provisioned volumes and reclaimed ones.
 */
#ifndef VOLFS_FS_API_H
#define VOLFS_FS_API_H

#include <json-c/json.h>
#include <stddef.h>

#include "fs/vfs/vfs.h"

/* Each returns 0 or a negative errno with a one-line reason in err. */

/* Apply (create_only 0) or create (1) the objects of a manifest, all or
 * nothing; ns is where namespaced objects without metadata.namespace go
 * (NULL: "default"); source names the file in messages. *items lists
 * {kind, namespace, name, action}. */
int api_apply(struct vfs *v, json_object *objects, const char *source, const char *ns,
              int create_only, json_object **items, char *err, size_t errlen);
/* Create objects as api_apply does, without running the controllers: for
 * the controllers themselves (a StatefulSet's claims and pods). */
int api_store(struct vfs *v, json_object *objects, const char *ns, char *err, size_t errlen);
/* Delete the objects named by kind and metadata (all or nothing). */
int api_delete(struct vfs *v, json_object *objects, const char *source, const char *ns,
               int ignore_not_found, json_object **items, char *err, size_t errlen);
int api_delete_one(struct vfs *v, const char *kind, const char *ns, const char *name, char *err,
                   size_t errlen);
/* A JSON merge patch (RFC 7386) of one object: `kubectl patch --type merge`. */
int api_patch(struct vfs *v, const char *kind, const char *ns, const char *name,
              json_object *patch, json_object **out, char *err, size_t errlen);
/* Objects of a kind: one by name, or all (ns NULL: every namespace). */
int api_get(struct vfs *v, const char *kind, const char *ns, const char *name, json_object **items,
            char *err, size_t errlen);
/* {object, events, usage (for objects with data)}. */
int api_describe(struct vfs *v, const char *kind, const char *ns, const char *name,
                 json_object **out, char *err, size_t errlen);

#endif
