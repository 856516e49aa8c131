/*
 * tools/verbs_apply.c — the verbs that make, change and remove objects:
 * apply -f and delete -f with Kubernetes manifests, and the imperative
 * create and resize of volumes and claims. Manifests are read completely
 * (tools/manifest.c) before anything is sent, so a broken file changes
 * nothing; the daemon then applies each file all or nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tools/fields.h"
#include "tools/manifest.h"
#include "tools/verbs.h"

/* ------------------------------------------------------------------ */
/* reading -f files */

/* The objects of one file: the daemon gets one request per file. */
struct batch {
	char *source;
	struct json_object *objects;
};

struct batches {
	struct batch *b;
	size_t n, cap, total;
};

static void batches_free(struct batches *bs)
{
	for (size_t i = 0; i < bs->n; i++) {
		free(bs->b[i].source);
		json_object_put(bs->b[i].objects);
	}
	free(bs->b);
}

static int read_one(const char *path, struct batches *bs)
{
	struct json_object *objects = json_object_new_array();
	char err[1024];

	if (manifest_read_file(path, objects, err, sizeof err) < 0) {
		json_object_put(objects);
		return cli_fail("%s", err);
	}
	if (bs->n == bs->cap) {
		bs->cap = bs->cap ? 2 * bs->cap : 8;
		bs->b = realloc(bs->b, bs->cap * sizeof *bs->b);
		if (!bs->b)
			abort();
	}
	bs->b[bs->n].source = strdup(manifest_source_name(path));
	if (!bs->b[bs->n].source)
		abort();
	bs->b[bs->n++].objects = objects;
	bs->total += json_object_array_length(objects);
	return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int manifest_entry(const struct dirent *d)
{
	return d->d_name[0] != '.' && (has_suffix(d->d_name, ".yaml") || has_suffix(d->d_name, ".yml") ||
				       has_suffix(d->d_name, ".json"));
}

/* A directory, as kubectl reads it: its .yaml, .yml and .json files in
 * name order, not recursing. */
static int read_dir(const char *dir, struct batches *bs)
{
	struct dirent **names;
	int n = scandir(dir, &names, manifest_entry, alphasort), rc = 0;
	size_t len = strlen(dir);

	if (n < 0)
		return cli_fail("%s: %m", dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	for (int i = 0; i < n; i++) {
		char *path;

		if (rc == 0) {
			if (asprintf(&path, "%.*s/%s", (int)len, dir, names[i]->d_name) < 0)
				abort();
			rc = read_one(path, bs);
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Every -f, in order. "-" (stdin) can be read only once. */
static int read_files(const struct invocation *inv, struct batches *bs, const char *verb)
{
	int stdin_seen = 0;
	struct stat st;

	memset(bs, 0, sizeof *bs);
	if (inv->npos)
		return cli_fail("%s -f takes no other arguments (got \"%s\"); see 'volctl %s --help'", verb,
			    inv->pos[0], verb);
	for (size_t i = 0; i < inv->nfiles; i++) {
		const char *path = inv->files[i];
		int rc;

		if (!*path)
			return cli_fail("-f needs a file name or -");
		if (strcmp(path, "-") == 0 && stdin_seen++)
			return cli_fail("-f - (standard input) can be given only once");
		if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rc = read_dir(path, bs);
		else
			rc = read_one(path, bs);
		if (rc)
			return 1;
	}
	if (bs->total == 0)
		return cli_fail("no objects passed to %s", verb);
	return 0;
}

/* ------------------------------------------------------------------ */
/* apply and delete -f */

/* kubectl's "TYPE/NAME" of an answer item; TYPE is group-qualified. */
static void item_ref(struct json_object *item, char *buf, size_t len)
{
	const char *kind = json_path_str(item, "kind", "");
	const struct k8s_kind *k = k8s_kind_lookup(kind, K8S_KIND_TYPED);
	char type[128];

	if (k) {
		k8s_kind_qualified(k, type, sizeof type);
	} else {
		snprintf(type, sizeof type, "%s", kind);
		for (char *p = type; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	}
	snprintf(buf, len, "%s/%s", type, json_path_str(item, "name", ""));
}

static void print_applied(struct json_object *result, enum output_format fmt)
{
	struct json_object *items = cli_result_array(result, "items");
	char ref[512];

	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);

		item_ref(it, ref, sizeof ref);
		if (fmt == OUTPUT_NAME)
			printf("%s\n", ref);
		else
			printf("%s %s\n", ref, json_path_str(it, "action", "configured"));
	}
	json_object_put(items);
}

static void print_deleted(struct json_object *result)
{
	struct json_object *items = cli_result_array(result, "items");

	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		const struct k8s_kind *k =
			k8s_kind_lookup(json_path_str(it, "kind", ""), K8S_KIND_TYPED);

		printf("%s \"%s\" %s\n", k ? k->singular : json_path_str(it, "kind", ""),
		       json_path_str(it, "name", ""), json_path_str(it, "action", "deleted"));
	}
	json_object_put(items);
}

/* -n for manifests: only sent when given, for objects that name none. */
static int manifest_namespace(const struct invocation *inv, struct json_object *req)
{
	const char *ns;

	if (!cli_has_flag(inv, F_NAMESPACE))
		return 0;
	if (cli_check_namespace(inv, &ns))
		return 1;
	cli_add_string(req, "namespace", ns);
	return 0;
}

/* Kinds of Kubernetes that volfs does not model: an apply skips them
 * (the rest of a tutorial's file still applies), --strict refuses. */
static const char *const unserved_kinds[] = {
	"Service", "Ingress", "IngressClass", "Job", "CronJob", "DaemonSet", "ReplicaSet", "ReplicationController",
	"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "NetworkPolicy",
	"HorizontalPodAutoscaler", "PodDisruptionBudget", "Endpoints", "EndpointSlice", "LimitRange",
	"PriorityClass", "CustomResourceDefinition", "Node", "CSIDriver", "CSINode", "VolumeAttachment",
	"PodTemplate", "Lease", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
	"Certificate", "Issuer", "ServiceMonitor", "PodSecurityPolicy", NULL,
};

static int is_unserved(const char *kind)
{
	for (size_t i = 0; unserved_kinds[i]; i++)
		if (!strcmp(unserved_kinds[i], kind))
			return 1;
	return 0;
}

/* "StorageClass, PersistentVolume, ..." */
static void served_kinds(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < k8s_kind_count(); i++) {
		const struct k8s_kind *k = k8s_kind_at(i);

		if (strcmp(k->kind, "Event") != 0 && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", k->kind);
	}
}

/* Take the objects of kinds volfs does not serve out of a batch, with a
 * warning for each, or (--strict) refuse it. A kind nobody knows is a
 * typo: refused either way. */
static int drop_unserved(const struct invocation *inv, struct batch *b)
{
	struct json_object *kept = json_object_new_array();
	char served[512];

	served_kinds(served, sizeof served);
	for (size_t i = 0; i < json_object_array_length(b->objects); i++) {
		struct json_object *o = json_object_array_get_idx(b->objects, i);
		const char *kind = json_path_str(o, "kind", ""), *name = json_path_str(o, "metadata.name", "");
		char lower[128];

		if (!*kind || k8s_kind_lookup(kind, K8S_KIND_TYPED)) {
			json_object_array_add(kept, json_object_get(o));
			continue;
		}
		if (is_unserved(kind) && cli_has_flag(inv, F_STRICT)) {
			json_object_put(kept);
			return cli_fail("%s: document %zu (%s %s): volfs does not serve kind %s (--strict); volfs serves %s",
				    b->source, i + 1, kind, name, kind, served);
		}
		if (!is_unserved(kind)) {
			json_object_put(kept);
			return cli_fail("%s: document %zu (%s %s): no matches for kind \"%s\" in version \"%s\"; "
				    "volfs serves %s", b->source, i + 1, kind, name, kind,
				    json_path_str(o, "apiVersion", ""), served);
		}
		snprintf(lower, sizeof lower, "%s", kind);
		for (char *p = lower; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		fprintf(stderr, "Warning: %s/%s skipped: volfs does not serve kind %s\n", lower, name, kind);
	}
	json_object_put(b->objects);
	b->objects = kept;
	return 0;
}

/* One request per file, in order; the first refusal stops the rest, as a
 * later file usually needs what an earlier one makes. */
static int send_batches(const struct invocation *inv, struct batches *bs, const char *verb,
			enum output_format fmt)
{
	for (size_t i = 0; i < bs->n; i++)
		if (drop_unserved(inv, &bs->b[i]))
			return 1;
	for (size_t i = 0; i < bs->n; i++) {
		struct json_object *req, *result;

		if (json_object_array_length(bs->b[i].objects) == 0)
			continue; /* only kinds volfs does not serve */
		req = cli_new_request(verb, NULL, NULL);

		json_object_object_add(req, "objects", json_object_get(bs->b[i].objects));
		cli_add_string(req, "source", bs->b[i].source);
		if (strcmp(verb, "delete") == 0)
			json_object_object_add(req, "ignoreNotFound",
					       json_object_new_boolean(cli_has_flag(inv, F_IGNORE_NOT_FOUND)));
		if (manifest_namespace(inv, req)) {
			json_object_put(req);
			return 1;
		}
		if (cli_call(inv, req, &result) != CALL_OK)
			return 1;
		if (strcmp(verb, "apply") == 0)
			print_applied(result, fmt);
		else
			print_deleted(result);
		json_object_put(result);
	}
	return 0;
}

int run_apply(struct invocation *inv)
{
	enum output_format fmt;
	struct batches bs;
	int rc;

	if (cli_check_output(inv, &fmt))
		return 1;
	if (inv->nfiles == 0)
		return cli_fail("must specify one of -f; see 'volctl apply --help'");
	rc = read_files(inv, &bs, "apply") || send_batches(inv, &bs, "apply", fmt);
	batches_free(&bs);
	return rc;
}

int run_delete_files(struct invocation *inv)
{
	struct batches bs;
	int rc;

	if (cli_has_flag(inv, F_ALL_NAMESPACES))
		return cli_fail("--all-namespaces cannot be used with -f");
	rc = read_files(inv, &bs, "delete") || send_batches(inv, &bs, "delete", OUTPUT_TABLE);
	batches_free(&bs);
	return rc;
}

/* ------------------------------------------------------------------ */
/* create and resize */

static const char *const access_modes[][2] = {
	{ "RWO", "ReadWriteOnce" },
	{ "ROX", "ReadOnlyMany" },
	{ "RWX", "ReadWriteMany" },
	{ "RWOP", "ReadWriteOncePod" },
};
#define NMODES (sizeof access_modes / sizeof access_modes[0])

static const char *access_mode(const char *word, size_t len)
{
	for (size_t i = 0; i < NMODES; i++)
		for (int j = 0; j < 2; j++)
			if (strlen(access_modes[i][j]) == len && strncasecmp(word, access_modes[i][j], len) == 0)
				return access_modes[i][1];
	return NULL;
}

static int in_array(struct json_object *arr, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
			return 1;
	return 0;
}

/* --access-mode: "RWO", "ReadWriteOnce", "RWO,ROX" (default RWO). */
static int parse_access_modes(const struct invocation *inv, struct json_object *modes)
{
	const char *p = cli_has_flag(inv, F_ACCESS_MODE) ? inv->value[F_ACCESS_MODE] : "RWO";

	for (;;) {
		size_t len = strcspn(p, ",");
		const char *mode = access_mode(p, len);

		if (!mode)
			return cli_fail("invalid access mode \"%.*s\" (use RWO, ROX, RWX, RWOP or ReadWriteOnce, "
				    "ReadOnlyMany, ReadWriteMany, ReadWriteOncePod)", (int)len, p);
		if (!in_array(modes, mode))
			json_object_array_add(modes, json_object_new_string(mode));
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static struct json_object *obj_at(struct json_object *parent, const char *key)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(parent, key, o);
	return o;
}

/* --inodes: a positive count. */
static int check_inodes(const struct invocation *inv, uint64_t *n)
{
	const char *s = inv->value[F_INODES];
	char *end;

	errno = 0;
	*n = strtoull(s, &end, 10);
	if (!*s || *end || errno || *n == 0 || *n > INT64_MAX || *s == '-' || *s == '+')
		return cli_fail("--inodes: \"%s\" is not a positive number of inodes", s);
	return 0;
}

/* The claim "create pvc" sends, built here as a manifest would write it:
 * the size exactly as typed, the class only when given. */
static int build_claim(const struct invocation *inv, const char *name, const char *ns, struct json_object **out)
{
	struct json_object *pvc = json_object_new_object(), *meta, *spec, *modes = json_object_new_array();
	const char *class = inv->value[F_CLASS];

	*out = pvc;
	cli_add_string(pvc, "apiVersion", "v1");
	cli_add_string(pvc, "kind", "PersistentVolumeClaim");
	meta = obj_at(pvc, "metadata");
	cli_add_string(meta, "name", name);
	cli_add_string(meta, "namespace", ns);
	spec = obj_at(pvc, "spec");
	json_object_object_add(spec, "accessModes", modes);
	if (parse_access_modes(inv, modes))
		return 1;
	cli_add_string(obj_at(obj_at(spec, "resources"), "requests"), "storage", cli_size_flag_text(inv, F_SIZE));
	if (class && *class && cli_check_name(class))
		return 1;
	if (class)
		cli_add_string(spec, "storageClassName", class);
	if (cli_has_flag(inv, F_INODES)) {
		uint64_t n;
		if (check_inodes(inv, &n))
			return 1;
		cli_add_string(obj_at(meta, "annotations"), "volfs.io/inodes", inv->value[F_INODES]);
	}
	return 0;
}

static int create_claim(struct invocation *inv, const char *name, enum output_format fmt)
{
	struct json_object *req, *pvc, *obj;
	const char *ns;
	uint64_t bytes;

	if (cli_check_namespace(inv, &ns) || cli_check_size(inv, F_SIZE, &bytes))
		return 1;
	if (build_claim(inv, name, ns, &pvc)) {
		json_object_put(pvc);
		return 1;
	}
	req = cli_new_request("create", NULL, NULL);
	json_object_object_add(req, "object", pvc);
	if (cli_call(inv, req, &obj) != CALL_OK)
		return 1;
	return cli_print_made(inv, k8s_kind_lookup("PersistentVolumeClaim", K8S_KIND_STORED), obj,
			  fmt, name, "created");
}

static int create_volume(struct invocation *inv, const struct targets *t, enum output_format fmt)
{
	struct json_object *req, *obj;
	uint64_t bytes;

	if (cli_has_flag(inv, F_CLASS) || cli_has_flag(inv, F_ACCESS_MODE))
		return cli_fail("--class and --access-mode are for claims (volctl create pvc); "
			    "give a volume those with volctl apply -f");
	if (cli_check_size(inv, F_CAPACITY, &bytes))
		return 1;
	req = cli_new_request("create", t->kind, t->names[0]);
	json_object_object_add(req, "capacity", json_object_new_int64((int64_t)bytes));
	if (cli_has_flag(inv, F_INODES)) {
		uint64_t n;
		if (check_inodes(inv, &n)) {
			json_object_put(req);
			return 1;
		}
		json_object_object_add(req, "inodes", json_object_new_int64((int64_t)n));
	}
	if (cli_call(inv, req, &obj) != CALL_OK)
		return 1;
	return cli_print_made(inv, t->kind, obj, fmt, t->names[0], "created");
}

/* create -f: each object on its own, as kubectl creates them: one that
 * exists is reported and the rest are still made. */
static int create_files(struct invocation *inv)
{
	struct batches bs;
	int failed = 0;

	if (read_files(inv, &bs, "create")) {
		batches_free(&bs);
		return 1;
	}
	for (size_t i = 0; i < bs.n && !failed; i++)
		failed = drop_unserved(inv, &bs.b[i]);
	for (size_t i = 0; i < bs.n && !failed; i++) {
		for (size_t k = 0; k < json_object_array_length(bs.b[i].objects); k++) {
			struct json_object *o = json_object_array_get_idx(bs.b[i].objects, k), *req, *made;
			const struct k8s_kind *kind =
				k8s_kind_lookup(json_path_str(o, "kind", ""), K8S_KIND_TYPED);
			enum call_result rc;
			char type[128];

			req = cli_new_request("create", NULL, NULL);
			json_object_object_add(req, "object", json_object_get(o));
			if (manifest_namespace(inv, req)) {
				json_object_put(req);
				failed = 1;
				break;
			}
			rc = cli_call(inv, req, &made);
			failed |= rc != CALL_OK;
			if (rc == CALL_FATAL)
				break;
			if (rc != CALL_OK)
				continue;
			if (kind)
				k8s_kind_qualified(kind, type, sizeof type);
			printf("%s/%s created\n", kind ? type : json_path_str(o, "kind", ""),
			       json_path_str(made, "metadata.name", ""));
			json_object_put(made);
		}
	}
	batches_free(&bs);
	return failed;
}

int run_create(struct invocation *inv)
{
	enum output_format fmt;
	struct targets t;

	if (inv->nfiles)
		return create_files(inv);

	if (cli_parse_targets(inv, &t) || cli_need_names(inv, &t) || cli_check_output(inv, &fmt))
		return 1;
	if (t.n > 1)
		return cli_fail("create takes one name; see 'volctl create --help'");
	if (strcmp(t.kind->kind, "PersistentVolumeClaim") == 0)
		return create_claim(inv, t.names[0], fmt);
	if (strcmp(t.kind->kind, "PersistentVolume") == 0)
		return create_volume(inv, &t, fmt);
	return cli_fail("volctl create makes pv and pvc only; write a manifest for %s and use volctl apply -f",
		    t.kind->plural);
}

int run_resize(struct invocation *inv)
{
	struct json_object *req, *obj;
	enum output_format fmt;
	struct targets t;
	uint64_t bytes;
	int claim;

	if (cli_parse_targets(inv, &t) || cli_need_names(inv, &t) || cli_check_output(inv, &fmt))
		return 1;
	if (t.n > 1)
		return cli_fail("resize takes one name; see 'volctl resize --help'");
	claim = strcmp(t.kind->kind, "PersistentVolumeClaim") == 0;
	if (!claim && strcmp(t.kind->kind, "PersistentVolume") != 0)
		return cli_fail("volctl resize changes pv and pvc only, not %s; see 'volctl resize --help'",
			    t.kind->plural);
	if (cli_check_size(inv, claim ? F_SIZE : F_CAPACITY, &bytes))
		return 1;
	req = cli_new_request("resize", t.kind, t.names[0]);
	cli_add_namespace(req, &t);
	json_object_object_add(req, "capacity", json_object_new_int64((int64_t)bytes));
	if (cli_call(inv, req, &obj) != CALL_OK)
		return 1;
	return cli_print_made(inv, t.kind, obj, fmt, t.names[0], "resized");
}

/* kubectl patch --type merge: the daemon applies the patch and checks the
 * result as it checks an apply. */
int run_patch(struct invocation *inv)
{
	struct json_object *req, *obj, *patch;
	enum output_format fmt;
	struct targets t;

	if (cli_parse_targets(inv, &t) || cli_need_names(inv, &t) || cli_check_output(inv, &fmt))
		return 1;
	if (t.n > 1)
		return cli_fail("patch takes one name; see 'volctl patch --help'");
	if (!cli_has_flag(inv, F_PATCH))
		return cli_fail("a patch is required: -p '{\"spec\":{...}}'; see 'volctl patch --help'");
	patch = json_tokener_parse(inv->value[F_PATCH]);
	if (!patch || !json_object_is_type(patch, json_type_object)) {
		json_object_put(patch);
		return cli_fail("the patch is not a JSON object: %s", inv->value[F_PATCH]);
	}
	req = cli_new_request("patch", t.kind, t.names[0]);
	cli_add_namespace(req, &t);
	json_object_object_add(req, "patch", patch);
	if (cli_call(inv, req, &obj) != CALL_OK)
		return 1;
	return cli_print_made(inv, t.kind, obj, fmt, t.names[0], "patched");
}

/* scale: a merge patch of spec.replicas. */
int run_scale(struct invocation *inv)
{
	struct json_object *req, *obj, *patch, *spec;
	struct targets t;
	char type[128], *end;
	long n;

	if (cli_parse_targets(inv, &t) || cli_need_names(inv, &t))
		return 1;
	if (strcmp(t.kind->kind, "Deployment") != 0 && strcmp(t.kind->kind, "StatefulSet") != 0)
		return cli_fail("volctl scale changes deployments and statefulsets, not %s", t.kind->plural);
	if (!cli_has_flag(inv, F_REPLICAS))
		return cli_fail("required flag \"--replicas\" not set; see 'volctl scale --help'");
	n = strtol(inv->value[F_REPLICAS], &end, 10);
	if (*end || end == inv->value[F_REPLICAS] || n < 0 || n > 10000)
		return cli_fail("invalid --replicas \"%s\": a number from 0 to 10000", inv->value[F_REPLICAS]);
	k8s_kind_qualified(t.kind, type, sizeof type);
	for (size_t i = 0; i < t.n; i++) {
		patch = json_object_new_object();
		spec = json_object_new_object();
		json_object_object_add(spec, "replicas", json_object_new_int((int)n));
		json_object_object_add(patch, "spec", spec);
		req = cli_new_request("patch", t.kind, t.names[i]);
		cli_add_namespace(req, &t);
		json_object_object_add(req, "patch", patch);
		if (cli_call(inv, req, &obj) != CALL_OK)
			return 1;
		json_object_put(obj);
		printf("%s/%s scaled\n", type, t.names[i]);
	}
	return 0;
}
