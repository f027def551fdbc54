/* test_format.c — go-units sizes/durations, docker ps columns, time and
 * duration parsing, pflag-style flag parsing of the berth CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cli/cli.h"

static void eq_free(char *got, const char *want) {
  assert_string_equal(got, want);
  free(got);
}

static void test_human_size(void **s) {
  (void)s;
  eq_free(fmt_human_size(0, 3), "0B");
  eq_free(fmt_human_size(999, 3), "999B");
  eq_free(fmt_human_size(1000, 3), "1kB");
  eq_free(fmt_human_size(1982464, 3), "1.98MB");
  eq_free(fmt_human_size(1982464, 4), "1.982MB");
  eq_free(fmt_human_size(1e9, 3), "1GB");
  eq_free(fmt_human_size(123456789, 3), "123MB");
}

static void test_bytes_size(void **s) {
  (void)s;
  eq_free(fmt_bytes_size(0), "0B");
  eq_free(fmt_bytes_size(1536), "1.5KiB");
  eq_free(fmt_bytes_size(1593835.52), "1.52MiB");
  eq_free(fmt_bytes_size(16.0 * 1024 * 1024 * 1024), "16GiB");
}

static void test_human_duration(void **s) {
  (void)s;
  eq_free(fmt_human_duration(0.4), "Less than a second");
  eq_free(fmt_human_duration(1), "1 second");
  eq_free(fmt_human_duration(3), "3 seconds");
  eq_free(fmt_human_duration(59), "59 seconds");
  eq_free(fmt_human_duration(60), "About a minute");
  eq_free(fmt_human_duration(119), "About a minute");
  eq_free(fmt_human_duration(120), "2 minutes");
  eq_free(fmt_human_duration(59 * 60), "59 minutes");
  eq_free(fmt_human_duration(3600), "About an hour");
  eq_free(fmt_human_duration(2 * 3600), "2 hours");
  eq_free(fmt_human_duration(47 * 3600), "47 hours");
  eq_free(fmt_human_duration(48 * 3600), "2 days");
  eq_free(fmt_human_duration(14 * 86400), "2 weeks");
  eq_free(fmt_human_duration(61 * 86400), "2 months");
  eq_free(fmt_human_duration(800 * 86400), "2 years");
}

static void test_rfc3339(void **s) {
  (void)s;
  double t;
  assert_int_equal(parse_rfc3339("2024-01-02T03:04:05Z", &t), 0);
  assert_true(t == 1704164645.0);
  assert_int_equal(parse_rfc3339("2024-01-02T03:04:05.5+01:00", &t), 0);
  assert_true(t == 1704164645.0 - 3600 + 0.5);
  assert_int_equal(parse_rfc3339("0001-01-01T00:00:00Z", &t), 0);
  assert_true(t == 0);
  assert_int_not_equal(parse_rfc3339("yesterday", &t), 0);
  eq_free(fmt_go_time(1704164645), "2024-01-02 03:04:05 +0000 UTC");
}

static void test_ellipsis_quote(void **s) {
  (void)s;
  eq_free(fmt_ellipsis("sleep 1000", 20), "sleep 1000");
  eq_free(fmt_ellipsis("sh -c 'while true; do sleep 1; done'", 20), "sh -c 'while true; …");
  eq_free(fmt_go_quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
  eq_free(fmt_trunc_id("sha256:f4224a67e088230d93400d08953311c6"), "f4224a67e088");
  eq_free(fmt_trunc_id("f20e1fecba15967f4d10"), "f20e1fecba15");
}

static void test_ports(void **s) {
  (void)s;
  json_t *p = json_loads("[{\"PrivatePort\":80,\"Type\":\"tcp\"}]", 0, NULL);
  eq_free(fmt_ports(p), "80/tcp");
  json_decref(p);
  p = json_loads("[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
                 "{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}]", 0, NULL);
  eq_free(fmt_ports(p), "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
  json_decref(p);
  p = json_loads("[{\"IP\":\"0.0.0.0\",\"PrivatePort\":81,\"PublicPort\":8001,\"Type\":\"tcp\"},"
                 "{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8000,\"Type\":\"tcp\"}]", 0, NULL);
  eq_free(fmt_ports(p), "0.0.0.0:8000-8001->80-81/tcp");
  json_decref(p);
  eq_free(fmt_ports(NULL), "");
}

static void test_state_status(void **s) {
  (void)s;
  json_t *st = json_loads("{\"Status\":\"running\",\"Running\":true,\"StartedAt\":\"2024-01-02T03:04:05Z\"}", 0, NULL);
  eq_free(fmt_state_status(st, 1704164645.0 + 3), "Up 3 seconds");
  json_decref(st);
  st = json_loads("{\"Status\":\"exited\",\"ExitCode\":2,\"StartedAt\":\"2024-01-02T03:04:05Z\","
                  "\"FinishedAt\":\"2024-01-02T03:04:06Z\"}", 0, NULL);
  eq_free(fmt_state_status(st, 1704164646.0 + 90), "Exited (2) About a minute ago");
  json_decref(st);
  st = json_loads("{\"Status\":\"created\",\"StartedAt\":\"0001-01-01T00:00:00Z\"}", 0, NULL);
  eq_free(fmt_state_status(st, 1704164646.0), "Created");
  json_decref(st);
}

static void test_durations(void **s) {
  (void)s;
  int64_t ns;
  assert_int_equal(parse_go_duration("1m30s", &ns), 0);
  assert_true(ns == 90000000000LL);
  assert_int_equal(parse_go_duration("500ms", &ns), 0);
  assert_true(ns == 500000000LL);
  assert_int_equal(parse_go_duration("1.5h", &ns), 0);
  assert_true(ns == 5400000000000LL);
  assert_int_not_equal(parse_go_duration("10", &ns), 0);
  assert_int_not_equal(parse_go_duration("abc", &ns), 0);
  char *out = NULL;
  struct berr *err = NULL;
  assert_int_equal(parse_timestamp_arg("10m", 1000.0, &out, &err), 0);
  eq_free(out, "400.000000000");
  assert_int_equal(parse_timestamp_arg("1704164645", 0, &out, &err), 0);
  eq_free(out, "1704164645");
  assert_int_equal(parse_timestamp_arg("2024-01-02T03:04:05Z", 0, &out, &err), 0);
  eq_free(out, "1704164645.000000000");
  assert_int_not_equal(parse_timestamp_arg("soon", 0, &out, &err), 0);
  assert_non_null(strstr(err->msg, "soon"));
  berr_free(err);
  assert_int_equal(parse_nano_cpus("1.5", &ns), 0);
  assert_true(ns == 1500000000LL);
  assert_int_not_equal(parse_nano_cpus("x", &ns), 0);
}

/* Go's time.ParseDuration and go-units RAMInBytes error texts, as docker prints them */
static void expect_err(int r, struct berr **err, const char *msg) {
  assert_true(r < 0);
  assert_non_null(*err);
  assert_string_equal((*err)->msg, msg);
  berr_free(*err);
  *err = NULL;
}

