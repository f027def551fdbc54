/*
 * client.c — berthd's side of berth-shim: spawning a shim and talking to it.
 *
 * shim_spawn is safe in a multi-threaded daemon: the argv is built before
 * posix_spawn (no allocation in the child), the shim is started in a new
 * session (POSIX_SPAWN_SETSID) and forks once more itself, so berthd reaps
 * its direct child at once and the shim is nobody's child of ours. The shim
 * reports on the "ready" pipe (its fd 3, --ready-fd 3) one JSON object,
 * {"pid":N} or {"error":"…"}, and closes it only when it is serving (or,
 * after an error, when it exits): reading to EOF is the synchronisation.
 *
 * Socket paths: sun_path holds 107 bytes and a state dir under a long
 * exec-root can be longer, so a long <state>/shim.sock is reached through
 * /proc/self/fd/<dir fd>/shim.sock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "shim/shim.h"

extern char **environ;

/* ---------- connecting and calling ---------- */

int shim_connect(const char *state_dir, struct berr **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  _cleanup_close_ int dirfd = -1;
  int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/shim.sock", state_dir);
  if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
    dirfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
      return berr_sys(err, errno, "connect to shim %s", state_dir);
    snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/shim.sock", dirfd);
  }
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berr_sys(err, errno, "connect to shim %s: socket", state_dir);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return berr_sys(err, errno, "connect to shim %s/shim.sock", state_dir);
  return move_fd(&fd);
}

int shim_call(int fd, enum shim_msg_type type, json_t *payload, json_t **reply, struct berr **err) {
  _cleanup_json_ json_t *p = payload ? payload : json_object();
  _cleanup_free_ char *body = json_dump_compact(p);
  int r = shim_send(fd, type, body, (uint32_t)strlen(body), err);
  if (r < 0)
    return r;
  uint32_t rtype, len;
  _cleanup_free_ char *rbody = NULL;
  if ((r = shim_recv(fd, &rtype, &rbody, &len, err)) < 0)
    return r;
  if (rtype != SHIM_REPLY)
    return berr_set(err, EPROTO, "shim: unexpected message type %u in reply", rtype);
  json_error_t jerr;
  _cleanup_json_ json_t *o = json_loadb(rbody, len, 0, &jerr);
  if (!json_is_object(o))
    return berr_set(err, EPROTO, "shim: malformed reply: %s", jerr.text);
  if (!json_is_true(json_object_get(o, "ok"))) {
    const char *m = json_string_value(json_object_get(o, "error"));
    json_int_t code = json_integer_value(json_object_get(o, "code"));
    return berr_set(err, code > 0 ? (int)code : EIO, "%s", m ? m : "shim: request failed");
  }
  if (reply)
    *reply = steal_ptr(o);
  return 0;
}

/* A request on a fresh connection. */
static int call_once(const char *state_dir, enum shim_msg_type type, json_t *payload, json_t **reply,
                     struct berr **err) {
  int fd = shim_connect(state_dir, err);
  if (fd < 0) {
    json_decref(payload);
    return fd;
  }
  int r = shim_call(fd, type, payload, reply, err);
  close(fd);
  return r;
}

int shim_start(const char *state_dir, struct berr **err) {
  return call_once(state_dir, SHIM_START, NULL, NULL, err);
}

int shim_kill(const char *state_dir, int signal, bool all, struct berr **err) {
  return call_once(state_dir, SHIM_KILL, json_pack("{s:i, s:b}", "signal", signal, "all", all), NULL, err);
}

int shim_resize(const char *state_dir, int height, int width, struct berr **err) {
  return call_once(state_dir, SHIM_RESIZE, json_pack("{s:i, s:i}", "height", height, "width", width), NULL,
                   err);
}

int shim_close_stdin(const char *state_dir, struct berr **err) {
  return call_once(state_dir, SHIM_CLOSE_STDIN, NULL, NULL, err);
}

int shim_delete_force(const char *state_dir, bool force, struct berr **err) {
  return call_once(state_dir, SHIM_DELETE, json_pack("{s:b}", "force", force), NULL, err);
}

