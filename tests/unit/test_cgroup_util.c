/*
 * test_cgroup_util.c — the pure conversions and parsers of src/runtime/cgroup_util.c.
 *
 * The device-filter tests run the generated eBPF in a tiny interpreter (only the
 * instructions the generator emits) and compare every decision with a direct
 * reading of the rules; they also check what the kernel verifier would refuse:
 * jumps out of the program and unreachable instructions.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime/cgroup.h"

/* ---------- numbers ---------- */

static void test_shares_to_weight(void **state) {
  (void)state;
  assert_int_equal(cgroup_shares_to_weight(0), 0);
  assert_int_equal(cgroup_shares_to_weight(2), 1);
  assert_int_equal(cgroup_shares_to_weight(1024), 39); /* docker's default, as runc gives */
  assert_int_equal(cgroup_shares_to_weight(262144), 10000);
  assert_int_equal(cgroup_shares_to_weight(1), 1);            /* clamped up */
  assert_int_equal(cgroup_shares_to_weight(1000000), 10000);  /* clamped down */
}

static void test_blkio_to_io_weight(void **state) {
  (void)state;
  assert_int_equal(cgroup_blkio_to_io_weight(0), 0);
  assert_int_equal(cgroup_blkio_to_io_weight(10), 1);
  assert_int_equal(cgroup_blkio_to_io_weight(500), 4950);
  assert_int_equal(cgroup_blkio_to_io_weight(1000), 10000);
  assert_int_equal(cgroup_blkio_to_io_weight(5), 1);
  assert_int_equal(cgroup_blkio_to_io_weight(5000), 10000);
}

static void test_v2_swap_value(void **state) {
  (void)state;
  char buf[32];
  assert_int_equal(cgroup_v2_swap_value(100, -1, buf, sizeof buf), 0);
  assert_string_equal(buf, "max");
  assert_int_equal(cgroup_v2_swap_value(-1, -1, buf, sizeof buf), 0);
  assert_string_equal(buf, "max");
  assert_int_equal(cgroup_v2_swap_value(100, 300, buf, sizeof buf), 0);
  assert_string_equal(buf, "200");
  assert_int_equal(cgroup_v2_swap_value(100, 100, buf, sizeof buf), 0);
  assert_string_equal(buf, "0");
  assert_int_equal(cgroup_v2_swap_value(536870912, 1073741824, buf, sizeof buf), 0);
  assert_string_equal(buf, "536870912");
  assert_int_equal(cgroup_v2_swap_value(100, 50, buf, sizeof buf), -EINVAL);
  assert_int_equal(cgroup_v2_swap_value(0, 100, buf, sizeof buf), -EINVAL);
  assert_int_equal(cgroup_v2_swap_value(-1, 100, buf, sizeof buf), -EINVAL);
  assert_int_equal(cgroup_v2_swap_value(1, 1000000, buf, 3), -ENOSPC);
}

static void test_fmt_limit(void **state) {
  (void)state;
  char buf[32];
  cgroup_fmt_limit(-1, buf, sizeof buf);
  assert_string_equal(buf, "max");
  cgroup_fmt_limit(0, buf, sizeof buf);
  assert_string_equal(buf, "max");
  cgroup_fmt_limit(32771, buf, sizeof buf);
  assert_string_equal(buf, "32771");
  cgroup_fmt_limit(INT64_MAX, buf, sizeof buf);
  assert_string_equal(buf, "9223372036854775807");
}

/* ---------- paths ---------- */

static void assert_resolves(const char *cgroups_path, const char *id, const char *want) {
  char *out = NULL;
  assert_int_equal(cgroup_resolve_path(cgroups_path, id, &out), 0);
  assert_string_equal(out, want);
  free(out);
}

static void assert_refused(const char *cgroups_path, const char *id) {
  char *out = NULL;
  assert_int_equal(cgroup_resolve_path(cgroups_path, id, &out), -EINVAL);
  assert_null(out);
}

