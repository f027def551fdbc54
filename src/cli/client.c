/*
 * client.c — the Engine API client of the berth CLI: connections (unix,
 * tcp, tcp+TLS), a small HTTP/1.1 client (keep-alive, Content-Length and
 * chunked bodies, streamed uploads), hijacked connections for attach/exec,
 * API version negotiation and Docker's error wording.
 *
 * Why not libcurl: the CLI's whole cost per command is start-up plus one or
 * two requests on a Unix socket; loading libcurl (and its TLS, HTTP/2, LDAP
 * dependencies) costs more than the requests themselves, and hijacking needs
 * raw socket access anyway. TLS uses OpenSSL directly (libssl is a project
 * dependency), set up only for tcp:// hosts with --tls/--tlsverify.
 *
 * Invariants: a struct conn owns its fd (and SSL); reads go through its
 * buffer so bytes that arrive with a response head (e.g. the first bytes of
 * a hijacked stream) are never lost. Paths given to http_send have no
 * version prefix: it adds "/v<api_version>" once negotiated.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli/cli.h"

#define API_DEFAULT_VERSION "1.41" /* what berthd serves (dockerd 20.10) */
#define DEFAULT_HOST "unix:///run/berth/berth.sock"

struct conn {
  int fd;
  SSL *ssl;
  size_t off, len;     /* unread bytes are buf[off, len) */
  char buf[16384];
};

/* ---------- string builder ---------- */

static void sb_grow(struct sb *b, size_t n) {
  if (b->len + n + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + n + 1)
    cap *= 2;
  b->s = xrealloc(b->s, cap);
  b->cap = cap;
}

void sb_addn(struct sb *b, const char *s, size_t n) {
  sb_grow(b, n);
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void sb_add(struct sb *b, const char *s) { sb_addn(b, s, strlen(s)); }

void sb_addf(struct sb *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  sb_add(b, s);
  free(s);
}

void sb_add_qs(struct sb *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-_.~", *p)) {
      sb_addn(b, (const char *)p, 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      sb_addn(b, e, 3);
    }
  }
}

void sb_query(struct sb *b, const char *key, const char *value) {
  sb_add(b, b->s && strchr(b->s, '?') ? "&" : "?");
  sb_add(b, key);
  sb_add(b, "=");
  sb_add_qs(b, value);
}

