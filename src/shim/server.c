/*
 * server.c — berth-shim's life after main.c has detached it: run the runtime's
 * create (or exec), report to shim_spawn, then one epoll loop until DELETE.
 *
 * The loop watches (all non-blocking, all O_CLOEXEC so the runtime and the
 * container inherit none of them):
 *   sigfd     SIGCHLD (reap everything: the runtime's leftovers, the process,
 *             orphans — we are the child subreaper), SIGTERM/SIGINT
 *   lfd       shim.sock: each accepted connection is a struct shim_conn
 *   out_fd/err_fd  the process's stdout/stderr (or the pty master): to the log
 *             driver and to every attached client. An exec's are left out of
 *             the loop until SHIM_START (`begun`): its process runs from the
 *             spawn, and nothing may read its output before berthd has attached
 *             the client, else that output is lost (execs have no log). The
 *             pipes (or the pty) hold it meanwhile; the process blocks when
 *             they are full.
 *   in_fd     its stdin (pipe, or a dup of the master): attached clients'
 *             bytes, buffered in stdin_buf (readers pause at 1 MiB)
 *   timerfd   the drain deadline after the exit
 * Connections start as CONN_CTRL (framed requests, one reply each); WAIT parks
 * one as CONN_WAIT until the exit; ATTACH turns one into a raw CONN_ATTACH
 * stream. Writes to a client are queued per connection; a client more than
 * 4 MiB behind is dropped rather than stalling the container or the shim.
 *
 * The exit: when the process is reaped (and, for an exec, has begun), the
 * output is drained until both fds reach EOF or DRAIN_MS passed (a leftover
 * child of an exec may keep a pipe open forever); then exit.json is written (temp + rename), waiters get
 * their reply and attach streams are closed once flushed. The shim then serves
 * until DELETE (or SIGTERM after the exit) and returns.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "shim/shim_internal.h"

#define DRAIN_MS 2000
#define CLIENT_BACKLOG (4u << 20)   /* bytes queued for one client before it is dropped */
#define STDIN_BACKLOG (1u << 20)    /* stdin bytes buffered before clients are paused */

enum conn_kind { CONN_CTRL, CONN_WAIT, CONN_ATTACH };

struct shim_conn {
  int fd;
  enum conn_kind kind;
  char *in;                 /* request bytes not yet parsed (CONN_CTRL) */
  size_t in_n, in_cap;
  char *out;                /* bytes queued for the client, from out_off */
  size_t out_n, out_off, out_cap;
  bool a_in, a_out, a_err, stdin_once; /* the ATTACH request */
  bool rd_done;             /* the client half-closed (or we stopped reading) */
  bool closing;             /* close once `out` is flushed */
  uint32_t events;          /* registered epoll events */
  struct shim_conn *next;
};

/* ---------- small helpers ---------- */

