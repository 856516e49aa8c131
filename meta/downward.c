/*
 * meta/downward.c — the downward API as a volume reads it (see
 * downward.h): which fieldRef and resourceFieldRef an item may name, as
 * the API server checks, and the text kubelet writes for one: pod
 * metadata (labels and annotations as its fieldpath.FormatMap writes
 * them, Go-quoted) and container resources divided and rounded up.
 */
#include "meta/downward.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "meta/field_error.h"
#include "meta/jsonobj.h"
#include "meta/names.h"
#include "meta/quantity.h"
#include "meta/selector.h"

#define AT_MAX FIELD_PATH_MAX
#define SUBSCRIPT_MAX 333 /* a qualified name: 253 of prefix, '/', 63 of name, and room */

/* --- reporting and reading --- */

#define fail(err, errlen, ...) field_fail(EINVAL, err, errlen, __VA_ARGS__)
#define missing(err, errlen, ...) field_fail(ENOENT, err, errlen, __VA_ARGS__)

static int in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
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

/* --- validation --- */

struct check {
	char *err;
	size_t errlen;
};

/* "metadata.labels['key']" into its path and key; 0 when not subscripted. */
static int split_subscript(const char *field_path, char *path, size_t plen, const char **key,
			   size_t *klen)
{
	size_t len = strlen(field_path);
	const char *open = strstr(field_path, "['");

	if (!open || open == field_path || len < 2 || strcmp(field_path + len - 2, "']"))
		return 0;
	if (open + 2 > field_path + len - 2)
		return 0;
	snprintf(path, plen, "%.*s", (int)(open - field_path), field_path);
	*key = open + 2;
	*klen = (size_t)(field_path + len - 2 - *key);
	return 1;
}

static const char *const FIELD_PATHS[] = {
	"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
	"metadata.uid", NULL
};

/* The subscript of labels['k'] must be a label key; of annotations['k']
 * one once lowercased, as the API server checks. */
static const char *subscript_problem(const char *path, const char *key, size_t klen)
{
	char k[SUBSCRIPT_MAX];
	static const char *const why = "must be a qualified name (a label or annotation key)";

	if (klen >= sizeof k || memchr(key, '\0', klen))
		return why;
	memcpy(k, key, klen);
	k[klen] = '\0';
	if (!strcmp(path, "metadata.annotations"))
		for (char *p = k; *p; p++)
			*p = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
	return selector_key_problem(k);
}

static int check_field_ref(struct check *c, json_object *ref, const char *at)
{
	const char *fp, *api, *key, *why;
	char path[AT_MAX], field[AT_MAX];
	size_t klen;
	int r;

	if (!json_is(ref, json_type_object))
		return field_invalid(c->err, c->errlen, at, ref, "must be an object");
	if ((r = field_required_str(c->err, c->errlen, ref, "fieldPath", at, &fp)) < 0)
		return r;
	field_join(field, at, ".fieldPath");
	api = json_member_str(ref, "apiVersion");
	if (json_member(ref, "apiVersion") && (!api || strcmp(api, "v1")))
		return fail(c->err, c->errlen, "%s.apiVersion: Unsupported value: supported values: "
			    "\"v1\"", at);
	if (split_subscript(fp, path, sizeof path, &key, &klen)) {
		if (strcmp(path, "metadata.labels") && strcmp(path, "metadata.annotations"))
			return field_invalid(c->err, c->errlen, field, json_member(ref, "fieldPath"),
					    "only metadata.labels and metadata.annotations take a "
					    "subscript");
		if ((why = subscript_problem(path, key, klen)))
			return field_invalid(c->err, c->errlen, field, json_member(ref, "fieldPath"), why);
		return 0;
	}
	if (!in_list(fp, FIELD_PATHS))
		return fail(c->err, c->errlen, "%s: Unsupported value: %s: supported values: "
			    "\"metadata.annotations\", \"metadata.labels\", \"metadata.name\", "
			    "\"metadata.namespace\", \"metadata.uid\"", field,
			    json_object_to_json_string(json_member(ref, "fieldPath")));
	return 0;
}

static const char *const RESOURCES[] = {
	"limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu",
	"requests.memory", "requests.ephemeral-storage", NULL
};

static int is_cpu(const char *resource)
{
	size_t len = strlen(resource);

	return len >= 4 && !strcmp(resource + len - 4, ".cpu");
}

