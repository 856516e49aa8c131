/*
 * meta/binding.c — pairing claims with persistent volumes the way the
 * Kubernetes PV controller does (see binding.h): the default class, the
 * class a claim asks for, the checks a volume must pass, and the choice
 * among candidates.
 *
 * When no volume fits, the reason says which volumes of the claim's class
 * were looked at and why each was turned down, because that is what a
 * user reading the claim's FailedBinding event needs to fix a manifest.
 */
#include "meta/binding.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "meta/k8s.h"
#include "meta/quantity.h"
#include "meta/selector.h"

/* The annotations older manifests use instead of the fields. */
#define ANN_BETA_CLASS "volume.beta.kubernetes.io/storage-class"
#define ANN_BETA_DEFAULT_SC "storageclass.beta.kubernetes.io/is-default-class"

/* How many turned-down volumes a reason names before "...". */
#define NOTES_MAX 5

/* What a volume lacks for a claim. */
enum misfit {
	FITS,
	MISFIT_DELETING,
	MISFIT_SIZE,
	MISFIT_CLASS,
	MISFIT_VOLUME_MODE,
	MISFIT_ACCESS,
	MISFIT_SELECTOR,
};

/* Which checks apply: class and selector are skipped for volumes the
 * user pre-bound, as Kubernetes does. */
enum {
	CHECK_CLASS = 1,
	CHECK_SELECTOR = 2,
};

static void say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static const char *name_of(json_object *o)
{
	return or_empty(jpath_str(o, "metadata.name"));
}

static const char *namespace_of(json_object *o)
{
	const char *ns = jpath_str(o, "metadata.namespace");

	return ns && *ns ? ns : "default";
}

