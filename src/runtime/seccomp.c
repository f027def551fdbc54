/*
 * seccomp.c — linux.seccomp (OCI runtime-spec) to a libseccomp filter.
 *
 * berth-runc builds the filter early (in the runtime, where errors can still be
 * reported nicely) and loads it late (in the container's init, right before
 * execve). Building is a straight translation of the spec through four tables —
 * actions, operators, architectures, flags — whose names are the libseccomp
 * constants the spec quotes ("SCMP_ACT_ERRNO", "SCMP_CMP_EQ", ...). The same
 * tables answer the parser's *_known() questions and `berth-runc features`.
 *
 * Semantics, as runc and crun implement them:
 *  - A syscall name this libseccomp does not know is skipped silently: profiles
 *    list syscalls newer than the library (or than the kernel).
 *  - A rule whose action equals the default action is skipped: libseccomp
 *    refuses it, and it could not change the outcome anyway.
 *  - errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE (the spec
 *    says the runtime MUST fail otherwise); it defaults to EPERM.
 *  - Conditions on different arguments are ANDed in one rule. Conditions on the
 *    same argument cannot be one libseccomp rule, so each becomes its own rule
 *    (the syscall matches when any of them holds).
 *  - SCMP_CMP_MASKED_EQ reads `value` as the mask and `valueTwo` as the datum.
 *  - The native architecture is always in the filter (seccomp_init adds it); the
 *    spec's list adds the others. Architectures are resolved through libseccomp
 *    at run time, so a newer shared library brings new ones without a rebuild.
 *    Those of the other byte order (MIPS64 on x86_64) cannot share a filter
 *    with the native one and could never run here: skipped with a warning.
 *  - libseccomp is told not to set no_new_privs itself (SCMP_FLTATR_CTL_NNP=0):
 *    the runtime does that from process.noNewPrivileges.
 *  - SCMP_ACT_NOTIFY is refused: it needs the listenerPath protocol, which is
 *    not implemented yet.
 *
 * Error messages name the place in the profile: `seccomp: syscalls[3] "clone":
 * unknown action "SCMP_ACT_FOO"`, `seccomp: syscalls[4].args[0].op: ...`.
 *
 * The compiled program is cached (seccomp_filter_build_cached): libseccomp
 * needs ~25 ms to turn Docker's default profile (some 440 syscalls on three
 * architectures) into BPF, in every container's create and exec, for the same
 * profile each time. The cache file holds its full key — the profile's
 * canonical JSON, the libseccomp version, the API level and the machine — and
 * is used only when that key matches byte for byte (the file name is just a
 * hash of it), so no profile can ever be served another's program. Profiles
 * with flags are not cached (their kernel flags go through libseccomp).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/security.h"

struct seccomp_filter {
  scmp_filter_ctx ctx;       /* owned; released by seccomp_filter_free (NULL when from the cache) */
  struct sock_filter *insns; /* the compiled program (cached path), loaded as is; owned */
  unsigned short n_insns;
};

/* ---------- tables ---------- */

struct action_def {
  const char *name;
  uint32_t action;  /* for ERRNO/TRACE: the base, the return value is or'ed in */
  bool takes_errno; /* errnoRet is meaningful (ERRNO, TRACE) */
  bool notify;      /* SCMP_ACT_NOTIFY: refused for now */
  unsigned min_api; /* seccomp_api_get() level needed (kernel + libseccomp) */
};

static const struct action_def action_defs[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false, false, 1},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, false, 3},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, false, 1},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, false, 1},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true, false, 1},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true, false, 1},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, false, 1},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false, false, 3},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false, true, 5},
};

struct operator_def {
  const char *name;
  enum scmp_compare op;
};

