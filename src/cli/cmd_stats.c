/*
 * cmd_stats.c — stats (one-shot with --no-stream, else a table redrawn each
 * second) and cp (tar streams through the archive API).
 *
 * Live mode reads one streamed GET /containers/{id}/stats per container,
 * each in a thread of its own that keeps the latest sample, and redraws the
 * table every 500 ms as the docker CLI does; a stream that ends (the
 * container stopped) shows its row as "--".
 *
 * stats computes docker's columns from the API's stats JSON: CPU % from the
 * cpu / precpu deltas times the online CPUs, memory usage minus the page
 * cache (inactive_file on cgroup v2, total_inactive_file on v1), network and
 * block I/O sums.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>

#include "cli/cli.h"

static const struct cli_column stats_cols[] = {
    {"ID", "CONTAINER ID"}, {"Container", "CONTAINER"}, {"Name", "NAME"}, {"CPUPerc", "CPU %"},
    {"MemUsage", "MEM USAGE / LIMIT"}, {"MemPerc", "MEM %"}, {"NetIO", "NET I/O"},
    {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"}, {NULL, NULL}};

static const char *stats_header(const char *f) { return cli_column_title(stats_cols, f); }

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

/* the row of a container whose stream ended: docker's "--" cells */
static json_t *stats_row_invalid(const char *container, const char *id, const char *name, bool trunc) {
  _cleanup_free_ char *tid = trunc ? fmt_trunc_id(id) : xstrdup(id);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", container, "ID", tid,
                   "Name", name[0] == '/' ? name + 1 : name, "CPUPerc", "--", "MemUsage", "-- / --",
                   "MemPerc", "--", "NetIO", "--", "BlockIO", "--", "PIDs", "--");
}

/* one container's stream in live mode */
struct stats_feed {
  char *container;        /* the name or ID the user gave (the Container column) */
  struct http_resp resp;  /* the streamed response (owns its connection) */
  pthread_t reader;
  bool started;           /* reader thread running */
  pthread_mutex_t *lock;  /* shared by every feed: guards latest and ended */
  json_t *latest;         /* the last sample read, NULL before the first */
  bool ended;             /* the stream ended */
};

/* reader thread: newline-delimited JSON samples into f->latest */
static void *stats_feed_read(void *arg) {
  struct stats_feed *f = arg;
  struct sb line = {0};
  char buf[16384];
  ssize_t k;
  while ((k = resp_read(&f->resp, buf, sizeof(buf))) > 0) {
    sb_addn(&line, buf, (size_t)k);
    char *nl;
    while (line.s && (nl = strchr(line.s, '\n'))) {
      *nl = '\0';
      json_t *j = json_loads(line.s, 0, NULL);
      if (j) {
        pthread_mutex_lock(f->lock);
        json_decref(f->latest);
        f->latest = j;
        pthread_mutex_unlock(f->lock);
      }
      size_t rest = line.len - (size_t)(nl + 1 - line.s);
      memmove(line.s, nl + 1, rest + 1);
      line.len = rest;
    }
  }
  sb_free(&line);
  pthread_mutex_lock(f->lock);
  f->ended = true;
  pthread_mutex_unlock(f->lock);
  return NULL;
}

/* open the stream of every container; a name given by the user that fails
 * is an error (exit 1), one from the list is skipped */
static int stats_feeds_open(struct cli *cli, char **names, bool named, pthread_mutex_t *lock,
                            struct stats_feed **out, size_t *n, struct berr **err) {
  size_t cnt = strv_len(names);
  struct stats_feed *feeds = xcalloc(cnt ? cnt : 1, sizeof(*feeds));
  size_t k = 0;
  for (size_t i = 0; i < cnt; i++) {
    struct sb p = {0};
    sb_add(&p, "/containers/");
    sb_add_qs(&p, names[i]);
    sb_add(&p, "/stats?stream=1");
    _cleanup_free_ char *path = sb_steal(&p);
    struct stats_feed *f = &feeds[k];
    _cleanup_berr_ struct berr *e = NULL;
    if (cli_stream(cli, "GET", path, NULL, NULL, 0, &f->resp, &e) < 0) {
      if (named) {
        *err = steal_ptr(e);
        *out = feeds, *n = k;
        return -1;
      }
      continue;
    }
    f->container = names[i];
    f->lock = lock;
    k++;
  }
  *out = feeds, *n = k;
  return 0;
}

static void stats_feeds_start(struct stats_feed *feeds, size_t n) {
  for (size_t i = 0; i < n; i++)
    feeds[i].started = pthread_create(&feeds[i].reader, NULL, stats_feed_read, &feeds[i]) == 0;
}

