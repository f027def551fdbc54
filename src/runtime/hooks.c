/*
 * hooks.c — runtime-spec hooks (config.md "POSIX-platform Hooks").
 *
 * Each hook is run with the container's state JSON on stdin, its own args and
 * env, and an optional timeout after which it is killed. A failing prestart /
 * createRuntime / createContainer / startContainer hook fails the operation;
 * poststart and poststop failures are only warnings (the spec says so), which
 * the callers decide by ignoring the return value.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "runtime-internal.h"

static int check_one(const struct oci_hook *h, const char *what, struct berr **err) {
  struct stat st;
  if (stat(h->path, &st) < 0)
    return berr_sys(err, errno, "%s: %s", what, h->path);
  if (!S_ISREG(st.st_mode) || access(h->path, X_OK) < 0)
    return berr_set(err, EACCES, "%s: %s: not an executable file", what, h->path);
  return 0;
}

int rt_hooks_check(const struct oci_spec *spec, struct berr **err) {
  for (int k = 0; k < OCI_HOOK_KINDS; k++) {
    /* startContainer hooks resolve in the container's root: not checkable here */
    if (k == OCI_HOOK_START_CONTAINER)
      continue;
    for (size_t i = 0; i < spec->hooks.n[k]; i++) {
      _cleanup_free_ char *what = xasprintf("hooks.%s[%zu]", oci_hook_kind_names[k], i);
      int r = check_one(&spec->hooks.list[k][i], what, err);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

static void write_all_ignoring(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, s, len);
    if (w <= 0) {
      if (w < 0 && errno == EINTR)
        continue;
      return; /* the hook need not read its stdin */
    }
    s += w;
    len -= (size_t)w;
  }
}

/* Wait for pid, killing it after timeout seconds (<= 0: no timeout). */
static int wait_with_timeout(pid_t pid, int64_t timeout, int *status) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    pid_t w = waitpid(pid, status, timeout > 0 ? WNOHANG : 0);
    if (w == pid)
      return 0;
    if (w < 0 && errno != EINTR)
      return -errno;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (timeout > 0 && now.tv_sec - start.tv_sec >= timeout) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return -ETIMEDOUT;
    }
    if (timeout > 0)
      poll(NULL, 0, 5);
  }
}

static int run_one(const struct oci_hook *h, const char *state, const char *what, struct berr **err) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "%s: pipe", what);
  pid_t pid = fork();
  if (pid < 0) {
    close(in[0]);
    close(in[1]);
    return berr_sys(err, errno, "%s: fork", what);
  }
  if (pid == 0) {
    dup2(in[0], 0);
    char *const noargs[] = {h->path, NULL};
    char *const noenv[] = {NULL};
    signal(SIGPIPE, SIG_DFL);
    execve(h->path, h->args ? h->args : noargs, h->env ? h->env : noenv);
    dprintf(2, "%s: exec %s: %s\n", what, h->path, strerror(errno));
    _exit(127);
  }
  close(in[0]);
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  write_all_ignoring(in[1], state, strlen(state));
  close(in[1]);
  signal(SIGPIPE, old);
  int status = 0;
  int r = wait_with_timeout(pid, h->timeout.set ? h->timeout.v : 0, &status);
  if (r == -ETIMEDOUT)
    return berr_set(err, ETIMEDOUT, "%s: %s: timed out after %llds", what, h->path, (long long)h->timeout.v);
  if (r < 0)
    return berr_sys(err, -r, "%s: wait for %s", what, h->path);
  if (WIFSIGNALED(status))
    return berr_set(err, ECANCELED, "%s: %s: killed by signal %d", what, h->path, WTERMSIG(status));
  if (WEXITSTATUS(status) != 0)
    return berr_set(err, ECANCELED, "%s: %s: exit status %d", what, h->path, WEXITSTATUS(status));
  return 0;
}

int rt_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, json_t *state, struct berr **err) {
  if (spec->hooks.n[kind] == 0)
    return 0;
  _cleanup_free_ char *text = json_dump_compact(state);
  for (size_t i = 0; i < spec->hooks.n[kind]; i++) {
    _cleanup_free_ char *what = xasprintf("hooks.%s[%zu]", oci_hook_kind_names[kind], i);
    int r = run_one(&spec->hooks.list[kind][i], text, what, err);
    if (r < 0)
      return r;
  }
  return 0;
}
