/*
 * fs/control/request.h — the members a control-protocol request may carry and
 * their JSON types (docs/control-protocol.md), checked before a request is
 * dispatched so that a handler never mistakes a wrong type for an absent
 * member.
 */
#ifndef VOLFS_FS_REQUEST_H
#define VOLFS_FS_REQUEST_H

#include <json-c/json.h>
#include <stddef.h>

/* 0 when req is an object whose every member is one the protocol knows,
 * of its type (sizes: integers from 0 to INT64_MAX); else -1 with one line
 * in err naming the member and the type it must have, such as
 *   field "name": expected a string, got an integer */
int request_check(json_object *req, char *err, size_t errlen);

#endif
