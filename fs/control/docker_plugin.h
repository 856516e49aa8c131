/*
 * fs/control/docker_plugin.h — `volfs --docker-plugin[=SOCKET]`: Docker's volume
 * plugin protocol (VolumeDriver) served on a unix socket, for Docker and
 * Podman (docs/docker.md). A thread of the daemon: requests become
 * control requests (fs/control/docker_volume.c); the daemon keeps the count of
 * mounts per volume.
 */
#ifndef VOLFS_FS_DOCKER_PLUGIN_H
#define VOLFS_FS_DOCKER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "fs/control/server.h"

#define DOCKER_PLUGIN_SOCKET "/run/docker/plugins/volfs.sock"
/* A request body larger than this is refused (Docker's are < 1 KiB). */
#define DOCKER_BODY_MAX (64 * 1024)

struct docker_plugin;

/* Bind the socket (mode 0600; its directory made if missing), before the
 * daemon forks so that a problem is reported on the terminal. A socket
 * another live process serves is refused; a stale one replaced. */
int docker_plugin_listen(struct docker_plugin **out, const char *sock_path, uint64_t default_size,
                         char *err, size_t errlen);
/* Start serving: volumes are made through ctl and found under mount_point. */
int docker_plugin_run(struct docker_plugin *p, struct control *ctl, const char *mount_point,
                      char *err, size_t errlen);
/* Stop serving, remove the socket (p may be NULL). */
void docker_plugin_stop(struct docker_plugin *p);

#endif
