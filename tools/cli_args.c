/*
 * tools/cli_args.c — what volctl's verbs share about their command line
 * (see cli_args.h): the flag table, the failure line, validation of what
 * users type, and the targets a verb acts on.
 */
#include "tools/cli_args.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/names.h"
#include "meta/quantity.h"
#include "tools/client.h"
#include "tools/term.h"

const struct flag_def cli_flag_defs[F_COUNT] = {
	[F_HELP] = { "help", 'h', NULL, "help for this command" },
	[F_STATE] = { "state", 0, "DIR",
		      "state directory of the daemon; the socket is DIR/" CLIENT_SOCKET_NAME
		      " (default " CLIENT_DEFAULT_STATE ")" },
	[F_SOCKET] = { "socket", 0, "PATH", "path of the daemon's control socket (instead of --state)" },
	[F_FILENAME] = { "filename", 'f', "FILE",
			 "Kubernetes YAML (or JSON) to read, several documents allowed; - reads stdin; "
			 "may be repeated" },
	[F_CAPACITY] = { "capacity", 0, "SIZE",
			 "size as a Kubernetes quantity: 500Mi, 10Gi, 1G, 1073741824 (same as --size)" },
	[F_SIZE] = { "size", 0, "SIZE", "size as a Kubernetes quantity: 500Mi, 10Gi, 1G, 1073741824 (same as --capacity)" },
	[F_CLASS] = { "class", 0, "CLASS", "storage class of the claim (default: the default class)" },
	[F_ACCESS_MODE] = { "access-mode", 0, "MODE",
			    "RWO, ROX, RWX, RWOP or the full names (ReadWriteOnce, ...), comma-separated; "
			    "default RWO" },
	[F_OUTPUT] = { "output", 'o', "FORMAT", "output format: " },
	[F_NAMESPACE] = { "namespace", 'n', "NS", "namespace of namespaced kinds (default \"default\")" },
	[F_ALL_NAMESPACES] = { "all-namespaces", 'A', NULL, "list namespaced kinds across all namespaces" },
	[F_IGNORE_NOT_FOUND] = { "ignore-not-found", 0, NULL, "treat objects that do not exist as deleted" },
	[F_CLIENT] = { "client", 0, NULL, "print the client version only; do not contact the daemon" },
	[F_PATCH] = { "patch", 'p', "JSON", "a JSON merge patch (RFC 7386): null removes a field" },
	[F_CONTAINER] = { "container", 'c', "CONTAINER",
			  "container whose volumeMounts to use (default: the pod's first container)" },
	[F_REQUEST_TIMEOUT] = { "request-timeout", 0, "DURATION",
				"how long to wait for the daemon's answer: 30s, 1m, 1h30m; 0 waits "
				"forever (default " CLIENT_DEFAULT_TIMEOUT ")" },
	[F_INODES] = { "inodes", 0, "N",
		       "most files, directories and symlinks the volume may hold (default: one per "
		       "4 KiB of capacity)" },
	[F_SELECTOR] = { "selector", 'l', "SELECTOR",
			 "label selector: key=value, key!=value, 'key in (a,b)', 'key notin (a)', key, !key; "
			 "comma-separated requirements must all hold" },
	[F_FIELD_SELECTOR] = { "field-selector", 0, "SELECTOR",
			       "field selector: path=value or path!=value, comma-separated "
			       "(involvedObject.name=data)" },
	[F_SHOW_LABELS] = { "show-labels", 0, NULL, "add a LABELS column to tables" },
	[F_NO_HEADERS] = { "no-headers", 0, NULL, "print tables without their header line" },
	[F_SORT_BY] = { "sort-by", 0, "JSONPATH", "sort the list by the value at this JSONPath ({.metadata.name})" },
	[F_ALL] = { "all", 0, NULL, "every object of the kind (in the namespace)" },
	[F_OVERWRITE] = { "overwrite", 0, NULL, "replace a label or annotation that has a value" },
	[F_WATCH] = { "watch", 'w', NULL,
		      "after listing, stream each change of the objects as the daemon reports it" },
	[F_FOR] = { "for", 0, "CONDITION",
		    "condition=NAME[=VALUE], jsonpath='{PATH}'=VALUE, or delete" },
	[F_TIMEOUT] = { "timeout", 0, "DURATION", "how long to wait: 30s, 5m, 1h (default 30s); 0 checks once" },
	[F_STRICT] = { "strict", 0, NULL,
		       "refuse a file that holds kinds volfs does not serve, instead of skipping them" },
	[F_REPLICAS] = { "replicas", 0, "N", "the number of pods the deployment or statefulset should have" },
};

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("volctl: ", stderr);
	term_put(stderr, TERM_RED, "error:");
	fputc(' ', stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_has_flag(const struct invocation *inv, enum flag_id f)
{
	return inv->value[f] != NULL;
}

/* ------------------------------------------------------------------ */
/* validation */

int cli_check_name(const char *name)
{
	char err[512];

	if (name_check_subdomain(name, err, sizeof err) < 0)
		return cli_fail("%s", err);
	return 0;
}

const struct k8s_kind *cli_check_kind(const char *word)
{
	const struct k8s_kind *k = k8s_kind_lookup(word, K8S_KIND_TYPED);

	if (!k)
		cli_fail("the server doesn't have a resource type \"%s\"", word);
	return k;
}

static enum flag_id size_alias(enum flag_id f)
{
	return f == F_SIZE ? F_CAPACITY : F_SIZE;
}

int cli_has_size(const struct invocation *inv)
{
	return cli_has_flag(inv, F_SIZE) || cli_has_flag(inv, F_CAPACITY);
}

const char *cli_size_flag_text(const struct invocation *inv, enum flag_id f)
{
	return cli_has_flag(inv, f) ? inv->value[f] : inv->value[size_alias(f)];
}

int cli_check_size(const struct invocation *inv, enum flag_id f, uint64_t *bytes)
{
	enum flag_id given = cli_has_flag(inv, f) ? f : size_alias(f);
	char err[512];

	if (cli_has_flag(inv, f) && cli_has_flag(inv, size_alias(f)))
		return cli_fail("--size and --capacity mean the same; give one of them");
	if (!cli_has_flag(inv, given))
		return cli_fail("required flag \"--%s\" not set; see 'volctl %s --help'",
			    cli_flag_defs[f].long_name, inv->verb->name);
	if (quantity_parse(inv->value[given], bytes, err, sizeof err) < 0)
		return cli_fail("%s", err);
	if (*bytes == 0)
		return cli_fail("invalid quantity \"%s\": --%s must be greater than zero",
			    inv->value[given], cli_flag_defs[given].long_name);
	return 0;
}

/* "jsonpath={.x}" is allowed where "jsonpath" is listed. */
static int format_allowed(const char *formats, const char *s)
{
	size_t len = strcspn(s, "=");

	for (const char *p = formats; *p;) {
		size_t n = strcspn(p, "|");

		if (n == len && strncmp(p, s, len) == 0)
			return 1;
		p += n + (p[n] == '|');
	}
	return 0;
}

int cli_check_output(const struct invocation *inv, enum output_format *fmt)
{
	const char *s = inv->value[F_OUTPUT];
	char allowed[128];

	snprintf(allowed, sizeof allowed, "%s", inv->verb->formats);
	for (char *p = allowed; *p; p++)
		if (*p == '|')
			*p = ',';
	if (s && (!format_allowed(inv->verb->formats, s) || output_format_parse(s, fmt) < 0))
		return cli_fail("unknown output format \"%s\" (allowed: %s)", s, allowed);
	if (!s)
		*fmt = OUTPUT_TABLE;
	return 0;
}

int cli_check_no_args(const struct invocation *inv)
{
	if (inv->npos)
		return cli_fail("unexpected argument \"%s\"; see 'volctl %s --help'", inv->pos[0], inv->verb->name);
	return 0;
}

int cli_check_npos(const struct invocation *inv, size_t n, const char *what, const char *form)
{
	if (inv->npos < n)
		return cli_fail("%s %s required: volctl %s %s; see 'volctl %s --help'", what, n > 1 ? "are" : "is",
			    inv->verb->name, form, inv->verb->name);
	if (inv->npos > n)
		return cli_fail("unexpected argument \"%s\"; see 'volctl %s --help'", inv->pos[n], inv->verb->name);
	return 0;
}

int cli_check_namespace(const struct invocation *inv, const char **ns)
{
	char err[512];

	*ns = cli_has_flag(inv, F_NAMESPACE) ? inv->value[F_NAMESPACE] : "default";
	if (name_check_label(*ns, err, sizeof err) < 0)
		return cli_fail("%s", err);
	return 0;
}

/* ------------------------------------------------------------------ */
/* targets */

/* The kind of a "KIND/NAME" argument; *name points into it. */
static const struct k8s_kind *split_slash(const char *arg, const char **name)
{
	const char *slash = strchr(arg, '/');
	char kind[256];

	if (!slash) {
		cli_fail("there is no need to specify a resource type as a separate argument "
		     "when passing arguments in resource/name form (\"%s\")", arg);
		return NULL;
	}
	snprintf(kind, sizeof kind, "%.*s", (int)(slash - arg), arg);
	*name = slash + 1;
	return cli_check_kind(kind);
}

static int split_slash_targets(const struct invocation *inv, struct targets *t)
{
	for (size_t i = 0; i < inv->npos; i++) {
		const struct k8s_kind *k;
		const char *name;

		if (!(k = split_slash(inv->pos[i], &name)))
			return 1;
		if (t->kind && k != t->kind)
			return cli_fail("one kind at a time, please: \"%s\" and \"%s\"", t->kind->plural, k->plural);
		t->kind = k;
		t->names[t->n++] = name;
	}
	return 0;
}

static int parse_target_namespace(const struct invocation *inv, struct targets *t)
{
	t->all_ns = cli_has_flag(inv, F_ALL_NAMESPACES);
	t->ns = NULL;
	if (!t->kind->namespaced)
		return 0; /* kubectl ignores -n and -A for cluster-scoped kinds */
	return cli_check_namespace(inv, &t->ns);
}

int cli_parse_targets(const struct invocation *inv, struct targets *t)
{
	memset(t, 0, sizeof *t);
	if (inv->npos == 0)
		return cli_fail("you must specify the type of resource to %s; see 'volctl %s --help'",
			    inv->verb->name, inv->verb->name);
	if (strchr(inv->pos[0], '/')) {
		if (split_slash_targets(inv, t))
			return 1;
	} else {
		if (!(t->kind = cli_check_kind(inv->pos[0])))
			return 1;
		for (size_t i = 1; i < inv->npos; i++)
			t->names[t->n++] = inv->pos[i];
	}
	for (size_t i = 0; i < t->n; i++)
		if (cli_check_name(t->names[i]))
			return 1;
	return parse_target_namespace(inv, t);
}

/* The group of kind k in l, added if new. */
static struct targets *group_of(struct target_list *l, const struct k8s_kind *k)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].kind == k)
			return &l->t[i];
	assert(l->n < MAX_KINDS); /* each kind at most once, and there are fewer */
	memset(&l->t[l->n], 0, sizeof l->t[0]);
	l->t[l->n].kind = k;
	return &l->t[l->n++];
}

