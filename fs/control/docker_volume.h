/*
 * fs/control/docker_volume.h — Docker and Podman volumes as volfs persistent
 * volumes (fs/control/docker_volume.c): how a Docker volume name maps to a
 * PersistentVolume, the driver options a volume is created with, and the
 * control requests that create, find, list and remove them. The storage
 * work is the control plane's; nothing here touches data.
 */
#ifndef VOLFS_FS_DOCKER_VOLUME_H
#define VOLFS_FS_DOCKER_VOLUME_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/control/server.h"

/* What marks a PersistentVolume as a Docker volume. */
#define DOCKER_LABEL "volfs.io/managed-by"
#define DOCKER_LABEL_VALUE "docker"
#define DOCKER_NAME_ANNOTATION "volfs.io/docker-volume"
/* The claim a Docker volume is reserved for (spec.claimRef), so that no
 * Kubernetes claim binds it: docker/<pv-name>. */
#define DOCKER_CLAIM_NAMESPACE "docker"

/* The options of `docker volume create -d volfs -o KEY=VALUE`. */
struct docker_opts {
	uint64_t size;          /* 0: not given */
	const char *from_snapshot;
	const char *clone_of;
	const char *class_name;
	int64_t uid, gid;       /* -1: not given */
	int mode;               /* -1: not given */
};

/* Parse Opts (a JSON object of strings, or NULL). 0, or -1 with a one-line
 * reason naming the option in err. The strings point into opts. */
int docker_opts_parse(json_object *opts, struct docker_opts *out, char *err, size_t errlen);

/* Is name a volume name Docker would accept ([a-zA-Z0-9][a-zA-Z0-9_.-]*)? */
int docker_name_valid(const char *name);
/* The PersistentVolume name of a Docker volume: the name itself when it
 * is a valid object name, else a lowercased form with a hash of the name
 * appended (so that "a_b" and "a-b" stay apart). */
void docker_pv_name(const char *name, char *out, size_t len);

struct docker_volumes {
	struct control *ctl;
	const char *mount_point;
	uint64_t default_size;
};

/* Each returns 0, or -1 with a one-line reason in err; a missing volume's
 * reason contains "no such volume" (what Podman looks for). */

/* The PersistentVolume of a Docker volume (new reference) and its name. */
int docker_volume_find(struct docker_volumes *dv, const char *name, json_object **pv, char *err,
                       size_t errlen);
/* Create a volume with opts (a JSON object of strings, or NULL). */
int docker_volume_create(struct docker_volumes *dv, const char *name, json_object *opts, char *err,
                         size_t errlen);
int docker_volume_remove(struct docker_volumes *dv, const char *name, char *err, size_t errlen);
/* Every Docker volume: an array of PersistentVolumes (new reference). */
int docker_volume_list(struct docker_volumes *dv, json_object **pvs, char *err, size_t errlen);
/* Where a volume's root is: MOUNT/pv/<pv-name>. */
void docker_volume_path(struct docker_volumes *dv, json_object *pv, char *out, size_t len);
/* Status for `docker volume inspect`: capacity, used bytes, snapshots. */
json_object *docker_volume_status(struct docker_volumes *dv, json_object *pv);
/* The Docker name of a Docker volume's PersistentVolume. */
const char *docker_volume_name(json_object *pv);

#endif
