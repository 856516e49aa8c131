/*
 * tools/fields.h — fields of the Kubernetes objects volctl prints: read
 * by dotted path (json_path...), and shown as kubectl prints them
 * (text_...), shared by the get tables (tools/tables.c) and describe
 * (tools/describe.c): access modes as RWO, sizes as quantities, a
 * volume's claim as NS/NAME, a snapshot's source, phases with
 * Terminating, default-class marks, a quota's used/hard pairs.
 */
#ifndef VOLFS_TOOLS_FIELDS_H
#define VOLFS_TOOLS_FIELDS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

/* The member at a dotted path ("spec.capacity.storage"), or NULL. */
struct json_object *json_path(struct json_object *obj, const char *path);
/* That member as text (numbers and booleans converted), or dflt. */
const char *json_path_str(struct json_object *obj, const char *path, const char *dflt);
/* A byte count member (an integer, or a quantity string). 0 or -1 when
 * missing or not a size. */
int json_path_bytes(struct json_object *obj, const char *path, uint64_t *bytes);

/* The access modes array at path, abbreviated and comma-joined: "RWO,ROX". */
void text_access_modes(struct json_object *obj, const char *path, char *buf, size_t len);
/* A size member as a quantity ("1Gi"), whether sent as text or bytes; ""
 * when missing. */
void text_quantity(struct json_object *obj, const char *path, char *buf, size_t len);
/* A volume's spec.claimRef as "NS/NAME", or "". */
void text_claim_ref(struct json_object *pv, char *buf, size_t len);
/* A snapshot's source: "pvc/NAME" or "pv/NAME", or "". */
void text_snapshot_source(struct json_object *vs, char *buf, size_t len);
/* status.phase, or "Terminating" once metadata.deletionTimestamp is set. */
const char *text_phase(struct json_object *obj);
/* The age of metadata.creationTimestamp at now. */
void text_age(struct json_object *obj, time_t now, char *buf, size_t len);
/* Is the annotation set to "true"? */
int text_annotation_true(struct json_object *obj, const char *key);
/* A quota's "resource: used/hard" pairs, sorted, ", "-joined: the
 * limits.* resources when limits, the others otherwise. */
void text_quota_pairs(struct json_object *quota, int limits, char *buf, size_t len);
/* The keys of a JSON object, sorted; *n set. Free the array only. */
const char **text_sorted_keys(struct json_object *map, size_t *n);

#define ANN_DEFAULT_SC "storageclass.kubernetes.io/is-default-class"
#define ANN_DEFAULT_VSC "snapshot.storage.kubernetes.io/is-default-class"

#endif
