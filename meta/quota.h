/*
 * meta/quota.h — ResourceQuota for storage in a namespace: requests.storage,
 * persistentvolumeclaims, and the per-class forms
 * <class>.storageclass.storage.k8s.io/requests.storage and
 * <class>.storageclass.storage.k8s.io/persistentvolumeclaims. Pure
 * functions over the objects; the caller supplies the namespace's claims.
 */
#ifndef VOLFS_META_QUOTA_H
#define VOLFS_META_QUOTA_H

#include <json-c/json.h>
#include <stddef.h>

/* What the claims (an array of PersistentVolumeClaims of one namespace,
 * each with spec.storageClassName already defaulted) use of the resources
 * the quota's spec.hard names: an object resource -> quantity string
 * ("requests.storage": "3Gi", "persistentvolumeclaims": "2"), the shape
 * of status.used. Resources volfs does not track (cpu, pods, ...) are
 * reported as "0". */
json_object *quota_usage(json_object *quota, json_object *claims);

/* Admission of a claim being created (old NULL) or changed (old is the
 * stored claim, new the update) against every quota of its namespace.
 * claims are the namespace's current claims (old among them when it
 * exists). Returns 0 when every quota allows it, else -EDQUOT with
 * kubectl's message in err:
 * persistentvolumeclaims "data" is forbidden: exceeded quota: q, requested:
 * requests.storage=5Gi, used: requests.storage=8Gi, limited:
 * requests.storage=10Gi */
int quota_admit(json_object *quotas, json_object *claims, json_object *old, json_object *new,
                char *err, size_t errlen);

/* Admitting many claims of one namespace (an apply of thousands) against
 * running totals instead of a sum over the namespace's claims each time:
 * quota_totals sums the claims once for every resource the quotas name
 * ({resource: amount}); quota_admit_totals is quota_admit against those
 * totals (which count the stored claims, old among them); after a claim
 * is stored, quota_totals_update moves the totals from old to new (either
 * may be NULL). */
json_object *quota_totals(json_object *quotas, json_object *claims);
int quota_admit_totals(json_object *quotas, json_object *totals, json_object *old,
                       json_object *new, char *err, size_t errlen);
void quota_totals_update(json_object *totals, json_object *old, json_object *new);

#endif
