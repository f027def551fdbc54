/*
 * container.c — the lifecycle operations of runtime-spec runtime.md: create,
 * start, run, state, kill, delete, plus runc's pause, resume, update, ps, list.
 *
 * create is the only long one: validate everything that can be validated
 * before touching the host (config, rootfs, capabilities, seccomp, hooks), then
 * state dir -> cgroup -> exec.fifo -> init (rt_spawn) -> hooks -> ready, and on
 * any failure undo it in reverse (kill init, remove cgroup and state dir) so a
 * failed create leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "runtime-internal.h"

/* ---- create ---- */

struct create_job {
  struct rt_context *ctx;
  const char *id;
  const struct rt_create_opts *o;
  struct oci_spec *spec;
  char *bundle, *rootfs, *dir;
  struct rt_state *st;
  struct seccomp_filter *seccomp;
  int fifo_fd, console_fd, sync_parent, sync_child;
  pid_t pid;
  bool dir_made;
};

static int load_bundle(struct create_job *j, struct berr **err) {
  _cleanup_free_ char *cwd = get_current_dir_name();
  const char *b = j->o->bundle && *j->o->bundle ? j->o->bundle : cwd;
  j->bundle = realpath(b, NULL);
  if (!j->bundle)
    return berr_sys(err, errno, "bundle %s", b);
  _cleanup_free_ char *cfg = xasprintf("%s/config.json", j->bundle);
  int r = oci_spec_load(cfg, &j->spec, err);
  if (r < 0)
    return r;
  if (!j->spec->process)
    return berr_set(err, EINVAL, "config.json: process: missing (needed to create a container)");
  const char *rp = j->spec->root.path;
  _cleanup_free_ char *joined = rp[0] == '/' ? xstrdup(rp) : xasprintf("%s/%s", j->bundle, rp);
  struct stat st;
  if (stat(joined, &st) < 0 || !S_ISDIR(st.st_mode))
    return berr_set(err, ENOENT, "config.json: root.path: rootfs (%s) does not exist or is not a directory", joined);
  j->rootfs = realpath(joined, NULL);
  return j->rootfs ? 0 : berr_sys(err, errno, "root.path %s", joined);
}

static int validate_spec(struct create_job *j, struct berr **err) {
  const struct oci_spec *s = j->spec;
  int r;
  if (s->process->terminal && !j->o->console_socket && j->o->detach)
    return berr_set(err, EINVAL, "cannot allocate tty if berth-runc will detach without setting console socket");
  if (s->process->caps && (r = caps_validate(s->process->caps, err)) < 0)
    return r;
  if (s->linux_ && s->linux_->intel_rdt_clos)
    return berr_set(err, ENOTSUP, "config.json: linux.intelRdt is not supported");
  if ((r = rt_hooks_check(s, err)) < 0)
    return r;
  if (s->linux_ && s->linux_->seccomp &&
      (r = rt_seccomp_build(j->ctx->root, s, &j->seccomp, err)) < 0)
    return berr_wrap(err, "config.json: linux.seccomp");
  return 0;
}

int rt_seccomp_build(const char *root, const struct oci_spec *spec, struct seccomp_filter **out,
                     struct berr **err) {
  const json_t *raw = json_object_get(json_object_get(spec->raw, "linux"), "seccomp");
  /* a dot name: never a container id (rt_valid_id), skipped by list */
  _cleanup_free_ char *dir = root ? xasprintf("%s/.seccomp", root) : NULL;
  return seccomp_filter_build_cached(spec->linux_->seccomp, raw, dir, out, err);
}

/* runc's contract, which dockerd relies on: after the spec's device rules come an
 * allow rule for each linux.devices entry and the devices every container needs
 * (null, zero, full, random, urandom, tty, the pty master and slaves, tun, and
 * mknod of anything: the node is useless without a read/write rule). */
static void add_device_rule(struct oci_resources *r, char type, int64_t major, int64_t minor, const char *access) {
  r->devices = xrealloc(r->devices, (r->n_devices + 1) * sizeof *r->devices);
  r->devices[r->n_devices++] =
      (struct oci_device_cgroup){.allow = true, .type = type, .major = major, .minor = minor,
                                 .access = xstrdup(access)};
}

