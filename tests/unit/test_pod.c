/*
 * tests/unit/test_pod.c — Pod manifests (meta/pod.c): which volume types
 * are served (the projected types' own rules: test_projection.c), names and mounts checked, the spec immutable, and which
 * claims a pod uses.
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

#include "meta/pod.h"

/* A pod whose spec.volumes is `vols` and whose one container mounts `mounts`. */
static json_object *pod(const char *vols, const char *mounts)
{
	char buf[2048];
	snprintf(buf, sizeof buf, "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{"
	         "'containers':[{'name':'c','volumeMounts':%s}],'volumes':%s}}", mounts, vols);
	return J(buf);
}

static void expect(const char *vols, const char *mounts, const char *want)
{
	json_object *p = pod(vols, mounts);
	char err[512] = "";
	unit_expect_message(pod_validate(p, err, sizeof err), err, want);
	json_object_put(p);
}

static void test_served_volumes_pass(void **state)
{
	(void)state;
	expect("[{'name':'m','emptyDir':{'medium':'Memory','sizeLimit':'64Mi'}},{'name':'n','emptyDir':{'medium':''}}]",
	       "[{'name':'m','mountPath':'/m'}]", NULL);
	expect("[{'name':'a','emptyDir':{}},{'name':'b','emptyDir':{'sizeLimit':'1Gi'}},"
	       "{'name':'c','persistentVolumeClaim':{'claimName':'data','readOnly':true}}]",
	       "[{'name':'a','mountPath':'/a'},{'name':'c','mountPath':'/c','subPath':'x/y'}]", NULL);
}

static void test_projected_types_pass(void **state)
{
	(void)state;
	expect("[{'name':'c','configMap':{'name':'conf','defaultMode':420}},"
	       "{'name':'s','secret':{'secretName':'creds','items':[{'key':'k','path':'k'}]}},"
	       "{'name':'d','downwardAPI':{'items':[{'path':'n','fieldRef':{'fieldPath':'metadata.name'}}]}},"
	       "{'name':'p','projected':{'sources':[{'configMap':{'name':'conf'}}]}}]",
	       "[{'name':'c','mountPath':'/etc/conf'},{'name':'p','mountPath':'/all'}]", NULL);
	/* their own rules apply, with the volume's index in the path */
	expect("[{'name':'a','emptyDir':{}},{'name':'c','configMap':{'name':'conf','items':"
	       "[{'key':'k','path':'../k'}]}}]", "[]", "spec.volumes[1].configMap.items[0].path");
	expect("[{'name':'p','projected':{'sources':[{'serviceAccountToken':{'path':'t'}}]}}]", "[]",
	       "spec.volumes[0].projected.sources[0].serviceAccountToken: Unsupported value");
	expect("[{'name':'x','emptyDir':{},'configMap':{'name':'conf'}}]", "[]", "exactly one volume source");
	expect("[{'name':'x','secret':{'secretName':'s'},'configMap':{'name':'conf'}}]", "[]",
	       "exactly one volume source");
}

static void test_refusals_name_the_field(void **state)
{
	(void)state;
	expect("[{'name':'h','hostPath':{'path':'var/log'}}]", "[]",
	       "spec.volumes[0].hostPath.path: Invalid value: \"var/log\": must be an absolute path");
	expect("[{'name':'h','hostPath':{'path':'/a','type':'Dir'}}]", "[]",
	       "spec.volumes[0].hostPath.type: Unsupported value: \"Dir\"");
	expect("[{'name':'n','nfs':{'server':'s','path':'/'}}]", "[]", "spec.volumes[0].nfs: Unsupported value");
	expect("[{'name':'m','emptyDir':{'medium':'HugePages'}}]", "[]",
	       "spec.volumes[0].emptyDir.medium: Unsupported value: \"HugePages\"");
	expect("[{'name':'s','emptyDir':{'sizeLimit':'10Gx'}}]", "[]", "spec.volumes[0].emptyDir.sizeLimit");
	expect("[{'name':'a','emptyDir':{}},{'name':'a','emptyDir':{}}]", "[]",
	       "spec.volumes[1].name: Duplicate value");
	expect("[{'name':'Bad_Name','emptyDir':{}}]", "[]", "spec.volumes[0].name");
	expect("[{'name':'n'}]", "[]", "exactly one volume source");
	expect("[{'name':'c','persistentVolumeClaim':{}}]", "[]", "claimName: Required value");
	expect("[{'name':'c','persistentVolumeClaim':{'claimName':'../x'}}]", "[]", "claimName: Invalid value");
	expect("[]", "[{'name':'gone','mountPath':'/x'}]", "volumeMounts[0].name: Not found");
	expect("[{'name':'a','emptyDir':{}}]", "[{'name':'a','mountPath':'rel'}]", "mountPath");
	expect("[{'name':'a','emptyDir':{}}]", "[{'name':'a','mountPath':'/x','subPath':'../up'}]", "subPath");
}

