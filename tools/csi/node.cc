/*
 * tools/csi/node.cc — the CSI Node service: a volume is published by
 * bind-mounting its root, MOUNT/pv/<id>, at the target path kubelet gives
 * (no staging: the volume is already a mounted filesystem); its stats are
 * statfs of that mount, which volfs answers with the volume's own
 * capacity, use and inodes.
 */
#include "tools/csi/plugin.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "tools/csi/capability.h"
#include "tools/csi/mounts.h"
#include "tools/csi/names.h"
#include "tools/csi/oplock.h"

namespace volfs_csi {

using namespace csi::v1;
using Code = grpc::StatusCode;

static std::string errno_text(int e)
{
	return std::strerror(e);
}

static bool is_under(const std::string &path, const std::string &dir)
{
	return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
	       (dir.back() == '/' || path[dir.size()] == '/');
}

/* An absolute path with its parent resolved (symlinks and all) but not
 * its last component, which may be a mount point whose filesystem is gone
 * (a dead FUSE mount answers every stat with ENOTCONN). NOT_FOUND when the
 * parent does not exist. */
static grpc::Status resolve_parent(const std::string &path, std::string *resolved)
{
	if (path.empty() || path[0] != '/')
		return grpc::Status(Code::NOT_FOUND, "\"" + path + "\" is not an absolute path");
	std::string t = path;
	while (t.size() > 1 && t.back() == '/')
		t.pop_back();
	size_t slash = t.rfind('/');
	std::string parent = slash ? t.substr(0, slash) : "/", base = t.substr(slash + 1);
	if (base.empty() || base == "." || base == "..")
		return grpc::Status(Code::INVALID_ARGUMENT, "\"" + path + "\" names no directory entry");
	char real[PATH_MAX];
	if (!realpath(parent.c_str(), real))
		return grpc::Status(Code::NOT_FOUND, "the parent of \"" + path + "\": " + errno_text(errno));
	*resolved = std::string(real) + (std::strcmp(real, "/") ? "/" : "") + base;
	return grpc::Status::OK;
}

/* The target, resolved: it must lie below the kubelet directory, so no
 * request can mount over or unmount anything else on the host. */
grpc::Status NodeService::target_in_kubelet_dir(const std::string &target, std::string *resolved) const
{
	if (target.empty() || target[0] != '/')
		return grpc::Status(Code::INVALID_ARGUMENT, "target_path \"" + target + "\" is not an absolute path");
	grpc::Status s = resolve_parent(target, resolved);
	if (!s.ok())
		return s;
	if (!is_under(*resolved, config_.kubelet_dir))
		return grpc::Status(Code::INVALID_ARGUMENT, "target_path \"" + target + "\" is outside the kubelet directory " +
		                    config_.kubelet_dir + " (see --kubelet-dir)");
	return grpc::Status::OK;
}

/* The volume (a volfs one: a hostPath volume is the host's) and where the
 * volfs filesystem is mounted. */
grpc::Status NodeService::volfs_volume(const std::string &id, Json *pv, std::string *mount_point) const
{
	grpc::Status s = is_object_name(id) ? daemon_.get("PersistentVolume", "", id, pv)
	                 : grpc::Status(Code::NOT_FOUND, "volume \"" + id + "\" not found");
	if (!s.ok())
		return s;
	if (json_at(pv->get(), "spec.hostPath"))
		return grpc::Status(Code::INVALID_ARGUMENT, "volume \"" + id +
		                    "\" is a hostPath volume: its data is on the host, not served by volfs-csi");
	return daemon_.mount_point(mount_point);
}

/* Bind-mounts source at target, then applies the per-mount flags (a bind
 * mount takes them only on a remount); undoes the bind if that fails. */
static grpc::Status bind_mount(const std::string &source, const std::string &target, unsigned long flags)
{
	if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) < 0)
		return grpc::Status(Code::INTERNAL, "cannot bind-mount " + source + " at " + target + ": " + errno_text(errno));
	if (flags && mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) < 0) {
		int e = errno;
		umount2(target.c_str(), MNT_DETACH);
		return grpc::Status(Code::INTERNAL, "cannot set " + flag_names(flags) + " on " + target + ": " + errno_text(e));
	}
	return grpc::Status::OK;
}

