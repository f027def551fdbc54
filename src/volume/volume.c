/*
 * volume.c — the volume store (volume.h): the local driver's volumes under
 * <data-root>/volumes/<name>/_data, their metadata and the containers'
 * references in <data-root>/volumes/volumes.db.
 *
 * Invariants:
 *  - a row in `volumes` exists iff the directory <name>/ exists (create makes
 *    the directory first and removes it if the row cannot be written; remove
 *    deletes the row, then the directory);
 *  - `refs` rows are (container, volume) pairs derived from the container's
 *    mount points document in `mounts`; both are written in one transaction;
 *  - vs->lock serialises create/remove/prune against reference changes, so a
 *    volume cannot be removed between the in-use check and its deletion, and
 *    guards the in-memory mount holders (`active`).
 *
 * dockerd 20.10's messages (volume/service, volume/local) are kept where a
 * client sees them; the code is our own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "store/store.h"
#include "volume/volume.h"

const char *volume_default_driver(void) { return "local"; }

/* A volume mounted for running containers (options volumes only). */
struct active {
  struct active *next;
  char *name;
  json_t *holders; /* container IDs holding it */
};

struct volumes {
  char *root;     /* <data-root>/volumes */
  struct db *db;
  pthread_mutex_t lock;
  struct active *active;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS volumes(name TEXT PRIMARY KEY, driver TEXT NOT NULL,"
    " created TEXT NOT NULL, labels TEXT, options TEXT);"
    "CREATE TABLE IF NOT EXISTS mounts(container TEXT PRIMARY KEY, doc TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS refs(container TEXT NOT NULL, volume TEXT NOT NULL,"
    " PRIMARY KEY(container, volume));"
    "CREATE INDEX IF NOT EXISTS refs_volume ON refs(volume);";

int volumes_open(const char *data_root, struct volumes **out, struct berr **err) {
  struct volumes *vs = xcalloc(1, sizeof(*vs));
  vs->root = xasprintf("%s/volumes", data_root);
  pthread_mutex_init(&vs->lock, NULL);
  _cleanup_free_ char *dbp = xasprintf("%s/volumes.db", vs->root);
  int rc;
  if ((rc = mkdir_p(vs->root, 0701, err)) < 0 || (rc = db_open(dbp, schema, &vs->db, err)) < 0) {
    volumes_close(vs);
    return berr_wrap(err, "open the volume store in %s", data_root);
  }
  *out = vs;
  return 0;
}

void volumes_close(struct volumes *vs) {
  if (!vs)
    return;
  for (struct active *a = vs->active, *n; a; a = n) {
    n = a->next;
    free(a->name);
    json_decref(a->holders);
    free(a);
  }
  db_close(vs->db);
  pthread_mutex_destroy(&vs->lock);
  free(vs->root);
  free(vs);
}

/* ------------------------------------------------------- validation ---- */

static bool name_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

int volume_name_check(const char *name, struct berr **err) {
  bool ok = name && strlen(name) >= 2;
  for (size_t i = 0; ok && name[i]; i++)
    ok = name_char(name[i], i == 0);
  if (ok)
    return 0;
  /* dockerd 20.10 (volume/local): the hint about host directories included */
  return berr_set(err, EINVAL,
                  "create %s: \"%s\" includes invalid characters for a local volume name, only "
                  "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                  "directory, use absolute path",
                  name ? name : "", name ? name : "");
}

int volume_opts_check(const json_t *opts, struct berr **err) {
  const char *k;
  json_t *v;
  if (opts && !json_is_object(opts) && !json_is_null(opts))
    return berr_set(err, EINVAL, "invalid volume options: not an object");
  json_object_foreach((json_t *)opts, k, v) {
    if (strcmp(k, "type") && strcmp(k, "device") && strcmp(k, "o") && strcmp(k, "size"))
      return berr_set(err, EINVAL, "invalid option: \"%s\"", k);
    if (!json_is_string(v))
      return berr_set(err, EINVAL, "invalid option \"%s\": not a string", k);
  }
  const char *type = json_string_value(json_object_get(opts, "type"));
  if (json_object_get(opts, "size") && (!type || strcmp(type, "tmpfs")))
    return berr_set(err, EINVAL, "invalid option: \"size\" is only supported with type=tmpfs");
  const char *o = json_string_value(json_object_get(opts, "o"));
  if (o) {
    unsigned long fl;
    _cleanup_free_ char *data = NULL;
    return volume_mount_opts(o, &fl, &data, err);
  }
  return 0;
}

struct mflag {
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct mflag mflags[] = {
    {"defaults", false, 0},         {"ro", false, MS_RDONLY},       {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},      {"nosuid", false, MS_NOSUID},   {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},     {"exec", true, MS_NOEXEC},      {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS}, {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT}, {"mand", false, MS_MANDLOCK},   {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},    {"noatime", false, MS_NOATIME}, {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"bind", false, MS_BIND}, {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
};

int volume_mount_opts(const char *o, unsigned long *flags, char **data, struct berr **err) {
  _cleanup_free_ char *copy = xstrdup(o ? o : "");
  struct sb_local {
    char *s;
    size_t len;
  } d = {xstrdup(""), 0};
  unsigned long fl = 0;
  char *p = copy, *t;
  while ((t = strsep(&p, ",")) != NULL) {
    if (!*t)
      continue;
    size_t i;
    for (i = 0; i < sizeof(mflags) / sizeof(mflags[0]); i++)
      if (strcmp(mflags[i].name, t) == 0)
        break;
    if (i < sizeof(mflags) / sizeof(mflags[0])) {
      fl = mflags[i].clear ? fl & ~mflags[i].flag : fl | mflags[i].flag;
      continue;
    }
    if (strchr(t, '=') == NULL && strcmp(t, "nouuid")) {
      free(d.s);
      return berr_set(err, EINVAL, "invalid mount option: \"%s\"", t);
    }
    char *n = xasprintf("%s%s%s", d.s, d.len ? "," : "", t);
    free(d.s);
    d.s = n;
    d.len = strlen(n);
  }
  *flags = fl;
  *data = d.s;
  return 0;
}

/* ------------------------------------------------------------ helpers ---- */

static char *vol_dir(const struct volumes *vs, const char *name) {
  return xasprintf("%s/%s", vs->root, name);
}

char *volume_path(struct volumes *vs, const char *name) {
  return xasprintf("%s/%s/_data", vs->root, name);
}

static json_t *json_col(sqlite3_stmt *st, int col) {
  const char *s = (const char *)sqlite3_column_text(st, col);
  if (!s)
    return json_null();
  json_t *j = json_loads(s, 0, NULL);
  return j ? j : json_null();
}

/* The API's Volume object from a `volumes` row (name, driver, created, labels, options). */
static json_t *row_json(struct volumes *vs, sqlite3_stmt *st) {
  const char *name = (const char *)sqlite3_column_text(st, 0);
  _cleanup_free_ char *mp = volume_path(vs, name);
  return json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:s}", "CreatedAt",
                   (const char *)sqlite3_column_text(st, 2), "Driver",
                   (const char *)sqlite3_column_text(st, 1), "Labels", json_col(st, 3),
                   "Mountpoint", mp, "Name", name, "Options", json_col(st, 4), "Scope", "local");
}

static int db_err(struct volumes *vs, const char *what, struct berr **err) {
  return berr_set(err, EIO, "volume store: %s: %s", what, sqlite3_errmsg(db_handle(vs->db)));
}

/* Look one volume up (vs->lock held or not: reads only). */
static int get_locked(struct volumes *vs, const char *name, json_t **out, struct berr **err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(vs->db),
                         "SELECT name, driver, created, labels, options FROM volumes WHERE name=?",
                         -1, &st, NULL) != SQLITE_OK)
    return db_err(vs, "get", err);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  int rc = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    if (out)
      *out = row_json(vs, st);
  } else {
    rc = berr_set(err, ENOENT, "get %s: no such volume", name);
  }
  sqlite3_finalize(st);
  return rc;
}

