/*
 * commit.c — new layers and new images made here rather than loaded or
 * pulled: a layer from a tar stream (import, builder), a child image of a
 * parent (Docker's image.NewChildImage), and `docker commit` (the
 * container's writable layer as a layer on its image).
 *
 * A new layer: the stream is decompressed into the content store first
 * (verified write: the blob's name is its sha256, the diff ID), then
 * layer_ensure() unpacks that blob into layers/<chain>/ with layer.c's
 * escape checks, in a temp dir renamed into place: a refused layer leaves
 * no layer dir, and no image is recorded. The blob may stay, as any
 * content-addressed cache.
 *
 * Image configs are written with the fields in the order of dockerd's Go
 * structs (image.V1Image, container.Config), so they read the same as
 * dockerd's; the image ID is the sha256 of exactly these bytes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <sys/utsname.h>

#include "store/store_internal.h"

/* ---------- a layer from a tar stream ---------- */

struct rd_src {
  store_read_fn fn;
  void *ctx;
  char buf[128 * 1024];
};

static la_ssize_t rd_cb(struct archive *a, void *client, const void **buf) {
  struct rd_src *src = client;
  ssize_t n = src->fn(src->ctx, src->buf, sizeof src->buf);
  if (n < 0) {
    archive_set_error(a, (int)-n, "read: %s", strerror((int)-n));
    return -1;
  }
  *buf = src->buf;
  return n;
}

/* Decompress (gzip / zstd / bzip2 / xz / none) the stream into a blob. */
static int blob_from_stream(struct store *s, store_read_fn rd, void *rctx, char **digest,
                            struct berr **err) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_raw(a);
  archive_read_support_format_empty(a);
  struct rd_src *src = xmalloc(sizeof *src);
  src->fn = rd;
  src->ctx = rctx;
  struct content_writer *w = NULL;
  struct archive_entry *e;
  int r = 0;
  if (archive_read_open(a, src, NULL, rd_cb, NULL) != ARCHIVE_OK) {
    r = berr_set(err, EINVAL, "read layer: %s", archive_error_string(a));
    goto out;
  }
  if ((r = content_writer_open(s, &w, err)) < 0)
    goto out;
  int hr = archive_read_next_header(a, &e);
  if (hr != ARCHIVE_OK && hr != ARCHIVE_EOF) {
    r = berr_set(err, EINVAL, "read layer: %s", archive_error_string(a));
    goto out;
  }
  char buf[64 * 1024];
  for (la_ssize_t n; hr == ARCHIVE_OK && (n = archive_read_data(a, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      r = berr_set(err, EINVAL, "read layer: %s", archive_error_string(a));
      goto out;
    }
    if ((r = content_writer_write(w, buf, (size_t)n, err)) < 0)
      goto out;
  }
  r = content_writer_commit(steal_ptr(w), NULL, digest, err);
out:
  content_writer_abort(w);
  archive_read_free(a);
  free(src);
  return r;
}

/* The top chain ID of image `name` (NULL: none) into *chain. */
static int parent_chain(struct store *s, const char *name, char **chain, struct berr **err) {
  *chain = NULL;
  if (!name || !*name)
    return 0;
  struct image *img = NULL;
  int r = store_image_get(s, name, &img, err);
  if (r < 0)
    return r;
  _cleanup_strv_ char **chains = image_chain_ids(img->diff_ids);
  size_t n = strv_len(chains);
  if (n)
    *chain = xstrdup(chains[n - 1]);
  image_free(img);
  return 0;
}

/* Unpack blob diff_id as the layer on top of parent_chain. */
static int layer_from_blob(struct store *s, const char *parent, const char *diff_id, struct berr **err) {
  _cleanup_free_ char *chain = chain_id_next(parent, diff_id);
  pthread_mutex_lock(&s->lock);
  int r = layer_ensure(s, chain, diff_id, parent, err);
  pthread_mutex_unlock(&s->lock);
  return r;
}

int store_layer_add(struct store *s, const char *parent, store_read_fn rd, void *rctx, char **diff_id,
                    struct berr **err) {
  _cleanup_free_ char *pchain = NULL;
  _cleanup_free_ char *d = NULL;
  int r = parent_chain(s, parent, &pchain, err);
  if (r == 0)
    r = blob_from_stream(s, rd, rctx, &d, err);
  if (r == 0)
    r = layer_from_blob(s, pchain, d, err); /* its errors name the layer */
  if (r < 0)
    return r;
  *diff_id = steal_ptr(d);
  return 0;
}

