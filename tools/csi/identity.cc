/*
 * tools/csi/identity.cc — the CSI Identity service: the plugin's name and
 * version, what it can do, and whether the volfs daemon answers.
 */
#include "tools/csi/plugin.h"

extern "C" const char volfs_version[];

namespace volfs_csi {

using namespace csi::v1;

csi::v1::Topology node_topology(const Config &c)
{
	Topology t;
	(*t.mutable_segments())[TOPOLOGY_KEY] = c.node_id;
	return t;
}

grpc::Status IdentityService::GetPluginInfo(grpc::ServerContext *, const GetPluginInfoRequest *,
                                            GetPluginInfoResponse *out)
{
	out->set_name(DRIVER_NAME);
	out->set_vendor_version(volfs_version);
	return grpc::Status::OK;
}

/* The controller service (volumes, snapshots, clones, expansion), volumes
 * reachable from this node only, and expansion while a volume is in use
 * (the capacity volfs enforces changes at once). */
grpc::Status IdentityService::GetPluginCapabilities(grpc::ServerContext *, const GetPluginCapabilitiesRequest *,
                                                    GetPluginCapabilitiesResponse *out)
{
	out->add_capabilities()->mutable_service()->set_type(PluginCapability::Service::CONTROLLER_SERVICE);
	out->add_capabilities()->mutable_service()->set_type(
		PluginCapability::Service::VOLUME_ACCESSIBILITY_CONSTRAINTS);
	out->add_capabilities()->mutable_volume_expansion()->set_type(PluginCapability::VolumeExpansion::ONLINE);
	return grpc::Status::OK;
}

/* Ready only while the daemon answers: a plugin whose daemon is away (not
 * started yet, restarting) is healthy but cannot serve. */
grpc::Status IdentityService::Probe(grpc::ServerContext *, const ProbeRequest *, ProbeResponse *out)
{
	std::string mount;
	out->mutable_ready()->set_value(daemon_.mount_point(&mount).ok());
	return grpc::Status::OK;
}

} // namespace volfs_csi
