/*
 * meta/statefulset.c — StatefulSets as storage sees them: replicas
 * <sts>-<ordinal> that each get their own claims from volumeClaimTemplates,
 * named <template>-<sts>-<ordinal>, which outlive scale-down and are used
 * again on scale-up (Kubernetes' default Retain retention). Pure functions
 * on json-c objects: the controller decides when to call them.
 */
#include "meta/statefulset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "meta/jsonobj.h"
#include "meta/pod.h"

static json_object *copy(json_object *o)
{
	json_object *c = NULL;
	json_object_deep_copy(o, &c, NULL);
	return c;
}

static json_object *templates_of(json_object *sts)
{
	json_object *t = jpath_get(sts, "spec.volumeClaimTemplates");
	return t && json_object_is_type(t, json_type_array) ? t : NULL;
}

void sts_claim_name(json_object *sts, size_t t, int ordinal, char *buf, size_t len)
{
	json_object *tmpl = json_object_array_get_idx(templates_of(sts), t);
	snprintf(buf, len, "%s-%s-%d", jpath_str(tmpl, "metadata.name"), jpath_str(sts, "metadata.name"),
	         ordinal);
}

size_t sts_templates(json_object *sts)
{
	json_object *t = templates_of(sts);
	return t ? json_object_array_length(t) : 0;
}

int sts_replicas(json_object *sts)
{
	json_object *r = jpath_get(sts, "spec.replicas");
	return r ? json_object_get_int(r) : 1;
}

json_object *sts_claim(json_object *sts, size_t t, int ordinal)
{
	json_object *tmpl = json_object_array_get_idx(templates_of(sts), t);
	json_object *pvc = json_object_new_object();
	char name[512];
	sts_claim_name(sts, t, ordinal, name, sizeof name);
	jpath_set_str(pvc, "apiVersion", "v1");
	jpath_set_str(pvc, "kind", "PersistentVolumeClaim");
	if (jpath_get(tmpl, "metadata.labels"))
		jpath_set(pvc, "metadata.labels", copy(jpath_get(tmpl, "metadata.labels")));
	jpath_set_str(pvc, "metadata.name", name);
	jpath_set_str(pvc, "metadata.namespace", jpath_str(sts, "metadata.namespace"));
	jpath_set(pvc, "spec", copy(jpath_get(tmpl, "spec")));
	return pvc;
}

/* The pod template's volumes plus one claim volume per template, named
 * after the template, as the StatefulSet controller adds them. */
json_object *sts_pod(json_object *sts, int ordinal)
{
	char name[512];
	snprintf(name, sizeof name, "%s-%d", jpath_str(sts, "metadata.name"), ordinal);
	json_object *pod = pod_from_template(sts, name), *spec = jpath_get(pod, "spec");
	json_object *vols = jpath_get(spec, "volumes");
	if (!vols && json_object_is_type(spec, json_type_object)) {
		vols = json_object_new_array();
		json_object_object_add(spec, "volumes", vols);
	}
	/* A template whose spec or volumes have the wrong type gets no claim
	 * volumes: validating the pod reports the type. */
	for (size_t t = 0; json_object_is_type(vols, json_type_array) && t < sts_templates(sts); t++) {
		json_object *vol = json_object_new_object();
		char claim[512];
		sts_claim_name(sts, t, ordinal, claim, sizeof claim);
		jpath_set_str(vol, "name", jpath_str(json_object_array_get_idx(templates_of(sts), t), "metadata.name"));
		jpath_set_str(vol, "persistentVolumeClaim.claimName", claim);
		json_object_array_add(vols, vol);
	}
	return pod;
}

int sts_owns(json_object *sts, json_object *pod, int *ordinal)
{
	json_object *refs = jpath_get(pod, "metadata.ownerReferences");
	json_object *ref = refs && json_object_is_type(refs, json_type_array) ? json_object_array_get_idx(refs, 0) : NULL;
	const char *kind = ref ? jpath_str(ref, "kind") : NULL, *owner = ref ? jpath_str(ref, "name") : NULL;
	const char *sts_name = jpath_str(sts, "metadata.name"), *name = jpath_str(pod, "metadata.name");
	if (!kind || strcmp(kind, "StatefulSet") || !owner || strcmp(owner, sts_name) ||
	    strcmp(jpath_str(pod, "metadata.namespace"), jpath_str(sts, "metadata.namespace")))
		return 0;
	size_t n = strlen(sts_name);
	if (strncmp(name, sts_name, n) || name[n] != '-' || sscanf(name + n + 1, "%d", ordinal) != 1)
		return 0;
	return 1;
}

int sts_validate(json_object *sts, sts_claim_check *check_claim, char *err, size_t errlen)
{
	if (pod_owner_check_spec(sts, err, errlen) < 0)
		return -EINVAL;
	if (!jpath_get(sts, "spec.template.spec")) {
		snprintf(err, errlen, "spec.template.spec: Required value");
		return -EINVAL;
	}
	if (!json_object_is_type(jpath_get(sts, "spec.template.spec"), json_type_object)) {
		snprintf(err, errlen, "spec.template.spec: Invalid value: must be an object");
		return -EINVAL;
	}
	json_object *t = jpath_get(sts, "spec.volumeClaimTemplates");
	if (t && !json_object_is_type(t, json_type_array)) {
		snprintf(err, errlen, "spec.volumeClaimTemplates: Invalid value: must be a list");
		return -EINVAL;
	}
	char why[512];
	for (size_t i = 0; i < sts_templates(sts); i++) {
		json_object *pvc = sts_claim(sts, i, 0);
		int rc = jpath_str(json_object_array_get_idx(t, i), "metadata.name")
		         ? check_claim(pvc, jpath_str(sts, "metadata.namespace"), why, sizeof why)
		         : (snprintf(why, sizeof why, "metadata.name: Required value"), -EINVAL);
		json_object_put(pvc);
		if (rc < 0) {
			snprintf(err, errlen, "spec.volumeClaimTemplates[%zu]: %s", i, why);
			return -EINVAL;
		}
	}
	return pod_owner_check_template(sts_pod(sts, 0), err, errlen);
}

int sts_check_update(json_object *stored, json_object *updated, char *err, size_t errlen)
{
	if (!json_object_equal(jpath_get(stored, "spec.volumeClaimTemplates"),
	                       jpath_get(updated, "spec.volumeClaimTemplates")) ||
	    !json_object_equal(jpath_get(stored, "spec.selector"), jpath_get(updated, "spec.selector"))) {
		snprintf(err, errlen, "spec: Forbidden: updates to statefulset spec for fields other than "
		         "'replicas', 'ordinals', 'template', 'updateStrategy', "
		         "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
		return -EINVAL;
	}
	return 0;
}
