/*
 * tools/csi/daemon.h — volfs-csi's only way to the storage: one request to
 * the volfs daemon over its control socket (docs/control-protocol.md), its
 * refusals turned into the gRPC status codes the CSI specification names.
 */
#ifndef VOLFS_TOOLS_CSI_DAEMON_H
#define VOLFS_TOOLS_CSI_DAEMON_H

#include <string>

#include <grpcpp/grpcpp.h>

#include "tools/csi/json.h"

namespace volfs_csi {

class Daemon {
public:
	explicit Daemon(std::string socket_path) : socket_(std::move(socket_path)) {}

	/* Sends request (consumed) and stores the answer's result. A refusal
	 * maps its reason: NotFound -> NOT_FOUND, AlreadyExists ->
	 * ALREADY_EXISTS, Invalid -> INVALID_ARGUMENT, Forbidden and Conflict
	 * -> FAILED_PRECONDITION, NoSpace -> RESOURCE_EXHAUSTED, the rest
	 * INTERNAL; no daemon or a broken exchange is UNAVAILABLE. */
	grpc::Status call(Json request, Json *result) const;

	/* `get` of one object: NOT_FOUND when it is not there. */
	grpc::Status get(const char *kind, const std::string &ns, const std::string &name, Json *object) const;

	/* `get` of every object of a kind in ns ("" for cluster-scoped kinds):
	 * the items array. */
	grpc::Status list(const char *kind, const std::string &ns, Json *items) const;

	/* `delete` of one object; one already gone is not an error. */
	grpc::Status remove(const char *kind, const std::string &ns, const std::string &name) const;

	/* The daemon's mount point, from `version`. */
	grpc::Status mount_point(std::string *path) const;

	const std::string &socket() const { return socket_; }

private:
	std::string socket_;
};

/* A request object {"verb": verb} to add members to. */
Json request(const char *verb);

} // namespace volfs_csi

#endif
