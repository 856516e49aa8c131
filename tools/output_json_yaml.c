/*
 * tools/output_json_yaml.c — -o json and -o yaml (see output_json_yaml.h):
 * JSON pretty-printed as kubectl does, YAML emitted with libyaml.
 */
#include "tools/output_json_yaml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* json-c pretty-prints an empty array as "[\n  ]"; kubectl users expect
 * "[]" (and "{}"). A raw newline never occurs inside a JSON string, so an
 * opener, a newline, spaces and the matching closer are always an empty
 * container. */
static void print_collapsing_empty(FILE *f, const char *s)
{
	while (*s) {
		if ((*s == '[' || *s == '{') && s[1] == '\n') {
			const char *p = s + 2;
			char closer = *s == '[' ? ']' : '}';

			while (*p == ' ')
				p++;
			if (*p == closer) {
				fputc(*s, f);
				fputc(closer, f);
				s = p + 1;
				continue;
			}
		}
		fputc(*s++, f);
	}
}

void output_json(FILE *f, struct json_object *obj)
{
	print_collapsing_empty(f, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_SPACED |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
	fputc('\n', f);
}

static int word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

/* Would a YAML 1.1 reader (go-yaml, PyYAML) take this plain scalar for
 * something other than a string? Then it must be quoted. Errs on the side
 * of quoting: anything starting like a number and made only of characters
 * that numbers, dates and times use ("1e3", "0x1f", "2026-11-21T10:00:00Z",
 * "1:30") is quoted, while "1Gi" or "data" stay plain. */
static int yaml_needs_quotes(const char *s)
{
	static const char *const special[] = {
		"~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
		".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF",
		".nan", ".NaN", ".NAN", "=", "<<", NULL,
	};

	if (!*s || word_in(s, special))
		return 1;
	if (!isdigit((unsigned char)s[0]) && !strchr("+-.", s[0]))
		return 0;
	return strspn(s, "0123456789abcdefABCDEFoOxX_.:+-eEtTzZ ") == strlen(s);
}

static int yaml_emit_scalar(yaml_emitter_t *em, const char *text, int is_string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (is_string && yaml_needs_quotes(text))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (is_string && strchr(text, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE; /* "|-" like kubectl; libyaml falls back if it must */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
					  1, 1, style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int yaml_emit_value(yaml_emitter_t *em, struct json_object *v);

static int yaml_emit_mapping(yaml_emitter_t *em, struct json_object *obj)
{
	yaml_event_t ev;

	if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return -1;
	json_object_object_foreach(obj, key, val) {
		if (yaml_emit_scalar(em, key, 1) < 0 || yaml_emit_value(em, val) < 0)
			return -1;
	}
	if (!yaml_mapping_end_event_initialize(&ev))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int yaml_emit_sequence(yaml_emitter_t *em, struct json_object *arr)
{
	yaml_event_t ev;
	size_t n = json_object_array_length(arr);

	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (yaml_emit_value(em, json_object_array_get_idx(arr, i)) < 0)
			return -1;
	if (!yaml_sequence_end_event_initialize(&ev))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

/* Empty containers as flow "{}" / "[]", as kubectl prints them; block
 * style has no way to write an empty collection. */
static int yaml_emit_empty(yaml_emitter_t *em, int mapping)
{
	yaml_event_t ev;
	int ok = mapping ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_MAPPING_STYLE)
			 : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE);

	if (!ok || !yaml_emitter_emit(em, &ev))
		return -1;
	ok = mapping ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
	return ok && yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int yaml_emit_value(yaml_emitter_t *em, struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		if (json_object_object_length(v) == 0)
			return yaml_emit_empty(em, 1);
		return yaml_emit_mapping(em, v);
	case json_type_array:
		if (json_object_array_length(v) == 0)
			return yaml_emit_empty(em, 0);
		return yaml_emit_sequence(em, v);
	case json_type_string:
		return yaml_emit_scalar(em, json_object_get_string(v), 1);
	case json_type_null:
		return yaml_emit_scalar(em, "null", 0);
	default: /* numbers and booleans: their JSON text is valid YAML */
		return yaml_emit_scalar(em, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), 0);
	}
}

static int yaml_emit_document(yaml_emitter_t *em, struct json_object *obj)
{
	yaml_event_t ev;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(em, &ev))
		return -1;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || !yaml_emitter_emit(em, &ev))
		return -1;
	if (yaml_emit_value(em, obj) < 0)
		return -1;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(em, &ev))
		return -1;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
		return -1;
	return yaml_emitter_flush(em) ? 0 : -1;
}

int output_yaml(FILE *f, struct json_object *obj)
{
	yaml_emitter_t em;
	int rc;

	if (!yaml_emitter_initialize(&em))
		return -1;
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1); /* never fold long strings */
	rc = yaml_emit_document(&em, obj);
	if (rc < 0)
		fprintf(stderr, "volctl: error: cannot write YAML: %s\n",
			em.problem ? em.problem : "emitter failure");
	yaml_emitter_delete(&em);
	return rc;
}
