/*
 * session.c — requests against one registry for one repository, with the
 * distribution spec's auth dance around them:
 *
 *   1. ping GET /v2/: 200 means no auth; 401 carries WWW-Authenticate
 *      (TLS first; for loopback / insecure registries plain http when the
 *      TLS handshake fails, as dockerd's fallback does)
 *   2. Bearer: GET <realm>?service=…&scope=repository:<repo>:pull[,push]
 *      (basic credentials when we have them) → {"token"|"access_token",
 *      "expires_in"}, kept in the registry's token cache;
 *      Basic: the credentials on every request
 *   3. every request carries Authorization; a 401 re-authenticates once
 *      with the scope the new challenge names (cross-repo mounts need pull
 *      on the source repository)
 *
 * Redirects (blob GETs go to storage): 301/302/303/307/308 followed up to 5
 * times; Authorization is dropped when the host changes. The session keeps
 * one keep-alive connection to the registry; a request that fails on a
 * reused connection before any response byte is retried once on a fresh
 * one (the registry may have closed it while idle).
 */
#include <errno.h>
#include <strings.h>

#include "registry/registry_internal.h"

#define MAX_REDIRECTS 5

struct url {
  bool tls;
  char *host;
  int port;
  char *hostport; /* as the Host header wants it */
  char *path;     /* path + query */
};

static void url_clear(struct url *u) {
  free(u->host);
  free(u->hostport);
  free(u->path);
  memset(u, 0, sizeof *u);
}

static int url_parse(const char *s, struct url *u) {
  memset(u, 0, sizeof *u);
  const char *p;
  if (str_has_prefix(s, "https://")) {
    u->tls = true;
    p = s + 8;
  } else if (str_has_prefix(s, "http://")) {
    p = s + 7;
  } else {
    return -EINVAL;
  }
  size_t hl = strcspn(p, "/?#");
  u->hostport = xasprintf("%.*s", (int)hl, p);
  if (!hl || split_hostport(u->hostport, u->tls, &u->host, &u->port) < 0) {
    url_clear(u);
    return -EINVAL;
  }
  u->path = xstrdup(p[hl] == '/' ? p + hl : "/");
  if (p[hl] == '?') {
    free(u->path);
    u->path = xasprintf("/%s", p + hl);
  }
  return 0;
}

static char *url_escape(const char *s) {
  char *o = xmalloc(3 * strlen(s) + 1), *p = o;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c))
      *p++ = (char)c;
    else
      p += sprintf(p, "%%%02X", c);
  }
  *p = '\0';
  return o;
}

static char *host_header(const char *host, int port, bool tls) {
  bool v6 = strchr(host, ':') != NULL;
  if (port == (tls ? 443 : 80))
    return v6 ? xasprintf("[%s]", host) : xstrdup(host);
  return v6 ? xasprintf("[%s]:%d", host, port) : xasprintf("%s:%d", host, port);
}

/* ---------- one exchange on a connection ---------- */

static int send_body(struct rconn *c, const struct sbody *b) {
  if (!b)
    return 0;
  if (b->data)
    return rconn_write(c, b->data, (size_t)b->len);
  char *buf = xmalloc(256 * 1024);
  int64_t off = b->off, left = b->len;
  int r = 0;
  while (left > 0 && r == 0) {
    ssize_t n = pread(b->fd, buf, left < 256 * 1024 ? (size_t)left : 256 * 1024, off);
    if (n <= 0) {
      r = n < 0 ? -errno : -EIO;
      break;
    }
    r = rconn_write(c, buf, (size_t)n);
    off += n;
    left -= n;
  }
  free(buf);
  return r;
}

static int exchange(struct rconn *c, const char *method, const char *path, const char *authz, const char *hdrs,
                    const struct sbody *body, struct rresp *h, struct berr **err) {
  _cleanup_free_ char *host = host_header(c->host, c->port, c->tls);
  _cleanup_free_ char *auth = authz ? xasprintf("Authorization: %s\r\n", authz) : xstrdup("");
  bool has_body = body || strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0 ||
                  strcmp(method, "PATCH") == 0;
  _cleanup_free_ char *cl = has_body ? xasprintf("Content-Length: %lld\r\n", body ? (long long)body->len : 0LL)
                                     : xstrdup("");
  _cleanup_free_ char *req = xasprintf("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth/0.3 (distribution client)\r\n"
                                       "%s%s%sAccept-Encoding: identity\r\n\r\n",
                                       method, path, host, auth, hdrs ? hdrs : "", cl);
  c->used++;
  int r = rconn_write(c, req, strlen(req));
  if (r == 0)
    r = send_body(c, body);
  if (r < 0)
    return berr_sys(err, -r, "%s %s:%d%s", method, c->host, c->port, path);
  return rhttp_read_head(&c->rb, strcmp(method, "HEAD") == 0, h, err);
}

