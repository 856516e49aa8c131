/*
 * fs/control/hostpath.h — hostPath volumes on the host: the prefixes the daemon
 * may expose (volfs --hostpath-allow, set once at start-up), the
 * admission check of a manifest's path against them, and kubelet's
 * set-up of a hostPath (create it for DirectoryOrCreate/FileOrCreate,
 * check its type) that yields the fully resolved path the pod's entry
 * links to. Every path is resolved through every symbolic link before
 * it is judged, and nothing is created outside an allowed prefix.
 */
#ifndef VOLFS_FS_HOSTPATH_H
#define VOLFS_FS_HOSTPATH_H

#include <limits.h>
#include <stddef.h>

/* Add an allowed prefix (canonicalised with realpath; it must exist).
 * Called before any thread starts. 0 or -errno with the reason in err. */
int hostpath_allow(const char *prefix, char *err, size_t errlen);
void hostpath_allow_free(void);
/* "/a, /b" (or "none") for messages. */
void hostpath_allowed_list(char *buf, size_t len);

/* Admission: may a manifest name this host path? Resolves the part that
 * exists (symlinks included) and refuses what lies outside every allowed
 * prefix. Creates nothing. 0 or -EPERM with one line in err. */
int hostpath_admit(const char *path, char *err, size_t errlen);

/* Is a path hostpath_prepare resolved still that same path, through no
 * symbolic link, under an allowed prefix? Not when a link was swapped in
 * for a directory since (the pod's entry must not lead there). */
int hostpath_unchanged(const char *resolved);

/* What hostpath_prepare created, so a failed pod set-up can take it back. */
struct hostpath_made {
	char top[PATH_MAX];  /* the first directory or file created, "" if none */
	char last[PATH_MAX]; /* the deepest one */
	int file;            /* last is a file (FileOrCreate) */
};

/* kubelet's SetUp of a hostPath of that type ("" allowed): the allow-list,
 * creation (DirectoryOrCreate: 0755 with parents; FileOrCreate: 0644, the
 * parent must exist; "": a missing path becomes a 0755 directory, as the
 * container runtime does), the type check, and the resolved path in
 * `resolved`. On failure nothing it created remains. 0 or -errno with
 * one line in err. */
int hostpath_prepare(const char *path, const char *type, struct hostpath_made *made,
                     char *resolved, size_t len, char *err, size_t errlen);
/* Remove what a successful prepare created (empty directories only). */
void hostpath_undo(const struct hostpath_made *made);

#endif