static void test_containers_required(void **state)
{
	(void)state;
	json_object *p = J("{'kind':'Pod','metadata':{'name':'p'},'spec':{}}");
	char err[256];
	assert_int_equal(pod_validate(p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "spec.containers: Required value"));
	json_object_put(p);
}

static void test_spec_is_immutable(void **state)
{
	(void)state;
	json_object *a = pod("[{'name':'a','emptyDir':{}}]", "[]");
	json_object *b = pod("[{'name':'a','emptyDir':{'sizeLimit':'1Mi'}}]", "[]");
	json_object *c = pod("[{'name':'a','emptyDir':{}}]", "[]");
	char err[256];
	assert_int_equal(pod_check_update(a, b, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "spec: Forbidden"));
	assert_int_equal(pod_check_update(a, c, err, sizeof err), 0);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
}

/* kubelet: node allocatable, lowered to the pod's memory limit (only when
 * every container has one), lowered to sizeLimit. */
static void test_memory_dir_size(void **state)
{
	(void)state;
	const uint64_t Mi = 1 << 20, node = 1024 * Mi;
	json_object *vol = J("{'name':'m','emptyDir':{'medium':'Memory'}}");
	json_object *small = J("{'name':'m','emptyDir':{'medium':'Memory','sizeLimit':'8Mi'}}");
	json_object *big = J("{'name':'m','emptyDir':{'medium':'Memory','sizeLimit':'4Gi'}}");
	json_object *both = J("{'spec':{'containers':[{'name':'a','resources':{'limits':{'memory':'100Mi'}}},"
	                      "{'name':'b','resources':{'limits':{'memory':'28Mi'}}}]}}");
	json_object *one = J("{'spec':{'containers':[{'name':'a','resources':{'limits':{'memory':'100Mi'}}},"
	                     "{'name':'b'}]}}");
	json_object *huge = J("{'spec':{'containers':[{'name':'a','resources':{'limits':{'memory':'8Gi'}}}]}}");
	assert_true(pod_volume_in_memory(vol));
	json_object *disk = J("{'name':'d','emptyDir':{'sizeLimit':'1Gi'}}");
	assert_false(pod_volume_in_memory(disk));
	json_object_put(disk);
	assert_int_equal(pod_memory_dir_size(one, vol, node), node);     /* one has no limit */
	assert_int_equal(pod_memory_dir_size(both, vol, node), 128 * Mi); /* sum of the limits */
	assert_int_equal(pod_memory_dir_size(huge, vol, node), node);     /* never above the node */
	assert_int_equal(pod_memory_dir_size(both, small, node), 8 * Mi);
	assert_int_equal(pod_memory_dir_size(both, big, node), 128 * Mi); /* sizeLimit only lowers */
	assert_int_equal(pod_memory_dir_size(one, big, node), node);
	json_object_put(vol);
	json_object_put(small);
	json_object_put(big);
	json_object_put(both);
	json_object_put(one);
	json_object_put(huge);
}

