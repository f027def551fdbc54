/*
 * save.c — `docker save`: images out as a docker-archive tar, streamed.
 *
 * Layout as dockerd 20.10 writes it: <config hex>.json for each image,
 * <layer dir>/{VERSION,json,layer.tar} per layer (the dir named by the
 * layer's chain ID hex, unique per stack position), manifest.json and
 * repositories. layer.tar is the uncompressed tar kept in the content store
 * under its diff ID when the layer was loaded, so what goes out hashes to
 * the config's diff_ids byte for byte.
 *
 * Every name is resolved before the first byte is written, so an unknown
 * name is a clean 404 rather than a truncated tar.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "store/store_internal.h"

struct sink {
  store_write_fn fn;
  void *ctx;
  int error; /* the first failure of fn */
};

static la_ssize_t write_cb(struct archive *a, void *client, const void *buf, size_t len) {
  struct sink *k = client;
  int r = k->fn(k->ctx, buf, len);
  if (r < 0) {
    k->error = r;
    archive_set_error(a, -r, "write: %s", strerror(-r));
    return -1;
  }
  return (la_ssize_t)len;
}

struct pick {
  char *id;
  char **tags; /* familiar "busybox:latest" to put in RepoTags */
};

static int add_entry(struct archive *a, const char *name, mode_t type, int64_t size, struct berr **err) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e, size);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK)
    return berr_set(err, EIO, "save: %s: %s", name, archive_error_string(a));
  return 0;
}

static int add_bytes(struct archive *a, const char *name, const char *data, size_t len, struct berr **err) {
  int r = add_entry(a, name, AE_IFREG, (int64_t)len, err);
  if (r == 0 && len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len)
    return berr_set(err, EIO, "save: %s: %s", name, archive_error_string(a));
  return r;
}

static int add_file(struct archive *a, const char *name, const char *path, struct berr **err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return berr_sys(err, errno, "save: %s: layer blob %s", name, path);
  int r = add_entry(a, name, AE_IFREG, st.st_size, err);
  char buf[64 * 1024];
  ssize_t n;
  while (r == 0 && (n = read(fd, buf, sizeof buf)) > 0)
    if (archive_write_data(a, buf, (size_t)n) != n)
      r = berr_set(err, EIO, "save: %s: %s", name, archive_error_string(a));
  return r;
}

/* Which image and which tags for each name (Docker's parseNames). */
static int pick_names(struct store *s, char *const *names, size_t n, struct pick **out, size_t *np,
                      struct berr **err) {
  struct pick *p = xcalloc(n ? n : 1, sizeof *p);
  size_t k = 0;
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    _cleanup_free_ char *id = NULL;
    _cleanup_berr_ struct berr *e = NULL;
    if ((r = image_resolve_id(s, names[i], &id, &e)) < 0) {
      /* dockerd's save names the image as given */
      r = e->code == ENOENT ? berr_set(err, ENOENT, "No such image: %s", names[i]) : berr_set(err, e->code, "%s", e->msg);
      break;
    }
    char **tags = xcalloc(1, sizeof *tags);
    bool by_id = str_has_prefix(id, names[i]) || str_has_prefix(id + 7, names[i]);
    struct image_ref ref;
    if (!by_id && image_ref_parse(names[i], &ref, NULL) == 0) {
      bool name_only = !strchr(strrchr(names[i], '/') ? strrchr(names[i], '/') : names[i], ':') &&
                       !strchr(names[i], '@');
      _cleanup_free_ char *repo = image_ref_familiar_name(&ref);
      struct image *img = NULL;
      if (name_only && image_load_by_id(s, id, &img, NULL) == 0) {
        for (size_t t = 0; img->repo_tags[t]; t++)
          if (str_has_prefix(img->repo_tags[t], repo) && img->repo_tags[t][strlen(repo)] == ':')
            tags = strv_append(tags, xstrdup(img->repo_tags[t]));
        image_free(img);
      } else if (ref.tag && !ref.digest) {
        tags = strv_append(tags, image_ref_familiar(&ref));
      }
      image_ref_free(&ref);
    }
    size_t j;
    for (j = 0; j < k && strcmp(p[j].id, id) != 0; j++)
      ;
    if (j == k)
      p[k++].id = steal_ptr(id);
    if (!p[j].tags)
      p[j].tags = xcalloc(1, sizeof(char *));
    for (size_t t = 0; tags[t]; t++)
      p[j].tags = strv_append(p[j].tags, xstrdup(tags[t]));
    strv_free(tags);
  }
  *out = p;
  *np = k;
  return r;
}

