/*
 * test_container_spec.c — Docker config → OCI spec: the image merge rules,
 * HostConfig checks, capabilities, user lookup in the rootfs, mounts,
 * resources, seccomp includes/excludes, --privileged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "daemon/container_internal.h"

static json_t *J(const char *s) {
  json_error_t je;
  json_t *j = json_loads(s, 0, &je);
  if (!j)
    fail_msg("bad test JSON: %s: %s", s, je.text);
  return j;
}

static const char *str_at(const json_t *a, size_t i) {
  return json_string_value(json_array_get(a, i));
}

static bool arr_has(const json_t *a, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (json_string_value(v) && strcmp(json_string_value(v), s) == 0)
      return true;
  return false;
}

static void test_merge_entrypoint_resets_cmd(void **state) {
  (void)state;
  _cleanup_json_ json_t *img =
      J("{\"Cmd\":[\"sh\"],\"Entrypoint\":[\"/ep\"],\"Env\":[\"PATH=/x\",\"A=img\"],"
        "\"WorkingDir\":\"/w\",\"Labels\":{\"a\":\"1\",\"b\":\"2\"},\"StopSignal\":\"SIGQUIT\"}");
  _cleanup_json_ json_t *cfg =
      J("{\"Entrypoint\":[\"/mine\"],\"Env\":[\"A=user\"],\"Labels\":{\"b\":\"3\"}}");
  spec_merge_image(cfg, img);
  assert_null(json_object_get(cfg, "Cmd"));
  assert_string_equal(str_at(json_object_get(cfg, "Entrypoint"), 0), "/mine");
  json_t *env = json_object_get(cfg, "Env");
  assert_int_equal(json_array_size(env), 2);
  assert_string_equal(str_at(env, 0), "A=user");
  assert_string_equal(str_at(env, 1), "PATH=/x");
  assert_string_equal(json_string_value(json_object_get(cfg, "WorkingDir")), "/w");
  assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "Labels"), "a")), "1");
  assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "Labels"), "b")), "3");
  assert_string_equal(json_string_value(json_object_get(cfg, "StopSignal")), "SIGQUIT");
}

static void test_merge_cmd_keeps_entrypoint(void **state) {
  (void)state;
  _cleanup_json_ json_t *img = J("{\"Cmd\":[\"sh\"],\"Entrypoint\":[\"/ep\"]}");
  _cleanup_json_ json_t *cfg = J("{\"Cmd\":[\"echo\",\"hi\"]}");
  spec_merge_image(cfg, img);
  assert_string_equal(str_at(json_object_get(cfg, "Entrypoint"), 0), "/ep");
  assert_string_equal(str_at(json_object_get(cfg, "Cmd"), 0), "echo");
  _cleanup_json_ json_t *cfg2 = J("{}");
  spec_merge_image(cfg2, img);
  assert_string_equal(str_at(json_object_get(cfg2, "Cmd"), 0), "sh");
}

static void test_hostconfig_checks(void **state) {
  (void)state;
  struct berr *e = NULL;
  _cleanup_json_ json_t *hc = J("{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"always\"}}");
  assert_int_equal(spec_hostconfig_check(hc, &e), -EINVAL);
  assert_non_null(strstr(e->msg, "AutoRemove"));
  berr_free(e);
  e = NULL;
  _cleanup_json_ json_t *hc2 = J("{\"Memory\":1024}");
  assert_int_equal(spec_hostconfig_check(hc2, &e), -EINVAL);
  assert_string_equal(e->msg, "Minimum memory limit allowed is 6MB");
  berr_free(e);
  e = NULL;
  _cleanup_json_ json_t *hc3 = J("{}");
  assert_int_equal(spec_hostconfig_check(hc3, &e), 0);
  assert_string_equal(json_string_value(json_object_get(hc3, "NetworkMode")), "default");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(hc3, "RestartPolicy"), "Name")), "no");
  assert_int_equal(json_integer_value(json_object_get(hc3, "ShmSize")), 64 * 1024 * 1024);
}

static void test_capabilities(void **state) {
  (void)state;
  struct berr *e = NULL;
  _cleanup_json_ json_t *hc = J("{\"CapAdd\":[\"net_admin\"],\"CapDrop\":[\"CAP_CHOWN\",\"MKNOD\"]}");
  _cleanup_json_ json_t *caps = NULL;
  assert_int_equal(spec_capabilities(hc, &caps, &e), 0);
  assert_true(arr_has(caps, "CAP_NET_ADMIN"));
  assert_false(arr_has(caps, "CAP_CHOWN"));
  assert_false(arr_has(caps, "CAP_MKNOD"));
  assert_true(arr_has(caps, "CAP_KILL"));
  assert_int_equal(json_array_size(caps), 13);
  _cleanup_json_ json_t *bad = J("{\"CapAdd\":[\"NOPE\"]}");
  _cleanup_json_ json_t *c2 = NULL;
  assert_int_equal(spec_capabilities(bad, &c2, &e), -EINVAL);
  berr_free(e);
  e = NULL;
  _cleanup_json_ json_t *all = J("{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"KILL\"]}");
  _cleanup_json_ json_t *c3 = NULL;
  assert_int_equal(spec_capabilities(all, &c3, &e), 0);
  assert_int_equal(json_array_size(c3), 1);
}

/* a rootfs with /etc/passwd and /etc/group */
static char *make_rootfs(void) {
  char tmpl[] = "/tmp/berth-spec-test-XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  char *root = xstrdup(d);
  char *etc = xasprintf("%s/etc", root);
  mkdir(etc, 0755);
  char *p = xasprintf("%s/passwd", etc);
  const char *pw = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:44:web:/var/www:/bin/false\n";
  assert_int_equal(write_file_atomic(p, pw, strlen(pw), 0644, NULL), 0);
  free(p);
  p = xasprintf("%s/group", etc);
  const char *gr = "root:x:0:\nwww:x:44:\nstaff:x:50:www,bob\n";
  assert_int_equal(write_file_atomic(p, gr, strlen(gr), 0644, NULL), 0);
  free(p);
  free(etc);
  return root;
}

