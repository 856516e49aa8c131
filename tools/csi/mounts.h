/*
 * tools/csi/mounts.h — the mount table as /proc/self/mountinfo has it: where
 * a volfs volume is bind-mounted (its root there is /pv/<name> of the volfs
 * filesystem), and with which per-mount flags. The table is the only record
 * of publishes volfs-csi keeps, so a restarted plugin knows them all.
 */
#ifndef VOLFS_TOOLS_CSI_MOUNTS_H
#define VOLFS_TOOLS_CSI_MOUNTS_H

#include <string>
#include <vector>

namespace volfs_csi {

struct MountEntry {
	std::string dev;     /* "major:minor" */
	std::string root;    /* the mounted directory within its filesystem */
	std::string point;   /* where it is mounted */
	std::string options; /* per-mount options ("rw,nosuid,relatime") */
	std::string fstype;
};

class MountTable {
public:
	/* Reads /proc/self/mountinfo (empty when it cannot). */
	MountTable();

	/* The topmost mount at path (a resolved absolute path), or NULL. */
	const MountEntry *at(const std::string &path) const;

	/* The device of the volfs filesystem mounted at mount_point. */
	std::string device_of(const std::string &mount_point) const;

	/* Where volume is bind-mounted from the volfs filesystem on dev. */
	std::vector<std::string> publishes(const std::string &dev, const std::string &volume) const;

private:
	std::vector<MountEntry> entries_;
};

/* Is m a bind mount of volume from the volfs filesystem on dev? */
bool is_publish_of(const MountEntry &m, const std::string &dev, const std::string &volume);

} // namespace volfs_csi

#endif
