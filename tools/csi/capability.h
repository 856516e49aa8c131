/*
 * tools/csi/capability.h — which CSI volume capabilities a volfs volume
 * has: a mounted filesystem (never a block device), on this one node,
 * bind-mounted with the per-mount flags a bind mount can take.
 */
#ifndef VOLFS_TOOLS_CSI_CAPABILITY_H
#define VOLFS_TOOLS_CSI_CAPABILITY_H

#include <string>

#include <grpcpp/grpcpp.h>

#include "csi.pb.h"

namespace volfs_csi {

using Capability = csi::v1::VolumeCapability;
using Capabilities = google::protobuf::RepeatedPtrField<Capability>;
using AccessMode = csi::v1::VolumeCapability_AccessMode;

/* OK, or INVALID_ARGUMENT saying what a volfs volume cannot do. */
grpc::Status check_capability(const Capability &cap);

/* The list is required: empty is INVALID_ARGUMENT, as is any member
 * check_capability refuses. */
grpc::Status check_capabilities(const Capabilities &caps);

/* The MS_* flags of the capability's mount_flags (INVALID_ARGUMENT for a
 * flag a bind mount cannot take). */
grpc::Status mount_flags(const Capability &cap, unsigned long *flags);

/* The access mode allows no writer. */
bool read_only_mode(const Capability &cap);

/* Names of the per-mount flags set in flags, as /proc/self/mountinfo
 * shows them ("ro,nosuid"). */
std::string flag_names(unsigned long flags);

/* The per-mount flags a publish compares and sets. */
unsigned long publish_flag_mask();

/* Those of them in a comma-separated options field of the mount table
 * ("rw,nosuid,nodev,relatime"). */
unsigned long option_flags(const std::string &options);

} // namespace volfs_csi

#endif
