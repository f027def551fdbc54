/* test_run_resources.c — the value parsers of the run/create resources
 * group (run_resources.c): docker CLI's accepted forms and its error texts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cli/run.h"

/* the error text of a failing parse (freed by the caller) */
static void expect_err(struct berr *e, const char *want) {
  assert_non_null(e);
  assert_string_equal(e->msg, want);
  berr_free(e);
}

static void test_ulimit(void **s) {
  (void)s;
  json_t *o = NULL;
  struct berr *e = NULL;
  assert_int_equal(run_parse_ulimit("nofile=100:200", &o, &e), 0);
  assert_string_equal(json_string_value(json_object_get(o, "Name")), "nofile");
  assert_int_equal(json_integer_value(json_object_get(o, "Soft")), 100);
  assert_int_equal(json_integer_value(json_object_get(o, "Hard")), 200);
  json_decref(o);
  assert_int_equal(run_parse_ulimit("nproc=7", &o, &e), 0);
  assert_int_equal(json_integer_value(json_object_get(o, "Hard")), 7);
  json_decref(o);
  assert_int_equal(run_parse_ulimit("nofile", &o, &e), -EINVAL);
  expect_err(e, "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile");
  e = NULL;
  assert_true(run_parse_ulimit("foo=1", &o, &e) < 0);
  expect_err(e, "invalid argument \"foo=1\" for \"--ulimit\" flag: invalid ulimit type: foo");
  e = NULL;
  assert_true(run_parse_ulimit("nofile=x", &o, &e) < 0);
  expect_err(e, "invalid argument \"nofile=x\" for \"--ulimit\" flag: strconv.ParseInt: parsing "
                "\"x\": invalid syntax");
  e = NULL;
  assert_true(run_parse_ulimit("nofile=20:10", &o, &e) < 0);
  expect_err(e, "invalid argument \"nofile=20:10\" for \"--ulimit\" flag: ulimit soft limit must "
                "be less than or equal to hard limit: 20 > 10");
}

static void test_throttle(void **s) {
  (void)s;
  json_t *o = NULL;
  struct berr *e = NULL;
  assert_int_equal(run_parse_throttle("--device-read-bps", "/dev/sda:1mb", false, &o, &e), 0);
  assert_string_equal(json_string_value(json_object_get(o, "Path")), "/dev/sda");
  assert_int_equal(json_integer_value(json_object_get(o, "Rate")), 1048576);
  json_decref(o);
  assert_int_equal(run_parse_throttle("--device-write-iops", "/dev/sda:300", true, &o, &e), 0);
  assert_int_equal(json_integer_value(json_object_get(o, "Rate")), 300);
  json_decref(o);
  assert_true(run_parse_throttle("--device-read-bps", "/dev/sda", false, &o, &e) < 0);
  expect_err(e, "invalid argument \"/dev/sda\" for \"--device-read-bps\" flag: bad format: /dev/sda");
  e = NULL;
  assert_true(run_parse_throttle("--device-read-bps", "sda:1", false, &o, &e) < 0);
  expect_err(e, "invalid argument \"sda:1\" for \"--device-read-bps\" flag: bad format for device "
                "path: sda:1");
  e = NULL;
  assert_true(run_parse_throttle("--device-write-iops", "/dev/sda:1k", true, &o, &e) < 0);
  expect_err(e, "invalid argument \"/dev/sda:1k\" for \"--device-write-iops\" flag: invalid rate "
                "for device: /dev/sda:1k. The correct format is <device-path>:<number>. Number "
                "must be a positive integer");
  e = NULL;
  assert_true(run_parse_throttle("--device-read-bps", "/dev/sda:1x", false, &o, &e) < 0);
  expect_err(e, "invalid argument \"/dev/sda:1x\" for \"--device-read-bps\" flag: invalid rate "
                "for device: /dev/sda:1x. The correct format is <device-path>:<number>[<unit>]. "
                "Number must be a positive integer. Unit is optional and can be kb, mb, or gb");
}

static void test_weight_device(void **s) {
  (void)s;
  json_t *o = NULL;
  struct berr *e = NULL;
  assert_int_equal(run_parse_weight_device("/dev/vda:300", &o, &e), 0);
  assert_int_equal(json_integer_value(json_object_get(o, "Weight")), 300);
  json_decref(o);
  assert_true(run_parse_weight_device("/dev/sda:5", &o, &e) < 0);
  expect_err(e, "invalid argument \"/dev/sda:5\" for \"--blkio-weight-device\" flag: invalid "
                "weight for device: /dev/sda:5");
}

