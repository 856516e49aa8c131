/*
 * tools/describe.h — volctl describe's text: kubectl-describe output for
 * each kind, ending in the object's events.
 */
#ifndef VOLFS_TOOLS_DESCRIBE_H
#define VOLFS_TOOLS_DESCRIBE_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "meta/kinds.h"

/* kubectl-describe text of a describe answer {object, events, usage,
 * usedBy?, quotas?}. */
void describe_print(FILE *f, const struct k8s_kind *k, struct json_object *answer, time_t now);

#endif
