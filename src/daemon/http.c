/*
 * http.c — berthd's HTTP/1.1 server (the API of http.h).
 *
 * Owns: the listeners (Unix socket, TCP, TCP+TLS), the accept loop, one
 * detached thread per live connection (pooled: a thread that has served its
 * connection waits a while for the next one), request parsing (request line, headers,
 * Content-Length and chunked bodies), the Engine API's "/v1.NN" prefix,
 * routing to the handler tables, and every byte written back to a client.
 *
 * Invariants:
 *  - a connection belongs to exactly one thread (its own) until it is
 *    hijacked; then to the handler that hijacked it, which closes it.
 *  - every request gets exactly one response: the http_reply* functions set
 *    r->answered; a handler that returns without answering gets a 500.
 *  - the read buffer holds bytes received but not yet consumed; the body of a
 *    request is read through it (buffered first, then the socket), so
 *    pipelined bytes are never lost.
 *  - the header set of every answer matches dockerd 20.10's (checked with
 *    curl against Debian's dockerd): Api-Version, Docker-Experimental, Ostype,
 *    Server, Date; "page not found" and the 400 for garbage carry none of the
 *    Docker ones, as dockerd's do.
 *  - TLS: OpenSSL's SSL objects are not safe for a read in one thread and a
 *    write in another, so a hijacked TLS connection must be driven by one
 *    thread (poll http_conn_fd + http_conn_pending).
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "daemon/http.h"

#define HTTP_STACK_SIZE (256 * 1024)
#define HTTP_MAX_HEAD (1024 * 1024)      /* Go's DefaultMaxHeaderBytes */
#define HTTP_MAX_BODY (64 * 1024 * 1024) /* buffered bodies; big ones stream */
#define HTTP_MAX_TABLES 16
#define HTTP_MAX_LISTENERS 16
#define HTTP_IDLE_MS (5 * 60 * 1000)     /* keep-alive idle timeout */
#define HTTP_RECV_TIMEOUT_S 120          /* a request (head or body) stalled this long is dropped */
#define HTTP_POOL_IDLE_MAX 64            /* idle connection threads kept for the next connections */
#define HTTP_POOL_IDLE_S 30              /* an idle connection thread exits after this long */

struct listener {
  int fd;
  SSL_CTX *tls; /* NULL: plain */
  char *unix_path; /* removed at free */
};

struct http_server {
  void *ctx;
  const struct http_route *tables[HTTP_MAX_TABLES];
  size_t ntables;
  struct listener ls[HTTP_MAX_LISTENERS];
  size_t nls;
  int stop_fd; /* eventfd: written by http_server_stop */
  atomic_bool stopping;
  pthread_mutex_t lock; /* guards conns, nconns and the pool */
  pthread_cond_t idle_cond; /* signalled when nconns or workers drops */
  struct http_conn *conns; /* live connections (for shutdown at stop) */
  size_t nconns;
  /* The connection threads' pool: a thread that has served its connection
   * waits a while for the next one instead of exiting. A thread per
   * connection costs a clone() and a stack mapping each time, and clone()
   * waits while any runtime moves a process into a cgroup (the kernel's
   * threadgroup lock): with many containers starting at once, connections
   * waited for their thread. Invariant: idle == threads waiting - queued. */
  pthread_cond_t work;       /* a connection was queued, or the server stops */
  struct http_conn *queue;   /* accepted connections handed to waiting threads */
  struct http_conn **qtail;
  size_t workers, idle;      /* connection threads; of those, waiting and not yet handed one */
};

struct http_conn {
  struct http_server *srv;
  struct http_conn *next, *prev; /* srv->conns list */
  struct http_conn *qnext;       /* srv->queue */
  int fd;
  SSL *ssl;
  char *buf; /* received, unconsumed bytes are buf[off..len) */
  size_t cap, len, off;
  bool hijacked;
  /* request body state */
  bool body_chunked;
  int64_t body_left;   /* Content-Length bytes left, or bytes left in the chunk */
  bool body_done;
  bool expect_continue;
  /* response state */
  bool keepalive;
  bool head;           /* the request was HEAD: no body in the answer */
  bool streaming;      /* between stream_begin and stream_end */
  bool broken;         /* a write failed; close after this request */
  int status;          /* the answer's status, for the log */
  struct http_req *req; /* after a hijack: the request, freed with the conn */
  bool *hijack_flag;     /* the serving thread's "hijacked" flag (its stack) */
};

/* ------------------------------------------------------------ raw I/O ---- */

static ssize_t conn_recv(struct http_conn *c, void *buf, size_t len) {
  if (c->ssl) {
    for (;;) {
      int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
      if (n > 0)
        return n;
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
      if (e == SSL_ERROR_SYSCALL && errno == EINTR)
        continue;
      if (e == SSL_ERROR_SYSCALL && n == 0)
        return 0; /* EOF without close_notify: treat as EOF, as Go does */
      return -EIO;
    }
  }
  for (;;) {
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n >= 0)
      return n;
    if (errno != EINTR)
      return -errno;
  }
}