static void set_nonblock(int fd) {
  if (fd >= 0)
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int ep_add(struct shim *s, int fd, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void ep_del_close(struct shim *s, int *fd) {
  if (*fd < 0)
    return;
  epoll_ctl(s->epfd, EPOLL_CTL_DEL, *fd, NULL);
  closep(fd);
}

static json_t *exit_json(const struct shim_exit *ex) {
  return json_pack("{s:i, s:s, s:b, s:i}", "ExitCode", ex->exit_code, "FinishedAt", ex->finished_at,
                   "OOMKilled", ex->oom_killed, "Signal", ex->signal);
}

/* ---------- connections ---------- */

static struct shim_conn *conn_find(struct shim *s, int fd) {
  for (struct shim_conn *c = s->conns; c; c = c->next)
    if (c->fd == fd)
      return c;
  return NULL;
}

static void conn_free(struct shim *s, struct shim_conn *c) {
  for (struct shim_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  }
  ep_del_close(s, &c->fd);
  free(c->in);
  free(c->out);
  free(c);
}

static void conn_queue(struct shim_conn *c, const void *data, size_t n) {
  if (c->out_off > 0 && c->out_off == c->out_n)
    c->out_off = c->out_n = 0;
  if (c->out_n + n > c->out_cap) {
    /* compact first, then grow (c->out is NULL before the first message:
     * memmove of nothing from NULL is still undefined behaviour) */
    if (c->out_n > c->out_off)
      memmove(c->out, c->out + c->out_off, c->out_n - c->out_off);
    c->out_n -= c->out_off;
    c->out_off = 0;
    while (c->out_n + n > c->out_cap)
      c->out_cap = c->out_cap ? c->out_cap * 2 : 4096;
    c->out = xrealloc(c->out, c->out_cap);
  }
  memcpy(c->out + c->out_n, data, n);
  c->out_n += n;
}

/* Write what the socket takes. -1: the client is gone. */
static int conn_flush(struct shim_conn *c) {
  while (c->out_off < c->out_n) {
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_n - c->out_off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return 0;
    if (w < 0)
      return -1;
    c->out_off += (size_t)w;
  }
  c->out_off = c->out_n = 0;
  return 0;
}

static void conn_send(struct shim_conn *c, uint32_t type, json_t *payload /* stolen */) {
  _cleanup_json_ json_t *p = payload;
  _cleanup_free_ char *body = json_dump_compact(p);
  uint32_t len = (uint32_t)strlen(body);
  uint32_t hdr[2] = {htole32(type), htole32(len)};
  conn_queue(c, hdr, sizeof hdr);
  conn_queue(c, body, len);
}

static void reply_ok(struct shim_conn *c, json_t *extra /* stolen, may be NULL */) {
  json_t *o = extra ? extra : json_object();
  json_object_set_new(o, "ok", json_true());
  conn_send(c, SHIM_REPLY, o);
}

static void reply_err(struct shim_conn *c, int code, const char *msg) {
  conn_send(c, SHIM_REPLY, json_pack("{s:b, s:s, s:i}", "ok", false, "error", msg, "code", code));
}

static void reply_berr(struct shim_conn *c, int r, struct berr *e) {
  reply_err(c, r < 0 ? -r : EIO, e && e->msg ? e->msg : "shim: request failed");
}

/* ---------- stdin ---------- */

static void stdin_close(struct shim *s) {
  ep_del_close(s, &s->in_fd);
  free(s->stdin_buf);
  s->stdin_buf = NULL;
  s->stdin_n = 0;
  s->stdin_close_pending = false;
}

static void stdin_flush(struct shim *s) {
  while (s->in_fd >= 0 && s->stdin_n > 0) {
    ssize_t w = write(s->in_fd, s->stdin_buf, s->stdin_n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return;
    if (w < 0) {
      /* EPIPE: the process closed its stdin; what is left has no reader */
      log_info("stdin: %s; closing it", strerror(errno));
      stdin_close(s);
      return;
    }
    memmove(s->stdin_buf, s->stdin_buf + w, s->stdin_n - (size_t)w);
    s->stdin_n -= (size_t)w;
  }
  if (s->stdin_close_pending && s->stdin_n == 0) {
    if (s->tty && s->in_fd >= 0) {
      /* a terminal has no half-close: send the EOF character (VEOF, ^D) instead */
      ssize_t w = write(s->in_fd, "\x04", 1);
      (void)w;
    }
    stdin_close(s);
  }
}

static void stdin_feed(struct shim *s, const char *buf, size_t n) {
  if (s->in_fd < 0 || s->stdin_close_pending || n == 0)
    return;
  s->stdin_buf = xrealloc(s->stdin_buf, s->stdin_n + n);
  memcpy(s->stdin_buf + s->stdin_n, buf, n);
  s->stdin_n += n;
  stdin_flush(s);
}

/* ---------- the process's output ---------- */

static void broadcast(struct shim *s, int stream, const char *buf, size_t n) {
  for (struct shim_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->kind != CONN_ATTACH || c->closing || !(stream == 2 ? c->a_err : c->a_out))
      continue;
    if (!s->tty) {
      /* Docker's stdcopy frame: stream, 0, 0, 0, big-endian size */
      unsigned char h[8] = {(unsigned char)stream, 0, 0, 0};
      uint32_t be = htobe32((uint32_t)n);
      memcpy(h + 4, &be, 4);
      conn_queue(c, h, sizeof h);
    }
    conn_queue(c, buf, n);
    if (conn_flush(c) < 0) {
      conn_free(s, c);
    } else if (c->out_n - c->out_off > CLIENT_BACKLOG) {
      log_warn("attach client too slow (%zu bytes behind): dropped", c->out_n - c->out_off);
      conn_free(s, c);
    }
  }
}

/* Read what is there. Returns true at EOF (the fd is then closed). */
static bool pump_output(struct shim *s, int *fd, int stream) {
  char buf[32768];
  for (int rounds = 0; rounds < 16; rounds++) {
    ssize_t r = read(*fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno == EAGAIN)
      return false;
    if (r <= 0) {
      /* EOF; a pty master says EIO once no slave is open */
      struct berr *e = NULL;
      if (shim_logger_flush(s->log, stream, shim_now_ns(), &e) < 0)
        log_warn("%s", e->msg);
      berr_free(e);
      ep_del_close(s, fd);
      return true;
    }
    struct berr *e = NULL;
    if (shim_logger_write(s->log, stream, buf, (size_t)r, shim_now_ns(), &e) < 0)
      log_warn("%s", e->msg);
    berr_free(e);
    broadcast(s, stream, buf, (size_t)r);
  }
  return false;
}

/* ---------- the exit ---------- */

static void finalize(struct shim *s) {
  if (s->finalized)
    return;
  /* whatever is still readable, then stop */
  if (s->out_fd >= 0 && !pump_output(s, &s->out_fd, 1))
    ep_del_close(s, &s->out_fd);
  if (s->err_fd >= 0 && !pump_output(s, &s->err_fd, 2))
    ep_del_close(s, &s->err_fd);
  struct berr *e = NULL;
  if (shim_logger_flush(s->log, 0, shim_now_ns(), &e) < 0)
    log_warn("%s", e->msg);
  berr_free(e);
  e = NULL;
  _cleanup_json_ json_t *j = exit_json(&s->ex);
  _cleanup_free_ char *txt = json_dump_compact(j);
  _cleanup_free_ char *path = xasprintf("%s/exit.json", s->o.state_dir);
  if (write_file_replace(path, txt, strlen(txt), 0644, &e) < 0)
    log_error("%s", e->msg);
  berr_free(e);
  stdin_close(s);
  s->finalized = true;
  log_info("process %d exited: %s", (int)s->pid, txt);
  for (struct shim_conn *c = s->conns; c; c = c->next) {
    if (c->kind == CONN_WAIT)
      reply_ok(c, json_pack("{s:O}", "exit", j));
    if (c->kind == CONN_WAIT || c->kind == CONN_ATTACH)
      c->closing = true;
  }
}

/* The drain deadline: only once the output is being read (an exec that has
 * not begun keeps its output in the pipes, however long that takes). */
static void arm_drain(struct shim *s) {
  struct itimerspec its = {.it_value = {DRAIN_MS / 1000, (DRAIN_MS % 1000) * 1000000L}};
  timerfd_settime(s->timerfd, 0, &its, NULL);
}

static void record_exit(struct shim *s, int status) {
  s->exited = true;
  s->status = status;
  if (WIFSIGNALED(status)) {
    s->ex.signal = WTERMSIG(status);
    s->ex.exit_code = 128 + s->ex.signal;
  } else {
    s->ex.exit_code = WEXITSTATUS(status);
  }
  s->ex.oom_killed = shim_oom_happened(s);
  shim_format_time(shim_now_ns(), s->ex.finished_at);
  if (s->begun)
    arm_drain(s);
}

static void reap(struct shim *s) {
  for (;;) {
    int status;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p <= 0)
      return;
    if (p == s->pid && !s->exited)
      record_exit(s, status);
  }
}

/* ---------- requests ---------- */

static void req_kill(struct shim *s, struct shim_conn *c, json_t *p) {
  int sig = (int)json_integer_value(json_object_get(p, "signal"));
  bool all = json_is_true(json_object_get(p, "all"));
  if (sig <= 0)
    sig = SIGKILL;
  if (s->exited && !all)
    return reply_err(c, ESRCH, "process already finished");
  if (s->o.exec_id) {
    if (kill(s->pid, sig) < 0)
      return reply_err(c, errno, strerror(errno));
    return reply_ok(c, NULL);
  }
  char num[16];
  snprintf(num, sizeof num, "%d", sig);
  const char *args_all[] = {"kill", "--all", s->o.id, num, NULL};
  const char *args_one[] = {"kill", s->o.id, num, NULL};
  _cleanup_berr_ struct berr *e = NULL;
  int r = shim_rt_simple(s, all ? args_all : args_one, &e);
  if (r < 0)
    return reply_berr(c, r, e);
  reply_ok(c, NULL);
}

/* An exited init: the runtime's state (state dir, cgroups: ~10 rmdirs on
 * cgroup v1, 2-7 ms) is removed after the reply, so `run --rm` and `rm` do
 * not wait for it. The container cannot run again under this id, and berthd
 * never reuses ids, so nothing can observe the state in between. */
static void delete_after_reply(struct shim *s, struct shim_conn *c) {
  finalize(s);
  _cleanup_close_ int log_fd = open("runtime.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  /* gone before the reply: berthd's shim_alive right after it must say no,
   * else it would connect again and wait for the runtime's delete */
  unlink("shim.sock");
  unlink("shim.pid");
  reply_ok(c, NULL);
  conn_flush(c); /* now, not from the loop: the delete comes first */
  shim_rt_delete_detached(s, log_fd);
  s->quit = true;
}

static void req_delete(struct shim *s, struct shim_conn *c, json_t *p) {
  bool force = json_is_true(json_object_get(p, "force"));
  if (s->started && !s->exited && !force)
    return reply_err(c, EBUSY, "cannot delete a running process: stop it first or force the removal");
  if (!s->o.exec_id && s->exited && !force)
    return delete_after_reply(s, c);
  if (!s->o.exec_id) {
    _cleanup_berr_ struct berr *e = NULL;
    bool f = force || !s->exited;
    const char *args[] = {"delete", f ? "--force" : s->o.id, f ? s->o.id : NULL, NULL};
    int r = shim_rt_simple(s, args, &e);
    if (r < 0 && !strstr(e->msg, "not exist") && !strstr(e->msg, "does not exist"))
      return reply_berr(c, r, e);
  } else if (!s->exited && kill(s->pid, SIGKILL) < 0 && errno != ESRCH) {
    return reply_err(c, errno, strerror(errno));
  }
  if (!s->exited) {
    /* killed just now: collect it so exit.json says how it ended */
    int status = 0;
    if (waitpid(s->pid, &status, 0) == s->pid)
      record_exit(s, status);
  }
  if (s->exited)
    finalize(s);
  reply_ok(c, NULL);
  unlink("shim.sock");
  unlink("shim.pid");
  s->quit = true;
}

static void req_state(struct shim *s, struct shim_conn *c) {
  json_t *o = json_pack("{s:i, s:b, s:b}", "pid", (int)s->pid, "running", !s->exited, "started", s->started);
  json_object_set_new(o, "exit", s->finalized ? exit_json(&s->ex) : json_null());
  reply_ok(c, o);
}

static void req_attach(struct shim *s, struct shim_conn *c, json_t *p) {
  c->a_in = json_is_true(json_object_get(p, "stdin"));
  c->a_out = json_is_true(json_object_get(p, "stdout"));
  c->a_err = json_is_true(json_object_get(p, "stderr"));
  c->stdin_once = json_is_true(json_object_get(p, "stdin_once"));
  c->kind = CONN_ATTACH;
  reply_ok(c, NULL);
  if (s->finalized)
    c->closing = true;
}

static void req_resize(struct shim *s, struct shim_conn *c, json_t *p) {
  int h = (int)json_integer_value(json_object_get(p, "height"));
  int w = (int)json_integer_value(json_object_get(p, "width"));
  if (!s->tty)
    return reply_err(c, EINVAL, "the process has no terminal to resize");
  if (s->out_fd < 0 && s->in_fd < 0)
    return reply_err(c, ESRCH, "process already finished");
  struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
  if (ioctl(s->out_fd >= 0 ? s->out_fd : s->in_fd, TIOCSWINSZ, &ws) < 0)
    return reply_err(c, errno, strerror(errno));
  reply_ok(c, NULL);
}

/* An exec's output joins the loop: from now on it goes to attached clients. */
static int begin_output(struct shim *s) {
  if (s->begun)
    return 0;
  /* EEXIST: added by an earlier, half-failed try */
  if ((s->out_fd >= 0 && ep_add(s, s->out_fd, EPOLLIN) < 0 && errno != EEXIST) ||
      (s->err_fd >= 0 && ep_add(s, s->err_fd, EPOLLIN) < 0 && errno != EEXIST))
    return -errno;
  s->begun = true;
  if (s->exited)
    arm_drain(s);
  return 0;
}

static void req_start(struct shim *s, struct shim_conn *c) {
  if (s->o.exec_id) {
    /* the exec runs from its spawn; START means "begin reading its output" */
    int r = begin_output(s);
    if (r < 0)
      return reply_err(c, -r, "shim: epoll: cannot watch the process's output");
    return reply_ok(c, NULL);
  }
  if (s->started)
    return reply_ok(c, NULL);
  _cleanup_berr_ struct berr *e = NULL;
  int r = shim_rt_start(s, &e);
  if (r < 0)
    return reply_berr(c, r, e);
  s->started = true;
  reply_ok(c, NULL);
}

static void handle_request(struct shim *s, struct shim_conn *c, uint32_t type, const char *body, size_t len) {
  json_error_t jerr;
  _cleanup_json_ json_t *p = len ? json_loadb(body, len, 0, &jerr) : json_object();
  if (!json_is_object(p))
    return reply_err(c, EINVAL, "shim: malformed request");
  switch (type) {
  case SHIM_START: return req_start(s, c);
  case SHIM_KILL: return req_kill(s, c, p);
  case SHIM_RESIZE: return req_resize(s, c, p);
  case SHIM_CLOSE_STDIN:
    s->stdin_close_pending = true;
    stdin_flush(s);
    return reply_ok(c, NULL);
  case SHIM_STATE: return req_state(s, c);
  case SHIM_WAIT:
    if (s->finalized) {
      reply_ok(c, json_pack("{s:o}", "exit", exit_json(&s->ex)));
    } else {
      c->kind = CONN_WAIT;
    }
    return;
  case SHIM_DELETE: return req_delete(s, c, p);
  case SHIM_ATTACH: return req_attach(s, c, p);
  default: return reply_err(c, EINVAL, "shim: unknown request type");
  }
}

/* Parse and handle complete frames in c->in (CONN_CTRL only). */
static void conn_parse(struct shim *s, struct shim_conn *c) {
  size_t off = 0;
  while (c->kind == CONN_CTRL && c->in_n - off >= 8 && !s->quit) {
    uint32_t h[2];
    memcpy(h, c->in + off, 8);
    uint32_t type = le32toh(h[0]), len = le32toh(h[1]);
    if (len > SHIM_MAX_PAYLOAD) {
      c->rd_done = c->closing = true;
      c->in_n = 0;
      return;
    }
    if (c->in_n - off - 8 < len)
      break;
    handle_request(s, c, type, c->in + off + 8, len);
    off += 8 + (size_t)len;
  }
  /* after ATTACH, the rest is already the client's stdin */
  if (c->kind == CONN_ATTACH && off < c->in_n && c->a_in)
    stdin_feed(s, c->in + off, c->in_n - off);
  if (c->kind == CONN_ATTACH)
    off = c->in_n;
  memmove(c->in, c->in + off, c->in_n - off);
  c->in_n -= off;
}

static void conn_readable(struct shim *s, struct shim_conn *c) {
  char buf[16384];
  ssize_t r;
  do
    r = read(c->fd, buf, sizeof buf);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EAGAIN)
    return;
  if (r <= 0) {
    if (c->kind != CONN_ATTACH)
      return conn_free(s, c);
    /* an attach client's half-close: its stdin ended */
    c->rd_done = true;
    if (c->a_in && c->stdin_once) {
      s->stdin_close_pending = true;
      stdin_flush(s);
    }
    return;
  }
  if (c->kind == CONN_ATTACH) {
    if (c->a_in)
      stdin_feed(s, buf, (size_t)r);
    return;
  }
  if (c->in_n + (size_t)r > c->in_cap) {
    c->in_cap = c->in_n + (size_t)r + 4096;
    c->in = xrealloc(c->in, c->in_cap);
  }
  memcpy(c->in + c->in_n, buf, (size_t)r);
  c->in_n += (size_t)r;
  conn_parse(s, c);
}

static void accept_conns(struct shim *s) {
  for (;;) {
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      return;
    struct shim_conn *c = xcalloc(1, sizeof *c);
    c->fd = fd;
    c->kind = CONN_CTRL;
    c->next = s->conns;
    s->conns = c;
  }
}

/* Register or update each connection's events; close the finished ones. */
static void update_interest(struct shim *s) {
  for (struct shim_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    bool pending = c->out_off < c->out_n;
    if (pending && conn_flush(c) < 0) {
      conn_free(s, c);
      continue;
    }
    pending = c->out_off < c->out_n;
    if (c->closing && !pending) {
      conn_free(s, c);
      continue;
    }
    bool want_read = !c->rd_done && !(c->kind == CONN_ATTACH && c->a_in && s->stdin_n >= STDIN_BACKLOG);
    uint32_t ev = (want_read ? EPOLLIN : 0) | (pending ? EPOLLOUT : 0);
    if (c->events == 0 && ev != 0) {
      struct epoll_event e = {.events = ev, .data.fd = c->fd};
      epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &e);
      c->events = ev;
    } else if (ev != c->events) {
      struct epoll_event e = {.events = ev, .data.fd = c->fd};
      epoll_ctl(s->epfd, ev ? EPOLL_CTL_MOD : EPOLL_CTL_DEL, c->fd, ev ? &e : NULL);
      c->events = ev;
    }
  }
  if (s->in_fd >= 0) {
    struct epoll_event e = {.events = s->stdin_n ? EPOLLOUT : 0, .data.fd = s->in_fd};
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->in_fd, &e);
  }
}

