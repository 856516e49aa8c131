/*
 * tests/unit/test_k8s.c — the Kubernetes object model: the kind table and
 * its lookup (meta/kinds.c), dotted paths (meta/jsonobj.c), validation and
 * defaulting of each kind with the API server's field errors
 * (meta/k8s.c), kubectl's three-way apply merge (meta/apply_merge.c) and
 * the immutable fields of updates.
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

#include "meta/apply_merge.h"
#include "meta/field_error.h"
#include "meta/k8s.h"

#define GI (UINT64_C(1) << 30)

static const char PVC[] =
	"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data'},"
	"'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'5Gi'}}}}";
static const char PV[] =
	"{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1'},"
	"'spec':{'capacity':{'storage':'10Gi'},'accessModes':['ReadWriteOnce']}}";
static const char SC[] =
	"{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass','metadata':{'name':'fast'},"
	"'provisioner':'volfs.io/local'}";

/* --- kinds and paths --- */

static void test_kind_table(void **state)
{
	static const struct {
		const char *kind, *api;
		int namespaced;
	} want[] = {
		{ "StorageClass", "storage.k8s.io/v1", 0 },
		{ "PersistentVolume", "v1", 0 },
		{ "PersistentVolumeClaim", "v1", 1 },
		{ "VolumeSnapshotClass", "snapshot.storage.k8s.io/v1", 0 },
		{ "VolumeSnapshot", "snapshot.storage.k8s.io/v1", 1 },
		{ "VolumeSnapshotContent", "snapshot.storage.k8s.io/v1", 0 },
		{ "ResourceQuota", "v1", 1 },
		{ "Namespace", "v1", 0 },
		{ "Pod", "v1", 1 },
		{ "StatefulSet", "apps/v1", 1 },
		{ "ConfigMap", "v1", 1 },
		{ "Secret", "v1", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct k8s_kind *k = k8s_kind_lookup(want[i].kind, K8S_KIND_STORED);

		assert_non_null(k);
		assert_string_equal(k->api_version, want[i].api);
		assert_int_equal(k->namespaced, want[i].namespaced);
	}
	assert_string_equal(k8s_kind_lookup("PersistentVolumeClaim", K8S_KIND_STORED)->plural,
			    "persistentvolumeclaims");
	assert_null(k8s_kind_lookup("persistentvolumeclaim", K8S_KIND_STORED));
	assert_null(k8s_kind_lookup("Frobnicator", K8S_KIND_STORED));
	assert_null(k8s_kind_lookup(NULL, K8S_KIND_STORED));
	/* Events are the daemon's record, never a stored object */
	assert_null(k8s_kind_lookup("Event", K8S_KIND_STORED));
}

/* What a user types: kind, plural, short name, any case, plural.group. */
static void test_kind_spellings(void **state)
{
	static const struct {
		const char *word, *kind;
	} want[] = {
		{ "pvc", "PersistentVolumeClaim" },
		{ "PVC", "PersistentVolumeClaim" },
		{ "persistentvolumeclaims", "PersistentVolumeClaim" },
		{ "persistentVolumeClaim", "PersistentVolumeClaim" },
		{ "vsclass", "VolumeSnapshotClass" },
		{ "volumesnapshots.snapshot.storage.k8s.io", "VolumeSnapshot" },
		{ "storageclass.storage.k8s.io", "StorageClass" },
		{ "ev", "Event" },
		{ "sts", "StatefulSet" },
	};
	char q[64];

	(void)state;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct k8s_kind *k = k8s_kind_lookup(want[i].word, K8S_KIND_TYPED);

		assert_non_null(k);
		assert_string_equal(k->kind, want[i].kind);
	}
	assert_null(k8s_kind_lookup("pods.apps", K8S_KIND_TYPED));
	assert_null(k8s_kind_lookup("pv.", K8S_KIND_TYPED));
	assert_null(k8s_kind_lookup("frob", K8S_KIND_TYPED));
	assert_null(k8s_kind_lookup("", K8S_KIND_TYPED));
	k8s_kind_qualified(k8s_kind_lookup("sc", K8S_KIND_TYPED), q, sizeof q);
	assert_string_equal(q, "storageclass.storage.k8s.io");
	k8s_kind_qualified(k8s_kind_lookup("pvc", K8S_KIND_TYPED), q, sizeof q);
	assert_string_equal(q, "persistentvolumeclaim");
	assert_int_equal(k8s_kind_count(), 15);
	assert_null(k8s_kind_at(k8s_kind_count()));
}

static void test_paths_read(void **state)
{
	json_object *o = J("{'a':{'b':{'c':'x','n':1073741824,'q':'10Gx','d':1.5},'s':'y'},'z':null}");

	(void)state;
	assert_string_equal(jpath_str(o, "a.b.c"), "x");
	assert_string_equal(jpath_str(o, "a.s"), "y");
	assert_null(jpath_str(o, "a.b"));		/* an object, not a string */
	assert_null(jpath_get(o, "a.s.t"));	/* through a string */
	assert_null(jpath_get(o, "a.missing.c"));
	assert_null(jpath_get(o, "z"));
	assert_null(jpath_get(o, ""));
	assert_null(jpath_get(NULL, "a"));
	assert_int_equal(jpath_bytes(o, "a.b.n"), GI);
	assert_int_equal(jpath_bytes(o, "a.b.q"), 0);	/* invalid */
	assert_int_equal(jpath_bytes(o, "a.b.d"), 2);	/* 1.5 bytes round up */
	assert_int_equal(jpath_bytes(o, "a.b.c"), 0);
	assert_int_equal(jpath_bytes(o, "nothing"), 0);
	json_object_put(o);
}

