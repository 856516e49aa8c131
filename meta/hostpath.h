/*
 * meta/hostpath.h — the pure rules of hostPath volumes (in pods and as a
 * PersistentVolume source): what the API server accepts in a manifest
 * (an absolute path without "..", one of the HostPathType values),
 * whether a canonical path lies under an allowed prefix (component by
 * component), and kubelet's type check of what stat(2) found there, with
 * kubelet's messages. Nothing here touches the host; fs/control/hostpath.c does.
 */
#ifndef VOLFS_META_HOSTPATH_H
#define VOLFS_META_HOSTPATH_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>

/* Validate a hostPath volume source (the object under "hostPath"); `at`
 * is the field path of that object for messages. 0 or -EINVAL. */
int hostpath_validate(json_object *src, const char *at, char *err, size_t errlen);

/* The hostPath.path of a pod volume or of a PersistentVolume (NULL if it
 * has none); hostpath_type_of: its type ("" when unset). */
const char *hostpath_of_volume(json_object *vol);
const char *hostpath_of_pv(json_object *pv);
const char *hostpath_type_of_volume(json_object *vol);
const char *hostpath_type_of_pv(json_object *pv);

/* Is the canonical absolute path `path` the prefix itself or below it,
 * component by component ("/srv/data2" is not under "/srv/data")? Both
 * must be canonical (no "//", ".", "..", trailing "/" except for "/"). */
int hostpath_under(const char *path, const char *prefix);

/* The HostPathType kubelet's GetFileType gives a st_mode: "Directory",
 * "File", "Socket", "CharDevice", "BlockDevice", or NULL (a FIFO, ...). */
const char *hostpath_file_type(mode_t mode);

/* Does the type create what is missing? DirectoryOrCreate and "" (the
 * container runtime makes a missing path a directory) make a directory,
 * FileOrCreate a file. */
int hostpath_creates_dir(const char *type);
int hostpath_creates_file(const char *type);

/* kubelet's checkType on what is at `path` now: exists says whether stat
 * succeeded, mode is its st_mode. "" checks nothing. 0, or -ENOENT /
 * -EINVAL with kubelet's message ("hostPath type check failed: /x is not a
 * directory, it's a File"). */
int hostpath_check_type(const char *type, const char *path, int exists, mode_t mode, char *err,
                        size_t errlen);

#endif
