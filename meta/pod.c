/*
 * meta/pod.c — Pod manifests as volfs reads them: the volumes a pod owns
 * or uses and where its containers mount them (see pod.h). Containers are
 * not run; a pod here is the unit that owns emptyDirs and consumes claims.
 */
#include "meta/pod.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "meta/hostpath.h"
#include "meta/field_error.h"
#include "meta/jsonobj.h"
#include "meta/names.h"
#include "meta/projection.h"
#include "meta/quantity.h"

static int is_array(json_object *o)
{
	return o && json_object_is_type(o, json_type_array);
}

static const char *const UNSERVED[] = {
	"nfs", "csi", "ephemeral",
};

/* Exactly one source per volume, of a type this volfs serves. */
static int validate_volume_source(json_object *vol, const char *at, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof UNSERVED / sizeof UNSERVED[0]; i++)
		if (jpath_get(vol, UNSERVED[i]))
			return field_fail(EINVAL, err, errlen, "%s.%s: Unsupported value: volfs does not serve %s "
			            "volumes yet (emptyDir, hostPath, persistentVolumeClaim, configMap, "
			            "secret, downwardAPI and projected are served)", at, UNSERVED[i], UNSERVED[i]);
	json_object *ed = jpath_get(vol, "emptyDir"), *pvc = jpath_get(vol, "persistentVolumeClaim");
	json_object *host = jpath_get(vol, "hostPath");
	int projected = projection_is(vol);
	if (!!ed + !!pvc + !!host + projected != 1)
		return field_fail(EINVAL, err, errlen, "%s: Required value: exactly one volume source "
		            "(emptyDir, hostPath, persistentVolumeClaim, configMap, secret, downwardAPI "
		            "or projected)", at);
	if (projected)
		return projection_validate(vol, at, err, errlen);
	if (host) {
		char hat[96];
		snprintf(hat, sizeof hat, "%s.hostPath", at);
		return hostpath_validate(host, hat, err, errlen);
	}
	if (pvc) {
		const char *claim = jpath_str(pvc, "claimName");
		char why[256];
		if (!claim || !*claim)
			return field_fail(EINVAL, err, errlen, "%s.persistentVolumeClaim.claimName: Required value", at);
		if (name_check_subdomain(claim, why, sizeof why) < 0)
			return field_fail(EINVAL, err, errlen, "%s.persistentVolumeClaim.claimName: Invalid value: %s", at, why);
		return 0;
	}
	const char *medium = jpath_str(ed, "medium");
	if (medium && *medium && strcmp(medium, "Memory"))
		return field_fail(EINVAL, err, errlen, "%s.emptyDir.medium: Unsupported value: \"%s\": supported "
		            "values: \"\", \"Memory\"", at, medium);
	json_object *limit = jpath_get(ed, "sizeLimit");
	if (limit) {
		uint64_t bytes;
		char why[256];
		if (quantity_parse(json_object_get_string(limit), &bytes, why, sizeof why) < 0 || !bytes)
			return field_fail(EINVAL, err, errlen, "%s.emptyDir.sizeLimit: Invalid value: %s", at,
			            bytes ? why : "must be greater than zero");
	}
	return 0;
}

static int validate_volumes(json_object *vols, char *err, size_t errlen)
{
	if (!vols)
		return 0;
	if (!is_array(vols))
		return field_fail(EINVAL, err, errlen, "spec.volumes: Invalid value: must be a list");
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i);
		const char *name = jpath_str(v, "name");
		char at[64], why[256];
		snprintf(at, sizeof at, "spec.volumes[%zu]", i);
		if (!name)
			return field_fail(EINVAL, err, errlen, "%s.name: Required value", at);
		if (name_check_label(name, why, sizeof why) < 0)
			return field_fail(EINVAL, err, errlen, "%s.name: Invalid value: %s", at, why);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(name, jpath_str(json_object_array_get_idx(vols, j), "name")))
				return field_fail(EINVAL, err, errlen, "%s.name: Duplicate value: \"%s\"", at, name);
		int r = validate_volume_source(v, at, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

static json_object *volume_named(json_object *vols, const char *name)
{
	for (size_t i = 0; is_array(vols) && name && i < json_object_array_length(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i);
		if (!strcmp(jpath_str(v, "name"), name))
			return v;
	}
	return NULL;
}

/* The API server's validateLocalDescendingPath. */
int pod_subpath_check(const char *sub, char *err, size_t errlen)
{
	if (sub[0] == '/')
		return field_fail(EINVAL, err, errlen, "must be a relative path");
	for (const char *p = sub; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2))
			return field_fail(EINVAL, err, errlen, "must not contain '..'");
		p += n + (p[n] == '/');
	}
	return 0;
}

