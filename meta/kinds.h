/*
 * meta/kinds.h — the one table of the Kubernetes kinds volfs serves, and
 * the one lookup: each kind's spellings (kind "PersistentVolume",
 * singular "persistentvolume", plural "persistentvolumes", kubectl's
 * short names "pv", the group-qualified plural
 * "volumesnapshots.snapshot.storage.k8s.io"), its apiVersion, whether it
 * is namespaced, listed by "get all", and kept as stored objects. The
 * daemon looks up the kind a manifest or request names exactly; volctl
 * resolves what a user typed. A leaf: includes nothing of the project.
 */
#ifndef VOLFS_META_KINDS_H
#define VOLFS_META_KINDS_H

#include <stddef.h>

#define K8S_KIND_MAX_SHORT 3

struct k8s_kind {
	const char *kind;        /* "PersistentVolumeClaim", as manifests and requests name it */
	const char *singular;    /* lowercase kind: "persistentvolumeclaim" */
	const char *plural;      /* "persistentvolumeclaims": in messages and "kind/name" output */
	const char *short_names[K8S_KIND_MAX_SHORT]; /* kubectl's, NULL-terminated */
	const char *api_version; /* "v1", "storage.k8s.io/v1", "snapshot.storage.k8s.io/v1" */
	int namespaced;
	int in_all;              /* listed by "get all" */
	int stored;              /* kept as objects (apply, create, delete); 0: Event, which
	                          * the daemon records itself and serves to get only */
};

enum k8s_kind_match {
	/* The kind of a stored object, spelled exactly ("PersistentVolumeClaim"). */
	K8S_KIND_STORED,
	/* Any kind, in any spelling above, case-insensitive: what a user types. */
	K8S_KIND_TYPED,
};

/* The kind word names, or NULL (also for NULL or ""). */
const struct k8s_kind *k8s_kind_lookup(const char *word, enum k8s_kind_match how);

/* kubectl's name of the resource in "TYPE/NAME" output: the singular,
 * qualified by the API group outside the core group
 * ("persistentvolumeclaim", "storageclass.storage.k8s.io"). */
void k8s_kind_qualified(const struct k8s_kind *k, char *buf, size_t len);

/* Number of kinds, and the i-th one (help text, "get all"), in table order. */
size_t k8s_kind_count(void);
const struct k8s_kind *k8s_kind_at(size_t i);

#endif
