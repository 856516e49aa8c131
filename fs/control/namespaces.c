/*
 * fs/control/namespaces.c — whether a namespace exists and is not
 * terminating, with the API server's message when it cannot take new
 * objects.
 */
#include "fs/control/namespaces.h"

#include <errno.h>
#include <stdio.h>

#include "meta/jsonobj.h"
#include "meta/objects.h"

int namespace_usable(struct db *db, const char *ns, char *err, size_t errlen)
{
	json_object *o = kobj_get(db, "Namespace", "", ns, NULL);
	int r = 0;
	if (!o) {
		snprintf(err, errlen, "namespaces \"%s\" not found", ns);
		r = -ENOENT;
	} else if (jpath_get(o, "metadata.deletionTimestamp")) {
		snprintf(err, errlen, "unable to create new content in namespace %s because it is being "
		         "terminated", ns);
		r = -EPERM;
	}
	json_object_put(o);
	return r;
}