/* ---------- responses ---------- */

ssize_t sresp_read(struct sresp *r, void *buf, size_t len) {
  ssize_t n = rhttp_body_read(&r->c->rb, &r->h, buf, len);
  if (n < 0)
    r->c->broken = true;
  return n;
}

int sresp_read_all(struct sresp *r, size_t max, char **data, size_t *len, struct berr **err) {
  size_t cap = 16 * 1024, n = 0;
  char *d = xmalloc(cap + 1);
  for (;;) {
    if (n == cap) {
      if (cap >= max) {
        free(d);
        r->c->broken = true;
        return berr_set(err, E2BIG, "response from %s larger than %zu bytes", r->c->host, max);
      }
      cap *= 2;
      d = xrealloc(d, cap + 1);
    }
    ssize_t k = sresp_read(r, d + n, cap - n);
    if (k == 0)
      break;
    if (k < 0) {
      free(d);
      return berr_sys(err, k == -EPIPE ? EPIPE : (int)-k, "read response from %s:%d",
                      r->c->host, r->c->port);
    }
    n += (size_t)k;
  }
  d[n] = '\0';
  *data = d;
  *len = n;
  return 0;
}

void sresp_end(struct sresp *r) {
  if (!r->c)
    return;
  if (!r->h.done) { /* drain a small rest, else give the connection up */
    char buf[4096];
    for (int i = 0; i < 16 && !r->h.done; i++)
      if (sresp_read(r, buf, sizeof buf) <= 0)
        break;
    if (!r->h.done)
      r->c->broken = true;
  }
  if (!r->h.keep_alive)
    r->c->broken = true;
  if (r->own)
    rconn_close(r->c);
  else if (r->c->broken && r->s && r->s->conn == r->c) {
    rconn_close(r->c);
    r->s->conn = NULL;
  }
  rresp_clear(&r->h);
  r->c = NULL;
}

char *sresp_error(struct sresp *r) {
  char *body = NULL;
  size_t len = 0;
  int status = r->h.status;
  char *msg = NULL;
  if (sresp_read_all(r, 64 * 1024, &body, &len, NULL) == 0) {
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *m = json_string_value(json_object_get(e, "message"));
    if (m) /* dockerd prints the errcode as "<code lower-case>: <message>" */ {
      msg = xasprintf("%s: %s", code ? code : "error", m);
      for (char *p = msg; code && *p && *p != ':'; p++)
        if (*p >= 'A' && *p <= 'Z')
          *p = (char)(*p + 32);
        else if (*p == '_')
          *p = ' ';
    }
    json_decref(j);
  }
  free(body);
  sresp_end(r);
  if (!msg)
    msg = xasprintf("unexpected HTTP status %d", status);
  return msg;
}

/* ---------- auth ---------- */

static char *basic_authz(const struct registry_auth *a) {
  if (!a || !a->username)
    return NULL;
  _cleanup_free_ char *up = xasprintf("%s:%s", a->username, a->password ? a->password : "");
  _cleanup_free_ char *b = b64_encode(up, strlen(up));
  return xasprintf("Basic %s", b);
}

static bool basic_authz_present(const struct registry_auth *a) { return a && a->username; }

/* Fetch a bearer token for `scope` (may be NULL: login) from the challenge's realm. */
/* A connection for this session's registry or a host it redirects to; TLS
 * ones take the registry's shared context, made on first use. */
static int session_dial(struct session *s, const char *host, int port, bool tls, struct rconn **out,
                        struct berr **err) {
  SSL_CTX *ctx = NULL;
  if (tls && !(ctx = registry_tls(s->reg, err)))
    return -ENOMEM;
  return rconn_open(ctx, host, port, tls, out, err);
}

