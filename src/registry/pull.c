/*
 * pull.c — docker pull: reference → registry → manifest (by tag or digest;
 * a manifest list / OCI index resolved for the platform) → config → layers
 * → the image recorded with its tag and RepoDigest.
 *
 * Layers: those whose chain is already in the store are "Already exists";
 * the others go to a queue served by up to three worker threads (dockerd's
 * max-concurrent-downloads), each with its own keep-alive connection. A
 * worker downloads the blob into the content store, hashing it as it
 * streams (the digest is checked before the blob is renamed into place),
 * then unpacks it (store_layer_unpack checks the diff ID). Layer directories
 * do not depend on each other, so unpacking needs no ordering.
 *
 * Failure: the first error stops the other workers at their next read;
 * every layer directory and blob this pull created is removed (not those
 * that were there before, nor those another image uses), and no image is
 * recorded — nothing partial stays.
 *
 * Messages: dockerd's, in its order per layer: Pulling fs layer / Waiting /
 * Downloading (bar) / Verifying Checksum / Download complete / Extracting
 * (bar) / Pull complete, then Digest and Status lines.
 */
#include <errno.h>

#include "registry/registry_internal.h"

#define MAX_CONCURRENT 3
#define PROGRESS_EVERY_MS 100
#define MAX_MANIFEST (4 << 20)
#define MAX_CONFIG (16 << 20)

struct pull_layer {
  const struct descriptor *d;
  char id[13];          /* 12 hex of the blob digest: the message id */
  char *diff_id, *chain, *parent;
  bool exists;          /* layer already in the store */
  bool made_blob, made_diff_blob, made_layer;
};

struct pull {
  struct registry *reg;
  struct store *s;
  struct session *sess;
  struct progress prog;
  struct pull_layer *layers;
  size_t n;
  pthread_mutex_t lock; /* next, failed, err */
  size_t next;
  bool failed;
  struct berr *err;     /* the first worker error */
  bool quiet;           /* the image is already here: no layer messages */
  const bool *cancel;   /* registry_opts.cancel */
};

/* ---------- manifests ---------- */

static int fetch_manifest(struct session *ss, const char *ref_str, const char *what, char **body, size_t *len,
                          char **ctype, char **digest, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", ss->repo, what);
  struct sresp r;
  int rc = session_request(ss, "GET", path, "Accept: " MANIFEST_ACCEPT "\r\n", NULL, &r, err);
  if (rc < 0)
    return rc;
  if (r.h.status != 200) {
    int st = r.h.status;
    _cleanup_free_ char *m = sresp_error(&r);
    if (st == 404 && str_has_prefix(m, "name unknown"))
      return berr_set(err, ENOENT, "repository %s not found: %s", ref_str, m);
    if (st == 404)
      return berr_set(err, ENOENT, "manifest for %s not found: %s", ref_str, m);
    if (st == 401 || st == 403) { /* dockerd names the repository, without tag */
      size_t nl = strcspn(ref_str, "@");
      const char *colon = memrchr(ref_str, ':', nl);
      if (colon && !memchr(colon, '/', (size_t)(ref_str + nl - colon)))
        nl = (size_t)(colon - ref_str);
      return berr_set(err, ENOENT,
                      "pull access denied for %.*s, repository does not exist or may require 'docker login': %s",
                      (int)nl, ref_str, m);
    }
    return berr_set(err, EIO, "manifest for %s: %s", ref_str, m);
  }
  const char *ct = rresp_header(&r.h, "content-type");
  const char *dh = rresp_header(&r.h, "docker-content-digest");
  _cleanup_free_ char *hdr_digest = dh ? xstrdup(dh) : NULL;
  *ctype = ct ? xstrdup(ct) : NULL;
  rc = sresp_read_all(&r, MAX_MANIFEST, body, len, err);
  sresp_end(&r);
  if (rc < 0) {
    free(*ctype);
    return berr_wrap(err, "manifest for %s", ref_str);
  }
  /* the digest: the one asked for (checked), else the body's own */
  _cleanup_free_ char *got = NULL;
  {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, *body, *len);
    unsigned char h[32];
    unsigned hl = 0;
    EVP_DigestFinal_ex(md, h, &hl);
    EVP_MD_CTX_free(md);
    got = xmalloc(72);
    memcpy(got, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++)
      snprintf(got + 7 + 2 * i, 3, "%02x", h[i]);
  }
  const char *want = str_has_prefix(what, "sha256:") ? what : hdr_digest;
  if (want && str_has_prefix(want, "sha256:") && strcmp(want, got) != 0) {
    free(*body);
    free(*ctype);
    return berr_set(err, EINVAL, "manifest verification failed for digest %s", want);
  }
  *digest = steal_ptr(got);
  return 0;
}

