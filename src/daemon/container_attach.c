/*
 * container_attach.c — POST /containers/{id}/attach and the relay between a
 * hijacked HTTP connection and a shim attach stream (also used by exec start).
 *
 * The shim already frames the output (raw with a tty, Docker's multiplexed
 * frames without), so the relay copies bytes both ways; on the way in it
 * watches for the detach keys (Docker's default ctrl-p,ctrl-q), which end the
 * relay without touching the process.
 *
 * Attaching before the process runs (what `docker run` without -d does): the
 * handler registers a struct attach_pending on the container and waits; start
 * connects every pending attach to the new shim between shim_spawn and
 * shim_start (attach_connect_pending), so no output is lost. The registration
 * happens BEFORE the hijack answer is sent: the CLI posts /start as soon as it
 * reads that answer, and a start that ran before the registration would leave
 * the attach waiting for a later start. While waiting, only a hang-up ends the
 * wait, not the client's half-close (the CLI's when it has no stdin).
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "daemon/container_internal.h"

/* ------------------------------------------------------- detach keys ---- */

int attach_parse_keys(const char *keys, unsigned char *out, size_t cap, size_t *n,
                      struct berr **err) {
  *n = 0;
  _cleanup_free_ char *copy = xstrdup(keys);
  char *p = copy, *tok;
  while ((tok = strsep(&p, ",")) != NULL) {
    unsigned char b;
    size_t len = strlen(tok);
    if (len == 1) {
      b = (unsigned char)tok[0];
    } else if (len == 6 && strncmp(tok, "ctrl-", 5) == 0) {
      char ch = tok[5];
      if (ch >= 'a' && ch <= 'z')
        b = (unsigned char)(ch - 'a' + 1);
      else if (ch == '@')
        b = 0;
      else if (ch >= '[' && ch <= '_')
        b = (unsigned char)(ch - '[' + 27);
      else
        return berr_set(err, EINVAL, "Invalid escape keys (%s) provided", keys);
    } else {
      return berr_set(err, EINVAL, "Invalid escape keys (%s) provided", keys);
    }
    if (*n == cap)
      return berr_set(err, EINVAL, "Invalid escape keys (%s) provided", keys);
    out[(*n)++] = b;
  }
  return 0;
}

/* ------------------------------------------------------------- relay ---- */

struct keyscan {
  unsigned char keys[16];
  size_t n, matched;
};

/* Copy client bytes to the shim, holding back a possible detach sequence.
 * Returns 1 when the full sequence was typed. */
static int forward_in(struct keyscan *k, int shim_fd, const unsigned char *buf, size_t len) {
  unsigned char out[8192 + 16];
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (k->n && buf[i] == k->keys[k->matched]) {
      if (++k->matched == k->n) {
        if (o)
          (void)!write(shim_fd, out, o);
        return 1;
      }
      continue;
    }
    memcpy(out + o, k->keys, k->matched);
    o += k->matched;
    k->matched = 0;
    if (k->n && buf[i] == k->keys[0]) {
      k->matched = 1;
      continue;
    }
    out[o++] = buf[i];
    if (o >= 8192) {
      (void)!write(shim_fd, out, o);
      o = 0;
    }
  }
  if (o && write(shim_fd, out, o) < 0)
    return -1;
  return 0;
}

/* end_on_eof: the client's end of input also ends the output, as dockerd's
 * container attach does unless the stdin is closed with it (StdinOnce, no
 * tty) — container/stream/attach.go: "when stdin is closed, close stdout and
 * stderr". */
static int relay(struct http_req *r, int shim_fd, bool want_stdin, const char *detach_keys,
                 bool end_on_eof) {
  struct keyscan k = {0};
  if (attach_parse_keys(detach_keys ? detach_keys : "ctrl-p,ctrl-q", k.keys, sizeof(k.keys),
                        &k.n, NULL) < 0)
    attach_parse_keys("ctrl-p,ctrl-q", k.keys, sizeof(k.keys), &k.n, NULL);
  int cfd = http_conn_fd(r->conn);
  bool in_open = want_stdin;
  unsigned char buf[8192];
  for (;;) {
    struct pollfd p[2] = {{.fd = shim_fd, .events = POLLIN}, {.fd = cfd, .events = POLLIN}};
    nfds_t np = in_open ? 2 : 1;
    int pending = in_open && http_conn_pending(r->conn);
    if (!pending && poll(p, np, -1) < 0) {
      if (errno == EINTR)
        continue;
      return 0;
    }
    if (pending || (np == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))) {
      ssize_t n = http_conn_read(r->conn, buf, sizeof(buf));
      if (n <= 0) {
        in_open = false;
        shutdown(shim_fd, SHUT_WR); /* the shim closes stdin with stdin_once */
        if (end_on_eof) {
          http_conn_shutdown_write(r->conn);
          return 0;
        }
      } else {
        int d = forward_in(&k, shim_fd, buf, (size_t)n);
        if (d == 1)
          return 1;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(shim_fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        http_conn_shutdown_write(r->conn);
        return 0;
      }
      if (http_conn_write(r->conn, buf, (size_t)n) < 0)
        return 0;
    }
  }
}

int attach_relay(struct http_req *r, int shim_fd, bool tty, bool want_stdin,
                 const char *detach_keys) {
  (void)tty;
  return relay(r, shim_fd, want_stdin, detach_keys, false);
}

