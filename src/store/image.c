/*
 * image.c — the store itself (store_open/close) and the image table: lookup
 * by name, short or full ID; listing; tags; removal with Docker's rules.
 *
 * Tables (store.db):
 *   images(id, config, created, size, parent)  one row per image; config is
 *       the image config JSON whose sha256 is the id
 *   refs(name, image_id, kind)  "docker.io/library/busybox:latest" → id;
 *       kind 0 tag, 1 digest. A name points at one image at most.
 *   image_layers(image_id, chain_id)  the layer stack of each image
 *   rw_layers(cid, chain_id)  the layers under each container's rw layer
 * A layer directory is kept while some row of image_layers or rw_layers
 * names its chain ID; the last one out removes it (under s->lock).
 *
 * Removal follows dockerd 20.10's ImageDelete: a name removes that reference
 * first and the image only when no reference remains; an ID removes the
 * image (and its references, when they all belong to one repository).
 */
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "store/store_internal.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, config TEXT NOT NULL,"
    " created INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0,"
    " parent TEXT NOT NULL DEFAULT '', loaded INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, image_id TEXT NOT NULL"
    " REFERENCES images(id) ON DELETE CASCADE, kind INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS refs_image ON refs(image_id);"
    "CREATE TABLE IF NOT EXISTS image_layers (image_id TEXT NOT NULL REFERENCES images(id)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL, chain_id TEXT NOT NULL, PRIMARY KEY(image_id, pos));"
    "CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);"
    "CREATE TABLE IF NOT EXISTS rw_layers (cid TEXT NOT NULL, chain_id TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rw_layers_cid ON rw_layers(cid);";

/* ---------- open / close ---------- */

int store_open(const char *data_root, struct store **out, struct berr **err) {
  struct store *s = xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->root = xstrdup(data_root);
  s->blobs = xasprintf("%s/blobs/sha256", data_root);
  s->layers = xasprintf("%s/layers", data_root);
  s->tmp = xasprintf("%s/tmp", data_root);
  s->ctrs = xasprintf("%s/containers", data_root);
  _cleanup_free_ char *l = xasprintf("%s/l", s->layers);
  _cleanup_free_ char *dbp = xasprintf("%s/store.db", data_root);
  int r = 0;
  /* tmp holds only unfinished work: whatever a crash left goes */
  if (rm_rf(s->tmp, err) < 0 || mkdir_p(s->blobs, 0700, err) < 0 || mkdir_p(l, 0700, err) < 0 ||
      mkdir_p(s->tmp, 0700, err) < 0 || mkdir_p(s->ctrs, 0710, err) < 0 ||
      db_open(dbp, SCHEMA, &s->db, err) < 0)
    r = berr_wrap(err, "open store %s", data_root);
  if (r < 0) {
    store_close(s);
    return r;
  }
  *out = s;
  return 0;
}

void store_close(struct store *s) {
  if (!s)
    return;
  db_close(s->db);
  pthread_mutex_destroy(&s->lock);
  free(s->root);
  free(s->blobs);
  free(s->layers);
  free(s->tmp);
  free(s->ctrs);
  free(s);
}

/* ---------- small SQL helpers ---------- */

static sqlite3_stmt *prep(struct store *s, const char *sql, struct berr **err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(s->db), sql, -1, &st, NULL) != SQLITE_OK) {
    berr_set(err, EIO, "store database: %.40s: %s", sql, sqlite3_errmsg(db_handle(s->db)));
    return NULL;
  }
  return st;
}

static void finalizep(sqlite3_stmt **st) {
  if (*st)
    sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(finalizep)))

/* Run a statement with text parameters and no rows. */
static int exec_args(struct store *s, struct berr **err, const char *sql, int n, ...) {
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, sql, err);
  if (!st)
    return -EIO;
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
  va_end(ap);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return berr_set(err, EIO, "store database: %.40s: %s", sql, sqlite3_errmsg(db_handle(s->db)));
  return 0;
}

