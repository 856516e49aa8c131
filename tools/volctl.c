/*
 * tools/volctl.c — the volctl command line: flag parsing in kubectl's
 * manner (flags anywhere on the line, before or after the verb,
 * --flag=value or --flag value, -f repeatable), then the verb's handler.
 * The verbs live in tools/verbs*.c, their shared machinery in
 * tools/cli_args.c (command line) and tools/cli_request.c (requests).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli_args.h"
#include "tools/cli_request.h"
#include "tools/client.h"
#include "tools/verbs.h"

static const struct flag_def *flag_by_long(const char *name, size_t len, enum flag_id *id)
{
	for (int i = 0; i < F_COUNT; i++) {
		if (strlen(cli_flag_defs[i].long_name) == len && strncmp(cli_flag_defs[i].long_name, name, len) == 0) {
			*id = (enum flag_id)i;
			return &cli_flag_defs[i];
		}
	}
	return NULL;
}

static const struct flag_def *flag_by_short(char c, enum flag_id *id)
{
	for (int i = 0; i < F_COUNT; i++) {
		if (cli_flag_defs[i].short_name && cli_flag_defs[i].short_name == c) {
			*id = (enum flag_id)i;
			return &cli_flag_defs[i];
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

/* Record a flag's value. -f may be given several times (kubectl reads the
 * files in order); any other flag given twice keeps the last value. */
static int set_flag(struct invocation *inv, enum flag_id id, const char *value)
{
	if (id == F_FILENAME) {
		if (inv->nfiles == MAX_ARGS)
			return cli_fail("too many -f files");
		inv->files[inv->nfiles++] = value;
	}
	inv->value[id] = value;
	return 0;
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
		return cli_fail("unknown flag: %s; %s", arg, hint);
	if (!def->value_name) {
		if (value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return cli_fail("flag %s does not take a value; %s", arg, hint);
		inv->value[id] = (value && strcmp(value, "false") == 0) ? NULL : "true";
		return 0;
	}
	if (!value) {
		if (*i + 1 >= argc)
			return cli_fail("flag needs an argument: %s; %s", arg, hint);
		value = argv[++*i];
	}
	return set_flag(inv, id, value);
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

/* Flags before the verb: any flag, checked against the verb once it is
 * known (kubectl's "volctl -n team-a get pvc"). Returns the index of the
 * verb, argc if there is none, or -1 after an error (-2 after help). */
static int parse_leading_options(struct invocation *inv, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && is_flag(argv[i]); i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (parse_flag(inv, argc, argv, &i, ~0u))
			return -1;
		if (cli_has_flag(inv, F_HELP)) {
			print_main_help(stdout);
			return -2;
		}
	}
	return i;
}

/* A flag given before the verb that the verb does not take. */
static int check_leading_flags(const struct invocation *inv)
{
	unsigned allowed = GLOBAL_FLAGS | inv->verb->flags;

	for (int id = 0; id < F_COUNT; id++)
		if (cli_has_flag(inv, (enum flag_id)id) && !(allowed & BIT(id)))
			return cli_fail("unknown flag: --%s; see 'volctl %s --help'", cli_flag_defs[id].long_name,
				    inv->verb->name);
	return 0;
}

static int parse_verb_args(struct invocation *inv, int argc, char **argv, int i)
{
	int only_positional = 0;

	for (; i < argc; i++) {
		if (!only_positional && strcmp(argv[i], "--") == 0) {
			only_positional = 1;
			inv->dashdash = inv->npos + 1;
		} else if (!only_positional && is_flag(argv[i])) {
			if (parse_flag(inv, argc, argv, &i, GLOBAL_FLAGS | inv->verb->flags))
				return 1;
		} else {
			if (inv->npos == MAX_ARGS)
				return cli_fail("too many arguments");
			inv->pos[inv->npos++] = argv[i];
		}
	}
	return 0;
}

static int resolve_socket(struct invocation *inv)
{
	if (cli_has_flag(inv, F_STATE) && cli_has_flag(inv, F_SOCKET))
		return cli_fail("--state and --socket cannot be used together");
	if (cli_has_flag(inv, F_SOCKET)) {
		if (!*inv->value[F_SOCKET])
			return cli_fail("--socket needs a path");
		snprintf(inv->socket, sizeof inv->socket, "%s", inv->value[F_SOCKET]);
		return 0;
	}
	if (cli_has_flag(inv, F_STATE) && !*inv->value[F_STATE])
		return cli_fail("--state needs a directory");
	client_socket_path(cli_has_flag(inv, F_STATE) ? inv->value[F_STATE] : CLIENT_DEFAULT_STATE,
			   inv->socket, sizeof inv->socket);
	return 0;
}

static int resolve_timeout(struct invocation *inv)
{
	const char *v = cli_has_flag(inv, F_REQUEST_TIMEOUT) ? inv->value[F_REQUEST_TIMEOUT]
	                                                 : CLIENT_DEFAULT_TIMEOUT;
	int64_t ms;
	if (client_parse_duration(v, &ms) < 0)
		return cli_fail("invalid --request-timeout \"%s\": want a duration such as 30s, 1m or 0 "
		            "(no timeout)", v);
	client_set_timeout(ms);
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
	if (i >= argc)
		return cli_fail("no command given; see 'volctl --help'");
	inv->verb = find_verb(argv[i]);
	if (!inv->verb)
		return cli_fail("unknown command \"%s\" for \"volctl\"; see 'volctl --help'", argv[i]);
	if (wants_help(argc, argv, i + 1)) {
		print_verb_help(stdout, inv->verb);
		return -1;
	}
	if (check_leading_flags(inv))
		return 1;
	if (parse_verb_args(inv, argc, argv, i + 1))
		return 1;
	return resolve_timeout(inv) ? 1 : resolve_socket(inv);
}

int main(int argc, char **argv)
{
	struct invocation *inv = calloc(1, sizeof *inv);
	int rc;

	if (!inv)
		return cli_fail("out of memory");
	rc = parse_args(inv, argc, argv);
	if (rc == 0)
		rc = inv->verb->run(inv);
	else if (rc < 0)
		rc = 0;
	free(inv);
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_fail("cannot write output: %s", strerror(errno));
	return rc;
}
