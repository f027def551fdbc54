/*
 * cmd_stats.c — stats (one-shot with --no-stream, else a table redrawn each
 * second) and cp (tar streams through the archive API).
 *
 * stats computes docker's columns from the API's stats JSON: CPU % from the
 * cpu / precpu deltas times the online CPUs, memory usage minus the page
 * cache (inactive_file on cgroup v2, total_inactive_file on v1), network and
 * block I/O sums.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>

#include "cli/cli.h"

static const char *stats_header(const char *f) {
  static const char *const map[][2] = {
      {"ID", "CONTAINER ID"}, {"Container", "CONTAINER"}, {"Name", "NAME"}, {"CPUPerc", "CPU %"},
      {"MemUsage", "MEM USAGE / LIMIT"}, {"MemPerc", "MEM %"}, {"NetIO", "NET I/O"},
      {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (!strcmp(map[i][0], f))
      return map[i][1];
  return NULL;
}

static int64_t ji(const json_t *o, const char *path) {
  /* dotted path lookup */
  _cleanup_free_ char *p = xstrdup(path);
  const json_t *cur = o;
  for (char *save = NULL, *k = strtok_r(p, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
    cur = json_object_get(cur, k);
  return json_integer_value(cur);
}

static json_t *stats_row(const char *container, const json_t *s, bool trunc) {
  const char *id = json_string_value(json_object_get(s, "id"));
  const char *name = json_string_value(json_object_get(s, "name"));
  double cpu = 0;
  double cd = (double)(ji(s, "cpu_stats.cpu_usage.total_usage") - ji(s, "precpu_stats.cpu_usage.total_usage"));
  double sd = (double)(ji(s, "cpu_stats.system_cpu_usage") - ji(s, "precpu_stats.system_cpu_usage"));
  int64_t ncpu = ji(s, "cpu_stats.online_cpus");
  if (!ncpu)
    ncpu = (int64_t)json_array_size(json_object_get(json_object_get(json_object_get(s, "cpu_stats"), "cpu_usage"), "percpu_usage"));
  if (sd > 0 && cd > 0)
    cpu = cd / sd * (double)ncpu * 100.0;
  double usage = (double)ji(s, "memory_stats.usage");
  const json_t *ms = json_object_get(json_object_get(s, "memory_stats"), "stats");
  const json_t *inact = json_object_get(ms, "total_inactive_file");
  if (!inact)
    inact = json_object_get(ms, "inactive_file");
  if (inact && (double)json_integer_value(inact) < usage)
    usage -= (double)json_integer_value(inact);
  double limit = (double)ji(s, "memory_stats.limit");
  double memp = limit > 0 ? usage / limit * 100.0 : 0;
  double rx = 0, tx = 0, br = 0, bw = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(s, "networks"), k, v) {
    rx += (double)json_integer_value(json_object_get(v, "rx_bytes"));
    tx += (double)json_integer_value(json_object_get(v, "tx_bytes"));
  }
  size_t i;
  json_array_foreach(json_object_get(json_object_get(s, "blkio_stats"), "io_service_bytes_recursive"), i, v) {
    const char *op = json_string_value(json_object_get(v, "op"));
    if (op && !strcasecmp(op, "read"))
      br += (double)json_integer_value(json_object_get(v, "value"));
    else if (op && !strcasecmp(op, "write"))
      bw += (double)json_integer_value(json_object_get(v, "value"));
  }
  _cleanup_free_ char *tid = trunc ? fmt_trunc_id(id) : xstrdup(id ? id : "");
  _cleanup_free_ char *u = fmt_bytes_size(usage), *l = fmt_bytes_size(limit);
  _cleanup_free_ char *r1 = fmt_human_size(rx, 3), *t1 = fmt_human_size(tx, 3);
  _cleanup_free_ char *b1 = fmt_human_size(br, 3), *b2 = fmt_human_size(bw, 3);
  _cleanup_free_ char *cpus = xasprintf("%.2f%%", cpu), *memps = xasprintf("%.2f%%", memp);
  _cleanup_free_ char *mu = xasprintf("%s / %s", u, l), *nio = xasprintf("%s / %s", r1, t1);
  _cleanup_free_ char *bio = xasprintf("%s / %s", b1, b2);
  _cleanup_free_ char *pids = xasprintf("%lld", (long long)ji(s, "pids_stats.current"));
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", container, "ID", tid,
                   "Name", name && name[0] == '/' ? name + 1 : name ? name : "", "CPUPerc", cpus,
                   "MemUsage", mu, "MemPerc", memps, "NetIO", nio, "BlockIO", bio, "PIDs", pids);
}