/* ---------- the loop ---------- */

static void on_signal(struct shim *s) {
  struct signalfd_siginfo si;
  while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGCHLD) {
      reap(s);
    } else if (s->finalized) {
      log_info("signal %d after the exit: leaving", (int)si.ssi_signo);
      s->quit = true;
    } else {
      log_info("signal %d ignored while the process runs", (int)si.ssi_signo);
    }
  }
}

static void dispatch(struct shim *s, int fd, uint32_t events) {
  if (fd == s->sigfd) {
    on_signal(s);
  } else if (fd == s->lfd) {
    accept_conns(s);
  } else if (fd == s->timerfd) {
    uint64_t n;
    if (read(s->timerfd, &n, sizeof n) > 0 && s->exited)
      finalize(s);
  } else if (fd >= 0 && fd == s->out_fd) {
    pump_output(s, &s->out_fd, 1);
  } else if (fd >= 0 && fd == s->err_fd) {
    pump_output(s, &s->err_fd, 2);
  } else if (fd >= 0 && fd == s->in_fd) {
    if (events & (EPOLLERR | EPOLLHUP))
      stdin_close(s);
    else
      stdin_flush(s);
  } else {
    struct shim_conn *c = conn_find(s, fd);
    if (c && (events & EPOLLOUT) && conn_flush(c) < 0)
      return conn_free(s, c);
    if (c && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
      conn_readable(s, c);
  }
}

static int loop(struct shim *s) {
  while (!s->quit) {
    if (s->exited && !s->finalized && s->out_fd < 0 && s->err_fd < 0)
      finalize(s);
    update_interest(s);
    struct epoll_event evs[16];
    int n = epoll_wait(s->epfd, evs, 16, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    for (int i = 0; i < n && !s->quit; i++)
      dispatch(s, evs[i].data.fd, evs[i].events);
  }
  /* flush the last replies (DELETE's) before leaving */
  for (struct shim_conn *c = s->conns; c; c = c->next) {
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    conn_flush(c);
  }
  return 0;
}

/* ---------- setup ---------- */

static int listen_sock(struct berr **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, "shim.sock"); /* our cwd is the state dir */
  unlink(sa.sun_path);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return berr_sys(err, errno, "shim socket");
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0)
    return berr_sys(err, errno, "shim socket %s/shim.sock", "."); /* cwd: the state dir */
  return move_fd(&fd);
}

