/*
 * exec.c — processes the runtime waits for: `run` in the foreground and `exec`.
 *
 * Both end the same way: the runtime is the child subreaper parent of the
 * container process, forwards the signals it receives to it, optionally
 * relays a pty it allocated itself (when there is a terminal but no
 * --console-socket, as runc does), and returns the exit status (code, or
 * 128 + signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

#include "runtime-internal.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};

static int open_signalfd(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaddset(&set, forwarded[i]);
  sigprocmask(SIG_BLOCK, &set, old);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void copy_some(int from, int to, bool *open_) {
  char buf[8192];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
      *open_ = false;
    return;
  }
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    off += w;
  }
}

static int status_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

static void resize_from_stdin(int master) {
  struct winsize ws;
  if (master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
    ioctl(master, TIOCSWINSZ, &ws);
}

/* Wait for pid (our child), forwarding signals and relaying master <-> stdio;
 * *status gets its exit status. */
static void wait_forwarding(pid_t pid, int master, int *status) {
  sigset_t old;
  _cleanup_close_ int sfd = open_signalfd(&old);
  struct termios saved;
  bool raw = master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
    resize_from_stdin(master);
  }
  bool in_open = master >= 0, out_open = master >= 0, done = false;
  int st0;
  /* a SIGCHLD that came before the signalfd existed is lost: check once by hand */
  if (waitpid(pid, &st0, WNOHANG) == pid) {
    *status = status_code(st0);
    done = true;
  }
  while (!done || out_open) {
    struct pollfd p[3] = {{sfd, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}, {out_open ? master : -1, POLLIN, 0}};
    if (done) /* drain what the pty still holds, without blocking */
      p[0].fd = p[1].fd = -1;
    if (poll(p, 3, done ? 0 : -1) <= 0) {
      if (done)
        break;
      continue;
    }
    if (p[2].revents)
      copy_some(master, 1, &out_open);
    if (p[1].revents)
      copy_some(0, master, &in_open);
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGWINCH)
          resize_from_stdin(master);
        else if (si.ssi_signo != SIGCHLD)
          kill(pid, (int)si.ssi_signo);
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0)
        if (w == pid) {
          *status = status_code(st);
          done = true;
        }
    }
  }
  if (raw)
    tcsetattr(0, TCSANOW, &saved);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A private "console socket": we receive the pty master ourselves. */
static int own_console(int *ours, int *theirs, struct berr **err) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    return berr_sys(err, errno, "socketpair");
  *ours = sp[0];
  *theirs = sp[1];
  return 0;
}

int rt_run(struct rt_context *ctx, const char *id, const struct rt_create_opts *o, int *status, struct berr **err) {
  _cleanup_close_ int ours = -1, master = -1;
  int theirs = -1;
  /* the terminal flag is in the config; create reads it, we only prepare the channel */
  if (!o->detach && !o->console_socket && own_console(&ours, &theirs, err) < 0)
    return -EIO;
  /* one state and spec for the whole run: create, start and delete share them */
  _cleanup_state_ struct rt_state *st = NULL;
  _cleanup_spec_ struct oci_spec *spec = NULL;
  int r = rt_create_internal(ctx, id, o, theirs, &st, &spec, err);
  if (r < 0)
    return r;
  pid_t pid = st->pid;
  if (spec->process->terminal && ours >= 0 && (r = rt_recv_fd(ours, &master, err)) < 0) {
    rt_delete_loaded(st, spec, true, NULL);
    return r;
  }
  if ((r = rt_start_loaded(st, spec, err)) < 0) {
    rt_delete_loaded(st, spec, true, NULL);
    return r;
  }
  if (o->detach) {
    *status = 0;
    return 0;
  }
  log_debug("run %s: started", id);
  wait_forwarding(pid, master, status);
  log_debug("run %s: exited with %d", id, *status);
  if (!o->keep)
    return rt_delete_loaded(st, spec, true, err);
  return 0;
}

/* ---- exec ---- */

