/*
 * tools/output.c — what a get or a made object prints (see output.h): one
 * format of each kind to the file that owns it: tables (tools/tables.c),
 * JSON and YAML (tools/output_json_yaml.c), JSONPath and custom columns
 * (tools/output_template.c), and -o name here.
 */
#include "tools/output.h"

#include "tools/fields.h"
#include "tools/output_json_yaml.h"
#include "tools/output_template.h"
#include "tools/tables.h"

/* kubectl -o name: "persistentvolume/data", group-qualified outside the
 * core group ("storageclass.storage.k8s.io/fast"). */
static void print_name(FILE *f, const struct k8s_kind *k, struct json_object *obj)
{
	char type[128];

	k8s_kind_qualified(k, type, sizeof type);
	fprintf(f, "%s/%s\n", type, json_path_str(obj, "metadata.name", ""));
}

static void print_structured(FILE *f, struct json_object *v, enum output_format fmt)
{
	if (fmt == OUTPUT_YAML)
		output_yaml(f, v);
	else
		output_json(f, v);
}

void output_object(FILE *f, const struct k8s_kind *k, struct json_object *obj, enum output_format fmt)
{
	if (fmt == OUTPUT_NAME)
		print_name(f, k, obj);
	else
		print_structured(f, obj, fmt);
}

struct json_object *output_get_root(struct json_object *items, int by_name)
{
	struct json_object *list;

	if (by_name && json_object_array_length(items) == 1)
		return json_object_get(json_object_array_get_idx(items, 0));
	list = json_object_new_object();
	json_object_object_add(list, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(list, "kind", json_object_new_string("List"));
	json_object_object_add(list, "items", json_object_get(items));
	return list;
}

int output_get(FILE *f, const struct k8s_kind *k, struct json_object *items, int by_name,
	       const struct get_view *view, time_t now)
{
	size_t n = json_object_array_length(items);
	struct json_object *root;
	int rc = 0;

	switch (view->fmt) {
	case OUTPUT_JSON:
	case OUTPUT_YAML:
	case OUTPUT_JSONPATH:
		root = output_get_root(items, by_name);
		if (view->fmt == OUTPUT_JSONPATH)
			rc = output_jsonpath(f, root, view->arg);
		else
			print_structured(f, root, view->fmt);
		json_object_put(root);
		break;
	case OUTPUT_NAME:
		for (size_t i = 0; i < n; i++)
			print_name(f, k, json_object_array_get_idx(items, i));
		break;
	case OUTPUT_CUSTOM_COLUMNS:
		rc = output_custom_columns(f, items, view->arg, view->no_headers);
		break;
	default:
		tables_print(f, k, items, view, now);
		break;
	}
	return rc;
}
