/*
 * meta/apply_merge.h — what an apply stores: kubectl's three-way merge of
 * a manifest into the stored object through the last-applied annotation.
 * A pure function on json-c objects, the same for every kind.
 */
#ifndef VOLFS_META_APPLY_MERGE_H
#define VOLFS_META_APPLY_MERGE_H

#include <json-c/json.h>

#define K8S_ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

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

#endif