static void add_default_device_rules(struct oci_spec *spec) {
  static const struct {
    char type;
    int64_t major, minor;
    const char *access;
  } defaults[] = {
      {'c', -1, -1, "m"}, {'b', -1, -1, "m"},  {'c', 1, 3, "rwm"},  {'c', 1, 5, "rwm"},
      {'c', 1, 7, "rwm"}, {'c', 1, 8, "rwm"},  {'c', 1, 9, "rwm"},  {'c', 5, 0, "rwm"},
      {'c', 5, 1, "rwm"}, {'c', 5, 2, "rwm"},  {'c', 136, -1, "rwm"}, {'c', 10, 200, "rwm"},
  };
  if (!spec->linux_)
    return;
  struct oci_linux *l = spec->linux_;
  if (!l->resources)
    l->resources = xcalloc(1, sizeof *l->resources);
  for (size_t i = 0; i < l->n_devices; i++)
    if (l->devices[i].type != 'p')
      add_device_rule(l->resources, l->devices[i].type == 'b' ? 'b' : 'c', l->devices[i].major,
                      l->devices[i].minor, "rwm");
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
    add_device_rule(l->resources, defaults[i].type, defaults[i].major, defaults[i].minor, defaults[i].access);
}

/* The state's "owner": the user name of uid from /etc/passwd (no NSS: berth-runc is
 * linked statically, like runc), or "" when it has none. Caller frees. */
static char *owner_name(uid_t uid) {
  _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    char *colon1 = strchr(line, ':');
    char *colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;
    if (colon2 && strtoul(colon2 + 1, NULL, 10) == uid && colon2[1] != ':') {
      *colon1 = '\0';
      return xstrdup(line);
    }
  }
  return xstrdup("");
}

static int make_state_dir(struct create_job *j, struct berr **err) {
  int r = mkdir_p(j->ctx->root, 0700, err);
  if (r < 0)
    return berr_wrap(err, "state root");
  j->dir = rt_state_dir(j->ctx, j->id);
  if (mkdir(j->dir, 0700) < 0) {
    if (errno == EEXIST)
      return berr_set(err, EEXIST, "container with id exists: %s", j->id);
    return berr_sys(err, errno, "create state dir %s", j->dir);
  }
  j->dir_made = true;
  j->st = xcalloc(1, sizeof *j->st);
  j->st->id = xstrdup(j->id);
  j->st->dir = xstrdup(j->dir);
  j->st->bundle = xstrdup(j->bundle);
  j->st->rootfs = xstrdup(j->rootfs);
  j->st->created = time_now_rfc3339();
  j->st->owner = owner_name(getuid());
  j->st->config = json_incref(j->spec->raw);
  return 0;
}

static int make_fifo(struct create_job *j, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("%s/exec.fifo", j->dir);
  if (mkfifo(path, 0600) < 0)
    return berr_sys(err, errno, "mkfifo %s", path);
  /* read-write: the init's read() then blocks until `start` writes, whether or
   * not anyone else has the fifo open */
  j->fifo_fd = open(path, O_RDWR | O_CLOEXEC);
  return j->fifo_fd < 0 ? berr_sys(err, errno, "open %s", path) : 0;
}

static int write_pid_file(const char *path, pid_t pid, struct berr **err) {
  if (!path)
    return 0;
  _cleanup_free_ char *text = xasprintf("%d", (int)pid);
  return write_file_replace(path, text, strlen(text), 0644, err);
}

static int set_oom_score(const struct oci_process *p, pid_t pid, struct berr **err) {
  if (!p->oom_score_adj.set)
    return 0;
  _cleanup_free_ char *path = xasprintf("/proc/%d/oom_score_adj", (int)pid);
  _cleanup_free_ char *v = xasprintf("%lld", (long long)p->oom_score_adj.v);
  int r = write_file(path, v, strlen(v), err);
  return r < 0 ? berr_wrap(err, "process.oomScoreAdj") : 0;
}

