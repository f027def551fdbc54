/*
 * container.c — the container manager's table, names, lookup and persistence.
 *
 * Owns struct containers (d->ctrs): an array of struct container *, each with
 * one reference held by the table. Lookups (ctr_get) take a reference under the
 * manager lock; the last ctr_put of a removed container frees it.
 *
 * Names are unique among the table's entries: ctr_register / ctr_set_name check
 * and take a name under the manager lock, so two creates cannot both get it.
 *
 * Persistence: table containers(id, name, doc) in d->db, doc = ctr_to_record().
 * containers_init loads every row, then lets container_run.c pick up the running
 * ones (ctr_resume) and apply restart policies.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <errno.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/container_internal.h"

#define ZERO_TIME "0001-01-01T00:00:00Z"

static const char *const state_names[] = {
    [CTR_CREATED] = "created", [CTR_RUNNING] = "running", [CTR_PAUSED] = "paused",
    [CTR_RESTARTING] = "restarting", [CTR_REMOVING] = "removing", [CTR_EXITED] = "exited",
    [CTR_DEAD] = "dead",
};

const char *ctr_state_name(enum ctr_state s) {
  if ((size_t)s < sizeof(state_names) / sizeof(state_names[0]))
    return state_names[s];
  return "unknown";
}

static enum ctr_state state_parse(const char *s) {
  for (size_t i = 0; s && i < sizeof(state_names) / sizeof(state_names[0]); i++)
    if (strcmp(state_names[i], s) == 0)
      return (enum ctr_state)i;
  return CTR_DEAD;
}

int64_t ctr_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* "2024-01-02T03:04:05.123456789Z" → ns since the epoch; 0 for Go's zero time. */
int64_t ctr_parse_time(const char *s) {
  struct tm tm = {0};
  if (s == NULL)
    return 0;
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == NULL || tm.tm_year < 70)
    return 0;
  int64_t ns = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 9)
        ns = ns * 10 + (*p - '0');
    for (; digits < 9; digits++)
      ns *= 10;
  }
  return (int64_t)timegm(&tm) * 1000000000LL + ns;
}

/* ------------------------------------------------------------ records ---- */

struct container *ctr_alloc(void) {
  struct container *c = xcalloc(1, sizeof(*c));
  pthread_mutex_init(&c->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&c->changed, &ca);
  pthread_condattr_destroy(&ca);
  c->refs = 1;
  c->state = CTR_CREATED;
  c->started_at = xstrdup(ZERO_TIME);
  c->finished_at = xstrdup(ZERO_TIME);
  c->exec_ids = json_array();
  return c;
}

static void ctr_free(struct container *c) {
  free(c->name);
  json_decref(c->config);
  json_decref(c->host_config);
  free(c->image_id);
  free(c->created);
  free(c->path);
  json_decref(c->args);
  free(c->runtime);
  free(c->error);
  free(c->started_at);
  free(c->finished_at);
  json_decref(c->health);
  json_decref(c->exec_ids);
  free(c->root_dir);
  free(c->run_dir);
  free(c->log_path);
  free(c->rootfs);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->changed);
  free(c);
}

void ctr_set_paths(struct daemon *d, struct container *c) {
  free(c->root_dir);
  free(c->run_dir);
  free(c->log_path);
  c->root_dir = xasprintf("%s/containers/%s", d->cfg.data_root, c->id);
  c->run_dir = xasprintf("%s/containers/%s", d->cfg.exec_root, c->id);
  c->log_path = xasprintf("%s/%s-json.log", c->root_dir, c->id);
}

char *ctr_shim_dir(const struct container *c) {
  return xasprintf("%s/shim", c->run_dir);
}

char *ctr_runtime_path(struct daemon *d, const struct container *c) {
  const char *name = c->runtime ? c->runtime : "berth-runc";
  pthread_mutex_lock(&d->cfg_lock);
  const char *p = config_runtime_path(&d->cfg, name);
  char *r = xstrdup(p ? p : d->cfg.runtime_path ? d->cfg.runtime_path : "berth-runc");
  pthread_mutex_unlock(&d->cfg_lock);
  return r;
}

