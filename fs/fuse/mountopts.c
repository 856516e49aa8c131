/*
 * fs/fuse/mountopts.c — filtering the -o list mount(8), mount.fuse3 and fstab
 * hand volfs down to what libfuse accepts (see fs/fuse/mountopts.h).
 */
#include "fs/fuse/mountopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* util-linux's userspace-only options (mount(8) "FILESYSTEM-INDEPENDENT
 * MOUNT OPTIONS" that never reach the kernel), and "rw" and "relatime",
 * which a FUSE mount has anyway but libfuse 3.14 does not parse. */
static const char *const mount_only[] = {
	"defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group",
	"_netdev",  "nofail", "rw",   "relatime", "loud", "silent",
};

int mountopt_is_mount_only(const char *opt)
{
	for (size_t i = 0; i < sizeof mount_only / sizeof mount_only[0]; i++)
		if (!strcmp(opt, mount_only[i]))
			return 1;
	return !strncmp(opt, "x-", 2) || !strncmp(opt, "X-", 2) || !strncmp(opt, "comment=", 8);
}

int mountopts_append(char *buf, size_t len, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int r = copy ? 0 : -1;
	for (char *o = copy ? strtok_r(copy, ",", &save) : NULL; o && r == 0; o = strtok_r(NULL, ",", &save)) {
		if (mountopt_is_mount_only(o))
			continue;
		size_t used = strlen(buf);
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", o);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = 0;
			r = -1;
		}
	}
	free(copy);
	return r;
}