static int run_runtime_hooks(struct create_job *j, struct berr **err) {
  _cleanup_json_ json_t *state = rt_state_json(j->st, RT_CREATING);
  json_object_set_new(state, "pid", json_integer(j->pid));
  int r = rt_hooks_run(j->spec, OCI_HOOK_PRESTART, state, err);
  if (r == 0)
    r = rt_hooks_run(j->spec, OCI_HOOK_CREATE_RUNTIME, state, err);
  return r;
}

static int join_cgroup(struct create_job *j, struct berr **err) {
  int r = cgroup_add_pid(j->st->cgroup, j->pid, err);
  return r < 0 ? r : set_oom_score(j->spec->process, j->pid, err);
}

/* Moving a process between cgroups can cost an RCU grace period (~1.5 ms on v1).
 * The init's mounts do not need the cgroup, so the two can overlap, the init
 * waiting for the join before it reports ready and before it unshares its cgroup
 * namespace. Not when a hook could see the order, nor when a cgroup2 mount must be
 * made inside the new cgroup namespace during the mounts. */
static bool join_cgroup_later(const struct create_job *j) {
  for (int k = 0; k < OCI_HOOK_KINDS; k++)
    if (k != OCI_HOOK_POSTSTART && k != OCI_HOOK_POSTSTOP && j->spec->hooks.n[k])
      return false;
  const struct oci_namespace *cgns = oci_spec_namespace(j->spec, OCI_NS_CGROUP);
  return !(j->st->cgroup->mode == CGROUP_MODE_V2 && cgns && !cgns->path);
}

static int start_init(struct create_job *j, struct berr **err) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return berr_sys(err, errno, "socketpair");
  j->sync_parent = sp[0];
  j->sync_child = sp[1];
  _cleanup_json_ json_t *hook_state = rt_state_json(j->st, RT_CREATING);
  struct rt_init_args a = {
      .spec = j->spec,
      .process = j->spec->process,
      .rootfs = j->rootfs,
      .sync_fd = j->sync_child,
      .fifo_fd = j->fifo_fd,
      .console_fd = j->console_fd,
      .seccomp = j->seccomp,
      .no_pivot = j->o->no_pivot,
      .no_new_keyring = j->o->no_new_keyring,
      .preserve_fds = j->o->preserve_fds,
      .cgroup = j->st->cgroup,
      .hook_state = hook_state,
  };
  if (chdir(j->bundle) < 0) /* relative bind-mount sources are relative to the bundle */
    return berr_sys(err, errno, "chdir %s", j->bundle);
  int r = rt_spawn(&a, &j->pid, j->sync_parent, err);
  closep(&j->sync_child);
  closep(&j->fifo_fd);
  closep(&j->console_fd);
  if (r < 0)
    return r;
  log_debug("create %s: init is pid %d", j->id, (int)j->pid);
  struct rt_sync_msg m;
  /* the init stops once more for prestart/createRuntime hooks only if there are any */
  bool hooks = j->spec->hooks.n[OCI_HOOK_PRESTART] || j->spec->hooks.n[OCI_HOOK_CREATE_RUNTIME];
  bool later = join_cgroup_later(j);
  if (!later && (r = join_cgroup(j, err)) < 0)
    return r;
  if (rt_sync_send(j->sync_parent, SYNC_GO, j->pid, hooks ? SYNC_TEXT_HOOKS : later ? SYNC_TEXT_JOIN_LATER : NULL) < 0)
    return berr_set(err, EPIPE, "container init exited early");
  if (hooks) {
    if ((r = rt_sync_expect(j->sync_parent, SYNC_HOOKS, &m, err)) < 0)
      return r;
    if ((r = run_runtime_hooks(j, err)) < 0)
      return r;
    rt_sync_send(j->sync_parent, SYNC_GO, j->pid, NULL);
  }
  if (later) {
    log_debug("create %s: joining cgroup", j->id);
    if ((r = join_cgroup(j, err)) < 0)
      return r;
    log_debug("create %s: joined cgroup", j->id);
    rt_sync_send(j->sync_parent, SYNC_GO, j->pid, NULL);
  }
  return rt_sync_expect(j->sync_parent, SYNC_READY, &m, err);
}

