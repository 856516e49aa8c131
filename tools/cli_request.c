/*
 * tools/cli_request.c — the one request/answer exchange of a volctl verb
 * with the daemon (see cli_request.h).
 */
#include "tools/cli_request.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "tools/client.h"
#include "tools/fields.h"
#include "tools/output.h"

struct json_object *cli_new_request(const char *verb, const struct k8s_kind *k, const char *name)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "verb", json_object_new_string(verb));
	if (k)
		json_object_object_add(req, "kind", json_object_new_string(k->kind));
	if (name)
		json_object_object_add(req, "name", json_object_new_string(name));
	return req;
}

void cli_add_string(struct json_object *req, const char *key, const char *value)
{
	json_object_object_add(req, key, json_object_new_string(value));
}

void cli_add_namespace(struct json_object *req, const struct targets *t)
{
	if (t->ns && t->all_ns)
		json_object_object_add(req, "allNamespaces", json_object_new_boolean(1));
	else if (t->ns)
		cli_add_string(req, "namespace", t->ns);
}

enum call_result cli_call_ex(const struct invocation *inv, struct json_object *req, struct json_object **result,
			 int quiet_not_found)
{
	struct client_error err;
	enum client_status st = client_call(inv->socket, req, result, &err);

	json_object_put(req);
	switch (st) {
	case CLIENT_OK:
		return CALL_OK;
	case CLIENT_UNREACHABLE:
		cli_fail("%s", err.message);
		return CALL_FATAL;
	case CLIENT_REFUSED:
		if (quiet_not_found && strcmp(err.reason, "NotFound") == 0)
			return CALL_NOT_FOUND;
		cli_fail("%s", err.message);
		return CALL_REFUSED;
	default:
		cli_fail("%s", err.message);
		return CALL_FATAL;
	}
}

enum call_result cli_call(const struct invocation *inv, struct json_object *req, struct json_object **result)
{
	return cli_call_ex(inv, req, result, 0);
}

struct json_object *cli_result_array(struct json_object *result, const char *name)
{
	struct json_object *arr = json_path(result, name);

	if (arr && json_object_is_type(arr, json_type_array))
		return json_object_get(arr);
	return json_object_new_array();
}

int cli_print_made(const struct invocation *inv, const struct k8s_kind *k, struct json_object *obj,
	       enum output_format fmt, const char *name, const char *how)
{
	assert(k); /* volctl makes only kinds of the table */
	if (cli_has_flag(inv, F_OUTPUT))
		output_object(stdout, k, obj, fmt);
	else
		printf("%s/%s %s\n", k->singular, name, how);
	json_object_put(obj);
	return 0;
}
