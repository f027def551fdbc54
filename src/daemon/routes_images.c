/*
 * routes_images.c — the Engine API's images area over the store (store.h):
 * list, inspect, history, tag, remove, load, save (one image or many), prune.
 *
 * Shapes follow dockerd 20.10 (API 1.41) field for field: clients print them
 * verbatim (`docker images`, `docker image inspect`) and docker-py reads
 * them. Errors keep dockerd's wording and status: 404 "No such image:
 * busybox:latest", 409 conflicts, 400 bad references and filters.
 * Image events ("tag", "untag", "delete", "load") go to the event bus.
 */
#include <errno.h>
#include <fnmatch.h>

#include "daemon/container_internal.h"
#include "daemon/containers.h"
#include "daemon/daemon.h"

/* ------------------------------------------------------------- helpers ---- */

static struct daemon *D(struct http_req *r) { return r->ctx; }

static json_t *strv_json(char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static void image_event(struct daemon *d, const char *action, const char *id, const char *name) {
  if (!d->events)
    return;
  events_publish(d->events, "image", action, id, json_pack("{s:s}", "name", name ? name : id));
}

static json_t *image_labels(const struct image *img) {
  json_t *l = json_object_get(json_object_get(img->config, "config"), "Labels");
  return json_is_object(l) ? json_incref(l) : json_null();
}

/* A container config in Docker's field order, every field present
 * (dockerd re-marshals it through its struct). */
static json_t *container_config(const json_t *c) {
  static const struct {
    const char *key;
    char kind; /* s string, b bool, n null-default, o omitempty */
  } fields[] = {
      {"Hostname", 's'},    {"Domainname", 's'}, {"User", 's'},         {"AttachStdin", 'b'},
      {"AttachStdout", 'b'}, {"AttachStderr", 'b'}, {"ExposedPorts", 'o'}, {"Tty", 'b'},
      {"OpenStdin", 'b'},   {"StdinOnce", 'b'},  {"Env", 'n'},          {"Cmd", 'n'},
      {"Healthcheck", 'o'}, {"ArgsEscaped", 'o'}, {"Image", 's'},       {"Volumes", 'n'},
      {"WorkingDir", 's'},  {"Entrypoint", 'n'}, {"NetworkDisabled", 'o'}, {"MacAddress", 'o'},
      {"OnBuild", 'n'},     {"Labels", 'n'},     {"StopSignal", 'o'},   {"StopTimeout", 'o'},
      {"Shell", 'o'},
  };
  json_t *o = json_object();
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    json_t *v = json_object_get(c, fields[i].key);
    if (v && !json_is_null(v)) {
      json_object_set(o, fields[i].key, v);
      continue;
    }
    switch (fields[i].kind) {
    case 's': json_object_set_new(o, fields[i].key, json_string("")); break;
    case 'b': json_object_set_new(o, fields[i].key, json_false()); break;
    case 'n': json_object_set_new(o, fields[i].key, json_null()); break;
    default: break;
    }
  }
  return o;
}

static const char *cfg_str(const struct image *img, const char *key) {
  const char *s = json_string_value(json_object_get(img->config, key));
  return s ? s : "";
}

/* ---------------------------------------------------------------- list ---- */

/* The "reference" filter: path.Match of each pattern against a reference's
 * familiar form ("busybox:latest", "busybox@sha256:…") and its name alone. */
static bool ref_matches(const json_t *pats, const char *ref) {
  _cleanup_free_ char *name = xstrdup(ref);
  char *cut = strchr(name, '@');
  if (!cut) {
    char *colon = strrchr(name, ':');
    cut = colon && !strchr(colon, '/') ? colon : NULL;
  }
  if (cut)
    *cut = '\0';
  size_t i;
  json_t *p;
  json_array_foreach(pats, i, p) {
    const char *pat = json_string_value(p);
    if (fnmatch(pat, ref, FNM_PATHNAME) == 0 || (cut && fnmatch(pat, name, FNM_PATHNAME) == 0))
      return true;
  }
  return false;
}

static bool match_reference(const json_t *filters, const struct image *img) {
  json_t *pats = json_object_get(filters, "reference");
  if (!json_array_size(pats))
    return true;
  for (size_t k = 0; img->repo_tags[k]; k++)
    if (ref_matches(pats, img->repo_tags[k]))
      return true;
  for (size_t k = 0; img->repo_digests && img->repo_digests[k]; k++)
    if (ref_matches(pats, img->repo_digests[k]))
      return true;
  return false;
}