grpc::Status NodeService::NodePublishVolume(grpc::ServerContext *, const NodePublishVolumeRequest *req,
                                            NodePublishVolumeResponse *)
{
	const std::string &id = req->volume_id();
	if (id.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_id is required");
	if (req->target_path().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "target_path is required");
	if (!req->has_volume_capability())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_capability is required");
	const Capability &cap = req->volume_capability();
	unsigned long flags = 0;
	grpc::Status s = check_capability(cap);
	if (s.ok())
		s = mount_flags(cap, &flags);
	std::string target, mount_point;
	if (s.ok())
		s = target_in_kubelet_dir(req->target_path(), &target);
	if (!s.ok())
		return s;
	if (req->readonly() || read_only_mode(cap))
		flags |= MS_RDONLY;
	OpLock lock("pv/" + id);
	if (!lock.held())
		return grpc::Status(Code::ABORTED, "an operation on volume \"" + id + "\" is in progress");
	Json pv;
	s = volfs_volume(id, &pv, &mount_point);
	if (!s.ok())
		return s;
	MountTable table;
	std::string dev = table.device_of(mount_point);
	if (dev.empty())
		return grpc::Status(Code::UNAVAILABLE, "volfs is not mounted at " + mount_point);
	if (const MountEntry *m = table.at(target)) {
		/* The same publish: read-only alike, every flag asked for there
		 * (a bind mount also inherits volfs's own nosuid,nodev). */
		unsigned long have = option_flags(m->options), want = flags & publish_flag_mask();
		if (is_publish_of(*m, dev, id) && (have & MS_RDONLY) == (want & MS_RDONLY) && (have & want) == want)
			return grpc::Status::OK;
		return grpc::Status(Code::ALREADY_EXISTS, "target_path " + target + " already has " +
		                    (is_publish_of(*m, dev, id) ? "this volume mounted " + m->options
		                                                : "another filesystem mounted (" + m->root + ")"));
	}
	if (cap.access_mode().mode() == AccessMode::SINGLE_NODE_SINGLE_WRITER) {
		std::vector<std::string> at = table.publishes(dev, id);
		if (!at.empty())
			return grpc::Status(Code::FAILED_PRECONDITION, "volume \"" + id +
			                    "\" is SINGLE_NODE_SINGLE_WRITER and already published at " + at[0]);
	}
	bool made = false;
	if (mkdir(target.c_str(), 0750) == 0)
		made = true;
	else if (errno != EEXIST)
		return grpc::Status(Code::INTERNAL, "cannot create target_path " + target + ": " + errno_text(errno));
	struct stat st;
	if (!made && (stat(target.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)))
		return grpc::Status(Code::INVALID_ARGUMENT, "target_path " + target + " exists and is not a directory");
	s = bind_mount(mount_point + "/pv/" + id, target, flags);
	if (!s.ok() && made)
		rmdir(target.c_str());
	return s;
}

/* Unmounts the volume and removes the target directory, as the
 * specification asks; a target already gone is success. */
grpc::Status NodeService::NodeUnpublishVolume(grpc::ServerContext *, const NodeUnpublishVolumeRequest *req,
                                              NodeUnpublishVolumeResponse *)
{
	const std::string &id = req->volume_id();
	if (id.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_id is required");
	if (req->target_path().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "target_path is required");
	std::string target;
	grpc::Status s = target_in_kubelet_dir(req->target_path(), &target);
	if (s.error_code() == Code::NOT_FOUND)
		return grpc::Status::OK;
	if (!s.ok())
		return s;
	OpLock lock("pv/" + id);
	if (!lock.held())
		return grpc::Status(Code::ABORTED, "an operation on volume \"" + id + "\" is in progress");
	MountTable table;
	if (const MountEntry *m = table.at(target)) {
		if (m->root != "/pv/" + id)
			return grpc::Status(Code::FAILED_PRECONDITION, "target_path " + target + " holds " + m->root +
			                    ", not volume \"" + id + "\"");
		if (umount2(target.c_str(), 0) < 0)
			return grpc::Status(errno == EBUSY ? Code::FAILED_PRECONDITION : Code::INTERNAL,
			                    "cannot unmount " + target + ": " + errno_text(errno));
	}
	if (rmdir(target.c_str()) < 0 && errno != ENOENT)
		return grpc::Status(Code::INTERNAL, "cannot remove target_path " + target + ": " + errno_text(errno));
	return grpc::Status::OK;
}

/* Where the path is mounted from the volume: NOT_FOUND when it is not. */
static grpc::Status published_at(const MountTable &table, const std::string &dev, const std::string &id,
                                 const std::string &path)
{
	std::string real;
	const MountEntry *m = resolve_parent(path, &real).ok() ? table.at(real) : nullptr;
	if (m && is_publish_of(*m, dev, id))
		return grpc::Status::OK;
	return grpc::Status(Code::NOT_FOUND, "volume \"" + id + "\" is not published at " + path);
}

static void add_usage(NodeGetVolumeStatsResponse *out, VolumeUsage::Unit unit, uint64_t total, uint64_t free,
                      uint64_t avail)
{
	VolumeUsage *u = out->add_usage();
	u->set_unit(unit);
	u->set_total(static_cast<int64_t>(total));
	u->set_used(static_cast<int64_t>(total - std::min(free, total)));
	u->set_available(static_cast<int64_t>(avail));
}

/* Bytes and inodes of a published volume. A volume that is published but
 * gone from volfs (deleted under a pod, the daemon away) answers with
 * the abnormal condition instead of an error, as kubelet expects. */
grpc::Status NodeService::NodeGetVolumeStats(grpc::ServerContext *, const NodeGetVolumeStatsRequest *req,
                                             NodeGetVolumeStatsResponse *out)
{
	const std::string &id = req->volume_id(), &path = req->volume_path();
	if (id.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_id is required");
	if (path.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_path is required");
	Json pv;
	std::string mount_point;
	grpc::Status s = volfs_volume(id, &pv, &mount_point);
	MountTable table;
	if (!s.ok()) {
		/* The volume's mount, whichever volfs device it came from. */
		std::string real;
		const MountEntry *m = resolve_parent(path, &real).ok() ? table.at(real) : nullptr;
		bool published = m && m->root == "/pv/" + id && m->fstype.rfind("fuse", 0) == 0;
		if (!published || (s.error_code() != Code::NOT_FOUND && s.error_code() != Code::UNAVAILABLE))
			return s;
		out->mutable_volume_condition()->set_abnormal(true);
		out->mutable_volume_condition()->set_message(
			s.error_code() == Code::NOT_FOUND ? "volume \"" + id + "\" no longer exists in volfs"
			                                   : "the volfs daemon does not answer: " + s.error_message());
		return grpc::Status::OK;
	}
	s = published_at(table, table.device_of(mount_point), id, path);
	if (!s.ok())
		return s;
	struct statvfs sv;
	if (statvfs(path.c_str(), &sv) < 0) {
		out->mutable_volume_condition()->set_abnormal(true);
		out->mutable_volume_condition()->set_message("statfs of " + path + ": " + errno_text(errno));
		return grpc::Status::OK;
	}
	add_usage(out, VolumeUsage::BYTES, sv.f_blocks * sv.f_frsize, sv.f_bfree * sv.f_frsize, sv.f_bavail * sv.f_frsize);
	add_usage(out, VolumeUsage::INODES, sv.f_files, sv.f_ffree, sv.f_favail);
	out->mutable_volume_condition()->set_abnormal(false);
	out->mutable_volume_condition()->set_message("volume is healthy");
	return grpc::Status::OK;
}

/* ControllerExpandVolume already changed the capacity volfs enforces:
 * the node only reports it. */
grpc::Status NodeService::NodeExpandVolume(grpc::ServerContext *, const NodeExpandVolumeRequest *req,
                                           NodeExpandVolumeResponse *out)
{
	const std::string &id = req->volume_id();
	if (id.empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_id is required");
	if (req->volume_path().empty())
		return grpc::Status(Code::INVALID_ARGUMENT, "volume_path is required");
	if (req->has_volume_capability()) {
		grpc::Status s = check_capability(req->volume_capability());
		if (!s.ok())
			return s;
	}
	Json pv;
	std::string mount_point;
	grpc::Status s = volfs_volume(id, &pv, &mount_point);
	MountTable table;
	if (s.ok())
		s = published_at(table, table.device_of(mount_point), id, req->volume_path());
	if (!s.ok())
		return s;
	int64_t cap = json_quantity(pv.get(), "spec.capacity.storage");
	if (req->capacity_range().required_bytes() > cap)
		return grpc::Status(Code::OUT_OF_RANGE, "volume \"" + id + "\" has " + std::to_string(cap) +
		                    " bytes; ControllerExpandVolume grows it");
	out->set_capacity_bytes(cap);
	return grpc::Status::OK;
}

/* No staging: a volfs volume is a directory of a mounted filesystem,
 * there is no device to prepare once per node. */
grpc::Status NodeService::NodeGetCapabilities(grpc::ServerContext *, const NodeGetCapabilitiesRequest *,
                                              NodeGetCapabilitiesResponse *out)
{
	static const NodeServiceCapability::RPC::Type caps[] = {
		NodeServiceCapability::RPC::GET_VOLUME_STATS,
		NodeServiceCapability::RPC::EXPAND_VOLUME,
		NodeServiceCapability::RPC::VOLUME_CONDITION,
		NodeServiceCapability::RPC::SINGLE_NODE_MULTI_WRITER,
	};
	for (auto t : caps)
		out->add_capabilities()->mutable_rpc()->set_type(t);
	return grpc::Status::OK;
}

grpc::Status NodeService::NodeGetInfo(grpc::ServerContext *, const NodeGetInfoRequest *, NodeGetInfoResponse *out)
{
	out->set_node_id(config_.node_id);
	out->set_max_volumes_per_node(config_.max_volumes);
	*out->mutable_accessible_topology() = node_topology(config_);
	return grpc::Status::OK;
}

} // namespace volfs_csi
