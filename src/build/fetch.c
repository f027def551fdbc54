/*
 * fetch.c — ADD <url>: one HTTP GET into a file (build_internal.h, bfetch_url).
 *
 * A small HTTP/1.1 client of our own (the builder sits beside src/registry,
 * not above it): plain http only, any host getaddrinfo resolves, "Connection:
 * close", bodies framed by Content-Length, chunked encoding or the end of
 * the connection, up to 10 redirects (301/302/303/307/308, Location absolute
 * or path-absolute). Timeouts: 30 s to connect, 60 s without a byte.
 *
 * dockerd's rules for the file (builder/dockerfile/copy.go downloadSource):
 * its name is the last element of the URL's path, else Content-Disposition's
 * filename; mode 0600; mtime from Last-Modified (http.ParseTime's formats),
 * else the epoch. Errors use Go's wording, which names the URL:
 * `Get "URL": dial tcp H:P: connect: connection refused` and
 * `failed to GET URL with status 404 Not Found: <body, trimmed>`.
 * The content's sha256 is returned for ADD --checksum.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "build/build_internal.h"

struct url {
  char *host;  /* without brackets */
  char *hostport; /* as written (Host header) */
  char *port;
  char *path;  /* "/x?y" (never empty) */
  char *rawpath; /* the path without the query */
};

static void url_free(struct url *u) {
  free(u->host);
  free(u->hostport);
  free(u->port);
  free(u->path);
  free(u->rawpath);
  memset(u, 0, sizeof *u);
}

static int url_parse(const char *s, struct url *u, struct berr **err) {
  memset(u, 0, sizeof *u);
  if (str_has_prefix(s, "https://"))
    return berr_set(err, ENOTSUP, "ADD %s: https sources are not supported by berth's builder yet", s);
  if (!str_has_prefix(s, "http://"))
    return berr_set(err, EINVAL, "ADD %s: not an http URL", s);
  const char *h = s + 7;
  size_t hl = strcspn(h, "/?#");
  if (hl == 0)
    return berr_set(err, EINVAL, "parse \"%s\": missing host in URL", s);
  u->hostport = strndup(h, hl);
  const char *colon = NULL;
  if (u->hostport[0] == '[') {
    const char *rb = strchr(u->hostport, ']');
    if (!rb)
      goto bad;
    u->host = strndup(u->hostport + 1, (size_t)(rb - u->hostport - 1));
    colon = rb[1] == ':' ? rb + 1 : NULL;
  } else {
    colon = strrchr(u->hostport, ':');
    u->host = colon ? strndup(u->hostport, (size_t)(colon - u->hostport)) : xstrdup(u->hostport);
  }
  u->port = xstrdup(colon && colon[1] ? colon + 1 : "80");
  const char *p = h + hl;
  size_t pl = strcspn(p, "#");
  u->path = pl && p[0] != '?' ? strndup(p, pl) : xasprintf("/%.*s", (int)pl, p);
  u->rawpath = strndup(u->path, strcspn(u->path, "?"));
  return 0;
bad:
  url_free(u);
  return berr_set(err, EINVAL, "parse \"%s\": invalid host", s);
}

static int dial(const struct url *u, const char *url, struct berr **err) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  int e = getaddrinfo(u->host, u->port, &hints, &res);
  if (e != 0)
    return berr_set(err, ENOENT, "Get \"%s\": dial tcp: lookup %s: %s", url, u->host, gai_strerror(e));
  int fd = -1, last = ECONNREFUSED;
  for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    struct timeval ct = {.tv_sec = 30}, rt = {.tv_sec = 60};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ct, sizeof ct); /* bounds connect() too */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt);
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
      last = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    /* Go's syscall messages are lower-case */
    char msg[128];
    snprintf(msg, sizeof msg, "%s", strerror(last));
    msg[0] = (char)tolower((unsigned char)msg[0]);
    return berr_set(err, last, "Get \"%s\": dial tcp %s:%s: connect: %s", url, u->host, u->port, msg);
  }
  return fd;
}

/* A buffered reader over the socket. */
struct conn {
  int fd;
  char buf[16384];
  size_t off, len;
};

static ssize_t conn_fill(struct conn *c) {
  if (c->off < c->len)
    return (ssize_t)(c->len - c->off);
  for (;;) {
    ssize_t k = read(c->fd, c->buf, sizeof c->buf);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return -errno;
    c->off = 0;
    c->len = (size_t)k;
    return k;
  }
}

/* One line (CRLF or LF) into out (NUL-terminated, without the EOL). */
static int conn_line(struct conn *c, char *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    ssize_t k = conn_fill(c);
    if (k <= 0)
      return k < 0 ? (int)k : -EPIPE;
    char ch = c->buf[c->off++];
    if (ch == '\n') {
      if (n && out[n - 1] == '\r')
        n--;
      out[n] = '\0';
      return 0;
    }
    if (n + 1 >= cap)
      return -E2BIG;
    out[n++] = ch;
  }
}