/* With a reference filter, dockerd lists only the matching tags and digests
 * of each image it keeps (daemon/images/images.go) */
static void keep_matching_refs(json_t *summary, const json_t *filters) {
  json_t *pats = json_object_get(filters, "reference");
  if (!json_array_size(pats))
    return;
  const char *keys[] = {"RepoTags", "RepoDigests"};
  for (size_t k = 0; k < 2; k++) {
    json_t *in = json_object_get(summary, keys[k]);
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v)
      if (json_is_string(v) && ref_matches(pats, json_string_value(v)))
        json_array_append(out, v);
    /* none left: a nil slice in dockerd's summary, null in its JSON */
    json_object_set_new(summary, keys[k], json_array_size(out) ? out : json_null());
    if (!json_array_size(out))
      json_decref(out);
  }
}

/* before / since: the Created of the image named by the filter. */
static int filter_time(struct daemon *d, const json_t *filters, const char *key, int64_t *out, struct berr **err) {
  json_t *v = json_array_get(json_object_get(filters, key), 0);
  *out = -1;
  if (!v)
    return 0;
  struct image *ref = NULL;
  int r = store_image_get(d->store, json_string_value(v), &ref, err);
  if (r < 0)
    return r;
  *out = ref->created;
  image_free(ref);
  return 0;
}

/* dockerd 20.10's filters.Validate: "Invalid filter 'x'" (filters_check) */
static int check_keys(const json_t *filters, const char *const *accepted, struct berr **err) {
  return filters_check(filters, accepted, err);
}

/* dangling=true|false|1|0; the list's message shows the value as Go prints
 * a slice ("dangling=[maybe]"), prune's does not. */
static int dangling_filter(const json_t *filters, bool list, int *out, struct berr **err) {
  json_t *v = json_array_get(json_object_get(filters, "dangling"), 0);
  *out = -1;
  if (!v)
    return 0;
  const char *s = json_string_value(v);
  if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
    *out = 1;
  else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
    *out = 0;
  else
    return berr_set(err, EINVAL, list ? "Invalid filter 'dangling=[%s]'" : "Invalid filter 'dangling=%s'", s);
  return 0;
}

static json_t *image_summary(const struct image *img) {
  bool dangling = !img->repo_tags[0] && !img->repo_digests[0];
  json_t *tags = dangling ? json_pack("[s]", "<none>:<none>") : strv_json(img->repo_tags);
  /* dockerd: a nil slice (null) when the image has tags but no digest */
  json_t *digests = dangling ? json_pack("[s]", "<none>@<none>")
                    : img->repo_digests[0] ? strv_json(img->repo_digests) : json_null();
  return json_pack("{s:i,s:I,s:s,s:o,s:s,s:o,s:o,s:i,s:I,s:I}", "Containers", -1, "Created",
                   (json_int_t)img->created, "Id", img->id, "Labels", image_labels(img), "ParentId",
                   img->parent ? img->parent : "", "RepoDigests", digests, "RepoTags", tags, "SharedSize", -1,
                   "Size", (json_int_t)img->size, "VirtualSize", (json_int_t)img->size);
}

static void images_list(struct http_req *r) {
  static const char *const accepted[] = {"dangling", "label", "before", "since", "reference", NULL};
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *filters = NULL;
  int dangling = -1;
  int64_t before = -1, since = -1;
  if (filters_parse(http_query(r, "filters"), &filters, &err) < 0 || check_keys(filters, accepted, &err) < 0 ||
      dangling_filter(filters, true, &dangling, &err) < 0 || filter_time(D(r), filters, "before", &before, &err) < 0 ||
      filter_time(D(r), filters, "since", &since, &err) < 0)
    return http_reply_berr(r, err);
  /* API < 1.25 had ?filter=NAME, the reference filter's ancestor */
  const char *legacy = http_query(r, "filter");
  if (legacy && *legacy && !json_object_get(filters, "reference"))
    json_object_set_new(filters, "reference", json_pack("[s]", legacy));
  struct image **imgs = NULL;
  size_t n = 0;
  if (store_image_list(D(r)->store, &imgs, &n, &err) < 0)
    return http_reply_berr(r, err);
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    struct image *img = imgs[i];
    bool is_dangling = !img->repo_tags[0];
    bool keep = (dangling < 0 || (dangling == 1) == is_dangling) && match_reference(filters, img) &&
                filters_match_labels(filters, "label", json_object_get(json_object_get(img->config, "config"), "Labels")) &&
                (before < 0 || img->created < before) && (since < 0 || img->created > since);
    if (keep) {
      json_t *summary = image_summary(img);
      keep_matching_refs(summary, filters);
      json_array_append_new(out, summary);
    }
    image_free(img);
  }
  free(imgs);
  http_reply_json(r, 200, out);
}

