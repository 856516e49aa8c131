/*
 * tools/volctl.c — the volctl command line: global options, the verb
 * table with each verb's help, flag parsing in kubectl's manner (flags
 * anywhere after the verb, --flag=value or --flag value), client-side
 * validation of kinds, names and sizes, and one handler per verb that
 * builds a control-protocol request (docs/control-protocol.md) and hands
 * the answer to tools/output.c.
 *
 * Everything a user can get wrong is refused here, before anything is
 * sent: the daemon never sees an unknown kind, a malformed name or size.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "meta/names.h"
#include "meta/quantity.h"
#include "tools/client.h"
#include "tools/kinds.h"
#include "tools/output.h"

#ifndef VOLFS_VERSION
#define VOLFS_VERSION "unknown"
#endif

#define MAX_ARGS 64

/* ------------------------------------------------------------------ */
/* flags */

enum flag_id {
	F_HELP,
	F_STATE,
	F_SOCKET,
	F_CAPACITY,
	F_OUTPUT,
	F_NAMESPACE,
	F_ALL_NAMESPACES,
	F_CLIENT,
	F_COUNT,
};

#define BIT(f) (1u << (f))
/* Accepted everywhere, before or after the verb. */
#define GLOBAL_FLAGS (BIT(F_HELP) | BIT(F_STATE) | BIT(F_SOCKET))

struct flag_def {
	const char *long_name;
	char short_name;
	const char *value_name; /* NULL for a boolean flag */
	const char *help;
};

static const struct flag_def flag_defs[F_COUNT] = {
	[F_HELP] = { "help", 'h', NULL, "help for this command" },
	[F_STATE] = { "state", 0, "DIR",
		      "state directory of the daemon; the socket is DIR/" CLIENT_SOCKET_NAME
		      " (default " CLIENT_DEFAULT_STATE ")" },
	[F_SOCKET] = { "socket", 0, "PATH", "path of the daemon's control socket (instead of --state)" },
	[F_CAPACITY] = { "capacity", 0, "SIZE", "size as a Kubernetes quantity: 500Mi, 10Gi, 1G, 1073741824" },
	[F_OUTPUT] = { "output", 'o', "FORMAT", "output format: " },
	[F_NAMESPACE] = { "namespace", 'n', "NS", "namespace of namespaced kinds (default \"default\")" },
	[F_ALL_NAMESPACES] = { "all-namespaces", 'A', NULL, "list namespaced kinds across all namespaces" },
	[F_CLIENT] = { "client", 0, NULL, "print the client version only; do not contact the daemon" },
};

/* ------------------------------------------------------------------ */
/* invocation */

struct verb;

struct invocation {
	const struct verb *verb;
	const char *pos[MAX_ARGS];
	size_t npos;
	const char *value[F_COUNT]; /* value of each flag given, or "true" for booleans */
	char socket[PATH_MAX];
};

struct verb {
	const char *name;
	const char *summary; /* one line for the command list */
	const char *usage;
	const char *about;    /* what it does, a paragraph */
	const char *examples; /* "  # comment\n  volctl ...\n" lines */
	unsigned flags;       /* flags accepted besides the global ones */
	const char *formats;  /* -o values accepted, "|"-separated */
	int (*run)(struct invocation *inv);
};

static const struct verb *find_verb(const char *name);
static void print_main_help(FILE *f);
static void print_verb_help(FILE *f, const struct verb *v);

/* volctl: error: ... — the one line every failure ends in. Returns 1, the
 * exit code of every failure. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("volctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int has_flag(const struct invocation *inv, enum flag_id f)
{
	return inv->value[f] != NULL;
}

/* ------------------------------------------------------------------ */
/* argument parsing */

static const struct flag_def *flag_by_long(const char *name, size_t len, enum flag_id *id)
{
	for (int i = 0; i < F_COUNT; i++) {
		if (strlen(flag_defs[i].long_name) == len && strncmp(flag_defs[i].long_name, name, len) == 0) {
			*id = (enum flag_id)i;
			return &flag_defs[i];
		}
	}
	return NULL;
}

static const struct flag_def *flag_by_short(char c, enum flag_id *id)
{
	for (int i = 0; i < F_COUNT; i++) {
		if (flag_defs[i].short_name && flag_defs[i].short_name == c) {
			*id = (enum flag_id)i;
			return &flag_defs[i];
		}
	}
	return NULL;
}

static void see_help(char *buf, size_t len, const struct verb *v)
{
	if (v)
		snprintf(buf, len, "see 'volctl %s --help'", v->name);
	else
		snprintf(buf, len, "see 'volctl --help'");
}

/* Parse the flag at argv[*i] ("--name", "--name=v", "-x", "-xv", "-x=v";
 * a value may also be the next argument). allowed is the set of flags
 * valid here. Returns 0 or 1 after printing the error. */
