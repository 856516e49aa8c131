/*
 * fs/control/server.h — the control socket STATE/control.sock: one JSON request
 * and one JSON answer per connection (docs/control-protocol.md), each
 * connection served by a thread of its own with a deadline; requests are
 * served into the volume layer one at a time.
 */
#ifndef VOLFS_FS_CONTROL_H
#define VOLFS_FS_CONTROL_H

#include <json-c/json.h>

#include "fs/vfs/vfs.h"

struct control;

/* Bind the socket (mode 0600) and start serving. on_shutdown is called
 * after the answer to a "shutdown" request has been sent. */
int control_start(struct control **out, struct vfs *v, const char *sock_path,
                  void (*on_shutdown)(void *arg), void *arg, char *err, size_t errlen);
void control_stop(struct control *c);
/* The mount point, which "version" reports (volctl exec needs it). */
void control_set_mount_point(struct control *c, const char *path);

/* The answer to one request line (without its newline), as the socket
 * sends it; *shutdown is set by a "shutdown" request. Drives the
 * dispatcher without a socket, too. */
json_object *control_answer(struct vfs *v, const char *mount_point, const char *request, int *shutdown);

/* A request served in-process (the Docker volume plugin), as if it came
 * over the socket: the answer ({"ok":..}, new reference). req may be NULL. */
json_object *control_call(struct control *c, json_object *req);
/* Hold off every other request between the two, so that a sequence of
 * control_calls is seen as one change. */
void control_hold(struct control *c);
void control_release(struct control *c);

/* Run the consistency check; report() gets one line per problem and
 * note() one per kind of pending cleanup (ownerless data files the next
 * start removes or moves to lost+found: not damage). Returns the number of
 * problems (used by `volfs --check` too). */
int control_check(struct vfs *v, void (*report)(void *arg, const char *msg),
                  void (*note)(void *arg, const char *msg), void *arg);

#endif
