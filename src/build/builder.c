/*
 * builder.c — the builder's daemon-side state (build.h): the store, the build
 * cache and the temp root.
 *
 * The cache is one table of the daemon's DB (SQLite, WAL), so it survives a
 * berthd restart: key (sha256 of the parent image ID, the step's resolved
 * text and, for COPY/ADD, the sources' content hash) → the image the step
 * made. An entry whose image is gone is a miss (and dropped).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "build/build_internal.h"
#include "store/store.h"

struct builder {
  struct store *store;
  struct db *db;  /* not owned; NULL: no cache */
  char *data_root;
  char *tmp_root; /* <data_root>/builder/tmp */
  char *warm_root; /* <data_root>/builder/warm */
};

#define WARM_KEEP 2

struct store *builder_store(struct builder *b) { return b->store; }

/* RUN --mount=type=cache dirs live beside the temp root, and survive builds. */
char *builder_cache_mount_dir(struct builder *b, const char *key) {
  return xasprintf("%s/../cache-mounts/%s", b->tmp_root, key);
}

static const char cache_schema[] = "CREATE TABLE IF NOT EXISTS build_cache("
                                   " key TEXT PRIMARY KEY, image_id TEXT NOT NULL, created INTEGER NOT NULL)";

void builder_snapshot_dir_remove(struct builder *b, const char *cid) {
  _cleanup_free_ char *p = xasprintf("%s/containers/%s", b->data_root, cid);
  rmdir(p); /* only when empty: a snapshot still in use keeps it */
}

int builder_new(struct store *s, struct db *db, const char *data_root, struct builder **out, struct berr **err) {
  _cleanup_free_ char *tmp_root = xasprintf("%s/builder/tmp", data_root);
  int r = mkdir_p(tmp_root, 0700, err);
  if (r < 0)
    return r;
  if (db && (r = db_exec(db, cache_schema, err)) < 0)
    return berr_wrap(err, "build cache");
  struct builder *b = xcalloc(1, sizeof *b);
  b->store = s;
  b->db = db;
  b->tmp_root = xstrdup(tmp_root);
  b->warm_root = xasprintf("%s/builder/warm", data_root);
  if ((r = mkdir_p(b->warm_root, 0700, err)) < 0) {
    builder_free(b);
    return r;
  }
  b->data_root = xstrdup(data_root);
  /* leftovers of builds a crash interrupted */
  _cleanup_closedir_ DIR *d = opendir(tmp_root);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (str_has_prefix(de->d_name, "build-")) {
      _cleanup_free_ char *p = xasprintf("%s/%s", tmp_root, de->d_name);
      rm_rf(p, NULL);
    }
  /* snapshots of builds a crash interrupted */
  _cleanup_free_ char *cdir = xasprintf("%s/containers", data_root);
  _cleanup_closedir_ DIR *cd = opendir(cdir);
  while (cd && (de = readdir(cd)))
    if (str_has_prefix(de->d_name, "builder-")) {
      store_rw_remove(s, de->d_name, NULL);
      builder_snapshot_dir_remove(b, de->d_name);
    }
  *out = b;
  return 0;
}

void builder_free(struct builder *b) {
  if (!b)
    return;
  free(b->tmp_root);
  free(b->warm_root);
  free(b->data_root);
  free(b);
}

static char *tmp_name(struct builder *b, struct berr **err) {
  unsigned char rnd[8];
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
    berr_sys(err, errno, "getrandom");
    return NULL;
  }
  return xasprintf("%s/build-%02x%02x%02x%02x%02x%02x%02x%02x", b->tmp_root, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                   rnd[5], rnd[6], rnd[7]);
}

int builder_tmpdir(struct builder *b, char **out, struct berr **err) {
  char *p = tmp_name(b, err);
  if (!p)
    return -EIO;
  if (mkdir(p, 0700) < 0) {
    int e = errno;
    free(p);
    return berr_sys(err, e, "create build dir");
  }
  *out = p;
  return 0;
}