static json_t *build(const char *cfg_s, const char *hc_s, const char *rootfs, struct berr **e,
                     int *rc) {
  _cleanup_json_ json_t *cfg = J(cfg_s);
  _cleanup_json_ json_t *hc = J(hc_s);
  struct spec_input in = {.id = "abc", .config = cfg, .host_config = hc, .rootfs = rootfs,
                          .root_dir = "/data/c/abc", .cgroup_parent = "/berth-test"};
  json_t *spec = NULL;
  *rc = spec_build(&in, &spec, e);
  return spec;
}

static void test_spec_basic(void **state) {
  (void)state;
  _cleanup_free_ char *root = make_rootfs();
  struct berr *e = NULL;
  int rc;
  _cleanup_json_ json_t *spec =
      build("{\"Hostname\":\"h1\",\"Cmd\":[\"echo\",\"hi\"],\"Env\":[\"X=1\"],\"User\":\"www\","
            "\"WorkingDir\":\"/srv\",\"Tty\":true}",
            "{\"Memory\":67108864,\"PidsLimit\":10,\"NanoCpus\":1500000000,"
            "\"Binds\":[\"/tmp:/host:ro\"],\"ReadonlyRootfs\":true,\"GroupAdd\":[\"99\"]}",
            root, &e, &rc);
  assert_int_equal(rc, 0);
  json_t *proc = json_object_get(spec, "process");
  assert_string_equal(str_at(json_object_get(proc, "args"), 1), "hi");
  assert_string_equal(json_string_value(json_object_get(proc, "cwd")), "/srv");
  json_t *env = json_object_get(proc, "env");
  assert_true(str_has_prefix(str_at(env, 0), "PATH=/usr/local/sbin"));
  assert_string_equal(str_at(env, 1), "HOSTNAME=h1");
  assert_string_equal(str_at(env, 2), "TERM=xterm");
  assert_string_equal(str_at(env, 3), "X=1");
  assert_true(arr_has(env, "HOME=/var/www"));
  json_t *user = json_object_get(proc, "user");
  assert_int_equal(json_integer_value(json_object_get(user, "uid")), 33);
  assert_int_equal(json_integer_value(json_object_get(user, "gid")), 44);
  json_t *gids = json_object_get(user, "additionalGids");
  assert_int_equal(json_array_size(gids), 2);
  assert_int_equal(json_integer_value(json_array_get(gids, 0)), 50);
  assert_int_equal(json_integer_value(json_array_get(gids, 1)), 99);
  assert_string_equal(json_string_value(json_object_get(spec, "hostname")), "h1");
  assert_true(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")));
  json_t *lin = json_object_get(spec, "linux");
  assert_string_equal(json_string_value(json_object_get(lin, "cgroupsPath")), "/berth-test/abc");
  json_t *res = json_object_get(lin, "resources");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")),
                   67108864);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")), 10);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")),
                   150000);
  assert_true(arr_has(json_object_get(lin, "maskedPaths"), "/proc/kcore"));
  /* mounts: the defaults, then the bind, ro */
  json_t *mounts = json_object_get(spec, "mounts");
  size_t i;
  json_t *m;
  bool saw_bind = false, saw_shm = false, saw_resolv = false;
  json_array_foreach(mounts, i, m) {
    const char *dst = json_string_value(json_object_get(m, "destination"));
    if (strcmp(dst, "/host") == 0) {
      saw_bind = true;
      assert_true(arr_has(json_object_get(m, "options"), "ro"));
      assert_string_equal(json_string_value(json_object_get(m, "source")), "/tmp");
    }
    if (strcmp(dst, "/dev/shm") == 0) {
      saw_shm = true;
      assert_true(arr_has(json_object_get(m, "options"), "size=67108864"));
    }
    if (strcmp(dst, "/etc/resolv.conf") == 0) {
      saw_resolv = true;
      assert_string_equal(json_string_value(json_object_get(m, "source")),
                          "/data/c/abc/resolv.conf");
    }
  }
  assert_true(saw_bind && saw_shm && saw_resolv);
  /* namespaces: a new network namespace for the default network mode */
  bool net = false;
  json_array_foreach(json_object_get(lin, "namespaces"), i, m) {
    if (strcmp(json_string_value(json_object_get(m, "type")), "network") == 0)
      net = true;
  }
  assert_true(net);
  rm_rf(root, NULL);
}

