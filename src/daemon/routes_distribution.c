/*
 * routes_distribution.c — the Engine API's registry area over src/registry:
 * image pull (POST /images/create?fromImage=…; fromSrc= goes to the import
 * handler of routes_images.c), push (POST /images/{name}/push), login
 * checks (POST /auth) and manifest inspection (GET /distribution/{name}/json).
 *
 * Pull and push answer as dockerd does: an error before the first progress
 * message is a plain HTTP error ({"message"} with its status); once the
 * JSON stream (application/json, one message per line, "\r\n") has begun,
 * an error is its last message {"errorDetail":{"message"},"error"} under
 * status 200. Credentials come in X-Registry-Auth (base64url JSON).
 * insecure-registries / registry-mirrors are read under cfg_lock (they
 * reload on SIGHUP) and copied for the call.
 */
#include <errno.h>

#include "daemon/daemon.h"
#include "registry/registry.h"

static struct daemon *D(struct http_req *r) { return r->ctx; }

struct stream {
  struct http_req *r;
  bool started; /* the JSON stream has begun */
  bool gone;    /* the client went away: stop writing */
};

/* One message line as Go's encoding/json writes it: <, >, & escaped as
 * \u003c, \u003e, \u0026 (they only occur inside strings), then "\r\n". */
static char *go_escape(const char *s) {
  size_t n = 0;
  for (const char *p = s; *p; p++)
    n += (*p == '<' || *p == '>' || *p == '&') ? 6 : 1;
  char *o = xmalloc(n + 3), *q = o;
  for (const char *p = s; *p; p++) {
    if (*p == '<' || *p == '>' || *p == '&')
      q += sprintf(q, "\\u%04x", (unsigned)*p);
    else
      *q++ = *p;
  }
  strcpy(q, "\r\n");
  return o;
}

static void stream_emit(json_t *msg, void *ctx) {
  struct stream *st = ctx;
  if (!st->gone) {
    if (!st->started) {
      http_stream_begin(st->r, 200, "application/json");
      st->started = true;
    }
    _cleanup_free_ char *s = json_dump_compact(msg);
    _cleanup_free_ char *line = go_escape(s);
    if (http_stream_write(st->r, line, strlen(line)) < 0)
      __atomic_store_n(&st->gone, true, __ATOMIC_RELAXED); /* the pull's workers read it */
  }
  json_decref(msg);
}

/* End a pull/push answer: the error in the stream or as a plain reply. */
static void stream_finish(struct stream *st, int rc, const struct berr *err) {
  if (rc < 0 && !st->started)
    return http_reply_berr(st->r, err);
  if (rc < 0)
    stream_emit(json_pack("{s:{s:s},s:s}", "errorDetail", "message", err->msg, "error", err->msg), st);
  if (!st->started)
    http_stream_begin(st->r, 200, "application/json");
  http_stream_end(st->r);
}

static char **strv_copy(char *const *v) {
  char **o = xcalloc(1, sizeof *o);
  for (size_t i = 0; v && v[i]; i++)
    o = strv_append(o, xstrdup(v[i]));
  return o;
}

/* The daemon's registry settings now, copied (caller frees both). */
static void registry_settings(struct daemon *d, char ***insecure, char ***mirrors) {
  pthread_mutex_lock(&d->cfg_lock);
  *insecure = strv_copy(d->cfg.insecure_registries);
  *mirrors = strv_copy(d->cfg.registry_mirrors);
  pthread_mutex_unlock(&d->cfg_lock);
}

static int auth_header(struct http_req *r, struct registry_auth *a, struct berr **err) {
  return registry_auth_decode(http_header(r, "X-Registry-Auth"), a, err);
}

static void image_event(struct daemon *d, const char *action, const char *ref) {
  if (!d->events || !ref)
    return;
  struct image_ref ir;
  _cleanup_free_ char *name = NULL;
  if (image_ref_parse(ref, &ir, NULL) == 0) {
    name = image_ref_familiar_name(&ir);
    image_ref_free(&ir);
  }
  events_publish(d->events, "image", action, ref, json_pack("{s:s}", "name", name ? name : ref));
}

/* ------------------------------------------------------------- pull ---- */

