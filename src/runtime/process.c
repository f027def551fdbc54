/*
 * process.c — the container's init (the final child of rt_spawn) from the moment
 * it exists until it execs the user's program.
 *
 * Init sequence (each step after the parent's SYNC_GO):
 *   1. the parent has put us in the cgroup: unshare the cgroup namespace, setsid
 *   2. SYNC_HOOKS: the parent runs prestart + createRuntime hooks
 *   3. keyring, hostname, rootfs mounts, createContainer hooks, pivot_root,
 *      masked/read-only paths, sysctls, console, cwd, executable lookup
 *   4. SYNC_READY: the runtime records state and exits; we block on exec.fifo
 *   5. `start` writes the fifo: startContainer hooks, then rlimits, user,
 *      capabilities, no_new_privs, seccomp, execve (rt_finalize_and_exec)
 * Everything that can fail for a bad config fails before SYNC_READY, so
 * `create` reports it and leaves nothing behind. An exec'd process (exec.c)
 * runs the same code without the rootfs and fifo steps.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime-internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

__attribute__((noreturn)) static void init_fail(struct rt_init_args *a, struct berr *err) {
  if (a->sync_fd >= 0)
    rt_sync_send(a->sync_fd, SYNC_ERROR, err ? err->code : EIO, err ? err->msg : "unknown error");
  else
    dprintf(2, "berth-runc: %s\n", err ? err->msg : "unknown error");
  _exit(127);
}

static const char *env_get(char *const *env, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
      return env[i] + kl + 1;
  return NULL;
}

/* Go's exec.LookPath wording, which dockerd maps to exit codes 127 / 126. */
static int check_executable(const char *cmd, const char *path, struct berr **err) {
  struct stat st;
  if (stat(path, &st) < 0)
    return berr_set(err, errno, "exec: \"%s\": stat %s: %s", cmd, path, strerror(errno));
  if (S_ISDIR(st.st_mode) || access(path, X_OK) < 0)
    return berr_set(err, EACCES, "exec: \"%s\": permission denied", cmd);
  return 0;
}

int rt_find_executable(const char *cmd, char *const *env, char **out, struct berr **err) {
  if (strchr(cmd, '/')) {
    int r = check_executable(cmd, cmd, err);
    if (r == 0)
      *out = xstrdup(cmd);
    return r;
  }
  const char *path = env_get(env, "PATH");
  _cleanup_free_ char *copy = xstrdup(path ? path : DEFAULT_PATH);
  bool denied = false;
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    _cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", cmd);
    struct stat st;
    if (stat(cand, &st) < 0 || S_ISDIR(st.st_mode))
      continue;
    if (access(cand, X_OK) == 0) {
      *out = steal_ptr(cand);
      return 0;
    }
    denied = true;
  }
  if (denied)
    return berr_set(err, EACCES, "exec: \"%s\": permission denied", cmd);
  return berr_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
}

