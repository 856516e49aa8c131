/*
 * tests/unit/test_binding.c — claim/volume binding (meta/binding.c)
 * against the Kubernetes PV controller's rules: the default class,
 * omitted versus empty storageClassName, the smallest fit, capacity,
 * access modes, selectors, pre-binding through claimRef and volumeName,
 * Released volumes and their re-use, volumes being deleted, and the
 * reasons given when nothing fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "meta/binding.h"
#include "meta/k8s.h"

static const char RWO[] = "['ReadWriteOnce']";

/* An Available volume; cls NULL: no storageClassName. */
static json_object *volume(const char *name, const char *capacity, const char *cls,
			   const char *modes)
{
	json_object *pv = J("{'apiVersion':'v1','kind':'PersistentVolume','spec':{'volumeMode':"
			    "'Filesystem','persistentVolumeReclaimPolicy':'Retain'},"
			    "'status':{'phase':'Available'}}");

	jpath_set_str(pv, "metadata.name", name);
	jpath_set_str(pv, "spec.capacity.storage", capacity);
	jpath_set(pv, "spec.accessModes", J(modes));
	if (cls)
		jpath_set_str(pv, "spec.storageClassName", cls);
	return pv;
}

/* A claim in "default" with uid "uid-<name>"; cls NULL: omitted. */
static json_object *claim(const char *name, const char *request, const char *cls,
			  const char *modes)
{
	json_object *pvc = J("{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':"
			     "{'namespace':'default'},'spec':{'volumeMode':'Filesystem'},"
			     "'status':{'phase':'Pending'}}");
	char uid[64];

	snprintf(uid, sizeof uid, "uid-%s", name);
	jpath_set_str(pvc, "metadata.name", name);
	jpath_set_str(pvc, "metadata.uid", uid);
	jpath_set_str(pvc, "spec.resources.requests.storage", request);
	jpath_set(pvc, "spec.accessModes", J(modes));
	if (cls)
		jpath_set_str(pvc, "spec.storageClassName", cls);
	return pvc;
}

static json_object *item(json_object *a, size_t i)
{
	return json_object_array_get_idx(a, i);
}

/* binding_find_volume's pick by name, or "" when none. */
static const char *pick(json_object *pvs, json_object *pvc, const char *cls, char *why, size_t len)
{
	json_object *pv = binding_find_volume(pvs, pvc, cls, why, len);

	return pv ? jpath_str(pv, "metadata.name") : "";
}

static void bind_ref(json_object *pv, const char *ns, const char *name, const char *uid)
{
	jpath_set_str(pv, "spec.claimRef.kind", "PersistentVolumeClaim");
	jpath_set_str(pv, "spec.claimRef.namespace", ns);
	jpath_set_str(pv, "spec.claimRef.name", name);
	if (uid)
		jpath_set_str(pv, "spec.claimRef.uid", uid);
}

/* --- classes --- */

static json_object *storage_class(const char *name, const char *created, const char *is_default)
{
	json_object *sc = J("{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass',"
			    "'provisioner':'volfs.io/local'}");

	jpath_set_str(sc, "metadata.name", name);
	jpath_set_str(sc, "metadata.creationTimestamp", created);
	if (is_default)
		json_object_object_add(jpath_obj(sc, "metadata.annotations"), K8S_ANN_DEFAULT_SC,
				       json_object_new_string(is_default));
	return sc;
}

static void test_default_class(void **state)
{
	json_object *none = unit_json_list(storage_class("a", "2024-01-01T00:00:00Z", NULL),
				 storage_class("b", "2024-01-02T00:00:00Z", "false"), NULL);
	json_object *one = unit_json_list(storage_class("a", "2024-01-01T00:00:00Z", NULL),
				storage_class("volfs", "2024-01-01T00:00:00Z", "true"), NULL);
	json_object *newest = unit_json_list(storage_class("old", "2024-01-01T00:00:00Z", "true"),
				   storage_class("new", "2024-03-01T00:00:00Z", "true"),
				   storage_class("mid", "2024-02-01T00:00:00Z", "true"), NULL);
	json_object *tie = unit_json_list(storage_class("zeta", "2024-01-01T00:00:00Z", "true"),
				storage_class("alpha", "2024-01-01T00:00:00Z", "true"), NULL);
	json_object *beta = unit_json_list(storage_class("legacy", "2024-01-01T00:00:00Z", NULL), NULL);

	(void)state;
	json_object_object_add(jpath_obj(item(beta, 0), "metadata.annotations"),
			       "storageclass.beta.kubernetes.io/is-default-class",
			       json_object_new_string("true"));
	assert_null(binding_default_class(none));
	assert_null(binding_default_class(NULL));
	assert_ptr_equal(binding_default_class(one), item(one, 1));
	assert_string_equal(jpath_str(binding_default_class(newest), "metadata.name"), "new");
	assert_string_equal(jpath_str(binding_default_class(tie), "metadata.name"), "alpha");
	assert_ptr_equal(binding_default_class(beta), item(beta, 0));
	json_object_put(none);
	json_object_put(one);
	json_object_put(newest);
	json_object_put(tie);
	json_object_put(beta);
}

