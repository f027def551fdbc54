/*
 * cgroup_v2.c — the container's cgroup in a cgroup2 (unified) hierarchy.
 *
 * Everything works from a directory, never from a fixed mount point, so the same
 * code serves a v2 host (/sys/fs/cgroup), the unified dir of a hybrid host
 * (/sys/fs/cgroup/unified, where it only tracks processes) and the tests, which
 * drive it on the hybrid host's nearly empty cgroup2 mount.
 *
 * Controllers: a file like memory.max exists only when the parent delegated the
 * controller (its cgroup.subtree_control). Create turns on cpuset, cpu, io, memory
 * and pids in every ancestor that offers them; apply turns on anything else a
 * limit needs (hugetlb, or a "unified" key's controller) the same way. Failures to
 * enable are not errors by themselves: a limit that then finds its controller
 * missing fails with "cgroup v2: controller X not available in DIR", and a spec
 * that asks nothing of X never notices. The leaf's own subtree_control is never
 * touched: a cgroup that delegates controllers cannot hold processes.
 *
 * Values: OCI's v1-shaped numbers are converted (cgroup_util.c): shares -> cpu.weight,
 * blkio weight -> io.weight, memory+swap -> memory.swap.max, -1 / 0 -> "max".
 * Keys with no v2 meaning (swappiness, kernel memory, OOM-killer switch, leaf
 * weights) are logged and skipped; realtime CPU and net_cls/net_prio are refused.
 * `unified` keys are written last, verbatim, so they override the converted values.
 *
 * Devices: v2 has no devices.allow. cgroup_devices_bpf() assembles an eBPF program
 * from the rules; we load it with bpf(2) and attach it (BPF_F_ALLOW_MULTI) before
 * detaching the programs attached earlier by us, so an `update` never leaves the
 * cgroup without a filter.
 *
 * Freeze waits on cgroup.events ("frozen 1"), poll()ing for its change notification.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>

#include "runtime/cgroup_internal.h"

static const char *const base_controllers[] = {"cpuset", "cpu", "io", "memory", "pids"};

/* true when the space-separated `list` ("cpu io memory") has `word` */
static bool words_have(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == '\n')
      p++;
    const char *end = p + strcspn(p, " \n");
    if ((size_t)(end - p) == n && strncmp(p, word, n) == 0)
      return true;
    p = end;
  }
  return false;
}

/* ---------- controllers ---------- */

/* Turn on the `wanted` controllers that `dir` offers and has not delegated yet. */
static void enable_in(const char *dir, const char *const *wanted, size_t n) {
  _cleanup_free_ char *avail = NULL, *enabled = NULL;
  if (cg_read(dir, "cgroup.controllers", &avail, NULL) < 0 ||
      cg_read(dir, "cgroup.subtree_control", &enabled, NULL) < 0)
    return;
  for (size_t i = 0; i < n; i++) {
    if (!words_have(avail, wanted[i]) || words_have(enabled, wanted[i]))
      continue;
    _cleanup_berr_ struct berr *e = NULL;
    if (cg_writef(dir, "cgroup.subtree_control", &e, "+%s", wanted[i]) < 0)
      log_debug("cgroup v2: %s", e ? e->msg : "enable controller");
  }
}

/* Enable `wanted` in root and in every level of `path` above the leaf, top-down. */
static void enable_down(const char *root, const char *path, const char *const *wanted, size_t n) {
  enable_in(root, wanted, n);
  _cleanup_free_ char *dir = xasprintf("%s%s", root, path);
  for (char *p = dir + strlen(root) + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    enable_in(dir, wanted, n);
    *p = '/';
  }
}

int cgv2_create(const char *root, const char *path, bool enable_controllers, char **dir, char ***created,
                struct berr **err) {
  int r = cg_mkdirs(root, path, created, err);
  if (r < 0)
    return r;
  if (enable_controllers)
    enable_down(root, path, base_controllers, sizeof base_controllers / sizeof *base_controllers);
  *dir = xasprintf("%s%s", root, path);
  return 0;
}

