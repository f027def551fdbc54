/*
 * cmd_system.c — version, info, system df, system prune, events: the
 * daemon-wide views, laid out as docker CLI 28 prints them. version and info
 * accept --format with the data shaped as docker's templates see it
 * ({"Client":{...},"Server":{...}}).
 */
#include <errno.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/template.h"

static int print_format(const char *format, json_t *data) {
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *one = json_pack("[O]", data);
  if (!strcmp(format, "json") || !strcmp(format, "{{json .}}")) {
    _cleanup_free_ char *s = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    return 0;
  }
  if (cli_print_rows(format, format, one, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

static const char *js(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

int cmd_version(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {{"format", 'f', FLAG_STR, &format, "Format output using a custom template", NULL}, {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *server = NULL;
  int r = cli_call(ctx->cli, "GET", "/version", NULL, &server, NULL, &err);
  _cleanup_json_ json_t *client = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform", "",
                                            "Version", BERTH_VERSION, "ApiVersion",
                                            ctx->cli->api_version ? ctx->cli->api_version : "1.41",
                                            "GitCommit", "", "Os", "linux", "Arch", "amd64", "Context", "default");
  if (format) {
    /* templates see Go's field names: APIVersion where the JSON says ApiVersion */
    json_object_set(client, "APIVersion", json_object_get(client, "ApiVersion"));
    if (json_is_object(server) && json_object_get(server, "ApiVersion"))
      json_object_set(server, "APIVersion", json_object_get(server, "ApiVersion"));
    _cleanup_json_ json_t *all = json_pack("{s:O, s:O}", "Client", client, "Server", server ? server : json_null());
    rc = print_format(format, all);
    if (r < 0) {
      cmd_print_err(err);
      return 1;
    }
    return rc;
  }
  printf("Client:\n Version:           %s\n API version:       %s\n OS/Arch:           linux/%s\n Context:           default\n",
         BERTH_VERSION, js(client, "ApiVersion"),
#if defined(__x86_64__)
         "amd64"
#elif defined(__aarch64__)
         "arm64"
#else
         "unknown"
#endif
  );
  if (r < 0) {
    printf("\n");
    cmd_print_err(err);
    return 1;
  }
  printf("\nServer:%s%s\n", json_object_get(server, "Platform") && *js(json_object_get(server, "Platform"), "Name") ? " " : "",
         js(json_object_get(server, "Platform"), "Name"));
  /* docker prints BuildTime in Go's time.ANSIC layout */
  char built[64];
  double bt;
  snprintf(built, sizeof(built), "%s", js(server, "BuildTime"));
  if (parse_rfc3339(js(server, "BuildTime"), &bt) == 0 && bt > 0) {
    time_t tt = (time_t)bt;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(built, sizeof(built), "%a %b %e %H:%M:%S %Y", &tm);
  }
  printf(" Engine:\n  Version:          %s\n  API version:      %s (minimum version %s)\n  Go version:       %s\n"
         "  Git commit:       %s\n  Built:            %s\n  OS/Arch:          %s/%s\n  Experimental:     %s\n",
         js(server, "Version"), js(server, "ApiVersion"), js(server, "MinAPIVersion"), js(server, "GoVersion"),
         js(server, "GitCommit"), built, js(server, "Os"), js(server, "Arch"),
         json_is_true(json_object_get(server, "Experimental")) ? "true" : "false");
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(server, "Components"), i, c) {
    if (!strcmp(js(c, "Name"), "Engine"))
      continue;
    printf(" %s:\n  Version:          %s\n", js(c, "Name"), js(c, "Version"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c, "Details"), k, v) {
      char key[64];
      snprintf(key, sizeof(key), "%s:", k);
      printf("  %-17s %s\n", key, json_string_value(v) ? json_string_value(v) : "");
    }
  }
  return 0;
}

static void print_list(const char *title, const json_t *arr, const char *indent) {
  printf("%s%s:", indent, title);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) printf(" %s", json_string_value(v));
  printf("\n");
}

int cmd_info(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {{"format", 'f', FLAG_STR, &format, "Format output using a custom template", NULL}, {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *s = NULL;
  int r = cli_call(ctx->cli, "GET", "/info", NULL, &s, NULL, &err);
  if (format) {
    if (r < 0) {
      cmd_print_err(err);
      return 1;
    }
    return print_format(format, s);
  }
  printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: %s\n\n", BERTH_VERSION,
         ctx->cli->debug ? "true" : "false");
  if (r < 0) {
    printf("Server:\n");
    fprintf(stderr, "%s\n", err->msg);
    return 1;
  }
#define I(k) ((long long)json_integer_value(json_object_get(s, k)))
  printf("Server:\n Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n Images: %lld\n",
         I("Containers"), I("ContainersRunning"), I("ContainersPaused"), I("ContainersStopped"), I("Images"));
  printf(" Server Version: %s\n Storage Driver: %s\n", js(s, "ServerVersion"), js(s, "Driver"));
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(s, "DriverStatus"), i, v)
    printf("  %s: %s\n", json_string_value(json_array_get(v, 0)), json_string_value(json_array_get(v, 1)));
  printf(" Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %s\n", js(s, "LoggingDriver"),
         js(s, "CgroupDriver"), js(s, "CgroupVersion"));
  json_t *pl = json_object_get(s, "Plugins");
  printf(" Plugins:\n");
  print_list("Volume", json_object_get(pl, "Volume"), "  ");
  print_list("Network", json_object_get(pl, "Network"), "  ");
  print_list("Log", json_object_get(pl, "Log"), "  ");
  printf(" Swarm: %s\n", *js(json_object_get(s, "Swarm"), "LocalNodeState") ? js(json_object_get(s, "Swarm"), "LocalNodeState") : "inactive");
  printf(" Runtimes:");
  const char *k;
  json_object_foreach(json_object_get(s, "Runtimes"), k, v) printf(" %s", k);
  printf("\n Default Runtime: %s\n Init Binary: %s\n", js(s, "DefaultRuntime"), js(s, "InitBinary"));
  printf(" containerd version: %s\n runc version: %s\n init version: %s\n",
         js(json_object_get(s, "ContainerdCommit"), "ID"), js(json_object_get(s, "RuncCommit"), "ID"),
         js(json_object_get(s, "InitCommit"), "ID"));
  json_t *so = json_object_get(s, "SecurityOptions");
  if (json_array_size(so)) {
    printf(" Security Options:\n");
    json_array_foreach(so, i, v) {
      /* "name=seccomp,profile=default" → "  seccomp\n   Profile: default" */
      _cleanup_free_ char *opt = xstrdup(json_string_value(v) ? json_string_value(v) : "");
      for (char *save = NULL, *kv = strtok_r(opt, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
          continue;
        *eq = '\0';
        if (!strcmp(kv, "name"))
          printf("  %s\n", eq + 1);
        else
          printf("   %c%s: %s\n", kv[0] >= 'a' && kv[0] <= 'z' ? kv[0] - 32 : kv[0], kv + 1, eq + 1);
      }
    }
  }
  _cleanup_free_ char *mem = fmt_bytes_size((double)I("MemTotal"));
  printf(" Kernel Version: %s\n Operating System: %s\n OSType: %s\n Architecture: %s\n CPUs: %lld\n"
         " Total Memory: %s\n Name: %s\n ID: %s\n Docker Root Dir: %s\n Debug Mode: %s\n",
         js(s, "KernelVersion"), js(s, "OperatingSystem"), js(s, "OSType"), js(s, "Architecture"), I("NCPU"),
         mem, js(s, "Name"), js(s, "ID"), js(s, "DockerRootDir"),
         json_is_true(json_object_get(s, "Debug")) ? "true" : "false");
  printf(" Experimental: %s\n", json_is_true(json_object_get(s, "ExperimentalBuild")) ? "true" : "false");
  json_t *ir = json_object_get(json_object_get(s, "RegistryConfig"), "InsecureRegistryCIDRs");
  if (json_array_size(ir)) {
    printf(" Insecure Registries:\n");
    json_array_foreach(ir, i, v) printf("  %s\n", json_string_value(v));
  }
  printf(" Live Restore Enabled: %s\n\n", json_is_true(json_object_get(s, "LiveRestoreEnabled")) ? "true" : "false");
  json_array_foreach(json_object_get(s, "Warnings"), i, v) fprintf(stderr, "%s\n", json_string_value(v));
#undef I
  return 0;
}

static const struct cli_column df_cols[] = {{"Type", "TYPE"}, {"TotalCount", "TOTAL"}, {"Active", "ACTIVE"},
                                            {"Size", "SIZE"}, {"Reclaimable", "RECLAIMABLE"}, {NULL, NULL}};

static const char *df_header(const char *f) { return cli_column_title(df_cols, f); }

static json_t *df_row(const char *type, int64_t total, int64_t active, int64_t size, int64_t reclaim,
                      bool pct) {
  _cleanup_free_ char *sz = fmt_human_size((double)size, 4);
  _cleanup_free_ char *rc = fmt_human_size((double)reclaim, 4);
  _cleanup_free_ char *rct = pct && size > 0 ? xasprintf("%s (%lld%%)", rc, (long long)(reclaim * 100 / size))
                                            : xstrdup(rc);
  return json_pack("{s:s, s:I, s:I, s:s, s:s}", "Type", type, "TotalCount", (json_int_t)total,
                   "Active", (json_int_t)active, "Size", sz, "Reclaimable", rct);
}

int cmd_system_df(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *format = NULL;
  bool verbose = false;
  const struct flag flags[] = {
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"verbose", 'v', FLAG_BOOL, &verbose, "Show detailed information on space usage", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *d = NULL;
  if (cli_call(ctx->cli, "GET", "/system/df", NULL, &d, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  size_t i;
  json_t *v;
  int64_t n = 0, act = 0, size = json_integer_value(json_object_get(d, "LayersSize")), used = 0;
  json_array_foreach(json_object_get(d, "Images"), i, v) {
    n++;
    if (json_integer_value(json_object_get(v, "Containers")) > 0) {
      act++;
      used += json_integer_value(json_object_get(v, "Size")) - json_integer_value(json_object_get(v, "SharedSize"));
    }
  }
  _cleanup_json_ json_t *rows = json_array();
  json_array_append_new(rows, df_row("Images", n, act, size, size - used, true));
  n = act = size = 0;
  int64_t reclaim = 0;
  json_array_foreach(json_object_get(d, "Containers"), i, v) {
    n++;
    int64_t rw = json_integer_value(json_object_get(v, "SizeRw"));
    size += rw;
    const char *st = js(v, "State");
    if (!strcmp(st, "running") || !strcmp(st, "paused") || !strcmp(st, "restarting"))
      act++;
    else
      reclaim += rw;
  }
  json_array_append_new(rows, df_row("Containers", n, act, size, reclaim, true));
  n = act = size = reclaim = 0;
  json_array_foreach(json_object_get(d, "Volumes"), i, v) {
    n++;
    json_t *u = json_object_get(v, "UsageData");
    int64_t s = json_integer_value(json_object_get(u, "Size"));
    if (s > 0)
      size += s;
    if (json_integer_value(json_object_get(u, "RefCount")) > 0)
      act++;
    else if (s > 0)
      reclaim += s;
  }
  json_array_append_new(rows, df_row("Local Volumes", n, act, size, reclaim, true));
  n = act = size = reclaim = 0;
  json_array_foreach(json_object_get(d, "BuildCache"), i, v) {
    n++;
    int64_t s = json_integer_value(json_object_get(v, "Size"));
    size += s;
    if (json_is_true(json_object_get(v, "InUse")))
      act++;
    else if (!json_is_true(json_object_get(v, "Shared")))
      reclaim += s;
  }
  json_array_append_new(rows, df_row("Build Cache", n, act, size, reclaim, false));
  if (cli_print_rows(format, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                     rows, df_header, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

int cmd_system_prune(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, force = false, volumes = false;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"all", 'a', FLAG_BOOL, &all, "Remove all unused images not just dangling ones", NULL},
      {"filter", 0, FLAG_STRV, &filters, "Provide filter values (e.g. \"label=<key>=<value>\")", NULL},
      {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation", NULL},
      {"volumes", 0, FLAG_BOOL, &volumes, "Prune anonymous volumes", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  if (!force) {
    _cleanup_free_ char *w = xasprintf("WARNING! This will remove:\n  - all stopped containers\n"
                                       "  - all networks not used by at least one container\n%s"
                                       "  - %s\n  - unused build cache\n",
                                       volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
                                       all ? "all images without at least one container associated to them"
                                           : "all dangling images");
    if (!cli_confirm(w))
      return 0;
  }
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *fj = NULL;
  if (cli_filters_json(filters, &fj, &err) < 0) {
    cmd_print_err(err);
    return 125;
  }
  int64_t reclaimed = 0;
  /* containers */
  struct sb p = {0};
  sb_add(&p, "/containers/prune");
  if (fj)
    sb_query(&p, "filters", fj);
  _cleanup_free_ char *cp = sb_steal(&p);
  _cleanup_json_ json_t *r = NULL;
  if (cli_call(ctx->cli, "POST", cp, NULL, &r, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  size_t i;
  json_t *v;
  if (json_array_size(json_object_get(r, "ContainersDeleted"))) {
    printf("Deleted Containers:\n");
    json_array_foreach(json_object_get(r, "ContainersDeleted"), i, v) printf("%s\n", json_string_value(v));
    printf("\n");
  }
  reclaimed += json_integer_value(json_object_get(r, "SpaceReclaimed"));
  /* networks (a daemon without networks answers 404: skip) */
  _cleanup_json_ json_t *nr = NULL;
  _cleanup_berr_ struct berr *nerr = NULL;
  if (cli_call(ctx->cli, "POST", "/networks/prune", NULL, &nr, NULL, &nerr) == 0 &&
      json_array_size(json_object_get(nr, "NetworksDeleted"))) {
    printf("Deleted Networks:\n");
    json_array_foreach(json_object_get(nr, "NetworksDeleted"), i, v) printf("%s\n", json_string_value(v));
    printf("\n");
  }
  if (volumes) {
    _cleanup_json_ json_t *vr = NULL;
    _cleanup_berr_ struct berr *verr = NULL;
    if (cli_call(ctx->cli, "POST", "/volumes/prune", NULL, &vr, NULL, &verr) == 0) {
      if (json_array_size(json_object_get(vr, "VolumesDeleted"))) {
        printf("Deleted Volumes:\n");
        json_array_foreach(json_object_get(vr, "VolumesDeleted"), i, v) printf("%s\n", json_string_value(v));
        printf("\n");
      }
      reclaimed += json_integer_value(json_object_get(vr, "SpaceReclaimed"));
    }
  }
  if (cli_prune_images(ctx->cli, all, filters, &reclaimed, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  _cleanup_json_ json_t *br = NULL;
  _cleanup_berr_ struct berr *berr2 = NULL;
  if (cli_call(ctx->cli, "POST", all ? "/build/prune?all=1" : "/build/prune", NULL, &br, NULL, &berr2) == 0)
    reclaimed += json_integer_value(json_object_get(br, "SpaceReclaimed"));
  _cleanup_free_ char *sz = fmt_human_size((double)reclaimed, 3);
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}

/* ---------- events ---------- */

/* Go's time.Format(RFC3339NanoFixed) in local time, as the docker CLI
 * prints an event's time: nine fraction digits always, then "Z" for a zero
 * offset or "+hh:mm" (cli/command/system/events.go, jsonmessage) */
static void format_event_time(int64_t tn, char *out, size_t n) {
  time_t t = (time_t)(tn / 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char ts[32], zone[24] = "Z";
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  long off = tm.tm_gmtoff / 60;
  if (off)
    snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
  snprintf(out, n, "%s.%09lld%s", ts, (long long)(tn % 1000000000), zone);
}

/* docker's default event line: "<time> <type> <action> <id> (k=v, ...)" */
static void print_event(const json_t *e) {
  char ts[64];
  format_event_time(json_integer_value(json_object_get(e, "timeNano")), ts, sizeof(ts));
  const json_t *actor = json_object_get(e, "Actor");
  printf("%s %s %s %s", ts, js(e, "Type"), js(e, "Action"), js(actor, "ID"));
  const json_t *attrs = json_object_get(actor, "Attributes");
  size_t na = json_object_size(attrs);
  if (na) {
    const char **keys = xcalloc(na, sizeof(*keys));
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)attrs, key, v) keys[k++] = key;
    for (size_t i = 1; i < k; i++) /* insertion sort: few keys */
      for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
        const char *x = keys[j];
        keys[j] = keys[j - 1];
        keys[j - 1] = x;
      }
    printf(" (");
    for (size_t i = 0; i < k; i++)
      printf("%s%s=%s", i ? ", " : "", keys[i], js(attrs, keys[i]));
    printf(")");
    free(keys);
  }
  printf("\n");
  fflush(stdout);
}

int cmd_events(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *since = NULL, *until = NULL, *format = NULL;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"filter", 'f', FLAG_STRV, &filters, "Filter output based on conditions provided", NULL},
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"since", 0, FLAG_STR, &since, "Show all events created since timestamp", NULL},
      {"until", 0, FLAG_STR, &until, "Stream events until this timestamp", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *fj = NULL;
  if (cli_filters_json(filters, &fj, &err) < 0) {
    cmd_print_err(err);
    return 125;
  }
  struct sb p = {0};
  sb_add(&p, "/events");
  double now = cli_now();
  const char *tv[2] = {since, until}, *tk[2] = {"since", "until"};
  for (int i = 0; i < 2; i++) {
    if (!tv[i])
      continue;
    _cleanup_free_ char *v = NULL;
    if (parse_timestamp_arg(tv[i], now, &v, &err) < 0) {
      sb_free(&p);
      cmd_print_err(err);
      return 1;
    }
    sb_query(&p, tk[i], v);
  }
  if (fj)
    sb_query(&p, "filters", fj);
  _cleanup_free_ char *path = sb_steal(&p);
  struct http_resp resp;
  if (cli_stream(ctx->cli, "GET", path, NULL, NULL, 0, &resp, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  struct sb line = {0};
  char buf[8192];
  for (;;) {
    ssize_t k = resp_read(&resp, buf, sizeof(buf));
    if (k <= 0)
      break;
    sb_addn(&line, buf, (size_t)k);
    char *nl;
    while (line.s && (nl = strchr(line.s, '\n'))) {
      *nl = '\0';
      _cleanup_json_ json_t *e = json_loads(line.s, 0, NULL);
      if (e) {
        if (format && *format)
          print_format(format, e);
        else
          print_event(e);
        fflush(stdout);
      }
      size_t rest = line.len - (size_t)(nl + 1 - line.s);
      memmove(line.s, nl + 1, rest + 1);
      line.len = rest;
    }
  }
  sb_free(&line);
  resp_free(&resp);
  return 0;
}
