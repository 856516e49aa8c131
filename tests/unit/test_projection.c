/*
 * tests/unit/test_projection.c — configMap, secret, downwardAPI and
 * projected volumes (meta/projection.c, with meta/configdata.c and
 * meta/downward.c): the files each gives a pod (all keys or items, modes,
 * optional sources, base64, downward API fields and resources, projected
 * merging) and what validation refuses; the ConfigMap and Secret kinds
 * and their immutable updates.
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

#include "meta/downward.h"
#include "meta/jsonobj.h"
#include "meta/projection.h"

static const char *POD =
	"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web','namespace':'shop','uid':'u-1',"
	"'labels':{'tier':'front','app':'web'},'annotations':{'note':'say \\\"hi\\\"\\n\\tbye',"
	"'build':'42'}},'spec':{'containers':[{'name':'app','resources':{'requests':{'cpu':'250m',"
	"'memory':'32Mi'},'limits':{'cpu':1,'memory':'64Mi'}}},{'name':'side','resources':"
	"{'limits':{'cpu':'500m','ephemeral-storage':'1Gi'}}},{'name':'bare'}],"
	"'initContainers':[{'name':'init','resources':{'requests':{'cpu':0.5}}}]}}";

static const char *CMS =
	"[{'kind':'ConfigMap','metadata':{'name':'conf'},'data':{'app.conf':'a=1\\n','mode':'fast'},"
	"'binaryData':{'blob':'AAEC'}},"
	"{'kind':'ConfigMap','metadata':{'name':'other'},'data':{'app.conf':'other\\n'}}]";

/* data: pw "s3cr3t", bin "\0\1\2\377", user "root" (overridden by stringData) */
static const char *SECRETS =
	"[{'kind':'Secret','metadata':{'name':'creds'},'type':'Opaque','data':{'pw':'czNjcjN0',"
	"'bin':'AAEC/w==','user':'cm9vdA=='},'stringData':{'user':'admin'}}]";

/* The files of vol (JSON text) for POD, CMS and SECRETS; asserts success. */
static json_object *files_of(const char *vol)
{
	json_object *pod = J(POD), *v = J(vol), *cms = J(CMS), *secrets = J(SECRETS), *files;
	char err[256] = "";
	int r = projection_files(pod, v, cms, secrets, &files, err, sizeof err);

	if (r != 0)
		fail_msg("projection_files: %d %s", r, err);
	json_object_put(pod);
	json_object_put(v);
	json_object_put(cms);
	json_object_put(secrets);
	return files;
}

/* projection_files fails with code and a message containing want. */
static void files_fail(const char *vol, int code, const char *want)
{
	json_object *pod = J(POD), *v = J(vol), *cms = J(CMS), *secrets = J(SECRETS), *files;
	char err[256] = "";
	int r = projection_files(pod, v, cms, secrets, &files, err, sizeof err);

	assert_int_equal(r, -code);
	assert_null(files);
	if (!strstr(err, want))
		fail_msg("message \"%s\" lacks \"%s\"", err, want);
	json_object_put(pod);
	json_object_put(v);
	json_object_put(cms);
	json_object_put(secrets);
}

static json_object *field(json_object *f, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(f, key, &v);
	return v;
}

/* files[i] is path with mode and exactly these len bytes. */
static void expect_file(json_object *files, size_t i, const char *path, int mode, const char *data,
			size_t len)
{
	json_object *f = json_object_array_get_idx(files, i), *d = field(f, "data");

	if (!f)
		fail_msg("no file %zu (want %s)", i, path);
	assert_string_equal(json_object_get_string(field(f, "path")), path);
	assert_int_equal(json_object_get_int(field(f, "mode")), mode);
	assert_int_equal(json_object_get_string_len(d), len);
	assert_memory_equal(json_object_get_string(d), data, len);
}

#define EXPECT(files, i, path, mode, text) expect_file(files, i, path, mode, text, strlen(text))

static void expect_count(json_object *files, size_t n)
{
	assert_int_equal(json_object_array_length(files), n);
}

/* --- configMap --- */

static void test_configmap_all_keys(void **state)
{
	json_object *f = files_of("{'name':'c','configMap':{'name':'conf'}}");

	(void)state;
	expect_count(f, 3);
	EXPECT(f, 0, "app.conf", 0644, "a=1\n");
	expect_file(f, 1, "blob", 0644, "\0\1\2", 3);
	EXPECT(f, 2, "mode", 0644, "fast");
	json_object_put(f);
}

