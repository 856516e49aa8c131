/*
 * meta/configdata.c — ConfigMap and Secret objects (see configdata.h):
 * their validation and immutability, and reading one entry's bytes for
 * the volumes that project them.
 *
 * Base64 (Secret data, ConfigMap binaryData) is decoded by OpenSSL's
 * libcrypto; this file only checks the text first, because
 * EVP_DecodeBlock is laxer than Go's decoder the API server uses ('=' in
 * the middle reads as zero bits) and counts padding as decoded zero bytes.
 *
 * Secret values never appear in messages: a message names the key.
 */
#include "meta/configdata.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "meta/field_error.h"
#include "meta/jsonobj.h"

#define AT_MAX FIELD_PATH_MAX
#define CONFIG_KEY_MAX 253

/* --- base64, as Go's encoding/base64.StdEncoding decodes it --- */

static int b64_alphabet(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Copy s without the \r and \n Go skips into out; NUL-terminated. */
static size_t b64_strip(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n')
			out[n++] = s[i];
	out[n] = '\0';
	return n;
}

/* Index (in the stripped text) of the first byte Go would refuse, or n
 * when the text is valid: whole quanta, '=' only as the last one or two. */
static size_t b64_bad_at(const char *t, size_t n)
{
	size_t pad = 0;

	if (n >= 1 && t[n - 1] == '=')
		pad = (n >= 2 && t[n - 2] == '=') ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_alphabet((unsigned char)t[i]))
			return i;
	if (n % 4)
		return n - n % 4 > 0 ? n - n % 4 : 0;
	return n;
}

/* Decode base64 text of length len into a new buffer (*out, *outlen; NUL
 * added after the bytes). 0, or -1 with the input byte Go would name. */
static int b64_decode(const char *s, size_t len, char **out, size_t *outlen, size_t *bad)
{
	char *text = malloc(len + 1);
	size_t n, at;
	int pad, got;

	*out = NULL;
	if (!text)
		return -1;
	n = b64_strip(s, len, text);
	at = b64_bad_at(text, n);
	if (at != n || n > INT_MAX) {
		*bad = at;
		free(text);
		return -1;
	}
	pad = (n && text[n - 1] == '=') + (n > 1 && text[n - 2] == '=');
	*out = malloc(n / 4 * 3 + 1);
	got = *out ? EVP_DecodeBlock((unsigned char *)*out, (unsigned char *)text, (int)n) : -1;
	free(text);
	if (got < 0) {
		free(*out);
		*out = NULL;
		*bad = 0;
		return -1;
	}
	/* EVP_DecodeBlock counts the padding as decoded zero bytes. */
	*outlen = (size_t)got - (size_t)pad;
	(*out)[*outlen] = '\0';
	return 0;
}

/* Is the JSON string valid base64? Its decoded size in *size. */
static int b64_valid(json_object *v, size_t *size, size_t *bad)
{
	char *bytes;

	if (b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), &bytes,
		       size, bad) < 0)
		return 0;
	free(bytes);
	return 1;
}

/* --- keys --- */

#define KEY_CHARS "-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* NULL when key may name a ConfigMap or Secret entry, else why not. */
const char *configdata_key_problem(const char *key)
{
	size_t len = strlen(key);

	if (!len || strspn(key, KEY_CHARS) != len)
		return "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
		       "(e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex used for validation is "
		       "'[-._a-zA-Z0-9]+')";
	if (len > CONFIG_KEY_MAX)
		return "must be no more than 253 characters";
	if (!strcmp(key, "."))
		return "must not be '.'";
	if (!strcmp(key, ".."))
		return "must not be '..'";
	if (!strncmp(key, "..", 2))
		return "must not start with '..'";
	return NULL;
}

/* --- reading entries --- */

/* Where an object keeps its entries: plain strings and base64 text; a
 * Secret's stringData wins over its data (the API server merges them so),
 * a ConfigMap may not have a key in both. */
struct maps {
	const char *plain, *base64;
};

static struct maps maps_of(int secret)
{
	return secret ? (struct maps){ "stringData", "data" } : (struct maps){ "data", "binaryData" };
}

static char *dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

int configdata_value(json_object *obj, int secret, const char *key, char **data, size_t *len)
{
	struct maps m = maps_of(secret);
	json_object *plain = json_member(json_member(obj, m.plain), key);
	json_object *b64 = json_member(json_member(obj, m.base64), key);
	size_t bad;

	*data = NULL;
	if (plain && (secret || !b64)) {
		if (!json_is(plain, json_type_string))
			return -EINVAL;
		*len = (size_t)json_object_get_string_len(plain);
		*data = dup_bytes(json_object_get_string(plain), *len);
		return *data ? 1 : -ENOMEM;
	}
	if (!b64)
		return 0;
	if (!json_is(b64, json_type_string) ||
	    b64_decode(json_object_get_string(b64), (size_t)json_object_get_string_len(b64), data,
		       len, &bad) < 0)
		return -EINVAL;
	return 1;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(json_object *const *)a),
		      json_object_get_string(*(json_object *const *)b));
}

