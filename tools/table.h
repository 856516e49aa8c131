/*
 * tools/table.h — a column-aligned table in the style of Go's tabwriter
 * as kubectl uses it: each column as wide as its widest cell plus padding
 * (at least minwidth), the last column unpadded. Cells are added left to
 * right. A leaf of tools/ (but for the terminal's colours).
 */
#ifndef VOLFS_TOOLS_TABLE_H
#define VOLFS_TOOLS_TABLE_H

#include <stddef.h>
#include <stdio.h>

/* kubectl get prints through tabwriter.NewWriter(out, 10, 4, 3, ' ', 0). */
#define TABLE_GET_MINWIDTH 10
#define TABLE_GET_PADDING 3

struct table;
struct table *table_new(size_t ncols);
void table_cell(struct table *t, const char *text);
void table_cellf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_print(const struct table *t, FILE *f, const char *indent, size_t minwidth, size_t padding);
size_t table_rows(const struct table *t);
/* Forget the first row (--no-headers). */
void table_drop_header(struct table *t);
void table_free(struct table *t);

#endif
