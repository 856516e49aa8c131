/*
 * tools/csi/capability.cc — volume capabilities volfs volumes have (see
 * capability.h).
 */
#include "tools/csi/capability.h"

#include <sstream>

#include <sys/mount.h>

namespace volfs_csi {

/* The flags a bind mount takes on its remount; "rw", "defaults" and "bind"
 * ask for nothing beyond the bind mount itself. */
static const struct {
	const char *name;
	unsigned long flag;
} FLAGS[] = {
	{ "ro", MS_RDONLY },       { "nosuid", MS_NOSUID },         { "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC },   { "noatime", MS_NOATIME },       { "nodiratime", MS_NODIRATIME },
	{ "relatime", MS_RELATIME }, { "strictatime", MS_STRICTATIME }, { "rw", 0 },
	{ "defaults", 0 },         { "bind", 0 },
};

unsigned long publish_flag_mask()
{
	return MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME;
}

std::string flag_names(unsigned long flags)
{
	std::string out;
	for (const auto &f : FLAGS)
		if (f.flag && (flags & f.flag) && (f.flag & publish_flag_mask()))
			out += (out.empty() ? "" : ",") + std::string(f.name);
	return out.empty() ? "rw" : out;
}

unsigned long option_flags(const std::string &options)
{
	unsigned long flags = 0;
	std::istringstream in(options);
	std::string opt;
	while (std::getline(in, opt, ','))
		for (const auto &f : FLAGS)
			if (opt == f.name)
				flags |= f.flag;
	return flags & publish_flag_mask();
}

grpc::Status mount_flags(const Capability &cap, unsigned long *flags)
{
	*flags = 0;
	for (const std::string &want : cap.mount().mount_flags()) {
		bool known = false;
		for (const auto &f : FLAGS)
			if (want == f.name) {
				*flags |= f.flag;
				known = true;
			}
		if (!known)
			return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
			                    "mount flag \"" + want + "\" cannot be set on a bind mount of a volfs volume "
			                    "(supported: ro, rw, nosuid, nodev, noexec, noatime, nodiratime, "
			                    "relatime, strictatime)");
	}
	return grpc::Status::OK;
}

bool read_only_mode(const Capability &cap)
{
	return cap.access_mode().mode() == AccessMode::SINGLE_NODE_READER_ONLY;
}

grpc::Status check_capability(const Capability &cap)
{
	auto invalid = [](const std::string &why) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why); };
	if (cap.has_block())
		return invalid("block access is not supported: volfs volumes are filesystems (use volumeMode: "
		               "Filesystem)");
	if (!cap.has_mount())
		return invalid("volume_capability.access_type is required (mount)");
	const std::string &fs = cap.mount().fs_type();
	if (!fs.empty() && fs != "volfs" && fs != "fuse.volfs")
		return invalid("fs_type \"" + fs + "\" is not supported: a volfs volume is a directory of the volfs "
		               "filesystem (leave fsType empty)");
	if (!cap.mount().volume_mount_group().empty())
		return invalid("volume_mount_group is not supported");
	unsigned long flags;
	grpc::Status s = mount_flags(cap, &flags);
	if (!s.ok())
		return s;
	switch (cap.access_mode().mode()) {
	case AccessMode::SINGLE_NODE_WRITER:
	case AccessMode::SINGLE_NODE_READER_ONLY:
	case AccessMode::SINGLE_NODE_SINGLE_WRITER:
	case AccessMode::SINGLE_NODE_MULTI_WRITER:
		return grpc::Status::OK;
	case AccessMode::UNKNOWN:
		return invalid("volume_capability.access_mode is required");
	default:
		return invalid("access mode " + AccessMode::Mode_Name(cap.access_mode().mode()) +
		               " is not supported: a volfs volume lives on one node");
	}
}

grpc::Status check_capabilities(const Capabilities &caps)
{
	if (caps.empty())
		return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "volume_capabilities are required");
	for (const Capability &c : caps) {
		grpc::Status s = check_capability(c);
		if (!s.ok())
			return s;
	}
	return grpc::Status::OK;
}

} // namespace volfs_csi
