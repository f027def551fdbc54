/*
 * http_client.c — the HTTP/1.1 client the distribution code talks through:
 * TCP connections (plain, or TLS with SNI and host-name verification through
 * OpenSSL), a read buffer, and a response parser that handles the three body
 * framings (Content-Length, chunked, until the connection closes).
 *
 * The parser reads from an abstract byte source (struct rbuf) so the unit
 * tests feed it memory. Invariants: rb.buf[off, len) holds unread bytes;
 * a response's body is read through rhttp_body_read only, which tracks
 * what is left of it (h->left) so the next response on a keep-alive
 * connection starts at the right byte. A connection that saw an I/O error,
 * a timeout or an unread body is marked broken and never reused.
 *
 * Timeouts: connect 30 s (non-blocking connect + poll), then SO_RCVTIMEO /
 * SO_SNDTIMEO 60 s on the socket (a stalled registry ends the pull with
 * "timeout" rather than hanging it).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "registry/registry_internal.h"

#define CONNECT_TIMEOUT_MS 30000
#define IO_TIMEOUT_S 60
#define MAX_HEADERS 128

/* ---------- buffered reading ---------- */

static int rbuf_fill(struct rbuf *b) {
  if (b->off > 0 && b->off < b->len)
    memmove(b->buf, b->buf + b->off, b->len - b->off);
  b->len -= b->off;
  b->off = 0;
  if (b->len == sizeof b->buf)
    return -E2BIG;
  ssize_t n = b->read(b->ctx, b->buf + b->len, sizeof b->buf - b->len);
  if (n < 0)
    return (int)n;
  if (n == 0)
    return -EPIPE;
  b->len += (size_t)n;
  return 0;
}

/* One line without its CRLF (or LF), NUL-terminated in place; *line points
 * into the buffer until the next read. */
static int rbuf_line(struct rbuf *b, char **line) {
  for (;;) {
    char *nl = memchr(b->buf + b->off, '\n', b->len - b->off);
    if (nl) {
      *line = b->buf + b->off;
      b->off = (size_t)(nl - b->buf) + 1;
      *nl = '\0';
      if (nl > *line && nl[-1] == '\r')
        nl[-1] = '\0';
      return 0;
    }
    int r = rbuf_fill(b);
    if (r < 0)
      return r;
  }
}

/* Up to len bytes: buffered ones first, else one read straight from the source. */
static ssize_t rbuf_read(struct rbuf *b, void *buf, size_t len) {
  if (b->off < b->len) {
    size_t n = b->len - b->off < len ? b->len - b->off : len;
    memcpy(buf, b->buf + b->off, n);
    b->off += n;
    return (ssize_t)n;
  }
  b->off = b->len = 0;
  if (len >= sizeof b->buf / 2)
    return b->read(b->ctx, buf, len);
  ssize_t n = b->read(b->ctx, b->buf, sizeof b->buf);
  if (n <= 0)
    return n;
  b->len = (size_t)n;
  return rbuf_read(b, buf, len);
}

/* ---------- response head ---------- */

void rresp_clear(struct rresp *h) {
  strv_free(h->headers);
  memset(h, 0, sizeof *h);
}

const char *rresp_header(const struct rresp *h, const char *name) {
  for (size_t i = 0; h->headers && h->headers[i] && h->headers[i + 1]; i += 2)
    if (strcasecmp(h->headers[i], name) == 0)
      return h->headers[i + 1];
  return NULL;
}

static bool token_in(const char *list, const char *tok) {
  size_t n = strlen(tok);
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == ',' || *p == '\t')
      p++;
    if (strncasecmp(p, tok, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == ';'))
      return true;
    p = strchr(p, ',');
  }
  return false;
}

static int parse_status(const char *line, struct rresp *h, struct berr **err) {
  int minor = 0, status = 0;
  if (sscanf(line, "HTTP/1.%d %3d", &minor, &status) != 2 || status < 100 || status > 999)
    return berr_set(err, EPROTO, "malformed HTTP status line \"%.64s\"", line);
  h->status = status;
  h->keep_alive = minor >= 1;
  return 0;
}

