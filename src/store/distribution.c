/*
 * distribution.c — the store's side of pull and push (src/registry drives
 * them): blobs by digest, layer unpacking from a compressed blob, the pulled
 * image's record with its digest reference, and dockerd's "v2metadata":
 * which compressed blob stands for which layer, in which repository.
 *
 * Unpacking a pulled layer reads the compressed blob once through two
 * libarchive readers chained: the first only decompresses (raw format:
 * gzip / zstd / none), the second reads the tar the first produces. Between
 * them every uncompressed byte is hashed and written to the content store as
 * the diff-ID blob, so one pass verifies the diff ID, keeps the tar save and
 * push send back, and fills layers/<chain>/ — in a temp dir renamed whole,
 * as layer.c does, so a failed layer leaves nothing.
 *
 * Tables (in store.db, created on first use):
 *   dist_blobs(diff_id, digest, media_type, size, source)
 *   dist_manifests(image_id, repo, digest, media_type)
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "store/store_internal.h"

#define DIST_SCHEMA                                                                                   \
  "CREATE TABLE IF NOT EXISTS dist_blobs (diff_id TEXT NOT NULL, digest TEXT NOT NULL,"              \
  " media_type TEXT NOT NULL, size INTEGER NOT NULL, source TEXT NOT NULL,"                          \
  " PRIMARY KEY(diff_id, digest, source));"                                                          \
  "CREATE TABLE IF NOT EXISTS dist_manifests (image_id TEXT NOT NULL, repo TEXT NOT NULL,"           \
  " digest TEXT NOT NULL, media_type TEXT NOT NULL, PRIMARY KEY(image_id, repo));"

/* ---------- blobs ---------- */

bool store_blob_exists(struct store *s, const char *digest) { return content_exists(s, digest); }

int store_blob_read(struct store *s, const char *digest, char **data, size_t *len, struct berr **err) {
  if (!digest_valid(digest))
    return berr_set(err, EINVAL, "invalid digest \"%s\"", digest ? digest : "");
  _cleanup_free_ char *p = content_path(s, digest);
  return read_file(p, data, len, err);
}

int store_blob_put(struct store *s, const void *data, size_t len, const char *expected, struct berr **err) {
  return content_put(s, data, len, expected, NULL, err);
}

int store_blob_open(struct store *s, const char *digest, int64_t *size, struct berr **err) {
  if (!digest_valid(digest))
    return berr_set(err, EINVAL, "invalid digest \"%s\"", digest ? digest : "");
  _cleanup_free_ char *p = content_path(s, digest);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "blob %s", digest);
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return berr_sys(err, e, "blob %s", digest);
  }
  if (size)
    *size = st.st_size;
  return fd;
}

void store_blob_remove(struct store *s, const char *digest) {
  if (!digest_valid(digest))
    return;
  _cleanup_free_ char *p = content_path(s, digest);
  unlink(p);
}

struct store_blob_writer {
  struct content_writer *w;
};

int store_blob_writer_open(struct store *s, struct store_blob_writer **out, struct berr **err) {
  struct content_writer *w = NULL;
  int r = content_writer_open(s, &w, err);
  if (r < 0)
    return r;
  *out = xcalloc(1, sizeof **out);
  (*out)->w = w;
  return 0;
}

int store_blob_writer_write(struct store_blob_writer *w, const void *data, size_t len, struct berr **err) {
  return content_writer_write(w->w, data, len, err);
}

int store_blob_writer_commit(struct store_blob_writer *w, const char *expected, struct berr **err) {
  int r = content_writer_commit(w->w, expected, NULL, err);
  free(w);
  return r;
}

void store_blob_writer_abort(struct store_blob_writer *w) {
  if (!w)
    return;
  content_writer_abort(w->w);
  free(w);
}

/* ---------- layers ---------- */

bool store_layer_exists(struct store *s, const char *chain_id) {
  const char *hex = digest_hex(chain_id);
  if (!hex)
    return false;
  _cleanup_free_ char *p = xasprintf("%s/%s/meta", s->layers, hex);
  return path_exists(p);
}