static void test_claim_class(void **state)
{
	json_object *classes = unit_json_list(storage_class("volfs", "2024-01-01T00:00:00Z", "true"),
				    storage_class("fast", "2024-01-01T00:00:00Z", NULL), NULL);
	json_object *plain = unit_json_list(storage_class("fast", "2024-01-01T00:00:00Z", NULL), NULL);
	json_object *omitted = claim("a", "1Gi", NULL, RWO), *empty = claim("b", "1Gi", "", RWO);
	json_object *fast = claim("c", "1Gi", "fast", RWO);

	(void)state;
	assert_string_equal(binding_claim_class(omitted, classes), "volfs");
	assert_string_equal(binding_claim_class(omitted, plain), "");
	assert_string_equal(binding_claim_class(omitted, NULL), "");
	assert_string_equal(binding_claim_class(empty, classes), "");
	assert_string_equal(binding_claim_class(fast, classes), "fast");
	/* the beta annotation older manifests use wins over the field */
	json_object_object_add(jpath_obj(fast, "metadata.annotations"),
			       "volume.beta.kubernetes.io/storage-class", json_object_new_string("old"));
	assert_string_equal(binding_claim_class(fast, classes), "old");
	json_object_put(classes);
	json_object_put(plain);
	json_object_put(omitted);
	json_object_put(empty);
	json_object_put(fast);
}

/* --- claimRef --- */

static void test_pv_is_for_claim(void **state)
{
	json_object *pvc = claim("data", "1Gi", "", RWO), *pv = volume("pv1", "1Gi", NULL, RWO);

	(void)state;
	assert_false(binding_pv_is_for_claim(pv, pvc));
	bind_ref(pv, "default", "data", NULL);
	assert_true(binding_pv_is_for_claim(pv, pvc));
	bind_ref(pv, "default", "data", "uid-data");
	assert_true(binding_pv_is_for_claim(pv, pvc));
	bind_ref(pv, "default", "data", "uid-of-an-earlier-data");
	assert_false(binding_pv_is_for_claim(pv, pvc));
	bind_ref(pv, "default", "data", "");
	assert_true(binding_pv_is_for_claim(pv, pvc));
	bind_ref(pv, "team", "data", "");
	assert_false(binding_pv_is_for_claim(pv, pvc));
	bind_ref(pv, "default", "other", "");
	assert_false(binding_pv_is_for_claim(pv, pvc));
	/* a claimRef without namespace means "default" */
	json_object_object_del(jpath_get(pv, "spec.claimRef"), "namespace");
	jpath_set_str(pv, "spec.claimRef.name", "data");
	assert_true(binding_pv_is_for_claim(pv, pvc));
	/* a claim not stored yet has no uid */
	jpath_set_str(pv, "spec.claimRef.uid", "uid-data");
	json_object_object_del(jpath_get(pvc, "metadata"), "uid");
	assert_false(binding_pv_is_for_claim(pv, pvc));
	json_object_put(pv);
	json_object_put(pvc);
}

/* --- choosing --- */

static void test_smallest_fit_wins(void **state)
{
	json_object *pvs = unit_json_list(volume("pv-20g", "20Gi", "manual", RWO),
				volume("pv-5g", "5Gi", "manual", RWO),
				volume("pv-10g", "10Gi", "manual", RWO),
				volume("pv-15g", "15Gi", "manual", RWO),
				volume("pv-10g-b", "10Gi", "manual", RWO), NULL);
	json_object *pvc = claim("c", "7Gi", "manual", RWO), *small = claim("s", "3Gi", "manual", RWO);
	char why[512];

	(void)state;
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "pv-10g"); /* tie: first */
	assert_string_equal(pick(pvs, small, "manual", why, sizeof why), "pv-5g");
	/* 10240Mi is the same size as 10Gi: byte comparison, not text */
	jpath_set_str(item(pvs, 4), "spec.capacity.storage", "10239Mi");
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "pv-10g-b");
	json_object_put(pvs);
	json_object_put(pvc);
	json_object_put(small);
}

