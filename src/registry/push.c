/*
 * push.c — docker push: a local image's layers, config and manifest into a
 * repository of a registry.
 *
 * Which blob stands for a layer: the manifest the image was pulled with (or
 * last pushed as) is kept when all its blobs are still here — pushing it
 * back unchanged keeps its digest; otherwise each layer's known compressed
 * blob (store_dist_*), else the layer tar gzipped now, and a new Docker
 * schema 2 manifest (indented as dockerd's json.MarshalIndent(…, "   ")).
 *
 * Per layer (up to five at once, dockerd's max-concurrent-uploads; messages
 * top layer first, ids the diff ID's 12 hex):
 *   HEAD the blob in the target repository → "Layer already exists"
 *   known in another repository of the same registry → POST
 *     ?mount=<digest>&from=<repo>: 201 → "Mounted from <repo>"; a 202 is an
 *     upload session we then use
 *   else upload: POST /blobs/uploads/ → Location, then one PUT ?digest=
 *     (monolithic) up to 32 MiB, else PATCH chunks of 16 MiB with
 *     Content-Range and a closing PUT ?digest=; "Pushing" bars, "Pushed"
 * Then the config (HEAD, else upload), the manifest PUT by tag, and
 * "<tag>: digest: sha256:… size: N" + the aux message {Tag, Digest, Size}.
 */
#include <errno.h>

#include "registry/registry_internal.h"

#define MAX_UPLOADS 5
#define MONOLITHIC_MAX ((int64_t)32 << 20)
#define CHUNK ((int64_t)16 << 20)

struct push_layer {
  char id[13];             /* 12 hex of the diff ID */
  char *diff_id;
  struct descriptor d;     /* the blob pushed for it */
  char *mount_from;        /* another repo of this registry known to have it */
};

struct push {
  struct store *s;
  struct session *sess;
  struct progress *prog;
  const char *domain;      /* the registry ("127.0.0.1:5000") */
  char *repo_name;         /* "<domain>/<path>" for dist metadata */
  struct push_layer *layers; /* bottom first */
  size_t n;
  pthread_mutex_t lock;
  size_t next;             /* next layer to take, counting from the top */
  bool failed;
  struct berr *err;
};

static void push_layers_free(struct push *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->layers[i].diff_id);
    free(p->layers[i].d.digest);
    free(p->layers[i].d.media_type);
    free(p->layers[i].mount_from);
  }
  free(p->layers);
  p->layers = NULL;
}

/* ---------- blob operations ---------- */

static int blob_head(struct session *ss, const char *digest, bool *exists, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", ss->repo, digest);
  struct sresp r;
  int rc = session_request(ss, "HEAD", path, NULL, NULL, &r, err);
  if (rc < 0)
    return rc;
  int st = r.h.status;
  sresp_end(&r);
  if (st == 401) /* a HEAD has no error body: the registry's usual words */
    return berr_set(err, EACCES, "unauthorized: authentication required");
  if (st == 403)
    return berr_set(err, EACCES, "denied: requested access to the resource is denied");
  if (st != 200 && st != 404)
    return berr_set(err, EIO, "blob %s: HEAD: HTTP status %d", digest, st);
  *exists = st == 200;
  return 0;
}

/* Location of an upload session (absolute or relative) with `extra` query added. */
static char *with_query(const char *loc, const char *extra) {
  return xasprintf("%s%s%s", loc, strchr(loc, '?') ? "&" : "?", extra);
}

static int upload_start(struct session *ss, const char *query, struct sresp *r, char **location,
                        struct berr **err) {
  _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/%s", ss->repo, query ? query : "");
  int rc = session_request(ss, "POST", path, NULL, NULL, r, err);
  if (rc < 0)
    return rc;
  const char *loc = rresp_header(&r->h, "location");
  if (r->h.status == 202 && loc)
    *location = xstrdup(loc);
  else
    *location = NULL;
  return 0;
}

