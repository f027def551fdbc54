/*
 * test_oci_mountopt.c — mount option strings -> flags, clear, propagation,
 * bind and data, and the propagation words on their own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/mount.h>

#include "oci/oci.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* A mount with the given options (NULL-terminated); free with mount_done. */
static struct oci_mount mount_with(const char *type, const char *const *opts) {
  struct oci_mount m = { 0 };
  m.destination = xstrdup("/mnt");
  m.type = type ? xstrdup(type) : NULL;
  for (size_t i = 0; opts && opts[i]; i++)
    m.options = strv_append(m.options, xstrdup(opts[i]));
  return m;
}

static void mount_done(struct oci_mount *m) {
  free(m->destination);
  free(m->type);
  free(m->source);
  strv_free(m->options);
  free(m->data);
}

static void parse_ok(struct oci_mount *m) {
  struct berr *err = NULL;
  if (oci_mount_options_parse(m, "mounts[0]", &err) < 0)
    fail_msg("unexpected error: %s", err->msg);
}

#define OPTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Each option alone: what it sets and what it clears. */
static void test_flag_table(void **state) {
  (void)state;
  static const struct {
    const char *opt;
    unsigned long flags, clear;
  } cases[] = {
    { "defaults", 0, 0 },
    { "ro", MS_RDONLY, 0 },
    { "rw", 0, MS_RDONLY },
    { "nosuid", MS_NOSUID, 0 },
    { "suid", 0, MS_NOSUID },
    { "nodev", MS_NODEV, 0 },
    { "dev", 0, MS_NODEV },
    { "noexec", MS_NOEXEC, 0 },
    { "exec", 0, MS_NOEXEC },
    { "sync", MS_SYNCHRONOUS, 0 },
    { "async", 0, MS_SYNCHRONOUS },
    { "dirsync", MS_DIRSYNC, 0 },
    { "remount", MS_REMOUNT, 0 },
    { "mand", MS_MANDLOCK, 0 },
    { "nomand", 0, MS_MANDLOCK },
    { "noatime", MS_NOATIME, 0 },
    { "atime", 0, MS_NOATIME },
    { "nodiratime", MS_NODIRATIME, 0 },
    { "diratime", 0, MS_NODIRATIME },
    { "relatime", MS_RELATIME, 0 },
    { "norelatime", 0, MS_RELATIME },
    { "strictatime", MS_STRICTATIME, 0 },
    { "nostrictatime", 0, MS_STRICTATIME },
    { "lazytime", MS_LAZYTIME, 0 },
    { "nolazytime", 0, MS_LAZYTIME },
    { "iversion", MS_I_VERSION, 0 },
    { "noiversion", 0, MS_I_VERSION },
    { "silent", MS_SILENT, 0 },
    { "loud", 0, MS_SILENT },
    { "nosymfollow", MS_NOSYMFOLLOW, 0 },
    { "symfollow", 0, MS_NOSYMFOLLOW },
    /* mount_setattr recursive forms: same as the plain ones */
    { "rro", MS_RDONLY, 0 },
    { "rrw", 0, MS_RDONLY },
    { "rnosuid", MS_NOSUID, 0 },
    { "rsuid", 0, MS_NOSUID },
    { "rnodev", MS_NODEV, 0 },
    { "rdev", 0, MS_NODEV },
    { "rnoexec", MS_NOEXEC, 0 },
    { "rexec", 0, MS_NOEXEC },
    { "rnoatime", MS_NOATIME, 0 },
    { "ratime", 0, MS_NOATIME },
    { "rnodiratime", MS_NODIRATIME, 0 },
    { "rdiratime", 0, MS_NODIRATIME },
    { "rrelatime", MS_RELATIME, 0 },
    { "rnorelatime", 0, MS_RELATIME },
    { "rstrictatime", MS_STRICTATIME, 0 },
    { "rnostrictatime", 0, MS_STRICTATIME },
    { "rnosymfollow", MS_NOSYMFOLLOW, 0 },
    { "rsymfollow", 0, MS_NOSYMFOLLOW },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct oci_mount m = mount_with("tmpfs", OPTS(cases[i].opt));
    parse_ok(&m);
    if (m.flags != cases[i].flags || m.clear != cases[i].clear || m.data != NULL || m.propagation || m.bind)
      fail_msg("%s: flags %#lx clear %#lx data %s", cases[i].opt, m.flags, m.clear, m.data ? m.data : "-");
    mount_done(&m);
  }
}

