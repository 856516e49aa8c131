/*
 * tools/kinds.h — the Kubernetes kinds volctl knows, and how users may
 * spell them: kind ("PersistentVolume"), singular ("persistentvolume"),
 * plural ("persistentvolumes"), kubectl short names ("pv") and the
 * group-qualified plural ("volumesnapshots.snapshot.storage.k8s.io").
 */
#ifndef VOLFS_TOOLS_KINDS_H
#define VOLFS_TOOLS_KINDS_H

#include <stddef.h>

#define KIND_MAX_SHORT 3

struct kind_info {
	const char *kind;        /* full kind, as sent to the daemon */
	const char *singular;    /* lowercase kind: "persistentvolume" */
	const char *plural;      /* "persistentvolumes"; also "kind/name" prefix in messages */
	const char *short_names[KIND_MAX_SHORT]; /* kubectl's, NULL-terminated */
	const char *api_version; /* "v1", "storage.k8s.io/v1", ... */
	int namespaced;
	int in_all;              /* listed by "get all" */
};

/* Resolve what a user typed (any spelling above, case-insensitive), or
 * NULL for an unknown resource type. */
const struct kind_info *kind_lookup(const char *word);

/* kubectl's name of the resource in "TYPE/NAME" output: the singular,
 * qualified by the API group outside the core group
 * ("persistentvolumeclaim", "storageclass.storage.k8s.io"). */
void kind_qualified(const struct kind_info *k, char *buf, size_t len);

/* Number of known kinds, and the i-th one (for help text). */
size_t kind_count(void);
const struct kind_info *kind_at(size_t i);

#endif