static void test_big_volume_serves_small_claim(void **state)
{
	json_object *pvs = unit_json_list(volume("pv-10g", "10Gi", "", RWO), NULL);
	json_object *pvc = claim("half", "5Gi", "", RWO);
	char why[512] = "";

	(void)state;
	assert_true(binding_pv_satisfies(item(pvs, 0), pvc, "", why, sizeof why));
	assert_ptr_equal(binding_find_volume(pvs, pvc, "", why, sizeof why), item(pvs, 0));
	assert_string_equal(why, "");
	json_object_put(pvs);
	json_object_put(pvc);
}

static void test_capacity_in_bytes(void **state)
{
	json_object *pvs = unit_json_list(volume("pv-g", "1G", "", RWO), volume("pv-int", "1073741824", "", RWO),
				NULL);
	json_object *pvc = claim("c", "1Gi", "", RWO);
	char why[512];

	(void)state;
	/* 1G (10^9) is less than 1Gi (2^30); the integer form is exactly 1Gi */
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "pv-int");
	jpath_set(item(pvs, 1), "spec.capacity.storage", json_object_new_int64(1073741823));
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	json_object_put(pvs);
	json_object_put(pvc);
}

static void test_omitted_versus_empty_class(void **state)
{
	json_object *classes = unit_json_list(storage_class("volfs", "2024-01-01T00:00:00Z", "true"), NULL);
	json_object *pvs = unit_json_list(volume("loose", "1Gi", NULL, RWO), volume("classy", "1Gi", "volfs", RWO),
				volume("empty-string", "2Gi", "", RWO), NULL);
	json_object *omitted = claim("omitted", "1Gi", NULL, RWO), *empty = claim("empty", "1Gi", "", RWO);
	char why[512];

	(void)state;
	/* omitted: the default class, so only volumes of that class */
	assert_string_equal(pick(pvs, omitted, binding_claim_class(omitted, classes), why, sizeof why),
			    "classy");
	/* "": class-less volumes only (no storageClassName and "" are the same) */
	assert_string_equal(pick(pvs, empty, binding_claim_class(empty, classes), why, sizeof why),
			    "loose");
	/* omitted with no default class: class-less volumes */
	assert_string_equal(pick(pvs, omitted, binding_claim_class(omitted, NULL), why, sizeof why),
			    "loose");
	json_object_put(classes);
	json_object_put(pvs);
	json_object_put(omitted);
	json_object_put(empty);
}

static void test_selector_limits_candidates(void **state)
{
	json_object *pvs = unit_json_list(volume("silver-5g", "5Gi", "manual", RWO),
				volume("gold-20g", "20Gi", "manual", RWO),
				volume("gold-10g-legacy", "10Gi", "manual", RWO),
				volume("gold-15g", "15Gi", "manual", RWO), NULL);
	json_object *pvc = claim("c", "4Gi", "manual", RWO);
	char why[512];

	(void)state;
	jpath_set(item(pvs, 0), "metadata.labels", J("{'tier':'silver'}"));
	jpath_set(item(pvs, 1), "metadata.labels", J("{'tier':'gold','zone':'a'}"));
	jpath_set(item(pvs, 2), "metadata.labels", J("{'tier':'gold','zone':'a','legacy':'yes'}"));
	jpath_set(item(pvs, 3), "metadata.labels", J("{'tier':'gold','zone':'b'}"));
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "silver-5g");
	jpath_set(pvc, "spec.selector", J("{'matchLabels':{'tier':'gold'},'matchExpressions':["
					  "{'key':'zone','operator':'In','values':['a','b']},"
					  "{'key':'legacy','operator':'DoesNotExist'}]}"));
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "gold-15g");
	jpath_set(pvc, "spec.selector", J("{'matchExpressions':[{'key':'tier','operator':'NotIn',"
					  "'values':['gold']}]}"));
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "silver-5g");
	jpath_set(pvc, "spec.selector", J("{'matchExpressions':[{'key':'legacy','operator':'Exists'}]}"));
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "gold-10g-legacy");
	jpath_set(pvc, "spec.selector", J("{'matchLabels':{'tier':'platinum'}}"));
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "");
	assert_non_null(strstr(why, "the volume's labels do not match the claim's selector"));
	json_object_put(pvs);
	json_object_put(pvc);
}

