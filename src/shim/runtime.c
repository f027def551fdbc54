/*
 * runtime.c — berth-shim's calls of the OCI runtime (berth-runc, runc, crun):
 * `create` / `exec --detach` with the process's stdio, and the short
 * commands (start, kill, delete), plus the memory cgroup's OOM count.
 *
 * Every call is `<runtime> --root R --log <state>/runtime.log --log-format json
 * <command> …` (berth-runc's `start` can be done without it: shim_rt_start),
 * run with posix_spawn and waited for synchronously: the commands are short
 * and the shim has nothing else to do meanwhile (output waits in the pipes).
 * On failure the message is the runtime's own — the last {"level":"error",
 * "msg":…} line it appended to runtime.log (as containerd reads it), else what
 * it printed on stderr — passed up unchanged.
 *
 * With a tty the runtime connects to <state>/console.sock and sends the pty
 * master with SCM_RIGHTS (runc's --console-socket contract). The listener
 * queues the connection, so it is accepted after the runtime has exited.
 * The shim's cwd is its state dir (server.c), so a state dir too long for
 * sun_path is reached as /proc/<shim pid>/cwd/console.sock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "shim/shim_internal.h"

extern char **environ;

/* ---------- running the runtime ---------- */

static char **rt_argv(struct shim *s) {
  char **v = NULL;
  v = strv_append(v, xstrdup(s->o.runtime));
  if (s->o.runtime_root) {
    v = strv_append(v, xstrdup("--root"));
    v = strv_append(v, xstrdup(s->o.runtime_root));
  }
  v = strv_append(v, xstrdup("--log"));
  v = strv_append(v, xasprintf("%s/runtime.log", s->o.state_dir));
  v = strv_append(v, xstrdup("--log-format"));
  v = strv_append(v, xstrdup("json"));
  return v;
}

/* Spawn argv with stdio fds (-1: /dev/null), signals as a fresh process has them. */
static int rt_spawn(char **argv, const int stdio[3], pid_t *pid, struct berr **err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  for (int i = 0; i < 3; i++) {
    if (stdio[i] >= 0)
      posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
    else
      posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  int r = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0)
    return berr_sys(err, r, "run runtime %s", argv[0]);
  return 0;
}

static int rt_waitpid(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return -1;
  }
  return status;
}

static int64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The last error message the runtime logged after byte `from`, or NULL. */
static char *rt_log_error(struct shim *s, int64_t from) {
  _cleanup_free_ char *path = xasprintf("%s/runtime.log", s->o.state_dir);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (f == NULL || fseeko(f, from, SEEK_SET) < 0)
    return NULL;
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  char *msg = NULL;
  while (getline(&line, &cap, f) > 0) {
    _cleanup_json_ json_t *o = json_loads(line, 0, NULL);
    const char *lvl = json_string_value(json_object_get(o, "level"));
    const char *m = json_string_value(json_object_get(o, "msg"));
    if (lvl && m && (strcmp(lvl, "error") == 0 || strcmp(lvl, "fatal") == 0)) {
      free(msg);
      msg = xstrdup(m);
    }
  }
  return msg;
}

/* Whatever is readable now on fd (non-blocking), trimmed; NULL if nothing. */
static char *drain_text(int fd) {
  if (fd < 0)
    return NULL;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  char buf[4096];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || (n += (size_t)r) >= sizeof buf - 1)
      break;
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    n--;
  buf[n] = '\0';
  return n ? xstrdup(buf) : NULL;
}

static int rt_failed(struct shim *s, const char *cmd, int status, int64_t log_from, int stderr_fd,
                     struct berr **err) {
  _cleanup_free_ char *msg = rt_log_error(s, log_from);
  if (msg == NULL)
    msg = drain_text(stderr_fd);
  if (msg == NULL) {
    if (WIFSIGNALED(status))
      msg = xasprintf("runtime %s %s: killed by signal %d", s->o.runtime, cmd, WTERMSIG(status));
    else
      msg = xasprintf("runtime %s %s: exit status %d", s->o.runtime, cmd, WEXITSTATUS(status));
  }
  return berr_set(err, EIO, "%s", msg);
}

