/*
 * tools/csi/oplock.cc — the names with an operation in flight (see oplock.h).
 */
#include "tools/csi/oplock.h"

#include <mutex>
#include <set>

namespace volfs_csi {

static std::mutex busy_mutex;
static std::set<std::string> busy;

OpLock::OpLock(std::string key) : key_(std::move(key))
{
	std::lock_guard<std::mutex> g(busy_mutex);
	held_ = busy.insert(key_).second;
}

OpLock::~OpLock()
{
	if (!held_)
		return;
	std::lock_guard<std::mutex> g(busy_mutex);
	busy.erase(key_);
}

} // namespace volfs_csi