static void test_access_modes_superset(void **state)
{
	json_object *pvs = unit_json_list(volume("rwo", "1Gi", "", RWO),
				volume("rwo-rox", "2Gi", "", "['ReadWriteOnce','ReadOnlyMany']"),
				volume("rwx", "3Gi", "", "['ReadWriteMany']"), NULL);
	json_object *rwo = claim("a", "1Gi", "", RWO), *rox = claim("b", "1Gi", "", "['ReadOnlyMany']");
	json_object *both = claim("c", "1Gi", "", "['ReadOnlyMany','ReadWriteOnce']");
	json_object *rwx = claim("d", "1Gi", "", "['ReadWriteMany']");
	json_object *pod = claim("e", "1Gi", "", "['ReadWriteOncePod']");
	char why[512];

	(void)state;
	assert_string_equal(pick(pvs, rwo, "", why, sizeof why), "rwo");
	assert_string_equal(pick(pvs, rox, "", why, sizeof why), "rwo-rox");
	assert_string_equal(pick(pvs, both, "", why, sizeof why), "rwo-rox");
	assert_string_equal(pick(pvs, rwx, "", why, sizeof why), "rwx");
	assert_string_equal(pick(pvs, pod, "", why, sizeof why), "");
	assert_false(binding_pv_satisfies(item(pvs, 0), rwx, "", why, sizeof why));
	assert_string_equal(why, "incompatible accessMode: the volume does not offer ReadWriteMany");
	json_object_put(pvs);
	json_object_put(rwo);
	json_object_put(rox);
	json_object_put(both);
	json_object_put(rwx);
	json_object_put(pod);
}

/* --- pre-binding --- */

static void test_prebound_by_claim_ref(void **state)
{
	json_object *pvs = unit_json_list(volume("free-2g", "2Gi", "manual", RWO),
				volume("reserved-50g", "50Gi", "other", RWO), NULL);
	json_object *pvc = claim("data", "1Gi", "manual", RWO), *stranger = claim("x", "1Gi", "manual", RWO);
	char why[512];

	(void)state;
	/* without uid: for whichever claim of that name comes; class and
	 * selector are not checked, and it wins over a smaller free volume */
	bind_ref(item(pvs, 1), "default", "data", NULL);
	jpath_set(pvc, "spec.selector", J("{'matchLabels':{'tier':'gold'}}"));
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "reserved-50g");
	/* other claims never get it */
	assert_string_equal(pick(pvs, stranger, "manual", why, sizeof why), "free-2g");
	/* with the claim's uid */
	jpath_set_str(item(pvs, 1), "spec.claimRef.uid", "uid-data");
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "reserved-50g");
	/* with another uid: an earlier claim of that name; not this one's */
	jpath_set_str(item(pvs, 1), "spec.claimRef.uid", "uid-gone");
	json_object_object_del(jpath_get(pvc, "spec"), "selector");
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "free-2g");
	json_object_put(pvs);
	json_object_put(pvc);
	json_object_put(stranger);
}

static void test_prebound_must_still_fit(void **state)
{
	json_object *pvs = unit_json_list(volume("free-8g", "8Gi", "", RWO), volume("reserved-1g", "1Gi", "", RWO),
				volume("reserved-rox", "9Gi", "", "['ReadOnlyMany']"), NULL);
	json_object *pvc = claim("data", "4Gi", "", RWO);
	char why[512];

	(void)state;
	bind_ref(item(pvs, 1), "default", "data", NULL);
	bind_ref(item(pvs, 2), "default", "data", NULL);
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "free-8g");
	json_object_object_del(json_object_array_get_idx(pvs, 0), "status");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	assert_non_null(strstr(why, "reserved-1g: requested PV is too small: capacity 1Gi, request 4Gi"));
	assert_non_null(strstr(why, "reserved-rox: incompatible accessMode"));
	json_object_put(pvs);
	json_object_put(pvc);
}

