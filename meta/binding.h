/*
 * meta/binding.h — how the Kubernetes persistent-volume controller pairs a
 * claim with a volume (pkg/controller/volume/persistentvolume: index.go
 * findMatchingVolume, pv_controller.go syncUnboundClaim), as pure functions
 * over the objects.
 */
#ifndef VOLFS_META_BINDING_H
#define VOLFS_META_BINDING_H

#include <json-c/json.h>
#include <stddef.h>

/* The default StorageClass among classes (an array), by the annotation
 * storageclass.kubernetes.io/is-default-class: "true"; when several are,
 * the newest (creationTimestamp, then name) wins, as Kubernetes does.
 * NULL when none. */
json_object *binding_default_class(json_object *classes);

/* The class a claim asks for: spec.storageClassName when present (""
 * means class-less volumes only); when omitted, the default class's name,
 * or "" when there is no default. The string lives in one of the objects. */
const char *binding_claim_class(json_object *pvc, json_object *classes);

/* Is the volume pre-bound to (or bound to) this claim: its spec.claimRef
 * names the claim's namespace and name, and its uid if it has one? */
int binding_pv_is_for_claim(json_object *pv, json_object *pvc);

/* Does the volume satisfy the claim: capacity at least the request,
 * access modes a superset of the claim's, same volumeMode, class equal to
 * cls, selector matched by the volume's labels, not being deleted. When a
 * check fails returns 0 and writes why into `why` (may be NULL). Does not
 * look at phase or claimRef. */
int binding_pv_satisfies(json_object *pv, json_object *pvc, const char *cls, char *why,
                         size_t whylen);

/* The volume the claim should bind to, from pvs (an array), or NULL with
 * the reason in why. Kubernetes' order: a volume pre-bound to this claim
 * (spec.claimRef) that is big enough, has the right modes and is not
 * being deleted wins at once (class and selector not checked); otherwise
 * only volumes in phase Available with no claimRef that satisfy the claim
 * are candidates, and the smallest wins (ties: first in the array). A
 * claim with spec.volumeName only considers that volume: it must exist
 * and have no claimRef or one for this claim; one with no claimRef must
 * satisfy the claim except for the selector (checkVolumeSatisfyClaim),
 * one already pre-bound to the claim is returned as is (that completes a
 * binding either side started). When nothing fits, why lists up to five
 * volumes of the claim's class with the reason each was turned down.
 * Binding modes are the caller's: with WaitForFirstConsumer Kubernetes
 * binds nothing but pre-bound volumes until a pod is scheduled. */
json_object *binding_find_volume(json_object *pvs, json_object *pvc, const char *cls, char *why,
                                 size_t whylen);

#endif