int path_is_within(const char *root, const char *path)
{
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1 && root[0] == '/')
		return path[0] == '/';
	return !strncmp(root, path, n) && (path[n] == 0 || path[n] == '/');
}

json_object *pod_container(json_object *pod, const char *name, int *defaulted, char *err,
                           size_t errlen)
{
	json_object *cs = jpath_get(pod, "spec.containers");
	size_t n = is_array(cs) ? json_object_array_length(cs) : 0;
	*defaulted = 0;
	if (!name) {
		*defaulted = n > 1;
		if (n)
			return json_object_array_get_idx(cs, 0);
		field_fail(EINVAL, err, errlen, "pod \"%s\" has no containers", jpath_str(pod, "metadata.name"));
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(jpath_str(json_object_array_get_idx(cs, i), "name"), name))
			return json_object_array_get_idx(cs, i);
	char names[512];
	pod_container_names(pod, names, sizeof names);
	field_fail(EINVAL, err, errlen, "container \"%s\" not found in pod \"%s\" (its containers: %s)", name,
	     jpath_str(pod, "metadata.name"), names);
	return NULL;
}

void pod_container_names(json_object *pod, char *buf, size_t len)
{
	json_object *cs = jpath_get(pod, "spec.containers");
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; is_array(cs) && i < json_object_array_length(cs) && used < len; i++) {
		const char *n = jpath_str(json_object_array_get_idx(cs, i), "name");
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", n ? n : "");
		used += w > 0 ? (size_t)w : 0;
	}
}

json_object *pod_volume_named(json_object *pod, const char *name)
{
	return volume_named(jpath_get(pod, "spec.volumes"), name);
}

int pod_volume_read_only(json_object *volume)
{
	json_object *ro = jpath_get(volume, "persistentVolumeClaim.readOnly");
	return (ro && json_object_get_boolean(ro)) || projection_is(volume);
}

static int validate_mounts(json_object *c, const char *at, json_object *vols, char *err,
                           size_t errlen)
{
	json_object *mounts = jpath_get(c, "volumeMounts");
	if (!mounts)
		return 0;
	if (!is_array(mounts))
		return field_fail(EINVAL, err, errlen, "%s.volumeMounts: Invalid value: must be a list", at);
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *name = jpath_str(m, "name"), *path = jpath_str(m, "mountPath");
		const char *sub = jpath_str(m, "subPath");
		if (!volume_named(vols, name))
			return field_fail(EINVAL, err, errlen, "%s.volumeMounts[%zu].name: Not found: \"%s\"", at, i,
			            name ? name : "");
		if (!path || path[0] != '/')
			return field_fail(EINVAL, err, errlen, "%s.volumeMounts[%zu].mountPath: Invalid value: must be "
			            "an absolute path", at, i);
		char why[256];
		if (sub && pod_subpath_check(sub, why, sizeof why) < 0)
			return field_fail(EINVAL, err, errlen, "%s.volumeMounts[%zu].subPath: Invalid value: \"%s\": %s",
			            at, i, sub, why);
	}
	return 0;
}

int pod_validate(json_object *pod, char *err, size_t errlen)
{
	json_object *vols = jpath_get(pod, "spec.volumes"), *cs = jpath_get(pod, "spec.containers");
	int r = validate_volumes(vols, err, errlen);
	if (r < 0)
		return r;
	if (!is_array(cs) || !json_object_array_length(cs))
		return field_fail(EINVAL, err, errlen, "spec.containers: Required value");
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i);
		const char *name = jpath_str(c, "name");
		char at[64], why[256];
		snprintf(at, sizeof at, "spec.containers[%zu]", i);
		if (!name || name_check_label(name, why, sizeof why) < 0)
			return field_fail(EINVAL, err, errlen, "%s.name: %s", at, name ? why : "Required value");
		if ((r = validate_mounts(c, at, vols, err, errlen)) < 0)
			return r;
	}
	return 0;
}

int pod_check_update(json_object *stored, json_object *updated, char *err, size_t errlen)
{
	if (!json_object_equal(jpath_get(stored, "spec"), jpath_get(updated, "spec")))
		return field_fail(EINVAL, err, errlen, "spec: Forbidden: pod updates may not change fields other than "
		            "metadata (volfs: delete and re-create the pod)");
	return 0;
}