static int fetch_token(struct session *s, const struct challenge *ch, const char *scope, char **token,
                       struct berr **err) {
  const char *user = s->auth && s->auth->username ? s->auth->username : "";
  /* the key holds a hash of the credentials: another password is another entry */
  _cleanup_free_ char *cred = basic_authz(s->auth);
  unsigned char h[32];
  unsigned hl = 0;
  EVP_Digest(cred ? cred : "", cred ? strlen(cred) : 0, h, &hl, EVP_sha256(), NULL);
  char hx[17];
  for (int i = 0; i < 8; i++)
    snprintf(hx + 2 * i, 3, "%02x", h[i]);
  _cleanup_free_ char *key = xasprintf("%s|%s|%s|%s|%s", ch->realm, ch->service ? ch->service : "",
                                       scope ? scope : "", user, hx);
  int64_t now = mono_ms() / 1000;
  if (!s->login && (*token = token_cache_get(s->reg->tokens, key, now)))
    return 0;
  struct url u;
  if (!ch->realm || url_parse(ch->realm, &u) < 0)
    return berr_set(err, EINVAL, "invalid token realm \"%s\"", ch->realm ? ch->realm : "");
  _cleanup_free_ char *svc = url_escape(ch->service ? ch->service : "");
  /* one scope= parameter per space-separated scope (a mount needs two) */
  _cleanup_free_ char *sc = xstrdup("");
  _cleanup_free_ char *words = scope ? xstrdup(scope) : NULL;
  for (char *save = NULL, *w = words ? strtok_r(words, " ", &save) : NULL; w; w = strtok_r(NULL, " ", &save)) {
    _cleanup_free_ char *e = url_escape(w);
    char *n = xasprintf("%s&scope=%s", sc, e);
    free(sc);
    sc = n;
  }
  _cleanup_free_ char *path = xasprintf("%s%sservice=%s%s%s", u.path, strchr(u.path, '?') ? "&" : "?", svc, sc,
                                        *user ? "&account=" : "");
  if (*user) {
    _cleanup_free_ char *acc = url_escape(user);
    char *p2 = xasprintf("%s%s", path, acc);
    free(path);
    path = p2;
  }
  struct rconn *c = NULL;
  int r = session_dial(s, u.host, u.port, u.tls, &c, err);
  if (r < 0) {
    url_clear(&u);
    return berr_wrap(err, "get token from %s", ch->realm);
  }
  _cleanup_free_ char *authz = basic_authz(s->auth);
  struct sresp resp = {.s = NULL, .c = c, .own = true};
  r = exchange(c, "GET", path, authz, NULL, NULL, &resp.h, err);
  if (r < 0) {
    rconn_close(c);
    url_clear(&u);
    return berr_wrap(err, "get token from %s", ch->realm);
  }
  if (resp.h.status != 200) {
    int st = resp.h.status;
    _cleanup_free_ char *m = sresp_error(&resp);
    url_clear(&u);
    if (st == 401 || st == 403)
      return berr_set(err, EACCES, "%s%s", str_has_prefix(m, "unauthorized:") ? "" : "unauthorized: ", m);
    return berr_set(err, EIO, "get token from %s: %s", ch->realm, m);
  }
  _cleanup_free_ char *body = NULL;
  size_t len = 0;
  r = sresp_read_all(&resp, 1 << 20, &body, &len, err);
  sresp_end(&resp);
  url_clear(&u);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *j = json_loadb(body, len, 0, NULL);
  const char *t = json_string_value(json_object_get(j, "token"));
  if (!t || !*t)
    t = json_string_value(json_object_get(j, "access_token"));
  if (!t || !*t)
    return berr_set(err, EPROTO, "token server %s: no token in the answer", ch->realm);
  int64_t exp = json_integer_value(json_object_get(j, "expires_in"));
  if (exp < 60)
    exp = 60;
  token_cache_put(s->reg->tokens, key, t, now + exp - 5);
  *token = xstrdup(t);
  return 0;
}

/* Set s->authz for challenge ch (scope: the session's, or the one the challenge asks). */
static int authenticate(struct session *s, const struct challenge *ch, struct berr **err) {
  free(s->authz);
  s->authz = NULL;
  if (strcmp(ch->scheme, "basic") == 0) {
    s->authz = basic_authz(s->auth);
    if (!s->authz) /* dockerd: Head "…/manifests/latest": no basic auth credentials */
      return berr_set(err, EIO, "no basic auth credentials");
    return 0;
  }
  if (strcmp(ch->scheme, "bearer") != 0)
    return berr_set(err, ENOTSUP, "unsupported authentication scheme \"%s\"", ch->scheme);
  /* the session's scope and any other the challenge names */
  _cleanup_free_ char *scope = s->scope ? xstrdup(s->scope) : NULL;
  _cleanup_free_ char *words = ch->scope ? xstrdup(ch->scope) : NULL;
  for (char *save = NULL, *w = words ? strtok_r(words, " ", &save) : NULL; w; w = strtok_r(NULL, " ", &save)) {
    bool have = false;
    _cleanup_free_ char *cur = scope ? xstrdup(scope) : NULL;
    for (char *s2 = NULL, *x = cur ? strtok_r(cur, " ", &s2) : NULL; x && !have; x = strtok_r(NULL, " ", &s2))
      have = strcmp(x, w) == 0;
    if (!have) {
      char *n = scope ? xasprintf("%s %s", scope, w) : xstrdup(w);
      free(scope);
      scope = n;
    }
  }
  char *tok = NULL;
  int r = fetch_token(s, ch, scope, &tok, err);
  if (r < 0)
    return r;
  s->authz = xasprintf("Bearer %s", tok);
  free(tok);
  return 0;
}

