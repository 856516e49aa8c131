/*
 * tools/csi/names.h — the volfs object name for a CSI name. CSI names are
 * any Unicode string up to 128 characters; volfs names are Kubernetes
 * names (lower-case DNS subdomains). A CSI name that is already a valid
 * volfs name is used as it is, so that `volctl get pv` shows what
 * Kubernetes asked for (external-provisioner's pvc-<uid>); any other gets a
 * readable lower-case form of it and a hash of the exact name, so two CSI
 * names never share an object.
 */
#ifndef VOLFS_TOOLS_CSI_NAMES_H
#define VOLFS_TOOLS_CSI_NAMES_H

#include <string>

namespace volfs_csi {

/* The longest object name object_name makes: 63 characters fit every
 * kind volfs stores and every path component. */
constexpr size_t OBJECT_NAME_MAX = 63;

std::string object_name(const std::string &csi_name);

/* True if s names a volfs object as it is (a valid name, short enough). */
bool is_object_name(const std::string &s);

} // namespace volfs_csi

#endif
