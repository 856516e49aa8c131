/*
 * tools/verbs.c — the table of volctl's verbs: name, usage, what each
 * does, examples and the flags it takes, and the help printed from it
 * (volctl --help, volctl VERB --help, volctl help VERB).
 */
#include <stdio.h>
#include <string.h>

#include "tools/client.h"
#include "tools/verbs.h"

#define SIZE_FLAGS (BIT(F_CAPACITY) | BIT(F_SIZE))

static const struct verb verbs[] = {
	{ "apply", "Create or update objects from Kubernetes YAML",
	  "volctl apply -f FILE|DIR|- [-f ...] [-n NS] [-o name]",
	  "Apply Kubernetes manifests: create the objects they describe, or update\n"
	  "them to match. A file may hold several documents (separated by ---) and\n"
	  "Lists; - reads standard input; a directory means its .yaml, .yml and\n"
	  ".json files. Supported kinds: StorageClass, PersistentVolume,\n"
	  "PersistentVolumeClaim, VolumeSnapshotClass, VolumeSnapshot, ResourceQuota,\n"
	  "Namespace. Each file is read completely first and applied all or nothing:\n"
	  "a syntax error, an unknown kind or a bad field changes nothing, and the\n"
	  "error names the document and the field. Applying the same file again\n"
	  "changes nothing. Namespaced objects that name no namespace go to NS\n"
	  "(default \"default\").",
	  "  # Create a storage class and a claim of it\n"
	  "  volctl apply -f class-and-claim.yaml\n"
	  "\n"
	  "  # Several files, in order\n"
	  "  volctl apply -f namespace.yaml -f quota.yaml\n"
	  "\n"
	  "  # From standard input, into namespace team-a\n"
	  "  cat claim.yaml | volctl apply -f - -n team-a\n",
	  BIT(F_FILENAME) | BIT(F_NAMESPACE) | BIT(F_OUTPUT) | BIT(F_STRICT), "name", run_apply, 0 },
	{ "create", "Create a claim or a persistent volume, or the objects of a manifest",
	  "volctl create pvc NAME --size SIZE [--class CLASS] [--access-mode MODE] [-n NS] [-o json|yaml|name]\n"
	  "  volctl create pv NAME --capacity SIZE [--inodes N] [-o json|yaml|name]\n"
	  "  volctl create -f FILE|DIR|- [-n NS]",
	  "Create a persistent volume claim (pvc) of the given size in namespace NS\n"
	  "(default \"default\"): it binds to a fitting volume or, with a class of\n"
	  "volfs's provisioner, gets a new volume, and appears under\n"
	  "MOUNT/pvc/NS/NAME once bound. Without --class the default class is used;\n"
	  "--class \"\" binds only volumes without a class. Or create a persistent\n"
	  "volume (pv) of the given capacity, under MOUNT/pv/NAME/. Writes past the\n"
	  "capacity fail with ENOSPC. --size and --capacity mean the same. A volume\n"
	  "holds at most one file, directory or symlink per 4 KiB of capacity, or\n"
	  "--inodes N of them (for a claim: the volume provisioned for it). With -f,\n"
	  "create each object of the manifests; one that exists already is an error\n"
	  "(AlreadyExists), the others are still created.",
	  "  # A 1 GiB claim of the default class\n"
	  "  volctl create pvc data --size 1Gi\n"
	  "\n"
	  "  # A claim of class fast, mountable read-write by many, in namespace team-a\n"
	  "  volctl create pvc shared --size 10Gi --class fast --access-mode RWX -n team-a\n"
	  "\n"
	  "  # Create a 10 GiB persistent volume called data\n"
	  "  volctl create pv data --capacity 10Gi\n"
	  "\n"
	  "  # The same, showing the new object as YAML\n"
	  "  volctl create pv data --capacity=10Gi -o yaml\n"
	  "\n"
	  "  # A 1 GiB volume for up to a million files\n"
	  "  volctl create pv src --capacity 1Gi --inodes 1000000\n",
	  SIZE_FLAGS | BIT(F_CLASS) | BIT(F_ACCESS_MODE) | BIT(F_NAMESPACE) | BIT(F_OUTPUT) | BIT(F_INODES) | BIT(F_FILENAME),
	  "json|yaml|name",
	  run_create, 1 },
	{ "get", "Display one or many objects",
	  "volctl get KIND[,KIND...] [NAME...] [-n NS | -A] [-l SELECTOR] [-o FORMAT] [-w]\n"
	  "  volctl get KIND/NAME... [-o FORMAT]",
	  "List objects of a kind, or the named ones, as a table with kubectl's columns\n"
	  "(wide adds columns), as JSON or YAML shaped like the Kubernetes objects (a\n"
	  "single named object, otherwise a v1 List), or as kind/name lines.\n"
	  "Namespaced kinds are listed in NS (default \"default\"), or in every\n"
	  "namespace with -A. A snapshot of a volume shows pv/NAME as its SOURCEPVC;\n"
	  "a snapshot asked for by name carries its usage in bytes under\n"
	  "status.volfs in JSON and YAML. Several kinds (pvc,pv), all (every\n"
	  "namespaced kind volfs serves) or KIND/NAME arguments list each kind in\n"
	  "turn. -l and --field-selector choose by labels or fields;\n"
	  "-o jsonpath=TEMPLATE and -o custom-columns=HEADER:PATH,... print what a\n"
	  "JSONPath picks; -w keeps printing each change the daemon reports.",
	  "  # List all persistent volumes\n"
	  "  volctl get pv\n"
	  "\n"
	  "  # Claims in every namespace, with the volume mode column\n"
	  "  volctl get pvc -A -o wide\n"
	  "\n"
	  "  # The full object as YAML\n"
	  "  volctl get persistentvolume/data -o yaml\n"
	  "\n"
	  "  # Storage classes, snapshot classes and quotas\n"
	  "  volctl get sc\n"
	  "  volctl get vsclass\n"
	  "  volctl get quota -n team-a\n"
	  "\n"
	  "  # Claims labelled app=web, with their labels; their names only\n"
	  "  volctl get pvc -l app=web --show-labels\n"
	  "  volctl get pvc -o jsonpath='{range .items[*]}{.metadata.name}{\"\\n\"}{end}'\n"
	  "\n"
	  "  # Events of the claim data; watch claims change\n"
	  "  volctl get events --field-selector involvedObject.name=data\n"
	  "  volctl get pvc -w\n",
	  BIT(F_OUTPUT) | BIT(F_NAMESPACE) | BIT(F_ALL_NAMESPACES) | BIT(F_SELECTOR) | BIT(F_FIELD_SELECTOR) |
		  BIT(F_SHOW_LABELS) | BIT(F_NO_HEADERS) | BIT(F_SORT_BY) | BIT(F_WATCH),
	  "wide|json|yaml|name|jsonpath|custom-columns", run_get, 1 },
	{ "describe", "Show details of an object, with its events",
	  "volctl describe KIND [NAME...] [-n NS] [-l SELECTOR]",
	  "Show an object in detail, as kubectl describe does: labels, annotations,\n"
	  "the fields of its kind (a claim's volume, capacity and users; a class's\n"
	  "provisioner and policies; a quota's used and hard amounts), current use\n"
	  "of volumes and snapshots, and the events recorded for it. Without a name,\n"
	  "every object of the kind (that -l selects).",
	  "  # Describe the claim data\n"
	  "  volctl describe pvc data\n"
	  "\n"
	  "  # How much of the quota storage of namespace team-a is used\n"
	  "  volctl describe quota storage -n team-a\n"
	  "\n"
	  "  # A snapshot: source, restore size, bytes held only by it, events\n"
	  "  volctl describe vs before-migration -n team-a\n",
	  BIT(F_NAMESPACE) | BIT(F_SELECTOR), "", run_describe, 1 },
	{ "delete", "Delete objects by kind and name, or those of a manifest",
	  "volctl delete KIND NAME... [-n NS] [--ignore-not-found]\n"
	  "  volctl delete KIND (-l SELECTOR | --all) [-n NS]\n"
	  "  volctl delete -f FILE|DIR|- [-f ...] [-n NS] [--ignore-not-found]",
	  "Delete the named objects, or the objects a manifest describes (each file\n"
	  "all or nothing). Deleting a claim applies its volume's reclaim policy:\n"
	  "Delete removes the volume and its data, Retain keeps it Released. A\n"
	  "claim in use stays Terminating until its users are gone. Deleting a\n"
	  "snapshot frees the blocks only it held; volumes restored or cloned from\n"
	  "anything keep working. The space of what was deleted comes back in the\n"
	  "background: volctl df shows what is still pending.",
	  "  # Delete the claim data\n"
	  "  volctl delete pvc data\n"
	  "\n"
	  "  # Delete two volumes\n"
	  "  volctl delete pv scratch1 scratch2\n"
	  "\n"
	  "  # Delete what a manifest made, ignoring what is already gone\n"
	  "  volctl delete -f class-and-claim.yaml --ignore-not-found\n"
	  "\n"
	  "  # Delete a snapshot in namespace team-a\n"
	  "  volctl delete vs before-migration -n team-a\n"
	  "\n"
	  "  # Every claim labelled tier=scratch; every snapshot of the namespace\n"
	  "  volctl delete pvc -l tier=scratch\n"
	  "  volctl delete vs --all\n",
	  BIT(F_FILENAME) | BIT(F_NAMESPACE) | BIT(F_IGNORE_NOT_FOUND) | BIT(F_SELECTOR) | BIT(F_ALL), "", run_delete,
	  1 },
	{ "label", "Set or remove labels of objects",
	  "volctl label KIND NAME... KEY=VALUE... KEY-... [--overwrite] [-n NS]\n"
	  "  volctl label KIND (-l SELECTOR | --all) KEY=VALUE... [--overwrite] [-n NS]",
	  "Set labels (KEY=VALUE) or remove them (KEY-) on the named objects, or on\n"
	  "those a selector or --all picks. A label that has another value changes\n"
	  "only with --overwrite.",
	  "  # Label the claim data\n"
	  "  volctl label pvc data tier=gold\n"
	  "\n"
	  "  # Change it, then remove it\n"
	  "  volctl label pvc data tier=silver --overwrite\n"
	  "  volctl label pvc data tier-\n",
	  BIT(F_NAMESPACE) | BIT(F_SELECTOR) | BIT(F_ALL) | BIT(F_OVERWRITE), "", run_label, 1 },
	{ "annotate", "Set or remove annotations of objects",
	  "volctl annotate KIND NAME... KEY=VALUE... KEY-... [--overwrite] [-n NS]",
	  "Set annotations (KEY=VALUE) or remove them (KEY-) as label does labels.",
	  "  # Note who owns the volume\n"
	  "  volctl annotate pv data owner=team-a\n",
	  BIT(F_NAMESPACE) | BIT(F_SELECTOR) | BIT(F_ALL) | BIT(F_OVERWRITE), "", run_annotate, 1 },
	{ "wait", "Wait for a condition on objects",
	  "volctl wait KIND NAME... --for=CONDITION [--timeout=DURATION] [-n NS]\n"
	  "  volctl wait KIND (-l SELECTOR | --all) --for=CONDITION [--timeout=DURATION]",
	  "Wait until each object meets the condition: condition=NAME[=VALUE] (a\n"
	  "status condition, VALUE True by default), jsonpath='{PATH}'=VALUE, or\n"
	  "delete (the object is gone). The daemon reports every change, so wait\n"
	  "returns as soon as the condition holds; after --timeout (default 30s) it\n"
	  "fails naming the objects still waited for.",
	  "  # Until the claim data is bound\n"
	  "  volctl wait pvc data --for=jsonpath='{.status.phase}'=Bound --timeout=60s\n"
	  "\n"
	  "  # Until the snapshot nightly is deleted\n"
	  "  volctl wait vs nightly --for=delete\n",
	  BIT(F_NAMESPACE) | BIT(F_SELECTOR) | BIT(F_ALL) | BIT(F_FOR) | BIT(F_TIMEOUT), "", run_wait, 1 },
	{ "scale", "Set the number of pods of a deployment or a statefulset",
	  "volctl scale deploy/NAME|sts/NAME --replicas=N [-n NS]",
	  "Set spec.replicas: pods are created or removed to match (a deployment's\n"
	  "pods share the claims of its template; a statefulset's keep theirs).",
	  "  # Three pods of the deployment web\n"
	  "  volctl scale deploy/web --replicas=3\n",
	  BIT(F_NAMESPACE) | BIT(F_REPLICAS), "", run_scale, 0 },
	{ "patch", "Change fields of an object with a JSON merge patch",
	  "volctl patch KIND NAME -p JSON [-n NS] [-o json|yaml|name]",
	  "Apply a JSON merge patch (RFC 7386, kubectl patch --type merge) to one\n"
	  "object: members replace, objects merge, null removes. The result is\n"
	  "validated and admitted as an apply is (immutable fields, quotas).",
	  "  # Make a Released volume with policy Retain Available again\n"
	  "  volctl patch pv keep-me -p '{\"spec\":{\"claimRef\":null}}'\n"
	  "\n"
	  "  # Let claims of class fast be expanded\n"
	  "  volctl patch sc fast -p '{\"allowVolumeExpansion\":true}'\n",
	  BIT(F_PATCH) | BIT(F_NAMESPACE) | BIT(F_OUTPUT), "json|yaml|name", run_patch, 0 },
	{ "resize", "Change the size of a claim or a persistent volume",
	  "volctl resize pvc NAME --size SIZE [-n NS] [-o json|yaml|name]\n"
	  "  volctl resize pv NAME --capacity SIZE [-o json|yaml|name]",
	  "Expand a bound claim, online: its class must allow volume expansion, and\n"
	  "shrinking is refused, as in Kubernetes. Or set a new capacity for a\n"
	  "persistent volume; shrinking below the space in use is refused. --size\n"
	  "and --capacity mean the same.",
	  "  # Grow the claim data to 2 GiB\n"
	  "  volctl resize pvc data --size 2Gi\n"
	  "\n"
	  "  # Grow the persistent volume data to 20 GiB\n"
	  "  volctl resize pv data --capacity 20Gi\n",
	  SIZE_FLAGS | BIT(F_NAMESPACE) | BIT(F_OUTPUT), "json|yaml|name", run_resize, 0 },
	{ "snapshot", "Take a copy-on-write snapshot of a claim or a volume",
	  "volctl snapshot [pvc/]CLAIM|pv/VOLUME SNAPSHOT [-n NS] [-o json|yaml|name]",
	  "Take a point-in-time, read-only snapshot of a claim's volume (CLAIM or\n"
	  "pvc/CLAIM, in namespace NS) or of a persistent volume (pv/VOLUME),\n"
	  "consistent across the whole volume at one instant, even while it is being\n"
	  "written. No data is copied: the snapshot shares every block with the\n"
	  "volume until one of them is overwritten. The snapshot is a VolumeSnapshot\n"
	  "in namespace NS (default \"default\") and its files appear read-only\n"
	  "under MOUNT/snapshots/NS/SNAPSHOT/.",
	  "  # Snapshot the claim db before a migration\n"
	  "  volctl snapshot db before-migration\n"
	  "\n"
	  "  # The same, in namespace team-a, showing the VolumeSnapshot as YAML\n"
	  "  volctl snapshot pvc/db before-migration -n team-a -o yaml\n"
	  "\n"
	  "  # Snapshot a persistent volume\n"
	  "  volctl snapshot pv/scratch nightly\n"
	  "\n"
	  "  # List, inspect and delete snapshots\n"
	  "  volctl get vs\n"
	  "  volctl describe vs before-migration\n"
	  "  volctl delete vs before-migration\n",
	  BIT(F_NAMESPACE) | BIT(F_OUTPUT), "json|yaml|name", run_snapshot, 0 },
	{ "restore", "Create a claim or a volume from a snapshot",
	  "volctl restore SNAPSHOT [pvc/]NEW|pv/NEW [--size SIZE] [-n NS] [-o json|yaml|name]",
	  "Create a new claim NEW (or, written pv/NEW, a persistent volume) with the\n"
	  "contents of the snapshot SNAPSHOT; both are in namespace NS (default\n"
	  "\"default\"). The new volume shares unchanged blocks with the snapshot,\n"
	  "so restoring copies no data; writes to it never change the snapshot, and\n"
	  "deleting the snapshot later never breaks it. Its size is the snapshot's\n"
	  "restore size unless --size (or --capacity) gives a larger one.",
	  "  # Roll back: a new claim db-restored with the contents of before-migration\n"
	  "  volctl restore before-migration db-restored\n"
	  "\n"
	  "  # The same with a bigger size, from a snapshot in namespace team-a\n"
	  "  volctl restore before-migration db-restored --size 20Gi -n team-a\n"
	  "\n"
	  "  # A persistent volume rather than a claim\n"
	  "  volctl restore nightly pv/scratch-restored\n",
	  BIT(F_NAMESPACE) | SIZE_FLAGS | BIT(F_OUTPUT), "json|yaml|name", run_restore, 0 },
	{ "clone", "Create a claim or a volume as a copy of another",
	  "volctl clone [pvc/]SOURCE [pvc/]NEW [-n NS] [-o json|yaml|name]\n"
	  "  volctl clone pv/SOURCE pv/NEW [-o json|yaml|name]",
	  "Create a new claim NEW with the contents the claim SOURCE has now, at one\n"
	  "instant, with the same size and class (both in namespace NS, default\n"
	  "\"default\"); or, written pv/SOURCE pv/NEW, a new persistent volume from\n"
	  "another. Like a snapshot, a clone shares unchanged blocks copy-on-write\n"
	  "and copies no data; writes to either never change the other, and either\n"
	  "can be deleted first.",
	  "  # A scratch copy of the claim db for testing\n"
	  "  volctl clone db db-test\n"
	  "\n"
	  "  # A copy of the persistent volume scratch\n"
	  "  volctl clone pv/scratch pv/scratch-copy\n",
	  BIT(F_NAMESPACE) | BIT(F_OUTPUT), "json|yaml|name", run_clone, 0 },
	{ "df", "Show capacity and use of every volume",
	  "volctl df [-o json|yaml]",
	  "One line per volume and per snapshot: capacity, space used and available,\n"
	  "use in percent (rounded up) and, for volumes, the space held only by their\n"
	  "snapshots (blocks the volume has overwritten or deleted since; deleting\n"
	  "the snapshots would free it). Snapshots do not count against a volume's\n"
	  "capacity.",
	  "  # Show how full every volume is\n"
	  "  volctl df\n"
	  "\n"
	  "  # The same numbers, in bytes, as JSON\n"
	  "  volctl df -o json\n",
	  BIT(F_OUTPUT), "json|yaml", run_df, 0 },
	{ "metrics", "Print the daemon's Prometheus metrics",
	  "volctl metrics",
	  "Print the metrics the daemon serves with --metrics-listen, in the\n"
	  "Prometheus text exposition format (0.0.4): per volume capacity, used and\n"
	  "available bytes and inodes as df shows them (kubelet_volume_stats_* for\n"
	  "bound claims, volfs_volume_* for every volume), bytes and count of\n"
	  "snapshots, FUSE requests, errors and latencies by operation, and the\n"
	  "io_uring queue.",
	  "  # Every metric of the daemon\n"
	  "  volctl metrics\n"
	  "\n"
	  "  # How full the claims are, as kubelet would report them\n"
	  "  volctl metrics | grep '^kubelet_volume_stats_used_bytes'\n",
	  0, "", run_metrics, 0 },
	{ "check", "Check the metadata and data for consistency",
	  "volctl check",
	  "Ask the daemon to verify its metadata store and data files. Prints each\n"
	  "problem found and exits non-zero if there are any.",
	  "  # Verify the state of a daemon using /srv/volfs\n"
	  "  volctl --state /srv/volfs check\n",
	  0, "", run_check, 0 },
	{ "shutdown", "Flush everything, unmount and stop the daemon",
	  "volctl shutdown",
	  "Ask the daemon to flush all data and metadata, unmount and exit.",
	  "  # Stop the daemon cleanly\n"
	  "  volctl shutdown\n",
	  0, "", run_shutdown, 0 },
	{ "version", "Print the client and daemon versions",
	  "volctl version [--client]",
	  "Print the version of volctl and, unless --client is given, of the running\n"
	  "daemon and its metadata schema.",
	  "  # Both versions\n"
	  "  volctl version\n"
	  "\n"
	  "  # Without contacting the daemon\n"
	  "  volctl version --client\n",
	  BIT(F_CLIENT), "", run_version, 0 },
	{ "exec", "Run a command that sees a pod's volumes where its container mounts them",
	  "volctl exec POD [-n NS] [-c CONTAINER] -- COMMAND [ARGS...]",
	  "Run COMMAND in a private mount namespace in which each of the container's\n"
	  "volumeMounts is bind-mounted at its mountPath from the pod's volume under\n"
	  "MOUNT/pods/NS/POD/VOLUME (a claim's volume, an emptyDir, a configMap, ...),\n"
	  "so a program sees its storage as it would in the pod. subPath mounts that\n"
	  "directory of the volume (created if missing, as kubelet does; one that\n"
	  "leaves the volume through a symlink is refused). readOnly mounts, claims\n"
	  "with readOnly: true and configMap, secret, downwardAPI and projected\n"
	  "volumes are mounted read-only: writes fail with EROFS. Nothing changes\n"
	  "outside the command: the mounts vanish with it, and the host's directories\n"
	  "stay as they were. Each mountPath must exist on this machine (volctl exec\n"
	  "mounts over it; it does not create directories on the host). The pod must\n"
	  "be Running. Without -c the first container is used (named on stderr when\n"
	  "there are several). The command runs as the caller, in the current\n"
	  "directory, with the caller's environment; the exit status is the\n"
	  "command's (126: not executable, 127: not found). Needs CAP_SYS_ADMIN\n"
	  "(root) to create the mount namespace.",
	  "  # A shell that sees pod web's volumes where container app mounts them\n"
	  "  sudo volctl exec web -- sh\n"
	  "\n"
	  "  # The log shipper sidecar reads what the app container wrote\n"
	  "  sudo volctl exec web -c log-shipper -- tail /var/log/app/app.log\n"
	  "\n"
	  "  # In namespace team-a; the command's exit status is volctl's\n"
	  "  sudo volctl exec db-0 -n team-a -- pg_ctl status -D /var/lib/postgresql/data\n",
	  BIT(F_NAMESPACE) | BIT(F_CONTAINER), "", run_exec, 0 },
	{ "api-resources", "Print the kinds volctl knows",
	  "volctl api-resources [--no-headers]",
	  "List every kind with its short names, API version and whether it is\n"
	  "namespaced, as kubectl api-resources does.",
	  "  # Every kind\n"
	  "  volctl api-resources\n",
	  BIT(F_NO_HEADERS), "", run_api_resources, 0 },
	{ "explain", "Describe the fields of a kind that volfs reads",
	  "volctl explain KIND[.FIELD...]",
	  "Print what a kind is and its fields that volfs reads, with what it does\n"
	  "with them; KIND.FIELD.FIELD describes one field and its members.",
	  "  # A claim's fields; the members of its spec\n"
	  "  volctl explain pvc\n"
	  "  volctl explain pvc.spec\n",
	  0, "", run_explain, 1 },
	{ "help", "Help about any command",
	  "volctl help [COMMAND]",
	  "Show the help of volctl or of one command.",
	  "  # Help for get\n"
	  "  volctl help get\n",
	  0, "", run_help, 0 },
};

