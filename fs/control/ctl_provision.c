/*
 * fs/control/ctl_provision.c — the external provisioner: a claim no volume
 * fits gets a new PersistentVolume of its class (empty, restored from a
 * VolumeSnapshot or cloned from another claim), or an event saying why it
 * waits (no class, another provisioner, a selector, a first consumer).
 */
#include "fs/control/controller_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "meta/k8s.h"
#include "meta/quantity.h"

/* A string member whose key may hold dots (an annotation's), or NULL. */
static const char *key_str(json_object *map, const char *key)
{
	json_object *v = NULL;
	if (!map || !json_object_object_get_ex(map, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The PersistentVolume a provisioner makes for a claim. */
static json_object *provisioned_body(json_object *pvc, json_object *sc, uint64_t bytes)
{
	json_object *pv = json_object_new_object();
	char q[64];
	quantity_format(bytes, q, sizeof q);
	jpath_set_str(pv, "apiVersion", "v1");
	jpath_set_str(pv, "kind", "PersistentVolume");
	ctl_annotate(pv, "pv.kubernetes.io/provisioned-by", K8S_PROVISIONER);
	/* The claim's own inode limit, else its class's. */
	const char *inodes = key_str(jpath_get(pvc, "metadata.annotations"), VOLUME_INODES_ANNOTATION);
	if (!inodes)
		inodes = key_str(jpath_get(sc, "parameters"), "inodes");
	if (inodes)
		ctl_annotate(pv, VOLUME_INODES_ANNOTATION, inodes);
	jpath_set_str(pv, "spec.capacity.storage", q);
	jpath_set(pv, "spec.accessModes", ctl_copy(jpath_get(pvc, "spec.accessModes")));
	const char *policy = jpath_str(sc, "reclaimPolicy");
	jpath_set_str(pv, "spec.persistentVolumeReclaimPolicy", policy ? policy : "Delete");
	jpath_set_str(pv, "spec.storageClassName", ctl_name_of(sc));
	jpath_set_str(pv, "spec.volumeMode", "Filesystem");
	if (jpath_get(sc, "mountOptions"))
		jpath_set(pv, "spec.mountOptions", ctl_copy(jpath_get(sc, "mountOptions")));
	jpath_set_str(pv, "spec.claimRef.kind", "PersistentVolumeClaim");
	jpath_set_str(pv, "spec.claimRef.namespace", ctl_ns_of(pvc));
	jpath_set_str(pv, "spec.claimRef.name", ctl_name_of(pvc));
	jpath_set_str(pv, "spec.claimRef.uid", jpath_str(pvc, "metadata.uid"));
	jpath_set_str(pv, "spec.claimRef.apiVersion", "v1");
	/* The claim binds it in the same step (ctl_claim_step): stored Bound,
	 * it need not be written again for that. A crash before the claim is
	 * saved leaves a volume pre-bound to it, which the next run binds. */
	jpath_set_str(pv, "status.phase", "Bound");
	return pv;
}

static json_object *data_source(json_object *pvc)
{
	json_object *ds = jpath_get(pvc, "spec.dataSourceRef");
	return ds ? ds : jpath_get(pvc, "spec.dataSource");
}

/* Make the volume's tree from the claim's data source (or empty). 0, or
 * a negative errno with the reason in err; -EAGAIN: the source is not
 * ready yet. */
static int provision_tree(struct ctl *c, json_object *pvc, const char *pvname, uint64_t bytes,
                          json_object *body, char *err, size_t errlen)
{
	json_object *ds = data_source(pvc), *out = NULL;
	const char *kind = ds ? jpath_str(ds, "kind") : NULL, *src = ds ? jpath_str(ds, "name") : NULL;
	char event_msg[320];
	int r;
	if (!ds) {
		snprintf(event_msg, sizeof event_msg, "provisioned for claim %s/%s", ctl_ns_of(pvc), ctl_name_of(pvc));
		r = volume_pv_create_with(c->v, pvname, bytes, volume_make_empty_tree, NULL, body,
		                          event_msg, &out, err, errlen);
	} else if (!strcmp(kind, "VolumeSnapshot")) {
		json_object *vs = ctl_find(c->vss, ctl_ns_of(pvc), src);
		json_object *ready = vs ? jpath_get(vs, "status.readyToUse") : NULL;
		if (!ready || !json_object_get_boolean(ready)) {
			snprintf(err, errlen, "volumesnapshot \"%s\" is %s", src, vs ? "not ready to use" : "not found");
			return -EAGAIN;
		}
		if (jpath_bytes(vs, "status.restoreSize") > bytes) {
			snprintf(err, errlen, "requested volume size %s is less than the size %s of the source "
			         "snapshot %s", ctl_claim_request(pvc), jpath_str(vs, "status.restoreSize"), src);
			return -EINVAL;
		}
		r = volume_restore(c->v, ctl_ns_of(pvc), src, pvname, bytes, body, &out, err, errlen);
	} else {
		json_object *from = ctl_find(c->pvcs, ctl_ns_of(pvc), src);
		const char *srcpv = from ? jpath_str(from, "spec.volumeName") : NULL;
		const char *phase = from ? jpath_str(from, "status.phase") : NULL;
		if (!srcpv || !phase || strcmp(phase, "Bound")) {
			snprintf(err, errlen, "source claim \"%s\" is %s", src, from ? "not bound" : "not found");
			return -EAGAIN;
		}
		if (jpath_bytes(from, "status.capacity.storage") > bytes) {
			snprintf(err, errlen, "requested volume size %s is less than the size %s of the source "
			         "claim %s", ctl_claim_request(pvc), jpath_str(from, "status.capacity.storage"), src);
			return -EINVAL;
		}
		r = volume_clone(c->v, srcpv, pvname, bytes, body, &out, err, errlen);
	}
	json_object_put(out);
	return r;
}

static json_object *provision(struct ctl *c, json_object *pvc, json_object *sc)
{
	char pvname[64];
	snprintf(pvname, sizeof pvname, "pvc-%s", jpath_str(pvc, "metadata.uid"));
	uint64_t bytes = jpath_bytes(pvc, "spec.resources.requests.storage");
	bytes = (bytes + STORE_BLOCK - 1) / STORE_BLOCK * STORE_BLOCK;
	json_object *body = provisioned_body(pvc, sc, bytes);
	char err[512] = "";
	int r = provision_tree(c, pvc, pvname, bytes, body, err, sizeof err);
	if (r < 0) {
		ctl_event(c, pvc, "Warning", "ProvisioningFailed", "failed to provision volume with StorageClass "
		      "\"%s\": %s", ctl_name_of(sc), err);
		json_object_put(body);
		return NULL;
	}
	ctl_event(c, pvc, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume %s", pvname);
	json_object_array_add(c->pvs, body);
	return body;
}

/* No volume fits: provision one, or say why the claim waits. */
json_object *ctl_provision_claim(struct ctl *c, json_object *pvc, const char *cls, const char *why)
{
	json_object *sc = ctl_class_named(c, cls);
	if (!cls || !*cls) {
		ctl_event(c, pvc, "Normal", "FailedBinding", "%s", why && *why ? why :
		      "no persistent volumes available for this claim and no storage class is set");
		return NULL;
	}
	if (!sc) {
		ctl_event(c, pvc, "Warning", "ProvisioningFailed", "storageclass.storage.k8s.io \"%s\" not "
		      "found%s%s", cls, *why ? "; " : "", why);
		return NULL;
	}
	if (ctl_waits_for_consumer(c, pvc, cls)) {
		ctl_event(c, pvc, "Normal", "WaitForFirstConsumer",
		      "waiting for first consumer to be created before binding");
		return NULL;
	}
	const char *prov = jpath_str(sc, "provisioner");
	if (!prov || strcmp(prov, K8S_PROVISIONER)) {
		ctl_event(c, pvc, "Normal", "ExternalProvisioning", "Waiting for a volume to be created either "
		      "by the external provisioner '%s' or manually by the system administrator. volfs "
		      "provisions only for '%s'", prov ? prov : "", K8S_PROVISIONER);
		return NULL;
	}
	if (jpath_get(pvc, "spec.selector")) {
		ctl_event(c, pvc, "Warning", "ProvisioningFailed", "failed to provision volume with StorageClass "
		      "\"%s\": claim Selector is not supported", cls);
		return NULL;
	}
	return provision(c, pvc, sc);
}