static int slash_target_list(const struct invocation *inv, struct target_list *l)
{
	for (size_t i = 0; i < inv->npos; i++) {
		const struct k8s_kind *k;
		const char *name;
		struct targets *t;

		if (!(k = split_slash(inv->pos[i], &name)))
			return 1;
		t = group_of(l, k);
		t->names[t->n++] = name;
	}
	return 0;
}

/* "pvc,pv" or "all"; the names that follow apply to every kind. */
static int kind_word_list(const struct invocation *inv, struct target_list *l)
{
	const char *p = inv->pos[0];

	while (*p) {
		size_t len = strcspn(p, ",");
		char word[128];

		snprintf(word, sizeof word, "%.*s", (int)len, p);
		if (strcmp(word, "all") == 0) {
			for (size_t i = 0; i < k8s_kind_count(); i++)
				if (k8s_kind_at(i)->in_all)
					group_of(l, k8s_kind_at(i));
			l->multi = 1;
		} else {
			const struct k8s_kind *k = cli_check_kind(word);

			if (!k)
				return 1;
			group_of(l, k);
		}
		p += len + (p[len] == ',');
	}
	for (size_t g = 0; g < l->n; g++)
		for (size_t i = 1; i < inv->npos; i++)
			l->t[g].names[l->t[g].n++] = inv->pos[i];
	return 0;
}

int cli_parse_target_list(const struct invocation *inv, struct target_list *l)
{
	memset(l, 0, sizeof *l);
	if (inv->npos == 0)
		return cli_fail("you must specify the type of resource to %s; see 'volctl %s --help'",
			    inv->verb->name, inv->verb->name);
	if (strchr(inv->pos[0], '/') ? slash_target_list(inv, l) : kind_word_list(inv, l))
		return 1;
	l->multi |= l->n > 1;
	for (size_t g = 0; g < l->n; g++) {
		for (size_t i = 0; i < l->t[g].n; i++)
			if (cli_check_name(l->t[g].names[i]))
				return 1;
		if (parse_target_namespace(inv, &l->t[g]))
			return 1;
	}
	return 0;
}

int cli_need_names(const struct invocation *inv, const struct targets *t)
{
	if (t->n == 0)
		return cli_fail("a name is required: volctl %s %s NAME; see 'volctl %s --help'",
			    inv->verb->name, t->kind->singular, inv->verb->name);
	return 0;
}
