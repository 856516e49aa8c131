/*
 * meta/names.h — Kubernetes object-name rules. Object names (volumes,
 * claims, snapshots, ...) are DNS-1123 subdomains; namespaces are DNS-1123
 * labels. A name that passes can never be a path ("/", "..", ".").
 */
#ifndef VOLFS_META_NAMES_H
#define VOLFS_META_NAMES_H

#include <stddef.h>

/* Lowercase alphanumerics, '-' and '.', starting and ending alphanumeric,
 * at most 253 characters. Returns 0 or -1 with a one-line reason in err
 * naming the offending value. */
int name_check_subdomain(const char *name, char *err, size_t errlen);
/* Lowercase alphanumerics and '-', starting and ending alphanumeric, at
 * most 63 characters. */
int name_check_label(const char *name, char *err, size_t errlen);

#endif