/* ------------------------------------------------------------- inspect ---- */

static json_t *image_inspect_json(struct daemon *d, const struct image *img) {
  json_t *cfg = json_object_get(img->config, "config");
  json_t *ccfg = json_object_get(img->config, "container_config");
  json_t *layers = strv_json(img->diff_ids);
  json_t *o = json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:s}", "Id", img->id, "RepoTags",
                        strv_json(img->repo_tags), "RepoDigests", strv_json(img->repo_digests), "Parent",
                        img->parent ? img->parent : "", "Comment", cfg_str(img, "comment"), "Created",
                        *cfg_str(img, "created") ? cfg_str(img, "created") : "0001-01-01T00:00:00Z", "Container",
                        cfg_str(img, "container"), "ContainerConfig", container_config(ccfg), "DockerVersion",
                        cfg_str(img, "docker_version"), "Author", cfg_str(img, "author"), "Config",
                        cfg ? container_config(cfg) : json_null(), "Architecture", cfg_str(img, "architecture"));
  const char *variant = json_string_value(json_object_get(img->config, "variant"));
  if (variant)
    json_object_set_new(o, "Variant", json_string(variant));
  json_object_set_new(o, "Os", json_string(cfg_str(img, "os")));
  const char *osv = json_string_value(json_object_get(img->config, "os.version"));
  if (osv)
    json_object_set_new(o, "OsVersion", json_string(osv));
  json_object_set_new(o, "Size", json_integer(img->size));
  json_object_set_new(o, "VirtualSize", json_integer(img->size));
  json_object_set_new(o, "GraphDriver", store_image_graphdriver(d->store, img));
  json_object_set_new(o, "RootFS", json_pack("{s:s,s:o}", "Type", "layers", "Layers", layers));
  json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", "0001-01-01T00:00:00Z"));
  return o;
}

static void image_inspect(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  struct image *img = NULL;
  if (store_image_get(D(r)->store, r->params[0], &img, &err) < 0) {
    if (err->code == ENOENT) /* dockerd 20.10's LookupImage wraps it */
      berr_wrap(&err, "no such image: %s", r->params[0]);
    return http_reply_berr(r, err);
  }
  json_t *o = image_inspect_json(D(r), img);
  image_free(img);
  http_reply_json(r, 200, o);
}

/* ------------------------------------------------------------- history ---- */

static void image_history(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  struct image *img = NULL;
  if (store_image_get(D(r)->store, r->params[0], &img, &err) < 0)
    return http_reply_berr(r, err);
  json_t *out = json_array();
  json_t *h;
  size_t i, layer = 0;
  json_array_foreach(json_object_get(img->config, "history"), i, h) {
    int64_t size = 0;
    if (!json_is_true(json_object_get(h, "empty_layer")) && layer < strv_len(img->diff_ids))
      size = store_image_layer_size(D(r)->store, img, layer++);
    int64_t created = store_parse_time(json_string_value(json_object_get(h, "created")));
    const char *by = json_string_value(json_object_get(h, "created_by"));
    const char *comment = json_string_value(json_object_get(h, "comment"));
    json_array_insert_new(out, 0, json_pack("{s:s,s:I,s:s,s:s,s:I,s:o}", "Comment", comment ? comment : "",
                                            "Created", (json_int_t)(created < 0 ? 0 : created), "CreatedBy",
                                            by ? by : "", "Id", "<missing>", "Size", (json_int_t)size, "Tags",
                                            json_null()));
  }
  json_t *top = json_array_get(out, 0);
  if (top) {
    json_object_set_new(top, "Id", json_string(img->id));
    json_object_set_new(top, "Tags", img->repo_tags[0] ? strv_json(img->repo_tags) : json_null());
  }
  image_free(img);
  http_reply_json(r, 200, out);
}

