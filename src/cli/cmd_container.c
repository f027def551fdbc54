/*
 * cmd_container.c — the container commands that are one request per
 * argument (stop, kill, restart, pause, unpause, wait, rm, rename, update)
 * and the read-only views: ps, inspect, logs, top, diff, port, prune.
 *
 * Output follows docker CLI 28: each acted-on container is echoed as the user
 * wrote it; each failure prints "Error response from daemon: ..." and makes
 * the exit status 1 without stopping the others. ps rows are JSON objects
 * with docker's template field names, printed through cli_print_rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/run.h"
#include "cli/template.h"

static char *cpath(const char *id, const char *suffix) {
  struct sb p = {0};
  sb_add(&p, "/containers/");
  sb_add_qs(&p, id);
  sb_add(&p, suffix);
  return sb_steal(&p);
}

/* POST <suffix+query> for each container, echoing its name on success. */
static int for_each(struct cmd_ctx *ctx, char **args, const char *suffix, bool echo) {
  int rc = 0;
  for (char **a = args; *a; a++) {
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ char *p = cpath(*a, suffix);
    if (cli_call(ctx->cli, "POST", p, NULL, NULL, NULL, &err) < 0) {
      cmd_print_err(err);
      rc = 1;
    } else if (echo) {
      printf("%s\n", *a);
    }
  }
  return rc;
}

