/*
 * tools/labelsel.h — kubectl's selector strings: -l/--selector
 * ("app=web,tier!=db", "env in (a,b)", "env notin (c)", "key", "!key")
 * turned into a LabelSelector object that meta/selector.c matches, and
 * --field-selector ("involvedObject.name=data,type!=Normal"), matched
 * against an object's members. Pure.
 */
#ifndef VOLFS_TOOLS_LABELSEL_H
#define VOLFS_TOOLS_LABELSEL_H

#include <stddef.h>

#include <json-c/json.h>

/* The selector {matchLabels, matchExpressions} for text (a new object),
 * or NULL with one line in err ("unable to parse requirement: ..."). */
struct json_object *labelsel_parse(const char *text, char *err, size_t errlen);
/* Does obj's metadata.labels satisfy the selector? */
int labelsel_matches(struct json_object *selector, struct json_object *obj);

/* A parsed --field-selector: "path=value", "path==value", "path!=value",
 * comma-separated; the path is dotted from the object's root. */
struct fieldsel;
struct fieldsel *fieldsel_parse(const char *text, char *err, size_t errlen);
int fieldsel_matches(const struct fieldsel *fs, struct json_object *obj);
void fieldsel_free(struct fieldsel *fs);

#endif
