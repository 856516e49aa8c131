/*
 * tools/cli_args.h — what every volctl verb shares about its command
 * line: the invocation (arguments and flags as parsed), the flag table,
 * the one-line failure, client-side validation of kinds, names,
 * namespaces, sizes and output formats, and the targets a verb acts on.
 *
 * Everything a user can get wrong is refused on this side, before anything
 * is sent: the daemon never sees an unknown kind, a malformed name or size.
 */
#ifndef VOLFS_TOOLS_CLI_ARGS_H
#define VOLFS_TOOLS_CLI_ARGS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "meta/kinds.h"
#include "tools/output_format.h"

#define MAX_ARGS 64

enum flag_id {
	F_HELP,
	F_STATE,
	F_SOCKET,
	F_FILENAME,
	F_CAPACITY,
	F_SIZE,
	F_CLASS,
	F_ACCESS_MODE,
	F_OUTPUT,
	F_NAMESPACE,
	F_ALL_NAMESPACES,
	F_IGNORE_NOT_FOUND,
	F_CLIENT,
	F_PATCH,
	F_CONTAINER,
	F_REQUEST_TIMEOUT,
	F_INODES,
	F_SELECTOR,
	F_FIELD_SELECTOR,
	F_SHOW_LABELS,
	F_NO_HEADERS,
	F_SORT_BY,
	F_ALL,
	F_OVERWRITE,
	F_WATCH,
	F_FOR,
	F_TIMEOUT,
	F_STRICT,
	F_REPLICAS,
	F_COUNT,
};

_Static_assert(F_COUNT <= 32, "flag sets are 32-bit masks");
#define BIT(f) (1u << (f))
/* Accepted everywhere, before or after the verb. */
#define GLOBAL_FLAGS (BIT(F_HELP) | BIT(F_STATE) | BIT(F_SOCKET) | BIT(F_REQUEST_TIMEOUT))

struct flag_def {
	const char *long_name;
	char short_name;
	const char *value_name; /* NULL for a boolean flag */
	const char *help;
};

extern const struct flag_def cli_flag_defs[F_COUNT];

struct invocation;

struct verb {
	const char *name;
	const char *summary; /* one line for the command list */
	const char *usage;
	const char *about;    /* what it does, a paragraph */
	const char *examples; /* "  # comment\n  volctl ...\n" lines */
	unsigned flags;       /* flags accepted besides the global ones */
	const char *formats;  /* -o values accepted, "|"-separated */
	int (*run)(struct invocation *inv);
	int lists_kinds;      /* its help lists the kinds */
};

struct invocation {
	const struct verb *verb;
	const char *pos[MAX_ARGS];
	size_t npos;
	const char *value[F_COUNT]; /* value of each flag given, or "true" for booleans */
	const char *files[MAX_ARGS]; /* every -f, in order (-f may be repeated) */
	size_t nfiles;
	size_t dashdash; /* 1 + the number of positional arguments before "--", 0 if none */
	char socket[PATH_MAX];
};

/* volctl: error: ... — the one line every failure ends in. Returns 1, the
 * exit code of every failure. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_has_flag(const struct invocation *inv, enum flag_id f);

/* --- validation (each prints its error and returns non-zero) --- */

int cli_check_name(const char *name);
/* The kind a user typed, or NULL after "doesn't have a resource type". */
const struct k8s_kind *cli_check_kind(const char *word);
/* The size given with flag f or its alias (--capacity and --size mean the
 * same), as bytes; refuses zero, which no volume can usefully have. */
int cli_check_size(const struct invocation *inv, enum flag_id f, uint64_t *bytes);
/* Was a size given at all (under either spelling)? */
int cli_has_size(const struct invocation *inv);
/* That size as the user typed it (after check_size). */
const char *cli_size_flag_text(const struct invocation *inv, enum flag_id f);
int cli_check_output(const struct invocation *inv, enum output_format *fmt);
int cli_check_no_args(const struct invocation *inv);
/* Exactly n positional arguments; what says which ("a source and a
 * snapshot name"), form how they are written. */
int cli_check_npos(const struct invocation *inv, size_t n, const char *what, const char *form);
/* -n NS (default "default"), checked. */
int cli_check_namespace(const struct invocation *inv, const char **ns);

/* What a verb acts on: "KIND NAME..." or "KIND/NAME...". */
struct targets {
	const struct k8s_kind *kind;
	const char *names[MAX_ARGS];
	size_t n;
	const char *ns;  /* namespace for namespaced kinds, NULL when cluster-scoped */
	int all_ns;
};

int cli_parse_targets(const struct invocation *inv, struct targets *t);
int cli_need_names(const struct invocation *inv, const struct targets *t);

/* What get, describe and delete act on: one group per kind, from
 * "KIND[,KIND...] [NAME...]" ("all" is every kind volfs serves) or
 * "KIND/NAME...". multi: more than one kind was asked for, so listings
 * name each object KIND/NAME as kubectl does. */
#define MAX_KINDS 24
struct target_list {
	struct targets t[MAX_KINDS];
	size_t n;
	int multi;
};

int cli_parse_target_list(const struct invocation *inv, struct target_list *l);

#endif
