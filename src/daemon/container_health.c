/*
 * container_health.c — HEALTHCHECK: one thread per run that execs the test
 * command in the container through the OCI runtime (`runtime exec ID CMD…`,
 * which takes the container's own env, cwd and user) every Interval, kills it
 * after Timeout, and keeps Docker's Health object: Status starting → healthy /
 * unhealthy after Retries failures in a row (failures inside StartPeriod do
 * not count), FailingStreak, the last five results in Log. A status change
 * publishes Docker's "health_status: healthy" event.
 *
 * The thread ends when the run it was started for ends (generation changes,
 * or the container stops / goes away).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "daemon/container_internal.h"

extern char **environ;

#define NS_PER_SEC 1000000000LL
#define HEALTH_LOG_MAX 5
#define OUTPUT_MAX 4096

struct health_arg {
  struct daemon *d;
  struct container *c;
  uint64_t generation;
  json_t *test;  /* ["CMD", …] | ["CMD-SHELL", "…"] */
  int64_t interval_ns, timeout_ns, start_period_ns;
  int retries;
};

json_t *ctr_health_json(const struct container *c) {
  return c->health ? json_deep_copy(c->health) : NULL;
}

static int64_t dur(const json_t *hc, const char *key, int64_t def) {
  json_int_t v = json_integer_value(json_object_get(hc, key));
  return v > 0 ? v : def;
}

/* "<int>.<frac>" with the fraction's trailing zeros dropped. */
static char *trimmed(long long whole, long long frac, int digits, const char *unit) {
  if (frac == 0)
    return xasprintf("%lld%s", whole, unit);
  char f[16];
  snprintf(f, sizeof(f), "%0*lld", digits, frac);
  for (size_t n = strlen(f); n > 0 && f[n - 1] == '0'; n--)
    f[n - 1] = '\0';
  return xasprintf("%lld.%s%s", whole, f, unit);
}

/* Go's time.Duration.String() for the timeout message ("300ms", "1.5s",
 * "1m30s"), as dockerd prints it. */
static char *go_duration(int64_t ns) {
  if (ns < 1000)
    return xasprintf("%lldns", (long long)ns);
  if (ns < 1000000)
    return trimmed(ns / 1000, ns % 1000, 3, "µs");
  if (ns < NS_PER_SEC)
    return trimmed(ns / 1000000, ns % 1000000, 6, "ms");
  int64_t secs = ns / NS_PER_SEC, h = secs / 3600, m = secs / 60 % 60;
  _cleanup_free_ char *sec = trimmed(secs % 60, ns % NS_PER_SEC, 9, "s");
  if (h)
    return xasprintf("%lldh%lldm%s", (long long)h, (long long)m, sec);
  if (m)
    return xasprintf("%lldm%s", (long long)m, sec);
  return xstrdup(sec);
}

/* Run the probe; *output gets up to OUTPUT_MAX bytes. Returns the exit code,
 * or -1 on timeout / spawn failure (output says why). */
