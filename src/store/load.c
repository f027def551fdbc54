/*
 * load.c — `docker load`: a docker-archive or an OCI image layout tar into
 * the store.
 *
 * The tar is first unpacked into <root>/tmp/load-XXXXXX with the layer
 * code's safe extraction (entries may come in any order: docker save writes
 * manifest.json last), and every file of it is then opened inside that dir
 * with RESOLVE_IN_ROOT (newer docker saves link layer.tar files to blobs/).
 *
 *   docker-archive  manifest.json [{"Config","RepoTags","Layers"}]; layers
 *                   are tars (plain or compressed) in Layers' order
 *   OCI layout      oci-layout + index.json → manifests (or indexes: the
 *                   linux/<this arch> entry) → config + layer blobs, every
 *                   blob checked against its digest; the name comes from
 *                   io.containerd.image.name or a full
 *                   org.opencontainers.image.ref.name annotation
 *
 * Each layer is decompressed into the content store as its uncompressed tar
 * (checked against the config's diff_id — that blob is also what save
 * sends back), then unpacked into layers/<chain>/ if not there yet; the
 * image is recorded and tagged last, so a failed load leaves no image (its
 * blobs and complete layers stay as cache until an image uses them).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/utsname.h>

#include "store/store_internal.h"

struct load {
  struct store *s;
  int dir;              /* the unpacked tar */
  void (*progress)(const char *line, void *ctx);
  void *ctx;
  struct berr **err;
};

static void say(struct load *l, const char *prefix, const char *arg) {
  if (!l->progress)
    return;
  _cleanup_free_ char *line = xasprintf("%s%s", prefix, arg);
  l->progress(line, l->ctx);
}

static int open_in(struct load *l, const char *path, struct berr **err) {
  bool escapes = false;
  _cleanup_free_ char *c = path_clean(path, &escapes);
  if (escapes || path[0] == '/')
    return berr_set(err, EINVAL, "invalid archive: %s: path outside the archive", path);
  int fd = fs_open_in_root(l->dir, c, O_RDONLY, 0);
  if (fd < 0)
    return berr_sys(err, -fd, "invalid archive: open %s", path);
  return fd;
}

static int read_in(struct load *l, const char *path, char **data, size_t *len, struct berr **err) {
  _cleanup_close_ int fd = open_in(l, path, err);
  if (fd < 0)
    return fd;
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", fd);
  return read_file(p, data, len, err);
}

static int json_in(struct load *l, const char *path, json_t **out, struct berr **err) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  int r = read_in(l, path, &data, &len, err);
  if (r < 0)
    return r;
  json_error_t je;
  *out = json_loadb(data, len, 0, &je);
  if (!*out)
    return berr_set(err, EINVAL, "invalid archive: %s: %s", path, je.text);
  return 0;
}

/* The config's diff_ids; each must be a sha256 digest. */
static char **config_diff_ids(json_t *cfg) {
  char **v = xcalloc(1, sizeof *v);
  json_t *d;
  size_t i;
  json_array_foreach(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), i, d) {
    v = strv_append(v, xstrdup(json_string_value(d) ? json_string_value(d) : ""));
  }
  return v;
}

