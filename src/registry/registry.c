/*
 * registry.c — the distribution client's entry file: struct registry (the
 * TLS context and the token cache every pull and push share), login checks
 * (POST /auth) and manifest inspection (GET /distribution/{name}/json).
 *
 * TLS: OpenSSL's default verify paths (the system CAs) plus the
 * certificates dockerd would read for a registry in
 * /etc/docker/certs.d/<host:port>/ca.crt are not read yet (see the docs).
 */
#include <errno.h>

#include "registry/registry_internal.h"

int registry_new(struct registry **out, struct berr **err) {
  (void)err;
  struct registry *r = xcalloc(1, sizeof *r);
  pthread_mutex_init(&r->ssl_lock, NULL);
  r->tokens = token_cache_new();
  *out = r;
  return 0;
}

/* The TLS context is made at the first TLS connection, not at start:
 * loading the system's CA store costs berthd ~0.7 MiB of heap and the
 * OpenSSL code it touches, which an idle daemon (or one that only talks to
 * loopback registries) never needs. */
SSL_CTX *registry_tls(struct registry *r, struct berr **err) {
  pthread_mutex_lock(&r->ssl_lock);
  if (!r->ssl) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx) {
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_set_default_verify_paths(ctx);
      SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
      r->ssl = ctx;
    }
  }
  SSL_CTX *ctx = r->ssl;
  pthread_mutex_unlock(&r->ssl_lock);
  if (!ctx)
    berr_set(err, ENOMEM, "TLS client context: SSL_CTX_new failed");
  return ctx;
}

void registry_free(struct registry *r) {
  if (!r)
    return;
  SSL_CTX_free(r->ssl);
  pthread_mutex_destroy(&r->ssl_lock);
  token_cache_free(r->tokens);
  free(r);
}

/* serveraddress of a login ("https://index.docker.io/v1/", "localhost:5000",
 * "http://127.0.0.1:5000") → the registry's domain. */
static char *login_domain(const char *addr) {
  if (!addr || !*addr)
    return xstrdup("docker.io");
  const char *p = addr;
  if (str_has_prefix(p, "https://"))
    p += 8;
  else if (str_has_prefix(p, "http://"))
    p += 7;
  size_t n = strcspn(p, "/");
  char *d = xasprintf("%.*s", (int)n, p);
  if (strcmp(d, "index.docker.io") == 0 || strcmp(d, "registry-1.docker.io") == 0) {
    free(d);
    d = xstrdup("docker.io");
  }
  return d;
}

int registry_login(struct registry *reg, const struct registry_auth *auth, const struct registry_opts *o,
                   struct berr **err) {
  _cleanup_free_ char *domain = login_domain(auth ? auth->serveraddress : NULL);
  struct endpoint *eps = NULL;
  size_t n = 0;
  int r = endpoints_for(domain, o->insecure, NULL, &eps, &n, err);
  if (r < 0)
    return r;
  struct session *s = NULL;
  struct berr *e = NULL;
  r = session_open(reg, &eps[n - 1], NULL, NULL, auth, &s, &e);
  if (r == 0 && s->ch.scheme && strcmp(s->ch.scheme, "basic") == 0) {
    struct sresp resp; /* basic: the credentials must open /v2/ */
    r = session_request(s, "GET", "/v2/", NULL, NULL, &resp, &e);
    if (r == 0) {
      int st = resp.h.status;
      _cleanup_free_ char *m = st == 200 ? NULL : sresp_error(&resp);
      if (st == 200)
        sresp_end(&resp);
      else
        r = berr_set(&e, st == 401 ? EACCES : EIO, "login attempt to %s://%s/v2/ failed with status: %d %s",
                     s->ep.tls ? "https" : "http", domain, st, st == 401 ? "Unauthorized" : "");
    }
  }
  session_free(s);
  for (size_t i = 0; i < n; i++)
    endpoint_clear(&eps[i]);
  free(eps);
  if (r < 0) {
    if (e && e->code == EACCES && !str_has_prefix(e->msg, "login attempt")) {
      /* dockerd: "Get "https://…/v2/": unauthorized: incorrect username or password" */
      r = berr_set(err, EACCES, "%s", e->msg);
      berr_free(e);
    } else if (err && !*err) {
      *err = e;
    } else {
      berr_free(e);
    }
  }
  return r;
}

int registry_distribution(struct registry *reg, const char *name, const struct registry_opts *o, json_t **out,
                          struct berr **err) {
  struct image_ref ref;
  int r = image_ref_parse(name, &ref, err);
  if (r < 0)
    return r;
  struct endpoint *eps = NULL;
  size_t n = 0;
  if ((r = endpoints_for(ref.domain, o->insecure, NULL, &eps, &n, err)) < 0) {
    image_ref_free(&ref);
    return r;
  }
  struct session *s = NULL;
  r = session_open(reg, &eps[n - 1], ref.path, "pull", o->auth, &s, err);
  char *body = NULL;
  size_t len = 0;
  int status = 0;
  const char *what = ref.digest ? ref.digest : ref.tag ? ref.tag : "latest";
  _cleanup_free_ char *ctype = NULL, *digest = NULL;
  if (r == 0) {
    _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", ref.path, what);
    struct sresp resp;
    r = session_request(s, "GET", path, "Accept: " MANIFEST_ACCEPT "\r\n", NULL, &resp, err);
    if (r == 0) {
      status = resp.h.status;
      const char *ct = rresp_header(&resp.h, "content-type");
      ctype = ct ? xstrdup(ct) : NULL;
      if (status != 200) {
        _cleanup_free_ char *m = sresp_error(&resp);
        _cleanup_free_ char *fam = image_ref_familiar(&ref);
        r = berr_set(err, status == 404 || status == 401 ? ENOENT : EIO, "%s: %s", fam, m);
      } else {
        r = sresp_read_all(&resp, 4 << 20, &body, &len, err);
        sresp_end(&resp);
      }
    }
  }
  if (r == 0) {
    digest = xmalloc(72);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, body, len);
    unsigned char h[32];
    unsigned hl = 0;
    EVP_DigestFinal_ex(md, h, &hl);
    EVP_MD_CTX_free(md);
    memcpy(digest, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++)
      snprintf(digest + 7 + 2 * i, 3, "%02x", h[i]);
    struct manifest m;
    r = manifest_parse(body, len, ctype, &m, err);
    if (r == 0) {
      json_t *platforms;
      if (m.is_index) {
        platforms = index_platforms(body, len);
      } else { /* a single manifest: the platform is in its config */
        char *cfg = NULL;
        size_t clen = 0;
        _cleanup_free_ char *cpath = xasprintf("/v2/%s/blobs/%s", ref.path, m.config.digest);
        struct sresp cr;
        json_t *cj = NULL;
        if (session_request(s, "GET", cpath, NULL, NULL, &cr, NULL) == 0) {
          if (cr.h.status == 200 && sresp_read_all(&cr, 16 << 20, &cfg, &clen, NULL) == 0)
            cj = json_loadb(cfg, clen, 0, NULL);
          sresp_end(&cr);
        }
        free(cfg);
        platforms = json_array();
        json_array_append_new(platforms, platform_json(cj));
        json_decref(cj);
      }
      *out = json_pack("{s:{s:s,s:s,s:I},s:o}", "Descriptor", "mediaType", m.media_type, "digest", digest,
                       "size", (json_int_t)len, "Platforms", platforms);
      manifest_clear(&m);
    }
  }
  free(body);
  session_free(s);
  for (size_t i = 0; i < n; i++)
    endpoint_clear(&eps[i]);
  free(eps);
  image_ref_free(&ref);
  return r;
}