/* ---------- configs in dockerd's shape ---------- */

json_t *store_go_container_config(const json_t *c) {
  static const struct {
    const char *key;
    char kind; /* s string, b bool, n null default, o omitempty */
  } fields[] = {
      {"Hostname", 's'},     {"Domainname", 's'},   {"User", 's'},         {"AttachStdin", 'b'},
      {"AttachStdout", 'b'}, {"AttachStderr", 'b'}, {"ExposedPorts", 'o'}, {"Tty", 'b'},
      {"OpenStdin", 'b'},    {"StdinOnce", 'b'},    {"Env", 'n'},          {"Cmd", 'n'},
      {"Healthcheck", 'o'},  {"ArgsEscaped", 'o'},  {"Image", 's'},        {"Volumes", 'n'},
      {"WorkingDir", 's'},   {"Entrypoint", 'n'},   {"NetworkDisabled", 'o'}, {"MacAddress", 'o'},
      {"OnBuild", 'n'},      {"Labels", 'n'},       {"StopSignal", 'o'},   {"StopTimeout", 'o'},
      {"Shell", 'o'},
  };
  json_t *o = json_object();
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    json_t *v = json_object_get(c, fields[i].key);
    bool empty = !v || json_is_null(v) || (fields[i].kind == 'o' && json_is_false(v)) ||
                 (fields[i].kind == 'o' && json_is_string(v) && !*json_string_value(v));
    if (!empty) {
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

static const char *machine_arch(void) {
  struct utsname u;
  static const char *const map[][2] = {{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"},
                                       {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"}};
  if (uname(&u) == 0)
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
      if (strcmp(u.machine, map[i][0]) == 0)
        return map[i][1];
  return "amd64";
}

static void set_str(json_t *o, const char *key, const char *v) {
  if (v && *v)
    json_object_set_new(o, key, json_string(v));
}

/* The history entry (image.History: omitempty fields). */
static json_t *history_entry(const struct store_child *c, const char *created, bool empty) {
  json_t *h = json_object();
  set_str(h, "created", created);
  set_str(h, "author", c->author);
  set_str(h, "created_by", c->created_by);
  set_str(h, "comment", c->comment);
  if (empty)
    json_object_set_new(h, "empty_layer", json_true());
  return h;
}

/* The config JSON of the child of `parent` (NULL: none). */
static json_t *child_config(const struct store_child *c, const struct image *parent) {
  const json_t *pc = parent ? parent->config : NULL;
  _cleanup_free_ char *created = time_now_rfc3339();
  bool empty = !c->diff_id || (!c->keep_empty_layer && strcmp(c->diff_id, STORE_EMPTY_LAYER_DIFF_ID) == 0);
  json_t *o = json_object();
  set_str(o, "comment", c->comment);
  json_object_set_new(o, "created", json_string(created));
  set_str(o, "container", c->container);
  /* Go marshals the struct even when empty (import): always present */
  json_object_set_new(o, "container_config", store_go_container_config(c->container_config));
  set_str(o, "docker_version", c->docker_version ? c->docker_version : BERTH_VERSION);
  set_str(o, "author", c->author);
  json_object_set_new(o, "config", store_go_container_config(c->config));
  const char *arch = c->architecture ? c->architecture : json_string_value(json_object_get(pc, "architecture"));
  const char *os = c->os ? c->os : json_string_value(json_object_get(pc, "os"));
  json_object_set_new(o, "architecture", json_string(arch ? arch : machine_arch()));
  if (!c->architecture)
    set_str(o, "variant", json_string_value(json_object_get(pc, "variant")));
  json_object_set_new(o, "os", json_string(os ? os : "linux"));
  json_t *diffs = json_array();
  for (size_t i = 0; parent && parent->diff_ids[i]; i++)
    json_array_append_new(diffs, json_string(parent->diff_ids[i]));
  if (!empty)
    json_array_append_new(diffs, json_string(c->diff_id));
  json_object_set_new(o, "rootfs", json_pack("{s:s,s:o}", "type", "layers", "diff_ids", diffs));
  json_t *hist = json_array();
  json_t *ph = json_object_get(pc, "history");
  if (json_is_array(ph))
    json_array_extend(hist, ph);
  json_array_append_new(hist, history_entry(c, created, empty));
  json_object_set_new(o, "history", hist);
  json_t *osv = json_object_get(pc, "os.version");
  if (json_is_string(osv) && !c->os)
    json_object_set(o, "os.version", osv);
  return o;
}

static int set_parent(struct store *s, const char *id, const char *parent_id, struct berr **err) {
  sqlite3_stmt *st = NULL;
  int r = 0;
  if (sqlite3_prepare_v2(db_handle(s->db), "UPDATE images SET parent=?1 WHERE id=?2", -1, &st, NULL) !=
      SQLITE_OK)
    return berr_set(err, EIO, "image %s: set parent: %s", id, sqlite3_errmsg(db_handle(s->db)));
  sqlite3_bind_text(st, 1, parent_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) != SQLITE_DONE)
    r = berr_set(err, EIO, "image %s: set parent: %s", id, sqlite3_errmsg(db_handle(s->db)));
  sqlite3_finalize(st);
  return r;
}

/* Every tag a valid reference without a digest (before anything is written). */
static int check_tags(char *const *tags, struct berr **err) {
  for (size_t i = 0; tags && tags[i]; i++) {
    struct image_ref ref;
    int r = image_ref_parse(tags[i], &ref, err);
    if (r < 0)
      return r;
    bool digest = ref.digest != NULL;
    image_ref_free(&ref);
    if (digest)
      return berr_set(err, EINVAL, "refusing to create a tag with a digest reference");
  }
  return 0;
}

/* A failed child: its new layer goes unless an image or container uses it. */
static void drop_new_layer(struct store *s, const struct image *parent, const char *diff_id) {
  if (!diff_id || strcmp(diff_id, STORE_EMPTY_LAYER_DIFF_ID) == 0)
    return;
  _cleanup_strv_ char **chains = image_chain_ids(parent ? parent->diff_ids : NULL);
  size_t n = strv_len(chains);
  _cleanup_free_ char *chain = chain_id_next(n ? chains[n - 1] : NULL, diff_id);
  pthread_mutex_lock(&s->lock);
  if (!layer_in_use(s, chain))
    layer_remove(s, chain, NULL);
  pthread_mutex_unlock(&s->lock);
}

int store_image_child(struct store *s, const struct store_child *c, char **id, struct berr **err) {
  struct image *parent = NULL;
  int r = 0;
  if (c->parent && *c->parent && (r = store_image_get(s, c->parent, &parent, err)) < 0)
    return r;
  if ((r = check_tags(c->tags, err)) < 0) {
    drop_new_layer(s, parent, c->diff_id);
    image_free(parent);
    return r;
  }
  json_t *cfg = child_config(c, parent);
  _cleanup_free_ char *text = json_dump_compact(cfg);
  json_decref(cfg);
  _cleanup_free_ char *new_id = NULL;
  r = content_put(s, text, strlen(text), NULL, NULL, err);
  if (r == 0)
    r = image_record(s, text, strlen(text), c->tags, NULL, NULL, &new_id, err);
  if (r == 0 && parent && c->set_parent)
    r = set_parent(s, new_id, parent->id, err);
  if (r < 0 && !new_id)
    drop_new_layer(s, parent, c->diff_id);
  image_free(parent);
  if (r < 0)
    return r;
  *id = steal_ptr(new_id);
  return 0;
}

/* ---------- commit ---------- */

static bool env_has_key(const json_t *env, const char *kv) {
  size_t klen = strcspn(kv, "=");
  json_t *e;
  size_t i;
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e);
    if (s && strncmp(s, kv, klen) == 0 && (s[klen] == '=' || s[klen] == '\0'))
      return true;
  }
  return false;
}

static bool empty_json(const json_t *v) {
  return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
         (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

/* Fill what the user's config left empty from the container's (dockerd's
 * daemon/commit.go merge()). */
static void commit_merge(json_t *user, const json_t *ctr) {
  static const char *const plain[] = {"User", "WorkingDir", "StopSignal"};
  for (size_t i = 0; i < 3; i++)
    if (empty_json(json_object_get(user, plain[i])) && json_object_get(ctr, plain[i]))
      json_object_set(user, plain[i], json_object_get(ctr, plain[i]));
  static const char *const maps[] = {"ExposedPorts", "Volumes", "Labels"};
  for (size_t i = 0; i < 3; i++) {
    json_t *src = json_object_get(ctr, maps[i]);
    if (!json_is_object(src))
      continue;
    json_t *dst = json_object_get(user, maps[i]);
    if (!json_is_object(dst))
      json_object_set_new(user, maps[i], dst = json_object());
    json_object_update_missing(dst, src);
  }
  json_t *uenv = json_object_get(user, "Env"), *cenv = json_object_get(ctr, "Env"), *e;
  size_t i;
  if (empty_json(uenv)) {
    if (cenv)
      json_object_set(user, "Env", cenv);
  } else {
    json_array_foreach(cenv, i, e) {
      if (json_is_string(e) && !env_has_key(uenv, json_string_value(e)))
        json_array_append(uenv, e);
    }
  }
  if (empty_json(json_object_get(user, "Entrypoint"))) {
    if (empty_json(json_object_get(user, "Cmd")) && json_object_get(ctr, "Cmd"))
      json_object_set(user, "Cmd", json_object_get(ctr, "Cmd"));
    if (!json_object_get(user, "Entrypoint") && json_object_get(ctr, "Entrypoint"))
      json_object_set(user, "Entrypoint", json_object_get(ctr, "Entrypoint"));
  }
  json_t *ch = json_object_get(ctr, "Healthcheck");
  if (json_is_object(ch)) {
    json_t *uh = json_object_get(user, "Healthcheck");
    if (!json_is_object(uh))
      json_object_set(user, "Healthcheck", ch);
    else
      json_object_update_missing(uh, ch);
  }
}

struct blob_sink {
  struct content_writer *w;
  struct berr **err;
};

static int blob_write(void *ctx, const void *buf, size_t len) {
  struct blob_sink *b = ctx;
  return content_writer_write(b->w, buf, len, b->err) < 0 ? -EIO : 0;
}

/* The container's diff into the content store, then as a layer on pchain. */
static int commit_layer(struct store *s, const char *cid, const char *pchain, char **diff_id,
                        struct berr **err) {
  struct blob_sink b = {NULL, err};
  int r = content_writer_open(s, &b.w, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *d = NULL;
  if ((r = store_rw_diff(s, cid, blob_write, &b, &d, NULL, err)) < 0) {
    content_writer_abort(b.w);
    return r;
  }
  if ((r = content_writer_commit(b.w, d, NULL, err)) < 0)
    return r;
  if (strcmp(d, STORE_EMPTY_LAYER_DIFF_ID) != 0 && (r = layer_from_blob(s, pchain, d, err)) < 0)
    return r;
  *diff_id = steal_ptr(d);
  return 0;
}

int store_rw_layer(struct store *s, const char *cid, const char *parent, char **diff_id,
                   struct berr **err) {
  _cleanup_free_ char *pchain = NULL;
  int r = parent_chain(s, parent, &pchain, err);
  return r < 0 ? r : commit_layer(s, cid, pchain, diff_id, err);
}

/* history's created_by: the container's Cmd joined by spaces. */
static char *join_cmd(const json_t *cfg) {
  char *out = xstrdup("");
  json_t *x;
  size_t i;
  json_array_foreach(json_object_get(cfg, "Cmd"), i, x) {
    char *t = xasprintf("%s%s%s", out, i ? " " : "", json_string_value(x) ? json_string_value(x) : "");
    free(out);
    out = t;
  }
  return out;
}

int store_commit(struct store *s, const struct store_commit_opts *o, char **id, struct berr **err) {
  /* dockerd: no Config in the request → the container's own */
  const json_t *base = empty_json(o->config) ? o->container_config : o->config;
  _cleanup_json_ json_t *cfg = base ? json_deep_copy(base) : json_object();
  if (!json_is_object(cfg)) {
    json_decref(cfg);
    cfg = json_object();
  }
  char *tags[2] = {(char *)o->reference, NULL};
  int r = check_tags(o->reference && *o->reference ? tags : NULL, err);
  if (r == 0)
    r = store_changes_apply(cfg, o->changes, err);
  if (r < 0)
    return r;
  commit_merge(cfg, o->container_config);
  _cleanup_free_ char *diff_id = NULL;
  if ((r = store_rw_layer(s, o->cid, o->image_id, &diff_id, err)) < 0)
    return r;
  _cleanup_free_ char *created_by = join_cmd(o->container_config);
  struct store_child c = {
      .parent = o->image_id,
      .diff_id = diff_id,
      .config = cfg,
      .container_config = o->container_config,
      .container = o->cid,
      .author = o->author,
      .comment = o->comment,
      .created_by = created_by,
      .docker_version = o->docker_version,
      .set_parent = true,
      .tags = o->reference && *o->reference ? tags : NULL,
  };
  return store_image_child(s, &c, id, err);
}