char *ctr_runtime_root(struct daemon *d, const struct container *c) {
  return xasprintf("%s/runtime/%s", d->cfg.exec_root, c->runtime ? c->runtime : "berth-runc");
}

static json_t *jstr_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

json_t *ctr_to_record(const struct container *c) {
  json_t *st = json_pack("{s:s,s:i,s:i,s:b,s:s?,s:s,s:s,s:b,s:i}", "Status",
                         ctr_state_name(c->state), "Pid", (int)c->pid, "ExitCode", c->exit_code,
                         "OOMKilled", c->oom_killed, "Error", c->error, "StartedAt",
                         c->started_at, "FinishedAt", c->finished_at, "ManuallyStopped",
                         c->manually_stopped, "RestartCount", c->restart_count);
  json_t *doc = json_pack("{s:s,s:s,s:O,s:O,s:o,s:s,s:o,s:O,s:s?,s:o,s:O}", "Id", c->id, "Name",
                          c->name, "Config", c->config, "HostConfig", c->host_config, "Image",
                          jstr_or_null(c->image_id), "Created", c->created, "Path",
                          jstr_or_null(c->path), "Args", c->args, "Runtime", c->runtime, "State",
                          st, "ExecIDs", c->exec_ids);
  if (c->health)
    json_object_set(doc, "Health", c->health);
  return doc;
}

static char *jdup(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? xstrdup(s) : NULL;
}

int ctr_from_record(struct daemon *d, const json_t *doc, struct container **out,
                    struct berr **err) {
  const char *id = json_string_value(json_object_get(doc, "Id"));
  const char *name = json_string_value(json_object_get(doc, "Name"));
  const json_t *st = json_object_get(doc, "State");
  if (id == NULL || strlen(id) != 64 || name == NULL || !json_is_object(st))
    return berr_set(err, EINVAL, "container record: missing Id, Name or State");
  struct container *c = ctr_alloc();
  memcpy(c->id, id, 65);
  c->name = xstrdup(name);
  c->config = json_deep_copy(json_object_get(doc, "Config"));
  c->host_config = json_deep_copy(json_object_get(doc, "HostConfig"));
  if (!c->config)
    c->config = json_object();
  if (!c->host_config)
    c->host_config = json_object();
  c->image_id = jdup(doc, "Image");
  c->created = jdup(doc, "Created");
  if (!c->created)
    c->created = xstrdup(ZERO_TIME);
  c->path = jdup(doc, "Path");
  c->args = json_deep_copy(json_object_get(doc, "Args"));
  if (!c->args)
    c->args = json_array();
  c->runtime = jdup(doc, "Runtime");
  c->state = state_parse(json_string_value(json_object_get(st, "Status")));
  c->pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
  c->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
  c->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
  c->error = jdup(st, "Error");
  char *s = jdup(st, "StartedAt");
  if (s) {
    free(c->started_at);
    c->started_at = s;
  }
  s = jdup(st, "FinishedAt");
  if (s) {
    free(c->finished_at);
    c->finished_at = s;
  }
  c->manually_stopped = json_is_true(json_object_get(st, "ManuallyStopped"));
  c->restart_count = (int)json_integer_value(json_object_get(st, "RestartCount"));
  json_t *h = json_object_get(doc, "Health");
  if (json_is_object(h))
    c->health = json_deep_copy(h);
  json_t *e = json_object_get(doc, "ExecIDs");
  if (json_is_array(e)) {
    json_decref(c->exec_ids);
    c->exec_ids = json_deep_copy(e);
  }
  ctr_set_paths(d, c);
  *out = c;
  return 0;
}

