/*
 * meta/quantity.h — Kubernetes resource quantities for storage sizes:
 * "500Mi", "10Gi", "1G", "1.5Gi", "1e9", "1073741824". Parsing rounds a
 * fractional byte count up, as Kubernetes does for storage. CPU quantities
 * ("500m", "0.5", "2") are read in millicores.
 */
#ifndef VOLFS_META_QUANTITY_H
#define VOLFS_META_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

/* Parse s into bytes. Returns 0, or -1 with a one-line reason in err
 * (e.g. "invalid quantity \"10Gx\": unknown suffix \"Gx\""). */
int quantity_parse(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* The same quantity in thousandths of its unit, rounded up as Kubernetes'
 * MilliValue does: CPU in millicores ("500m" 500, "0.5" 500, "2" 2000,
 * "0.1m" 1). */
int quantity_parse_milli(const char *s, uint64_t *millis, char *err, size_t errlen);

/* Canonical short form: the largest binary suffix that divides exactly
 * ("1Gi", "1536Mi"), else plain bytes ("1000000000"). */
void quantity_format(uint64_t bytes, char *buf, size_t len);

#endif