static void test_spec_errors(void **state) {
  (void)state;
  _cleanup_free_ char *root = make_rootfs();
  struct berr *e = NULL;
  int rc;
  json_t *s = build("{\"Cmd\":[\"x\"],\"User\":\"nobody2\"}", "{}", root, &e, &rc);
  assert_null(s);
  assert_int_equal(rc, -EINVAL);
  assert_string_equal(e->msg, "unable to find user nobody2: no matching entries in passwd file");
  berr_free(e);
  e = NULL;
  s = build("{}", "{}", root, &e, &rc);
  assert_int_equal(rc, -EINVAL);
  assert_string_equal(e->msg, "No command specified");
  berr_free(e);
  e = NULL;
  s = build("{\"Cmd\":[\"x\"]}", "{\"Binds\":[\"vol:/data\"]}", root, &e, &rc);
  assert_int_equal(rc, -ENOTSUP);
  berr_free(e);
  rm_rf(root, NULL);
}

static void test_spec_host_and_privileged(void **state) {
  (void)state;
  _cleanup_free_ char *root = make_rootfs();
  struct berr *e = NULL;
  int rc;
  _cleanup_json_ json_t *spec = build("{\"Cmd\":[\"x\"],\"User\":\"1000:1000\"}",
                                      "{\"NetworkMode\":\"host\",\"Privileged\":true}", root, &e,
                                      &rc);
  assert_int_equal(rc, 0);
  json_t *lin = json_object_get(spec, "linux");
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(lin, "namespaces"), i, m) {
    assert_string_not_equal(json_string_value(json_object_get(m, "type")), "network");
  }
  assert_null(json_object_get(lin, "maskedPaths"));
  json_t *caps = json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"),
                                 "bounding");
  assert_true(arr_has(caps, "CAP_SYS_ADMIN"));
  json_t *user = json_object_get(json_object_get(spec, "process"), "user");
  assert_int_equal(json_integer_value(json_object_get(user, "uid")), 1000);
  assert_int_equal(json_integer_value(json_object_get(user, "gid")), 1000);
  rm_rf(root, NULL);
}

