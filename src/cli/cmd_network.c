/*
 * cmd_network.c — the berth CLI's network commands: network create, ls,
 * inspect, rm, prune, connect, disconnect, with docker CLI 28's flags,
 * columns and messages (API 1.41 bodies).
 *
 * Table rows carry docker's template field names (ID, Name, Driver, Scope,
 * IPv6, Internal, Labels, CreatedAt); `ls` sorts by name as docker does.
 */
#include <errno.h>

#include "cli/cli.h"

static const struct cli_column network_cols[] = {
    {"ID", "NETWORK ID"}, {"Name", "NAME"},         {"Driver", "DRIVER"},
    {"Scope", "SCOPE"},   {"IPv6", "IPV6"},         {"Internal", "INTERNAL"},
    {"Labels", "LABELS"}, {"CreatedAt", "CREATED"}, {NULL, NULL}};

static const char *network_header(const char *f) { return cli_column_title(network_cols, f); }

/* "k=v" list → {"k":"v"} */
static json_t *kv_object(char **list) {
  json_t *o = json_object();
  for (char **l = list; l && *l; l++) {
    const char *eq = strchr(*l, '=');
    _cleanup_free_ char *k = eq ? strndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
    json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
  }
  return o;
}

static char *npath(const char *name, const char *suffix) {
  struct sb p = {0};
  sb_add(&p, "/networks/");
  sb_add_qs(&p, name);
  sb_add(&p, suffix);
  return sb_steal(&p);
}

/* ---------- network create ---------- */

struct create_opts {
  const char *driver, *ipam_driver, *scope, *config_from;
  bool attachable, internal, ipv6, ingress, config_only;
  char **subnet, **gateway, **ip_range, **labels, **opts, **ipam_opts, **aux;
};

static void create_opts_free(struct create_opts *o) {
  strv_free(o->subnet);
  strv_free(o->gateway);
  strv_free(o->ip_range);
  strv_free(o->labels);
  strv_free(o->opts);
  strv_free(o->ipam_opts);
  strv_free(o->aux);
}

/* IPAM.Config: one entry per --subnet, with its --gateway / --ip-range
 * (docker pairs them in order); a gateway without a subnet is an error. */
static int ipam_config(const struct create_opts *o, json_t **out) {
  size_t ns = strv_len(o->subnet), ng = strv_len(o->gateway), nr = strv_len(o->ip_range);
  if (ng > ns || nr > ns) {
    fprintf(stderr, "%s\n", ng > ns ? "every ip-range or gateway must have a corresponding subnet"
                                    : "every ip-range or gateway must have a corresponding subnet");
    return -EINVAL;
  }
  json_t *cfg = json_array();
  for (size_t i = 0; i < ns; i++) {
    json_t *c = json_pack("{s:s}", "Subnet", o->subnet[i]);
    if (i < nr)
      json_object_set_new(c, "IPRange", json_string(o->ip_range[i]));
    if (i < ng)
      json_object_set_new(c, "Gateway", json_string(o->gateway[i]));
    json_array_append_new(cfg, c);
  }
  *out = cfg;
  return 0;
}

