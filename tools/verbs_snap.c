/*
 * tools/verbs_snap.c — snapshot, restore and clone, for claims and for
 * bare persistent volumes. A bare NAME means a claim, as in
 * "volctl snapshot PVC SNAPNAME"; a volume is written pv/NAME (kubectl's
 * TYPE/NAME form), and pvc/NAME is accepted for symmetry.
 */
#include <stdio.h>
#include <string.h>

#include "tools/verbs.h"

enum ref_kind { REF_CLAIM, REF_VOLUME };

struct ref {
	enum ref_kind kind;
	const char *name;
};

static const char *ref_kind_name(enum ref_kind k)
{
	return k == REF_CLAIM ? "PersistentVolumeClaim" : "PersistentVolume";
}

/* A claim or a volume on the command line: NAME, pvc/NAME or pv/NAME (any
 * spelling of the kind). role names the argument in messages. */
static int volume_ref(const char *arg, const char *role, struct ref *ref)
{
	const char *slash = strchr(arg, '/');

	ref->kind = REF_CLAIM;
	ref->name = arg;
	if (slash) {
		char type[256];
		const struct k8s_kind *k;

		snprintf(type, sizeof type, "%.*s", (int)(slash - arg), arg);
		if (!(k = cli_check_kind(type)))
			return 1;
		if (strcmp(k->kind, "PersistentVolume") == 0)
			ref->kind = REF_VOLUME;
		else if (strcmp(k->kind, "PersistentVolumeClaim") != 0)
			return cli_fail("the %s must be a claim (NAME or pvc/NAME) or a persistent volume "
				    "(pv/NAME), not %s", role, k->plural);
		ref->name = slash + 1;
	}
	return cli_check_name(ref->name);
}

/* A snapshot on the command line: "NAME" or "vs/NAME". */
static int snapshot_ref(const char *arg, const char **name)
{
	const char *slash = strchr(arg, '/');

	*name = arg;
	if (slash) {
		char type[256];
		const struct k8s_kind *k;

		snprintf(type, sizeof type, "%.*s", (int)(slash - arg), arg);
		if (!(k = cli_check_kind(type)))
			return 1;
		if (strcmp(k->kind, "VolumeSnapshot") != 0)
			return cli_fail("\"%s\" is not a volume snapshot (vs/NAME or NAME)", arg);
		*name = slash + 1;
	}
	return cli_check_name(*name);
}

int run_snapshot(struct invocation *inv)
{
	struct json_object *req, *obj;
	enum output_format fmt;
	const char *name, *ns;
	struct ref source;

	if (cli_check_npos(inv, 2, "a source and a snapshot name", "SOURCE SNAPSHOT") || cli_check_output(inv, &fmt) ||
	    volume_ref(inv->pos[0], "source", &source) || snapshot_ref(inv->pos[1], &name) ||
	    cli_check_namespace(inv, &ns))
		return 1;
	req = cli_new_request("snapshot", NULL, name);
	cli_add_string(req, "source", source.name);
	cli_add_string(req, "sourceKind", ref_kind_name(source.kind));
	cli_add_string(req, "namespace", ns);
	if (cli_call(inv, req, &obj) != CALL_OK)
		return 1;
	return cli_print_made(inv, k8s_kind_lookup("VolumeSnapshot", K8S_KIND_STORED), obj,
			  fmt, name, "created");
}

int run_restore(struct invocation *inv)
{
	struct json_object *req, *obj;
	enum output_format fmt;
	const char *snap, *ns;
	uint64_t bytes = 0;
	struct ref made;
	char how[600];

	if (cli_check_npos(inv, 2, "a snapshot and a new claim or volume name", "SNAPSHOT NEW") ||
	    cli_check_output(inv, &fmt) || snapshot_ref(inv->pos[0], &snap) ||
	    volume_ref(inv->pos[1], "new claim or volume", &made) || cli_check_namespace(inv, &ns))
		return 1;
	if (cli_has_size(inv) && cli_check_size(inv, F_CAPACITY, &bytes))
		return 1;
	req = cli_new_request("restore", NULL, made.name);
	cli_add_string(req, "snapshot", snap);
	cli_add_string(req, "kind", ref_kind_name(made.kind));
	cli_add_string(req, "namespace", ns);
	if (bytes)
		json_object_object_add(req, "capacity", json_object_new_int64((int64_t)bytes));
	if (cli_call(inv, req, &obj) != CALL_OK)
		return 1;
	snprintf(how, sizeof how, "restored from volumesnapshot %s/%s", ns, snap);
	return cli_print_made(inv, k8s_kind_lookup(ref_kind_name(made.kind), K8S_KIND_STORED), obj,
			  fmt, made.name, how);
}

int run_clone(struct invocation *inv)
{
	struct json_object *req, *obj;
	struct ref source, made;
	enum output_format fmt;
	const char *ns;
	char how[600];

	if (cli_check_npos(inv, 2, "a source and a new name", "SOURCE NEW") || cli_check_output(inv, &fmt) ||
	    volume_ref(inv->pos[0], "source", &source) || volume_ref(inv->pos[1], "new claim or volume", &made) ||
	    cli_check_namespace(inv, &ns))
		return 1;
	if (source.kind != made.kind)
		return cli_fail("a claim clones to a claim and a volume to a volume: \"%s\" is a %s, \"%s\" a %s; "
			    "write both as pv/NAME or both as pvc/NAME (or bare)",
			    inv->pos[0], source.kind == REF_CLAIM ? "claim" : "volume",
			    inv->pos[1], made.kind == REF_CLAIM ? "claim" : "volume");
	/* Volumes are cluster-scoped; a namespace there is a mistake worth
	 * saying, since the user may have meant claims. */
	if (made.kind == REF_VOLUME && cli_has_flag(inv, F_NAMESPACE))
		return cli_fail("persistent volumes have no namespace: -n applies to claims (NAME or pvc/NAME)");
	req = cli_new_request("clone", NULL, made.name);
	cli_add_string(req, "source", source.name);
	cli_add_string(req, "kind", ref_kind_name(made.kind));
	if (made.kind == REF_CLAIM)
		cli_add_string(req, "namespace", ns);
	if (cli_call(inv, req, &obj) != CALL_OK)
		return 1;
	if (made.kind == REF_CLAIM)
		snprintf(how, sizeof how, "cloned from persistentvolumeclaim/%s", source.name);
	else
		snprintf(how, sizeof how, "cloned from persistentvolume/%s", source.name);
	return cli_print_made(inv, k8s_kind_lookup(ref_kind_name(made.kind), K8S_KIND_STORED), obj,
			  fmt, made.name, how);
}
