/*
 * tools/cli_request.h — sending one request of a volctl verb to the
 * daemon: building it, the exchange with its failures printed, and the
 * answer of a verb that makes an object.
 */
#ifndef VOLFS_TOOLS_CLI_REQUEST_H
#define VOLFS_TOOLS_CLI_REQUEST_H

#include <json-c/json.h>

#include "meta/kinds.h"
#include "tools/cli_args.h"
#include "tools/output_format.h"

enum call_result { CALL_OK = 0, CALL_REFUSED = 1, CALL_FATAL = 2, CALL_NOT_FOUND = 3 };

/* {"verb":verb, "kind":k->kind?, "name":name?} */
struct json_object *cli_new_request(const char *verb, const struct k8s_kind *k, const char *name);
void cli_add_namespace(struct json_object *req, const struct targets *t);
void cli_add_string(struct json_object *req, const char *key, const char *value);
/* Send req (consumed) and print any failure. A refusal concerns this
 * request only; a dead or broken daemon ends the whole command. */
enum call_result cli_call(const struct invocation *inv, struct json_object *req, struct json_object **result);
/* The same, but a NotFound refusal is CALL_NOT_FOUND and prints nothing
 * when quiet_not_found (delete --ignore-not-found). */
enum call_result cli_call_ex(const struct invocation *inv, struct json_object *req, struct json_object **result,
			 int quiet_not_found);
/* The array member "name" of a result (a new reference), or an empty array. */
struct json_object *cli_result_array(struct json_object *result, const char *name);
/* The answer of a verb that makes one object: the object with -o, else
 * "kind/name how". Consumes obj; returns 0. */
int cli_print_made(const struct invocation *inv, const struct k8s_kind *k, struct json_object *obj,
	       enum output_format fmt, const char *name, const char *how);

#endif