/* the table's rows from the latest samples */
static json_t *stats_feeds_rows(struct stats_feed *feeds, size_t n, bool trunc) {
  json_t *rows = json_array();
  for (size_t i = 0; i < n; i++) {
    struct stats_feed *f = &feeds[i];
    pthread_mutex_lock(f->lock);
    json_t *s = json_incref(f->latest);
    bool ended = f->ended;
    pthread_mutex_unlock(f->lock);
    if (!s) /* no sample yet: the row comes with the first (sent at once) */
      continue;
    const char *id = json_string_value(json_object_get(s, "id"));
    const char *name = json_string_value(json_object_get(s, "name"));
    json_array_append_new(rows, ended ? stats_row_invalid(f->container, id ? id : "", name ? name : "", trunc)
                                      : stats_row(f->container, s, trunc));
    json_decref(s);
  }
  return rows;
}

/* live mode: redraw every 500 ms until interrupted */
static int stats_live(struct cmd_ctx *ctx, char **names, bool named, const char *format,
                      const char *def, bool trunc) {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  struct stats_feed *feeds = NULL;
  size_t n = 0;
  _cleanup_berr_ struct berr *err = NULL;
  int rc = 0;
  if (stats_feeds_open(ctx->cli, names, named, &lock, &feeds, &n, &err) < 0) {
    cmd_print_err(err);
    for (size_t i = 0; i < n; i++)
      resp_free(&feeds[i].resp);
    free(feeds);
    return 1;
  }
  stats_feeds_start(feeds, n);
  for (;;) {
    _cleanup_json_ json_t *rows = stats_feeds_rows(feeds, n, trunc);
    printf("\033[2J\033[H");
    if (cli_print_rows(format, def, rows, stats_header, &err) < 0) {
      cmd_print_err(err);
      rc = 1;
      break;
    }
    fflush(stdout);
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  /* only reached on an error: the readers may still block in resp_read, so
   * the process ends without joining them (exit closes their sockets) */
  return rc;
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
  if (!nostream)
    return stats_live(ctx, names, args[0] != NULL, format, def, !notrunc);
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
  if (cli_print_rows(format, def, rows, stats_header, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  fflush(stdout);
  return 0;
}

/* ---------- cp ----------
 *
 * docker cp's rules (moby pkg/archive copy.go), with the tar work done by
 * libarchive:
 *  - a container path is stat'ed with HEAD .../archive (the base64 JSON of
 *    X-Docker-Container-Path-Stat); GET returns a tar whose entries are named
 *    after the source's base name ("etc/passwd"), or "./x" for "dir/.";
 *  - the destination decides where the tar is extracted and whether the
 *    first path component is renamed: an existing directory takes the source
 *    as is; an existing file (source a file) or a missing path (its parent
 *    must exist) takes the source renamed to the destination's base name; a
 *    directory source onto an existing file is "cannot copy directory", a
 *    file onto a missing "dir/" is "no such directory";
 *  - -L follows a symlink source (the name of the link is kept); a symlink
 *    destination is followed; -a keeps uid/gid into the container (from a
 *    container the files belong to the caller, as docker's NoLchown). */

#include <archive.h>
#include <ctype.h>
#include <archive_entry.h>
#include <dirent.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sys/stat.h>

struct cp_info {
  char *path;   /* cleaned, "/." or "/" kept */
  bool exists, is_dir;
  char *rebase; /* the name the first component takes in the tar, or NULL */
};

static void cp_info_free(struct cp_info *i) {
  free(i->path);
  free(i->rebase);
}

/* Go's filepath.Clean */
static char *go_clean(const char *p) {
  bool abs = p[0] == '/';
  size_t n = strlen(p);
  char **parts = xcalloc(n + 1, sizeof(*parts));
  size_t np = 0;
  _cleanup_free_ char *copy = xstrdup(p);
  for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
    if (!strcmp(t, "."))
      continue;
    if (!strcmp(t, "..")) {
      if (np && strcmp(parts[np - 1], ".."))
        np--;
      else if (!abs)
        parts[np++] = t;
      continue;
    }
    parts[np++] = t;
  }
  struct sb b = {0};
  if (abs)
    sb_add(&b, "/");
  for (size_t i = 0; i < np; i++) {
    if (i)
      sb_add(&b, "/");
    sb_add(&b, parts[i]);
  }
  free(parts);
  if (!b.len)
    sb_add(&b, ".");
  return sb_steal(&b);
}

static bool ends_with_sep(const char *p) { size_t n = strlen(p); return n && p[n - 1] == '/'; }

/* filepath.Base(p) == "." ("dir/.", "dir/./") */
static bool specifies_cur_dir(const char *p) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  return (n == 1 && p[0] == '.') || (n >= 2 && p[n - 1] == '.' && p[n - 2] == '/');
}

static bool asserts_dir(const char *p) { return ends_with_sep(p) || specifies_cur_dir(p); }

/* moby's SplitPathDirEntry: "/a/b/." → ("/a/b", "."), "/a/b/" → ("/a", "b") */
static void split_dir_entry(const char *path, char **dir, char **base) {
  _cleanup_free_ char *c = go_clean(path);
  _cleanup_free_ char *full = specifies_cur_dir(path) ? xasprintf("%s/.", c) : xstrdup(c);
  char *slash = strrchr(full, '/');
  if (!slash) {
    *dir = xstrdup(".");
    *base = xstrdup(full);
  } else if (slash == full) {
    *dir = xstrdup("/");
    *base = xstrdup(slash[1] ? slash + 1 : "/");
  } else {
    *dir = strndup(full, (size_t)(slash - full));
    *base = xstrdup(slash + 1);
  }
}

/* an absolute local path keeping a trailing "/" or "/." (resolveLocalPath) */
static char *local_abs(const char *p) {
  char cwd[PATH_MAX];
  _cleanup_free_ char *joined = p[0] == '/' || !getcwd(cwd, sizeof(cwd)) ? xstrdup(p)
                                                                        : xasprintf("%s/%s", cwd, p);
  _cleanup_free_ char *c = go_clean(joined);
  if (specifies_cur_dir(p))
    return strcmp(c, "/") ? xasprintf("%s/.", c) : xstrdup("/.");
  if (ends_with_sep(p) && strcmp(c, "/"))
    return xasprintf("%s/", c);
  return xstrdup(c);
}

static char *base_name(const char *p) {
  _cleanup_free_ char *d = NULL;
  char *b = NULL;
  split_dir_entry(p, &d, &b);
  return b;
}

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

static char *archive_path(const char *ctr, const char *path) {
  struct sb p = {0};
  sb_add(&p, "/containers/");
  sb_add_qs(&p, ctr);
  sb_add(&p, "/archive");
  sb_query(&p, "path", path);
  return sb_steal(&p);
}

static json_t *decode_path_stat(const char *b64) {
  if (!b64)
    return NULL;
  size_t n = strlen(b64);
  _cleanup_free_ unsigned char *out = xcalloc(n + 4, 1);
  int k = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
  if (k < 0)
    return NULL;
  return json_loadb((const char *)out, strnlen((const char *)out, (size_t)k), 0, NULL);
}

/* HEAD /containers/ID/archive: the stat JSON, or -ENOENT (docker's "No such container:path") */
static int ctr_stat(struct cli *cli, const char *ctr, const char *path, json_t **out, struct berr **err) {
  _cleanup_conn_ struct conn *c = NULL;
  _cleanup_free_ char *p = archive_path(ctr, path);
  struct http_resp resp;
  int r = cli_negotiate(cli, err);
  if (r < 0 || (r = cli_conn_open(cli, &c, err)) < 0 ||
      (r = http_send(cli, c, "HEAD", p, NULL, NULL, 0, NULL, err)) < 0 ||
      (r = http_read_head(c, &resp, err)) < 0)
    return r;
  int st = resp.status;
  *out = decode_path_stat(resp.path_stat);
  resp_free(&resp);
  if (st == 404) {
    json_decref(*out);
    *out = NULL;
    return berr_set(err, ENOENT, "Error: No such container:path: %s:%s", ctr, path);
  }
  if (st >= 400 || !*out) {
    json_decref(*out);
    *out = NULL;
    return berr_set(err, EIO, "Error response from daemon: cannot stat %s:%s (HTTP %d)", ctr, path, st);
  }
  return 0;
}

/* Go's os.FileMode bits in the stat JSON */
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)

