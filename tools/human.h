/*
 * tools/human.h — sizes and ages for people: binary-unit sizes and
 * kubectl's ages of RFC 3339 timestamps. A leaf of tools/.
 */
#ifndef VOLFS_TOOLS_HUMAN_H
#define VOLFS_TOOLS_HUMAN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Sizes for people: "0", "512", "1.5Gi", "20Mi" (binary units, one
 * decimal, ".0" dropped). */
void human_size(uint64_t bytes, char *buf, size_t len);
/* kubectl's age of an RFC 3339 timestamp at now: "5s", "3m20s", "2h",
 * "4d", "2y3d"; "<unknown>" when missing or unparsable. */
void human_age(const char *rfc3339, time_t now, char *buf, size_t len);
/* Parse RFC 3339 ("2026-11-21T10:00:00Z", fractions, offsets). 0 or -1. */
int human_parse_time(const char *s, time_t *out);

#endif