void sb_free(struct sb *b) {
  free(b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}

char *sb_steal(struct sb *b) {
  char *s = b->s ? b->s : xstrdup("");
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}

/* ---------- connections ---------- */

void cli_init(struct cli *cli) {
  memset(cli, 0, sizeof(*cli));
  cli->prog = "berth";
}

void cli_fini(struct cli *cli) {
  conn_close(cli->conn);
  cli->conn = NULL;
  if (cli->ssl)
    SSL_CTX_free((SSL_CTX *)cli->ssl);
  free(cli->host);
  free(cli->api_version);
  free(cli->tlscacert);
  free(cli->tlscert);
  free(cli->tlskey);
}

void conn_close(struct conn *c) {
  if (!c)
    return;
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  if (c->fd >= 0)
    close(c->fd);
  free(c);
}

void conn_closep(struct conn **c) {
  conn_close(*c);
  *c = NULL;
}

int conn_fd(const struct conn *c) { return c->fd; }

size_t conn_pending(const struct conn *c) {
  size_t n = c->len - c->off;
  if (c->ssl)
    n += (size_t)SSL_pending(c->ssl);
  return n;
}

static ssize_t conn_raw_read(struct conn *c, void *buf, size_t n) {
  if (c->ssl) {
    int r = SSL_read(c->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
    if (r > 0)
      return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
      return 0;
    errno = EIO;
    return -1;
  }
  for (;;) {
    ssize_t r = read(c->fd, buf, n);
    if (r < 0 && errno == EINTR)
      continue;
    return r;
  }
}

ssize_t conn_read(struct conn *c, void *buf, size_t n) {
  if (c->off < c->len) {
    size_t k = c->len - c->off < n ? c->len - c->off : n;
    memcpy(buf, c->buf + c->off, k);
    c->off += k;
    return (ssize_t)k;
  }
  return conn_raw_read(c, buf, n);
}

/* Make sure at least one byte is buffered; 0 at EOF, -1 on error. */
static int conn_fill(struct conn *c) {
  if (c->off < c->len)
    return 1;
  c->off = c->len = 0;
  ssize_t r = conn_raw_read(c, c->buf, sizeof(c->buf));
  if (r <= 0)
    return (int)r;
  c->len = (size_t)r;
  return 1;
}

/* Read one line ending in \n (\r\n stripped) into line[cap]. */
static int conn_getline(struct conn *c, char *line, size_t cap) {
  size_t n = 0;
  for (;;) {
    int r = conn_fill(c);
    if (r <= 0)
      return r < 0 ? -1 : (n ? 0 : -2);
    char ch = c->buf[c->off++];
    if (ch == '\n')
      break;
    if (n + 1 < cap)
      line[n++] = ch;
  }
  if (n && line[n - 1] == '\r')
    n--;
  line[n] = '\0';
  return 0;
}

int conn_write_all(struct conn *c, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w;
    if (c->ssl) {
      int r = SSL_write(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
      w = r > 0 ? r : -1;
      if (r <= 0)
        errno = EPIPE;
    } else {
      w = send(c->fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
    }
    if (w < 0)
      return -errno;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

void conn_close_write(struct conn *c) {
  if (c->ssl)
    return; /* a TLS close_notify would end both directions: keep it open */
  shutdown(c->fd, SHUT_WR);
}

static int connect_unix(const char *path, int *fd, struct berr **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return berr_set(err, EINVAL, "socket path too long: %s", path);
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return berr_sys(err, errno, "socket");
  if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    close(s);
    /* docker's wording when the daemon is not there */
    return berr_set(err, e,
                    "Cannot connect to the berth daemon at unix://%s. Is the berth daemon running?",
                    path);
  }
  *fd = s;
  return 0;
}

static int connect_tcp(const char *hostport, int *fd, struct berr **err) {
  _cleanup_free_ char *h = xstrdup(hostport);
  char *slash = strchr(h, '/');
  if (slash)
    *slash = '\0';
  char *port = strrchr(h, ':');
  char *host = h;
  if (port && (!strchr(h, ']') || port > strchr(h, ']')))
    *port++ = '\0';
  else
    port = NULL;
  if (host[0] == '[') {
    host++;
    char *e = strchr(host, ']');
    if (e)
      *e = '\0';
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  int r = getaddrinfo(host, port ? port : "2375", &hints, &res);
  if (r)
    return berr_set(err, EHOSTUNREACH, "lookup %s: %s", host, gai_strerror(r));
  int s = -1, e = ECONNREFUSED;
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (s < 0)
      continue;
    if (connect(s, a->ai_addr, a->ai_addrlen) == 0)
      break;
    e = errno;
    close(s);
    s = -1;
  }
  freeaddrinfo(res);
  if (s < 0)
    return berr_set(err, e, "Cannot connect to the berth daemon at tcp://%s. Is the berth daemon running?",
                    hostport);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *fd = s;
  return 0;
}

static int tls_ctx(struct cli *cli, struct berr **err) {
  if (cli->ssl)
    return 0;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx)
    return berr_set(err, EIO, "TLS: cannot make a context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (cli->tlsverify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cli->tlscacert ? SSL_CTX_load_verify_locations(ctx, cli->tlscacert, NULL) != 1
                       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
      SSL_CTX_free(ctx);
      return berr_set(err, EINVAL, "could not read CA certificate \"%s\"",
                      cli->tlscacert ? cli->tlscacert : "(system)");
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  }
  if (cli->tlscert && path_exists(cli->tlscert)) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cli->tlscert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cli->tlskey ? cli->tlskey : "", SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(ctx);
      return berr_set(err, EINVAL, "could not load X509 key pair: cert %s, key %s", cli->tlscert,
                      cli->tlskey ? cli->tlskey : "");
    }
  }
  cli->ssl = (struct ssl_ctx_st *)ctx;
  return 0;
}

int cli_conn_open(struct cli *cli, struct conn **out, struct berr **err) {
  const char *host = cli->host ? cli->host : DEFAULT_HOST;
  int fd = -1, r;
  bool tcp = false;
  if (str_has_prefix(host, "unix://"))
    r = connect_unix(host + 7, &fd, err);
  else if (str_has_prefix(host, "tcp://") || str_has_prefix(host, "http://") ||
           str_has_prefix(host, "https://")) {
    tcp = true;
    r = connect_tcp(strstr(host, "://") + 3, &fd, err);
  } else if (host[0] == '/')
    r = connect_unix(host, &fd, err);
  else
    return berr_set(err, EINVAL, "unable to parse docker host `%s`", host);
  if (r < 0)
    return r;
  struct conn *c = xcalloc(1, sizeof(*c));
  c->fd = fd;
  if (tcp && (cli->tls || cli->tlsverify || str_has_prefix(host, "https://"))) {
    if ((r = tls_ctx(cli, err)) < 0) {
      conn_close(c);
      return r;
    }
    c->ssl = SSL_new((SSL_CTX *)cli->ssl);
    _cleanup_free_ char *name = xstrdup(strstr(host, "://") + 3);
    name[strcspn(name, ":/")] = '\0';
    SSL_set_tlsext_host_name(c->ssl, name);
    if (cli->tlsverify)
      SSL_set1_host(c->ssl, name);
    SSL_set_fd(c->ssl, fd);
    if (SSL_connect(c->ssl) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      conn_close(c);
      return berr_set(err, EPROTO, "error during connect: TLS handshake with %s: %s", host, buf);
    }
  }
  *out = c;
  return 0;
}

/* ---------- HTTP ---------- */

int http_send(struct cli *cli, struct conn *c, const char *method, const char *path,
              const char *ctype, const void *body, size_t len, const char *extra_headers,
              struct berr **err) {
  _cleanup_sb_ struct sb h = {0};
  if (cli->api_version && path[0] == '/' && strcmp(path, "/_ping") != 0)
    sb_addf(&h, "%s /v%s%s HTTP/1.1\r\n", method, cli->api_version, path);
  else
    sb_addf(&h, "%s %s HTTP/1.1\r\n", method, path);
  sb_add(&h, "Host: api.moby.localhost\r\nUser-Agent: berth-cli/" BERTH_VERSION "\r\n");
  if (ctype)
    sb_addf(&h, "Content-Type: %s\r\n", ctype);
  bool chunked = extra_headers && strstr(extra_headers, "Transfer-Encoding");
  if (!chunked && (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0))
    sb_addf(&h, "Content-Length: %zu\r\n", body ? len : 0);
  if (extra_headers)
    sb_add(&h, extra_headers);
  sb_add(&h, "\r\n");
  if (cli->debug)
    fprintf(stderr, "DEBU[0000] %s %s\n", method, path);
  /* a small body goes in the same write as the head: one wake-up of the daemon */
  bool together = body && len && len <= 65536;
  if (together)
    sb_addn(&h, body, len);
  int r = conn_write_all(c, h.s, h.len);
  if (r == 0 && body && len && !together)
    r = conn_write_all(c, body, len);
  if (r < 0)
    return berr_sys(err, -r, "error during connect: %s %s", method, path);
  return 0;
}

static void head_field(struct http_resp *resp, char *line) {
  char *colon = strchr(line, ':');
  if (!colon)
    return;
  *colon = '\0';
  char *v = colon + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  if (!strcasecmp(line, "Content-Length"))
    resp->length = strtoll(v, NULL, 10);
  else if (!strcasecmp(line, "Transfer-Encoding") && strcasestr(v, "chunked"))
    resp->chunked = true;
  else if (!strcasecmp(line, "Connection") && !strcasecmp(v, "close"))
    resp->close = true;
  else if (!strcasecmp(line, "Content-Type")) {
    free(resp->ctype);
    resp->ctype = xstrdup(v);
  } else if (!strcasecmp(line, "X-Docker-Container-Path-Stat")) {
    free(resp->path_stat);
    resp->path_stat = xstrdup(v);
  } else if (!strcasecmp(line, "Api-Version")) {
    free(resp->api_version);
    resp->api_version = xstrdup(v);
  }
}

int http_read_head(struct conn *c, struct http_resp *resp, struct berr **err) {
  char line[8192];
  memset(resp, 0, sizeof(*resp));
  resp->length = -1;
  resp->c = c;
  int r = conn_getline(c, line, sizeof(line));
  if (r < 0)
    return berr_set(err, EPROTO, "error during connect: the daemon closed the connection");
  int major, minor, status;
  if (sscanf(line, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
    return berr_set(err, EPROTO, "malformed HTTP response \"%s\"", line);
  resp->status = status;
  for (;;) {
    if (conn_getline(c, line, sizeof(line)) < 0)
      return berr_set(err, EPROTO, "malformed HTTP response: truncated head");
    if (!line[0])
      break;
    head_field(resp, line);
  }
  if (resp->chunked)
    resp->left = 0;
  else if (resp->length >= 0)
    resp->left = resp->length;
  else
    resp->left = -1; /* until EOF */
  if (status == 204 || status == 304 || status == 101 || resp->length == 0)
    resp->eof = status != 101 && resp->length <= 0 && !resp->chunked;
  return 0;
}

void resp_free(struct http_resp *r) {
  conn_close(r->owned);
  r->owned = NULL;
  free(r->ctype);
  free(r->api_version);
  free(r->path_stat);
  r->ctype = r->api_version = r->path_stat = NULL;
}

ssize_t resp_read(struct http_resp *r, void *buf, size_t n) {
  if (r->eof)
    return 0;
  if (r->chunked && r->left == 0) {
    char line[128];
    if (conn_getline(r->c, line, sizeof(line)) < 0)
      return -1;
    if (!line[0] && conn_getline(r->c, line, sizeof(line)) < 0) /* CRLF after a chunk */
      return -1;
    r->left = strtoll(line, NULL, 16);
    if (r->left == 0) {
      while (conn_getline(r->c, line, sizeof(line)) == 0 && line[0]) /* trailers */
        ;
      r->eof = true;
      return 0;
    }
  }
  if (r->left >= 0 && (size_t)r->left < n)
    n = (size_t)r->left;
  ssize_t k = conn_read(r->c, buf, n);
  if (k < 0)
    return -1;
  if (k == 0) {
    r->eof = true;
    return r->left > 0 ? -1 : 0;
  }
  if (r->left >= 0) {
    r->left -= k;
    if (!r->chunked && r->left == 0)
      r->eof = true;
  }
  return k;
}

int resp_read_all(struct http_resp *r, char **out, size_t *len, struct berr **err) {
  _cleanup_sb_ struct sb b = {0};
  char buf[8192];
  sb_add(&b, "");
  for (;;) {
    ssize_t k = resp_read(r, buf, sizeof(buf));
    if (k < 0)
      return berr_set(err, EPROTO, "error reading the daemon's response: unexpected EOF");
    if (k == 0)
      break;
    sb_addn(&b, buf, (size_t)k);
  }
  if (len)
    *len = b.len;
  *out = sb_steal(&b);
  return 0;
}

int cli_resp_error(int status, const char *body, struct berr **err) {
  int code = status == 404 ? ENOENT : status == 409 ? EEXIST : status == 400 ? EINVAL
           : status == 401 || status == 403 ? EPERM : status == 304 ? EALREADY : EIO;
  _cleanup_json_ json_t *j = body ? json_loads(body, 0, NULL) : NULL;
  const char *msg = json_string_value(json_object_get(j, "message"));
  if (msg)
    return berr_set(err, code, "Error response from daemon: %s", msg);
  _cleanup_free_ char *t = xstrdup(body ? body : "");
  size_t n = strlen(t);
  while (n && (t[n - 1] == '\n' || t[n - 1] == '\r'))
    t[--n] = '\0';
  if (!n)
    return berr_set(err, code, "Error response from daemon: %d", status);
  return berr_set(err, code, "Error response from daemon: %s", t);
}

/* The keep-alive connection, (re)opened as needed. */
static int cli_conn(struct cli *cli, struct conn **c, struct berr **err) {
  if (!cli->conn) {
    int r = cli_conn_open(cli, &cli->conn, err);
    if (r < 0)
      return r;
  }
  *c = cli->conn;
  return 0;
}

int cli_negotiate(struct cli *cli, struct berr **err) {
  if (cli->negotiated && !cli->optimistic)
    return 0;
  cli->negotiated = true;
  cli->optimistic = false;
  const char *env = getenv("DOCKER_API_VERSION");
  if (env && *env) {
    free(cli->api_version);
    cli->api_version = xstrdup(env);
    return 0;
  }
  struct conn *c;
  int r = cli_conn(cli, &c, err);
  if (r < 0)
    return r;
  if ((r = http_send(cli, c, "GET", "/_ping", NULL, NULL, 0, NULL, err)) < 0)
    return r;
  struct http_resp resp;
  r = http_read_head(c, &resp, err);
  _cleanup_free_ char *body = NULL;
  if (r == 0)
    r = resp_read_all(&resp, &body, NULL, err);
  /* Use the server's version when older than ours (docker's negotiation). */
  const char *v = resp.api_version;
  int sm = 0, sn = 0, om = 1, on = 41;
  sscanf(API_DEFAULT_VERSION, "%d.%d", &om, &on);
  free(cli->api_version);
  if (r == 0 && v && sscanf(v, "%d.%d", &sm, &sn) == 2 && (sm < om || (sm == om && sn < on)))
    cli->api_version = xstrdup(v);
  else
    cli->api_version = xstrdup(API_DEFAULT_VERSION);
  if (resp.close) {
    conn_close(cli->conn);
    cli->conn = NULL;
  }
  resp_free(&resp);
  return r;
}

/* The version of a request that can be sent again (its body is in memory):
 * DOCKER_API_VERSION, the settled one, or else our own without a /_ping
 * round trip first. berthd and every dockerd from 20.10 on serve 1.41; an
 * older daemon refuses it with a 400 (version_refused), and the request
 * goes again after a real negotiation. The daemon's first other answer
 * settles the version. */
static void cli_assume_version(struct cli *cli) {
  if (cli->negotiated)
    return;
  cli->negotiated = true;
  const char *env = getenv("DOCKER_API_VERSION");
  free(cli->api_version);
  cli->api_version = xstrdup(env && *env ? env : API_DEFAULT_VERSION);
  cli->optimistic = !(env && *env);
}

/* dockerd's (and berthd's) answer to a version above its own: "client
 * version 1.41 is too new. Maximum supported API version is 1.40". */
static bool version_refused(struct cli *cli, int status, const char *body) {
  return cli->optimistic && status == 400 && body &&
         strstr(body, "is too new. Maximum supported API version is");
}

/* Send a request on the keep-alive connection, retrying once on a fresh one
 * when the daemon had closed the idle connection. */
static int cli_send(struct cli *cli, const char *method, const char *path, const char *ctype,
                    const void *data, size_t len, struct http_resp *resp, struct berr **err) {
  int r = 0;
  cli_assume_version(cli);
  for (int attempt = 0;; attempt++) {
    struct conn *c;
    if ((r = cli_conn(cli, &c, err)) < 0)
      return r;
    _cleanup_berr_ struct berr *e = NULL;
    r = http_send(cli, c, method, path, ctype, data, len, NULL, &e);
    if (r == 0)
      r = http_read_head(c, resp, &e);
    if (r == 0)
      return 0;
    conn_close(cli->conn);
    cli->conn = NULL;
    if (attempt == 1) {
      if (err && !*err)
        *err = steal_ptr(e);
      return r;
    }
  }
}

/* After a streamed or complete response: drop the connection if it cannot be reused. */
static void cli_after(struct cli *cli, struct http_resp *resp) {
  if (resp->close || !resp->eof) {
    conn_close(cli->conn);
    cli->conn = NULL;
  }
}

int cli_call(struct cli *cli, const char *method, const char *path, const json_t *body,
             json_t **out, int *status, struct berr **err) {
  return cli_call_keys(cli, method, path, body, NULL, out, status, err);
}

int cli_call_keys(struct cli *cli, const char *method, const char *path, const json_t *body,
                  const char *const *keep, json_t **out, int *status, struct berr **err) {
  _cleanup_free_ char *data = body ? json_dump_compact(body) : NULL;
  _cleanup_free_ char *text = NULL;
  int r, st;
  for (;;) {
    struct http_resp resp;
    r = cli_send(cli, method, path, data ? "application/json" : NULL, data,
                 data ? strlen(data) : 0, &resp, err);
    if (r < 0)
      return r;
    r = resp_read_all(&resp, &text, NULL, err);
    cli_after(cli, &resp);
    st = resp.status;
    resp_free(&resp);
    if (r < 0)
      return r;
    if (!version_refused(cli, st, text))
      break;
    free(steal_ptr(text));
    if ((r = cli_negotiate(cli, err)) < 0)
      return r;
  }
  cli->optimistic = false;
  if (status)
    *status = st;
  if (st >= 400)
    return cli_resp_error(st, text, err);
  if (out)
    *out = text[0] ? cli_json_load(text, strlen(text), keep) : NULL; /* as json_loads: up to a NUL */
  return 0;
}

int cli_stream(struct cli *cli, const char *method, const char *path, const char *ctype,
               const void *data, size_t len, struct http_resp *resp, struct berr **err) {
  int r;
again:
  if ((r = cli_send(cli, method, path, ctype, data, len, resp, err)) < 0)
    return r;
  if (resp->status >= 400) {
    _cleanup_free_ char *text = NULL;
    resp_read_all(resp, &text, NULL, NULL);
    cli_after(cli, resp);
    int st = resp->status;
    resp_free(resp);
    if (version_refused(cli, st, text)) {
      if ((r = cli_negotiate(cli, err)) < 0)
        return r;
      goto again;
    }
    cli->optimistic = false;
    return cli_resp_error(st, text, err);
  }
  cli->optimistic = false;
  /* The caller reads the body: the response owns the connection from now on. */
  resp->owned = steal_ptr(cli->conn);
  return 0;
}

int cli_stream_upload(struct cli *cli, const char *method, const char *path, const char *ctype,
                      int fd, struct http_resp *resp, struct berr **err) {
  int r = cli_negotiate(cli, err);
  if (r < 0)
    return r;
  struct conn *c;
  if ((r = cli_conn(cli, &c, err)) < 0)
    return r;
  if ((r = http_send(cli, c, method, path, ctype, NULL, 0, "Transfer-Encoding: chunked\r\n", err)) < 0)
    return r;
  char buf[65536];
  for (;;) {
    ssize_t k = read(fd, buf, sizeof(buf));
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return berr_sys(err, errno, "read input");
    char hdr[32];
    int hn = snprintf(hdr, sizeof(hdr), "%zx\r\n", (size_t)k);
    if ((r = conn_write_all(c, hdr, (size_t)hn)) < 0 ||
        (k && (r = conn_write_all(c, buf, (size_t)k)) < 0) || (r = conn_write_all(c, "\r\n", 2)) < 0)
      break;
    if (k == 0)
      break;
  }
  /* The daemon may answer early (an error) and close: read its reply anyway. */
  if ((r = http_read_head(c, resp, err)) < 0)
    return r;
  if (resp->status >= 400) {
    _cleanup_free_ char *text = NULL;
    resp_read_all(resp, &text, NULL, NULL);
    cli_after(cli, resp);
    int st = resp->status;
    resp_free(resp);
    return cli_resp_error(st, text, err);
  }
  resp->owned = steal_ptr(cli->conn);
  return 0;
}

int cli_hijack(struct cli *cli, const char *path, const json_t *body, struct conn **out,
               struct berr **err) {
  int r = cli_negotiate(cli, err);
  if (r < 0)
    return r;
  _cleanup_conn_ struct conn *c = NULL;
  if ((r = cli_conn_open(cli, &c, err)) < 0)
    return r;
  _cleanup_free_ char *data = body ? json_dump_compact(body) : NULL;
  if ((r = http_send(cli, c, "POST", path, data ? "application/json" : "text/plain", data,
                     data ? strlen(data) : 0, "Connection: Upgrade\r\nUpgrade: tcp\r\n", err)) < 0)
    return r;
  struct http_resp resp;
  if ((r = http_read_head(c, &resp, err)) < 0)
    return r;
  int st = resp.status;
  if (st >= 400) {
    _cleanup_free_ char *text = NULL;
    resp_read_all(&resp, &text, NULL, NULL);
    resp_free(&resp);
    return cli_resp_error(st, text, err);
  }
  resp_free(&resp);
  *out = steal_ptr(c);
  return 0;
}

int cli_inspect_container(struct cli *cli, const char *id, json_t **out, struct berr **err) {
  _cleanup_sb_ struct sb p = {0};
  sb_add(&p, "/containers/");
  sb_add_qs(&p, id);
  sb_add(&p, "/json");
  return cli_call(cli, "GET", p.s, NULL, out, NULL, err);
}
