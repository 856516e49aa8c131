/*
 * meta/version.h — the version of this build (`git describe`), for
 * `volfs -V`, `volctl version`, the control socket and the metrics. It is
 * defined in the one object the Makefile regenerates whenever the version
 * changes (build/obj/version.o), not compiled into every object.
 */
#ifndef VOLFS_META_VERSION_H
#define VOLFS_META_VERSION_H

extern const char volfs_version[];
#define VOLFS_VERSION volfs_version

#endif
