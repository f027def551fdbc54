/*
 * registry_internal.h — what the distribution client's files share (and the
 * unit tests reach): the HTTP/1.1 client, WWW-Authenticate parsing and the
 * token cache, endpoints, manifests, the session that wraps auth and
 * redirects around requests, progress messages.
 *
 * Files:
 *   http_client.c  TCP/TLS connections, request writing, response parsing
 *                  (Content-Length, chunked, until-close), timeouts
 *   auth.c         WWW-Authenticate, tokens (fetch + cache), base64,
 *                  X-Registry-Auth
 *   endpoint.c     reference → registry endpoint (docker.io, mirrors,
 *                  http for loopback / insecure-registries)
 *   manifest.c     schema2 / OCI manifests, lists, indexes, platforms
 *   session.c      requests against one registry: ping, auth retry,
 *                  redirects, keep-alive reuse, registry error bodies
 *   progress.c     Docker's JSON progress messages
 *   pull.c, push.c, registry.c (login, distribution inspect, struct registry)
 */
#ifndef BERTH_REGISTRY_INTERNAL_H
#define BERTH_REGISTRY_INTERNAL_H

#include <pthread.h>
#include <openssl/ssl.h>

#include "registry/registry.h"

/* ---------- HTTP client (http_client.c) ---------- */

/* A buffered byte source: a socket, a TLS session, or memory in tests. */
typedef ssize_t (*rbuf_read_fn)(void *ctx, void *buf, size_t len);
struct rbuf {
  rbuf_read_fn read;
  void *ctx;
  size_t off, len;  /* unread bytes are buf[off, len) */
  char buf[64 * 1024];
};

/* A parsed response head plus the body's framing state. */
struct rresp {
  int status;
  char **headers;      /* "name\0value" pairs flattened as strv: name lower-cased, then value */
  int64_t length;      /* Content-Length, -1 when absent */
  bool chunked;
  bool until_close;    /* no length, not chunked: the body ends with the connection */
  bool no_body;        /* HEAD, 204, 304 */
  bool keep_alive;     /* the connection may carry another request afterwards */
  int64_t left;        /* bytes left in the body (Content-Length) or the current chunk */
  bool done;           /* the body has been read to its end */
  bool chunk_trailer;  /* chunked: the last chunk was seen */
};
void rresp_clear(struct rresp *h);
/* Header value (name case-insensitive) or NULL. */
const char *rresp_header(const struct rresp *h, const char *name);
/* Read a status line and headers. `head`: the request was HEAD. */
int rhttp_read_head(struct rbuf *b, bool head, struct rresp *h, struct berr **err);
/* Body bytes (chunked decoded): >0 bytes, 0 at the end, negative errno
 * (-EPIPE "unexpected EOF" when the connection ends early). */
ssize_t rhttp_body_read(struct rbuf *b, struct rresp *h, void *buf, size_t len);

struct rconn {
  int fd;
  SSL *ssl;
  char *host;       /* as connected ("127.0.0.1", "registry-1.docker.io") */
  int port;
  bool tls;
  bool broken;      /* an I/O error: do not reuse */
  unsigned used;    /* requests sent on it */
  struct rbuf rb;
};
/* Connect (timeout 30 s, socket timeouts 60 s), TLS with SNI and host-name
 * verification when `tls`. */
int rconn_open(SSL_CTX *ctx, const char *host, int port, bool tls, struct rconn **out, struct berr **err);
void rconn_close(struct rconn *c);
int rconn_write(struct rconn *c, const void *data, size_t len);

/* ---------- auth (auth.c) ---------- */

struct challenge {
  char *scheme;  /* "bearer" or "basic" (lower-case) */
  char *realm, *service, *scope;
};
void challenge_clear(struct challenge *c);
/* Parse a WWW-Authenticate value: scheme then k="v" pairs (quoted strings
 * may hold commas and \-escapes). -EINVAL when malformed. */
int challenge_parse(const char *value, struct challenge *out);

/* Token cache keyed by realm + service + scope + credentials, honouring expires_in. */
struct token_cache;
struct token_cache *token_cache_new(void);
void token_cache_free(struct token_cache *c);
/* A copy of a live token or NULL. `now` in seconds (monotonic). */
char *token_cache_get(struct token_cache *c, const char *key, int64_t now);
void token_cache_put(struct token_cache *c, const char *key, const char *token, int64_t expires_at);

/* base64 (standard alphabet, padded) of a buffer; caller frees. */
char *b64_encode(const void *data, size_t len);
/* base64 or base64url, padded or not; NULL when malformed. */
char *b64_decode(const char *s, size_t *len);

/* ---------- endpoints (endpoint.c) ---------- */

struct endpoint {
  char *host;   /* connect host */
  int port;
  bool tls;
  bool try_plain; /* insecure: fall back to http when TLS fails */
  bool mirror;
  char *prefix; /* path prefix of a mirror URL ("" usually) */
};
void endpoint_clear(struct endpoint *e);
/* Registry domain of a reference ("docker.io") → the endpoints to try, in
 * order: mirrors first (docker.io only), then the registry itself
 * ("registry-1.docker.io"). *n endpoints in *out (caller frees with endpoint_clear each + free). */
int endpoints_for(const char *domain, char *const *insecure, char *const *mirrors, struct endpoint **out,
                  size_t *n, struct berr **err);
