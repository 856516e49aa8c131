/*
 * tools/csi/controller.cc — the CSI Controller service for volumes: a CSI
 * volume is a volfs PersistentVolume whose name is the CSI volume id
 * (names.h), marked as made through CSI (plugin.h); creating one from a
 * snapshot is volfs's restore, from a volume its clone; expansion is its
 * resize. Snapshots are in snapshots.cc.
 */
#include "tools/csi/plugin.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdlib>

#include "tools/csi/capability.h"
#include "tools/csi/mounts.h"
#include "tools/csi/names.h"
#include "tools/csi/oplock.h"

namespace volfs_csi {

using namespace csi::v1;
using Code = grpc::StatusCode;

/* A volume asked for with no capacity gets this much (capped by the
 * limit); the smallest volfs volume is one 4 KiB block. */
static constexpr int64_t DEFAULT_CAPACITY = 1LL << 30;
static constexpr int64_t MIN_CAPACITY = 4096;

/* Kubernetes' external-provisioner passes these with --extra-create-metadata:
 * the claim a volume is for, recorded on the volume for the operator. */
static const struct {
	const char *parameter, *annotation;
} CLAIM_PARAMETERS[] = {
	{ "csi.storage.k8s.io/pvc/name", "volfs.csi.k8s.io/pvc-name" },
	{ "csi.storage.k8s.io/pvc/namespace", "volfs.csi.k8s.io/pvc-namespace" },
	{ "csi.storage.k8s.io/pv/name", "volfs.csi.k8s.io/pv-name" },
};

static grpc::Status check_parameters(const google::protobuf::Map<std::string, std::string> &params)
{
	for (const auto &p : params) {
		bool known = false;
		for (const auto &c : CLAIM_PARAMETERS)
			known = known || p.first == c.parameter;
		if (!known)
			return grpc::Status(Code::INVALID_ARGUMENT, "unknown parameter \"" + p.first +
			                    "\": volfs volumes take none (see docs/csi.md)");
	}
	return grpc::Status::OK;
}

static bool made_by_csi(json_object *pv)
{
	return json_annotation(pv, ANN_PROVISIONED_BY) == DRIVER_NAME;
}

static std::string csi_name_of(json_object *pv)
{
	std::string n = json_annotation(pv, ANN_CSI_NAME);
	return n.empty() ? json_str(pv, "metadata.name") : n;
}

static bool is_host_path(json_object *pv)
{
	return json_at(pv, "spec.hostPath") != nullptr;
}

static void add_annotation(json_object *obj, const char *key, const std::string &value)
{
	json_object *meta = json_at(obj, "metadata"), *ann = json_at(obj, "metadata.annotations");
	if (!ann) {
		ann = json_object_new_object();
		json_object_object_add(meta, "annotations", ann);
	}
	json_object_object_add(ann, key, json_object_new_string(value.c_str()));
}

/* The PersistentVolume manifest of a CSI volume: marked as CSI's, of the
 * class volfs's own claims leave alone, recording its CSI name and
 * source. */
static Json volume_manifest(const CreateVolumeRequest &req, const std::string &name, int64_t capacity)
{
	Json pv(json_object_new_object());
	json_set(pv.get(), "apiVersion", "v1");
	json_set(pv.get(), "kind", "PersistentVolume");
	json_set(pv.get(), "metadata.name", name);
	add_annotation(pv.get(), ANN_PROVISIONED_BY, DRIVER_NAME);
	if (req.name() != name)
		add_annotation(pv.get(), ANN_CSI_NAME, req.name());
	if (req.volume_content_source().has_snapshot())
		add_annotation(pv.get(), ANN_FROM_SNAPSHOT, req.volume_content_source().snapshot().snapshot_id());
	if (req.volume_content_source().has_volume())
		add_annotation(pv.get(), ANN_FROM_VOLUME, req.volume_content_source().volume().volume_id());
	for (const auto &c : CLAIM_PARAMETERS) {
		auto it = req.parameters().find(c.parameter);
		if (it != req.parameters().end())
			add_annotation(pv.get(), c.annotation, it->second);
	}
	json_set(pv.get(), "spec.capacity.storage", std::to_string(capacity));
	json_object *modes = json_object_new_array();
	json_object_array_add(modes, json_object_new_string("ReadWriteOnce"));
	json_object_object_add(json_at(pv.get(), "spec"), "accessModes", modes);
	json_set(pv.get(), "spec.persistentVolumeReclaimPolicy", "Retain");
	json_set(pv.get(), "spec.storageClassName", VOLUME_CLASS);
	json_set(pv.get(), "spec.volumeMode", "Filesystem");
	json_set(pv.get(), "spec.csi.driver", DRIVER_NAME);
	json_set(pv.get(), "spec.csi.volumeHandle", name);
	return pv;
}

void ControllerService::describe_volume(json_object *pv, Volume *out) const
{
	out->set_volume_id(json_str(pv, "metadata.name"));
	out->set_capacity_bytes(json_quantity(pv, "spec.capacity.storage"));
	*out->add_accessible_topology() = node_topology(config_);
	std::string snap = json_annotation(pv, ANN_FROM_SNAPSHOT), vol = json_annotation(pv, ANN_FROM_VOLUME);
	if (!snap.empty())
		out->mutable_content_source()->mutable_snapshot()->set_snapshot_id(snap);
	else if (!vol.empty())
		out->mutable_content_source()->mutable_volume()->set_volume_id(vol);
}

/* The free space of the state directory's disk: statfs of the volfs root
 * answers with the host's figures. */
grpc::Status ControllerService::host_free(int64_t *avail)
{
	std::string mount;
	grpc::Status s = daemon_.mount_point(&mount);
	if (!s.ok())
		return s;
	struct statvfs sv;
	if (statvfs(mount.c_str(), &sv) < 0)
		return grpc::Status(Code::UNAVAILABLE, "cannot read the free space of " + mount);
	*avail = static_cast<int64_t>(sv.f_bavail) * static_cast<int64_t>(sv.f_frsize);
	return grpc::Status::OK;
}

/* OK when the state directory's disk has bytes free, else code. */
grpc::Status ControllerService::host_room(int64_t bytes, const char *what, grpc::StatusCode code)
{
	int64_t avail = 0;
	grpc::Status s = host_free(&avail);
	if (!s.ok())
		return s;
	if (bytes <= avail)
		return grpc::Status::OK;
	return grpc::Status(code, std::string(what) + " of " + std::to_string(bytes) + " bytes is more than the " +
	                    std::to_string(avail) + " bytes free on the disk of volfs's state directory");
}

/* Does the request's topology allow this node? No requirement, or a
 * requisite list naming it; preferred topologies only rank requisite
 * ones. */
static bool topology_allows(const TopologyRequirement &t, const Config &c)
{
	if (t.requisite().empty())
		return true;
	for (const Topology &top : t.requisite()) {
		auto it = top.segments().find(TOPOLOGY_KEY);
		if (it != top.segments().end() && it->second == c.node_id)
			return true;
	}
	return false;
}

/* The capacity a new volume gets: required_bytes exactly when given (and at
 * least what its source holds), within limit_bytes. */
grpc::Status ControllerService::capacity_for(const CreateVolumeRequest &req, int64_t *capacity)
{
	int64_t want = req.capacity_range().required_bytes(), limit = req.capacity_range().limit_bytes();
	if (want < 0 || limit < 0)
		return grpc::Status(Code::INVALID_ARGUMENT, "capacity_range: bytes must not be negative");
	if (limit && want > limit)
		return grpc::Status(Code::OUT_OF_RANGE, "capacity_range: required_bytes " + std::to_string(want) +
		                    " is above limit_bytes " + std::to_string(limit));
	int64_t floor = 0;
	const VolumeContentSource &src = req.volume_content_source();
	Json obj;
	if (src.has_snapshot()) {
		const std::string &id = src.snapshot().snapshot_id();
		grpc::Status s = is_object_name(id) ? daemon_.get("VolumeSnapshot", config_.snapshot_namespace, id, &obj)
		                 : grpc::Status(Code::NOT_FOUND, "");
		if (!s.ok())
			return s.error_code() == Code::NOT_FOUND
			       ? grpc::Status(Code::NOT_FOUND, "source snapshot \"" + id + "\" not found") : s;
		floor = json_quantity(obj.get(), "status.restoreSize");
	} else if (src.has_volume()) {
		const std::string &id = src.volume().volume_id();
		grpc::Status s = is_object_name(id) ? daemon_.get("PersistentVolume", "", id, &obj)
		                 : grpc::Status(Code::NOT_FOUND, "");
		if (!s.ok())
			return s.error_code() == Code::NOT_FOUND
			       ? grpc::Status(Code::NOT_FOUND, "source volume \"" + id + "\" not found") : s;
		if (is_host_path(obj.get()))
			return grpc::Status(Code::INVALID_ARGUMENT, "source volume \"" + id +
			                    "\" is a hostPath volume: its data is outside volfs and cannot be cloned");
		floor = json_quantity(obj.get(), "spec.capacity.storage");
	} else if (req.has_volume_content_source()) {
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_content_source names neither a snapshot nor a volume");
	}
	int64_t cap = want ? std::max(want, floor) : (floor ? floor : DEFAULT_CAPACITY);
	if (!want && !floor && limit && cap > limit)
		cap = limit;
	cap = std::max(cap, MIN_CAPACITY);
	if (limit && cap > limit)
		return grpc::Status(Code::OUT_OF_RANGE, "capacity_range: limit_bytes " + std::to_string(limit) +
		                    " is below " + std::to_string(cap) + (floor ? " bytes, the size of the source"
		                                                                : " bytes, the smallest volfs volume"));
	*capacity = cap;
	return grpc::Status::OK;
}

/* An existing volume answers a CreateVolume for its name only when it is
 * the one that name made, with a capacity in the range and the same
 * source. */
static grpc::Status compatible(json_object *pv, const CreateVolumeRequest &req)
{
	std::string name = json_str(pv, "metadata.name");
	if (!made_by_csi(pv) || csi_name_of(pv) != req.name())
		return grpc::Status(Code::ALREADY_EXISTS, "persistentvolume \"" + name +
		                    "\" exists and was not made through CSI for the name \"" + req.name() + "\"");
	int64_t cap = json_quantity(pv, "spec.capacity.storage");
	int64_t want = req.capacity_range().required_bytes(), limit = req.capacity_range().limit_bytes();
	if ((want && cap < want) || (limit && cap > limit))
		return grpc::Status(Code::ALREADY_EXISTS, "volume \"" + name + "\" exists with capacity " +
		                    std::to_string(cap) + " bytes, outside the range asked for");
	const VolumeContentSource &src = req.volume_content_source();
	std::string snap = src.has_snapshot() ? src.snapshot().snapshot_id() : "";
	std::string vol = src.has_volume() ? src.volume().volume_id() : "";
	if (json_annotation(pv, ANN_FROM_SNAPSHOT) != snap || json_annotation(pv, ANN_FROM_VOLUME) != vol)
		return grpc::Status(Code::ALREADY_EXISTS, "volume \"" + name + "\" exists with another content source");
	return grpc::Status::OK;
}

/* Creates the volume in one daemon request (empty, restored or cloned,
 * with its marks): a refusal leaves nothing. */
grpc::Status ControllerService::make_volume(const CreateVolumeRequest &req, const std::string &name,
                                            int64_t capacity, Json *pv)
{
	Json manifest = volume_manifest(req, name, capacity);
	const VolumeContentSource &src = req.volume_content_source();
	Json r, result;
	if (src.has_snapshot()) {
		r = request("restore");
		json_object_object_add(r.get(), "snapshot", json_object_new_string(src.snapshot().snapshot_id().c_str()));
		json_object_object_add(r.get(), "namespace", json_object_new_string(config_.snapshot_namespace.c_str()));
	} else if (src.has_volume()) {
		r = request("clone");
		json_object_object_add(r.get(), "source", json_object_new_string(src.volume().volume_id().c_str()));
	} else {
		r = request("create");
		json_object_object_add(r.get(), "object", manifest.release());
	}
	if (manifest) {
		json_object_object_add(r.get(), "kind", json_object_new_string("PersistentVolume"));
		json_object_object_add(r.get(), "name", json_object_new_string(name.c_str()));
		json_object_object_add(r.get(), "capacity", json_object_new_int64(capacity));
		json_object_object_add(r.get(), "object", manifest.release());
	}
	grpc::Status s = daemon_.call(std::move(r), &result);
	if (!s.ok())
		return s;
	return daemon_.get("PersistentVolume", "", name, pv);
}

grpc::Status ControllerService::CreateVolume(grpc::ServerContext *, const CreateVolumeRequest *req,
                                             CreateVolumeResponse *out)
{
	if (req->name().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "name is required");
	grpc::Status s = check_capabilities(req->volume_capabilities());
	if (s.ok())
		s = check_parameters(req->parameters());
	if (!s.ok())
		return s;
	if (!topology_allows(req->accessibility_requirements(), config_))
		return grpc::Status(Code::RESOURCE_EXHAUSTED, "this plugin provisions on node \"" + config_.node_id +
		                    "\" only, which no requisite topology names");
	std::string name = object_name(req->name());
	OpLock lock("pv/" + name);
	if (!lock.held())
		return grpc::Status(Code::ABORTED, "an operation on volume \"" + name + "\" is in progress");
	Json pv;
	s = daemon_.get("PersistentVolume", "", name, &pv);
	if (s.ok()) {
		s = compatible(pv.get(), *req);
		if (s.ok())
			describe_volume(pv.get(), out->mutable_volume());
		return s;
	}
	if (s.error_code() != Code::NOT_FOUND)
		return s;
	int64_t capacity = 0;
	s = capacity_for(*req, &capacity);
	if (s.ok())
		s = host_room(capacity, "a capacity", Code::RESOURCE_EXHAUSTED);
	if (s.ok())
		s = make_volume(*req, name, capacity, &pv);
	if (!s.ok())
		return s;
	describe_volume(pv.get(), out->mutable_volume());
	return grpc::Status::OK;
}

/* A volume in use (bind-mounted on this node) stays; one volfs's users
 * made themselves is not CSI's to delete. */
grpc::Status ControllerService::DeleteVolume(grpc::ServerContext *, const DeleteVolumeRequest *req,
                                             DeleteVolumeResponse *)
{
	const std::string &id = req->volume_id();
	if (id.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_id is required");
	if (!is_object_name(id))
		return grpc::Status::OK; /* never one of ours: already gone */
	OpLock lock("pv/" + id);
	if (!lock.held())
		return grpc::Status(Code::ABORTED, "an operation on volume \"" + id + "\" is in progress");
	Json pv;
	grpc::Status s = daemon_.get("PersistentVolume", "", id, &pv);
	if (s.error_code() == Code::NOT_FOUND)
		return grpc::Status::OK;
	if (!s.ok())
		return s;
	if (!made_by_csi(pv.get()))
		return grpc::Status(Code::FAILED_PRECONDITION, "persistentvolume \"" + id +
		                    "\" was not made through CSI; delete it with volctl if it is no longer needed");
	std::string mount;
	s = daemon_.mount_point(&mount);
	if (!s.ok())
		return s;
	MountTable table;
	std::vector<std::string> at = table.publishes(table.device_of(mount), id);
	if (!at.empty())
		return grpc::Status(Code::FAILED_PRECONDITION, "volume \"" + id + "\" is in use: published at " + at[0]);
	return daemon_.remove("PersistentVolume", "", id);
}

grpc::Status ControllerService::ValidateVolumeCapabilities(grpc::ServerContext *,
                                                           const ValidateVolumeCapabilitiesRequest *req,
                                                           ValidateVolumeCapabilitiesResponse *out)
{
	if (req->volume_id().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_id is required");
	if (req->volume_capabilities().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_capabilities are required");
	Json pv;
	grpc::Status s = is_object_name(req->volume_id())
	                 ? daemon_.get("PersistentVolume", "", req->volume_id(), &pv)
	                 : grpc::Status(Code::NOT_FOUND, "volume \"" + req->volume_id() + "\" not found");
	if (!s.ok())
		return s;
	s = check_capabilities(req->volume_capabilities());
	if (s.ok())
		s = check_parameters(req->parameters());
	if (s.ok() && is_host_path(pv.get()))
		s = grpc::Status(Code::INVALID_ARGUMENT, "a hostPath volume is not served by volfs-csi");
	if (!s.ok()) {
		out->set_message(s.error_message());
		return grpc::Status::OK;
	}
	auto *c = out->mutable_confirmed();
	*c->mutable_volume_capabilities() = req->volume_capabilities();
	*c->mutable_volume_context() = req->volume_context();
	*c->mutable_parameters() = req->parameters();
	return grpc::Status::OK;
}

grpc::Status list_page(int32_t max_entries, const std::string &token, size_t total, size_t *start, size_t *end)
{
	if (max_entries < 0)
		return grpc::Status(Code::INVALID_ARGUMENT, "max_entries must not be negative");
	*start = 0;
	if (!token.empty()) {
		char *e = nullptr;
		unsigned long long v = std::strtoull(token.c_str(), &e, 10);
		if (token[0] < '0' || token[0] > '9' || *e || v > total)
			return grpc::Status(Code::ABORTED, "starting_token \"" + token + "\" is not one this plugin gave");
		*start = static_cast<size_t>(v);
	}
	*end = max_entries ? std::min(total, *start + static_cast<size_t>(max_entries)) : total;
	return grpc::Status::OK;
}

grpc::Status ControllerService::ListVolumes(grpc::ServerContext *, const ListVolumesRequest *req,
                                            ListVolumesResponse *out)
{
	Json items;
	grpc::Status s = daemon_.list("PersistentVolume", "", &items);
	if (!s.ok())
		return s;
	std::vector<json_object *> vols;
	for (size_t i = 0; i < json_object_array_length(items.get()); i++) {
		json_object *pv = json_object_array_get_idx(items.get(), i);
		if (!is_host_path(pv))
			vols.push_back(pv);
	}
	size_t start, end;
	s = list_page(req->max_entries(), req->starting_token(), vols.size(), &start, &end);
	if (!s.ok())
		return s;
	for (size_t i = start; i < end; i++)
		describe_volume(vols[i], out->add_entries()->mutable_volume());
	if (end < vols.size())
		out->set_next_token(std::to_string(end));
	return grpc::Status::OK;
}

/* The free space of the state directory's disk: what new volumes can
 * fill. Another node's topology has none of it. */
grpc::Status ControllerService::GetCapacity(grpc::ServerContext *, const GetCapacityRequest *req,
                                            GetCapacityResponse *out)
{
	auto it = req->accessible_topology().segments().find(TOPOLOGY_KEY);
	if (req->has_accessible_topology() &&
	    (it == req->accessible_topology().segments().end() || it->second != config_.node_id)) {
		out->set_available_capacity(0);
		return grpc::Status::OK;
	}
	for (const Capability &c : req->volume_capabilities())
		if (!check_capability(c).ok()) {
			out->set_available_capacity(0);
			return grpc::Status::OK;
		}
	int64_t avail = 0;
	grpc::Status s = host_free(&avail);
	if (!s.ok())
		return s;
	out->set_available_capacity(avail);
	out->mutable_minimum_volume_size()->set_value(MIN_CAPACITY);
	return grpc::Status::OK;
}

grpc::Status ControllerService::ControllerGetCapabilities(grpc::ServerContext *,
                                                          const ControllerGetCapabilitiesRequest *,
                                                          ControllerGetCapabilitiesResponse *out)
{
	static const ControllerServiceCapability::RPC::Type caps[] = {
		ControllerServiceCapability::RPC::CREATE_DELETE_VOLUME,
		ControllerServiceCapability::RPC::LIST_VOLUMES,
		ControllerServiceCapability::RPC::GET_CAPACITY,
		ControllerServiceCapability::RPC::CREATE_DELETE_SNAPSHOT,
		ControllerServiceCapability::RPC::LIST_SNAPSHOTS,
		ControllerServiceCapability::RPC::CLONE_VOLUME,
		ControllerServiceCapability::RPC::EXPAND_VOLUME,
		ControllerServiceCapability::RPC::SINGLE_NODE_MULTI_WRITER,
	};
	for (auto t : caps)
		out->add_capabilities()->mutable_rpc()->set_type(t);
	return grpc::Status::OK;
}

/* volfs enforces the new capacity at once, mounted or not: nothing is left
 * for the node to do. Volumes never shrink. */
grpc::Status ControllerService::ControllerExpandVolume(grpc::ServerContext *,
                                                       const ControllerExpandVolumeRequest *req,
                                                       ControllerExpandVolumeResponse *out)
{
	const std::string &id = req->volume_id();
	if (id.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_id is required");
	if (!req->has_capacity_range())
		return grpc::Status(Code::INVALID_ARGUMENT, "capacity_range is required");
	if (req->has_volume_capability()) {
		grpc::Status s = check_capability(req->volume_capability());
		if (!s.ok())
			return s;
	}
	int64_t want = req->capacity_range().required_bytes(), limit = req->capacity_range().limit_bytes();
	if (want < 0 || limit < 0)
		return grpc::Status(Code::INVALID_ARGUMENT, "capacity_range: bytes must not be negative");
	if (limit && want > limit)
		return grpc::Status(Code::OUT_OF_RANGE, "capacity_range: required_bytes is above limit_bytes");
	OpLock lock("pv/" + id);
	if (!lock.held())
		return grpc::Status(Code::ABORTED, "an operation on volume \"" + id + "\" is in progress");
	Json pv;
	grpc::Status s = is_object_name(id) ? daemon_.get("PersistentVolume", "", id, &pv)
	                 : grpc::Status(Code::NOT_FOUND, "volume \"" + id + "\" not found");
	if (!s.ok())
		return s;
	if (is_host_path(pv.get()))
		return grpc::Status(Code::INVALID_ARGUMENT, "a hostPath volume is not served by volfs-csi");
	int64_t cap = json_quantity(pv.get(), "spec.capacity.storage");
	out->set_node_expansion_required(false);
	if (want <= cap) {
		out->set_capacity_bytes(cap);
		return grpc::Status::OK;
	}
	s = host_room(want - cap, "an expansion", Code::OUT_OF_RANGE);
	if (!s.ok())
		return s;
	Json r = request("resize"), result;
	json_object_object_add(r.get(), "kind", json_object_new_string("PersistentVolume"));
	json_object_object_add(r.get(), "name", json_object_new_string(id.c_str()));
	json_object_object_add(r.get(), "capacity", json_object_new_int64(want));
	s = daemon_.call(std::move(r), &result);
	if (!s.ok())
		return s;
	out->set_capacity_bytes(want);
	return grpc::Status::OK;
}

} // namespace volfs_csi