static int fetch_small_blob(struct session *ss, const char *digest, size_t max, char **body, size_t *len,
                            struct berr **err) {
  _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", ss->repo, digest);
  struct sresp r;
  int rc = session_request(ss, "GET", path, NULL, NULL, &r, err);
  if (rc < 0)
    return rc;
  if (r.h.status != 200) {
    int st = r.h.status;
    _cleanup_free_ char *m = sresp_error(&r);
    return berr_set(err, st == 404 ? ENOENT : EIO, "blob %s: %s", digest, m);
  }
  rc = sresp_read_all(&r, max, body, len, err);
  sresp_end(&r);
  return rc;
}

/* ---------- layers ---------- */

struct dl_progress {
  struct pull *p;
  struct pull_layer *l;
  int64_t last_ms;
};

static void extract_progress(void *ctx, int64_t done) {
  struct dl_progress *dp = ctx;
  int64_t now = mono_ms();
  if (now - dp->last_ms < PROGRESS_EVERY_MS)
    return;
  dp->last_ms = now;
  progress_bar(&dp->p->prog, dp->l->id, "Extracting", done, dp->l->d->size);
}

static bool pull_failed(struct pull *p) {
  pthread_mutex_lock(&p->lock);
  bool f = p->failed;
  pthread_mutex_unlock(&p->lock);
  if (!f && p->cancel && __atomic_load_n(p->cancel, __ATOMIC_RELAXED)) {
    pthread_mutex_lock(&p->lock);
    p->failed = true;
    if (!p->err)
      berr_set(&p->err, ECANCELED, "pull canceled: the client went away");
    pthread_mutex_unlock(&p->lock);
    f = true;
  }
  return f;
}

static int download(struct pull *p, struct session *ss, struct pull_layer *l, struct berr **err) {
  const struct descriptor *d = l->d;
  if (store_blob_exists(p->s, d->digest)) {
    progress_msg(&p->prog, l->id, "Download complete", true);
    return 0;
  }
  _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", ss->repo, d->digest);
  struct sresp r;
  int rc = session_request(ss, "GET", path, NULL, NULL, &r, err);
  if (rc < 0)
    return rc;
  if (r.h.status != 200) {
    int st = r.h.status;
    _cleanup_free_ char *m = sresp_error(&r);
    return berr_set(err, st == 404 ? ENOENT : EIO, "error pulling layer %s: %s", d->digest, m);
  }
  struct store_blob_writer *w = NULL;
  if ((rc = store_blob_writer_open(p->s, &w, err)) < 0) {
    sresp_end(&r);
    return rc;
  }
  char *buf = xmalloc(256 * 1024);
  int64_t cur = 0, last = 0;
  for (;;) {
    ssize_t n = sresp_read(&r, buf, 256 * 1024);
    if (n == 0)
      break;
    if (n < 0) {
      rc = berr_set(err, n == -EPIPE ? EIO : (int)-n, "error pulling layer %s: read blob: %s", d->digest,
                    n == -EPIPE ? "unexpected EOF" : strerror((int)-n));
      break;
    }
    if ((rc = store_blob_writer_write(w, buf, (size_t)n, err)) < 0)
      break;
    cur += n;
    int64_t now = mono_ms();
    if (now - last >= PROGRESS_EVERY_MS || cur == d->size) {
      last = now;
      progress_bar(&p->prog, l->id, "Downloading", cur, d->size);
    }
    if (cur > d->size) {
      rc = berr_set(err, EINVAL, "error pulling layer %s: more than the %lld bytes of its descriptor",
                    d->digest, (long long)d->size);
      break;
    }
    if (pull_failed(p)) { /* another layer failed: stop here */
      rc = berr_set(err, ECANCELED, "canceled");
      break;
    }
  }
  free(buf);
  sresp_end(&r);
  if (rc == 0 && cur != d->size)
    rc = berr_set(err, EIO, "error pulling layer %s: unexpected EOF (%lld of %lld bytes)", d->digest,
                  (long long)cur, (long long)d->size);
  if (rc < 0) {
    store_blob_writer_abort(w);
    return rc;
  }
  progress_msg(&p->prog, l->id, "Verifying Checksum", true);
  struct berr *e = NULL;
  if (store_blob_writer_commit(w, d->digest, &e) < 0) {
    rc = berr_set(err, EINVAL, "filesystem layer verification failed for digest %s", d->digest);
    berr_free(e);
    return rc;
  }
  l->made_blob = true;
  progress_msg(&p->prog, l->id, "Download complete", true);
  return 0;
}

