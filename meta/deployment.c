/*
 * meta/deployment.c — Deployments (see deployment.h). The pods share the
 * template's volumes, claims included: what volfs serves of a Deployment
 * is its pods' storage. Names follow Kubernetes' shape,
 * <deployment>-<pod-template-hash>-<5 characters>, with the characters
 * drawn from Kubernetes' alphabet; they are derived from the slot rather
 * than random, so a controller pass is repeatable.
 */
#include "meta/deployment.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "meta/jsonobj.h"
#include "meta/pod.h"

/* Kubernetes' rand.SafeEncodeString alphabet: no vowels, no 0/1/3. */
static const char ALPHABET[] = "bcdfghjklmnpqrstvwxz2456789";

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void encode(uint64_t h, size_t n, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < n && i + 1 < len; i++) {
		buf[i] = ALPHABET[h % (sizeof ALPHABET - 1)];
		h /= sizeof ALPHABET - 1;
	}
	buf[i] = '\0';
}

int deploy_replicas(json_object *d)
{
	json_object *r = jpath_get(d, "spec.replicas");
	return r ? json_object_get_int(r) : 1;
}

void deploy_template_hash(json_object *d, char *buf, size_t len)
{
	json_object *t = jpath_get(d, "spec.template");
	const char *text = t ? json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN) : "";
	encode(fnv1a(text, 14695981039346656037ull), 9, buf, len);
}

json_object *deploy_pod(json_object *d, unsigned slot)
{
	json_object *pod;
	char hash[16], suffix[8], seed[64], name[512];

	deploy_template_hash(d, hash, sizeof hash);
	snprintf(seed, sizeof seed, "%s/%u", hash, slot);
	encode(fnv1a(seed, fnv1a(jpath_str(d, "metadata.name"), 14695981039346656037ull)), 5, suffix, sizeof suffix);
	snprintf(name, sizeof name, "%s-%s-%s", jpath_str(d, "metadata.name"), hash, suffix);
	pod = pod_from_template(d, name);
	jpath_set_str(pod, "metadata.labels.pod-template-hash", hash);
	return pod;
}

int deploy_owns(json_object *d, json_object *pod, int *current)
{
	json_object *refs = jpath_get(pod, "metadata.ownerReferences");
	json_object *ref = refs && json_object_is_type(refs, json_type_array) ? json_object_array_get_idx(refs, 0) : NULL;
	const char *kind = ref ? jpath_str(ref, "kind") : NULL, *owner = ref ? jpath_str(ref, "name") : NULL;
	const char *have = jpath_str(pod, "metadata.labels.pod-template-hash");
	char hash[16];

	if (!kind || strcmp(kind, "Deployment") || !owner || strcmp(owner, jpath_str(d, "metadata.name")) ||
	    strcmp(jpath_str(pod, "metadata.namespace"), jpath_str(d, "metadata.namespace")))
		return 0;
	deploy_template_hash(d, hash, sizeof hash);
	*current = have && !strcmp(have, hash);
	return 1;
}

int deploy_validate(json_object *d, char *err, size_t errlen)
{
	if (pod_owner_check_spec(d, err, errlen) < 0)
		return -EINVAL;
	return pod_owner_check_template(deploy_pod(d, 0), err, errlen);
}

int deploy_check_update(json_object *stored, json_object *updated, char *err, size_t errlen)
{
	if (!json_object_equal(jpath_get(stored, "spec.selector"), jpath_get(updated, "spec.selector"))) {
		snprintf(err, errlen, "spec.selector: Invalid value: field is immutable");
		return -EINVAL;
	}
	return 0;
}
