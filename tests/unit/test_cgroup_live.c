/*
 * test_cgroup_live.c — the cgroup layer against the real kernel: create, apply,
 * add_pid, pids, freeze, kill, destroy, with a forked child as the "container".
 *
 * Needs root and a cgroup filesystem; every test skips cleanly otherwise. Tests that
 * check v1 files run on v1/hybrid hosts; the v2 test drives the v2 backend on a hybrid
 * host's /sys/fs/cgroup/unified (no controllers there: it checks mkdir, procs, freeze,
 * kill, the eBPF device filter, and the "controller not available" errors).
 *
 * Every cgroup is named berth-cgtest-<pid>[...]; the group teardown kills the children
 * and removes whatever is left under that name in every hierarchy, even after a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "runtime/cgroup_internal.h"

static char name[64];      /* "berth-cgtest-<pid>" */
static char cg_path[80];   /* "/berth-cgtest-<pid>" */
static enum cgroup_mode host_mode;
static bool live;
static pid_t spawned[16]; /* every child, so the teardown can kill them after a failed test */
static size_t n_spawned;
static char fake_root[64]; /* the fake v2 dir of test_v2_values_on_fake_dir, while it exists */

/* ---------- the child standing in for a container ---------- */

struct child {
  pid_t pid;
  int cmd, reply; /* our ends of its pipes */
};

enum { DEV_NULL_OK = 1, DEV_FULL_EPERM = 2, DEV_FULL_OK = 4 };

static int device_report(void) {
  int r = 0, fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    r |= DEV_NULL_OK;
    close(fd);
  }
  fd = open("/dev/full", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    r |= DEV_FULL_OK;
    close(fd);
  } else if (errno == EPERM) {
    r |= DEV_FULL_EPERM;
  }
  return r;
}

static void child_main(int cmd, int reply) {
  char c;
  while (read(cmd, &c, 1) == 1) {
    char out = c == 'd' ? (char)device_report() : c;
    if (write(reply, &out, 1) != 1)
      break;
  }
  _exit(0);
}

static struct child spawn(void) {
  int to[2], from[2];
  assert_int_equal(pipe2(to, O_CLOEXEC), 0);
  assert_int_equal(pipe2(from, O_CLOEXEC), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(to[1]);
    close(from[0]);
    child_main(to[0], from[1]);
  }
  close(to[0]);
  close(from[1]);
  if (n_spawned < sizeof spawned / sizeof *spawned)
    spawned[n_spawned++] = pid;
  return (struct child){.pid = pid, .cmd = to[1], .reply = from[0]};
}

/* Send `c`; -ETIMEDOUT when no answer comes within `ms`. */
static int ask(struct child *ch, char c, int ms, char *answer) {
  if (c && write(ch->cmd, &c, 1) != 1)
    return -errno;
  struct pollfd p = {.fd = ch->reply, .events = POLLIN};
  if (poll(&p, 1, ms) != 1)
    return -ETIMEDOUT;
  return read(ch->reply, answer, 1) == 1 ? 0 : -EIO;
}

/* Wait up to 5 s for the child to end; returns its wait status, or -1. */
static int reap(struct child *ch) {
  int status = -1;
  for (int i = 0; i < 500; i++) {
    pid_t r = waitpid(ch->pid, &status, WNOHANG);
    if (r == ch->pid) {
      close(ch->cmd);
      close(ch->reply);
      ch->pid = 0;
      return status;
    }
    cg_sleep_ms(10);
  }
  return -1;
}

/* Kill and reap children a failed test left behind (reaped ones are gone: ECHILD). */
static void kill_leftovers(void) {
  for (size_t i = 0; i < n_spawned; i++)
    if (waitpid(spawned[i], NULL, WNOHANG) == 0) {
      kill(spawned[i], SIGKILL);
      waitpid(spawned[i], NULL, 0);
    }
}

/* ---------- helpers ---------- */

static char *slurp(const char *dir, const char *file) {
  char *s = NULL;
  assert_int_equal(cg_read(dir, file, &s, NULL), 0);
  return s;
}

