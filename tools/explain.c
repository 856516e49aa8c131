/*
 * tools/explain.c — api-resources (the kinds volctl knows, as kubectl
 * lists them) and explain KIND[.field...]: the fields of each kind that
 * volfs reads, with what it does with them. The table below is the
 * reference; a field volfs ignores is not in it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tools/table.h"
#include "tools/verbs.h"

struct field_doc {
	const char *kind; /* full kind */
	const char *path; /* "" for the kind itself, "spec.accessModes" */
	const char *type;
	const char *doc;
};

#define META_FIELDS(K)                                                                                          \
	{ K, "apiVersion", "string", "The versioned schema of this object." },                                      \
	{ K, "kind", "string", "The kind of this object." },                                                        \
	{ K, "metadata", "ObjectMeta", "name, namespace, labels and annotations; uid and creationTimestamp are set by volfs." }, \
	{ K, "metadata.name", "string", "The object's name, unique per kind (and namespace)." },                     \
	{ K, "metadata.namespace", "string", "The namespace of a namespaced object (default \"default\")." },         \
	{ K, "metadata.labels", "map[string]string", "Labels: volctl get -l selects by them." },                     \
	{ K, "metadata.annotations", "map[string]string", "Annotations, kept as given." }

static const struct field_doc docs[] = {
	{ "PersistentVolumeClaim", "", "", "A request for storage: bound to a PersistentVolume that fits, or given a new one by its class's provisioner; its data appears under MOUNT/pvc/NAMESPACE/NAME." },
	META_FIELDS("PersistentVolumeClaim"),
	{ "PersistentVolumeClaim", "spec", "PersistentVolumeClaimSpec", "What the claim asks for." },
	{ "PersistentVolumeClaim", "spec.accessModes", "[]string", "ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod: the volume must offer them." },
	{ "PersistentVolumeClaim", "spec.resources", "VolumeResourceRequirements", "requests.storage: the size asked for; raising it expands the volume online if the class allows expansion." },
	{ "PersistentVolumeClaim", "spec.resources.requests", "map[string]Quantity", "storage: the size, a quantity (1Gi)." },
	{ "PersistentVolumeClaim", "spec.storageClassName", "string", "The class; absent: the default class; \"\": only volumes without a class." },
	{ "PersistentVolumeClaim", "spec.volumeName", "string", "Bind to this volume only." },
	{ "PersistentVolumeClaim", "spec.selector", "LabelSelector", "Bind only to volumes whose labels match." },
	{ "PersistentVolumeClaim", "spec.volumeMode", "string", "Filesystem (Block is refused)." },
	{ "PersistentVolumeClaim", "spec.dataSource", "TypedLocalObjectReference", "A VolumeSnapshot or PersistentVolumeClaim to copy, copy-on-write." },
	{ "PersistentVolumeClaim", "status", "PersistentVolumeClaimStatus", "phase (Pending, Bound, Lost), capacity and accessModes of the bound volume." },
	{ "PersistentVolume", "", "", "A volume: a sparse-file-backed POSIX tree (or a hostPath directory) under MOUNT/pv/NAME with enforced capacity." },
	META_FIELDS("PersistentVolume"),
	{ "PersistentVolume", "spec", "PersistentVolumeSpec", "The volume's capacity, modes and policies." },
	{ "PersistentVolume", "spec.capacity", "map[string]Quantity", "storage: the capacity; writes past it fail with ENOSPC." },
	{ "PersistentVolume", "spec.accessModes", "[]string", "The modes it offers claims." },
	{ "PersistentVolume", "spec.persistentVolumeReclaimPolicy", "string", "Delete (remove with its claim) or Retain (keep, Released)." },
	{ "PersistentVolume", "spec.storageClassName", "string", "Its class; claims of that class may bind it." },
	{ "PersistentVolume", "spec.claimRef", "ObjectReference", "The claim it is reserved for or bound to; null makes a Released volume Available." },
	{ "PersistentVolume", "spec.hostPath", "HostPathVolumeSource", "path and type: a host directory instead of volfs's own data." },
	{ "PersistentVolume", "spec.volumeMode", "string", "Filesystem." },
	{ "PersistentVolume", "status", "PersistentVolumeStatus", "phase: Available, Bound, Released or Failed." },
	{ "StorageClass", "", "", "A class of volumes: claims of a class whose provisioner is volfs get new volumes." },
	META_FIELDS("StorageClass"),
	{ "StorageClass", "provisioner", "string", "volfs.io/local (or rancher.io/local-path) provisions; anything else is static." },
	{ "StorageClass", "reclaimPolicy", "string", "Delete or Retain for provisioned volumes." },
	{ "StorageClass", "volumeBindingMode", "string", "Immediate, or WaitForFirstConsumer (bind when a pod uses the claim)." },
	{ "StorageClass", "allowVolumeExpansion", "boolean", "Whether claims may grow." },
	{ "StorageClass", "parameters", "map[string]string", "Provisioner parameters (nodePath, pathPattern for hostPath volumes)." },
	{ "VolumeSnapshot", "", "", "A point-in-time, read-only, copy-on-write copy of a claim's (or a volume's) data under MOUNT/snapshots/NAMESPACE/NAME." },
	META_FIELDS("VolumeSnapshot"),
	{ "VolumeSnapshot", "spec", "VolumeSnapshotSpec", "The source and class." },
	{ "VolumeSnapshot", "spec.source", "VolumeSnapshotSource", "Exactly one of persistentVolumeClaimName and volumeSnapshotContentName." },
	{ "VolumeSnapshot", "spec.source.persistentVolumeClaimName", "string", "The claim to snapshot." },
	{ "VolumeSnapshot", "spec.source.volumeSnapshotContentName", "string", "An existing content to bind (a pre-provisioned snapshot, or one of a bare volume)." },
	{ "VolumeSnapshot", "spec.volumeSnapshotClassName", "string", "The class; absent: the default." },
	{ "VolumeSnapshotClass", "", "", "A class of snapshots." },
	META_FIELDS("VolumeSnapshotClass"),
	{ "VolumeSnapshotClass", "driver", "string", "volfs.io/local." },
	{ "VolumeSnapshotClass", "deletionPolicy", "string", "Delete or Retain the content with its snapshot." },
	{ "VolumeSnapshotContent", "", "", "The data of a snapshot, cluster-scoped." },
	META_FIELDS("VolumeSnapshotContent"),
	{ "Pod", "", "", "A set of volumes as a pod's containers would see them under MOUNT/pods/NAMESPACE/NAME; volfs does not run containers (volctl exec runs a command with them mounted)." },
	META_FIELDS("Pod"),
	{ "Pod", "spec", "PodSpec", "volumes and the containers' volumeMounts." },
	{ "Pod", "spec.volumes", "[]Volume", "persistentVolumeClaim, emptyDir, hostPath, configMap, secret, downwardAPI, projected." },
	{ "Pod", "spec.containers", "[]Container", "name and volumeMounts (mountPath, subPath, readOnly), used by volctl exec." },
	{ "Deployment", "", "", "replicas pods from one template, named DEPLOYMENT-HASH-SUFFIX, sharing the claims the template names." },
	META_FIELDS("Deployment"),
	{ "Deployment", "spec", "DeploymentSpec", "replicas, selector and template." },
	{ "Deployment", "spec.replicas", "integer", "How many pods (default 1); volctl scale changes it." },
	{ "Deployment", "spec.selector", "LabelSelector", "Must match the template's labels." },
	{ "Deployment", "spec.template", "PodTemplateSpec", "The pods' metadata and spec." },
	{ "StatefulSet", "", "", "replicas pods NAME-0..N-1, each with its own claims from volumeClaimTemplates." },
	META_FIELDS("StatefulSet"),
	{ "StatefulSet", "spec", "StatefulSetSpec", "replicas, template, volumeClaimTemplates." },
	{ "StatefulSet", "spec.replicas", "integer", "How many pods (default 1)." },
	{ "StatefulSet", "spec.template", "PodTemplateSpec", "The pods' metadata and spec." },
	{ "StatefulSet", "spec.volumeClaimTemplates", "[]PersistentVolumeClaim", "A claim TEMPLATE-NAME-ORDINAL per pod, kept when the pod goes." },
	{ "ConfigMap", "", "", "Data for configMap volumes." },
	META_FIELDS("ConfigMap"),
	{ "ConfigMap", "data", "map[string]string", "Files of text." },
	{ "ConfigMap", "binaryData", "map[string]string", "Files of base64-encoded bytes." },
	{ "Secret", "", "", "Data for secret volumes (files mode 0644 unless defaultMode)." },
	META_FIELDS("Secret"),
	{ "Secret", "data", "map[string]string", "Base64-encoded values." },
	{ "Secret", "stringData", "map[string]string", "Plain values, folded into data when stored (write-only)." },
	{ "Secret", "type", "string", "Opaque unless given." },
	{ "ResourceQuota", "", "", "Limits on a namespace's storage: requests.storage, persistentvolumeclaims, per class, snapshots." },
	META_FIELDS("ResourceQuota"),
	{ "ResourceQuota", "spec.hard", "map[string]Quantity", "The limits." },
	{ "Namespace", "", "", "A namespace; deleting it deletes what is in it." },
	META_FIELDS("Namespace"),
	{ "Event", "", "", "What the controllers did to an object, and warnings (read-only)." },
	{ "Event", "involvedObject", "ObjectReference", "kind, name and namespace of the object." },
	{ "Event", "type", "string", "Normal or Warning." },
	{ "Event", "reason", "string", "A CamelCase reason (ProvisioningSucceeded)." },
	{ "Event", "message", "string", "What happened." },
};