/* ----------------------------------------------------------------- tag ---- */

static void image_tag(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  const char *repo = http_query(r, "repo");
  const char *tag = http_query(r, "tag");
  struct image_ref ref;
  if (image_ref_parse(repo ? repo : "", &ref, &err) < 0)
    return http_reply_berr(r, err);
  if (ref.digest) {
    image_ref_free(&ref);
    return http_reply_error(r, 400, "refusing to create a tag with a digest reference");
  }
  if (tag && *tag) {
    if (!image_ref_tag_valid(tag)) {
      image_ref_free(&ref);
      return http_reply_error(r, 400, "invalid tag format");
    }
    free(ref.tag);
    ref.tag = xstrdup(tag);
  }
  _cleanup_free_ char *target = image_ref_string(&ref);
  _cleanup_free_ char *fam = image_ref_familiar(&ref);
  image_ref_free(&ref);
  struct image *img = NULL;
  if (store_image_get(D(r)->store, r->params[0], &img, &err) < 0 ||
      store_image_tag(D(r)->store, img->id, target, &err) < 0) {
    image_free(img);
    return http_reply_berr(r, err);
  }
  image_event(D(r), "tag", img->id, fam);
  image_free(img);
  http_reply_status(r, 201);
}

/* -------------------------------------------------------------- remove ---- */

static void image_delete(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  json_t *out = NULL;
  if (store_image_remove(D(r)->store, r->params[0], http_query_bool(r, "force", false),
                         http_query_bool(r, "noprune", false), containers_image_in_use, r->ctx, &out, &err) < 0)
    return http_reply_berr(r, err);
  json_t *e;
  size_t i;
  const char *deleted = NULL;
  json_array_foreach(out, i, e) {
    const char *u = json_string_value(json_object_get(e, "Untagged"));
    const char *d = json_string_value(json_object_get(e, "Deleted"));
    if (u)
      image_event(D(r), "untag", u, u);
    if (d && !deleted) {
      deleted = d;
      image_event(D(r), "delete", d, d);
    }
  }
  http_reply_json(r, 200, out);
}

/* ---------------------------------------------------------------- load ---- */

struct load_ctx {
  struct http_req *r;
  bool started; /* the JSON stream has begun */
  bool gone;    /* the client went away */
};

static void load_line(const char *line, void *ctx) {
  struct load_ctx *l = ctx;
  if (l->gone)
    return;
  if (!l->started) {
    http_stream_begin(l->r, 200, "application/json");
    l->started = true;
  }
  _cleanup_free_ char *text = xasprintf("%s\n", line);
  json_t *j = json_pack("{s:s}", "stream", text);
  _cleanup_free_ char *s = json_dump_compact(j);
  json_decref(j);
  _cleanup_free_ char *sl = xasprintf("%s\r\n", s);
  if (http_stream_write(l->r, sl, strlen(sl)) < 0)
    l->gone = true;
  if (str_has_prefix(line, "Loaded image"))
    image_event(D(l->r), "load", strchr(line, ':') + 2, strchr(line, ':') + 2);
}

static ssize_t body_read(void *ctx, void *buf, size_t len) { return http_body_read(ctx, buf, len); }

static void images_load(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  struct load_ctx l = {r, false, false};
  bool quiet = http_query_bool(r, "quiet", false);
  int rc = store_image_load_read(D(r)->store, body_read, r, load_line, &l, &err);
  /* dockerd: quiet loads answer a plain error while nothing was sent; the
   * progress stream of the others has begun, so the error goes in it */
  if (rc < 0 && !l.started && quiet)
    return http_reply_berr(r, err);
  if (rc < 0 && !l.started) {
    http_stream_begin(r, 200, "application/json");
    l.started = true;
  }
  if (rc < 0 && !l.gone) {
    json_t *j = json_pack("{s:{s:s},s:s}", "errorDetail", "message", err->msg, "error", err->msg);
    _cleanup_free_ char *s = json_dump_compact(j);
    json_decref(j);
    _cleanup_free_ char *sl = xasprintf("%s\r\n", s);
    http_stream_write(r, sl, strlen(sl));
  }
  if (!l.started) { /* an archive with no image in it */
    http_stream_begin(r, 200, "application/json");
    l.started = true;
  }
  http_stream_end(r);
}

