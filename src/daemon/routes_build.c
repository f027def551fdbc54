/*
 * routes_build.c — the Engine API's builder area: POST /build, POST /build/prune.
 *
 * POST /build reads the context (a tar body, HTTP_ROUTE_STREAM_BODY) into a
 * temp dir of the builder (src/build: unpacked with in-root resolution),
 * runs the build and streams dockerd's classic-builder JSON messages:
 * {"stream":"Step 1/3 : FROM busybox\n"}, {"aux":{"ID":"sha256:…"}}, and on
 * failure {"errorDetail":{"message":…},"error":…}. Like dockerd's
 * WriteFlusher, nothing is sent before the first message, so an error that
 * comes first (a Dockerfile parse error) is a plain HTTP error (400).
 */
#include <errno.h>

#include "build/build.h"
#include "daemon/daemon.h"

#define D(r) ((struct daemon *)(r)->ctx)

struct bout {
  struct http_req *r;
  bool started, gone;
  bool quiet;      /* q=1: text is kept, and sent only before an error */
  char *kept;
};

static void send_json(struct bout *b, json_t *j) {
  if (b->gone) {
    json_decref(j);
    return;
  }
  if (!b->started) {
    if (http_stream_begin(b->r, 200, "application/json") < 0)
      b->gone = true;
    b->started = true;
  }
  _cleanup_free_ char *s = json_dump_compact(j);
  json_decref(j);
  _cleanup_free_ char *line = xasprintf("%s\r\n", s);
  if (!b->gone && http_stream_write(b->r, line, strlen(line)) < 0)
    b->gone = true;
}

static void on_out(void *ctx, const char *text) {
  struct bout *b = ctx;
  if (!b->quiet)
    return send_json(b, json_pack("{s:s}", "stream", text));
  char *k = xasprintf("%s%s", b->kept ? b->kept : "", text);
  free(b->kept);
  b->kept = k;
}

static void on_aux(void *ctx, const char *id) { send_json(ctx, json_pack("{s:{s:s}}", "aux", "ID", id)); }

static ssize_t body_read(void *ctx, void *buf, size_t len) { return http_body_read(ctx, buf, len); }

/* buildargs / labels: a JSON object of strings ("null" values are skipped). */
static int json_param(struct http_req *r, const char *key, json_t **out, struct berr **err) {
  const char *v = http_query(r, key);
  *out = NULL;
  if (!v || !*v)
    return 0;
  json_error_t je;
  json_t *j = json_loads(v, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return berr_set(err, EINVAL, "failed to parse %s: %s", key, je.text);
  }
  *out = j;
  return 0;
}

static void build(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  struct daemon *d = D(r);
  _cleanup_json_ json_t *buildargs = NULL, *labels = NULL;
  if (json_param(r, "buildargs", &buildargs, &err) < 0 || json_param(r, "labels", &labels, &err) < 0)
    return http_reply_berr(r, err);
  const char *remote = http_query(r, "remote");
  if (remote && *remote)
    return http_reply_error(r, 501, "remote build contexts (%s) are not supported", remote);
  /* every t= parameter, in order */
  _cleanup_strv_ char **tags = xcalloc(1, sizeof(char *));
  for (size_t i = 0; i < r->nquery; i++)
    if (!strcmp(r->query[i].key, "t") && *r->query[i].value)
      tags = strv_append(tags, xstrdup(r->query[i].value));
  _cleanup_free_ char *dir = NULL;
  if (build_context_unpack(d->builder, body_read, r, &dir, &err) < 0)
    return http_reply_berr(r, err);
  int exit_code = 0;
  struct bout b = {.r = r, .quiet = http_query_bool(r, "q", false)};
  struct build_opts o = {
      .context_dir = dir,
      .dockerfile = http_query(r, "dockerfile"),
      .tags = tags,
      .buildargs = buildargs,
      .labels = labels,
      .target = http_query(r, "target"),
      .platform = http_query(r, "platform"),
      .nocache = http_query_bool(r, "nocache", false),
      .quiet = http_query_bool(r, "q", false),
      .pull = http_query_bool(r, "pull", false),
      .runtime = d->cfg.runtime_path,
      .cgroup_parent = d->cfg.cgroup_parent,
      .network = http_query(r, "networkmode"),
      .exit_code = &exit_code,
      .out = on_out,
      .aux = on_aux,
      .ctx = &b,
  };
  _cleanup_free_ char *id = NULL;
  int rc = build_run(d->builder, &o, &id, &err);
  rm_rf(dir, NULL);
  /* dockerd: a quiet build's output is shown when it fails */
  if (rc < 0 && b.kept)
    send_json(&b, json_pack("{s:s}", "stream", b.kept));
  free(b.kept);
  if (rc < 0 && !b.started)
    return http_reply_berr(r, err);
  /* a failed RUN's exit code is the error's code (the CLI exits with it) */
  if (rc < 0 && exit_code)
    send_json(&b, json_pack("{s:{s:i,s:s},s:s}", "errorDetail", "code", exit_code, "message", err->msg, "error",
                            err->msg));
  else if (rc < 0)
    send_json(&b, json_pack("{s:{s:s},s:s}", "errorDetail", "message", err->msg, "error", err->msg));
  if (!b.started) {
    http_stream_begin(r, 200, "application/json");
    b.started = true;
  }
  http_stream_end(r);
  /* dockerd's image "tag" event for each -t (the name as the CLI shows it) */
  for (size_t i = 0; rc == 0 && tags[i]; i++) {
    struct image_ref ref;
    if (image_ref_parse(tags[i], &ref, NULL) < 0)
      continue;
    _cleanup_free_ char *fam = image_ref_familiar(&ref);
    image_ref_free(&ref);
    events_publish(d->events, "image", "tag", id, json_pack("{s:s}", "name", fam));
  }
}

static void build_prune(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  int64_t n = 0;
  if (builder_cache_prune(D(r)->builder, &n, &err) < 0)
    return http_reply_berr(r, err);
  /* the cache holds image references, not data of its own: nothing is reclaimed */
  http_reply_json(r, 200, json_pack("{s:[],s:i}", "CachesDeleted", "SpaceReclaimed", (json_int_t)0));
}

const struct http_route routes_build[] = {
    {"POST", "/build", build, HTTP_ROUTE_STREAM_BODY},
    {"POST", "/build/prune", build_prune, 0},
    {NULL},
};