static int set_rlimits(const struct oci_process *p, struct berr **err) {
  for (size_t i = 0; i < p->n_rlimits; i++) {
    struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
    if (setrlimit(p->rlimits[i].resource, &rl) < 0)
      return berr_sys(err, errno, "process.rlimits: set %s to %llu/%llu", p->rlimits[i].type,
                      (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
  }
  return 0;
}

static int set_user(const struct oci_process *p, struct berr **err) {
  const struct oci_user *u = &p->user;
  if (setgroups(u->n_additional_gids, u->additional_gids) < 0 && errno != EPERM)
    return berr_sys(err, errno, "process.user.additionalGids: setgroups");
  if (prctl(PR_SET_KEEPCAPS, 1) < 0)
    return berr_sys(err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (setresgid(u->gid, u->gid, u->gid) < 0)
    return berr_sys(err, errno, "process.user.gid: setgid %u", (unsigned)u->gid);
  if (setresuid(u->uid, u->uid, u->uid) < 0)
    return berr_sys(err, errno, "process.user.uid: setuid %u", (unsigned)u->uid);
  if (prctl(PR_SET_KEEPCAPS, 0) < 0)
    return berr_sys(err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (u->umask.set)
    umask((mode_t)u->umask.v);
  return 0;
}

/* HOME is set from the image's /etc/passwd when the config lacks it (as runc does). */
static char **env_with_home(const struct oci_process *p) {
  char **env = NULL;
  for (size_t i = 0; p->env && p->env[i]; i++)
    env = strv_append(env, xstrdup(p->env[i]));
  if (env_get(p->env, "HOME"))
    return env ? env : xcalloc(1, sizeof(char *));
  const char *home = "/";
  _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
  char line[1024];
  _cleanup_free_ char *found = NULL;
  while (f && fgets(line, sizeof line, f)) {
    char *fields[7] = {0}, *s = line;
    int n = 0;
    for (char *tok; n < 7 && (tok = strsep(&s, ":")) != NULL;)
      fields[n++] = tok;
    if (n >= 6 && strtoul(fields[2], NULL, 10) == p->user.uid && *fields[5]) {
      found = xstrdup(fields[5]);
      break;
    }
  }
  if (found)
    home = found;
  return strv_append(env, xasprintf("HOME=%s", home));
}

int rt_finalize_and_exec(struct rt_init_args *a, const char *exe, struct berr **err) {
  const struct oci_process *p = a->process;
  int r = set_rlimits(p, err);
  if (r < 0)
    return r;
  /* without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we have it */
  if (a->seccomp && !p->no_new_privileges && (r = seccomp_filter_load(a->seccomp, err)) < 0)
    return r;
  /* no capabilities block means no capabilities, as in runc */
  if ((r = caps_drop_bounding(p->caps, err)) < 0)
    return r;
  _cleanup_strv_ char **env = env_with_home(p);
  if ((r = set_user(p, err)) < 0)
    return r;
  if ((r = caps_apply(p->caps, err)) < 0)
    return r;
  if (p->cwd && chdir(p->cwd) < 0)
    return berr_sys(err, errno, "process.cwd: chdir %s", p->cwd);
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return berr_sys(err, errno, "set no_new_privs");
  if (a->seccomp && p->no_new_privileges && (r = seccomp_filter_load(a->seccomp, err)) < 0)
    return r;
  /* nothing of ours may leak into the container: fds from 3 + preserve_fds on close at exec */
  syscall(SYS_close_range, 3 + a->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  log_debug("init: execve %s", exe);
  execve(exe, p->args, env);
  return berr_sys(err, errno, "exec %s", exe);
}

static int set_hostname(const struct oci_spec *spec, struct berr **err) {
  bool new_uts = oci_spec_namespace(spec, OCI_NS_UTS) && !oci_spec_namespace(spec, OCI_NS_UTS)->path;
  if ((spec->hostname || spec->domainname) && !new_uts && !oci_spec_namespace(spec, OCI_NS_UTS))
    return berr_set(err, EINVAL, "hostname: setting the hostname needs a uts namespace in linux.namespaces");
  if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
    return berr_sys(err, errno, "hostname: sethostname %s", spec->hostname);
  if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
    return berr_sys(err, errno, "domainname: setdomainname %s", spec->domainname);
  return 0;
}

static int join_session_keyring(bool skip, struct berr **err) {
  if (skip)
    return 0;
  /* KEYCTL_JOIN_SESSION_KEYRING (1) with a NULL name: a new anonymous keyring, so
   * containers do not share the host's session keys. */
  if (syscall(SYS_keyctl, 1, NULL) < 0 && errno != ENOSYS && errno != EPERM && errno != EACCES)
    return berr_sys(err, errno, "create session keyring");
  return 0;
}

static int hook_state_run(struct rt_init_args *a, enum oci_hook_kind kind, pid_t host_pid, const char *status,
                          struct berr **err) {
  if (a->spec->hooks.n[kind] == 0)
    return 0;
  json_t *st = a->hook_state;
  json_object_set_new(st, "pid", json_integer(host_pid));
  json_object_set_new(st, "status", json_string(status));
  return rt_hooks_run(a->spec, kind, st, err);
}

static int wait_for_start(int fifo_fd, struct berr **err) {
  char c;
  ssize_t r;
  do
    r = read(fifo_fd, &c, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1)
    return berr_set(err, EIO, "waiting for start: exec fifo closed");
  /* the fd stays open (close-on-exec) until execve: `start` watches for that */
  return 0;
}

static int setup_container(struct rt_init_args *a, pid_t host_pid, char **exe, struct berr **err) {
  const struct oci_spec *spec = a->spec;
  int r;
  if ((r = join_session_keyring(a->no_new_keyring, err)) < 0)
    return r;
  if ((r = set_hostname(spec, err)) < 0)
    return r;
  log_debug("init: namespaces done");
  if ((r = rt_rootfs_prepare(spec, a->rootfs, a->cgroup, err)) < 0)
    return r;
  log_debug("init: mounts done");
  if ((r = hook_state_run(a, OCI_HOOK_CREATE_CONTAINER, host_pid, "creating", err)) < 0)
    return r;
  if ((r = rt_rootfs_pivot(a->rootfs, a->no_pivot, err)) < 0)
    return r;
  if ((r = rt_rootfs_finish(spec, err)) < 0)
    return r;
  log_debug("init: pivot, masks and read-only paths done");
  if (a->process->terminal && (r = rt_console_setup(a->console_fd, a->process, err)) < 0)
    return r;
  closep(&a->console_fd);
  /* runc creates a missing cwd in the container */
  if (a->process->cwd && chdir(a->process->cwd) < 0 &&
      (errno != ENOENT || mkdir_p(a->process->cwd, 0755, err) < 0 || chdir(a->process->cwd) < 0))
    return berr_sys(err, errno, "process.cwd: chdir %s", a->process->cwd);
  return rt_find_executable(a->process->args[0], a->process->env, exe, err);
}

static bool new_cgroup_ns(const struct oci_spec *spec) {
  const struct oci_namespace *ns = oci_spec_namespace(spec, OCI_NS_CGROUP);
  return ns && !ns->path;
}

/* After the join, so the namespace's root is the container's own cgroup. */
static int unshare_cgroup_ns(struct rt_init_args *a, struct berr **err) {
  if (new_cgroup_ns(a->spec) && unshare(CLONE_NEWCGROUP) < 0)
    return berr_sys(err, errno, "create cgroup namespace");
  return 0;
}

__attribute__((noreturn)) void rt_init_main(struct rt_init_args *a) {
  struct berr *err = NULL;
  struct rt_sync_msg m;
  /* No PDEATHSIG: our parent is the short-lived C1. If the runtime dies, our
   * sync socket reads EOF and we exit; on its errors it kills us by pid. */
  if (rt_sync_expect(a->sync_fd, SYNC_GO, &m, &err) < 0)
    init_fail(a, err);
  log_debug("init: go");
  pid_t host_pid = (pid_t)m.value;
  bool join_later = strcmp(m.text, SYNC_TEXT_JOIN_LATER) == 0;
  if (!a->is_exec && !join_later && unshare_cgroup_ns(a, &err) < 0)
    init_fail(a, err);
  if (!a->is_exec || a->process->terminal)
    setsid(); /* a new session: needed to take the pty as controlling terminal */
  _cleanup_free_ char *exe = NULL;
  if (a->is_exec) {
    if (a->process->terminal && rt_console_setup(a->console_fd, a->process, &err) < 0)
      init_fail(a, err);
    if (a->process->cwd && chdir(a->process->cwd) < 0) {
      berr_sys(&err, errno, "cwd: chdir %s", a->process->cwd);
      init_fail(a, err);
    }
    if (rt_find_executable(a->process->args[0], a->process->env, &exe, &err) < 0)
      init_fail(a, err);
    if (rt_finalize_and_exec(a, exe, &err) < 0)
      init_fail(a, err);
  }
  if (strcmp(m.text, SYNC_TEXT_HOOKS) == 0 &&
      (rt_sync_send(a->sync_fd, SYNC_HOOKS, 0, NULL) < 0 || rt_sync_expect(a->sync_fd, SYNC_GO, &m, &err) < 0))
    init_fail(a, err);
  if (setup_container(a, host_pid, &exe, &err) < 0)
    init_fail(a, err);
  if (join_later && (rt_sync_expect(a->sync_fd, SYNC_GO, &m, &err) < 0 || unshare_cgroup_ns(a, &err) < 0))
    init_fail(a, err);
  /* from here the runtime exits: nobody to report to */
  rt_sync_send(a->sync_fd, SYNC_READY, 0, NULL);
  closep(&a->sync_fd);
  if (wait_for_start(a->fifo_fd, &err) < 0)
    init_fail(a, err);
  log_debug("init: started");
  if (hook_state_run(a, OCI_HOOK_START_CONTAINER, host_pid, "running", &err) < 0)
    init_fail(a, err);
  rt_finalize_and_exec(a, exe, &err);
  init_fail(a, err);
}