/* The decompressing reader between the blob and the tar reader. */
struct unpack {
  struct archive *raw;
  EVP_MD_CTX *md;
  struct content_writer *w; /* the diff-ID blob; NULL when it is already stored */
  void (*progress)(void *ctx, int64_t done);
  void *ctx;
  int error;                /* errno of a failure inside the read callback */
  char msg[256];
};

static ssize_t unpack_read(void *ctx, void *buf, size_t len) {
  struct unpack *u = ctx;
  la_ssize_t n = archive_read_data(u->raw, buf, len);
  if (n < 0) {
    snprintf(u->msg, sizeof u->msg, "%s", archive_error_string(u->raw) ?: "decompression failed");
    u->error = EINVAL;
    return -EINVAL;
  }
  if (n > 0) {
    EVP_DigestUpdate(u->md, buf, (size_t)n);
    if (u->w && content_writer_write(u->w, buf, (size_t)n, NULL) < 0) {
      snprintf(u->msg, sizeof u->msg, "write the layer tar: %s", strerror(errno));
      u->error = EIO;
      return -EIO;
    }
  }
  if (u->progress)
    u->progress(u->ctx, archive_filter_bytes(u->raw, -1));
  return n;
}

static void layer_short_link(struct store *s, const char *chain_id) {
  const char *hex = digest_hex(chain_id);
  _cleanup_free_ char *l = xasprintf("%s/l/%.20s", s->layers, hex);
  _cleanup_free_ char *t = xasprintf("../%s/diff", hex);
  if (symlink(t, l) < 0 && errno != EEXIST)
    log_warn("layer %s: short link: %s", chain_id, strerror(errno));
}

/* Extract the blob into tmp/diff, hashing the tar; then check the diff ID. */
static int unpack_into(struct store *s, int bfd, const char *diff_id, const char *tmp, int64_t *size,
                       struct unpack *u, struct berr **err) {
  _cleanup_free_ char *diff = xasprintf("%s/diff", tmp);
  if (mkdir(diff, 0755) < 0)
    return berr_sys(err, errno, "mkdir %s", diff);
  _cleanup_close_ int dfd = open(diff, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berr_sys(err, errno, "open %s", diff);
  u->raw = archive_read_new();
  archive_read_support_filter_gzip(u->raw);
  archive_read_support_filter_zstd(u->raw);
  archive_read_support_filter_bzip2(u->raw);
  archive_read_support_filter_xz(u->raw);
  archive_read_support_format_raw(u->raw);
  struct archive_entry *e;
  if (archive_read_open_fd(u->raw, bfd, 256 * 1024) != ARCHIVE_OK ||
      archive_read_next_header(u->raw, &e) != ARCHIVE_OK)
    return berr_set(err, EINVAL, "%s", archive_error_string(u->raw) ?: "unreadable layer");
  if (!content_exists(s, diff_id) && content_writer_open(s, &u->w, err) < 0)
    return -EIO;
  int r = layer_apply_read(unpack_read, u, dfd, size, err);
  if (r < 0) {
    if (u->error && err && *err) { /* say what the decompressor said, not just "read" */
      berr_free(*err);
      *err = NULL;
      return berr_set(err, u->error, "%s", u->msg);
    }
    return r;
  }
  char buf[64 * 1024]; /* what the tar reader left (padding after the end blocks) */
  ssize_t n;
  while ((n = unpack_read(u, buf, sizeof buf)) > 0)
    ;
  if (n < 0)
    return berr_set(err, u->error, "%s", u->msg);
  _cleanup_free_ char *got = digest_final(u->md); /* finalises, does not free */
  EVP_MD_CTX_free(u->md);
  u->md = NULL;
  if (strcmp(got, diff_id) != 0)
    return berr_set(err, EINVAL, "layer content does not match its diff ID (got %s)", got);
  if (u->w) {
    r = content_writer_commit(u->w, diff_id, NULL, err);
    u->w = NULL;
  }
  return r;
}

int store_layer_unpack(struct store *s, const char *blob, const char *diff_id, const char *chain_id,
                       const char *parent_chain, void (*progress)(void *ctx, int64_t done), void *ctx,
                       bool *created, struct berr **err) {
  *created = false;
  const char *hex = digest_hex(chain_id);
  if (!hex || !digest_valid(diff_id))
    return berr_set(err, EINVAL, "layer %s: invalid digest", chain_id ? chain_id : "");
  if (store_layer_exists(s, chain_id))
    return 0;
  _cleanup_free_ char *bpath = content_path(s, blob);
  _cleanup_close_ int bfd = open(bpath, O_RDONLY | O_CLOEXEC);
  if (bfd < 0)
    return berr_sys(err, errno, "layer %s: open blob %s", diff_id, blob);
  _cleanup_free_ char *tmp = xasprintf("%s/layer-XXXXXX", s->tmp);
  if (!mkdtemp(tmp))
    return berr_sys(err, errno, "layer %s: temp dir", diff_id);
  struct unpack u = {.md = EVP_MD_CTX_new(), .progress = progress, .ctx = ctx};
  EVP_DigestInit_ex(u.md, EVP_sha256(), NULL);
  int64_t size = 0;
  int r = unpack_into(s, bfd, diff_id, tmp, &size, &u, err);
  if (u.raw)
    archive_read_free(u.raw);
  if (u.md)
    EVP_MD_CTX_free(u.md);
  content_writer_abort(u.w);
  if (r == 0) {
    json_t *meta = json_pack("{s:s,s:s?,s:I}", "diff_id", diff_id, "parent", parent_chain, "size",
                             (json_int_t)size);
    _cleanup_free_ char *m = json_dump_compact(meta);
    json_decref(meta);
    _cleanup_free_ char *mp = xasprintf("%s/meta", tmp);
    r = write_file_atomic(mp, m, strlen(m), 0644, err);
  }
  if (r == 0) {
    _cleanup_free_ char *final = xasprintf("%s/%s", s->layers, hex);
    pthread_mutex_lock(&s->lock);
    if (rename(tmp, final) == 0)
      *created = true;
    else if (errno != EEXIST && errno != ENOTEMPTY)
      r = berr_sys(err, errno, "layer %s: rename", diff_id);
    pthread_mutex_unlock(&s->lock);
    if (r == 0)
      layer_short_link(s, chain_id);
  } else {
    berr_wrap(err, "layer %s", diff_id);
  }
  if (path_exists(tmp))
    rm_rf(tmp, NULL);
  return r;
}

void store_layers_discard(struct store *s, char *const *chain_ids) {
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; chain_ids && chain_ids[i]; i++)
    if (!layer_in_use(s, chain_ids[i]))
      layer_remove(s, chain_ids[i], NULL);
  pthread_mutex_unlock(&s->lock);
}

