/*
 * stages.c — runs the stages a build needs, independent ones at the same
 * time (build_internal.h: bx_run_stages).
 *
 * Order: the needed stages are listed in graph-level order (level, then
 * index: what the sequential builder did). A stage starts, on its own
 * thread, when every stage it depends on has finished and fewer than
 * BUILD_MAX_PARALLEL are running. Each stage works on a private copy of the
 * build state: its own options (out/msg point at the stage's buffer, its
 * own exit code), its own error, its own temp dir (layer tars, RUN bundles,
 * the runtime's state root) and its own list of used build args (merged at
 * the end). The shared parts are thread-safe: the store and the cache (the
 * store serialises writers; the DB handle is SQLite FULLMUTEX), and
 * stage_image[], whose entry is written once by its stage and read only by
 * stages started after it finished (the mutex orders them).
 *
 * Output: every stage's messages are buffered and the calling thread
 * prints them, in the stage order above: the first unfinished stage
 * streams live, the others' text waits until every stage before them is
 * done. So the output is byte for byte what a sequential build prints
 * (step numbers are fixed up front), and o->out / o->msg are only ever
 * called on the caller's thread.
 *
 * Failure: the first stage to fail sets `cancel`; no stage starts after it,
 * running stages stop before their next instruction, and a RUN container
 * of theirs is killed (`<runtime> --root <stage tmp>/runc kill <id> KILL`,
 * repeated until the stage has returned, so a RUN that started meanwhile
 * dies too). Each stage releases its own snapshots on the error path, so a
 * cancelled build leaves nothing behind. The error reported is the first
 * failure's; the output printed stops after the failed stage's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "build/build_internal.h"

#define BUILD_MAX_PARALLEL 3

extern char **environ;

enum srun_state { SR_WAIT, SR_RUNNING, SR_DONE };

struct sched;

struct srun {              /* one needed stage */
  size_t si;               /* index in df->stages */
  struct bstate bs;        /* the stage's copy of the build state */
  struct build_opts o;     /* the build's options, output redirected here */
  struct berr *err;
  int exit_code;
  json_t *pending;         /* messages not printed yet (under sc->mu) */
  enum srun_state state;   /* under sc->mu */
  int rc;
  pthread_t th;
  struct sched *sc;
};

struct sched {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  const struct build_opts *o; /* the caller's: where output goes */
  struct srun *runs;
  size_t n;
  int running;
  bool cancel;             /* read without the lock by the stages */
  unsigned long gen;       /* bumped with every broadcast: drive() waits only
                            * while it is unchanged, so a wake-up sent while
                            * it was printing (lock dropped) is not lost */
  ssize_t failed;          /* the first failure (index in runs) */
};

static void push(struct srun *run, json_t *m) {
  pthread_mutex_lock(&run->sc->mu);
  json_array_append_new(run->pending, m);
  run->sc->gen++;
  pthread_cond_broadcast(&run->sc->cv);
  pthread_mutex_unlock(&run->sc->mu);
}

static void stage_out(void *ctx, const char *text) { push(ctx, json_pack("{s:s}", "stream", text)); }

static void stage_msg(void *ctx, json_t *m) { push(ctx, json_deep_copy(m)); }

/* Print messages on the caller's thread. */
static void emit(const struct build_opts *o, json_t *msgs) {
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    json_t *s = json_object_get(m, "stream");
    if (json_is_string(s) && json_object_size(m) == 1) {
      if (o->out)
        o->out(o->ctx, json_string_value(s));
    } else if (o->msg) {
      o->msg(o->ctx, m);
    }
  }
}

static bool deps_done(struct sched *sc, const struct srun *run, bool *dep_failed) {
  const struct bgraph_stage *gs = &run->bs.g.stages[run->si];
  for (size_t k = 0; k < gs->ndeps; k++)
    for (size_t j = 0; j < sc->n; j++)
      if (sc->runs[j].si == gs->deps[k]) {
        if (sc->runs[j].state != SR_DONE)
          return false;
        if (sc->runs[j].rc < 0)
          *dep_failed = true;
      }
  return true;
}

static void *stage_thread(void *arg) {
  struct srun *run = arg;
  struct sched *sc = run->sc;
  int r = bx_build_stage(&run->bs, run->si, &sc->cancel);
  pthread_mutex_lock(&sc->mu);
  run->rc = r;
  run->state = SR_DONE;
  sc->running--;
  if (r < 0 && !sc->cancel) {
    __atomic_store_n(&sc->cancel, true, __ATOMIC_RELAXED);
    sc->failed = run - sc->runs;
  }
  sc->gen++;
  pthread_cond_broadcast(&sc->cv);
  pthread_mutex_unlock(&sc->mu);
  return NULL;
}

/* Kill the RUN containers of a running stage: every container in its
 * runtime state root (the runtime's `kill` on a gone one is harmless). */
static void kill_runs(const struct srun *run) {
  if (!run->o.runtime)
    return;
  _cleanup_free_ char *root = xasprintf("%s/runc", run->bs.tmp);
  _cleanup_closedir_ DIR *d = opendir(root);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char *const argv[] = {(char *)run->o.runtime, "--root", root, "kill", de->d_name, "KILL", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (posix_spawn(&pid, run->o.runtime, &fa, NULL, argv, environ) == 0)
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    posix_spawn_file_actions_destroy(&fa);
  }
}