/* What apply works on. root is NULL when controllers may not be enabled (hybrid). */
struct v2_ctx {
  const char *dir, *root, *path;
  char *avail; /* the leaf's cgroup.controllers */
};

static int ctx_init(struct v2_ctx *c, const char *dir, const char *root, const char *path, struct berr **err) {
  *c = (struct v2_ctx){.dir = dir, .root = root, .path = path};
  return cg_read(dir, "cgroup.controllers", &c->avail, err);
}

/* The controller must be usable in the leaf: enable it down from the root if allowed. */
static int need_controller(struct v2_ctx *c, const char *controller, struct berr **err) {
  if (words_have(c->avail, controller))
    return 0;
  if (c->root) {
    const char *one[] = {controller};
    enable_down(c->root, c->path, one, 1);
    free(c->avail);
    c->avail = NULL;
    int r = cg_read(c->dir, "cgroup.controllers", &c->avail, err);
    if (r < 0)
      return r;
    if (words_have(c->avail, controller))
      return 0;
  }
  return berr_set(err, ENOTSUP, "cgroup v2: controller %s not available in %s", controller, c->dir);
}

/* ---------- values ---------- */

static bool set_nonzero_i64(const struct oci_opt_i64 *o) { return o->set && o->v != 0; }
static bool set_nonzero_u64(const struct oci_opt_u64 *o) { return o->set && o->v != 0; }
static bool nonempty(const char *s) { return s && *s; }

static int write_limit(const char *dir, const char *file, int64_t v, struct berr **err) {
  char buf[24];
  cgroup_fmt_limit(v, buf, sizeof buf);
  return cg_write(dir, file, buf, err);
}

/* ---------- memory ---------- */

static bool want_memory(const struct oci_resources *r) {
  return set_nonzero_i64(&r->memory.limit) || set_nonzero_i64(&r->memory.reservation) ||
         set_nonzero_i64(&r->memory.swap);
}

static void log_memory_ignored(const struct oci_resources *r) {
  if (r->memory.swappiness.set)
    log_debug("cgroup v2: memory.swappiness ignored: no v2 equivalent");
  if (r->memory.kernel.set || r->memory.kernel_tcp.set)
    log_debug("cgroup v2: memory.kernel / kernelTCP ignored: no v2 equivalent");
  if (r->memory.has_use_hierarchy)
    log_debug("cgroup v2: memory.useHierarchy ignored: always hierarchical");
  if (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer)
    log_warn("cgroup v2: memory.disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer");
}

/* memory.max as a number; -1 for "max". */
static int current_memory_max(const char *dir, int64_t *out, struct berr **err) {
  _cleanup_free_ char *s = NULL;
  int r = cg_read(dir, "memory.max", &s, err);
  if (r < 0)
    return r;
  if (strcmp(s, "max") == 0)
    *out = -1;
  else if (parse_int64(s, out) < 0)
    return berr_set(err, EINVAL, "cgroup v2: %s/memory.max: not a number: \"%s\"", dir, s);
  return 0;
}

static int check_before_update(const char *dir, int64_t limit, struct berr **err) {
  _cleanup_free_ char *s = NULL;
  int64_t usage;
  int r = cg_read(dir, "memory.current", &s, err);
  if (r < 0)
    return r;
  if (parse_int64(s, &usage) == 0 && usage > limit)
    return berr_set(err, EBUSY, "cgroup v2: memory limit %" PRId64 " is below the current usage %" PRId64 " of %s",
                    limit, usage, dir);
  return 0;
}