/* ---------------------------------------------------------------- save ---- */

struct save_ctx {
  struct http_req *r;
  bool started;
};

static int save_write(void *ctx, const void *buf, size_t len) {
  struct save_ctx *s = ctx;
  if (!s->started) {
    if (http_stream_begin(s->r, 200, "application/x-tar") < 0)
      return -EPIPE;
    s->started = true;
  }
  return http_stream_write(s->r, buf, len);
}

static void save_names(struct http_req *r, char *const *names, size_t n) {
  _cleanup_berr_ struct berr *err = NULL;
  struct save_ctx s = {r, false};
  int rc = store_image_save(D(r)->store, names, n, save_write, &s, &err);
  if (rc < 0 && !s.started)
    return http_reply_berr(r, err);
  if (rc < 0)
    log_warn("save: %s", err ? err->msg : "client went away");
  if (!s.started)
    http_stream_begin(r, 200, "application/x-tar");
  http_stream_end(r);
}

static void image_get(struct http_req *r) {
  char *names[1] = {(char *)r->params[0]};
  save_names(r, names, 1);
}

static void images_get(struct http_req *r) {
  _cleanup_free_ char **names = xcalloc(r->nquery + 1, sizeof *names);
  size_t n = 0;
  for (size_t i = 0; i < r->nquery; i++)
    if (strcmp(r->query[i].key, "names") == 0)
      names[n++] = r->query[i].value;
  save_names(r, names, n);
}

/* --------------------------------------------------------------- prune ---- */