/* Is this domain (host or host:port) plain-http capable: loopback, or named
 * (or within a CIDR) in insecure-registries. */
bool domain_insecure(const char *domain, char *const *insecure);
/* Split "host[:port]" ("[::1]:5000" too); default port by tls. */
int split_hostport(const char *hp, bool tls, char **host, int *port);

/* ---------- manifests (manifest.c) ---------- */

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MANIFEST_ACCEPT MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_OCI_INDEX

struct descriptor {
  char *media_type;
  char *digest;
  int64_t size;
};
struct manifest {
  bool is_index;          /* a manifest list / OCI index */
  char *media_type;
  struct descriptor config;
  struct descriptor *layers;
  size_t nlayers;
};
void manifest_clear(struct manifest *m);
/* Parse a manifest body; `content_type` from the response (may be NULL).
 * Schema 1 and malformed bodies are errors. */
int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *out,
                   struct berr **err);
/* A config of a known media type and every layer one we can unpack, else
 * -EINVAL naming the object. */
int manifest_check_layers(const struct manifest *m, struct berr **err);
/* Platform "os/arch[/variant]" → parts (defaults linux/<host arch>). */
struct platform {
  char os[72], arch[72], variant[72];
};
int platform_parse(const char *s, struct platform *out, struct berr **err);
/* The host's platform (linux/amd64 on x86_64, arm64/v8 on aarch64…). */
void platform_host(struct platform *out);
/* The index entry for platform p: digest (caller frees) and media type.
 * -ENOENT "no matching manifest for linux/arm64 in the manifest list entries". */
int index_select(const char *body, size_t len, const struct platform *p, char **digest, char **media_type,
                 struct berr **err);
/* Platforms of an index (for /distribution) as [{"architecture","os",...}]. */
json_t *index_platforms(const char *body, size_t len);
/* An OCI platform object as Go marshals it (empty fields omitted). */
json_t *platform_json(const json_t *pl);
bool layer_media_type_known(const char *mt);

/* ---------- sessions (session.c) ---------- */

struct session {
  struct registry *reg;
  struct endpoint ep;
  char *repo;             /* "library/busybox" */
  char *scope;            /* "repository:library/busybox:pull" (+ ",push") */
  const struct registry_auth *auth;
  char *authz;            /* Authorization header value, or NULL (anonymous) */
  struct challenge ch;    /* from the ping */
  struct rconn *conn;     /* keep-alive connection to ep */
  bool login;             /* a login check: never answer from the token cache */
};
/* A response being read: the connection it comes on (the session's, or one
 * of a redirect's other host, owned here). */
struct sresp {
  struct session *s;
  struct rconn *c;
  bool own;
  struct rresp h;
};
/* A request body: memory, or `len` bytes of a file from `off`. */
struct sbody {
  const void *data;
  int fd;
  int64_t off, len;
};
/* Open a session: ping /v2/ (TLS or, for insecure registries, http) and
 * authenticate for `scope` ("pull" or "pull,push"). */
int session_open(struct registry *reg, const struct endpoint *ep, const char *repo, const char *actions,
                 const struct registry_auth *auth, struct session **out, struct berr **err);
/* A second session to the same registry sharing the authorisation (worker threads). */
struct session *session_clone(const struct session *s);
void session_free(struct session *s);
/* Send a request (path relative to the endpoint, or an absolute URL):
 * re-authenticates once on 401, follows redirects (without Authorization
 * to another host), retries once on a stale keep-alive connection.
 * `hdrs`: extra header lines each ending in "\r\n" (may be NULL). */
int session_request(struct session *s, const char *method, const char *path, const char *hdrs,
                    const struct sbody *body, struct sresp *out, struct berr **err);
ssize_t sresp_read(struct sresp *r, void *buf, size_t len);
/* Read the whole body (at most `max` bytes). */
int sresp_read_all(struct sresp *r, size_t max, char **data, size_t *len, struct berr **err);
/* Finish: drain a short body for keep-alive or drop the connection. */
void sresp_end(struct sresp *r);
/* The registry's error body ({"errors":[{"code","message"}]}) as
 * "code: message" or the status line; caller frees. Ends the response. */
char *sresp_error(struct sresp *r);

/* ---------- progress (progress.c) ---------- */

struct progress {
  void (*emit)(json_t *msg, void *ctx); /* stolen message */
  void *ctx;
  pthread_mutex_t lock;
};
/* {"status":s,"id":id} (id NULL: none); detail: "progressDetail":{} when true. */
void progress_msg(struct progress *p, const char *id, const char *status, bool detail);
/* {"status","progressDetail":{"current","total"},"progress":bar,"id"} */
void progress_bar(struct progress *p, const char *id, const char *status, int64_t cur, int64_t total);
/* Docker's units.HumanSize: 4 significant digits, decimal units ("1.23MB"). */
char *human_size(double n);
/* The "progress" string of Docker's JSONProgress at width 200. */
char *progress_string(int64_t cur, int64_t total);
int64_t mono_ms(void);

/* ---------- struct registry (registry.c) ---------- */

struct registry {
  pthread_mutex_t ssl_lock; /* guards ssl's creation */
  SSL_CTX *ssl;             /* NULL until the first TLS connection (registry_tls) */
  struct token_cache *tokens;
};

/* The shared TLS client context, made on first use; NULL (err set) on failure. */
SSL_CTX *registry_tls(struct registry *r, struct berr **err);

#endif
