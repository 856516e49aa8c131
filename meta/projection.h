/*
 * meta/projection.h — the volumes kubelet projects from API objects:
 * configMap, secret, downwardAPI and projected (see projection.c). What
 * such a volume may say and the files it gives a pod (path, mode, bytes).
 * Pure functions on json-c objects: no database, no FUSE; the fs layer
 * serves the files. The ConfigMap and Secret kinds the volumes read
 * (configmap_validate, secret_validate, ...) are declared in
 * configdata.h, included here; the downward API's values are described
 * in downward.h.
 *
 * Modes are JSON integers from 0 to 0777 (511). volctl reads YAML 1.1
 * octal as kubectl does, so `defaultMode: 0644` and `0o644` arrive as
 * 420; a bare `644` is decimal 644 (01204) and refused as out of range.
 * The default mode of every volume type is 0644.
 */
#ifndef VOLFS_META_PROJECTION_H
#define VOLFS_META_PROJECTION_H

#include <json-c/json.h>
#include <stddef.h>

#include "meta/configdata.h"

#define PROJECTION_DEFAULT_MODE 0644

/* Validate a pod volume whose source is configMap, secret, downwardAPI or
 * projected (at = "spec.volumes[3]"), as the API server does: names,
 * items (key or fieldRef/resourceFieldRef, a relative path without ".."
 * elements that does not start with ".."), modes, fieldPaths, resources
 * and divisors; in a projected volume, item paths that two sources both
 * name and serviceAccountToken / clusterTrustBundle sources are refused.
 * 0 or -EINVAL with the field path in err. */
int projection_validate(json_object *vol, const char *at, char *err, size_t errlen);

/* How many of the four source types (configMap, secret, downwardAPI,
 * projected) the volume names: non-zero means it is one of them, and a
 * caller counting a volume's sources adds this. */
int projection_is(json_object *vol);

/* The files the volume projects for this pod, as a new JSON array sorted
 * by path (byte order) of {"path": "dir/file", "mode": 420, "data":
 * <string of raw bytes, may contain NULs: read it with
 * json_object_get_string_len>}. Paths are clean ("a//./b" is "a/b"),
 * unique, and no path is a directory of another.
 *
 * configmaps / secrets: arrays of the ConfigMap / Secret objects of the
 * pod's namespace (NULL reads as none). Without items, every key of a
 * ConfigMap's data and binaryData (decoded) or of a Secret's data
 * (decoded) and stringData (which wins on the same key) is a file named
 * by the key; with items, only those keys at those paths. An item's mode
 * wins over the volume's defaultMode.
 *
 * downwardAPI: each item's text as downward.h says (labels and
 * annotations as kubelet's FormatMap writes them; resources divided and
 * rounded up; an unset request reads as the limit, else 0; an unset
 * limit as the machine's allocatable).
 *
 * projected: every source's files in one list; when two sources give the
 * same path the later source wins, as in kubelet (later items of one
 * source win over earlier ones the same way).
 *
 * Returns 0 with *files set. Otherwise *files is NULL and err says why:
 * -ENOENT when a source that is not optional is missing ("configmap
 * \"conf\" not found"), an item's key is missing from a source that is
 * not optional ("configmap \"conf\" has no key \"x\"") or a
 * resourceFieldRef names no container of the pod ("container \"x\" not
 * found"); -EINVAL when a file and a directory would share a path, a
 * container's resource quantity is invalid, or an object in the arrays
 * is malformed. An optional missing source, or an optional source's
 * missing key, projects nothing. Messages never quote secret data. */
int projection_files(json_object *pod, json_object *vol, json_object *configmaps,
                     json_object *secrets, json_object **files, char *err, size_t errlen);

/* Does the volume read this ConfigMap or Secret (kind "ConfigMap" or
 * "Secret", for reprojecting after they change)? */
int projection_uses(json_object *vol, const char *kind, const char *name);

#endif