static uint64_t stat_mode(const json_t *st) { return (uint64_t)json_integer_value(json_object_get(st, "mode")); }

/* moby GetRebaseName: keep "/." and "/" of `path` on the resolved path; the
 * original base name when resolution changed it */
static void rebase_name(const char *path, char *resolved, struct cp_info *out) {
  _cleanup_free_ char *r = resolved;
  if (specifies_cur_dir(path) && !specifies_cur_dir(r)) {
    char *x = xasprintf("%s/.", r);
    free(r);
    r = x;
  }
  if (ends_with_sep(path) && !ends_with_sep(r)) {
    char *x = xasprintf("%s/", r);
    free(r);
    r = x;
  }
  _cleanup_free_ char *b1 = base_name(path), *b2 = base_name(r);
  out->rebase = strcmp(b1, b2) ? xstrdup(b1) : NULL;
  out->path = steal_ptr(r);
}

/* The tar's first path component `old` becomes `new` (moby RebaseArchiveEntries). */
static char *rebase_entry(const char *name, const char *old, const char *new) {
  if (!old || !new)
    return xstrdup(name);
  const char *n = name;
  if (!strcmp(old, ".") && n[0] == '.' && (n[1] == '/' || !n[1]))
    return xasprintf("%s%s", new, n + 1);
  size_t ol = strlen(old);
  if (!strncmp(n, old, ol) && (n[ol] == '/' || !n[ol]))
    return xasprintf("%s%s", new, n + ol);
  return xstrdup(name);
}

