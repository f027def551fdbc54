/*
 * Unit tests for src/runtime/seccomp.c: name tables, error messages, building
 * and exporting filters, and loading them in forked children (with
 * no_new_privs) to prove actions, errnoRet and argument conditions work.
 *
 * Docker's default profile (Docker's own format, not OCI) is read from
 * $BERTH_SECCOMP_PROFILE or /work/shared/reference/seccomp/default.json and
 * converted here the way dockerd does (archMap, includes/excludes); the tests
 * that need it are skipped when it is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "runtime/security.h"

#define STRV(...) ((char *[]){__VA_ARGS__, NULL})

/* ---------- helpers ---------- */

/* Build `s`, expecting success; the caller frees the filter. */
static struct seccomp_filter *build_ok(const struct oci_seccomp *s) {
  _cleanup_berr_ struct berr *err = NULL;
  struct seccomp_filter *f = NULL;
  if (seccomp_filter_build(s, &f, &err) < 0) {
    char msg[512]; /* fail_msg longjmps: free the error first */
    snprintf(msg, sizeof(msg), "%s", err ? err->msg : "(no message)");
    berr_freep(&err);
    fail_msg("seccomp_filter_build: %s", msg);
  }
  assert_non_null(f);
  return f;
}

/* Build `s`, expecting failure with exactly `msg`. */
static void build_fails(const struct oci_seccomp *s, int code, const char *msg) {
  _cleanup_berr_ struct berr *err = NULL;
  struct seccomp_filter *f = NULL;
  assert_int_equal(seccomp_filter_build(s, &f, &err), -code);
  assert_null(f);
  assert_non_null(err);
  assert_string_equal(err->msg, msg);
}

/* Size of the BPF program exported for `f`, in bytes. */
static off_t exported_size(struct seccomp_filter *f) {
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_close_ int fd = memfd_create("bpf", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(seccomp_filter_export_bpf(f, fd, &err), 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  return st.st_size;
}

/* Checks inside a forked child: print and return 1 on failure. */
#define CHILD_CHECK(cond)                                                                                              \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      fprintf(stderr, "%s:%d: child check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno);                 \
      return 1;                                                                                                        \
    }                                                                                                                  \
  } while (0)

/* Load `s` into the calling (child) process under no_new_privs. */
static int child_load(const struct oci_seccomp *s) {
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
  if (seccomp_filter_build(s, &f, &err) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
      seccomp_filter_load(f, &err) < 0) {
    fprintf(stderr, "child: %s\n", err ? err->msg : strerror(errno));
    return -1;
  }
  return 0;
}