static int save_image(struct store *s, struct archive *a, struct pick *p, json_t *manifest, json_t *repos,
                      json_t *done, struct berr **err) {
  struct image *img = NULL;
  int r = image_load_by_id(s, p->id, &img, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *cfgname = xasprintf("%s.json", p->id + 7);
  _cleanup_free_ char *cfg = NULL;
  {
    _cleanup_strv_ char **v = NULL;
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db_handle(s->db), "SELECT config FROM images WHERE id=?1", -1, &st, NULL);
    sqlite3_bind_text(st, 1, p->id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
      cfg = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  if (!cfg) {
    image_free(img);
    return berr_set(err, ENOENT, "No such image: %s", p->id);
  }
  json_t *layers = json_array();
  r = add_bytes(a, cfgname, cfg, strlen(cfg), err); /* dockerd writes the config first */
  _cleanup_strv_ char **chains = image_chain_ids(img->diff_ids);
  const char *prev = NULL;
  for (size_t i = 0; r == 0 && chains[i]; i++) {
    const char *hex = digest_hex(chains[i]);
    _cleanup_free_ char *tarname = xasprintf("%s/layer.tar", hex);
    json_array_append_new(layers, json_string(tarname));
    if (!json_object_get(done, hex)) {
      json_object_set_new(done, hex, json_true());
      _cleanup_free_ char *dir = xasprintf("%s/", hex);
      _cleanup_free_ char *vn = xasprintf("%s/VERSION", hex);
      _cleanup_free_ char *jn = xasprintf("%s/json", hex);
      json_t *v1 = json_pack("{s:s,s:s?,s:s}", "id", hex, "parent", prev, "created", "1970-01-01T00:00:00Z");
      _cleanup_free_ char *v1s = json_dump_compact(v1);
      json_decref(v1);
      _cleanup_free_ char *blob = content_path(s, img->diff_ids[i]);
      r = add_entry(a, dir, AE_IFDIR, 0, err);
      if (r == 0)
        r = add_bytes(a, vn, "1.0", 3, err);
      if (r == 0)
        r = add_bytes(a, jn, v1s, strlen(v1s), err);
      if (r == 0)
        r = add_file(a, tarname, blob, err);
    }
    prev = hex;
  }
  json_t *tags = strv_len(p->tags) ? json_array() : json_null();
  for (size_t t = 0; p->tags && p->tags[t]; t++) {
    json_array_append_new(tags, json_string(p->tags[t]));
    char *colon = strrchr(p->tags[t], ':');
    _cleanup_free_ char *repo = xasprintf("%.*s", (int)(colon - p->tags[t]), p->tags[t]);
    json_t *ro = json_object_get(repos, repo);
    if (!ro)
      json_object_set_new(repos, repo, ro = json_object());
    if (prev)
      json_object_set_new(ro, colon + 1, json_string(prev));
  }
  json_array_append_new(manifest, json_pack("{s:s,s:o,s:o}", "Config", cfgname, "RepoTags", tags, "Layers", layers));
  image_free(img);
  return r;
}

int store_image_save(struct store *s, char *const *names, size_t n, store_write_fn wr, void *wctx,
                     struct berr **err) {
  struct pick *p = NULL;
  size_t np = 0;
  int r = pick_names(s, names, n, &p, &np, err);
  struct sink k = {wr, wctx, 0};
  struct archive *a = NULL;
  _cleanup_json_ json_t *manifest = json_array();
  _cleanup_json_ json_t *repos = json_object();
  _cleanup_json_ json_t *done = json_object();
  if (r < 0)
    goto out;
  a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open(a, &k, NULL, write_cb, NULL) != ARCHIVE_OK) {
    r = berr_set(err, EIO, "save: %s", archive_error_string(a));
    goto out;
  }
  for (size_t i = 0; i < np && r == 0; i++)
    r = save_image(s, a, &p[i], manifest, repos, done, err);
  if (r == 0) {
    _cleanup_free_ char *m0 = json_dump_compact(manifest);
    _cleanup_free_ char *m = xasprintf("%s\n", m0); /* as Go's json.Encoder */
    r = add_bytes(a, "manifest.json", m, strlen(m), err);
  }
  if (r == 0 && json_object_size(repos)) {
    _cleanup_free_ char *rp0 = json_dump_compact(repos);
    _cleanup_free_ char *rp = xasprintf("%s\n", rp0);
    r = add_bytes(a, "repositories", rp, strlen(rp), err);
  }
  if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
    r = berr_set(err, EIO, "save: %s", archive_error_string(a));
out:
  if (a)
    archive_write_free(a);
  for (size_t i = 0; i < (n ? n : 1) && i < np; i++) {
    free(p[i].id);
    strv_free(p[i].tags);
  }
  if (p && np == 0)
    free(p[0].id);
  free(p);
  if (r < 0 && k.error)
    return k.error;
  return r;
}
