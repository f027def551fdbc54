/*
 * template.h — the Go text/template subset that Docker users write in
 * --format, and Go's text/tabwriter that Docker's tables go through.
 *
 * Data is JSON: a field `.A.B` looks up keys; a field applied to arguments
 * (`.Label "com.x"`) indexes the field's object with them, which is how the CLI
 * exposes Docker's methods such as ps's .Label.
 *
 * Supported: {{.}} fields and nested fields, $ and $var := / = , pipelines
 * with |, parenthesised expressions, string / number / bool / nil literals,
 * {{- and -}} trimming, if / else if / else / end, range (with $i, $v :=) /
 * else / end, with / else / end, and Docker's and Go's functions: json, join,
 * lower, upper, title, split, truncate, pad, println, print, printf (%s %d %v
 * %q %t %f with widths), index, len, slice, and, or, not, eq, ne, lt, le, gt,
 * ge, table (the directive, see tmpl_table_prefix).
 * Errors name the position: `template: :1:5: function "foo" not defined`, as
 * Go's do.
 */
#ifndef BERTH_CLI_TEMPLATE_H
#define BERTH_CLI_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

struct tmpl;

/* Parse `text`. Caller frees with tmpl_free. */
int tmpl_parse(const char *text, struct tmpl **out, struct berr **err);
void tmpl_free(struct tmpl *t);
/* Execute against `data`; *out gets the malloc'd result (caller frees).
 * Missing keys print "<no value>" as Go does for maps. */
int tmpl_exec(const struct tmpl *t, const json_t *data, char **out, struct berr **err);

/* Docker's "table" directive: when `format` starts with "table", returns
 * true and sets *rest to the template after it (trimmed of leading spaces). */
bool tmpl_table_prefix(const char *format, const char **rest);
/* Docker's table header: the template with every {{.Field}} replaced by
 * headers(Field) (e.g. "ID" → "CONTAINER ID"; NULL mapping: the field name
 * upper-cased as Docker does for unknown fields). Caller frees. */
char *tmpl_header_line(const char *text, const char *(*headers)(const char *field));
/* Docker's preFormat: drop a "table" prefix (*table tells whether there was
 * one), trim spaces at both ends and turn the two-character escapes \t and
 * \n into a tab and a newline. The result is what tmpl_parse wants; the
 * caller then adds "\n" after each row, as Docker does. Caller frees. */
char *tmpl_docker_format(const char *format, bool *table);

/* Go's text/tabwriter as Docker configures it (minwidth, tabwidth, padding,
 * padchar ' ', no flags): cells are separated by '\t', lines by '\n'; columns
 * are aligned across consecutive lines that have them. */
struct tabwriter;
struct tabwriter *tabwriter_new(int minwidth, int tabwidth, int padding);
void tabwriter_write(struct tabwriter *tw, const char *text);
/* Aligned text of everything written (caller frees); resets the writer. */
char *tabwriter_flush(struct tabwriter *tw);
void tabwriter_free(struct tabwriter *tw);

#endif