#define NDOCS (sizeof docs / sizeof docs[0])

int run_api_resources(struct invocation *inv)
{
	struct table *t = table_new(5);

	if (cli_check_no_args(inv)) {
		table_free(t);
		return 1;
	}
	table_cell(t, "NAME");
	table_cell(t, "SHORTNAMES");
	table_cell(t, "APIVERSION");
	table_cell(t, "NAMESPACED");
	table_cell(t, "KIND");
	for (size_t i = 0; i < k8s_kind_count(); i++) {
		const struct k8s_kind *k = k8s_kind_at(i);
		char shorts[64] = "";

		for (int s = 0; s < K8S_KIND_MAX_SHORT && k->short_names[s]; s++)
			snprintf(shorts + strlen(shorts), sizeof shorts - strlen(shorts), "%s%s", s ? "," : "",
				 k->short_names[s]);
		table_cell(t, k->plural);
		table_cell(t, shorts);
		table_cell(t, k->api_version);
		table_cell(t, k->namespaced ? "true" : "false");
		table_cell(t, k->kind);
	}
	if (cli_has_flag(inv, F_NO_HEADERS))
		table_drop_header(t);
	table_print(t, stdout, "", 10, 3);
	table_free(t);
	return 0;
}

static const struct field_doc *find_doc(const char *kind, const char *path)
{
	for (size_t i = 0; i < NDOCS; i++)
		if (!strcmp(docs[i].kind, kind) && !strcasecmp(docs[i].path, path))
			return &docs[i];
	return NULL;
}