static void test_seccomp_includes(void **state) {
  (void)state;
  _cleanup_json_ json_t *prof = J(
      "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
      "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\"]},"
      "{\"architecture\":\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],"
      "\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
      "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
      "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
      "{\"names\":[\"nope\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"s390x\"]}}]}");
  _cleanup_json_ json_t *caps = J("[\"CAP_KILL\"]");
  _cleanup_json_ json_t *out = NULL;
  struct berr *e = NULL;
  assert_int_equal(spec_seccomp_convert(prof, caps, &out, &e), 0);
  json_t *calls = json_object_get(out, "syscalls");
  assert_int_equal(json_array_size(calls), 2);
  assert_string_equal(str_at(json_object_get(json_array_get(calls, 0), "names"), 0), "read");
  assert_string_equal(str_at(json_object_get(json_array_get(calls, 1), "names"), 0), "clone");
  assert_int_equal(json_integer_value(json_object_get(out, "defaultErrnoRet")), 1);
#if defined(__x86_64__)
  json_t *arch = json_object_get(out, "architectures");
  assert_int_equal(json_array_size(arch), 2);
  assert_string_equal(str_at(arch, 0), "SCMP_ARCH_X86_64");
#endif
  _cleanup_json_ json_t *admin = J("[\"CAP_SYS_ADMIN\"]");
  _cleanup_json_ json_t *out2 = NULL;
  assert_int_equal(spec_seccomp_convert(prof, admin, &out2, &e), 0);
  calls = json_object_get(out2, "syscalls");
  assert_int_equal(json_array_size(calls), 2);
  assert_string_equal(str_at(json_object_get(json_array_get(calls, 1), "names"), 0), "mount");
}

static void test_etc_files(void **state) {
  (void)state;
  _cleanup_json_ json_t *cfg = J("{\"Hostname\":\"box\"}");
  _cleanup_json_ json_t *hc = J("{\"ExtraHosts\":[\"db:10.0.0.2\"],\"DnsSearch\":[\"example\"]}");
  _cleanup_free_ char *hn = NULL, *hosts = NULL, *resolv = NULL;
  spec_etc_files(cfg, hc, "nameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch lan\n", &hn, &hosts,
                 &resolv);
  assert_string_equal(hn, "box\n");
  assert_non_null(strstr(hosts, "10.0.0.2\tdb\n"));
  assert_null(strstr(resolv, "127.0.0.53"));
  assert_non_null(strstr(resolv, "nameserver 10.1.1.1\n"));
  assert_non_null(strstr(resolv, "search example\n"));
  assert_null(strstr(resolv, "search lan"));
}

static void test_detach_keys(void **state) {
  (void)state;
  unsigned char k[16];
  size_t n = 0;
  struct berr *e = NULL;
  assert_int_equal(attach_parse_keys("ctrl-p,ctrl-q", k, sizeof(k), &n, &e), 0);
  assert_int_equal(n, 2);
  assert_int_equal(k[0], 16);
  assert_int_equal(k[1], 17);
  assert_int_equal(attach_parse_keys("a,ctrl-@,ctrl-[", k, sizeof(k), &n, &e), 0);
  assert_int_equal(n, 3);
  assert_int_equal(k[0], 'a');
  assert_int_equal(k[1], 0);
  assert_int_equal(k[2], 27);
  assert_int_equal(attach_parse_keys("ctrl-1", k, sizeof(k), &n, &e), -EINVAL);
  assert_string_equal(e->msg, "Invalid escape keys (ctrl-1) provided");
  berr_free(e);
}