static void wait_gone(pid_t pid, int ms) {
  for (int i = 0; i < ms; i += 5) {
    bool zombie = false;
    if (waitpid(pid, NULL, WNOHANG) == pid || rt_proc_start_time(pid, &zombie) == 0 || zombie)
      return;
    poll(NULL, 0, 5);
  }
}

static void create_undo(struct create_job *j) {
  if (j->pid > 0) {
    kill(j->pid, SIGKILL);
    wait_gone(j->pid, 2000);
  }
  if (j->st && j->st->cgroup) {
    cgroup_kill_all(j->st->cgroup, SIGKILL, NULL);
    cgroup_destroy(j->st->cgroup, NULL);
  }
  if (j->dir_made)
    rm_rf(j->dir, NULL);
}

static void create_job_free(struct create_job *j) {
  closep(&j->fifo_fd);
  closep(&j->console_fd);
  closep(&j->sync_parent);
  closep(&j->sync_child);
  seccomp_filter_free(j->seccomp);
  oci_spec_free(j->spec);
  rt_state_free(j->st);
  free(j->bundle);
  free(j->rootfs);
  free(j->dir);
}

static int do_create(struct create_job *j, struct berr **err) {
  int r;
  if (!rt_valid_id(j->id))
    return berr_set(err, EINVAL, "invalid container id format: %s", j->id);
  if ((r = load_bundle(j, err)) < 0)
    return r;
  log_debug("create %s: config parsed", j->id);
  if ((r = validate_spec(j, err)) < 0 || (r = make_state_dir(j, err)) < 0)
    return r;
  log_debug("create %s: config loaded, state dir made", j->id);
  add_default_device_rules(j->spec);
  const struct oci_linux *l = j->spec->linux_;
  if ((r = cgroup_create(l ? l->cgroups_path : NULL, j->id, &j->st->cgroup, err)) < 0)
    return r;
  if (l && l->resources && (r = cgroup_apply(j->st->cgroup, l->resources, err)) < 0)
    return r;
  log_debug("create %s: cgroup ready", j->id);
  if ((r = make_fifo(j, err)) < 0)
    return r;
  if (j->spec->process->terminal && j->console_fd < 0 && j->o->console_socket &&
      (r = rt_console_connect(j->o->console_socket, &j->console_fd, err)) < 0)
    return r;
  if ((r = start_init(j, err)) < 0)
    return r;
  log_debug("create %s: init %d ready", j->id, (int)j->pid);
  j->st->pid = j->pid;
  j->st->start_time = rt_proc_start_time(j->pid, NULL);
  if ((r = rt_state_save(j->st, err)) < 0)
    return r;
  log_debug("create %s: state saved", j->id);
  return write_pid_file(j->o->pid_file, j->pid, err);
}

/* console_fd: an already connected console channel (run's own pty), or -1 (taken over). */
int rt_create_internal(struct rt_context *ctx, const char *id, const struct rt_create_opts *o, int console_fd,
                       struct rt_state **st_out, struct oci_spec **spec_out, struct berr **err) {
  struct create_job j = {.ctx = ctx, .id = id, .o = o, .fifo_fd = -1, .console_fd = console_fd,
                         .sync_parent = -1, .sync_child = -1};
  int r = do_create(&j, err);
  if (r < 0) {
    create_undo(&j);
    berr_wrap(err, "create %s", id);
  } else {
    if (st_out)
      *st_out = steal_ptr(j.st);
    if (spec_out)
      *spec_out = steal_ptr(j.spec);
  }
  create_job_free(&j);
  return r;
}

int rt_create(struct rt_context *ctx, const char *id, const struct rt_create_opts *o, struct berr **err) {
  return rt_create_internal(ctx, id, o, -1, NULL, NULL, err);
}

/* ---- start / state / kill ---- */

static int spec_of(struct rt_state *st, struct oci_spec **spec, struct berr **err) {
  if (!st->config)
    return berr_set(err, EINVAL, "state of %s has no config", st->id);
  return oci_spec_parse(st->config, "saved config", spec, err);
}

/* Opening a fifo for writing without blocking fails with ENXIO once nobody has it
 * open for reading: the init holds it (O_RDWR, close-on-exec) until its execve. */