static void test_paths_write(void **state)
{
	json_object *o = J("{'metadata':{'name':'x'},'spec':'not an object'}");

	(void)state;
	jpath_set_str(o, "status.phase", "Bound");
	assert_string_equal(jpath_str(o, "status.phase"), "Bound");
	jpath_set_str(o, "spec.claimRef.name", "c");	/* replaces the string */
	assert_string_equal(jpath_str(o, "spec.claimRef.name"), "c");
	jpath_set(o, "spec.capacity", J("{'storage':'1Gi'}"));
	assert_int_equal(jpath_bytes(o, "spec.capacity.storage"), GI);
	jpath_set_str(o, "top", "level");
	assert_string_equal(jpath_str(o, "top"), "level");
	json_object_object_add(jpath_obj(o, "metadata.annotations"), K8S_ANN_DEFAULT_SC,
			       json_object_new_string("true"));
	assert_true(k8s_annotation_true(o, K8S_ANN_DEFAULT_SC));
	assert_false(k8s_annotation_true(o, K8S_ANN_DEFAULT_VSC));
	assert_true(json_object_is_type(jpath_obj(o, "metadata"), json_type_object));
	jpath_set(NULL, "a.b", json_object_new_int(1));	/* no crash, no leak */
	json_object_put(o);
}

static void test_annotation_true_only_for_true(void **state)
{
	json_object *o = J("{'metadata':{'annotations':{'a':'false','b':'True','c':true,'d':'true'}}}");

	(void)state;
	assert_false(k8s_annotation_true(o, "a"));
	assert_false(k8s_annotation_true(o, "b"));
	assert_false(k8s_annotation_true(o, "c"));
	assert_true(k8s_annotation_true(o, "d"));
	assert_false(k8s_annotation_true(o, "e"));
	json_object_put(o);
}

static void test_quote(void **state)
{
	char out[16];

	(void)state;
	field_quote("a\"b\n", out, sizeof out);
	assert_string_equal(out, "\"a\\\"b\\x0a\"");
	field_quote("abcdefghijklmnopqrstuvwxyz", out, sizeof out);
	assert_true(strlen(out) < sizeof out);
	assert_non_null(strstr(out, "...\""));
}

/* --- validation: defaults --- */

static void validate_ok(json_object *o, const char *ns)
{
	char err[512] = "";

	if (k8s_validate(o, ns, err, sizeof err) != 0)
		fail_msg("refused: %s", err);
}

static void test_claim_defaults(void **state)
{
	json_object *o = J(PVC);

	(void)state;
	validate_ok(o, "team");
	assert_string_equal(jpath_str(o, "metadata.namespace"), "team");
	assert_string_equal(jpath_str(o, "spec.volumeMode"), "Filesystem");
	/* an omitted class stays omitted: the controller tells it from "" */
	assert_null(jpath_get(o, "spec.storageClassName"));
	json_object_put(o);

	o = J(PVC);
	validate_ok(o, NULL);
	assert_string_equal(jpath_str(o, "metadata.namespace"), "default");
	json_object_put(o);

	o = J(PVC);
	jpath_set_str(o, "metadata.namespace", "mine");
	jpath_set_str(o, "spec.storageClassName", "");
	validate_ok(o, "other");
	assert_string_equal(jpath_str(o, "metadata.namespace"), "mine");
	assert_string_equal(jpath_str(o, "spec.storageClassName"), "");
	json_object_put(o);
}

static void test_volume_defaults(void **state)
{
	json_object *o = J(PV);

	(void)state;
	jpath_set_str(o, "metadata.namespace", "ignored");
	jpath_set_str(o, "spec.claimRef.name", "data");
	jpath_set(o, "spec.hostPath", J("{'path':'/mnt/x'}"));
	jpath_set(o, "spec.nodeAffinity", J("{'required':{'nodeSelectorTerms':[]}}"));
	validate_ok(o, "team");
	assert_null(jpath_get(o, "metadata.namespace"));
	assert_string_equal(jpath_str(o, "spec.persistentVolumeReclaimPolicy"), "Retain");
	assert_string_equal(jpath_str(o, "spec.volumeMode"), "Filesystem");
	assert_string_equal(jpath_str(o, "spec.claimRef.namespace"), "default");
	assert_string_equal(jpath_str(o, "spec.hostPath.path"), "/mnt/x");
	assert_non_null(jpath_get(o, "spec.nodeAffinity.required"));
	assert_null(jpath_get(o, "spec.storageClassName"));
	json_object_put(o);
}

static void test_class_defaults(void **state)
{
	json_object *o = J(SC);

	(void)state;
	validate_ok(o, "x");
	assert_string_equal(jpath_str(o, "reclaimPolicy"), "Delete");
	assert_string_equal(jpath_str(o, "volumeBindingMode"), "Immediate");
	assert_null(jpath_get(o, "allowVolumeExpansion"));
	json_object_put(o);
}