static char *rfc3339_now_secs(void) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return xstrdup(buf);
}

static char *random_name(void) {
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
    for (size_t i = 0; i < sizeof(b); i++)
      b[i] = (unsigned char)(rand() & 0xff);
  }
  char *s = xmalloc(65);
  for (size_t i = 0; i < 32; i++)
    snprintf(s + 2 * i, 3, "%02x", b[i]);
  return s;
}

/* ------------------------------------------------------------- create ---- */

static int insert_row(struct volumes *vs, const char *name, const char *driver,
                      const json_t *opts, const json_t *labels, struct berr **err) {
  _cleanup_free_ char *created = rfc3339_now_secs();
  /* sorted keys: dockerd's maps come out sorted */
  _cleanup_free_ char *lj = labels ? json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  _cleanup_free_ char *oj = opts ? json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(vs->db),
                         "INSERT INTO volumes(name, driver, created, labels, options) "
                         "VALUES(?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
    return db_err(vs, "create", err);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, driver, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, created, -1, SQLITE_TRANSIENT);
  if (lj)
    sqlite3_bind_text(st, 4, lj, -1, SQLITE_TRANSIENT);
  if (oj)
    sqlite3_bind_text(st, 5, oj, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(vs, "create", err);
  sqlite3_finalize(st);
  return rc;
}