static void test_sysctl_rule(void **s) {
  (void)s;
  struct berr *e = NULL;
  assert_int_equal(run_check_sysctl("kernel.shmmax=1", &e), 0);
  assert_int_equal(run_check_sysctl("net.ipv4.ip_forward=1", &e), 0);
  assert_int_equal(run_check_sysctl("fs.mqueue.msg_max=20", &e), 0);
  assert_true(run_check_sysctl("kernel.domainname=x", &e) < 0);
  expect_err(e, "invalid argument \"kernel.domainname=x\" for \"--sysctl\" flag: sysctl "
                "'kernel.domainname=x' is not allowed");
  e = NULL;
  assert_true(run_check_sysctl("net.core", &e) < 0);
  berr_free(e);
  e = NULL;
  assert_int_equal(run_check_cgroup_rule("c 1:3 rwm", &e), 0);
  assert_int_equal(run_check_cgroup_rule("a *:* r", &e), 0);
  assert_int_equal(run_check_cgroup_rule("b 8:* mw", &e), 0);
  assert_true(run_check_cgroup_rule("foo", &e) < 0);
  expect_err(e, "invalid argument \"foo\" for \"--device-cgroup-rule\" flag: invalid device "
                "cgroup format 'foo'");
  e = NULL;
  assert_true(run_check_cgroup_rule("c 1:3 rwmx", &e) < 0);
  berr_free(e);
}

static void test_device(void **s) {
  (void)s;
  json_t *o = NULL;
  struct berr *e = NULL;
  assert_int_equal(run_parse_device("/dev/null", &o, &e), 0);
  assert_string_equal(json_string_value(json_object_get(o, "PathInContainer")), "/dev/null");
  assert_string_equal(json_string_value(json_object_get(o, "CgroupPermissions")), "rwm");
  json_decref(o);
  assert_int_equal(run_parse_device("/dev/null:r", &o, &e), 0);
  assert_string_equal(json_string_value(json_object_get(o, "PathInContainer")), "/dev/null");
  assert_string_equal(json_string_value(json_object_get(o, "CgroupPermissions")), "r");
  json_decref(o);
  assert_int_equal(run_parse_device("/dev/null:/dev/x:rw", &o, &e), 0);
  assert_string_equal(json_string_value(json_object_get(o, "PathInContainer")), "/dev/x");
  json_decref(o);
  assert_true(run_parse_device("/dev/null:/dev/x:rwq", &o, &e) < 0);
  expect_err(e, "bad mode specified: rwq");
  e = NULL;
  assert_true(run_parse_device("/dev/null:x", &o, &e) < 0);
  expect_err(e, "x is not an absolute path");
}

static void test_security_opt_swap(void **s) {
  (void)s;
  char *o = NULL;
  struct berr *e = NULL;
  assert_int_equal(run_security_opt("no-new-privileges", &o, &e), 0);
  assert_string_equal(o, "no-new-privileges");
  free(o);
  assert_int_equal(run_security_opt("seccomp=unconfined", &o, &e), 0);
  free(o);
  assert_true(run_security_opt("foo", &o, &e) < 0);
  expect_err(e, "Invalid --security-opt: \"foo\"");
  e = NULL;
  assert_true(run_security_opt("seccomp=/nonexistent/x.json", &o, &e) < 0);
  expect_err(e, "opening seccomp profile (/nonexistent/x.json) failed: open /nonexistent/x.json: "
                "no such file or directory");
  e = NULL;
  int64_t v = 0;
  assert_int_equal(run_parse_memory_swap("-1", &v, &e), 0);
  assert_int_equal(v, -1);
  assert_int_equal(run_parse_memory_swap("1g", &v, &e), 0);
  assert_int_equal(v, 1024LL * 1024 * 1024);
  assert_true(run_parse_memory_swap("1x", &v, &e) < 0);
  expect_err(e, "invalid argument \"1x\" for \"--memory-swap\" flag: invalid suffix: 'x'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ulimit),       cmocka_unit_test(test_throttle),
      cmocka_unit_test(test_weight_device), cmocka_unit_test(test_sysctl_rule),
      cmocka_unit_test(test_device),       cmocka_unit_test(test_security_opt_swap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