/* First column of every row of a one-parameter query (NULL-terminated). */
static char **query_strv(struct store *s, const char *sql, const char *arg) {
  char **v = xcalloc(1, sizeof *v);
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, sql, NULL);
  if (!st)
    return v;
  if (arg)
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW)
    v = strv_append(v, xstrdup((const char *)sqlite3_column_text(st, 0)));
  return v;
}

/* ---------- times ---------- */

int64_t rfc3339_seconds(const char *s) {
  struct tm tm = {0};
  if (!s)
    return -1;
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p)
    return -1;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      ;
  int64_t off = 0;
  if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (strlen(p) != 6 || p[3] != ':')
      return -1;
    hh = (p[1] - '0') * 10 + (p[2] - '0');
    mm = (p[4] - '0') * 10 + (p[5] - '0');
    off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
  } else if (*p != 'Z' && *p != 'z') {
    return -1;
  }
  return (int64_t)timegm(&tm) - off;
}

int64_t store_parse_time(const char *rfc3339) { return rfc3339_seconds(rfc3339); }

char **store_image_chain_ids(const struct image *img) { return image_chain_ids(img->diff_ids); }

int64_t store_image_layer_size(struct store *s, const struct image *img, size_t i) {
  _cleanup_strv_ char **chains = image_chain_ids(img->diff_ids);
  return i < strv_len(chains) ? layer_size(s, chains[i]) : 0;
}

/* ---------- images ---------- */

void image_free(struct image *img) {
  if (!img)
    return;
  free(img->id);
  json_decref(img->config);
  strv_free(img->repo_tags);
  strv_free(img->repo_digests);
  strv_free(img->diff_ids);
  free(img->parent);
  free(img);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Familiar forms of an image's refs of one kind, sorted (Docker's lexicalRefs). */
static char **image_refs(struct store *s, const char *id, int kind) {
  char **full = query_strv(s, kind ? "SELECT name FROM refs WHERE image_id=?1 AND kind=1"
                                   : "SELECT name FROM refs WHERE image_id=?1 AND kind=0",
                           id);
  char **v = xcalloc(1, sizeof *v);
  for (size_t i = 0; full[i]; i++) {
    struct image_ref r;
    if (image_ref_parse(full[i], &r, NULL) == 0) {
      v = strv_append(v, image_ref_familiar(&r));
      image_ref_free(&r);
    }
  }
  strv_free(full);
  qsort(v, strv_len(v), sizeof *v, cmp_str);
  return v;
}

static struct image *image_from_row(struct store *s, sqlite3_stmt *st) {
  struct image *img = xcalloc(1, sizeof *img);
  img->id = xstrdup((const char *)sqlite3_column_text(st, 0));
  img->config = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
  if (!img->config)
    img->config = json_object();
  img->created = sqlite3_column_int64(st, 2);
  img->size = sqlite3_column_int64(st, 3);
  img->parent = xstrdup((const char *)sqlite3_column_text(st, 4));
  img->repo_tags = image_refs(s, img->id, 0);
  img->repo_digests = image_refs(s, img->id, 1);
  img->diff_ids = xcalloc(1, sizeof *img->diff_ids);
  json_t *d;
  size_t i;
  json_array_foreach(json_object_get(json_object_get(img->config, "rootfs"), "diff_ids"), i, d) {
    if (json_is_string(d))
      img->diff_ids = strv_append(img->diff_ids, xstrdup(json_string_value(d)));
  }
  return img;
}

#define IMAGE_COLS "SELECT id, config, created, size, parent FROM images"

int image_load_by_id(struct store *s, const char *id, struct image **out, struct berr **err) {
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, IMAGE_COLS " WHERE id=?1", err);
  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) != SQLITE_ROW)
    return berr_set(err, ENOENT, "No such image: %s", id);
  *out = image_from_row(s, st);
  return 0;
}

int store_image_list(struct store *s, struct image ***out, size_t *n, struct berr **err) {
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, IMAGE_COLS " ORDER BY created DESC, loaded DESC", err);
  if (!st)
    return -EIO;
  struct image **v = NULL;
  size_t k = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    v = xrealloc(v, (k + 1) * sizeof *v);
    v[k++] = image_from_row(s, st);
  }
  *out = v;
  *n = k;
  return 0;
}