/* ---------- requests ---------- */

static int ensure_conn(struct session *s, struct berr **err) {
  if (s->conn && !s->conn->broken)
    return 0;
  rconn_close(s->conn);
  s->conn = NULL;
  return session_dial(s, s->ep.host, s->ep.port, s->ep.tls, &s->conn, err);
}

/* One request on the session's connection, retried once when a reused
 * connection turns out dead. */
static int request_self(struct session *s, const char *method, const char *path, const char *authz,
                        const char *hdrs, const struct sbody *body, struct sresp *out, struct berr **err) {
  memset(out, 0, sizeof *out); /* callers pass it uninitialised */
  for (int attempt = 0;; attempt++) {
    int r = ensure_conn(s, err);
    if (r < 0)
      return r;
    bool reused = s->conn->used > 0;
    struct berr *e = NULL;
    out->s = s;
    out->c = s->conn;
    out->own = false;
    r = exchange(s->conn, method, path, authz, hdrs, body, &out->h, &e);
    if (r == 0)
      return 0;
    s->conn->broken = true;
    rconn_close(s->conn);
    s->conn = NULL;
    out->c = NULL;
    rresp_clear(&out->h);
    if (!reused || attempt > 0) {
      if (err && !*err)
        *err = e;
      else
        berr_free(e);
      return r;
    }
    berr_free(e);
  }
}

static bool same_host(const struct session *s, const struct url *u) {
  return u->tls == s->ep.tls && u->port == s->ep.port && strcasecmp(u->host, s->ep.host) == 0;
}

int session_request(struct session *s, const char *method, const char *path, const char *hdrs,
                    const struct sbody *body, struct sresp *out, struct berr **err) {
  memset(out, 0, sizeof *out);
  _cleanup_free_ char *target = NULL;
  if (str_has_prefix(path, "http://") || str_has_prefix(path, "https://"))
    target = xstrdup(path);
  else
    target = xasprintf("%s%s", s->ep.prefix ? s->ep.prefix : "", path);
  const char *m = method;
  bool reauthed = false;
  for (int hops = 0; hops <= MAX_REDIRECTS; hops++) {
    int r;
    struct url u = {0};
    bool abs = target[0] != '/';
    if (abs && url_parse(target, &u) < 0)
      return berr_set(err, EPROTO, "invalid redirect location \"%s\"", target);
    if (!abs || same_host(s, &u)) {
      r = request_self(s, m, abs ? u.path : target, s->authz, hdrs, body, out, err);
    } else { /* another host (storage): its own connection, no credentials */
      struct rconn *c = NULL;
      r = session_dial(s, u.host, u.port, u.tls, &c, err);
      if (r == 0) {
        out->s = s;
        out->c = c;
        out->own = true;
        r = exchange(c, m, u.path, NULL, hdrs, body, &out->h, err);
        if (r < 0) {
          rconn_close(c);
          out->c = NULL;
        }
      }
    }
    url_clear(&u);
    if (r < 0)
      return r;
    int st = out->h.status;
    const char *loc = rresp_header(&out->h, "location");
    if (st == 401 && !reauthed && out->s == s && !out->own) {
      const char *wa = rresp_header(&out->h, "www-authenticate");
      struct challenge ch;
      if (wa && challenge_parse(wa, &ch) == 0) {
        sresp_end(out);
        reauthed = true;
        struct berr *e = NULL;
        r = authenticate(s, &ch, &e);
        challenge_clear(&ch);
        if (r < 0) {
          _cleanup_free_ char *hh = host_header(s->ep.host, s->ep.port, s->ep.tls);
          berr_wrap(&e, "%s \"%s://%s%s\"", m, s->ep.tls ? "https" : "http", hh, target);
          if (e && e->msg) { /* Go prints the method capitalised: "Get", "Head" */
            char *q = strchr(e->msg, ' ');
            for (char *c = e->msg + 1; q && c < q; c++)
              if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
          }
          if (err && !*err)
            *err = e;
          else
            berr_free(e);
          return r;
        }
        continue;
      }
    }
    if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) && loc) {
      char *next;
      if (loc[0] == '/') { /* relative to the host we asked */
        _cleanup_free_ char *hh = host_header(out->c->host, out->c->port, out->c->tls);
        next = out->own ? xasprintf("%s://%s%s", out->c->tls ? "https" : "http", hh, loc) : xstrdup(loc);
      } else {
        next = xstrdup(loc);
      }
      sresp_end(out);
      free(target);
      target = next;
      if (st == 303)
        m = "GET";
      continue;
    }
    return 0;
  }
  sresp_end(out);
  return berr_set(err, ELOOP, "%s %s: too many redirects", method, path);
}