struct resp {
  int status;
  char reason[128];
  int64_t length; /* -1: unknown */
  bool chunked;
  char *location, *last_modified, *disposition;
  int64_t chunk_left; /* chunked: bytes left in the current chunk; -1 at the end */
};

static void resp_free(struct resp *r) {
  free(r->location);
  free(r->last_modified);
  free(r->disposition);
}

static int read_head(struct conn *c, struct resp *r, const char *url, struct berr **err) {
  char line[8192];
  memset(r, 0, sizeof *r);
  r->length = -1;
  int k = conn_line(c, line, sizeof line);
  if (k < 0 || !str_has_prefix(line, "HTTP/1.") || strlen(line) < 12)
    return berr_set(err, EPROTO, "Get \"%s\": malformed HTTP response", url);
  r->status = atoi(line + 9);
  snprintf(r->reason, sizeof r->reason, "%.100s", line[12] ? line + 13 : "");
  for (;;) {
    if ((k = conn_line(c, line, sizeof line)) < 0)
      return berr_set(err, EPROTO, "Get \"%s\": malformed HTTP response headers", url);
    if (!line[0])
      return 0;
    char *colon = strchr(line, ':');
    if (!colon)
      continue;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    if (!strcasecmp(line, "content-length"))
      parse_int64(v, &r->length);
    else if (!strcasecmp(line, "transfer-encoding") && strcasestr(v, "chunked"))
      r->chunked = true;
    else if (!strcasecmp(line, "location"))
      r->location = xstrdup(v);
    else if (!strcasecmp(line, "last-modified"))
      r->last_modified = xstrdup(v);
    else if (!strcasecmp(line, "content-disposition"))
      r->disposition = xstrdup(v);
  }
}

/* Body bytes: >0, 0 at the end, -errno. */
static ssize_t body_read(struct conn *c, struct resp *r, void *buf, size_t len) {
  if (r->chunked) {
    if (r->chunk_left < 0)
      return 0;
    if (r->chunk_left == 0) {
      char line[256];
      int k = conn_line(c, line, sizeof line);
      if (k == 0 && !line[0]) /* the CRLF after the previous chunk */
        k = conn_line(c, line, sizeof line);
      if (k < 0)
        return k;
      r->chunk_left = (int64_t)strtoll(line, NULL, 16);
      if (r->chunk_left == 0) {
        r->chunk_left = -1;
        return 0;
      }
    }
    if ((int64_t)len > r->chunk_left)
      len = (size_t)r->chunk_left;
  } else if (r->length >= 0) {
    if (r->length == 0)
      return 0;
    if ((int64_t)len > r->length)
      len = (size_t)r->length;
  }
  ssize_t k = conn_fill(c);
  if (k <= 0) {
    if (k == 0 && !r->chunked && r->length < 0)
      return 0; /* until close */
    return k < 0 ? k : -EPIPE;
  }
  size_t n = (size_t)k < len ? (size_t)k : len;
  memcpy(buf, c->buf + c->off, n);
  c->off += n;
  if (r->chunked)
    r->chunk_left -= (int64_t)n;
  else if (r->length >= 0)
    r->length -= (int64_t)n;
  return (ssize_t)n;
}

/* http.ParseTime: RFC 1123, RFC 850, asctime. */
static bool parse_http_time(const char *s, time_t *out) {
  static const char *const fmts[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
    struct tm tm = {0};
    const char *end = strptime(s, fmts[i], &tm);
    if (end && !*end) {
      *out = timegm(&tm);
      return true;
    }
  }
  return false;
}

/* Content-Disposition's filename parameter (quotes removed), or NULL. */
static char *disposition_name(const char *v) {
  const char *p = v ? strcasestr(v, "filename=") : NULL;
  if (!p)
    return NULL;
  p += 9;
  if (*p == '"') {
    p++;
    return strndup(p, strcspn(p, "\""));
  }
  return strndup(p, strcspn(p, "; \t"));
}

/* The file's name: the URL path's last element, else Content-Disposition's. */
static char *download_name(const struct url *u, const struct resp *r) {
  const char *p = u->rawpath;
  size_t n = strlen(p);
  if (n && p[n - 1] != '/') {
    const char *slash = strrchr(p, '/');
    return xstrdup(slash ? slash + 1 : p);
  }
  _cleanup_free_ char *d = disposition_name(r->disposition);
  if (d && *d && d[strlen(d) - 1] != '/') {
    const char *slash = strrchr(d, '/');
    return xstrdup(slash ? slash + 1 : d);
  }
  return NULL;
}

static char *resolve_location(const struct url *u, const char *loc) {
  if (str_has_prefix(loc, "http://") || str_has_prefix(loc, "https://"))
    return xstrdup(loc);
  if (loc[0] == '/')
    return xasprintf("http://%s%s", u->hostport, loc);
  _cleanup_free_ char *dir = strndup(u->rawpath, (size_t)(strrchr(u->rawpath, '/') - u->rawpath) + 1);
  return xasprintf("http://%s%s%s", u->hostport, dir, loc);
}

