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
 *
 * berth's own additions (build-opts): secrets sent by berth's CLI in front of
 * the context (header X-Berth-Build-Secrets: their length; secrets.c), kept
 * in memory and wiped after the build; "nocachefilter" (a JSON array of
 * stage names); and RUN's network through the daemon's net subsystem
 * (build_net_setup / build_net_teardown: the builder does not include
 * src/net).
 */
#include <errno.h>

#include "build/build.h"
#include "daemon/daemon.h"
#include "net/net.h"
#include "registry/registry.h"

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

/* A pull's progress message in the build's stream (dockerd's builder
 * forwards them as they are); quiet builds show none. */
static void on_msg(void *ctx, json_t *m) {
  struct bout *b = ctx;
  if (!b->quiet)
    send_json(b, json_incref(m));
}

/* build_opts.pull_image: FROM an image not in the store (or --pull), through
 * the daemon's registry client (anonymous; insecure-registries and mirrors as
 * for POST /images/create). */
struct bpull {
  struct daemon *d;
  void (*emit)(void *ectx, json_t *m);
  void *ectx;
};

static void pull_progress(json_t *msg, void *ctx) {
  struct bpull *p = ctx;
  p->emit(p->ectx, msg);
  json_decref(msg);
}

static int build_pull(void *pctx, const char *ref, void (*emit)(void *ectx, json_t *m), void *ectx, char **image_id,
                      struct berr **err) {
  struct daemon *d = pctx;
  if (!d->registry)
    return berr_set(err, ENOSYS, "the registry client is not running");
  pthread_mutex_lock(&d->cfg_lock);
  _cleanup_strv_ char **insecure = strv_dup(d->cfg.insecure_registries);
  _cleanup_strv_ char **mirrors = strv_dup(d->cfg.registry_mirrors);
  pthread_mutex_unlock(&d->cfg_lock);
  struct bpull p = {.d = d, .emit = emit, .ectx = ectx};
  struct registry_opts ro = {.insecure = insecure, .mirrors = mirrors, .progress = pull_progress, .ctx = &p};
  _cleanup_free_ char *pulled = NULL;
  int r = registry_pull(d->registry, d->store, ref, NULL, NULL, &ro, &pulled, err);
  if (r < 0)
    return r;
  struct image *img = NULL;
  if ((r = store_image_get(d->store, pulled, &img, err)) < 0)
    return r;
  *image_id = xstrdup(img->id);
  image_free(img);
  struct image_ref ir;
  _cleanup_free_ char *name = NULL;
  if (image_ref_parse(pulled, &ir, NULL) == 0) {
    name = image_ref_familiar_name(&ir);
    image_ref_free(&ir);
  }
  if (d->events)
    events_publish(d->events, "image", "pull", pulled, json_pack("{s:s}", "name", name ? name : pulled));
  return 0;
}

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

/* --secret (build-opts): the record bytes the CLI sends before the context,
 * announced by X-Berth-Build-Secrets (secrets.c); read into memory, wiped
 * right after decoding. */
static int read_secrets(struct http_req *r, struct build_secret **out, size_t *n, struct berr **err) {
  const char *h = http_header(r, BUILD_SECRETS_HEADER);
  int64_t len = 0;
  if (!h)
    return 0;
  if (parse_int64(h, &len) < 0 || len < 0 || len > 64 * BUILD_SECRET_MAX)
    return berr_set(err, EINVAL, "invalid %s header: %s", BUILD_SECRETS_HEADER, h);
  char *buf = xmalloc((size_t)len + 1);
  size_t got = 0;
  while (got < (size_t)len) {
    ssize_t k = http_body_read(r, buf + got, (size_t)len - got);
    if (k <= 0)
      break;
    got += (size_t)k;
  }
  int rc = got == (size_t)len ? build_secrets_decode(buf, got, out, n, err)
                              : berr_set(err, EINVAL, "build secrets: the body ended early");
  explicit_bzero(buf, got);
  free(buf);
  return rc;
}

/* build_opts.net_setup: a RUN step's namespace (lo up); in the default mode
 * with one endpoint on "bridge" as dockerd's builder runs RUN (address,
 * veth, default route; outbound masquerade comes with the network), recorded
 * under the step's container ID. "none", or --bridge none: only lo. */
static int build_net_setup(void *ctx, const char *id, bool bridge, char **netns, struct berr **err) {
  struct daemon *d = ctx;
  if (!d->net)
    return 0; /* no net subsystem: the runtime makes an empty namespace */
  _cleanup_free_ char *path = NULL;
  int rc = net_netns_create(d->net, id, &path, err);
  if (rc < 0)
    return berr_wrap(err, "RUN network");
  if (bridge && net_lookup(d->net, "bridge", NULL, NULL, NULL) == 0) {
    struct net_ep_req rq = {.container_id = id, .container_name = id, .hostname = id + 8, .network = "bridge",
                            .netns = path, .publish = true, .gateway = true};
    if ((rc = net_endpoint_attach(d->net, &rq, NULL, err)) < 0) {
      net_container_forget(d->net, id);
      net_netns_delete(d->net, id);
      return berr_wrap(err, "RUN network");
    }
  }
  *netns = steal_ptr(path);
  return 0;
}

/* build_opts.net_teardown: veth, address and records, then the namespace. */
static void build_net_teardown(void *ctx, const char *id) {
  struct daemon *d = ctx;
  if (!d->net)
    return;
  net_container_forget(d->net, id);
  net_netns_delete(d->net, id);
}

/* --no-cache-filter: "nocachefilter" as a JSON array of stage names. */
static int nocache_filter(struct http_req *r, char ***out, struct berr **err) {
  const char *v = http_query(r, "nocachefilter");
  *out = NULL;
  if (!v || !*v)
    return 0;
  _cleanup_json_ json_t *j = json_loads(v, 0, NULL);
  if (!json_is_array(j))
    return berr_set(err, EINVAL, "failed to parse nocachefilter: not a JSON array of stage names");
  char **names = xcalloc(1, sizeof(char *));
  size_t i;
  json_t *e;
  json_array_foreach(j, i, e) if (json_is_string(e)) names = strv_append(names, xstrdup(json_string_value(e)));
  *out = names;
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
  struct build_secret *secrets = NULL;
  size_t nsecrets = 0;
  _cleanup_strv_ char **nocache_stages = NULL;
  if (nocache_filter(r, &nocache_stages, &err) < 0 || read_secrets(r, &secrets, &nsecrets, &err) < 0)
    return http_reply_berr(r, err);
  _cleanup_free_ char *dir = NULL;
  if (build_context_unpack(d->builder, body_read, r, &dir, &err) < 0) {
    build_secrets_free(secrets, nsecrets);
    return http_reply_berr(r, err);
  }
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
      .secrets = secrets,
      .nsecrets = nsecrets,
      .nocache_stages = nocache_stages,
      .net_setup = build_net_setup,
      .net_teardown = build_net_teardown,
      .net_ctx = d,
      .out = on_out,
      .aux = on_aux,
      .ctx = &b,
      .msg = on_msg,
      .pull_image = build_pull,
      .pull_ctx = d,
  };
  _cleanup_free_ char *id = NULL;
  int rc = build_run(d->builder, &o, &id, &err);
  build_secrets_free(secrets, nsecrets);
  build_context_release(d->builder, dir); /* kept warm for the next build (context.c) */
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
