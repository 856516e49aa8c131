/*
 * meta/deployment.h — Deployments (apps/v1) as storage sees them: replicas
 * pods from one template, named <deployment>-<hash>-<suffix> where hash
 * is the template's (pod-template-hash), sharing the claims the template
 * names. Pure functions on json-c objects (meta/deployment.c).
 */
#ifndef VOLFS_META_DEPLOYMENT_H
#define VOLFS_META_DEPLOYMENT_H

#include <json-c/json.h>
#include <stddef.h>

/* Checks the spec (the template as a pod) and defaults spec.replicas to
 * 1. 0 or -EINVAL with the field in err. */
int deploy_validate(json_object *d, char *err, size_t errlen);
/* spec.selector may not change. */
int deploy_check_update(json_object *stored, json_object *updated, char *err, size_t errlen);
int deploy_replicas(json_object *d);
/* The template's hash, as pod-template-hash ("6d5f8c9b7"). */
void deploy_template_hash(json_object *d, char *buf, size_t len);
/* A new pod (a reference the caller owns) of the current template; slot
 * picks its name's suffix, so slots 0, 1, ... give distinct names. */
json_object *deploy_pod(json_object *d, unsigned slot);
/* Is the pod the deployment's? *current: of its current template. */
int deploy_owns(json_object *d, json_object *pod, int *current);

#endif
