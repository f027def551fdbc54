/*
 * stream.c — the CLI side of hijacked attach / exec streams and of log
 * streams: Docker's stdcopy framing (8-byte header: stream, 0, 0, 0, size
 * big-endian), raw terminal mode, SIGWINCH → resize, signal proxying.
 *
 * One thread, one poll loop over stdin, the connection and a signalfd: no
 * threads to join, nothing left running when the stream ends. With a tty,
 * the detach keys are recognised here too, as docker's CLI does (its
 * EscapeProxy): the stream ends and the caller does not wait for an exit;
 * without a tty the daemon recognises them (?detachKeys=). stdin EOF
 * half-closes the connection (docker's CloseWrite) and the loop continues
 * until the daemon ends the output.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>

#include "cli/cli.h"

/* stdcopy demultiplexer state: frames may be split across reads */
struct demux {
  unsigned char hdr[8];
  size_t hlen;      /* header bytes collected */
  size_t left;      /* payload bytes left in the current frame */
  int fd;           /* where the current frame goes */
};

static int write_all_fd(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int demux_feed(struct demux *d, const char *p, size_t n) {
  while (n) {
    if (d->left == 0) {
      size_t k = 8 - d->hlen < n ? 8 - d->hlen : n;
      memcpy(d->hdr + d->hlen, p, k);
      d->hlen += k;
      p += k;
      n -= k;
      if (d->hlen < 8)
        return 0;
      d->hlen = 0;
      d->left = ((size_t)d->hdr[4] << 24) | ((size_t)d->hdr[5] << 16) | ((size_t)d->hdr[6] << 8) |
                d->hdr[7];
      d->fd = d->hdr[0] == 2 ? STDERR_FILENO : STDOUT_FILENO;
      continue;
    }
    size_t k = d->left < n ? d->left : n;
    write_all_fd(d->fd, p, k);
    d->left -= k;
    p += k;
    n -= k;
  }
  return 0;
}

int stream_demux_resp(struct http_resp *r, bool tty, struct berr **err) {
  struct demux d = {0};
  char buf[32768];
  for (;;) {
    ssize_t k = resp_read(r, buf, sizeof(buf));
    if (k < 0)
      return berr_set(err, EPROTO, "error reading the stream: unexpected EOF");
    if (k == 0)
      return 0;
    if (tty)
      write_all_fd(STDOUT_FILENO, buf, (size_t)k);
    else
      demux_feed(&d, buf, (size_t)k);
  }
}

static int resize_once(struct cli *cli, const char *path) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
    return 0;
  if (!ws.ws_row && !ws.ws_col)
    return 0;
  char q[64];
  snprintf(q, sizeof(q), "?h=%u&w=%u", ws.ws_row, ws.ws_col);
  _cleanup_free_ char *p = xasprintf("%s%s", path, q);
  _cleanup_berr_ struct berr *e = NULL;
  return cli_call(cli, "POST", p, NULL, NULL, NULL, &e); /* best effort, as docker */
}

void stream_resize(struct cli *cli, const char *path) { resize_once(cli, path); }

/* The first resize may come before the daemon made the exec's terminal:
 * docker's initTtySize retries up to 10 times, 10, 20, ... ms apart. */
static void resize_initial(struct cli *cli, const char *path) {
  for (int i = 0; i < 10 && resize_once(cli, path) < 0; i++) {
    struct timespec ts = {0, (long)(i + 1) * 10000000L};
    nanosleep(&ts, NULL);
  }
}

static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* Docker's detach key syntax: comma-separated keys, each one character or
 * ctrl-<a-z @ [ \ ] ^ _>. Returns the number of keys, 0 when malformed. */