/* Run fn in a forked child; the test fails unless it exits 0. */
static void run_in_child(int (*fn)(void *), void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(fn(arg));
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status))
    fail_msg("child killed by signal %d", WTERMSIG(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---------- tables ---------- */

static void test_names_known(void **state) {
  (void)state;
  assert_true(seccomp_action_known("SCMP_ACT_ERRNO"));
  assert_true(seccomp_action_known("SCMP_ACT_KILL_PROCESS"));
  assert_true(seccomp_action_known("SCMP_ACT_NOTIFY"));
  assert_false(seccomp_action_known("SCMP_ACT_FOO"));
  assert_false(seccomp_action_known("scmp_act_errno"));
  assert_false(seccomp_action_known(NULL));
  assert_true(seccomp_operator_known("SCMP_CMP_MASKED_EQ"));
  assert_false(seccomp_operator_known("SCMP_CMP_XX"));
  assert_true(seccomp_arch_known("SCMP_ARCH_X86_64"));
  assert_true(seccomp_arch_known("SCMP_ARCH_RISCV64"));
  assert_false(seccomp_arch_known("SCMP_ARCH_FOO"));
  assert_true(seccomp_flag_known("SECCOMP_FILTER_FLAG_LOG"));
  assert_true(seccomp_flag_known("SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
  assert_false(seccomp_flag_known("SECCOMP_FILTER_FLAG_FOO"));
}

static bool json_array_has(const json_t *a, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
  return false;
}

static void test_features(void **state) {
  (void)state;
  _cleanup_json_ json_t *f = seccomp_features_json();
  assert_non_null(f);
  assert_true(json_is_true(json_object_get(f, "enabled")));
  assert_int_equal(json_array_size(json_object_get(f, "actions")), 9);
  assert_int_equal(json_array_size(json_object_get(f, "operators")), 7);
  assert_true(json_array_has(json_object_get(f, "knownFlags"), "SECCOMP_FILTER_FLAG_TSYNC"));
  /* archs lists only what this libseccomp resolves: x86 and arm at least */
  json_t *archs = json_object_get(f, "archs");
  assert_true(json_array_has(archs, "SCMP_ARCH_X86_64"));
  assert_true(json_array_has(archs, "SCMP_ARCH_AARCH64"));
  size_t i;
  json_t *v;
  json_array_foreach(archs, i, v) assert_true(seccomp_arch_known(json_string_value(v)));
  json_array_foreach(json_object_get(f, "supportedFlags"), i, v)
      assert_true(json_array_has(json_object_get(f, "knownFlags"), json_string_value(v)));
}

/* ---------- errors ---------- */

static void test_errors(void **state) {
  (void)state;
  struct oci_seccomp_syscall calls[5] = {
      {.names = STRV("read"), .action = "SCMP_ACT_ALLOW"},
      {.names = STRV("write"), .action = "SCMP_ACT_ALLOW"},
      {.names = STRV("open"), .action = "SCMP_ACT_ALLOW"},
      {.names = STRV("clone", "clone3"), .action = "SCMP_ACT_FOO"},
      {.names = STRV("personality"), .action = "SCMP_ACT_ALLOW"},
  };
  struct oci_seccomp s = {.default_action = "SCMP_ACT_ERRNO", .syscalls = calls, .n_syscalls = 4};
  build_fails(&s, EINVAL, "seccomp: syscalls[3] \"clone\": unknown action \"SCMP_ACT_FOO\"");

  calls[3].action = "SCMP_ACT_NOTIFY";
  build_fails(&s, ENOTSUP,
              "seccomp: syscalls[3] \"clone\": SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath, which berth-runc "
              "does not support yet");

  calls[3].action = "SCMP_ACT_ALLOW";
  calls[3].errno_ret = (struct oci_opt_u64){true, 1};
  build_fails(&s, EINVAL,
              "seccomp: syscalls[3] \"clone\": errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not "
              "SCMP_ACT_ALLOW");
  calls[3].errno_ret.set = false;

  struct oci_seccomp_arg bad_op = {.index = 0, .value = 1, .op = "SCMP_CMP_XX"};
  calls[4].args = &bad_op;
  calls[4].n_args = 1;
  s.n_syscalls = 5;
  build_fails(&s, EINVAL, "seccomp: syscalls[4].args[0].op: unknown operator \"SCMP_CMP_XX\"");
  struct oci_seccomp_arg bad_index = {.index = 6, .value = 1, .op = "SCMP_CMP_EQ"};
  calls[4].args = &bad_index;
  build_fails(&s, EINVAL, "seccomp: syscalls[4].args[0].index: 6 is out of range (0-5)");
  calls[4].n_args = 0;

  s.architectures = STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_FOO");
  build_fails(&s, EINVAL, "seccomp: unknown architecture \"SCMP_ARCH_FOO\"");
  s.architectures = NULL;

  s.flags = STRV("SECCOMP_FILTER_FLAG_FOO");
  build_fails(&s, EINVAL, "seccomp: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"");
  s.flags = NULL;

  s.default_action = "SCMP_ACT_BAR";
  build_fails(&s, EINVAL, "seccomp: defaultAction: unknown action \"SCMP_ACT_BAR\"");
  s.default_action = "SCMP_ACT_ALLOW";
  s.default_errno_ret = (struct oci_opt_u64){true, 1};
  build_fails(&s, EINVAL,
              "seccomp: defaultAction: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not "
              "SCMP_ACT_ALLOW");
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = (struct oci_opt_u64){true, 70000};
  build_fails(&s, ERANGE, "seccomp: defaultAction: errnoRet 70000 is out of range (0-65535)");
  s.default_errno_ret.set = false;

  /* and the same profile, fixed, builds */
  seccomp_filter_free(build_ok(&s));
}

/* ---------- building and exporting ---------- */

static void test_export_mkdir_errno(void **state) {
  (void)state;
  struct oci_seccomp_syscall deny = {.names = STRV("mkdir", "mkdirat"), .action = "SCMP_ACT_ERRNO"};
  struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .syscalls = &deny, .n_syscalls = 1};
  _cleanup_seccomp_filter_ struct seccomp_filter *f = build_ok(&s);
  off_t size = exported_size(f);
  assert_true(size > 0);
  assert_int_equal(size % 8, 0); /* whole struct sock_filter instructions */

  /* an empty allow-all filter is smaller than one with a rule */
  struct oci_seccomp empty = {.default_action = "SCMP_ACT_ALLOW"};
  _cleanup_seccomp_filter_ struct seccomp_filter *g = build_ok(&empty);
  assert_true(exported_size(g) < size);
}

static void test_skips(void **state) {
  (void)state;
  struct oci_seccomp_syscall calls[] = {
      /* unknown names are skipped, known ones beside them still added */
      {.names = STRV("no_such_syscall_berth", "getpid"), .action = "SCMP_ACT_ALLOW"},
      /* same action as the default: skipped (libseccomp would refuse it) */
      {.names = STRV("mkdir"), .action = "SCMP_ACT_ERRNO"},
      {.names = STRV("rmdir"), .action = "SCMP_ACT_ERRNO", .errno_ret = {true, EPERM}},
      /* a different errno is a different action */
      {.names = STRV("clone3"), .action = "SCMP_ACT_ERRNO", .errno_ret = {true, ENOSYS}},
      {.names = STRV("ptrace"), .action = "SCMP_ACT_TRACE", .errno_ret = {true, 7}},
      {.names = STRV("reboot"), .action = "SCMP_ACT_KILL"},
      {.names = STRV("acct"), .action = "SCMP_ACT_TRAP"},
  };
  struct oci_seccomp s = {
      .default_action = "SCMP_ACT_ERRNO",
      .architectures = STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
      .syscalls = calls,
      .n_syscalls = sizeof(calls) / sizeof(calls[0]),
  };
  _cleanup_seccomp_filter_ struct seccomp_filter *f = build_ok(&s);
  assert_true(exported_size(f) > 0);
}

/* Every action but NOTIFY builds as a rule; KILL_PROCESS and LOG need API
 * level 3 (kernel 4.14), and fail clearly below it (e.g. under valgrind). */
static void test_actions(void **state) {
  (void)state;
  _cleanup_json_ json_t *features = seccomp_features_json();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(features, "actions"), i, v) {
    char *action = (char *)json_string_value(v);
    if (strcmp(action, "SCMP_ACT_NOTIFY") == 0)
      continue;
    bool needs_api3 = strcmp(action, "SCMP_ACT_KILL_PROCESS") == 0 || strcmp(action, "SCMP_ACT_LOG") == 0;
    struct oci_seccomp_syscall rule = {.names = STRV("reboot"), .action = action};
    struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .n_syscalls = 1};
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
    int r = seccomp_filter_build(&s, &f, &err);
    if (needs_api3 && seccomp_api_get() < 3) {
      assert_int_equal(r, -ENOTSUP);
      assert_non_null(strstr(err->msg, action));
      print_message("# unsupported here: %s\n", err->msg);
    } else if (r < 0) {
      fail_msg("%s: %s", action, err->msg);
    }
  }
}

/* Each known flag builds when this kernel and libseccomp support it (as
 * features' supportedFlags says), and fails with a clear error otherwise
 * (valgrind, for one, hides seccomp(2) from libseccomp). */
static void test_flags(void **state) {
  (void)state;
  _cleanup_json_ json_t *features = seccomp_features_json();
  json_t *supported = json_object_get(features, "supportedFlags");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(features, "knownFlags"), i, v) {
    char *flag = (char *)json_string_value(v);
    struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .flags = (char *[]){flag, NULL}};
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
    int r = seccomp_filter_build(&s, &f, &err);
    if (json_array_has(supported, flag)) {
      if (r < 0)
        fail_msg("%s: %s", flag, err->msg);
    } else {
      assert_true(r < 0);
      assert_non_null(strstr(err->msg, flag));
      print_message("# unsupported here: %s\n", err->msg);
    }
  }
}