int cmd_network_create(struct cmd_ctx *ctx, int argc, char **argv) {
  struct create_opts o = {.driver = "bridge", .ipam_driver = "default"};
  const struct flag flags[] = {
      {"attachable", 0, FLAG_BOOL, &o.attachable, "Enable manual container attachment", NULL},
      {"aux-address", 0, FLAG_STRV, &o.aux, "Auxiliary IPv4 or IPv6 addresses used by Network driver", NULL},
      {"config-from", 0, FLAG_STR, &o.config_from, "The network from which to copy the configuration", NULL},
      {"config-only", 0, FLAG_BOOL, &o.config_only, "Create a configuration only network", NULL},
      {"driver", 'd', FLAG_STR, &o.driver, "Driver to manage the Network", NULL},
      {"gateway", 0, FLAG_STRV, &o.gateway, "IPv4 or IPv6 Gateway for the master subnet", NULL},
      {"ingress", 0, FLAG_BOOL, &o.ingress, "Create swarm routing-mesh network", NULL},
      {"internal", 0, FLAG_BOOL, &o.internal, "Restrict external access to the network", NULL},
      {"ip-range", 0, FLAG_STRV, &o.ip_range, "Allocate container ip from a sub-range", NULL},
      {"ipam-driver", 0, FLAG_STR, &o.ipam_driver, "IP Address Management Driver", NULL},
      {"ipam-opt", 0, FLAG_STRV, &o.ipam_opts, "Set IPAM driver specific options", NULL},
      {"ipv6", 0, FLAG_BOOL, &o.ipv6, "Enable or disable IPv6 networking", NULL},
      {"label", 0, FLAG_STRV, &o.labels, "Set metadata on a network", NULL},
      {"opt", 'o', FLAG_STRV, &o.opts, "Set driver specific options", NULL},
      {"scope", 0, FLAG_STR, &o.scope, "Control the network's scope", NULL},
      {"subnet", 0, FLAG_STRV, &o.subnet, "Subnet in CIDR format that represents a network segment", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc == 0)
    rc = cmd_need_args(ctx, args, 1, 1);
  json_t *cfg = NULL;
  if (rc == 0 && ipam_config(&o, &cfg) < 0)
    rc = 125;
  if (rc) {
    create_opts_free(&o);
    return rc;
  }
  _cleanup_json_ json_t *body = json_pack(
      "{s:s,s:b,s:s,s:b,s:b,s:b,s:{s:s,s:o,s:o},s:b,s:o,s:o}", "Name", args[0], "CheckDuplicate", 1,
      "Driver", o.driver, "Internal", o.internal, "Attachable", o.attachable, "Ingress", o.ingress,
      "IPAM", "Driver", o.ipam_driver, "Config", cfg, "Options", kv_object(o.ipam_opts),
      "EnableIPv6", o.ipv6, "Options", kv_object(o.opts), "Labels", kv_object(o.labels));
  if (o.scope)
    json_object_set_new(body, "Scope", json_string(o.scope));
  create_opts_free(&o);
  _cleanup_json_ json_t *out = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  if (cli_call(ctx->cli, "POST", "/networks/create", body, &out, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  printf("%s\n", json_string_value(json_object_get(out, "Id")));
  return 0;
}

/* ---------- network ls ---------- */

static json_t *network_row(const json_t *n, bool trunc) {
  _cleanup_free_ char *labels = fmt_labels(json_object_get(n, "Labels"));
  const char *id = json_string_value(json_object_get(n, "Id"));
  return json_pack("{s:s%,s:O,s:O,s:O,s:s,s:s,s:s,s:O}", "ID", id ? id : "",
                   (size_t)(id && trunc && strlen(id) > 12 ? 12 : id ? strlen(id) : 0), "Name",
                   json_object_get(n, "Name"), "Driver", json_object_get(n, "Driver"), "Scope",
                   json_object_get(n, "Scope"), "IPv6",
                   json_is_true(json_object_get(n, "EnableIPv6")) ? "true" : "false", "Internal",
                   json_is_true(json_object_get(n, "Internal")) ? "true" : "false", "Labels",
                   labels, "CreatedAt", json_object_get(n, "Created"));
}

int cmd_network_ls(struct cmd_ctx *ctx, int argc, char **argv) {
  bool quiet = false, notrunc = false;
  const char *format = NULL;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"filter", 'f', FLAG_STRV, &filters, "Provide filter values (e.g. \"driver=bridge\")", NULL},
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"no-trunc", 0, FLAG_BOOL, &notrunc, "Do not truncate the output", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Only display network IDs", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  static const struct cli_list ls = {
      .path = "/networks", .sort_key = "Name", .row = network_row,
      .deftable = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", .quiet_format = "{{.ID}}",
      .title = network_header,
  };
  return cli_list_run(ctx, &ls, filters, format, quiet, !notrunc);
}

/* ---------- network inspect ---------- */

int cmd_network_inspect(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *format = NULL;
  bool verbose = false;
  const struct flag flags[] = {
      {"format", 'f', FLAG_STR, &format, "Format output using a custom template", NULL},
      {"verbose", 'v', FLAG_BOOL, &verbose, "Verbose output for diagnostics", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  return cli_inspect_each(ctx, args, format, npath);
}

/* ---------- network rm ---------- */

int cmd_network_rm(struct cmd_ctx *ctx, int argc, char **argv) {
  bool force = false;
  const struct flag flags[] = {
      {"force", 'f', FLAG_BOOL, &force, "Do not error if the network does not exist", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  int status = 0;
  for (char **a = args; *a; a++) {
    _cleanup_free_ char *p = npath(*a, "");
    _cleanup_berr_ struct berr *err = NULL;
    if (cli_call(ctx->cli, "DELETE", p, NULL, NULL, NULL, &err) < 0) {
      if (force && err->code == ENOENT)
        continue;
      fprintf(stderr, "%s\n", err->msg);
      status = 1;
      continue;
    }
    printf("%s\n", *a);
  }
  return status;
}

/* ---------- network prune ---------- */

int cmd_network_prune(struct cmd_ctx *ctx, int argc, char **argv) {
  bool force = false;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"filter", 0, FLAG_STRV, &filters, "Provide filter values (e.g. \"until=<timestamp>\")", NULL},
      {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  return cli_prune(ctx,
                   "WARNING! This will remove all custom networks not used by at least one container.",
                   force, filters,
                   "/networks/prune", "NetworksDeleted", "Deleted Networks", false);
}

/* ---------- network connect / disconnect ---------- */

int cmd_network_connect(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *ip = NULL, *ip6 = NULL;
  _cleanup_strv_ char **aliases = NULL, **links = NULL, **drvopts = NULL, **llip = NULL;
  const struct flag flags[] = {
      {"alias", 0, FLAG_STRV, &aliases, "Add network-scoped alias for the container", NULL},
      {"driver-opt", 0, FLAG_STRV, &drvopts, "driver options for the network", NULL},
      {"ip", 0, FLAG_STR, &ip, "IPv4 address (e.g., \"172.30.100.104\")", NULL},
      {"ip6", 0, FLAG_STR, &ip6, "IPv6 address (e.g., \"2001:db8::33\")", NULL},
      {"link", 0, FLAG_STRV, &links, "Add link to another container", NULL},
      {"link-local-ip", 0, FLAG_STRV, &llip, "Add a link-local address for the container", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 2, 2)))
    return rc;
  json_t *ec = json_object();
  if (ip || ip6)
    json_object_set_new(ec, "IPAMConfig", json_pack("{s:s,s:s}", "IPv4Address", ip ? ip : "",
                                                    "IPv6Address", ip6 ? ip6 : ""));
  json_t *al = json_array();
  for (char **a = aliases; a && *a; a++)
    json_array_append_new(al, json_string(*a));
  json_object_set_new(ec, "Aliases", al);
  json_t *ln = json_array();
  for (char **a = links; a && *a; a++)
    json_array_append_new(ln, strchr(*a, ':') ? json_string(*a) : json_sprintf("%s:%s", *a, *a));
  json_object_set_new(ec, "Links", ln);
  json_object_set_new(ec, "DriverOpts", kv_object(drvopts));
  _cleanup_json_ json_t *body = json_pack("{s:s,s:o}", "Container", args[1], "EndpointConfig", ec);
  _cleanup_free_ char *p = npath(args[0], "/connect");
  _cleanup_berr_ struct berr *err = NULL;
  if (cli_call(ctx->cli, "POST", p, body, NULL, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

int cmd_network_disconnect(struct cmd_ctx *ctx, int argc, char **argv) {
  bool force = false;
  const struct flag flags[] = {
      {"force", 'f', FLAG_BOOL, &force, "Force the container to disconnect from a network", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 2, 2)))
    return rc;
  _cleanup_json_ json_t *body = json_pack("{s:s,s:b}", "Container", args[1], "Force", force);
  _cleanup_free_ char *p = npath(args[0], "/disconnect");
  _cleanup_berr_ struct berr *err = NULL;
  if (cli_call(ctx->cli, "POST", p, body, NULL, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}