static int stop_restart(struct cmd_ctx *ctx, int argc, char **argv, const char *op) {
  int64_t t = 0;
  bool tset = false;
  const char *sig = NULL;
  const struct flag flags[] = {
      {"signal", 's', FLAG_STR, &sig, "Signal to send to the container", NULL},
      {"time", 't', FLAG_INT, &t, "Seconds to wait before killing the container", &tset},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  struct sb q = {0};
  sb_add(&q, op);
  if (tset) {
    _cleanup_free_ char *ts = xasprintf("%lld", (long long)t);
    sb_query(&q, "t", ts);
  }
  if (sig)
    sb_query(&q, "signal", sig);
  _cleanup_free_ char *suffix = sb_steal(&q);
  return for_each(ctx, args, suffix, true);
}

int cmd_stop(struct cmd_ctx *ctx, int argc, char **argv) { return stop_restart(ctx, argc, argv, "/stop"); }
int cmd_restart(struct cmd_ctx *ctx, int argc, char **argv) { return stop_restart(ctx, argc, argv, "/restart"); }

int cmd_kill(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *sig = NULL;
  const struct flag flags[] = {{"signal", 's', FLAG_STR, &sig, "Signal to send to the container", NULL}, {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  struct sb q = {0};
  sb_add(&q, "/kill");
  if (sig)
    sb_query(&q, "signal", sig);
  _cleanup_free_ char *suffix = sb_steal(&q);
  return for_each(ctx, args, suffix, true);
}

static int simple(struct cmd_ctx *ctx, int argc, char **argv, const char *op) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  return for_each(ctx, args, op, true);
}

int cmd_pause(struct cmd_ctx *ctx, int argc, char **argv) { return simple(ctx, argc, argv, "/pause"); }
int cmd_unpause(struct cmd_ctx *ctx, int argc, char **argv) { return simple(ctx, argc, argv, "/unpause"); }

int cmd_wait(struct cmd_ctx *ctx, int argc, char **argv) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  for (char **a = args; *a; a++) {
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ char *p = cpath(*a, "/wait");
    _cleanup_json_ json_t *r = NULL;
    if (cli_call(ctx->cli, "POST", p, NULL, &r, NULL, &err) < 0) {
      cmd_print_err(err);
      rc = 1;
    } else {
      printf("%lld\n", (long long)json_integer_value(json_object_get(r, "StatusCode")));
    }
  }
  return rc;
}

int cmd_rm(struct cmd_ctx *ctx, int argc, char **argv) {
  bool force = false, vols = false, link = false;
  const struct flag flags[] = {
      {"force", 'f', FLAG_BOOL, &force, "Force the removal of a running container (uses SIGKILL)", NULL},
      {"link", 'l', FLAG_BOOL, &link, "Remove the specified link", NULL},
      {"volumes", 'v', FLAG_BOOL, &vols, "Remove anonymous volumes associated with the container", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  for (char **a = args; *a; a++) {
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ char *p0 = cpath(*a, "");
    _cleanup_free_ char *p = xasprintf("%s?force=%d&v=%d&link=%d", p0, force, vols, link);
    if (cli_call(ctx->cli, "DELETE", p, NULL, NULL, NULL, &err) < 0) {
      cmd_print_err(err);
      rc = 1;
    } else {
      printf("%s\n", *a);
    }
  }
  return rc;
}

int cmd_rename(struct cmd_ctx *ctx, int argc, char **argv) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 2, 2)))
    return rc;
  if (!*args[1]) {
    fprintf(stderr, "Error: neither old nor new names may be empty\n");
    return 1;
  }
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *p0 = cpath(args[0], "/rename");
  struct sb p = {0};
  sb_add(&p, p0);
  sb_query(&p, "name", args[1]);
  _cleanup_free_ char *path = sb_steal(&p);
  if (cli_call(ctx->cli, "POST", path, NULL, NULL, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

int cmd_update(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *cpus = NULL, *swap = NULL, *restart = NULL, *cpuset_cpus = NULL, *cpuset_mems = NULL;
  int64_t pids = 0, shares = 0, mem = 0, res = 0;
  bool pids_set = false, shares_set = false, mem_set = false, res_set = false;
  /* the other integer limits docker's update has, each sent only when given */
  struct {
    const char *flag, *key, *help;
    enum flag_type type;
    int64_t v;
    bool set;
  } ints[] = {
      {"blkio-weight", "BlkioWeight", "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", FLAG_INT, 0, false},
      {"cpu-period", "CpuPeriod", "Limit CPU CFS (Completely Fair Scheduler) period", FLAG_INT, 0, false},
      {"cpu-quota", "CpuQuota", "Limit CPU CFS (Completely Fair Scheduler) quota", FLAG_INT, 0, false},
      {"cpu-rt-period", "CpuRealtimePeriod", "Limit the CPU real-time period in microseconds", FLAG_INT, 0, false},
      {"cpu-rt-runtime", "CpuRealtimeRuntime", "Limit the CPU real-time runtime in microseconds", FLAG_INT, 0, false},
      {"kernel-memory", "KernelMemory", "Kernel memory limit (deprecated)", FLAG_BYTES, 0, false},
  };
#define INT_FLAG(i) {ints[i].flag, 0, ints[i].type, &ints[i].v, ints[i].help, &ints[i].set}
  const struct flag flags[] = {
      INT_FLAG(0),
      INT_FLAG(1),
      INT_FLAG(2),
      INT_FLAG(3),
      INT_FLAG(4),
      {"cpu-shares", 'c', FLAG_INT, &shares, "CPU shares (relative weight)", &shares_set},
      {"cpus", 0, FLAG_STR, &cpus, "Number of CPUs", NULL},
      {"cpuset-cpus", 0, FLAG_STR, &cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)", NULL},
      {"cpuset-mems", 0, FLAG_STR, &cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)", NULL},
      INT_FLAG(5),
      {"memory", 'm', FLAG_BYTES, &mem, "Memory limit", &mem_set},
      {"memory-reservation", 0, FLAG_BYTES, &res, "Memory soft limit", &res_set},
      {"memory-swap", 0, FLAG_STR, &swap, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", NULL},
      {"pids-limit", 0, FLAG_INT, &pids, "Tune container pids limit (set -1 for unlimited)", &pids_set},
      {"restart", 0, FLAG_STR, &restart, "Restart policy to apply when a container exits", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  _cleanup_json_ json_t *body = json_object();
  int64_t v;
  if (mem_set)
    json_object_set_new(body, "Memory", json_integer(mem));
  if (res_set)
    json_object_set_new(body, "MemoryReservation", json_integer(res));
  if (swap) {
    /* docker's MemSwapBytes: "-1" is unlimited, else a RAMInBytes size */
    _cleanup_berr_ struct berr *e = NULL;
    if (run_parse_memory_swap(swap, &v, &e) < 0) {
      fprintf(stderr, "%s\n\nUsage:  %s\n\nRun 'berth %s --help' for more information\n",
              e->msg, ctx->usage, ctx->name);
      return 125;
    }
    json_object_set_new(body, "MemorySwap", json_integer(v));
  }
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
    if (ints[i].set)
      json_object_set_new(body, ints[i].key, json_integer(ints[i].v));
  if (cpuset_cpus)
    json_object_set_new(body, "CpusetCpus", json_string(cpuset_cpus));
  if (cpuset_mems)
    json_object_set_new(body, "CpusetMems", json_string(cpuset_mems));
  if (cpus) {
    if (parse_nano_cpus(cpus, &v) < 0) {
      fprintf(stderr, "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number\n", cpus, cpus);
      return 125;
    }
    json_object_set_new(body, "NanoCpus", json_integer(v));
  }
  if (shares_set)
    json_object_set_new(body, "CpuShares", json_integer(shares));
  if (pids_set)
    json_object_set_new(body, "PidsLimit", json_integer(pids));
  if (restart) {
    _cleanup_free_ char *name = xstrdup(restart);
    char *c = strchr(name, ':');
    int64_t max = 0;
    if (c) {
      *c = '\0';
      parse_int64(c + 1, &max);
    }
    json_object_set_new(body, "RestartPolicy", json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t)max));
  }
  for (char **a = args; *a; a++) {
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ char *p = cpath(*a, "/update");
    _cleanup_json_ json_t *r = NULL;
    if (cli_call(ctx->cli, "POST", p, body, &r, NULL, &err) < 0) {
      cmd_print_err(err);
      rc = 1;
      continue;
    }
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r, "Warnings"), i, w)
      fprintf(stderr, "WARNING: %s\n", json_string_value(w));
    printf("%s\n", *a);
  }
  return rc;
}

/* ---------- ps ---------- */

static const struct cli_column ps_cols[] = {
    {"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"}, {"CreatedAt", "CREATED AT"},
    {"RunningFor", "CREATED"}, {"Ports", "PORTS"}, {"Status", "STATUS"}, {"Size", "SIZE"},
    {"Names", "NAMES"}, {"Labels", "LABELS"}, {"Label", "LABEL"}, {"Mounts", "MOUNTS"},
    {"Networks", "NETWORKS"}, {"State", "STATE"}, {"LocalVolumes", "LOCAL VOLUMES"},
    {"Platform", "PLATFORM"}, {NULL, NULL}};

static const char *ps_header(const char *f) { return cli_column_title(ps_cols, f); }

/* "k=v,k2=v2", sorted as Go's map iteration in docker is not: docker sorts? it
 * does not; we sort for stable output */
static char *labels_text(const json_t *labels) {
  const char *k;
  json_t *v;
  struct sb b = {0};
  sb_add(&b, "");
  json_object_foreach((json_t *)labels, k, v) sb_addf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v));
  return sb_steal(&b);
}