static void images_prune(struct http_req *r) {
  static const char *const accepted[] = {"dangling", "label", "label!", "until", NULL};
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *filters = NULL;
  int dangling = -1;
  if (filters_parse(http_query(r, "filters"), &filters, &err) < 0 || check_keys(filters, accepted, &err) < 0 ||
      dangling_filter(filters, false, &dangling, &err) < 0)
    return http_reply_berr(r, err);
  bool only_dangling = dangling != 0; /* the default: dangling=true */
  struct image **imgs = NULL;
  size_t n = 0;
  if (store_image_list(D(r)->store, &imgs, &n, &err) < 0)
    return http_reply_berr(r, err);
  json_t *deleted = json_array();
  int64_t reclaimed = 0;
  for (size_t i = 0; i < n; i++) {
    struct image *img = imgs[i];
    json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");
    bool keep = (only_dangling && img->repo_tags[0]) ||
                containers_image_in_use(img->id, r->ctx, NULL, NULL) ||
                !filters_match_labels(filters, "label", labels);
    if (!keep && json_object_get(filters, "label!")) {
      json_t *neg = json_pack("{s:O}", "label", json_object_get(filters, "label!"));
      keep = json_object_size(labels) && filters_match_labels(neg, "label", labels);
      json_decref(neg);
    }
    const char *until = json_string_value(json_array_get(json_object_get(filters, "until"), 0));
    int64_t u = 0;
    if (!keep && until && parse_int64(until, &u) == 0 && img->created >= u)
      keep = true;
    json_t *out = NULL;
    _cleanup_berr_ struct berr *e2 = NULL;
    /* SpaceReclaimed counts the layers that go, not images sharing them */
    _cleanup_json_ json_t *sizes = json_object();
    _cleanup_strv_ char **chains = keep ? NULL : store_image_chain_ids(img);
    for (size_t k = 0; chains && chains[k]; k++)
      json_object_set_new(sizes, chains[k], json_integer(store_image_layer_size(D(r)->store, img, k)));
    /* dockerd removes a tagged image name by name, a dangling one by ID */
    int rc = -1;
    if (!keep && !img->repo_tags[0])
      rc = store_image_remove(D(r)->store, img->id, false, false, containers_image_in_use, r->ctx, &out, &e2);
    for (size_t k = 0; !keep && img->repo_tags[k]; k++) {
      json_t *one = NULL;
      _cleanup_berr_ struct berr *e3 = NULL;
      if (store_image_remove(D(r)->store, img->repo_tags[k], false, false, containers_image_in_use, r->ctx, &one,
                             &e3) == 0) {
        if (!out)
          out = json_array();
        json_array_extend(out, one);
        json_decref(one);
        rc = 0;
      }
    }
    if (rc == 0) {
      json_t *e;
      size_t k;
      json_array_foreach(out, k, e) {
        const char *d = json_string_value(json_object_get(e, "Deleted"));
        if (d)
          reclaimed += json_integer_value(json_object_get(sizes, d));
        if (d && strcmp(d, img->id) == 0)
          image_event(D(r), "delete", img->id, img->id);
      }
      json_array_extend(deleted, out);
      json_decref(out);
    }
    image_free(img);
  }
  free(imgs);
  if (!json_array_size(deleted)) {
    json_decref(deleted);
    deleted = json_null();
  }
  http_reply_json(r, 200, json_pack("{s:o,s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed));
}

static void image_commit(struct http_req *r); /* below, with import */

const struct http_route routes_images[] = {
    {"GET", "/images/json", images_list, 0},
    {"POST", "/images/load", images_load, HTTP_ROUTE_STREAM_BODY},
    {"GET", "/images/get", images_get, 0},
    {"POST", "/images/prune", images_prune, 0},
    {"GET", "/images/{*}/json", image_inspect, 0},
    {"GET", "/images/{*}/history", image_history, 0},
    {"POST", "/images/{*}/tag", image_tag, 0},
    {"GET", "/images/{*}/get", image_get, 0},
    {"DELETE", "/images/{*}", image_delete, 0},
    {"POST", "/commit", image_commit, 0},
    {NULL},
};

/* ------------------------------------------- import and commit (store-import helper) ---- */

/* The query's values of `key`, in order (NULL-terminated; caller frees the
 * array, not the strings). */
static char **query_all(const struct http_req *r, const char *key) {
  char **v = xcalloc(r->nquery + 1, sizeof *v);
  size_t n = 0;
  for (size_t i = 0; i < r->nquery; i++)
    if (strcmp(r->query[i].key, key) == 0)
      v[n++] = r->query[i].value;
  return v;
}

/* "repo" + "tag" queries → one reference ("" repo: none). Caller frees. */
static char *query_reference(const struct http_req *r) {
  const char *repo = http_query(r, "repo"), *tag = http_query(r, "tag");
  if (!repo || !*repo)
    return NULL;
  return tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
}

/* The request body, buffered (r->body) or streamed (HTTP_ROUTE_STREAM_BODY). */
struct body_src {
  struct http_req *r;
  size_t off;
};

static ssize_t body_src_read(void *ctx, void *buf, size_t len) {
  struct body_src *b = ctx;
  if (!b->r->body)
    return http_body_read(b->r, buf, len);
  size_t n = b->r->body_len - b->off < len ? b->r->body_len - b->off : len;
  memcpy(buf, b->r->body + b->off, n);
  b->off += n;
  return (ssize_t)n;
}

/* POST /images/create?fromSrc=-: the body is the tarball. dockerd answers
 * a progress stream whose only line is {"status":"sha256:…"}; errors come
 * as plain HTTP errors since nothing was flushed before them. */
void images_import(struct http_req *r) {
  struct daemon *d = D(r);
  const char *src = http_query(r, "fromSrc");
  if (!src || strcmp(src, "-") != 0)
    return http_reply_error(r, 501, "import from %s: only fromSrc=- (the request body) is supported; "
                            "berthd does not download images from URLs", src ? src : "(none)");
  _cleanup_free_ char *ref = query_reference(r);
  _cleanup_free_ char **changes = query_all(r, "changes");
  _cleanup_free_ char *plat = xstrdup(http_query(r, "platform") ? http_query(r, "platform") : "");
  char *arch = strchr(plat, '/');
  if (arch) {
    *arch++ = '\0';
    char *variant = strchr(arch, '/');
    if (variant)
      *variant = '\0';
  }
  if (*plat && strcmp(plat, "linux") != 0)
    return http_reply_error(r, 400, "operating system is not supported");
  struct store_import_opts o = {
      .src = src,
      .message = http_query(r, "message"),
      .changes = changes,
      .reference = ref,
      .os = *plat ? plat : NULL,
      .architecture = arch && *arch ? arch : NULL,
  };
  struct body_src b = {r, 0};
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *id = NULL;
  if (store_import(d->store, &o, body_src_read, &b, &id, &err) < 0)
    return http_reply_berr(r, err);
  if (ref) {
    struct image_ref ir;
    if (image_ref_parse(ref, &ir, NULL) == 0) {
      _cleanup_free_ char *fam = image_ref_familiar(&ir);
      image_event(d, "tag", id, fam);
      image_ref_free(&ir);
    }
  }
  image_event(d, "import", id, id);
  http_stream_begin(r, 200, "application/json");
  json_t *j = json_pack("{s:s}", "status", id);
  _cleanup_free_ char *line0 = json_dump_compact(j);
  json_decref(j);
  _cleanup_free_ char *line = xasprintf("%s\r\n", line0);
  http_stream_write(r, line, strlen(line));
  http_stream_end(r);
}

static void ctr_putp(struct container **c) {
  if (*c)
    ctr_put(*c);
}

/* The container's Config and image under its lock (new references). */
static void commit_snapshot(struct container *c, json_t **cfg, char **image_id, enum ctr_state *state) {
  pthread_mutex_lock(&c->lock);
  *cfg = json_deep_copy(c->config ? c->config : json_object());
  *image_id = c->image_id ? xstrdup(c->image_id) : NULL;
  *state = c->state;
  pthread_mutex_unlock(&c->lock);
}

/* POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=
 * with an optional Config body: 201 {"Id":"sha256:…"} (dockerd's
 * CreateImageFromContainer: paused while its layer is read unless
 * pause=0; a "commit" container event). */
static void image_commit(struct http_req *r) {
  struct daemon *d = D(r);
  _cleanup_berr_ struct berr *err = NULL;
  const char *name = http_query(r, "container");
  __attribute__((cleanup(ctr_putp))) struct container *c = NULL;
  if (ctr_get(d, name ? name : "", &c, &err) < 0)
    return http_reply_berr(r, err);
  _cleanup_json_ json_t *body = NULL;
  if (r->body_len && http_body_json(r, &body, &err) < 0)
    return http_reply_berr(r, err);
  _cleanup_free_ char *ref = query_reference(r);
  if (ref) { /* a bad name before the container is paused */
    struct image_ref ir;
    if (image_ref_parse(ref, &ir, &err) < 0)
      return http_reply_berr(r, err);
    image_ref_free(&ir);
  }
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_free_ char *image_id = NULL;
  enum ctr_state state;
  commit_snapshot(c, &cfg, &image_id, &state);
  if (state == CTR_DEAD)
    return http_reply_error(r, 409, "You cannot commit container %s which is Dead", c->id);
  if (state == CTR_REMOVING)
    return http_reply_error(r, 409, "You cannot commit container %s which is being removed", c->id);
  bool paused = false;
  if (http_query_bool(r, "pause", true) && state == CTR_RUNNING) {
    _cleanup_berr_ struct berr *perr = NULL;
    paused = ctr_pause(d, c, true, &perr) == 0;
  }
  _cleanup_free_ char **changes = query_all(r, "changes");
  struct store_commit_opts o = {
      .cid = c->id,
      .image_id = image_id,
      .config = json_is_object(body) ? body : NULL,
      .container_config = cfg,
      .changes = changes,
      .author = http_query(r, "author"),
      .comment = http_query(r, "comment"),
      .reference = ref,
  };
  _cleanup_free_ char *id = NULL;
  int rc = store_commit(d->store, &o, &id, &err);
  if (paused) {
    _cleanup_berr_ struct berr *uerr = NULL;
    if (ctr_pause(d, c, false, &uerr) < 0)
      log_warn("commit %s: unpause: %s", c->id, uerr->msg);
  }
  if (rc < 0)
    return http_reply_berr(r, err);
  json_t *attrs = json_pack("{s:s,s:s}", "comment", o.comment ? o.comment : "", "imageID", id);
  if (ref) {
    struct image_ref ir;
    if (image_ref_parse(ref, &ir, NULL) == 0) {
      _cleanup_free_ char *fam = image_ref_familiar(&ir);
      json_object_set_new(attrs, "imageRef", json_string(fam));
      image_ref_free(&ir);
    }
  }
  ctr_event(d, c, "commit", attrs);
  http_reply_json(r, 201, json_pack("{s:s}", "Id", id));
}

