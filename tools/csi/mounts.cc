/*
 * tools/csi/mounts.cc — reading /proc/self/mountinfo (see mounts.h).
 */
#include "tools/csi/mounts.h"

#include <fstream>
#include <sstream>


namespace volfs_csi {

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static std::string unescape(const std::string &s)
{
	std::string out;
	for (size_t i = 0; i < s.size(); i++) {
		bool octal = s[i] == '\\';
		for (size_t k = 1; octal && k <= 3; k++)
			octal = i + k < s.size() && s[i + k] >= '0' && s[i + k] <= '7';
		if (octal) {
			out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			out += s[i];
		}
	}
	return out;
}

MountTable::MountTable()
{
	std::ifstream in("/proc/self/mountinfo");
	std::string line;
	while (std::getline(in, line)) {
		std::istringstream f(line);
		std::string id, parent, word;
		MountEntry m;
		if (!(f >> id >> parent >> m.dev >> m.root >> m.point >> m.options))
			continue;
		while (f >> word && word != "-")
			; /* optional fields */
		f >> m.fstype;
		m.root = unescape(m.root);
		m.point = unescape(m.point);
		entries_.push_back(std::move(m));
	}
}

const MountEntry *MountTable::at(const std::string &path) const
{
	const MountEntry *top = nullptr;
	for (const MountEntry &m : entries_)
		if (m.point == path)
			top = &m;
	return top;
}

std::string MountTable::device_of(const std::string &mount_point) const
{
	const MountEntry *m = at(mount_point);
	return m && m->fstype.rfind("fuse", 0) == 0 ? m->dev : "";
}

std::vector<std::string> MountTable::publishes(const std::string &dev, const std::string &volume) const
{
	std::vector<std::string> out;
	for (const MountEntry &m : entries_)
		if (is_publish_of(m, dev, volume))
			out.push_back(m.point);
	return out;
}

bool is_publish_of(const MountEntry &m, const std::string &dev, const std::string &volume)
{
	return !dev.empty() && m.dev == dev && m.root == "/pv/" + volume;
}

} // namespace volfs_csi