int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, nostream = false, notrunc = false;
  const char *format = NULL;
  const struct flag flags[] = {
      {"all", 'a', FLAG_BOOL, &all, "Show all containers (default shows just running)", NULL},
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"no-stream", 0, FLAG_BOOL, &nostream, "Disable streaming stats and only pull the first result", NULL},
      {"no-trunc", 0, FLAG_BOOL, &notrunc, "Do not truncate output", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc)
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_strv_ char **names = NULL;
  for (char **a = args; *a; a++)
    names = strv_append(names, xstrdup(*a));
  if (!names) {
    _cleanup_json_ json_t *list = NULL;
    if (cli_call(ctx->cli, "GET", all ? "/containers/json?all=1" : "/containers/json", NULL, &list, NULL, &err) < 0) {
      cmd_print_err(err);
      return 1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
      _cleanup_free_ char *t = fmt_trunc_id(json_string_value(json_object_get(c, "Id")));
      names = strv_append(names, xstrdup(t));
    }
  }
  const char *def = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
  for (;;) {
    double t0 = cli_now();
    _cleanup_json_ json_t *rows = json_array();
    for (char **n = names; n && *n; n++) {
      struct sb p = {0};
      sb_add(&p, "/containers/");
      sb_add_qs(&p, *n);
      sb_add(&p, "/stats?stream=0");
      _cleanup_free_ char *path = sb_steal(&p);
      _cleanup_json_ json_t *s = NULL;
      _cleanup_berr_ struct berr *e = NULL;
      if (cli_call(ctx->cli, "GET", path, NULL, &s, NULL, &e) < 0) {
        if (args[0]) {
          cmd_print_err(e);
          return 1;
        }
        continue;
      }
      json_array_append_new(rows, stats_row(*n, s, !notrunc));
    }
    if (!nostream)
      printf("\033[2J\033[H");
    if (cli_print_rows(format, def, rows, stats_header, &err) < 0) {
      cmd_print_err(err);
      return 1;
    }
    fflush(stdout);
    if (nostream)
      return 0;
    double dt = cli_now() - t0;
    if (dt < 1.0) {
      struct timespec ts = {0, (long)((1.0 - dt) * 1e9)};
      nanosleep(&ts, NULL);
    }
  }
}

/* ---------- cp ---------- */

/* "name:path" → container and path; NULL container for a local path */
static void split_cp(const char *arg, char **container, const char **path) {
  const char *colon = strchr(arg, ':');
  /* a local path may contain ':' after a '/' ("./a:b"); docker's rule */
  if (!colon || arg[0] == '/' || arg[0] == '.' || (strchr(arg, '/') && strchr(arg, '/') < colon)) {
    *container = NULL;
    *path = arg;
    return;
  }
  *container = strndup(arg, (size_t)(colon - arg));
  *path = colon + 1;
}

int cmd_cp(struct cmd_ctx *ctx, int argc, char **argv) {
  bool archive = false, follow = false, quiet = false;
  const struct flag flags[] = {
      {"archive", 'a', FLAG_BOOL, &archive, "Archive mode (copy all uid/gid information)", NULL},
      {"follow-link", 'L', FLAG_BOOL, &follow, "Always follow symbol link in SRC_PATH", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress progress output during copy", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 2, 2)))
    return rc;
  _cleanup_free_ char *sc = NULL, *dc = NULL;
  const char *sp, *dp;
  split_cp(args[0], &sc, &sp);
  split_cp(args[1], &dc, &dp);
  _cleanup_berr_ struct berr *err = NULL;
  if (sc && dc) {
    fprintf(stderr, "copying between containers is not supported\n");
    return 1;
  }
  if (!sc && !dc) {
    fprintf(stderr, "must specify at least one container source\n");
    return 1;
  }
  if (sc) {
    if (strcmp(dp, "-")) {
      fprintf(stderr, "berth cp: copying to a local path is not supported yet; use '-' to get a tar stream\n");
      return 1;
    }
    struct sb p = {0};
    sb_add(&p, "/containers/");
    sb_add_qs(&p, sc);
    sb_add(&p, "/archive");
    sb_query(&p, "path", sp);
    _cleanup_free_ char *path = sb_steal(&p);
    struct http_resp resp;
    if (cli_stream(ctx->cli, "GET", path, NULL, NULL, 0, &resp, &err) < 0) {
      cmd_print_err(err);
      return 1;
    }
    char buf[65536];
    ssize_t k;
    while ((k = resp_read(&resp, buf, sizeof(buf))) > 0)
      if (write(STDOUT_FILENO, buf, (size_t)k) != k) {
        k = -1;
        break;
      }
    resp_free(&resp);
    return k < 0 ? 1 : 0;
  }
  if (strcmp(sp, "-")) {
    fprintf(stderr, "berth cp: copying from a local path is not supported yet; use '-' to send a tar stream\n");
    return 1;
  }
  struct sb p = {0};
  sb_add(&p, "/containers/");
  sb_add_qs(&p, dc);
  sb_add(&p, "/archive");
  sb_query(&p, "path", dp);
  if (archive)
    sb_add(&p, "&copyUIDGID=1");
  _cleanup_free_ char *path = sb_steal(&p);
  struct http_resp resp;
  if (cli_stream_upload(ctx->cli, "PUT", path, "application/x-tar", STDIN_FILENO, &resp, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  _cleanup_free_ char *body = NULL;
  resp_read_all(&resp, &body, NULL, NULL);
  resp_free(&resp);
  return 0;
}
