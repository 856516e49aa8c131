/*
 * tests/fuzz/fuzz_selector.c — label selectors (meta/selector.c). The
 * input is JSON: [selector, labels] matches the selector against those
 * labels once it validates; any other value is validated as a selector
 * and matched against a fixed label set. The raw text is also judged as
 * a label key and value.
 */
#include <stdio.h>

#include <json-c/json.h>

#include "meta/selector.h"
#include "tests/fuzz/fuzz.h"

static json_object *fixed_labels(void)
{
	return json_tokener_parse("{\"app\":\"db\",\"tier\":\"fast\",\"example.com/zone\":\"a\"}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), err[512];
	selector_key_problem(s);
	selector_value_problem(s);
	json_object *in = json_tokener_parse(s), *selector = in, *labels = NULL;
	if (json_object_is_type(in, json_type_array) && json_object_array_length(in) == 2) {
		selector = json_object_array_get_idx(in, 0);
		labels = json_object_get(json_object_array_get_idx(in, 1));
	} else {
		labels = fixed_labels();
	}
	if (selector_validate(selector, "spec.selector", err, sizeof err) == 0) {
		int m = selector_matches(selector, labels);
		FUZZ_ASSERT(m == 0 || m == 1);
	} else {
		FUZZ_ASSERT(err[0] != 0);
	}
	json_object_put(labels);
	json_object_put(in);
	free(s);
	return 0;
}
