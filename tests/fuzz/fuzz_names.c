/*
 * tests/fuzz/fuzz_names.c — object and namespace names (meta/names.c):
 * whatever passes can never be a path or longer than its limit.
 */
#include <stdio.h>

#include "meta/names.h"
#include "tests/fuzz/fuzz.h"

static void check_passing_name(const char *s, size_t max)
{
	size_t len = strlen(s);
	FUZZ_ASSERT(len > 0 && len <= max);
	FUZZ_ASSERT(!strchr(s, '/'));
	FUZZ_ASSERT(strcmp(s, ".") && strcmp(s, ".."));
	for (const char *p = s; *p; p++)
		FUZZ_ASSERT((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), err[512];
	if (name_check_subdomain(s, err, sizeof err) == 0)
		check_passing_name(s, 253);
	else
		FUZZ_ASSERT(err[0] != 0);
	if (name_check_label(s, err, sizeof err) == 0) {
		check_passing_name(s, 63);
		FUZZ_ASSERT(!strchr(s, '.'));
	} else {
		FUZZ_ASSERT(err[0] != 0);
	}
	free(s);
	return 0;
}