int ctr_save(struct daemon *d, struct container *c, struct berr **err) {
  if (d->db == NULL)
    return 0;
  _cleanup_json_ json_t *doc = ctr_to_record(c);
  _cleanup_free_ char *txt = json_dump_compact(doc);
  sqlite3 *h = db_handle(d->db);
  int rc = db_begin(d->db, err);
  if (rc < 0)
    return berr_wrap(err, "save container %s", c->id);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "INSERT OR REPLACE INTO containers(id, name, doc) VALUES (?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK) {
    db_rollback(d->db);
    return berr_set(err, EIO, "save container %s: %s", c->id, sqlite3_errmsg(h));
  }
  sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, txt, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  if (s != SQLITE_DONE) {
    db_rollback(d->db);
    return berr_set(err, EIO, "save container %s: %s", c->id, sqlite3_errmsg(h));
  }
  return db_commit(d->db, err) < 0 ? berr_wrap(err, "save container %s", c->id) : 0;
}

static int record_delete(struct daemon *d, const char *id, struct berr **err) {
  if (d->db == NULL)
    return 0;
  sqlite3 *h = db_handle(d->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "DELETE FROM containers WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "delete container %s: %s", id, sqlite3_errmsg(h));
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  if (s != SQLITE_DONE)
    return berr_set(err, EIO, "delete container %s: %s", id, sqlite3_errmsg(h));
  return 0;
}

/* -------------------------------------------------------------- names ---- */

int ctr_name_check(const char *name, struct berr **err) {
  const char *n = name[0] == '/' ? name + 1 : name;
  bool ok = false;
  if (strlen(n) >= 2) {
    ok = (n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
         (n[0] >= '0' && n[0] <= '9');
    for (const char *p = n + 1; ok && *p; p++)
      ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == '.' || *p == '-';
  }
  if (!ok)
    return berr_set(err, EINVAL,
                    "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                    name);
  return 0;
}

/* Our own word lists for Docker-style generated names (adjective_surname). */
static const char *const adjectives[] = {
    "agile",   "amazing",  "bold",    "brave",    "bright",  "calm",     "clever",  "cool",
    "crazy",   "dazzling", "eager",   "elated",   "epic",    "fervent",  "festive", "focused",
    "gallant", "gentle",   "happy",   "hopeful",  "jolly",   "keen",     "kind",    "lucid",
    "merry",   "modest",   "nifty",   "noble",    "peaceful", "quirky",  "relaxed", "serene",
    "sharp",   "silly",    "stoic",   "sweet",    "tender",  "trusting", "upbeat",  "vibrant",
    "wizardly", "zealous",
};
static const char *const surnames[] = {
    "agnesi",   "babbage",  "bohr",     "cannon",   "curie",   "darwin",  "dijkstra", "einstein",
    "euler",    "faraday",  "fermi",    "franklin", "galileo", "gauss",   "hopper",   "hypatia",
    "kepler",   "knuth",    "lamarr",   "lovelace", "maxwell", "meitner", "newton",   "noether",
    "pascal",   "planck",   "ramanujan", "ritchie", "shannon", "tesla",   "thompson", "turing",
    "volta",    "wiles",    "wu",       "yalow",
};

static bool name_taken_locked(struct containers *m, const char *name, const char *except_id,
                              const char **owner) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->items[i]->name, name) == 0 &&
        (except_id == NULL || strcmp(m->items[i]->id, except_id) != 0)) {
      if (owner)
        *owner = m->items[i]->id;
      return true;
    }
  return false;
}

static char *random_name_locked(struct containers *m) {
  for (int attempt = 0;; attempt++) {
    uint32_t r[2] = {0, 0};
    if (getrandom(r, sizeof(r), 0) != sizeof(r))
      r[0] = (uint32_t)ctr_now_ns(), r[1] = (uint32_t)(ctr_now_ns() >> 20);
    const char *a = adjectives[r[0] % (sizeof(adjectives) / sizeof(adjectives[0]))];
    const char *s = surnames[r[1] % (sizeof(surnames) / sizeof(surnames[0]))];
    /* Docker appends a digit after a collision */
    char *n = attempt ? xasprintf("%s_%s%d", a, s, (int)(r[1] % 10)) : xasprintf("%s_%s", a, s);
    if (!name_taken_locked(m, n, NULL, NULL))
      return n;
    free(n);
  }
}

static int name_conflict(const char *name, const char *owner, struct berr **err) {
  return berr_set(err, EEXIST,
                  "Conflict. The container name \"/%s\" is already in use by container \"%s\". "
                  "You have to remove (or rename) that container to be able to reuse that name.",
                  name, owner);
}