int volume_create(struct volumes *vs, const char *name, const char *driver, const json_t *opts,
                  const json_t *labels, json_t **out, struct berr **err) {
  if (!driver || !*driver)
    driver = "local";
  if (strcmp(driver, "local"))
    return berr_set(err, ENOENT, "error looking up volume plugin %s: plugin \"%s\" not found",
                    driver, driver);
  bool anon = !name || !*name;
  _cleanup_free_ char *gen = anon ? random_name() : NULL;
  if (anon)
    name = gen;
  int rc;
  if (!anon && (rc = volume_name_check(name, err)) < 0)
    return rc;
  if (!anon && get_locked(vs, name, out, NULL) == 0)
    return 0; /* dockerd: an existing name is returned as it is, options unchecked */
  if ((rc = volume_opts_check(opts, err)) < 0)
    return berr_wrap(err, "create %s", name);
  _cleanup_json_ json_t *lab = NULL;
  if (anon) {
    lab = labels && json_is_object(labels) ? json_deep_copy(labels) : json_object();
    json_object_set_new(lab, VOLUME_ANON_LABEL, json_string(""));
  } else if (json_is_object(labels)) {
    lab = json_deep_copy(labels); /* absent: Labels null; {} stays {} (as dockerd) */
  }
  pthread_mutex_lock(&vs->lock);
  if (get_locked(vs, name, out, NULL) == 0) {
    pthread_mutex_unlock(&vs->lock); /* dockerd: an existing name is returned as it is */
    return 0;
  }
  _cleanup_free_ char *dir = vol_dir(vs, name);
  _cleanup_free_ char *data = volume_path(vs, name);
  if ((rc = mkdir_p(data, 0755, err)) < 0 ||
      (rc = insert_row(vs, name, driver, json_is_object(opts) ? opts : NULL, lab, err)) < 0) {
    rm_rf(dir, NULL);
    pthread_mutex_unlock(&vs->lock);
    return berr_wrap(err, "create %s", name);
  }
  chmod(dir, 0701);
  rc = out ? get_locked(vs, name, out, err) : 0;
  pthread_mutex_unlock(&vs->lock);
  return rc;
}

/* ------------------------------------------------------ queries ---- */

bool volume_exists(struct volumes *vs, const char *name) {
  return get_locked(vs, name, NULL, NULL) == 0;
}

int volume_inspect(struct volumes *vs, const char *name, json_t **out, struct berr **err) {
  return get_locked(vs, name, out, err);
}

json_t *volume_users(struct volumes *vs, const char *name) {
  json_t *a = json_array();
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(vs->db),
                         "SELECT container FROM refs WHERE volume=? ORDER BY container", -1, &st,
                         NULL) != SQLITE_OK)
    return a;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW)
    json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  return a;
}

bool volume_is_anonymous(struct volumes *vs, const char *name) {
  _cleanup_json_ json_t *v = NULL;
  if (get_locked(vs, name, &v, NULL) < 0)
    return false;
  return json_object_get(json_object_get(v, "Labels"), VOLUME_ANON_LABEL) != NULL;
}

