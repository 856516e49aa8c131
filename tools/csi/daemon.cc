/*
 * tools/csi/daemon.cc — requests to the volfs daemon and the mapping of its
 * refusals to gRPC codes (see daemon.h). The exchange itself is volctl's
 * (tools/client.c): one connection per request, so calls from gRPC's
 * threads never share state.
 */
#include "tools/csi/daemon.h"

#include <cstring>

extern "C" {
#include "tools/client.h"
}

namespace volfs_csi {

Json request(const char *verb)
{
	Json r(json_object_new_object());
	json_object_object_add(r.get(), "verb", json_object_new_string(verb));
	return r;
}

static grpc::StatusCode code_of(const char *reason)
{
	static const struct {
		const char *reason;
		grpc::StatusCode code;
	} map[] = {
		{ "NotFound", grpc::StatusCode::NOT_FOUND },
		{ "AlreadyExists", grpc::StatusCode::ALREADY_EXISTS },
		{ "Invalid", grpc::StatusCode::INVALID_ARGUMENT },
		{ "Forbidden", grpc::StatusCode::FAILED_PRECONDITION },
		{ "Conflict", grpc::StatusCode::FAILED_PRECONDITION },
		{ "NoSpace", grpc::StatusCode::RESOURCE_EXHAUSTED },
	};
	for (const auto &m : map)
		if (!std::strcmp(reason, m.reason))
			return m.code;
	return grpc::StatusCode::INTERNAL;
}

grpc::Status Daemon::call(Json req, Json *result) const
{
	struct client_error err;
	json_object *out = nullptr;
	std::memset(&err, 0, sizeof err);
	enum client_status st = client_call(socket_.c_str(), req.get(), &out, &err);
	if (st == CLIENT_OK) {
		result->reset(out);
		return grpc::Status::OK;
	}
	if (st == CLIENT_REFUSED)
		return grpc::Status(code_of(err.reason), err.message);
	return grpc::Status(grpc::StatusCode::UNAVAILABLE, err.message);
}

/* {"verb": verb, "kind": kind, "namespace": ns?, "name": name?} */
static Json object_request(const char *verb, const char *kind, const std::string &ns, const std::string &name)
{
	Json req = request(verb);
	json_object_object_add(req.get(), "kind", json_object_new_string(kind));
	if (!name.empty())
		json_object_object_add(req.get(), "name", json_object_new_string(name.c_str()));
	if (!ns.empty())
		json_object_object_add(req.get(), "namespace", json_object_new_string(ns.c_str()));
	return req;
}

/* The "items" array of a get answer (an empty one if it has none). */
static json_object *items_of(json_object *result)
{
	json_object *list = json_at(result, "items");
	return list && json_object_is_type(list, json_type_array) ? json_object_get(list) : json_object_new_array();
}

grpc::Status Daemon::get(const char *kind, const std::string &ns, const std::string &name, Json *object) const
{
	Json result;
	grpc::Status s = name.empty() ? grpc::Status(grpc::StatusCode::NOT_FOUND, "no name")
	                 : call(object_request("get", kind, ns, name), &result);
	if (!s.ok())
		return s;
	Json list(items_of(result.get()));
	if (!json_object_array_length(list.get()))
		return grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(kind) + " \"" + name + "\" not found");
	object->reset(json_object_get(json_object_array_get_idx(list.get(), 0)));
	return grpc::Status::OK;
}

grpc::Status Daemon::list(const char *kind, const std::string &ns, Json *items) const
{
	Json result;
	grpc::Status s = call(object_request("get", kind, ns, ""), &result);
	if (s.ok())
		items->reset(items_of(result.get()));
	return s;
}

grpc::Status Daemon::remove(const char *kind, const std::string &ns, const std::string &name) const
{
	Json result;
	grpc::Status s = call(object_request("delete", kind, ns, name), &result);
	return s.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : s;
}

grpc::Status Daemon::mount_point(std::string *path) const
{
	Json result;
	grpc::Status s = call(request("version"), &result);
	if (!s.ok())
		return s;
	*path = json_str(result.get(), "mountPoint");
	if (path->empty())
		return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the volfs daemon did not say where it is mounted");
	return grpc::Status::OK;
}

} // namespace volfs_csi