static int apply_swap(const char *dir, int64_t limit, int64_t swap, struct berr **err) {
  char buf[24];
  int r = 0;
  if (swap > 0 && limit == 0) /* an update of swap alone: measure it against the limit in place */
    r = current_memory_max(dir, &limit, err);
  if (r < 0)
    return r;
  if (cgroup_v2_swap_value(limit, swap, buf, sizeof buf) < 0)
    return berr_set(err, EINVAL,
                    "cgroup v2: memory+swap limit %" PRId64 " needs a memory limit no larger than it"
                    " (memory limit %" PRId64 ")",
                    swap, limit);
  if (!cg_has(dir, "memory.swap.max")) {
    if (strcmp(buf, "max") == 0)
      return 0;
    return berr_set(err, ENOTSUP, "cgroup v2: swap limit asked, but %s has no memory.swap.max (no swap accounting)",
                    dir);
  }
  return cg_write(dir, "memory.swap.max", buf, err);
}

static int apply_memory(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  int64_t limit = r->memory.limit.set ? r->memory.limit.v : 0;
  int64_t swap = r->memory.swap.set ? r->memory.swap.v : 0;
  int ret = 0;
  if (limit > 0 && r->memory.has_check_before_update && r->memory.check_before_update)
    ret = check_before_update(c->dir, limit, err);
  if (ret == 0 && limit != 0)
    ret = write_limit(c->dir, "memory.max", limit, err);
  /* unlimited memory with swap left unset means unlimited swap too, as on v1 */
  if (ret == 0 && (swap != 0 || limit == -1))
    ret = apply_swap(c->dir, limit, swap != 0 ? swap : -1, err);
  if (ret == 0 && set_nonzero_i64(&r->memory.reservation))
    ret = write_limit(c->dir, "memory.low", r->memory.reservation.v, err);
  return ret;
}

/* ---------- cpu, cpuset, pids ---------- */

static bool want_cpu(const struct oci_resources *r) {
  return set_nonzero_u64(&r->cpu.shares) || set_nonzero_i64(&r->cpu.quota) || set_nonzero_u64(&r->cpu.period) ||
         r->cpu.burst.set || r->cpu.idle.set;
}

/* cpu.max is "QUOTA PERIOD"; a period alone keeps the quota in place. */
static int apply_cpu_max(const char *dir, const struct oci_resources *r, struct berr **err) {
  bool quota = set_nonzero_i64(&r->cpu.quota), period = set_nonzero_u64(&r->cpu.period);
  if (!quota && !period)
    return 0;
  _cleanup_free_ char *cur = NULL;
  char q[24] = "max";
  if (quota && r->cpu.quota.v > 0)
    snprintf(q, sizeof q, "%" PRId64, r->cpu.quota.v);
  if (!quota) {
    int ret = cg_read(dir, "cpu.max", &cur, err);
    if (ret < 0)
      return ret;
    cur[strcspn(cur, " ")] = '\0';
    snprintf(q, sizeof q, "%s", cur);
  }
  if (period)
    return cg_writef(dir, "cpu.max", err, "%s %" PRIu64, q, r->cpu.period.v);
  return cg_write(dir, "cpu.max", q, err);
}

static int apply_cpu(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  int ret = 0;
  if (set_nonzero_u64(&r->cpu.shares))
    ret = cg_writef(c->dir, "cpu.weight", err, "%" PRIu64, cgroup_shares_to_weight(r->cpu.shares.v));
  if (ret == 0)
    ret = apply_cpu_max(c->dir, r, err);
  if (ret == 0 && r->cpu.burst.set)
    ret = cg_writef(c->dir, "cpu.max.burst", err, "%" PRIu64, r->cpu.burst.v);
  if (ret == 0 && r->cpu.idle.set)
    ret = cg_writef(c->dir, "cpu.idle", err, "%" PRId64, r->cpu.idle.v);
  return ret;
}

static bool want_cpuset(const struct oci_resources *r) { return nonempty(r->cpu.cpus) || nonempty(r->cpu.mems); }

static int apply_cpuset(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  int ret = 0;
  if (nonempty(r->cpu.cpus))
    ret = cg_write(c->dir, "cpuset.cpus", r->cpu.cpus, err);
  if (ret == 0 && nonempty(r->cpu.mems))
    ret = cg_write(c->dir, "cpuset.mems", r->cpu.mems, err);
  return ret;
}