/* Rules taken from Docker's default profile, written as OCI. */
static void test_docker_rules_inline(void **state) {
  (void)state;
  struct oci_seccomp_arg socket_lt = {.index = 0, .value = 38, .op = "SCMP_CMP_LT"};
  struct oci_seccomp_arg socket_eq = {.index = 0, .value = 39, .op = "SCMP_CMP_EQ"};
  struct oci_seccomp_arg socket_gt = {.index = 0, .value = 40, .op = "SCMP_CMP_GT"};
  struct oci_seccomp_arg pers = {.index = 0, .value = 4294967295u, .op = "SCMP_CMP_EQ"};
  struct oci_seccomp_arg clone_flags = {.index = 0, .value = 2114060288, .op = "SCMP_CMP_MASKED_EQ"};
  struct oci_seccomp_syscall calls[] = {
      {.names = STRV("accept", "accept4", "access", "brk", "close", "exit_group", "openat", "read", "write"),
       .action = "SCMP_ACT_ALLOW"},
      {.names = STRV("socket"), .action = "SCMP_ACT_ALLOW", .args = &socket_lt, .n_args = 1},
      {.names = STRV("socket"), .action = "SCMP_ACT_ALLOW", .args = &socket_eq, .n_args = 1},
      {.names = STRV("socket"), .action = "SCMP_ACT_ALLOW", .args = &socket_gt, .n_args = 1},
      {.names = STRV("personality"), .action = "SCMP_ACT_ALLOW", .args = &pers, .n_args = 1},
      {.names = STRV("arch_prctl", "modify_ldt"), .action = "SCMP_ACT_ALLOW"},
      {.names = STRV("clone"), .action = "SCMP_ACT_ALLOW", .args = &clone_flags, .n_args = 1},
      {.names = STRV("clone3"), .action = "SCMP_ACT_ERRNO", .errno_ret = {true, 38}},
      {.names = STRV("s390_pci_mmio_read", "riscv_flush_icache", "arm_fadvise64_64"), .action = "SCMP_ACT_ALLOW"},
  };
  struct oci_seccomp s = {
      .default_action = "SCMP_ACT_ERRNO",
      .default_errno_ret = {true, 1},
      .architectures = STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
      .syscalls = calls,
      .n_syscalls = sizeof(calls) / sizeof(calls[0]),
  };
  _cleanup_seccomp_filter_ struct seccomp_filter *f = build_ok(&s);
  assert_true(exported_size(f) > 0);
}

