/*
 * meta/downward.h — the downward API as a volume reads it: which
 * fieldRef or resourceFieldRef a downwardAPI item may name, and the text
 * kubelet writes for it. Pure functions on json-c objects, except that an
 * unset limit reads the machine's size (see downward_set_allocatable).
 *
 * fieldRef: metadata.name, .namespace, .uid (the value alone, "" when
 * unset); metadata.labels / .annotations as lines key="value" sorted by
 * key, values quoted as Go's %q does, joined by "\n" with no newline
 * after the last (kubelet's fieldpath.FormatMap); metadata.labels['k'] /
 * .annotations['k'] the value alone, "" when absent.
 *
 * resourceFieldRef {containerName (required), resource, divisor}: the
 * named container's (or init container's) limits or requests of cpu,
 * memory or ephemeral-storage, as ceil(value / divisor) in decimal, CPU
 * counted in millicores and the rest in bytes; divisor "1" when absent
 * (the API server allows 1m and 1 for cpu; 1, 1k..1E and 1Ki..1Ei for the
 * others). An unset request reads as the limit (the API server defaults
 * requests to limits), else 0; an unset limit reads as the node's
 * allocatable, as kubelet does.
 */
#ifndef VOLFS_META_DOWNWARD_H
#define VOLFS_META_DOWNWARD_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Validate an item's fieldRef or resourceFieldRef (exactly one); at names
 * the item ("spec.volumes[0].downwardAPI.items[2]"). Its path and mode
 * are the caller's. 0 or -EINVAL with the field in err. */
int downward_check_item(json_object *item, const char *at, char *err, size_t errlen);

/* The text of the item for this pod, in a new buffer *out of *len bytes
 * (a NUL follows them). 0; -ENOENT when resourceFieldRef names no
 * container of the pod ("container \"x\" not found"); -EINVAL when the
 * container's quantity is invalid or the item names nothing served. */
int downward_value(json_object *pod, json_object *item, char **out, size_t *len, char *err,
		   size_t errlen);

/* What an unset limit reads as: the node's allocatable, which here is
 * the whole machine (no reservations). Until set: the online CPUs, the
 * physical memory and the size of the filesystem holding "/", read at
 * each call. The daemon may set them once before serving (its state
 * directory's filesystem is a better "node disk"); tests set fixed
 * values. NULL goes back to reading the machine. Not synchronised:
 * set it before other threads read. */
struct downward_allocatable {
	uint64_t cpu_millis;
	uint64_t memory;
	uint64_t ephemeral_storage;
};
void downward_set_allocatable(const struct downward_allocatable *a);

#endif
