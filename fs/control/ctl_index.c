/*
 * fs/control/ctl_index.c — the controllers' lookups in one pass's object lists:
 * by namespace and name (ctl_find), and the volumes a new claim could bind
 * (ctl_claim_candidates). Each list gets a hash index of its own, kept as
 * the list's json-c userdata and extended as steps append to the list, so
 * a pass over thousands of claims and volumes stays linear.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/controller_int.h"
#include "meta/k8s.h"

struct list_index {
	json_object *by_key; /* "NS/NAME" -> the first object of that name */
	size_t indexed;      /* list items [0, indexed) are in by_key */
};

static void free_index(json_object *list, void *userdata)
{
	(void)list;
	struct list_index *x = userdata;
	json_object_put(x->by_key);
	free(x);
}

static void key_of(const char *ns, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ns ? ns : "", name);
}

/* The list's index, brought up to date with what was appended. */
static struct list_index *index_of(json_object *list)
{
	struct list_index *x = json_object_get_userdata(list);
	if (!x) {
		x = calloc(1, sizeof *x);
		if (!x)
			return NULL;
		x->by_key = json_object_new_object();
		json_object_set_userdata(list, x, free_index);
	}
	char key[600];
	/* Steps only append to a list: an index past its end would hold
	 * objects no longer in it. */
	assert(x->indexed <= json_object_array_length(list));
	for (size_t n = json_object_array_length(list); x->indexed < n; x->indexed++) {
		json_object *o = json_object_array_get_idx(list, x->indexed);
		const char *name = ctl_name_of(o);
		key_of(ctl_ns_of(o), name ? name : "", key, sizeof key);
		if (!json_object_object_get_ex(x->by_key, key, NULL))
			json_object_object_add(x->by_key, key, json_object_get(o));
	}
	return x;
}

static json_object *find_linear(json_object *list, const char *ns, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		const char *n = ctl_name_of(o);
		if (!ctl_is_gone(o) && n && !strcmp(n, name) && (!ns || !strcmp(ctl_ns_of(o), ns)))
			return o;
	}
	return NULL;
}

json_object *ctl_find(json_object *list, const char *ns, const char *name)
{
	if (!name || !json_object_is_type(list, json_type_array))
		return NULL;
	struct list_index *x = index_of(list);
	if (!x)
		return find_linear(list, ns, name);
	char key[600];
	json_object *o = NULL;
	key_of(ns, name, key, sizeof key);
	if (!json_object_object_get_ex(x->by_key, key, &o))
		return NULL;
	/* Steps never rename an object: the key it was indexed by is its own. */
	assert(!strcmp(ctl_name_of(o) ? ctl_name_of(o) : "", name));
	/* Removed this pass: another of that name may have been added. */
	return ctl_is_gone(o) ? find_linear(list, ns, name) : o;
}

json_object *ctl_claim_candidates(struct ctl *c, json_object *pvc)
{
	json_object *out = json_object_new_array();
	const char *name = ctl_name_of(pvc), *ns = ctl_ns_of(pvc);
	if (!c->free_pvs) {
		c->free_pvs = json_object_new_array();
		c->prebound = json_object_new_object();
		char key[600];
		for (size_t i = 0; i < json_object_array_length(c->pvs); i++) {
			json_object *pv = json_object_array_get_idx(c->pvs, i), *list;
			const char *claim = jpath_str(pv, "spec.claimRef.name");
			const char *cns = jpath_str(pv, "spec.claimRef.namespace");
			if (!jpath_get(pv, "spec.claimRef")) {
				json_object_array_add(c->free_pvs, json_object_get(pv));
				continue;
			}
			if (!claim)
				continue;
			key_of(cns && *cns ? cns : "default", claim, key, sizeof key);
			if (!json_object_object_get_ex(c->prebound, key, &list)) {
				list = json_object_new_array();
				json_object_object_add(c->prebound, key, list);
			}
			json_object_array_add(list, json_object_get(pv));
		}
	}
	char key[600];
	json_object *mine;
	key_of(ns, name ? name : "", key, sizeof key);
	if (json_object_object_get_ex(c->prebound, key, &mine))
		for (size_t i = 0; i < json_object_array_length(mine); i++)
			json_object_array_add(out, json_object_get(json_object_array_get_idx(mine, i)));
	for (size_t i = 0; i < json_object_array_length(c->free_pvs); i++)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(c->free_pvs, i)));
	return out;
}