/* An annotation's value when it is a string. */
static const char *annotation(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(jpath_get(o, "metadata.annotations"), key, &v);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int is_default_class(json_object *sc)
{
	return k8s_annotation_true(sc, K8S_ANN_DEFAULT_SC) ||
	       k8s_annotation_true(sc, ANN_BETA_DEFAULT_SC);
}

/* Kubernetes sorts default classes newest first, then by name. */
static int better_default(json_object *a, json_object *b)
{
	int newer = strcmp(or_empty(jpath_str(a, "metadata.creationTimestamp")),
			   or_empty(jpath_str(b, "metadata.creationTimestamp")));

	if (newer)
		return newer > 0;
	return strcmp(name_of(a), name_of(b)) < 0;
}

json_object *binding_default_class(json_object *classes)
{
	json_object *best = NULL;

	if (!classes || !json_object_is_type(classes, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(classes); i++) {
		json_object *sc = json_object_array_get_idx(classes, i);

		if (is_default_class(sc) && (!best || better_default(sc, best)))
			best = sc;
	}
	return best;
}

const char *binding_claim_class(json_object *pvc, json_object *classes)
{
	const char *cls = annotation(pvc, ANN_BETA_CLASS);
	json_object *def;

	if (!cls)
		cls = jpath_str(pvc, "spec.storageClassName");
	if (cls)
		return cls;
	def = binding_default_class(classes);
	return def ? name_of(def) : "";
}

static const char *volume_class(json_object *pv)
{
	const char *cls = annotation(pv, ANN_BETA_CLASS);

	return cls ? cls : or_empty(jpath_str(pv, "spec.storageClassName"));
}

int binding_pv_is_for_claim(json_object *pv, json_object *pvc)
{
	json_object *ref = jpath_get(pv, "spec.claimRef");
	const char *name = jpath_str(ref, "name"), *ns = jpath_str(ref, "namespace");
	const char *uid = jpath_str(ref, "uid"), *claim_uid = jpath_str(pvc, "metadata.uid");

	if (!ref || !name || strcmp(name, name_of(pvc)))
		return 0;
	if (strcmp(ns && *ns ? ns : "default", namespace_of(pvc)))
		return 0;
	return !uid || !*uid || (claim_uid && !strcmp(uid, claim_uid));
}

static int has_mode(json_object *modes, const char *mode)
{
	for (size_t i = 0; modes && i < json_object_array_length(modes); i++)
		if (!strcmp(or_empty(json_object_get_string(json_object_array_get_idx(modes, i))), mode))
			return 1;
	return 0;
}

/* The first access mode the claim asks for and the volume lacks, or NULL. */
static const char *missing_mode(json_object *pv, json_object *pvc)
{
	json_object *want = jpath_get(pvc, "spec.accessModes"), *have = jpath_get(pv, "spec.accessModes");

	if (!want || !json_object_is_type(want, json_type_array))
		return NULL;
	if (have && !json_object_is_type(have, json_type_array))
		have = NULL;
	for (size_t i = 0; i < json_object_array_length(want); i++) {
		const char *m = or_empty(json_object_get_string(json_object_array_get_idx(want, i)));

		if (!has_mode(have, m))
			return m;
	}
	return NULL;
}

static const char *volume_mode(json_object *o)
{
	const char *m = jpath_str(o, "spec.volumeMode");

	return m ? m : "Filesystem";
}

static enum misfit check_size(json_object *pv, json_object *pvc, char *why, size_t whylen)
{
	uint64_t have = jpath_bytes(pv, "spec.capacity.storage");
	uint64_t want = jpath_bytes(pvc, "spec.resources.requests.storage");
	char h[32], w[32];

	if (have >= want)
		return FITS;
	quantity_format(have, h, sizeof h);
	quantity_format(want, w, sizeof w);
	say(why, whylen, "requested PV is too small: capacity %s, request %s", h, w);
	return MISFIT_SIZE;
}

/* The checks of checkVolumeSatisfyClaim (deletion, size, class, volume
 * mode, access modes), then the selector. */
static enum misfit volume_fits(json_object *pv, json_object *pvc, const char *cls, int checks,
			       char *why, size_t whylen)
{
	const char *missing;

	if (jpath_get(pv, "metadata.deletionTimestamp")) {
		say(why, whylen, "volume \"%s\" is marked for deletion", name_of(pv));
		return MISFIT_DELETING;
	}
	if (check_size(pv, pvc, why, whylen) != FITS)
		return MISFIT_SIZE;
	if ((checks & CHECK_CLASS) && strcmp(volume_class(pv), or_empty(cls))) {
		say(why, whylen, "storageclass \"%s\" does not match the volume's \"%s\"",
		    or_empty(cls), volume_class(pv));
		return MISFIT_CLASS;
	}
	if (strcmp(volume_mode(pv), volume_mode(pvc))) {
		say(why, whylen, "incompatible volumeMode: the volume is %s, the claim asks for %s",
		    volume_mode(pv), volume_mode(pvc));
		return MISFIT_VOLUME_MODE;
	}
	if ((missing = missing_mode(pv, pvc)) != NULL) {
		say(why, whylen, "incompatible accessMode: the volume does not offer %s", missing);
		return MISFIT_ACCESS;
	}
	if ((checks & CHECK_SELECTOR) &&
	    !selector_matches(jpath_get(pvc, "spec.selector"), jpath_get(pv, "metadata.labels"))) {
		say(why, whylen, "the volume's labels do not match the claim's selector");
		return MISFIT_SELECTOR;
	}
	return FITS;
}

int binding_pv_satisfies(json_object *pv, json_object *pvc, const char *cls, char *why,
			 size_t whylen)
{
	return volume_fits(pv, pvc, cls, CHECK_CLASS | CHECK_SELECTOR, why, whylen) == FITS;
}

static json_object *volume_named(json_object *pvs, const char *name)
{
	for (size_t i = 0; pvs && i < json_object_array_length(pvs); i++) {
		json_object *pv = json_object_array_get_idx(pvs, i);

		if (!strcmp(name_of(pv), name))
			return pv;
	}
	return NULL;
}

/* spec.volumeName: that volume or none (syncUnboundClaim). A volume
 * already pre-bound to this claim binds without further checks, which is
 * also how a binding interrupted half-way is completed. */
static json_object *requested_volume(json_object *pvs, json_object *pvc, const char *volname,
				     const char *cls, char *why, size_t whylen)
{
	json_object *pv = volume_named(pvs, volname);
	char reason[256];

	if (!pv) {
		say(why, whylen, "volume \"%s\" requested and not found", volname);
		return NULL;
	}
	if (jpath_get(pv, "spec.claimRef")) {
		if (binding_pv_is_for_claim(pv, pvc))
			return pv;
		say(why, whylen, "volume \"%s\" already bound to a different claim", volname);
		return NULL;
	}
	if (volume_fits(pv, pvc, cls, CHECK_CLASS, reason, sizeof reason) != FITS) {
		say(why, whylen, "Cannot bind to requested volume \"%s\": %s", volname, reason);
		return NULL;
	}
	return pv;
}

/* The volumes turned down, for the reason. */
struct notes {
	char text[1024];
	size_t len;
	int count;
};

static void note(struct notes *n, json_object *pv, const char *reason)
{
	if (n->count++ >= NOTES_MAX) {
		if (n->count == NOTES_MAX + 1 && n->len < sizeof n->text)
			n->len += (size_t)snprintf(n->text + n->len, sizeof n->text - n->len, "; ...");
		return;
	}
	if (n->len < sizeof n->text)
		n->len += (size_t)snprintf(n->text + n->len, sizeof n->text - n->len, "%s%s: %s",
					   n->count > 1 ? "; " : "", name_of(pv), reason);
}

static void explain_no_match(const char *cls, struct notes *n, char *why, size_t whylen)
{
	char base[384];

	if (!cls || !*cls)
		snprintf(base, sizeof base,
			 "no persistent volumes available for this claim and no storage class is set");
	else
		snprintf(base, sizeof base,
			 "no persistent volumes of storage class \"%s\" available for this claim", cls);
	if (n->count)
		say(why, whylen, "%s (%s)", base, n->text);
	else
		say(why, whylen, "%s", base);
}

/* Why a volume of the claim's class is not free for it, for the notes;
 * NULL when it is free and Available. */
static const char *unavailable(json_object *pv, json_object *pvc, char *buf, size_t len)
{
	const char *phase = jpath_str(pv, "status.phase");

	if (jpath_get(pv, "spec.claimRef") && !binding_pv_is_for_claim(pv, pvc))
		return "already bound to a different claim";
	if (phase && !strcmp(phase, "Available"))
		return NULL;
	snprintf(buf, len, "phase %s, not Available", phase && *phase ? phase : "not set yet");
	return buf;
}

/* findMatchingVolume: a fitting volume pre-bound to the claim at once,
 * else the smallest Available free volume that satisfies the claim. */
static json_object *best_volume(json_object *pvs, json_object *pvc, const char *cls, char *why,
				size_t whylen)
{
	json_object *best = NULL;
	uint64_t best_bytes = 0;
	struct notes n = { .len = 0, .count = 0 };
	char reason[256];

	n.text[0] = '\0';
	for (size_t i = 0; pvs && i < json_object_array_length(pvs); i++) {
		json_object *pv = json_object_array_get_idx(pvs, i);
		const char *busy;
		uint64_t bytes;

		if (binding_pv_is_for_claim(pv, pvc)) {
			if (volume_fits(pv, pvc, cls, 0, reason, sizeof reason) == FITS)
				return pv;
			note(&n, pv, reason);
			continue;
		}
		if (strcmp(volume_class(pv), or_empty(cls)))
			continue;
		if ((busy = unavailable(pv, pvc, reason, sizeof reason)) != NULL) {
			note(&n, pv, busy);
			continue;
		}
		if (!binding_pv_satisfies(pv, pvc, cls, reason, sizeof reason)) {
			note(&n, pv, reason);
			continue;
		}
		bytes = jpath_bytes(pv, "spec.capacity.storage");
		if (!best || bytes < best_bytes) {
			best = pv;
			best_bytes = bytes;
		}
	}
	if (!best)
		explain_no_match(cls, &n, why, whylen);
	return best;
}

json_object *binding_find_volume(json_object *pvs, json_object *pvc, const char *cls, char *why,
				 size_t whylen)
{
	const char *volname = jpath_str(pvc, "spec.volumeName");

	if (why && whylen)
		why[0] = '\0';
	if (pvs && !json_object_is_type(pvs, json_type_array))
		pvs = NULL;
	if (volname && *volname)
		return requested_volume(pvs, pvc, volname, cls, why, whylen);
	return best_volume(pvs, pvc, cls, why, whylen);
}