static void test_resolve_path(void **state) {
  (void)state;
  assert_resolves(NULL, "abc", "/abc");
  assert_resolves("", "abc", "/abc");
  assert_resolves("/berth/abc", "x", "/berth/abc");
  assert_resolves("berth/abc", "x", "/berth/abc");
  assert_resolves("//berth/./abc/", "x", "/berth/abc");
  assert_resolves("/a/../b", "x", "/b");
  assert_resolves("/a/b/..", "x", "/a");
  assert_resolves("system.slice:docker:abc", "x", "/system.slice:docker:abc");
  assert_resolves("/...", "x", "/...");
  assert_refused("../x", "x");
  assert_refused("/a/../../x", "x");
  assert_refused("/..", "x");
  assert_refused("/", "x");
  assert_refused("/a/..", "x");
  assert_refused(NULL, NULL);
  assert_refused(NULL, "");
  assert_refused(NULL, "..");
}

/* ---------- kernel tables ---------- */

static void test_list_has(void **state) {
  (void)state;
  assert_true(cgroup_list_has("cpu,cpuacct", "cpu"));
  assert_true(cgroup_list_has("cpu,cpuacct", "cpuacct"));
  assert_false(cgroup_list_has("cpu,cpuacct", "cpuac"));
  assert_false(cgroup_list_has("cpuacct", "cpu"));
  assert_true(cgroup_list_has("name=systemd", "name=systemd"));
  assert_false(cgroup_list_has("", "cpu"));
  assert_false(cgroup_list_has(NULL, "cpu"));
}

struct mountinfo_case {
  const char *line;
  int ret;
  const char *mount, *controllers, *devid;
};

