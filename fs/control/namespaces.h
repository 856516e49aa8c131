/*
 * fs/control/namespaces.h — whether a namespace can take new objects: it
 * exists and is not terminating (see fs/control/namespaces.c). Below the
 * API server and the snapshot verbs, which both ask before they create.
 */
#ifndef VOLFS_FS_NAMESPACES_H
#define VOLFS_FS_NAMESPACES_H

#include <stddef.h>

#include "meta/db.h"

/* May new objects go into namespace ns (it exists and is not being
 * deleted)? 0, -ENOENT or -EPERM with the API server's message. db locked. */
int namespace_usable(struct db *db, const char *ns, char *err, size_t errlen);

#endif
