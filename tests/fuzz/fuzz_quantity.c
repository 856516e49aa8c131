/*
 * tests/fuzz/fuzz_quantity.c — Kubernetes quantities (meta/quantity.c):
 * parsing any text, in bytes and in thousandths, and the round trip of
 * what parses through the canonical short form.
 */
#include <stdio.h>

#include "meta/quantity.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), err[256], text[64];
	uint64_t bytes, again, millis;
	if (quantity_parse(s, &bytes, err, sizeof err) == 0) {
		FUZZ_ASSERT(bytes <= (uint64_t)INT64_MAX);
		quantity_format(bytes, text, sizeof text);
		FUZZ_ASSERT(quantity_parse(text, &again, err, sizeof err) == 0);
		FUZZ_ASSERT(again == bytes);
	} else {
		FUZZ_ASSERT(err[0] != 0);
	}
	if (quantity_parse_milli(s, &millis, err, sizeof err) < 0)
		FUZZ_ASSERT(err[0] != 0);
	free(s);
	return 0;
}