/* A quantity member as text: a string, or a number a YAML reader typed
 * ("divisor: 1", "cpu: 0.5"); NULL when it is neither. */
static const char *quantity_text(json_object *v)
{
	if (json_is(v, json_type_string) || json_is(v, json_type_int) ||
	    json_is(v, json_type_double))
		return json_object_get_string(v);
	return NULL;
}

/* The API server's divisors: 1m or 1 for CPU; 1 and the powers of 1000
 * and 1024 up to E and Ei for bytes. */
static int divisor_allowed(const char *resource, const char *text)
{
	uint64_t v;

	if (is_cpu(resource))
		return quantity_parse_milli(text, &v, NULL, 0) == 0 && (v == 1 || v == 1000);
	/* No fraction of a byte ("1m"); too large for millis is whole. */
	if (quantity_parse_milli(text, &v, NULL, 0) == 0 && v % 1000)
		return 0;
	if (quantity_parse(text, &v, NULL, 0) < 0)
		return 0;
	for (uint64_t p = 1; p; p = p <= UINT64_MAX / 1000 ? p * 1000 : 0)
		if (v == p)
			return 1;
	for (int s = 10; s <= 60; s += 10)
		if (v == UINT64_C(1) << s)
			return 1;
	return 0;
}

static int check_resource_ref(struct check *c, json_object *ref, const char *at)
{
	const char *container, *resource, *text;
	json_object *div;
	char why[256];
	int r;

	if (!json_is(ref, json_type_object))
		return field_invalid(c->err, c->errlen, at, ref, "must be an object");
	/* A volume is not inside a container: the API server requires the name. */
	if ((r = field_required_str(c->err, c->errlen, ref, "containerName", at, &container)) < 0 ||
	    (r = field_required_str(c->err, c->errlen, ref, "resource", at, &resource)) < 0)
		return r;
	if (name_check_label(container, why, sizeof why) < 0)
		return fail(c->err, c->errlen, "%s.containerName: Invalid value: %s", at, why);
	if (!in_list(resource, RESOURCES))
		return fail(c->err, c->errlen, "%s.resource: Unsupported value: %s: supported values: "
			    "\"limits.cpu\", \"limits.ephemeral-storage\", \"limits.memory\", "
			    "\"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"",
			    at, json_object_to_json_string(json_member(ref, "resource")));
	div = json_member(ref, "divisor");
	text = quantity_text(div);
	if (div && (!text || !divisor_allowed(resource, text)))
		return fail(c->err, c->errlen, "%s.divisor: Invalid value: %s: only divisor's values "
			    "%s are supported with the %s resource", at,
			    json_object_to_json_string(div),
			    is_cpu(resource) ? "1m and 1" : "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, "
			    "1Gi, 1Ti, 1Pi, 1Ei", strchr(resource, '.') + 1);
	return 0;
}

int downward_check_item(json_object *item, const char *at, char *err, size_t errlen)
{
	struct check c = { err, errlen };
	json_object *fref = json_member(item, "fieldRef"), *rref = json_member(item, "resourceFieldRef");
	char sub[AT_MAX];

	if (!fref && !rref)
		return fail(err, errlen, "%s: Required value: one of fieldRef and resourceFieldRef "
			    "is required", at);
	if (fref && rref)
		return fail(err, errlen, "%s: Invalid value: fieldRef and resourceFieldRef can not "
			    "be specified simultaneously", at);
	field_join(sub, at, ".%s", fref ? "fieldRef" : "resourceFieldRef");
	return fref ? check_field_ref(&c, fref, sub) : check_resource_ref(&c, rref, sub);
}

/* --- values: fieldRef --- */

/* What computing one value carries along. */
struct dctx {
	json_object *pod;
	char *err;
	size_t errlen;
};

/* The code point of the UTF-8 sequence at s (at most len bytes) in *cp
 * and its length, or 0 when it is not valid UTF-8 (overlong, surrogate,
 * past U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };

	if (!n || n > len || s[0] > 0xf4)
		return 0;
	*cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* Go's unicode.IsPrint, approximated for the code points past ASCII: the
 * controls, spaces and format characters of Latin-1 and General
 * Punctuation, the byte-order mark, private use and noncharacters are
 * not printable. Label values are ASCII; this matters for annotations. */