static int parse_flag(struct invocation *inv, int argc, char **argv, int *i, unsigned allowed)
{
	const char *arg = argv[*i], *value = NULL, *name;
	const struct flag_def *def;
	enum flag_id id = F_HELP;
	char hint[64];
	size_t len;

	see_help(hint, sizeof hint, inv->verb);
	if (arg[1] == '-') {
		name = arg + 2;
		len = strcspn(name, "=");
		if (name[len] == '=')
			value = name + len + 1;
		def = flag_by_long(name, len, &id);
	} else {
		name = arg + 1;
		len = 1;
		def = flag_by_short(arg[1], &id);
		if (arg[2])
			value = arg[2] == '=' ? arg + 3 : arg + 2;
	}
	if (!def || !(allowed & BIT(id)))
		return fail("unknown flag: %s; %s", arg, hint);
	if (!def->value_name) {
		if (value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return fail("flag %s does not take a value; %s", arg, hint);
		inv->value[id] = (value && strcmp(value, "false") == 0) ? NULL : "true";
		return 0;
	}
	if (!value) {
		if (*i + 1 >= argc)
			return fail("flag needs an argument: %s; %s", arg, hint);
		value = argv[++*i];
	}
	inv->value[id] = value;
	return 0;
}

static int is_flag(const char *arg)
{
	return arg[0] == '-' && arg[1] != '\0';
}

/* -h/--help anywhere after the verb (before "--") asks for its help, even
 * next to arguments that would otherwise be errors. */
static int wants_help(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

/* Options before the verb: only the global ones. Returns the index of the
 * verb, argc if there is none, or -1 after an error (-2 after help). */
static int parse_leading_options(struct invocation *inv, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && is_flag(argv[i]); i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (parse_flag(inv, argc, argv, &i, GLOBAL_FLAGS))
			return -1;
		if (has_flag(inv, F_HELP)) {
			print_main_help(stdout);
			return -2;
		}
	}
	return i;
}

static int parse_verb_args(struct invocation *inv, int argc, char **argv, int i)
{
	int only_positional = 0;

	for (; i < argc; i++) {
		if (!only_positional && strcmp(argv[i], "--") == 0) {
			only_positional = 1;
		} else if (!only_positional && is_flag(argv[i])) {
			if (parse_flag(inv, argc, argv, &i, GLOBAL_FLAGS | inv->verb->flags))
				return 1;
		} else {
			if (inv->npos == MAX_ARGS)
				return fail("too many arguments");
			inv->pos[inv->npos++] = argv[i];
		}
	}
	return 0;
}

static int resolve_socket(struct invocation *inv)
{
	if (has_flag(inv, F_STATE) && has_flag(inv, F_SOCKET))
		return fail("--state and --socket cannot be used together");
	if (has_flag(inv, F_SOCKET)) {
		if (!*inv->value[F_SOCKET])
			return fail("--socket needs a path");
		snprintf(inv->socket, sizeof inv->socket, "%s", inv->value[F_SOCKET]);
		return 0;
	}
	if (has_flag(inv, F_STATE) && !*inv->value[F_STATE])
		return fail("--state needs a directory");
	client_socket_path(has_flag(inv, F_STATE) ? inv->value[F_STATE] : CLIENT_DEFAULT_STATE,
			   inv->socket, sizeof inv->socket);
	return 0;
}

/* Fill inv from argv. Returns 0 to run the verb, -1 when help was printed
 * (exit 0), 1 after an error. */
static int parse_args(struct invocation *inv, int argc, char **argv)
{
	int i = parse_leading_options(inv, argc, argv);

	if (i == -2)
		return -1;
	if (i < 0)
		return 1;
	if (i >= argc) {
		fprintf(stderr, "volctl: no command given; see 'volctl --help'\n");
		return 1;
	}
	inv->verb = find_verb(argv[i]);
	if (!inv->verb) {
		fprintf(stderr, "volctl: unknown command \"%s\"; see 'volctl --help'\n", argv[i]);
		return 1;
	}
	if (wants_help(argc, argv, i + 1)) {
		print_verb_help(stdout, inv->verb);
		return -1;
	}
	if (parse_verb_args(inv, argc, argv, i + 1))
		return 1;
	return resolve_socket(inv);
}

/* ------------------------------------------------------------------ */
/* validation shared by verbs */

static int check_name(const char *name)
{
	char err[512];

	if (name_check_subdomain(name, err, sizeof err) < 0)
		return fail("%s", err);
	return 0;
}

static const struct kind_info *resolve_kind(const char *word)
{
	const struct kind_info *k = kind_lookup(word);

	if (!k)
		fail("the server doesn't have a resource type \"%s\"", word);
	return k;
}

/* A size flag as bytes; refuses zero, which no volume can usefully have. */
static int check_size(const struct invocation *inv, enum flag_id f, uint64_t *bytes)
{
	char err[512];

	if (!has_flag(inv, f))
		return fail("required flag \"--%s\" not set; see 'volctl %s --help'",
			    flag_defs[f].long_name, inv->verb->name);
	if (quantity_parse(inv->value[f], bytes, err, sizeof err) < 0)
		return fail("%s", err);
	if (*bytes == 0)
		return fail("invalid quantity \"%s\": --%s must be greater than zero",
			    inv->value[f], flag_defs[f].long_name);
	return 0;
}

static int format_allowed(const char *formats, const char *s)
{
	size_t len = strlen(s);

	for (const char *p = formats; *p;) {
		size_t n = strcspn(p, "|");

		if (n == len && strncmp(p, s, len) == 0)
			return 1;
		p += n + (p[n] == '|');
	}
	return 0;
}

static int check_output(const struct invocation *inv, enum output_format *fmt)
{
	const char *s = inv->value[F_OUTPUT];

	if (s && (!format_allowed(inv->verb->formats, s) || output_format_parse(s, fmt) < 0))
		return fail("unknown output format \"%s\" (allowed: %s)", s, inv->verb->formats);
	if (!s)
		*fmt = OUTPUT_TABLE;
	return 0;
}

static int check_no_args(const struct invocation *inv)
{
	if (inv->npos)
		return fail("unexpected argument \"%s\"; see 'volctl %s --help'", inv->pos[0], inv->verb->name);
	return 0;
}

/* What a verb acts on: "KIND NAME..." or "KIND/NAME...". */
struct targets {
	const struct kind_info *kind;
	const char *names[MAX_ARGS];
	char split[MAX_ARGS][256]; /* storage for the KIND/NAME halves */
	size_t n;
	const char *ns;  /* namespace for namespaced kinds, NULL when cluster-scoped */
	int all_ns;
};

static int split_slash_targets(const struct invocation *inv, struct targets *t)
{
	for (size_t i = 0; i < inv->npos; i++) {
		const char *slash = strchr(inv->pos[i], '/');
		const struct kind_info *k;

		if (!slash)
			return fail("there is no need to specify a resource type as a separate argument "
				    "when passing arguments in resource/name form (\"%s\")", inv->pos[i]);
		snprintf(t->split[i], sizeof t->split[i], "%.*s", (int)(slash - inv->pos[i]), inv->pos[i]);
		if (!(k = resolve_kind(t->split[i])))
			return 1;
		if (t->kind && k != t->kind)
			return fail("one kind at a time, please: \"%s\" and \"%s\"", t->kind->plural, k->plural);
		t->kind = k;
		t->names[t->n++] = slash + 1;
	}
	return 0;
}

static int parse_namespace(const struct invocation *inv, struct targets *t)
{
	char err[512];

	t->all_ns = has_flag(inv, F_ALL_NAMESPACES);
	t->ns = NULL;
	if (!t->kind->namespaced)
		return 0; /* kubectl ignores -n and -A for cluster-scoped kinds */
	t->ns = has_flag(inv, F_NAMESPACE) ? inv->value[F_NAMESPACE] : "default";
	if (name_check_label(t->ns, err, sizeof err) < 0)
		return fail("%s", err);
	return 0;
}

static int parse_targets(const struct invocation *inv, struct targets *t)
{
	memset(t, 0, sizeof *t);
	if (inv->npos == 0)
		return fail("you must specify the type of resource to %s; see 'volctl %s --help'",
			    inv->verb->name, inv->verb->name);
	if (strchr(inv->pos[0], '/')) {
		if (split_slash_targets(inv, t))
			return 1;
	} else {
		if (!(t->kind = resolve_kind(inv->pos[0])))
			return 1;
		for (size_t i = 1; i < inv->npos; i++)
			t->names[t->n++] = inv->pos[i];
	}
	for (size_t i = 0; i < t->n; i++)
		if (check_name(t->names[i]))
			return 1;
	return parse_namespace(inv, t);
}

static int need_names(const struct invocation *inv, const struct targets *t)
{
	if (t->n == 0)
		return fail("a name is required: volctl %s %s NAME; see 'volctl %s --help'",
			    inv->verb->name, t->kind->singular, inv->verb->name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* talking to the daemon */

enum call_result { CALL_OK = 0, CALL_REFUSED = 1, CALL_FATAL = 2 };

static struct json_object *new_request(const char *verb, const struct kind_info *k, const char *name)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "verb", json_object_new_string(verb));
	if (k)
		json_object_object_add(req, "kind", json_object_new_string(k->kind));
	if (name)
		json_object_object_add(req, "name", json_object_new_string(name));
	return req;
}

static void add_namespace(struct json_object *req, const struct targets *t)
{
	if (t->ns && t->all_ns)
		json_object_object_add(req, "allNamespaces", json_object_new_boolean(1));
	else if (t->ns)
		json_object_object_add(req, "namespace", json_object_new_string(t->ns));
}

/* Send req (consumed) and print any failure. A refusal concerns this
 * request only; a dead or broken daemon ends the whole command. */
static enum call_result call(const struct invocation *inv, struct json_object *req,
			     struct json_object **result)
{
	struct client_error err;
	enum client_status st = client_call(inv->socket, req, result, &err);

	json_object_put(req);
	switch (st) {
	case CLIENT_OK:
		return CALL_OK;
	case CLIENT_UNREACHABLE:
		fprintf(stderr, "volctl: %s\n", err.message);
		return CALL_FATAL;
	case CLIENT_REFUSED:
		fail("%s", err.message);
		return CALL_REFUSED;
	default:
		fail("%s", err.message);
		return CALL_FATAL;
	}
}

/* The array member "name" of a result, or an empty array. */
static struct json_object *result_array(struct json_object *result, const char *name)
{
	struct json_object *arr = json_path(result, name);

	if (arr && json_object_is_type(arr, json_type_array))
		return json_object_get(arr);
	return json_object_new_array();
}

/* ------------------------------------------------------------------ */
/* verbs */

static int run_create(struct invocation *inv)
{
	struct json_object *req, *obj;
	enum output_format fmt;
	struct targets t;
	uint64_t bytes;

	if (parse_targets(inv, &t) || need_names(inv, &t) || check_output(inv, &fmt))
		return 1;
	if (t.n > 1)
		return fail("create takes one name; see 'volctl create --help'");
	if (strcmp(t.kind->kind, "PersistentVolume") != 0)
		return fail("volctl create does not support %s yet (supported: pv); see 'volctl create --help'",
			    t.kind->plural);
	if (check_size(inv, F_CAPACITY, &bytes))
		return 1;
	req = new_request("create", t.kind, t.names[0]);
	json_object_object_add(req, "capacity", json_object_new_int64((int64_t)bytes));
	if (call(inv, req, &obj) != CALL_OK)
		return 1;
	if (has_flag(inv, F_OUTPUT))
		output_object(stdout, t.kind, obj, fmt);
	else
		printf("%s/%s created\n", t.kind->singular, t.names[0]);
	json_object_put(obj);
	return 0;
}

static void print_no_resources(const struct targets *t)
{
	if (t->ns && !t->all_ns)
		fprintf(stderr, "No resources found in %s namespace.\n", t->ns);
	else
		fprintf(stderr, "No resources found\n");
}

/* One get request; its items are appended to all. */
static enum call_result get_one(const struct invocation *inv, const struct targets *t, const char *name,
				struct json_object *all)
{
	struct json_object *req = new_request("get", t->kind, name), *result, *items;
	enum call_result rc;

	add_namespace(req, t);
	rc = call(inv, req, &result);
	if (rc != CALL_OK)
		return rc;
	items = result_array(result, "items");
	for (size_t i = 0; i < json_object_array_length(items); i++)
		json_object_array_add(all, json_object_get(json_object_array_get_idx(items, i)));
	json_object_put(items);
	json_object_put(result);
	return CALL_OK;
}

static int run_get(struct invocation *inv)
{
	struct json_object *all;
	enum output_format fmt;
	enum call_result rc = CALL_OK;
	int failed = 0, answered = 0;
	struct targets t;

	if (parse_targets(inv, &t) || check_output(inv, &fmt))
		return 1;
	all = json_object_new_array();
	if (t.n == 0)
		rc = get_one(inv, &t, NULL, all);
	for (size_t i = 0; i < t.n && rc != CALL_FATAL; i++) {
		rc = get_one(inv, &t, t.names[i], all);
		failed |= rc != CALL_OK;
		answered |= rc == CALL_OK;
	}
	failed |= rc != CALL_OK;
	answered |= t.n == 0 && rc == CALL_OK;
	/* Like kubectl: what was found is printed even when some names were
	 * not; an empty listing is news for people, not for -o json. */
	if (answered && json_object_array_length(all) == 0 && t.n == 0 &&
	    (fmt == OUTPUT_TABLE || fmt == OUTPUT_WIDE || fmt == OUTPUT_NAME))
		print_no_resources(&t);
	else if (answered)
		output_get(stdout, t.kind, all, t.n == 1, fmt, t.all_ns, time(NULL));
	json_object_put(all);
	return failed;
}

static int run_describe(struct invocation *inv)
{
	struct json_object *req, *result;
	enum call_result rc = CALL_OK;
	int failed = 0;
	struct targets t;

	if (parse_targets(inv, &t) || need_names(inv, &t))
		return 1;
	for (size_t i = 0; i < t.n && rc != CALL_FATAL; i++) {
		req = new_request("describe", t.kind, t.names[i]);
		add_namespace(req, &t);
		rc = call(inv, req, &result);
		if (rc != CALL_OK) {
			failed = 1;
			continue;
		}
		if (i > 0)
			fputs("\n\n", stdout);
		output_describe(stdout, t.kind, result, time(NULL));
		json_object_put(result);
	}
	return failed;
}

static int run_delete(struct invocation *inv)
{
	struct json_object *req, *result;
	enum call_result rc = CALL_OK;
	int failed = 0;
	struct targets t;

	if (parse_targets(inv, &t) || need_names(inv, &t))
		return 1;
	for (size_t i = 0; i < t.n && rc != CALL_FATAL; i++) {
		req = new_request("delete", t.kind, t.names[i]);
		add_namespace(req, &t);
		rc = call(inv, req, &result);
		if (rc != CALL_OK) {
			failed = 1;
			continue;
		}
		printf("%s \"%s\" deleted\n", t.kind->singular, t.names[i]);
		json_object_put(result);
	}
	return failed;
}

static int run_resize(struct invocation *inv)
{
	struct json_object *req, *obj;
	enum output_format fmt;
	struct targets t;
	uint64_t bytes;

	if (parse_targets(inv, &t) || need_names(inv, &t) || check_output(inv, &fmt))
		return 1;
	if (t.n > 1)
		return fail("resize takes one name; see 'volctl resize --help'");
	if (strcmp(t.kind->kind, "PersistentVolume") != 0)
		return fail("volctl resize does not support %s yet (supported: pv); see 'volctl resize --help'",
			    t.kind->plural);
	if (check_size(inv, F_CAPACITY, &bytes))
		return 1;
	req = new_request("resize", t.kind, t.names[0]);
	json_object_object_add(req, "capacity", json_object_new_int64((int64_t)bytes));
	if (call(inv, req, &obj) != CALL_OK)
		return 1;
	if (has_flag(inv, F_OUTPUT))
		output_object(stdout, t.kind, obj, fmt);
	else
		printf("%s/%s resized\n", t.kind->singular, t.names[0]);
	json_object_put(obj);
	return 0;
}

/* ------------------------------------------------------------------ */
/* snapshot, restore, clone */

static const struct kind_info *kind_of(const char *kind)
{
	const struct kind_info *k = kind_lookup(kind);

	if (!k)
		abort(); /* the kind table always has the kinds volctl names */
	return k;
}

/* A volume on the command line: "pv/NAME" (any spelling of the kind), or a
 * bare NAME when bare_ok. Claims are refused until volfs has them.
 * role names the argument in messages ("source", "new volume"). */
static int volume_ref(const struct invocation *inv, const char *arg, const char *role, int bare_ok,
		      const char **name)
{
	const char *slash = strchr(arg, '/');

	if (!slash) {
		if (!bare_ok)
			return fail("the %s \"%s\" needs a type: pv/%s (kubectl's TYPE/NAME form); see 'volctl %s --help'",
				    role, arg, arg, inv->verb->name);
		*name = arg;
	} else {
		char type[256];
		const struct kind_info *k;

		snprintf(type, sizeof type, "%.*s", (int)(slash - arg), arg);
		if (!(k = resolve_kind(type)))
			return 1;
		if (strcmp(k->kind, "PersistentVolumeClaim") == 0)
			return fail("%s \"%s\": claims are not supported yet; name a persistent volume as pv/NAME",
				    role, arg);
		if (strcmp(k->kind, "PersistentVolume") != 0)
			return fail("the %s must be a persistent volume (pv/NAME), not %s", role, k->plural);
		*name = slash + 1;
	}
	return check_name(*name);
}

/* A snapshot on the command line: "NAME" or "vs/NAME". */
static int snapshot_ref(const char *arg, const char **name)
{
	const char *slash = strchr(arg, '/');

	*name = arg;
	if (slash) {
		char type[256];
		const struct kind_info *k;

		snprintf(type, sizeof type, "%.*s", (int)(slash - arg), arg);
		if (!(k = resolve_kind(type)))
			return 1;
		if (strcmp(k->kind, "VolumeSnapshot") != 0)
			return fail("\"%s\" is not a volume snapshot (vs/NAME or NAME)", arg);
		*name = slash + 1;
	}
	return check_name(*name);
}

/* -n NS (default "default"), checked. */
static int snapshot_namespace(const struct invocation *inv, const char **ns)
{
	char err[512];

	*ns = has_flag(inv, F_NAMESPACE) ? inv->value[F_NAMESPACE] : "default";
	if (name_check_label(*ns, err, sizeof err) < 0)
		return fail("%s", err);
	return 0;
}

/* Exactly n positional arguments; what says which ("a source and a
 * snapshot name"), form how they are written. */
static int check_npos(const struct invocation *inv, size_t n, const char *what, const char *form)
{
	if (inv->npos < n)
		return fail("%s %s required: volctl %s %s; see 'volctl %s --help'", what, n > 1 ? "are" : "is",
			    inv->verb->name, form, inv->verb->name);
	if (inv->npos > n)
		return fail("unexpected argument \"%s\"; see 'volctl %s --help'", inv->pos[n], inv->verb->name);
	return 0;
}

/* The answer of snapshot, restore or clone: the new object, or a line. */
static int print_made(const struct invocation *inv, const struct kind_info *k, struct json_object *obj,
		      enum output_format fmt, const char *name, const char *how)
{
	if (has_flag(inv, F_OUTPUT))
		output_object(stdout, k, obj, fmt);
	else
		printf("%s/%s %s\n", k->singular, name, how);
	json_object_put(obj);
	return 0;
}

static int run_snapshot(struct invocation *inv)
{
	const char *source, *name, *ns;
	struct json_object *req, *obj;
	enum output_format fmt;

	if (check_npos(inv, 2, "a source and a snapshot name", "pv/SOURCE SNAPSHOT") || check_output(inv, &fmt) ||
	    volume_ref(inv, inv->pos[0], "source", 0, &source) || check_name(name = inv->pos[1]) ||
	    snapshot_namespace(inv, &ns))
		return 1;
	req = new_request("snapshot", NULL, name);
	json_object_object_add(req, "source", json_object_new_string(source));
	json_object_object_add(req, "namespace", json_object_new_string(ns));
	if (call(inv, req, &obj) != CALL_OK)
		return 1;
	return print_made(inv, kind_of("VolumeSnapshot"), obj, fmt, name, "created");
}

static int run_restore(struct invocation *inv)
{
	const char *snap, *name, *ns;
	struct json_object *req, *obj;
	enum output_format fmt;
	uint64_t bytes = 0;
	char how[600];

	if (check_npos(inv, 2, "a snapshot and a new volume name", "SNAPSHOT pv/NEW") || check_output(inv, &fmt) ||
	    snapshot_ref(inv->pos[0], &snap) || volume_ref(inv, inv->pos[1], "new volume", 1, &name) ||
	    snapshot_namespace(inv, &ns))
		return 1;
	if (has_flag(inv, F_CAPACITY) && check_size(inv, F_CAPACITY, &bytes))
		return 1;
	req = new_request("restore", NULL, name);
	json_object_object_add(req, "snapshot", json_object_new_string(snap));
	json_object_object_add(req, "namespace", json_object_new_string(ns));
	if (bytes)
		json_object_object_add(req, "capacity", json_object_new_int64((int64_t)bytes));
	if (call(inv, req, &obj) != CALL_OK)
		return 1;
	snprintf(how, sizeof how, "restored from volumesnapshot %s/%s", ns, snap);
	return print_made(inv, kind_of("PersistentVolume"), obj, fmt, name, how);
}

static int run_clone(struct invocation *inv)
{
	const char *source, *name;
	struct json_object *req, *obj;
	enum output_format fmt;
	char how[300];

	if (check_npos(inv, 2, "a source and a new volume name", "pv/SOURCE pv/NEW") || check_output(inv, &fmt) ||
	    volume_ref(inv, inv->pos[0], "source", 0, &source) ||
	    volume_ref(inv, inv->pos[1], "new volume", 1, &name))
		return 1;
	req = new_request("clone", NULL, name);
	json_object_object_add(req, "source", json_object_new_string(source));
	if (call(inv, req, &obj) != CALL_OK)
		return 1;
	snprintf(how, sizeof how, "cloned from persistentvolume/%s", source);
	return print_made(inv, kind_of("PersistentVolume"), obj, fmt, name, how);
}

static int run_df(struct invocation *inv)
{
	struct json_object *result, *items;
	enum output_format fmt;

	if (check_no_args(inv) || check_output(inv, &fmt))
		return 1;
	if (call(inv, new_request("df", NULL, NULL), &result) != CALL_OK)
		return 1;
	items = result_array(result, "items");
	if (fmt == OUTPUT_JSON)
		output_json(stdout, result);
	else if (fmt == OUTPUT_YAML)
		output_yaml(stdout, result);
	else if (json_object_array_length(items) == 0)
		fprintf(stderr, "No resources found\n");
	else
		output_df(stdout, items);
	json_object_put(items);
	json_object_put(result);
	return 0;
}

static int run_check(struct invocation *inv)
{
	struct json_object *result, *problems;
	size_t n;

	if (check_no_args(inv))
		return 1;
	if (call(inv, new_request("check", NULL, NULL), &result) != CALL_OK)
		return 1;
	problems = result_array(result, "problems");
	n = json_object_array_length(problems);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", json_object_get_string(json_object_array_get_idx(problems, i)));
	if (n == 0)
		printf("no problems found\n");
	json_object_put(problems);
	json_object_put(result);
	if (n > 0)
		return fail("check found %zu problem%s", n, n == 1 ? "" : "s");
	return 0;
}

static int run_shutdown(struct invocation *inv)
{
	struct json_object *result;

	if (check_no_args(inv))
		return 1;
	if (call(inv, new_request("shutdown", NULL, NULL), &result) != CALL_OK)
		return 1;
	json_object_put(result);
	printf("volfs is shutting down: flushing, unmounting and exiting\n");
	return 0;
}

static int run_version(struct invocation *inv)
{
	struct json_object *result;

	if (check_no_args(inv))
		return 1;
	printf("Client Version: %s\n", VOLFS_VERSION);
	if (has_flag(inv, F_CLIENT))
		return 0;
	if (call(inv, new_request("version", NULL, NULL), &result) != CALL_OK)
		return 1;
	printf("Server Version: %s\n", json_path_str(result, "version", "unknown"));
	printf("Schema Version: %s\n", json_path_str(result, "schema", "unknown"));
	json_object_put(result);
	return 0;
}

static int run_help(struct invocation *inv)
{
	const struct verb *v;

	if (inv->npos == 0) {
		print_main_help(stdout);
		return 0;
	}
	if (!(v = find_verb(inv->pos[0]))) {
		fprintf(stderr, "volctl: unknown command \"%s\"; see 'volctl --help'\n", inv->pos[0]);
		return 1;
	}
	print_verb_help(stdout, v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the verb table and help */

static const struct verb verbs[] = {
	{ "create", "Create a persistent volume",
	  "volctl create pv NAME --capacity SIZE [-o json|yaml|name]",
	  "Create a persistent volume of the given capacity. Writes that would take the\n"
	  "volume past its capacity fail with ENOSPC. The volume appears under\n"
	  "MOUNT/pv/NAME/.",
	  "  # Create a 10 GiB persistent volume called data\n"
	  "  volctl create pv data --capacity 10Gi\n"
	  "\n"
	  "  # The same, showing the new object as YAML\n"
	  "  volctl create pv data --capacity=10Gi -o yaml\n",
	  BIT(F_CAPACITY) | BIT(F_OUTPUT), "json|yaml|name", run_create },
	{ "get", "Display one or many objects",
	  "volctl get KIND [NAME...] [-n NS | -A] [-o wide|json|yaml|name]",
	  "List objects of a kind, or the named ones, as a table (wide adds columns),\n"
	  "as JSON or YAML (a single named object, otherwise a v1 List), or as\n"
	  "kind/name lines. Volume snapshots have kubectl's VolumeSnapshot columns,\n"
	  "with SOURCE (pv/NAME) in the place of SOURCEPVC; a snapshot asked for by\n"
	  "name carries its usage in bytes under status.volfs in JSON and YAML.",
	  "  # List all persistent volumes\n"
	  "  volctl get pv\n"
	  "\n"
	  "  # One volume, with the volume mode column\n"
	  "  volctl get pv data -o wide\n"
	  "\n"
	  "  # The full object as YAML\n"
	  "  volctl get persistentvolume/data -o yaml\n"
	  "\n"
	  "  # Volume snapshots in every namespace\n"
	  "  volctl get vs -A\n",
	  BIT(F_OUTPUT) | BIT(F_NAMESPACE) | BIT(F_ALL_NAMESPACES), "wide|json|yaml|name", run_get },
	{ "describe", "Show details of an object, with its events",
	  "volctl describe KIND NAME... [-n NS]",
	  "Show an object in detail: labels, annotations, status, capacity and current\n"
	  "use, and the events recorded for it.",
	  "  # Describe the persistent volume data\n"
	  "  volctl describe pv data\n"
	  "\n"
	  "  # A snapshot: source, restore size, bytes held only by it, events\n"
	  "  volctl describe vs before-migration -n team-a\n",
	  BIT(F_NAMESPACE), "", run_describe },
	{ "delete", "Delete objects by kind and name",
	  "volctl delete KIND NAME... [-n NS]",
	  "Delete the named objects. Deleting a persistent volume removes its data;\n"
	  "deleting a snapshot frees the blocks only it held. Volumes restored or\n"
	  "cloned from either keep working.",
	  "  # Delete the persistent volume data\n"
	  "  volctl delete pv data\n"
	  "\n"
	  "  # Delete two volumes\n"
	  "  volctl delete pv scratch1 scratch2\n"
	  "\n"
	  "  # Delete a snapshot in namespace team-a\n"
	  "  volctl delete vs before-migration -n team-a\n",
	  BIT(F_NAMESPACE), "", run_delete },
	{ "resize", "Change the capacity of a persistent volume",
	  "volctl resize pv NAME --capacity SIZE [-o json|yaml|name]",
	  "Set a new capacity for a volume, online. Shrinking below the space already\n"
	  "in use is refused by the daemon.",
	  "  # Grow the persistent volume data to 20 GiB\n"
	  "  volctl resize pv data --capacity 20Gi\n",
	  BIT(F_CAPACITY) | BIT(F_OUTPUT), "json|yaml|name", run_resize },
	{ "snapshot", "Take a copy-on-write snapshot of a volume",
	  "volctl snapshot pv/SOURCE SNAPSHOT [-n NS] [-o json|yaml|name]",
	  "Take a point-in-time, read-only snapshot of a persistent volume, consistent\n"
	  "across the whole volume at one instant, even while it is being written. No\n"
	  "data is copied: the snapshot shares every block with the volume until one of\n"
	  "them is overwritten. The snapshot is a VolumeSnapshot in namespace NS\n"
	  "(default \"default\") and its files appear read-only under\n"
	  "MOUNT/snapshots/NS/SNAPSHOT/. The source is written in kubectl's TYPE/NAME\n"
	  "form; claims (pvc/NAME) are not supported yet.",
	  "  # Snapshot the persistent volume db before a migration\n"
	  "  volctl snapshot pv/db before-migration\n"
	  "\n"
	  "  # The same, in namespace team-a, showing the VolumeSnapshot as YAML\n"
	  "  volctl snapshot pv/db before-migration -n team-a -o yaml\n"
	  "\n"
	  "  # List, inspect and delete snapshots\n"
	  "  volctl get vs\n"
	  "  volctl describe vs before-migration\n"
	  "  volctl delete vs before-migration\n",
	  BIT(F_NAMESPACE) | BIT(F_OUTPUT), "json|yaml|name", run_snapshot },
	{ "restore", "Create a volume from a snapshot",
	  "volctl restore SNAPSHOT pv/NEW [--capacity SIZE] [-n NS] [-o json|yaml|name]",
	  "Create a new, writable persistent volume NEW with the contents of the\n"
	  "snapshot SNAPSHOT (in namespace NS, default \"default\"). The new volume\n"
	  "shares unchanged blocks with the snapshot, so restoring copies no data;\n"
	  "writes to it never change the snapshot, and deleting the snapshot later\n"
	  "never breaks it. Its capacity is the snapshot's restore size unless\n"
	  "--capacity gives another one (at least the data in the snapshot).\n"
	  "NEW may be written pv/NEW or just NEW.",
	  "  # Roll back: a new volume db-restored with the contents of before-migration\n"
	  "  volctl restore before-migration pv/db-restored\n"
	  "\n"
	  "  # The same with a bigger capacity, from a snapshot in namespace team-a\n"
	  "  volctl restore before-migration db-restored --capacity 20Gi -n team-a\n",
	  BIT(F_NAMESPACE) | BIT(F_CAPACITY) | BIT(F_OUTPUT), "json|yaml|name", run_restore },
	{ "clone", "Create a volume as a copy of another",
	  "volctl clone pv/SOURCE pv/NEW [-o json|yaml|name]",
	  "Create a new, writable persistent volume NEW with the contents SOURCE has\n"
	  "now, at one instant, with the same capacity. Like a snapshot, a clone\n"
	  "shares unchanged blocks copy-on-write and copies no data; writes to either\n"
	  "volume never change the other, and either can be deleted first. NEW may be\n"
	  "written pv/NEW or just NEW.",
	  "  # A scratch copy of the volume db for testing\n"
	  "  volctl clone pv/db pv/db-test\n",
	  BIT(F_OUTPUT), "json|yaml|name", run_clone },
	{ "df", "Show capacity and use of every volume",
	  "volctl df [-o json|yaml]",
	  "One line per volume and per snapshot: capacity, space used and available,\n"
	  "use in percent (rounded up) and, for volumes, the space held only by their\n"
	  "snapshots (blocks the volume has overwritten or deleted since; deleting\n"
	  "the snapshots would free it). Snapshots do not count against a volume's\n"
	  "capacity.",
	  "  # Show how full every volume is\n"
	  "  volctl df\n"
	  "\n"
	  "  # The same numbers, in bytes, as JSON\n"
	  "  volctl df -o json\n",
	  BIT(F_OUTPUT), "json|yaml", run_df },
	{ "check", "Check the metadata and data for consistency",
	  "volctl check",
	  "Ask the daemon to verify its metadata store and data files. Prints each\n"
	  "problem found and exits non-zero if there are any.",
	  "  # Verify the state of a daemon using /srv/volfs\n"
	  "  volctl --state /srv/volfs check\n",
	  0, "", run_check },
	{ "shutdown", "Flush everything, unmount and stop the daemon",
	  "volctl shutdown",
	  "Ask the daemon to flush all data and metadata, unmount and exit.",
	  "  # Stop the daemon cleanly\n"
	  "  volctl shutdown\n",
	  0, "", run_shutdown },
	{ "version", "Print the client and daemon versions",
	  "volctl version [--client]",
	  "Print the version of volctl and, unless --client is given, of the running\n"
	  "daemon and its metadata schema.",
	  "  # Both versions\n"
	  "  volctl version\n"
	  "\n"
	  "  # Without contacting the daemon\n"
	  "  volctl version --client\n",
	  BIT(F_CLIENT), "", run_version },
	{ "help", "Help about any command",
	  "volctl help [COMMAND]",
	  "Show the help of volctl or of one command.",
	  "  # Help for get\n"
	  "  volctl help get\n",
	  0, "", run_help },
};

#define NVERBS (sizeof verbs / sizeof verbs[0])

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static void print_flag(FILE *f, const struct verb *v, enum flag_id id)
{
	const struct flag_def *d = &flag_defs[id];
	char left[64];

	if (d->short_name)
		snprintf(left, sizeof left, "-%c, --%s%s%s", d->short_name, d->long_name,
			 d->value_name ? " " : "", d->value_name ? d->value_name : "");
	else
		snprintf(left, sizeof left, "    --%s%s%s", d->long_name, d->value_name ? " " : "",
			 d->value_name ? d->value_name : "");
	fprintf(f, "  %-26s %s%s\n", left, d->help, id == F_OUTPUT && v ? v->formats : "");
}

static void print_global_flags(FILE *f)
{
	fprintf(f, "Global options:\n");
	print_flag(f, NULL, F_STATE);
	print_flag(f, NULL, F_SOCKET);
	print_flag(f, NULL, F_HELP);
}

static void print_kinds(FILE *f)
{
	fprintf(f, "Kinds (kind, plural or short name, any case):\n");
	for (size_t i = 0; i < kind_count(); i++) {
		const struct kind_info *k = kind_at(i);

		if (k->short_names[0])
			fprintf(f, "  %-24s %s\n", k->plural, k->short_names[0]);
		else
			fprintf(f, "  %s\n", k->plural);
	}
}

static void print_verb_help(FILE *f, const struct verb *v)
{
	fprintf(f, "%s\n\nUsage:\n  %s\n\nExamples:\n%s\n", v->about, v->usage, v->examples);
	if (v->flags) {
		fprintf(f, "Options:\n");
		for (int id = 0; id < F_COUNT; id++)
			if (v->flags & BIT(id))
				print_flag(f, v, (enum flag_id)id);
		fputc('\n', f);
	}
	if (v->run == run_create || v->run == run_get || v->run == run_describe || v->run == run_delete) {
		print_kinds(f);
		fputc('\n', f);
	}
	print_global_flags(f);
}

static void print_main_help(FILE *f)
{
	fprintf(f, "volctl controls volfs, Kubernetes-style persistent volumes on one machine,\n"
		   "through the control socket of the running volfs daemon.\n\n"
		   "Usage:\n  volctl [--state DIR | --socket PATH] COMMAND [ARGS] [OPTIONS]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nExamples:\n"
		   "  volctl create pv data --capacity 10Gi\n"
		   "  volctl get pv\n"
		   "  volctl snapshot pv/data nightly\n"
		   "  volctl restore nightly pv/data-restored\n"
		   "  volctl --state /srv/volfs df\n\n");
	print_kinds(f);
	fputc('\n', f);
	print_global_flags(f);
	fprintf(f, "\nUse 'volctl COMMAND --help' for more about a command.\n");
}

int main(int argc, char **argv)
{
	struct invocation *inv = calloc(1, sizeof *inv);
	int rc;

	if (!inv)
		return fail("out of memory");
	rc = parse_args(inv, argc, argv);
	if (rc == 0)
		rc = inv->verb->run(inv);
	else if (rc < 0)
		rc = 0;
	free(inv);
	if (fflush(stdout) != 0 || ferror(stdout))
		return fail("cannot write output: %s", strerror(errno));
	return rc;
}
