/*
 * container_stats.c — what a running container's kernel objects say about it:
 * GET /containers/{id}/stats (cgroup files → Docker's stats JSON) and
 * GET /containers/{id}/top (the runtime's `ps` pids + the host's ps).
 *
 * Stats are built in two steps so that the second is pure and unit-tested:
 *   stats_read()   reads the cgroup files of the container into a struct
 *                  stats_src (file contents as strings, NULL when absent);
 *   stats_build()  turns those strings into Docker's cpu_stats, memory_stats,
 *                  pids_stats and blkio_stats objects.
 * Cgroup v1 (and hybrid, where the controllers are v1) follows containerd's v1
 * metrics as dockerd 20.10 shows them (percpu_usage, max_usage, the fixed
 * memory.stat key set, blkio ops as the kernel names them: "Read", "Write" …);
 * v2 follows dockerd's statsV2 (no percpu_usage or max_usage, memory.stat
 * as is, io.stat as lower-case "read"/"write" entries).
 *
 * The container's cgroup is its spec's linux.cgroupsPath (the bundle's
 * config.json), else <cgroup-parent>/<id>.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/magic.h>

#include "daemon/container_internal.h"

extern char **environ;

/* ------------------------------------------------------- pure parsing ---- */

static uint64_t parse_u64(const char *s) {
  if (s == NULL)
    return 0;
  while (*s == ' ' || *s == '\t')
    s++;
  return strtoull(s, NULL, 10);
}

