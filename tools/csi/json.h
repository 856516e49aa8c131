/*
 * tools/csi/json.h — owning handles and lookups for the json-c objects the
 * control protocol speaks, for the C++ side of volfs-csi.
 */
#ifndef VOLFS_TOOLS_CSI_JSON_H
#define VOLFS_TOOLS_CSI_JSON_H

#include <cstdint>
#include <memory>
#include <string>

#include <json-c/json.h>

namespace volfs_csi {

struct JsonPut {
	void operator()(json_object *o) const { json_object_put(o); }
};
/* One reference to a json-c object, dropped when the handle goes. */
using Json = std::unique_ptr<json_object, JsonPut>;

/* The member at a dot-separated path of object members ("spec.capacity"),
 * or NULL; borrowed from o. */
json_object *json_at(json_object *o, const char *path);

/* The string at path, or "" when it is missing or not a string. */
std::string json_str(json_object *o, const char *path);

/* metadata.annotations[key] (keys hold dots, so not a path), or "". */
std::string json_annotation(json_object *o, const std::string &key);

/* A Kubernetes quantity at path in bytes; 0 when missing or malformed. */
int64_t json_quantity(json_object *o, const char *path);

/* An RFC 3339 UTC time ("2026-11-21T10:00:00Z") at path, in seconds since
 * the epoch; 0 when missing or malformed. */
int64_t json_time(json_object *o, const char *path);

/* Sets a string member, creating the objects on the path. */
void json_set(json_object *o, const char *path, const std::string &value);

} // namespace volfs_csi

#endif
