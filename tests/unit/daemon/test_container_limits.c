/*
 * test_container_limits.c — dockerd's create-time checks of the resources
 * and security half of HostConfig (container_limits.c), with its messages,
 * and the spec pieces built there (block I/O throttles, device rules).
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/container_internal.h"

static json_t *J(const char *s) {
  json_error_t je;
  json_t *j = json_loads(s, 0, &je);
  if (!j)
    fail_msg("bad test JSON: %s: %s", s, je.text);
  return j;
}

/* check `hc_text`; expect success (want NULL) or exactly the message `want` */
static void check(const char *hc_text, const char *want) {
  json_t *hc = J(hc_text), *w = json_array();
  struct berr *e = NULL;
  int rc = limits_check_create(NULL, hc, w, &e);
  if (want == NULL) {
    if (rc != 0)
      fail_msg("%s: unexpected error %s", hc_text, e ? e->msg : "?");
  } else {
    assert_true(rc < 0);
    assert_non_null(e);
    assert_string_equal(e->msg, want);
  }
  berr_free(e);
  json_decref(hc);
  json_decref(w);
}

static int ncpus(void) {
  cpu_set_t set;
  sched_getaffinity(0, sizeof(set), &set);
  return CPU_COUNT(&set);
}

static void test_cpu(void **s) {
  (void)s;
  check("{\"NanoCpus\": 1000000000}", NULL);
  char body[64], msg[128];
  int n = ncpus();
  snprintf(body, sizeof body, "{\"NanoCpus\": %lld}", (long long)(n + 1) * 1000000000LL);
  snprintf(msg, sizeof msg,
           "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n);
  check(body, msg);
  check("{\"NanoCpus\": 1000000000, \"CpuQuota\": 5000}",
        "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  check("{\"NanoCpus\": 1000000000, \"CpuPeriod\": 5000}",
        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  check("{\"CpuShares\": -1}", NULL); /* refused at start: spec_build_resources */
  check("{\"CpuPeriod\": 500}", "CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                                "than 1s (i.e. 1000000)");
  check("{\"CpuQuota\": 500}", "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  check("{\"CpuQuota\": -1}", NULL);
  check("{\"CpusetCpus\": \"0\"}", NULL);
  check("{\"CpusetCpus\": \"foo\"}", "Invalid value foo for cpuset cpus: invalid format: foo");
  check("{\"CpusetMems\": \"1-0\"}", "Invalid value 1-0 for cpuset mems: invalid format: 1-0");
  json_t *hc = J("{\"CpusetCpus\": \"4095\"}");
  struct berr *e = NULL;
  assert_true(limits_check_create(NULL, hc, NULL, &e) < 0);
  assert_true(str_has_prefix(e->msg, "Requested CPUs are not available - requested 4095, available: "));
  berr_free(e);
  json_decref(hc);
}

static void test_memory(void **s) {
  (void)s;
  check("{\"MemoryReservation\": 1024}", "Minimum memory reservation allowed is 6MB");
  check("{\"Memory\": 10485760, \"MemoryReservation\": 20971520}",
        "Minimum memory limit can not be less than memory reservation limit, see usage");
  check("{\"KernelMemory\": 1024}", "Minimum kernel memory limit allowed is 6MB");
  check("{\"OomScoreAdj\": 2000}", "Invalid value 2000, range for oom score adj is [-1000, 1000]");
  check("{\"OomScoreAdj\": -1000}", NULL);
  /* warnings, not errors */
  json_t *hc = J("{\"KernelMemory\": 10485760, \"OomKillDisable\": true}"), *w = json_array();
  struct berr *e = NULL;
  assert_int_equal(limits_check_create(NULL, hc, w, &e), 0);
  assert_int_equal(json_array_size(w), 2);
  assert_true(str_has_prefix(json_string_value(json_array_get(w, 0)),
                             "Specifying a kernel memory limit is deprecated"));
  json_decref(hc);
  json_decref(w);
}

static void test_modes_security(void **s) {
  (void)s;
  check("{\"IpcMode\": \"foo\"}", NULL); /* refused at start */
  json_t *lin = json_object(), *hc = J("{\"IpcMode\": \"foo\"}");
  struct berr *e = NULL;
  assert_true(spec_build_resources(hc, lin, &e) < 0);
  assert_string_equal(e->msg, "Invalid IPC mode: foo");
  berr_free(e);
  json_decref(lin);
  json_decref(hc);
  check("{\"IpcMode\": \"shareable\", \"PidMode\": \"host\", \"UTSMode\": \"host\"}", NULL);
  check("{\"Isolation\": \"foo\"}", "Invalid isolation: \"foo\" - linux only supports 'default'");
  check("{\"Isolation\": \"default\"}", NULL);
  check("{\"CgroupnsMode\": \"x\"}", "invalid cgroup namespace mode: x");
  check("{\"CapAdd\": [\"foo\"]}", "invalid CapAdd: unknown capability: \"CAP_FOO\"");
  check("{\"CapDrop\": [\"CAP_BAR\"]}", "invalid CapDrop: unknown capability: \"CAP_BAR\"");
  check("{\"CapAdd\": [\"net_admin\", \"ALL\"], \"CapDrop\": [\"CAP_CHOWN\"]}", NULL);
  check("{\"SecurityOpt\": [\"no-new-privileges=maybe\"]}",
        "invalid --security-opt 2: \"no-new-privileges=maybe\"");
  check("{\"SecurityOpt\": [\"foo\"]}", "invalid --security-opt 1: \"foo\"");
  check("{\"SecurityOpt\": [\"apparmor=x\", \"label=disable\", \"no-new-privileges\", "
        "\"seccomp=unconfined\"]}",
        NULL);
}

static void test_list_and_spec(void **s) {
  (void)s;
  unsigned char bits[16];
  assert_int_equal(limits_parse_list("0-2,5", bits, 128), 0);
  assert_int_equal(bits[0], 0x27);
  assert_int_equal(limits_parse_list("", bits, 128), 0);
  assert_int_equal(limits_parse_list("a", bits, 128), -1);
  assert_int_equal(limits_parse_list("3-1", bits, 128), -1);
  assert_int_equal(limits_parse_list("200", bits, 128), -2);
  /* throttles and device rules in the spec */
  json_t *hc = J("{\"BlkioDeviceReadBps\": [{\"Path\": \"/dev/null\", \"Rate\": 1048576}],"
                 "\"DeviceCgroupRules\": [\"c 1:3 rwm\", \"a *:* r\"]}");
  json_t *lin = json_object();
  struct berr *e = NULL;
  assert_int_equal(spec_build_resources(hc, lin, &e), 0);
  json_t *res = json_object_get(lin, "resources");
  json_t *t = json_object_get(json_object_get(res, "blockIO"), "throttleReadBpsDevice");
  assert_int_equal(json_array_size(t), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(t, 0), "major")), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(t, 0), "minor")), 3);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(t, 0), "rate")), 1048576);
  json_t *rules = json_object_get(res, "devices");
  assert_int_equal(json_array_size(rules), 3); /* deny-all first */
  json_t *r1 = json_array_get(rules, 1), *r2 = json_array_get(rules, 2);
  assert_string_equal(json_string_value(json_object_get(r1, "type")), "c");
  assert_int_equal(json_integer_value(json_object_get(r1, "minor")), 3);
  assert_string_equal(json_string_value(json_object_get(r2, "type")), "a");
  assert_null(json_object_get(r2, "major"));
  assert_string_equal(json_string_value(json_object_get(r2, "access")), "r");
  json_decref(lin);
  json_decref(hc);
  /* a missing device: an error naming it, nothing returned */
  hc = J("{\"BlkioDeviceWriteIOps\": [{\"Path\": \"/dev/berth-nonexistent\", \"Rate\": 5}]}");
  lin = json_object();
  assert_true(spec_build_resources(hc, lin, &e) < 0);
  assert_non_null(strstr(e->msg, "/dev/berth-nonexistent"));
  assert_null(json_object_get(lin, "resources"));
  berr_free(e);
  json_decref(lin);
  json_decref(hc);
}