static int parse_header(char *line, struct rresp *h, struct berr **err) {
  char *colon = strchr(line, ':');
  if (!colon || colon == line)
    return berr_set(err, EPROTO, "malformed HTTP header \"%.64s\"", line);
  *colon = '\0';
  char *v = colon + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  size_t vl = strlen(v);
  while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
    v[--vl] = '\0';
  for (char *p = line; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p + 32);
  if (strv_len(h->headers) >= 2 * MAX_HEADERS)
    return berr_set(err, EPROTO, "too many HTTP headers");
  h->headers = strv_append(h->headers, xstrdup(line));
  h->headers = strv_append(h->headers, xstrdup(v));
  return 0;
}

static int framing(struct rresp *h, bool head, struct berr **err) {
  const char *te = rresp_header(h, "transfer-encoding");
  const char *cl = rresp_header(h, "content-length");
  const char *conn = rresp_header(h, "connection");
  if (conn && token_in(conn, "close"))
    h->keep_alive = false;
  if (conn && token_in(conn, "keep-alive"))
    h->keep_alive = true;
  h->length = -1;
  if (head || h->status == 204 || h->status == 304 || h->status / 100 == 1) {
    h->no_body = true;
    h->done = true;
    if (cl)
      parse_int64(cl, &h->length);
    return 0;
  }
  if (te && token_in(te, "chunked")) {
    h->chunked = true;
    h->left = 0;
    return 0;
  }
  if (cl) {
    if (parse_int64(cl, &h->length) < 0 || h->length < 0)
      return berr_set(err, EPROTO, "malformed Content-Length \"%s\"", cl);
    h->left = h->length;
    h->done = h->length == 0;
    return 0;
  }
  h->until_close = true;
  h->keep_alive = false;
  return 0;
}

int rhttp_read_head(struct rbuf *b, bool head, struct rresp *h, struct berr **err) {
  rresp_clear(h);
  h->headers = xcalloc(1, sizeof(char *));
  char *line;
  int r;
  for (;;) { /* skip interim 1xx responses (100 Continue) */
    if ((r = rbuf_line(b, &line)) < 0)
      return berr_sys(err, -r, "read HTTP response");
    if ((r = parse_status(line, h, err)) < 0)
      return r;
    for (;;) {
      if ((r = rbuf_line(b, &line)) < 0)
        return berr_sys(err, -r, "read HTTP response headers");
      if (!*line)
        break;
      if ((r = parse_header(line, h, err)) < 0)
        return r;
    }
    if (h->status / 100 != 1)
      break;
    strv_free(h->headers);
    h->headers = xcalloc(1, sizeof(char *));
  }
  return framing(h, head, err);
}

/* ---------- response body ---------- */

static int chunk_size_line(struct rbuf *b, struct rresp *h) {
  char *line;
  int r = rbuf_line(b, &line);
  if (r < 0)
    return r;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(line, &end, 16);
  if (end == line || errno || (*end && *end != ';' && *end != ' '))
    return -EPROTO;
  h->left = (int64_t)n;
  if (n == 0) { /* trailers until an empty line */
    do {
      if ((r = rbuf_line(b, &line)) < 0)
        return r;
    } while (*line);
    h->done = true;
  }
  return 0;
}

ssize_t rhttp_body_read(struct rbuf *b, struct rresp *h, void *buf, size_t len) {
  if (h->done || len == 0)
    return 0;
  if (h->until_close) {
    ssize_t n = rbuf_read(b, buf, len);
    if (n == 0)
      h->done = true;
    return n;
  }
  if (h->chunked && h->left == 0) {
    int r = chunk_size_line(b, h);
    if (r < 0)
      return r;
    if (h->done)
      return 0;
  }
  size_t want = (int64_t)len < h->left ? len : (size_t)h->left;
  ssize_t n = rbuf_read(b, buf, want);
  if (n == 0)
    return -EPIPE; /* the connection ended inside the body */
  if (n < 0)
    return n;
  h->left -= n;
  if (h->left == 0) {
    if (h->chunked) { /* the CRLF after the chunk's data */
      char *line;
      int r = rbuf_line(b, &line);
      if (r < 0)
        return r;
      if (*line)
        return -EPROTO;
    } else {
      h->done = true;
    }
  }
  return n;
}

/* ---------- connections ---------- */