static void wait_fifo_unread(const char *fifo, pid_t pid) {
  for (int waited_us = 0, step = 50; waited_us < 10 * 1000 * 1000; waited_us += step) {
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      return; /* ENXIO: exec'd (or gone) */
    close(fd);
    if (kill(pid, 0) < 0)
      return;
    usleep((useconds_t)step);
    if (step < 2000)
      step *= 2;
  }
}

int rt_start_loaded(struct rt_state *st, const struct oci_spec *spec, struct berr **err) {
  const char *id = st->id;
  enum rt_status s = rt_state_status(st);
  log_debug("start %s: status %s", id, rt_status_names[s]);
  if (s == RT_STOPPED)
    return berr_set(err, EINVAL, "cannot start a container that has stopped");
  if (s != RT_CREATED)
    return berr_set(err, EINVAL, "cannot start an already running container");
  _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
  _cleanup_close_ int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "start %s: open %s", id, fifo);
  if (write(fd, "0", 1) != 1)
    return berr_sys(err, errno, "start %s: write %s", id, fifo);
  /* poststart hooks run after the user's process has started (runtime.md): wait
   * for the init's execve, which closes its end of the fifo */
  if (spec->hooks.n[OCI_HOOK_POSTSTART])
    wait_fifo_unread(fifo, st->pid);
  unlink(fifo);
  if (spec->hooks.n[OCI_HOOK_POSTSTART]) {
    _cleanup_json_ json_t *state = rt_state_json(st, RT_RUNNING);
    _cleanup_berr_ struct berr *herr = NULL;
    if (rt_hooks_run(spec, OCI_HOOK_POSTSTART, state, &herr) < 0)
      log_warn("start %s: %s", id, herr->msg); /* spec: poststart failures only warn */
  }
  return 0;
}

int rt_start(struct rt_context *ctx, const char *id, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  _cleanup_spec_ struct oci_spec *spec = NULL;
  int r = rt_state_load(ctx, id, &st, err);
  if (r == 0 && (r = spec_of(st, &spec, err)) < 0)
    berr_wrap(err, "start %s", id);
  return r < 0 ? r : rt_start_loaded(st, spec, err);
}

int rt_state(struct rt_context *ctx, const char *id, json_t **out, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  int r = rt_state_load(ctx, id, &st, err);
  if (r < 0)
    return r;
  *out = rt_state_json(st, rt_state_status(st));
  return 0;
}

int rt_kill(struct rt_context *ctx, const char *id, int sig, bool all, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  int r = rt_state_load(ctx, id, &st, err);
  if (r < 0)
    return r;
  if (rt_state_status(st) == RT_STOPPED && !all)
    return berr_set(err, ESRCH, "container not running");
  if (all && st->cgroup)
    return cgroup_kill_all(st->cgroup, sig, err);
  if (kill(st->pid, sig) < 0)
    return berr_sys(err, errno, "kill %s (pid %d)", id, (int)st->pid);
  return 0;
}

/* ---- delete ---- */

static int destroy(struct rt_state *st, const struct oci_spec *known, struct berr **err) {
  if (st->cgroup) {
    /* stray exec'd processes (a container without its own pid ns) — freezing to
     * kill them costs milliseconds, so only when there are any */
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (cgroup_pids(st->cgroup, &pids, &n, NULL) == 0 && n > 0)
      cgroup_kill_all(st->cgroup, SIGKILL, NULL);
    int r = cgroup_destroy(st->cgroup, err);
    log_debug("delete %s: cgroup removed", st->id);
    if (r < 0)
      return berr_wrap(err, "delete %s", st->id);
  }
  int r = rm_rf(st->dir, err);
  if (r < 0)
    return berr_wrap(err, "delete %s", st->id);
  _cleanup_spec_ struct oci_spec *parsed = NULL;
  const struct oci_spec *spec = known;
  if (!spec && spec_of(st, &parsed, NULL) == 0)
    spec = parsed;
  if (spec && spec->hooks.n[OCI_HOOK_POSTSTOP]) {
    _cleanup_json_ json_t *state = rt_state_json(st, RT_STOPPED);
    _cleanup_berr_ struct berr *herr = NULL;
    if (rt_hooks_run(spec, OCI_HOOK_POSTSTOP, state, &herr) < 0)
      log_warn("delete %s: %s", st->id, herr->msg);
  }
  return 0;
}