static void test_configmap_items_and_modes(void **state)
{
	json_object *f = files_of("{'name':'c','configMap':{'name':'conf','defaultMode':256,'items':["
				  "{'key':'mode','path':'etc/mode.txt'},"
				  "{'key':'app.conf','path':'app.conf','mode':384}]}}");

	(void)state;
	expect_count(f, 2);
	EXPECT(f, 0, "app.conf", 0600, "a=1\n");
	EXPECT(f, 1, "etc/mode.txt", 0400, "fast");
	json_object_put(f);
}

static void test_paths_come_out_clean(void **state)
{
	json_object *f = files_of("{'name':'c','configMap':{'name':'conf','items':["
				  "{'key':'mode','path':'a//./b'}]}}");

	(void)state;
	expect_count(f, 1);
	EXPECT(f, 0, "a/b", 0644, "fast");
	json_object_put(f);
}

static void test_optional_and_missing(void **state)
{
	json_object *f;

	(void)state;
	f = files_of("{'name':'c','configMap':{'name':'absent','optional':true}}");
	expect_count(f, 0);
	json_object_put(f);
	f = files_of("{'name':'c','configMap':{'name':'conf','optional':true,'items':["
		     "{'key':'nope','path':'x'},{'key':'mode','path':'m'}]}}");
	expect_count(f, 1);
	EXPECT(f, 0, "m", 0644, "fast");
	json_object_put(f);
	files_fail("{'name':'c','configMap':{'name':'absent'}}", ENOENT, "configmap \"absent\" not found");
	files_fail("{'name':'c','configMap':{'name':'conf','items':[{'key':'x','path':'x'}]}}", ENOENT,
		   "configmap \"conf\" has no key \"x\"");
	files_fail("{'name':'s','secret':{'secretName':'gone'}}", ENOENT, "secret \"gone\" not found");
	files_fail("{'name':'s','secret':{'secretName':'creds','items':[{'key':'token','path':'t'}]}}",
		   ENOENT, "secret \"creds\" has no key \"token\"");
}

static void test_null_object_lists(void **state)
{
	json_object *pod = J(POD), *v = J("{'name':'c','configMap':{'name':'conf'}}"), *files;
	char err[128];

	(void)state;
	assert_int_equal(projection_files(pod, v, NULL, NULL, &files, err, sizeof err), -ENOENT);
	json_object_put(v);
	v = J("{'name':'c','configMap':{'name':'conf','optional':true}}");
	assert_int_equal(projection_files(pod, v, NULL, NULL, &files, err, sizeof err), 0);
	expect_count(files, 0);
	json_object_put(files);
	json_object_put(v);
	json_object_put(pod);
}

/* --- secret --- */

static void test_secret_decodes_and_merges_string_data(void **state)
{
	json_object *f = files_of("{'name':'s','secret':{'secretName':'creds','defaultMode':256}}");

	(void)state;
	expect_count(f, 3);
	expect_file(f, 0, "bin", 0400, "\0\1\2\377", 4);
	EXPECT(f, 1, "pw", 0400, "s3cr3t");
	EXPECT(f, 2, "user", 0400, "admin");
	json_object_put(f);
	f = files_of("{'name':'s','secret':{'secretName':'creds','items':[{'key':'user','path':'u'},"
		     "{'key':'bin','path':'b','mode':288}]}}");
	expect_count(f, 2);
	expect_file(f, 0, "b", 0440, "\0\1\2\377", 4);
	EXPECT(f, 1, "u", 0644, "admin");
	json_object_put(f);
}

/* secret_validate fails naming want; the value never shows. */
static void secret_refused(const char *secret, const char *want, const char *hidden)
{
	json_object *s = J(secret);
	char err[512] = "";

	unit_expect_message(secret_validate(s, err, sizeof err), err, want);
	if (hidden && strstr(err, hidden))
		fail_msg("message \"%s\" shows the secret value", err);
	json_object_put(s);
}