/* ---------- open / ping ---------- */

static int ping(struct session *s, struct berr **err) {
  struct sresp resp;
  int r = request_self(s, "GET", "/v2/", NULL, NULL, NULL, &resp, err);
  if (r < 0)
    return r;
  const char *wa = rresp_header(&resp.h, "www-authenticate");
  int st = resp.h.status;
  if (st == 401 && wa && challenge_parse(wa, &s->ch) < 0) {
    sresp_end(&resp);
    return berr_set(err, EPROTO, "registry %s: malformed WWW-Authenticate \"%s\"", s->ep.host, wa);
  }
  sresp_end(&resp);
  if (st != 200 && st != 401)
    return berr_set(err, EIO, "registry %s:%d: ping /v2/: HTTP status %d", s->ep.host, s->ep.port, st);
  return 0;
}

int session_open(struct registry *reg, const struct endpoint *ep, const char *repo, const char *actions,
                 const struct registry_auth *auth, struct session **out, struct berr **err) {
  struct session *s = xcalloc(1, sizeof *s);
  s->reg = reg;
  s->ep = (struct endpoint){.host = xstrdup(ep->host), .port = ep->port, .tls = ep->tls,
                            .try_plain = ep->try_plain, .mirror = ep->mirror,
                            .prefix = xstrdup(ep->prefix ? ep->prefix : "")};
  s->repo = repo ? xstrdup(repo) : NULL;
  s->scope = repo ? xasprintf("repository:%s:%s", repo, actions) : NULL;
  s->auth = auth;
  s->login = !repo; /* registry_login: check the credentials, not the cache */
  struct berr *e = NULL;
  int r = ping(s, &e);
  if (r < 0 && s->ep.tls && s->ep.try_plain) { /* insecure registry: plain http */
    s->ep.tls = false;
    berr_free(e);
    e = NULL;
    r = ping(s, &e);
  }
  if (r < 0) {
    _cleanup_free_ char *hh = host_header(s->ep.host, s->ep.port, s->ep.tls);
    berr_wrap(&e, "Get \"%s://%s/v2/\"", s->ep.tls ? "https" : "http", hh);
  }
  if (r == 0 && s->ch.scheme && !(strcmp(s->ch.scheme, "basic") == 0 && !basic_authz_present(auth)))
    r = authenticate(s, &s->ch, &e);
  if (r < 0 && e && e->code == EACCES) {
    _cleanup_free_ char *hh = host_header(s->ep.host, s->ep.port, s->ep.tls);
    berr_wrap(&e, "Get \"%s://%s/v2/\"", s->ep.tls ? "https" : "http", hh);
  }
  if (r < 0) {
    if (err && !*err)
      *err = e;
    else
      berr_free(e);
    session_free(s);
    return r;
  }
  *out = s;
  return 0;
}

struct session *session_clone(const struct session *o) {
  struct session *s = xcalloc(1, sizeof *s);
  s->reg = o->reg;
  s->ep = (struct endpoint){.host = xstrdup(o->ep.host), .port = o->ep.port, .tls = o->ep.tls,
                            .mirror = o->ep.mirror, .prefix = xstrdup(o->ep.prefix ? o->ep.prefix : "")};
  s->repo = o->repo ? xstrdup(o->repo) : NULL;
  s->scope = o->scope ? xstrdup(o->scope) : NULL;
  s->auth = o->auth;
  s->authz = o->authz ? xstrdup(o->authz) : NULL;
  if (o->ch.scheme) {
    s->ch.scheme = xstrdup(o->ch.scheme);
    s->ch.realm = o->ch.realm ? xstrdup(o->ch.realm) : NULL;
    s->ch.service = o->ch.service ? xstrdup(o->ch.service) : NULL;
    s->ch.scope = o->ch.scope ? xstrdup(o->ch.scope) : NULL;
  }
  return s;
}

void session_free(struct session *s) {
  if (!s)
    return;
  rconn_close(s->conn);
  endpoint_clear(&s->ep);
  free(s->repo);
  free(s->scope);
  free(s->authz);
  challenge_clear(&s->ch);
  free(s);
}