/* The row fields a template can name, in the order ps_row adds them. */
enum {
  PS_ID = 1u << 0, PS_IMAGE = 1u << 1, PS_COMMAND = 1u << 2, PS_CREATED_AT = 1u << 3,
  PS_RUNNING_FOR = 1u << 4, PS_PORTS = 1u << 5, PS_STATUS = 1u << 6, PS_STATE = 1u << 7,
  PS_SIZE = 1u << 8, PS_NAMES = 1u << 9, PS_LABELS = 1u << 10, PS_MOUNTS = 1u << 11,
  PS_NETWORKS = 1u << 12, PS_LOCAL_VOLUMES = 1u << 13, PS_PLATFORM = 1u << 14, PS_ALL = (1u << 15) - 1,
};

/* Which fields the output needs: a row costs formatting (times, sizes,
 * quoting) that a table of seven columns never shows, so only the fields the
 * template names are made. A field is named when ".Field" appears anywhere
 * in it (too many is harmless); "json", a bare "." or "$" (the whole row:
 * {{json .}}, {{range $k, $v := .}}, {{index . "ID"}}) or anything else
 * unusual asks for every field. */
static unsigned ps_fields(const char *fmt) {
  static const struct {
    const char *name;
    unsigned bit;
  } names[] = {
      {".ID", PS_ID}, {".Image", PS_IMAGE}, {".Command", PS_COMMAND}, {".CreatedAt", PS_CREATED_AT},
      {".RunningFor", PS_RUNNING_FOR}, {".Ports", PS_PORTS}, {".Status", PS_STATUS},
      {".State", PS_STATE}, {".Size", PS_SIZE}, {".Names", PS_NAMES}, {".Label", PS_LABELS},
      {".Mounts", PS_MOUNTS}, {".Networks", PS_NETWORKS}, {".LocalVolumes", PS_LOCAL_VOLUMES},
      {".Platform", PS_PLATFORM},
  };
  if (strstr(fmt, "json"))
    return PS_ALL;
  for (const char *p = fmt; *p; p++) {
    bool ident = (p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z') || p[1] == '_';
    if ((*p == '.' && !ident) || (*p == '$' && !ident && p[1] != '.'))
      return PS_ALL;
  }
  unsigned m = PS_ID;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strstr(fmt, names[i].name))
      m |= names[i].bit;
  return m;
}

/* The keys of /containers/json that the fields in `m` read (NULL-terminated
 * in keys[20]); NULL for all of them. */