static void test_secret_validation(void **state)
{
	json_object *s = J("{'kind':'Secret','metadata':{'name':'s'},'data':{'a':'','b':'YQ==',"
			   "'c':'YWI=','d':'YWJj','e':'YW\\r\\nJj'}}");
	char err[256] = "";

	(void)state;
	assert_int_equal(secret_validate(s, err, sizeof err), 0);
	assert_string_equal(json_object_get_string(field(s, "type")), "Opaque");
	json_object_put(s);
	secret_refused("{'data':{'pw':'c2VjcmV0!'}}", "data[pw]: Invalid value: illegal base64 data at "
		       "input byte 8", "c2VjcmV0");
	secret_refused("{'data':{'pw':'YQ'}}", "data[pw]: Invalid value: illegal base64", NULL);
	secret_refused("{'data':{'pw':'YQ=a'}}", "illegal base64 data at input byte 2", NULL);
	secret_refused("{'data':{'pw':'YQ==YQ=='}}", "illegal base64 data at input byte 2", NULL);
	secret_refused("{'data':{'pw':'Y Q=='}}", "illegal base64 data at input byte 1", NULL);
	secret_refused("{'stringData':{'pin':12345}}", "stringData[pin]: Invalid value: must be a string",
		       "12345");
	secret_refused("{'data':{'..data':'YQ=='}}", "data[..data]: Invalid value: \"..data\": must not "
		       "start with '..'", NULL);
	secret_refused("{'type':'kubernetes.io/tls','data':{'tls.crt':'YQ=='}}", "data[tls.key]: "
		       "Required value", NULL);
	secret_refused("{'type':'kubernetes.io/basic-auth'}", "data[username]: Required value", NULL);
	secret_refused("{'type':7}", "type: Invalid value: 7: must be a string", NULL);
	secret_refused("{'immutable':'yes'}", "immutable: Invalid value: \"yes\": must be a boolean", NULL);
	s = J("{'type':'kubernetes.io/tls','stringData':{'tls.crt':'c','tls.key':'k'}}");
	assert_int_equal(secret_validate(s, err, sizeof err), 0);
	json_object_put(s);
}

/* stringData is folded into data, base64, over a data entry of the same
 * key, and not kept: get shows what kubectl shows. */
static void test_secret_string_data_folds_into_data(void **state)
{
	json_object *s = J("{'data':{'user':'cm9vdA==','pw':'czNjcjN0'},'stringData':{'user':'admin','pin':''}}");
	char err[256];

	(void)state;
	assert_int_equal(secret_validate(s, err, sizeof err), 0);
	assert_null(json_member(s, "stringData"));
	assert_string_equal(json_object_get_string(json_member(json_member(s, "data"), "user")), "YWRtaW4=");
	assert_string_equal(json_object_get_string(json_member(json_member(s, "data"), "pw")), "czNjcjN0");
	assert_string_equal(json_object_get_string(json_member(json_member(s, "data"), "pin")), "");
	json_object_put(s);
}

/* --- ConfigMap kind --- */

static void configmap_refused(const char *cm, const char *want)
{
	json_object *o = J(cm);
	char err[512] = "";

	unit_expect_message(configmap_validate(o, err, sizeof err), err, want);
	json_object_put(o);
}

static void test_configmap_validation(void **state)
{
	json_object *o = J("{'data':{'a.conf':'x','KEY_1':'','-._':'y'},'binaryData':{'b':'AAEC'},"
			   "'immutable':true}");
	char err[256] = "", *big;
	size_t n = (1 << 20) + 1;

	(void)state;
	assert_int_equal(configmap_validate(o, err, sizeof err), 0);
	json_object_put(o);
	configmap_refused("{'data':{'a/b':'x'}}", "data[a/b]: Invalid value: \"a/b\": a valid config key");
	configmap_refused("{'data':{'.':'x'}}", "must not be '.'");
	configmap_refused("{'data':{'..':'x'}}", "must not be '..'");
	configmap_refused("{'data':{'n':1}}", "data[n]: Invalid value: 1: must be a string");
	configmap_refused("{'data':['x']}", "data: Invalid value: must be a map");
	configmap_refused("{'binaryData':{'b':'AA=B'}}", "binaryData[b]: Invalid value: illegal base64");
	configmap_refused("{'data':{'k':'x'},'binaryData':{'k':'AAEC'}}",
			  "binaryData[k]: Invalid value: \"k\": duplicate of key present in data");
	big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	o = json_object_new_object();
	json_object_object_add(o, "data", json_object_new_object());
	json_object_object_add(field(o, "data"), "big", json_object_new_string(big));
	assert_int_equal(configmap_validate(o, err, sizeof err), -EINVAL);
	assert_string_equal(err, "data: Too long: must have at most 1048576 bytes");
	json_object_put(o);
	free(big);
}