json_object *configdata_keys(json_object *obj, int secret)
{
	struct maps m = maps_of(secret);
	const char *names[] = { m.plain, m.base64 };
	json_object *seen = json_object_new_object(), *keys = json_object_new_array();

	for (size_t i = 0; i < 2; i++) {
		json_object *map = json_member(obj, names[i]);

		if (!json_is(map, json_type_object))
			continue;
		json_object_object_foreach(map, key, v) {
			(void)v;
			if (json_object_object_get_ex(seen, key, NULL))
				continue;
			json_object_object_add(seen, key, NULL);
			json_object_array_add(keys, json_object_new_string(key));
		}
	}
	json_object_put(seen);
	json_object_array_sort(keys, cmp_key);
	return keys;
}

/* --- validation --- */

/* What the kind checks carry along. */
struct kcheck {
	char *err;
	size_t errlen;
	size_t total; /* bytes of data so far, against CONFIGDATA_MAX */
};

/* obj.map is absent or an object whose keys are config keys. */
static int check_keys(struct kcheck *c, json_object *obj, const char *map)
{
	json_object *m = json_member(obj, map);
	const char *why;
	char at[AT_MAX];

	if (!m)
		return 0;
	if (!json_is(m, json_type_object))
		return field_fail(EINVAL, c->err, c->errlen,
				  "%s: Invalid value: must be a map of keys to values",
				  map);
	json_object_object_foreach(m, key, v) {
		(void)v;
		if ((why = configdata_key_problem(key))) {
			snprintf(at, sizeof at, "%s[%s]", map, key);
			return field_invalid_str(c->err, c->errlen, at, key, why);
		}
	}
	return 0;
}

/* Every value of obj.map is a string; secret: do not show them. */
static int check_string_values(struct kcheck *c, json_object *obj, const char *map, int secret)
{
	json_object *m = json_member(obj, map);
	char at[AT_MAX];

	if (!m)
		return 0;
	json_object_object_foreach(m, key, v) {
		snprintf(at, sizeof at, "%s[%s]", map, key);
		if (!json_is(v, json_type_string) && secret)
			return field_fail(EINVAL, c->err, c->errlen,
					  "%s: Invalid value: must be a string (quote "
					  "it in YAML)", at);
		if (!json_is(v, json_type_string))
			return field_invalid(c->err, c->errlen, at, v, "must be a string (quote it "
					    "in YAML)");
		c->total += (size_t)json_object_get_string_len(v);
	}
	return 0;
}

/* Every value of obj.map is base64 text, never shown. skip: a map whose
 * keys are counted elsewhere (a Secret's stringData wins over data). */
static int check_base64_values(struct kcheck *c, json_object *obj, const char *map,
			       json_object *skip)
{
	json_object *m = json_member(obj, map);
	char at[AT_MAX];
	size_t size, bad;

	if (!m)
		return 0;
	json_object_object_foreach(m, key, v) {
		snprintf(at, sizeof at, "%s[%s]", map, key);
		if (!json_is(v, json_type_string))
			return field_fail(EINVAL, c->err, c->errlen,
					  "%s: Invalid value: must be a base64 string", at);
		if (!b64_valid(v, &size, &bad))
			return field_fail(EINVAL, c->err, c->errlen,
					  "%s: Invalid value: illegal base64 data at "
					  "input byte %zu", at, bad);
		if (!json_member(skip, key))
			c->total += size;
	}
	return 0;
}

static int check_total(struct kcheck *c)
{
	if (c->total > CONFIGDATA_MAX)
		return field_fail(EINVAL, c->err, c->errlen,
				  "data: Too long: must have at most %d bytes",
				  CONFIGDATA_MAX);
	return 0;
}

static int check_immutable_flag(struct kcheck *c, json_object *obj)
{
	json_object *v = json_member(obj, "immutable");

	if (v && !json_is(v, json_type_boolean))
		return field_invalid(c->err, c->errlen, "immutable", v, "must be a boolean");
	return 0;
}

int configmap_validate(json_object *cm, char *err, size_t errlen)
{
	struct kcheck c = { err, errlen, 0 };
	json_object *data = json_member(cm, "data"), *binary = json_member(cm, "binaryData");
	char at[AT_MAX];
	int r;

	if ((r = check_keys(&c, cm, "data")) < 0 || (r = check_keys(&c, cm, "binaryData")) < 0 ||
	    (r = check_string_values(&c, cm, "data", 0)) < 0 ||
	    (r = check_base64_values(&c, cm, "binaryData", NULL)) < 0)
		return r;
	if (binary) {
		json_object_object_foreach(binary, key, v) {
			(void)v;
			if (json_member(data, key)) {
				snprintf(at, sizeof at, "binaryData[%s]", key);
				return field_invalid_str(err, errlen, at, key,
							 "duplicate of key present in data");
			}
		}
	}
	if ((r = check_total(&c)) < 0)
		return r;
	return check_immutable_flag(&c, cm);
}