static void assert_file(const char *dir, const char *file, const char *want) {
  char *s = slurp(dir, file);
  if (strcmp(s, want) != 0)
    fail_msg("%s/%s: \"%s\", want \"%s\"", dir, file, s, want);
  free(s);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *hier_dir(const struct cgroup *cg, const char *controller) {
  for (size_t i = 0; i < cg->n_hiers; i++)
    if (cgroup_list_has(cg->hiers[i].controllers, controller))
      return cg->hiers[i].dir;
  fail_msg("no %s hierarchy", controller);
  return NULL;
}

/* The error of a failing apply, which the test frees. */
static char *apply_error(struct cgroup *cg, const struct oci_resources *r) {
  struct berr *err = NULL;
  assert_true(cgroup_apply(cg, r, &err) < 0);
  assert_non_null(err);
  char *msg = xstrdup(err->msg);
  berr_free(err);
  return msg;
}

static void apply_ok(struct cgroup *cg, const struct oci_resources *r) {
  struct berr *err = NULL;
  if (cgroup_apply(cg, r, &err) < 0)
    fail_msg("apply: %s", err->msg);
}

static void assert_in_cgroup(pid_t pid, const char *controller, const char *want) {
  char *path = xasprintf("/proc/%d", (int)pid), *text = slurp(path, "cgroup"), *got = NULL;
  assert_int_equal(cgroup_parse_proc_line(text, controller, &got), 0);
  assert_string_equal(got, want);
  free(got);
  free(text);
  free(path);
}

static void assert_pids(struct cgroup *cg, pid_t want) {
  pid_t *pids = NULL;
  size_t n = 0;
  assert_int_equal(cgroup_pids(cg, &pids, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_int_equal(pids[0], want);
  free(pids);
}

/* Freeze: the child stops answering; thaw: the pending answer arrives. */
static void check_freeze(struct cgroup *cg, struct child *ch) {
  bool frozen = true;
  char c;
  assert_int_equal(cgroup_frozen(cg, &frozen, NULL), 0);
  assert_false(frozen);
  assert_int_equal(cgroup_freeze(cg, true, NULL), 0);
  assert_int_equal(cgroup_frozen(cg, &frozen, NULL), 0);
  assert_true(frozen);
  assert_int_equal(ask(ch, 'p', 200, &c), -ETIMEDOUT);
  assert_int_equal(cgroup_freeze(cg, false, NULL), 0);
  assert_int_equal(cgroup_frozen(cg, &frozen, NULL), 0);
  assert_false(frozen);
  assert_int_equal(ask(ch, 0, 2000, &c), 0);
  assert_int_equal(c, 'p');
}

static void destroy_ok(struct cgroup *cg) {
  struct berr *err = NULL;
  if (cgroup_destroy(cg, &err) < 0)
    fail_msg("destroy: %s", err->msg);
  for (size_t i = 0; i < cg->n_hiers; i++)
    assert_false(is_dir(cg->hiers[i].dir));
  if (cg->unified_dir)
    assert_false(is_dir(cg->unified_dir));
}

static void skip_unless_live(void) {
  if (!live)
    skip();
}

static void skip_unless_v1(void) {
  skip_unless_live();
  if (host_mode == CGROUP_MODE_V2)
    skip();
}

/* ---------- setup / sweeping ---------- */

/* Remove every berth-cgtest-<pid>* directory (and cgroups below it) in every hierarchy. */
static void sweep(void) {
  static const char *const roots[] = {CGROUP_ROOT, CGROUP_HYBRID_UNIFIED};
  for (size_t r = 0; r < 2; r++) {
    DIR *top = opendir(roots[r]);
    struct dirent *h;
    while (top && (h = readdir(top))) {
      if (h->d_name[0] == '.')
        continue;
      char *hier = xasprintf("%s/%s", roots[r], h->d_name);
      char *dirs[] = {hier, (char *)roots[r]}; /* a hierarchy, or the root itself on v2/unified */
      for (size_t k = 0; k < 2; k++) {
        DIR *d = opendir(dirs[k]);
        struct dirent *e;
        while (d && (e = readdir(d)))
          if (strncmp(e->d_name, name, strlen(name)) == 0) {
            char *victim = xasprintf("%s/%s", dirs[k], e->d_name);
            struct berr *err = NULL;
            if (cg_rmdir(victim, &err) < 0) {
              print_error("sweep: %s\n", err->msg);
              berr_free(err);
            }
            free(victim);
          }
        if (d)
          closedir(d);
      }
      free(hier);
    }
    if (top)
      closedir(top);
  }
}

static int group_setup(void **state) {
  (void)state;
  snprintf(name, sizeof name, "berth-cgtest-%d", (int)getpid());
  snprintf(cg_path, sizeof cg_path, "/%s", name);
  live = geteuid() == 0 && cgroup_detect_mode(&host_mode, NULL) == 0;
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  kill_leftovers();
  if (fake_root[0])
    rm_rf(fake_root, NULL);
  if (live)
    sweep();
  return 0;
}

/* ---------- tests ---------- */

static void test_lifecycle_host(void **state) {
  (void)state;
  skip_unless_live();
  struct cgroup *cg = NULL;
  struct berr *err = NULL;
  if (cgroup_create(NULL, name, &cg, &err) < 0)
    fail_msg("create: %s", err->msg);
  assert_int_equal(cg->mode, host_mode);
  assert_string_equal(cg->path, cg_path);
  for (size_t i = 0; i < cg->n_hiers; i++)
    assert_true(is_dir(cg->hiers[i].dir));
  if (host_mode != CGROUP_MODE_V1)
    assert_true(is_dir(cg->unified_dir));

  /* the state round trip: go on with the reloaded copy */
  json_t *j = cgroup_to_json(cg);
  struct cgroup *back = NULL;
  if (cgroup_from_json(j, &back, &err) < 0)
    fail_msg("from_json: %s", err->msg);
  json_decref(j);
  assert_int_equal(back->n_hiers, cg->n_hiers);
  for (size_t i = 0; i < cg->n_hiers; i++) {
    assert_string_equal(back->hiers[i].dir, cg->hiers[i].dir);
    assert_string_equal(back->hiers[i].controllers, cg->hiers[i].controllers);
  }
  cgroup_free(cg);
  cg = back;

  struct child ch = spawn();
  assert_int_equal(cgroup_add_pid(cg, ch.pid, NULL), 0);
  assert_pids(cg, ch.pid);
  if (host_mode != CGROUP_MODE_V2)
    assert_in_cgroup(ch.pid, "memory", cg_path);
  if (host_mode != CGROUP_MODE_V1)
    assert_in_cgroup(ch.pid, "", cg_path); /* hybrid joins the unified dir too */
  check_freeze(cg, &ch);

  /* kill from a paused state: SIGKILL must thaw, or v1 tasks never die */
  assert_int_equal(cgroup_freeze(cg, true, NULL), 0);
  assert_int_equal(cgroup_kill_all(cg, SIGKILL, NULL), 0);
  int status = reap(&ch);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  struct child ch2 = spawn();
  assert_int_equal(cgroup_add_pid(cg, ch2.pid, NULL), 0);
  assert_int_equal(cgroup_kill_all(cg, SIGTERM, NULL), 0);
  status = reap(&ch2);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  bool frozen = true;
  assert_int_equal(cgroup_frozen(cg, &frozen, NULL), 0);
  assert_false(frozen);

  destroy_ok(cg);
  assert_int_equal(cgroup_destroy(cg, NULL), 0); /* absent is fine */
  cgroup_free(cg);
}

static void test_v1_limits(void **state) {
  (void)state;
  skip_unless_v1();
  struct cgroup *cg = NULL;
  struct berr *err = NULL;
  char *rel = xasprintf("%s-limits", name); /* relative cgroupsPath: from the root */
  if (cgroup_create(rel, "ignored", &cg, &err) < 0)
    fail_msg("create: %s", err->msg);
  free(rel);
  const char *mem = hier_dir(cg, "memory"), *cpu = hier_dir(cg, "cpu"), *cpuset = hier_dir(cg, "cpuset");
  const char *pids = hier_dir(cg, "pids"), *blkio = hier_dir(cg, "blkio"), *devices = hier_dir(cg, "devices");

  /* cpuset was filled from the parent at create */
  char *root_cpus = slurp(CGROUP_ROOT "/cpuset", "cpuset.cpus");
  char *root_mems = slurp(CGROUP_ROOT "/cpuset", "cpuset.mems");
  assert_file(cpuset, "cpuset.cpus", root_cpus);
  assert_file(cpuset, "cpuset.mems", root_mems);
  free(root_cpus);
  free(root_mems);

  char rwm[] = "rwm", r_only[] = "r";
  struct oci_device_cgroup rules[] = {
      {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = rwm},
      {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = rwm},
      {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = r_only},
  };
  struct oci_resources r = {0};
  r.memory.limit = (struct oci_opt_i64){true, 64 << 20};
  r.memory.swap = (struct oci_opt_i64){true, 128 << 20};
  r.memory.reservation = (struct oci_opt_i64){true, 32 << 20};
  r.memory.swappiness = (struct oci_opt_u64){true, 10};
  r.memory.has_disable_oom_killer = r.memory.disable_oom_killer = true;
  r.memory.kernel = (struct oci_opt_i64){true, 1 << 30}; /* ignored */
  r.cpu.shares = (struct oci_opt_u64){true, 512};
  r.cpu.period = (struct oci_opt_u64){true, 100000};
  r.cpu.quota = (struct oci_opt_i64){true, 50000};
  r.cpu.idle = (struct oci_opt_i64){true, 0};
  r.cpu.cpus = (char *)"0";
  r.cpu.mems = (char *)"0";
  r.pids.set = true;
  r.pids.limit = 100;
  r.blkio.weight = (struct oci_opt_u64){true, 500};
  r.devices = rules;
  r.n_devices = 3;
  apply_ok(cg, &r);
  assert_file(mem, "memory.limit_in_bytes", "67108864");
  assert_file(mem, "memory.memsw.limit_in_bytes", "134217728");
  assert_file(mem, "memory.soft_limit_in_bytes", "33554432");
  assert_file(mem, "memory.swappiness", "10");
  char *oom = slurp(mem, "memory.oom_control");
  assert_non_null(strstr(oom, "oom_kill_disable 1"));
  free(oom);
  assert_file(cpu, "cpu.shares", "512");
  assert_file(cpu, "cpu.cfs_period_us", "100000");
  assert_file(cpu, "cpu.cfs_quota_us", "50000");
  assert_file(cpuset, "cpuset.cpus", "0");
  assert_file(pids, "pids.max", "100");
  if (cg_has(blkio, "blkio.weight"))
    assert_file(blkio, "blkio.weight", "500");
  else
    assert_file(blkio, "blkio.bfq.weight", "500");
  assert_file(devices, "devices.list", "c 1:3 rwm\nc 1:5 r");

  /* burst, realtime, and a throttle on a real block device, where this kernel has them */
  struct oci_resources more = {0};
  struct oci_throttle_device thr[] = {{.major = 0, .minor = 0, .rate = 1048576}};
  char *blockdev = NULL;
  if (cg_read("/sys/block/vda", "dev", &blockdev, NULL) == 0 ||
      cg_read("/sys/block/sda", "dev", &blockdev, NULL) == 0) {
    assert_int_equal(sscanf(blockdev, "%" SCNd64 ":%" SCNd64, &thr[0].major, &thr[0].minor), 2);
    more.blkio.throttle_read_bps = thr;
    more.blkio.n_throttle_read_bps = 1;
  }
  if (cg_has(cpu, "cpu.cfs_burst_us"))
    more.cpu.burst = (struct oci_opt_u64){true, 1000};
  if (cg_has(cpu, "cpu.rt_runtime_us")) {
    more.cpu.realtime_period = (struct oci_opt_u64){true, 1000000};
    more.cpu.realtime_runtime = (struct oci_opt_i64){true, 10000};
  }
  apply_ok(cg, &more);
  if (blockdev) {
    char *line = xasprintf("%s 1048576", blockdev);
    assert_file(blkio, "blkio.throttle.read_bps_device", line);
    free(line);
    free(blockdev);
  }
  if (more.cpu.burst.set)
    assert_file(cpu, "cpu.cfs_burst_us", "1000");
  if (more.cpu.realtime_runtime.set)
    assert_file(cpu, "cpu.rt_runtime_us", "10000");

  /* the rules hold for a process inside */
  struct child ch = spawn();
  assert_int_equal(cgroup_add_pid(cg, ch.pid, NULL), 0);
  char c = 0;
  assert_int_equal(ask(&ch, 'd', 2000, &c), 0);
  assert_int_equal(c, DEV_NULL_OK | DEV_FULL_EPERM);

  /* memory+swap ordering, lowering then raising (the wrong order fails with EINVAL) */
  struct oci_resources m = {0};
  m.memory.limit = (struct oci_opt_i64){true, 32 << 20};
  m.memory.swap = (struct oci_opt_i64){true, 48 << 20};
  apply_ok(cg, &m);
  assert_file(mem, "memory.memsw.limit_in_bytes", "50331648");
  m.memory.limit.v = 256 << 20;
  m.memory.swap.v = 512 << 20;
  apply_ok(cg, &m);
  assert_file(mem, "memory.limit_in_bytes", "268435456");
  assert_file(mem, "memory.memsw.limit_in_bytes", "536870912");
  m.memory.limit.v = -1; /* unlimited, swap unset: memsw is lifted too */
  m.memory.swap.set = false;
  apply_ok(cg, &m);
  char *unlimited = slurp(CGROUP_ROOT "/memory", "memory.limit_in_bytes");
  assert_file(mem, "memory.limit_in_bytes", unlimited);
  assert_file(mem, "memory.memsw.limit_in_bytes", unlimited);
  free(unlimited);
  m.memory.limit.v = 100 << 20;
  m.memory.swap = (struct oci_opt_i64){true, 50 << 20};
  char *msg = apply_error(cg, &m);
  assert_string_equal(msg, "cgroup v1: memory+swap limit 52428800 is below the memory limit 104857600");
  free(msg);

  /* pids 0 means unlimited (oci.h contract) */
  struct oci_resources p = {0};
  p.pids.set = true;
  apply_ok(cg, &p);
  assert_file(pids, "pids.max", "max");

  /* errors name the file and the value */
  struct oci_resources bad = {0};
  bad.cpu.cpus = (char *)"abc";
  msg = apply_error(cg, &bad);
  char *want = xasprintf("cgroup: write \"abc\" to %s/cpuset.cpus: Invalid argument", cpuset);
  assert_string_equal(msg, want);
  free(want);
  free(msg);

  /* hierarchies this host does not mount: net_cls/net_prio are skipped, hugetlb fails */
  if (!cg_has(CGROUP_ROOT "/net_cls", "cgroup.procs")) {
    struct oci_resources net = {0};
    net.network.class_id = (struct oci_opt_u64){true, 0x100001};
    apply_ok(cg, &net);
  }
  struct oci_resources huge = {0};
  struct {
    char *page_size;
    uint64_t limit;
  } hp[] = {{(char *)"2MB", 1 << 21}};
  huge.hugepage_limits = (void *)hp;
  huge.n_hugepage_limits = 1;
  if (!cg_has(CGROUP_ROOT "/hugetlb", "cgroup.procs")) {
    msg = apply_error(cg, &huge);
    assert_string_equal(msg, "cgroup v1: resources need the hugetlb controller, but no hugetlb hierarchy is mounted");
    free(msg);
  }
  if (host_mode == CGROUP_MODE_HYBRID) {
    char *keys[] = {(char *)"memory.high", NULL}, *values[] = {(char *)"1G", NULL};
    struct oci_resources u = {.unified_keys = keys, .unified_values = values};
    msg = apply_error(cg, &u);
    want = xasprintf("cgroup v2: controller memory not available in %s", cg->unified_dir);
    assert_string_equal(msg, want);
    free(want);
    free(msg);
  }

  assert_int_equal(cgroup_kill_all(cg, SIGKILL, NULL), 0);
  assert_true(reap(&ch) != -1);
  destroy_ok(cg);
  cgroup_free(cg);
}

static int bpf_prog_count(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  uint32_t ids[8];
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.query.target_fd = (uint32_t)fd;
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = (uintptr_t)ids;
  a.query.prog_cnt = 8;
  int r = (int)syscall(__NR_bpf, BPF_PROG_QUERY, &a, sizeof a);
  close(fd);
  return r < 0 ? -errno : (int)a.query.prog_cnt;
}

static void test_v2_on_unified(void **state) {
  (void)state;
  skip_unless_live();
  if (host_mode != CGROUP_MODE_HYBRID)
    skip();
  const char *root = CGROUP_HYBRID_UNIFIED;
  char *path = xasprintf("%s-v2/sub", cg_path), *parent = xasprintf("%s%s-v2", root, cg_path);
  char *root_subtree = slurp(root, "cgroup.subtree_control");
  struct cgroup *cg = NULL;
  struct berr *err = NULL;
  if (cgroup_create_v2_at(root, path, "x", &cg, &err) < 0)
    fail_msg("create: %s", err->msg);
  assert_int_equal(cg->mode, CGROUP_MODE_V2);
  assert_true(is_dir(cg->unified_dir));

  /* limits this hierarchy cannot enforce fail clearly; asking nothing is fine */
  struct oci_resources mem = {0};
  mem.memory.limit = (struct oci_opt_i64){true, 64 << 20};
  char *msg = apply_error(cg, &mem);
  char *want = xasprintf("cgroup v2: controller memory not available in %s", cg->unified_dir);
  assert_string_equal(msg, want);
  free(msg);
  free(want);
  struct oci_resources pids = {.pids = {true, 10}};
  msg = apply_error(cg, &pids);
  want = xasprintf("cgroup v2: controller pids not available in %s", cg->unified_dir);
  assert_string_equal(msg, want);
  free(msg);
  free(want);
  struct oci_resources none = {0};
  apply_ok(cg, &none);
  char *now = slurp(root, "cgroup.subtree_control");
  assert_string_equal(now, root_subtree); /* we never changed the host's root */
  free(now);
  free(root_subtree);

  /* unified keys: verbatim for core files, refused when escaping */
  char *keys[] = {(char *)"cgroup.max.descendants", NULL}, *values[] = {(char *)"5", NULL};
  struct oci_resources u = {.unified_keys = keys, .unified_values = values};
  apply_ok(cg, &u);
  assert_file(cg->unified_dir, "cgroup.max.descendants", "5");
  keys[0] = (char *)"../cgroup.max.descendants";
  msg = apply_error(cg, &u);
  assert_string_equal(msg, "cgroup v2: resources.unified: invalid key \"../cgroup.max.descendants\"");
  free(msg);

  /* the state round trip: use the reloaded copy from here on */
  json_t *j = cgroup_to_json(cg);
  struct cgroup *back = NULL;
  assert_int_equal(cgroup_from_json(j, &back, NULL), 0);
  json_decref(j);
  assert_int_equal(back->mode, CGROUP_MODE_V2);
  assert_string_equal(back->path, cg->path);
  assert_string_equal(back->unified_dir, cg->unified_dir);
  cgroup_free(cg);
  cg = back;

  struct child ch = spawn();
  assert_int_equal(cgroup_add_pid(cg, ch.pid, NULL), 0);
  assert_pids(cg, ch.pid);
  char *inner = xasprintf("%s-v2/sub", cg_path);
  assert_in_cgroup(ch.pid, "", inner);
  free(inner);

  /* device filter: eBPF, last rule wins; a new apply replaces the old program */
  char rwm[] = "rwm";
  struct oci_device_cgroup rules[] = {
      {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = rwm},
      {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = rwm},
  };
  struct oci_resources dev = {.devices = rules, .n_devices = 2};
  apply_ok(cg, &dev);
  char c = 0;
  assert_int_equal(ask(&ch, 'd', 2000, &c), 0);
  assert_int_equal(c, DEV_NULL_OK | DEV_FULL_EPERM);
  struct oci_device_cgroup all[] = {{.allow = true, .type = 'a', .major = -1, .minor = -1, .access = rwm}};
  struct oci_resources dev2 = {.devices = all, .n_devices = 1};
  apply_ok(cg, &dev2);
  assert_int_equal(ask(&ch, 'd', 2000, &c), 0);
  assert_int_equal(c, DEV_NULL_OK | DEV_FULL_OK);
  assert_int_equal(bpf_prog_count(cg->unified_dir), 1);

  check_freeze(cg, &ch);
  assert_int_equal(cgroup_kill_all(cg, SIGTERM, NULL), 0); /* freeze, signal, thaw */
  int status = reap(&ch);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

  struct child ch2 = spawn();
  assert_int_equal(cgroup_add_pid(cg, ch2.pid, NULL), 0);
  assert_int_equal(cgroup_kill_all(cg, SIGKILL, NULL), 0); /* cgroup.kill */
  status = reap(&ch2);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  destroy_ok(cg);
  assert_true(is_dir(parent)); /* parents are left in place, by design */
  assert_int_equal(rmdir(parent), 0);
  cgroup_free(cg);
  free(parent);
  free(path);
}

static void test_create_rollback(void **state) {
  (void)state;
  skip_unless_live();
  /* the last level collides with a file: every directory made so far must go */
  char *path = xasprintf("%s-rb/cgroup.procs", cg_path);
  struct cgroup *cg = NULL;
  struct berr *err = NULL;
  assert_int_equal(cgroup_create(path, "x", &cg, &err), -ENOTDIR);
  assert_null(cg);
  assert_non_null(strstr(err->msg, "is not a cgroup directory"));
  berr_free(err);
  free(path);
  char *mem = xasprintf(CGROUP_ROOT "%s%s-rb", host_mode == CGROUP_MODE_V2 ? "" : "/memory", cg_path);
  assert_false(is_dir(mem));
  free(mem);
  if (host_mode == CGROUP_MODE_HYBRID) {
    char *uni = xasprintf(CGROUP_HYBRID_UNIFIED "%s-rb", cg_path);
    assert_false(is_dir(uni));
    free(uni);
  }
}

static void test_bad_path(void **state) {
  (void)state;
  skip_unless_live();
  struct cgroup *cg = NULL;
  struct berr *err = NULL;
  assert_int_equal(cgroup_create("/a/../../etc", "x", &cg, &err), -EINVAL);
  assert_string_equal(err->msg, "cgroup: invalid cgroupsPath \"/a/../../etc\" (container x): must stay below the root");
  berr_free(err);
}

static void test_precreated_parent(void **state) {
  (void)state;
  skip_unless_v1();
  /* a manager (docker, containerd) may have made the parent: it must survive destroy */
  char *parent = xasprintf(CGROUP_ROOT "/memory%s-pre", cg_path), *path = xasprintf("%s-pre/c1", cg_path);
  assert_int_equal(mkdir(parent, 0755), 0);
  struct cgroup *cg = NULL;
  struct berr *err = NULL;
  if (cgroup_create(path, "x", &cg, &err) < 0)
    fail_msg("create: %s", err->msg);
  destroy_ok(cg);
  assert_true(is_dir(parent));
  cgroup_free(cg);
  free(path);
  free(parent);
  /* the other hierarchies' "-pre" parents were made by create: the teardown sweeps them */
}

/* ---------- v2 values, on a fake cgroup dir of regular files (no root needed) ---------- */

static const char *const fake_files[] = {
    "memory.max", "memory.swap.max", "memory.low", "memory.high", "cpu.weight", "cpu.max", "cpu.max.burst",
    "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max",
    "hugetlb.2MB.rsvd.max",
};

static void put(const char *dir, const char *file, const char *content) {
  char *path = xasprintf("%s/%s", dir, file);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
  free(path);
}

static void fake_reset(const char *dir) {
  for (size_t i = 0; i < sizeof fake_files / sizeof *fake_files; i++)
    put(dir, fake_files[i], "");
  put(dir, "cgroup.controllers", "cpuset cpu io memory hugetlb pids");
  put(dir, "memory.current", "1000");
}

static void test_v2_values_on_fake_dir(void **state) {
  (void)state;
  char *root = fake_root;
  snprintf(fake_root, sizeof fake_root, "/tmp/berth-cgfake-XXXXXX");
  assert_non_null(mkdtemp(root));
  char *dir = xasprintf("%s/c1", root);
  assert_int_equal(mkdir(dir, 0755), 0);
  struct cgroup cg = {.mode = CGROUP_MODE_V2, .path = (char *)"/c1", .unified_dir = dir};
  fake_reset(dir);

  struct oci_throttle_device thr[] = {{.major = 8, .minor = 0, .rate = 1048576}};
  struct {
    char *page_size;
    uint64_t limit;
  } hp[] = {{(char *)"2MB", 4 << 20}};
  char *keys[] = {(char *)"memory.high", NULL}, *values[] = {(char *)"50M", NULL};
  struct oci_resources r = {0};
  r.memory.limit = (struct oci_opt_i64){true, 64 << 20};
  r.memory.swap = (struct oci_opt_i64){true, 96 << 20};
  r.memory.reservation = (struct oci_opt_i64){true, 32 << 20};
  r.memory.swappiness = (struct oci_opt_u64){true, 0}; /* ignored on v2 */
  r.cpu.shares = (struct oci_opt_u64){true, 1024};
  r.cpu.quota = (struct oci_opt_i64){true, 50000};
  r.cpu.period = (struct oci_opt_u64){true, 100000};
  r.cpu.burst = (struct oci_opt_u64){true, 1000};
  r.cpu.idle = (struct oci_opt_i64){true, 1};
  r.cpu.cpus = (char *)"0-1";
  r.cpu.mems = (char *)"0";
  r.pids.set = true;
  r.pids.limit = 100;
  r.blkio.weight = (struct oci_opt_u64){true, 500};
  r.blkio.throttle_read_bps = thr;
  r.blkio.n_throttle_read_bps = 1;
  r.hugepage_limits = (void *)hp;
  r.n_hugepage_limits = 1;
  r.unified_keys = keys;
  r.unified_values = values;
  apply_ok(&cg, &r);
  assert_file(dir, "memory.max", "67108864");
  assert_file(dir, "memory.swap.max", "33554432");
  assert_file(dir, "memory.low", "33554432");
  assert_file(dir, "cpu.weight", "39");
  assert_file(dir, "cpu.max", "50000 100000");
  assert_file(dir, "cpu.max.burst", "1000");
  assert_file(dir, "cpu.idle", "1");
  assert_file(dir, "cpuset.cpus", "0-1");
  assert_file(dir, "cpuset.mems", "0");
  assert_file(dir, "pids.max", "100");
  assert_file(dir, "io.weight", "4950");
  assert_file(dir, "io.max", "8:0 rbps=1048576");
  assert_file(dir, "hugetlb.2MB.max", "4194304");
  assert_file(dir, "hugetlb.2MB.rsvd.max", "4194304");
  assert_file(dir, "memory.high", "50M");

  /* unlimited: memory with swap unset lifts swap; quota -1 is "max"; pids 0 is "max" */
  fake_reset(dir);
  struct oci_resources u = {0};
  u.memory.limit = (struct oci_opt_i64){true, -1};
  u.cpu.quota = (struct oci_opt_i64){true, -1};
  u.pids.set = true;
  apply_ok(&cg, &u);
  assert_file(dir, "memory.max", "max");
  assert_file(dir, "memory.swap.max", "max");
  assert_file(dir, "cpu.max", "max");
  assert_file(dir, "pids.max", "max");

  /* a period alone keeps the quota in place; swap alone is measured against memory.max */
  fake_reset(dir);
  put(dir, "cpu.max", "20000 100000");
  put(dir, "memory.max", "1000000");
  struct oci_resources per = {0};
  per.cpu.period = (struct oci_opt_u64){true, 200000}; /* same length: the fake files are not truncated */
  per.memory.swap = (struct oci_opt_i64){true, 3000000};
  apply_ok(&cg, &per);
  assert_file(dir, "cpu.max", "20000 200000");
  assert_file(dir, "memory.swap.max", "2000000");

  /* BFQ-only kernels: io.bfq.weight takes blkio's range unconverted */
  fake_reset(dir);
  char *iow = xasprintf("%s/io.weight", dir);
  assert_int_equal(unlink(iow), 0);
  free(iow);
  put(dir, "io.bfq.weight", "");
  struct oci_resources bfq = {0};
  bfq.blkio.weight = (struct oci_opt_u64){true, 500};
  apply_ok(&cg, &bfq);
  assert_file(dir, "io.bfq.weight", "500");
  put(dir, "io.weight", "");

  /* refusals */
  struct oci_resources e = {0};
  e.memory.limit = (struct oci_opt_i64){true, 100};
  e.memory.swap = (struct oci_opt_i64){true, 50};
  char *msg = apply_error(&cg, &e);
  assert_string_equal(msg, "cgroup v2: memory+swap limit 50 needs a memory limit no larger than it (memory limit 100)");
  free(msg);
  struct oci_resources cbu = {0};
  cbu.memory.limit = (struct oci_opt_i64){true, 500};
  cbu.memory.has_check_before_update = cbu.memory.check_before_update = true;
  msg = apply_error(&cg, &cbu);
  char *want = xasprintf("cgroup v2: memory limit 500 is below the current usage 1000 of %s", dir);
  assert_string_equal(msg, want);
  free(want);
  free(msg);
  struct oci_resources rt = {0};
  rt.cpu.realtime_runtime = (struct oci_opt_i64){true, 1000};
  msg = apply_error(&cg, &rt);
  assert_non_null(strstr(msg, "realtimePeriod/realtimeRuntime are not supported"));
  free(msg);
  struct oci_resources net = {0};
  net.network.class_id = (struct oci_opt_u64){true, 1};
  msg = apply_error(&cg, &net);
  assert_non_null(strstr(msg, "net_cls/net_prio"));
  free(msg);
  put(dir, "cgroup.controllers", "cpu");
  struct oci_resources mem = {0};
  mem.memory.limit = (struct oci_opt_i64){true, 1 << 20};
  msg = apply_error(&cg, &mem);
  want = xasprintf("cgroup v2: controller memory not available in %s", dir);
  assert_string_equal(msg, want);
  free(want);
  free(msg);

  assert_int_equal(rm_rf(root, NULL), 0);
  fake_root[0] = '\0';
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lifecycle_host), cmocka_unit_test(test_v1_limits),
      cmocka_unit_test(test_v2_on_unified),  cmocka_unit_test(test_create_rollback),
      cmocka_unit_test(test_bad_path),       cmocka_unit_test(test_precreated_parent),
      cmocka_unit_test(test_v2_values_on_fake_dir),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