static void test_volume_name(void **state)
{
	json_object *pvs = unit_json_list(volume("small", "1Gi", "", RWO), volume("wanted", "10Gi", "", RWO),
				volume("taken", "10Gi", "", RWO), volume("other-class", "10Gi", "gold", RWO),
				volume("mine", "1Mi", "gold", "['ReadOnlyMany']"), NULL);
	json_object *pvc = claim("data", "5Gi", "", RWO);
	char why[512];

	(void)state;
	bind_ref(item(pvs, 2), "default", "someone-else", "uid-someone-else");
	jpath_set_str(pvc, "spec.volumeName", "wanted");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "wanted");
	/* only that volume is considered, even if a smaller one fits */
	jpath_set_str(item(pvs, 0), "spec.capacity.storage", "5Gi");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "wanted");
	/* the selector does not apply to a named volume, as in Kubernetes */
	jpath_set(pvc, "spec.selector", J("{'matchLabels':{'tier':'gold'}}"));
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "wanted");

	jpath_set_str(pvc, "spec.volumeName", "taken");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	assert_string_equal(why, "volume \"taken\" already bound to a different claim");

	jpath_set_str(pvc, "spec.volumeName", "nowhere");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	assert_string_equal(why, "volume \"nowhere\" requested and not found");

	jpath_set_str(pvc, "spec.resources.requests.storage", "20Gi");
	jpath_set_str(pvc, "spec.volumeName", "wanted");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	assert_string_equal(why, "Cannot bind to requested volume \"wanted\": requested PV is too small: "
			    "capacity 10Gi, request 20Gi");

	jpath_set_str(pvc, "spec.resources.requests.storage", "1Gi");
	jpath_set_str(pvc, "spec.volumeName", "other-class");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	assert_string_equal(why, "Cannot bind to requested volume \"other-class\": storageclass \"\" does "
			    "not match the volume's \"gold\"");

	/* pre-bound both ways: the binding completes without further checks */
	bind_ref(item(pvs, 4), "default", "data", "uid-data");
	jpath_set_str(pvc, "spec.volumeName", "mine");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "mine");
	json_object_put(pvs);
	json_object_put(pvc);
}

/* --- phases and deletion --- */

static void test_released_then_reused(void **state)
{
	json_object *pvs = unit_json_list(volume("kept", "32Mi", "", RWO), NULL);
	json_object *old = claim("keeper", "16Mi", "", RWO), *next = claim("keeper", "16Mi", "", RWO);
	json_object *pv = item(pvs, 0);
	char why[512];

	(void)state;
	jpath_set_str(next, "metadata.uid", "uid-keeper-2");
	/* bound to the first claim, which is then deleted: Released (Retain) */
	bind_ref(pv, "default", "keeper", "uid-keeper");
	jpath_set_str(pv, "status.phase", "Released");
	assert_string_equal(pick(pvs, next, "", why, sizeof why), "");
	assert_string_equal(why, "no persistent volumes available for this claim and no storage class "
			    "is set (kept: already bound to a different claim)");
	/* a Released volume whose claimRef is gone but not yet Available */
	json_object_object_del(jpath_get(pv, "spec"), "claimRef");
	assert_string_equal(pick(pvs, next, "", why, sizeof why), "");
	assert_non_null(strstr(why, "kept: phase Released, not Available"));
	/* the operator cleared claimRef and the controller made it Available */
	jpath_set_str(pv, "status.phase", "Available");
	assert_string_equal(pick(pvs, next, "", why, sizeof why), "kept");
	json_object_put(pvs);
	json_object_put(old);
	json_object_put(next);
}

static void test_unavailable_volumes(void **state)
{
	json_object *pvs = unit_json_list(volume("deleting", "1Gi", "", RWO), volume("pending", "2Gi", "", RWO),
				volume("failed", "3Gi", "", RWO), volume("ok", "9Gi", "", RWO), NULL);
	json_object *pvc = claim("c", "1Gi", "", RWO);
	char why[512];

	(void)state;
	jpath_set_str(item(pvs, 0), "metadata.deletionTimestamp", "2024-01-01T00:00:00Z");
	jpath_set_str(item(pvs, 1), "status.phase", "Pending");
	jpath_set_str(item(pvs, 2), "status.phase", "Failed");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "ok");
	jpath_set_str(item(pvs, 3), "metadata.deletionTimestamp", "2024-01-01T00:00:00Z");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	assert_non_null(strstr(why, "(deleting: volume \"deleting\" is marked for deletion; pending: "
				    "phase Pending, not Available; failed: phase Failed, not Available; ok: "));
	json_object_object_del(jpath_get(item(pvs, 3), "metadata"), "deletionTimestamp");
	assert_false(binding_pv_satisfies(item(pvs, 0), pvc, "", why, sizeof why));
	assert_string_equal(why, "volume \"deleting\" is marked for deletion");
	/* deleting: never, not even pre-bound or named */
	bind_ref(item(pvs, 0), "default", "c", NULL);
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "ok");
	jpath_set_str(pvc, "spec.volumeName", "deleting");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "deleting"); /* completes a binding */
	json_object_object_del(jpath_get(item(pvs, 0), "spec"), "claimRef");
	assert_string_equal(pick(pvs, pvc, "", why, sizeof why), "");
	assert_string_equal(why, "Cannot bind to requested volume \"deleting\": volume \"deleting\" is "
			    "marked for deletion");
	json_object_put(pvs);
	json_object_put(pvc);
}