/* moby CopyInfoDestinationPath for a local path: follow symlinks; a missing
 * path is fine when its parent is a directory */
static int local_dest_info(const char *path, struct cp_info *out, struct berr **err) {
  _cleanup_free_ char *p = xstrdup(path);
  struct stat st;
  int r = lstat(p, &st);
  for (int n = 0; r == 0 && S_ISLNK(st.st_mode); n++) {
    if (n > 10)
      return berr_set(err, ELOOP, "too many symlinks in %s", path);
    char target[PATH_MAX];
    ssize_t k = readlink(p, target, sizeof(target) - 1);
    if (k < 0)
      return berr_sys(err, errno, "readlink %s", p);
    target[k] = '\0';
    _cleanup_free_ char *dir = NULL, *base = NULL;
    split_dir_entry(p, &dir, &base);
    char *np = target[0] == '/' ? go_clean(target) : xasprintf("%s/%s", dir, target);
    free(p);
    p = go_clean(np);
    free(np);
    r = lstat(p, &st);
  }
  if (r < 0) {
    if (errno != ENOENT)
      return berr_sys(err, errno, "lstat %s", p);
    _cleanup_free_ char *dir = NULL, *base = NULL;
    split_dir_entry(p, &dir, &base);
    struct stat ps;
    if (stat(dir, &ps) < 0)
      return berr_sys(err, errno, "stat %s", dir);
    if (!S_ISDIR(ps.st_mode))
      return berr_set(err, ENOTDIR, "not a directory");
    out->path = steal_ptr(p);
    return 0;
  }
  out->path = steal_ptr(p);
  out->exists = true;
  out->is_dir = S_ISDIR(st.st_mode);
  return 0;
}

/* moby PrepareArchiveCopy: where to extract and how to rename the first component */
static int prepare_copy(const struct cp_info *src, const struct cp_info *dst, char **dir,
                        char **old_base, char **new_base, struct berr **err) {
  _cleanup_free_ char *ddir = NULL, *dbase = NULL, *sdir = NULL, *sbase = NULL;
  split_dir_entry(dst->path, &ddir, &dbase);
  split_dir_entry(src->path, &sdir, &sbase);
  *old_base = *new_base = NULL;
  if (dst->exists && dst->is_dir) {
    *dir = xstrdup(dst->path);
    return 0;
  }
  if (dst->exists && src->is_dir)
    return berr_set(err, EISDIR, "cannot copy directory");
  if (!dst->exists && !src->is_dir && asserts_dir(dst->path))
    return berr_set(err, ENOENT, "no such directory");
  *dir = steal_ptr(ddir);
  *old_base = src->rebase ? xstrdup(src->rebase) : steal_ptr(sbase);
  *new_base = steal_ptr(dbase);
  return 0;
}

struct resp_src {
  struct http_resp *r;
  char buf[65536];
  int64_t total;
};

static la_ssize_t resp_src_read(struct archive *a, void *data, const void **buf) {
  struct resp_src *s = data;
  ssize_t k = resp_read(s->r, s->buf, sizeof(s->buf));
  if (k < 0) {
    archive_set_error(a, EIO, "unexpected EOF");
    return -1;
  }
  s->total += k;
  *buf = s->buf;
  return k;
}

/* Files are written by hand rather than by archive_write_disk (whose ACL
 * code would pull libacl into the static CLI): every entry is opened with
 * openat2(RESOLVE_IN_ROOT) under the destination directory, so "..", an
 * absolute name or a symlink in the tar cannot write outside it. */
static int open_in_root(int rootfd, const char *rel, int flags, mode_t mode) {
  int fd = fs_open_in_root(rootfd, rel[0] ? rel : ".", flags, mode);
  if (fd < 0) {
    errno = -fd;
    return -1;
  }
  return fd;
}