#define NVERBS (sizeof verbs / sizeof verbs[0])

const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static void print_flag(FILE *f, const struct verb *v, enum flag_id id)
{
	const struct flag_def *d = &cli_flag_defs[id];
	char left[64], formats[64];

	if (d->short_name)
		snprintf(left, sizeof left, "-%c, --%s%s%s", d->short_name, d->long_name,
			 d->value_name ? " " : "", d->value_name ? d->value_name : "");
	else
		snprintf(left, sizeof left, "    --%s%s%s", d->long_name, d->value_name ? " " : "",
			 d->value_name ? d->value_name : "");
	snprintf(formats, sizeof formats, "%s", id == F_OUTPUT && v ? v->formats : "");
	for (char *p = formats; *p; p++)
		if (*p == '|')
			*p = ',';
	fprintf(f, "  %-26s %s%s\n", left, d->help, formats);
}

static void print_global_flags(FILE *f)
{
	fprintf(f, "Global options:\n");
	print_flag(f, NULL, F_STATE);
	print_flag(f, NULL, F_SOCKET);
	print_flag(f, NULL, F_REQUEST_TIMEOUT);
	print_flag(f, NULL, F_HELP);
}

static void print_kinds(FILE *f)
{
	fprintf(f, "Kinds (kind, plural or short name, any case):\n");
	for (size_t i = 0; i < k8s_kind_count(); i++) {
		const struct k8s_kind *k = k8s_kind_at(i);

		if (k->short_names[0])
			fprintf(f, "  %-24s %s\n", k->plural, k->short_names[0]);
		else
			fprintf(f, "  %s\n", k->plural);
	}
}

