/*
 * tests/fuzz/fuzz_manifest.c — manifests as volctl reads them: the YAML
 * reader (tools/manifest.c) on any bytes, then the object model's
 * validation (meta/k8s.c and the kinds' validators) of every object it
 * makes, as the daemon would on apply.
 */
#include <stdio.h>

#include <json-c/json.h>

#include "meta/k8s.h"
#include "tests/fuzz/fuzz.h"
#include "tools/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	FILE *f = fmemopen((void *)data, size ? size : 1, "r");
	if (!f)
		return 0;
	if (!size)
		fgetc(f); /* fmemopen cannot open an empty buffer: read past its one byte */
	json_object *objects = json_object_new_array();
	if (manifest_read_stream(f, "fuzz.yaml", objects, err, sizeof err) == 0) {
		for (size_t i = 0; i < json_object_array_length(objects); i++) {
			json_object *o = json_object_array_get_idx(objects, i);
			if (k8s_validate(o, "default", err, sizeof err) < 0)
				FUZZ_ASSERT(err[0] != 0);
		}
	} else {
		FUZZ_ASSERT(err[0] != 0);
	}
	json_object_put(objects);
	fclose(f);
	return 0;
}