static int setup_loop(struct shim *s, struct berr **err) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  s->epfd = epoll_create1(EPOLL_CLOEXEC);
  s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (s->sigfd < 0 || s->epfd < 0 || s->timerfd < 0)
    return berr_sys(err, errno, "shim: event loop setup");
  if ((s->lfd = listen_sock(err)) < 0)
    return s->lfd;
  return 0;
}

static int register_fds(struct shim *s, struct berr **err) {
  set_nonblock(s->out_fd);
  set_nonblock(s->err_fd);
  set_nonblock(s->in_fd);
  if (ep_add(s, s->sigfd, EPOLLIN) < 0 || ep_add(s, s->lfd, EPOLLIN) < 0 || ep_add(s, s->timerfd, EPOLLIN) < 0 ||
      (s->in_fd >= 0 && ep_add(s, s->in_fd, 0) < 0))
    return berr_sys(err, errno, "shim: epoll");
  /* an exec's output waits in its pipes for SHIM_START (begin_output) */
  if (!s->o.exec_id && begin_output(s) < 0)
    return berr_sys(err, errno, "shim: epoll");
  return 0;
}

static void report(struct shim *s, json_t *o /* stolen */) {
  _cleanup_json_ json_t *j = o;
  _cleanup_free_ char *txt = json_dump_compact(j);
  if (s->ready_fd >= 0) {
    ssize_t w = write(s->ready_fd, txt, strlen(txt));
    (void)w;
  }
}