static int conn_send(struct http_conn *c, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n;
    if (c->ssl) {
      int k = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
      if (k <= 0) {
        c->broken = true;
        return -EPIPE;
      }
      n = k;
    } else {
      n = send(c->fd, p, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        c->broken = true;
        return -EPIPE;
      }
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

ssize_t http_conn_read(struct http_conn *c, void *buf, size_t len) {
  if (c->off < c->len) { /* bytes the parser already buffered come first */
    size_t n = c->len - c->off < len ? c->len - c->off : len;
    memcpy(buf, c->buf + c->off, n);
    c->off += n;
    return (ssize_t)n;
  }
  return conn_recv(c, buf, len);
}

int http_conn_write(struct http_conn *c, const void *buf, size_t len) {
  return conn_send(c, buf, len);
}

void http_conn_shutdown_write(struct http_conn *c) {
  if (c->ssl)
    SSL_shutdown(c->ssl); /* sends close_notify */
  shutdown(c->fd, SHUT_WR);
}

int http_conn_fd(const struct http_conn *c) {
  return c->fd;
}

bool http_conn_pending(const struct http_conn *c) {
  return c->off < c->len || (c->ssl && SSL_pending(c->ssl) > 0);
}

/* Read more bytes into the buffer (growing it up to `limit`): bytes read,
 * 0 at EOF, negative errno; -E2BIG when the buffer is at the limit. */
static ssize_t rd_fill(struct http_conn *c, size_t limit) {
  if (c->off > 0) {
    memmove(c->buf, c->buf + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
  }
  if (c->len == c->cap) {
    if (c->cap >= limit)
      return -E2BIG;
    size_t ncap = c->cap ? c->cap * 2 : 4096;
    if (ncap > limit)
      ncap = limit;
    c->buf = xrealloc(c->buf, ncap);
    c->cap = ncap;
  }
  ssize_t n = conn_recv(c, c->buf + c->len, c->cap - c->len);
  if (n > 0)
    c->len += (size_t)n;
  return n;
}

/* The next line (without "\r\n" / "\n") from the buffer, copied; NULL at EOF,
 * on error or when longer than `limit`. Caller frees. */
static char *rd_line(struct http_conn *c, size_t limit) {
  for (;;) {
    char *nl = c->buf ? memchr(c->buf + c->off, '\n', c->len - c->off) : NULL;
    if (nl) {
      size_t n = (size_t)(nl - (c->buf + c->off));
      char *line = strndup(c->buf + c->off, n > 0 && nl[-1] == '\r' ? n - 1 : n);
      c->off += n + 1;
      return line;
    }
    if (c->len - c->off >= limit || rd_fill(c, limit + 1) <= 0)
      return NULL;
  }
}

/* ------------------------------------------------------------ strings ---- */

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Percent-decode (and '+' → ' ' when `plus`) in place; -EINVAL on a bad escape. */
static int url_decode(char *s, bool plus) {
  char *w = s;
  for (char *p = s; *p; p++) {
    if (*p == '%') {
      int hi = hexval((unsigned char)p[1]), lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
      if (hi < 0 || lo < 0)
        return -EINVAL;
      *w++ = (char)(hi * 16 + lo);
      p += 2;
    } else if (*p == '+' && plus) {
      *w++ = ' ';
    } else {
      *w++ = *p;
    }
  }
  *w = '\0';
  return 0;
}

static void kv_push(struct http_kv **v, size_t *n, char *key, char *value) {
  *v = xrealloc(*v, (*n + 1) * sizeof(**v));
  (*v)[*n].key = key;
  (*v)[*n].value = value;
  (*n)++;
}

static void kv_free(struct http_kv *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].key);
    free(v[i].value);
  }
  free(v);
}

/* "a=1&b=x%20y" → query pairs. */
static int parse_query(struct http_req *r, const char *qs) {
  _cleanup_free_ char *copy = xstrdup(qs);
  char *save = NULL;
  for (char *tok = strtok_r(copy, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(tok, '=');
    char *k = eq ? strndup(tok, (size_t)(eq - tok)) : xstrdup(tok);
    char *v = xstrdup(eq ? eq + 1 : "");
    if (k == NULL || url_decode(k, true) < 0 || url_decode(v, true) < 0) {
      free(k);
      free(v);
      return -EINVAL;
    }
    kv_push(&r->query, &r->nquery, k, v);
  }
  return 0;
}

/* ---------------------------------------------------------- accessors ---- */

const char *http_query(const struct http_req *r, const char *key) {
  for (size_t i = r->nquery; i-- > 0;)
    if (strcmp(r->query[i].key, key) == 0)
      return r->query[i].value;
  return NULL;
}

bool http_query_bool(const struct http_req *r, const char *key, bool def) {
  const char *v = http_query(r, key);
  if (v == NULL)
    return def;
  static const char *const falsy[] = {"", "0", "no", "false", "none"};
  for (size_t i = 0; i < sizeof(falsy) / sizeof(*falsy); i++)
    if (strcasecmp(v, falsy[i]) == 0)
      return false;
  return true;
}

int http_query_int(const struct http_req *r, const char *key, int64_t def, int64_t *out,
                   struct berr **err) {
  const char *v = http_query(r, key);
  if (v == NULL || *v == '\0') {
    *out = def;
    return 0;
  }
  if (parse_int64(v, out) < 0)
    return berr_set(err, EINVAL, "invalid value for %s: %s", key, v);
  return 0;
}

const char *http_header(const struct http_req *r, const char *name) {
  for (size_t i = 0; i < r->nheaders; i++)
    if (strcasecmp(r->headers[i].key, name) == 0)
      return r->headers[i].value;
  return NULL;
}

int http_body_json(const struct http_req *r, json_t **out, struct berr **err) {
  size_t i = 0;
  while (r->body && i < r->body_len && strchr(" \t\r\n", r->body[i]))
    i++;
  if (r->body == NULL || i == r->body_len) {
    *out = json_object();
    return 0;
  }
  json_error_t je;
  *out = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &je);
  if (*out == NULL)
    return berr_set(err, EINVAL, "invalid JSON in request body: %s (line %d, column %d)", je.text,
                    je.line, je.column);
  return 0;
}

/* ------------------------------------------------------------- bodies ---- */