static json_t *strv_to_json(char **v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static int parse_user(const char *s, json_t *user, struct berr **err) {
  unsigned long uid, gid;
  char *end;
  errno = 0;
  uid = strtoul(s, &end, 10);
  if (errno || end == s || (*end && *end != ':'))
    return berr_set(err, EINVAL, "--user %s: must be uid or uid:gid (numbers)", s);
  json_object_set_new(user, "uid", json_integer((json_int_t)uid));
  if (*end == ':') {
    const char *g = end + 1;
    gid = strtoul(g, &end, 10);
    if (*end || end == g)
      return berr_set(err, EINVAL, "--user %s: must be uid or uid:gid (numbers)", s);
    json_object_set_new(user, "gid", json_integer((json_int_t)gid));
  }
  return 0;
}

static void add_caps(json_t *proc, char **caps) {
  static const char *const sets[] = {"bounding", "effective", "permitted"};
  json_t *c = json_object_get(proc, "capabilities");
  if (!c) {
    c = json_object();
    json_object_set_new(proc, "capabilities", c);
  }
  for (size_t s = 0; s < 3; s++) {
    json_t *arr = json_object_get(c, sets[s]);
    if (!arr) {
      arr = json_array();
      json_object_set_new(c, sets[s], arr);
    }
    for (size_t i = 0; caps[i]; i++)
      json_array_append_new(arr, json_string(caps[i]));
  }
}

/* The exec'd process: --process FILE, or the container's process with the flags applied (as runc). */
static int exec_process_json(struct rt_state *st, const struct rt_exec_opts *o, json_t **out, struct berr **err) {
  if (o->process_file)
    return json_load_path(o->process_file, out, err);
  json_t *p = json_deep_copy(json_object_get(st->config, "process"));
  if (!p)
    p = json_object();
  json_object_set_new(p, "args", strv_to_json(o->args));
  json_object_set_new(p, "terminal", json_boolean(o->tty));
  json_t *env = json_object_get(p, "env");
  if (!json_is_array(env))
    json_object_set_new(p, "env", env = json_array());
  for (size_t i = 0; o->env && o->env[i]; i++)
    json_array_append_new(env, json_string(o->env[i]));
  if (o->cwd)
    json_object_set_new(p, "cwd", json_string(o->cwd));
  json_t *user = json_object_get(p, "user");
  if (!json_is_object(user))
    json_object_set_new(p, "user", user = json_pack("{s:i,s:i}", "uid", 0, "gid", 0));
  json_object_del(user, "additionalGids");
  if (o->user && parse_user(o->user, user, err) < 0) {
    json_decref(p);
    return -EINVAL;
  }
  if (o->n_additional_gids) {
    json_t *g = json_array();
    for (size_t i = 0; i < o->n_additional_gids; i++)
      json_array_append_new(g, json_integer(o->additional_gids[i]));
    json_object_set_new(user, "additionalGids", g);
  }
  if (o->caps)
    add_caps(p, o->caps);
  if (o->no_new_privs)
    json_object_set_new(p, "noNewPrivileges", json_true());
  json_object_del(p, "consoleSize");
  *out = p;
  return 0;
}

struct exec_job {
  struct oci_spec *spec;
  struct oci_process *proc;
  struct seccomp_filter *seccomp;
  int sync_parent, sync_child, console_fd, own_console;
};

static void exec_job_free(struct exec_job *j) {
  oci_spec_free(j->spec);
  oci_process_free(j->proc);
  seccomp_filter_free(j->seccomp);
  closep(&j->sync_parent);
  closep(&j->sync_child);
  closep(&j->console_fd);
  closep(&j->own_console);
}

static int exec_prepare(struct rt_state *st, const struct rt_exec_opts *o, struct exec_job *j, struct berr **err) {
  int r = oci_spec_parse(st->config, "saved config", &j->spec, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *pj = NULL;
  if ((r = exec_process_json(st, o, &pj, err)) < 0)
    return r;
  if ((r = oci_process_parse(pj, o->process_file ? o->process_file : "process", &j->proc, err)) < 0)
    return r;
  if (j->proc->caps && (r = caps_validate(j->proc->caps, err)) < 0)
    return r;
  const struct oci_linux *l = j->spec->linux_;
  if (l && l->seccomp) {
    _cleanup_free_ char *root = xstrdup(st->dir); /* <root>/<id> */
    char *slash = strrchr(root, '/');
    if (slash)
      *slash = '\0';
    if ((r = rt_seccomp_build(root, j->spec, &j->seccomp, err)) < 0)
      return r;
  }
  if (j->proc->terminal) {
    if (o->console_socket)
      r = rt_console_connect(o->console_socket, &j->console_fd, err);
    else if (o->detach)
      return berr_set(err, EINVAL, "cannot allocate tty if berth-runc will detach without setting console socket");
    else
      r = own_console(&j->own_console, &j->console_fd, err);
  }
  return r;
}

/* After SYNC_PID: cgroup, go, then EOF means execve succeeded (the sync fd is close-on-exec). */
static int exec_release(struct rt_state *st, struct exec_job *j, pid_t pid, struct berr **err) {
  int r = cgroup_add_pid(st->cgroup, pid, err);
  if (r < 0)
    return r;
  if (rt_sync_send(j->sync_parent, SYNC_GO, pid, NULL) < 0)
    return berr_set(err, EPIPE, "exec process exited early");
  struct rt_sync_msg m;
  r = rt_sync_recv(j->sync_parent, &m, err);
  if (r == -EPIPE) {
    berr_freep(err);
    return 0;
  }
  if (r < 0)
    return r;
  if (m.type == SYNC_ERROR)
    return berr_set(err, m.value > 0 ? m.value : EIO, "%s", m.text);
  return berr_set(err, EPROTO, "unexpected message %d from exec process", m.type);
}

static int exec_run(struct rt_state *st, const struct rt_exec_opts *o, struct exec_job *j, int *status,
                    struct berr **err) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return berr_sys(err, errno, "socketpair");
  j->sync_parent = sp[0];
  j->sync_child = sp[1];
  struct rt_init_args a = {.spec = j->spec, .process = j->proc, .sync_fd = j->sync_child, .fifo_fd = -1,
                           .console_fd = j->console_fd, .seccomp = j->seccomp, .is_exec = true,
                           .preserve_fds = o->preserve_fds, .join_pid = st->pid, .cgroup = st->cgroup};
  pid_t pid = 0;
  int r = rt_spawn(&a, &pid, j->sync_parent, err);
  closep(&j->sync_child);
  closep(&j->console_fd);
  if (r == 0)
    r = exec_release(st, j, pid, err);
  if (r < 0) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    return r;
  }
  _cleanup_close_ int master = -1;
  if (j->own_console >= 0 && (r = rt_recv_fd(j->own_console, &master, err)) < 0)
    return r;
  if (o->pid_file) {
    _cleanup_free_ char *text = xasprintf("%d", (int)pid);
    if ((r = write_file_replace(o->pid_file, text, strlen(text), 0644, err)) < 0)
      return r;
  }
  *status = 0;
  if (!o->detach)
    wait_forwarding(pid, master, status);
  return 0;
}

int rt_exec(struct rt_context *ctx, const char *id, const struct rt_exec_opts *o, int *status, struct berr **err) {
  _cleanup_state_ struct rt_state *st = NULL;
  int r = rt_state_load(ctx, id, &st, err);
  if (r < 0)
    return r;
  enum rt_status s = rt_state_status(st);
  if (s == RT_STOPPED)
    return berr_set(err, EINVAL, "cannot exec in a stopped container");
  if (s == RT_PAUSED)
    return berr_set(err, EINVAL, "cannot exec in a paused container");
  struct exec_job j = {.sync_parent = -1, .sync_child = -1, .console_fd = -1, .own_console = -1};
  r = exec_prepare(st, o, &j, err);
  if (r == 0)
    r = exec_run(st, o, &j, status, err);
  exec_job_free(&j);
  return r < 0 ? berr_wrap(err, "exec in %s", id) : 0;
}
