/*
 * tools/output_format.h — the -o values volctl accepts, and how a get
 * prints its objects (the view). A leaf of tools/.
 */
#ifndef VOLFS_TOOLS_OUTPUT_FORMAT_H
#define VOLFS_TOOLS_OUTPUT_FORMAT_H

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_WIDE,
	OUTPUT_JSON,
	OUTPUT_YAML,
	OUTPUT_NAME,
	OUTPUT_JSONPATH,       /* jsonpath=TEMPLATE */
	OUTPUT_CUSTOM_COLUMNS, /* custom-columns=HEADER:PATH,... */
};

/* "wide", "json", "yaml", "name", "jsonpath=T", "custom-columns=C"; NULL
 * means the default table. Returns 0 or -1 for a format volctl cannot
 * print. */
int output_format_parse(const char *s, enum output_format *fmt);
/* The text after "=" of jsonpath= and custom-columns=. */
const char *output_format_arg(const char *s);

/* How a get prints its objects. */
struct get_view {
	enum output_format fmt;
	const char *arg;   /* the template of jsonpath= and custom-columns= */
	int all_namespaces; /* NAMESPACE column */
	int show_labels;    /* LABELS column */
	int no_headers;
	int kind_prefix;    /* names as kind/name: several kinds in one listing */
};

#endif
