/*
 * cgroup_v1.c — the container's cgroup on v1 hierarchies (v1 and hybrid hosts).
 *
 * Hierarchies come from /proc/self/mountinfo (type "cgroup"), not a fixed list:
 * co-mounted controllers ("cpu,cpuacct") are one hierarchy, bind mounts of the
 * same hierarchy are told apart by the superblock's device id, and named
 * hierarchies (name=systemd) are joined too, like runc does. The container gets
 * the same path in each.
 *
 * Limits are a table of steps, one per controller: a step whose values the spec
 * sets needs that controller's hierarchy, and its absence is an error that says so
 * (net_cls and net_prio excepted: often not mounted, they are skipped with a warning).
 * Invariants the kernel imposes and the steps respect:
 *   - cpuset.cpus/mems must be non-empty before a task can join: create copies them
 *     down from the nearest parent into every level of our path that has them empty.
 *   - memory.memsw.limit_in_bytes >= memory.limit_in_bytes at every moment: when both
 *     change, the one that keeps this true is written first.
 *   - cpu.cfs_period_us is written before cpu.cfs_quota_us (and rt_period before
 *     rt_runtime); if the kernel refuses that order (EINVAL), the other one is tried.
 *   - devices: "a" is denied first and the rules follow in order, so the list is the
 *     whole allowlist. (On `update` this briefly denies everything to running tasks.)
 * Destroy removes only the container's own directory (and cgroups below it), never
 * the parents: they may be shared with other containers being created right now.
 */
#include <errno.h>
#include <inttypes.h>

#include "runtime/cgroup_internal.h"

/* ---------- hierarchies ---------- */

static const struct cgroup_hier *hier_for(const struct cgroup *cg, const char *controller) {
  for (size_t i = 0; i < cg->n_hiers; i++) {
    const struct cgroup_hier *h = &cg->hiers[i];
    if (cgroup_list_has(h->controllers ? h->controllers : h->name, controller))
      return h;
  }
  return NULL;
}

static void add_hier(struct cgroup *cg, const char *mount, const char *controllers) {
  cg->hiers = xrealloc(cg->hiers, (cg->n_hiers + 1) * sizeof *cg->hiers);
  const char *slash = strrchr(mount, '/');
  cg->hiers[cg->n_hiers++] = (struct cgroup_hier){
      .name = xstrdup(slash && slash[1] ? slash + 1 : mount),
      .mount = xstrdup(mount),
      .dir = xasprintf("%s%s", mount, cg->path),
      .controllers = xstrdup(controllers),
  };
}

static bool strv_has(char **v, const char *s) {
  for (; v && *v; v++)
    if (strcmp(*v, s) == 0)
      return true;
  return false;
}

static int discover(struct cgroup *cg, struct berr **err) {
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return berr_sys(err, errno, "cgroup v1: open /proc/self/mountinfo");
  _cleanup_free_ char *line = NULL;
  _cleanup_strv_ char **seen = NULL; /* device ids of the hierarchies already taken */
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    _cleanup_free_ char *mount = NULL, *controllers = NULL, *devid = NULL;
    int r = cgroup_parse_mountinfo_line(line, &mount, &controllers, &devid);
    if (r < 0)
      log_debug("cgroup v1: skipping malformed mountinfo line: %s", line);
    if (r <= 0 || !*controllers || strv_has(seen, devid))
      continue;
    seen = strv_append(seen, steal_ptr(devid));
    add_hier(cg, mount, controllers);
  }
  if (cg->n_hiers == 0)
    return berr_set(err, ENOENT, "cgroup v1: no cgroup hierarchy is mounted (/proc/self/mountinfo)");
  return 0;
}

/* Copy cpuset.cpus and cpuset.mems from the parent into every level of `path` that has them empty. */
static int cpuset_fill(const struct cgroup_hier *h, const char *path, struct berr **err) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  _cleanup_free_ char *full = xasprintf("%s%s", h->mount, path);
  char *parent_end = full + strlen(h->mount); /* the parent of the first level is the mount */
  for (char *p = parent_end + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char at_level = *p, at_parent = *parent_end;
    *p = '\0';
    _cleanup_free_ char *level = xstrdup(full);
    *parent_end = '\0';
    for (size_t i = 0; i < 2; i++) {
      _cleanup_free_ char *mine = NULL, *theirs = NULL;
      int r = cg_read(level, files[i], &mine, err);
      if (r == 0 && *mine == '\0' && (r = cg_read(full, files[i], &theirs, err)) == 0)
        r = cg_write(level, files[i], theirs, err);
      if (r < 0)
        return r;
    }
    *parent_end = at_parent;
    *p = at_level;
    if (at_level == '\0')
      return 0;
    parent_end = p;
  }
}

