/*
 * meta/pod.h — Pods as owners of volumes: validating a Pod manifest's
 * volumes and containers' volumeMounts, the fields a Pod may not change,
 * and reading its volumes back. Pure functions on json-c objects.
 *
 * This volfs serves emptyDir (on disk or in memory, with sizeLimit),
 * hostPath (its rules are in meta/hostpath.h), persistentVolumeClaim, and
 * the projected types configMap, secret, downwardAPI and projected (their
 * rules are in meta/projection.h). The other types (nfs, csi, ephemeral)
 * are refused by name until they are served.
 */
#ifndef VOLFS_META_POD_H
#define VOLFS_META_POD_H

#include <json-c/json.h>
#include <stddef.h>

/* 0 or -EINVAL with the field named in err. */
int pod_validate(json_object *pod, char *err, size_t errlen);
/* A workload's (Deployment, StatefulSet) spec.replicas, defaulted to 1,
 * an integer from 0 to 1000, and its spec.template.spec, required. */
/* A new pod NAME from owner's spec.template (labels and spec copied), in
 * its namespace, with an ownerReference to it (an apps/v1 kind). */
json_object *pod_from_template(json_object *owner, const char *name);
int pod_owner_check_spec(json_object *owner, char *err, size_t errlen);
/* The pod its template makes (consumed), valid as a pod; the error under
 * spec.template. */
int pod_owner_check_template(json_object *pod, char *err, size_t errlen);

/* A Pod's spec is immutable here (Kubernetes allows a few fields, none of
 * them about storage). */
int pod_check_update(json_object *stored, json_object *updated, char *err, size_t errlen);

/* A volumeMount's subPath as the API server accepts it: relative, no ".."
 * element. 0, or -EINVAL with the reason in err. */
int pod_subpath_check(const char *sub, char *err, size_t errlen);
/* Is path (resolved, absolute) root itself or below it? */
int path_is_within(const char *root, const char *path);
/* kubectl exec's container: the one named, or with name NULL the first
 * (*defaulted set when there are others). NULL with err if there is none. */
json_object *pod_container(json_object *pod, const char *name, int *defaulted, char *err,
                           size_t errlen);
/* "app, sidecar": the pod's container names. */
void pod_container_names(json_object *pod, char *buf, size_t len);
/* The pod's volume of that name, or NULL. */
json_object *pod_volume_named(json_object *pod, const char *name);
/* Must every mount of the volume be read-only, as kubelet makes it (a claim
 * with readOnly: true; configMap, secret, downwardAPI, projected)? */
int pod_volume_read_only(json_object *volume);

/* Is the volume an emptyDir with medium: Memory? */
int pod_volume_in_memory(json_object *volume);
/* The size of a memory emptyDir, as kubelet computes it: the smallest of
 * node_bytes (the node's allocatable memory), the pod's memory limit (the
 * sum of its containers' limits.memory, when every one has one) and the
 * volume's sizeLimit. */
uint64_t pod_memory_dir_size(json_object *pod, json_object *volume, uint64_t node_bytes);

/* The claim a pod volume uses (NULL if it is not a persistentVolumeClaim). */
const char *pod_volume_claim(json_object *volume);
/* Does the pod use the claim? *read_only says whether every use is readOnly. */
int pod_uses_claim(json_object *pod, const char *claim, int *read_only);

#endif