/* du: regular files' and symlinks' sizes, each inode once */
static int64_t dir_size(int dfd, json_t *seen) {
  _cleanup_closedir_ DIR *dir = fdopendir(dfd);
  if (!dir) {
    close(dfd);
    return 0;
  }
  int64_t total = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      int fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0)
        total += dir_size(fd, seen);
      continue;
    }
    if (st.st_nlink > 1) {
      char key[64];
      snprintf(key, sizeof(key), "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
      if (json_object_get(seen, key))
        continue;
      json_object_set_new(seen, key, json_true());
    }
    total += st.st_size;
  }
  return total;
}

int64_t volume_size(struct volumes *vs, const char *name) {
  _cleanup_free_ char *p = volume_path(vs, name);
  int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  _cleanup_json_ json_t *seen = json_object();
  return dir_size(fd, seen);
}

bool volume_is_empty(struct volumes *vs, const char *name) {
  _cleanup_free_ char *p = volume_path(vs, name);
  _cleanup_closedir_ DIR *d = opendir(p);
  if (!d)
    return false;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      return false;
  return true;
}

int volume_list(struct volumes *vs, bool usage, json_t **out, struct berr **err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(vs->db),
                         "SELECT name, driver, created, labels, options FROM volumes ORDER BY name",
                         -1, &st, NULL) != SQLITE_OK)
    return db_err(vs, "list", err);
  json_t *a = json_array();
  while (sqlite3_step(st) == SQLITE_ROW)
    json_array_append_new(a, row_json(vs, st));
  sqlite3_finalize(st);
  if (usage) {
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
      const char *n = json_string_value(json_object_get(v, "Name"));
      _cleanup_json_ json_t *u = volume_users(vs, n);
      json_object_set_new(v, "UsageData",
                          json_pack("{s:I,s:I}", "Size", (json_int_t)volume_size(vs, n),
                                    "RefCount", (json_int_t)json_array_size(u)));
    }
  }
  *out = a;
  return 0;
}

/* ------------------------------------------------------------- remove ---- */

static bool is_mounted_locked(struct volumes *vs, const char *name) {
  for (struct active *a = vs->active; a; a = a->next)
    if (strcmp(a->name, name) == 0)
      return true;
  return false;
}

static int remove_locked(struct volumes *vs, const char *name, struct berr **err) {
  _cleanup_json_ json_t *users = volume_users(vs, name);
  if (json_array_size(users)) {
    _cleanup_free_ char *list = NULL;
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u) {
      char *n = xasprintf("%s%s%s", list ? list : "", list ? ", " : "", json_string_value(u));
      free(list);
      list = n;
    }
    return berr_set(err, EBUSY, "remove %s: volume is in use - [%s]", name, list);
  }
  if (is_mounted_locked(vs, name))
    return berr_set(err, EBUSY, "remove %s: volume is in use - []", name);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(vs->db), "DELETE FROM volumes WHERE name=?", -1, &st, NULL) !=
      SQLITE_OK)
    return db_err(vs, "remove", err);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(vs, "remove", err);
  sqlite3_finalize(st);
  if (rc < 0)
    return rc;
  _cleanup_free_ char *data = volume_path(vs, name);
  umount2(data, MNT_DETACH); /* a left-over options mount (EINVAL when none) */
  _cleanup_free_ char *dir = vol_dir(vs, name);
  _cleanup_berr_ struct berr *e = NULL;
  if (rm_rf(dir, &e) < 0)
    log_warn("remove volume %s: %s", name, e->msg);
  return 0;
}

int volume_remove(struct volumes *vs, const char *name, bool force, struct berr **err) {
  pthread_mutex_lock(&vs->lock);
  int rc = get_locked(vs, name, NULL, force ? NULL : err);
  if (rc == 0)
    rc = remove_locked(vs, name, err);
  else if (force)
    rc = 0; /* dockerd: force ignores a volume that is not there */
  pthread_mutex_unlock(&vs->lock);
  return rc;
}