/* ---------- loading (forked children) ---------- */

static int child_getpid_esrch(void *arg) {
  (void)arg;
  struct oci_seccomp_syscall rule = {.names = STRV("getpid"), .action = "SCMP_ACT_ERRNO", .errno_ret = {true, ESRCH}};
  struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .n_syscalls = 1};
  pid_t ppid = getppid();
  CHILD_CHECK(child_load(&s) == 0);
  errno = 0;
  CHILD_CHECK(syscall(SYS_getpid) == -1 && errno == ESRCH);
  CHILD_CHECK(syscall(SYS_getppid) == ppid); /* everything else allowed */
  return 0;
}

static void test_load_getpid_errno(void **state) {
  (void)state;
  run_in_child(child_getpid_esrch, NULL);
}

/* personality(0xffffffff) (a query) denied; other values still allowed. */
static int child_personality_condition(void *arg) {
  (void)arg;
  struct oci_seccomp_arg query = {.index = 0, .value = 0xffffffffu, .op = "SCMP_CMP_EQ"};
  struct oci_seccomp_syscall rule = {.names = STRV("personality"),
                                     .action = "SCMP_ACT_ERRNO",
                                     .errno_ret = {true, ENOTBLK},
                                     .args = &query,
                                     .n_args = 1};
  struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .n_syscalls = 1};
  long cur = syscall(SYS_personality, 0xffffffffUL);
  CHILD_CHECK(cur >= 0);
  CHILD_CHECK(child_load(&s) == 0);
  errno = 0;
  CHILD_CHECK(syscall(SYS_personality, 0xffffffffUL) == -1 && errno == ENOTBLK);
  CHILD_CHECK(syscall(SYS_personality, (unsigned long)cur) == cur); /* set to the same: allowed */
  return 0;
}

static void test_load_arg_condition(void **state) {
  (void)state;
  run_in_child(child_personality_condition, NULL);
}

/* Conditions on different args are ANDed; on the same arg they become
 * separate rules (ORed); MASKED_EQ uses value as mask, valueTwo as datum. */
