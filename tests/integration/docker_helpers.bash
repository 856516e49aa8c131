# shellcheck shell=bash
# Helpers of the Docker volume plugin tests (docker_plugin.bats,
# docker_clients.bats), on top of helpers.bash.

# plugin_start: fresh temp dirs and a daemon serving the plugin protocol
# on SOCK, a socket in VOLFS_TMP.
plugin_start() {
    volfs_dirs
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    SOCK=$VOLFS_TMP/plugin.sock
    volfs_launch --docker-plugin="$SOCK"
}