static int pull_one(struct pull *p, struct session *ss, struct pull_layer *l, struct berr **err) {
  int rc = download(p, ss, l, err);
  if (rc < 0)
    return rc;
  struct dl_progress dp = {.p = p, .l = l};
  bool had_diff = store_blob_exists(p->s, l->diff_id);
  bool made = false;
  rc = store_layer_unpack(p->s, l->d->digest, l->diff_id, l->chain, l->parent, extract_progress, &dp, &made, err);
  if (rc < 0)
    return rc;
  l->made_layer = made;
  l->made_diff_blob = !had_diff && strcmp(l->diff_id, l->d->digest) != 0;
  progress_bar(&p->prog, l->id, "Extracting", l->d->size, l->d->size);
  progress_msg(&p->prog, l->id, "Pull complete", true);
  return 0;
}

static void *worker(void *arg) {
  struct pull *p = arg;
  struct session *ss = session_clone(p->sess);
  for (;;) {
    pthread_mutex_lock(&p->lock);
    while (p->next < p->n && p->layers[p->next].exists)
      p->next++;
    struct pull_layer *l = p->failed || p->next >= p->n ? NULL : &p->layers[p->next++];
    pthread_mutex_unlock(&p->lock);
    if (!l)
      break;
    struct berr *e = NULL;
    if (pull_one(p, ss, l, &e) < 0) {
      pthread_mutex_lock(&p->lock);
      if (!p->err && e && e->code != ECANCELED) {
        p->err = e;
        e = NULL;
      }
      p->failed = true;
      pthread_mutex_unlock(&p->lock);
      berr_free(e);
      break;
    }
  }
  session_free(ss);
  return NULL;
}