static void test_immutable_updates(void **state)
{
	json_object *was = J("{'data':{'a':'1'},'immutable':true}"), *now = J("{'data':{'a':'2'},"
									      "'immutable':true}");
	json_object *same = J("{'data':{'a':'1'},'immutable':true}"), *thaw = J("{'data':{'a':'1'}}");
	json_object *s1 = J("{'type':'Opaque','data':{'a':'YQ=='}}");
	json_object *s2 = J("{'type':'kubernetes.io/tls','data':{'a':'YQ=='}}");
	char err[256] = "";

	(void)state;
	assert_int_equal(configmap_check_update(was, same, err, sizeof err), 0);
	assert_int_equal(configmap_check_update(was, now, err, sizeof err), -EINVAL);
	assert_string_equal(err, "data: Forbidden: field is immutable when `immutable` is set");
	assert_int_equal(configmap_check_update(was, thaw, err, sizeof err), -EINVAL);
	assert_string_equal(err, "immutable: Forbidden: field is immutable when `immutable` is set");
	assert_int_equal(configmap_check_update(thaw, now, err, sizeof err), 0);
	assert_int_equal(secret_check_update(s1, s1, err, sizeof err), 0);
	assert_int_equal(secret_check_update(s1, s2, err, sizeof err), -EINVAL);
	assert_string_equal(err, "type: Invalid value: \"kubernetes.io/tls\": field is immutable");
	assert_int_equal(secret_check_update(was, now, err, sizeof err), -EINVAL);
	json_object_put(was);
	json_object_put(now);
	json_object_put(same);
	json_object_put(thaw);
	json_object_put(s1);
	json_object_put(s2);
}

/* --- downwardAPI --- */

static void test_downward_fields(void **state)
{
	json_object *f = files_of(
		"{'name':'d','downwardAPI':{'defaultMode':292,'items':["
		"{'path':'name','fieldRef':{'fieldPath':'metadata.name'}},"
		"{'path':'ns','fieldRef':{'apiVersion':'v1','fieldPath':'metadata.namespace'}},"
		"{'path':'uid','fieldRef':{'fieldPath':'metadata.uid'},'mode':256},"
		"{'path':'labels','fieldRef':{'fieldPath':'metadata.labels'}},"
		"{'path':'annotations','fieldRef':{'fieldPath':'metadata.annotations'}},"
		"{'path':'tier','fieldRef':{'fieldPath':'metadata.labels[\\u0027tier\\u0027]'}},"
		"{'path':'none','fieldRef':{'fieldPath':'metadata.labels[\\u0027zone\\u0027]'}},"
		"{'path':'note','fieldRef':{'fieldPath':'metadata.annotations[\\u0027note\\u0027]'}}]}}");

	(void)state;
	expect_count(f, 8);
	/* kubelet's FormatMap: sorted, Go-quoted, no newline after the last line */
	EXPECT(f, 0, "annotations", 0444, "build=\"42\"\nnote=\"say \\\"hi\\\"\\n\\tbye\"");
	EXPECT(f, 1, "labels", 0444, "app=\"web\"\ntier=\"front\"");
	EXPECT(f, 2, "name", 0444, "web");
	EXPECT(f, 3, "none", 0444, "");
	EXPECT(f, 4, "note", 0444, "say \"hi\"\n\tbye");
	EXPECT(f, 5, "ns", 0444, "shop");
	EXPECT(f, 6, "tier", 0444, "front");
	EXPECT(f, 7, "uid", 0400, "u-1");
	json_object_put(f);
}