static ssize_t plain_read(void *ctx, void *buf, size_t len) {
  struct rconn *c = ctx;
  for (;;) {
    ssize_t n = read(c->fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      c->broken = true;
      return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
    return n;
  }
}

static ssize_t tls_read(void *ctx, void *buf, size_t len) {
  struct rconn *c = ctx;
  int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
  if (n > 0)
    return n;
  int e = SSL_get_error(c->ssl, n);
  if (e == SSL_ERROR_ZERO_RETURN)
    return 0;
  c->broken = true;
  if (e == SSL_ERROR_SYSCALL && errno == EAGAIN)
    return -ETIMEDOUT;
  if (e == SSL_ERROR_SYSCALL && errno == 0)
    return 0; /* peer closed without close_notify: treat as EOF, framing decides */
  return -EIO;
}

int rconn_write(struct rconn *c, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n;
    if (c->ssl) {
      int k = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
      if (k <= 0) {
        c->broken = true;
        return SSL_get_error(c->ssl, k) == SSL_ERROR_SYSCALL && errno ? -errno : -EIO;
      }
      n = k;
    } else {
      n = send(c->fd, p, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        c->broken = true;
        return errno == EAGAIN ? -ETIMEDOUT : -errno;
      }
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Non-blocking connect bounded by CONNECT_TIMEOUT_MS, then blocking with
 * socket timeouts. */
static int connect_addr(const struct addrinfo *ai) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0)
    return -errno;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return -e;
  }
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int k = poll(&p, 1, CONNECT_TIMEOUT_MS);
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (k <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
    close(fd);
    return k == 0 ? -ETIMEDOUT : -(soerr ? soerr : EIO);
  }
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static int tls_start(SSL_CTX *ctx, struct rconn *c, struct berr **err) {
  c->ssl = SSL_new(ctx);
  if (!c->ssl)
    return berr_set(err, ENOMEM, "TLS to %s: SSL_new failed", c->host);
  SSL_set_fd(c->ssl, c->fd);
  SSL_set_tlsext_host_name(c->ssl, c->host);
  SSL_set1_host(c->ssl, c->host);
  SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
  ERR_clear_error();
  if (SSL_connect(c->ssl) != 1) {
    unsigned long e = ERR_get_error();
    long v = SSL_get_verify_result(c->ssl);
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (v != X509_V_OK)
      return berr_set(err, EPROTO, "x509: certificate of %s: %s", c->host, X509_verify_cert_error_string(v));
    return berr_set(err, EPROTO, "TLS handshake with %s:%d: %s", c->host, c->port, e ? buf : "connection closed");
  }
  c->rb.read = tls_read;
  return 0;
}

int rconn_open(SSL_CTX *ctx, const char *host, int port, bool tls, struct rconn **out, struct berr **err) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res = NULL;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  int g = getaddrinfo(host, ps, &hints, &res);
  if (g != 0)
    return berr_set(err, EHOSTUNREACH, "dial tcp: lookup %s: %s", host, gai_strerror(g));
  int fd = -ECONNREFUSED;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
    if ((fd = connect_addr(ai)) >= 0)
      break;
  freeaddrinfo(res);
  if (fd < 0) { /* Go's wording: "dial tcp 127.0.0.1:1: connect: connection refused" */
    char msg[128];
    snprintf(msg, sizeof msg, "%s", strerror(-fd));
    msg[0] = (char)(msg[0] >= 'A' && msg[0] <= 'Z' ? msg[0] + 32 : msg[0]);
    return berr_set(err, -fd, "dial tcp %s:%d: connect: %s", host, port, msg);
  }
  struct rconn *c = xcalloc(1, sizeof *c);
  c->fd = fd;
  c->host = xstrdup(host);
  c->port = port;
  c->tls = tls;
  c->rb.read = plain_read;
  c->rb.ctx = c;
  if (tls) {
    int r = tls_start(ctx, c, err);
    if (r < 0) {
      rconn_close(c);
      return r;
    }
  }
  *out = c;
  return 0;
}

void rconn_close(struct rconn *c) {
  if (!c)
    return;
  if (c->ssl) {
    if (!c->broken)
      SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  if (c->fd >= 0)
    close(c->fd);
  free(c->host);
  free(c);
}
