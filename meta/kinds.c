/*
 * meta/kinds.c — the table of Kubernetes kinds volfs serves and their
 * lookup (see kinds.h). The daemon only ever sees full kinds; volctl
 * resolves every user spelling through this table so that "volctl get
 * foo" fails before a request is sent.
 */
#include "meta/kinds.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* in_all: "get all" lists the namespaced kinds that hold a namespace's
 * volumes and workloads, as kubectl's "all" lists its workloads. The
 * order is that of help text and of "get all". */
static const struct k8s_kind kinds[] = {
	{ "StorageClass", "storageclass", "storageclasses", { "sc" }, "storage.k8s.io/v1", 0, 0, 1 },
	{ "PersistentVolume", "persistentvolume", "persistentvolumes", { "pv" }, "v1", 0, 0, 1 },
	{ "PersistentVolumeClaim", "persistentvolumeclaim", "persistentvolumeclaims", { "pvc" }, "v1",
	  1, 1, 1 },
	{ "VolumeSnapshotClass", "volumesnapshotclass", "volumesnapshotclasses",
	  { "vsclass", "vsclasses" }, "snapshot.storage.k8s.io/v1", 0, 0, 1 },
	{ "VolumeSnapshot", "volumesnapshot", "volumesnapshots", { "vs" }, "snapshot.storage.k8s.io/v1",
	  1, 1, 1 },
	{ "VolumeSnapshotContent", "volumesnapshotcontent", "volumesnapshotcontents",
	  { "vsc", "vscontent", "vscontents" }, "snapshot.storage.k8s.io/v1", 0, 0, 1 },
	{ "Pod", "pod", "pods", { "po" }, "v1", 1, 1, 1 },
	{ "Deployment", "deployment", "deployments", { "deploy" }, "apps/v1", 1, 1, 1 },
	{ "StatefulSet", "statefulset", "statefulsets", { "sts" }, "apps/v1", 1, 1, 1 },
	{ "ConfigMap", "configmap", "configmaps", { "cm" }, "v1", 1, 1, 1 },
	{ "Secret", "secret", "secrets", { NULL }, "v1", 1, 1, 1 },
	{ "ResourceQuota", "resourcequota", "resourcequotas", { "quota" }, "v1", 1, 1, 1 },
	{ "Namespace", "namespace", "namespaces", { "ns" }, "v1", 0, 0, 1 },
	{ "Event", "event", "events", { "ev" }, "v1", 1, 0, 0 },
	{ "SnapshotSchedule", "snapshotschedule", "snapshotschedules", { NULL },
	  "snapscheduler.backube/v1", 1, 0, 1 },
};

#define NKINDS (sizeof kinds / sizeof kinds[0])

size_t k8s_kind_count(void)
{
	return NKINDS;
}

const struct k8s_kind *k8s_kind_at(size_t i)
{
	return i < NKINDS ? &kinds[i] : NULL;
}

/* The API group of a kind: "storage.k8s.io" for "storage.k8s.io/v1", ""
 * for the core group ("v1"). Returns its length; *group points into
 * api_version. */
static size_t kind_group(const struct k8s_kind *k, const char **group)
{
	const char *slash = strchr(k->api_version, '/');

	*group = k->api_version;
	return slash ? (size_t)(slash - k->api_version) : 0;
}

void k8s_kind_qualified(const struct k8s_kind *k, char *buf, size_t len)
{
	const char *group;
	size_t glen = kind_group(k, &group);

	if (glen)
		snprintf(buf, len, "%s.%.*s", k->singular, (int)glen, group);
	else
		snprintf(buf, len, "%s", k->singular);
}

static int same_word(const char *name, const char *word, size_t len)
{
	return strlen(name) == len && strncasecmp(word, name, len) == 0;
}

static int matches_name(const struct k8s_kind *k, const char *word, size_t len)
{
	if (same_word(k->kind, word, len) || same_word(k->plural, word, len))
		return 1;
	for (int i = 0; i < K8S_KIND_MAX_SHORT && k->short_names[i]; i++)
		if (same_word(k->short_names[i], word, len))
			return 1;
	return 0;
}

/* "plural.group" or "singular.group" (kubectl's fully qualified form);
 * the core group may be written "" (bare) or not at all. */
static int matches_qualified(const struct k8s_kind *k, const char *word)
{
	const char *dot = strchr(word, '.'), *group;
	size_t glen = kind_group(k, &group);

	if (!dot || !matches_name(k, word, (size_t)(dot - word)))
		return 0;
	return strlen(dot + 1) == glen && glen > 0 && strncasecmp(dot + 1, group, glen) == 0;
}

static int matches(const struct k8s_kind *k, const char *word, enum k8s_kind_match how)
{
	if (how == K8S_KIND_STORED)
		return k->stored && !strcmp(k->kind, word);
	assert(how == K8S_KIND_TYPED);
	return matches_name(k, word, strlen(word)) || matches_qualified(k, word);
}

const struct k8s_kind *k8s_kind_lookup(const char *word, enum k8s_kind_match how)
{
	if (!word || !*word)
		return NULL;
	for (size_t i = 0; i < NKINDS; i++)
		if (matches(&kinds[i], word, how))
			return &kinds[i];
	return NULL;
}