static void test_default_seccomp(void **s) {
  (void)s;
  json_t *p = seccomp_default_profile();
  assert_non_null(p);
  assert_string_equal(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
  assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), 1);
  json_t *calls = json_object_get(p, "syscalls");
  assert_int_equal(json_array_size(calls), 33);
  size_t names = 0, i;
  json_t *r;
  json_array_foreach(calls, i, r) names += json_array_size(json_object_get(r, "names"));
  assert_int_equal(names, 442); /* as many names as Docker's profile */
  /* clone: allowed without CAP_SYS_ADMIN only for flags outside the namespace mask */
  json_t *caps = J("[\"CAP_CHOWN\"]"), *oci = NULL;
  struct berr *e = NULL;
  assert_int_equal(spec_seccomp_convert(p, caps, &oci, &e), 0);
  bool clone_masked = false, has_unshare = false, clone3_enosys = false;
  json_array_foreach(json_object_get(oci, "syscalls"), i, r) {
    size_t j;
    json_t *n;
    json_array_foreach(json_object_get(r, "names"), j, n) {
      const char *nm = json_string_value(n);
      json_t *a0 = json_array_get(json_object_get(r, "args"), 0);
      if (strcmp(nm, "clone") == 0 && a0 &&
          strcmp(json_string_value(json_object_get(a0, "op")), "SCMP_CMP_MASKED_EQ") == 0 &&
          json_integer_value(json_object_get(a0, "value")) == 2114060288)
        clone_masked = true;
      has_unshare = has_unshare || strcmp(nm, "unshare") == 0;
      if (strcmp(nm, "clone3") == 0 && json_integer_value(json_object_get(r, "errnoRet")) == 38)
        clone3_enosys = true;
    }
  }
  assert_true(clone_masked);
  assert_false(has_unshare); /* a CAP_SYS_ADMIN rule */
  assert_true(clone3_enosys);
  json_decref(oci);
  json_decref(caps);
  json_decref(p);
  /* the format's errors name the line */
  assert_true(seccomp_profile_parse("default errno 1\nallow bogus :\n  read\n", &p, &e) < 0);
  assert_string_equal(e->msg, "seccomp profile line 2: unknown word \"bogus\"");
  berr_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cpu),
      cmocka_unit_test(test_memory),
      cmocka_unit_test(test_modes_security),
      cmocka_unit_test(test_list_and_spec),
      cmocka_unit_test(test_default_seccomp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