int volume_prune(struct volumes *vs, volume_match_fn match, void *arg, json_t **out,
                 struct berr **err) {
  pthread_mutex_lock(&vs->lock);
  json_t *all = NULL;
  int rc = volume_list(vs, false, &all, err);
  if (rc < 0) {
    pthread_mutex_unlock(&vs->lock);
    return rc;
  }
  json_t *deleted = json_array();
  json_int_t reclaimed = 0;
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v) {
    const char *n = json_string_value(json_object_get(v, "Name"));
    if (match && !match(v, arg))
      continue;
    /* dockerd 20.10 keeps volumes made with driver options (their data may
     * live elsewhere: a device, a host directory) */
    if (json_object_size(json_object_get(v, "Options")))
      continue;
    _cleanup_json_ json_t *users = volume_users(vs, n);
    if (json_array_size(users) || is_mounted_locked(vs, n))
      continue;
    int64_t sz = volume_size(vs, n);
    _cleanup_berr_ struct berr *e = NULL;
    if (remove_locked(vs, n, &e) < 0) {
      log_warn("prune volume %s: %s", n, e->msg);
      continue;
    }
    json_array_append_new(deleted, json_string(n));
    reclaimed += sz > 0 ? sz : 0;
  }
  pthread_mutex_unlock(&vs->lock);
  json_decref(all);
  *out = json_pack("{s:o,s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", reclaimed);
  return 0;
}

/* --------------------------------------------------------- references ---- */

static int exec_bind(struct volumes *vs, const char *sql, const char *a, const char *b) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(vs->db), sql, -1, &st, NULL) != SQLITE_OK)
    return -EIO;
  sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
  if (b)
    sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
  sqlite3_finalize(st);
  return rc;
}

int volume_refs_set(struct volumes *vs, const char *cid, const json_t *mount_points,
                    struct berr **err) {
  _cleanup_free_ char *doc = json_dump_compact(mount_points);
  pthread_mutex_lock(&vs->lock);
  int rc = db_begin(vs->db, err);
  if (rc < 0) {
    pthread_mutex_unlock(&vs->lock);
    return rc;
  }
  rc = exec_bind(vs, "DELETE FROM refs WHERE container=?", cid, NULL);
  if (rc == 0)
    rc = exec_bind(vs, "INSERT OR REPLACE INTO mounts(container, doc) VALUES(?,?)", cid, doc);
  size_t i;
  json_t *m;
  json_array_foreach(mount_points, i, m) {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *name = json_string_value(json_object_get(m, "Name"));
    if (rc == 0 && type && strcmp(type, "volume") == 0 && name && *name)
      rc = exec_bind(vs, "INSERT OR IGNORE INTO refs(container, volume) VALUES(?,?)", cid, name);
  }
  if (rc < 0) {
    db_rollback(vs->db);
    pthread_mutex_unlock(&vs->lock);
    return db_err(vs, "record the mounts of a container", err);
  }
  rc = db_commit(vs->db, err);
  pthread_mutex_unlock(&vs->lock);
  return rc;
}

json_t *volume_refs_get(struct volumes *vs, const char *cid) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db_handle(vs->db), "SELECT doc FROM mounts WHERE container=?", -1, &st,
                         NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
  json_t *j = NULL;
  if (sqlite3_step(st) == SQLITE_ROW) {
    j = json_col(st, 0);
    if (!json_is_array(j)) {
      json_decref(j);
      j = NULL;
    }
  }
  sqlite3_finalize(st);
  return j;
}

void volume_refs_drop(struct volumes *vs, const char *cid) {
  pthread_mutex_lock(&vs->lock);
  if (db_begin(vs->db, NULL) == 0) {
    if (exec_bind(vs, "DELETE FROM refs WHERE container=?", cid, NULL) < 0 ||
        exec_bind(vs, "DELETE FROM mounts WHERE container=?", cid, NULL) < 0)
      db_rollback(vs->db);
    else
      db_commit(vs->db, NULL);
  }
  pthread_mutex_unlock(&vs->lock);
}

/* ------------------------------------------------------------ mounting ---- */

static struct active *find_active(struct volumes *vs, const char *name) {
  for (struct active *a = vs->active; a; a = a->next)
    if (strcmp(a->name, name) == 0)
      return a;
  return NULL;
}