int shim_delete(const char *state_dir, struct berr **err) { return shim_delete_force(state_dir, false, err); }

static int exit_from_json(json_t *o, struct shim_exit *ex, struct berr **err) {
  if (!json_is_object(o))
    return berr_set(err, EPROTO, "shim: exit record is not an object");
  memset(ex, 0, sizeof *ex);
  ex->exit_code = (int)json_integer_value(json_object_get(o, "ExitCode"));
  ex->signal = (int)json_integer_value(json_object_get(o, "Signal"));
  ex->oom_killed = json_is_true(json_object_get(o, "OOMKilled"));
  const char *t = json_string_value(json_object_get(o, "FinishedAt"));
  snprintf(ex->finished_at, sizeof ex->finished_at, "%s", t ? t : "");
  return 0;
}

int shim_read_exit(const char *state_dir, struct shim_exit *ex, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("%s/exit.json", state_dir);
  _cleanup_json_ json_t *o = NULL;
  if (!path_exists(path))
    return -ENOENT;
  int r = json_load_path(path, &o, err);
  if (r < 0)
    return r;
  return exit_from_json(o, ex, err);
}

int shim_wait(const char *state_dir, struct shim_exit *ex, struct berr **err) {
  _cleanup_json_ json_t *reply = NULL;
  struct berr *e = NULL;
  int r = call_once(state_dir, SHIM_WAIT, NULL, &reply, &e);
  if (r == -ECONNRESET || r == -ECONNREFUSED || r == -ENOENT) {
    /* the shim went away: what it recorded is all there is */
    int rr = shim_read_exit(state_dir, ex, NULL);
    if (rr == 0) {
      berr_free(e);
      return 0;
    }
    if (err && *err == NULL)
      *err = e;
    else
      berr_free(e);
    return -ECONNRESET;
  }
  if (r < 0) {
    if (err && *err == NULL)
      *err = e;
    else
      berr_free(e);
    return r;
  }
  return exit_from_json(json_object_get(reply, "exit"), ex, err);
}

int shim_attach(const char *state_dir, bool in, bool out, bool err_stream, bool stdin_once,
                struct berr **err) {
  _cleanup_close_ int fd = shim_connect(state_dir, err);
  if (fd < 0)
    return fd;
  json_t *p = json_pack("{s:b, s:b, s:b, s:b}", "stdin", in, "stdout", out, "stderr", err_stream,
                        "stdin_once", stdin_once);
  int r = shim_call(fd, SHIM_ATTACH, p, NULL, err);
  if (r < 0)
    return r;
  return move_fd(&fd);
}

bool shim_alive(const char *state_dir) {
  _cleanup_free_ char *pidfile = xasprintf("%s/shim.pid", state_dir);
  _cleanup_free_ char *s = NULL;
  int64_t pid;
  if (read_file(pidfile, &s, NULL, NULL) < 0)
    return false;
  s[strcspn(s, "\n")] = '\0';
  if (parse_int64(s, &pid) < 0 || pid <= 0)
    return false;
  _cleanup_free_ char *statp = xasprintf("/proc/%lld/stat", (long long)pid);
  _cleanup_free_ char *st = NULL;
  if (read_file(statp, &st, NULL, NULL) < 0)
    return false;
  /* "pid (comm) S …": the comm must be ours and the process not a zombie */
  char *open_p = strchr(st, '('), *close_p = strrchr(st, ')');
  if (!open_p || !close_p || close_p[1] != ' ')
    return false;
  *close_p = '\0';
  return strcmp(open_p + 1, "berth-shim") == 0 && close_p[2] != 'Z' && close_p[2] != 'X';
}

/* ---------- spawning ---------- */

