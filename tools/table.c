/*
 * tools/table.c — a column-aligned table in the style of Go's tabwriter,
 * as kubectl prints its tables (see table.h).
 */
#include "tools/table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tools/term.h"

struct table {
	size_t ncols;
	size_t ncells;
	size_t cap;
	char **cells;
};

struct table *table_new(size_t ncols)
{
	struct table *t = calloc(1, sizeof *t);

	if (!t)
		abort();
	t->ncols = ncols ? ncols : 1;
	return t;
}

void table_cell(struct table *t, const char *text)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = realloc(t->cells, t->cap * sizeof *t->cells);
		if (!t->cells)
			abort();
	}
	t->cells[t->ncells] = strdup(text ? text : "");
	if (!t->cells[t->ncells])
		abort();
	t->ncells++;
}

void table_cellf(struct table *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	table_cell(t, buf);
}

size_t table_rows(const struct table *t)
{
	return (t->ncells + t->ncols - 1) / t->ncols;
}

/* A cell, padded to width (0: the last column, unpadded); a STATUS
 * column's values in colour on a terminal. */
static void print_cell(FILE *f, const char *text, size_t width, int status)
{
	term_put(f, status ? term_status_colour(text) : TERM_PLAIN, text);
	for (size_t n = strlen(text); n < width; n++)
		fputc(' ', f);
}

void table_drop_header(struct table *t)
{
	size_t n = t->ncells < t->ncols ? t->ncells : t->ncols;

	for (size_t i = 0; i < n; i++)
		free(t->cells[i]);
	memmove(t->cells, t->cells + n, (t->ncells - n) * sizeof *t->cells);
	t->ncells -= n;
}

void table_print(const struct table *t, FILE *f, const char *indent, size_t minwidth, size_t padding)
{
	size_t *width = calloc(t->ncols, sizeof *width);
	size_t status_col = t->ncols; /* none */

	if (!width)
		abort();
	for (size_t i = 0; i < t->ncells; i++) {
		size_t w = strlen(t->cells[i]) + padding;

		if (w < minwidth)
			w = minwidth;
		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t col = i % t->ncols;
		int last = col == t->ncols - 1 || i == t->ncells - 1;

		if (i < t->ncols && !strcmp(t->cells[i], "STATUS"))
			status_col = col;
		if (col == 0)
			fputs(indent ? indent : "", f);
		print_cell(f, t->cells[i], last ? 0 : width[col], i >= t->ncols && col == status_col);
		if (last)
			fputc('\n', f);
	}
	free(width);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
