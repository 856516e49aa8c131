/*
 * meta/statefulset.h — StatefulSets: replicas <sts>-<ordinal>, each with
 * claims <template>-<sts>-<ordinal> made from volumeClaimTemplates (see
 * statefulset.c). Pure functions on json-c objects.
 */
#ifndef VOLFS_META_STATEFULSET_H
#define VOLFS_META_STATEFULSET_H

#include <json-c/json.h>
#include <stddef.h>

/* The rules of a claim made from a template (k8s_validate: the claim
 * rules live above the StatefulSet's). */
typedef int sts_claim_check(json_object *claim, const char *ns, char *err, size_t errlen);

/* Checks the spec (templates as claims with check_claim, the pod template
 * as a pod) and defaults spec.replicas to 1. 0 or -EINVAL with the field
 * in err. */
int sts_validate(json_object *sts, sts_claim_check *check_claim, char *err, size_t errlen);
/* volumeClaimTemplates and selector may not change. */
int sts_check_update(json_object *stored, json_object *updated, char *err, size_t errlen);

int sts_replicas(json_object *sts);
size_t sts_templates(json_object *sts);
void sts_claim_name(json_object *sts, size_t t, int ordinal, char *buf, size_t len);
/* New objects (references the caller owns) for a replica. */
json_object *sts_claim(json_object *sts, size_t t, int ordinal);
json_object *sts_pod(json_object *sts, int ordinal);
/* Is the pod a replica of the StatefulSet? Its ordinal in *ordinal. */
int sts_owns(json_object *sts, json_object *pod, int *ordinal);

#endif