static const char *const *ps_keys(unsigned m, const char **keys) {
  static const struct {
    unsigned bits;
    const char *key;
  } uses[] = {
      {PS_ID, "Id"}, {PS_IMAGE, "Image"}, {PS_COMMAND, "Command"},
      {PS_CREATED_AT | PS_RUNNING_FOR, "Created"}, {PS_PORTS, "Ports"}, {PS_STATUS, "Status"},
      {PS_STATE, "State"}, {PS_SIZE, "SizeRw"}, {PS_SIZE, "SizeRootFs"}, {PS_NAMES, "Names"},
      {PS_LABELS, "Labels"}, {PS_MOUNTS | PS_LOCAL_VOLUMES, "Mounts"}, {PS_NETWORKS, "NetworkSettings"},
  };
  if (m == PS_ALL)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
    if (m & uses[i].bits)
      keys[n++] = uses[i].key;
  keys[n] = NULL;
  return keys;
}

static void set_str(json_t *row, const char *key, const char *v) {
  json_object_set_new_nocheck(row, key, json_string(v ? v : ""));
}

/* ps's Image column: name:tag@digest → name:tag, an image ID cut to 12. */
static char *ps_image(const char *image, bool trunc) {
  char *img = xstrdup(image ? image : "");
  if (!trunc)
    return img;
  char *at = strchr(img, '@');
  if (at && strchr(img, ':') && strchr(img, ':') < at)
    *at = '\0';
  if (str_has_prefix(img, "sha256:")) {
    char *t = fmt_trunc_id(img);
    free(img);
    img = t;
  }
  return img;
}

static char *ps_size(const json_t *c) {
  int64_t rw = json_integer_value(json_object_get(c, "SizeRw"));
  int64_t rootfs = json_integer_value(json_object_get(c, "SizeRootFs"));
  _cleanup_free_ char *s1 = fmt_human_size((double)rw, 3);
  if (!json_object_get(c, "SizeRootFs"))
    return steal_ptr(s1);
  _cleanup_free_ char *s2 = fmt_human_size((double)rootfs, 3);
  return xasprintf("%s (virtual %s)", s1, s2);
}

/* Names: without the leading "/"; truncated output hides link names (with a second "/") */
static char *ps_names(const json_t *c, bool trunc) {
  struct sb names = {0};
  sb_add(&names, "");
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(c, "Names"), i, n) {
    const char *nm = json_string_value(n);
    if (!nm)
      continue;
    if (nm[0] == '/')
      nm++;
    if (trunc && strchr(nm, '/'))
      continue;
    if (names.len)
      sb_add(&names, ",");
    sb_add(&names, nm);
  }
  return sb_steal(&names);
}

/* The Mounts column (when `m` asks for it); returns the number of volumes. */
static int ps_mounts(json_t *row, const json_t *c, unsigned m) {
  struct sb mounts = {0};
  sb_add(&mounts, "");
  int vols = 0;
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(c, "Mounts"), i, n) {
    const char *name = json_string_value(json_object_get(n, "Name"));
    const char *src = json_string_value(json_object_get(n, "Source"));
    _cleanup_free_ char *mt = name ? fmt_ellipsis(name, 15) : fmt_ellipsis(src ? src : "", 15);
    sb_addf(&mounts, "%s%s", mounts.len ? "," : "", mt);
    const char *ty = json_string_value(json_object_get(n, "Type"));
    if (ty && !strcmp(ty, "volume"))
      vols++;
  }
  if (m & PS_MOUNTS)
    json_object_set_new(row, "Mounts", json_string(mounts.s));
  sb_free(&mounts);
  return vols;
}