static size_t parse_detach_keys(const char *spec, unsigned char *out, size_t cap) {
  size_t n = 0;
  const char *p = spec;
  while (*p && n < cap) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == 1) {
      out[n++] = (unsigned char)p[0];
    } else if (len == 6 && strncmp(p, "ctrl-", 5) == 0) {
      char c = p[5];
      if (c >= 'a' && c <= 'z')
        out[n++] = (unsigned char)(c - 'a' + 1);
      else if (c == '@')
        out[n++] = 0;
      else if (c >= '[' && c <= '_')
        out[n++] = (unsigned char)(c - '[' + 27);
      else
        return 0;
    } else {
      return 0;
    }
    p += len;
    if (*p == ',')
      p++;
  }
  return n;
}

/* Detach-key matching over stdin: bytes that may start the sequence are
 * held back until it is clear whether they complete it. */
struct escape {
  unsigned char keys[16];
  size_t n, matched;
};

/* Feed stdin bytes; writes through what is not part of the sequence.
 * Returns 1 when the whole sequence was typed, -1 on a write error. */
static int escape_feed(struct escape *e, struct conn *c, const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char b = (unsigned char)buf[i];
    if (e->n && b == e->keys[e->matched]) {
      if (++e->matched == e->n)
        return 1;
      continue;
    }
    /* no match: release what was held, then this byte */
    if (e->matched && conn_write_all(c, (const char *)e->keys, e->matched) < 0)
      return -1;
    e->matched = 0;
    if (e->n && b == e->keys[0]) {
      e->matched = 1;
      continue;
    }
    if (conn_write_all(c, (const char *)&buf[i], 1) < 0)
      return -1;
  }
  return 0;
}

int stream_run(struct cli *cli, struct conn *c, const struct stream_opts *o, struct berr **err) {
  struct termios saved;
  bool raw = false;
  if (o->tty && o->in && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    t.c_oflag = saved.c_oflag; /* docker keeps output processing on the client side */
    raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  }
  sigset_t mask, old;
  sigemptyset(&mask);
  if (o->tty && o->resize_path)
    sigaddset(&mask, SIGWINCH);
  if (o->sig_proxy && !o->tty && o->kill_path)
    for (size_t i = 0; i < sizeof(proxied) / sizeof(proxied[0]); i++)
      sigaddset(&mask, proxied[i]);
  sigprocmask(SIG_BLOCK, &mask, &old);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (o->tty && o->resize_path)
    resize_initial(cli, o->resize_path);

  struct demux d = {0};
  struct escape esc = {0};
  if (o->tty && o->in)
    esc.n = parse_detach_keys(o->detach_keys && *o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q",
                              esc.keys, sizeof esc.keys);
  bool in_open = o->in;
  int rc = 0;
  char buf[32768];
  for (;;) {
    struct pollfd p[3] = {{.fd = conn_fd(c), .events = POLLIN},
                          {.fd = sfd, .events = POLLIN},
                          {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
    if (conn_pending(c) == 0 && poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      rc = berr_sys(err, errno, "poll");
      break;
    }
    if (conn_pending(c) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = conn_read(c, buf, sizeof(buf));
      if (k <= 0)
        break; /* the daemon ended the stream */
      if (o->tty)
        write_all_fd(STDOUT_FILENO, buf, (size_t)k);
      else
        demux_feed(&d, buf, (size_t)k);
      continue;
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGWINCH) {
          stream_resize(cli, o->resize_path);
        } else if (o->kill_path) {
          _cleanup_free_ char *kp = xasprintf("%s?signal=%u", o->kill_path, si.ssi_signo);
          _cleanup_berr_ struct berr *e = NULL;
          cli_call(cli, "POST", kp, NULL, NULL, NULL, &e);
        }
      }
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0) {
        in_open = false;
        conn_close_write(c);
      } else if (esc.n) {
        int r = escape_feed(&esc, c, buf, (size_t)k);
        if (r == 1) {
          if (o->detached)
            *o->detached = true;
          break;
        }
        if (r < 0)
          in_open = false;
      } else if (conn_write_all(c, buf, (size_t)k) < 0) {
        in_open = false;
      }
    }
  }
  if (sfd >= 0)
    close(sfd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return rc;
}
