/*
 * tools/verbs_meta.c — label and annotate: change metadata.labels or
 * metadata.annotations of objects chosen by name, selector or --all, as
 * kubectl does ("key=value" sets, "key-" removes, a key that has a value
 * changes only with --overwrite). Each change is one merge patch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/selector.h"
#include "tools/fields.h"
#include "tools/verbs.h"

struct meta_change {
	char key[320];
	const char *value; /* NULL: remove */
};

struct meta_verb {
	const char *member; /* "labels" or "annotations" */
	const char *done;   /* "labeled" */
	int values_are_labels;
};

static int is_change(const char *arg)
{
	size_t n = strlen(arg);

	return strchr(arg, '=') || (n > 1 && arg[n - 1] == '-');
}

static int parse_change(const struct meta_verb *mv, const char *arg, struct meta_change *c)
{
	const char *eq = strchr(arg, '='), *problem;

	if (eq)
		snprintf(c->key, sizeof c->key, "%.*s", (int)(eq - arg), arg);
	else
		snprintf(c->key, sizeof c->key, "%.*s", (int)strlen(arg) - 1, arg);
	c->value = eq ? eq + 1 : NULL;
	if ((problem = selector_key_problem(c->key)))
		return cli_fail("invalid %s key \"%s\": %s", mv->member, c->key, problem);
	if (c->value && mv->values_are_labels && (problem = selector_value_problem(c->value)))
		return cli_fail("invalid label value: \"%s\": %s", arg, problem);
	return 0;
}

/* The patch for one object, or NULL when it would change nothing; 1 in
 * *refused after the --overwrite error. */
static struct json_object *build_patch(const struct invocation *inv, const struct meta_verb *mv,
				       struct json_object *obj, const struct meta_change *c, size_t n, int *refused)
{
	struct json_object *have = json_path(obj, "metadata"), *set = json_object_new_object(), *cur, *patch;
	int changes = 0;

	if (have)
		have = json_path(have, mv->member);
	for (size_t i = 0; i < n; i++) {
		int exists = have && json_object_object_get_ex(have, c[i].key, &cur);

		if (!c[i].value) {
			if (!exists)
				fprintf(stderr, "%s \"%s\" not found.\n", mv->values_are_labels ? "label" : "annotation",
					c[i].key);
			else
				json_object_object_add(set, c[i].key, NULL), changes++;
			continue;
		}
		if (exists && !strcmp(json_object_get_string(cur), c[i].value))
			continue;
		if (exists && !cli_has_flag(inv, F_OVERWRITE)) {
			cli_fail("'%s' already has a value (%s), and --overwrite is false", c[i].key,
			     json_object_get_string(cur));
			*refused = 1;
			json_object_put(set);
			return NULL;
		}
		json_object_object_add(set, c[i].key, json_object_new_string(c[i].value));
		changes++;
	}
	if (!changes) {
		json_object_put(set);
		return NULL;
	}
	patch = json_object_new_object();
	json_object_object_add(patch, "metadata", json_object_new_object());
	json_object_object_add(json_path(patch, "metadata"), mv->member, set);
	return patch;
}

static enum call_result change_one(const struct invocation *inv, const struct meta_verb *mv, const struct targets *t,
				   struct json_object *obj, const struct meta_change *c, size_t n)
{
	const char *name = json_path_str(obj, "metadata.name", "");
	struct json_object *patch, *req, *result;
	char type[128];
	int refused = 0;
	enum call_result rc;

	k8s_kind_qualified(t->kind, type, sizeof type);
	if (!(patch = build_patch(inv, mv, obj, c, n, &refused))) {
		if (!refused)
			printf("%s/%s not %s\n", type, name, mv->done);
		return refused ? CALL_REFUSED : CALL_OK;
	}
	req = cli_new_request("patch", t->kind, name);
	cli_add_namespace(req, t);
	json_object_object_add(req, "patch", patch);
	rc = cli_call(inv, req, &result);
	if (rc == CALL_OK) {
		printf("%s/%s %s\n", type, name, mv->done);
		json_object_put(result);
	}
	return rc;
}

static int run_meta(struct invocation *inv, const struct meta_verb *mv)
{
	struct invocation *sel = malloc(sizeof *sel);
	struct meta_change changes[MAX_ARGS];
	size_t nchanges = 0;
	enum call_result rc = CALL_OK;
	struct target_list l;
	struct filters f;
	int failed = 0;

	if (!sel)
		abort();
	*sel = *inv; /* the same invocation, its positional arguments without the changes */
	sel->npos = 0;
	for (size_t i = 0; i < inv->npos; i++) {
		if (i > 0 && is_change(inv->pos[i])) {
			if (parse_change(mv, inv->pos[i], &changes[nchanges++])) {
				free(sel);
				return 1;
			}
		} else {
			sel->pos[sel->npos++] = inv->pos[i];
		}
	}
	if (nchanges == 0) {
		free(sel);
		return cli_fail("at least one %s update is required: key=value or key-; see 'volctl %s --help'",
			    mv->values_are_labels ? "label" : "annotation", inv->verb->name);
	}
	if (cli_parse_target_list(sel, &l) || parse_filters(sel, &l, &f)) {
		free(sel);
		return 1;
	}
	for (size_t g = 0; g < l.n && rc != CALL_FATAL; g++) {
		struct json_object *objs = json_object_new_array();

		if (!l.t[g].n && !cli_has_flag(inv, F_ALL) && !f.labels) {
			failed = cli_fail("resource(s) were provided, but no name was specified; give names, -l SELECTOR "
				      "or --all");
			json_object_put(objs);
			break;
		}
		rc = fetch_group(sel, &l.t[g], &f, objs, &failed);
		for (size_t i = 0; rc != CALL_FATAL && i < json_object_array_length(objs); i++) {
			enum call_result one = change_one(inv, mv, &l.t[g], json_object_array_get_idx(objs, i), changes,
							  nchanges);

			failed |= one != CALL_OK;
			if (one == CALL_FATAL)
				rc = one;
		}
		json_object_put(objs);
	}
	filters_free(&f);
	free(sel);
	return failed;
}

int run_label(struct invocation *inv)
{
	static const struct meta_verb label = { "labels", "labeled", 1 };

	return run_meta(inv, &label);
}

int run_annotate(struct invocation *inv)
{
	static const struct meta_verb annotate = { "annotations", "annotated", 0 };

	return run_meta(inv, &annotate);
}