static int child_and_or_masked(void *arg) {
  (void)arg;
  _cleanup_close_ int fd_a = open("/dev/null", O_RDONLY | O_CLOEXEC);
  _cleanup_close_ int fd_b = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHILD_CHECK(fd_a >= 0 && fd_b >= 0);
  struct oci_seccomp_arg fcntl_and[] = {
      {.index = 0, .value = (uint64_t)fd_a, .op = "SCMP_CMP_EQ"},
      {.index = 1, .value = F_GETFD, .op = "SCMP_CMP_EQ"},
  };
  struct oci_seccomp_arg getpgid_or[] = {
      {.index = 0, .value = 111111, .op = "SCMP_CMP_EQ"},
      {.index = 0, .value = 222222, .op = "SCMP_CMP_EQ"},
  };
  struct oci_seccomp_arg getsid_masked = {.index = 0, .value = 0xff00, .value_two = 0x1200, .op = "SCMP_CMP_MASKED_EQ"};
  struct oci_seccomp_syscall rules[] = {
      {.names = STRV("fcntl"), .action = "SCMP_ACT_ERRNO", .errno_ret = {true, EDOM}, .args = fcntl_and, .n_args = 2},
      {.names = STRV("getpgid"),
       .action = "SCMP_ACT_ERRNO",
       .errno_ret = {true, EDOM},
       .args = getpgid_or,
       .n_args = 2},
      {.names = STRV("getsid"),
       .action = "SCMP_ACT_ERRNO",
       .errno_ret = {true, EDOM},
       .args = &getsid_masked,
       .n_args = 1},
  };
  struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .syscalls = rules, .n_syscalls = 3};
  CHILD_CHECK(child_load(&s) == 0);

  errno = 0;
  CHILD_CHECK(syscall(SYS_fcntl, fd_a, F_GETFD) == -1 && errno == EDOM);
  CHILD_CHECK(syscall(SYS_fcntl, fd_a, F_GETFL) >= 0);
  CHILD_CHECK(syscall(SYS_fcntl, fd_b, F_GETFD) >= 0);

  errno = 0;
  CHILD_CHECK(syscall(SYS_getpgid, 111111) == -1 && errno == EDOM);
  errno = 0;
  CHILD_CHECK(syscall(SYS_getpgid, 222222) == -1 && errno == EDOM);
  errno = 0;
  CHILD_CHECK(syscall(SYS_getpgid, 0) >= 0);
  CHILD_CHECK(syscall(SYS_getpgid, 333333) >= 0 || errno != EDOM);

  errno = 0;
  CHILD_CHECK(syscall(SYS_getsid, 0x1234) == -1 && errno == EDOM);
  errno = 0;
  CHILD_CHECK(syscall(SYS_getsid, 0x1334) >= 0 || errno != EDOM);
  CHILD_CHECK(syscall(SYS_getsid, 0) >= 0);
  return 0;
}

static void test_load_and_or_masked(void **state) {
  (void)state;
  run_in_child(child_and_or_masked, NULL);
}

static int child_load_without_nnp(void *arg) {
  (void)arg;
  /* Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses the
   * filter, and the error says what is needed. */
  struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW"};
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
  CHILD_CHECK(seccomp_filter_build(&s, &f, &err) == 0);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct none[2] = {{0}};
  CHILD_CHECK(syscall(SYS_capset, &hdr, none) == 0);
  CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
  CHILD_CHECK(seccomp_filter_load(f, &err) == -EACCES);
  CHILD_CHECK(err && strstr(err->msg, "needs noNewPrivileges or CAP_SYS_ADMIN"));
  /* and libseccomp did not set no_new_privs behind our back */
  CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
  return 0;
}

static void test_load_needs_nnp(void **state) {
  (void)state;
  run_in_child(child_load_without_nnp, NULL);
}

/* ---------- Docker's default profile ---------- */

static json_t *load_docker_profile(void) {
  const char *path = getenv("BERTH_SECCOMP_PROFILE");
  if (path == NULL)
    path = "/work/shared/reference/seccomp/default.json";
  json_error_t jerr;
  json_t *p = json_load_file(path, 0, &jerr);
  if (p == NULL)
    print_message("# %s: %s (skipping)\n", path, jerr.text);
  return p;
}

/* Docker's Go arch name for the machine, and its archMap key. */
struct native_arch {
  const char *machine, *go_arch, *scmp;
};
static const struct native_arch native_arches[] = {
    {"x86_64", "amd64", "SCMP_ARCH_X86_64"},     {"aarch64", "arm64", "SCMP_ARCH_AARCH64"},
    {"riscv64", "riscv64", "SCMP_ARCH_RISCV64"}, {"s390x", "s390x", "SCMP_ARCH_S390X"},
    {"ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE"},
};

static const struct native_arch *native_arch(void) {
  struct utsname u;
  assert_int_equal(uname(&u), 0);
  for (size_t i = 0; i < sizeof(native_arches) / sizeof(native_arches[0]); i++)
    if (strcmp(u.machine, native_arches[i].machine) == 0)
      return &native_arches[i];
  return NULL;
}

/* The archMap entry for `arch`: the arch and its sub-architectures (NULL-terminated, borrowed strings). */
static char **arch_list(json_t *profile, const char *arch) {
  size_t i, j;
  json_t *entry, *sub;
  json_array_foreach(json_object_get(profile, "archMap"), i, entry) {
    if (strcmp(json_string_value(json_object_get(entry, "architecture")), arch) != 0)
      continue;
    json_t *subs = json_object_get(entry, "subArchitectures");
    char **v = xcalloc(json_array_size(subs) + 2, sizeof(char *));
    v[0] = (char *)arch;
    json_array_foreach(subs, j, sub) v[j + 1] = (char *)json_string_value(sub);
    return v;
  }
  return NULL;
}