static void test_parse_mountinfo(void **state) {
  (void)state;
  static const struct mountinfo_case cases[] = {
      {"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n", 1, "/sys/fs/cgroup/cpu", "cpu", "0:28"},
      {"25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup "
       "rw,cpu,cpuacct",
       1, "/sys/fs/cgroup/cpu,cpuacct", "cpu,cpuacct", "0:22"},
      {"24 23 0:21 / /sys/fs/cgroup/systemd rw,nosuid shared:5 master:1 - cgroup cgroup "
       "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd",
       1, "/sys/fs/cgroup/systemd", "name=systemd", "0:21"},
      {"40 30 0:37 /docker/abc /mnt/my\\040cg rw - cgroup none rw,clone_children,memory", 1, "/mnt/my cg", "memory",
       "0:37"},
      {"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw", 0, NULL, NULL, NULL},
      {"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755", 0, NULL, NULL, NULL},
      {"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime cgroup cgroup rw,cpu", -EINVAL, NULL, NULL, NULL},
      {"31 30 0:28 / /x rw - cgroup", -EINVAL, NULL, NULL, NULL},
      {"", -EINVAL, NULL, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *mount = NULL, *controllers = NULL, *devid = NULL;
    int r = cgroup_parse_mountinfo_line(cases[i].line, &mount, &controllers, &devid);
    assert_int_equal(r, cases[i].ret);
    if (r == 1) {
      assert_string_equal(mount, cases[i].mount);
      assert_string_equal(controllers, cases[i].controllers);
      assert_string_equal(devid, cases[i].devid);
    } else {
      assert_null(mount);
    }
    free(mount);
    free(controllers);
    free(devid);
  }
}

static const char proc_cgroup_hybrid[] = "12:hugetlb:/\n"
                                         "9:name=systemd:/user.slice/session-1.scope\n"
                                         "4:memory:/process_api/01ae\n"
                                         "2:cpu,cpuacct:/berth/c1\n"
                                         "0::/weird:path\n";

static void assert_proc_path(const char *text, const char *controller, const char *want) {
  char *out = NULL;
  assert_int_equal(cgroup_parse_proc_line(text, controller, &out), 0);
  assert_string_equal(out, want);
  free(out);
}

static void test_parse_proc_line(void **state) {
  (void)state;
  assert_proc_path(proc_cgroup_hybrid, "memory", "/process_api/01ae");
  assert_proc_path(proc_cgroup_hybrid, "cpu", "/berth/c1");
  assert_proc_path(proc_cgroup_hybrid, "cpuacct", "/berth/c1");
  assert_proc_path(proc_cgroup_hybrid, "name=systemd", "/user.slice/session-1.scope");
  assert_proc_path(proc_cgroup_hybrid, "", "/weird:path");
  assert_proc_path("0::/\n", "", "/");
  assert_proc_path("0::/a", "", "/a"); /* no trailing newline */
  char *out = NULL;
  assert_int_equal(cgroup_parse_proc_line(proc_cgroup_hybrid, "pids", &out), -ENOENT);
  assert_int_equal(cgroup_parse_proc_line(proc_cgroup_hybrid, "cpuac", &out), -ENOENT);
  assert_int_equal(cgroup_parse_proc_line("4:memory:/x\n", "", &out), -ENOENT);
  assert_int_equal(cgroup_parse_proc_line("garbage\n", "memory", &out), -ENOENT);
  assert_int_equal(cgroup_parse_proc_line("", "memory", &out), -ENOENT);
  assert_null(out);
}

/* ---------- device rules ---------- */

#define RULE(al, t, ma, mi, acc)                                                                            \
  ((struct oci_device_cgroup){.allow = (al), .type = (t), .major = (ma), .minor = (mi), .access = (acc)})

static void assert_rule(struct oci_device_cgroup d, const char *want) {
  char buf[64];
  assert_int_equal(cgroup_v1_device_rule(&d, buf, sizeof buf), 0);
  assert_string_equal(buf, want);
}

static void test_v1_device_rule(void **state) {
  (void)state;
  char rwm[] = "rwm", r[] = "r", mw[] = "mw", bad[] = "rx", empty[] = "";
  assert_rule(RULE(true, 'c', 1, 3, rwm), "c 1:3 rwm");
  assert_rule(RULE(false, 0, -1, -1, rwm), "a *:* rwm");
  assert_rule(RULE(true, 'b', 8, -1, r), "b 8:* r");
  assert_rule(RULE(true, 'c', -1, 7, mw), "c *:7 mw");
  assert_rule(RULE(true, 'c', 136, -1, NULL), "c 136:* rwm");
  assert_rule(RULE(true, 'c', 5, 2, empty), "c 5:2 rwm");
  char buf[64];
  struct oci_device_cgroup d = RULE(true, 'x', 1, 3, rwm);
  assert_int_equal(cgroup_v1_device_rule(&d, buf, sizeof buf), -EINVAL);
  d = RULE(true, 'c', 1, 3, bad);
  assert_int_equal(cgroup_v1_device_rule(&d, buf, sizeof buf), -EINVAL);
  d = RULE(true, 'c', -2, 3, rwm);
  assert_int_equal(cgroup_v1_device_rule(&d, buf, sizeof buf), -EINVAL);
  d = RULE(true, 'c', 1, 3, rwm);
  assert_int_equal(cgroup_v1_device_rule(&d, buf, 5), -ENOSPC);
}

/* --- a small eBPF interpreter for what cgroup_devices_bpf emits --- */

struct bpf_run {
  int ret;        /* r0 at exit */
  size_t steps;
};

static uint64_t sext(int32_t imm) { return (uint64_t)(int64_t)imm; }

static struct bpf_run bpf_exec(const struct bpf_insn *p, size_t n, const struct bpf_cgroup_dev_ctx *ctx) {
  uint64_t reg[11] = {0};
  bool init[11] = {false};
  init[1] = true;
  struct bpf_run run = {.ret = -1};
  for (size_t pc = 0; pc < n; pc++, run.steps++) {
    const struct bpf_insn *i = &p[pc];
    uint8_t cls = BPF_CLASS(i->code), op = BPF_OP(i->code);
    assert_true(i->dst_reg <= 10 && i->src_reg <= 10);
    if (cls == BPF_LDX) {
      assert_int_equal(i->code, BPF_LDX | BPF_MEM | BPF_W);
      assert_int_equal(i->src_reg, 1);
      assert_true(i->off >= 0 && (size_t)i->off + 4 <= sizeof *ctx && i->off % 4 == 0);
      uint32_t v;
      memcpy(&v, (const char *)ctx + i->off, 4);
      reg[i->dst_reg] = v;
      init[i->dst_reg] = true;
    } else if (cls == BPF_ALU || cls == BPF_ALU64) {
      uint64_t src = BPF_SRC(i->code) == BPF_X ? reg[i->src_reg] : sext(i->imm);
      if (BPF_SRC(i->code) == BPF_X)
        assert_true(init[i->src_reg]);
      if (op != BPF_MOV)
        assert_true(init[i->dst_reg]);
      uint64_t d = reg[i->dst_reg];
      switch (op) {
      case BPF_MOV: d = src; break;
      case BPF_AND: d &= src; break;
      case BPF_RSH: d = cls == BPF_ALU ? (uint32_t)d >> (src & 31) : d >> (src & 63); break;
      default: fail_msg("unexpected ALU op 0x%x", op);
      }
      reg[i->dst_reg] = cls == BPF_ALU ? (uint32_t)d : d;
      init[i->dst_reg] = true;
    } else if (cls == BPF_JMP) {
      if (op == BPF_EXIT) {
        assert_true(init[0]);
        run.ret = (int)reg[0];
        return run;
      }
      assert_int_equal(BPF_SRC(i->code), BPF_K);
      assert_true(init[i->dst_reg]);
      bool taken;
      switch (op) {
      case BPF_JNE: taken = reg[i->dst_reg] != sext(i->imm); break;
      case BPF_JEQ: taken = reg[i->dst_reg] == sext(i->imm); break;
      default: fail_msg("unexpected jump op 0x%x", op); return run;
      }
      if (taken)
        pc += (size_t)i->off;
    } else {
      fail_msg("unexpected instruction class 0x%x", cls);
    }
  }
  fail_msg("fell off the end of the program");
  return run;
}

/* The verifier refuses jumps outside the program, falling off the end and dead code. */
static void assert_verifiable(const struct bpf_insn *p, size_t n) {
  bool *seen = calloc(n, 1);
  size_t *stack = calloc(n + 1, sizeof *stack), top = 0;
  stack[top++] = 0;
  while (top) {
    size_t pc = stack[--top];
    assert_true(pc < n);
    if (seen[pc])
      continue;
    seen[pc] = true;
    uint8_t cls = BPF_CLASS(p[pc].code), op = BPF_OP(p[pc].code);
    if (cls == BPF_JMP && op == BPF_EXIT)
      continue;
    if (cls == BPF_JMP) {
      assert_true(p[pc].off >= 0);
      stack[top++] = pc + 1 + (size_t)p[pc].off;
    }
    assert_true(pc + 1 < n);
    stack[top++] = pc + 1;
  }
  for (size_t i = 0; i < n; i++)
    if (!seen[i])
      fail_msg("instruction %zu is unreachable", i);
  free(seen);
  free(stack);
}

/* Reference: the last rule that matches decides; allow matches when every requested access
 * is granted, deny when any requested access is named; nothing matching denies. */
static int reference(const struct oci_device_cgroup *rules, size_t n, char type, int64_t major, int64_t minor,
                     const char *access) {
  for (size_t k = n; k-- > 0;) {
    const struct oci_device_cgroup *d = &rules[k];
    const char *acc = d->access && *d->access ? d->access : "rwm";
    if (d->type && d->type != 'a' && d->type != type)
      continue;
    if ((d->major >= 0 && d->major != major) || (d->minor >= 0 && d->minor != minor))
      continue;
    bool all_in = true, any_in = false;
    for (const char *a = access; *a; a++) {
      bool in = strchr(acc, *a) != NULL;
      all_in &= in;
      any_in |= in;
    }
    if (d->allow ? all_in : any_in)
      return d->allow ? 1 : 0;
  }
  return 0;
}

static const char *const accesses[] = {"r", "w", "m", "rw", "rm", "wm", "rwm"};

static uint32_t access_type(char type, const char *access) {
  uint32_t bits = 0;
  for (const char *a = access; *a; a++)
    bits |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  return (bits << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
}

static void check_program(const struct oci_device_cgroup *rules, size_t n) {
  struct bpf_insn *p = NULL;
  size_t len = 0;
  assert_int_equal(cgroup_devices_bpf(rules, n, &p, &len), 0);
  assert_verifiable(p, len);
  static const char types[] = {'c', 'b'};
  static const int64_t majors[] = {0, 1, 5, 8, 136, 4095};
  static const int64_t minors[] = {0, 3, 5, 7, 1048575};
  for (size_t t = 0; t < 2; t++)
    for (size_t ma = 0; ma < sizeof majors / sizeof *majors; ma++)
      for (size_t mi = 0; mi < sizeof minors / sizeof *minors; mi++)
        for (size_t a = 0; a < sizeof accesses / sizeof *accesses; a++) {
          struct bpf_cgroup_dev_ctx ctx = {.access_type = access_type(types[t], accesses[a]),
                                           .major = (uint32_t)majors[ma],
                                           .minor = (uint32_t)minors[mi]};
          int want = reference(rules, n, types[t], majors[ma], minors[mi], accesses[a]);
          struct bpf_run got = bpf_exec(p, len, &ctx);
          if (got.ret != want)
            fail_msg("%c %lld:%lld %s: program says %d, rules say %d", types[t], (long long)majors[ma],
                     (long long)minors[mi], accesses[a], got.ret, want);
        }
  free(p);
}

static void test_devices_bpf_docker_like(void **state) {
  (void)state;
  char rwm[] = "rwm", m[] = "m", rw[] = "rw", w[] = "w", r[] = "r";
  const struct oci_device_cgroup rules[] = {
      RULE(false, 0, -1, -1, rwm),   RULE(true, 'c', -1, -1, m),  RULE(true, 'b', -1, -1, m),
      RULE(true, 'c', 1, 3, rwm),    RULE(true, 'c', 1, 5, rwm),  RULE(true, 'c', 136, -1, rwm),
      RULE(true, 'c', 5, 2, rw),     RULE(false, 'c', 1, 5, w),   RULE(true, 'b', 8, 0, r),
  };
  check_program(rules, sizeof rules / sizeof *rules);
}

static void test_devices_bpf_edges(void **state) {
  (void)state;
  char rwm[] = "rwm", r[] = "r", wm[] = "wm";
  check_program(NULL, 0); /* nothing allowed */
  const struct oci_device_cgroup allow_all[] = {RULE(true, 'a', -1, -1, rwm)};
  check_program(allow_all, 1);
  /* an unconditional rule hides the ones before it: they must not be emitted (dead code) */
  const struct oci_device_cgroup hidden[] = {RULE(true, 'c', 1, 3, rwm), RULE(true, 0, -1, -1, NULL),
                                             RULE(false, 'b', 8, 0, rwm)};
  check_program(hidden, 3);
  struct bpf_insn *p = NULL;
  size_t len = 0, len_hidden = 0;
  assert_int_equal(cgroup_devices_bpf(hidden + 1, 2, &p, &len), 0);
  free(p);
  assert_int_equal(cgroup_devices_bpf(hidden, 3, &p, &len_hidden), 0);
  free(p);
  assert_int_equal(len, len_hidden);
  const struct oci_device_cgroup partial[] = {RULE(true, 'a', -1, -1, r), RULE(false, 'c', -1, 3, wm),
                                              RULE(true, 'b', 8, -1, wm), RULE(false, 'a', 1, -1, r)};
  check_program(partial, 4);
  char bad[] = "rwx";
  const struct oci_device_cgroup invalid[] = {RULE(true, 'c', 1, 3, bad)};
  assert_int_equal(cgroup_devices_bpf(invalid, 1, &p, &len), -EINVAL);
  const struct oci_device_cgroup huge[] = {RULE(true, 'c', (int64_t)1 << 32, 3, rwm)};
  assert_int_equal(cgroup_devices_bpf(huge, 1, &p, &len), -EINVAL);
}

/* ---------- state (cgroup.c; no filesystem involved) ---------- */

static void test_json_round_trip(void **state) {
  (void)state;
  struct cgroup_hier hiers[] = {
      {(char *)"cpu,cpuacct", (char *)"/sys/fs/cgroup/cpu,cpuacct", (char *)"/sys/fs/cgroup/cpu,cpuacct/b/c1",
       (char *)"cpu,cpuacct"},
      {(char *)"systemd", (char *)"/sys/fs/cgroup/systemd", (char *)"/sys/fs/cgroup/systemd/b/c1", NULL},
  };
  struct cgroup cg = {.mode = CGROUP_MODE_HYBRID, .path = (char *)"/b/c1", .hiers = hiers, .n_hiers = 2,
                      .unified_dir = (char *)"/sys/fs/cgroup/unified/b/c1"};
  json_t *j = cgroup_to_json(&cg);
  assert_non_null(j);
  char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(j);
  json_t *again = json_loads(text, 0, NULL);
  free(text);
  struct cgroup *back = NULL;
  assert_int_equal(cgroup_from_json(again, &back, NULL), 0);
  json_decref(again);
  assert_int_equal(back->mode, CGROUP_MODE_HYBRID);
  assert_string_equal(back->path, "/b/c1");
  assert_string_equal(back->unified_dir, "/sys/fs/cgroup/unified/b/c1");
  assert_int_equal(back->n_hiers, 2);
  for (size_t i = 0; i < 2; i++) {
    assert_string_equal(back->hiers[i].name, hiers[i].name);
    assert_string_equal(back->hiers[i].mount, hiers[i].mount);
    assert_string_equal(back->hiers[i].dir, hiers[i].dir);
  }
  assert_string_equal(back->hiers[0].controllers, "cpu,cpuacct");
  assert_null(back->hiers[1].controllers);
  cgroup_free(back);

  struct cgroup v2 = {.mode = CGROUP_MODE_V2, .path = (char *)"/c", .unified_dir = (char *)"/sys/fs/cgroup/c"};
  j = cgroup_to_json(&v2);
  assert_int_equal(cgroup_from_json(j, &back, NULL), 0);
  json_decref(j);
  assert_int_equal(back->mode, CGROUP_MODE_V2);
  assert_int_equal(back->n_hiers, 0);
  assert_null(back->hiers);
  cgroup_free(back);
}

static void test_json_errors(void **state) {
  (void)state;
  static const struct {
    const char *json, *msg;
  } cases[] = {
      {"[]", "cgroup state: not an object"},
      {"{\"path\":\"/a\"}", "cgroup state: \"mode\" must be a string"},
      {"{\"mode\":\"v3\",\"path\":\"/a\"}", "cgroup state: unknown mode \"v3\""},
      {"{\"mode\":\"v1\"}", "cgroup state: \"path\" must be a string"},
      {"{\"mode\":\"v1\",\"path\":\"/a\",\"hierarchies\":{}}", "cgroup state: \"hierarchies\" must be an array"},
      {"{\"mode\":\"v1\",\"path\":\"/a\",\"hierarchies\":[{\"name\":\"cpu\",\"mount\":\"/m\"}]}",
       "cgroup state: \"dir\" must be a string"},
      {"{\"mode\":\"v1\",\"path\":\"/a\",\"hierarchies\":[{\"name\":\"cpu\",\"mount\":\"/m\",\"dir\":\"/m/a\"},7]}",
       "cgroup state: hierarchies entries must be objects"},
      {"{\"mode\":\"v2\",\"path\":\"/a\"}", "cgroup state: v2 needs \"unified_dir\""},
      {"{\"mode\":\"v2\",\"path\":\"/a\",\"unified_dir\":5}", "cgroup state: \"unified_dir\" must be a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *j = json_loads(cases[i].json, 0, NULL);
    assert_non_null(j);
    struct cgroup *cg = NULL;
    struct berr *err = NULL;
    assert_int_equal(cgroup_from_json(j, &cg, &err), -EINVAL);
    assert_null(cg);
    assert_string_equal(err->msg, cases[i].msg);
    berr_free(err);
    json_decref(j);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shares_to_weight),  cmocka_unit_test(test_blkio_to_io_weight),
      cmocka_unit_test(test_v2_swap_value),     cmocka_unit_test(test_fmt_limit),
      cmocka_unit_test(test_resolve_path),      cmocka_unit_test(test_list_has),
      cmocka_unit_test(test_parse_mountinfo),   cmocka_unit_test(test_parse_proc_line),
      cmocka_unit_test(test_v1_device_rule),    cmocka_unit_test(test_devices_bpf_docker_like),
      cmocka_unit_test(test_devices_bpf_edges), cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_json_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