static int probe(struct health_arg *a, char **output) {
  _cleanup_free_ char *rt = ctr_runtime_path(a->d, a->c);
  _cleanup_free_ char *root = ctr_runtime_root(a->d, a->c);
  const char *argv[64];
  size_t n = 0;
  argv[n++] = rt;
  argv[n++] = "--root";
  argv[n++] = root;
  argv[n++] = "exec";
  argv[n++] = a->c->id;
  const char *kind = json_string_value(json_array_get(a->test, 0));
  if (kind && strcmp(kind, "CMD-SHELL") == 0) {
    argv[n++] = "/bin/sh";
    argv[n++] = "-c";
    argv[n++] = json_string_value(json_array_get(a->test, 1));
  } else {
    for (size_t i = 1; i < json_array_size(a->test) && n < 63; i++)
      argv[n++] = json_string_value(json_array_get(a->test, i));
  }
  argv[n] = NULL;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) {
    *output = xstrdup("health check: pipe failed");
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, rt, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if (rc != 0) {
    close(pfd[0]);
    *output = xasprintf("health check: exec %s: %s", rt, strerror(rc));
    return -1;
  }
  char *buf = xcalloc(1, OUTPUT_MAX + 1);
  size_t got = 0;
  int64_t deadline = ctr_now_ns() + a->timeout_ns;
  bool timed_out = false;
  for (;;) {
    int64_t left = (deadline - ctr_now_ns()) / 1000000;
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
      continue;
    char tmp[1024];
    ssize_t r = read(pfd[0], tmp, sizeof(tmp));
    if (r <= 0)
      break;
    size_t take = (size_t)r > OUTPUT_MAX - got ? OUTPUT_MAX - got : (size_t)r;
    memcpy(buf + got, tmp, take);
    got += take;
  }
  close(pfd[0]);
  if (timed_out)
    kill(pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (timed_out) {
    free(buf);
    _cleanup_free_ char *d = go_duration(a->timeout_ns);
    *output = xasprintf("Health check exceeded timeout (%s)", d);
    return -1;
  }
  *output = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool same_run(struct health_arg *a) {
  pthread_mutex_lock(&a->c->lock);
  bool ok = a->c->generation == a->generation && !a->c->removed &&
            (a->c->state == CTR_RUNNING || a->c->state == CTR_PAUSED);
  pthread_mutex_unlock(&a->c->lock);
  return ok;
}

/* Sleep ns, waking early when the run ends. Returns false when it ended. */
static bool nap(struct health_arg *a, int64_t ns) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ns / NS_PER_SEC;
  ts.tv_nsec += ns % NS_PER_SEC;
  if (ts.tv_nsec >= NS_PER_SEC) {
    ts.tv_sec++;
    ts.tv_nsec -= NS_PER_SEC;
  }
  pthread_mutex_lock(&a->c->lock);
  while (a->c->generation == a->generation && !a->c->removed &&
         (a->c->state == CTR_RUNNING || a->c->state == CTR_PAUSED) &&
         pthread_cond_timedwait(&a->c->changed, &a->c->lock, &ts) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&a->c->lock);
  return same_run(a);
}

static void record(struct health_arg *a, const char *start, int code, const char *output,
                   int64_t run_started_ns) {
  _cleanup_free_ char *end = time_now_rfc3339();
  const char *new_status = NULL;
  pthread_mutex_lock(&a->c->lock);
  if (a->c->generation != a->generation || a->c->health == NULL) {
    pthread_mutex_unlock(&a->c->lock);
    return;
  }
  json_t *h = a->c->health;
  json_t *log = json_object_get(h, "Log");
  if (!json_is_array(log)) {
    log = json_array();
    json_object_set_new(h, "Log", log);
  }
  json_array_append_new(log, json_pack("{s:s,s:s,s:i,s:s}", "Start", start, "End", end,
                                       "ExitCode", code, "Output", output));
  while (json_array_size(log) > HEALTH_LOG_MAX)
    json_array_remove(log, 0);
  const char *old = json_string_value(json_object_get(h, "Status"));
  _cleanup_free_ char *old_s = xstrdup(old ? old : "");
  json_int_t streak = json_integer_value(json_object_get(h, "FailingStreak"));
  if (code == 0) {
    json_object_set_new(h, "FailingStreak", json_integer(0));
    json_object_set_new(h, "Status", json_string("healthy"));
  } else {
    bool in_start = ctr_now_ns() - run_started_ns < a->start_period_ns &&
                    strcmp(old_s, "starting") == 0;
    if (!in_start) {
      json_object_set_new(h, "FailingStreak", json_integer(++streak));
      if (streak >= a->retries)
        json_object_set_new(h, "Status", json_string("unhealthy"));
    }
  }
  new_status = json_string_value(json_object_get(h, "Status"));
  bool changed = strcmp(old_s, new_status) != 0;
  _cleanup_free_ char *ns = xstrdup(new_status);
  _cleanup_berr_ struct berr *e = NULL;
  ctr_save(a->d, a->c, &e);
  pthread_cond_broadcast(&a->c->changed);
  pthread_mutex_unlock(&a->c->lock);
  if (changed) {
    _cleanup_free_ char *action = xasprintf("health_status: %s", ns);
    ctr_event(a->d, a->c, action, NULL);
  }
}

static void *health_thread(void *arg) {
  struct health_arg *a = arg;
  int64_t run_started = ctr_now_ns();
  while (nap(a, a->interval_ns)) {
    _cleanup_free_ char *start = time_now_rfc3339();
    _cleanup_free_ char *out = NULL;
    ctr_event(a->d, a->c, "exec_start: health", NULL);
    int code = probe(a, &out);
    if (!same_run(a))
      break;
    record(a, start, code < 0 ? -1 : code, out ? out : "", run_started);
  }
  pthread_mutex_lock(&a->c->lock);
  if (a->c->generation == a->generation)
    a->c->health_running = false;
  pthread_mutex_unlock(&a->c->lock);
  json_decref(a->test);
  ctr_put(a->c);
  free(a);
  return NULL;
}

void ctr_health_start(struct daemon *d, struct container *c) {
  pthread_mutex_lock(&c->lock);
  const json_t *hc = json_object_get(c->config, "Healthcheck");
  const json_t *test = json_object_get(hc, "Test");
  const char *kind = json_string_value(json_array_get(test, 0));
  if (!kind || strcmp(kind, "NONE") == 0 || json_array_size(test) < 2) {
    pthread_mutex_unlock(&c->lock);
    return;
  }
  struct health_arg *a = xcalloc(1, sizeof(*a));
  a->d = d;
  a->c = c;
  a->generation = c->generation;
  a->test = json_deep_copy(test);
  a->interval_ns = dur(hc, "Interval", 30 * NS_PER_SEC);
  a->timeout_ns = dur(hc, "Timeout", 30 * NS_PER_SEC);
  a->start_period_ns = dur(hc, "StartPeriod", 0);
  a->retries = (int)dur(hc, "Retries", 3);
  /* a new run starts over: "starting", no streak (Docker keeps the log) */
  json_t *log = c->health ? json_incref(json_object_get(c->health, "Log")) : NULL;
  json_decref(c->health);
  c->health = json_pack("{s:s,s:i,s:o}", "Status", "starting", "FailingStreak", 0, "Log",
                        log ? log : json_array());
  c->health_running = true;
  __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
  pthread_mutex_unlock(&c->lock);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  if (pthread_create(&t, &at, health_thread, a) != 0) {
    json_decref(a->test);
    ctr_put(c);
    free(a);
  }
  pthread_attr_destroy(&at);
}