/* Start the stages that can start (under sc->mu). */
static int start_ready(struct sched *sc, struct berr **err) {
  for (size_t i = 0; i < sc->n && !sc->cancel && sc->running < BUILD_MAX_PARALLEL; i++) {
    struct srun *run = &sc->runs[i];
    bool dep_failed = false;
    if (run->state != SR_WAIT || !deps_done(sc, run, &dep_failed) || dep_failed)
      continue;
    int e = pthread_create(&run->th, NULL, stage_thread, run);
    if (e != 0) {
      __atomic_store_n(&sc->cancel, true, __ATOMIC_RELAXED);
      return berr_sys(err, e, "start a build stage");
    }
    run->state = SR_RUNNING;
    sc->running++;
  }
  return 0;
}

static void srun_init(struct sched *sc, struct srun *run, const struct bstate *bs, size_t si, int step) {
  run->sc = sc;
  run->si = si;
  run->pending = json_array();
  run->o = *bs->o;
  run->o.out = bs->o->out ? stage_out : NULL;
  run->o.msg = bs->o->msg ? stage_msg : NULL;
  run->o.ctx = run;
  run->o.exit_code = &run->exit_code;
  run->bs = *bs;
  run->bs.o = &run->o;
  run->bs.err = &run->err;
  run->bs.used_args = NULL;
  run->bs.step = step;
  run->bs.tmp = xasprintf("%s/stage-%zu", bs->tmp, si);
}

static void srun_free(struct srun *run) {
  json_decref(run->pending);
  berr_free(run->err);
  strv_free(run->bs.used_args);
  if (run->bs.tmp)
    rm_rf(run->bs.tmp, NULL);
  free(run->bs.tmp);
}

/* The caller's loop: start stages, print the head's output, wait. */
static int drive(struct sched *sc, struct berr **err) {
  size_t head = 0;
  int r = 0;
  pthread_mutex_lock(&sc->mu);
  for (;;) {
    unsigned long seen = sc->gen;
    if (r == 0)
      r = start_ready(sc, err);
    while (head < sc->n) {
      struct srun *h = &sc->runs[head];
      json_t *msgs = h->pending;
      bool done = h->state == SR_DONE;
      h->pending = json_array();
      pthread_mutex_unlock(&sc->mu);
      emit(sc->o, msgs);
      json_decref(msgs);
      pthread_mutex_lock(&sc->mu);
      if (!done || json_array_size(h->pending) > 0)
        break;
      if (sc->cancel && (ssize_t)head == sc->failed)
        head = sc->n; /* nothing after the failed stage is printed */
      else
        head++;
    }
    if (head >= sc->n && sc->running == 0)
      break;
    if (sc->cancel && sc->running == 0)
      break;
    if (sc->cancel) {
      /* kill RUN containers of the stages still running, again until they return */
      for (size_t i = 0; i < sc->n; i++)
        if (sc->runs[i].state == SR_RUNNING) {
          pthread_mutex_unlock(&sc->mu);
          kill_runs(&sc->runs[i]);
          pthread_mutex_lock(&sc->mu);
        }
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 200 * 1000 * 1000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      if (sc->gen == seen)
        pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
    } else {
      while (sc->gen == seen)
        pthread_cond_wait(&sc->cv, &sc->mu);
    }
  }
  /* a cancelled build: what finished before and up to the failure */
  for (; head < sc->n && sc->cancel; head++) {
    struct srun *h = &sc->runs[head];
    if (h->state == SR_DONE)
      emit(sc->o, h->pending);
    if ((ssize_t)head == sc->failed)
      break;
  }
  pthread_mutex_unlock(&sc->mu);
  return r;
}

int bx_run_stages(struct bstate *bs) {
  struct sched sc = {.o = bs->o, .failed = -1};
  pthread_mutex_init(&sc.mu, NULL);
  pthread_cond_init(&sc.cv, NULL);
  /* level order, as the sequential builder ran them: step numbers follow it */
  int maxlvl = 0;
  for (size_t i = 0; i < bs->g.n; i++)
    if (bs->g.stages[i].level > maxlvl)
      maxlvl = bs->g.stages[i].level;
  sc.runs = xcalloc(bs->g.n + 1, sizeof *sc.runs);
  int step = bs->step;
  for (int lvl = 0; lvl <= maxlvl; lvl++)
    for (size_t i = 0; i < bs->g.n; i++)
      if (bs->g.stages[i].needed && bs->g.stages[i].level == lvl) {
        srun_init(&sc, &sc.runs[sc.n], bs, i, step);
        step += (int)bs->df->stages[i].ninstrs;
        sc.n++;
      }
  int r = 0;
  for (size_t i = 0; i < sc.n; i++)
    if (mkdir(sc.runs[i].bs.tmp, 0700) < 0 && r == 0)
      r = berr_sys(bs->err, errno, "create %s", sc.runs[i].bs.tmp);
  if (r == 0)
    r = drive(&sc, bs->err);
  for (size_t i = 0; i < sc.n; i++)
    if (sc.runs[i].state != SR_WAIT)
      pthread_join(sc.runs[i].th, NULL);
  if (r == 0 && sc.failed >= 0) {
    struct srun *f = &sc.runs[sc.failed];
    if (bs->o->exit_code)
      *bs->o->exit_code = f->exit_code;
    *bs->err = steal_ptr(f->err);
    r = f->rc;
  }
  /* build args used by any stage, and the step count, as one sequential run */
  for (size_t i = 0; i < sc.n; i++) {
    for (size_t k = 0; sc.runs[i].bs.used_args && sc.runs[i].bs.used_args[k]; k++) {
      if (!bs->used_args)
        bs->used_args = xcalloc(1, sizeof(char *));
      bs->used_args = strv_append(bs->used_args, xstrdup(sc.runs[i].bs.used_args[k]));
    }
    srun_free(&sc.runs[i]);
  }
  bs->step = step;
  free(sc.runs);
  pthread_cond_destroy(&sc.cv);
  pthread_mutex_destroy(&sc.mu);
  return r;
}
