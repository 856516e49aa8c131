/*
 * meta/configdata.h — ConfigMap and Secret objects: what the API server
 * accepts in them, what stays once they are immutable, and reading one
 * entry's bytes for the volumes that project them (see projection.h).
 * Pure functions on json-c objects.
 *
 * A ConfigMap keeps plain strings in data and base64 text in binaryData;
 * a Secret keeps base64 text in data and plain strings in stringData,
 * which wins for a key in both (the API server merges them so).
 */
#ifndef VOLFS_META_CONFIGDATA_H
#define VOLFS_META_CONFIGDATA_H

#include <json-c/json.h>
#include <stddef.h>

#define CONFIGDATA_MAX (1 << 20) /* bytes of entries in one object, as the API server */

/* ConfigMap: data a map of strings, binaryData a map of base64 strings,
 * keys valid config keys and not in both maps, at most 1 MiB in all,
 * immutable a boolean. 0 or -EINVAL with the field in err. */
int configmap_validate(json_object *cm, char *err, size_t errlen);
/* Secret: type a string (an absent or empty one becomes "Opaque" in
 * place), data a map of base64 strings, stringData a map of strings, keys
 * as for ConfigMaps, at most 1 MiB decoded; the well-known types need
 * their keys (kubernetes.io/tls: tls.crt and tls.key; dockercfg,
 * dockerconfigjson, ssh-auth, basic-auth, service-account-token as the
 * API server checks). Messages name the key, never the value. */
int secret_validate(json_object *secret, char *err, size_t errlen);
/* An immutable ConfigMap or Secret keeps its data (and stays immutable);
 * a Secret's type never changes. 0 or -EINVAL with the field in err. */
int configmap_check_update(json_object *stored, json_object *updated, char *err, size_t errlen);
int secret_check_update(json_object *stored, json_object *updated, char *err, size_t errlen);

/* NULL when key may name an entry ([-._a-zA-Z0-9]+, at most 253
 * characters, not "." and not starting with ".." which kubelet's ..data
 * layout reserves), else why not. */
const char *configdata_key_problem(const char *key);

/* The bytes of entry key of obj (secret: a Secret, else a ConfigMap),
 * base64 decoded where stored so, in a new buffer *data of *len bytes
 * (a NUL follows them). 1; 0 when obj has no such key; -EINVAL when the
 * stored value is not a string or not base64; -ENOMEM. */
int configdata_value(json_object *obj, int secret, const char *key, char **data, size_t *len);
/* Every key obj has an entry for, each once, sorted: a new JSON array of
 * strings. */
json_object *configdata_keys(json_object *obj, int secret);

#endif