static void test_other_kinds_accepted(void **state)
{
	static const char *const ok[] = {
		"{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshotClass',"
		"'metadata':{'name':'snaps','annotations':{'snapshot.storage.kubernetes.io/is-default-class':'true'}},"
		"'driver':'volfs.io/local','deletionPolicy':'Retain','parameters':{'a':'b'}}",
		"{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s1'},"
		"'spec':{'volumeSnapshotClassName':'snaps','source':{'persistentVolumeClaimName':'data'}}}",
		"{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshotContent','metadata':{'name':'c1'},"
		"'spec':{'driver':'volfs.io/local','deletionPolicy':'Retain','source':{'snapshotHandle':'h'},"
		"'volumeSnapshotRef':{'name':'s1','namespace':'default'}}}",
		"{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'q'},'spec':{'hard':"
		"{'requests.storage':'100Mi','persistentvolumeclaims':2,'cpu':'500m',"
		"'fast.storageclass.storage.k8s.io/requests.storage':'1Gi'}}}",
		"{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'q'}}",
		"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'team','labels':{'env':'dev'}}}",
		"{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1'},'spec':{"
		"'capacity':{'storage':1073741824},'accessModes':['ReadWriteOnce','ReadOnlyMany'],"
		"'persistentVolumeReclaimPolicy':'Recycle','storageClassName':'manual','mountOptions':['noatime'],"
		"'csi':{'driver':'x','volumeHandle':'y'}}}",
		"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c','labels':"
		"{'app.kubernetes.io/name':'db','tier':''}},'spec':{'accessModes':['ReadWriteOncePod'],"
		"'resources':{'requests':{'storage':'1.5Gi'},'limits':{'storage':'2Gi'}},"
		"'storageClassName':'fast','volumeName':'pv1',"
		"'selector':{'matchLabels':{'tier':'gold'},'matchExpressions':[{'key':'zone','operator':'Exists'}]},"
		"'dataSource':{'apiGroup':'snapshot.storage.k8s.io','kind':'VolumeSnapshot','name':'s1'},"
		"'dataSourceRef':{'apiGroup':'snapshot.storage.k8s.io','kind':'VolumeSnapshot','name':'s1'}}}",
		"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c'},'spec':{"
		"'accessModes':['ReadWriteMany'],'resources':{'requests':{'storage':'1Gi'}},"
		"'dataSource':{'kind':'PersistentVolumeClaim','name':'data'}}}",
		"{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass','metadata':{'name':'wait',"
		"'annotations':{'storageclass.kubernetes.io/is-default-class':'true'}},"
		"'provisioner':'other.io/x','parameters':{'fsType':'ext4'},'reclaimPolicy':'Retain',"
		"'volumeBindingMode':'WaitForFirstConsumer','allowVolumeExpansion':true,'mountOptions':['ro']}",
		"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'conf'},'data':{'app.conf':'a=1\\n'},"
		"'binaryData':{'logo.png':'iVBORw0KGgo='},'immutable':false}",
		"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'creds'},'type':'Opaque',"
		"'data':{'password':'czNjcjN0'},'stringData':{'user':'admin'}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		json_object *o = J(ok[i]);

		validate_ok(o, "default");
		json_object_put(o);
	}
}

static void test_stored_objects_revalidate(void **state)
{
	/* a patch validates the stored object: status, uid and a full claimRef pass */
	json_object *o = J("{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1',"
			   "'uid':'u','creationTimestamp':'2024-01-01T00:00:00Z','annotations':"
			   "{'pv.kubernetes.io/bound-by-controller':'yes'}},'spec':{'capacity':{'storage':'1Gi'},"
			   "'accessModes':['ReadWriteOnce'],'claimRef':{'kind':'PersistentVolumeClaim',"
			   "'namespace':'team','name':'data','uid':'x','apiVersion':'v1'}},"
			   "'status':{'phase':'Bound'}}");

	(void)state;
	validate_ok(o, "");
	assert_string_equal(jpath_str(o, "spec.claimRef.namespace"), "team");
	assert_string_equal(jpath_str(o, "status.phase"), "Bound");
	json_object_put(o);
}

/* --- validation: refusals --- */

struct refusal {
	const char *base;	/* manifest */
	const char *path;	/* member to set (NULL: none) */
	const char *value;	/* JSON (single quotes), or NULL to delete */
	const char *want;	/* message, or a fragment with "~" in front */
};