int cgv1_create(struct cgroup *cg, char ***created, struct berr **err) {
  int r = discover(cg, err);
  for (size_t i = 0; r == 0 && i < cg->n_hiers; i++) {
    const struct cgroup_hier *h = &cg->hiers[i];
    r = cg_mkdirs(h->mount, cg->path, created, err);
    if (r == 0 && cgroup_list_has(h->controllers, "cpuset"))
      r = cpuset_fill(h, cg->path, err);
  }
  return r;
}

/* ---------- writing values ---------- */

static int write_i64(const char *dir, const char *file, int64_t v, struct berr **err) {
  return cg_writef(dir, file, err, "%" PRId64, v);
}

static int write_u64(const char *dir, const char *file, uint64_t v, struct berr **err) {
  return cg_writef(dir, file, err, "%" PRIu64, v);
}

/* Write `first` then `second` (either may be NULL: skipped). If the kernel refuses `first`
 * with EINVAL while `second` is pending, the opposite order is tried: period/quota and
 * rt_period/rt_runtime are each checked against the other's current value. */
static int write_pair(const char *dir, const char *file1, const char *first, const char *file2, const char *second,
                      struct berr **err) {
  if (!first)
    return second ? cg_write(dir, file2, second, err) : 0;
  _cleanup_berr_ struct berr *e = NULL;
  int r = cg_write(dir, file1, first, &e);
  if (r == -EINVAL && second) {
    r = cg_write(dir, file2, second, err);
    return r < 0 ? r : cg_write(dir, file1, first, err);
  }
  if (r < 0)
    return cg_err_move(err, &e, r);
  return second ? cg_write(dir, file2, second, err) : 0;
}

/* Text of an optional value, or NULL when unset (or 0 when zero means unset). */
static const char *opt_u64_text(const struct oci_opt_u64 *o, bool zero_is_unset, char buf[static 24]) {
  if (!o->set || (zero_is_unset && o->v == 0))
    return NULL;
  snprintf(buf, 24, "%" PRIu64, o->v);
  return buf;
}

static const char *opt_i64_text(const struct oci_opt_i64 *o, bool zero_is_unset, char buf[static 24]) {
  if (!o->set || (zero_is_unset && o->v == 0))
    return NULL;
  snprintf(buf, 24, "%" PRId64, o->v);
  return buf;
}

static bool set_nonzero_i64(const struct oci_opt_i64 *o) { return o->set && o->v != 0; }
static bool set_nonzero_u64(const struct oci_opt_u64 *o) { return o->set && o->v != 0; }

/* ---------- memory ---------- */

#define MEM_LIMIT "memory.limit_in_bytes"
#define MEMSW_LIMIT "memory.memsw.limit_in_bytes"

static bool want_memory(const struct oci_resources *r) {
  return set_nonzero_i64(&r->memory.limit) || set_nonzero_i64(&r->memory.reservation) ||
         set_nonzero_i64(&r->memory.swap) || r->memory.swappiness.set || r->memory.has_disable_oom_killer ||
         r->memory.kernel_tcp.set || r->memory.has_use_hierarchy;
}

static int read_u64(const char *dir, const char *file, uint64_t *out, struct berr **err) {
  _cleanup_free_ char *s = NULL;
  int r = cg_read(dir, file, &s, err);
  if (r < 0)
    return r;
  char *end;
  errno = 0;
  *out = strtoull(s, &end, 10);
  if (errno || end == s || *end)
    return berr_set(err, EINVAL, "cgroup: %s/%s: not a number: \"%s\"", dir, file, s);
  return 0;
}