static void test_downward_quotes_as_go(void **state)
{
	json_object *pod = J("{'metadata':{'name':'p','annotations':{'a':'caf\\u00e9 \\u0001 \\u007f',"
			     "'b':'\\u00a0\\u2028\\ud83d\\ude00'}}}");
	json_object *vol = J("{'name':'d','downwardAPI':{'items':[{'path':'a','fieldRef':"
			     "{'fieldPath':'metadata.annotations'}}]}}"), *files;
	char err[128];

	(void)state;
	json_object_object_add(json_object_object_get(pod, "metadata"), "labels",
			       json_object_new_object());
	json_object_object_add(json_object_object_get(json_object_object_get(pod, "metadata"),
						      "labels"), "bad", json_object_new_string("\xff"));
	assert_int_equal(projection_files(pod, vol, NULL, NULL, &files, err, sizeof err), 0);
	EXPECT(files, 0, "a", 0644, "a=\"café \\x01 \\x7f\"\nb=\"\\u00a0\\u2028\xf0\x9f\x98\x80\"");
	json_object_put(files);
	json_object_put(vol);
	vol = J("{'name':'d','downwardAPI':{'items':[{'path':'l','fieldRef':"
		"{'fieldPath':'metadata.labels'}}]}}");
	assert_int_equal(projection_files(pod, vol, NULL, NULL, &files, err, sizeof err), 0);
	EXPECT(files, 0, "l", 0644, "bad=\"\\xff\"");
	json_object_put(files);
	json_object_put(vol);
	json_object_put(pod);
}

#define RES(path, container, resource, divisor)                                                   \
	"{'path':'" path "','resourceFieldRef':{'containerName':'" container "','resource':'"      \
	resource "'" divisor "}}"

static void test_downward_resources(void **state)
{
	struct downward_allocatable node = { 8000, 16ULL << 30, 100ULL << 30 };
	json_object *f;

	(void)state;
	downward_set_allocatable(&node);
	f = files_of("{'name':'r','downwardAPI':{'items':["
		     RES("a-mem-mi", "app", "limits.memory", ",'divisor':'1Mi'") ","
		     RES("b-cpu-m", "app", "requests.cpu", ",'divisor':'1m'") ","
		     RES("c-cpu-1", "app", "requests.cpu", ",'divisor':1") ","
		     RES("d-cpu-limit", "app", "limits.cpu", "") ","
		     RES("e-mem-req", "app", "requests.memory", "") ","
		     RES("f-req-from-limit", "side", "requests.cpu", ",'divisor':'1m'") ","
		     RES("g-req-unset", "bare", "requests.memory", "") ","
		     RES("h-limit-node-cpu", "bare", "limits.cpu", ",'divisor':'1m'") ","
		     RES("i-limit-node-mem", "bare", "limits.memory", ",'divisor':'1Gi'") ","
		     RES("j-eph", "side", "limits.ephemeral-storage", ",'divisor':'1M'") ","
		     RES("k-eph-node", "app", "limits.ephemeral-storage", ",'divisor':'1Gi'") ","
		     RES("l-init", "init", "requests.cpu", ",'divisor':'1m'") "]}}");
	expect_count(f, 12);
	EXPECT(f, 0, "a-mem-mi", 0644, "64");
	EXPECT(f, 1, "b-cpu-m", 0644, "250");
	EXPECT(f, 2, "c-cpu-1", 0644, "1");  /* 250m in cores rounds up */
	EXPECT(f, 3, "d-cpu-limit", 0644, "1");
	EXPECT(f, 4, "e-mem-req", 0644, "33554432");
	EXPECT(f, 5, "f-req-from-limit", 0644, "500");
	EXPECT(f, 6, "g-req-unset", 0644, "0");
	EXPECT(f, 7, "h-limit-node-cpu", 0644, "8000");
	EXPECT(f, 8, "i-limit-node-mem", 0644, "16");
	EXPECT(f, 9, "j-eph", 0644, "1074");  /* 1Gi = 1073.74 MB, up */
	EXPECT(f, 10, "k-eph-node", 0644, "100");
	EXPECT(f, 11, "l-init", 0644, "500");
	json_object_put(f);
	files_fail("{'name':'r','downwardAPI':{'items':[" RES("x", "ghost", "limits.cpu", "") "]}}",
		   ENOENT, "container \"ghost\" not found");
	downward_set_allocatable(NULL);
}

static void test_downward_node_defaults(void **state)
{
	json_object *f = files_of("{'name':'r','downwardAPI':{'items':["
				  RES("cpu", "bare", "limits.cpu", "") ","
				  RES("mem", "bare", "limits.memory", "") "]}}");

	(void)state;
	/* the machine's own: at least one CPU and some memory */
	assert_true(atoi(json_object_get_string(field(json_object_array_get_idx(f, 0), "data"))) >= 1);
	assert_true(atoll(json_object_get_string(field(json_object_array_get_idx(f, 1), "data"))) > 0);
	json_object_put(f);
}