static bool want_pids(const struct oci_resources *r) { return r->pids.set; }

static int apply_pids(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  return write_limit(c->dir, "pids.max", r->pids.limit, err);
}

/* ---------- io ---------- */

static bool want_io(const struct oci_resources *r) {
  const __typeof__(r->blkio) *b = &r->blkio;
  return set_nonzero_u64(&b->weight) || b->n_weight_device || b->n_throttle_read_bps || b->n_throttle_write_bps ||
         b->n_throttle_read_iops || b->n_throttle_write_iops;
}

/* io.weight takes the converted weight; kernels with BFQ alone offer io.bfq.weight, in blkio's range. */
static int io_weight(const char *dir, const char *prefix, uint64_t blkio_weight, struct berr **err) {
  if (cg_has(dir, "io.weight"))
    return cg_writef(dir, "io.weight", err, "%s%" PRIu64, prefix, cgroup_blkio_to_io_weight(blkio_weight));
  if (cg_has(dir, "io.bfq.weight"))
    return cg_writef(dir, "io.bfq.weight", err, "%s%" PRIu64, prefix, blkio_weight);
  return berr_set(err, ENOTSUP, "cgroup v2: blockIO weight asked, but %s has neither io.weight nor io.bfq.weight", dir);
}

static int apply_io_max(const char *dir, const struct oci_resources *r, struct berr **err) {
  const struct {
    const char *key;
    const struct oci_throttle_device *devs;
    size_t n;
  } lists[] = {
      {"rbps", r->blkio.throttle_read_bps, r->blkio.n_throttle_read_bps},
      {"wbps", r->blkio.throttle_write_bps, r->blkio.n_throttle_write_bps},
      {"riops", r->blkio.throttle_read_iops, r->blkio.n_throttle_read_iops},
      {"wiops", r->blkio.throttle_write_iops, r->blkio.n_throttle_write_iops},
  };
  for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
    for (size_t i = 0; i < lists[l].n; i++) {
      const struct oci_throttle_device *d = &lists[l].devs[i];
      char rate[24] = "max"; /* 0 lifts the limit, like writing 0 on v1 */
      if (d->rate)
        snprintf(rate, sizeof rate, "%" PRIu64, d->rate);
      int ret = cg_writef(dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%s", d->major, d->minor, lists[l].key, rate);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int apply_io(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  int ret = 0;
  if (set_nonzero_u64(&r->blkio.weight))
    ret = io_weight(c->dir, "", r->blkio.weight.v, err);
  for (size_t i = 0; ret == 0 && i < r->blkio.n_weight_device; i++) {
    const struct oci_weight_device *d = &r->blkio.weight_device[i];
    char dev[48];
    snprintf(dev, sizeof dev, "%" PRId64 ":%" PRId64 " ", d->major, d->minor);
    if (d->weight.set)
      ret = io_weight(c->dir, dev, d->weight.v, err);
  }
  if (ret == 0)
    ret = apply_io_max(c->dir, r, err);
  return ret;
}

/* ---------- hugetlb ---------- */

static bool want_hugetlb(const struct oci_resources *r) { return r->n_hugepage_limits > 0; }

static int apply_hugetlb(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  for (size_t i = 0; i < r->n_hugepage_limits; i++) {
    const char *size = r->hugepage_limits[i].page_size;
    if (!nonempty(size) || strchr(size, '/') || strstr(size, ".."))
      return berr_set(err, EINVAL, "cgroup: invalid hugepage size \"%s\"", size ? size : "");
    _cleanup_free_ char *usage = xasprintf("hugetlb.%s.max", size);
    _cleanup_free_ char *rsvd = xasprintf("hugetlb.%s.rsvd.max", size);
    int ret = cg_writef(c->dir, usage, err, "%" PRIu64, r->hugepage_limits[i].limit);
    if (ret == 0 && cg_has(c->dir, rsvd))
      ret = cg_writef(c->dir, rsvd, err, "%" PRIu64, r->hugepage_limits[i].limit);
    if (ret < 0)
      return ret;
  }
  return 0;
}

/* ---------- refused on v2 ---------- */

static bool want_realtime(const struct oci_resources *r) {
  return set_nonzero_u64(&r->cpu.realtime_period) || set_nonzero_i64(&r->cpu.realtime_runtime);
}

static int refuse_realtime(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  (void)r;
  return berr_set(err, ENOTSUP, "cgroup v2: cpu.realtimePeriod/realtimeRuntime are not supported (in %s)", c->dir);
}

static bool want_network(const struct oci_resources *r) {
  return r->network.class_id.set || r->network.n_priorities > 0;
}

static int refuse_network(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  (void)r;
  return berr_set(err, ENOTSUP,
                  "cgroup v2: network.classID/priorities need the v1 net_cls/net_prio controllers (in %s)", c->dir);
}

/* ---------- devices (eBPF) ---------- */

static int sys_bpf(int cmd, union bpf_attr *attr) { return (int)syscall(__NR_bpf, cmd, attr, sizeof *attr); }

#define BPF_LOG_SIZE 4096

/* Load the program; on failure, load again with the verifier log to say why. */
static int bpf_load(const struct bpf_insn *insns, size_t n, const char *dir, struct berr **err) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uintptr_t)insns;
  a.insn_cnt = (uint32_t)n;
  a.license = (uintptr_t) "Apache-2.0";
  int fd = sys_bpf(BPF_PROG_LOAD, &a);
  if (fd >= 0)
    return fd;
  int saved = errno;
  _cleanup_free_ char *log = xcalloc(BPF_LOG_SIZE, 1);
  a.log_buf = (uintptr_t)log;
  a.log_size = BPF_LOG_SIZE;
  a.log_level = 1;
  fd = sys_bpf(BPF_PROG_LOAD, &a);
  if (fd >= 0) /* should not happen; take it */
    return fd;
  log[strcspn(log, "\n")] = '\0';
  return berr_sys(err, saved, "cgroup v2: load device filter for %s%s%s", dir, *log ? ": " : "", log);
}