static const struct refusal refusals[] = {
	{ PVC, "spec.resources.requests.storage", "'10Gx'",
	  "~spec.resources.requests.storage: Invalid value: \"10Gx\": unknown suffix \"Gx\"" },
	{ PVC, "spec.resources.requests.storage", NULL, "spec.resources.requests.storage: Required value" },
	{ PVC, "spec.resources", NULL, "spec.resources.requests.storage: Required value" },
	{ PVC, "spec.resources.requests.storage", "'0'",
	  "spec.resources.requests.storage: Invalid value: \"0\": must be greater than zero" },
	{ PVC, "spec.resources.requests.storage", "-1",
	  "~spec.resources.requests.storage: Invalid value: -1: must not be negative" },
	{ PVC, "spec.resources.requests.storage", "true",
	  "~spec.resources.requests.storage: Invalid value: true: must be a quantity" },
	{ PVC, "spec.resources.limits.storage", "'lots'", "~spec.resources.limits.storage: Invalid value: \"lots\"" },
	{ PVC, "spec.accessModes", NULL, "spec.accessModes: Required value" },
	{ PVC, "spec.accessModes", "[]", "spec.accessModes: Required value" },
	{ PVC, "spec", NULL, "spec.accessModes: Required value" },
	{ PVC, "spec.accessModes", "'ReadWriteOnce'", "~spec.accessModes: Invalid value: \"ReadWriteOnce\"" },
	{ PVC, "spec.accessModes", "['ReadWriteAll']",
	  "spec.accessModes[0]: Unsupported value: \"ReadWriteAll\": supported values: \"ReadOnlyMany\", "
	  "\"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"" },
	{ PVC, "spec.accessModes", "['ReadWriteOnce','RWO']", "~spec.accessModes[1]: Unsupported value: \"RWO\"" },
	{ PVC, "spec.accessModes", "['ReadWriteOncePod','ReadOnlyMany']",
	  "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes" },
	{ PVC, "metadata.name", "'a/b'", "~metadata.name: Invalid value: \"a/b\": a lowercase RFC 1123 subdomain" },
	{ PVC, "metadata.name", "'..'", "~metadata.name: Invalid value: \"..\": a lowercase RFC 1123 subdomain" },
	{ PVC, "metadata.name", "'../escape'", "~metadata.name: Invalid value: \"../escape\"" },
	{ PVC, "metadata.name", "'Data'", "~metadata.name: Invalid value: \"Data\"" },
	{ PVC, "metadata.name", "''", "~metadata.name: Required value" },
	{ PVC, "metadata.name", NULL, "~metadata.name: Required value" },
	{ PVC, "metadata.name", "7", "~metadata.name: Invalid value: 7: must be a string" },
	{ PVC, "metadata", NULL, "~metadata.name: Required value" },
	{ PVC, "metadata.namespace", "'Team'", "~metadata.namespace: Invalid value: \"Team\"" },
	{ PVC, "metadata.namespace", "'a.b'", "~metadata.namespace: Invalid value: \"a.b\"" },
	{ PVC, "metadata.labels", "{'app':3}", "metadata.labels[app]: Invalid value: 3: must be a string" },
	{ PVC, "metadata.labels", "{'bad key':'x'}", "~metadata.labels: Invalid value: \"bad key\": name part" },
	{ PVC, "metadata.labels", "{'k':'bad value'}", "~metadata.labels[k]: Invalid value: \"bad value\"" },
	{ PVC, "metadata.labels", "['a']", "~metadata.labels: Invalid value: [\"a\"]: must be an object" },
	{ PVC, "metadata.annotations", "{'note':false}", "~metadata.annotations[note]: Invalid value: false" },
	{ PVC, "spec.storageClassName", "5", "~spec.storageClassName: Invalid value: 5: must be a string" },
	{ PVC, "spec.storageClassName", "'Fast'", "~spec.storageClassName: Invalid value: \"Fast\"" },
	{ PVC, "spec.volumeName", "'a/b'", "~spec.volumeName: Invalid value: \"a/b\"" },
	{ PVC, "spec.volumeMode", "'Block'",
	  "spec.volumeMode: Unsupported value: \"Block\": volfs serves Filesystem volumes only" },
	{ PVC, "spec.volumeMode", "'Raw'", "~spec.volumeMode: Unsupported value: \"Raw\"" },
	{ PVC, "spec.selector", "{'matchExpressions':[{'key':'tier','operator':'Has'}]}",
	  "~spec.selector.matchExpressions[0].operator: Unsupported value: \"Has\"" },
	{ PVC, "spec.dataSource", "{'kind':'Pod','name':'x'}",
	  "spec.dataSource.kind: Unsupported value: \"Pod\": supported values: \"PersistentVolumeClaim\", "
	  "\"VolumeSnapshot\"" },
	{ PVC, "spec.dataSource", "{'kind':'VolumeSnapshot','name':'s'}",
	  "~spec.dataSource.apiGroup: Unsupported value: \"\": supported values: \"snapshot.storage.k8s.io\"" },
	{ PVC, "spec.dataSource", "{'kind':'PersistentVolumeClaim','apiGroup':'core','name':'s'}",
	  "spec.dataSource.apiGroup: Invalid value: \"core\": must be empty for a PersistentVolumeClaim "
	  "(the core API group)" },
	{ PVC, "spec.dataSource", "{'kind':'PersistentVolumeClaim'}", "spec.dataSource.name: Required value" },
	{ PVC, "spec.dataSource", "'snap'", "~spec.dataSource: Invalid value: \"snap\": must be an object" },
	{ PVC, "spec.dataSourceRef", "{'kind':'PersistentVolumeClaim','name':'d','namespace':'other'}",
	  "spec.dataSourceRef.namespace: Forbidden: cross-namespace data sources are not supported" },
	{ "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c'},'spec':{'accessModes':"
	  "['ReadWriteOnce'],'resources':{'requests':{'storage':'1Gi'}},'dataSource':{'kind':"
	  "'PersistentVolumeClaim','name':'a'},'dataSourceRef':{'kind':'PersistentVolumeClaim','name':'b'}}}",
	  NULL, NULL, "~spec.dataSource: Invalid value: \"object\": must match dataSourceRef" },
	{ PVC, "kind", "'Frobnicator'", "~no matches for kind \"Frobnicator\" in version \"v1\"" },
	{ PVC, "kind", NULL, "kind: Required value" },
	{ PVC, "kind", "3", "~kind: Invalid value: 3" },
	{ PVC, "apiVersion", NULL, "apiVersion: Required value" },
	{ PVC, "apiVersion", "'storage.k8s.io/v1'",
	  "~apiVersion: Invalid value: \"storage.k8s.io/v1\": no matches for kind \"PersistentVolumeClaim\" "
	  "in version \"storage.k8s.io/v1\"" },
	{ PVC, "apiVersion", "'v2'", "~PersistentVolumeClaim is v1" },
	{ "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web'},'spec':{'containers':[]}}", NULL, NULL,
	  "spec.containers: Required value" },
	{ "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'s'}}", NULL, NULL,
	  "spec.template.spec: Required value" },
	{ "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'},'data':{'port':8080}}", NULL, NULL,
	  "data[port]: Invalid value: 8080: must be a string (quote it in YAML)" },
	{ "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'},'data':{'a b':'x'}}", NULL, NULL,
	  "~data[a b]: Invalid value: \"a b\": a valid config key" },
	{ "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'c'},'data':{'pw':'c2VjcmV0!'}}", NULL, NULL,
	  "data[pw]: Invalid value: illegal base64 data at input byte 8" },
	{ "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'c'},'type':'kubernetes.io/tls',"
	  "'stringData':{'tls.crt':'x'}}", NULL, NULL, "data[tls.key]: Required value" },
	{ "{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'d'}}", NULL, NULL,
	  "no matches for kind \"DaemonSet\" in version \"apps/v1\"" },
	{ "[1,2]", NULL, NULL, "~not a Kubernetes object" },
	/* PersistentVolume */
	{ PV, "spec.capacity", NULL, "spec.capacity.storage: Required value" },
	{ PV, "spec", NULL, "spec.capacity.storage: Required value" },
	{ PV, "spec.capacity.storage", "'0Gi'", "~spec.capacity.storage: Invalid value: \"0Gi\": must be greater than zero" },
	{ PV, "spec.capacity.storage", "'10Gx'", "~spec.capacity.storage: Invalid value: \"10Gx\": unknown suffix" },
	{ PV, "spec.accessModes", NULL, "spec.accessModes: Required value" },
	{ PV, "spec.accessModes", "['ReadWrite']", "~spec.accessModes[0]: Unsupported value: \"ReadWrite\"" },
	{ PV, "spec.persistentVolumeReclaimPolicy", "'Keep'",
	  "spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", "
	  "\"Recycle\", \"Retain\"" },
	{ PV, "spec.volumeMode", "'Block'",
	  "spec.volumeMode: Unsupported value: \"Block\": volfs serves Filesystem volumes only" },
	{ PV, "spec.claimRef", "{'namespace':'default'}", "spec.claimRef.name: Required value" },
	{ PV, "spec.claimRef", "'data'", "~spec.claimRef: Invalid value: \"data\": must be an object" },
	{ PV, "spec.nodeAffinity", "[]", "~spec.nodeAffinity: Invalid value: []: must be an object" },
	{ PV, "spec.mountOptions", "[1]", "spec.mountOptions[0]: Invalid value: 1: must be a string" },
	{ PV, "spec.hostPath", "'/mnt'", "~spec.hostPath: Invalid value: \"/mnt\": must be an object" },
	{ PV, "metadata.name", "'PV1'", "~metadata.name: Invalid value: \"PV1\"" },
	{ "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'p'},'spec':{'capacity':"
	  "{'storage':'1Gi'},'accessModes':['ReadWriteOnce'],'hostPath':{'path':'/a'},'nfs':{'server':'s'}}}",
	  NULL, NULL, "spec: Forbidden: may not specify more than 1 volume type" },
	/* StorageClass */
	{ SC, "provisioner", NULL, "provisioner: Required value" },
	{ SC, "provisioner", "''", "provisioner: Required value" },
	{ SC, "reclaimPolicy", "'Recycle'",
	  "reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"" },
	{ SC, "volumeBindingMode", "'Later'",
	  "volumeBindingMode: Unsupported value: \"Later\": supported values: \"Immediate\", "
	  "\"WaitForFirstConsumer\"" },
	{ SC, "allowVolumeExpansion", "'yes'", "allowVolumeExpansion: Invalid value: \"yes\": must be a boolean" },
	{ SC, "parameters", "{'replicas':3}", "parameters[replicas]: Invalid value: 3: must be a string" },
	{ SC, "mountOptions", "'ro'", "~mountOptions: Invalid value: \"ro\": must be a list of strings" },
	{ SC, "apiVersion", "'v1'", "~no matches for kind \"StorageClass\" in version \"v1\"" },
	/* snapshots */
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshotClass','metadata':{'name':'v'},"
	  "'deletionPolicy':'Delete'}", NULL, NULL, "driver: Required value" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshotClass','metadata':{'name':'v'},"
	  "'driver':'d'}", NULL, NULL, "deletionPolicy: Required value" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshotClass','metadata':{'name':'v'},"
	  "'driver':'d','deletionPolicy':'Keep'}", NULL, NULL,
	  "deletionPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Retain\"" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'}}",
	  NULL, NULL, "spec.source: Required value" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'},"
	  "'spec':{'source':{}}}", NULL, NULL, "~spec.source: Invalid value: \"object\": exactly one of" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'},"
	  "'spec':{'source':{'persistentVolumeClaimName':'a','volumeSnapshotContentName':'b'}}}", NULL, NULL,
	  "~exactly one of persistentVolumeClaimName and volumeSnapshotContentName" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'},"
	  "'spec':{'source':{'volumeSnapshotContentName':'b'}}}", NULL, NULL,
	  "spec.source.volumeSnapshotContentName: Forbidden: pre-provisioned snapshot contents are not "
	  "supported by volfs" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'},"
	  "'spec':{'source':{'persistentVolumeClaimName':''}}}", NULL, NULL,
	  "spec.source.persistentVolumeClaimName: Required value" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'},"
	  "'spec':{'source':{'persistentVolumeClaimName':'a'},'volumeSnapshotClassName':1}}", NULL, NULL,
	  "~spec.volumeSnapshotClassName: Invalid value: 1" },
	{ "{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshotContent','metadata':{'name':'c'},"
	  "'spec':{'driver':'d','deletionPolicy':'Delete','source':{'snapshotHandle':'h'}}}", NULL, NULL,
	  "spec.volumeSnapshotRef.name: Required value" },
	/* ResourceQuota and Namespace */
	{ "{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'q'},'spec':{'hard':"
	  "{'requests.storage':'10Gx'}}}", NULL, NULL,
	  "~spec.hard[requests.storage]: Invalid value: \"10Gx\": unknown suffix \"Gx\"" },
	{ "{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'q'},'spec':{'hard':"
	  "{'persistentvolumeclaims':'-2'}}}", NULL, NULL,
	  "~spec.hard[persistentvolumeclaims]: Invalid value: \"-2\": must not be negative" },
	{ "{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'q'},'spec':{'hard':[]}}", NULL, NULL,
	  "~spec.hard: Invalid value: []: must be an object" },
	{ "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'a.b'}}", NULL, NULL,
	  "~metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label" },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal *t = &refusals[i];
		json_object *o = J(t->base);
		const char *want = t->want[0] == '~' ? t->want + 1 : t->want;
		char err[1024] = "";
		int r;

		if (t->path)
			jpath_set(o, t->path, t->value ? J(t->value) : NULL);
		r = k8s_validate(o, "default", err, sizeof err);
		if (r != -EINVAL)
			fail_msg("case %zu (%s) accepted", i, t->want);
		if (t->want[0] == '~' ? !strstr(err, want) : strcmp(err, want))
			fail_msg("case %zu: got\n  %s\nwant%s\n  %s", i, err,
				 t->want[0] == '~' ? " a message containing" : "", want);
		if (strchr(err, '\n'))
			fail_msg("case %zu: message spans lines: %s", i, err);
		json_object_put(o);
	}
}

