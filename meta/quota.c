/*
 * meta/quota.c — ResourceQuota for claims (see quota.h): what the claims
 * of a namespace use of each storage resource a quota names, and the
 * admission check Kubernetes' quota plugin makes when a claim is created
 * or its request grows.
 *
 * Only increases are checked: a claim that shrinks, or a change that
 * leaves a resource as it was, is never refused even in a namespace that
 * is already over its quota (for instance after the quota was lowered).
 */
#include "meta/quota.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/k8s.h"
#include "meta/quantity.h"

#define CLASS_INFIX ".storageclass.storage.k8s.io/"
/* More exceeded resources than this in one quota are not listed. */
#define EXCESS_MAX 16

enum measure {
	UNTRACKED,
	STORAGE, /* bytes of spec.resources.requests.storage */
	COUNT,   /* claims */
};

/* What a resource name measures; *cls gets the class it is limited to
 * ("" for every class). */
static enum measure measure_of(const char *resource, char *cls, size_t clslen)
{
	const char *infix = strstr(resource, CLASS_INFIX);
	const char *what = resource;

	cls[0] = '\0';
	if (infix && infix > resource && (size_t)(infix - resource) < clslen) {
		memcpy(cls, resource, (size_t)(infix - resource));
		cls[infix - resource] = '\0';
		what = infix + strlen(CLASS_INFIX);
	} else if (infix) {
		return UNTRACKED;
	}
	if (!strcmp(what, "requests.storage"))
		return STORAGE;
	if (!strcmp(what, "persistentvolumeclaims"))
		return COUNT;
	if (!cls[0] && !strcmp(what, "count/persistentvolumeclaims"))
		return COUNT;
	return UNTRACKED;
}

/* How much of a resource one claim uses. */
static uint64_t claim_amount(json_object *pvc, enum measure m, const char *cls)
{
	const char *claim_cls = jpath_str(pvc, "spec.storageClassName");

	if (!pvc || m == UNTRACKED)
		return 0;
	if (cls[0] && (!claim_cls || strcmp(claim_cls, cls)))
		return 0;
	return m == COUNT ? 1 : jpath_bytes(pvc, "spec.resources.requests.storage");
}

