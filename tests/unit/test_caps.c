/*
 * Unit tests for src/runtime/caps.c: capability names, validation messages,
 * and — in forked children, since the test runs as root — the bounding,
 * effective, permitted, inheritable and ambient sets as the kernel reports
 * them in /proc/self/status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <sys/wait.h>

#include "runtime/security.h"

#define STRV(...) ((char *[]){__VA_ARGS__, NULL})

#define BIT(c) ((uint64_t)1 << (c))
/* capability numbers (linux/capability.h) */
#define C_CHOWN 0
#define C_KILL 5
#define C_NET_BIND_SERVICE 10
#define C_SYS_ADMIN 21

/* ---------- helpers ---------- */

static void from_name_ok(const char *name, int want) {
  _cleanup_berr_ struct berr *err = NULL;
  int cap = -1;
  assert_int_equal(caps_from_name(name, &cap, &err), 0);
  assert_int_equal(cap, want);
  assert_null(err);
}

static void from_name_fails(const char *name, const char *msg) {
  _cleanup_berr_ struct berr *err = NULL;
  int cap = -1;
  assert_int_equal(caps_from_name(name, &cap, &err), -EINVAL);
  assert_int_equal(cap, -1);
  assert_string_equal(err->msg, msg);
}

static void validate_fails(const struct oci_caps *caps, const char *msg) {
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(caps_validate(caps, &err), -EINVAL);
  assert_string_equal(err->msg, msg);
}

/* Checks inside a forked child: print and return 1 on failure. */
#define CHILD_CHECK(cond)                                                                                              \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      fprintf(stderr, "%s:%d: child check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno);                 \
      return 1;                                                                                                        \
    }                                                                                                                  \
  } while (0)

/* Run `call`, which reports into `err` (declared here), in a child. */
#define CHILD_OK(call)                                                                                                 \
  do {                                                                                                                 \
    _cleanup_berr_ struct berr *err = NULL;                                                                            \
    if ((call) < 0) {                                                                                                  \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, err ? err->msg : "?");                                        \
      return 1;                                                                                                        \
    }                                                                                                                  \
  } while (0)

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

/* The five capability masks of the calling process, from /proc/self/status. */
struct proc_caps {
  uint64_t inh, prm, eff, bnd, amb;
};

static int read_proc_caps(struct proc_caps *pc) {
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *status = NULL;
  if (read_file("/proc/self/status", &status, NULL, &err) < 0)
    return -1;
  const struct {
    const char *key;
    uint64_t *dst;
  } fields[] = {
      {"\nCapInh:", &pc->inh}, {"\nCapPrm:", &pc->prm}, {"\nCapEff:", &pc->eff},
      {"\nCapBnd:", &pc->bnd}, {"\nCapAmb:", &pc->amb},
  };
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    const char *p = strstr(status, fields[i].key);
    if (p == NULL || sscanf(p + strlen(fields[i].key), " %" SCNx64, fields[i].dst) != 1)
      return -1;
  }
  return 0;
}

/* ---------- names ---------- */

static void test_from_name(void **state) {
  (void)state;
  from_name_ok("CAP_CHOWN", C_CHOWN);
  from_name_ok("CAP_KILL", C_KILL);
  from_name_ok("CAP_SYS_ADMIN", C_SYS_ADMIN);
  from_name_ok("cap_sys_admin", C_SYS_ADMIN); /* case does not matter */
  from_name_ok("Cap_Net_Bind_Service", C_NET_BIND_SERVICE);
  from_name_ok("CAP_CHECKPOINT_RESTORE", 40);

  from_name_fails("CAP_FOO", "unknown capability \"CAP_FOO\"");
  from_name_fails("chown", "unknown capability \"chown\""); /* the prefix is required */
  from_name_fails("21", "unknown capability \"21\"");
  from_name_fails("CAP_", "unknown capability \"CAP_\"");
  from_name_fails("CAP_CHOWN,CAP_KILL", "unknown capability \"CAP_CHOWN,CAP_KILL\"");
  from_name_fails("CAP_CHOWN ", "unknown capability \"CAP_CHOWN \"");
  from_name_fails("", "unknown capability \"\"");
  from_name_fails(NULL, "unknown capability \"\"");
}

