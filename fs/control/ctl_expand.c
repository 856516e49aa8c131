/*
 * fs/control/ctl_expand.c — the resizer: a bound claim whose request grew
 * past its volume has the volume expanded online, to whole blocks.
 */
#include "fs/control/controller_int.h"

#include "fs/control/volume.h"
#include "meta/k8s.h"

/* Online expansion: the request grew past the volume. Admission has
 * checked the class allows it. */
void ctl_expand_claim(struct ctl *c, json_object *pvc, json_object *pv)
{
	uint64_t want = jpath_bytes(pvc, "spec.resources.requests.storage");
	uint64_t have = jpath_bytes(pv, "spec.capacity.storage");
	if (want <= have)
		return;
	want = (want + STORE_BLOCK - 1) / STORE_BLOCK * STORE_BLOCK;
	char err[512];
	json_object *out = NULL;
	if (volume_pv_resize(c->v, ctl_name_of(pv), want, &out, err, sizeof err) < 0) {
		ctl_event(c, pvc, "Warning", "VolumeResizeFailed", "%s", err);
		return;
	}
	jpath_set(pv, "spec", ctl_copy(jpath_get(out, "spec")));
	json_object_put(out);
	ctl_event(c, pvc, "Normal", "VolumeResizeSuccessful", "volume %s expanded to %s", ctl_name_of(pv),
	      ctl_claim_request(pvc));
}
