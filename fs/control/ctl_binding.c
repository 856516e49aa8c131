/*
 * fs/control/ctl_binding.c — the claim side of the persistent-volume
 * controller: binds a claim to the volume that fits it (the rules are
 * meta/binding.c's), waits for a first consumer where the class says so,
 * hands a claim no volume fits to the provisioner (fs/control/ctl_provision.c),
 * shows a bound claim's volume, and marks a claim whose volume went Lost.
 */
#include "fs/control/controller_int.h"

#include <string.h>

#include "meta/binding.h"
#include "meta/k8s.h"

int ctl_claim_ref_matches(json_object *pv, json_object *pvc)
{
	const char *uid = jpath_str(pv, "spec.claimRef.uid");
	return !uid || !*uid || !strcmp(uid, jpath_str(pvc, "metadata.uid"));
}

static void bind(struct ctl *c, json_object *pv, json_object *pvc)
{
	json_object *pv_before = ctl_copy(pv);
	json_object *ref = json_object_new_object();
	json_object_object_add(ref, "kind", json_object_new_string("PersistentVolumeClaim"));
	json_object_object_add(ref, "namespace", json_object_new_string(ctl_ns_of(pvc)));
	json_object_object_add(ref, "name", json_object_new_string(ctl_name_of(pvc)));
	json_object_object_add(ref, "uid", json_object_new_string(jpath_str(pvc, "metadata.uid")));
	json_object_object_add(ref, "apiVersion", json_object_new_string("v1"));
	if (!jpath_get(pv, "spec.claimRef"))
		ctl_annotate(pv, "pv.kubernetes.io/bound-by-controller", "yes");
	jpath_set(pv, "spec.claimRef", ref);
	jpath_set_str(pv, "status.phase", "Bound");
	/* The volume first: a crash here leaves it pre-bound to the claim,
	 * and the next run completes the claim's side. */
	ctl_save_if_changed(c, pv_before, pv);
	jpath_set_str(pvc, "spec.volumeName", ctl_name_of(pv));
	ctl_annotate(pvc, "pv.kubernetes.io/bind-completed", "yes");
	ctl_annotate(pvc, "pv.kubernetes.io/bound-by-controller", "yes");
	ctl_event(c, pvc, "Normal", "Bound", "bound to volume %s", ctl_name_of(pv));
}

/* A bound claim shows its volume's phase, modes and full capacity. */
static void show_binding(json_object *pvc, json_object *pv)
{
	ctl_set_str(pvc, "status.phase", "Bound");
	jpath_set(pvc, "status.accessModes", ctl_copy(jpath_get(pv, "spec.accessModes")));
	ctl_set_str(pvc, "status.capacity.storage", jpath_str(pv, "spec.capacity.storage"));
}

/* volumeBindingMode WaitForFirstConsumer: neither binding nor provisioning
 * until a pod uses the claim. */
int ctl_waits_for_consumer(struct ctl *c, json_object *pvc, const char *cls)
{
	json_object *sc = ctl_class_named(c, cls);
	const char *mode = sc ? jpath_str(sc, "volumeBindingMode") : NULL;
	return mode && !strcmp(mode, "WaitForFirstConsumer") && !ctl_claim_user(c, pvc, NULL, 0);
}

/* The volumes to look through for a claim (a new reference). For a claim
 * that names none, of a class volfs provisions for, only those it could
 * bind: the rest are bound to other claims, which only a FailedBinding
 * message (never sent for such a class) lists, and looking at each of
 * them for every new claim made an apply quadratic in claims. */
static json_object *claim_volumes(struct ctl *c, json_object *pvc, const char *cls,
                                  const char *volname)
{
	json_object *sc = ctl_class_named(c, cls);
	const char *prov = sc ? jpath_str(sc, "provisioner") : NULL;
	if (volname || !prov || strcmp(prov, K8S_PROVISIONER))
		return json_object_get(c->pvs);
	return ctl_claim_candidates(c, pvc);
}

int ctl_claim_step(struct ctl *c, json_object *pvc)
{
	if (ctl_deleting(pvc)) /* kubernetes.io/pvc-protection: not while a pod uses it */
		return ctl_claim_user(c, pvc, NULL, 1) ? 0 : ctl_remove_object(c, pvc);
	const char *volname = jpath_str(pvc, "spec.volumeName");
	json_object *pv = volname ? ctl_find(c->pvs, NULL, volname) : NULL;
	if (pv && binding_pv_is_for_claim(pv, pvc) && ctl_claim_ref_matches(pv, pvc) &&
	    jpath_str(pv, "spec.claimRef.uid")) {
		show_binding(pvc, pv);
		ctl_expand_claim(c, pvc, pv);
		show_binding(pvc, pv);
		return 0;
	}
	const char *phase = jpath_str(pvc, "status.phase");
	if (phase && !strcmp(phase, "Bound")) { /* its volume went, or went to another claim */
		ctl_set_str(pvc, "status.phase", "Lost");
		ctl_event(c, pvc, "Warning", "ClaimLost", "Bound claim has lost its PersistentVolume. Data on "
		      "the volume is lost!");
		return 0;
	}
	if (phase && !strcmp(phase, "Lost"))
		return 0;
	ctl_set_str(pvc, "status.phase", "Pending");
	const char *cls = binding_claim_class(pvc, c->classes);
	char why[512] = "";
	json_object *pvs = claim_volumes(c, pvc, cls, volname);
	json_object *match = ctl_waits_for_consumer(c, pvc, cls) && !volname ? NULL
	                     : binding_find_volume(pvs, pvc, cls, why, sizeof why);
	json_object_put(pvs);
	if (match && !ctl_is_gone(match)) {
		bind(c, match, pvc);
		show_binding(pvc, match);
		return 1;
	}
	if (volname) {
		ctl_event(c, pvc, "Warning", "FailedBinding", "%s", why);
		return 0;
	}
	/* The new volume names this claim: bound now, not at the next pass,
	 * which would load every object again for it. */
	json_object *made = ctl_provision_claim(c, pvc, cls, why);
	if (!made)
		return 0;
	bind(c, made, pvc);
	show_binding(pvc, made);
	return 1;
}
