/*
 * ns-floor.c — the least any OCI runtime can do for the bench bundle: clone(2)
 * into the five namespaces of `runc spec` (mount, uts, ipc, pid, net), exec the
 * bundle's /bin/true there, and wait. No cgroups, no mounts, no config. Its time,
 * measured like the runtimes' by bench/runtime-floor.sh, is the kernel's share
 * (namespace creation, exec, exit and namespace teardown) of every `run`.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s /path/to/true\n", argv[0]);
    return 2;
  }
  long c = syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET | SIGCHLD,
                   NULL, NULL, NULL, 0);
  if (c < 0) {
    perror("clone");
    return 1;
  }
  if (c == 0) {
    execl(argv[1], "true", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid((pid_t)c, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