static void test_bad_container_quantity(void **state)
{
	json_object *pod = J("{'spec':{'containers':[{'name':'c','resources':{'limits':"
			     "{'memory':'lots'}}}]}}");
	json_object *vol = J("{'name':'r','downwardAPI':{'items':[" RES("m", "c", "limits.memory", "")
			     "]}}"), *files;
	char err[256] = "";

	(void)state;
	assert_int_equal(projection_files(pod, vol, NULL, NULL, &files, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "resources.limits.memory: Invalid value"));
	json_object_put(pod);
	json_object_put(vol);
}

/* --- projected --- */

static void test_projected_merges_sources(void **state)
{
	json_object *f = files_of(
		"{'name':'all','projected':{'defaultMode':288,'sources':["
		"{'configMap':{'name':'conf','items':[{'key':'app.conf','path':'app.conf'}]}},"
		"{'secret':{'name':'creds','items':[{'key':'pw','path':'secret/pw','mode':256}]}},"
		"{'downwardAPI':{'items':[{'path':'pod/name','fieldRef':{'fieldPath':'metadata.name'}}]}},"
		"{'configMap':{'name':'absent','optional':true}}]}}");

	(void)state;
	expect_count(f, 3);
	EXPECT(f, 0, "app.conf", 0440, "a=1\n");
	EXPECT(f, 1, "pod/name", 0440, "web");
	EXPECT(f, 2, "secret/pw", 0400, "s3cr3t");
	json_object_put(f);
}

static void test_projected_later_source_wins(void **state)
{
	/* Both give app.conf (no items: validation cannot see the clash). */
	json_object *f = files_of("{'name':'all','projected':{'sources':["
				  "{'configMap':{'name':'conf'}},{'configMap':{'name':'other'}}]}}");

	(void)state;
	expect_count(f, 3);
	EXPECT(f, 0, "app.conf", 0644, "other\n");
	json_object_put(f);
	f = files_of("{'name':'all','projected':{'sources':[{'configMap':{'name':'other'}},"
		     "{'configMap':{'name':'conf'}}]}}");
	EXPECT(f, 0, "app.conf", 0644, "a=1\n");
	json_object_put(f);
}

static void test_file_and_directory_clash(void **state)
{
	(void)state;
	files_fail("{'name':'all','projected':{'sources':[{'configMap':{'name':'conf'}},"
		   "{'secret':{'name':'creds','items':[{'key':'pw','path':'mode/pw'}]}}]}}", EINVAL,
		   "projected file \"mode\" would also be the directory of \"mode/pw\"");
}

static void test_projection_uses(void **state)
{
	json_object *cm = J("{'name':'c','configMap':{'name':'conf'}}");
	json_object *sec = J("{'name':'s','secret':{'secretName':'creds'}}");
	json_object *proj = J("{'name':'p','projected':{'sources':[{'configMap':{'name':'a'}},"
			      "{'secret':{'name':'b'}},{'downwardAPI':{'items':[]}}]}}");
	json_object *dw = J("{'name':'d','downwardAPI':{'items':[]}}");

	(void)state;
	assert_true(projection_uses(cm, "ConfigMap", "conf"));
	assert_false(projection_uses(cm, "Secret", "conf"));
	assert_false(projection_uses(cm, "ConfigMap", "other"));
	assert_true(projection_uses(sec, "Secret", "creds"));
	assert_false(projection_uses(sec, "ConfigMap", "creds"));
	assert_true(projection_uses(proj, "ConfigMap", "a"));
	assert_true(projection_uses(proj, "Secret", "b"));
	assert_false(projection_uses(proj, "Secret", "a"));
	assert_false(projection_uses(dw, "ConfigMap", "a"));
	assert_int_equal(projection_is(cm), 1);
	assert_int_equal(projection_is(dw), 1);
	json_object_put(cm);
	json_object_put(sec);
	json_object_put(proj);
	json_object_put(dw);
}

/* --- validation of volumes --- */

static void valid(const char *vol)
{
	json_object *v = J(vol);
	char err[512] = "";

	if (projection_validate(v, "spec.volumes[0]", err, sizeof err) != 0)
		fail_msg("refused %s: %s", vol, err);
	json_object_put(v);
}