#define BPF_MAX_OLD_PROGS 64

static int bpf_query_ids(int cgfd, uint32_t *ids, uint32_t *n) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.query.target_fd = (uint32_t)cgfd;
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = (uintptr_t)ids;
  a.query.prog_cnt = *n;
  if (sys_bpf(BPF_PROG_QUERY, &a) < 0)
    return -errno;
  *n = a.query.prog_cnt;
  return 0;
}

static int bpf_attach(int cgfd, int progfd) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)cgfd;
  a.attach_bpf_fd = (uint32_t)progfd;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  return sys_bpf(BPF_PROG_ATTACH, &a) < 0 ? -errno : 0;
}

static void bpf_detach_id(int cgfd, uint32_t id, const char *dir) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_id = id;
  _cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)cgfd;
  a.attach_bpf_fd = (uint32_t)fd;
  a.attach_type = BPF_CGROUP_DEVICE;
  if (fd < 0 || sys_bpf(BPF_PROG_DETACH, &a) < 0)
    log_warn("cgroup v2: detach old device filter %u from %s: %s", id, dir, strerror(errno));
}

static bool want_devices(const struct oci_resources *r) { return r->n_devices > 0; }

static int apply_devices(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  _cleanup_free_ struct bpf_insn *insns = NULL;
  size_t n = 0;
  char rule[64];
  for (size_t i = 0; i < r->n_devices; i++)
    if (cgroup_v1_device_rule(&r->devices[i], rule, sizeof rule) < 0)
      return berr_set(err, EINVAL, "cgroup: devices[%zu]: invalid rule (type '%c', access \"%s\")", i,
                      r->devices[i].type ? r->devices[i].type : 'a',
                      r->devices[i].access ? r->devices[i].access : "");
  if (cgroup_devices_bpf(r->devices, r->n_devices, &insns, &n) < 0)
    return berr_set(err, EINVAL, "cgroup v2: cannot build the device filter for %s", c->dir);
  _cleanup_close_ int cgfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgfd < 0)
    return berr_sys(err, errno, "cgroup v2: open %s", c->dir);
  uint32_t old[BPF_MAX_OLD_PROGS], n_old = BPF_MAX_OLD_PROGS;
  int ret = bpf_query_ids(cgfd, old, &n_old);
  if (ret < 0)
    return berr_sys(err, -ret, "cgroup v2: query device filters of %s", c->dir);
  _cleanup_close_ int prog = bpf_load(insns, n, c->dir, err);
  if (prog < 0)
    return prog;
  if ((ret = bpf_attach(cgfd, prog)) < 0)
    return berr_sys(err, -ret, "cgroup v2: attach device filter to %s", c->dir);
  for (uint32_t i = 0; i < n_old && i < BPF_MAX_OLD_PROGS; i++)
    bpf_detach_id(cgfd, old[i], c->dir);
  return 0;
}