/* The error of a status >= 400: Go's text with the body, trimmed. */
static int status_error(struct conn *c, struct resp *r, const char *url, struct berr **err) {
  struct sbuf b = {0};
  char buf[4096];
  ssize_t k;
  while (b.len < 65536 && (k = body_read(c, r, buf, sizeof buf)) > 0)
    sbuf_addn(&b, buf, (size_t)k);
  char *s = b.s ? b.s : "";
  while (*s && isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  int rc = berr_set(err, r->status == 404 ? ENOENT : EIO, "failed to GET %s with status %d %s: %.*s", url, r->status,
                    r->reason, (int)n, s);
  sbuf_free(&b);
  return rc;
}

/* One request; a redirect gives *next. */
static int fetch_once(const char *orig, const char *url, int dir_fd, struct bfetch *out, char **next,
                      struct berr **err) {
  struct url u, ou;
  int r = url_parse(url, &u, err);
  if (r < 0)
    return r;
  if ((r = url_parse(orig, &ou, err)) < 0) {
    url_free(&u);
    return r;
  }
  struct conn c = {.fd = -1};
  struct resp rs = {0};
  int ffd = -1;
  EVP_MD_CTX *md = NULL;
  char *req = NULL; /* no cleanup attribute: the gotos below jump over declarations */
  if ((c.fd = dial(&u, url, err)) < 0) {
    r = c.fd;
    goto out;
  }
  req = xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth-builder\r\n"
                  "Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
                  u.path, u.hostport);
  size_t off = 0, rl = strlen(req);
  while (off < rl) {
    ssize_t w = write(c.fd, req + off, rl - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      r = berr_sys(err, errno, "Get \"%s\": write", url);
      goto out;
    }
    off += (size_t)w;
  }
  if ((r = read_head(&c, &rs, url, err)) < 0)
    goto out;
  if (rs.status >= 300 && rs.status < 400 && rs.status != 304 && rs.location) {
    *next = resolve_location(&u, rs.location);
    goto out;
  }
  if (rs.status >= 400) {
    r = status_error(&c, &rs, url, err);
    goto out;
  }
  out->name = download_name(&ou, &rs); /* Go: the name from the URL asked for */
  const char *fname = out->name ? out->name : "download";
  ffd = openat(dir_fd, fname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (ffd < 0) {
    r = berr_sys(err, errno, "ADD %s: create %s", url, fname);
    goto out;
  }
  fchmod(ffd, 0600);
  md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  char buf[32768];
  ssize_t k;
  while ((k = body_read(&c, &rs, buf, sizeof buf)) > 0) {
    EVP_DigestUpdate(md, buf, (size_t)k);
    for (ssize_t wo = 0; wo < k;) {
      ssize_t w = write(ffd, buf + wo, (size_t)(k - wo));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0) {
        r = berr_sys(err, errno, "ADD %s: write %s", url, fname);
        goto out;
      }
      wo += w;
    }
  }
  if (k < 0) {
    r = berr_set(err, (int)-k, "Get \"%s\": reading the body: %s", url, k == -EPIPE ? "unexpected EOF" : strerror((int)-k));
    goto out;
  }
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned hn = 0;
  EVP_DigestFinal_ex(md, h, &hn);
  for (unsigned i = 0; i < hn && i < 32; i++)
    snprintf(out->sha256 + 2 * i, 3, "%02x", h[i]);
  /* dockerd: mtime from Last-Modified, else the zero time (the epoch) */
  time_t mt = 0;
  if (rs.last_modified && !parse_http_time(rs.last_modified, &mt))
    mt = 0;
  struct timespec ts[2] = {{mt, 0}, {mt, 0}};
  futimens(ffd, ts);
  out->file = xstrdup(fname);
out:
  free(req);
  if (md)
    EVP_MD_CTX_free(md);
  if (ffd >= 0)
    close(ffd);
  if (c.fd >= 0)
    close(c.fd);
  resp_free(&rs);
  url_free(&u);
  url_free(&ou);
  return r;
}

int bfetch_url(const char *url, int dir_fd, struct bfetch *out, struct berr **err) {
  memset(out, 0, sizeof *out);
  _cleanup_free_ char *cur = xstrdup(url);
  for (int hops = 0; hops <= 10; hops++) {
    char *next = NULL;
    int r = fetch_once(url, cur, dir_fd, out, &next, err);
    if (r < 0) {
      bfetch_free(out);
      return r;
    }
    if (!next)
      return 0;
    free(cur);
    cur = next;
  }
  return berr_set(err, ELOOP, "Get \"%s\": stopped after 10 redirects", url);
}

void bfetch_free(struct bfetch *f) {
  free(f->name);
  free(f->file);
  f->name = f->file = NULL;
}
