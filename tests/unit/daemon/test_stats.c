/* test_stats.c — cgroup files → Docker's stats JSON (v1 and v2), and the
 * top parser (ps output → Titles/Processes), from sample file contents. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/container_internal.h"

static json_int_t geti(const json_t *o, const char *path) {
  /* "a.b.c" */
  _cleanup_free_ char *p = xstrdup(path);
  const json_t *cur = o;
  for (char *save = NULL, *t = strtok_r(p, ".", &save); t; t = strtok_r(NULL, ".", &save))
    cur = json_object_get(cur, t);
  assert_non_null(cur);
  return json_integer_value(cur);
}

static void test_v1(void **state) {
  (void)state;
  struct stats_src s = {
      .v2 = false,
      .clk_tck = 100,
      .online_cpus = 2,
      .machine_memory = 1000000,
      .proc_stat = (char *)"cpu  10 20 30 40 50 60 70 80 90 100\ncpu0 1 2 3\n",
      .cpuacct_usage = (char *)"448949543\n",
      .cpuacct_percpu = (char *)"105376210 343573333 \n",
      .cpuacct_stat = (char *)"user 24\nsystem 20\n",
      .cpu_stat = (char *)"nr_periods 3\nnr_throttled 1\nthrottled_time 77\n",
      .memory_usage = (char *)"577536\n",
      .memory_max_usage = (char *)"3969024\n",
      .memory_limit = (char *)"9223372036854771712\n",
      .memory_stat = (char *)"cache 16384\nrss 49152\nshmem 0\ntotal_rss 49152\n",
      .memory_failcnt = (char *)"0\n",
      .pids_current = (char *)"1\n",
      .pids_max = (char *)"max\n",
      .blkio_bytes = (char *)"254:0 Read 16384\n254:0 Write 0\nTotal 16384\n",
      .blkio_ios = (char *)"254:0 Read 4\nTotal 4\n",
  };
  _cleanup_json_ json_t *j = stats_build(&s);
  assert_int_equal(geti(j, "cpu_stats.cpu_usage.total_usage"), 448949543);
  json_t *per = json_object_get(json_object_get(json_object_get(j, "cpu_stats"), "cpu_usage"),
                                "percpu_usage");
  assert_int_equal(json_array_size(per), 2);
  assert_int_equal(json_integer_value(json_array_get(per, 1)), 343573333);
  assert_int_equal(geti(j, "cpu_stats.cpu_usage.usage_in_kernelmode"), 200000000);
  assert_int_equal(geti(j, "cpu_stats.cpu_usage.usage_in_usermode"), 240000000);
  /* the first 7 fields of /proc/stat's cpu line: 280 ticks */
  assert_int_equal(geti(j, "cpu_stats.system_cpu_usage"), 2800000000LL);
  assert_int_equal(geti(j, "cpu_stats.online_cpus"), 2);
  assert_int_equal(geti(j, "cpu_stats.throttling_data.periods"), 3);
  assert_int_equal(geti(j, "cpu_stats.throttling_data.throttled_periods"), 1);
  assert_int_equal(geti(j, "cpu_stats.throttling_data.throttled_time"), 77);
  assert_int_equal(geti(j, "memory_stats.usage"), 577536);
  assert_int_equal(geti(j, "memory_stats.max_usage"), 3969024);
  assert_int_equal(geti(j, "memory_stats.limit"), 1000000); /* capped at the machine's */
  assert_int_equal(geti(j, "memory_stats.stats.rss"), 49152);
  assert_null(json_object_get(json_object_get(json_object_get(j, "memory_stats"), "stats"),
                              "shmem")); /* not in containerd's v1 set */
  assert_null(json_object_get(json_object_get(j, "memory_stats"), "failcnt"));
  assert_int_equal(geti(j, "pids_stats.current"), 1);
  assert_null(json_object_get(json_object_get(j, "pids_stats"), "limit"));
  json_t *b = json_object_get(json_object_get(j, "blkio_stats"), "io_service_bytes_recursive");
  assert_int_equal(json_array_size(b), 2); /* the lone "Total" line is skipped */
  assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "op")), "Read");
  assert_int_equal(geti(json_array_get(b, 0), "major"), 254);
  assert_int_equal(geti(json_array_get(b, 0), "value"), 16384);
  assert_true(json_is_array(
      json_object_get(json_object_get(j, "blkio_stats"), "io_queue_recursive")));
  assert_int_equal(geti(j, "num_procs"), 0);
}

