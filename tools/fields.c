/*
 * tools/fields.c — fields of the objects volctl prints: read by dotted
 * path, and shown as kubectl's printers show them (see fields.h).
 */
#include "tools/fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/quantity.h"
#include "tools/human.h"

struct json_object *json_path(struct json_object *obj, const char *path)
{
	char key[128];

	while (obj && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		if (len >= sizeof key || !json_object_is_type(obj, json_type_object))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		if (!json_object_object_get_ex(obj, key, &obj))
			return NULL;
		path += len + (dot != NULL);
	}
	return obj;
}

const char *json_path_str(struct json_object *obj, const char *path, const char *dflt)
{
	struct json_object *v = json_path(obj, path);

	if (!v || json_object_is_type(v, json_type_null) ||
	    json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return dflt;
	return json_object_get_string(v);
}

/* A byte count member; sizes travel as integers, but tolerate a quantity
 * string too. Returns 0 or -1 when missing or not a size. */
int json_path_bytes(struct json_object *obj, const char *path, uint64_t *bytes)
{
	struct json_object *v = json_path(obj, path);

	if (!v)
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		*bytes = n < 0 ? 0 : (uint64_t)n;
		return 0;
	}
	if (json_object_is_type(v, json_type_string))
		return quantity_parse(json_object_get_string(v), bytes, NULL, 0);
	return -1;
}

static const char *access_mode_short(const char *mode)
{
	static const char *const map[][2] = {
		{ "ReadWriteOnce", "RWO" },
		{ "ReadOnlyMany", "ROX" },
		{ "ReadWriteMany", "RWX" },
		{ "ReadWriteOncePod", "RWOP" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(mode, map[i][0]) == 0)
			return map[i][1];
	return mode;
}

void text_access_modes(struct json_object *obj, const char *path, char *buf, size_t len)
{
	struct json_object *modes = json_path(obj, path);
	size_t n = modes && json_object_is_type(modes, json_type_array) ? json_object_array_length(modes) : 0;
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		const char *m = json_object_get_string(json_object_array_get_idx(modes, i));

		used += snprintf(buf + used, len - used, "%s%s", i ? "," : "", access_mode_short(m ? m : ""));
	}
}

void text_quantity(struct json_object *obj, const char *path, char *buf, size_t len)
{
	struct json_object *v = json_path(obj, path);

	if (v && json_object_is_type(v, json_type_int))
		quantity_format((uint64_t)json_object_get_int64(v), buf, len);
	else
		snprintf(buf, len, "%s", json_path_str(obj, path, ""));
}

void text_claim_ref(struct json_object *pv, char *buf, size_t len)
{
	const char *ns = json_path_str(pv, "spec.claimRef.namespace", "");
	const char *name = json_path_str(pv, "spec.claimRef.name", "");

	if (!*name)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s%s%s", ns, *ns ? "/" : "", name);
}

void text_snapshot_source(struct json_object *vs, char *buf, size_t len)
{
	const char *pv = json_path_str(vs, "spec.source.persistentVolumeName", NULL);
	const char *pvc = json_path_str(vs, "spec.source.persistentVolumeClaimName", NULL);

	if (pvc)
		snprintf(buf, len, "pvc/%s", pvc);
	else if (pv)
		snprintf(buf, len, "pv/%s", pv);
	else
		buf[0] = '\0';
}

const char *text_phase(struct json_object *obj)
{
	if (json_path(obj, "metadata.deletionTimestamp"))
		return "Terminating";
	return json_path_str(obj, "status.phase", "");
}

void text_age(struct json_object *obj, time_t now, char *buf, size_t len)
{
	human_age(json_path_str(obj, "metadata.creationTimestamp", NULL), now, buf, len);
}

int text_annotation_true(struct json_object *obj, const char *key)
{
	struct json_object *ann = json_path(obj, "metadata.annotations"), *v;

	return ann && json_object_is_type(ann, json_type_object) && json_object_object_get_ex(ann, key, &v) &&
	       json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), "true") == 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **text_sorted_keys(struct json_object *map, size_t *n)
{
	const char **keys;
	size_t i = 0;

	*n = map && json_object_is_type(map, json_type_object) ? (size_t)json_object_object_length(map) : 0;
	keys = calloc(*n + 1, sizeof *keys);
	if (!keys)
		abort();
	if (*n == 0)
		return keys;
	json_object_object_foreach(map, key, val) {
		(void)val;
		keys[i++] = key;
	}
	qsort(keys, *n, sizeof *keys, compare_strings);
	return keys;
}

void text_quota_pairs(struct json_object *quota, int limits, char *buf, size_t len)
{
	struct json_object *hard = json_path(quota, "status.hard"), *used = json_path(quota, "status.used");
	size_t n, off = 0;
	const char **keys;

	if (!hard)
		hard = json_path(quota, "spec.hard");
	keys = text_sorted_keys(hard, &n);
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		struct json_object *u = NULL;

		if ((strncmp(keys[i], "limits.", 7) == 0) != limits)
			continue;
		if (used && json_object_is_type(used, json_type_object))
			json_object_object_get_ex(used, keys[i], &u);
		off += snprintf(buf + off, len - off, "%s%s: %s/%s", off ? ", " : "", keys[i],
				u ? json_object_get_string(u) : "0",
				json_object_get_string(json_object_object_get(hard, keys[i])));
	}
	free(keys);
}
