/*
 * tools/output_format.c — the -o values volctl accepts (see
 * output_format.h).
 */
#include "tools/output_format.h"

#include <string.h>

int output_format_parse(const char *s, enum output_format *fmt)
{
	static const struct {
		const char *name;
		enum output_format fmt;
	} names[] = {
		{ "wide", OUTPUT_WIDE },
		{ "json", OUTPUT_JSON },
		{ "yaml", OUTPUT_YAML },
		{ "name", OUTPUT_NAME },
	};

	if (!s) {
		*fmt = OUTPUT_TABLE;
		return 0;
	}
	if (strncmp(s, "jsonpath=", 9) == 0 && s[9]) {
		*fmt = OUTPUT_JSONPATH;
		return 0;
	}
	if (strncmp(s, "custom-columns=", 15) == 0 && s[15]) {
		*fmt = OUTPUT_CUSTOM_COLUMNS;
		return 0;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0) {
			*fmt = names[i].fmt;
			return 0;
		}
	}
	return -1;
}

const char *output_format_arg(const char *s)
{
	const char *eq = s ? strchr(s, '=') : NULL;

	return eq ? eq + 1 : "";
}