static void test_message_fits_small_buffer(void **state)
{
	json_object *o = J(PVC);
	char err[10];

	(void)state;
	jpath_set_str(o, "spec.resources.requests.storage", "10Gx");
	assert_int_equal(k8s_validate(o, "default", err, sizeof err), -EINVAL);
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_int_equal(k8s_validate(o, "default", NULL, 0), -EINVAL);
	json_object_put(o);
}

static void test_hostile_input_stays_one_line(void **state)
{
	json_object *o = J(PVC);
	char err[512];

	(void)state;
	jpath_set_str(o, "metadata.name", "a\nb\x1b[31m");
	assert_int_equal(k8s_validate(o, "default", err, sizeof err), -EINVAL);
	assert_null(strchr(err, '\n'));
	assert_null(strchr(err, '\x1b'));
	json_object_put(o);
}

/* --- apply merge --- */

static json_object *validated(const char *text)
{
	json_object *o = J(text);

	validate_ok(o, "default");
	return o;
}

static void test_merge_new_object(void **state)
{
	json_object *m = validated(PVC), *got, *last;

	(void)state;
	jpath_set_str(m, "status.phase", "Bound");
	jpath_set_str(m, "metadata.uid", "forged");
	got = k8s_merge_apply(NULL, m);
	assert_null(jpath_get(got, "status"));
	assert_null(jpath_get(got, "metadata.uid"));
	assert_string_equal(jpath_str(got, "spec.resources.requests.storage"), "5Gi");
	last = json_tokener_parse(json_object_get_string(
		json_object_object_get(jpath_get(got, "metadata.annotations"), K8S_ANN_LAST_APPLIED)));
	assert_non_null(last);
	assert_string_equal(jpath_str(last, "metadata.name"), "data");
	assert_null(jpath_get(last, "status"));
	assert_null(jpath_get(last, "metadata.annotations"));
	json_object_put(last);
	json_object_put(got);
	json_object_put(m);
}