static int send_continue(struct http_conn *c) {
  if (!c->expect_continue)
    return 0;
  c->expect_continue = false;
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  return conn_send(c, cont, sizeof(cont) - 1);
}

/* Start the next chunk: reads "<hex>[;ext]"; at the last chunk, the trailer. */
static int next_chunk(struct http_conn *c) {
  _cleanup_free_ char *line = rd_line(c, 4096);
  if (line == NULL)
    return -EPROTO;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(line, &end, 16);
  if (end == line || errno || (*end && *end != ';' && *end != ' '))
    return -EPROTO;
  if (n == 0) {
    for (;;) { /* trailer lines up to the empty one */
      _cleanup_free_ char *t = rd_line(c, 4096);
      if (t == NULL)
        return -EPROTO;
      if (*t == '\0')
        break;
    }
    c->body_done = true;
    return 0;
  }
  c->body_left = (int64_t)n;
  return 0;
}

static ssize_t body_read(struct http_conn *c, void *buf, size_t len) {
  if (c->body_done || len == 0)
    return 0;
  int rc = send_continue(c);
  if (rc < 0)
    return rc;
  if (c->body_chunked && c->body_left == 0) {
    rc = next_chunk(c);
    if (rc < 0)
      return rc;
    if (c->body_done)
      return 0;
  }
  if ((int64_t)len > c->body_left)
    len = (size_t)c->body_left;
  if (c->off == c->len) {
    ssize_t n = rd_fill(c, 64 * 1024);
    if (n <= 0)
      return n == 0 ? -EPROTO : n; /* the client went before the end of the body */
  }
  size_t n = c->len - c->off < len ? c->len - c->off : len;
  memcpy(buf, c->buf + c->off, n);
  c->off += n;
  c->body_left -= (int64_t)n;
  if (c->body_left == 0) {
    if (c->body_chunked) {
      _cleanup_free_ char *crlf = rd_line(c, 2); /* the CRLF after the chunk data */
      if (crlf == NULL || *crlf)
        return -EPROTO;
    } else {
      c->body_done = true;
    }
  }
  return (ssize_t)n;
}

ssize_t http_body_read(struct http_req *r, void *buf, size_t len) {
  return body_read(r->conn, buf, len);
}

/* Buffer the whole body in r->body: 0, or -E2BIG / -EPROTO. */
static int body_slurp(struct http_req *r) {
  struct http_conn *c = r->conn;
  size_t cap = 0, len = 0;
  char *b = NULL;
  for (;;) {
    if (len + 8192 + 1 > cap) {
      cap = cap ? cap * 2 : 16384;
      b = xrealloc(b, cap);
    }
    ssize_t n = body_read(c, b + len, cap - len - 1);
    if (n < 0) {
      free(b);
      return (int)n;
    }
    if (n == 0)
      break;
    len += (size_t)n;
    if (len > HTTP_MAX_BODY) {
      free(b);
      return -E2BIG;
    }
  }
  if (b)
    b[len] = '\0';
  r->body = b;
  r->body_len = len;
  return 0;
}

/* ------------------------------------------------------------ answers ---- */

static const char *status_text(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "UPGRADED";
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 409: return "Conflict";
  case 413: return "Request Entity Too Large";
  case 415: return "Unsupported Media Type";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

/* Status line + headers into a malloc'd string. `docker` adds the header set
 * dockerd's middleware adds; `length` < 0 means none (chunked / hijacked). */
static char *head_build(struct http_req *r, int status, const char *ctype, int64_t length,
                        bool chunked, bool docker, const char *extra) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  char *out = NULL;
  size_t outlen = 0;
  FILE *f = open_memstream(&out, &outlen);
  if (f == NULL)
    abort(); /* out of memory: as x-alloc */
  fprintf(f, "HTTP/1.1 %d %s\r\n", status, status_text(status));
  if (docker)
    fprintf(f, "Api-Version: 1.%d\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
               "Server: Docker/%s (linux)\r\n",
            API_MAX_MINOR, BERTH_VERSION);
  if (ctype)
    fprintf(f, "Content-Type: %s\r\n", ctype);
  if (extra)
    fputs(extra, f);
  fprintf(f, "Date: %s\r\n", date);
  if (length >= 0)
    fprintf(f, "Content-Length: %lld\r\n", (long long)length);
  if (chunked)
    fputs("Transfer-Encoding: chunked\r\n", f);
  if (!r->conn->keepalive)
    fputs("Connection: close\r\n", f);
  fputs("\r\n", f);
  fclose(f);
  return out;
}

static void reply_full(struct http_req *r, int status, const char *ctype, const void *body,
                       size_t len, bool docker, const char *extra) {
  if (r->answered) {
    log_warn("http: %s %s answered twice (status %d)", r->method, r->path, status);
    return;
  }
  r->answered = true;
  r->conn->status = status;
  /* a body is only read by the handler; if it left bytes unread, the
   * connection can't carry another request */
  if (!r->conn->body_done)
    r->conn->keepalive = false;
  bool nobody = r->conn->head || status == 204 || status == 304;
  _cleanup_free_ char *head = head_build(r, status, ctype, nobody && status != 200 ? -1 : (int64_t)len,
                                         false, docker, extra);
  if (conn_send(r->conn, head, strlen(head)) == 0 && !nobody && len > 0)
    conn_send(r->conn, body, len);
}

void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
                size_t len) {
  reply_full(r, status, content_type, body, len, true, NULL);
}

void http_reply_extra(struct http_req *r, int status, const char *content_type,
                      const char *headers, const void *body, size_t len) {
  reply_full(r, status, content_type, body, len, true, headers);
}

