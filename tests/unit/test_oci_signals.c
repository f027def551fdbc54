/*
 * test_oci_signals.c — signal names and numbers, both ways.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "oci/oci.h"

static int parse(const char *s) {
  int sig = -1;
  int r = oci_signal_parse(s, &sig);
  return r < 0 ? r : sig;
}

static void test_names(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int sig;
  } cases[] = {
    { "HUP", SIGHUP },       { "INT", SIGINT },       { "QUIT", SIGQUIT },     { "ILL", SIGILL },
    { "TRAP", SIGTRAP },     { "ABRT", SIGABRT },     { "BUS", SIGBUS },       { "FPE", SIGFPE },
    { "KILL", SIGKILL },     { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },     { "USR2", SIGUSR2 },
    { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },     { "TERM", SIGTERM },     { "STKFLT", SIGSTKFLT },
    { "CHLD", SIGCHLD },     { "CONT", SIGCONT },     { "STOP", SIGSTOP },     { "TSTP", SIGTSTP },
    { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },     { "URG", SIGURG },       { "XCPU", SIGXCPU },
    { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },     { "WINCH", SIGWINCH },
    { "IO", SIGIO },         { "PWR", SIGPWR },       { "SYS", SIGSYS },
    { "IOT", SIGABRT },      { "POLL", SIGIO },       { "CLD", SIGCHLD },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[32];
    assert_int_equal(parse(cases[i].name), cases[i].sig);
    snprintf(buf, sizeof(buf), "SIG%s", cases[i].name);
    assert_int_equal(parse(buf), cases[i].sig);
  }
}

static void test_case_and_prefix(void **state) {
  (void)state;
  assert_int_equal(parse("sigkill"), SIGKILL);
  assert_int_equal(parse("SigTerm"), SIGTERM);
  assert_int_equal(parse("term"), SIGTERM);
  assert_int_equal(parse("sigrtmin"), SIGRTMIN);
}

static void test_numbers(void **state) {
  (void)state;
  assert_int_equal(parse("9"), 9);
  assert_int_equal(parse("1"), 1);
  assert_int_equal(parse("15"), 15);
  assert_int_equal(parse("64"), SIGRTMAX);
  assert_int_equal(parse("034"), 34);
}

static void test_realtime(void **state) {
  (void)state;
  assert_int_equal(parse("RTMIN"), SIGRTMIN);
  assert_int_equal(parse("SIGRTMIN"), SIGRTMIN);
  assert_int_equal(parse("RTMIN+0"), SIGRTMIN);
  assert_int_equal(parse("RTMIN+3"), SIGRTMIN + 3);
  assert_int_equal(parse("SIGRTMIN+1"), SIGRTMIN + 1);
  assert_int_equal(parse("RTMAX"), SIGRTMAX);
  assert_int_equal(parse("rtmax-2"), SIGRTMAX - 2);
  assert_int_equal(parse("RTMIN+30"), SIGRTMAX); /* glibc: 34 + 30 = 64 */
  assert_int_equal(parse("RTMAX-30"), SIGRTMIN);
}

static void test_invalid(void **state) {
  (void)state;
  static const char *const bad[] = {
    "",        "0",        "65",       "-1",        "+9",        " 9",       "9 ",       "1000",
    "SIG",     "FOO",      "SIGFOO",   "SIG9",      "KILLX",     "SIGSIGKILL", "RTMIN+",  "RTMIN-1",
    "RTMAX+1", "RTMIN+31", "RTMAX-31", "RTMIN+99",  "RTMIN+a",   "RTMID",    "9x",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int sig = 12345;
    if (oci_signal_parse(bad[i], &sig) != -EINVAL)
      fail_msg("\"%s\" parsed as %d", bad[i], sig);
    assert_int_equal(sig, 12345);
  }
  int sig;
  assert_int_equal(oci_signal_parse(NULL, &sig), -EINVAL);
}

static void test_name_of(void **state) {
  (void)state;
  assert_string_equal(oci_signal_name(SIGKILL), "KILL");
  assert_string_equal(oci_signal_name(SIGABRT), "ABRT"); /* not IOT */
  assert_string_equal(oci_signal_name(SIGIO), "IO");     /* not POLL */
  assert_string_equal(oci_signal_name(SIGCHLD), "CHLD"); /* not CLD */
  assert_string_equal(oci_signal_name(SIGSYS), "SYS");
  assert_string_equal(oci_signal_name(SIGRTMIN), "RTMIN");
  assert_string_equal(oci_signal_name(SIGRTMIN + 1), "RTMIN+1");
  assert_string_equal(oci_signal_name(SIGRTMAX), "RTMAX");
  assert_string_equal(oci_signal_name(SIGRTMAX - 1), "RTMAX-1");
  assert_null(oci_signal_name(0));
  assert_null(oci_signal_name(-1));
  assert_null(oci_signal_name(SIGRTMAX + 1));
  assert_null(oci_signal_name(SIGRTMIN - 1)); /* reserved by glibc */
}

/* Every signal with a name parses back to itself, by name and by number. */
static void test_round_trip(void **state) {
  (void)state;
  int named = 0;
  for (int sig = 1; sig <= SIGRTMAX; sig++) {
    const char *name = oci_signal_name(sig);
    char num[16];
    snprintf(num, sizeof(num), "%d", sig);
    assert_int_equal(parse(num), sig);
    if (name == NULL)
      continue;
    named++;
    if (parse(name) != sig)
      fail_msg("%d -> %s -> %d", sig, name, parse(name));
  }
  assert_int_equal(named, 31 + (SIGRTMAX - SIGRTMIN + 1));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_names),   cmocka_unit_test(test_case_and_prefix), cmocka_unit_test(test_numbers),
    cmocka_unit_test(test_realtime), cmocka_unit_test(test_invalid),        cmocka_unit_test(test_name_of),
    cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