/* The direct children of path ("" for the top). */
static void print_children(const char *kind, const char *path)
{
	size_t plen = strlen(path);
	int any = 0;

	for (size_t i = 0; i < NDOCS; i++) {
		const char *p = docs[i].path, *rest;

		if (strcmp(docs[i].kind, kind) || !*p)
			continue;
		if (plen && (strncasecmp(p, path, plen) || p[plen] != '.'))
			continue;
		rest = plen ? p + plen + 1 : p;
		if (strchr(rest, '.'))
			continue;
		if (!any++)
			printf("\nFIELDS:\n");
		printf("  %s\t<%s>\n    %s\n\n", rest, docs[i].type, docs[i].doc);
	}
}

int run_explain(struct invocation *inv)
{
	const struct k8s_kind *k;
	const struct field_doc *d, *top;
	const char *dot;
	char word[128];

	if (cli_check_npos(inv, 1, "a kind", "KIND[.FIELD...]"))
		return 1;
	dot = strchr(inv->pos[0], '.');
	snprintf(word, sizeof word, "%.*s", (int)(dot ? dot - inv->pos[0] : (long)strlen(inv->pos[0])), inv->pos[0]);
	if (!(k = cli_check_kind(word)))
		return 1;
	top = find_doc(k->kind, "");
	d = dot ? find_doc(k->kind, dot + 1) : top;
	if (!d && !dot)
		return cli_fail("volctl has no field descriptions of %s", k->kind);
	if (!d)
		return cli_fail("field \"%s\" does not exist in %s, or volfs does not read it", dot + 1, k->kind);
	printf("KIND:       %s\nVERSION:    %s\n\n", k->kind, k->api_version);
	if (dot)
		printf("FIELD: %s <%s>\n\n", strrchr(d->path, '.') ? strrchr(d->path, '.') + 1 : d->path, d->type);
	printf("DESCRIPTION:\n    %s\n", d->doc);
	print_children(k->kind, dot ? d->path : "");
	return 0;
}