static bool is_hex(const char *p) {
  for (; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

/* Unique image ID starting with `prefix` (hex, may have "sha256:"). */
static char *id_by_prefix(struct store *s, const char *prefix) {
  const char *hex = str_has_prefix(prefix, "sha256:") ? prefix + 7 : prefix;
  if (!*hex || !is_hex(hex) || strlen(hex) > 64)
    return NULL;
  _cleanup_free_ char *like = xasprintf("sha256:%s%%", hex);
  _cleanup_strv_ char **v = query_strv(s, "SELECT id FROM images WHERE id LIKE ?1 LIMIT 2", like);
  return strv_len(v) == 1 ? xstrdup(v[0]) : NULL; /* ambiguous: not found, as Docker */
}

/* Resolve a name to an image ID (caller frees), Docker's GetImage order:
 * a full digest ID, a reference, then a short ID. */
int image_resolve_id(struct store *s, const char *name, char **id, struct berr **err) {
  _cleanup_free_ char *full = NULL;
  if (strlen(name) == 64 && is_hex(name))
    full = xasprintf("sha256:%s", name);
  else if (digest_valid(name))
    full = xstrdup(name);
  if (full) {
    _cleanup_strv_ char **v = query_strv(s, "SELECT id FROM images WHERE id=?1", full);
    if (!v[0])
      return berr_set(err, ENOENT, "No such image: %s", full);
    *id = xstrdup(v[0]);
    return 0;
  }
  struct image_ref ref;
  int r = image_ref_parse(name, &ref, err);
  if (r < 0)
    return r;
  if (ref.digest && ref.tag) { /* name:tag@digest: the digest decides */
    free(ref.tag);
    ref.tag = NULL;
  }
  _cleanup_free_ char *key = image_ref_string(&ref);
  _cleanup_free_ char *fam = image_ref_familiar(&ref);
  image_ref_free(&ref);
  _cleanup_strv_ char **v = query_strv(s, "SELECT image_id FROM refs WHERE name=?1", key);
  if (v[0]) {
    *id = xstrdup(v[0]);
    return 0;
  }
  if ((*id = id_by_prefix(s, name)))
    return 0;
  return berr_set(err, ENOENT, "No such image: %s", fam);
}

int store_image_get(struct store *s, const char *name, struct image **out, struct berr **err) {
  _cleanup_free_ char *id = NULL;
  int r = image_resolve_id(s, name, &id, err);
  if (r < 0)
    return r;
  return image_load_by_id(s, id, out, err);
}

/* ---------- tags ---------- */

/* Point `full` at `id`; a tag that moves away from another image is said
 * in Docker's words when progress is given. Caller is in a transaction. */
static int set_ref(struct store *s, const char *full, const char *familiar, const char *id, int kind,
                   void (*progress)(const char *line, void *ctx), void *ctx, struct berr **err) {
  _cleanup_strv_ char **old = query_strv(s, "SELECT image_id FROM refs WHERE name=?1", full);
  if (old[0] && strcmp(old[0], id) != 0 && progress) {
    _cleanup_free_ char *line = xasprintf(
        "The image %s already exists, renaming the old one with ID %s to empty string", familiar, old[0]);
    progress(line, ctx);
  }
  return exec_args(s, err, kind ? "INSERT OR REPLACE INTO refs(name, image_id, kind) VALUES(?1, ?2, 1)"
                                : "INSERT OR REPLACE INTO refs(name, image_id, kind) VALUES(?1, ?2, 0)",
                   2, full, id);
}

static int tag_locked(struct store *s, const char *id, const char *target,
                      void (*progress)(const char *line, void *ctx), void *ctx, struct berr **err) {
  struct image_ref ref;
  int r = image_ref_parse(target, &ref, err);
  if (r < 0)
    return r;
  if (ref.digest) {
    image_ref_free(&ref);
    return berr_set(err, EINVAL, "refusing to create a tag with a digest reference");
  }
  _cleanup_free_ char *full = image_ref_string(&ref);
  _cleanup_free_ char *fam = image_ref_familiar(&ref);
  image_ref_free(&ref);
  return set_ref(s, full, fam, id, 0, progress, ctx, err);
}

int store_image_tag(struct store *s, const char *image_id, const char *target, struct berr **err) {
  _cleanup_free_ char *id = NULL;
  int r = image_resolve_id(s, image_id, &id, err);
  if (r < 0)
    return r;
  if ((r = db_begin(s->db, err)) < 0)
    return r;
  if ((r = tag_locked(s, id, target, NULL, NULL, err)) < 0) {
    db_rollback(s->db);
    return r;
  }
  return db_commit(s->db, err);
}

/* ---------- record (after a load or pull) ---------- */

static int insert_image(struct store *s, const char *id, const char *config, json_t *cfg,
                        char **chains, struct berr **err) {
  _cleanup_strv_ char **have = query_strv(s, "SELECT id FROM images WHERE id=?1", id);
  if (have[0])
    return 0;
  int64_t size = 0;
  for (size_t i = 0; chains[i]; i++)
    size += layer_size(s, chains[i]);
  int64_t created = rfc3339_seconds(json_string_value(json_object_get(cfg, "created")));
  _cleanup_stmt_ sqlite3_stmt *st =
      prep(s, "INSERT INTO images(id, config, created, size, parent, loaded) VALUES(?1,?2,?3,?4,'',?5)", err);
  if (!st)
    return -EIO;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, config, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, created < 0 ? 0 : created);
  sqlite3_bind_int64(st, 4, size);
  sqlite3_bind_int64(st, 5, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
  if (sqlite3_step(st) != SQLITE_DONE)
    return berr_set(err, EIO, "store database: insert image %s: %s", id, sqlite3_errmsg(db_handle(s->db)));
  for (size_t i = 0; chains[i]; i++) {
    _cleanup_free_ char *pos = xasprintf("%zu", i);
    if (exec_args(s, err, "INSERT INTO image_layers(image_id, pos, chain_id) VALUES(?1, ?2, ?3)", 3,
                  id, pos, chains[i]) < 0)
      return -EIO;
  }
  return 0;
}

int image_record(struct store *s, const char *config_json, size_t config_len, char *const *tags,
                 void (*progress)(const char *line, void *ctx), void *ctx, char **id_out,
                 struct berr **err) {
  _cleanup_free_ char *id = digest_of(config_json, config_len);
  json_error_t je;
  _cleanup_json_ json_t *cfg = json_loadb(config_json, config_len, 0, &je);
  if (!json_is_object(cfg))
    return berr_set(err, EINVAL, "image config %s: invalid JSON: %s", id, je.text);
  _cleanup_free_ char *text = xasprintf("%.*s", (int)config_len, config_json);
  char **diff_ids = xcalloc(1, sizeof *diff_ids);
  json_t *d;
  size_t i;
  json_array_foreach(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), i, d)
    diff_ids = strv_append(diff_ids, xstrdup(json_string_value(d) ? json_string_value(d) : ""));
  _cleanup_strv_ char **chains = image_chain_ids(diff_ids);
  strv_free(diff_ids);
  int r = db_begin(s->db, err);
  if (r < 0)
    return r;
  r = insert_image(s, id, text, cfg, chains, err);
  for (size_t k = 0; r == 0 && tags && tags[k]; k++)
    r = tag_locked(s, id, tags[k], progress, ctx, err);
  if (r < 0) {
    db_rollback(s->db);
    return r;
  }
  if ((r = db_commit(s->db, err)) < 0)
    return r;
  if (id_out)
    *id_out = steal_ptr(id);
  return 0;
}

/* ---------- remove ---------- */

bool layer_in_use(struct store *s, const char *chain_id) {
  _cleanup_strv_ char **a = query_strv(s, "SELECT image_id FROM image_layers WHERE chain_id=?1 LIMIT 1", chain_id);
  _cleanup_strv_ char **b = query_strv(s, "SELECT cid FROM rw_layers WHERE chain_id=?1 LIMIT 1", chain_id);
  return a[0] || b[0];
}

static void add_record(json_t *out, const char *key, const char *val) {
  json_array_append_new(out, json_pack("{s:s}", key, val));
}

/* Repository name ("docker.io/library/busybox") of a full ref. */
static char *ref_repo(const char *full) {
  struct image_ref r;
  if (image_ref_parse(full, &r, NULL) < 0)
    return xstrdup(full);
  char *s = xasprintf("%s/%s", r.domain, r.path);
  image_ref_free(&r);
  return s;
}

/* Docker's isSingleReference: all refs in one repository, at most one tag. */
static bool single_reference(struct store *s, const char *id) {
  _cleanup_strv_ char **names = query_strv(s, "SELECT name FROM refs WHERE image_id=?1", id);
  size_t n = strv_len(names);
  if (n <= 1)
    return n == 1;
  _cleanup_free_ char *repo = NULL;
  int tags = 0;
  for (size_t i = 0; i < n; i++) {
    _cleanup_free_ char *r = ref_repo(names[i]);
    if (!strchr(names[i], '@') && ++tags > 1)
      return false;
    if (!repo)
      repo = steal_ptr(r);
    else if (strcmp(repo, r) != 0)
      return false;
  }
  return true;
}

static char *short_id(const char *id) {
  const char *h = str_has_prefix(id, "sha256:") ? id + 7 : id;
  return xasprintf("%.12s", h);
}

/* Delete the image row, its refs, and the layers nobody else uses. */
static int delete_image(struct store *s, const char *id, json_t *out, struct berr **err) {
  _cleanup_strv_ char **names = query_strv(s, "SELECT name FROM refs WHERE image_id=?1 ORDER BY name", id);
  for (size_t i = 0; names[i]; i++) {
    struct image_ref r;
    if (image_ref_parse(names[i], &r, NULL) == 0) {
      _cleanup_free_ char *f = image_ref_familiar(&r);
      add_record(out, "Untagged", f);
      image_ref_free(&r);
    }
  }
  _cleanup_strv_ char **chains =
      query_strv(s, "SELECT chain_id FROM image_layers WHERE image_id=?1 ORDER BY pos DESC", id);
  int r = db_begin(s->db, err);
  if (r < 0)
    return r;
  if (exec_args(s, err, "DELETE FROM images WHERE id=?1", 1, id) < 0) {
    db_rollback(s->db);
    return -EIO;
  }
  if ((r = db_commit(s->db, err)) < 0)
    return r;
  add_record(out, "Deleted", id);
  _cleanup_free_ char *cfg = content_path(s, id);
  unlink(cfg);
  store_dist_forget_image(s, id);
  for (size_t i = 0; chains[i]; i++) {
    if (layer_in_use(s, chains[i]))
      break; /* the ones below are in use too */
    _cleanup_free_ char *diff_id = layer_diff_id(s, chains[i]);
    if (layer_remove(s, chains[i], err) < 0)
      return -EIO;
    store_dist_forget_layer(s, diff_id);
    add_record(out, "Deleted", chains[i]);
  }
  return 0;
}

static int remove_ref(struct store *s, const char *full, json_t *out, struct berr **err) {
  int r = db_begin(s->db, err);
  if (r < 0)
    return r;
  if (exec_args(s, err, "DELETE FROM refs WHERE name=?1", 1, full) < 0) {
    db_rollback(s->db);
    return -EIO;
  }
  if ((r = db_commit(s->db, err)) < 0)
    return r;
  struct image_ref ref;
  if (image_ref_parse(full, &ref, NULL) == 0) {
    _cleanup_free_ char *f = image_ref_familiar(&ref);
    add_record(out, "Untagged", f);
    image_ref_free(&ref);
  }
  return 0;
}

/* Who uses the image (store_in_use_fn); user[] empty when no one does. */
struct image_user {
  char id[STORE_USER_ID_MAX];
  bool running;
};

static bool image_user(store_in_use_fn in_use, void *ctx, const char *image_id, struct image_user *u) {
  memset(u, 0, sizeof *u);
  if (in_use == NULL || !in_use(image_id, ctx, u->id, &u->running))
    return false;
  u->id[STORE_USER_ID_MAX - 1] = '\0';
  return true;
}

/* A name was given: untag it; remove the image when no ref is left. */
static int remove_by_name(struct store *s, const char *name, const char *id, bool force,
                          store_in_use_fn in_use, void *ctx, json_t *out, struct berr **err) {
  _cleanup_free_ char *sid = short_id(id);
  struct image_user u;
  bool used = image_user(in_use, ctx, id, &u);
  if (!force && used && single_reference(s, id))
    return berr_set(err, EBUSY,
                    "conflict: unable to remove repository reference \"%s\" (must force) - "
                    "container %.12s is using its referenced image %s", name, u.id, sid);
  struct image_ref ref;
  int r = image_ref_parse(name, &ref, err);
  if (r < 0)
    return r;
  if (ref.digest && ref.tag) {
    free(ref.tag);
    ref.tag = NULL;
  }
  _cleanup_free_ char *full = image_ref_string(&ref);
  _cleanup_free_ char *repo = xasprintf("%s/%s", ref.domain, ref.path);
  bool canonical = ref.digest != NULL;
  image_ref_free(&ref);
  if ((r = remove_ref(s, full, out, err)) < 0)
    return r;
  if (!canonical) { /* no tag left in this repo: its digest refs go too */
    _cleanup_strv_ char **names = query_strv(s, "SELECT name FROM refs WHERE image_id=?1", id);
    bool tag_left = false;
    for (size_t i = 0; names[i]; i++) {
      _cleanup_free_ char *rr = ref_repo(names[i]);
      if (!strchr(names[i], '@') && strcmp(rr, repo) == 0)
        tag_left = true;
    }
    for (size_t i = 0; !tag_left && names[i]; i++) {
      _cleanup_free_ char *rr = ref_repo(names[i]);
      if (strchr(names[i], '@') && strcmp(rr, repo) == 0 && (r = remove_ref(s, names[i], out, err)) < 0)
        return r;
    }
  }
  _cleanup_strv_ char **left = query_strv(s, "SELECT name FROM refs WHERE image_id=?1", id);
  if (left[0])
    return 0;
  /* dockerd ignores the conflict quietly here: the container keeps the now
   * untagged image (a running one even with force) */
  if (used && (u.running || !force))
    return 0;
  return delete_image(s, id, out, err);
}

int store_image_remove(struct store *s, const char *name, bool force, bool noprune, store_in_use_fn in_use,
                       void *ctx, json_t **out, struct berr **err) {
  (void)noprune; /* only images built locally have parents to prune */
  _cleanup_free_ char *id = NULL;
  int r = image_resolve_id(s, name, &id, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *rec = json_array();
  _cleanup_free_ char *sid = short_id(id);
  pthread_mutex_lock(&s->lock);
  /* Docker's isImageIDPrefix */
  bool by_id = str_has_prefix(id, name) || str_has_prefix(id + 7, name);
  _cleanup_strv_ char **children = query_strv(s, "SELECT id FROM images WHERE parent=?1", id);
  if (children[0])
    r = berr_set(err, EBUSY, "conflict: unable to delete %s (cannot be forced) - image has dependent child images", sid);
  else if (!by_id)
    r = remove_by_name(s, name, id, force, in_use, ctx, rec, err);
  else {
    /* dockerd's order: running container (hard), other references, stopped container */
    _cleanup_strv_ char **names = query_strv(s, "SELECT name FROM refs WHERE image_id=?1", id);
    struct image_user u;
    bool used = image_user(in_use, ctx, id, &u);
    if (used && u.running)
      r = berr_set(err, EBUSY,
                   "conflict: unable to delete %s (cannot be forced) - image is being used by running container %.12s",
                   sid, u.id);
    else if (!force && names[0] && !single_reference(s, id))
      r = berr_set(err, EBUSY, "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", sid);
    else if (!force && used)
      r = berr_set(err, EBUSY,
                   "conflict: unable to delete %s (must be forced) - image is being used by stopped container %.12s",
                   sid, u.id);
    else
      r = delete_image(s, id, rec, err);
  }
  pthread_mutex_unlock(&s->lock);
  if (r < 0)
    return r;
  *out = steal_ptr(rec);
  return 0;
}