int pod_volume_in_memory(json_object *volume)
{
	const char *medium = jpath_str(volume, "emptyDir.medium");
	return medium && !strcmp(medium, "Memory");
}

/* kubelet's calculateEmptyDirMemorySize: the node's allocatable memory,
 * lowered to the pod's memory limit when every container has one, and to
 * the volume's sizeLimit when that is lower still. */
uint64_t pod_memory_dir_size(json_object *pod, json_object *volume, uint64_t node_bytes)
{
	uint64_t size = node_bytes, pod_limit = 0;
	json_object *cs = jpath_get(pod, "spec.containers");
	for (size_t i = 0; is_array(cs) && i < json_object_array_length(cs); i++) {
		uint64_t limit = jpath_bytes(json_object_array_get_idx(cs, i), "resources.limits.memory");
		if (!limit) {
			pod_limit = 0;
			break;
		}
		pod_limit += limit;
	}
	if (pod_limit && pod_limit < size)
		size = pod_limit;
	uint64_t limit = jpath_bytes(volume, "emptyDir.sizeLimit");
	if (limit && limit < size)
		size = limit;
	return size;
}

const char *pod_volume_claim(json_object *volume)
{
	return jpath_str(volume, "persistentVolumeClaim.claimName");
}

int pod_uses_claim(json_object *pod, const char *claim, int *read_only)
{
	json_object *vols = jpath_get(pod, "spec.volumes");
	int used = 0, ro = 1;
	for (size_t i = 0; is_array(vols) && i < json_object_array_length(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i), *flag;
		const char *c = pod_volume_claim(v);
		if (!c || strcmp(c, claim))
			continue;
		used = 1;
		flag = jpath_get(v, "persistentVolumeClaim.readOnly");
		if (!flag || !json_object_get_boolean(flag))
			ro = 0;
	}
	if (read_only)
		*read_only = used && ro;
	return used;
}

int pod_owner_check_spec(json_object *owner, char *err, size_t errlen)
{
	json_object *r = jpath_get(owner, "spec.replicas");

	if (!r)
		jpath_set(owner, "spec.replicas", json_object_new_int(1));
	else if (!json_object_is_type(r, json_type_int) || json_object_get_int(r) < 0 ||
	         json_object_get_int(r) > 1000) {
		snprintf(err, errlen, "spec.replicas: Invalid value: must be an integer from 0 to 1000");
		return -EINVAL;
	}
	if (!jpath_get(owner, "spec.template.spec")) {
		snprintf(err, errlen, "spec.template.spec: Required value");
		return -EINVAL;
	}
	return 0;
}

int pod_owner_check_template(json_object *pod, char *err, size_t errlen)
{
	char why[512];
	int rc = pod_validate(pod, why, sizeof why);

	json_object_put(pod);
	if (rc < 0) {
		snprintf(err, errlen, "spec.template: %s", why);
		return -EINVAL;
	}
	return 0;
}

json_object *pod_from_template(json_object *owner, const char *name)
{
	json_object *pod = json_object_new_object(), *ref = json_object_new_object();
	json_object *refs = json_object_new_array(), *tl = jpath_get(owner, "spec.template.metadata.labels");
	json_object *spec = NULL, *labels = NULL;

	jpath_set_str(pod, "apiVersion", "v1");
	jpath_set_str(pod, "kind", "Pod");
	if (tl && json_object_deep_copy(tl, &labels, NULL) == 0)
		jpath_set(pod, "metadata.labels", labels);
	jpath_set_str(pod, "metadata.name", name);
	jpath_set_str(pod, "metadata.namespace", jpath_str(owner, "metadata.namespace"));
	jpath_set_str(ref, "apiVersion", "apps/v1");
	jpath_set_str(ref, "kind", jpath_str(owner, "kind") ? jpath_str(owner, "kind") : "");
	jpath_set_str(ref, "name", jpath_str(owner, "metadata.name"));
	jpath_set_str(ref, "uid", jpath_str(owner, "metadata.uid") ? jpath_str(owner, "metadata.uid") : "");
	json_object_array_add(refs, ref);
	jpath_set(pod, "metadata.ownerReferences", refs);
	if (jpath_get(owner, "spec.template.spec"))
		json_object_deep_copy(jpath_get(owner, "spec.template.spec"), &spec, NULL);
	jpath_set(pod, "spec", spec ? spec : json_object_new_object());
	return pod;
}