static void test_v2(void **state) {
  (void)state;
  struct stats_src s = {
      .v2 = true,
      .clk_tck = 100,
      .online_cpus = 4,
      .cpu_stat = (char *)"usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 2\n"
                          "nr_throttled 1\nthrottled_usec 9\n",
      .memory_current = (char *)"8192\n",
      .memory_limit = (char *)"max\n",
      .machine_memory = 4096000,
      .memory_stat = (char *)"anon 4096\nfile 0\npgfault 12\n",
      .pids_current = (char *)"3\n",
      .pids_max = (char *)"100\n",
      .io_stat = (char *)"8:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n",
  };
  _cleanup_json_ json_t *j = stats_build(&s);
  assert_int_equal(geti(j, "cpu_stats.cpu_usage.total_usage"), 1500000);
  assert_int_equal(geti(j, "cpu_stats.cpu_usage.usage_in_usermode"), 1000000);
  assert_int_equal(geti(j, "cpu_stats.cpu_usage.usage_in_kernelmode"), 500000);
  assert_null(json_object_get(json_object_get(json_object_get(j, "cpu_stats"), "cpu_usage"),
                              "percpu_usage"));
  assert_int_equal(geti(j, "cpu_stats.throttling_data.throttled_time"), 9000);
  assert_int_equal(geti(j, "memory_stats.usage"), 8192);
  assert_int_equal(geti(j, "memory_stats.limit"), 4096000);
  assert_null(json_object_get(json_object_get(j, "memory_stats"), "max_usage"));
  assert_int_equal(geti(j, "memory_stats.stats.pgfault"), 12);
  assert_int_equal(geti(j, "pids_stats.limit"), 100);
  json_t *b = json_object_get(json_object_get(j, "blkio_stats"), "io_service_bytes_recursive");
  assert_int_equal(json_array_size(b), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(b, 1), "op")), "write");
  assert_int_equal(geti(json_array_get(b, 1), "value"), 2048);
  json_t *ios = json_object_get(json_object_get(j, "blkio_stats"), "io_serviced_recursive");
  assert_int_equal(geti(json_array_get(ios, 0), "value"), 1);
}

static void test_empty(void **state) {
  (void)state;
  struct stats_src s = {.v2 = false};
  _cleanup_json_ json_t *j = stats_build(&s);
  assert_int_equal(json_object_size(json_object_get(j, "memory_stats")), 0);
  assert_int_equal(json_object_size(json_object_get(j, "pids_stats")), 0);
  _cleanup_json_ json_t *e = stats_empty();
  assert_int_equal(geti(e, "cpu_stats.cpu_usage.total_usage"), 0);
  assert_non_null(json_object_get(e, "precpu_stats"));
}

static void test_top(void **state) {
  (void)state;
  const char *ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n"
                   "root        4242    4200  0 12:32 ?        00:00:00 sleep 1000\n"
                   "root        4243    4242  0 12:32 ?        00:00:00 sh -c echo a  b\n"
                   "root           1       0  0 10:00 ?        00:00:01 /sbin/init\n";
  _cleanup_json_ json_t *pids = json_pack("[i,i]", 4242, 4243);
  _cleanup_json_ json_t *out = NULL;
  assert_int_equal(top_parse(ps, pids, &out, NULL), 0);
  json_t *t = json_object_get(out, "Titles");
  assert_int_equal(json_array_size(t), 8);
  assert_string_equal(json_string_value(json_array_get(t, 7)), "CMD");
  json_t *p = json_object_get(out, "Processes");
  assert_int_equal(json_array_size(p), 2);
  assert_string_equal(json_string_value(json_array_get(json_array_get(p, 0), 1)), "4242");
  /* overhanging fields join into the last column */
  assert_string_equal(json_string_value(json_array_get(json_array_get(p, 1), 7)),
                      "sh -c echo a b");
  _cleanup_json_ json_t *bad = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(top_parse("USER COMMAND\nroot x\n", pids, &bad, &err), -EIO);
  assert_string_equal(err->msg, "Couldn't find PID field in ps output");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_v1),
      cmocka_unit_test(test_v2),
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_top),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