void http_reply_status(struct http_req *r, int status) {
  reply_full(r, status, NULL, NULL, 0, true, NULL);
}

void http_reply_json(struct http_req *r, int status, json_t *j) {
  /* Go's json.Encoder: compact, a newline after the value */
  _cleanup_free_ char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("null");
  json_decref(j);
  _cleanup_free_ char *line = xasprintf("%s\n", s ? s : "null");
  http_reply(r, status, "application/json", line, strlen(line));
}

static void reply_message(struct http_req *r, int status, const char *msg, bool docker) {
  json_t *o = json_pack("{s:s}", "message", msg);
  _cleanup_free_ char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  _cleanup_free_ char *line = xasprintf("%s\n", s ? s : "{}");
  reply_full(r, status, "application/json", line, strlen(line), docker, NULL);
}

void http_reply_error(struct http_req *r, int status, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  reply_message(r, status, msg ? msg : "internal error", true);
  free(msg);
}

static int status_of_errno(int code) {
  switch (code) {
  case ENOENT: return 404;
  case EEXIST: case EBUSY: case EALREADY: case ENOTCONN: return 409;
  case EINVAL: return 400;
  case EPERM: case EACCES: return 403;
  case ENOTSUP: case ENOSYS: return 501;
  default: return 500;
  }
}

void http_reply_berr(struct http_req *r, const struct berr *e) {
  if (e == NULL) {
    http_reply_error(r, 500, "internal error");
    return;
  }
  http_reply_error(r, status_of_errno(e->code), "%s", e->msg ? e->msg : "error");
}

int http_stream_begin(struct http_req *r, int status, const char *content_type) {
  return http_stream_begin_extra(r, status, content_type, NULL);
}

int http_stream_begin_extra(struct http_req *r, int status, const char *content_type,
                            const char *extra_headers) {
  if (r->answered)
    return -EALREADY;
  r->answered = true;
  r->conn->status = status;
  if (!r->conn->body_done)
    r->conn->keepalive = false;
  r->conn->streaming = !r->conn->head;
  _cleanup_free_ char *head =
      head_build(r, status, content_type, -1, !r->conn->head, true, extra_headers);
  return conn_send(r->conn, head, strlen(head));
}

int http_stream_write(struct http_req *r, const void *data, size_t len) {
  struct http_conn *c = r->conn;
  if (c->broken)
    return -EPIPE;
  if (!c->streaming || len == 0)
    return 0;
  char size[24];
  int n = snprintf(size, sizeof(size), "%zx\r\n", len);
  if (conn_send(c, size, (size_t)n) < 0 || conn_send(c, data, len) < 0 ||
      conn_send(c, "\r\n", 2) < 0)
    return -EPIPE;
  return 0;
}

int http_stream_end(struct http_req *r) {
  struct http_conn *c = r->conn;
  if (!c->streaming)
    return c->broken ? -EPIPE : 0;
  c->streaming = false;
  return conn_send(c, "0\r\n\r\n", 5);
}

int http_hijack(struct http_req *r, const char *content_type) {
  if (r->answered)
    return -EALREADY;
  r->answered = true;
  struct http_conn *c = r->conn;
  c->status = 101;
  c->hijacked = true;
  c->req = r; /* freed by http_conn_close */
  struct timeval no_timeout = {0};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &no_timeout, sizeof(no_timeout));
  if (c->hijack_flag)
    *c->hijack_flag = true; /* the serving thread must not touch c or r again */
  log_debug("http: %s %s -> hijacked", r->method, r->path);
  /* dockerd: "101 UPGRADED" only when the client sent Upgrade; the
   * middleware's headers are copied after the content type */
  const char *up = http_header(r, "upgrade");
  char *s = xasprintf("%s\r\nContent-Type: %s\r\n%sApi-Version: 1.%d\r\n"
                      "Docker-Experimental: false\r\nOstype: linux\r\n"
                      "Server: Docker/%s (linux)\r\n\r\n",
                      up ? "HTTP/1.1 101 UPGRADED" : "HTTP/1.1 200 OK", content_type,
                      up ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "", API_MAX_MINOR,
                      BERTH_VERSION);
  int rc = conn_send(c, s, strlen(s));
  free(s);
  return rc;
}

/* ------------------------------------------------------------ routing ---- */

/* Match `path` against `pattern`; fills params. "{}" = one segment,
 * "{*}" = one or more segments, as long as the rest of the pattern matches. */
static bool match(const char *pat, const char *path, char **params, size_t np, size_t *used) {
  while (*pat && *path) {
    if (strncmp(pat, "{*}", 3) == 0) {
      const char *rest = pat + 3;
      size_t idx = *used, plen = strlen(path);
      if (idx >= np)
        return false;
      /* the longest capture first: "/images/a/b/json" gives "a/b" */
      for (size_t n = plen; n > 0; n--) {
        if (*rest ? path[n] != *rest : n != plen)
          continue;
        size_t u = idx + 1;
        if (match(rest, path + n, params, np, &u)) {
          params[idx] = strndup(path, n);
          *used = u;
          return true;
        }
        for (size_t i = idx + 1; i < u; i++) {
          free(params[i]);
          params[i] = NULL;
        }
      }
      return false;
    }
    if (strncmp(pat, "{}", 2) == 0) {
      size_t n = strcspn(path, "/");
      if (n == 0 || *used >= np)
        return false;
      params[(*used)++] = strndup(path, n);
      pat += 2;
      path += n;
      continue;
    }
    if (*pat != *path)
      return false;
    pat++;
    path++;
  }
  return *pat == '\0' && *path == '\0';
}

static void params_free(char **params, size_t np) {
  for (size_t i = 0; i < np; i++) {
    free(params[i]);
    params[i] = NULL;
  }
}