/* Borrowed-string vector of a JSON array of strings (the vector is owned). */
static char **strings_of(json_t *a) {
  size_t i;
  json_t *v;
  char **out = xcalloc(json_array_size(a) + 1, sizeof(char *));
  json_array_foreach(a, i, v) out[i] = (char *)json_string_value(v);
  return out;
}

/* A Docker profile converted to OCI; vectors owned, strings borrowed. */
struct converted {
  struct oci_seccomp s;
};

static void converted_free(struct converted *c) {
  for (size_t i = 0; i < c->s.n_syscalls; i++) {
    free(c->s.syscalls[i].names);
    free(c->s.syscalls[i].args);
  }
  free(c->s.syscalls);
  free(c->s.architectures);
}

static bool any_in(json_t *list, char *const *set) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) for (size_t k = 0; set[k];
                                      k++) if (strcmp(json_string_value(v), set[k]) == 0) return true;
  return false;
}

static bool all_in(json_t *list, char *const *set) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    bool found = false;
    for (size_t k = 0; set[k]; k++)
      found = found || strcmp(json_string_value(v), set[k]) == 0;
    if (!found)
      return false;
  }
  return true;
}

static bool kernel_at_least(const char *want) {
  struct utsname u;
  unsigned km = 0, kn = 0, wm = 0, wn = 0;
  uname(&u);
  sscanf(u.release, "%u.%u", &km, &kn);
  sscanf(want, "%u.%u", &wm, &wn);
  return km > wm || (km == wm && kn >= wn);
}

/* dockerd's filter (profiles/seccomp): does rule `r` apply to this arch and capability set? */
static bool docker_rule_applies(json_t *r, const char *go_arch, char *const *caps) {
  char *const arch_set[] = {(char *)go_arch, NULL};
  json_t *inc = json_object_get(r, "includes"), *exc = json_object_get(r, "excludes");
  if (any_in(json_object_get(exc, "arches"), arch_set) || any_in(json_object_get(exc, "caps"), caps))
    return false;
  if (json_object_get(exc, "minKernel") && kernel_at_least(json_string_value(json_object_get(exc, "minKernel"))))
    return false;
  json_t *inc_arches = json_object_get(inc, "arches");
  if (json_array_size(inc_arches) > 0 && !any_in(inc_arches, arch_set))
    return false;
  if (!all_in(json_object_get(inc, "caps"), caps))
    return false;
  if (json_object_get(inc, "minKernel") && !kernel_at_least(json_string_value(json_object_get(inc, "minKernel"))))
    return false;
  return true;
}

/* Docker profile → OCI, for `arch` (archMap key). go_arch NULL: keep every rule
 * (no includes/excludes filtering). Strings are borrowed from the profile. */
static void convert_profile(json_t *p, const char *arch, const char *go_arch, char *const *caps, struct converted *c) {
  memset(c, 0, sizeof(*c));
  c->s.default_action = (char *)json_string_value(json_object_get(p, "defaultAction"));
  json_t *der = json_object_get(p, "defaultErrnoRet");
  if (der)
    c->s.default_errno_ret = (struct oci_opt_u64){true, (uint64_t)json_integer_value(der)};
  c->s.architectures = arch_list(p, arch);
  json_t *rules = json_object_get(p, "syscalls");
  c->s.syscalls = xcalloc(json_array_size(rules), sizeof(struct oci_seccomp_syscall));
  size_t i;
  json_t *r;
  json_array_foreach(rules, i, r) {
    if (go_arch && !docker_rule_applies(r, go_arch, caps))
      continue;
    struct oci_seccomp_syscall *sc = &c->s.syscalls[c->s.n_syscalls++];
    sc->names = strings_of(json_object_get(r, "names"));
    sc->action = (char *)json_string_value(json_object_get(r, "action"));
    json_t *er = json_object_get(r, "errnoRet");
    if (er)
      sc->errno_ret = (struct oci_opt_u64){true, (uint64_t)json_integer_value(er)};
    json_t *args = json_object_get(r, "args");
    sc->n_args = json_array_size(args);
    sc->args = xcalloc(sc->n_args + 1, sizeof(struct oci_seccomp_arg));
    size_t k;
    json_t *a;
    json_array_foreach(args, k, a) {
      sc->args[k].index = (unsigned)json_integer_value(json_object_get(a, "index"));
      sc->args[k].value = (uint64_t)json_integer_value(json_object_get(a, "value"));
      sc->args[k].value_two = (uint64_t)json_integer_value(json_object_get(a, "valueTwo"));
      sc->args[k].op = (char *)json_string_value(json_object_get(a, "op"));
    }
  }
}