/* ---------- image record ---------- */

static int exec_bind(struct store *s, const char *sql, char *const *args, struct berr **err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(s->db), sql, -1, &st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "store database: %s", sqlite3_errmsg(db_handle(s->db)));
  for (int i = 0; args[i]; i++)
    sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return berr_set(err, EIO, "store database: %s", sqlite3_errmsg(db_handle(s->db)));
  return 0;
}

int store_image_record_pull(struct store *s, const char *config, size_t len, const char *tag,
                            const char *digest_ref, char **id_out, struct berr **err) {
  char *tags[2] = {(char *)tag, NULL};
  _cleanup_free_ char *id = NULL;
  int r = image_record(s, config, len, tag ? tags : NULL, NULL, NULL, &id, err);
  if (r < 0)
    return r;
  if (digest_ref) {
    struct image_ref ref;
    if ((r = image_ref_parse(digest_ref, &ref, err)) < 0)
      return r;
    _cleanup_free_ char *full = image_ref_string(&ref);
    image_ref_free(&ref);
    char *args[] = {full, id, NULL};
    if ((r = db_begin(s->db, err)) < 0)
      return r;
    r = exec_bind(s, "INSERT OR REPLACE INTO refs(name, image_id, kind) VALUES(?1, ?2, 1)", args, err);
    if (r < 0) {
      db_rollback(s->db);
      return r;
    }
    if ((r = db_commit(s->db, err)) < 0)
      return r;
  }
  if (id_out)
    *id_out = steal_ptr(id);
  return 0;
}

/* ---------- v2 metadata ---------- */