/* Find the route; params get the captures (caller frees). */
static const struct http_route *route_find(struct http_server *s, const char *method,
                                           const char *path, char **params, size_t np) {
  for (size_t t = 0; t < s->ntables; t++) {
    for (const struct http_route *rt = s->tables[t]; rt->method; rt++) {
      if (strcmp(rt->method, method) != 0)
        continue;
      size_t used = 0;
      if (match(rt->pattern, path, params, np, &used))
        return rt;
      params_free(params, np);
    }
  }
  return NULL;
}

/* Strip "/v1.NN": 0 (no prefix or a good one), or 400 with the answer sent. */
static int version_prefix(struct http_req *r, char **path) {
  char *p = *path;
  r->api_minor = API_MAX_MINOR;
  if (p[0] != '/' || p[1] != 'v' || !(p[2] >= '0' && p[2] <= '9'))
    return 0;
  size_t n = strspn(p + 2, "0123456789.");
  if (p[2 + n] != '/' && p[2 + n] != '\0')
    return 0; /* not a version segment: "/v2x/..." is just a path */
  _cleanup_free_ char *ver = strndup(p + 2, n);
  int major = -1, minor = -1, used = 0;
  if (sscanf(ver, "%d.%d%n", &major, &minor, &used) != 2 || (size_t)used != n) {
    minor = -1; /* "1" or "1.2.3": compare as Go's versions package would */
    major = atoi(ver);
  }
  if (major > 1 || (major == 1 && minor > API_MAX_MINOR)) {
    _cleanup_free_ char *msg = xasprintf(
        "client version %s is too new. Maximum supported API version is 1.%d", ver, API_MAX_MINOR);
    reply_message(r, 400, msg, true);
    return 400;
  }
  if (major < 1 || minor < API_MIN_MINOR) {
    _cleanup_free_ char *msg =
        xasprintf("client version %s is too old. Minimum supported API version is 1.%d, "
                  "please upgrade your client to a newer version",
                  ver, API_MIN_MINOR);
    reply_message(r, 400, msg, true);
    return 400;
  }
  r->api_minor = minor;
  memmove(p, p + 2 + n, strlen(p + 2 + n) + 1);
  if (*p == '\0')
    strcpy(p, "/");
  return 0;
}

/* --------------------------------------------------------- a request ---- */

/* Go's answer to a request it can't parse; the connection is closed after. */
static void reply_garbage(struct http_conn *c, int status) {
  _cleanup_free_ char *s = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
                                     "charset=utf-8\r\nConnection: close\r\n\r\n%d %s",
                                     status, status_text(status), status, status_text(status));
  conn_send(c, s, strlen(s));
  c->keepalive = false;
}

static void req_free(struct http_req *r) {
  free((char *)r->method);
  free((char *)r->path);
  kv_free(r->query, r->nquery);
  kv_free(r->headers, r->nheaders);
  free(r->body);
  for (size_t i = 0; i < sizeof(r->params) / sizeof(*r->params); i++)
    free((char *)r->params[i]);
  memset(r, 0, sizeof(*r));
}

static bool token_ok(const char *s) {
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s))
      return false;
  return true;
}

/* Read the request line and headers into r: 0, -ENODATA on a clean EOF
 * before a request, or an HTTP status to answer with (400, 431). */
static int req_read_head(struct http_conn *c, struct http_req *r, char **target) {
  _cleanup_free_ char *line = NULL;
  do { /* RFC 9112: ignore empty lines before the request line */
    free(line);
    line = rd_line(c, 8192);
    if (line == NULL)
      return c->len == c->off ? -ENODATA : 400;
  } while (*line == '\0');
  char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
  if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' '))
    return 400;
  *sp1 = *sp2 = '\0';
  const char *proto = sp2 + 1;
  if (!token_ok(line) || sp1[1] != '/' || (strcmp(proto, "HTTP/1.1") && strcmp(proto, "HTTP/1.0")))
    return 400;
  r->method = xstrdup(line);
  *target = xstrdup(sp1 + 1);
  c->keepalive = strcmp(proto, "HTTP/1.1") == 0;
  size_t total = strlen(line);
  for (;;) {
    _cleanup_free_ char *h = rd_line(c, 65536);
    if (h == NULL)
      return 400;
    if (*h == '\0')
      break;
    total += strlen(h);
    if (total > HTTP_MAX_HEAD || r->nheaders > 512)
      return 431;
    char *colon = strchr(h, ':');
    if (colon == NULL || colon == h)
      return 400;
    *colon = '\0';
    if (!token_ok(h))
      return 400;
    char *v = colon + 1;
    v += strspn(v, " \t");
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
      v[--vl] = '\0';
    for (char *p = h; *p; p++)
      *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    kv_push(&r->headers, &r->nheaders, xstrdup(h), xstrdup(v));
  }
  return 0;
}

/* Body framing from the headers: 0 or 400. */
static int req_body_setup(struct http_conn *c, struct http_req *r) {
  const char *te = http_header(r, "transfer-encoding");
  const char *cl = http_header(r, "content-length");
  const char *conn = http_header(r, "connection");
  const char *expect = http_header(r, "expect");
  if (conn && strcasestr(conn, "close"))
    c->keepalive = false;
  else if (conn && strcasestr(conn, "keep-alive"))
    c->keepalive = true;
  c->expect_continue = expect && strcasecmp(expect, "100-continue") == 0;
  c->body_chunked = false;
  c->body_left = 0;
  c->body_done = true;
  if (te && strcasecmp(te, "identity") != 0) {
    if (strcasecmp(te, "chunked") != 0 || cl)
      return 400;
    c->body_chunked = true;
    c->body_done = false;
    return 0;
  }
  if (cl) {
    int64_t n;
    if (parse_int64(cl, &n) < 0 || n < 0)
      return 400;
    c->body_left = n;
    c->body_done = n == 0;
  }
  return 0;
}