/* memory.limit_in_bytes and memory.memsw.limit_in_bytes; 0 means "not asked" for both. */
static int memory_limits(const char *dir, int64_t limit, int64_t swap, struct berr **err) {
  if (limit == -1 && swap == 0 && cg_has(dir, MEMSW_LIMIT))
    swap = -1; /* unlimited memory with swap unset: lift memsw too, or the kernel refuses the limit */
  if (swap != 0 && !cg_has(dir, MEMSW_LIMIT)) {
    if (swap != -1)
      return berr_set(err, ENOTSUP,
                      "cgroup v1: memory+swap limit %" PRId64 " asked, but %s has no " MEMSW_LIMIT
                      " (kernel without swap accounting)",
                      swap, dir);
    swap = 0; /* unlimited swap is what this kernel gives anyway */
  }
  if (swap > 0 && limit > 0 && swap < limit)
    return berr_set(err, EINVAL, "cgroup v1: memory+swap limit %" PRId64 " is below the memory limit %" PRId64, swap,
                    limit);
  if (swap == 0)
    return limit ? write_i64(dir, MEM_LIMIT, limit, err) : 0;
  if (limit == 0)
    return write_i64(dir, MEMSW_LIMIT, swap, err);
  uint64_t current;
  int r = read_u64(dir, MEMSW_LIMIT, &current, err);
  if (r < 0)
    return r;
  bool growing = swap == -1 || (uint64_t)swap >= current;
  if (growing && (r = write_i64(dir, MEMSW_LIMIT, swap, err)) < 0)
    return r;
  if ((r = write_i64(dir, MEM_LIMIT, limit, err)) < 0)
    return r;
  return growing ? 0 : write_i64(dir, MEMSW_LIMIT, swap, err);
}

static int write_if_present(const char *dir, const char *file, const char *value, const char *what,
                            struct berr **err) {
  if (cg_has(dir, file))
    return cg_write(dir, file, value, err);
  log_debug("cgroup v1: %s ignored: %s/%s does not exist on this kernel", what, dir, file);
  return 0;
}