static void test_value_errors(void **s) {
  (void)s;
  int64_t v;
  struct berr *err = NULL;
  assert_int_equal(parse_go_duration_err("1m30s", &v, &err), 0);
  assert_true(v == 90000000000LL);
  assert_int_equal(parse_go_duration_err("0", &v, &err), 0);
  assert_true(v == 0);
  assert_int_equal(parse_go_duration_err("-1.5s", &v, &err), 0);
  assert_true(v == -1500000000LL);
  expect_err(parse_go_duration_err("5", &v, &err), &err, "time: missing unit in duration \"5\"");
  expect_err(parse_go_duration_err("5x", &v, &err), &err, "time: unknown unit \"x\" in duration \"5x\"");
  expect_err(parse_go_duration_err("abc", &v, &err), &err, "time: invalid duration \"abc\"");
  expect_err(parse_go_duration_err("", &v, &err), &err, "time: invalid duration \"\"");
  assert_int_equal(parse_ram_bytes("512m", &v, &err), 0);
  assert_true(v == 512LL * 1024 * 1024);
  assert_int_equal(parse_ram_bytes("1.5GiB", &v, &err), 0);
  assert_true(v == 1536LL * 1024 * 1024);
  assert_int_equal(parse_ram_bytes("100", &v, &err), 0);
  assert_true(v == 100);
  assert_int_equal(parse_ram_bytes("4b", &v, &err), 0);
  assert_true(v == 4);
  expect_err(parse_ram_bytes("abc", &v, &err), &err, "invalid size: 'abc'");
  expect_err(parse_ram_bytes("-5", &v, &err), &err, "invalid size: '-5'");
  expect_err(parse_ram_bytes("5zz", &v, &err), &err, "invalid suffix: 'zz'");
  expect_err(parse_ram_bytes("5KX", &v, &err), &err, "invalid suffix: 'kx'");
}

