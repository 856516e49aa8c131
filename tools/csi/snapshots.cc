/*
 * tools/csi/snapshots.cc — the CSI Controller service for snapshots: a CSI
 * snapshot is a volfs VolumeSnapshot of the volume (in the namespace
 * Config::snapshot_namespace, "default" unless set), so `volctl get vs`
 * lists it and MOUNT/snapshots/NS/ID shows its files; its id is its name.
 */
#include "tools/csi/plugin.h"

#include "tools/csi/names.h"
#include "tools/csi/oplock.h"

namespace volfs_csi {

using namespace csi::v1;
using Code = grpc::StatusCode;

/* The volume a snapshot was taken of: named by volfs's own field for
 * snapshots of volumes, or the volume its claim is bound to. */
static grpc::Status source_volume(const Daemon &d, json_object *vs, std::string *volume)
{
	*volume = json_str(vs, "spec.source.persistentVolumeName");
	std::string claim = json_str(vs, "spec.source.persistentVolumeClaimName");
	if (!volume->empty() || claim.empty())
		return grpc::Status::OK;
	Json pvc;
	grpc::Status s = d.get("PersistentVolumeClaim", json_str(vs, "metadata.namespace"), claim, &pvc);
	if (s.ok())
		*volume = json_str(pvc.get(), "spec.volumeName");
	return s.error_code() == Code::NOT_FOUND ? grpc::Status::OK : s;
}

grpc::Status ControllerService::describe_snapshot(json_object *vs, Snapshot *out) const
{
	std::string volume;
	grpc::Status s = source_volume(daemon_, vs, &volume);
	if (!s.ok())
		return s;
	out->set_snapshot_id(json_str(vs, "metadata.name"));
	out->set_source_volume_id(volume);
	out->set_size_bytes(json_quantity(vs, "status.restoreSize"));
	int64_t t = json_time(vs, "status.creationTime");
	out->mutable_creation_time()->set_seconds(t ? t : json_time(vs, "metadata.creationTimestamp"));
	json_object *ready = json_at(vs, "status.readyToUse");
	out->set_ready_to_use(ready && json_object_get_boolean(ready));
	return grpc::Status::OK;
}

grpc::Status ControllerService::CreateSnapshot(grpc::ServerContext *, const CreateSnapshotRequest *req,
                                               CreateSnapshotResponse *out)
{
	if (req->name().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "name is required");
	const std::string &source = req->source_volume_id();
	if (source.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "source_volume_id is required");
	if (!req->parameters().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "unknown parameter \"" + req->parameters().begin()->first +
		                    "\": volfs snapshots take none");
	std::string name = object_name(req->name());
	OpLock lock("vs/" + name);
	if (!lock.held())
		return grpc::Status(Code::ABORTED, "an operation on snapshot \"" + name + "\" is in progress");
	Json vs;
	const std::string &ns = config_.snapshot_namespace;
	grpc::Status s = daemon_.get("VolumeSnapshot", ns, name, &vs);
	if (s.ok()) {
		s = describe_snapshot(vs.get(), out->mutable_snapshot());
		if (s.ok() && out->snapshot().source_volume_id() != source)
			return grpc::Status(Code::ALREADY_EXISTS, "snapshot \"" + name + "\" exists, of volume \"" +
			                    out->snapshot().source_volume_id() + "\"");
		return s;
	}
	if (s.error_code() != Code::NOT_FOUND)
		return s;
	Json pv;
	s = is_object_name(source) ? daemon_.get("PersistentVolume", "", source, &pv)
	    : grpc::Status(Code::NOT_FOUND, "");
	if (!s.ok())
		return s.error_code() == Code::NOT_FOUND
		       ? grpc::Status(Code::NOT_FOUND, "source volume \"" + source + "\" not found") : s;
	Json r = request("snapshot"), result;
	json_object_object_add(r.get(), "source", json_object_new_string(source.c_str()));
	json_object_object_add(r.get(), "sourceKind", json_object_new_string("PersistentVolume"));
	json_object_object_add(r.get(), "name", json_object_new_string(name.c_str()));
	json_object_object_add(r.get(), "namespace", json_object_new_string(ns.c_str()));
	s = daemon_.call(std::move(r), &result);
	if (s.ok())
		s = daemon_.get("VolumeSnapshot", ns, name, &vs);
	return s.ok() ? describe_snapshot(vs.get(), out->mutable_snapshot()) : s;
}

/* volfs snapshots are never in use: volumes restored from one share its
 * blocks but do not need it. */
grpc::Status ControllerService::DeleteSnapshot(grpc::ServerContext *, const DeleteSnapshotRequest *req,
                                               DeleteSnapshotResponse *)
{
	const std::string &id = req->snapshot_id();
	if (id.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "snapshot_id is required");
	if (!is_object_name(id))
		return grpc::Status::OK;
	OpLock lock("vs/" + id);
	if (!lock.held())
		return grpc::Status(Code::ABORTED, "an operation on snapshot \"" + id + "\" is in progress");
	return daemon_.remove("VolumeSnapshot", config_.snapshot_namespace, id);
}

grpc::Status ControllerService::ListSnapshots(grpc::ServerContext *, const ListSnapshotsRequest *req,
                                              ListSnapshotsResponse *out)
{
	Json items;
	grpc::Status s;
	if (!req->snapshot_id().empty()) {
		Json vs;
		s = is_object_name(req->snapshot_id())
		    ? daemon_.get("VolumeSnapshot", config_.snapshot_namespace, req->snapshot_id(), &vs)
		    : grpc::Status(Code::NOT_FOUND, "");
		if (s.error_code() == Code::NOT_FOUND)
			return grpc::Status::OK;
		items.reset(json_object_new_array());
		json_object_array_add(items.get(), vs.release());
	} else {
		s = daemon_.list("VolumeSnapshot", config_.snapshot_namespace, &items);
	}
	if (!s.ok())
		return s;
	std::vector<Snapshot> snaps;
	for (size_t i = 0; i < json_object_array_length(items.get()); i++) {
		Snapshot snap;
		s = describe_snapshot(json_object_array_get_idx(items.get(), i), &snap);
		if (!s.ok())
			return s;
		if (req->source_volume_id().empty() || snap.source_volume_id() == req->source_volume_id())
			snaps.push_back(std::move(snap));
	}
	size_t start, end;
	s = list_page(req->max_entries(), req->starting_token(), snaps.size(), &start, &end);
	if (!s.ok())
		return s;
	for (size_t i = start; i < end; i++)
		*out->add_entries()->mutable_snapshot() = snaps[i];
	if (end < snaps.size())
		out->set_next_token(std::to_string(end));
	return grpc::Status::OK;
}

} // namespace volfs_csi