static void teardown(struct shim *s) {
  while (s->conns)
    conn_free(s, s->conns);
  closep(&s->out_fd);
  closep(&s->err_fd);
  closep(&s->in_fd);
  free(s->stdin_buf);
  s->stdin_buf = NULL;
  closep(&s->lfd);
  closep(&s->sigfd);
  closep(&s->timerfd);
  closep(&s->epfd);
  free(s->oom_file);
  s->oom_file = NULL;
  shim_logger_free(s->log);
  s->log = NULL;
}

static int start_process(struct shim *s, struct berr **err) {
  enum shim_log_driver drv;
  int r = shim_log_driver_parse(s->o.log_driver, &drv, err);
  if (r == 0)
    r = shim_logger_open(drv, s->o.log_path, s->o.log_max_size, s->o.log_max_file, &s->log, err);
  if (r == 0)
    r = setup_loop(s, err);
  if (r == 0)
    r = shim_rt_create(s, err);
  if (r == 0)
    r = register_fds(s, err);
  return r;
}

int shim_run(struct shim *s, struct berr **err) {
  s->epfd = s->sigfd = s->lfd = s->timerfd = -1;
  s->out_fd = s->err_fd = s->in_fd = -1;
  s->tty = s->o.tty;
  s->started = s->o.exec_id != NULL;
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int r = start_process(s, err);
  if (r < 0) {
    /* nothing may remain but shim.log: the runtime's state too */
    if (!s->o.exec_id && s->o.runtime) {
      const char *args[] = {"delete", "--force", s->o.id, NULL};
      shim_rt_simple(s, args, NULL);
    }
    unlink("shim.sock");
    unlink("shim.pid");
    unlink("console.sock");
    report(s, json_pack("{s:s, s:i}", "error", (*err)->msg, "code", (*err)->code));
    closep(&s->ready_fd);
    teardown(s);
    return r;
  }
  shim_oom_watch(s);
  log_info("%s %s: pid %d", s->o.exec_id ? "exec" : "container", s->o.exec_id ? s->o.exec_id : s->o.id,
           (int)s->pid);
  report(s, json_pack("{s:i}", "pid", (int)s->pid));
  closep(&s->ready_fd);
  r = loop(s);
  teardown(s);
  if (r < 0)
    return berr_sys(err, -r, "shim: event loop");
  return 0;
}