static int go_printable(uint32_t cp)
{
	return !(cp <= 0xa0 || cp == 0xad || (cp >= 0x2000 && cp <= 0x200f) ||
		 (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) ||
		 cp == 0x3000 || cp == 0xfeff || (cp >= 0xe000 && cp <= 0xf8ff) ||
		 (cp & 0xfffe) == 0xfffe || cp >= 0xf0000);
}

/* One ASCII byte as Go's strconv.Quote writes it. */
static void go_quote_ascii(FILE *f, unsigned char c)
{
	static const char esc[] = "\a\b\f\n\r\t\v", name[] = "abfnrtv";
	const char *e = c ? strchr(esc, c) : NULL;

	if (c == '"' || c == '\\')
		fprintf(f, "\\%c", c);
	else if (e)
		fprintf(f, "\\%c", name[e - esc]);
	else if (c < 0x20 || c == 0x7f)
		fprintf(f, "\\x%02x", c);
	else
		fputc(c, f);
}

/* s as Go's %q (strconv.Quote) writes it: what kubelet writes for a
 * label or annotation value in metadata.labels / annotations files. */
static void go_quote(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	fputc('"', f);
	while (i < len) {
		uint32_t cp = 0;
		size_t n = u[i] < 0x80 ? 1 : utf8_decode(u + i, len - i, &cp);

		if (u[i] < 0x80)
			go_quote_ascii(f, u[i]);
		else if (!n)
			fprintf(f, "\\x%02x", u[i]);
		else if (go_printable(cp))
			fwrite(u + i, 1, n, f);
		else
			fprintf(f, cp < 0x10000 ? "\\u%04" PRIx32 : "\\U%08" PRIx32, cp);
		i += n ? n : 1;
	}
	fputc('"', f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* kubelet's fieldpath.FormatMap: key="value" lines sorted by key, joined
 * by "\n" with no newline after the last. A new string in *out. */
static int format_map(json_object *map, char **out, size_t *len)
{
	size_t n = json_is(map, json_type_object) ? (size_t)json_object_object_length(map) : 0;
	const char **keys = calloc(n + 1, sizeof *keys);
	FILE *f = open_memstream(out, len);
	size_t i = 0;

	if (!keys || !f) {
		free(keys);
		if (f) {
			fclose(f);
			free(*out);
		}
		return -1;
	}
	if (n) {
		json_object_object_foreach(map, k, v) {
			(void)v;
			keys[i++] = k;
		}
	}
	qsort(keys, n, sizeof *keys, cmp_str);
	for (i = 0; i < n; i++) {
		json_object *v = json_member(map, keys[i]);
		const char *s = json_is(v, json_type_string) ? json_object_get_string(v) : "";

		fprintf(f, "%s%s=", i ? "\n" : "", keys[i]);
		go_quote(f, s, json_is(v, json_type_string) ? (size_t)json_object_get_string_len(v) : 0);
	}
	free(keys);
	return fclose(f) ? -1 : 0;
}


/* The value of a fieldRef for this pod, in a new buffer. */
static int field_value(struct dctx *p, const char *fp, char **out, size_t *len)
{
	char path[AT_MAX], *key;
	const char *k, *s;
	size_t klen;

	if (split_subscript(fp, path, sizeof path, &k, &klen)) {
		json_object *v;

		if ((strcmp(path, "metadata.labels") && strcmp(path, "metadata.annotations")) ||
		    !(key = dup_bytes(k, klen)))
			return fail(p->err, p->errlen, "unsupported fieldPath \"%s\"", fp);
		v = json_member(jpath_get(p->pod, path), key);
		free(key);
		s = json_is(v, json_type_string) ? json_object_get_string(v) : "";
		*len = json_is(v, json_type_string) ? (size_t)json_object_get_string_len(v) : 0;
	} else if (!strcmp(fp, "metadata.labels") || !strcmp(fp, "metadata.annotations")) {
		if (format_map(jpath_get(p->pod, fp), out, len) < 0)
			return fail(p->err, p->errlen, "out of memory formatting %s", fp);
		return 0;
	} else if (in_list(fp, FIELD_PATHS)) {
		s = jpath_str(p->pod, fp);
		s = s ? s : "";
		*len = strlen(s);
	} else {
		return fail(p->err, p->errlen, "unsupported fieldPath \"%s\"", fp);
	}
	if (!(*out = dup_bytes(s, *len)))
		return fail(p->err, p->errlen, "out of memory");
	return 0;
}

/* --- values: resourceFieldRef --- */

static struct downward_allocatable allocatable;
static int allocatable_set;

void downward_set_allocatable(const struct downward_allocatable *a)
{
	allocatable_set = a != NULL;
	if (a)
		allocatable = *a;
}

/* The node's allocatable as kubelet sees it with no reservations: the
 * whole machine. */
static struct downward_allocatable node_allocatable(void)
{
	struct downward_allocatable a = { 0, 0, 0 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);
	struct statvfs st;

	if (allocatable_set)
		return allocatable;
	a.cpu_millis = cpus > 0 ? (uint64_t)cpus * 1000 : 1000;
	a.memory = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
	if (statvfs("/", &st) == 0)
		a.ephemeral_storage = (uint64_t)st.f_blocks * st.f_frsize;
	return a;
}

static json_object *container_named(json_object *pod, const char *name)
{
	static const char *const lists[] = { "spec.containers", "spec.initContainers", NULL };

	for (size_t l = 0; lists[l]; l++) {
		json_object *cs = jpath_get(pod, lists[l]);

		for (size_t i = 0; json_is(cs, json_type_array) && i < json_object_array_length(cs);
		     i++) {
			json_object *c = json_object_array_get_idx(cs, i);
			const char *n = json_member_str(c, "name");

			if (n && name && !strcmp(n, name))
				return c;
		}
	}
	return NULL;
}

/* The container's value of resource ("limits.cpu") in millicores or
 * bytes, with the API server's and kubelet's defaults for unset ones. */
static int resource_amount(struct dctx *p, json_object *c, const char *resource, uint64_t *v)
{
	const char *name = strchr(resource, '.') + 1, *text;
	json_object *q = json_member(jpath_get(c, resource[0] == 'l' ? "resources.limits"
								 : "resources.requests"), name);
	struct downward_allocatable node;
	char why[256];
	int cpu = is_cpu(resource);

	if (!q && resource[0] == 'r')
		q = json_member(jpath_get(c, "resources.limits"), name);
	if (!q && resource[0] == 'r') {
		*v = 0;
		return 0;
	}
	if (!q) {
		node = node_allocatable();
		*v = cpu ? node.cpu_millis : !strcmp(name, "memory") ? node.memory
								      : node.ephemeral_storage;
		return 0;
	}
	text = quantity_text(q);
	if (!text || (cpu ? quantity_parse_milli(text, v, why, sizeof why)
			  : quantity_parse(text, v, why, sizeof why)) < 0)
		return fail(p->err, p->errlen, "container \"%s\": resources.%s: Invalid value: %s",
			    json_member_str(c, "name"), resource, text ? why : "must be a quantity");
	return 0;
}

static int resource_value(struct dctx *p, json_object *ref, char **out, size_t *len)
{
	const char *cname = json_member_str(ref, "containerName"), *resource = json_member_str(ref, "resource");
	const char *dtext = quantity_text(json_member(ref, "divisor"));
	json_object *c = container_named(p->pod, cname);
	uint64_t v, d = 0;
	int r;

	if (!resource || !in_list(resource, RESOURCES))
		return fail(p->err, p->errlen, "unsupported resource \"%s\"", resource ? resource : "");
	if (!c)
		return missing(p->err, p->errlen, "container \"%s\" not found", cname ? cname : "");
	if ((r = resource_amount(p, c, resource, &v)) < 0)
		return r;
	if (dtext)
		(void)(is_cpu(resource) ? quantity_parse_milli(dtext, &d, NULL, 0)
					: quantity_parse(dtext, &d, NULL, 0));
	/* kubelet reads a zero divisor as 1. */
	if (!d)
		d = is_cpu(resource) ? 1000 : 1;
	if (!(*out = malloc(24)))
		return fail(p->err, p->errlen, "out of memory");
	*len = (size_t)snprintf(*out, 24, "%" PRIu64, v / d + (v % d != 0));
	return 0;
}

int downward_value(json_object *pod, json_object *item, char **out, size_t *len, char *err,
		   size_t errlen)
{
	struct dctx p = { pod, err, errlen };
	json_object *rref = json_member(item, "resourceFieldRef");
	const char *fp = jpath_str(item, "fieldRef.fieldPath");

	*out = NULL;
	*len = 0;
	if (fp)
		return field_value(&p, fp, out, len);
	if (rref)
		return resource_value(&p, rref, out, len);
	return fail(err, errlen, "a downwardAPI item needs a fieldRef or a resourceFieldRef");
}