static void test_last_cap(void **state) {
  (void)state;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *text = NULL;
  assert_int_equal(read_file("/proc/sys/kernel/cap_last_cap", &text, NULL, &err), 0);
  assert_int_equal(caps_last_cap(), atoi(text));
  assert_true(caps_last_cap() >= 36 && caps_last_cap() <= 63);
}

static void test_validate(void **state) {
  (void)state;
  _cleanup_berr_ struct berr *err = NULL;
  struct oci_caps ok = {
      .bounding = STRV("CAP_CHOWN", "CAP_KILL", "cap_net_bind_service"),
      .effective = STRV("CAP_KILL"),
      .permitted = STRV("CAP_KILL"),
  };
  assert_int_equal(caps_validate(&ok, &err), 0);
  assert_int_equal(caps_validate(NULL, &err), 0);
  struct oci_caps empty = {0};
  assert_int_equal(caps_validate(&empty, &err), 0);
  assert_null(err);

  struct oci_caps bad = ok;
  bad.effective = STRV("CAP_KILL", "CAP_FOO");
  validate_fails(&bad, "unknown capability \"CAP_FOO\" in process.capabilities.effective");
  bad = ok;
  bad.bounding = STRV("CAP_CHOWN", "KILL");
  validate_fails(&bad, "unknown capability \"KILL\" in process.capabilities.bounding");
  bad = ok;
  bad.inheritable = STRV("CAP_NOPE");
  validate_fails(&bad, "unknown capability \"CAP_NOPE\" in process.capabilities.inheritable");
  bad = ok;
  bad.permitted = STRV("CAP_NOPE");
  validate_fails(&bad, "unknown capability \"CAP_NOPE\" in process.capabilities.permitted");
  bad = ok;
  bad.ambient = STRV("CAP_NOPE");
  validate_fails(&bad, "unknown capability \"CAP_NOPE\" in process.capabilities.ambient");
}

/* ---------- applying (forked children) ---------- */

/* Bounding {KILL}; permitted and effective {KILL, CHOWN} (permitted is not
 * limited by the bounding set, only execve is); inheritable and ambient {KILL}. */
static int child_apply_sets(void *arg) {
  (void)arg;
  struct oci_caps caps = {
      .bounding = STRV("CAP_KILL"),
      .effective = STRV("CAP_KILL", "CAP_CHOWN"),
      .permitted = STRV("CAP_CHOWN", "cap_kill"),
      .inheritable = STRV("CAP_KILL"),
      .ambient = STRV("CAP_KILL"),
  };
  CHILD_OK(caps_drop_bounding(&caps, &err));
  CHILD_OK(caps_apply(&caps, &err));
  struct proc_caps pc;
  CHILD_CHECK(read_proc_caps(&pc) == 0);
  CHILD_CHECK(pc.bnd == 0x20);
  CHILD_CHECK(pc.eff == 0x21);
  CHILD_CHECK(pc.prm == 0x21);
  CHILD_CHECK(pc.inh == 0x20);
  CHILD_CHECK(pc.amb == 0x20);
  return 0;
}

static void test_apply_sets(void **state) {
  (void)state;
  run_in_child(child_apply_sets, NULL);
}

/* Docker's default set, the shape berthd will generate. */
static int child_apply_docker_default(void *arg) {
  (void)arg;
  char **docker = STRV("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                       "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                       "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");
  struct oci_caps caps = {.bounding = docker, .effective = docker, .permitted = docker};
  CHILD_OK(caps_drop_bounding(&caps, &err));
  CHILD_OK(caps_apply(&caps, &err));
  struct proc_caps pc;
  CHILD_CHECK(read_proc_caps(&pc) == 0);
  /* what `docker run busybox grep Cap /proc/self/status` prints */
  CHILD_CHECK(pc.bnd == 0xa80425fb);
  CHILD_CHECK(pc.eff == 0xa80425fb);
  CHILD_CHECK(pc.prm == 0xa80425fb);
  CHILD_CHECK(pc.inh == 0);
  CHILD_CHECK(pc.amb == 0);
  return 0;
}

static void test_apply_docker_default(void **state) {
  (void)state;
  run_in_child(child_apply_docker_default, NULL);
}