int ctr_register(struct daemon *d, struct container *c, struct berr **err) {
  struct containers *m = d->ctrs;
  pthread_mutex_lock(&m->lock);
  const char *owner = NULL;
  if (c->name == NULL) {
    c->name = random_name_locked(m);
  } else if (name_taken_locked(m, c->name, NULL, &owner)) {
    int rc = name_conflict(c->name, owner, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
  }
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 16;
    m->items = xrealloc(m->items, m->cap * sizeof(*m->items));
  }
  m->items[m->n++] = c; /* the caller's reference becomes the table's */
  __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL); /* … and the caller keeps one */
  pthread_mutex_unlock(&m->lock);
  return 0;
}

int ctr_set_name(struct daemon *d, struct container *c, const char *name, struct berr **err) {
  struct containers *m = d->ctrs;
  const char *n = name[0] == '/' ? name + 1 : name;
  int rc = ctr_name_check(name, err);
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&m->lock);
  const char *owner = NULL;
  if (name_taken_locked(m, n, c->id, &owner)) {
    rc = name_conflict(n, owner, err);
  } else {
    pthread_mutex_lock(&c->lock);
    free(c->name);
    c->name = xstrdup(n);
    pthread_mutex_unlock(&c->lock);
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

int ctr_unregister(struct daemon *d, struct container *c, struct berr **err) {
  struct containers *m = d->ctrs;
  bool found = false;
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->n; i++)
    if (m->items[i] == c) {
      memmove(&m->items[i], &m->items[i + 1], (m->n - i - 1) * sizeof(*m->items));
      m->n--;
      found = true;
      break;
    }
  pthread_mutex_unlock(&m->lock);
  pthread_mutex_lock(&c->lock);
  c->removed = true;
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
  int rc = record_delete(d, c->id, err);
  if (found)
    ctr_put(c); /* the table's reference */
  return rc;
}

/* ------------------------------------------------------------- lookup ---- */

int ctr_get(struct daemon *d, const char *name_or_id, struct container **out, struct berr **err) {
  struct containers *m = d->ctrs;
  if (name_or_id == NULL || *name_or_id == '\0')
    return berr_set(err, ENOENT, "No such container: %s", name_or_id ? name_or_id : "");
  const char *n = name_or_id[0] == '/' ? name_or_id + 1 : name_or_id;
  struct container *hit = NULL;
  int matches = 0;
  pthread_mutex_lock(&m->lock);
  /* Docker's order: full ID, then name, then a unique ID prefix */
  for (size_t i = 0; i < m->n && !hit; i++)
    if (strcmp(m->items[i]->id, n) == 0)
      hit = m->items[i];
  for (size_t i = 0; i < m->n && !hit; i++)
    if (strcmp(m->items[i]->name, n) == 0)
      hit = m->items[i];
  if (!hit && name_or_id[0] != '/')
    for (size_t i = 0; i < m->n; i++)
      if (str_has_prefix(m->items[i]->id, n)) {
        hit = m->items[i];
        matches++;
      }
  if (hit && matches <= 1)
    __atomic_add_fetch(&hit->refs, 1, __ATOMIC_ACQ_REL);
  pthread_mutex_unlock(&m->lock);
  if (matches > 1)
    return berr_set(err, EINVAL, "multiple IDs found with provided prefix: %s", n);
  if (!hit)
    return berr_set(err, ENOENT, "No such container: %s", name_or_id);
  *out = hit;
  return 0;
}

void ctr_put(struct container *c) {
  if (c == NULL)
    return;
  /* refs are guarded by the manager lock; use an atomic here so that ctr_put
   * needs no daemon pointer */
  if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
    ctr_free(c);
}

struct container **ctr_list(struct daemon *d, size_t *n) {
  struct containers *m = d->ctrs;
  pthread_mutex_lock(&m->lock);
  struct container **v = xcalloc(m->n + 1, sizeof(*v));
  for (size_t i = 0; i < m->n; i++) {
    v[i] = m->items[i];
    __atomic_add_fetch(&v[i]->refs, 1, __ATOMIC_ACQ_REL);
  }
  *n = m->n;
  pthread_mutex_unlock(&m->lock);
  return v;
}

