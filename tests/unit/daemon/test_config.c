/*
 * test_config.c — daemon.json + flags (config.c): defaults, unknown keys,
 * flag/file conflicts, wrong types, log-opts, runtimes, reload.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/daemon.h"

static char dir[64];

static int setup(void **state) {
  strcpy(dir, "/tmp/berth-test-config-XXXXXX");
  assert_non_null(mkdtemp(dir));
  return 0;
}

static int teardown(void **state) {
  rm_rf(dir, NULL);
  return 0;
}

/* Write daemon.json with `content`; returns its path (static buffer). */
static const char *write_json(const char *content) {
  static char path[128];
  snprintf(path, sizeof(path), "%s/daemon.json", dir);
  assert_int_equal(write_file_atomic(path, content, strlen(content), 0644, NULL), 0);
  return path;
}

/* config_build; returns rc, *msg the error (caller frees) */
static int build(struct daemon_config *c, const char *file, bool required, const char *flags,
                 char **msg) {
  _cleanup_json_ json_t *fl = flags ? json_loads(flags, 0, NULL) : NULL;
  _cleanup_berr_ struct berr *err = NULL;
  memset(c, 0, sizeof(*c));
  int rc = config_build(c, file, required, fl, &err);
  if (msg)
    *msg = err ? xstrdup(err->msg) : NULL;
  return rc;
}

static void test_defaults(void **state) {
  struct daemon_config c;
  _cleanup_free_ char *absent = xasprintf("%s/absent.json", dir);
  assert_int_equal(build(&c, absent, false, NULL, NULL), 0);
  assert_string_equal(c.data_root, "/var/lib/berth");
  assert_string_equal(c.exec_root, "/run/berth");
  assert_string_equal(c.pidfile, "/run/berth/berthd.pid");
  assert_string_equal(c.hosts[0], "unix:///run/berth/berth.sock");
  assert_null(c.hosts[1]);
  assert_string_equal(c.group, "berth");
  assert_string_equal(c.default_runtime, "berth-runc");
  assert_string_equal(c.cgroup_parent, "/berth");
  assert_string_equal(c.log_driver, "json-file");
  assert_true(c.userland_proxy);
  assert_true(c.iptables);
  assert_false(c.debug);
  config_free(&c);
  /* an explicit --config-file must exist */
  _cleanup_free_ char *msg = NULL;
  assert_int_equal(build(&c, absent, true, NULL, &msg), -ENOENT);
  assert_non_null(strstr(msg, "unable to configure the berth daemon with file"));
  config_free(&c);
}

static void test_file_and_flags(void **state) {
  struct daemon_config c;
  const char *f = write_json("{\"data-root\":\"/srv/b\",\"debug\":true,\"log-opts\":{\"max-size\":"
                             "\"10m\",\"max-file\":\"3\"},\"insecure-registries\":[\"r:5000\"],"
                             "\"runtimes\":{\"crun\":{\"path\":\"/usr/bin/crun\"}},"
                             "\"default-runtime\":\"crun\",\"features\":{\"buildkit\":true}}");
  assert_int_equal(build(&c, f, true, "{\"exec-root\":\"/tmp/x\",\"hosts\":[\"tcp://127.0.0.1:1\"]}",
                         NULL), 0);
  assert_string_equal(c.data_root, "/srv/b");
  assert_string_equal(c.exec_root, "/tmp/x");
  assert_string_equal(c.pidfile, "/tmp/x/berthd.pid");
  assert_string_equal(c.hosts[0], "tcp://127.0.0.1:1");
  assert_true(c.debug);
  assert_string_equal(c.insecure_registries[0], "r:5000");
  assert_string_equal(config_runtime_path(&c, "crun"), "/usr/bin/crun");
  assert_null(config_runtime_path(&c, "nope"));
  assert_string_equal(json_string_value(json_object_get(c.log_opts, "max-size")), "10m");
  assert_non_null(c.cmdline);
  config_free(&c);
}

static void expect_error(const char *json, const char *flags, const char *want) {
  struct daemon_config c;
  _cleanup_free_ char *msg = NULL;
  assert_true(build(&c, write_json(json), true, flags, &msg) < 0);
  if (strstr(msg, want) == NULL)
    fail_msg("error \"%s\" does not contain \"%s\"", msg, want);
  config_free(&c);
}