static char **spawn_argv(const char *shim_path, const struct shim_opts *o) {
  char **v = NULL;
  v = strv_append(v, xstrdup(shim_path));
#define FLAG(name, val)                                                                            \
  do {                                                                                             \
    if (val) {                                                                                     \
      v = strv_append(v, xstrdup(name));                                                           \
      v = strv_append(v, xstrdup(val));                                                            \
    }                                                                                              \
  } while (0)
  FLAG("--id", o->id);
  FLAG("--exec-id", o->exec_id);
  FLAG("--bundle", o->bundle);
  FLAG("--state-dir", o->state_dir);
  FLAG("--runtime", o->runtime);
  FLAG("--runtime-root", o->runtime_root);
  FLAG("--process", o->process_json);
  FLAG("--log-driver", o->log_driver);
  FLAG("--log-path", o->log_path);
#undef FLAG
  if (o->tty)
    v = strv_append(v, xstrdup("--tty"));
  if (o->open_stdin)
    v = strv_append(v, xstrdup("--open-stdin"));
  if (o->direct_start)
    v = strv_append(v, xstrdup("--direct-start"));
  v = strv_append(v, xstrdup("--log-max-size"));
  v = strv_append(v, xasprintf("%lld", (long long)o->log_max_size));
  v = strv_append(v, xstrdup("--log-max-file"));
  v = strv_append(v, xasprintf("%d", o->log_max_file));
  if (o->height > 0 && o->width > 0) {
    v = strv_append(v, xstrdup("--height"));
    v = strv_append(v, xasprintf("%d", o->height));
    v = strv_append(v, xstrdup("--width"));
    v = strv_append(v, xasprintf("%d", o->width));
  }
  v = strv_append(v, xstrdup("--ready-fd"));
  v = strv_append(v, xstrdup("3"));
  return v;
}

/* Read the ready pipe to EOF. */
static int read_report(int fd, char **out, struct berr **err) {
  size_t cap = 512, n = 0;
  _cleanup_free_ char *buf = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap)
      buf = xrealloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berr_sys(err, errno, "read the shim's report");
    if (r == 0)
      break;
    n += (size_t)r;
    if (n > SHIM_MAX_PAYLOAD)
      return berr_set(err, EMSGSIZE, "the shim's report is too large");
  }
  buf[n] = '\0';
  *out = steal_ptr(buf);
  return 0;
}

static int spawn_process(const char *shim_path, char **argv, int ready_w, pid_t *child, struct berr **err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_adddup2(&fa, ready_w, 3);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  int r = posix_spawn(child, shim_path, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0)
    return berr_sys(err, r, "start shim %s", shim_path);
  return 0;
}

static int parse_report(const char *report, const char *state_dir, pid_t *pid, struct berr **err) {
  json_error_t jerr;
  _cleanup_json_ json_t *o = *report ? json_loads(report, 0, &jerr) : NULL;
  if (!json_is_object(o))
    return berr_set(err, EIO, "shim exited without reporting (see %s/shim.log)", state_dir);
  const char *e = json_string_value(json_object_get(o, "error"));
  if (e) {
    json_int_t code = json_integer_value(json_object_get(o, "code"));
    return berr_set(err, code > 0 ? (int)code : EIO, "%s", e);
  }
  json_int_t p = json_integer_value(json_object_get(o, "pid"));
  if (p <= 0)
    return berr_set(err, EPROTO, "shim reported no pid (see %s/shim.log)", state_dir);
  *pid = (pid_t)p;
  return 0;
}

int shim_spawn(const char *shim_path, const struct shim_opts *o, pid_t *pid, struct berr **err) {
  _cleanup_strv_ char **argv = spawn_argv(shim_path, o);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "shim: pipe");
  _cleanup_close_ int rd = p[0];
  /* fd 3 in the child: make sure the write end is not 0..3 itself */
  _cleanup_close_ int wr = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
  close(p[1]);
  if (wr < 0)
    return berr_sys(err, errno, "shim: dup");
  pid_t child;
  int r = spawn_process(shim_path, argv, wr, &child, err);
  closep(&wr);
  if (r < 0)
    return r;
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;
  _cleanup_free_ char *report = NULL;
  if ((r = read_report(rd, &report, err)) < 0)
    return r;
  return parse_report(report, o->state_dir, pid, err);
}