int store_dist_add(struct store *s, const char *diff_id, const struct store_dist_blob *b, struct berr **err) {
  int r = db_exec(s->db, DIST_SCHEMA, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *size = xasprintf("%lld", (long long)b->size);
  char *args[] = {(char *)diff_id, b->digest, b->media_type ? b->media_type : "", size,
                  b->source ? b->source : "", NULL};
  return exec_bind(s,
                   "INSERT OR REPLACE INTO dist_blobs(diff_id, digest, media_type, size, source)"
                   " VALUES(?1, ?2, ?3, CAST(?4 AS INTEGER), ?5)",
                   args, err);
}

static char *col(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return xstrdup(t ? (const char *)t : "");
}

int store_dist_list(struct store *s, const char *diff_id, struct store_dist_blob **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (db_exec(s->db, DIST_SCHEMA, NULL) < 0)
    return -EIO;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(s->db),
                         "SELECT digest, media_type, size, source FROM dist_blobs WHERE diff_id=?1 ORDER BY rowid",
                         -1, &st, NULL) != SQLITE_OK)
    return -EIO;
  sqlite3_bind_text(st, 1, diff_id, -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    *out = xrealloc(*out, (*n + 1) * sizeof **out);
    (*out)[*n] = (struct store_dist_blob){.digest = col(st, 0), .media_type = col(st, 1),
                                          .size = sqlite3_column_int64(st, 2), .source = col(st, 3)};
    (*n)++;
  }
  sqlite3_finalize(st);
  return 0;
}

void store_dist_blobs_free(struct store_dist_blob *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].digest);
    free(v[i].media_type);
    free(v[i].source);
  }
  free(v);
}

int store_dist_manifest_set(struct store *s, const char *image_id, const char *repo, const char *digest,
                            const char *media_type, struct berr **err) {
  int r = db_exec(s->db, DIST_SCHEMA, err);
  if (r < 0)
    return r;
  char *args[] = {(char *)image_id, (char *)repo, (char *)digest, (char *)media_type, NULL};
  return exec_bind(s,
                   "INSERT OR REPLACE INTO dist_manifests(image_id, repo, digest, media_type)"
                   " VALUES(?1, ?2, ?3, ?4)",
                   args, err);
}

int store_dist_manifest_get(struct store *s, const char *image_id, const char *repo, char **digest,
                            char **media_type) {
  if (db_exec(s->db, DIST_SCHEMA, NULL) < 0)
    return -EIO;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(s->db),
                         repo ? "SELECT digest, media_type FROM dist_manifests WHERE image_id=?1 AND repo=?2"
                              : "SELECT digest, media_type FROM dist_manifests WHERE image_id=?1 ORDER BY rowid",
                         -1, &st, NULL) != SQLITE_OK)
    return -EIO;
  sqlite3_bind_text(st, 1, image_id, -1, SQLITE_TRANSIENT);
  if (repo)
    sqlite3_bind_text(st, 2, repo, -1, SQLITE_TRANSIENT);
  int r = -ENOENT;
  if (sqlite3_step(st) == SQLITE_ROW) {
    *digest = col(st, 0);
    *media_type = col(st, 1);
    r = 0;
  }
  sqlite3_finalize(st);
  return r;
}

/* ---------- gzip for push ---------- */

struct gz_sink {
  struct content_writer *w;
  int64_t size;
  bool failed;
};

static la_ssize_t gz_write(struct archive *a, void *client, const void *buf, size_t len) {
  (void)a;
  struct gz_sink *k = client;
  if (content_writer_write(k->w, buf, len, NULL) < 0) {
    k->failed = true;
    return -1;
  }
  k->size += (int64_t)len;
  return (la_ssize_t)len;
}