int shim_rt_simple(struct shim *s, const char *const *args, struct berr **err) {
  _cleanup_strv_ char **argv = rt_argv(s);
  for (size_t i = 0; args[i]; i++)
    argv = strv_append(argv, xstrdup(args[i]));
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "pipe");
  _cleanup_close_ int rd = p[0], wr = p[1];
  _cleanup_free_ char *logp = xasprintf("%s/runtime.log", s->o.state_dir);
  int64_t from = file_size(logp);
  pid_t pid;
  int r = rt_spawn(argv, (int[3]){-1, -1, wr}, &pid, err);
  closep(&wr);
  if (r < 0)
    return r;
  /* stderr to EOF first (a chatty runtime must not block on a full pipe) */
  char buf[4096];
  size_t n = 0;
  for (;;) {
    char tmp[1024];
    ssize_t k = read(rd, tmp, sizeof tmp);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    size_t take = (size_t)k < sizeof buf - 1 - n ? (size_t)k : sizeof buf - 1 - n;
    memcpy(buf + n, tmp, take);
    n += take;
  }
  int status = rt_waitpid(pid);
  if (status == 0)
    return 0;
  buf[n] = '\0';
  _cleanup_free_ char *msg = rt_log_error(s, from);
  if (msg == NULL) {
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
      buf[--n] = '\0';
    msg = n ? xstrdup(buf) : xasprintf("runtime %s %s: exit status %d", s->o.runtime, args[0],
                                       status > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  log_warn("%s: %s", args[0], msg);
  return berr_set(err, EIO, "%s", msg);
}

/* berth-runc's `start` is "write one byte into <root>/<id>/exec.fifo, unlink
 * it" (the init holds the fifo open read-write and blocks reading it; the
 * state is derived from the fifo's presence, so `state` says "running" once
 * it is gone). With direct_start (berthd sets it for berth-runc and a spec
 * without poststart hooks, which only `start` can run) the shim does that
 * itself and saves an exec of the runtime (~3-4 ms). The open is
 * non-blocking: without a reader (the init is gone) it fails with ENXIO, and
 * any failure falls back to the runtime's own `start`, whose message says why. */
static int direct_start(struct shim *s) {
  _cleanup_free_ char *fifo = xasprintf("%s/%s/exec.fifo", s->o.runtime_root, s->o.id);
  _cleanup_close_ int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (write(fd, "0", 1) != 1)
    return -EIO;
  unlink(fifo);
  return 0;
}

int shim_rt_start(struct shim *s, struct berr **err) {
  if (s->o.direct_start && s->o.runtime_root && !s->exited) {
    int r = direct_start(s);
    if (r == 0)
      return 0;
    log_debug("start %s: exec.fifo: %s; running the runtime's start", s->o.id, strerror(-r));
  }
  const char *args[] = {"start", s->o.id, NULL};
  return shim_rt_simple(s, args, err);
}

/* `delete` of an exited container after the DELETE reply has gone out
 * (req_delete): berthd may already be removing the state dir, so nothing here
 * may need it. The runtime logs to `log_fd` (runtime.log, opened before the
 * reply) through /proc/self/fd/2, and a failure goes to the shim's own log. */
void shim_rt_delete_detached(struct shim *s, int log_fd) {
  _cleanup_strv_ char **argv = NULL;
  argv = strv_append(argv, xstrdup(s->o.runtime));
  if (s->o.runtime_root) {
    argv = strv_append(argv, xstrdup("--root"));
    argv = strv_append(argv, xstrdup(s->o.runtime_root));
  }
  const char *rest[] = {"--log", "/proc/self/fd/2", "--log-format", "json", "delete", s->o.id, NULL};
  for (size_t i = 0; rest[i]; i++)
    argv = strv_append(argv, xstrdup(rest[i]));
  _cleanup_berr_ struct berr *e = NULL;
  pid_t pid;
  if (rt_spawn(argv, (int[3]){-1, -1, log_fd}, &pid, &e) < 0) {
    log_warn("delete %s: %s", s->o.id, e->msg);
    return;
  }
  int status = rt_waitpid(pid);
  if (status != 0)
    log_warn("delete %s: runtime exit status %d (see runtime.log)", s->o.id,
             status > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---------- the console socket ---------- */

static char *console_path(struct shim *s) {
  char *p = xasprintf("%s/console.sock", s->o.state_dir);
  if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    free(p);
    p = xasprintf("/proc/%d/cwd/console.sock", (int)getpid());
  }
  return p;
}

static int console_listen(struct berr **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, "console.sock"); /* relative to the state dir, our cwd */
  unlink(sa.sun_path);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return berr_sys(err, errno, "console socket");
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0)
    return berr_sys(err, errno, "console socket: bind");
  return move_fd(&fd);
}