static void invalid(const char *vol, const char *want)
{
	json_object *v = J(vol);
	char err[512] = "";

	unit_expect_message(projection_validate(v, "spec.volumes[0]", err, sizeof err), err, want);
	json_object_put(v);
}

static void test_valid_volumes(void **state)
{
	(void)state;
	valid("{'name':'c','configMap':{'name':'conf','defaultMode':511,'optional':false,'items':["
	      "{'key':'a','path':'x/y.conf','mode':0},{'key':'b','path':'.hidden'}]}}");
	valid("{'name':'s','secret':{'secretName':'creds'}}");
	valid("{'name':'d','downwardAPI':{'items':[{'path':'l','fieldRef':"
	      "{'fieldPath':'metadata.annotations[\\u0027Example.com/Key\\u0027]'}},"
	      RES("m", "app", "limits.memory", ",'divisor':'1Ki'") ","
	      RES("c", "app", "requests.cpu", ",'divisor':'1000m'") "]}}");
	valid("{'name':'p','projected':{'defaultMode':420,'sources':[{'configMap':{'name':'a'}},"
	      "{'secret':{'name':'b','items':[{'key':'k','path':'k'}]}},"
	      "{'downwardAPI':{'items':[{'path':'n','fieldRef':{'fieldPath':'metadata.name'}}]}}]}}");
}

static void test_paths_refused(void **state)
{
	(void)state;
	invalid("{'name':'c','configMap':{'name':'conf','items':[{'key':'a','path':'../x'}]}}",
		"spec.volumes[0].configMap.items[0].path: Invalid value: \"../x\": must not contain '..'");
	invalid("{'name':'c','configMap':{'name':'conf','items':[{'key':'a','path':'/abs'}]}}",
		"spec.volumes[0].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path");
	invalid("{'name':'c','configMap':{'name':'conf','items':[{'key':'a','path':'a/../../b'}]}}",
		"must not contain '..'");
	invalid("{'name':'c','configMap':{'name':'conf','items':[{'key':'a','path':'..data'}]}}",
		"must not start with '..'");
	invalid("{'name':'c','configMap':{'name':'conf','items':[{'key':'a','path':''}]}}",
		"spec.volumes[0].configMap.items[0].path: Required value");
	invalid("{'name':'c','configMap':{'name':'conf','items':[{'key':'a','path':'./'}]}}",
		"must name a file");
	invalid("{'name':'c','configMap':{'name':'conf','items':[{'path':'a'}]}}",
		"spec.volumes[0].configMap.items[0].key: Required value");
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'/etc/x','fieldRef':"
		"{'fieldPath':'metadata.name'}}]}}", "downwardAPI.items[0].path: Invalid value");
}

static void test_modes_refused(void **state)
{
	(void)state;
	invalid("{'name':'c','configMap':{'name':'conf','defaultMode':512}}",
		"spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 "
		"and 0777 (octal), both inclusive");
	invalid("{'name':'c','configMap':{'name':'conf','defaultMode':644}}", "defaultMode: Invalid value: 644");
	invalid("{'name':'c','configMap':{'name':'conf','defaultMode':-1}}", "defaultMode: Invalid value: -1");
	invalid("{'name':'c','configMap':{'name':'conf','defaultMode':'0644'}}",
		"defaultMode: Invalid value: \"0644\"");
	invalid("{'name':'s','secret':{'secretName':'s','items':[{'key':'a','path':'a','mode':1000}]}}",
		"spec.volumes[0].secret.items[0].mode: Invalid value: 1000");
	invalid("{'name':'p','projected':{'defaultMode':4095,'sources':[]}}", "projected.defaultMode");
}

