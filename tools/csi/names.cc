/*
 * tools/csi/names.cc — CSI names to volfs object names (see names.h).
 */
#include "tools/csi/names.h"

#include <cstdio>

#include <openssl/sha.h>

extern "C" {
#include "meta/names.h"
}

namespace volfs_csi {

bool is_object_name(const std::string &s)
{
	char err[256];
	return s.size() <= OBJECT_NAME_MAX && name_check_subdomain(s.c_str(), err, sizeof err) == 0;
}

/* 12 hex digits of SHA-256: 48 bits, no collision among the names one
 * node will ever see. */
static std::string short_hash(const std::string &s)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(reinterpret_cast<const unsigned char *>(s.data()), s.size(), md);
	char hex[13];
	for (int i = 0; i < 6; i++)
		std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

std::string object_name(const std::string &csi_name)
{
	if (is_object_name(csi_name))
		return csi_name;
	/* lower-case letters and digits kept, everything else one '-' */
	std::string readable;
	for (unsigned char c : csi_name) {
		if (c >= 'A' && c <= 'Z')
			c = static_cast<unsigned char>(c - 'A' + 'a');
		bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (keep)
			readable += static_cast<char>(c);
		else if (!readable.empty() && readable.back() != '-')
			readable += '-';
	}
	std::string hash = short_hash(csi_name);
	size_t room = OBJECT_NAME_MAX - hash.size() - 1;
	if (readable.size() > room)
		readable.resize(room);
	while (!readable.empty() && readable.back() == '-')
		readable.pop_back();
	return readable.empty() ? "csi-" + hash : readable + "-" + hash;
}

} // namespace volfs_csi