/* ---------- unified keys ---------- */

static bool unified_key_ok(const char *key) {
  return nonempty(key) && !strchr(key, '/') && !strstr(key, "..") && strchr(key, '.') && key[0] != '.';
}

static int apply_unified(struct v2_ctx *c, const struct oci_resources *r, struct berr **err) {
  for (size_t i = 0; r->unified_keys && r->unified_keys[i]; i++) {
    const char *key = r->unified_keys[i], *value = r->unified_values[i];
    if (!unified_key_ok(key))
      return berr_set(err, EINVAL, "cgroup v2: resources.unified: invalid key \"%s\"", key);
    if (!cg_has(c->dir, key)) {
      /* memory.high is missing when the memory controller is: say that, not ENOENT */
      _cleanup_free_ char *controller = strndup(key, strcspn(key, "."));
      int ret = strcmp(controller, "cgroup") == 0 ? 0 : need_controller(c, controller, err);
      if (ret < 0)
        return ret;
    }
    int ret = cg_write(c->dir, key, value ? value : "", err);
    if (ret < 0)
      return ret;
  }
  return 0;
}

int cgv2_apply_unified(const char *dir, const struct oci_resources *r, struct berr **err) {
  struct v2_ctx c;
  int ret = ctx_init(&c, dir, NULL, NULL, err);
  if (ret == 0)
    ret = apply_unified(&c, r, err);
  free(c.avail);
  return ret;
}

/* ---------- apply ---------- */

static const struct v2_step {
  const char *controller; /* NULL: needs none */
  bool (*wanted)(const struct oci_resources *r);
  int (*apply)(struct v2_ctx *c, const struct oci_resources *r, struct berr **err);
} v2_steps[] = {
    {NULL, want_realtime, refuse_realtime}, {NULL, want_network, refuse_network},
    {"cpuset", want_cpuset, apply_cpuset},  {"memory", want_memory, apply_memory},
    {"cpu", want_cpu, apply_cpu},           {"pids", want_pids, apply_pids},
    {"io", want_io, apply_io},              {"hugetlb", want_hugetlb, apply_hugetlb},
    {NULL, want_devices, apply_devices},
};

/* The hierarchy's root: unified_dir without the trailing cg->path. */
static char *root_of(const struct cgroup *cg) {
  size_t dl = strlen(cg->unified_dir), pl = strlen(cg->path);
  if (dl < pl || strcmp(cg->unified_dir + dl - pl, cg->path) != 0)
    return NULL;
  return strndup(cg->unified_dir, dl - pl);
}

int cgv2_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err) {
  _cleanup_free_ char *root = root_of(cg);
  struct v2_ctx c;
  int ret = ctx_init(&c, cg->unified_dir, root, cg->path, err);
  log_memory_ignored(r);
  if (r->blkio.leaf_weight.set)
    log_debug("cgroup v2: blockIO.leafWeight ignored: no v2 equivalent");
  for (size_t i = 0; ret == 0 && i < sizeof v2_steps / sizeof *v2_steps; i++) {
    const struct v2_step *s = &v2_steps[i];
    if (!s->wanted(r))
      continue;
    if (s->controller)
      ret = need_controller(&c, s->controller, err);
    if (ret == 0)
      ret = s->apply(&c, r, err);
  }
  if (ret == 0)
    ret = apply_unified(&c, r, err);
  free(c.avail);
  return ret;
}