static void images_create(struct http_req *r) {
  if (http_query(r, "fromSrc"))
    return images_import(r);
  struct daemon *d = D(r);
  const char *from = http_query(r, "fromImage");
  if (!from || !*from)
    return http_reply_error(r, 400, "fromImage or fromSrc is required");
  _cleanup_berr_ struct berr *err = NULL;
  struct registry_auth auth;
  if (auth_header(r, &auth, &err) < 0)
    return http_reply_berr(r, err);
  _cleanup_strv_ char **insecure = NULL;
  _cleanup_strv_ char **mirrors = NULL;
  registry_settings(d, &insecure, &mirrors);
  struct stream st = {.r = r};
  struct registry_opts o = {.insecure = insecure, .mirrors = mirrors, .auth = &auth, .progress = stream_emit,
                            .ctx = &st, .cancel = &st.gone};
  _cleanup_free_ char *pulled = NULL;
  const char *platform = http_query(r, "platform");
  int rc = d->registry ? registry_pull(d->registry, d->store, from, http_query(r, "tag"),
                                       platform && *platform ? platform : NULL, &o, &pulled, &err)
                       : berr_set(&err, ENOSYS, "the registry client is not running");
  registry_auth_clear(&auth);
  if (rc == 0)
    image_event(d, "pull", pulled);
  stream_finish(&st, rc, err);
}

/* ------------------------------------------------------------- push ---- */

static void image_push(struct http_req *r) {
  struct daemon *d = D(r);
  _cleanup_berr_ struct berr *err = NULL;
  struct registry_auth auth;
  if (auth_header(r, &auth, &err) < 0)
    return http_reply_berr(r, err);
  _cleanup_strv_ char **insecure = NULL;
  _cleanup_strv_ char **mirrors = NULL;
  registry_settings(d, &insecure, &mirrors);
  struct stream st = {.r = r};
  struct registry_opts o = {.insecure = insecure, .mirrors = mirrors, .auth = &auth, .progress = stream_emit,
                            .ctx = &st};
  const char *tag = http_query(r, "tag");
  int rc = d->registry ? registry_push(d->registry, d->store, r->params[0], tag, &o, &err)
                       : berr_set(&err, ENOSYS, "the registry client is not running");
  registry_auth_clear(&auth);
  if (rc == 0) {
    _cleanup_free_ char *ref = tag && *tag ? xasprintf("%s:%s", r->params[0], tag) : xstrdup(r->params[0]);
    image_event(d, "push", ref);
  }
  stream_finish(&st, rc, err);
}

/* ------------------------------------------------------------- auth ---- */

static void auth_check(struct http_req *r) {
  struct daemon *d = D(r);
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *body = NULL;
  if (http_body_json(r, &body, &err) < 0)
    return http_reply_berr(r, err);
  struct registry_auth a = {0};
  const char *v;
  if ((v = json_string_value(json_object_get(body, "username"))) && *v)
    a.username = xstrdup(v);
  if ((v = json_string_value(json_object_get(body, "password"))) && *v)
    a.password = xstrdup(v);
  if ((v = json_string_value(json_object_get(body, "serveraddress"))) && *v)
    a.serveraddress = xstrdup(v);
  if ((v = json_string_value(json_object_get(body, "identitytoken"))) && *v)
    a.identitytoken = xstrdup(v);
  _cleanup_strv_ char **insecure = NULL;
  _cleanup_strv_ char **mirrors = NULL;
  registry_settings(d, &insecure, &mirrors);
  struct registry_opts o = {.insecure = insecure, .mirrors = mirrors, .auth = &a};
  int rc = d->registry ? registry_login(d->registry, &a, &o, &err)
                       : berr_set(&err, ENOSYS, "the registry client is not running");
  registry_auth_clear(&a);
  if (rc == -EACCES) /* dockerd: errdefs.Unauthorized → 401 */
    return http_reply_error(r, 401, "%s", err->msg);
  if (rc < 0)
    return http_reply_berr(r, err);
  http_reply_json(r, 200, json_pack("{s:s,s:s}", "IdentityToken", "", "Status", "Login Succeeded"));
}

/* ------------------------------------------------------ distribution ---- */

static void distribution_inspect(struct http_req *r) {
  struct daemon *d = D(r);
  _cleanup_berr_ struct berr *err = NULL;
  struct registry_auth auth;
  if (auth_header(r, &auth, &err) < 0)
    return http_reply_berr(r, err);
  _cleanup_strv_ char **insecure = NULL;
  _cleanup_strv_ char **mirrors = NULL;
  registry_settings(d, &insecure, &mirrors);
  struct registry_opts o = {.insecure = insecure, .mirrors = mirrors, .auth = &auth};
  json_t *out = NULL;
  int rc = d->registry ? registry_distribution(d->registry, r->params[0], &o, &out, &err)
                       : berr_set(&err, ENOSYS, "the registry client is not running");
  registry_auth_clear(&auth);
  if (rc == -EACCES)
    return http_reply_error(r, 401, "%s", err->msg);
  if (rc < 0)
    return http_reply_berr(r, err);
  http_reply_json(r, 200, out);
}

const struct http_route routes_distribution[] = {
    {"POST", "/images/create", images_create, HTTP_ROUTE_STREAM_BODY},
    {"POST", "/images/{*}/push", image_push, 0},
    {"POST", "/auth", auth_check, 0},
    {"GET", "/distribution/{*}/json", distribution_inspect, 0},
    {NULL},
};
