/*
 * tests/unit/test_statefulset.c — StatefulSets (meta/statefulset.c): claim
 * names per replica, the pods' claim volumes, ownership, validation.
 */
#include <errno.h>
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

#include "meta/k8s.h"
#include "meta/statefulset.h"

static json_object *sts(const char *replicas)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db',"
	         "'namespace':'team','uid':'u1'},'spec':{%s'template':{'metadata':{'labels':{'app':'db'}},"
	         "'spec':{'containers':[{'name':'c','volumeMounts':[{'name':'data','mountPath':'/d'}]}]}},"
	         "'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{'accessModes':['ReadWriteOnce'],"
	         "'resources':{'requests':{'storage':'1Gi'}}}}]}}", replicas);
	return J(buf);
}

static void test_claims_and_pods(void **state)
{
	(void)state;
	json_object *s = sts("'replicas':2,");
	char name[128];
	sts_claim_name(s, 0, 1, name, sizeof name);
	assert_string_equal(name, "data-db-1");
	json_object *pvc = sts_claim(s, 0, 1);
	assert_string_equal(jpath_str(pvc, "metadata.name"), "data-db-1");
	assert_string_equal(jpath_str(pvc, "metadata.namespace"), "team");
	assert_string_equal(jpath_str(pvc, "spec.resources.requests.storage"), "1Gi");
	json_object *pod = sts_pod(s, 1);
	assert_string_equal(jpath_str(pod, "metadata.name"), "db-1");
	assert_string_equal(jpath_str(pod, "metadata.labels.app"), "db");
	json_object *vol = json_object_array_get_idx(jpath_get(pod, "spec.volumes"), 0);
	assert_string_equal(jpath_str(vol, "name"), "data");
	assert_string_equal(jpath_str(vol, "persistentVolumeClaim.claimName"), "data-db-1");
	int ordinal = -1;
	assert_true(sts_owns(s, pod, &ordinal));
	assert_int_equal(ordinal, 1);
	jpath_set_str(pod, "metadata.namespace", "other");
	assert_false(sts_owns(s, pod, &ordinal));
	assert_int_equal(sts_replicas(s), 2);
	json_object_put(pvc);
	json_object_put(pod);
	json_object_put(s);
}

static void test_validation(void **state)
{
	(void)state;
	char err[512];
	json_object *s = sts("");
	assert_int_equal(sts_validate(s, k8s_validate, err, sizeof err), 0);
	assert_int_equal(sts_replicas(s), 1); /* defaulted */
	json_object_put(s);
	s = sts("'replicas':-1,");
	assert_int_equal(sts_validate(s, k8s_validate, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "spec.replicas"));
	json_object_put(s);
	s = sts("'replicas':1,");
	jpath_set_str(json_object_array_get_idx(jpath_get(s, "spec.volumeClaimTemplates"), 0),
	              "spec.resources.requests.storage", "1Gx");
	assert_int_equal(sts_validate(s, k8s_validate, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "spec.volumeClaimTemplates[0]"));
	json_object_put(s);
}

/* A pod template of the wrong shape is refused, not a json-c assertion
 * (found by fuzz_manifest). */
static void test_template_types(void **state)
{
	(void)state;
	char err[512];
	json_object *s = sts("");
	jpath_set_str(s, "spec.template.spec", "c/postgresql/data");
	assert_int_equal(sts_validate(s, k8s_validate, err, sizeof err), -EINVAL);
	assert_string_equal(err, "spec.template.spec: Invalid value: must be an object");
	json_object_put(s);
	s = sts("");
	jpath_set(s, "spec.template.spec.volumes", json_object_new_int(5));
	assert_int_equal(sts_validate(s, k8s_validate, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "volumes"));
	json_object_put(s);
}

static void test_templates_immutable(void **state)
{
	(void)state;
	char err[512];
	json_object *a = sts("'replicas':1,"), *b = sts("'replicas':5,"), *c = sts("'replicas':1,");
	assert_int_equal(sts_check_update(a, b, err, sizeof err), 0); /* replicas may change */
	jpath_set_str(json_object_array_get_idx(jpath_get(c, "spec.volumeClaimTemplates"), 0),
	              "spec.resources.requests.storage", "2Gi");
	assert_int_equal(sts_check_update(a, c, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "Forbidden"));
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims_and_pods),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_template_types),
		cmocka_unit_test(test_templates_immutable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