/* ---------- processes, freezer, removal ---------- */

int cgv2_add_pid(struct cgroup *cg, pid_t pid, struct berr **err) {
  return cg_writef(cg->unified_dir, "cgroup.procs", err, "%d", (int)pid);
}

int cgv2_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr **err) {
  return cg_procs_tree(cg->unified_dir, pids, n, err);
}

/* The value of `key` in a flat-keyed file ("populated 1\nfrozen 0"); -1 when absent. */
static long keyed_value(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *p = text; p && *p;) {
    if (strncmp(p, key, n) == 0 && p[n] == ' ')
      return strtol(p + n + 1, NULL, 10);
    p = strchr(p, '\n');
    p = p ? p + 1 : NULL;
  }
  return -1;
}

static int read_frozen(int fd, const char *dir, long *frozen, struct berr **err) {
  char buf[256];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n < 0)
    return berr_sys(err, errno, "cgroup: read %s/cgroup.events", dir);
  buf[n] = '\0';
  *frozen = keyed_value(buf, "frozen");
  return 0;
}

static long elapsed_ms(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

#define FREEZE_TIMEOUT_MS 10000
#define FREEZE_POLL_MS 100 /* re-read even without a notification, to be safe */

/* Wait until cgroup.events says "frozen <want>"; the kernel notifies changes with POLLPRI. */
static int wait_frozen(const char *dir, long want, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("%s/cgroup.events", dir);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "cgroup: open %s", path);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    long state = -1;
    int r = read_frozen(fd, dir, &state, err);
    if (r < 0)
      return r;
    if (state == want)
      return 0;
    if (elapsed_ms(&start) > FREEZE_TIMEOUT_MS)
      return berr_set(err, ETIMEDOUT, "cgroup v2: %s did not report \"frozen %ld\" in %d s", path, want,
                      FREEZE_TIMEOUT_MS / 1000);
    struct pollfd p = {.fd = fd, .events = POLLPRI};
    poll(&p, 1, FREEZE_POLL_MS);
  }
}

int cgv2_freeze(struct cgroup *cg, bool frozen, struct berr **err) {
  if (!cg_has(cg->unified_dir, "cgroup.freeze"))
    return berr_set(err, ENOTSUP, "cgroup v2: %s has no cgroup.freeze (kernel older than 5.2)", cg->unified_dir);
  int r = cg_write(cg->unified_dir, "cgroup.freeze", frozen ? "1" : "0", err);
  if (r == 0)
    r = wait_frozen(cg->unified_dir, frozen ? 1 : 0, err);
  if (r < 0 && frozen)
    cg_write(cg->unified_dir, "cgroup.freeze", "0", NULL);
  return r;
}

int cgv2_frozen(struct cgroup *cg, bool *frozen, struct berr **err) {
  _cleanup_free_ char *events = NULL;
  int r = cg_read(cg->unified_dir, "cgroup.events", &events, err);
  if (r < 0)
    return r;
  long v = keyed_value(events, "frozen");
  if (v < 0)
    return berr_set(err, ENOTSUP, "cgroup v2: %s/cgroup.events has no \"frozen\" (kernel older than 5.2)",
                    cg->unified_dir);
  *frozen = v == 1;
  return 0;
}

int cgv2_kill(struct cgroup *cg, struct berr **err) {
  if (!cg_has(cg->unified_dir, "cgroup.kill"))
    return -ENOTSUP; /* kernel older than 5.14: the caller signals each pid */
  return cg_write(cg->unified_dir, "cgroup.kill", "1", err);
}

int cgv2_destroy(struct cgroup *cg, struct berr **err) { return cg_rmdir(cg->unified_dir, err); }