/* The parent directory of `name` (made when missing) and its last component. */
static int entry_parent(int rootfd, const char *name, const char **base, struct berr **err) {
  _cleanup_free_ char *dir = xstrdup(name);
  char *slash = strrchr(dir, '/');
  *base = slash ? name + (slash - dir) + 1 : name;
  if (!slash)
    return open_in_root(rootfd, "", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  *slash = '\0';
  int fd = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  for (char *p = dir; fd < 0 && errno == ENOENT && p;) { /* mkdir -p, in the root */
    p = strchr(p + 1, '/');
    if (p)
      *p = '\0';
    _cleanup_close_ int up = -1;
    char *s2 = strrchr(dir, '/');
    const char *leaf = s2 ? s2 + 1 : dir;
    if (s2) {
      *s2 = '\0';
      up = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
      *s2 = '/';
    } else {
      up = open_in_root(rootfd, "", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    }
    if (up >= 0 && mkdirat(up, leaf, 0755) < 0 && errno != EEXIST)
      return berr_sys(err, errno, "mkdir %s", dir);
    if (p)
      *p = '/';
    else
      fd = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  }
  if (fd < 0)
    return berr_sys(err, errno, "open %s", dir);
  return fd;
}

static int write_entry(struct archive *in, struct archive_entry *e, int rootfd, const char *name,
                       const char *link, struct berr **err) {
  const char *base;
  _cleanup_close_ int pfd = entry_parent(rootfd, name, &base, err);
  if (pfd < 0)
    return pfd;
  if (!*base || !strcmp(base, ".")) /* the root itself: "./" */
    return 0;
  mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e);
  struct stat old;
  bool exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
  /* docker's NoOverwriteDirNonDir */
  if (exists && S_ISDIR(old.st_mode) != (type == AE_IFDIR))
    return berr_set(err, EEXIST, S_ISDIR(old.st_mode) ? "cannot overwrite directory \"%s\" with non-directory \"%s\""
                                                      : "cannot overwrite non-directory \"%s\" with directory \"%s\"",
                    name, name);
  if (exists && type != AE_IFDIR)
    unlinkat(pfd, base, 0);
  int r = 0;
  if (link) { /* a hard link to an entry already extracted */
    const char *lbase;
    _cleanup_close_ int lfd = entry_parent(rootfd, link, &lbase, err);
    if (lfd < 0)
      return lfd;
    if (linkat(lfd, lbase, pfd, base, 0) < 0)
      return berr_sys(err, errno, "link %s", name);
    return 0;
  }
  if (type == AE_IFDIR) {
    if (!exists && mkdirat(pfd, base, perm) < 0)
      return berr_sys(err, errno, "mkdir %s", name);
  } else if (type == AE_IFLNK) {
    if (symlinkat(archive_entry_symlink(e), pfd, base) < 0)
      return berr_sys(err, errno, "symlink %s", name);
  } else if (type == AE_IFREG) {
    _cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
    if (fd < 0)
      return berr_sys(err, errno, "open %s", name);
    const void *buf;
    size_t sz;
    la_int64_t off;
    int ar;
    while ((ar = archive_read_data_block(in, &buf, &sz, &off)) == ARCHIVE_OK)
      if (pwrite(fd, buf, sz, off) != (ssize_t)sz)
        return berr_sys(err, errno, "write %s", name);
    if (ar != ARCHIVE_EOF)
      return berr_set(err, EIO, "unexpected EOF");
    if (ftruncate(fd, archive_entry_size(e)) < 0)
      return berr_sys(err, errno, "write %s", name);
  } else if (mknodat(pfd, base, type | perm, archive_entry_rdev(e)) < 0) {
    return berr_sys(err, errno, "mknod %s", name);
  }
  if (type != AE_IFLNK && fchmodat(pfd, base, perm, 0) < 0)
    r = berr_sys(err, errno, "chmod %s", name);
  struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
                           {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (!archive_entry_atime_is_set(e))
    ts[0] = ts[1];
  utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
  return r;
}

/* Extract the tar of `resp` under dir, renaming the first component. */
static int extract_to(struct http_resp *resp, const char *dir, const char *old, const char *new,
                      int64_t *total, struct berr **err) {
  struct resp_src src = {.r = resp};
  _cleanup_close_ int rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berr_sys(err, errno, "open %s", dir);
  struct archive *in = archive_read_new();
  archive_read_support_format_tar(in);
  int r = 0;
  _cleanup_strv_ char **dirs = NULL; /* their times are set last: their contents change them */
  _cleanup_json_ json_t *times = json_array();
  if (archive_read_open(in, &src, NULL, resp_src_read, NULL) != ARCHIVE_OK) {
    r = berr_set(err, EIO, "invalid copy source content: %s", archive_error_string(in));
    goto done;
  }
  struct archive_entry *e;
  int ar;
  while ((ar = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
    _cleanup_free_ char *name = rebase_entry(archive_entry_pathname(e), old, new);
    const char *hl = archive_entry_hardlink(e);
    _cleanup_free_ char *link = hl ? rebase_entry(hl, old, new) : NULL;
    size_t n = strlen(name);
    while (n > 1 && name[n - 1] == '/')
      name[--n] = '\0';
    if ((r = write_entry(in, e, rootfd, name, link, err)) < 0)
      goto done;
    if (archive_entry_filetype(e) == AE_IFDIR) {
      dirs = strv_append(dirs, xstrdup(name));
      json_array_append_new(times, json_pack("[I,I]", (json_int_t)archive_entry_mtime(e),
                                             (json_int_t)archive_entry_mtime_nsec(e)));
    }
  }
  if (ar != ARCHIVE_EOF)
    r = berr_set(err, EIO, "%s", archive_error_string(in));
  for (size_t i = 0; r == 0 && dirs && dirs[i]; i++) {
    _cleanup_close_ int fd = open_in_root(rootfd, dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    json_t *t = json_array_get(times, i);
    struct timespec ts[2] = {{json_integer_value(json_array_get(t, 0)), json_integer_value(json_array_get(t, 1))}};
    ts[1] = ts[0];
    if (fd >= 0)
      futimens(fd, ts);
  }
done:
  *total = src.total;
  archive_read_free(in);
  return r;
}

static int copy_from_container(struct cli *cli, const char *ctr, const char *srcp, const char *dstp,
                               bool follow, bool quiet, struct berr **err) {
  struct cp_info src = {0};
  _cleanup_free_ char *local = strcmp(dstp, "-") ? local_abs(dstp) : NULL;
  src.path = xstrdup(srcp);
  if (follow) {
    _cleanup_json_ json_t *st = NULL;
    _cleanup_berr_ struct berr *e = NULL;
    if (ctr_stat(cli, ctr, srcp, &st, &e) == 0 && (stat_mode(st) & GO_MODE_SYMLINK)) {
      const char *lt = json_string_value(json_object_get(st, "linkTarget"));
      _cleanup_free_ char *d = NULL, *b = NULL;
      split_dir_entry(srcp, &d, &b);
      char *target = lt && lt[0] == '/' ? go_clean(lt) : xasprintf("%s/%s", d, lt ? lt : "");
      char *clean = go_clean(target);
      free(target);
      free(src.path);
      src.path = NULL;
      rebase_name(srcp, clean, &src);
    }
  }
  _cleanup_free_ char *p = archive_path(ctr, src.path);
  struct http_resp resp;
  int r = cli_stream(cli, "GET", p, NULL, NULL, 0, &resp, err);
  if (r < 0) {
    cp_info_free(&src);
    return r;
  }
  if (!local) {
    char buf[65536];
    ssize_t k;
    while ((k = resp_read(&resp, buf, sizeof(buf))) > 0)
      if (write(STDOUT_FILENO, buf, (size_t)k) != k) {
        k = -1;
        break;
      }
    resp_free(&resp);
    cp_info_free(&src);
    return k < 0 ? berr_sys(err, errno ? errno : EIO, "write to stdout") : 0;
  }
  _cleanup_json_ json_t *st = decode_path_stat(resp.path_stat);
  src.exists = true;
  src.is_dir = (stat_mode(st) & GO_MODE_DIR) != 0;
  struct cp_info dst = {0};
  _cleanup_free_ char *dir = NULL, *old = NULL, *new = NULL;
  int64_t total = 0;
  r = local_dest_info(local, &dst, err);
  if (r == 0)
    r = prepare_copy(&src, &dst, &dir, &old, &new, err);
  if (r == 0 && src.rebase) { /* -L: the tar is named after the target; rename to the link's name first */
    free(old);
    old = base_name(src.path);
    if (!new)
      new = xstrdup(src.rebase);
  }
  if (r == 0)
    r = extract_to(&resp, dir, old, new, &total, err);
  resp_free(&resp);
  if (r == 0 && !quiet && isatty(STDERR_FILENO)) {
    _cleanup_free_ char *sz = fmt_human_size((double)total, 3);
    fprintf(stderr, "Successfully copied %s to %s\n", sz, local);
  }
  cp_info_free(&src);
  cp_info_free(&dst);
  return r;
}

/* ---- local → container ---- */

struct tar_out {
  struct archive *a;
  const char *strip;   /* the local source directory + "/" */
  const char *old, *new;
  struct berr **err;
};

static int tar_add(struct tar_out *t, const char *path, bool follow);

static int tar_add_dir(struct tar_out *t, const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return berr_sys(t->err, errno, "open %s", path);
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    _cleanup_free_ char *child = xasprintf("%s/%s", path, de->d_name);
    r = tar_add(t, child, false);
  }
  closedir(d);
  return r;
}

static int tar_add(struct tar_out *t, const char *path, bool follow) {
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
    return berr_sys(t->err, errno, "lstat %s", path);
  const char *rel = path + strlen(t->strip);
  _cleanup_free_ char *name = rebase_entry(rel, t->old, t->new);
  struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, &st);
  archive_entry_copy_pathname(e, name);
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t k = readlink(path, target, sizeof(target) - 1);
    if (k >= 0) {
      target[k] = '\0';
      archive_entry_copy_symlink(e, target);
    }
  }
  if (!S_ISREG(st.st_mode))
    archive_entry_set_size(e, 0);
  int r = 0;
  if (archive_write_header(t->a, e) != ARCHIVE_OK)
    r = berr_set(t->err, EIO, "tar %s: %s", path, archive_error_string(t->a));
  archive_entry_free(e);
  if (r == 0 && S_ISREG(st.st_mode)) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return berr_sys(t->err, errno, "open %s", path);
    char buf[65536];
    ssize_t k;
    while ((k = read(fd, buf, sizeof(buf))) > 0)
      if (archive_write_data(t->a, buf, (size_t)k) < 0)
        return berr_set(t->err, EIO, "tar %s: %s", path, archive_error_string(t->a));
  }
  if (r == 0 && S_ISDIR(st.st_mode))
    r = tar_add_dir(t, path);
  return r;
}