/* No capabilities block: nothing at all, bounding included. */
static int child_apply_null(void *arg) {
  (void)arg;
  CHILD_OK(caps_drop_bounding(NULL, &err));
  CHILD_OK(caps_apply(NULL, &err));
  struct proc_caps pc;
  CHILD_CHECK(read_proc_caps(&pc) == 0);
  CHILD_CHECK(pc.bnd == 0 && pc.eff == 0 && pc.prm == 0 && pc.inh == 0 && pc.amb == 0);
  return 0;
}

static void test_apply_null(void **state) {
  (void)state;
  run_in_child(child_apply_null, NULL);
}

/* Absent sets are empty, bounding included (runc's reading; dockerd's --cap-drop ALL). */
static int child_bounding_absent(void *arg) {
  (void)arg;
  struct oci_caps caps = {.permitted = STRV("CAP_SYS_ADMIN"), .effective = STRV("CAP_SYS_ADMIN")};
  struct proc_caps pc;
  CHILD_OK(caps_drop_bounding(&caps, &err));
  CHILD_OK(caps_apply(&caps, &err));
  CHILD_CHECK(read_proc_caps(&pc) == 0);
  CHILD_CHECK(pc.bnd == 0);
  CHILD_CHECK(pc.eff == BIT(C_SYS_ADMIN) && pc.prm == BIT(C_SYS_ADMIN));
  CHILD_CHECK(pc.inh == 0 && pc.amb == 0);
  return 0;
}

static void test_bounding_absent(void **state) {
  (void)state;
  run_in_child(child_bounding_absent, NULL);
}

/* runc's default config: ambient capabilities that are not inheritable are skipped, not refused. */
static int child_ambient_not_inheritable(void *arg) {
  (void)arg;
  struct oci_caps caps = {.bounding = STRV("CAP_KILL"), .permitted = STRV("CAP_KILL"),
                          .effective = STRV("CAP_KILL"), .ambient = STRV("CAP_KILL")};
  struct proc_caps pc;
  CHILD_OK(caps_drop_bounding(&caps, &err));
  CHILD_OK(caps_apply(&caps, &err));
  CHILD_CHECK(read_proc_caps(&pc) == 0);
  CHILD_CHECK(pc.eff == BIT(C_KILL) && pc.amb == 0);
  return 0;
}

static void test_ambient_not_inheritable(void **state) {
  (void)state;
  run_in_child(child_ambient_not_inheritable, NULL);
}

/* Sets the kernel would refuse fail before any change, naming the capability. */
static int child_apply_errors(void *arg) {
  (void)arg;
  struct proc_caps before, after;
  CHILD_CHECK(read_proc_caps(&before) == 0);
  struct {
    struct oci_caps caps;
    const char *msg;
  } cases[] = {
      {{.effective = STRV("CAP_KILL", "CAP_CHOWN"), .permitted = STRV("CAP_KILL")},
       "process.capabilities.effective: CAP_CHOWN is not in process.capabilities.permitted"},
      {{.effective = STRV("CAP_BOGUS")}, "unknown capability \"CAP_BOGUS\" in process.capabilities.effective"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    _cleanup_berr_ struct berr *err = NULL;
    CHILD_CHECK(caps_apply(&cases[i].caps, &err) == -EINVAL);
    if (strcmp(err->msg, cases[i].msg) != 0) {
      fprintf(stderr, "got:  %s\nwant: %s\n", err->msg, cases[i].msg);
      return 1;
    }
  }
  struct oci_caps bad_bounding = {.bounding = STRV("CAP_KILL", "CAP_BOGUS")};
  _cleanup_berr_ struct berr *err = NULL;
  CHILD_CHECK(caps_drop_bounding(&bad_bounding, &err) == -EINVAL);
  CHILD_CHECK(strcmp(err->msg, "unknown capability \"CAP_BOGUS\" in process.capabilities.bounding") == 0);
  CHILD_CHECK(read_proc_caps(&after) == 0);
  CHILD_CHECK(memcmp(&before, &after, sizeof(before)) == 0);
  return 0;
}

static void test_apply_errors(void **state) {
  (void)state;
  run_in_child(child_apply_errors, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_from_name),
      cmocka_unit_test(test_last_cap),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_apply_sets),
      cmocka_unit_test(test_apply_docker_default),
      cmocka_unit_test(test_apply_null),
      cmocka_unit_test(test_bounding_absent), cmocka_unit_test(test_ambient_not_inheritable),
      cmocka_unit_test(test_apply_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