static int pull_layers(struct pull *p, struct berr **err) {
  size_t todo = 0;
  for (size_t i = 0; i < p->n && !p->quiet; i++) {
    struct pull_layer *l = &p->layers[i];
    if (l->exists)
      progress_msg(&p->prog, l->id, "Already exists", true);
    else
      progress_msg(&p->prog, l->id, "Pulling fs layer", true);
  }
  for (size_t i = 0; i < p->n; i++)
    if (!p->layers[i].exists && ++todo > MAX_CONCURRENT)
      progress_msg(&p->prog, p->layers[i].id, "Waiting", true);
  size_t nt = todo < MAX_CONCURRENT ? todo : MAX_CONCURRENT;
  pthread_t th[MAX_CONCURRENT];
  size_t started = 0;
  for (; started < nt; started++)
    if (pthread_create(&th[started], NULL, worker, p) != 0)
      break;
  if (nt > 0 && started == 0)
    worker(p); /* no thread to be had: do it here */
  for (size_t i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  if (p->failed) {
    if (p->err) {
      if (err && !*err)
        *err = steal_ptr(p->err);
      int code = err && *err ? (*err)->code : EIO;
      berr_free(p->err);
      p->err = NULL;
      return -code;
    }
    return berr_set(err, EIO, "pull failed");
  }
  return 0;
}

/* Remove what a failed pull made. */
static void pull_undo(struct pull *p) {
  char **chains = xcalloc(p->n + 1, sizeof *chains);
  size_t k = 0;
  for (size_t i = 0; i < p->n; i++) {
    struct pull_layer *l = &p->layers[i];
    if (l->made_layer)
      chains[k++] = l->chain;
  }
  store_layers_discard(p->s, chains);
  free(chains);
  for (size_t i = 0; i < p->n; i++) {
    struct pull_layer *l = &p->layers[i];
    if (l->made_blob)
      store_blob_remove(p->s, l->d->digest);
    if (l->made_diff_blob)
      store_blob_remove(p->s, l->diff_id);
  }
}

/* ---------- the pull ---------- */

struct target {
  struct image_ref ref;
  char *what;       /* tag or digest asked for */
  char *familiar;   /* "busybox:latest" / "busybox@sha256:…" */
  char *repo_name;  /* "docker.io/library/busybox" for dist metadata */
};

static void target_clear(struct target *t) {
  image_ref_free(&t->ref);
  free(t->what);
  free(t->familiar);
  free(t->repo_name);
}

static int target_parse(const char *name, const char *tag, struct target *t, struct berr **err) {
  memset(t, 0, sizeof *t);
  int r = image_ref_parse(name, &t->ref, err);
  if (r < 0)
    return r;
  if (tag && *tag) { /* dockerd: the tag parameter replaces the name's tag (it may be a digest) */
    _cleanup_free_ char *full = xasprintf("%s/%s%s%s", t->ref.domain, t->ref.path,
                                          str_has_prefix(tag, "sha256:") ? "@" : ":", tag);
    image_ref_free(&t->ref);
    if ((r = image_ref_parse(full, &t->ref, err)) < 0)
      return r;
  }
  if (t->ref.digest) { /* name:tag@digest: the digest decides */
    free(t->ref.tag);
    t->ref.tag = NULL;
  }
  t->what = xstrdup(t->ref.digest ? t->ref.digest : t->ref.tag ? t->ref.tag : "latest");
  t->familiar = image_ref_familiar(&t->ref);
  t->repo_name = xasprintf("%s/%s", t->ref.domain, t->ref.path);
  return 0;
}

/* Manifest (resolving an index) and config for the target on one session. */
struct resolved {
  char *top_digest;        /* what was asked resolved: the list's digest for a list */
  char *man_digest;        /* the platform manifest's digest */
  char *man_body;
  size_t man_len;
  struct manifest m;
  char *config;
  size_t config_len;
};

static void resolved_clear(struct resolved *rs) {
  free(rs->top_digest);
  free(rs->man_digest);
  free(rs->man_body);
  manifest_clear(&rs->m);
  free(rs->config);
}

/* The manifest asked for (dockerd says "Pulling from" once it has it). */
static int resolve_top(struct session *ss, struct target *t, struct resolved *rs, struct berr **err) {
  _cleanup_free_ char *ctype = NULL;
  int r = fetch_manifest(ss, t->familiar, t->what, &rs->man_body, &rs->man_len, &ctype, &rs->top_digest, err);
  if (r < 0)
    return r;
  return manifest_parse(rs->man_body, rs->man_len, ctype, &rs->m, err);
}

/* The platform's manifest of an index, and the config. */
static int resolve_rest(struct session *ss, struct target *t, const struct platform *pl, struct resolved *rs,
                        struct berr **err) {
  _cleanup_free_ char *ctype = NULL;
  int r;
  if (rs->m.is_index) {
    _cleanup_free_ char *d = NULL, *mt = NULL;
    if ((r = index_select(rs->man_body, rs->man_len, pl, &d, &mt, err)) < 0)
      return r;
    free(rs->man_body);
    rs->man_body = NULL;
    free(ctype);
    ctype = NULL;
    manifest_clear(&rs->m);
    if ((r = fetch_manifest(ss, t->familiar, d, &rs->man_body, &rs->man_len, &ctype, &rs->man_digest, err)) < 0)
      return r;
    if ((r = manifest_parse(rs->man_body, rs->man_len, ctype, &rs->m, err)) < 0)
      return r;
    if (rs->m.is_index)
      return berr_set(err, EINVAL, "manifest %s: nested manifest lists are not supported", d);
  } else {
    rs->man_digest = xstrdup(rs->top_digest);
  }
  if ((r = fetch_small_blob(ss, rs->m.config.digest, MAX_CONFIG, &rs->config, &rs->config_len, err)) < 0)
    return berr_wrap(err, "image config");
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  EVP_DigestUpdate(md, rs->config, rs->config_len);
  unsigned char h[32];
  unsigned hl = 0;
  EVP_DigestFinal_ex(md, h, &hl);
  EVP_MD_CTX_free(md);
  char got[72] = "sha256:";
  for (unsigned i = 0; i < 32; i++)
    snprintf(got + 7 + 2 * i, 3, "%02x", h[i]);
  if (strcmp(got, rs->m.config.digest) != 0)
    return berr_set(err, EINVAL, "image config verification failed for digest %s", rs->m.config.digest);
  return 0;
}

static int open_and_resolve(struct pull *p, struct target *t, const struct registry_opts *o,
                            struct resolved *rs, struct berr **err) {
  struct endpoint *eps = NULL;
  size_t neps = 0;
  int r = endpoints_for(t->ref.domain, o->insecure, o->mirrors, &eps, &neps, err);
  if (r < 0)
    return r;
  for (size_t i = 0; i < neps; i++) {
    struct berr *e = NULL;
    r = session_open(p->reg, &eps[i], t->ref.path, "pull", o->auth, &p->sess, &e);
    if (r == 0) {
      r = resolve_top(p->sess, t, rs, &e);
      if (r < 0) {
        session_free(p->sess);
        p->sess = NULL;
        resolved_clear(rs);
        memset(rs, 0, sizeof *rs);
      }
    }
    if (r == 0 || i + 1 == neps) { /* a mirror's failure falls through to the next */
      if (r < 0) {
        if (err && !*err)
          *err = e;
        else
          berr_free(e);
      }
      break;
    }
    log_debug("pull %s: mirror %s failed: %s", t->familiar, eps[i].host, e ? e->msg : "?");
    berr_free(e);
  }
  for (size_t i = 0; i < neps; i++)
    endpoint_clear(&eps[i]);
  free(eps);
  return r;
}

static int layers_plan(struct pull *p, struct resolved *rs, struct berr **err) {
  _cleanup_json_ json_t *cfg = json_loadb(rs->config, rs->config_len, 0, NULL);
  json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
  if (!json_is_object(cfg) || !json_is_array(ids))
    return berr_set(err, EINVAL, "image config %s: no rootfs.diff_ids", rs->m.config.digest);
  if (json_array_size(ids) != rs->m.nlayers)
    return berr_set(err, EINVAL, "image config %s: %zu diff IDs for %zu layers in the manifest",
                    rs->m.config.digest, json_array_size(ids), rs->m.nlayers);
  p->n = rs->m.nlayers;
  p->layers = xcalloc(p->n + 1, sizeof *p->layers);
  const char *parent = NULL;
  for (size_t i = 0; i < p->n; i++) {
    struct pull_layer *l = &p->layers[i];
    const char *d = json_string_value(json_array_get(ids, i));
    if (!d || strlen(d) != 71 || !str_has_prefix(d, "sha256:"))
      return berr_set(err, EINVAL, "image config %s: invalid diff ID \"%s\"", rs->m.config.digest, d ? d : "");
    l->d = &rs->m.layers[i];
    snprintf(l->id, sizeof l->id, "%.12s", l->d->digest + 7);
    l->diff_id = xstrdup(d);
    l->parent = parent ? xstrdup(parent) : NULL;
    if (!parent) {
      l->chain = xstrdup(d);
    } else {
      _cleanup_free_ char *cat = xasprintf("%s %s", parent, d);
      EVP_MD_CTX *md = EVP_MD_CTX_new();
      EVP_DigestInit_ex(md, EVP_sha256(), NULL);
      EVP_DigestUpdate(md, cat, strlen(cat));
      unsigned char h[32];
      unsigned hl = 0;
      EVP_DigestFinal_ex(md, h, &hl);
      EVP_MD_CTX_free(md);
      l->chain = xmalloc(72);
      memcpy(l->chain, "sha256:", 7);
      for (unsigned k = 0; k < 32; k++)
        snprintf(l->chain + 7 + 2 * k, 3, "%02x", h[k]);
    }
    l->exists = store_layer_exists(p->s, l->chain);
    parent = l->chain;
  }
  return 0;
}

/* Was `familiar` already pointing at image `id`? */
static bool up_to_date(struct store *s, const char *familiar, const char *id) {
  struct image *img = NULL;
  if (store_image_get(s, familiar, &img, NULL) < 0)
    return false;
  bool same = strcmp(img->id, id) == 0;
  image_free(img);
  return same;
}

static int record(struct pull *p, struct target *t, struct resolved *rs, struct berr **err) {
  _cleanup_free_ char *id = NULL;
  _cleanup_free_ char *digest_ref = xasprintf("%s/%s@%s", t->ref.domain, t->ref.path, rs->top_digest);
  _cleanup_free_ char *tag_ref = t->ref.tag ? xasprintf("%s/%s:%s", t->ref.domain, t->ref.path, t->ref.tag) : NULL;
  bool same = up_to_date(p->s, t->familiar, rs->m.config.digest);
  int rc = store_blob_put(p->s, rs->config, rs->config_len, rs->m.config.digest, err);
  if (rc == 0)
    rc = store_blob_put(p->s, rs->man_body, rs->man_len, rs->man_digest, err);
  if (rc == 0)
    rc = store_image_record_pull(p->s, rs->config, rs->config_len, tag_ref, digest_ref, &id, err);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < p->n; i++) {
    struct pull_layer *l = &p->layers[i];
    struct store_dist_blob b = {.digest = l->d->digest, .media_type = l->d->media_type, .size = l->d->size,
                                .source = t->repo_name};
    store_dist_add(p->s, l->diff_id, &b, NULL);
  }
  store_dist_manifest_set(p->s, id, t->repo_name, rs->man_digest, rs->m.media_type, NULL);
  _cleanup_free_ char *dl = xasprintf("Digest: %s", rs->top_digest);
  progress_msg(&p->prog, NULL, dl, false);
  _cleanup_free_ char *st = xasprintf("Status: %s for %s", same ? "Image is up to date" : "Downloaded newer image",
                                      t->familiar);
  progress_msg(&p->prog, NULL, st, false);
  return 0;
}