static void test_flags(void **s) {
  (void)s;
  bool d = false, i = false, t = false, help = false;
  const char *name = NULL;
  int64_t n = -1;
  char **env = NULL, **args = NULL;
  const struct flag flags[] = {
      {"detach", 'd', FLAG_BOOL, &d, NULL, NULL}, {"interactive", 'i', FLAG_BOOL, &i, NULL, NULL},
      {"tty", 't', FLAG_BOOL, &t, NULL, NULL},    {"name", 0, FLAG_STR, &name, NULL, NULL},
      {"env", 'e', FLAG_STRV, &env, NULL, NULL},  {"last", 'n', FLAG_INT, &n, NULL, NULL},
      {0}};
  char *argv[] = {"-it", "--name=x", "-eA=1", "--env", "B=2", "-n", "3", "busybox", "ls", "-l"};
  struct berr *err = NULL;
  assert_int_equal(flags_parse(flags, 10, argv, false, &args, &help, &err), 0);
  assert_true(i && t && !d && !help);
  assert_string_equal(name, "x");
  assert_true(n == 3);
  assert_int_equal(strv_len(env), 2);
  assert_string_equal(env[1], "B=2");
  assert_int_equal(strv_len(args), 3); /* busybox ls -l: flags stop at the image */
  assert_string_equal(args[2], "-l");
  free(args);
  strv_free(env);
  env = NULL;
  /* interspersed: flags after positionals still count */
  char *argv2[] = {"a", "-d", "b", "--detach=false"};
  assert_int_equal(flags_parse(flags, 4, argv2, true, &args, &help, &err), 0);
  assert_false(d);
  assert_int_equal(strv_len(args), 2);
  free(args);
  char *argv3[] = {"--bogus"};
  assert_int_not_equal(flags_parse(flags, 1, argv3, true, &args, &help, &err), 0);
  assert_string_equal(err->msg, "unknown flag: --bogus");
  berr_free(err);
  err = NULL;
  char *argv4[] = {"-x"};
  assert_int_not_equal(flags_parse(flags, 1, argv4, true, &args, &help, &err), 0);
  assert_string_equal(err->msg, "unknown shorthand flag: 'x' in -x");
  berr_free(err);
  err = NULL;
  char *argv5[] = {"--name"};
  assert_int_not_equal(flags_parse(flags, 1, argv5, true, &args, &help, &err), 0);
  assert_string_equal(err->msg, "flag needs an argument: --name");
  berr_free(err);
  err = NULL;
  char *argv6[] = {"-n", "x"};
  assert_int_not_equal(flags_parse(flags, 2, argv6, true, &args, &help, &err), 0);
  assert_non_null(strstr(err->msg, "invalid argument \"x\" for \"-n, --last\" flag"));
  berr_free(err);
  err = NULL;
  char *argv7[] = {"--help"};
  assert_int_equal(flags_parse(flags, 1, argv7, true, &args, &help, &err), 0);
  assert_true(help);
  free(args);
}

static void test_sb_query(void **s) {
  (void)s;
  struct sb b = {0};
  sb_add(&b, "/containers/json");
  sb_query(&b, "all", "1");
  sb_query(&b, "filters", "{\"name\":[\"a b\"]}");
  assert_string_equal(b.s, "/containers/json?all=1&filters=%7B%22name%22%3A%5B%22a%20b%22%5D%7D");
  sb_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_human_size),   cmocka_unit_test(test_bytes_size),
      cmocka_unit_test(test_human_duration), cmocka_unit_test(test_rfc3339),
      cmocka_unit_test(test_ellipsis_quote), cmocka_unit_test(test_ports),
      cmocka_unit_test(test_state_status), cmocka_unit_test(test_durations),
      cmocka_unit_test(test_value_errors), cmocka_unit_test(test_flags),        cmocka_unit_test(test_sb_query),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