/* The keys a well-known Secret type needs (in data or stringData). */
static int check_secret_type(struct kcheck *c, json_object *s, const char *type)
{
	static const struct {
		const char *type, *keys[3];
	} need[] = {
		{ "kubernetes.io/tls", { "tls.crt", "tls.key" } },
		{ "kubernetes.io/dockercfg", { ".dockercfg" } },
		{ "kubernetes.io/dockerconfigjson", { ".dockerconfigjson" } },
		{ "kubernetes.io/ssh-auth", { "ssh-privatekey" } },
	};
	json_object *data = json_member(s, "data"), *str = json_member(s, "stringData");

	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		if (strcmp(type, need[i].type))
			continue;
		for (size_t k = 0; k < 3 && need[i].keys[k]; k++)
			if (!json_member(data, need[i].keys[k]) && !json_member(str, need[i].keys[k]))
				return field_fail(EINVAL, c->err, c->errlen,
						  "data[%s]: Required value",
						  need[i].keys[k]);
	}
	if (!strcmp(type, "kubernetes.io/basic-auth") && !json_member(data, "username") &&
	    !json_member(data, "password") && !json_member(str, "username") && !json_member(str, "password"))
		return field_fail(EINVAL, c->err, c->errlen,
				  "data[username]: Required value: a basic-auth "
				  "secret needs a username or a password");
	if (!strcmp(type, "kubernetes.io/service-account-token") &&
	    !json_member(jpath_get(s, "metadata.annotations"), "kubernetes.io/service-account.name"))
		return field_fail(EINVAL, c->err, c->errlen,
				  "metadata.annotations[kubernetes.io/service-account."
				  "name]: Required value");
	return 0;
}

/* stringData is write-only, as the API server has it: each entry goes
 * into data, base64-encoded, over an entry of the same key, and
 * stringData itself is not stored. */
static void fold_string_data(json_object *secret)
{
	json_object *str = json_member(secret, "stringData"), *data = json_member(secret, "data");

	if (!str)
		return;
	if (!data) {
		data = json_object_new_object();
		json_object_object_add(secret, "data", data);
	}
	json_object_object_foreach(str, key, val) {
		int len = json_object_get_string_len(val);
		unsigned char *b64 = malloc(4 * (((size_t)len + 2) / 3) + 1);

		if (!b64)
			abort();
		EVP_EncodeBlock(b64, (const unsigned char *)json_object_get_string(val), len);
		json_object_object_add(data, key, json_object_new_string((const char *)b64));
		free(b64);
	}
	json_object_object_del(secret, "stringData");
}

int secret_validate(json_object *secret, char *err, size_t errlen)
{
	struct kcheck c = { err, errlen, 0 };
	json_object *type = json_member(secret, "type");
	int r;

	/* The API server defaults an absent or empty type. */
	if (!type || (json_is(type, json_type_string) && !json_object_get_string_len(type)))
		json_object_object_add(secret, "type", type = json_object_new_string("Opaque"));
	if (!json_is(type, json_type_string))
		return field_invalid(err, errlen, "type", type, "must be a string");
	if ((r = check_keys(&c, secret, "data")) < 0 ||
	    (r = check_keys(&c, secret, "stringData")) < 0 ||
	    (r = check_string_values(&c, secret, "stringData", 1)) < 0 ||
	    (r = check_base64_values(&c, secret, "data", json_member(secret, "stringData"))) < 0 ||
	    (r = check_total(&c)) < 0 || (r = check_immutable_flag(&c, secret)) < 0 ||
	    (r = check_secret_type(&c, secret, json_object_get_string(type))) < 0)
		return r;
	fold_string_data(secret);
	return 0;
}

/* --- updates --- */

static int same(json_object *a, json_object *b)
{
	return (!a && !b) || (a && b && json_object_equal(a, b));
}

/* Once immutable, the maps stay as they are and so does the flag. */
static int check_immutable(json_object *was, json_object *now, const char *const *maps,
			   char *err, size_t errlen)
{
	if (!json_member_true(was, "immutable"))
		return 0;
	if (!json_member_true(now, "immutable"))
		return field_fail(EINVAL, err, errlen,
				  "immutable: Forbidden: field is immutable when `immutable` "
				  "is set");
	for (size_t i = 0; maps[i]; i++)
		if (!same(json_member(was, maps[i]), json_member(now, maps[i])))
			return field_fail(EINVAL, err, errlen,
					  "%s: Forbidden: field is immutable when `immutable` "
					  "is set", maps[i]);
	return 0;
}

int configmap_check_update(json_object *stored, json_object *updated, char *err, size_t errlen)
{
	static const char *const maps[] = { "data", "binaryData", NULL };

	return check_immutable(stored, updated, maps, err, errlen);
}

int secret_check_update(json_object *stored, json_object *updated, char *err, size_t errlen)
{
	static const char *const maps[] = { "data", "stringData", NULL };
	const char *was = json_member_str(stored, "type"), *now = json_member_str(updated, "type");

	if (was && now && strcmp(was, now))
		return field_invalid(err, errlen, "type", json_member(updated, "type"), "field is immutable");
	return check_immutable(stored, updated, maps, err, errlen);
}
