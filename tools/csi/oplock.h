/*
 * tools/csi/oplock.h — one operation at a time per volume or snapshot
 * name. The CSI specification lets a plugin refuse a second call for a
 * name while one is in flight (ABORTED, the caller retries); volfs-csi does,
 * so that two CreateVolume calls for one name can never both decide the
 * volume is missing, and a DeleteVolume never races the publish of the
 * same volume.
 */
#ifndef VOLFS_TOOLS_CSI_OPLOCK_H
#define VOLFS_TOOLS_CSI_OPLOCK_H

#include <string>

namespace volfs_csi {

class OpLock {
public:
	/* Takes key ("pv/NAME", "vs/NAME") if no other call holds it. */
	explicit OpLock(std::string key);
	~OpLock();
	OpLock(const OpLock &) = delete;
	OpLock &operator=(const OpLock &) = delete;

	bool held() const { return held_; }

private:
	std::string key_;
	bool held_;
};

} // namespace volfs_csi

#endif