static int apply_memory(const char *dir, const struct oci_resources *r, struct berr **err) {
  const __typeof__(r->memory) *m = &r->memory;
  char buf[24];
  int ret = memory_limits(dir, m->limit.set ? m->limit.v : 0, m->swap.set ? m->swap.v : 0, err);
  if (ret == 0 && set_nonzero_i64(&m->reservation))
    ret = write_i64(dir, "memory.soft_limit_in_bytes", m->reservation.v, err);
  if (ret == 0 && m->swappiness.set)
    ret = write_u64(dir, "memory.swappiness", m->swappiness.v, err);
  if (ret == 0 && m->has_disable_oom_killer)
    ret = cg_write(dir, "memory.oom_control", m->disable_oom_killer ? "1" : "0", err);
  if (m->kernel.set)
    log_debug("cgroup v1: memory.kernel (%" PRId64 ") ignored: kernel memory limits are deprecated", m->kernel.v);
  if (ret == 0 && m->kernel_tcp.set)
    ret = write_if_present(dir, "memory.kmem.tcp.limit_in_bytes", opt_i64_text(&m->kernel_tcp, false, buf),
                           "memory.kernelTCP", err);
  if (ret == 0 && m->has_use_hierarchy)
    ret = write_if_present(dir, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0", "memory.useHierarchy", err);
  return ret;
}

/* ---------- cpu, cpuset, pids ---------- */

static bool want_cpu(const struct oci_resources *r) {
  return set_nonzero_u64(&r->cpu.shares) || set_nonzero_i64(&r->cpu.quota) || set_nonzero_u64(&r->cpu.period) ||
         set_nonzero_u64(&r->cpu.realtime_period) || set_nonzero_i64(&r->cpu.realtime_runtime) ||
         r->cpu.burst.set || r->cpu.idle.set;
}

static int apply_cpu_idle(const char *dir, int64_t idle, struct berr **err) {
  if (cg_has(dir, "cpu.idle"))
    return write_i64(dir, "cpu.idle", idle, err);
  if (idle != 0)
    return berr_set(err, ENOTSUP, "cgroup v1: cpu.idle %" PRId64 " asked, but %s has no cpu.idle", idle, dir);
  return 0;
}

static int apply_cpu(const char *dir, const struct oci_resources *r, struct berr **err) {
  char b1[24], b2[24];
  int ret = 0;
  if (set_nonzero_u64(&r->cpu.shares))
    ret = write_u64(dir, "cpu.shares", r->cpu.shares.v, err);
  if (ret == 0)
    ret = write_pair(dir, "cpu.cfs_period_us", opt_u64_text(&r->cpu.period, true, b1), "cpu.cfs_quota_us",
                     opt_i64_text(&r->cpu.quota, true, b2), err);
  if (ret == 0 && r->cpu.burst.set)
    ret = write_u64(dir, "cpu.cfs_burst_us", r->cpu.burst.v, err);
  if (ret == 0)
    ret = write_pair(dir, "cpu.rt_period_us", opt_u64_text(&r->cpu.realtime_period, true, b1), "cpu.rt_runtime_us",
                     opt_i64_text(&r->cpu.realtime_runtime, true, b2), err);
  if (ret == 0 && r->cpu.idle.set)
    ret = apply_cpu_idle(dir, r->cpu.idle.v, err);
  return ret;
}

static bool nonempty(const char *s) { return s && *s; }

static bool want_cpuset(const struct oci_resources *r) { return nonempty(r->cpu.cpus) || nonempty(r->cpu.mems); }

static int apply_cpuset(const char *dir, const struct oci_resources *r, struct berr **err) {
  int ret = 0;
  if (nonempty(r->cpu.cpus))
    ret = cg_write(dir, "cpuset.cpus", r->cpu.cpus, err);
  if (ret == 0 && nonempty(r->cpu.mems))
    ret = cg_write(dir, "cpuset.mems", r->cpu.mems, err);
  return ret;
}

static bool want_pids(const struct oci_resources *r) { return r->pids.set; }

static int apply_pids(const char *dir, const struct oci_resources *r, struct berr **err) {
  char buf[24];
  cgroup_fmt_limit(r->pids.limit, buf, sizeof buf);
  return cg_write(dir, "pids.max", buf, err);
}

/* ---------- blkio ---------- */

static bool want_blkio(const struct oci_resources *r) {
  const __typeof__(r->blkio) *b = &r->blkio;
  return set_nonzero_u64(&b->weight) || set_nonzero_u64(&b->leaf_weight) || b->n_weight_device ||
         b->n_throttle_read_bps || b->n_throttle_write_bps || b->n_throttle_read_iops || b->n_throttle_write_iops;
}

/* blkio.weight (CFQ) or, on kernels with BFQ only, blkio.bfq.weight; NULL when neither. */
static const char *weight_file(const char *dir) {
  static const char *const files[] = {"blkio.weight", "blkio.bfq.weight"};
  for (size_t i = 0; i < 2; i++)
    if (cg_has(dir, files[i]))
      return files[i];
  return NULL;
}

static int need_file(const char *dir, const char *file, const char *what, struct berr **err) {
  if (file && cg_has(dir, file))
    return 0;
  return berr_set(err, ENOTSUP, "cgroup v1: %s asked, but %s has no %s (I/O scheduler without weights)", what, dir,
                  file ? file : "blkio.weight or blkio.bfq.weight");
}

static int apply_weight_devices(const char *dir, const struct oci_resources *r, struct berr **err) {
  const char *wfile = weight_file(dir);
  _cleanup_free_ char *wdev = wfile ? xasprintf("%s_device", wfile) : NULL;
  for (size_t i = 0; i < r->blkio.n_weight_device; i++) {
    const struct oci_weight_device *d = &r->blkio.weight_device[i];
    int ret = 0;
    if (d->weight.set && (ret = need_file(dir, wdev, "blockIO.weightDevice", err)) == 0)
      ret = cg_writef(dir, wdev, err, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, d->weight.v);
    if (ret == 0 && d->leaf_weight.set &&
        (ret = need_file(dir, "blkio.leaf_weight_device", "blockIO.weightDevice leafWeight", err)) == 0)
      ret = cg_writef(dir, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                      d->leaf_weight.v);
    if (ret < 0)
      return ret;
  }
  return 0;
}

static int apply_throttles(const char *dir, const struct oci_resources *r, struct berr **err) {
  const struct {
    const char *file;
    const struct oci_throttle_device *devs;
    size_t n;
  } lists[] = {
      {"blkio.throttle.read_bps_device", r->blkio.throttle_read_bps, r->blkio.n_throttle_read_bps},
      {"blkio.throttle.write_bps_device", r->blkio.throttle_write_bps, r->blkio.n_throttle_write_bps},
      {"blkio.throttle.read_iops_device", r->blkio.throttle_read_iops, r->blkio.n_throttle_read_iops},
      {"blkio.throttle.write_iops_device", r->blkio.throttle_write_iops, r->blkio.n_throttle_write_iops},
  };
  for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
    for (size_t i = 0; i < lists[l].n; i++) {
      const struct oci_throttle_device *d = &lists[l].devs[i];
      int ret = cg_writef(dir, lists[l].file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, d->rate);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int apply_blkio(const char *dir, const struct oci_resources *r, struct berr **err) {
  int ret = 0;
  if (set_nonzero_u64(&r->blkio.weight)) {
    const char *file = weight_file(dir);
    if ((ret = need_file(dir, file, "blockIO.weight", err)) == 0)
      ret = write_u64(dir, file, r->blkio.weight.v, err);
  }
  if (ret == 0 && set_nonzero_u64(&r->blkio.leaf_weight) &&
      (ret = need_file(dir, "blkio.leaf_weight", "blockIO.leafWeight", err)) == 0)
    ret = write_u64(dir, "blkio.leaf_weight", r->blkio.leaf_weight.v, err);
  if (ret == 0)
    ret = apply_weight_devices(dir, r, err);
  if (ret == 0)
    ret = apply_throttles(dir, r, err);
  return ret;
}

/* ---------- hugetlb, network, devices ---------- */

static bool want_hugetlb(const struct oci_resources *r) { return r->n_hugepage_limits > 0; }

static int apply_hugetlb(const char *dir, const struct oci_resources *r, struct berr **err) {
  for (size_t i = 0; i < r->n_hugepage_limits; i++) {
    const char *size = r->hugepage_limits[i].page_size;
    if (!nonempty(size) || strchr(size, '/') || strstr(size, ".."))
      return berr_set(err, EINVAL, "cgroup: invalid hugepage size \"%s\"", size ? size : "");
    _cleanup_free_ char *usage = xasprintf("hugetlb.%s.limit_in_bytes", size);
    _cleanup_free_ char *rsvd = xasprintf("hugetlb.%s.rsvd.limit_in_bytes", size);
    int ret = write_u64(dir, usage, r->hugepage_limits[i].limit, err);
    if (ret == 0 && cg_has(dir, rsvd))
      ret = write_u64(dir, rsvd, r->hugepage_limits[i].limit, err);
    if (ret < 0)
      return ret;
  }
  return 0;
}

static bool want_net_cls(const struct oci_resources *r) { return r->network.class_id.set; }

static int apply_net_cls(const char *dir, const struct oci_resources *r, struct berr **err) {
  return write_u64(dir, "net_cls.classid", r->network.class_id.v, err);
}

static bool want_net_prio(const struct oci_resources *r) { return r->network.n_priorities > 0; }

static int apply_net_prio(const char *dir, const struct oci_resources *r, struct berr **err) {
  for (size_t i = 0; i < r->network.n_priorities; i++) {
    int ret = cg_writef(dir, "net_prio.ifpriomap", err, "%s %" PRIu32, r->network.priorities[i].name,
                        r->network.priorities[i].priority);
    if (ret < 0)
      return ret;
  }
  return 0;
}

static bool want_devices(const struct oci_resources *r) { return r->n_devices > 0; }

#define DEVICE_RULE_MAX 64

static int apply_devices(const char *dir, const struct oci_resources *r, struct berr **err) {
  char rule[DEVICE_RULE_MAX];
  for (size_t i = 0; i < r->n_devices; i++) /* all valid before anything is denied */
    if (cgroup_v1_device_rule(&r->devices[i], rule, sizeof rule) < 0)
      return berr_set(err, EINVAL, "cgroup: devices[%zu]: invalid rule (type '%c', access \"%s\")", i,
                      r->devices[i].type ? r->devices[i].type : 'a',
                      r->devices[i].access ? r->devices[i].access : "");
  int ret = cg_write(dir, "devices.deny", "a", err);
  for (size_t i = 0; ret == 0 && i < r->n_devices; i++) {
    cgroup_v1_device_rule(&r->devices[i], rule, sizeof rule);
    ret = cg_write(dir, r->devices[i].allow ? "devices.allow" : "devices.deny", rule, err);
  }
  return ret;
}

/* ---------- apply ---------- */

static const struct v1_step {
  const char *controller;
  bool (*wanted)(const struct oci_resources *r);
  int (*apply)(const char *dir, const struct oci_resources *r, struct berr **err);
  bool optional; /* without the hierarchy: warn and skip, instead of failing */
} v1_steps[] = {
    {"cpuset", want_cpuset, apply_cpuset, false},    {"memory", want_memory, apply_memory, false},
    {"cpu", want_cpu, apply_cpu, false},             {"pids", want_pids, apply_pids, false},
    {"blkio", want_blkio, apply_blkio, false},       {"hugetlb", want_hugetlb, apply_hugetlb, false},
    {"net_cls", want_net_cls, apply_net_cls, true},  {"net_prio", want_net_prio, apply_net_prio, true},
    {"devices", want_devices, apply_devices, false},
};

int cgv1_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err) {
  for (size_t i = 0; i < sizeof v1_steps / sizeof *v1_steps; i++) {
    const struct v1_step *s = &v1_steps[i];
    if (!s->wanted(r))
      continue;
    const struct cgroup_hier *h = hier_for(cg, s->controller);
    if (!h && s->optional) {
      log_warn("cgroup v1: %s settings ignored: no %s hierarchy is mounted", s->controller, s->controller);
      continue;
    }
    if (!h)
      return berr_set(err, ENOTSUP, "cgroup v1: resources need the %s controller, but no %s hierarchy is mounted",
                      s->controller, s->controller);
    int ret = s->apply(h->dir, r, err);
    if (ret < 0)
      return ret;
  }
  if (r->memory.kernel.set && !want_memory(r))
    log_debug("cgroup v1: memory.kernel ignored: kernel memory limits are deprecated");
  return 0;
}

/* ---------- processes, freezer, removal ---------- */

int cgv1_add_pid(struct cgroup *cg, pid_t pid, struct berr **err) {
  for (size_t i = 0; i < cg->n_hiers; i++) {
    int r = cg_writef(cg->hiers[i].dir, "cgroup.procs", err, "%d", (int)pid);
    if (r < 0)
      return r;
  }
  return 0;
}

int cgv1_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr **err) {
  const struct cgroup_hier *h = hier_for(cg, "pids");
  if (!h)
    h = hier_for(cg, "memory");
  if (!h && cg->n_hiers)
    h = &cg->hiers[0];
  if (!h)
    return berr_set(err, ENOENT, "cgroup v1: %s is in no hierarchy", cg->path);
  return cg_procs_tree(h->dir, pids, n, err);
}

static int freezer_dir(const struct cgroup *cg, const char **dir, struct berr **err) {
  const struct cgroup_hier *h = hier_for(cg, "freezer");
  if (!h)
    return berr_set(err, ENOTSUP, "cgroup v1: no freezer hierarchy is mounted");
  *dir = h->dir;
  return 0;
}

#define FREEZE_TRIES 1000 /* sleeping 1..10 ms between: about ten seconds */

int cgv1_freeze(struct cgroup *cg, bool frozen, struct berr **err) {
  const char *dir = NULL, *want = frozen ? "FROZEN" : "THAWED";
  int r = freezer_dir(cg, &dir, err);
  for (int i = 0; r == 0 && i < FREEZE_TRIES; i++) {
    /* writing FROZEN again makes the kernel retry tasks that were not frozen yet */
    _cleanup_free_ char *state = NULL;
    if ((r = cg_write(dir, "freezer.state", want, err)) < 0 || (r = cg_read(dir, "freezer.state", &state, err)) < 0)
      break;
    if (strcmp(state, want) == 0)
      return 0;
    cg_sleep_ms(i < 10 ? 1 : 10);
  }
  if (r < 0)
    return r;
  if (frozen)
    cg_write(dir, "freezer.state", "THAWED", NULL);
  return berr_set(err, EBUSY, "cgroup v1: %s/freezer.state did not reach %s", dir, want);
}

int cgv1_frozen(struct cgroup *cg, bool *frozen, struct berr **err) {
  const char *dir = NULL;
  _cleanup_free_ char *state = NULL;
  int r = freezer_dir(cg, &dir, err);
  if (r == 0 && (r = cg_read(dir, "freezer.state", &state, err)) == 0)
    *frozen = strcmp(state, "FROZEN") == 0;
  return r;
}

int cgv1_destroy(struct cgroup *cg, struct berr **err) {
  int ret = 0;
  for (size_t i = 0; i < cg->n_hiers; i++) {
    _cleanup_berr_ struct berr *e = NULL;
    int r = cg_rmdir(cg->hiers[i].dir, &e);
    if (r < 0 && ret == 0)
      ret = cg_err_move(err, &e, r); /* go on with the other hierarchies */
  }
  return ret;
}
