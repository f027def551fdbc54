/*
 * cgroup_util.c — the pure half of the cgroup layer: conversions between the
 * OCI resource values and what the kernel files want, and parsers for the
 * kernel's own tables. Nothing here touches the filesystem, so every function
 * is covered by tests/unit/test_cgroup_util.c.
 *
 *   cgroupsPath       -> the path inside each hierarchy ("/berth/abc")
 *   mountinfo line    -> one v1 hierarchy (mount point, controllers, device id)
 *   /proc/PID/cgroup  -> the path of one controller
 *   cpu.shares        -> cpu.weight, blkio weight -> io.weight, memory+swap -> memory.swap.max
 *   device rule       -> v1 "c 1:3 rwm" text, or a v2 eBPF device program
 *
 * The eBPF program (cgroup v2 has no devices.allow file; the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead) is built
 * here because it is a pure function of the rules: see cgroup_devices_bpf().
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>

#include "runtime/cgroup.h"

/* ---------- numbers ---------- */

#define SHARES_MIN 2ULL
#define SHARES_MAX 262144ULL
#define BLKIO_WEIGHT_MIN 10ULL
#define BLKIO_WEIGHT_MAX 1000ULL

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

uint64_t cgroup_shares_to_weight(uint64_t shares) {
  if (shares == 0)
    return 0;
  shares = clamp_u64(shares, SHARES_MIN, SHARES_MAX);
  /* maps [2, 262144] linearly onto [1, 10000], as runc does */
  return 1 + ((shares - SHARES_MIN) * 9999) / (SHARES_MAX - SHARES_MIN);
}

uint64_t cgroup_blkio_to_io_weight(uint64_t w) {
  if (w == 0)
    return 0;
  w = clamp_u64(w, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX);
  /* maps [10, 1000] linearly onto [1, 10000] */
  return 1 + ((w - BLKIO_WEIGHT_MIN) * 9999) / (BLKIO_WEIGHT_MAX - BLKIO_WEIGHT_MIN);
}

