/*
 * meta/selector.h — Kubernetes label selectors (matchLabels and
 * matchExpressions with In, NotIn, Exists, DoesNotExist), as a claim uses
 * them to choose persistent volumes.
 */
#ifndef VOLFS_META_SELECTOR_H
#define VOLFS_META_SELECTOR_H

#include <json-c/json.h>
#include <stddef.h>

/* 0 or -EINVAL with a one-line reason naming the field under `path`
 * ("spec.selector.matchExpressions[0].operator: Unsupported value: \"Has\""). */
int selector_validate(json_object *selector, const char *path, char *err, size_t errlen);

/* Does a labels map (metadata.labels, may be NULL) satisfy the selector?
 * A NULL or empty selector matches everything. */
int selector_matches(json_object *selector, json_object *labels);

/* NULL when key is a valid label key (an optional DNS-1123 subdomain and
 * '/', then a name of at most 63 alphanumerics, '-', '_' or '.' that
 * starts and ends alphanumeric), else why not. */
const char *selector_key_problem(const char *key);
/* NULL when value is a valid label value (empty, or as the name part of
 * a key), else why not. */
const char *selector_value_problem(const char *value);

#endif