/* Split the target into path (decoded) and query: 0 or 400. */
static int req_target(struct http_req *r, char *target, char **path) {
  char *q = strchr(target, '?');
  if (q) {
    *q = '\0';
    if (parse_query(r, q + 1) < 0)
      return 400;
  }
  if (target[0] != '/' || url_decode(target, false) < 0)
    return 400;
  *path = xstrdup(target);
  return 0;
}

static void dispatch(struct http_conn *c, struct http_req *r, char *path, const bool *hijacked) {
  struct http_server *s = c->srv;
  if (version_prefix(r, &path) != 0)
    return;
  r->path = path;
  char *params[4] = {0};
  const struct http_route *rt = route_find(s, r->method, path, params, 4);
  if (rt == NULL) {
    /* dockerd: unknown paths and wrong methods both get this, with no
     * Api-Version & co */
    reply_message(r, 404, "page not found", false);
    return;
  }
  for (size_t i = 0; i < 4; i++)
    r->params[i] = params[i];
  if (!(rt->flags & HTTP_ROUTE_STREAM_BODY)) {
    int rc = body_slurp(r);
    if (rc == -E2BIG) {
      reply_message(r, 413, "request body too large", true);
      return;
    }
    if (rc < 0) {
      reply_garbage(c, 400);
      r->answered = true;
      return;
    }
  }
  rt->fn(r);
  if (*hijacked) /* c and r are the handler's now, maybe freed already */
    return;
  if (!r->answered)
    http_reply_error(r, 500, "%s %s: the handler did not answer", r->method, r->path);
  if (c->streaming) /* a stream the handler did not end: end it */
    http_stream_end(r);
}

enum serve_result { SERVE_NEXT, SERVE_CLOSE, SERVE_HIJACKED };

/* One request on the connection. After SERVE_HIJACKED the connection is no
 * longer the caller's. */
static enum serve_result serve_one(struct http_conn *c) {
  struct http_req *r = xcalloc(1, sizeof(*r));
  r->conn = c;
  r->ctx = c->srv->ctx;
  _cleanup_free_ char *target = NULL;
  struct timespec t0, t1;
  c->status = 0;
  c->head = false;
  int rc = req_read_head(c, r, &target);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char *path = NULL;
  if (rc == 0)
    rc = req_body_setup(c, r);
  if (rc == 0)
    rc = req_target(r, target, &path);
  if (rc != 0) {
    if (rc != -ENODATA) {
      reply_garbage(c, rc);
      log_debug("http: malformed request: answered %d", rc);
    }
    req_free(r);
    free(r);
    return SERVE_CLOSE;
  }
  c->head = strcmp(r->method, "HEAD") == 0;
  bool hijacked = false;
  c->hijack_flag = &hijacked;
  dispatch(c, r, path, &hijacked); /* r->path takes path when it routes */
  if (hijacked)
    return SERVE_HIJACKED;
  c->hijack_flag = NULL;
  if (r->path == NULL)
    free(path);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  log_debug("http: %s %s -> %d (%.3f ms)", r->method, r->path ? r->path : target, c->status,
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  bool again = c->keepalive && !c->broken;
  if (again && !c->body_done) { /* drain what the handler left unread */
    char sink[4096];
    ssize_t n;
    while ((n = body_read(c, sink, sizeof(sink))) > 0)
      ;
    again = n == 0;
  }
  req_free(r);
  free(r);
  return again ? SERVE_NEXT : SERVE_CLOSE;
}

/* -------------------------------------------------------- connections ---- */

static void conn_free(struct http_conn *c) {
  struct http_server *s = c->srv;
  pthread_mutex_lock(&s->lock);
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  s->nconns--;
  pthread_cond_broadcast(&s->idle_cond);
  pthread_mutex_unlock(&s->lock);
  if (c->ssl)
    SSL_free(c->ssl);
  if (c->fd >= 0)
    close(c->fd);
  if (c->req) {
    req_free(c->req);
    free(c->req);
  }
  free(c->buf);
  free(c);
}

void http_conn_close(struct http_conn *c) {
  if (c)
    conn_free(c);
}

/* Wait until the socket is readable or the idle time is over. */
static bool conn_wait_request(struct http_conn *c) {
  if (http_conn_pending(c))
    return true;
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  int n;
  do
    n = poll(&p, 1, HTTP_IDLE_MS);
  while (n < 0 && errno == EINTR);
  return n > 0;
}

/* Serve one connection to its end. */
static void conn_serve(struct http_conn *c) {
  if (c->ssl && SSL_accept(c->ssl) != 1) {
    unsigned long e = ERR_get_error();
    log_debug("http: TLS handshake: %s", e ? ERR_reason_error_string(e) : "connection closed");
    ERR_clear_error();
    conn_free(c);
    return;
  }
  enum serve_result res = SERVE_CLOSE;
  while (!atomic_load(&c->srv->stopping) && conn_wait_request(c) &&
         (res = serve_one(c)) == SERVE_NEXT)
    ;
  if (res != SERVE_HIJACKED)
    conn_free(c); /* a hijacked connection is closed by its handler */
}

/* A served thread waits for the next connection; NULL when it is to exit
 * (enough threads wait already, none came in HTTP_POOL_IDLE_S, or the
 * server stops): then it no longer counts as a worker. */
static struct http_conn *pool_next(struct http_server *s) {
  pthread_mutex_lock(&s->lock);
  struct http_conn *c = NULL;
  if (s->idle < HTTP_POOL_IDLE_MAX && !atomic_load(&s->stopping)) {
    s->idle++;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += HTTP_POOL_IDLE_S;
    while (s->queue == NULL && !atomic_load(&s->stopping) &&
           pthread_cond_timedwait(&s->work, &s->lock, &dl) != ETIMEDOUT)
      ;
    c = s->queue;
    if (c) { /* conn_start took this thread off `idle` when it queued c */
      s->queue = c->qnext;
      if (s->queue == NULL)
        s->qtail = &s->queue;
    } else {
      s->idle--;
    }
  }
  if (c == NULL) {
    s->workers--;
    pthread_cond_broadcast(&s->idle_cond);
  }
  pthread_mutex_unlock(&s->lock); /* after this an exiting thread no longer touches s */
  return c;
}

static void *conn_thread(void *arg) {
  struct http_conn *c = arg;
  struct http_server *s = c->srv;
  for (; c; c = pool_next(s))
    conn_serve(c);
  return NULL;
}

static void conn_start(struct http_server *s, int fd, SSL_CTX *tls) {
  struct http_conn *c = xcalloc(1, sizeof(*c));
  c->srv = s;
  c->fd = fd;
  c->body_done = true;
  /* a client that stops mid-request must not hold its thread forever;
   * cleared at hijack, where reads may wait as long as the stream lives */
  struct timeval tv = {.tv_sec = HTTP_RECV_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (tls) {
    c->ssl = SSL_new(tls);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
      if (c->ssl)
        SSL_free(c->ssl);
      close(fd);
      free(c);
      return;
    }
  }
  pthread_mutex_lock(&s->lock);
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  if (s->idle > 0) { /* a waiting thread takes it */
    s->idle--;
    c->qnext = NULL;
    *s->qtail = c;
    s->qtail = &c->qnext;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    return;
  }
  s->workers++;
  pthread_mutex_unlock(&s->lock);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, HTTP_STACK_SIZE);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create(&t, &attr, conn_thread, c);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    log_warn("http: cannot start a connection thread: %s", strerror(rc));
    conn_free(c);
    pthread_mutex_lock(&s->lock);
    s->workers--;
    pthread_cond_broadcast(&s->idle_cond);
    pthread_mutex_unlock(&s->lock);
  }
}