static const struct operator_def operator_defs[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* Every architecture the spec lists, with libseccomp's own name for it
 * (seccomp_arch_resolve_name). Those this libseccomp cannot resolve are
 * known (the parser accepts them) but refused when building a filter. */
struct arch_def {
  const char *name;
  const char *lib_name;
};

static const struct arch_def arch_defs[] = {
    {"SCMP_ARCH_X86", "x86"},
    {"SCMP_ARCH_X86_64", "x86_64"},
    {"SCMP_ARCH_X32", "x32"},
    {"SCMP_ARCH_ARM", "arm"},
    {"SCMP_ARCH_AARCH64", "aarch64"},
    {"SCMP_ARCH_MIPS", "mips"},
    {"SCMP_ARCH_MIPS64", "mips64"},
    {"SCMP_ARCH_MIPS64N32", "mips64n32"},
    {"SCMP_ARCH_MIPSEL", "mipsel"},
    {"SCMP_ARCH_MIPSEL64", "mipsel64"},
    {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32"},
    {"SCMP_ARCH_PPC", "ppc"},
    {"SCMP_ARCH_PPC64", "ppc64"},
    {"SCMP_ARCH_PPC64LE", "ppc64le"},
    {"SCMP_ARCH_S390", "s390"},
    {"SCMP_ARCH_S390X", "s390x"},
    {"SCMP_ARCH_PARISC", "parisc"},
    {"SCMP_ARCH_PARISC64", "parisc64"},
    {"SCMP_ARCH_RISCV64", "riscv64"},
    {"SCMP_ARCH_LOONGARCH64", "loongarch64"},
    {"SCMP_ARCH_M68K", "m68k"},
    {"SCMP_ARCH_SH", "sh"},
    {"SCMP_ARCH_SHEB", "sheb"},
};

/* seccomp(2) filter flags, each set through a libseccomp filter attribute.
 * min_api: the seccomp_api_get() level at which libseccomp and the kernel
 * support the attribute. has_attr false: this libseccomp has no attribute. */
struct flag_def {
  const char *name;
  bool has_attr;
  enum scmp_filter_attr attr;
  unsigned min_api;
};

static const struct flag_def flag_defs[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", true, SCMP_FLTATR_CTL_TSYNC, 2},
    {"SECCOMP_FILTER_FLAG_LOG", true, SCMP_FLTATR_CTL_LOG, 3},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", true, SCMP_FLTATR_CTL_SSB, 4},
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", true, SCMP_FLTATR_CTL_WAITKILL, 7},
#else
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", false, _SCMP_FLTATR_MIN, 0},
#endif
};

#define TABLE_LEN(t) (sizeof(t) / sizeof((t)[0]))

/* Look a name up in one of the tables above (every entry starts with `name`). */
#define TABLE_FIND(table, key)                                                                                         \
  ({                                                                                                                   \
    __typeof__(&(table)[0]) _found = NULL;                                                                             \
    for (size_t _i = 0; (key) != NULL && _i < TABLE_LEN(table); _i++)                                                  \
      if (strcmp((table)[_i].name, (key)) == 0) {                                                                      \
        _found = &(table)[_i];                                                                                         \
        break;                                                                                                         \
      }                                                                                                                \
    _found;                                                                                                            \
  })

bool seccomp_action_known(const char *name) { return TABLE_FIND(action_defs, name) != NULL; }
bool seccomp_operator_known(const char *name) { return TABLE_FIND(operator_defs, name) != NULL; }
bool seccomp_arch_known(const char *name) { return TABLE_FIND(arch_defs, name) != NULL; }
bool seccomp_flag_known(const char *name) { return TABLE_FIND(flag_defs, name) != NULL; }

/* libseccomp's arch token for a table entry; 0 when this libseccomp lacks it. */
static uint32_t arch_token(const struct arch_def *a) { return seccomp_arch_resolve_name(a->lib_name); }

static bool flag_supported(const struct flag_def *f) { return f->has_attr && seccomp_api_get() >= f->min_api; }

static char *libseccomp_version(void) {
  const struct scmp_version *v = seccomp_version();
  return xasprintf("%u.%u.%u", v->major, v->minor, v->micro);
}

/* ---------- features ---------- */

/* A JSON array of every name in a table. */
#define TABLE_NAMES_JSON(table)                                                                                        \
  ({                                                                                                                   \
    json_t *_a = json_array();                                                                                         \
    for (size_t _i = 0; _i < TABLE_LEN(table); _i++)                                                                   \
      json_array_append_new(_a, json_string((table)[_i].name));                                                        \
    _a;                                                                                                                \
  })

json_t *seccomp_features_json(void) {
  json_t *archs = json_array();
  for (size_t i = 0; i < TABLE_LEN(arch_defs); i++)
    if (arch_token(&arch_defs[i]) != 0)
      json_array_append_new(archs, json_string(arch_defs[i].name));
  json_t *supported = json_array();
  for (size_t i = 0; i < TABLE_LEN(flag_defs); i++)
    if (flag_supported(&flag_defs[i]))
      json_array_append_new(supported, json_string(flag_defs[i].name));
  return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "enabled", 1, "actions", TABLE_NAMES_JSON(action_defs),
                   "operators", TABLE_NAMES_JSON(operator_defs), "archs", archs, "knownFlags",
                   TABLE_NAMES_JSON(flag_defs), "supportedFlags", supported);
}

/* ---------- building ---------- */

static void seccomp_ctx_releasep(scmp_filter_ctx *ctx) {
  if (*ctx) {
    seccomp_release(*ctx);
    *ctx = NULL;
  }
}
#define _cleanup_scmp_ctx_ __attribute__((cleanup(seccomp_ctx_releasep)))

/* Resolve an action name plus optional errnoRet to a libseccomp action.
 * `what` names the place in errors ("defaultAction", `syscalls[3] "clone"`). */
static int resolve_action(const char *name, const struct oci_opt_u64 *errno_ret, const char *what, uint32_t *out,
                          struct berr **err) {
  const struct action_def *a = TABLE_FIND(action_defs, name);
  if (a == NULL)
    return berr_set(err, EINVAL, "seccomp: %s: unknown action \"%s\"", what, name ? name : "");
  if (a->notify)
    return berr_set(
        err, ENOTSUP,
        "seccomp: %s: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath, which berth-runc does not support yet", what);
  unsigned api = seccomp_api_get();
  if (api < a->min_api)
    return berr_set(err, ENOTSUP,
                    "seccomp: %s: %s is not supported by this kernel and libseccomp (API level %u, needs %u)", what,
                    name, api, a->min_api);
  if (!a->takes_errno) {
    if (errno_ret->set)
      return berr_set(err, EINVAL, "seccomp: %s: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s",
                      what, name);
    *out = a->action;
    return 0;
  }
  uint64_t ret = errno_ret->set ? errno_ret->v : EPERM;
  if (ret > 0xffff)
    return berr_set(err, ERANGE, "seccomp: %s: errnoRet %llu is out of range (0-65535)", what, (unsigned long long)ret);
  *out = a->action | (uint32_t)ret;
  return 0;
}

static int add_architectures(scmp_filter_ctx ctx, char *const *archs, struct berr **err) {
  for (size_t i = 0; archs && archs[i]; i++) {
    const struct arch_def *a = TABLE_FIND(arch_defs, archs[i]);
    if (a == NULL)
      return berr_set(err, EINVAL, "seccomp: unknown architecture \"%s\"", archs[i]);
    uint32_t token = arch_token(a);
    if (token == 0) {
      _cleanup_free_ char *ver = libseccomp_version();
      return berr_set(err, ENOTSUP, "seccomp: architecture %s is not supported by libseccomp %s", archs[i], ver);
    }
    int r = seccomp_arch_add(ctx, token);
    if (r == -EEXIST) /* the native one, always there */
      continue;
    if (r == -EDOM) {
      /* One filter holds one byte order, the native one's; this kernel cannot
       * run programs of the other order, so leaving the arch out loses nothing. */
      log_warn("seccomp: architecture %s has a byte order other than this machine's; skipped", archs[i]);
      continue;
    }
    if (r < 0)
      return berr_sys(err, -r, "seccomp: add architecture %s", archs[i]);
  }
  return 0;
}

static int set_flags(scmp_filter_ctx ctx, char *const *flags, struct berr **err) {
  for (size_t i = 0; flags && flags[i]; i++) {
    const struct flag_def *f = TABLE_FIND(flag_defs, flags[i]);
    if (f == NULL)
      return berr_set(err, EINVAL, "seccomp: unknown flag \"%s\"", flags[i]);
    if (!f->has_attr) {
      _cleanup_free_ char *ver = libseccomp_version();
      return berr_set(err, ENOTSUP, "seccomp: flag %s is not supported by libseccomp %s", flags[i], ver);
    }
    unsigned api = seccomp_api_get();
    if (api < f->min_api)
      return berr_set(err, ENOTSUP,
                      "seccomp: flag %s is not supported by this kernel and libseccomp (API level %u, needs %u)",
                      flags[i], api, f->min_api);
    int r = seccomp_attr_set(ctx, f->attr, 1);
    if (r < 0)
      return berr_sys(err, -r, "seccomp: flag %s", flags[i]);
  }
  return 0;
}

/* One spec argument condition to libseccomp's form; si/ai index the profile. */
static int arg_to_cmp(const struct oci_seccomp_arg *a, size_t si, size_t ai, struct scmp_arg_cmp *out,
                      struct berr **err) {
  const struct operator_def *op = TABLE_FIND(operator_defs, a->op);
  if (op == NULL)
    return berr_set(err, EINVAL, "seccomp: syscalls[%zu].args[%zu].op: unknown operator \"%s\"", si, ai,
                    a->op ? a->op : "");
  if (a->index > 5)
    return berr_set(err, EINVAL, "seccomp: syscalls[%zu].args[%zu].index: %u is out of range (0-5)", si, ai, a->index);
  /* For MASKED_EQ the spec's value is the mask and valueTwo the datum; the
   * other operators ignore valueTwo (datum_b). */
  *out = (struct scmp_arg_cmp){.arg = a->index, .op = op->op, .datum_a = a->value, .datum_b = a->value_two};
  return 0;
}

static bool args_share_an_index(const struct oci_seccomp_syscall *sc) {
  for (size_t i = 0; i < sc->n_args; i++)
    for (size_t j = i + 1; j < sc->n_args; j++)
      if (sc->args[i].index == sc->args[j].index)
        return true;
  return false;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name, const char *what, unsigned n_cmps,
                    const struct scmp_arg_cmp *cmps, struct berr **err) {
  int r = seccomp_rule_add_array(ctx, action, nr, n_cmps, cmps);
  if (r < 0)
    return berr_sys(err, -r, "seccomp: %s: add rule for %s", what, name);
  return 0;
}

/* Add the rules of syscalls[si] for one syscall number. */
static int add_rules_for(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name, const char *what,
                         const struct scmp_arg_cmp *cmps, size_t n_cmps, bool split, struct berr **err) {
  if (!split)
    return add_rule(ctx, action, nr, name, what, (unsigned)n_cmps, cmps, err);
  /* Several conditions on the same argument: libseccomp cannot AND them in one
   * rule, so (like runc) each condition is a rule of its own — the action
   * applies when any one condition holds. */
  for (size_t i = 0; i < n_cmps; i++) {
    int r = add_rule(ctx, action, nr, name, what, 1, &cmps[i], err);
    if (r < 0)
      return r;
  }
  return 0;
}

static int add_syscall_entry(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *sc, size_t si,
                             uint32_t default_action, struct berr **err) {
  if (sc->names == NULL || sc->names[0] == NULL)
    return berr_set(err, EINVAL, "seccomp: syscalls[%zu].names: must not be empty", si);
  _cleanup_free_ char *what = xasprintf("syscalls[%zu] \"%s\"", si, sc->names[0]);

  uint32_t action;
  int r = resolve_action(sc->action, &sc->errno_ret, what, &action, err);
  if (r < 0)
    return r;

  _cleanup_free_ struct scmp_arg_cmp *cmps = xcalloc(sc->n_args ? sc->n_args : 1, sizeof(*cmps));
  for (size_t ai = 0; ai < sc->n_args; ai++) {
    r = arg_to_cmp(&sc->args[ai], si, ai, &cmps[ai], err);
    if (r < 0)
      return r;
  }
  /* Checked after validating the arguments, so a bad profile fails the same
   * way whatever its default action. */
  if (action == default_action)
    return 0;

  bool split = args_share_an_index(sc);
  for (size_t i = 0; sc->names[i]; i++) {
    int nr = seccomp_syscall_resolve_name(sc->names[i]);
    if (nr == __NR_SCMP_ERROR) {
      log_debug("seccomp: %s: syscall %s unknown to libseccomp, skipped", what, sc->names[i]);
      continue;
    }
    r = add_rules_for(ctx, action, nr, sc->names[i], what, cmps, sc->n_args, split, err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* Filter attributes set on every filter, whatever the profile says. */
static int set_base_attributes(scmp_filter_ctx ctx, struct berr **err) {
  /* The runtime sets no_new_privs itself, from process.noNewPrivileges. */
  int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (r < 0)
    return berr_sys(err, -r, "seccomp: clear the no_new_privs attribute");
  /* Have seccomp_load report the kernel's errno (not -ECANCELED); best effort. */
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
  return 0;
}

int seccomp_filter_build(const struct oci_seccomp *s, struct seccomp_filter **out, struct berr **err) {
  uint32_t default_action;
  int r = resolve_action(s->default_action, &s->default_errno_ret, "defaultAction", &default_action, err);
  if (r < 0)
    return r;

  _cleanup_scmp_ctx_ scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == NULL)
    return berr_set(err, EINVAL,
                    "seccomp: cannot create a filter with default action %s (not supported by this kernel?)",
                    s->default_action);
  r = set_base_attributes(ctx, err);
  if (r < 0)
    return r;
  r = add_architectures(ctx, s->architectures, err);
  if (r < 0)
    return r;
  r = set_flags(ctx, s->flags, err);
  if (r < 0)
    return r;
  for (size_t i = 0; i < s->n_syscalls; i++) {
    r = add_syscall_entry(ctx, &s->syscalls[i], i, default_action, err);
    if (r < 0)
      return r;
  }

  struct seccomp_filter *f = xcalloc(1, sizeof(*f));
  f->ctx = steal_ptr(ctx);
  *out = f;
  return 0;
}

/* ---------- loading, exporting ---------- */

int seccomp_filter_load(struct seccomp_filter *f, struct berr **err) {
  int r;
  if (f->insns) { /* flags 0: what seccomp_load does for a profile without flags */
    struct sock_fprog prog = {.len = f->n_insns, .filter = f->insns};
    r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
  } else {
    r = seccomp_load(f->ctx);
  }
  if (r == -EACCES || r == -EPERM)
    return berr_sys(err, -r, "seccomp: load filter (needs noNewPrivileges or CAP_SYS_ADMIN)");
  if (r < 0)
    return berr_sys(err, -r, "seccomp: load filter");
  return 0;
}

int seccomp_filter_export_bpf(struct seccomp_filter *f, int fd, struct berr **err) {
  if (!f->ctx) {
    const char *p = (const char *)f->insns;
    size_t left = (size_t)f->n_insns * sizeof(*f->insns);
    while (left) {
      ssize_t k = write(fd, p, left);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return berr_sys(err, k < 0 ? errno : EIO, "seccomp: export BPF");
      p += k, left -= (size_t)k;
    }
    return 0;
  }
  int r = seccomp_export_bpf(f->ctx, fd);
  if (r < 0)
    return berr_sys(err, -r, "seccomp: export BPF");
  return 0;
}

void seccomp_filter_free(struct seccomp_filter *f) {
  if (f == NULL)
    return;
  if (f->ctx)
    seccomp_release(f->ctx);
  free(f->insns);
  free(f);
}

void seccomp_filter_freep(struct seccomp_filter **f) {
  seccomp_filter_free(*f);
  *f = NULL;
}

/* ---------- the compiled-program cache ---------- */

#define CACHE_MAGIC "berth-seccomp-bpf 1\n"

/* Everything the compiled program depends on, as text. Caller frees. */
static char *cache_key(const json_t *raw) {
  _cleanup_free_ char *ver = libseccomp_version();
  _cleanup_free_ char *profile = json_dumps(raw, JSON_COMPACT | JSON_SORT_KEYS);
  struct utsname u;
  if (uname(&u) < 0)
    snprintf(u.machine, sizeof u.machine, "unknown");
  return xasprintf("libseccomp %s api %u machine %s\n%s", ver, seccomp_api_get(), u.machine,
                   profile ? profile : "");
}

/* FNV-1a of the key: only the file name; the file's own key decides */
static char *cache_path(const char *dir, const char *key) {
  uint64_t h = 14695981039346656037ULL;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return xasprintf("%s/%016llx.bpf", dir, (unsigned long long)h);
}

/* A cached program for exactly `key`, or -ENOENT. */
static int cache_read(const char *path, const char *key, struct sock_filter **insns, unsigned short *n) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (read_file(path, &data, &len, NULL) < 0)
    return -ENOENT;
  size_t head = strlen(CACHE_MAGIC), klen = strlen(key);
  if (len < head + klen + 1 || memcmp(data, CACHE_MAGIC, head) != 0 ||
      memcmp(data + head, key, klen) != 0 || data[head + klen] != '\0')
    return -ENOENT;
  size_t off = head + klen + 1, blen = len - off;
  if (blen == 0 || blen % sizeof(struct sock_filter) != 0 || blen / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return -ENOENT;
  *insns = xmalloc(blen);
  memcpy(*insns, data + off, blen);
  *n = (unsigned short)(blen / sizeof(struct sock_filter));
  return 0;
}

/* libseccomp's program for ctx, in memory (seccomp_export_bpf writes to an fd) */
static int export_program(scmp_filter_ctx ctx, struct sock_filter **insns, unsigned short *n,
                          struct berr **err) {
  _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "seccomp: memfd");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0)
    return berr_sys(err, -r, "seccomp: export BPF");
  struct stat st;
  if (fstat(fd, &st) < 0)
    return berr_sys(err, errno, "seccomp: export BPF");
  size_t blen = (size_t)st.st_size;
  if (blen == 0 || blen % sizeof(struct sock_filter) != 0 || blen / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return berr_set(err, E2BIG, "seccomp: the compiled filter has %zu bytes", blen);
  struct sock_filter *p = xmalloc(blen);
  if (pread(fd, p, blen, 0) != (ssize_t)blen) {
    free(p);
    return berr_sys(err, errno ? errno : EIO, "seccomp: read the exported BPF");
  }
  *insns = p;
  *n = (unsigned short)(blen / sizeof(struct sock_filter));
  return 0;
}

/* Best effort: a cache that cannot be written only costs the next compile. */
static void cache_write(const char *dir, const char *path, const char *key, const struct sock_filter *insns,
                        unsigned short n) {
  if (mkdir_p(dir, 0700, NULL) < 0)
    return;
  size_t head = strlen(CACHE_MAGIC), klen = strlen(key), blen = (size_t)n * sizeof(*insns);
  _cleanup_free_ char *buf = xmalloc(head + klen + 1 + blen);
  memcpy(buf, CACHE_MAGIC, head);
  memcpy(buf + head, key, klen + 1);
  memcpy(buf + head + klen + 1, insns, blen);
  (void)write_file_atomic(path, buf, head + klen + 1 + blen, 0600, NULL);
}

int seccomp_filter_build_cached(const struct oci_seccomp *s, const json_t *raw, const char *cache_dir,
                                struct seccomp_filter **out, struct berr **err) {
  if (!raw || !cache_dir || (s->flags && s->flags[0]))
    return seccomp_filter_build(s, out, err);
  _cleanup_free_ char *key = cache_key(raw);
  _cleanup_free_ char *path = cache_path(cache_dir, key);
  struct sock_filter *insns = NULL;
  unsigned short n = 0;
  if (cache_read(path, key, &insns, &n) == 0) {
    struct seccomp_filter *f = xcalloc(1, sizeof(*f));
    f->insns = insns;
    f->n_insns = n;
    *out = f;
    return 0;
  }
  _cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
  int r = seccomp_filter_build(s, &f, err);
  if (r < 0)
    return r;
  if ((r = export_program(f->ctx, &f->insns, &f->n_insns, err)) < 0)
    return r;
  cache_write(cache_dir, path, key, f->insns, f->n_insns);
  *out = steal_ptr(f);
  return 0;
}