void print_verb_help(FILE *f, const struct verb *v)
{
	fprintf(f, "%s\n\nUsage:\n  %s\n\nExamples:\n%s\n", v->about, v->usage, v->examples);
	if (v->flags) {
		fprintf(f, "Options:\n");
		for (int id = 0; id < F_COUNT; id++)
			if (v->flags & BIT(id))
				print_flag(f, v, (enum flag_id)id);
		fputc('\n', f);
	}
	if (v->lists_kinds) {
		print_kinds(f);
		fputc('\n', f);
	}
	print_global_flags(f);
}

void print_main_help(FILE *f)
{
	fprintf(f, "volctl controls volfs, Kubernetes-style persistent volumes on one machine,\n"
		   "through the control socket of the running volfs daemon.\n\n"
		   "Usage:\n  volctl [--state DIR | --socket PATH] COMMAND [ARGS] [OPTIONS]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %-13s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nExamples:\n"
		   "  volctl apply -f class-and-claim.yaml\n"
		   "  volctl create pvc data --size 1Gi\n"
		   "  volctl get pvc\n"
		   "  volctl snapshot data nightly\n"
		   "  volctl restore nightly data-restored\n"
		   "  volctl resize pvc data --size 2Gi\n"
		   "  volctl --state /srv/volfs df\n\n");
	print_kinds(f);
	fputc('\n', f);
	print_global_flags(f);
	fprintf(f, "\nUse 'volctl COMMAND --help' for more about a command.\n");
}

int run_help(struct invocation *inv)
{
	const struct verb *v;

	if (inv->npos == 0) {
		print_main_help(stdout);
		return 0;
	}
	if (!(v = find_verb(inv->pos[0])))
		return cli_fail("unknown command \"%s\" for \"volctl\"; see 'volctl --help'", inv->pos[0]);
	print_verb_help(stdout, v);
	return 0;
}