void ctr_list_free(struct container **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    ctr_put(v[i]);
  free(v);
}

/* ------------------------------------------------------------- events ---- */

void ctr_event(struct daemon *d, const struct container *c, const char *action, json_t *extra) {
  if (d->events == NULL) {
    json_decref(extra);
    return;
  }
  json_t *attrs = json_object();
  json_t *labels = json_object_get(c->config, "Labels");
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) json_object_set(attrs, k, v);
  const char *image = json_string_value(json_object_get(c->config, "Image"));
  json_object_set_new(attrs, "image", json_string(image ? image : c->image_id ? c->image_id : ""));
  json_object_set_new(attrs, "name", json_string(c->name));
  if (extra)
    json_object_update(attrs, extra);
  json_decref(extra);
  events_publish(d->events, "container", action, c->id, attrs);
}

/* ---------------------------------------------------------- lifecycle ---- */

static int load_all(struct daemon *d, struct berr **err) {
  sqlite3 *h = db_handle(d->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "SELECT id, doc FROM containers", -1, &st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "load containers: %s", sqlite3_errmsg(h));
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *txt = (const char *)sqlite3_column_text(st, 1);
    json_error_t je;
    _cleanup_json_ json_t *doc = txt ? json_loads(txt, 0, &je) : NULL;
    struct container *c = NULL;
    _cleanup_berr_ struct berr *e = NULL;
    if (doc == NULL || ctr_from_record(d, doc, &c, &e) < 0) {
      log_warn("container %s: unreadable record, skipped: %s", id ? id : "?",
               e ? e->msg : je.text);
      continue;
    }
    if (ctr_register(d, c, &e) < 0) {
      log_warn("container %s: %s", c->id, e->msg);
      ctr_put(c);
      continue;
    }
    ctr_put(c);
  }
  sqlite3_finalize(st);
  return 0;
}

int containers_init(struct daemon *d, struct berr **err) {
  struct containers *m = xcalloc(1, sizeof(*m));
  pthread_mutex_init(&m->lock, NULL);
  pthread_cond_init(&m->idle, NULL);
  m->d = d;
  d->ctrs = m;
  if (d->db == NULL)
    return 0;
  if (db_exec(d->db,
              "CREATE TABLE IF NOT EXISTS containers (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
              "doc TEXT NOT NULL)",
              err) < 0)
    return berr_wrap(err, "containers table");
  int rc = load_all(d, err);
  if (rc < 0)
    return rc;
  size_t n = 0;
  struct container **v = ctr_list(d, &n);
  for (size_t i = 0; i < n; i++)
    ctr_resume(d, v[i]);
  ctr_list_free(v, n);
  return 0;
}

struct shutdown_job {
  struct daemon *d;
  struct container *c;
  pthread_t t;
  bool started;
};

static void *shutdown_stop_thread(void *arg) {
  struct shutdown_job *j = arg;
  ctr_shutdown_stop(j->d, j->c);
  return NULL;
}

/* dockerd stops every container at once at shutdown, each with its own
 * StopSignal and StopTimeout: one thread per container, then join them all
 * (a thread that cannot be made stops its container here). */
static void stop_all(struct daemon *d, struct container **v, size_t n) {
  struct shutdown_job *jobs = xcalloc(n + 1, sizeof(*jobs));
  for (size_t i = 0; i < n; i++) {
    jobs[i].d = d;
    jobs[i].c = v[i];
    jobs[i].started = pthread_create(&jobs[i].t, NULL, shutdown_stop_thread, &jobs[i]) == 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (jobs[i].started)
      pthread_join(jobs[i].t, NULL);
    else
      ctr_shutdown_stop(d, v[i]);
  }
  free(jobs);
}

