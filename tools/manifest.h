/*
 * tools/manifest.h — reading Kubernetes manifests: a YAML stream of one or
 * more documents (JSON is YAML too), parsed with libyaml into json-c
 * objects the way kubectl reads them. Nothing here talks to the daemon:
 * volctl reads every file completely before it sends anything, so a
 * broken file changes nothing.
 */
#ifndef VOLFS_TOOLS_MANIFEST_H
#define VOLFS_TOOLS_MANIFEST_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

/* The name a file is shown and sent under: "STDIN" for "-", as kubectl. */
const char *manifest_source_name(const char *path);

/* Read the YAML stream in f (named name in messages) and append each
 * object to the array objects, in order. Empty documents are skipped;
 * a List (kind "List" or any "...List" with items) contributes its items.
 * Plain scalars are typed as kubectl's YAML 1.2 reading does: null, ~ and
 * empty are null; true and false are booleans; integers and floats are
 * numbers; everything else, and every quoted scalar, is a string. Anchors,
 * aliases and merge keys (<<) are supported.
 *
 * Returns 0, or -1 with one line in err, such as
 *   "f.yaml: line 3, column 7: mapping values are not allowed in this context"
 *   "f.yaml: document 2 is not a mapping (a sequence at line 5)"
 * in which case objects may hold part of the file: throw it away. */
int manifest_read_stream(FILE *f, const char *name, struct json_object *objects, char *err, size_t errlen);

/* The same for a path ("-" for stdin). */
int manifest_read_file(const char *path, struct json_object *objects, char *err, size_t errlen);

#endif