static void test_subpath_check(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(pod_subpath_check("www/html", err, sizeof err), 0);
	assert_int_equal(pod_subpath_check("a..b/..c/d..", err, sizeof err), 0); /* not ".." elements */
	assert_int_equal(pod_subpath_check("..", err, sizeof err), -EINVAL);
	assert_int_equal(pod_subpath_check("a/../../b", err, sizeof err), -EINVAL);
	assert_string_equal(err, "must not contain '..'");
	assert_int_equal(pod_subpath_check("a/..", err, sizeof err), -EINVAL);
	assert_int_equal(pod_subpath_check("/etc", err, sizeof err), -EINVAL);
	assert_string_equal(err, "must be a relative path");
	expect("[{'name':'a','emptyDir':{}}]", "[{'name':'a','mountPath':'/x','subPath':'v1..2'}]", NULL);
	/* what a resolved subPath may be */
	assert_true(path_is_within("/mnt/pv/a", "/mnt/pv/a"));
	assert_true(path_is_within("/mnt/pv/a", "/mnt/pv/a/b/c"));
	assert_true(path_is_within("/mnt/pv/a/", "/mnt/pv/a/b"));
	assert_false(path_is_within("/mnt/pv/a", "/mnt/pv/ab"));
	assert_false(path_is_within("/mnt/pv/a", "/etc"));
	assert_false(path_is_within("/mnt/pv/a", "/mnt/pv"));
	assert_true(path_is_within("/", "/etc"));
}

static void test_exec_container(void **state)
{
	(void)state;
	char err[512];
	int defaulted;
	json_object *p = J("{'metadata':{'name':'web'},'spec':{'containers':[{'name':'app'},{'name':'sidecar'}],"
	                   "'volumes':[{'name':'c','configMap':{'name':'x'}},{'name':'d','persistentVolumeClaim':"
	                   "{'claimName':'d','readOnly':true}},{'name':'e','emptyDir':{}}]}}");
	json_object *one = J("{'metadata':{'name':'solo'},'spec':{'containers':[{'name':'only'}]}}");
	json_object *none = J("{'metadata':{'name':'empty'},'spec':{}}");
	json_object *c = pod_container(p, NULL, &defaulted, err, sizeof err);
	assert_string_equal(json_object_get_string(json_object_object_get(c, "name")), "app");
	assert_true(defaulted);
	c = pod_container(p, "sidecar", &defaulted, err, sizeof err);
	assert_string_equal(json_object_get_string(json_object_object_get(c, "name")), "sidecar");
	assert_false(defaulted);
	assert_null(pod_container(p, "nope", &defaulted, err, sizeof err));
	assert_string_equal(err, "container \"nope\" not found in pod \"web\" (its containers: app, sidecar)");
	c = pod_container(one, NULL, &defaulted, err, sizeof err);
	assert_non_null(c);
	assert_false(defaulted); /* kubectl says nothing when there is one */
	assert_null(pod_container(none, NULL, &defaulted, err, sizeof err));
	assert_string_equal(err, "pod \"empty\" has no containers");
	/* kubelet mounts these read-only whatever the volumeMount says */
	assert_true(pod_volume_read_only(pod_volume_named(p, "c")));
	assert_true(pod_volume_read_only(pod_volume_named(p, "d")));
	assert_false(pod_volume_read_only(pod_volume_named(p, "e")));
	assert_null(pod_volume_named(p, "zz"));
	json_object_put(p);
	json_object_put(one);
	json_object_put(none);
}

static void test_uses_claim(void **state)
{
	(void)state;
	int ro = -1;
	json_object *p = pod("[{'name':'a','persistentVolumeClaim':{'claimName':'data','readOnly':true}},"
	                     "{'name':'b','emptyDir':{}}]", "[]");
	assert_true(pod_uses_claim(p, "data", &ro));
	assert_int_equal(ro, 1);
	assert_false(pod_uses_claim(p, "other", &ro));
	assert_int_equal(ro, 0);
	json_object_put(p);
	p = pod("[{'name':'a','persistentVolumeClaim':{'claimName':'data','readOnly':true}},"
	        "{'name':'b','persistentVolumeClaim':{'claimName':'data'}}]", "[]");
	assert_true(pod_uses_claim(p, "data", &ro));
	assert_int_equal(ro, 0); /* one use writes */
	json_object_put(p);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_served_volumes_pass),
		cmocka_unit_test(test_projected_types_pass),
		cmocka_unit_test(test_refusals_name_the_field),
		cmocka_unit_test(test_containers_required),
		cmocka_unit_test(test_spec_is_immutable),
		cmocka_unit_test(test_uses_claim),
		cmocka_unit_test(test_memory_dir_size),
		cmocka_unit_test(test_subpath_check),
		cmocka_unit_test(test_exec_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