/* A claim as the controller leaves it: bound, with status and uid. */
static json_object *stored_claim(json_object *manifest)
{
	json_object *o = k8s_merge_apply(NULL, manifest);

	jpath_set_str(o, "metadata.uid", "uid-1");
	jpath_set_str(o, "metadata.creationTimestamp", "2024-01-01T00:00:00Z");
	jpath_set_str(o, "spec.storageClassName", "volfs");	/* defaulted at creation */
	jpath_set_str(o, "spec.volumeName", "pvc-uid-1");
	json_object_object_add(jpath_obj(o, "metadata.annotations"), "pv.kubernetes.io/bind-completed",
			       json_object_new_string("yes"));
	jpath_set_str(o, "status.phase", "Bound");
	jpath_set_str(o, "status.capacity.storage", "5Gi");
	return o;
}

static void test_merge_keeps_controller_fields(void **state)
{
	json_object *m = validated(PVC), *stored, *got, *again;
	char err[512] = "";

	(void)state;
	jpath_set(m, "metadata.labels", J("{'app':'db','tier':'gold'}"));
	stored = stored_claim(m);
	got = k8s_merge_apply(stored, m);
	assert_string_equal(jpath_str(got, "spec.volumeName"), "pvc-uid-1");
	assert_string_equal(jpath_str(got, "spec.storageClassName"), "volfs");
	assert_string_equal(jpath_str(got, "status.phase"), "Bound");
	assert_string_equal(jpath_str(got, "metadata.uid"), "uid-1");
	assert_non_null(json_object_object_get(jpath_get(got, "metadata.annotations"),
					       "pv.kubernetes.io/bind-completed"));
	/* the same manifest again changes nothing: apply is idempotent */
	assert_true(json_object_equal(stored, got));
	assert_int_equal(k8s_check_update(stored, got, err, sizeof err), 0);
	again = k8s_merge_apply(got, m);
	assert_true(json_object_equal(got, again));
	json_object_put(again);
	json_object_put(got);
	json_object_put(stored);
	json_object_put(m);
}

static void test_merge_removes_dropped_fields(void **state)
{
	json_object *m1 = validated(PVC), *m2 = validated(PVC), *stored, *got;

	(void)state;
	jpath_set(m1, "metadata.labels", J("{'app':'db','tier':'gold'}"));
	jpath_set(m2, "metadata.labels", J("{'app':'web'}"));
	jpath_set_str(m2, "spec.resources.requests.storage", "8Gi");
	stored = stored_claim(m1);
	/* a label a controller or another tool added is not the manifest's to drop */
	json_object_object_add(jpath_get(stored, "metadata.labels"), "added",
			       json_object_new_string("elsewhere"));
	got = k8s_merge_apply(stored, m2);
	assert_string_equal(jpath_str(got, "metadata.labels.app"), "web");
	assert_null(jpath_get(got, "metadata.labels.tier"));
	assert_string_equal(jpath_str(got, "metadata.labels.added"), "elsewhere");
	assert_string_equal(jpath_str(got, "spec.resources.requests.storage"), "8Gi");
	assert_string_equal(jpath_str(got, "spec.volumeName"), "pvc-uid-1");
	json_object_put(got);

	/* no labels at all in the manifest: kubectl's patch deletes the map */
	json_object_object_del(jpath_get(m2, "metadata"), "labels");
	got = k8s_merge_apply(stored, m2);
	assert_null(jpath_get(got, "metadata.labels"));
	assert_string_equal(jpath_str(got, "metadata.name"), "data");
	json_object_put(got);
	json_object_put(stored);
	json_object_put(m1);
	json_object_put(m2);
}