/* dockerd, for a single-platform image pulled with --platform that is not it. */
static void platform_warning(struct pull *p, struct target *t, const struct platform *pl, struct resolved *rs) {
  _cleanup_json_ json_t *cfg = json_loadb(rs->config, rs->config_len, 0, NULL);
  const char *os = json_string_value(json_object_get(cfg, "os")) ?: "";
  const char *arch = json_string_value(json_object_get(cfg, "architecture")) ?: "";
  const char *var = json_string_value(json_object_get(cfg, "variant")) ?: "";
  if (strcmp(os, pl->os) == 0 && strcmp(arch, pl->arch) == 0 && (!*pl->variant || strcmp(var, pl->variant) == 0))
    return;
  _cleanup_free_ char *name = image_ref_familiar_name(&t->ref);
  _cleanup_free_ char *want = xasprintf("%s/%s%s%s", pl->os, pl->arch, *pl->variant ? "/" : "", pl->variant);
  _cleanup_free_ char *have = xasprintf("%s/%s%s%s", os, arch, *var ? "/" : "", var);
  _cleanup_free_ char *m = xasprintf("WARNING: image with reference %s was found but does not match the specified "
                                     "platform: wanted %s, actual: %s", name, want, have);
  progress_msg(&p->prog, NULL, m, false);
}