/* an os.PathError's text: "lstat /x: no such file or directory" */
static int go_path_err(struct berr **err, int e, const char *op, const char *path) {
  _cleanup_free_ char *why = xstrdup(strerror(e));
  why[0] = (char)tolower((unsigned char)why[0]);
  return berr_set(err, e, "%s %s: %s", op, path, why);
}

/* moby ResolveHostSourcePath + CopyInfoSourcePath */
static int local_source_info(const char *path, bool follow, struct cp_info *out, struct berr **err) {
  char rp[PATH_MAX];
  if (follow) {
    if (!realpath(path, rp))
      return go_path_err(err, errno, "lstat", path);
    rebase_name(path, xstrdup(rp), out);
  } else {
    _cleanup_free_ char *dir = NULL, *base = NULL;
    /* filepath.Split: the directory part keeps its slash, the base may be empty */
    const char *slash = strrchr(path, '/');
    dir = slash ? strndup(path, (size_t)(slash - path) + 1) : xstrdup(".");
    base = xstrdup(slash ? slash + 1 : path);
    if (!realpath(dir, rp))
      return go_path_err(err, errno, "lstat", path);
    out->path = xasprintf("%s/%s", strcmp(rp, "/") ? rp : "", base);
    _cleanup_free_ char *b1 = base_name(path), *b2 = base_name(out->path);
    if (ends_with_sep(path) && strcmp(b1, b2))
      out->rebase = xstrdup(b1);
  }
  struct stat st;
  if (lstat(out->path, &st) < 0)
    return go_path_err(err, errno, "lstat", out->path);
  out->exists = true;
  out->is_dir = S_ISDIR(st.st_mode);
  return 0;
}

