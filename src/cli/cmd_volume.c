/*
 * cmd_volume.c — the berth CLI's volume commands: volume create, ls,
 * inspect, rm, prune, with docker CLI 28's flags, columns and messages.
 *
 * Table rows carry docker's template field names (Driver, Name, Scope,
 * Mountpoint, Labels, Links, Size); `ls` sorts by name as docker does.
 * prune talks API 1.41: every unused local volume goes (no --all).
 */
#include <errno.h>

#include "cli/cli.h"

static const struct cli_column volume_cols[] = {
    {"Name", "VOLUME NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
    {"Mountpoint", "MOUNTPOINT"}, {"Labels", "LABELS"}, {"Links", "LINKS"}, {"Size", "SIZE"},
    {"Availability", "AVAILABILITY"}, {"Group", "GROUP"}, {"Status", "STATUS"}, {NULL, NULL}};

static const char *volume_header(const char *f) { return cli_column_title(volume_cols, f); }

static json_t *volume_row(const json_t *v, bool trunc) {
  (void)trunc;
  _cleanup_free_ char *labels = fmt_labels(json_object_get(v, "Labels"));
  const json_t *u = json_object_get(v, "UsageData");
  _cleanup_free_ char *size = u ? fmt_human_size((double)json_integer_value(json_object_get(u, "Size")), 3)
                                : xstrdup("N/A");
  _cleanup_free_ char *links = u ? xasprintf("%lld", (long long)json_integer_value(json_object_get(u, "RefCount")))
                                 : xstrdup("N/A");
  return json_pack("{s:O,s:O,s:O,s:O,s:s,s:s,s:s}", "Name", json_object_get(v, "Name"), "Driver",
                   json_object_get(v, "Driver"), "Scope", json_object_get(v, "Scope"),
                   "Mountpoint", json_object_get(v, "Mountpoint"), "Labels", labels, "Links",
                   links, "Size", size);
}

/* ---------- volume create ---------- */

int cmd_volume_create(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *driver = "local", *name = NULL;
  _cleanup_strv_ char **labels = NULL, **opts = NULL;
  const struct flag flags[] = {
      {"driver", 'd', FLAG_STR, &driver, "Specify volume driver name", NULL},
      {"label", 0, FLAG_STRV, &labels, "Set metadata for a volume", NULL},
      {"name", 0, FLAG_STR, &name, "Specify volume name", NULL},
      {"opt", 'o', FLAG_STRV, &opts, "Set driver specific options", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 1)))
    return rc;
  if (args[0] && name && strcmp(args[0], name)) {
    fprintf(stderr, "conflicting options: either specify --name or provide positional arg, not both\n");
    return 1;
  }
  if (args[0])
    name = args[0];
  json_t *lab = json_object(), *op = json_object();
  for (char **l = labels; l && *l; l++) {
    const char *eq = strchr(*l, '=');
    _cleanup_free_ char *k = eq ? strndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
    json_object_set_new(lab, k, json_string(eq ? eq + 1 : ""));
  }
  for (char **o = opts; o && *o; o++) {
    const char *eq = strchr(*o, '=');
    _cleanup_free_ char *k = eq ? strndup(*o, (size_t)(eq - *o)) : xstrdup(*o);
    json_object_set_new(op, k, json_string(eq ? eq + 1 : ""));
  }
  /* empty maps are not sent (docker CLI): the volume shows null then */
  _cleanup_json_ json_t *body = json_pack("{s:s,s:s}", "Name", name ? name : "", "Driver", driver);
  if (json_object_size(op))
    json_object_set(body, "DriverOpts", op);
  if (json_object_size(lab))
    json_object_set(body, "Labels", lab);
  json_decref(op);
  json_decref(lab);
  _cleanup_json_ json_t *out = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  if (cli_call(ctx->cli, "POST", "/volumes/create", body, &out, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  printf("%s\n", json_string_value(json_object_get(out, "Name")));
  return 0;
}

/* ---------- volume ls ---------- */

int cmd_volume_ls(struct cmd_ctx *ctx, int argc, char **argv) {
  bool quiet = false, cluster = false;
  const char *format = NULL;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"cluster", 0, FLAG_BOOL, &cluster, "Display only cluster volumes, and use cluster volume list formatting", NULL},
      {"filter", 'f', FLAG_STRV, &filters, "Provide filter values (e.g. \"dangling=true\")", NULL},
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Only display volume names", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  static const struct cli_list ls = {
      .path = "/volumes", .items_key = "Volumes", .sort_key = "Name", .row = volume_row,
      .deftable = "table {{.Driver}}\t{{.Name}}", .quiet_format = "{{.Name}}", .title = volume_header,
  };
  return cli_list_run(ctx, &ls, filters, format, quiet, true);
}

/* ---------- volume inspect ---------- */

static char *vpath(const char *name, const char *suffix) {
  struct sb p = {0};
  sb_add(&p, "/volumes/");
  sb_add_qs(&p, name);
  sb_add(&p, suffix);
  return sb_steal(&p);
}

int cmd_volume_inspect(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {
      {"format", 'f', FLAG_STR, &format, "Format output using a custom template", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  return cli_inspect_each(ctx, args, format, vpath);
}

/* ---------- volume rm ---------- */

int cmd_volume_rm(struct cmd_ctx *ctx, int argc, char **argv) {
  bool force = false;
  const struct flag flags[] = {
      {"force", 'f', FLAG_BOOL, &force, "Force the removal of one or more volumes", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  int status = 0;
  for (char **a = args; *a; a++) {
    _cleanup_free_ char *p = vpath(*a, force ? "?force=1" : "");
    _cleanup_berr_ struct berr *err = NULL;
    if (cli_call(ctx->cli, "DELETE", p, NULL, NULL, NULL, &err) < 0) {
      fprintf(stderr, "%s\n", err->msg);
      status = 1;
      continue;
    }
    printf("%s\n", *a);
  }
  return status;
}

/* ---------- volume prune ---------- */

int cmd_volume_prune(struct cmd_ctx *ctx, int argc, char **argv) {
  bool force = false, all = false;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"all", 'a', FLAG_BOOL, &all, "Remove all unused volumes, not just anonymous ones", NULL},
      {"filter", 0, FLAG_STRV, &filters, "Provide filter values (e.g. \"label=<label>\")", NULL},
      {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  return cli_prune(ctx,
                   "WARNING! This will remove all local volumes not used by at least one container.",
                   force, filters,
                   "/volumes/prune", "VolumesDeleted", "Deleted Volumes", true);
}