/* The pty master the runtime sent (it has exited: the message is queued). */
static int console_receive(int lfd, struct berr **err) {
  _cleanup_close_ int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0)
    return berr_sys(err, errno, "console socket: the runtime sent no terminal");
  char name[256];
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct iovec iov = {name, sizeof name};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  do
    r = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return berr_sys(err, errno, "console socket: receive");
  struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
  if (h == NULL || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
    return berr_set(err, EPROTO, "console socket: no terminal in the runtime's message");
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
  return fd;
}

static void set_winsize(int fd, int height, int width) {
  if (height <= 0 || width <= 0)
    return;
  struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
    log_warn("resize the terminal: %s", strerror(errno));
}

/* ---------- create / exec ---------- */

struct stdio_pipes {
  int in_r, in_w, out_r, out_w, err_r, err_w;
};

static void pipes_close(struct stdio_pipes *p) {
  closep(&p->in_r);
  closep(&p->in_w);
  closep(&p->out_r);
  closep(&p->out_w);
  closep(&p->err_r);
  closep(&p->err_w);
}

static int make_pipes(struct shim *s, struct stdio_pipes *p, struct berr **err) {
  int a[2], b[2], c[2];
  if (pipe2(b, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "pipe");
  p->err_r = b[0], p->err_w = b[1];
  if (s->tty)
    return 0; /* the runtime's stderr only, to read its errors */
  if (pipe2(a, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "pipe");
  p->out_r = a[0], p->out_w = a[1];
  if (s->o.open_stdin) {
    if (pipe2(c, O_CLOEXEC) < 0)
      return berr_sys(err, errno, "pipe");
    p->in_r = c[0], p->in_w = c[1];
  }
  return 0;
}

static char **create_argv(struct shim *s, const char *console) {
  char **v = rt_argv(s);
  if (s->o.exec_id) {
    v = strv_append(v, xstrdup("exec"));
    v = strv_append(v, xstrdup("--process"));
    v = strv_append(v, xstrdup(s->o.process_json));
    v = strv_append(v, xstrdup("--detach"));
  } else {
    v = strv_append(v, xstrdup("create"));
    v = strv_append(v, xstrdup("--bundle"));
    v = strv_append(v, xstrdup(s->o.bundle));
  }
  v = strv_append(v, xstrdup("--pid-file"));
  v = strv_append(v, xasprintf("%s/init.pid", s->o.state_dir));
  if (console) {
    v = strv_append(v, xstrdup("--console-socket"));
    v = strv_append(v, xstrdup(console));
  }
  v = strv_append(v, xstrdup(s->o.id));
  return v;
}

static int read_pid_file(struct shim *s, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("%s/init.pid", s->o.state_dir);
  _cleanup_free_ char *txt = NULL;
  int64_t v;
  int r = read_file(path, &txt, NULL, err);
  if (r < 0)
    return r;
  txt[strcspn(txt, "\n")] = '\0';
  if (parse_int64(txt, &v) < 0 || v <= 0)
    return berr_set(err, EINVAL, "runtime wrote no pid to %s", path);
  s->pid = (pid_t)v;
  return 0;
}

int shim_rt_create(struct shim *s, struct berr **err) {
  const char *cmd = s->o.exec_id ? "exec" : "create";
  struct stdio_pipes p = {-1, -1, -1, -1, -1, -1};
  _cleanup_close_ int lfd = -1;
  _cleanup_free_ char *console = NULL;
  int r = make_pipes(s, &p, err);
  if (r == 0 && s->tty && (lfd = r = console_listen(err)) >= 0) {
    r = 0;
    console = console_path(s);
  }
  _cleanup_strv_ char **argv = r == 0 ? create_argv(s, console) : NULL;
  _cleanup_free_ char *logp = xasprintf("%s/runtime.log", s->o.state_dir);
  int64_t from = file_size(logp);
  pid_t pid = 0;
  if (r == 0)
    r = rt_spawn(argv, (int[3]){p.in_r, p.out_w, p.err_w}, &pid, err);
  closep(&p.in_r);
  closep(&p.out_w);
  closep(&p.err_w);
  if (r < 0) {
    pipes_close(&p);
    return r;
  }
  int status = rt_waitpid(pid);
  if (status != 0) {
    r = rt_failed(s, cmd, status, from, p.err_r, err);
    pipes_close(&p);
    unlink("console.sock");
    return r;
  }
  if (s->tty) {
    int m = console_receive(lfd, err);
    unlink("console.sock");
    if (m < 0) {
      pipes_close(&p);
      return m;
    }
    closep(&p.err_r);
    p.out_r = m;
    p.in_w = fcntl(m, F_DUPFD_CLOEXEC, 0);
    set_winsize(m, s->o.height, s->o.width);
  }
  if ((r = read_pid_file(s, err)) < 0) {
    pipes_close(&p);
    return r;
  }
  s->out_fd = move_fd(&p.out_r);
  s->err_fd = move_fd(&p.err_r);
  s->in_fd = move_fd(&p.in_w);
  pipes_close(&p);
  return 0;
}

/* ---------- OOM ---------- */

static int64_t oom_count(const char *file) {
  _cleanup_free_ char *txt = NULL;
  if (file == NULL || read_file(file, &txt, NULL, NULL) < 0)
    return -1;
  /* memory.events (v2) and memory.oom_control (v1, kernel >= 4.13) both have "oom_kill N" */
  for (char *l = txt; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    if (str_has_prefix(l, "oom_kill "))
      return strtoll(l + 9, NULL, 10);
  }
  return -1;
}

void shim_oom_watch(struct shim *s) {
  _cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int)s->pid);
  _cleanup_free_ char *txt = NULL;
  if (read_file(path, &txt, NULL, NULL) < 0)
    return;
  char *v1 = NULL, *v2 = NULL;
  for (char *l = strtok(txt, "\n"); l; l = strtok(NULL, "\n")) {
    char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = '\0';
    if (strcmp(c1 + 1, "") == 0 && strcmp(l, "0:") == 0)
      v2 = c2 + 1;
    else if (strstr(c1 + 1, "memory") && (strcmp(c1 + 1, "memory") == 0 || strstr(c1 + 1, ",memory") ||
                                          str_has_prefix(c1 + 1, "memory,")))
      v1 = c2 + 1;
  }
  /* a v1 memory controller wins (hybrid hosts have both lines) */
  if (v1)
    s->oom_file = xasprintf("/sys/fs/cgroup/memory%s/memory.oom_control", v1);
  else if (v2 && path_exists("/sys/fs/cgroup/cgroup.controllers"))
    s->oom_file = xasprintf("/sys/fs/cgroup%s/memory.events", v2);
  s->oom_base = oom_count(s->oom_file);
  log_debug("oom watch: %s (oom_kill %lld)", s->oom_file ? s->oom_file : "none", (long long)s->oom_base);
}

bool shim_oom_happened(struct shim *s) {
  int64_t now = oom_count(s->oom_file);
  return now > 0 && now > s->oom_base;
}
