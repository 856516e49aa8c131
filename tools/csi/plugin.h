/*
 * tools/csi/plugin.h — the three CSI services of volfs-csi and what they
 * share: the node they serve, the daemon they ask, the names they mark
 * volumes with. The services hold no storage logic and no state of their
 * own: volumes and snapshots are the daemon's objects, publishes are the
 * mount table's entries.
 */
#ifndef VOLFS_TOOLS_CSI_PLUGIN_H
#define VOLFS_TOOLS_CSI_PLUGIN_H

#include <cstdint>
#include <string>

#include "csi.grpc.pb.h"
#include "tools/csi/daemon.h"

namespace volfs_csi {

constexpr const char *DRIVER_NAME = "volfs.csi.k8s.io";
constexpr const char *TOPOLOGY_KEY = "topology.volfs.csi.k8s.io/node";
/* The annotations a volume made through CSI carries: Kubernetes' own
 * "which provisioner made it", the CSI name when the volume's name had to
 * differ from it, and the content source it was made from. */
constexpr const char *ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
constexpr const char *ANN_CSI_NAME = "volfs.csi.k8s.io/name";
constexpr const char *ANN_FROM_SNAPSHOT = "volfs.csi.k8s.io/from-snapshot";
constexpr const char *ANN_FROM_VOLUME = "volfs.csi.k8s.io/from-volume";
/* The storage class CSI volumes carry in volfs: volfs's own claims never
 * bind them unless they ask for it by name. */
constexpr const char *VOLUME_CLASS = "volfs-csi";

struct Config {
	std::string node_id;
	std::string socket;                        /* the daemon's control socket */
	std::string kubelet_dir = "/var/lib/kubelet"; /* publishes go below it */
	std::string snapshot_namespace = "default";   /* where CSI snapshots live */
	int64_t max_volumes = 0;                   /* per node; 0: no limit */
};

/* The entries [*start, *end) of a list of total for one ListVolumes or
 * ListSnapshots page. Tokens are positions in the daemon's list: an object
 * created or deleted between pages may be seen twice or missed, as the
 * specification allows; a token this plugin cannot have given is ABORTED. */
grpc::Status list_page(int32_t max_entries, const std::string &token, size_t total, size_t *start, size_t *end);

/* The topology segment of this node. */
csi::v1::Topology node_topology(const Config &c);

class IdentityService final : public csi::v1::Identity::Service {
public:
	explicit IdentityService(const Config &c) : daemon_(c.socket) {}
	grpc::Status GetPluginInfo(grpc::ServerContext *, const csi::v1::GetPluginInfoRequest *,
	                           csi::v1::GetPluginInfoResponse *) override;
	grpc::Status GetPluginCapabilities(grpc::ServerContext *, const csi::v1::GetPluginCapabilitiesRequest *,
	                                   csi::v1::GetPluginCapabilitiesResponse *) override;
	grpc::Status Probe(grpc::ServerContext *, const csi::v1::ProbeRequest *, csi::v1::ProbeResponse *) override;

private:
	Daemon daemon_;
};

class ControllerService final : public csi::v1::Controller::Service {
public:
	explicit ControllerService(const Config &c) : config_(c), daemon_(c.socket) {}
	grpc::Status CreateVolume(grpc::ServerContext *, const csi::v1::CreateVolumeRequest *,
	                          csi::v1::CreateVolumeResponse *) override;
	grpc::Status DeleteVolume(grpc::ServerContext *, const csi::v1::DeleteVolumeRequest *,
	                          csi::v1::DeleteVolumeResponse *) override;
	grpc::Status ValidateVolumeCapabilities(grpc::ServerContext *,
	                                        const csi::v1::ValidateVolumeCapabilitiesRequest *,
	                                        csi::v1::ValidateVolumeCapabilitiesResponse *) override;
	grpc::Status ListVolumes(grpc::ServerContext *, const csi::v1::ListVolumesRequest *,
	                         csi::v1::ListVolumesResponse *) override;
	grpc::Status GetCapacity(grpc::ServerContext *, const csi::v1::GetCapacityRequest *,
	                         csi::v1::GetCapacityResponse *) override;
	grpc::Status ControllerGetCapabilities(grpc::ServerContext *, const csi::v1::ControllerGetCapabilitiesRequest *,
	                                       csi::v1::ControllerGetCapabilitiesResponse *) override;
	grpc::Status CreateSnapshot(grpc::ServerContext *, const csi::v1::CreateSnapshotRequest *,
	                            csi::v1::CreateSnapshotResponse *) override;
	grpc::Status DeleteSnapshot(grpc::ServerContext *, const csi::v1::DeleteSnapshotRequest *,
	                            csi::v1::DeleteSnapshotResponse *) override;
	grpc::Status ListSnapshots(grpc::ServerContext *, const csi::v1::ListSnapshotsRequest *,
	                           csi::v1::ListSnapshotsResponse *) override;
	grpc::Status ControllerExpandVolume(grpc::ServerContext *, const csi::v1::ControllerExpandVolumeRequest *,
	                                    csi::v1::ControllerExpandVolumeResponse *) override;

private:
	grpc::Status make_volume(const csi::v1::CreateVolumeRequest &req, const std::string &name, int64_t capacity,
	                         Json *pv);
	grpc::Status capacity_for(const csi::v1::CreateVolumeRequest &req, int64_t *capacity);
	void describe_volume(json_object *pv, csi::v1::Volume *out) const;
	grpc::Status describe_snapshot(json_object *vs, csi::v1::Snapshot *out) const;
	grpc::Status host_free(int64_t *avail);
	grpc::Status host_room(int64_t bytes, const char *what, grpc::StatusCode code);

	const Config &config_;
	Daemon daemon_;
};

class NodeService final : public csi::v1::Node::Service {
public:
	explicit NodeService(const Config &c) : config_(c), daemon_(c.socket) {}
	grpc::Status NodePublishVolume(grpc::ServerContext *, const csi::v1::NodePublishVolumeRequest *,
	                               csi::v1::NodePublishVolumeResponse *) override;
	grpc::Status NodeUnpublishVolume(grpc::ServerContext *, const csi::v1::NodeUnpublishVolumeRequest *,
	                                 csi::v1::NodeUnpublishVolumeResponse *) override;
	grpc::Status NodeGetVolumeStats(grpc::ServerContext *, const csi::v1::NodeGetVolumeStatsRequest *,
	                                csi::v1::NodeGetVolumeStatsResponse *) override;
	grpc::Status NodeExpandVolume(grpc::ServerContext *, const csi::v1::NodeExpandVolumeRequest *,
	                              csi::v1::NodeExpandVolumeResponse *) override;
	grpc::Status NodeGetCapabilities(grpc::ServerContext *, const csi::v1::NodeGetCapabilitiesRequest *,
	                                 csi::v1::NodeGetCapabilitiesResponse *) override;
	grpc::Status NodeGetInfo(grpc::ServerContext *, const csi::v1::NodeGetInfoRequest *,
	                         csi::v1::NodeGetInfoResponse *) override;

private:
	grpc::Status target_in_kubelet_dir(const std::string &target, std::string *resolved) const;
	grpc::Status volfs_volume(const std::string &id, Json *pv, std::string *mount_point) const;

	const Config &config_;
	Daemon daemon_;
};

} // namespace volfs_csi

#endif