int rt_delete_loaded(struct rt_state *st, const struct oci_spec *spec, bool force, struct berr **err) {
  const char *id = st->id;
  enum rt_status s = rt_state_status(st);
  if ((s == RT_RUNNING || s == RT_PAUSED) && !force)
    return berr_set(err, EBUSY, "cannot delete container %s that is not stopped: %s", id, rt_status_names[s]);
  if (s != RT_STOPPED) {
    if (st->cgroup)
      cgroup_kill_all(st->cgroup, SIGKILL, NULL);
    kill(st->pid, SIGKILL);
    if (s == RT_PAUSED && st->cgroup)
      cgroup_freeze(st->cgroup, false, NULL);
    wait_gone(st->pid, 10000);
  }
  return destroy(st, spec, err);
}

int rt_delete(struct rt_context *ctx, const char *id, bool force, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  int r = rt_state_load(ctx, id, &st, err);
  return r < 0 ? r : rt_delete_loaded(st, NULL, force, err);
}

/* ---- pause / resume / update / ps / list ---- */

static int load_with_status(struct rt_context *ctx, const char *id, struct rt_state **st, enum rt_status *s,
                            struct berr **err) {
  int r = rt_state_load(ctx, id, st, err);
  if (r < 0)
    return r;
  *s = rt_state_status(*st);
  if (!(*st)->cgroup)
    return berr_set(err, EINVAL, "container %s has no cgroup", id);
  return 0;
}

int rt_pause(struct rt_context *ctx, const char *id, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  enum rt_status s;
  int r = load_with_status(ctx, id, &st, &s, err);
  if (r < 0)
    return r;
  if (s != RT_RUNNING && s != RT_CREATED)
    return berr_set(err, EINVAL, "container not running");
  return cgroup_freeze(st->cgroup, true, err);
}

int rt_resume(struct rt_context *ctx, const char *id, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  enum rt_status s;
  int r = load_with_status(ctx, id, &st, &s, err);
  if (r < 0)
    return r;
  if (s != RT_PAUSED)
    return berr_set(err, EINVAL, "container not paused");
  return cgroup_freeze(st->cgroup, false, err);
}

int rt_update(struct rt_context *ctx, const char *id, const struct oci_resources *res, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  enum rt_status s;
  int r = load_with_status(ctx, id, &st, &s, err);
  if (r < 0)
    return r;
  if (s == RT_STOPPED)
    return berr_set(err, EINVAL, "container %s is not running", id);
  r = cgroup_apply(st->cgroup, res, err);
  return r < 0 ? berr_wrap(err, "update %s", id) : 0;
}

int rt_ps(struct rt_context *ctx, const char *id, pid_t **pids, size_t *n, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  enum rt_status s;
  int r = load_with_status(ctx, id, &st, &s, err);
  if (r < 0)
    return r;
  if (s == RT_STOPPED) {
    *pids = NULL;
    *n = 0;
    return 0;
  }
  return cgroup_pids(st->cgroup, pids, n, err);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int rt_list(struct rt_context *ctx, json_t **out, struct berr **err) {
  json_t *arr = json_array();
  _cleanup_closedir_ DIR *d = opendir(ctx->root);
  if (!d) {
    *out = arr;
    return errno == ENOENT ? 0 : berr_sys(err, errno, "open %s", ctx->root);
  }
  _cleanup_strv_ char **names = NULL;
  for (struct dirent *de; (de = readdir(d));)
    if (de->d_name[0] != '.' && rt_valid_id(de->d_name))
      names = strv_append(names, xstrdup(de->d_name));
  if (names)
    qsort(names, strv_len(names), sizeof *names, cmp_str);
  for (size_t i = 0; names && names[i]; i++) {
    _cleanup_state_ struct rt_state *st = NULL;
    if (rt_state_load(ctx, names[i], &st, NULL) < 0)
      continue; /* a container being created or deleted right now */
    json_array_append_new(arr, rt_state_json(st, rt_state_status(st)));
  }
  *out = arr;
  return 0;
}