static int upload_put(struct session *ss, const char *loc, const char *digest, const struct sbody *body,
                      struct berr **err) {
  _cleanup_free_ char *q = xasprintf("digest=%s", digest);
  _cleanup_free_ char *url = with_query(loc, q);
  struct sresp r;
  int rc = session_request(ss, "PUT", url, "Content-Type: application/octet-stream\r\n", body, &r, err);
  if (rc < 0)
    return rc;
  if (r.h.status != 201) {
    _cleanup_free_ char *m = sresp_error(&r);
    return berr_set(err, EIO, "blob %s: upload: %s", digest, m);
  }
  sresp_end(&r);
  return 0;
}

struct push_progress {
  struct push *p;
  const char *id;
  int64_t last_ms;
};

/* Upload a local blob into an upload session at `loc`. */
static int upload_blob(struct push *p, struct session *ss, const char *loc, const struct descriptor *d,
                       const char *id, struct berr **err) {
  int64_t size = 0;
  int fd = store_blob_open(p->s, d->digest, &size, err);
  if (fd < 0)
    return fd;
  int rc = 0;
  _cleanup_free_ char *cur_loc = xstrdup(loc);
  if (id)
    progress_bar(p->prog, id, "Pushing", 0, size);
  if (size <= MONOLITHIC_MAX) {
    struct sbody b = {.fd = fd, .off = 0, .len = size};
    rc = upload_put(ss, cur_loc, d->digest, &b, err);
  } else {
    int64_t off = 0, last = mono_ms();
    while (rc == 0 && off < size) {
      int64_t n = size - off < CHUNK ? size - off : CHUNK;
      struct sbody b = {.fd = fd, .off = off, .len = n};
      _cleanup_free_ char *hdr = xasprintf("Content-Type: application/octet-stream\r\nContent-Range: %lld-%lld\r\n",
                                           (long long)off, (long long)(off + n - 1));
      struct sresp r;
      if ((rc = session_request(ss, "PATCH", cur_loc, hdr, &b, &r, err)) < 0)
        break;
      const char *nl = rresp_header(&r.h, "location");
      if (r.h.status != 202 || !nl) {
        _cleanup_free_ char *m = sresp_error(&r);
        rc = berr_set(err, EIO, "blob %s: upload chunk at %lld: %s", d->digest, (long long)off, m);
        break;
      }
      free(cur_loc);
      cur_loc = xstrdup(nl);
      sresp_end(&r);
      off += n;
      if (id && mono_ms() - last >= 100) {
        last = mono_ms();
        progress_bar(p->prog, id, "Pushing", off, size);
      }
    }
    if (rc == 0) {
      struct sbody empty = {.data = "", .len = 0};
      rc = upload_put(ss, cur_loc, d->digest, &empty, err);
    }
  }
  close(fd);
  if (rc == 0 && id)
    progress_bar(p->prog, id, "Pushing", size, size);
  return rc;
}

/* Push one layer's blob: exists, mount or upload. */
static int push_layer(struct push *p, struct session *ss, struct push_layer *l, struct berr **err) {
  bool exists = false;
  int rc = blob_head(ss, l->d.digest, &exists, err);
  if (rc < 0)
    return rc;
  if (exists) {
    progress_msg(p->prog, l->id, "Layer already exists", true);
    return 0;
  }
  _cleanup_free_ char *loc = NULL;
  struct sresp r;
  if (l->mount_from) {
    _cleanup_free_ char *q = xasprintf("?mount=%s&from=%s", l->d.digest, l->mount_from);
    struct berr *e = NULL;
    if (upload_start(ss, q, &r, &loc, &e) < 0) { /* no mount: upload it */
      log_debug("push %s: mount from %s: %s", l->d.digest, l->mount_from, e ? e->msg : "?");
      berr_free(e);
      r.c = NULL;
    } else if (r.h.status == 201) {
      sresp_end(&r);
      _cleanup_free_ char *m = xasprintf("Mounted from %s", l->mount_from);
      progress_msg(p->prog, l->id, m, true);
      return 0;
    } else {
      sresp_end(&r);
    }
  }
  if (!loc) {
    if ((rc = upload_start(ss, NULL, &r, &loc, err)) < 0)
      return rc;
    if (!loc) {
      _cleanup_free_ char *m = sresp_error(&r);
      return berr_set(err, EIO, "blob %s: start upload: %s", l->d.digest, m);
    }
    sresp_end(&r);
  }
  if ((rc = upload_blob(p, ss, loc, &l->d, l->id, err)) < 0)
    return rc;
  progress_msg(p->prog, l->id, "Pushed", true);
  return 0;
}