static uint64_t add_capped(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int same_claim(json_object *a, json_object *b)
{
	const char *na = jpath_str(a, "metadata.namespace"), *nb = jpath_str(b, "metadata.namespace");
	const char *ma = jpath_str(a, "metadata.name"), *mb = jpath_str(b, "metadata.name");

	return ma && mb && !strcmp(ma, mb) && !strcmp(na ? na : "", nb ? nb : "");
}

/* What the claims use, leaving out the one like `except` (may be NULL). */
static uint64_t claims_use(json_object *claims, enum measure m, const char *cls,
			   json_object *except)
{
	uint64_t sum = 0;

	if (!claims || !json_object_is_type(claims, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(claims); i++) {
		json_object *pvc = json_object_array_get_idx(claims, i);

		if (!except || !same_claim(pvc, except))
			sum = add_capped(sum, claim_amount(pvc, m, cls));
	}
	return sum;
}

static void format_amount(enum measure m, uint64_t v, char *buf, size_t len)
{
	if (m == STORAGE)
		quantity_format(v, buf, len);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

json_object *quota_usage(json_object *quota, json_object *claims)
{
	json_object *used = json_object_new_object();
	json_object *hard = jpath_get(quota, "spec.hard");
	char cls[256], text[32];

	if (!hard || !json_object_is_type(hard, json_type_object))
		return used;
	json_object_object_foreach(hard, resource, limit) {
		enum measure m = measure_of(resource, cls, sizeof cls);

		(void)limit;
		format_amount(m, claims_use(claims, m, cls, NULL), text, sizeof text);
		json_object_object_add(used, resource, json_object_new_string(text));
	}
	return used;
}

/* One resource a change would take past a quota. */
struct excess {
	const char *resource;
	char requested[32];
	char used[32];
	char limited[64];
};

static int by_resource(const void *a, const void *b)
{
	return strcmp(((const struct excess *)a)->resource, ((const struct excess *)b)->resource);
}

/* Append "res=value,res=value" for one column of the excess list. */
static size_t list_column(char *buf, size_t len, const struct excess *x, size_t n, size_t column)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o < len; i++) {
		const char *v = column == 0 ? x[i].requested : column == 1 ? x[i].used : x[i].limited;

		o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", i ? "," : "", x[i].resource, v);
	}
	return o < len ? o : len;
}

static int refuse(json_object *quota, json_object *pvc, struct excess *x, size_t n, char *err,
		  size_t errlen)
{
	char cols[3][1024];

	qsort(x, n, sizeof *x, by_resource);
	for (size_t c = 0; c < 3; c++)
		list_column(cols[c], sizeof cols[c], x, n, c);
	if (err && errlen)
		snprintf(err, errlen,
			 "persistentvolumeclaims \"%s\" is forbidden: exceeded quota: %s, requested: %s, "
			 "used: %s, limited: %s",
			 jpath_str(pvc, "metadata.name") ? jpath_str(pvc, "metadata.name") : "",
			 jpath_str(quota, "metadata.name") ? jpath_str(quota, "metadata.name") : "",
			 cols[0], cols[1], cols[2]);
	return -EDQUOT;
}

/* What the namespace uses of a resource before the change: from the running
 * totals when there are some (they count the stored claims, old among
 * them), else summed over the claims. */
static uint64_t used_before(const char *resource, enum measure m, const char *cls,
			    json_object *claims, json_object *totals, json_object *old,
			    json_object *new)
{
	json_object *t;

	if (totals)
		return json_object_object_get_ex(totals, resource, &t) ? (uint64_t)json_object_get_uint64(t) : 0;
	return add_capped(claims_use(claims, m, cls, new), claim_amount(old, m, cls));
}

/* Would the change take this resource past its limit? Fills x if so. */
static int exceeds(const char *resource, json_object *limit, json_object *claims,
		   json_object *totals, json_object *old, json_object *new, struct excess *x)
{
	char cls[256], why[256];
	enum measure m = measure_of(resource, cls, sizeof cls);
	uint64_t before = claim_amount(old, m, cls), after = claim_amount(new, m, cls);
	uint64_t used, hard;

	if (m == UNTRACKED || after <= before)
		return 0;
	if (!limit || quantity_parse(json_object_get_string(limit), &hard, why, sizeof why) < 0)
		return 0;
	used = used_before(resource, m, cls, claims, totals, old, new);
	if (add_capped(used, after - before) <= hard)
		return 0;
	x->resource = resource;
	format_amount(m, after - before, x->requested, sizeof x->requested);
	format_amount(m, used, x->used, sizeof x->used);
	snprintf(x->limited, sizeof x->limited, "%s", json_object_get_string(limit));
	return 1;
}

static int admit_one(json_object *quota, json_object *claims, json_object *totals,
		     json_object *old, json_object *new, char *err, size_t errlen)
{
	json_object *hard = jpath_get(quota, "spec.hard");
	struct excess x[EXCESS_MAX];
	size_t n = 0;

	if (!hard || !json_object_is_type(hard, json_type_object))
		return 0;
	json_object_object_foreach(hard, resource, limit) {
		if (n < EXCESS_MAX && exceeds(resource, limit, claims, totals, old, new, &x[n]))
			n++;
	}
	return n ? refuse(quota, new, x, n, err, errlen) : 0;
}

static int admit_all(json_object *quotas, json_object *claims, json_object *totals,
		     json_object *old, json_object *new, char *err, size_t errlen)
{
	if (!quotas || !json_object_is_type(quotas, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(quotas); i++) {
		int r = admit_one(json_object_array_get_idx(quotas, i), claims, totals, old, new, err,
				  errlen);

		if (r < 0)
			return r;
	}
	return 0;
}

int quota_admit(json_object *quotas, json_object *claims, json_object *old, json_object *new,
		char *err, size_t errlen)
{
	return admit_all(quotas, claims, NULL, old, new, err, errlen);
}

/* Each resource any quota names, with f applied to it. */
static void each_resource(json_object *quotas, void (*f)(const char *resource, void *arg),
			  void *arg)
{
	for (size_t i = 0; quotas && json_object_is_type(quotas, json_type_array) &&
			   i < json_object_array_length(quotas); i++) {
		json_object *hard = jpath_get(json_object_array_get_idx(quotas, i), "spec.hard");

		if (hard && json_object_is_type(hard, json_type_object)) {
			json_object_object_foreach(hard, resource, limit) {
				(void)limit;
				f(resource, arg);
			}
		}
	}
}

struct summing {
	json_object *totals, *claims;
};

static void sum_resource(const char *resource, void *arg)
{
	struct summing *s = arg;
	char cls[256];
	enum measure m = measure_of(resource, cls, sizeof cls);

	if (m != UNTRACKED && !json_object_object_get_ex(s->totals, resource, NULL))
		json_object_object_add(s->totals, resource,
				       json_object_new_uint64(claims_use(s->claims, m, cls, NULL)));
}

json_object *quota_totals(json_object *quotas, json_object *claims)
{
	struct summing s = {json_object_new_object(), claims};

	each_resource(quotas, sum_resource, &s);
	return s.totals;
}

int quota_admit_totals(json_object *quotas, json_object *totals, json_object *old,
		       json_object *new, char *err, size_t errlen)
{
	assert(totals);
	return admit_all(quotas, NULL, totals, old, new, err, errlen);
}

void quota_totals_update(json_object *totals, json_object *old, json_object *new)
{
	char cls[256];

	json_object_object_foreach(totals, resource, t) {
		enum measure m = measure_of(resource, cls, sizeof cls);
		uint64_t was = json_object_get_uint64(t);
		uint64_t less = claim_amount(old, m, cls), more = claim_amount(new, m, cls);

		was = was > less ? was - less : 0;
		json_object_object_add(totals, resource, json_object_new_uint64(add_capped(was, more)));
	}
}