/* ------------------------------------------------------------- server ---- */

struct http_server *http_server_new(void *ctx) {
  struct http_server *s = xcalloc(1, sizeof(*s));
  s->ctx = ctx;
  s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->idle_cond, NULL);
  pthread_cond_init(&s->work, NULL);
  s->qtail = &s->queue;
  return s;
}

void http_server_free(struct http_server *s) {
  if (s == NULL)
    return;
  atomic_store(&s->stopping, true);
  /* wake the connection threads (idle keep-alives, streams) and give them
   * a moment to go; a hijacked connection is its handler's to close */
  pthread_mutex_lock(&s->lock);
  for (struct http_conn *c = s->conns; c; c = c->next)
    shutdown(c->fd, SHUT_RDWR);
  pthread_cond_broadcast(&s->work); /* the waiting threads exit */
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 2;
  while ((s->nconns > 0 || s->workers > 0) &&
         pthread_cond_timedwait(&s->idle_cond, &s->lock, &dl) == 0)
    ;
  size_t left = s->nconns + s->workers;
  pthread_mutex_unlock(&s->lock);
  /* the listeners are the accept loop's, which has returned: close them and
   * remove the socket files in any case */
  for (size_t i = 0; i < s->nls; i++) {
    if (s->ls[i].fd >= 0)
      close(s->ls[i].fd);
    s->ls[i].fd = -1;
    if (s->ls[i].tls)
      SSL_CTX_free(s->ls[i].tls);
    s->ls[i].tls = NULL;
    if (s->ls[i].unix_path)
      unlink(s->ls[i].unix_path);
    free(s->ls[i].unix_path);
    s->ls[i].unix_path = NULL;
  }
  if (left > 0) {
    /* threads still hold pointers to s (a client still waiting, e.g. the
     * docker CLI's wait of `run -d`): leave it to the process's exit, and
     * say so to LeakSanitizer */
    log_debug("http: %zu connection(s) or thread(s) still busy at shutdown", left);
#if defined(__SANITIZE_ADDRESS__)
    __lsan_ignore_object(s);
#endif
    return;
  }
  if (s->stop_fd >= 0)
    close(s->stop_fd);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->idle_cond);
  pthread_cond_destroy(&s->work);
  free(s);
}

void http_server_add_routes(struct http_server *s, const struct http_route *table) {
  if (s->ntables < HTTP_MAX_TABLES)
    s->tables[s->ntables++] = table;
}

static int add_listener(struct http_server *s, int fd, SSL_CTX *tls, const char *unix_path,
                        struct berr **err) {
  if (s->nls >= HTTP_MAX_LISTENERS) {
    close(fd);
    if (tls)
      SSL_CTX_free(tls);
    return berr_set(err, EINVAL, "too many listeners (at most %d)", HTTP_MAX_LISTENERS);
  }
  s->ls[s->nls].fd = fd;
  s->ls[s->nls].tls = tls;
  s->ls[s->nls].unix_path = unix_path ? xstrdup(unix_path) : NULL;
  s->nls++;
  return 0;
}

/* The group's gid from /etc/group (or a number). Read directly, not through
 * getgrnam(): NSS would load its modules (libnss_systemd & co, ~0.5 MiB of
 * resident memory) into the daemon for one lookup at start. */