static bool holders_has(const json_t *h, const char *cid) {
  size_t i;
  json_t *v;
  json_array_foreach(h, i, v) if (strcmp(json_string_value(v), cid) == 0) return true;
  return false;
}

/* mount(2) of the local driver's options on _data */
static int mount_opts(const char *path, const json_t *opts, struct berr **err) {
  const char *type = json_string_value(json_object_get(opts, "type"));
  const char *dev = json_string_value(json_object_get(opts, "device"));
  const char *o = json_string_value(json_object_get(opts, "o"));
  const char *size = json_string_value(json_object_get(opts, "size"));
  unsigned long fl = 0;
  _cleanup_free_ char *data = NULL;
  int rc = volume_mount_opts(o, &fl, &data, err);
  if (rc < 0)
    return rc;
  if (size) {
    char *n = xasprintf("%s%ssize=%s", data, *data ? "," : "", size);
    free(data);
    data = n;
  }
  if (!dev || !*dev)
    dev = type && *type ? type : "none";
  if (fl & MS_BIND) {
    if (mount(dev, path, NULL, fl & (MS_BIND | MS_REC), NULL) < 0)
      return berr_sys(err, errno, "mount %s on %s (bind)", dev, path);
    if ((fl & ~(MS_BIND | MS_REC)) &&
        mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | (fl & ~(MS_BIND | MS_REC)), NULL) < 0) {
      int e = errno;
      umount2(path, MNT_DETACH);
      return berr_sys(err, e, "remount %s read-only/flags", path);
    }
    return 0;
  }
  if (mount(dev, path, type && *type ? type : NULL, fl, *data ? data : NULL) < 0)
    return berr_sys(err, errno, "mount %s (type %s, options \"%s\") on %s", dev,
                    type ? type : "", data, path);
  return 0;
}

/* _data already a mount (left by a berthd that was restarted while containers ran)? */
static bool is_mountpoint(const char *path) {
  struct stat a, b;
  _cleanup_free_ char *parent = xasprintf("%s/..", path);
  return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int volume_acquire(struct volumes *vs, const char *name, const char *cid, char **path,
                   struct berr **err) {
  _cleanup_json_ json_t *v = NULL;
  pthread_mutex_lock(&vs->lock);
  int rc = get_locked(vs, name, &v, err);
  if (rc < 0) {
    pthread_mutex_unlock(&vs->lock);
    return rc;
  }
  _cleanup_free_ char *p = volume_path(vs, name);
  const json_t *opts = json_object_get(v, "Options");
  if (json_object_size(opts)) {
    struct active *a = find_active(vs, name);
    if (!a) {
      if (!is_mountpoint(p) && (rc = mount_opts(p, opts, err)) < 0) {
        pthread_mutex_unlock(&vs->lock);
        return berr_wrap(err, "error while mounting volume '%s'", p);
      }
      a = xcalloc(1, sizeof(*a));
      a->name = xstrdup(name);
      a->holders = json_array();
      a->next = vs->active;
      vs->active = a;
    }
    if (!holders_has(a->holders, cid))
      json_array_append_new(a->holders, json_string(cid));
  }
  pthread_mutex_unlock(&vs->lock);
  *path = steal_ptr(p);
  return 0;
}

void volume_release(struct volumes *vs, const char *name, const char *cid) {
  pthread_mutex_lock(&vs->lock);
  struct active **pp = &vs->active;
  for (; *pp && strcmp((*pp)->name, name); pp = &(*pp)->next)
    ;
  struct active *a = *pp;
  if (a) {
    for (size_t i = 0; i < json_array_size(a->holders); i++)
      if (strcmp(json_string_value(json_array_get(a->holders, i)), cid) == 0)
        json_array_remove(a->holders, i--);
    if (json_array_size(a->holders) == 0) {
      _cleanup_free_ char *p = volume_path(vs, name);
      if (umount2(p, MNT_DETACH) < 0)
        log_warn("unmount volume %s: %s", name, strerror(errno));
      *pp = a->next;
      free(a->name);
      json_decref(a->holders);
      free(a);
    }
  }
  pthread_mutex_unlock(&vs->lock);
}
