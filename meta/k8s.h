/*
 * meta/k8s.h — the Kubernetes object model as volfs stores it: which kinds
 * exist, how a manifest of each kind is validated and defaulted, how an
 * apply merges a manifest into the stored object (kubectl's three-way
 * merge through the last-applied annotation), and which fields may not
 * change after creation. Pure functions on json-c objects: no database,
 * no FUSE.
 *
 * Error messages are one line and name the field by its dotted path, as
 * the Kubernetes API server does: "spec.resources.requests.storage:
 * Invalid value: \"10Gx\": unknown suffix \"Gx\"".
 */
#ifndef VOLFS_META_K8S_H
#define VOLFS_META_K8S_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "meta/kinds.h"

#define K8S_PROVISIONER "volfs.io/local"     /* our StorageClass provisioner / snapshot driver */
#define K8S_DEFAULT_CLASS "volfs"            /* the StorageClass a fresh state directory has */
#define K8S_DEFAULT_VSCLASS "volfs-snapshots" /* the VolumeSnapshotClass it has */
#define K8S_ANN_DEFAULT_SC "storageclass.kubernetes.io/is-default-class"
#define K8S_ANN_DEFAULT_VSC "snapshot.storage.kubernetes.io/is-default-class"
#define K8S_ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* --- reading objects --- */

/* The member at a dotted path ("spec.resources.requests.storage"), or
 * NULL. A JSON null reads as absent. Keys containing dots (annotations,
 * quota resources) cannot be reached this way: get their map and look
 * the key up. No reference is taken. */
json_object *k8s_get(json_object *obj, const char *path);
/* That member if it is a string, else NULL. */
const char *k8s_str(json_object *obj, const char *path);
/* The member at path parsed as a quantity (string or integer) into
 * bytes; 0 when absent or invalid. */
uint64_t k8s_bytes(json_object *obj, const char *path);
/* The object at path, creating it and intermediate objects (for
 * writing); a member in the way that is not an object is replaced. NULL
 * only when obj is not an object. */
json_object *k8s_obj(json_object *obj, const char *path);
/* Set obj.path (creating intermediate objects); takes ownership of val,
 * which may be NULL (a JSON null). */
void k8s_set(json_object *obj, const char *path, json_object *val);
void k8s_set_str(json_object *obj, const char *path, const char *s);
/* Is the annotation key set to "true" in metadata.annotations? */
int k8s_annotation_true(json_object *obj, const char *key);
/* Write s double-quoted into out with quotes, backslashes, control and
 * non-ASCII bytes escaped and long input elided, so that a message naming
 * user input stays one printable line. */
void k8s_quote(const char *s, char *out, size_t len);
/* The same for any JSON value: strings quoted, anything else as JSON text
 * (shortened when long). */
void k8s_quote_value(json_object *v, char *out, size_t len);

/* --- manifests --- */

/* Validate a manifest and fill its defaults in place (each kind's rules
 * as the Kubernetes API server applies them). ns is the namespace a namespaced
 * object goes to when metadata.namespace is absent or "" (NULL or "":
 * "default"); it is written into metadata.namespace. Cluster-scoped kinds
 * lose any metadata.namespace. Defaults filled: StorageClass reclaimPolicy
 * Delete and volumeBindingMode Immediate; PersistentVolume
 * persistentVolumeReclaimPolicy Retain, volumeMode Filesystem and
 * claimRef.namespace "default"; PersistentVolumeClaim volumeMode
 * Filesystem (never storageClassName: omitted and "" differ); Secret
 * type Opaque. Unknown
 * fields, status and server-set metadata are left alone, so a stored
 * object validates too. Returns 0 or -EINVAL with the field and the
 * problem in err. An unknown kind or a kind this volfs does not support
 * yet is -EINVAL with a message saying so. */
int k8s_validate(json_object *obj, const char *ns, char *err, size_t errlen);

/* The object an apply stores, given the stored one (NULL when new) and the
 * validated manifest: kubectl's three-way merge. Fields of the manifest
 * replace the stored ones (objects merge key by key, arrays and scalars
 * are replaced; a null removes the field), fields that the previous
 * manifest (the last-applied annotation of `stored`) had and the new one
 * lacks are removed (a map dropped whole goes whole, as with kubectl),
 * and everything else the stored object has (status, uid,
 * creationTimestamp, fields a controller set such as spec.volumeName or
 * spec.claimRef) is kept. The manifest's status and server-set metadata
 * (uid, creationTimestamp, resourceVersion, generation,
 * deletionTimestamp, ...) are ignored. The new manifest without those is
 * recorded as the last-applied annotation. A stored object without that
 * annotation loses nothing. Returns a new object. */
json_object *k8s_merge_apply(json_object *stored, json_object *manifest);

/* Refuse an update that changes a field Kubernetes makes immutable:
 * kind, metadata.name and namespace; StorageClass provisioner,
 * parameters, reclaimPolicy, volumeBindingMode; PersistentVolume
 * volumeMode and its volume source; PersistentVolumeClaim spec except
 * resources.requests.storage (volumeName and storageClassName may be set
 * once when they were empty/absent, as the binder and default-class
 * admission do); VolumeSnapshotClass driver and parameters;
 * VolumeSnapshot spec.source and volumeSnapshotClassName (settable once);
 * ConfigMap and Secret data once `immutable: true`, Secret type.
 * Whether a claim's request may change (bound, growing, class allows
 * expansion) is the caller's check. Returns 0 or -EINVAL with the field
 * named in err. */
int k8s_check_update(json_object *stored, json_object *updated, char *err, size_t errlen);

#endif