static void test_merge_volume_keeps_claim_ref(void **state)
{
	json_object *m = validated(PV), *stored, *got;

	(void)state;
	stored = k8s_merge_apply(NULL, m);
	jpath_set(stored, "spec.claimRef", J("{'kind':'PersistentVolumeClaim','namespace':'default',"
					     "'name':'data','uid':'u1'}"));
	jpath_set_str(stored, "status.phase", "Bound");
	jpath_set_str(m, "spec.capacity.storage", "20Gi");
	got = k8s_merge_apply(stored, m);
	assert_string_equal(jpath_str(got, "spec.claimRef.uid"), "u1");
	assert_string_equal(jpath_str(got, "spec.capacity.storage"), "20Gi");
	assert_string_equal(jpath_str(got, "status.phase"), "Bound");
	json_object_put(got);

	/* an operator clearing claimRef with null (Retain, then re-use) */
	jpath_set(m, "spec.claimRef", NULL);
	got = k8s_merge_apply(stored, m);
	assert_null(jpath_get(got, "spec.claimRef"));
	json_object_put(got);
	json_object_put(stored);
	json_object_put(m);
}

static void test_merge_without_last_applied_removes_nothing(void **state)
{
	json_object *stored = validated(SC), *m = validated(SC), *got;

	(void)state;
	json_object_object_add(stored, "allowVolumeExpansion", json_object_new_boolean(1));
	json_object_object_add(jpath_obj(stored, "metadata.annotations"), "note",
			       json_object_new_string("made by volctl create"));
	got = k8s_merge_apply(stored, m);
	assert_true(json_object_get_boolean(jpath_get(got, "allowVolumeExpansion")));
	assert_non_null(json_object_object_get(jpath_get(got, "metadata.annotations"), "note"));
	assert_non_null(json_object_object_get(jpath_get(got, "metadata.annotations"),
					       K8S_ANN_LAST_APPLIED));
	json_object_put(got);
	json_object_put(stored);
	json_object_put(m);
}

static void test_merge_ignores_status_in_last_applied(void **state)
{
	json_object *stored = validated(PVC), *m = validated(PVC), *got;

	(void)state;
	/* a last-applied from a `get -o yaml` round trip, with status in it */
	json_object_object_add(jpath_obj(stored, "metadata.annotations"), K8S_ANN_LAST_APPLIED,
			       json_object_new_string("{\"status\":{\"phase\":\"Bound\"},"
						      "\"metadata\":{\"uid\":\"u\"}}"));
	jpath_set_str(stored, "status.phase", "Bound");
	jpath_set_str(stored, "metadata.uid", "u");
	got = k8s_merge_apply(stored, m);
	assert_string_equal(jpath_str(got, "status.phase"), "Bound");
	assert_string_equal(jpath_str(got, "metadata.uid"), "u");
	json_object_put(got);
	json_object_put(stored);
	json_object_put(m);
}

/* --- immutable fields --- */

/* k8s_check_update(stored, stored with path set to value). */
static int update(const char *base, const char *path, const char *value, char *err, size_t errlen)
{
	json_object *was = validated(base), *now = NULL;
	int r;

	json_object_deep_copy(was, &now, NULL);
	jpath_set(now, path, value ? J(value) : NULL);
	r = k8s_check_update(was, now, err, errlen);
	json_object_put(was);
	json_object_put(now);
	return r;
}

static void expect_refused(const char *base, const char *path, const char *value, const char *want)
{
	char err[512] = "";

	if (update(base, path, value, err, sizeof err) != -EINVAL)
		fail_msg("changing %s accepted", path);
	if (strcmp(err, want))
		fail_msg("changing %s: got\n  %s\nwant\n  %s", path, err, want);
}

static void expect_allowed(const char *base, const char *path, const char *value)
{
	char err[512] = "";

	if (update(base, path, value, err, sizeof err) != 0)
		fail_msg("changing %s refused: %s", path, err);
}

static const char CLAIM_IMMUTABLE[] =
	"spec: Forbidden: spec is immutable after creation except resources.requests for bound claims";

static void test_claim_spec_immutable(void **state)
{
	char want[256];

	(void)state;
	snprintf(want, sizeof want, "%s (spec.accessModes changed)", CLAIM_IMMUTABLE);
	expect_refused(PVC, "spec.accessModes", "['ReadWriteMany']", want);
	snprintf(want, sizeof want, "%s (spec.selector changed)", CLAIM_IMMUTABLE);
	expect_refused(PVC, "spec.selector", "{'matchLabels':{'a':'b'}}", want);
	snprintf(want, sizeof want, "%s (spec.resources changed)", CLAIM_IMMUTABLE);
	expect_refused(PVC, "spec.resources.limits", "{'storage':'1Gi'}", want);
	snprintf(want, sizeof want, "%s (spec.dataSource changed)", CLAIM_IMMUTABLE);
	expect_refused(PVC, "spec.dataSource", "{'kind':'PersistentVolumeClaim','name':'x'}", want);
	expect_allowed(PVC, "spec.resources.requests.storage", "'20Gi'");
	expect_allowed(PVC, "spec.resources.requests.storage", "'1Gi'"); /* shrinking is the API's call */
	expect_allowed(PVC, "status.phase", "'Bound'");
	expect_allowed(PVC, "metadata.labels", "{'a':'b'}");
	/* set once by the controller or the default-class admission */
	expect_allowed(PVC, "spec.volumeName", "'pv1'");
	expect_allowed(PVC, "spec.storageClassName", "'volfs'");
}