/* Store the layers (files in the archive, bottom first) and record the image. */
static int load_image(struct load *l, const char *config, size_t config_len, char *const *layer_paths,
                      char *const *layer_digests, char *const *tags, struct berr **err) {
  json_error_t je;
  _cleanup_json_ json_t *cfg = json_loadb(config, config_len, 0, &je);
  if (!json_is_object(cfg))
    return berr_set(err, EINVAL, "invalid image config: %s", je.text);
  _cleanup_strv_ char **diffs = config_diff_ids(cfg);
  size_t n = strv_len(diffs);
  if (n != strv_len(layer_paths))
    return berr_set(err, EINVAL, "invalid archive: %zu layers for %zu diff IDs in the image config",
                    strv_len(layer_paths), n);
  _cleanup_free_ char *parent = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!digest_valid(diffs[i]))
      return berr_set(err, EINVAL, "invalid image config: diff ID \"%s\"", diffs[i]);
    _cleanup_close_ int fd = open_in(l, layer_paths[i], err);
    if (fd < 0)
      return fd;
    if (layer_digests && layer_digests[i]) { /* OCI: the compressed blob's own digest */
      EVP_MD_CTX *md = EVP_MD_CTX_new();
      EVP_DigestInit_ex(md, EVP_sha256(), NULL);
      char buf[64 * 1024];
      ssize_t k;
      while ((k = read(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(md, buf, (size_t)k);
      _cleanup_free_ char *got = digest_final(md);
      EVP_MD_CTX_free(md);
      if (strcmp(got, layer_digests[i]) != 0)
        return berr_set(err, EINVAL, "invalid archive: blob %s: digest mismatch (got %s)", layer_digests[i], got);
      lseek(fd, 0, SEEK_SET);
    }
    _cleanup_free_ char *chain = chain_id_next(parent, diffs[i]);
    int r = layer_import_blob(l->s, fd, diffs[i], err);
    if (r == 0) {
      pthread_mutex_lock(&l->s->lock);
      r = layer_ensure(l->s, chain, diffs[i], parent, err);
      pthread_mutex_unlock(&l->s->lock);
    }
    if (r < 0)
      return r;
    free(parent);
    parent = steal_ptr(chain);
  }
  _cleanup_free_ char *id = NULL;
  int r = content_put(l->s, config, config_len, NULL, NULL, err);
  if (r == 0)
    r = image_record(l->s, config, config_len, tags, l->progress, l->ctx, &id, err);
  if (r < 0)
    return r;
  for (size_t i = 0; tags && tags[i]; i++) {
    struct image_ref ref;
    if (image_ref_parse(tags[i], &ref, NULL) == 0) {
      _cleanup_free_ char *f = image_ref_familiar(&ref);
      say(l, "Loaded image: ", f);
      image_ref_free(&ref);
    }
  }
  if (!tags || !tags[0])
    say(l, "Loaded image ID: ", id);
  return 0;
}

static char **json_strv(json_t *a) {
  char **v = xcalloc(1, sizeof *v);
  json_t *x;
  size_t i;
  json_array_foreach(a, i, x) {
    if (json_is_string(x))
      v = strv_append(v, xstrdup(json_string_value(x)));
  }
  return v;
}

static int load_docker_archive(struct load *l, struct berr **err) {
  _cleanup_json_ json_t *m = NULL;
  int r = json_in(l, "manifest.json", &m, err);
  if (r < 0)
    return r;
  if (!json_is_array(m))
    return berr_set(err, EINVAL, "invalid archive: manifest.json is not a list");
  json_t *e;
  size_t i;
  json_array_foreach(m, i, e) {
    const char *cfgp = json_string_value(json_object_get(e, "Config"));
    if (!cfgp)
      return berr_set(err, EINVAL, "invalid archive: manifest.json entry %zu has no Config", i);
    _cleanup_free_ char *cfg = NULL;
    size_t len = 0;
    if ((r = read_in(l, cfgp, &cfg, &len, err)) < 0)
      return r;
    _cleanup_strv_ char **layers = json_strv(json_object_get(e, "Layers"));
    _cleanup_strv_ char **tags = json_strv(json_object_get(e, "RepoTags"));
    for (size_t k = 0; tags[k]; k++) { /* refuse a bad name before storing anything */
      struct image_ref ref;
      if ((r = image_ref_parse(tags[k], &ref, err)) < 0)
        return berr_wrap(err, "invalid tag \"%s\"", tags[k]);
      image_ref_free(&ref);
    }
    if ((r = load_image(l, cfg, len, layers, NULL, tags, err)) < 0)
      return r;
  }
  return 0;
}

/* ---------- OCI layout ---------- */

static char *blob_path(const char *digest) {
  const char *c = strchr(digest, ':');
  return c ? xasprintf("blobs/%.*s/%s", (int)(c - digest), digest, c + 1) : xstrdup("blobs/invalid");
}

/* Read a blob of the layout and check its digest. */
static int read_blob(struct load *l, const char *digest, char **data, size_t *len, struct berr **err) {
  if (!digest_valid(digest))
    return berr_set(err, EINVAL, "invalid archive: unsupported digest \"%s\"", digest ? digest : "");
  _cleanup_free_ char *p = blob_path(digest);
  int r = read_in(l, p, data, len, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *got = digest_of(*data, *len);
  if (strcmp(got, digest) != 0) {
    free(*data);
    *data = NULL;
    return berr_set(err, EINVAL, "invalid archive: blob %s: digest mismatch (got %s)", digest, got);
  }
  return 0;
}

static const char *go_arch(void) {
  struct utsname u;
  static const char *const map[][2] = {{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"},
                                       {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"}};
  if (uname(&u) == 0)
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
      if (strcmp(u.machine, map[i][0]) == 0)
        return map[i][1];
  return "amd64";
}

static int load_oci_manifest(struct load *l, const char *digest, const char *name, int depth,
                             struct berr **err);

/* An index: the entry for linux/<our arch> (or the only one). */
static int load_oci_index(struct load *l, json_t *idx, const char *name, int depth, struct berr **err) {
  json_t *ms = json_object_get(idx, "manifests"), *e, *pick = NULL;
  size_t i;
  json_array_foreach(ms, i, e) {
    json_t *p = json_object_get(e, "platform");
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    if (!p || (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, go_arch()) == 0)) {
      pick = e;
      break;
    }
  }
  if (!pick)
    return berr_set(err, ENOENT, "image index has no manifest for linux/%s", go_arch());
  return load_oci_manifest(l, json_string_value(json_object_get(pick, "digest")), name, depth + 1, err);
}

static int load_oci_manifest(struct load *l, const char *digest, const char *name, int depth,
                             struct berr **err) {
  if (depth > 4)
    return berr_set(err, EINVAL, "invalid archive: image indexes nested too deep");
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  int r = read_blob(l, digest, &data, &len, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *m = json_loadb(data, len, 0, NULL);
  if (!json_is_object(m))
    return berr_set(err, EINVAL, "invalid archive: manifest %s is not JSON", digest);
  if (json_object_get(m, "manifests"))
    return load_oci_index(l, m, name, depth, err);
  const char *cdig = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
  _cleanup_free_ char *cfg = NULL;
  size_t clen = 0;
  if ((r = read_blob(l, cdig, &cfg, &clen, err)) < 0)
    return r;
  _cleanup_strv_ char **paths = xcalloc(1, sizeof(char *));
  _cleanup_strv_ char **digs = xcalloc(1, sizeof(char *));
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(m, "layers"), i, e) {
    const char *d = json_string_value(json_object_get(e, "digest"));
    if (!digest_valid(d))
      return berr_set(err, EINVAL, "invalid archive: layer digest \"%s\"", d ? d : "");
    paths = strv_append(paths, blob_path(d));
    digs = strv_append(digs, xstrdup(d));
  }
  char *tags[2] = {(char *)name, NULL};
  return load_image(l, cfg, clen, paths, digs, name ? tags : NULL, err);
}

/* The image name of an index entry, when it is a full reference. */
static const char *oci_name(json_t *e) {
  json_t *a = json_object_get(e, "annotations");
  const char *n = json_string_value(json_object_get(a, "io.containerd.image.name"));
  if (n)
    return n;
  n = json_string_value(json_object_get(a, "org.opencontainers.image.ref.name"));
  if (!n)
    return NULL;
  struct image_ref r;
  /* a bare tag ("latest") names nothing by itself */
  if (!strchr(n, ':') && !strchr(n, '/'))
    return NULL;
  if (image_ref_parse(n, &r, NULL) < 0)
    return NULL;
  image_ref_free(&r);
  return n;
}

static int load_oci(struct load *l, struct berr **err) {
  _cleanup_json_ json_t *idx = NULL;
  int r = json_in(l, "index.json", &idx, err);
  if (r < 0)
    return r;
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(idx, "manifests"), i, e) {
    const char *d = json_string_value(json_object_get(e, "digest"));
    const char *name = oci_name(e);
    if (name) {
      struct image_ref ref;
      if ((r = image_ref_parse(name, &ref, err)) < 0)
        return berr_wrap(err, "invalid tag \"%s\"", name);
      image_ref_free(&ref);
    }
    if ((r = load_oci_manifest(l, d, name, 0, err)) < 0)
      return r;
  }
  return 0;
}

/* ---------- entry points ---------- */

static int load_dir(struct load *l, struct berr **err) {
  if (faccessat(l->dir, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return load_docker_archive(l, err);
  if (faccessat(l->dir, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return load_oci(l, err);
  return berr_set(err, EINVAL, "invalid archive: no manifest.json (docker save) or index.json (OCI layout) in it");
}

struct fd_src {
  int fd;
};

static ssize_t fd_read(void *ctx, void *buf, size_t len) {
  struct fd_src *f = ctx;
  for (;;) {
    ssize_t n = read(f->fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 ? -errno : n;
  }
}

int store_image_load_read(struct store *s, store_read_fn rd, void *rctx,
                          void (*progress)(const char *line, void *ctx), void *ctx, struct berr **err) {
  _cleanup_free_ char *tmp = xasprintf("%s/load-XXXXXX", s->tmp);
  if (!mkdtemp(tmp))
    return berr_sys(err, errno, "load: temp dir in %s", s->tmp);
  struct load l = {.s = s, .progress = progress, .ctx = ctx, .err = err};
  int r = 0;
  l.dir = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (l.dir < 0)
    r = berr_sys(err, errno, "load: open %s", tmp);
  else if ((r = layer_apply_read(rd, rctx, l.dir, NULL, err)) < 0)
    berr_wrap(err, "load");
  else
    r = load_dir(&l, err);
  if (l.dir >= 0)
    close(l.dir);
  rm_rf(tmp, NULL);
  return r;
}

int store_image_load(struct store *s, int fd, void (*progress)(const char *line, void *ctx), void *ctx,
                     struct berr **err) {
  struct fd_src f = {fd};
  return store_image_load_read(s, fd_read, &f, progress, ctx, err);
}