/* ---------- warm contexts ---------- */

static int cmp_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The warm dirs' names ("w-<time, fixed width>-<the build dir's hex>"),
 * newest first. */
static char **warm_list(struct builder *b) {
  char **v = xcalloc(1, sizeof(char *));
  _cleanup_closedir_ DIR *d = opendir(b->warm_root);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (str_has_prefix(de->d_name, "w-"))
      v = strv_append(v, xstrdup(de->d_name));
  size_t n = strv_len(v);
  qsort(v, n, sizeof(char *), cmp_name);
  for (size_t i = 0; i < n / 2; i++) { /* newest (largest stamp) first */
    char *t = v[i];
    v[i] = v[n - 1 - i];
    v[n - 1 - i] = t;
  }
  return v;
}

int builder_context_claim(struct builder *b, char **dir, struct berr **err) {
  _cleanup_strv_ char **warm = warm_list(b);
  for (size_t i = 0; warm[i]; i++) {
    _cleanup_free_ char *from = xasprintf("%s/%s", b->warm_root, warm[i]);
    char *to = tmp_name(b, err);
    if (!to)
      return -EIO;
    if (rename(from, to) == 0) {
      *dir = to;
      return 0;
    }
    free(to); /* another build took it first */
  }
  return builder_tmpdir(b, dir, err);
}

void builder_context_no_warm(struct builder *b, char **dir) {
  (void)b;
  char *cold = xasprintf("%s.cold", *dir);
  if (rename(*dir, cold) == 0) {
    free(*dir);
    *dir = cold;
  } else {
    free(cold);
  }
}

void build_context_release(struct builder *b, const char *dir) {
  _cleanup_strv_ char **warm = warm_list(b);
  if (strv_len(warm) < WARM_KEEP && !str_has_suffix(dir, ".cold")) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    /* fixed width: the names sort by time */
    _cleanup_free_ char *to = xasprintf("%s/w-%020lld%09ld-%s", b->warm_root, (long long)now.tv_sec, now.tv_nsec,
                                        strrchr(dir, '-') + 1);
    if (rename(dir, to) == 0)
      return;
  }
  rm_rf(dir, NULL);
}

static void warm_prune(struct builder *b) {
  _cleanup_strv_ char **warm = warm_list(b);
  for (size_t i = 0; warm[i]; i++) {
    _cleanup_free_ char *p = xasprintf("%s/%s", b->warm_root, warm[i]);
    rm_rf(p, NULL);
  }
}

/* ---------- the cache table ---------- */

char *builder_cache_get(struct builder *b, const char *key) {
  if (!b || !b->db)
    return NULL;
  sqlite3_stmt *st = NULL;
  char *id = NULL;
  if (sqlite3_prepare_v2(db_handle(b->db), "SELECT image_id FROM build_cache WHERE key=?1", -1, &st, NULL) !=
      SQLITE_OK)
    return NULL;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) == SQLITE_ROW)
    id = xstrdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  if (id) {
    struct image *img = NULL;
    if (store_image_get(b->store, id, &img, NULL) < 0) {
      free(id);
      id = NULL;
    }
    image_free(img);
  }
  return id;
}

void builder_cache_put(struct builder *b, const char *key, const char *image_id) {
  if (!b || !b->db)
    return;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(b->db),
                         "INSERT OR REPLACE INTO build_cache(key, image_id, created) VALUES(?1, ?2, strftime('%s','now'))",
                         -1, &st, NULL) != SQLITE_OK)
    return;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, image_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) != SQLITE_DONE)
    log_warn("build cache: %s", sqlite3_errmsg(db_handle(b->db)));
  sqlite3_finalize(st);
}

int builder_cache_prune(struct builder *b, int64_t *n, struct berr **err) {
  *n = 0;
  warm_prune(b);
  if (!b->db)
    return 0;
  sqlite3 *h = db_handle(b->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "SELECT count(*) FROM build_cache", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    *n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return db_exec(b->db, "DELETE FROM build_cache", err);
}