static void test_errors(void **state) {
  expect_error("{\"bogus\":1,\"debug\":true,\"other\":2}", NULL,
               "the following directives don't match any configuration option: bogus, other");
  expect_error("{\"shim-path\":\"/x\"}", NULL, "don't match any configuration option: shim-path");
  expect_error("{\"debug\":true,\"hosts\":[\"unix:///a\"]}",
               "{\"debug\":false,\"hosts\":[\"unix:///b\"]}",
               "the following directives are specified both as a flag and in the configuration "
               "file: debug: (from flag: false, from file: true), hosts: (from flag: [unix:///b], "
               "from file: [unix:///a])");
  expect_error("{\"debug\":\"yes\"}", NULL, "debug must be a boolean, not a string");
  expect_error("{\"hosts\":\"unix:///x\"}", NULL, "hosts must be a list of strings");
  expect_error("{\"log-opts\":{\"max-size\":\"ten\"}}", NULL, "invalid max-size: ten");
  expect_error("{\"log-opts\":{\"max-file\":\"0\"}}", NULL, "max-file cannot be less than 1");
  expect_error("{\"log-opts\":{\"max-file\":3}}", NULL, "max-file must be a string");
  expect_error("{\"log-opts\":{\"colour\":\"red\"}}", NULL,
               "unknown log opt 'colour' for json-file log driver");
  expect_error("{\"log-driver\":\"syslog\"}", NULL, "logging driver not supported");
  expect_error("{\"default-runtime\":\"kata\"}", NULL,
               "specified default runtime 'kata' does not exist");
  expect_error("{\"runtimes\":{\"runc\":{\"path\":\"/x\"}}}", NULL, "runtime name 'runc' is reserved");
  expect_error("{\"runtimes\":{\"x\":{}}}", NULL, "x: a \"path\"");
  expect_error("{\"log-level\":\"loud\"}", NULL, "unable to parse logging level: loud");
  expect_error("{\"storage-driver\":\"vfs\"}", NULL, "storage-driver vfs is not supported");
  expect_error("{\"hosts\":[\"fd://\"]}", NULL, "invalid host fd://");
  expect_error("[1]", NULL, "not a JSON object");
  expect_error("{\"debug\":", NULL, "daemon.json");
  expect_error("{\"default-ulimits\":{\"nofile\":{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":5}}}",
               NULL, "soft limit is above the hard limit");
}

static void test_log_level(void **state) {
  enum log_level l;
  assert_int_equal(config_log_level("debug", &l), 0);
  assert_int_equal(l, LOG_DEBUG);
  assert_int_equal(config_log_level("warning", &l), 0);
  assert_int_equal(l, LOG_WARN);
  assert_int_equal(config_log_level("fatal", &l), 0);
  assert_int_equal(l, LOG_ERROR);
  assert_int_equal(config_log_level("chatty", &l), -EINVAL);
}

static void test_reload(void **state) {
  struct daemon d = {0};
  pthread_mutex_init(&d.cfg_lock, NULL);
  events_new(&d.events);
  const char *f = write_json("{\"live-restore\":false,\"data-root\":\"/srv/a\"}");
  _cleanup_json_ json_t *fl = json_pack("{s:s}", "exec-root", "/tmp/e");
  assert_int_equal(config_build(&d.cfg, f, true, fl, NULL), 0);
  assert_false(d.cfg.live_restore);
  write_json("{\"live-restore\":true,\"data-root\":\"/srv/b\",\"registry-mirrors\":[\"m\"]}");
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(config_reload(&d, &err), 0);
  assert_true(d.cfg.live_restore);
  assert_string_equal(d.cfg.registry_mirrors[0], "m");
  assert_string_equal(d.cfg.data_root, "/srv/a"); /* not reloadable */
  /* a bad file changes nothing */
  write_json("{\"live-restore\":false,\"nope\":1}");
  assert_true(config_reload(&d, &err) < 0);
  assert_true(d.cfg.live_restore);
  /* a key the flags also set is a conflict at reload too */
  berr_free(err);
  err = NULL;
  write_json("{\"exec-root\":\"/x\"}");
  assert_true(config_reload(&d, &err) < 0);
  assert_non_null(strstr(err->msg, "specified both as a flag"));
  config_free(&d.cfg);
  events_free(d.events);
  pthread_mutex_destroy(&d.cfg_lock);
}

int main(void) {
  log_open(NULL, LOG_TEXT, LOG_ERROR, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_file_and_flags),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_log_level),
      cmocka_unit_test(test_reload),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