static void *push_worker(void *arg) {
  struct push *p = arg;
  struct session *ss = session_clone(p->sess);
  for (;;) {
    pthread_mutex_lock(&p->lock);
    struct push_layer *l = p->failed || p->next >= p->n ? NULL : &p->layers[p->n - 1 - p->next++];
    pthread_mutex_unlock(&p->lock);
    if (!l)
      break;
    struct berr *e = NULL;
    if (push_layer(p, ss, l, &e) < 0) {
      pthread_mutex_lock(&p->lock);
      if (!p->err) {
        p->err = e;
        e = NULL;
      }
      p->failed = true;
      pthread_mutex_unlock(&p->lock);
      berr_free(e);
      break;
    }
    struct store_dist_blob b = {.digest = l->d.digest, .media_type = l->d.media_type, .size = l->d.size,
                                .source = p->repo_name};
    store_dist_add(p->s, l->diff_id, &b, NULL);
  }
  session_free(ss);
  return NULL;
}

static int push_all_layers(struct push *p, struct berr **err) {
  for (size_t i = p->n; i-- > 0;)
    progress_msg(p->prog, p->layers[i].id, "Preparing", true);
  for (size_t k = MAX_UPLOADS; k < p->n; k++)
    progress_msg(p->prog, p->layers[p->n - 1 - k].id, "Waiting", true);
  size_t nt = p->n < MAX_UPLOADS ? p->n : MAX_UPLOADS;
  pthread_t th[MAX_UPLOADS];
  size_t started = 0;
  for (; started < nt; started++)
    if (pthread_create(&th[started], NULL, push_worker, p) != 0)
      break;
  if (nt > 0 && started == 0)
    push_worker(p);
  for (size_t i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  if (p->failed) {
    int code = p->err ? p->err->code : EIO;
    if (err && !*err)
      *err = steal_ptr(p->err);
    berr_free(p->err);
    p->err = NULL;
    return -code;
  }
  return 0;
}

/* ---------- choosing blobs ---------- */

/* The kept manifest (parsed, and its bytes in *body) when every blob of it
 * is here and it describes this image. */
static json_t *kept_manifest(struct push *p, const struct image *img, char **media_type, char **body,
                             size_t *len) {
  _cleanup_free_ char *digest = NULL;
  if (store_dist_manifest_get(p->s, img->id, p->repo_name, &digest, media_type) < 0 &&
      store_dist_manifest_get(p->s, img->id, NULL, &digest, media_type) < 0)
    return NULL;
  json_t *m = NULL;
  if (store_blob_read(p->s, digest, body, len, NULL) == 0)
    m = json_loadb(*body, *len, 0, NULL);
  json_t *ls = json_object_get(m, "layers");
  const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
  bool ok = json_is_array(ls) && json_array_size(ls) == strv_len(img->diff_ids) && cd && strcmp(cd, img->id) == 0;
  json_t *e;
  size_t i;
  json_array_foreach(ls, i, e) {
    if (!ok)
      break;
    ok = store_blob_exists(p->s, json_string_value(json_object_get(e, "digest")));
  }
  if (!ok) {
    json_decref(m);
    free(*media_type);
    *media_type = NULL;
    free(*body);
    *body = NULL;
    return NULL;
  }
  return m;
}

/* The path part of a dist source "<domain>/<path>" when it is another repo of our registry. */
static char *mount_source(struct push *p, const char *source) {
  size_t dl = strlen(p->domain);
  if (strncmp(source, p->domain, dl) != 0 || source[dl] != '/' || strcmp(source, p->repo_name) == 0)
    return NULL;
  return xstrdup(source + dl + 1);
}

static int plan_layer(struct push *p, struct push_layer *l, const json_t *kept_desc, struct berr **err) {
  struct store_dist_blob *v = NULL;
  size_t n = 0;
  store_dist_list(p->s, l->diff_id, &v, &n);
  if (kept_desc) {
    l->d.digest = xstrdup(json_string_value(json_object_get(kept_desc, "digest")));
    l->d.media_type = xstrdup(json_string_value(json_object_get(kept_desc, "mediaType")) ?: MT_DOCKER_LAYER_GZIP);
    l->d.size = json_integer_value(json_object_get(kept_desc, "size"));
  } else {
    for (size_t i = 0; i < n && !l->d.digest; i++)
      if (store_blob_exists(p->s, v[i].digest) && strcmp(v[i].digest, l->diff_id) != 0 &&
          (strstr(v[i].media_type, "gzip") || !*v[i].media_type)) {
        l->d.digest = xstrdup(v[i].digest);
        l->d.media_type = xstrdup(MT_DOCKER_LAYER_GZIP);
        l->d.size = v[i].size;
      }
    if (!l->d.digest) {
      char *dg = NULL;
      int64_t size = 0;
      int rc = store_layer_compress(p->s, l->diff_id, &dg, &size, err);
      if (rc < 0) {
        store_dist_blobs_free(v, n);
        return rc;
      }
      l->d.digest = dg;
      l->d.media_type = xstrdup(MT_DOCKER_LAYER_GZIP);
      l->d.size = size;
      struct store_dist_blob b = {.digest = dg, .media_type = MT_DOCKER_LAYER_GZIP, .size = size, .source = ""};
      store_dist_add(p->s, l->diff_id, &b, NULL);
    }
  }
  for (size_t i = 0; i < n && !l->mount_from; i++)
    if (strcmp(v[i].digest, l->d.digest) == 0)
      l->mount_from = mount_source(p, v[i].source);
  store_dist_blobs_free(v, n);
  return 0;
}

/* A schema 2 manifest for the chosen blobs, as dockerd writes it. */
static json_t *new_manifest(struct push *p, const struct image *img, size_t config_len) {
  json_t *layers = json_array();
  for (size_t i = 0; i < p->n; i++)
    json_array_append_new(layers, json_pack("{s:s,s:I,s:s}", "mediaType", p->layers[i].d.media_type, "size",
                                            (json_int_t)p->layers[i].d.size, "digest", p->layers[i].d.digest));
  return json_pack("{s:i,s:s,s:{s:s,s:I,s:s},s:o}", "schemaVersion", 2, "mediaType", MT_DOCKER_MANIFEST, "config",
                   "mediaType", MT_DOCKER_CONFIG, "size", (json_int_t)config_len, "digest", img->id, "layers",
                   layers);
}

/* ---------- the push ---------- */

static int push_config(struct push *p, const struct image *img, struct berr **err) {
  bool exists = false;
  int rc = blob_head(p->sess, img->id, &exists, err);
  if (rc < 0 || exists)
    return rc;
  _cleanup_free_ char *loc = NULL;
  struct sresp r;
  if ((rc = upload_start(p->sess, NULL, &r, &loc, err)) < 0)
    return rc;
  if (!loc) {
    _cleanup_free_ char *m = sresp_error(&r);
    return berr_set(err, EIO, "config %s: start upload: %s", img->id, m);
  }
  sresp_end(&r);
  struct descriptor d = {.digest = img->id};
  return upload_blob(p, p->sess, loc, &d, NULL, err);
}

static int put_manifest(struct push *p, const char *tag, const char *body, size_t len, const char *mt,
                        struct berr **err) {
  _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", p->sess->repo, tag);
  _cleanup_free_ char *hdr = xasprintf("Content-Type: %s\r\n", mt);
  struct sbody b = {.data = body, .len = (int64_t)len};
  struct sresp r;
  int rc = session_request(p->sess, "PUT", path, hdr, &b, &r, err);
  if (rc < 0)
    return rc;
  if (r.h.status != 201 && r.h.status != 200) {
    _cleanup_free_ char *m = sresp_error(&r);
    return berr_set(err, EIO, "manifest %s: %s", tag, m);
  }
  sresp_end(&r);
  return 0;
}

static int push_tag(struct registry *reg, struct store *s, struct image_ref *ref, const struct registry_opts *o,
                    struct progress *prog, struct berr **err) {
  _cleanup_free_ char *name = image_ref_familiar_name(ref);
  _cleanup_free_ char *fam = image_ref_familiar(ref);
  struct image *img = NULL;
  if (store_image_get(s, fam, &img, NULL) < 0)
    return berr_set(err, ENOENT, "An image does not exist locally with the tag: %s", name);
  struct push p = {.s = s, .prog = prog, .domain = ref->domain};
  pthread_mutex_init(&p.lock, NULL);
  p.repo_name = xasprintf("%s/%s", ref->domain, ref->path);
  char *cfg = NULL;
  size_t cfg_len = 0;
  char *mt = NULL;
  json_t *man = NULL;
  _cleanup_free_ char *body = NULL;
  size_t len = 0;
  struct endpoint *eps = NULL;
  size_t neps = 0;
  int rc = store_blob_read(s, img->id, &cfg, &cfg_len, err);
  if (rc == 0)
    rc = endpoints_for(ref->domain, o->insecure, NULL, &eps, &neps, err);
  if (rc == 0)
    rc = session_open(reg, &eps[neps - 1], ref->path, "pull,push", o->auth, &p.sess, err);
  if (rc == 0) {
    json_t *kept = kept_manifest(&p, img, &mt, &body, &len);
    p.n = strv_len(img->diff_ids);
    p.layers = xcalloc(p.n + 1, sizeof *p.layers);
    for (size_t i = 0; i < p.n && rc == 0; i++) {
      p.layers[i].diff_id = xstrdup(img->diff_ids[i]);
      snprintf(p.layers[i].id, sizeof p.layers[i].id, "%.12s", img->diff_ids[i] + 7);
      rc = plan_layer(&p, &p.layers[i], kept ? json_array_get(json_object_get(kept, "layers"), i) : NULL, err);
    }
    if (kept) {
      man = kept;
    } else {
      man = new_manifest(&p, img, cfg_len);
      free(mt);
      mt = xstrdup(MT_DOCKER_MANIFEST);
    }
  }
  if (rc == 0)
    rc = push_all_layers(&p, err);
  if (rc == 0)
    rc = push_config(&p, img, err);
  _cleanup_free_ char *digest = NULL;
  if (rc == 0) {
    if (!body) { /* a kept manifest goes back byte for byte */
      body = json_dumps(man, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
      len = strlen(body);
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, body, len);
    unsigned char h[32];
    unsigned hl = 0;
    EVP_DigestFinal_ex(md, h, &hl);
    EVP_MD_CTX_free(md);
    digest = xmalloc(72);
    memcpy(digest, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++)
      snprintf(digest + 7 + 2 * i, 3, "%02x", h[i]);
    rc = put_manifest(&p, ref->tag, body, len, mt, err);
  }
  if (rc == 0) {
    store_blob_put(s, body, len, digest, NULL);
    store_dist_manifest_set(s, img->id, p.repo_name, digest, mt, NULL);
    _cleanup_free_ char *dref = xasprintf("%s/%s@%s", ref->domain, ref->path, digest);
    store_image_record_pull(s, cfg, cfg_len, NULL, dref, NULL, NULL);
    _cleanup_free_ char *line = xasprintf("%s: digest: %s size: %zu", ref->tag, digest, len);
    progress_msg(prog, NULL, line, false);
    json_t *aux = json_pack("{s:{},s:{s:s,s:s,s:I}}", "progressDetail", "aux", "Tag", ref->tag, "Digest", digest,
                            "Size", (json_int_t)len);
    if (prog->emit) {
      pthread_mutex_lock(&prog->lock);
      prog->emit(aux, prog->ctx);
      pthread_mutex_unlock(&prog->lock);
    } else {
      json_decref(aux);
    }
  }
  json_decref(man);
  free(mt);
  free(cfg);
  for (size_t i = 0; i < neps; i++)
    endpoint_clear(&eps[i]);
  free(eps);
  push_layers_free(&p);
  session_free(p.sess);
  free(p.repo_name);
  image_free(img);
  pthread_mutex_destroy(&p.lock);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Tags of the repository `ref` names, sorted (caller frees). */
static char **repo_tags(struct store *s, const struct image_ref *ref) {
  char **out = xcalloc(1, sizeof *out);
  struct image **imgs = NULL;
  size_t n = 0;
  if (store_image_list(s, &imgs, &n, NULL) < 0)
    return out;
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; imgs[i]->repo_tags && imgs[i]->repo_tags[k]; k++) {
      struct image_ref r;
      if (image_ref_parse(imgs[i]->repo_tags[k], &r, NULL) < 0)
        continue;
      if (r.tag && strcmp(r.domain, ref->domain) == 0 && strcmp(r.path, ref->path) == 0)
        out = strv_append(out, xstrdup(r.tag));
      image_ref_free(&r);
    }
    image_free(imgs[i]);
  }
  free(imgs);
  qsort(out, strv_len(out), sizeof *out, cmp_str);
  return out;
}

int registry_push(struct registry *reg, struct store *s, const char *name, const char *tag,
                  const struct registry_opts *o, struct berr **err) {
  _cleanup_free_ char *full = tag && *tag ? xasprintf("%s:%s", name, tag) : xstrdup(name);
  struct image_ref ref;
  int rc = image_ref_parse(full, &ref, err);
  if (rc < 0)
    return rc;
  if (ref.digest) {
    image_ref_free(&ref);
    return berr_set(err, EINVAL, "cannot push a digest reference");
  }
  struct progress prog = {.emit = o->progress, .ctx = o->ctx};
  pthread_mutex_init(&prog.lock, NULL);
  _cleanup_free_ char *first = xasprintf("The push refers to repository [%s/%s]", ref.domain, ref.path);
  progress_msg(&prog, NULL, first, false);
  const char *last = strrchr(name, '/');
  bool explicit_tag = (tag && *tag) || strchr(last ? last : name, ':');
  if (explicit_tag) {
    rc = push_tag(reg, s, &ref, o, &prog, err);
  } else { /* dockerd: no tag given, every tag of the repository */
    _cleanup_strv_ char **tags = repo_tags(s, &ref);
    if (!tags[0]) {
      _cleanup_free_ char *fam = image_ref_familiar_name(&ref);
      rc = berr_set(err, ENOENT, "An image does not exist locally with the tag: %s", fam);
    }
    for (size_t i = 0; rc == 0 && tags[i]; i++) {
      free(ref.tag);
      ref.tag = xstrdup(tags[i]);
      rc = push_tag(reg, s, &ref, o, &prog, err);
    }
  }
  pthread_mutex_destroy(&prog.lock);
  image_ref_free(&ref);
  return rc;
}