/* Every syscall name in the profile, as one allow rule, for every archMap
 * entry this libseccomp supports: unknown names skip, nothing fails. */
static void test_default_profile_all_names(void **state) {
  (void)state;
  _cleanup_json_ json_t *p = load_docker_profile();
  if (p == NULL)
    skip();
  _cleanup_free_ char **all = NULL;
  size_t n = 0, i, j;
  json_t *r, *name;
  json_array_foreach(json_object_get(p, "syscalls"), i, r) json_array_foreach(json_object_get(r, "names"), j, name) {
    all = xrealloc(all, (n + 2) * sizeof(char *));
    all[n++] = (char *)json_string_value(name);
    all[n] = NULL;
  }
  assert_true(n > 400);

  struct oci_seccomp_syscall allow = {.names = all, .action = "SCMP_ACT_ALLOW"};
  size_t built = 0;
  json_t *entry;
  json_array_foreach(json_object_get(p, "archMap"), i, entry) {
    const char *arch = json_string_value(json_object_get(entry, "architecture"));
    _cleanup_free_ char **archs = arch_list(p, arch);
    struct oci_seccomp s = {
        .default_action = "SCMP_ACT_ERRNO", .architectures = archs, .syscalls = &allow, .n_syscalls = 1};
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
    int rc = seccomp_filter_build(&s, &f, &err);
    if (rc == -ENOTSUP) { /* e.g. SCMP_ARCH_LOONGARCH64 with libseccomp 2.5 */
      print_message("# %s: %s\n", arch, err->msg);
      continue;
    }
    if (rc < 0)
      fail_msg("%s: %s", arch, err->msg);
    assert_true(exported_size(f) > 0);
    built++;
  }
  assert_true(built >= 7);
}

/* dockerd's default capability set. */
static char *const docker_default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

static int child_docker_default(void *arg) {
  const struct oci_seccomp *s = arg;
  CHILD_CHECK(child_load(s) == 0);
  CHILD_CHECK(syscall(SYS_getpid) > 0);
  errno = 0;
  CHILD_CHECK(syscall(SYS_keyctl, 0, 0, 0, 0, 0) == -1 && errno == EPERM); /* not listed: defaultErrnoRet 1 */
  errno = 0;
  CHILD_CHECK(syscall(SYS_unshare, CLONE_NEWNS) == -1 && errno == EPERM); /* needs CAP_SYS_ADMIN */
  errno = 0;
  CHILD_CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS); /* errnoRet 38 */
  CHILD_CHECK(syscall(SYS_personality, 0xffffffffUL) >= 0);
  errno = 0;
  CHILD_CHECK(syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE) == -1 && errno == EPERM);
  errno = 0;
  CHILD_CHECK(syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0) == -1 && errno == EPERM);
  long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHILD_CHECK(fd >= 0);
  close((int)fd);
  return 0;
}

static void test_default_profile_docker_semantics(void **state) {
  (void)state;
  _cleanup_json_ json_t *p = load_docker_profile();
  if (p == NULL)
    skip();
  const struct native_arch *na = native_arch();
  if (na == NULL)
    skip();
  struct converted c;
  convert_profile(p, na->scmp, na->go_arch, docker_default_caps, &c);
  assert_true(c.s.n_syscalls > 10);
  struct seccomp_filter *f = build_ok(&c.s);
  assert_true(exported_size(f) > 0);
  seccomp_filter_free(f);
  run_in_child(child_docker_default, &c.s);

  /* every rule, unfiltered (what a profile with all caps looks like), still builds */
  struct converted all;
  convert_profile(p, na->scmp, NULL, NULL, &all);
  f = build_ok(&all.s);
  seccomp_filter_free(f);
  converted_free(&all);
  converted_free(&c);
}

/* ---------- the compiled-program cache ---------- */