/* ----------------------------------------------------------- pending ---- */

void attach_connect_pending(struct container *c) {
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  for (struct attach_pending *p = c->pending; p; p = p->next) {
    _cleanup_berr_ struct berr *e = NULL;
    p->fd = shim_attach(sd, p->in, p->out, p->err, p->stdin_once, &e);
    if (p->fd < 0) {
      log_warn("attach %s: %s", c->id, e ? e->msg : "?");
      p->fd = -1;
    }
    p->done = true;
  }
  c->pending = NULL;
  pthread_cond_broadcast(&c->changed);
}

static void pending_unlink(struct container *c, struct attach_pending *me) {
  for (struct attach_pending **pp = &c->pending; *pp; pp = &(*pp)->next)
    if (*pp == me) {
      *pp = me->next;
      return;
    }
}

/* Register `me` for the next start unless the process runs already (then
 * false: attach to the shim directly). c->lock held. */
static bool pending_register(struct container *c, struct attach_pending *me) {
  if (c->state == CTR_RUNNING && !c->busy)
    return false;
  me->next = c->pending;
  c->pending = me;
  return true;
}

/* The client went before we waited: forget `me` (or the stream a start gave it). */
static void pending_cancel(struct container *c, struct attach_pending *me) {
  pthread_mutex_lock(&c->lock);
  if (!me->done)
    pending_unlink(c, me);
  else if (me->fd >= 0)
    close(me->fd);
  pthread_mutex_unlock(&c->lock);
}

/* Wait for a start to connect `me` (registered) or the client to go. */
static int wait_started(struct http_req *r, struct container *c, struct attach_pending *me) {
  int cfd = http_conn_fd(r->conn);
  pthread_mutex_lock(&c->lock);
  while (!me->done && !c->removed) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&c->changed, &c->lock, &ts);
    if (me->done)
      break;
    /* only a client that is gone ends the wait: the docker CLI shuts its
     * write side down right after the hijack when it sends no stdin, which
     * is POLLRDHUP, not POLLHUP (taking that for a hang-up lost the whole
     * output of `run` whenever the start took over a second, e.g. under ASan) */
    struct pollfd p = {.fd = cfd, .events = 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
      break;
  }
  if (!me->done)
    pending_unlink(c, me);
  pthread_mutex_unlock(&c->lock);
  return me->done ? me->fd : -1;
}

void ctr_attach_serve(struct daemon *d, struct http_req *r, struct container *c) {
  bool stream = http_query_bool(r, "stream", false);
  bool logs = http_query_bool(r, "logs", false);
  bool in = http_query_bool(r, "stdin", false), out = http_query_bool(r, "stdout", false),
       er = http_query_bool(r, "stderr", false);
  const char *keys = http_query(r, "detachKeys");
  unsigned char kb[16];
  size_t kn;
  _cleanup_berr_ struct berr *e = NULL;
  if (keys && *keys && attach_parse_keys(keys, kb, sizeof(kb), &kn, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  pthread_mutex_lock(&c->lock);
  enum ctr_state st = c->state;
  bool tty = json_is_true(json_object_get(c->config, "Tty"));
  bool open_stdin = json_is_true(json_object_get(c->config, "OpenStdin"));
  /* dockerd closes the process's stdin when an attached client's stdin
   * ends only without a tty (moby container/stream/attach.go: CloseStdin &&
   * !TTY): detaching from `run -it` must leave the container running */
  bool stdin_once = json_is_true(json_object_get(c->config, "StdinOnce")) && !tty;
  pthread_mutex_unlock(&c->lock);
  if (st == CTR_PAUSED) {
    http_reply_error(r, 409, "You cannot attach to a paused container, unpause it first");
    return;
  }
  if (st == CTR_REMOVING || st == CTR_DEAD) {
    http_reply_error(r, 409, "You cannot attach to a container that is being removed");
    return;
  }
  in = in && open_stdin;
  struct attach_pending me = {.in = in, .out = out, .err = er, .stdin_once = stdin_once,
                              .fd = -1};
  bool waiting = false;
  if (stream) {
    pthread_mutex_lock(&c->lock);
    waiting = pending_register(c, &me);
    pthread_mutex_unlock(&c->lock);
  }
  if (http_hijack(r, tty ? "application/vnd.docker.raw-stream"
                         : "application/vnd.docker.multiplexed-stream") < 0) {
    if (waiting)
      pending_cancel(c, &me);
    http_conn_close(r->conn);
    return;
  }
  if (logs)
    ctr_logs_replay(c, r, out, er, tty);
  int fd = -1;
  if (stream && !waiting) {
    _cleanup_free_ char *sd = ctr_shim_dir(c);
    fd = shim_attach(sd, in, out, er, stdin_once, &e);
    if (fd < 0) { /* it stopped meanwhile: wait for the next start */
      pthread_mutex_lock(&c->lock);
      me.next = c->pending;
      c->pending = &me;
      pthread_mutex_unlock(&c->lock);
      waiting = true;
    }
  }
  if (waiting)
    fd = wait_started(r, c, &me);
  if (fd >= 0) {
    ctr_event(d, c, "attach", NULL);
    if (relay(r, fd, in, keys, in && (tty || !stdin_once)) == 1)
      ctr_event(d, c, "detach", NULL);
    close(fd);
  }
  http_conn_close(r->conn);
}
