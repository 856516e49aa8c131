/*
 * meta/k8s.h — the Kubernetes rules of each kind volfs serves: how a
 * manifest of each kind is validated and defaulted, and which fields may
 * not change after creation. Pure functions on json-c objects: no database,
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

/* What the rules' callers use with them: the kind table, and members of
 * objects by key and by dotted path. */
#include "meta/jsonobj.h"
#include "meta/kinds.h"

#define K8S_PROVISIONER "volfs.io/local"     /* our StorageClass provisioner / snapshot driver */
#define K8S_DEFAULT_CLASS "volfs"            /* the StorageClass a fresh state directory has */
#define K8S_DEFAULT_VSCLASS "volfs-snapshots" /* the VolumeSnapshotClass it has */
#define K8S_ANN_DEFAULT_SC "storageclass.kubernetes.io/is-default-class"
#define K8S_ANN_DEFAULT_VSC "snapshot.storage.kubernetes.io/is-default-class"

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