/* One row of ps with the fields in `m` (ps_fields). */
static json_t *ps_row(const json_t *c, bool trunc, double now, unsigned m) {
  json_t *row = json_object();
  const char *id = json_string_value(json_object_get(c, "Id"));
  _cleanup_free_ char *tid = trunc ? fmt_trunc_id(id) : xstrdup(id ? id : "");
  set_str(row, "ID", tid);
  if (m & PS_IMAGE) {
    _cleanup_free_ char *img = ps_image(json_string_value(json_object_get(c, "Image")), trunc);
    set_str(row, "Image", img);
  }
  if (m & PS_COMMAND) {
    const char *cmd = json_string_value(json_object_get(c, "Command"));
    _cleanup_free_ char *cut = trunc ? fmt_ellipsis(cmd ? cmd : "", 20) : xstrdup(cmd ? cmd : "");
    _cleanup_free_ char *q = fmt_go_quote(cut);
    set_str(row, "Command", q);
  }
  int64_t created = json_integer_value(json_object_get(c, "Created"));
  if (m & PS_CREATED_AT) {
    _cleanup_free_ char *ca = fmt_go_time(created);
    set_str(row, "CreatedAt", ca);
  }
  if (m & PS_RUNNING_FOR) {
    _cleanup_free_ char *dur = fmt_human_duration(now - (double)created);
    _cleanup_sb_ struct sb rf = {0};
    sb_add(&rf, dur);
    sb_add(&rf, " ago");
    set_str(row, "RunningFor", rf.s);
  }
  if (m & PS_PORTS) {
    _cleanup_free_ char *ports = fmt_ports(json_object_get(c, "Ports"));
    set_str(row, "Ports", ports);
  }
  if (m & PS_STATUS)
    set_str(row, "Status", json_string_value(json_object_get(c, "Status")));
  if (m & PS_STATE)
    set_str(row, "State", json_string_value(json_object_get(c, "State")));
  if (m & PS_SIZE) {
    _cleanup_free_ char *size = ps_size(c);
    set_str(row, "Size", size);
  }
  if (m & PS_NAMES) {
    _cleanup_free_ char *names = ps_names(c, trunc);
    set_str(row, "Names", names);
  }
  if (m & PS_LABELS) {
    const json_t *labels = json_object_get(c, "Labels");
    _cleanup_free_ char *lt = labels_text(labels);
    set_str(row, "Labels", lt);
    json_object_set_new(row, "Label", labels ? json_deep_copy(labels) : json_object());
  }
  int vols = m & (PS_MOUNTS | PS_LOCAL_VOLUMES) ? ps_mounts(row, c, m) : 0;
  if (m & PS_NETWORKS) {
    struct sb nets = {0};
    sb_add(&nets, "");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), k, v)
      sb_addf(&nets, "%s%s", nets.len ? "," : "", k);
    json_object_set_new(row, "Networks", json_string(nets.s));
    sb_free(&nets);
  }
  if (m & PS_LOCAL_VOLUMES) {
    char lv[16];
    snprintf(lv, sizeof(lv), "%d", vols);
    set_str(row, "LocalVolumes", lv);
  }
  if (m & PS_PLATFORM)
    json_object_set_new(row, "Platform", json_null());
  return row;
}

/* --filter k=v → {"k":["v",...]} */
static int filters_json(char **filters, char **out, struct berr **err) {
  _cleanup_json_ json_t *f = json_object();
  for (char **a = filters; a && *a; a++) {
    const char *eq = strchr(*a, '=');
    if (!eq)
      return berr_set(err, EINVAL, "bad format of filter (expected name=value)");
    _cleanup_free_ char *k = strndup(*a, (size_t)(eq - *a));
    json_t *arr = json_object_get(f, k);
    if (!arr) {
      arr = json_array();
      json_object_set_new(f, k, arr);
    }
    json_array_append_new(arr, json_string(eq + 1));
  }
  *out = json_object_size(f) ? json_dump_compact(f) : NULL;
  return 0;
}