static int copy_to_container(struct cli *cli, const char *ctr, const char *srcp, const char *dstp,
                             bool follow, bool uidgid, bool quiet, struct berr **err) {
  struct cp_info dst = {.path = xstrdup(dstp)};
  _cleanup_json_ json_t *st = NULL;
  _cleanup_berr_ struct berr *se = NULL;
  int sr = ctr_stat(cli, ctr, dstp, &st, &se);
  if (sr == 0 && (stat_mode(st) & GO_MODE_SYMLINK)) {
    const char *lt = json_string_value(json_object_get(st, "linkTarget"));
    _cleanup_free_ char *d = NULL, *b = NULL;
    split_dir_entry(dstp, &d, &b);
    free(dst.path);
    dst.path = lt && lt[0] == '/' ? xstrdup(lt) : xasprintf("%s/%s", d, lt ? lt : "");
    json_decref(steal_ptr(st));
    berr_free(steal_ptr(se));
    sr = ctr_stat(cli, ctr, dst.path, &st, &se);
  }
  if (sr < 0 && se && se->code != ENOENT) {
    *err = steal_ptr(se);
    cp_info_free(&dst);
    return -EIO;
  }
  if (sr == 0) {
    uint64_t m = stat_mode(st);
    /* ValidateOutputPathFileMode: a device, pipe or socket is no destination */
    if (m & ((1u << 26) | (1u << 25) | (1u << 24) | (1u << 21))) {
      cp_info_free(&dst);
      return berr_set(err, EINVAL, "destination \"%s:%s\" must be a directory or a regular file", ctr, dstp);
    }
    dst.exists = true;
    dst.is_dir = (m & GO_MODE_DIR) != 0;
  }
  int r = 0;
  _cleanup_free_ char *dir = NULL;
  _cleanup_close_ int fd = -1;
  int64_t size = 0;
  if (!strcmp(srcp, "-")) {
    if (!dst.is_dir) {
      cp_info_free(&dst);
      return berr_set(err, ENOTDIR, "destination \"%s:%s\" must be a directory", ctr, dstp);
    }
    dir = xstrdup(dst.path);
  } else {
    _cleanup_free_ char *local = local_abs(srcp), *old = NULL, *new = NULL;
    struct cp_info src = {0};
    r = local_source_info(local, follow, &src, err);
    if (r == 0)
      r = prepare_copy(&src, &dst, &dir, &old, &new, err);
    if (r == 0) {
      /* the tar goes to an unnamed temp file, then up as a chunked body */
      fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0)
        r = berr_sys(err, errno, "create a temporary file");
    }
    if (r == 0) {
      _cleanup_free_ char *sdir = NULL, *sbase = NULL;
      split_dir_entry(src.path, &sdir, &sbase);
      _cleanup_free_ char *strip = strcmp(sdir, "/") ? xasprintf("%s/", sdir) : xstrdup("/");
      /* the first component: the source's base name, renamed for the copy
       * (PrepareArchiveCopy) or else to its rebase name (-L, trailing "/") */
      struct archive *a = archive_write_new();
      archive_write_set_format_pax_restricted(a);
      archive_write_open_fd(a, fd);
      _cleanup_free_ char *top = xasprintf("%s%s", strip, sbase);
      struct tar_out t = {.a = a, .strip = strip, .old = sbase,
                          .new = new ? new : src.rebase, .err = err};
      r = tar_add(&t, top, false);
      if (archive_write_close(a) != ARCHIVE_OK && r == 0)
        r = berr_set(err, EIO, "tar: %s", archive_error_string(a));
      archive_write_free(a);
      size = lseek(fd, 0, SEEK_CUR);
      lseek(fd, 0, SEEK_SET);
    }
    cp_info_free(&src);
  }
  if (r == 0) {
    _cleanup_free_ char *p = archive_path(ctr, dir);
    _cleanup_free_ char *q = xasprintf("%s&noOverwriteDirNonDir=true%s", p, uidgid ? "&copyUIDGID=true" : "");
    struct http_resp resp;
    r = cli_stream_upload(cli, "PUT", q, "application/x-tar", fd >= 0 ? fd : STDIN_FILENO, &resp, err);
    if (r == 0) {
      _cleanup_free_ char *body = NULL;
      resp_read_all(&resp, &body, NULL, NULL);
      resp_free(&resp);
    }
  }
  if (r == 0 && fd >= 0 && !quiet && isatty(STDERR_FILENO)) {
    _cleanup_free_ char *sz = fmt_human_size((double)size, 3);
    fprintf(stderr, "Successfully copied %s to %s:%s\n", sz, ctr, dstp);
  }
  cp_info_free(&dst);
  return r;
}

int cmd_cp(struct cmd_ctx *ctx, int argc, char **argv) {
  bool archive = false, follow = false, quiet = false;
  const struct flag flags[] = {
      {"archive", 'a', FLAG_BOOL, &archive, "Archive mode (copy all uid/gid information)", NULL},
      {"follow-link", 'L', FLAG_BOOL, &follow, "Always follow symbol link in SRC_PATH", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached", NULL},
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
  if ((sc && !*sp) || (dc && !*dp)) {
    fprintf(stderr, "%s\n", sc ? "source can not be empty" : "destination can not be empty");
    return 1;
  }
  int r = sc ? copy_from_container(ctx->cli, sc, sp, dp, follow, quiet, &err)
             : copy_to_container(ctx->cli, dc, sp, dp, follow, archive, quiet, &err);
  if (r < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}
