/*
 * berth-init — the tiny init that `berth run --init` puts in front of the
 * container's command (Docker's docker-init, which is tini).
 *
 *   berth-init [--] COMMAND [ARG...]
 *
 * As PID 1 of the container it does the two jobs a normal program does not:
 *   - reaps every zombie (orphans are re-parented to PID 1 and would
 *     otherwise stay in the process table), and
 *   - forwards the signals it receives (SIGTERM from `stop`, SIGINT, SIGHUP,
 *     SIGUSR1…) to the command, which as PID 1 would ignore any signal it has
 *     no handler for — the reason `docker stop` waits 10 s for many programs.
 * It exits with the command's status (128 + N when the command died of
 * signal N), as the shell and Docker report it. When it is not PID 1 (tests,
 * nested use) it makes itself the child subreaper so orphans still come to it.
 *
 * Exec failures exit 127 (not found) or 126 (not executable), the shell's and
 * Docker's codes. The command runs in its own process group in the
 * foreground of the terminal, if any, so ^C on a tty reaches it.
 *
 * Self-contained: libc only, statically linked (it is bind-mounted into
 * containers whatever their libc is).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals the kernel never lets us catch or that are about our own state. */
static int signal_is_forwardable(int sig) {
  return sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD;
}

/* In the child: restore the signal mask and dispositions, then exec. */
static void exec_command(char **argv, const sigset_t *old_mask) {
  setpgid(0, 0);
  /* Take the terminal's foreground so ^C / ^Z reach the command's group.
   * SIGTTOU is ignored meanwhile: a background group may not call tcsetpgrp. */
  if (isatty(STDIN_FILENO)) {
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(STDIN_FILENO, getpgrp());
    signal(SIGTTOU, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, old_mask, NULL);
  execvp(argv[0], argv);
  int e = errno;
  fprintf(stderr, "berth-init: exec %s: %s\n", argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* Reap every exited child; returns the command's exit status once it has
 * been reaped, else -1. */
static int reap_children(pid_t command) {
  int result = -1;
  for (;;) {
    int status;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p <= 0)
      return result;
    if (p != command)
      continue;
    if (WIFEXITED(status))
      result = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
      result = 128 + WTERMSIG(status);
  }
}

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0)
    first++;
  if (first >= argc) {
    fprintf(stderr, "usage: berth-init [--] COMMAND [ARG...]\n");
    return 2;
  }
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    fprintf(stderr, "berth-init: cannot become subreaper: %s\n", strerror(errno));

  /* Every signal is blocked and taken synchronously with sigwaitinfo: no
   * handler runs at an awkward moment, and none is lost before the fork. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);

  pid_t command = fork();
  if (command < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 125;
  }
  if (command == 0)
    exec_command(argv + first, &old);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "berth-init: sigwaitinfo: %s\n", strerror(errno));
      return 125;
    }
    if (sig == SIGCHLD) {
      int status = reap_children(command);
      if (status >= 0)
        return status;
      continue;
    }
    if (signal_is_forwardable(sig) && kill(command, sig) < 0 && errno != ESRCH)
      fprintf(stderr, "berth-init: forward signal %d: %s\n", sig, strerror(errno));
  }
}