/* --- reasons --- */

static void test_reasons(void **state)
{
	json_object *pv = volume("pv1", "5Gi", "manual", RWO);
	json_object *pvc = claim("c", "10Gi", "fast", RWO);
	char why[512];

	(void)state;
	assert_false(binding_pv_satisfies(pv, pvc, "fast", why, sizeof why));
	assert_string_equal(why, "requested PV is too small: capacity 5Gi, request 10Gi");
	jpath_set_str(pvc, "spec.resources.requests.storage", "1Gi");
	assert_false(binding_pv_satisfies(pv, pvc, "fast", why, sizeof why));
	assert_string_equal(why, "storageclass \"fast\" does not match the volume's \"manual\"");
	assert_true(binding_pv_satisfies(pv, pvc, "manual", why, sizeof why));
	jpath_set_str(pvc, "spec.volumeMode", "Block");
	assert_false(binding_pv_satisfies(pv, pvc, "manual", why, sizeof why));
	assert_string_equal(why, "incompatible volumeMode: the volume is Filesystem, the claim asks for Block");
	assert_false(binding_pv_satisfies(pv, pvc, "manual", NULL, 0));
	json_object_put(pv);
	json_object_put(pvc);
}

static void test_no_match_messages(void **state)
{
	json_object *pvs = unit_json_list(volume("a", "1Gi", "manual", RWO), volume("b", "2Gi", "manual", RWO),
				volume("c", "3Gi", "manual", RWO), volume("d", "4Gi", "manual", RWO),
				volume("e", "5Gi", "manual", RWO), volume("f", "6Gi", "manual", RWO),
				volume("other", "1Ti", "gold", RWO), NULL);
	json_object *pvc = claim("big", "100Gi", "manual", RWO);
	json_object *none = json_object_new_array();
	char why[2048], tiny[16];

	(void)state;
	assert_string_equal(pick(none, pvc, "", why, sizeof why), "");
	assert_string_equal(why, "no persistent volumes available for this claim and no storage class is set");
	assert_string_equal(pick(NULL, pvc, "fast", why, sizeof why), "");
	assert_string_equal(why, "no persistent volumes of storage class \"fast\" available for this claim");
	/* volumes of other classes are not listed; at most five are */
	assert_string_equal(pick(pvs, pvc, "manual", why, sizeof why), "");
	assert_non_null(strstr(why, "no persistent volumes of storage class \"manual\" available for this "
				    "claim (a: requested PV is too small: capacity 1Gi, request 100Gi; b: "));
	assert_non_null(strstr(why, "; e: requested PV is too small: capacity 5Gi, request 100Gi; ...)"));
	assert_null(strstr(why, "other"));
	assert_null(strstr(why, "f: "));
	assert_string_equal(pick(pvs, pvc, "manual", tiny, sizeof tiny), "");
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
	assert_null(binding_find_volume(pvs, pvc, "manual", NULL, 0));
	json_object_put(pvs);
	json_object_put(pvc);
	json_object_put(none);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_class),
		cmocka_unit_test(test_claim_class),
		cmocka_unit_test(test_pv_is_for_claim),
		cmocka_unit_test(test_smallest_fit_wins),
		cmocka_unit_test(test_big_volume_serves_small_claim),
		cmocka_unit_test(test_capacity_in_bytes),
		cmocka_unit_test(test_omitted_versus_empty_class),
		cmocka_unit_test(test_selector_limits_candidates),
		cmocka_unit_test(test_access_modes_superset),
		cmocka_unit_test(test_prebound_by_claim_ref),
		cmocka_unit_test(test_prebound_must_still_fit),
		cmocka_unit_test(test_volume_name),
		cmocka_unit_test(test_released_then_reused),
		cmocka_unit_test(test_unavailable_volumes),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_no_match_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
