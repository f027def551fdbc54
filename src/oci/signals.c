/*
 * signals.c — signal names <-> numbers, as `runc kill` and `docker kill`
 * accept them.
 *
 * Accepted forms (case-insensitive): "KILL", "SIGKILL", "9", the aliases IOT,
 * POLL and CLD, and the real-time signals "RTMIN", "RTMIN+N", "RTMAX",
 * "RTMAX-N" (each also with "SIG"). Real-time numbers come from SIGRTMIN and
 * SIGRTMAX at run time, because glibc reserves the first kernel ones for
 * itself. The names are one table, the first entry for a number being its
 * canonical name; real-time names are two tables of literals so that
 * oci_signal_name() can return static strings without global state.
 */
#include <errno.h>
#include <signal.h>
#include <strings.h>

#include "oci/oci.h"

struct signal_name {
  const char *name; /* without "SIG" */
  int sig;
};

static const struct signal_name signal_names[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },       { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT },     { "BUS", SIGBUS },       { "FPE", SIGFPE },
  { "KILL", SIGKILL },     { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },     { "USR2", SIGUSR2 },
  { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },     { "TERM", SIGTERM },     { "STKFLT", SIGSTKFLT },
  { "CHLD", SIGCHLD },     { "CONT", SIGCONT },     { "STOP", SIGSTOP },     { "TSTP", SIGTSTP },
  { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },     { "URG", SIGURG },       { "XCPU", SIGXCPU },
  { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },     { "WINCH", SIGWINCH },
  { "IO", SIGIO },         { "PWR", SIGPWR },       { "SYS", SIGSYS },
  /* aliases: never returned by oci_signal_name because the canonical entry comes first */
  { "IOT", SIGIOT },       { "POLL", SIGPOLL },     { "CLD", SIGCHLD },
};

/* "RTMIN+1" .. and "RTMAX-1" ..; index i is offset i+1 */
static const char *const rtmin_plus[] = {
  "RTMIN+1",  "RTMIN+2",  "RTMIN+3",  "RTMIN+4",  "RTMIN+5",  "RTMIN+6",  "RTMIN+7",  "RTMIN+8",
  "RTMIN+9",  "RTMIN+10", "RTMIN+11", "RTMIN+12", "RTMIN+13", "RTMIN+14", "RTMIN+15", "RTMIN+16",
  "RTMIN+17", "RTMIN+18", "RTMIN+19", "RTMIN+20", "RTMIN+21", "RTMIN+22", "RTMIN+23", "RTMIN+24",
  "RTMIN+25", "RTMIN+26", "RTMIN+27", "RTMIN+28", "RTMIN+29", "RTMIN+30", "RTMIN+31", "RTMIN+32",
};
static const char *const rtmax_minus[] = {
  "RTMAX-1",  "RTMAX-2",  "RTMAX-3",  "RTMAX-4",  "RTMAX-5",  "RTMAX-6",  "RTMAX-7",  "RTMAX-8",
  "RTMAX-9",  "RTMAX-10", "RTMAX-11", "RTMAX-12", "RTMAX-13", "RTMAX-14", "RTMAX-15", "RTMAX-16",
  "RTMAX-17", "RTMAX-18", "RTMAX-19", "RTMAX-20", "RTMAX-21", "RTMAX-22", "RTMAX-23", "RTMAX-24",
  "RTMAX-25", "RTMAX-26", "RTMAX-27", "RTMAX-28", "RTMAX-29", "RTMAX-30", "RTMAX-31", "RTMAX-32",
};
#define N_RT_NAMES (sizeof(rtmin_plus) / sizeof(rtmin_plus[0]))

/* A decimal number made of digits only (no sign, no spaces); -EINVAL otherwise. */
static int parse_small_uint(const char *s, int *out) {
  if (*s == '\0' || strlen(s) > 3)
    return -EINVAL;
  int v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -EINVAL;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return 0;
}

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (already without "SIG"). */
static int parse_realtime(const char *s, int *out) {
  int base, sign, off = 0;
  if (strncasecmp(s, "RTMIN", 5) == 0) {
    base = SIGRTMIN;
    sign = '+';
  } else if (strncasecmp(s, "RTMAX", 5) == 0) {
    base = SIGRTMAX;
    sign = '-';
  } else {
    return -EINVAL;
  }
  s += 5;
  if (*s != '\0') {
    if (*s != sign || parse_small_uint(s + 1, &off) < 0)
      return -EINVAL;
  }
  int sig = sign == '+' ? base + off : base - off;
  if (sig < SIGRTMIN || sig > SIGRTMAX)
    return -EINVAL;
  *out = sig;
  return 0;
}

int oci_signal_parse(const char *s, int *out) {
  if (s == NULL)
    return -EINVAL;
  int n;
  if (parse_small_uint(s, &n) == 0) {
    if (n < 1 || n > SIGRTMAX)
      return -EINVAL;
    *out = n;
    return 0;
  }
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
    if (strcasecmp(s, signal_names[i].name) == 0) {
      *out = signal_names[i].sig;
      return 0;
    }
  }
  return parse_realtime(s, out);
}

/* RTMIN+N for the lower half of the real-time range, RTMAX-N for the upper half. */
static const char *realtime_name(int sig) {
  int from_min = sig - SIGRTMIN, from_max = SIGRTMAX - sig;
  if (from_min == 0)
    return "RTMIN";
  if (from_max == 0)
    return "RTMAX";
  if (from_min <= from_max)
    return (size_t)from_min <= N_RT_NAMES ? rtmin_plus[from_min - 1] : NULL;
  return (size_t)from_max <= N_RT_NAMES ? rtmax_minus[from_max - 1] : NULL;
}

const char *oci_signal_name(int sig) {
  for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
    if (signal_names[i].sig == sig)
      return signal_names[i].name;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    return realtime_name(sig);
  return NULL;
}