void containers_shutdown(struct daemon *d) {
  struct containers *m = d->ctrs;
  if (m == NULL)
    return;
  size_t n = 0;
  struct container **v = ctr_list(d, &n);
  pthread_mutex_lock(&d->cfg_lock);
  bool live = d->cfg.live_restore;
  pthread_mutex_unlock(&d->cfg_lock);
  if (!live)
    stop_all(d, v, n);
  /* from now on a monitor that wakes leaves everything alone (the store and
   * the event bus go away after us); a restart back-off in progress wakes up
   * and gives up (the record stays "restarting" for the next berthd); wait
   * for the monitors already recording */
  pthread_mutex_lock(&m->lock);
  __atomic_store_n(&m->closing, true, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&m->lock);
  for (size_t i = 0; i < n; i++) {
    pthread_mutex_lock(&v[i]->lock);
    pthread_cond_broadcast(&v[i]->changed);
    pthread_mutex_unlock(&v[i]->lock);
  }
  ctr_list_free(v, n);
  pthread_mutex_lock(&m->lock);
  while (m->active > 0)
    pthread_cond_wait(&m->idle, &m->lock);
  pthread_mutex_unlock(&m->lock);
  /* Monitor threads may still hold references; the table's own references are
   * dropped, the containers go with their last ctr_put. */
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->n; i++)
    ctr_put(m->items[i]);
  free(m->items);
  m->items = NULL;
  m->n = m->cap = 0;
  pthread_mutex_unlock(&m->lock);
  /* the manager itself stays allocated: detached monitor threads may still
   * look it up until the process exits (told to LeakSanitizer, which would
   * otherwise report it at every exit of the sanitizer build) */
#if defined(__SANITIZE_ADDRESS__)
  __lsan_ignore_object(m);
#endif
}

void containers_counts(struct daemon *d, int *total, int *running, int *paused, int *stopped) {
  *total = *running = *paused = *stopped = 0;
  if (d->ctrs == NULL)
    return;
  size_t n = 0;
  struct container **v = ctr_list(d, &n);
  for (size_t i = 0; i < n; i++) {
    pthread_mutex_lock(&v[i]->lock);
    enum ctr_state s = v[i]->state;
    pthread_mutex_unlock(&v[i]->lock);
    (*total)++;
    if (s == CTR_PAUSED)
      (*paused)++;
    else if (s == CTR_RUNNING || s == CTR_RESTARTING)
      (*running)++;
    else
      (*stopped)++;
  }
  ctr_list_free(v, n);
}

bool containers_image_in_use(const char *image_id, void *ctx, char *user,
                             bool *running) {
  struct daemon *d = ctx;
  if (user)
    user[0] = '\0';
  if (running)
    *running = false;
  if (d->ctrs == NULL || image_id == NULL)
    return false;
  const char *want = str_has_prefix(image_id, "sha256:") ? image_id + 7 : image_id;
  size_t n = 0;
  bool used = false, runs = false;
  struct container **v = ctr_list(d, &n);
  /* the first user, but a running one if there is any (dockerd's hard conflict) */
  for (size_t i = 0; i < n && !runs; i++) {
    const char *have = v[i]->image_id;
    if (have && str_has_prefix(have, "sha256:"))
      have += 7;
    if (have == NULL || strcmp(have, want) != 0)
      continue;
    pthread_mutex_lock(&v[i]->lock);
    enum ctr_state st = v[i]->state;
    pthread_mutex_unlock(&v[i]->lock);
    /* dockerd's IsRunning: paused and restarting containers run too */
    runs = st == CTR_RUNNING || st == CTR_PAUSED || st == CTR_RESTARTING;
    if (user && (runs || !used))
      snprintf(user, STORE_USER_ID_MAX, "%s", v[i]->id);
    used = true;
  }
  ctr_list_free(v, n);
  if (running)
    *running = runs;
  return used;
}

json_t *containers_df(struct daemon *d) {
  json_t *arr = json_array();
  if (d->ctrs == NULL)
    return arr;
  _cleanup_json_ json_t *all = NULL;
  _cleanup_berr_ struct berr *e = NULL;
  if (ctr_list_json(d, true, -1, true, NULL, &all, &e) == 0)
    json_array_extend(arr, all);
  return arr;
}
