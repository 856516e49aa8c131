/*
 * meta/jsonobj.h — members of json-c objects, the form every Kubernetes
 * object takes here: by key (json_member...: keys may hold dots, as data
 * keys, label keys and annotations do) and by a dotted field path
 * ("spec.resources.requests.storage": jpath_get...). A JSON null reads as
 * absent everywhere. A leaf of meta/: it uses only quantities.
 */
#ifndef VOLFS_META_JSONOBJ_H
#define VOLFS_META_JSONOBJ_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* --- members by key --- */

/* Is v present and of type t? */
int json_is(json_object *v, json_type t);
/* The member key of o; NULL when o is not an object, the key is absent or
 * its value is null (json-c stores null as a NULL member). No reference
 * is taken. */
json_object *json_member(json_object *o, const char *key);
/* That member if it is a string, else NULL. */
const char *json_member_str(json_object *o, const char *key);
/* Is that member the boolean true? */
int json_member_true(json_object *o, const char *key);
/* Remove a member; nothing when o is not an object (json-c would assert). */
void json_del(json_object *o, const char *key);
/* Does a JSON string hold a NUL byte? */
int json_has_nul(json_object *s);
/* A quantity value (a string, or a number a YAML reader made of "10") in
 * bytes. 0, or -1 with quantity_parse's reason in why. */
int json_quantity(json_object *v, uint64_t *bytes, char *why, size_t whylen);

/* --- members by dotted path (jpath_*: a JSON path, not a Kubernetes rule) --- */

/* The member at a dotted path ("spec.resources.requests.storage"), or
 * NULL. Keys containing dots (annotations, quota resources) cannot be
 * reached this way: get their map and look the key up. No reference is
 * taken. */
json_object *jpath_get(json_object *obj, const char *path);
/* That member if it is a string, else NULL. */
const char *jpath_str(json_object *obj, const char *path);
/* The member at path parsed as a quantity (string or integer) into
 * bytes; 0 when absent or invalid. */
uint64_t jpath_bytes(json_object *obj, const char *path);
/* The object at path, creating it and intermediate objects (for
 * writing); a member in the way that is not an object is replaced. NULL
 * only when obj is not an object. */
json_object *jpath_obj(json_object *obj, const char *path);
/* Set obj.path (creating intermediate objects); takes ownership of val,
 * which may be NULL (a JSON null). */
void jpath_set(json_object *obj, const char *path, json_object *val);
void jpath_set_str(json_object *obj, const char *path, const char *s);
/* Is the annotation key set to "true" in metadata.annotations? */
int k8s_annotation_true(json_object *obj, const char *key);

#endif
