/* Unit tests for runtime/state.c's pure parts: container ids and /proc/PID/stat parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "runtime/runtime-internal.h"

/* Field 22 (starttime) read independently, with sscanf, after the last ')'. */
static unsigned long long start_time_by_sscanf(pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  unsigned long long st = 0;
  char *p = strrchr(buf, ')');
  assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &st), 1);
  return st;
}

static void test_start_time_self(void **state) {
  (void)state;
  bool zombie = true;
  unsigned long long got = rt_proc_start_time(getpid(), &zombie);
  assert_true(got > 0);
  assert_int_equal(got, start_time_by_sscanf(getpid()));
  assert_false(zombie);
}

/* A comm with spaces and parentheses must not shift the fields. */
static void test_start_time_odd_comm(void **state) {
  (void)state;
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NAME, "a) (b c", 0, 0, 0);
    pause();
    _exit(0);
  }
  usleep(20000);
  assert_int_equal(rt_proc_start_time(pid, NULL), start_time_by_sscanf(pid));
  kill(pid, SIGKILL);
  usleep(20000);
  bool zombie = false;
  assert_true(rt_proc_start_time(pid, &zombie) > 0); /* not yet reaped */
  assert_true(zombie);
  waitpid(pid, NULL, 0);
  assert_int_equal(rt_proc_start_time(pid, &zombie), 0);
}

static void test_valid_id(void **state) {
  (void)state;
  assert_true(rt_valid_id("abc-DEF_1.2+3"));
  assert_false(rt_valid_id(""));
  assert_false(rt_valid_id("."));
  assert_false(rt_valid_id(".."));
  assert_false(rt_valid_id("a/b"));
  assert_false(rt_valid_id("a b"));
  assert_false(rt_valid_id(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_time_self),
      cmocka_unit_test(test_start_time_odd_comm),
      cmocka_unit_test(test_valid_id),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
