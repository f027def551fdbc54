/*
 * db.c — the SQLite helpers of store.h ("metadata DB"), used by the store
 * (store.db) and by berthd (berthd.db).
 *
 * One connection per DB file, opened in SQLite's serialized threading mode
 * so any thread may use it. Writers group their statements between db_begin
 * and db_commit/db_rollback: BEGIN IMMEDIATE takes SQLite's write lock at
 * once (no deadlock-prone upgrade from a read lock), and db->lock keeps the
 * other threads of this process out of the connection's open transaction
 * until it ends — SQLite itself would let them join it.
 *
 * Invariant: db->lock is held exactly while a transaction opened by
 * db_begin is open; db_commit and db_rollback always release it.
 */
#include <errno.h>
#include <pthread.h>

#include "store/store.h"

struct db {
  sqlite3 *h;
  char *path;
  pthread_mutex_t lock; /* held from db_begin to db_commit / db_rollback */
};

static int db_fail(struct db *db, struct berr **err, const char *what) {
  return berr_set(err, EIO, "database %s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

int db_open(const char *path, const char *schema, struct db **out, struct berr **err) {
  struct db *db = xcalloc(1, sizeof *db);
  db->path = xstrdup(path);
  pthread_mutex_init(&db->lock, NULL);
  int rc = sqlite3_open_v2(path, &db->h,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK) {
    berr_set(err, EIO, "open database %s: %s", path, db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
    db_close(db);
    return -EIO;
  }
  /* Writers in other processes (a second berthd on the same root by mistake)
   * or a checkpoint may hold the lock a moment: wait rather than fail. */
  sqlite3_busy_timeout(db->h, 10000);
  static const char pragmas[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                "PRAGMA foreign_keys=ON;";
  if (db_exec(db, pragmas, err) < 0 || (schema && db_exec(db, schema, err) < 0)) {
    db_close(db);
    return -EIO;
  }
  *out = db;
  return 0;
}

void db_close(struct db *db) {
  if (!db)
    return;
  if (db->h)
    sqlite3_close_v2(db->h);
  pthread_mutex_destroy(&db->lock);
  free(db->path);
  free(db);
}

sqlite3 *db_handle(struct db *db) { return db->h; }

int db_exec(struct db *db, const char *sql, struct berr **err) {
  char *msg = NULL;
  if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
    /* name the statement by its first words: enough to find it */
    berr_set(err, EIO, "database %s: %.40s: %s", db->path, sql, msg ? msg : "error");
    sqlite3_free(msg);
    return -EIO;
  }
  return 0;
}

int db_begin(struct db *db, struct berr **err) {
  pthread_mutex_lock(&db->lock);
  if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    int r = db_fail(db, err, "begin transaction");
    pthread_mutex_unlock(&db->lock);
    return r;
  }
  return 0;
}

int db_commit(struct db *db, struct berr **err) {
  int r = 0;
  if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    r = db_fail(db, err, "commit");
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
  }
  pthread_mutex_unlock(&db->lock);
  return r;
}

void db_rollback(struct db *db) {
  sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_unlock(&db->lock);
}
