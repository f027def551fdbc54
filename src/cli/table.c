/*
 * table.c — what the list commands' tables share: docker's column titles
 * for the template fields (ps, images, volume ls, network ls, history), and
 * the whole `<kind> ls` of the commands whose list is one GET (volume ls,
 * network ls): the --filter query, the rows sorted by name as the docker CLI
 * sorts them, and -q / --format / the default table through cli_print_rows.
 *
 * Invariant: the output is the docker CLI 28's; a command only describes
 * its table (struct cli_list) and how one item becomes a row.
 */
#include <errno.h>

#include "cli/cli.h"

const char *cli_column_title(const struct cli_column *cols, const char *field) {
  for (const struct cli_column *c = cols; c->field; c++)
    if (!strcmp(c->field, field))
      return c->title;
  return NULL;
}

int cli_list_get(struct cli *cli, struct sb *path, char **filters, json_t **out, struct berr **err) {
  _cleanup_free_ char *fj = NULL;
  int r = cli_filters_json(filters, &fj, err);
  if (r < 0)
    return r;
  if (fj)
    sb_query(path, "filters", fj);
  return cli_call(cli, "GET", path->s, NULL, out, NULL, err);
}

struct sort_ctx {
  json_t *item;
  const char *key;
};

static int cmp_key(const void *a, const void *b) {
  const struct sort_ctx *x = a, *y = b;
  const char *s = json_string_value(json_object_get(x->item, x->key));
  const char *t = json_string_value(json_object_get(y->item, y->key));
  return strcmp(s ? s : "", t ? t : "");
}

/* The rows of `items` in the order of their `key` (NULL: as they are). */
static json_t *sorted_rows(const json_t *items, const char *key, json_t *(*row)(const json_t *, bool),
                           bool trunc) {
  size_t n = json_array_size(items);
  struct sort_ctx *v = xcalloc(n + 1, sizeof(*v));
  for (size_t i = 0; i < n; i++)
    v[i] = (struct sort_ctx){json_array_get(items, i), key};
  if (key)
    qsort(v, n, sizeof(*v), cmp_key);
  json_t *rows = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(rows, row(v[i].item, trunc));
  free(v);
  return rows;
}

int cli_list_run(struct cmd_ctx *ctx, const struct cli_list *l, char **filters, const char *format,
                 bool quiet, bool trunc) {
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_sb_ struct sb path = {0};
  sb_add(&path, l->path);
  _cleanup_json_ json_t *reply = NULL;
  if (cli_list_get(ctx->cli, &path, filters, &reply, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  const json_t *items = l->items_key ? json_object_get(reply, l->items_key) : reply;
  _cleanup_json_ json_t *rows = sorted_rows(items, l->sort_key, l->row, trunc);
  if (quiet && (!format || !*format))
    format = l->quiet_format;
  if (cli_print_rows(format, l->deftable, rows, l->title, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}
