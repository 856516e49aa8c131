/*
 * tools/csi/json.cc — lookups in the json-c objects of the control protocol
 * (see json.h).
 */
#include "tools/csi/json.h"

#include <cstring>
#include <ctime>

extern "C" {
#include "meta/quantity.h"
}

namespace volfs_csi {

json_object *json_at(json_object *o, const char *path)
{
	std::string p(path);
	size_t start = 0;
	while (o) {
		size_t dot = p.find('.', start);
		std::string key = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
		json_object *next = nullptr;
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key.c_str(), &next))
			return nullptr;
		o = next;
		if (dot == std::string::npos)
			break;
		start = dot + 1;
	}
	return o;
}

std::string json_str(json_object *o, const char *path)
{
	json_object *v = json_at(o, path);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

std::string json_annotation(json_object *o, const std::string &key)
{
	json_object *ann = json_at(o, "metadata.annotations"), *v = nullptr;
	if (!ann || !json_object_object_get_ex(ann, key.c_str(), &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

int64_t json_quantity(json_object *o, const char *path)
{
	std::string s = json_str(o, path);
	uint64_t bytes = 0;
	char err[128];
	if (s.empty() || quantity_parse(s.c_str(), &bytes, err, sizeof err) < 0 || bytes > INT64_MAX)
		return 0;
	return static_cast<int64_t>(bytes);
}

int64_t json_time(json_object *o, const char *path)
{
	std::string s = json_str(o, path);
	struct tm tm;
	std::memset(&tm, 0, sizeof tm);
	const char *end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return end && !*end ? static_cast<int64_t>(timegm(&tm)) : 0;
}

void json_set(json_object *o, const char *path, const std::string &value)
{
	std::string p(path);
	size_t start = 0, dot;
	while ((dot = p.find('.', start)) != std::string::npos) {
		std::string key = p.substr(start, dot - start);
		json_object *next = nullptr;
		if (!json_object_object_get_ex(o, key.c_str(), &next) || !json_object_is_type(next, json_type_object)) {
			next = json_object_new_object();
			json_object_object_add(o, key.c_str(), next);
		}
		o = next;
		start = dot + 1;
	}
	json_object_object_add(o, p.substr(start).c_str(), json_object_new_string(value.c_str()));
}

} // namespace volfs_csi
