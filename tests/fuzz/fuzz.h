/*
 * tests/fuzz/fuzz.h — what the libFuzzer targets share: the entry points
 * libFuzzer calls, and the input as a C string.
 */
#ifndef VOLFS_TESTS_FUZZ_H
#define VOLFS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input up to its first NUL, as a NUL-terminated copy to free (the
 * parsers take C strings, as every caller of theirs has one). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* A property the target checks: a violation is a crash libFuzzer reports. */
#define FUZZ_ASSERT(cond) do { if (!(cond)) { fprintf(stderr, "fuzz: %s\n", #cond); abort(); } } while (0)

#endif
