/*
 * fs/control/watch.h — watches on the control socket (docs/control-protocol.md):
 * a "watch" request keeps its connection; the daemon answers with the
 * objects it has and then writes one line per change ({"type":"ADDED" |
 * "MODIFIED" | "DELETED", "object":{...}}) after each request that
 * changed them. Also the object lists watches and "get" share, including
 * Events, which are rows of their own table rather than objects.
 */
#ifndef VOLFS_FS_WATCH_H
#define VOLFS_FS_WATCH_H

#include <json-c/json.h>
#include <stddef.h>

#include "fs/vfs/vfs.h"

struct watches;

struct watches *watches_new(void);
/* Close every watch's connection. */
void watches_free(struct watches *w);

/* Is req a watch request? */
int watch_request(json_object *req);
/* Answer req on fd with the objects now there and keep fd to push
 * changes to (the watches own it from now on, even on error). */
void watches_add(struct watches *w, struct vfs *v, int fd, json_object *req);
/* After a request: push every watch the changes of its objects since it
 * last looked; drop those whose client hung up or does not read. */
void watches_notify(struct watches *w, struct vfs *v);

/* The objects of kind in ns (NULL: every namespace), or the one named:
 * api_get, and Events too. */
int watch_list(struct vfs *v, const char *kind, const char *ns, const char *name, json_object **items,
               char *err, size_t errlen);

#endif