int store_layer_compress(struct store *s, const char *diff_id, char **digest, int64_t *size,
                         struct berr **err) {
  int64_t tsize = 0;
  _cleanup_close_ int fd = store_blob_open(s, diff_id, &tsize, err);
  if (fd < 0)
    return berr_wrap(err, "layer %s: no layer tar to push", diff_id);
  struct gz_sink k = {0};
  int r = content_writer_open(s, &k.w, err);
  if (r < 0)
    return r;
  struct archive *a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_filter_option(a, "gzip", "timestamp", NULL); /* no mtime: the same tar, the same blob */
  archive_write_set_format_raw(a);
  archive_write_set_bytes_in_last_block(a, 1);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, tsize);
  if (archive_write_open2(a, &k, NULL, gz_write, NULL, NULL) != ARCHIVE_OK ||
      archive_write_header(a, e) != ARCHIVE_OK) {
    r = berr_set(err, EIO, "layer %s: gzip: %s", diff_id, archive_error_string(a));
  } else {
    char *buf = xmalloc(256 * 1024);
    ssize_t n;
    while (r == 0 && (n = read(fd, buf, 256 * 1024)) != 0) {
      if (n < 0 || archive_write_data(a, buf, (size_t)n) != n)
        r = berr_set(err, EIO, "layer %s: gzip: %s", diff_id,
                     n < 0 ? strerror(errno) : archive_error_string(a));
    }
    free(buf);
    if (r == 0 && (archive_write_close(a) != ARCHIVE_OK || k.failed))
      r = berr_set(err, EIO, "layer %s: gzip: %s", diff_id, archive_error_string(a) ?: "write failed");
  }
  archive_entry_free(e);
  archive_write_free(a);
  if (r < 0) {
    content_writer_abort(k.w);
    return r;
  }
  char *d = NULL;
  if ((r = content_writer_commit(k.w, NULL, &d, err)) < 0)
    return r;
  *digest = d;
  *size = k.size;
  return 0;
}

/* ---------- forgetting, when rmi removes an image ----------
 * The blobs kept for push and save belong to layers and images: the
 * uncompressed diff-ID tar of each layer, the compressed blobs pulled for it
 * and the image's manifests. When rmi removes an image and the layers only
 * it used, they go too, unless another image still names them — otherwise
 * removed images would leave their bytes behind for good. */

/* first column of every row of a one-parameter query */
static char **dist_column(struct store *s, const char *sql, const char *arg) {
  char **v = xcalloc(1, sizeof *v);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(s->db), sql, -1, &st, NULL) != SQLITE_OK)
    return v;
  sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW)
    v = strv_append(v, col(st, 0));
  sqlite3_finalize(st);
  return v;
}

static bool dist_any_row(struct store *s, const char *sql, const char *arg) {
  _cleanup_strv_ char **v = dist_column(s, sql, arg);
  return v[0] != NULL;
}

static void unlink_blob(struct store *s, const char *digest) {
  if (!digest_valid(digest))
    return;
  _cleanup_free_ char *p = content_path(s, digest);
  unlink(p);
}

void store_dist_forget_layer(struct store *s, const char *diff_id) {
  if (!diff_id || dist_any_row(s, "SELECT 1 FROM images WHERE instr(config, ?1) > 0", diff_id))
    return; /* another image has the same layer content */
  unlink_blob(s, diff_id);
  if (db_exec(s->db, DIST_SCHEMA, NULL) < 0)
    return;
  _cleanup_strv_ char **digests = dist_column(s, "SELECT digest FROM dist_blobs WHERE diff_id=?1", diff_id);
  char *args[] = {(char *)diff_id, NULL};
  if (exec_bind(s, "DELETE FROM dist_blobs WHERE diff_id=?1", args, NULL) < 0)
    return;
  for (size_t i = 0; digests[i]; i++)
    if (!dist_any_row(s, "SELECT 1 FROM dist_blobs WHERE digest=?1", digests[i]))
      unlink_blob(s, digests[i]);
}

void store_dist_forget_image(struct store *s, const char *image_id) {
  if (db_exec(s->db, DIST_SCHEMA, NULL) < 0)
    return;
  _cleanup_strv_ char **digests =
      dist_column(s, "SELECT digest FROM dist_manifests WHERE image_id=?1", image_id);
  char *args[] = {(char *)image_id, NULL};
  if (exec_bind(s, "DELETE FROM dist_manifests WHERE image_id=?1", args, NULL) < 0)
    return;
  for (size_t i = 0; digests[i]; i++)
    if (!dist_any_row(s, "SELECT 1 FROM dist_manifests WHERE digest=?1", digests[i]))
      unlink_blob(s, digests[i]);
}