static bool group_lookup(const char *name, gid_t *out) {
  int64_t n;
  if (parse_int64(name, &n) == 0 && n >= 0) {
    *out = (gid_t)n;
    return true;
  }
  _cleanup_fclose_ FILE *f = fopen("/etc/group", "re");
  struct group *g;
  while (f && (g = fgetgrent(f)) != NULL) {
    if (strcmp(g->gr_name, name) == 0) {
      *out = g->gr_gid;
      return true;
    }
  }
  return false;
}

int http_server_listen_unix(struct http_server *s, const char *path, mode_t mode,
                            const char *group, struct berr **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return berr_set(err, EINVAL, "listen on %s: socket path too long (max %zu bytes)", path,
                    sizeof(sa.sun_path) - 1);
  strcpy(sa.sun_path, path);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berr_sys(err, errno, "listen on %s: socket", path);
  /* a stale socket left by a crash: remove it (main already refused to run
   * beside a live berthd through the pidfile) */
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return berr_set(err, EEXIST, "listen on %s: file exists and is not a socket", path);
    unlink(path);
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    return berr_sys(err, errno, "listen on %s: bind", path);
  if (chmod(path, mode) < 0) {
    int e = errno;
    unlink(path);
    return berr_sys(err, e, "listen on %s: chmod", path);
  }
  if (group && *group) {
    gid_t gid;
    if (group_lookup(group, &gid)) {
      if (chown(path, (uid_t)-1, gid) < 0)
        log_warn("listen on %s: chgrp %s: %s", path, group, strerror(errno));
    } else {
      log_debug("group %s not found: %s stays root's", group, path);
    }
  }
  if (listen(fd, 128) < 0) {
    int e = errno;
    unlink(path);
    return berr_sys(err, e, "listen on %s", path);
  }
  return add_listener(s, move_fd(&fd), NULL, path, err);
}

static int tls_ctx_new(const struct http_tls_opts *o, SSL_CTX **out, struct berr **err) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL)
    return berr_set(err, ENOMEM, "TLS: cannot make a context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  const char *what = NULL, *file = NULL;
  if (o->cert == NULL || o->key == NULL)
    what = "--tlscert and --tlskey are required", file = "";
  else if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
    what = "load certificate", file = o->cert;
  else if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)
    what = "load key", file = o->key;
  else if (SSL_CTX_check_private_key(ctx) != 1)
    what = "certificate and key do not match", file = o->key;
  else if (o->verify && (o->ca == NULL || SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1))
    what = "load CA certificate", file = o->ca ? o->ca : "(none: set --tlscacert)";
  if (what) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return berr_set(err, EINVAL, "TLS: %s %s%s%s", what, file, e ? ": " : "",
                    e ? ERR_reason_error_string(e) : "");
  }
  if (o->verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca);
    if (names)
      SSL_CTX_set_client_CA_list(ctx, names);
  }
  *out = ctx;
  return 0;
}

int http_server_listen_tcp(struct http_server *s, const char *hostport,
                           const struct http_tls_opts *tls, struct berr **err) {
  const char *colon = strrchr(hostport, ':');
  if (colon == NULL)
    return berr_set(err, EINVAL, "listen on tcp://%s: missing port", hostport);
  _cleanup_free_ char *host = strndup(hostport, (size_t)(colon - hostport));
  const char *port = colon + 1;
  if (host[0] == '[') { /* [::1]:2375 */
    size_t hl = strlen(host);
    if (hl < 2 || host[hl - 1] != ']')
      return berr_set(err, EINVAL, "listen on tcp://%s: bad address", hostport);
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = '\0';
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
  int g = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
  if (g != 0)
    return berr_set(err, EINVAL, "listen on tcp://%s: %s", hostport, gai_strerror(g));
  _cleanup_close_ int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
  int one = 1;
  int rc = 0;
  if (fd < 0)
    rc = berr_sys(err, errno, "listen on tcp://%s: socket", hostport);
  else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
           bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0)
    rc = berr_sys(err, errno, "listen on tcp://%s", hostport);
  freeaddrinfo(ai);
  if (rc < 0)
    return rc;
  SSL_CTX *ctx = NULL;
  if (tls && (rc = tls_ctx_new(tls, &ctx, err)) < 0)
    return berr_wrap(err, "listen on tcp://%s", hostport);
  return add_listener(s, move_fd(&fd), ctx, NULL, err);
}

int http_server_run(struct http_server *s) {
  struct pollfd p[HTTP_MAX_LISTENERS + 1];
  for (size_t i = 0; i < s->nls; i++)
    p[i] = (struct pollfd){.fd = s->ls[i].fd, .events = POLLIN};
  p[s->nls] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};
  while (!atomic_load(&s->stopping)) {
    int n = poll(p, s->nls + 1, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      log_error("http: poll: %s", strerror(errno));
      return -errno;
    }
    if (p[s->nls].revents)
      break;
    for (size_t i = 0; i < s->nls; i++) {
      if (!(p[i].revents & POLLIN))
        continue;
      int fd = accept4(s->ls[i].fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
          log_warn("http: accept: %s", strerror(errno));
        if (errno == EMFILE || errno == ENFILE)
          poll(NULL, 0, 100); /* don't spin while out of descriptors */
        continue;
      }
      if (s->ls[i].unix_path == NULL) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      }
      conn_start(s, fd, s->ls[i].tls);
    }
  }
  atomic_store(&s->stopping, true);
  return 0;
}

void http_server_stop(struct http_server *s) {
  uint64_t one = 1;
  atomic_store(&s->stopping, true);
  ssize_t n = write(s->stop_fd, &one, sizeof(one)); /* async-signal-safe */
  (void)n;
}