static void test_claim_set_once_fields(void **state)
{
	static const char bound[] =
		"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data'},"
		"'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'5Gi'}},"
		"'volumeName':'pv1','storageClassName':'fast'}}";
	char want[256];

	(void)state;
	snprintf(want, sizeof want, "%s (spec.volumeName changed)", CLAIM_IMMUTABLE);
	expect_refused(bound, "spec.volumeName", "'pv2'", want);
	snprintf(want, sizeof want, "%s (spec.storageClassName changed)", CLAIM_IMMUTABLE);
	expect_refused(bound, "spec.storageClassName", "''", want);
	expect_refused(bound, "spec.storageClassName", NULL, want);
	expect_allowed(bound, "spec.resources.requests.storage", "'6Gi'");
}

static void test_class_immutable(void **state)
{
	(void)state;
	expect_refused(SC, "provisioner", "'other.io/x'",
		       "provisioner: Forbidden: updates to provisioner are forbidden.");
	expect_refused(SC, "parameters", "{'a':'b'}",
		       "parameters: Forbidden: updates to parameters are forbidden.");
	expect_refused(SC, "reclaimPolicy", "'Retain'",
		       "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.");
	expect_refused(SC, "volumeBindingMode", "'WaitForFirstConsumer'",
		       "volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable");
	expect_allowed(SC, "allowVolumeExpansion", "true");
	expect_allowed(SC, "parameters", "{}");
	expect_allowed(SC, "mountOptions", "['ro']");
	expect_allowed(SC, "metadata.annotations", "{'storageclass.kubernetes.io/is-default-class':'true'}");
}

static void test_volume_immutable(void **state)
{
	static const char with_source[] =
		"{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1'},"
		"'spec':{'capacity':{'storage':'10Gi'},'accessModes':['ReadWriteOnce'],"
		"'hostPath':{'path':'/a'},'claimRef':{'name':'c'}}}";

	(void)state;
	expect_refused(with_source, "spec.hostPath.path", "'/b'",
		       "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is "
		       "immutable after creation");
	expect_refused(with_source, "spec.local", "{'path':'/b'}",
		       "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is "
		       "immutable after creation");
	expect_refused(with_source, "spec.volumeMode", "'Block'",
		       "spec.volumeMode: Invalid value: \"Block\": field is immutable");
	expect_allowed(with_source, "spec.capacity.storage", "'20Gi'");
	expect_allowed(with_source, "spec.claimRef", NULL);
	expect_allowed(with_source, "spec.persistentVolumeReclaimPolicy", "'Delete'");
	expect_allowed(with_source, "spec.accessModes", "['ReadWriteMany']");
}

static void test_snapshot_immutable(void **state)
{
	static const char vsc[] =
		"{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshotClass','metadata':"
		"{'name':'v'},'driver':'volfs.io/local','deletionPolicy':'Delete'}";
	static const char vs[] =
		"{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'},"
		"'spec':{'source':{'persistentVolumeClaimName':'a'}}}";
	static const char vs_class[] =
		"{'apiVersion':'snapshot.storage.k8s.io/v1','kind':'VolumeSnapshot','metadata':{'name':'s'},"
		"'spec':{'source':{'persistentVolumeClaimName':'a'},'volumeSnapshotClassName':'v'}}";

	(void)state;
	expect_refused(vsc, "driver", "'other'", "driver: Forbidden: updates to driver are forbidden.");
	expect_refused(vsc, "parameters", "{'a':'b'}",
		       "parameters: Forbidden: updates to parameters are forbidden.");
	expect_allowed(vsc, "deletionPolicy", "'Retain'");
	expect_refused(vs, "spec.source.persistentVolumeClaimName", "'b'",
		       "spec.source: Forbidden: spec.source is immutable after creation");
	expect_allowed(vs, "spec.volumeSnapshotClassName", "'v'");
	expect_refused(vs_class, "spec.volumeSnapshotClassName", "'w'",
		       "spec.volumeSnapshotClassName: Forbidden: spec.volumeSnapshotClassName is "
		       "immutable after creation");
}

static void test_identity_immutable(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(update(PVC, "metadata.name", "'other'", err, sizeof err), -EINVAL);
	assert_string_equal(err, "metadata.name: Invalid value: \"other\": field is immutable");
	assert_int_equal(update(PVC, "metadata.namespace", "'other'", err, sizeof err), -EINVAL);
	assert_int_equal(update(PVC, "kind", "'PersistentVolume'", err, sizeof err), -EINVAL);
	assert_string_equal(err, "kind: Invalid value: \"PersistentVolume\": field is immutable");
	expect_allowed("{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'q'}}", "spec.hard",
		       "{'requests.storage':'1Gi'}");
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_table),
		cmocka_unit_test(test_kind_spellings),
		cmocka_unit_test(test_paths_read),
		cmocka_unit_test(test_paths_write),
		cmocka_unit_test(test_annotation_true_only_for_true),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_claim_defaults),
		cmocka_unit_test(test_volume_defaults),
		cmocka_unit_test(test_class_defaults),
		cmocka_unit_test(test_other_kinds_accepted),
		cmocka_unit_test(test_stored_objects_revalidate),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_message_fits_small_buffer),
		cmocka_unit_test(test_hostile_input_stays_one_line),
		cmocka_unit_test(test_merge_new_object),
		cmocka_unit_test(test_merge_keeps_controller_fields),
		cmocka_unit_test(test_merge_removes_dropped_fields),
		cmocka_unit_test(test_merge_volume_keeps_claim_ref),
		cmocka_unit_test(test_merge_without_last_applied_removes_nothing),
		cmocka_unit_test(test_merge_ignores_status_in_last_applied),
		cmocka_unit_test(test_claim_spec_immutable),
		cmocka_unit_test(test_claim_set_once_fields),
		cmocka_unit_test(test_class_immutable),
		cmocka_unit_test(test_volume_immutable),
		cmocka_unit_test(test_snapshot_immutable),
		cmocka_unit_test(test_identity_immutable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