static int fmt_checked(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fmt_checked(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return r < 0 || (size_t)r >= len ? -ENOSPC : 0;
}

int cgroup_v2_swap_value(int64_t limit, int64_t swap, char *buf, size_t len) {
  if (swap == -1)
    return fmt_checked(buf, len, "max");
  /* the spec's swap is memory+swap; v2 wants the swap part alone, which needs a real limit */
  if (limit <= 0 || swap < limit)
    return -EINVAL;
  return fmt_checked(buf, len, "%" PRId64, swap - limit);
}

void cgroup_fmt_limit(int64_t n, char *buf, size_t len) {
  if (n <= 0)
    snprintf(buf, len, "max");
  else
    snprintf(buf, len, "%" PRId64, n);
}

/* ---------- paths ---------- */

/* Lexically clean the absolute path `p` in place ("//", ".", ".."); false when ".." climbs above "/". */
static bool clean_abs_path(char *p) {
  char *out = p; /* write position; p[0] is '/' */
  const char *in = p;
  while (*in) {
    while (*in == '/')
      in++;
    const char *end = strchrnul(in, '/');
    size_t n = (size_t)(end - in);
    if (n == 0 || (n == 1 && in[0] == '.')) {
      /* empty or "." component: drop */
    } else if (n == 2 && in[0] == '.' && in[1] == '.') {
      if (out == p)
        return false;
      while (out > p && *--out != '/')
        ;
    } else {
      *out++ = '/';
      memmove(out, in, n);
      out += n;
    }
    in = end;
  }
  if (out == p)
    *out++ = '/';
  *out = '\0';
  return true;
}

int cgroup_resolve_path(const char *cgroups_path, const char *id, char **out) {
  _cleanup_free_ char *p = NULL;
  if (cgroups_path == NULL || *cgroups_path == '\0') {
    if (id == NULL || *id == '\0')
      return -EINVAL;
    p = xasprintf("/%s", id);
  } else {
    /* relative paths are taken from the hierarchy's root, as runc's cgroupfs driver does */
    p = xasprintf("%s%s", cgroups_path[0] == '/' ? "" : "/", cgroups_path);
  }
  if (!clean_abs_path(p) || strcmp(p, "/") == 0)
    return -EINVAL;
  *out = steal_ptr(p);
  return 0;
}

/* ---------- kernel tables ---------- */

bool cgroup_list_has(const char *controllers, const char *name) {
  size_t n = strlen(name);
  for (const char *c = controllers; c && *c;) {
    const char *end = strchrnul(c, ',');
    if ((size_t)(end - c) == n && strncmp(c, name, n) == 0)
      return true;
    c = *end ? end + 1 : end;
  }
  return false;
}

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo octal */
static char *unescape_octal(const char *s, size_t n) {
  char *out = xmalloc(n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      *o++ = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

/* cgroup v1 super options that are not controllers */
static const char *const v1_non_controller_opts[] = {
    "rw",           "ro",           "xattr",           "noprefix", "clone_children",
    "cpuset_v2_mode", "favordynmods", "nofavordynmods", "all",      "none",
};

static bool is_controller_opt(const char *opt, size_t n) {
  if (n == 0 || (n >= 14 && strncmp(opt, "release_agent=", 14) == 0))
    return false;
  for (size_t i = 0; i < sizeof v1_non_controller_opts / sizeof *v1_non_controller_opts; i++)
    if (strlen(v1_non_controller_opts[i]) == n && strncmp(opt, v1_non_controller_opts[i], n) == 0)
      return false;
  return true;
}

static char *controllers_from_superopts(const char *opts, size_t len) {
  char *out = xcalloc(len + 1, 1);
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t j = i;
    while (j < len && opts[j] != ',')
      j++;
    if (is_controller_opt(opts + i, j - i)) {
      if (o)
        out[o++] = ',';
      memcpy(out + o, opts + i, j - i);
      o += j - i;
    }
    i = j + 1;
  }
  return out;
}

#define MOUNTINFO_MAX_FIELDS 64

int cgroup_parse_mountinfo_line(const char *line, char **mount, char **controllers, char **devid) {
  const char *f[MOUNTINFO_MAX_FIELDS];
  size_t flen[MOUNTINFO_MAX_FIELDS], nf = 0, sep = 0;
  for (const char *p = line; *p && *p != '\n';) {
    while (*p == ' ')
      p++;
    if (!*p || *p == '\n')
      break;
    if (nf == MOUNTINFO_MAX_FIELDS)
      return -EINVAL;
    f[nf] = p;
    while (*p && *p != ' ' && *p != '\n')
      p++;
    flen[nf] = (size_t)(p - f[nf]);
    if (!sep && nf >= 6 && flen[nf] == 1 && f[nf][0] == '-')
      sep = nf;
    nf++;
  }
  /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [optional...] - FSTYPE SOURCE SUPEROPTS */
  if (!sep || nf < sep + 4)
    return -EINVAL;
  if (flen[sep + 1] != 6 || strncmp(f[sep + 1], "cgroup", 6) != 0)
    return 0;
  *mount = unescape_octal(f[4], flen[4]);
  *controllers = controllers_from_superopts(f[sep + 3], flen[sep + 3]);
  *devid = strndup(f[2], flen[2]);
  if (!*devid)
    abort();
  return 1;
}

int cgroup_parse_proc_line(const char *proc_cgroup, const char *controller, char **out) {
  /* lines are "HIERARCHY-ID:CONTROLLER-LIST:PATH"; the v2 line has an empty list */
  for (const char *line = proc_cgroup; line && *line;) {
    const char *eol = strchrnul(line, '\n');
    const char *c1 = memchr(line, ':', (size_t)(eol - line));
    const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
    if (c2) {
      _cleanup_free_ char *list = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
      if (!list)
        abort();
      bool match = *controller ? cgroup_list_has(list, controller) : *list == '\0';
      if (match) {
        *out = strndup(c2 + 1, (size_t)(eol - c2 - 1));
        if (!*out)
          abort();
        return 0;
      }
    }
    line = *eol ? eol + 1 : eol;
  }
  return -ENOENT;
}

/* ---------- device rules ---------- */

static char rule_type(const struct oci_device_cgroup *d) { return d->type ? d->type : 'a'; }
static const char *rule_access(const struct oci_device_cgroup *d) {
  return d->access && *d->access ? d->access : "rwm";
}

/* "rwm" subset -> BPF_DEVCG_ACC_* bits; -EINVAL for other letters */
static int access_bits(const char *access) {
  static const struct {
    char c;
    int bit;
  } letters[] = {{'r', BPF_DEVCG_ACC_READ}, {'w', BPF_DEVCG_ACC_WRITE}, {'m', BPF_DEVCG_ACC_MKNOD}};
  int bits = 0;
  for (const char *p = access; *p; p++) {
    size_t i = 0;
    while (i < 3 && letters[i].c != *p)
      i++;
    if (i == 3)
      return -EINVAL;
    bits |= letters[i].bit;
  }
  return bits;
}

static bool rule_valid(const struct oci_device_cgroup *d) {
  char t = rule_type(d);
  return (t == 'a' || t == 'b' || t == 'c') && access_bits(rule_access(d)) >= 0 && d->major >= -1 &&
         d->major <= INT32_MAX && d->minor >= -1 && d->minor <= INT32_MAX;
}

static void fmt_devnum(int64_t n, char buf[static 24]) {
  if (n < 0)
    snprintf(buf, 24, "*");
  else
    snprintf(buf, 24, "%" PRId64, n);
}

int cgroup_v1_device_rule(const struct oci_device_cgroup *d, char *buf, size_t len) {
  if (!rule_valid(d))
    return -EINVAL;
  char maj[24], min[24];
  fmt_devnum(d->major, maj);
  fmt_devnum(d->minor, min);
  return fmt_checked(buf, len, "%c %s:%s %s", rule_type(d), maj, min, rule_access(d));
}

/*
 * The device program. The kernel calls it with a struct bpf_cgroup_dev_ctx in r1:
 *   access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*,  major,  minor
 * and allows the access when it returns 1. Rules are tested from the last to the
 * first, and the first that matches decides: that is "last matching rule wins",
 * the order devices.allow/deny gives on v1. Nothing matching: deny.
 *
 *   prologue:  r2 = type, r3 = requested access bits, r4 = major, r5 = minor
 *   per rule:  if type differs        goto next     (skipped for 'a')
 *              allow: if requested has a bit the rule lacks  goto next
 *              deny:  if requested shares no bit with the rule goto next
 *                                                   (both skipped for "rwm")
 *              if major differs       goto next     (skipped for '*')
 *              if minor differs       goto next     (skipped for '*')
 *              r0 = allow; exit
 *   epilogue:  r0 = 0; exit
 * A rule with no test at all ends the program: the verifier refuses
 * unreachable instructions, and earlier rules could never decide anyway.
 * Majors and minors are compared as 64-bit registers against sign-extended
 * immediates, which is exact because rule_valid() keeps them below 2^31.
 */
#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define ALU32_K(op, d, i) INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define MOV32_X(d, s) INSN(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_K(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define JMP_K(op, d, i) INSN(BPF_JMP | (op) | BPF_K, d, 0, 0, i) /* offset patched later */
#define EXIT_INSN() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0 = 0, R1, R2_TYPE, R3_ACCESS, R4_MAJOR, R5_MINOR, R6_TMP };

#define BPF_ALL_ACCESS (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)
#define PROLOGUE_LEN 6
#define MAX_RULE_LEN 9

/* Append the block of one rule at `p`; returns its length; *unconditional when it has no test. */
static size_t emit_rule(const struct oci_device_cgroup *d, struct bpf_insn *p, bool *unconditional) {
  size_t n = 0;
  char t = rule_type(d);
  int acc = access_bits(rule_access(d));
  if (t != 'a')
    p[n++] = JMP_K(BPF_JNE, R2_TYPE, t == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
  if (acc != BPF_ALL_ACCESS) {
    p[n++] = MOV32_X(R6_TMP, R3_ACCESS);
    if (d->allow) {
      p[n++] = ALU32_K(BPF_AND, R6_TMP, ~acc & BPF_ALL_ACCESS);
      p[n++] = JMP_K(BPF_JNE, R6_TMP, 0);
    } else {
      p[n++] = ALU32_K(BPF_AND, R6_TMP, acc);
      p[n++] = JMP_K(BPF_JEQ, R6_TMP, 0);
    }
  }
  if (d->major >= 0)
    p[n++] = JMP_K(BPF_JNE, R4_MAJOR, (int32_t)d->major);
  if (d->minor >= 0)
    p[n++] = JMP_K(BPF_JNE, R5_MINOR, (int32_t)d->minor);
  *unconditional = n == 0;
  /* every conditional jump so far skips to the end of this block */
  size_t len = n + 2;
  for (size_t i = 0; i < n; i++)
    if (BPF_CLASS(p[i].code) == BPF_JMP)
      p[i].off = (int16_t)(len - (i + 1));
  p[n++] = MOV64_K(R0, d->allow ? 1 : 0);
  p[n++] = EXIT_INSN();
  return n;
}

int cgroup_devices_bpf(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **insns, size_t *n_insns) {
  for (size_t i = 0; i < n; i++)
    if (!rule_valid(&rules[i]))
      return -EINVAL;
  _cleanup_free_ struct bpf_insn *p = xcalloc(PROLOGUE_LEN + n * MAX_RULE_LEN + 2, sizeof *p);
  size_t k = 0;
  p[k++] = LDX_W(R2_TYPE, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  p[k++] = ALU32_K(BPF_AND, R2_TYPE, 0xffff);
  p[k++] = LDX_W(R3_ACCESS, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  p[k++] = ALU32_K(BPF_RSH, R3_ACCESS, 16);
  p[k++] = LDX_W(R4_MAJOR, R1, offsetof(struct bpf_cgroup_dev_ctx, major));
  p[k++] = LDX_W(R5_MINOR, R1, offsetof(struct bpf_cgroup_dev_ctx, minor));
  bool ended = false;
  for (size_t i = n; i-- > 0 && !ended;)
    k += emit_rule(&rules[i], p + k, &ended);
  if (!ended) {
    p[k++] = MOV64_K(R0, 0);
    p[k++] = EXIT_INSN();
  }
  *insns = steal_ptr(p);
  *n_insns = k;
  return 0;
}