static void test_human_duration(void **state) {
  (void)state;
  const struct {
    int64_t s;
    const char *want;
  } cases[] = {{0, "Less than a second"}, {1, "1 second"}, {45, "45 seconds"},
               {61, "About a minute"},    {300, "5 minutes"}, {3600, "About an hour"},
               {7200, "2 hours"},         {3 * 86400, "3 days"}, {20 * 86400, "2 weeks"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *s = human_duration(cases[i].s);
    assert_string_equal(s, cases[i].want);
    free(s);
  }
}

static void test_name_check(void **state) {
  (void)state;
  struct berr *e = NULL;
  assert_int_equal(ctr_name_check("web-1", &e), 0);
  assert_int_equal(ctr_name_check("/web_1.a", &e), 0);
  assert_int_equal(ctr_name_check("a", &e), -EINVAL);
  berr_free(e);
  e = NULL;
  assert_int_equal(ctr_name_check("-bad", &e), -EINVAL);
  assert_string_equal(e->msg,
                      "Invalid container name (-bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  berr_free(e);
}

/* --init: berth-init bound read-only at /sbin/docker-init runs the command. */
static void test_spec_init(void **state) {
  (void)state;
  _cleanup_free_ char *root = make_rootfs();
  _cleanup_json_ json_t *cfg = J("{\"Cmd\":[\"sleep\",\"9\"]}");
  _cleanup_json_ json_t *hc = J("{\"Init\":true}");
  struct spec_input in = {.id = "abc", .config = cfg, .host_config = hc, .rootfs = root,
                          .root_dir = "/data/c/abc", .cgroup_parent = "/berth-test",
                          .init_path = "/opt/berth/berth-init"};
  _cleanup_json_ json_t *spec = NULL;
  struct berr *e = NULL;
  assert_int_equal(spec_build(&in, &spec, &e), 0);
  json_t *args = json_object_get(json_object_get(spec, "process"), "args");
  assert_int_equal(json_array_size(args), 4);
  assert_string_equal(str_at(args, 0), "/sbin/docker-init");
  assert_string_equal(str_at(args, 1), "--");
  assert_string_equal(str_at(args, 2), "sleep");
  bool found = false;
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(spec, "mounts"), i, m) {
    if (strcmp(json_string_value(json_object_get(m, "destination")), "/sbin/docker-init"))
      continue;
    found = true;
    assert_string_equal(json_string_value(json_object_get(m, "source")), "/opt/berth/berth-init");
    assert_true(arr_has(json_object_get(m, "options"), "ro"));
  }
  assert_true(found);
}

/* The record keeps what a restarted berthd needs: state, exit, restart
 * history, the user's stop, health. */
static void test_record_roundtrip(void **state) {
  (void)state;
  struct daemon d;
  memset(&d, 0, sizeof(d));
  d.cfg.data_root = "/data";
  d.cfg.exec_root = "/run/x";
  struct container *c = ctr_alloc();
  memset(c->id, 'a', 64);
  c->id[64] = '\0';
  c->name = xstrdup("web");
  c->config = J("{\"Image\":\"busybox\"}");
  c->host_config = J("{\"RestartPolicy\":{\"Name\":\"always\"}}");
  c->created = xstrdup("2024-01-02T03:04:05.5Z");
  c->args = json_array();
  c->state = CTR_RESTARTING;
  c->exit_code = 7;
  c->restart_count = 3;
  c->manually_stopped = true;
  free(c->finished_at);
  c->finished_at = xstrdup("2024-01-02T03:04:09.25Z");
  c->health = J("{\"Status\":\"unhealthy\",\"FailingStreak\":4,\"Log\":[]}");
  _cleanup_json_ json_t *doc = ctr_to_record(c);
  struct container *back = NULL;
  struct berr *e = NULL;
  assert_int_equal(ctr_from_record(&d, doc, &back, &e), 0);
  assert_string_equal(back->id, c->id);
  assert_string_equal(back->name, "web");
  assert_int_equal(back->state, CTR_RESTARTING);
  assert_int_equal(back->exit_code, 7);
  assert_int_equal(back->restart_count, 3);
  assert_true(back->manually_stopped);
  assert_string_equal(back->finished_at, "2024-01-02T03:04:09.25Z");
  assert_string_equal(json_string_value(json_object_get(back->health, "Status")), "unhealthy");
  assert_int_equal(json_integer_value(json_object_get(back->health, "FailingStreak")), 4);
  _cleanup_free_ char *want = xasprintf("/run/x/containers/%s", c->id);
  assert_string_equal(back->run_dir, want);
  assert_int_equal(ctr_parse_time(back->finished_at) - ctr_parse_time(c->created),
                   3750000000LL);
  ctr_put(back);
  ctr_put(c);
  /* a record without a State is refused, not half-loaded */
  _cleanup_json_ json_t *bad = J("{\"Id\":\"x\",\"Name\":\"y\"}");
  assert_int_equal(ctr_from_record(&d, bad, &back, &e), -EINVAL);
  berr_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_merge_entrypoint_resets_cmd),
      cmocka_unit_test(test_merge_cmd_keeps_entrypoint),
      cmocka_unit_test(test_hostconfig_checks),
      cmocka_unit_test(test_capabilities),
      cmocka_unit_test(test_spec_basic),
      cmocka_unit_test(test_spec_errors),
      cmocka_unit_test(test_spec_host_and_privileged),
      cmocka_unit_test(test_seccomp_includes),
      cmocka_unit_test(test_etc_files),
      cmocka_unit_test(test_detach_keys),
      cmocka_unit_test(test_human_duration),
      cmocka_unit_test(test_name_check),
      cmocka_unit_test(test_spec_init),
      cmocka_unit_test(test_record_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
