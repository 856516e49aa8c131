/*
 * meta/apply_merge.c — kubectl's three-way apply merge through the
 * last-applied annotation (see apply_merge.h).
 */
#include "meta/apply_merge.h"

#include "meta/jsonobj.h"

/* metadata the API server owns: a manifest cannot set it. */
static const char *const SERVER_METADATA[] = {
	"uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp",
	"deletionGracePeriodSeconds", "managedFields", "selfLink", NULL
};

static json_object *deep_copy(json_object *o)
{
	json_object *copy = NULL;

	if (!o || json_object_deep_copy(o, &copy, NULL) < 0)
		return NULL;
	return copy;
}

/* What an apply may set from a manifest: all of it but status (a
 * subresource the controllers write), server-owned metadata and the
 * last-applied annotation itself. */
static json_object *applied_config(json_object *manifest)
{
	json_object *cfg = deep_copy(manifest);
	json_object *md = json_member(cfg, "metadata");

	if (!json_is(cfg, json_type_object)) {
		json_object_put(cfg);
		return json_object_new_object();
	}
	json_del(cfg, "status");
	for (size_t i = 0; md && SERVER_METADATA[i]; i++)
		json_del(md, SERVER_METADATA[i]);
	json_del(json_member(md, "annotations"), K8S_ANN_LAST_APPLIED);
	/* Only the recorded annotation: the object's own YAML applies back
	 * as the same configuration, so unchanged. */
	if (json_is(json_member(md, "annotations"), json_type_object) &&
	    json_object_object_length(json_member(md, "annotations")) == 0)
		json_del(md, "annotations");
	return cfg;
}

/* The previous apply's configuration, or NULL when the object was not
 * made by apply (then nothing is removed, as kubectl does). */
static json_object *last_applied(json_object *stored)
{
	json_object *v = json_member(jpath_get(stored, "metadata.annotations"), K8S_ANN_LAST_APPLIED);
	json_object *last, *cfg;

	last = json_is(v, json_type_string) ? json_tokener_parse(json_object_get_string(v)) : NULL;
	if (!last)
		return NULL;
	cfg = applied_config(last);
	json_object_put(last);
	return cfg;
}

/* Merge want into dst at one level: members of want replace dst's
 * (objects merge member by member), members last had and want lacks go,
 * a null in want removes the member. */
static void merge_level(json_object *dst, json_object *last, json_object *want)
{
	if (json_is(last, json_type_object)) {
		json_object_object_foreach(last, lk, lv) {
			(void)lv;
			if (!json_object_object_get_ex(want, lk, NULL))
				json_del(dst, lk);
		}
	}
	json_object_object_foreach(want, key, wv) {
		json_object *dv = json_member(dst, key);

		if (!wv)
			json_del(dst, key);
		else if (json_is(wv, json_type_object) && json_is(dv, json_type_object))
			merge_level(dv, json_member(last, key), wv);
		else
			json_object_object_add(dst, key, deep_copy(wv));
	}
}

json_object *k8s_merge_apply(json_object *stored, json_object *manifest)
{
	json_object *want = applied_config(manifest), *last = last_applied(stored);
	json_object *merged = json_is(stored, json_type_object) ? deep_copy(stored)
							       : json_object_new_object();
	const char *text;

	merge_level(merged, last, want);
	text = json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN);
	json_object_object_add(jpath_obj(merged, "metadata.annotations"), K8S_ANN_LAST_APPLIED,
			       json_object_new_string(text));
	json_object_put(want);
	json_object_put(last);
	return merged;
}