int registry_pull(struct registry *reg, struct store *s, const char *name, const char *tag, const char *platform,
                  const struct registry_opts *o, char **pulled, struct berr **err) {
  struct platform pl;
  int r = platform_parse(platform, &pl, err);
  if (r < 0)
    return r;
  struct target t;
  if ((r = target_parse(name, tag, &t, err)) < 0)
    return r;
  struct pull p = {.reg = reg, .s = s, .prog = {.emit = o->progress, .ctx = o->ctx}, .cancel = o->cancel};
  pthread_mutex_init(&p.prog.lock, NULL);
  pthread_mutex_init(&p.lock, NULL);
  struct resolved rs = {0};
  r = open_and_resolve(&p, &t, o, &rs, err);
  if (r == 0) {
    _cleanup_free_ char *from = xasprintf("Pulling from %s", t.ref.path);
    progress_msg(&p.prog, t.what, from, false);
    r = resolve_rest(p.sess, &t, &pl, &rs, err);
  }
  if (r == 0) {
    r = manifest_check_layers(&rs.m, err);
    if (r == 0)
      r = layers_plan(&p, &rs, err);
  }
  struct image *have = NULL;
  if (r == 0 && store_image_get(s, rs.m.config.digest, &have, NULL) == 0) {
    /* dockerd: the image is here already, no layer to look at */
    image_free(have);
    for (size_t i = 0; i < p.n; i++)
      p.layers[i].exists = true;
    p.quiet = true;
  }
  if (r == 0 && (r = pull_layers(&p, err)) == 0)
    r = record(&p, &t, &rs, err);
  if (r == 0 && platform && *platform && strcmp(rs.top_digest, rs.man_digest) == 0)
    platform_warning(&p, &t, &pl, &rs);
  if (r < 0 && p.layers)
    pull_undo(&p);
  if (r == 0 && pulled)
    *pulled = xstrdup(t.familiar);
  for (size_t i = 0; i < p.n; i++) {
    free(p.layers[i].diff_id);
    free(p.layers[i].chain);
    free(p.layers[i].parent);
  }
  free(p.layers);
  session_free(p.sess);
  resolved_clear(&rs);
  target_clear(&t);
  pthread_mutex_destroy(&p.lock);
  pthread_mutex_destroy(&p.prog.lock);
  return r;
}