/* The exported program's bytes. Caller frees. */
static char *exported_bytes(struct seccomp_filter *f, size_t *len) {
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_close_ int fd = memfd_create("bpf", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(seccomp_filter_export_bpf(f, fd, &err), 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  char *b = malloc((size_t)st.st_size);
  assert_int_equal(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
  *len = (size_t)st.st_size;
  return b;
}

static struct seccomp_filter *build_cached_ok(const struct oci_seccomp *s, const json_t *raw, const char *dir) {
  _cleanup_berr_ struct berr *err = NULL;
  struct seccomp_filter *f = NULL;
  if (seccomp_filter_build_cached(s, raw, dir, &f, &err) < 0) {
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", err ? err->msg : "(no message)");
    berr_freep(&err);
    fail_msg("seccomp_filter_build_cached: %s", msg);
  }
  return f;
}

/* the one file in dir (the cache holds one entry per profile) */
static char *only_file(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  char *found = NULL;
  for (struct dirent *de; (de = readdir(d));)
    if (de->d_name[0] != '.') {
      assert_null(found);
      found = xasprintf("%s/%s", dir, de->d_name);
    }
  closedir(d);
  assert_non_null(found);
  return found;
}

struct cached_arg {
  const struct oci_seccomp *s;
  const json_t *raw;
  const char *dir;
};

/* a filter served from the cache is loaded and enforced */
static int child_cached_getpid(void *arg) {
  const struct cached_arg *a = arg;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
  CHILD_CHECK(seccomp_filter_build_cached(a->s, a->raw, a->dir, &f, &err) == 0);
  CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  CHILD_CHECK(seccomp_filter_load(f, &err) == 0);
  errno = 0;
  CHILD_CHECK(syscall(SYS_getpid) == -1 && errno == ESRCH);
  return 0;
}

static void test_cache(void **state) {
  (void)state;
  char dir[] = "/tmp/berth-seccomp-cache-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct oci_seccomp_syscall rule = {.names = STRV("getpid"), .action = "SCMP_ACT_ERRNO",
                                     .errno_ret = {true, ESRCH}};
  struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .n_syscalls = 1};
  json_t *raw = json_pack("{s:s,s:[{s:[s],s:s,s:i}]}", "defaultAction", "SCMP_ACT_ALLOW", "syscalls", "names",
                          "getpid", "action", "SCMP_ACT_ERRNO", "errnoRet", ESRCH);
  /* the plain build is the reference program */
  struct seccomp_filter *ref = build_ok(&s);
  size_t ref_len;
  char *ref_bytes = exported_bytes(ref, &ref_len);
  seccomp_filter_free(ref);
  /* first build compiles and writes the cache; the second is served from it */
  for (int i = 0; i < 2; i++) {
    struct seccomp_filter *f = build_cached_ok(&s, raw, dir);
    size_t len;
    char *b = exported_bytes(f, &len);
    assert_int_equal(len, ref_len);
    assert_memory_equal(b, ref_bytes, len);
    free(b);
    seccomp_filter_free(f);
  }
  _cleanup_free_ char *file = only_file(dir);
  struct cached_arg a = {&s, raw, dir};
  run_in_child(child_cached_getpid, &a);
  /* a file whose key is not this profile's is never used: corrupt the key and
   * put a bogus program after it; the build compiles again and rewrites it */
  char *data = NULL;
  size_t dlen = 0;
  assert_int_equal(read_file(file, &data, &dlen, NULL), 0);
  char *brace = strchr(data, '{');
  assert_non_null(brace);
  *brace = '[';
  memset(data + dlen - 8, 0, 8);
  assert_int_equal(write_file_atomic(file, data, dlen, 0600, NULL), 0);
  free(data);
  struct seccomp_filter *f = build_cached_ok(&s, raw, dir);
  size_t len;
  char *b = exported_bytes(f, &len);
  assert_memory_equal(b, ref_bytes, ref_len);
  free(b);
  seccomp_filter_free(f);
  run_in_child(child_cached_getpid, &a);
  /* another profile gets its own entry */
  json_t *raw2 = json_deep_copy(raw);
  json_object_set_new(raw2, "defaultAction", json_string("SCMP_ACT_LOG"));
  struct oci_seccomp s2 = s;
  s2.default_action = "SCMP_ACT_LOG";
  f = build_cached_ok(&s2, raw2, dir);
  seccomp_filter_free(f);
  int n = 0;
  DIR *d = opendir(dir);
  for (struct dirent *de; (de = readdir(d));)
    n += de->d_name[0] != '.';
  closedir(d);
  assert_int_equal(n, 2);
  json_decref(raw2);
  json_decref(raw);
  free(ref_bytes);
  assert_int_equal(rm_rf(dir, NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_known),
      cmocka_unit_test(test_features),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_export_mkdir_errno),
      cmocka_unit_test(test_skips),
      cmocka_unit_test(test_actions),
      cmocka_unit_test(test_flags),
      cmocka_unit_test(test_docker_rules_inline),
      cmocka_unit_test(test_load_getpid_errno),
      cmocka_unit_test(test_load_arg_condition),
      cmocka_unit_test(test_load_and_or_masked),
      cmocka_unit_test(test_load_needs_nnp),
      cmocka_unit_test(test_default_profile_all_names),
      cmocka_unit_test(test_default_profile_docker_semantics),
      cmocka_unit_test(test_cache),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