int cmd_ps(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, quiet = false, latest = false, notrunc = false, size = false;
  int64_t last = -1;
  const char *format = NULL;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"all", 'a', FLAG_BOOL, &all, "Show all containers (default shows just running)", NULL},
      {"filter", 'f', FLAG_STRV, &filters, "Filter output based on conditions provided", NULL},
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"last", 'n', FLAG_INT, &last, "Show n last created containers (includes all states) (default -1)", NULL},
      {"latest", 'l', FLAG_BOOL, &latest, "Show the latest created container (includes all states)", NULL},
      {"no-trunc", 0, FLAG_BOOL, &notrunc, "Don't truncate output", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Only display container IDs", NULL},
      {"size", 's', FLAG_BOOL, &size, "Display total file sizes", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *fj = NULL;
  if (filters_json(filters, &fj, &err) < 0) {
    cmd_print_err(err);
    return 125;
  }
  if (latest)
    last = 1;
  /* a custom format naming .Size asks for sizes too (docker does the same) */
  if (format && strstr(format, ".Size"))
    size = true;
  struct sb p = {0};
  sb_add(&p, "/containers/json");
  if (all || last > 0)
    sb_query(&p, "all", "1");
  if (last > 0) {
    _cleanup_free_ char *l = xasprintf("%lld", (long long)last);
    sb_query(&p, "limit", l);
  }
  if (size)
    sb_query(&p, "size", "1");
  if (fj)
    sb_query(&p, "filters", fj);
  _cleanup_free_ char *path = sb_steal(&p);
  const char *def = size ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
                         : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
  bool ids_only = quiet && (!format || !*format || !strncmp(format, "table", 5));
  const char *eff = format && *format && strcmp(format, "table") != 0 ? format : def;
  unsigned fields = ids_only ? PS_ID : ps_fields(eff);
  const char *keys[20];
  _cleanup_json_ json_t *list = NULL;
  if (cli_call_keys(ctx->cli, "GET", path, NULL, ps_keys(fields, keys), &list, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  double now = cli_now();
  _cleanup_json_ json_t *rows = json_array();
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) json_array_append_new(rows, ps_row(c, !notrunc, now, fields));
  if (ids_only) {
    json_array_foreach(rows, i, c) printf("%s\n", json_string_value(json_object_get(c, "ID")));
    return 0;
  }
  if (cli_print_rows(format, def, rows, ps_header, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

/* ---------- inspect ---------- */

/* kind: NULL (container, then image), "container", "image" */
static int inspect_common(struct cmd_ctx *ctx, int argc, char **argv, const char *kind) {
  const char *format = NULL, *type = kind;
  bool size = false;
  const struct flag flags_any[] = {
      {"format", 'f', FLAG_STR, &format, "Format output using a custom template", NULL},
      {"size", 's', FLAG_BOOL, &size, "Display total file sizes if the type is container", NULL},
      {"type", 0, FLAG_STR, &type, "Return JSON for specified type", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags_any, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  if (type && strcmp(type, "container") && strcmp(type, "image")) {
    fprintf(stderr, "\"%s\" is not a valid value for --type\n", type);
    return 1;
  }
  _cleanup_json_ json_t *items = json_array();
  _cleanup_sb_ struct sb errs = {0};
  for (char **a = args; *a; a++) {
    _cleanup_json_ json_t *j = NULL;
    int status = 0;
    _cleanup_berr_ struct berr *err = NULL;
    int r = -ENOENT;
    if (!type || !strcmp(type, "container")) {
      _cleanup_free_ char *p = cpath(*a, size ? "/json?size=1" : "/json");
      r = cli_call(ctx->cli, "GET", p, NULL, &j, &status, &err);
      if (r < 0 && status != 404) {
        sb_addf(&errs, "%s\n", err->msg);
        continue;
      }
    }
    if (r < 0 && (!type || !strcmp(type, "image"))) {
      berr_free(steal_ptr(err));
      struct sb p = {0};
      sb_add(&p, "/images/");
      sb_add_qs(&p, *a);
      sb_add(&p, "/json");
      _cleanup_free_ char *path = sb_steal(&p);
      r = cli_call(ctx->cli, "GET", path, NULL, &j, &status, &err);
      if (r < 0 && status != 404) {
        sb_addf(&errs, "%s\n", err->msg);
        continue;
      }
    }
    if (r < 0) {
      sb_addf(&errs, "Error: No such %s: %s\n", !type ? "object" : type, *a);
      continue;
    }
    json_array_append(items, j);
  }
  _cleanup_berr_ struct berr *err = NULL;
  if (cli_print_inspect(format, items, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  if (errs.len) {
    fputs(errs.s, stderr);
    return 1;
  }
  return 0;
}

int cmd_inspect(struct cmd_ctx *ctx, int argc, char **argv) { return inspect_common(ctx, argc, argv, NULL); }
int cmd_container_inspect(struct cmd_ctx *ctx, int argc, char **argv) {
  return inspect_common(ctx, argc, argv, "container");
}
int cmd_image_inspect(struct cmd_ctx *ctx, int argc, char **argv) {
  return inspect_common(ctx, argc, argv, "image");
}

/* ---------- logs ---------- */

int cmd_logs(struct cmd_ctx *ctx, int argc, char **argv) {
  bool follow = false, ts = false, details = false;
  const char *since = NULL, *until = NULL, *tail = "all";
  const struct flag flags[] = {
      {"details", 0, FLAG_BOOL, &details, "Show extra details provided to logs", NULL},
      {"follow", 'f', FLAG_BOOL, &follow, "Follow log output", NULL},
      {"since", 0, FLAG_STR, &since, "Show logs since timestamp or relative (e.g. 42m for 42 minutes)", NULL},
      {"tail", 'n', FLAG_STR, &tail, "Number of lines to show from the end of the logs (default \"all\")", NULL},
      {"timestamps", 't', FLAG_BOOL, &ts, "Show timestamps", NULL},
      {"until", 0, FLAG_STR, &until, "Show logs before a timestamp or relative (e.g. 42m for 42 minutes)", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *info = NULL;
  if (cli_inspect_container(ctx->cli, args[0], &info, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  bool tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
  struct sb p = {0};
  _cleanup_free_ char *base = cpath(args[0], "/logs?stdout=1&stderr=1");
  sb_add(&p, base);
  double now = cli_now();
  const char *tv[2] = {since, until};
  const char *tk[2] = {"since", "until"};
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
  if (follow)
    sb_add(&p, "&follow=1");
  if (ts)
    sb_add(&p, "&timestamps=1");
  if (details)
    sb_add(&p, "&details=1");
  sb_query(&p, "tail", tail);
  _cleanup_free_ char *path = sb_steal(&p);
  struct http_resp resp;
  if (cli_stream(ctx->cli, "GET", path, NULL, NULL, 0, &resp, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  rc = stream_demux_resp(&resp, tty, &err) < 0 ? 1 : 0;
  resp_free(&resp);
  if (rc)
    cmd_print_err(err);
  return rc;
}

/* ---------- top, diff, port ---------- */

int cmd_top(struct cmd_ctx *ctx, int argc, char **argv) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, false, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  struct sb p = {0};
  _cleanup_free_ char *base = cpath(args[0], "/top");
  sb_add(&p, base);
  if (args[1]) {
    struct sb a = {0};
    for (char **x = args + 1; *x; x++)
      sb_addf(&a, "%s%s", a.len ? " " : "", *x);
    sb_query(&p, "ps_args", a.s);
    sb_free(&a);
  }
  _cleanup_free_ char *path = sb_steal(&p);
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *r = NULL;
  if (cli_call(ctx->cli, "GET", path, NULL, &r, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  struct tabwriter *tw = tabwriter_new(20, 1, 3);
  struct sb line = {0};
  size_t i, j;
  json_t *t, *row;
  json_array_foreach(json_object_get(r, "Titles"), i, t) sb_addf(&line, "%s%s", i ? "\t" : "", json_string_value(t));
  sb_add(&line, "\n");
  json_array_foreach(json_object_get(r, "Processes"), i, row) {
    json_array_foreach(row, j, t) sb_addf(&line, "%s%s", j ? "\t" : "", json_string_value(t));
    sb_add(&line, "\n");
  }
  tabwriter_write(tw, line.s ? line.s : "");
  sb_free(&line);
  char *out = tabwriter_flush(tw);
  fputs(out, stdout);
  free(out);
  tabwriter_free(tw);
  return 0;
}

int cmd_diff(struct cmd_ctx *ctx, int argc, char **argv) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  _cleanup_free_ char *path = cpath(args[0], "/changes");
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *r = NULL;
  if (cli_call(ctx->cli, "GET", path, NULL, &r, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  size_t i;
  json_t *c;
  json_array_foreach(r, i, c) {
    int64_t k = json_integer_value(json_object_get(c, "Kind"));
    printf("%c %s\n", k == 1 ? 'A' : k == 2 ? 'D' : 'C', json_string_value(json_object_get(c, "Path")));
  }
  return 0;
}

static int port_key_cmp(const void *a, const void *b) {
  return strverscmp(*(const char *const *)a, *(const char *const *)b);
}

int cmd_port(struct cmd_ctx *ctx, int argc, char **argv) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 2)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *info = NULL;
  if (cli_inspect_container(ctx->cli, args[0], &info, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  json_t *ports = json_object_get(json_object_get(info, "NetworkSettings"), "Ports");
  _cleanup_free_ char *want = NULL;
  if (args[1])
    want = strchr(args[1], '/') ? xstrdup(args[1]) : xasprintf("%s/tcp", args[1]);
  size_t n = json_object_size(ports), k = 0;
  const char **keys = xcalloc(n + 1, sizeof(*keys));
  const char *key;
  json_t *v;
  json_object_foreach(ports, key, v) keys[k++] = key;
  qsort(keys, k, sizeof(*keys), port_key_cmp);
  bool found = false;
  for (size_t i = 0; i < k; i++) {
    if (want && strcmp(want, keys[i]))
      continue;
    size_t j;
    json_t *b;
    json_array_foreach(json_object_get(ports, keys[i]), j, b) {
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      bool v6 = ip && strchr(ip, ':');
      if (!ip || !*ip)
        ip = "0.0.0.0";
      if (want)
        printf("%s%s%s:%s\n", v6 ? "[" : "", ip, v6 ? "]" : "", hp ? hp : "");
      else
        printf("%s -> %s%s%s:%s\n", keys[i], v6 ? "[" : "", ip, v6 ? "]" : "", hp ? hp : "");
      found = true;
    }
  }
  free(keys);
  if (want && !found) {
    fprintf(stderr, "Error: No public port '%s' published for %s\n", want, args[0]);
    return 1;
  }
  return 0;
}

/* ---------- prune ---------- */

bool cli_confirm(const char *warning) {
  fprintf(stdout, "%s\nAre you sure you want to continue? [y/N] ", warning);
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof(line), stdin))
    return false;
  line[strcspn(line, "\r\n")] = '\0';
  return !strcasecmp(line, "y") || !strcasecmp(line, "yes");
}

int cmd_container_prune(struct cmd_ctx *ctx, int argc, char **argv) {
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
  return cli_prune(ctx, "WARNING! This will remove all stopped containers.", force, filters,
                   "/containers/prune", "ContainersDeleted", "Deleted Containers", true);
}

int cli_filters_json(char **filters, char **out, struct berr **err) { return filters_json(filters, out, err); }

/* ---- commit and export (store-import helper) ---- */

/* docker commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]: POST /commit; prints
 * the new image's ID. */
int cmd_commit(struct cmd_ctx *ctx, int argc, char **argv) {
  _cleanup_strv_ char **changes = NULL;
  const char *author = NULL, *message = NULL;
  bool pause = true;
  const struct flag flags[] = {
      {"author", 'a', FLAG_STR, &author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")", NULL},
      {"change", 'c', FLAG_STRV, &changes, "Apply Dockerfile instruction to the created image", NULL},
      {"message", 'm', FLAG_STR, &message, "Commit message", NULL},
      {"pause", 'p', FLAG_BOOL, &pause, "Pause container during commit (default true)", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 2)))
    return rc;
  struct sb p = {0};
  sb_add(&p, "/commit");
  sb_query(&p, "container", args[0]);
  if (args[1]) {
    if (strchr(args[1], '@')) {
      fprintf(stderr, "refusing to create a tag with a digest reference\n");
      return 1;
    }
    /* REPOSITORY[:TAG]: a ':' after the last '/' starts the tag */
    const char *slash = strrchr(args[1], '/');
    const char *colon = strrchr(slash ? slash : args[1], ':');
    _cleanup_free_ char *repo = colon ? xasprintf("%.*s", (int)(colon - args[1]), args[1]) : xstrdup(args[1]);
    sb_query(&p, "repo", repo);
    sb_query(&p, "tag", colon ? colon + 1 : "latest");
  }
  if (message)
    sb_query(&p, "comment", message);
  if (author)
    sb_query(&p, "author", author);
  for (char **c = changes; c && *c; c++)
    sb_query(&p, "changes", *c);
  if (!pause)
    sb_query(&p, "pause", "0");
  _cleanup_free_ char *path = sb_steal(&p);
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *res = NULL;
  if (cli_call(ctx->cli, "POST", path, NULL, &res, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  const char *id = json_string_value(json_object_get(res, "Id"));
  printf("%s\n", id ? id : "");
  return 0;
}

/* docker export [-o FILE] CONTAINER: the container's filesystem as a tar. */
int cmd_export(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *output = NULL;
  const struct flag flags[] = {
      {"output", 'o', FLAG_STR, &output, "Write to a file, instead of STDOUT", NULL}, {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  if (!output && isatty(STDOUT_FILENO)) {
    fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    return 1;
  }
  _cleanup_free_ char *path = cpath(args[0], "/export");
  _cleanup_berr_ struct berr *err = NULL;
  struct http_resp resp;
  if (cli_stream(ctx->cli, "GET", path, NULL, NULL, 0, &resp, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  _cleanup_free_ char *tmp = output ? xasprintf("%s.berth-tmp", output) : NULL;
  _cleanup_close_ int fd = output ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
  if (output && fd < 0) {
    fprintf(stderr, "failed to export container: open %s: %s\n", output, strerror(errno));
    resp_free(&resp);
    return 1;
  }
  int out = output ? fd : STDOUT_FILENO;
  char buf[65536];
  ssize_t k;
  while (rc == 0 && (k = resp_read(&resp, buf, sizeof buf)) != 0) {
    if (k < 0) {
      rc = berr_set(&err, EPROTO, "error reading the daemon's stream: unexpected EOF");
      break;
    }
    for (ssize_t off = 0; rc == 0 && off < k;) {
      ssize_t w = write(out, buf + off, (size_t)(k - off));
      if (w < 0 && errno != EINTR)
        rc = berr_sys(&err, errno, "write");
      else if (w > 0)
        off += w;
    }
  }
  resp_free(&resp);
  if (rc == 0 && output && rename(tmp, output) < 0)
    rc = berr_sys(&err, errno, "failed to export container: rename %s", output);
  if (rc < 0) {
    if (output)
      unlink(tmp);
    cmd_print_err(err);
    return 1;
  }
  return 0;
}