/* The value of `key` in a "key value\n" file (cpu.stat, memory.stat, cpuacct.stat). */
static bool kv_get(const char *file, const char *key, uint64_t *out) {
  size_t n = strlen(key);
  for (const char *p = file; p && *p;) {
    if (strncmp(p, key, n) == 0 && p[n] == ' ') {
      *out = parse_u64(p + n + 1);
      return true;
    }
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return false;
}

static uint64_t kv_or0(const char *file, const char *key) {
  uint64_t v = 0;
  (void)kv_get(file, key, &v);
  return v;
}

/* Every "key value" line as an object of integers (v2 memory.stat). */
static json_t *kv_all(const char *file, const char *const *only) {
  json_t *o = json_object();
  for (const char *p = file; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    const char *sp = memchr(p, ' ', len);
    if (sp) {
      _cleanup_free_ char *k = xasprintf("%.*s", (int)(sp - p), p);
      bool keep = only == NULL;
      for (size_t i = 0; only && only[i] && !keep; i++)
        keep = strcmp(only[i], k) == 0;
      if (keep)
        json_object_set_new(o, k, json_integer((json_int_t)parse_u64(sp + 1)));
    }
    p = nl ? nl + 1 : NULL;
  }
  return o;
}

/* The memory.stat keys containerd's v1 metrics carry (and dockerd shows). */
static const char *const mem_v1_keys[] = {
    "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout",
    "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file",
    "unevictable", "hierarchical_memory_limit", "hierarchical_memsw_limit", "total_cache",
    "total_rss", "total_rss_huge", "total_mapped_file", "total_dirty", "total_writeback",
    "total_pgpgin", "total_pgpgout", "total_pgfault", "total_pgmajfault",
    "total_inactive_anon", "total_active_anon", "total_inactive_file", "total_active_file",
    "total_unevictable", NULL,
};

static json_t *cpu_empty(void) {
  return json_pack("{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage", 0,
                   "usage_in_kernelmode", 0, "usage_in_usermode", 0, "throttling_data",
                   "periods", 0, "throttled_periods", 0, "throttled_time", 0);
}

/* /proc/stat's first "cpu" line: the first 7 fields in ns, as dockerd sums them. */
static uint64_t system_cpu_ns(const char *proc_stat, long clk_tck) {
  if (proc_stat == NULL || strncmp(proc_stat, "cpu ", 4) != 0 || clk_tck <= 0)
    return 0;
  const char *p = proc_stat + 4;
  uint64_t ticks = 0;
  for (int i = 0; i < 7; i++) {
    char *end;
    ticks += strtoull(p, &end, 10);
    if (end == p)
      break;
    p = end;
  }
  return ticks * (1000000000ull / (uint64_t)clk_tck);
}

static json_t *cpu_v1(const struct stats_src *s) {
  json_t *cpu = cpu_empty();
  json_t *u = json_object_get(cpu, "cpu_usage");
  json_object_set_new(u, "total_usage", json_integer((json_int_t)parse_u64(s->cpuacct_usage)));
  json_t *per = json_array();
  for (const char *p = s->cpuacct_percpu; p && *p;) {
    char *end;
    uint64_t v = strtoull(p, &end, 10);
    if (end == p)
      break;
    json_array_append_new(per, json_integer((json_int_t)v));
    p = end;
  }
  if (json_array_size(per) > 0)
    json_object_set(u, "percpu_usage", per);
  json_decref(per);
  /* cpuacct.stat counts USER_HZ ticks */
  uint64_t tick_ns = s->clk_tck > 0 ? 1000000000ull / (uint64_t)s->clk_tck : 0;
  json_object_set_new(u, "usage_in_kernelmode",
                      json_integer((json_int_t)(kv_or0(s->cpuacct_stat, "system") * tick_ns)));
  json_object_set_new(u, "usage_in_usermode",
                      json_integer((json_int_t)(kv_or0(s->cpuacct_stat, "user") * tick_ns)));
  json_t *t = json_object_get(cpu, "throttling_data");
  json_object_set_new(t, "periods", json_integer((json_int_t)kv_or0(s->cpu_stat, "nr_periods")));
  json_object_set_new(t, "throttled_periods",
                      json_integer((json_int_t)kv_or0(s->cpu_stat, "nr_throttled")));
  json_object_set_new(t, "throttled_time",
                      json_integer((json_int_t)kv_or0(s->cpu_stat, "throttled_time")));
  return cpu;
}

static json_t *cpu_v2(const struct stats_src *s) {
  json_t *cpu = cpu_empty();
  json_t *u = json_object_get(cpu, "cpu_usage");
  json_object_set_new(u, "total_usage",
                      json_integer((json_int_t)(kv_or0(s->cpu_stat, "usage_usec") * 1000)));
  json_object_set_new(u, "usage_in_kernelmode",
                      json_integer((json_int_t)(kv_or0(s->cpu_stat, "system_usec") * 1000)));
  json_object_set_new(u, "usage_in_usermode",
                      json_integer((json_int_t)(kv_or0(s->cpu_stat, "user_usec") * 1000)));
  json_t *t = json_object_get(cpu, "throttling_data");
  json_object_set_new(t, "periods", json_integer((json_int_t)kv_or0(s->cpu_stat, "nr_periods")));
  json_object_set_new(t, "throttled_periods",
                      json_integer((json_int_t)kv_or0(s->cpu_stat, "nr_throttled")));
  json_object_set_new(
      t, "throttled_time",
      json_integer((json_int_t)(kv_or0(s->cpu_stat, "throttled_usec") * 1000)));
  return cpu;
}

/* A limit file: "max" (v2) or a huge v1 value means none → the machine's memory
 * (dockerd caps the limit at the machine's memory). */
static uint64_t mem_limit(const char *file, uint64_t machine) {
  uint64_t v = file && strncmp(file, "max", 3) != 0 ? parse_u64(file) : UINT64_MAX;
  if (file == NULL || v == 0)
    v = UINT64_MAX;
  return machine > 0 && v > machine ? machine : v;
}

static json_t *memory_json(const struct stats_src *s) {
  json_t *m = json_object();
  if (s->v2) {
    if (s->memory_current == NULL)
      return m;
    json_object_set_new(m, "usage", json_integer((json_int_t)parse_u64(s->memory_current)));
    json_object_set_new(m, "stats", kv_all(s->memory_stat, NULL));
  } else {
    if (s->memory_usage == NULL)
      return m;
    json_object_set_new(m, "usage", json_integer((json_int_t)parse_u64(s->memory_usage)));
    json_object_set_new(m, "max_usage", json_integer((json_int_t)parse_u64(s->memory_max_usage)));
    json_object_set_new(m, "stats", kv_all(s->memory_stat, mem_v1_keys));
    uint64_t fail = parse_u64(s->memory_failcnt);
    if (fail) /* omitempty */
      json_object_set_new(m, "failcnt", json_integer((json_int_t)fail));
  }
  uint64_t lim = mem_limit(s->memory_limit, s->machine_memory);
  json_object_set_new(m, "limit", json_integer((json_int_t)(lim > INT64_MAX ? INT64_MAX : lim)));
  return m;
}

static json_t *pids_json(const struct stats_src *s) {
  json_t *p = json_object();
  if (s->pids_current == NULL)
    return p;
  json_object_set_new(p, "current", json_integer((json_int_t)parse_u64(s->pids_current)));
  if (s->pids_max && strncmp(s->pids_max, "max", 3) != 0 && parse_u64(s->pids_max) > 0)
    json_object_set_new(p, "limit", json_integer((json_int_t)parse_u64(s->pids_max)));
  return p;
}

/* v1 blkio lines: "MAJ:MIN Op Value"; the lone "Total N" line is skipped. */
static json_t *blkio_v1_entries(const char *file) {
  json_t *a = json_array();
  for (const char *p = file; p && *p;) {
    unsigned maj, min;
    char op[32];
    unsigned long long v;
    if (sscanf(p, "%u:%u %31s %llu", &maj, &min, op, &v) == 4)
      json_array_append_new(a, json_pack("{s:i,s:i,s:s,s:I}", "major", (int)maj, "minor",
                                         (int)min, "op", op, "value", (json_int_t)v));
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return a;
}

static void blkio_v2_entries(const char *io_stat, json_t *bytes, json_t *ios) {
  for (const char *p = io_stat; p && *p;) {
    const char *nl = strchr(p, '\n');
    _cleanup_free_ char *line = xasprintf("%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
    unsigned maj, min;
    if (sscanf(line, "%u:%u", &maj, &min) == 2) {
      const char *keys[][2] = {{"rbytes", "read"}, {"wbytes", "write"}};
      const char *ckeys[][2] = {{"rios", "read"}, {"wios", "write"}};
      for (int i = 0; i < 2; i++) {
        _cleanup_free_ char *k1 = xasprintf(" %s=", keys[i][0]);
        _cleanup_free_ char *k2 = xasprintf(" %s=", ckeys[i][0]);
        const char *b = strstr(line, k1), *c = strstr(line, k2);
        json_array_append_new(bytes, json_pack("{s:i,s:i,s:s,s:I}", "major", (int)maj, "minor",
                                               (int)min, "op", keys[i][1], "value",
                                               (json_int_t)(b ? parse_u64(b + strlen(k1)) : 0)));
        json_array_append_new(ios, json_pack("{s:i,s:i,s:s,s:I}", "major", (int)maj, "minor",
                                             (int)min, "op", ckeys[i][1], "value",
                                             (json_int_t)(c ? parse_u64(c + strlen(k2)) : 0)));
      }
    }
    p = nl ? nl + 1 : NULL;
  }
}

static json_t *blkio_json(const struct stats_src *s) {
  const char *lists[] = {"io_service_bytes_recursive", "io_serviced_recursive",
                         "io_queue_recursive",         "io_service_time_recursive",
                         "io_wait_time_recursive",     "io_merged_recursive",
                         "io_time_recursive",          "sectors_recursive"};
  json_t *b = json_object();
  if (s->v2) {
    json_t *bytes = json_array(), *ios = json_array();
    blkio_v2_entries(s->io_stat, bytes, ios);
    json_object_set_new(b, lists[0], bytes);
    json_object_set_new(b, lists[1], ios);
    for (size_t i = 2; i < sizeof lists / sizeof *lists; i++)
      json_object_set_new(b, lists[i], json_null());
    return b;
  }
  json_object_set_new(b, lists[0], blkio_v1_entries(s->blkio_bytes));
  json_object_set_new(b, lists[1], blkio_v1_entries(s->blkio_ios));
  for (size_t i = 2; i < sizeof lists / sizeof *lists; i++)
    json_object_set_new(b, lists[i], json_array());
  return b;
}

json_t *stats_build(const struct stats_src *s) {
  json_t *cpu = s->v2 ? cpu_v2(s) : cpu_v1(s);
  uint64_t sys = system_cpu_ns(s->proc_stat, s->clk_tck);
  if (sys)
    json_object_set_new(cpu, "system_cpu_usage", json_integer((json_int_t)sys));
  if (s->online_cpus > 0)
    json_object_set_new(cpu, "online_cpus", json_integer(s->online_cpus));
  return json_pack("{s:o,s:o,s:i,s:{},s:o,s:o}", "pids_stats", pids_json(s), "blkio_stats",
                   blkio_json(s), "num_procs", 0, "storage_stats", "cpu_stats", cpu,
                   "memory_stats", memory_json(s));
}

json_t *stats_empty(void) {
  return json_pack("{s:{},s:{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n},s:i,s:{},s:o,s:o,s:{}}",
                   "pids_stats", "blkio_stats", "io_service_bytes_recursive",
                   "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
                   "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
                   "sectors_recursive", "num_procs", 0, "storage_stats", "cpu_stats",
                   cpu_empty(), "precpu_stats", cpu_empty(), "memory_stats");
}

void stats_src_clear(struct stats_src *s) {
  char **f[] = {&s->cpuacct_usage, &s->cpuacct_percpu, &s->cpuacct_stat, &s->cpu_stat,
                &s->memory_usage,  &s->memory_max_usage, &s->memory_limit, &s->memory_stat,
                &s->memory_failcnt, &s->memory_current, &s->pids_current, &s->pids_max,
                &s->blkio_bytes,   &s->blkio_ios,       &s->io_stat,      &s->proc_stat};
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
    free(*f[i]);
    *f[i] = NULL;
  }
}

/* ------------------------------------------------------- reading files ---- */

static char *slurp(const char *dir, const char *name) {
  _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
  char *s = NULL;
  return read_file(p, &s, NULL, NULL) == 0 ? s : NULL;
}

static bool cgroup_is_v2(void) {
  struct statfs fs;
  return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The container's cgroup path below each hierarchy's root ("/berth/<id>"). */
char *stats_cgroup_path(struct daemon *d, const struct container *c) {
  _cleanup_free_ char *cfg = xasprintf("%s/config.json", c->run_dir);
  _cleanup_json_ json_t *spec = NULL;
  if (json_load_path(cfg, &spec, NULL) == 0) {
    const char *p =
        json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
    if (p && *p && strchr(p, ':') == NULL) /* systemd "slice:prefix:name" is not ours */
      return p[0] == '/' ? xstrdup(p) : xasprintf("/%s", p);
  }
  pthread_mutex_lock(&d->cfg_lock);
  const char *parent = d->cfg.cgroup_parent ? d->cfg.cgroup_parent : "/berth";
  char *r = xasprintf("%s%s/%s", parent[0] == '/' ? "" : "/", parent, c->id);
  pthread_mutex_unlock(&d->cfg_lock);
  return r;
}

static uint64_t machine_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

void stats_read(const char *cg, struct stats_src *s) {
  stats_src_clear(s);
  s->v2 = cgroup_is_v2();
  s->clk_tck = sysconf(_SC_CLK_TCK);
  s->online_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  s->machine_memory = machine_memory();
  (void)read_file("/proc/stat", &s->proc_stat, NULL, NULL);
  if (s->v2) {
    _cleanup_free_ char *dir = xasprintf("/sys/fs/cgroup%s", cg);
    s->cpu_stat = slurp(dir, "cpu.stat");
    s->memory_current = slurp(dir, "memory.current");
    s->memory_limit = slurp(dir, "memory.max");
    s->memory_stat = slurp(dir, "memory.stat");
    s->pids_current = slurp(dir, "pids.current");
    s->pids_max = slurp(dir, "pids.max");
    s->io_stat = slurp(dir, "io.stat");
    return;
  }
  _cleanup_free_ char *acct = xasprintf("/sys/fs/cgroup/cpuacct%s", cg);
  _cleanup_free_ char *cpu = xasprintf("/sys/fs/cgroup/cpu%s", cg);
  _cleanup_free_ char *mem = xasprintf("/sys/fs/cgroup/memory%s", cg);
  _cleanup_free_ char *pids = xasprintf("/sys/fs/cgroup/pids%s", cg);
  _cleanup_free_ char *blk = xasprintf("/sys/fs/cgroup/blkio%s", cg);
  s->cpuacct_usage = slurp(acct, "cpuacct.usage");
  s->cpuacct_percpu = slurp(acct, "cpuacct.usage_percpu");
  s->cpuacct_stat = slurp(acct, "cpuacct.stat");
  s->cpu_stat = slurp(cpu, "cpu.stat");
  s->memory_usage = slurp(mem, "memory.usage_in_bytes");
  s->memory_max_usage = slurp(mem, "memory.max_usage_in_bytes");
  s->memory_limit = slurp(mem, "memory.limit_in_bytes");
  s->memory_stat = slurp(mem, "memory.stat");
  s->memory_failcnt = slurp(mem, "memory.failcnt");
  s->pids_current = slurp(pids, "pids.current");
  s->pids_max = slurp(pids, "pids.max");
  /* CFQ's files when they say something, else the throttle layer's (containerd) */
  s->blkio_bytes = slurp(blk, "blkio.io_service_bytes_recursive");
  if (s->blkio_bytes == NULL || s->blkio_bytes[0] == '\0' ||
      str_has_prefix(s->blkio_bytes, "Total")) {
    free(s->blkio_bytes);
    s->blkio_bytes = slurp(blk, "blkio.throttle.io_service_bytes_recursive");
    s->blkio_ios = slurp(blk, "blkio.throttle.io_serviced_recursive");
  } else {
    s->blkio_ios = slurp(blk, "blkio.io_serviced_recursive");
  }
}

/* ------------------------------------------------------- the endpoint ---- */

static char *rfc3339_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char buf[64];
  shim_format_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, buf);
  return xstrdup(buf);
}

#define ZERO_TIME "0001-01-01T00:00:00Z"

/* One sample of c: the body of a stats object without read/preread/precpu. */
static json_t *stats_sample(struct daemon *d, struct container *c, bool *running) {
  pthread_mutex_lock(&c->lock);
  *running = c->state == CTR_RUNNING || c->state == CTR_PAUSED;
  pthread_mutex_unlock(&c->lock);
  if (!*running)
    return NULL;
  _cleanup_free_ char *cg = stats_cgroup_path(d, c);
  struct stats_src s = {0};
  stats_read(cg, &s);
  json_t *j = stats_build(&s);
  stats_src_clear(&s);
  return j;
}

/* Docker's stats object from the current sample and the previous one. */
static json_t *stats_doc(struct container *c, json_t *cur, const char *read, const json_t *prev,
                         const char *preread) {
  json_t *doc = cur ? json_deep_copy(cur) : stats_empty();
  json_object_set_new(doc, "read", json_string(cur ? read : ZERO_TIME));
  json_object_set_new(doc, "preread", json_string(prev ? preread : ZERO_TIME));
  json_t *pre = prev ? json_deep_copy(json_object_get(prev, "cpu_stats")) : cpu_empty();
  json_object_set_new(doc, "precpu_stats", pre);
  pthread_mutex_lock(&c->lock);
  json_object_set_new(doc, "name", json_sprintf("/%s", c->name));
  pthread_mutex_unlock(&c->lock);
  json_object_set_new(doc, "id", json_string(c->id));
  return doc;
}

void ctr_stats_serve(struct daemon *d, struct http_req *r, struct container *c) {
  bool stream = http_query_bool(r, "stream", true);
  bool one_shot = http_query_bool(r, "one-shot", false);
  if (one_shot && stream) {
    http_reply_error(r, 400, "cannot have stream=true and one-shot=true");
    return;
  }
  bool running = false;
  _cleanup_json_ json_t *prev = NULL;
  _cleanup_free_ char *preread = NULL;
  if (!stream) {
    json_t *cur = stats_sample(d, c, &running);
    _cleanup_free_ char *read = rfc3339_now();
    if (running && !one_shot) {
      /* dockerd takes two samples a second apart so that precpu is filled */
      prev = cur;
      preread = steal_ptr(read);
      sleep(1);
      cur = stats_sample(d, c, &running);
      read = rfc3339_now();
      if (cur == NULL) {
        json_decref(steal_ptr(prev));
      }
    }
    json_t *doc = stats_doc(c, cur, read, prev, preread);
    json_decref(cur);
    http_reply_json(r, 200, doc);
    return;
  }
  if (http_stream_begin(r, 200, "application/json") < 0)
    return;
  for (;;) {
    json_t *cur = stats_sample(d, c, &running);
    _cleanup_free_ char *read = rfc3339_now();
    _cleanup_json_ json_t *doc = stats_doc(c, cur, read, prev, preread);
    _cleanup_free_ char *line = json_dump_compact(doc);
    _cleanup_free_ char *out = xasprintf("%s\n", line);
    int rc = http_stream_write(r, out, strlen(out));
    json_decref(prev);
    prev = cur;
    free(preread);
    preread = steal_ptr(read);
    if (rc < 0 || !running) /* dockerd ends the stream when the container stops */
      break;
    sleep(1);
  }
  (void)http_stream_end(r);
}

/* ---------------------------------------------------------------- top ---- */

/* Run argv, capture its stdout (up to 16 MiB). 0 when it exited 0. */
static int run_capture(char *const argv[], char **out, struct berr **err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "%s: pipe", argv[0]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    return berr_sys(err, rc, "run %s", argv[0]);
  }
  size_t len = 0, cap = 4096;
  char *buf = xmalloc(cap);
  for (;;) {
    if (len + 1 >= cap) {
      if (cap >= 16u << 20)
        break;
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    ssize_t n = read(p[0], buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    free(buf);
    return berr_set(err, EIO, "%s exited with status %d", argv[0],
                    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
  *out = buf;
  return 0;
}

/* Split a line on ASCII blanks (dockerd's fieldsASCII). */
static char **fields(const char *line) {
  char **v = NULL;
  for (const char *p = line; *p;) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      p++;
    if (*p == '\0')
      break;
    const char *q = p;
    while (*q && *q != ' ' && *q != '\t' && *q != '\r')
      q++;
    v = strv_append(v, xasprintf("%.*s", (int)(q - p), p));
    p = q;
  }
  return v ? v : xcalloc(1, sizeof(char *));
}

static bool pid_in(const json_t *pids, long pid) {
  size_t i;
  json_t *v;
  json_array_foreach(pids, i, v) if (json_integer_value(v) == pid) return true;
  return false;
}

/* One row: the title count of fields, the overhanging ones joined into the last. */
static json_t *top_row(char **f, size_t ntitles) {
  json_t *row = json_array();
  size_t n = strv_len(f);
  for (size_t i = 0; i + 1 < ntitles && i < n; i++)
    json_array_append_new(row, json_string(f[i]));
  _cleanup_free_ char *last = xstrdup("");
  for (size_t i = ntitles - 1; i < n; i++) {
    char *t = xasprintf("%s%s%s", last, *last ? " " : "", f[i]);
    free(last);
    last = t;
  }
  json_array_append_new(row, json_string(last));
  return row;
}

int top_parse(const char *ps_out, const json_t *pids, json_t **out, struct berr **err) {
  const char *nl = strchr(ps_out, '\n');
  _cleanup_free_ char *head = xasprintf("%.*s", (int)(nl ? nl - ps_out : (long)strlen(ps_out)),
                                        ps_out);
  _cleanup_strv_ char **titles = fields(head);
  size_t nt = strv_len(titles), pid_idx = nt;
  for (size_t i = 0; i < nt && pid_idx == nt; i++)
    if (strcmp(titles[i], "PID") == 0)
      pid_idx = i;
  if (pid_idx == nt)
    return berr_set(err, EIO, "Couldn't find PID field in ps output");
  json_t *procs = json_array();
  bool prev_in = false; /* thread lines ("-" pid, ps -m) follow their process */
  for (const char *p = nl ? nl + 1 : NULL; p && *p;) {
    const char *e = strchr(p, '\n');
    _cleanup_free_ char *line = xasprintf("%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    p = e ? e + 1 : NULL;
    _cleanup_strv_ char **f = fields(line);
    if (strv_len(f) <= pid_idx)
      continue;
    if (strcmp(f[pid_idx], "-") == 0) {
      if (prev_in)
        json_array_append_new(procs, top_row(f, nt));
      continue;
    }
    int64_t pid = 0;
    if (parse_int64(f[pid_idx], &pid) < 0) {
      json_decref(procs);
      return berr_set(err, EIO, "Unexpected pid '%s'", f[pid_idx]);
    }
    prev_in = pid_in(pids, (long)pid);
    if (prev_in)
      json_array_append_new(procs, top_row(f, nt));
  }
  json_t *t = json_array();
  for (size_t i = 0; i < nt; i++)
    json_array_append_new(t, json_string(titles[i]));
  *out = json_pack("{s:o,s:o}", "Titles", t, "Processes", procs);
  return 0;
}

/* The container's pids, from the runtime's `ps --format json`. */
static int top_pids(struct daemon *d, struct container *c, json_t **out, struct berr **err) {
  _cleanup_free_ char *rt = ctr_runtime_path(d, c);
  _cleanup_free_ char *root = ctr_runtime_root(d, c);
  char *argv[] = {rt, (char *)"--root", root, (char *)"ps", (char *)"--format", (char *)"json",
                  c->id, NULL};
  _cleanup_free_ char *s = NULL;
  if (run_capture(argv, &s, err) < 0)
    return berr_wrap(err, "runtime ps %s", c->id);
  json_error_t je;
  json_t *j = json_loads(s, 0, &je);
  if (!json_is_array(j)) {
    json_decref(j);
    return berr_set(err, EIO, "runtime ps %s: not a JSON array of pids", c->id);
  }
  *out = j;
  return 0;
}

int ctr_top(struct daemon *d, struct container *c, const char *ps_args, json_t **out,
            struct berr **err) {
  pthread_mutex_lock(&c->lock);
  enum ctr_state st = c->state;
  pthread_mutex_unlock(&c->lock);
  if (st == CTR_RESTARTING)
    return berr_set(err, EBUSY, "Container %s is restarting, wait until the container is running",
                    c->id);
  if (st != CTR_RUNNING && st != CTR_PAUSED)
    return berr_set(err, ENOTCONN, "Container %s is not running", c->id);
  _cleanup_json_ json_t *pids = NULL;
  if (top_pids(d, c, &pids, err) < 0)
    return -EIO;
  if (ps_args == NULL || *ps_args == '\0')
    ps_args = "-ef";
  /* dockerd splits ps_args on single spaces and adds -q<pids>; some options
   * (f) refuse -q, so it retries without */
  _cleanup_strv_ char **argv = strv_append(NULL, xstrdup("ps"));
  _cleanup_free_ char *dup = xstrdup(ps_args);
  for (char *save = NULL, *t = strtok_r(dup, " ", &save); t; t = strtok_r(NULL, " ", &save))
    argv = strv_append(argv, xstrdup(t));
  _cleanup_free_ char *q = xstrdup("-q");
  size_t i;
  json_t *v;
  json_array_foreach(pids, i, v) {
    char *t = xasprintf("%s%s%lld", q, i ? "," : "", (long long)json_integer_value(v));
    free(q);
    q = t;
  }
  _cleanup_free_ char *s = NULL;
  size_t n = strv_len(argv);
  argv = strv_append(argv, steal_ptr(q));
  if (json_array_size(pids) == 0 || run_capture(argv, &s, NULL) < 0) {
    free(argv[n]);
    argv[n] = NULL;
    if (run_capture(argv, &s, err) < 0)
      return berr_wrap(err, "Error running ps");
  }
  return top_parse(s, pids, out, err);
}
