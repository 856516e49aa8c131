/*
 * fs/fuse/sdnotify.h — readiness and stopping notices to systemd (Type=notify):
 * the sd_notify(3) datagram protocol on $NOTIFY_SOCKET.
 */
#ifndef VOLFS_FS_SDNOTIFY_H
#define VOLFS_FS_SDNOTIFY_H

/* Send "READY=1", "STOPPING=1", ... to $NOTIFY_SOCKET. 0 when sent or when
 * there is no such socket (not run by systemd); -1 on failure. */
int sdnotify(const char *state);

#endif
