/*
 * tools/watch.h — get -w and wait: a watch request on the control socket
 * (docs/control-protocol.md) that the daemon answers with the objects it
 * has, then with one line per change as changes happen.
 */
#ifndef VOLFS_TOOLS_WATCH_H
#define VOLFS_TOOLS_WATCH_H

#include "tools/verbs.h"

/* get -w: print the current objects, then each change, until the daemon
 * goes away or the user interrupts. */
int run_watch(struct invocation *inv, const struct target_list *l, const struct filters *f,
	      const struct get_view *view);

#endif