static void test_sources_refused(void **state)
{
	(void)state;
	invalid("{'name':'c','configMap':{}}", "spec.volumes[0].configMap.name: Required value");
	invalid("{'name':'c','configMap':{'name':'Bad_Name'}}", "configMap.name: Invalid value");
	invalid("{'name':'s','secret':{'name':'creds'}}", "spec.volumes[0].secret.secretName: Required value");
	invalid("{'name':'c','configMap':{'name':'c','optional':'yes'}}", "configMap.optional: Invalid value");
	invalid("{'name':'c','configMap':{'name':'c','items':{}}}", "configMap.items: Invalid value");
	invalid("{'name':'c','configMap':{'name':'c'},'secret':{'secretName':'s'}}",
		"may not specify more than 1 volume type");
	invalid("{'name':'p','projected':{'sources':[{'serviceAccountToken':{'path':'token'}}]}}",
		"spec.volumes[0].projected.sources[0].serviceAccountToken: Unsupported value: "
		"serviceAccountToken sources are not supported");
	invalid("{'name':'p','projected':{'sources':[{}]}}",
		"spec.volumes[0].projected.sources[0]: Required value");
	invalid("{'name':'p','projected':{'sources':[{'configMap':{'name':'a'},'secret':{'name':'b'}}]}}",
		"sources[0]: Forbidden: may not specify more than 1 volume type");
	invalid("{'name':'p','projected':{'sources':[{'configMap':{'name':'a','defaultMode':420}}]}}",
		"sources[0].configMap.defaultMode: unknown field");
	invalid("{'name':'p','projected':{'sources':[{'configMap':{'name':'a','items':[{'key':'k','path':'x'}]}},"
		"{'secret':{'name':'b','items':[{'key':'k','path':'./x'}]}}]}}",
		"sources[1].secret.items[0].path: Invalid value: \"./x\": conflicting duplicate paths");
}

static void test_downward_refused(void **state)
{
	(void)state;
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'n','fieldRef':{'fieldPath':'spec.nodeName'}}]}}",
		"spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: \"spec.nodeName\"");
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'n','fieldRef':"
		"{'fieldPath':'metadata.labels[\\u0027bad key\\u0027]'}}]}}", "fieldRef.fieldPath: Invalid value");
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'n','fieldRef':"
		"{'fieldPath':'metadata.name[\\u0027x\\u0027]'}}]}}", "only metadata.labels and metadata.annotations");
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'n','fieldRef':{'fieldPath':'metadata.name',"
		"'apiVersion':'v2'}}]}}", "fieldRef.apiVersion: Unsupported value");
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'n'}]}}",
		"downwardAPI.items[0]: Required value: one of fieldRef and resourceFieldRef");
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'n','fieldRef':{'fieldPath':'metadata.name'},"
		"'resourceFieldRef':{'containerName':'app','resource':'limits.cpu'}}]}}",
		"can not be specified simultaneously");
	invalid("{'name':'d','downwardAPI':{'items':[{'path':'n','resourceFieldRef':{'resource':'limits.cpu'}}]}}",
		"resourceFieldRef.containerName: Required value");
	invalid("{'name':'d','downwardAPI':{'items':[" RES("n", "app", "limits.gpu", "") "]}}",
		"resourceFieldRef.resource: Unsupported value: \"limits.gpu\"");
	invalid("{'name':'d','downwardAPI':{'items':[" RES("n", "app", "limits.cpu", ",'divisor':'1Mi'") "]}}",
		"resourceFieldRef.divisor: Invalid value: \"1Mi\": only divisor's values 1m and 1 are supported "
		"with the cpu resource");
	invalid("{'name':'d','downwardAPI':{'items':[" RES("n", "app", "limits.memory", ",'divisor':'2Mi'") "]}}",
		"resourceFieldRef.divisor: Invalid value: \"2Mi\"");
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configmap_all_keys),
		cmocka_unit_test(test_configmap_items_and_modes),
		cmocka_unit_test(test_paths_come_out_clean),
		cmocka_unit_test(test_optional_and_missing),
		cmocka_unit_test(test_null_object_lists),
		cmocka_unit_test(test_secret_decodes_and_merges_string_data),
		cmocka_unit_test(test_secret_validation),
		cmocka_unit_test(test_secret_string_data_folds_into_data),
		cmocka_unit_test(test_configmap_validation),
		cmocka_unit_test(test_immutable_updates),
		cmocka_unit_test(test_downward_fields),
		cmocka_unit_test(test_downward_quotes_as_go),
		cmocka_unit_test(test_downward_resources),
		cmocka_unit_test(test_downward_node_defaults),
		cmocka_unit_test(test_bad_container_quantity),
		cmocka_unit_test(test_projected_merges_sources),
		cmocka_unit_test(test_projected_later_source_wins),
		cmocka_unit_test(test_file_and_directory_clash),
		cmocka_unit_test(test_projection_uses),
		cmocka_unit_test(test_valid_volumes),
		cmocka_unit_test(test_paths_refused),
		cmocka_unit_test(test_modes_refused),
		cmocka_unit_test(test_sources_refused),
		cmocka_unit_test(test_downward_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