static void test_propagation_options(void **state) {
  (void)state;
  static const struct {
    const char *opt;
    unsigned long prop;
  } cases[] = {
    { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
    { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
    { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct oci_mount m = mount_with(NULL, OPTS("bind", cases[i].opt));
    parse_ok(&m);
    assert_int_equal(m.propagation, cases[i].prop);
    assert_int_equal(m.flags, MS_BIND);
    mount_done(&m);

    unsigned long p = 0;
    assert_int_equal(oci_propagation_parse(cases[i].opt, &p), 0);
    assert_int_equal(p, cases[i].prop);
  }
}

static void test_propagation_parse_invalid(void **state) {
  (void)state;
  unsigned long p = 12345;
  assert_int_equal(oci_propagation_parse("ro", &p), -EINVAL);
  assert_int_equal(oci_propagation_parse("bind", &p), -EINVAL);
  assert_int_equal(oci_propagation_parse("", &p), -EINVAL);
  assert_int_equal(oci_propagation_parse("Private", &p), -EINVAL);
  assert_int_equal(oci_propagation_parse("rrprivate", &p), -EINVAL);
  assert_int_equal(oci_propagation_parse(NULL, &p), -EINVAL);
  assert_int_equal(p, 12345);
}

static void test_last_wins(void **state) {
  (void)state;
  struct oci_mount m = mount_with("tmpfs", OPTS("ro", "rw"));
  parse_ok(&m);
  assert_int_equal(m.flags, 0);
  assert_int_equal(m.clear, MS_RDONLY);
  mount_done(&m);

  m = mount_with("tmpfs", OPTS("rw", "nosuid", "ro", "suid"));
  parse_ok(&m);
  assert_int_equal(m.flags, MS_RDONLY);
  assert_int_equal(m.clear, MS_NOSUID);
  mount_done(&m);

  m = mount_with(NULL, OPTS("rbind", "shared", "private", "rslave"));
  parse_ok(&m);
  assert_int_equal(m.propagation, MS_SLAVE | MS_REC);
  mount_done(&m);
}

static void test_data_options(void **state) {
  (void)state;
  struct oci_mount m = mount_with("tmpfs", OPTS("nosuid", "strictatime", "mode=755", "size=65536k"));
  parse_ok(&m);
  assert_int_equal(m.flags, MS_NOSUID | MS_STRICTATIME);
  assert_string_equal(m.data, "mode=755,size=65536k");
  mount_done(&m);

  /* unknown words, also r-forms of options that have none, are filesystem options */
  m = mount_with("devpts", OPTS("newinstance", "rsync", "rbindx", "gid=5"));
  parse_ok(&m);
  assert_int_equal(m.flags, 0);
  assert_string_equal(m.data, "newinstance,rsync,rbindx,gid=5");
  mount_done(&m);
}

static void test_bind(void **state) {
  (void)state;
  struct oci_mount m = mount_with(NULL, OPTS("bind", "ro"));
  parse_ok(&m);
  assert_string_equal(m.type, "bind");
  assert_true(m.bind);
  assert_false(m.recursive);
  assert_int_equal(m.flags, MS_BIND | MS_RDONLY);
  mount_done(&m);

  m = mount_with("none", OPTS("rbind", "nosuid"));
  parse_ok(&m);
  assert_string_equal(m.type, "none"); /* an explicit type is kept */
  assert_true(m.bind);
  assert_true(m.recursive);
  assert_int_equal(m.flags, MS_BIND | MS_REC | MS_NOSUID);
  mount_done(&m);

  m = mount_with(NULL, OPTS("nosuid"));
  parse_ok(&m);
  assert_null(m.type); /* not a bind mount: stays NULL */
  assert_false(m.bind);
  mount_done(&m);
}

static void test_special_words(void **state) {
  (void)state;
  struct oci_mount m = mount_with("tmpfs", OPTS("tmpcopyup", "mode=1777"));
  parse_ok(&m);
  assert_true(m.tmpcopyup);
  assert_false(m.has_idmap);
  assert_string_equal(m.data, "mode=1777");
  mount_done(&m);

  m = mount_with(NULL, OPTS("rbind", "idmap"));
  parse_ok(&m);
  assert_true(m.has_idmap);
  assert_null(m.data);
  mount_done(&m);

  m = mount_with(NULL, OPTS("bind", "ridmap"));
  parse_ok(&m);
  assert_true(m.has_idmap);
  mount_done(&m);
}

static void test_no_options(void **state) {
  (void)state;
  struct oci_mount m = mount_with("proc", NULL);
  parse_ok(&m);
  assert_int_equal(m.flags, 0);
  assert_int_equal(m.clear, 0);
  assert_int_equal(m.propagation, 0);
  assert_null(m.data);
  assert_false(m.bind);
  mount_done(&m);
}

static void test_empty_option(void **state) {
  (void)state;
  struct oci_mount m = mount_with("tmpfs", OPTS("nosuid", "", "mode=755"));
  struct berr *err = NULL;
  assert_int_equal(oci_mount_options_parse(&m, "mounts[3]", &err), -EINVAL);
  assert_string_equal(err->msg, "mounts[3].options[1]: empty mount option");
  berr_free(err);
  mount_done(&m);
}

/* A second parse starts over: no doubled data, no stale flags. */
static void test_reparse(void **state) {
  (void)state;
  struct oci_mount m = mount_with("tmpfs", OPTS("ro", "tmpcopyup", "size=1m"));
  parse_ok(&m);
  parse_ok(&m);
  assert_string_equal(m.data, "size=1m");
  assert_int_equal(m.flags, MS_RDONLY);
  strv_free(m.options);
  m.options = NULL;
  parse_ok(&m);
  assert_null(m.data);
  assert_int_equal(m.flags, 0);
  assert_false(m.tmpcopyup);
  mount_done(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_flag_table),
    cmocka_unit_test(test_propagation_options),
    cmocka_unit_test(test_propagation_parse_invalid),
    cmocka_unit_test(test_last_wins),
    cmocka_unit_test(test_data_options),
    cmocka_unit_test(test_bind),
    cmocka_unit_test(test_special_words),
    cmocka_unit_test(test_no_options),
    cmocka_unit_test(test_empty_option),
    cmocka_unit_test(test_reparse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
