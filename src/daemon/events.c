/*
 * events.c — the event bus behind GET /events.
 *
 * Owns a ring of the last EV_KEEP events (what `docker events --since`
 * can replay, as dockerd keeps its last 1024) and the subscribers: each
 * /events handler thread waits on one condition variable, broadcast at every
 * publish, and reads the ring from its own sequence number.
 *
 * Invariants: `seq` counts every event ever published; the ring holds
 * events seq-count .. seq-1; a reader that fell further behind than the ring
 * skips to the oldest kept event (Docker drops events for slow readers too).
 * Event objects in the ring are immutable once published, so a reader can
 * take a reference and write it out without the lock.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "daemon/daemon.h"

#define EV_KEEP 1024

struct events {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  json_t *ring[EV_KEEP];
  int64_t ring_ns[EV_KEEP];
  uint64_t seq;         /* events published so far */
  unsigned listeners;   /* /events streams now (NEventsListener in /info) */
  bool closing;
};

int events_new(struct events **out) {
  struct events *ev = xcalloc(1, sizeof(*ev));
  pthread_mutex_init(&ev->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&ev->cond, &ca);
  pthread_condattr_destroy(&ca);
  *out = ev;
  return 0;
}

void events_free(struct events *ev) {
  if (ev == NULL)
    return;
  for (size_t i = 0; i < EV_KEEP; i++)
    json_decref(ev->ring[i]);
  pthread_mutex_destroy(&ev->lock);
  pthread_cond_destroy(&ev->cond);
  free(ev);
}

unsigned events_listeners(struct events *ev) {
  pthread_mutex_lock(&ev->lock);
  unsigned n = ev->listeners;
  pthread_mutex_unlock(&ev->lock);
  return n;
}

void events_close(struct events *ev) {
  pthread_mutex_lock(&ev->lock);
  ev->closing = true;
  pthread_cond_broadcast(&ev->cond);
  pthread_mutex_unlock(&ev->lock);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Docker's Actor.Attributes is a map of strings (Go clients fail to decode
 * anything else): numbers and booleans a publisher passed become their text,
 * other values are dropped. */
static void attrs_as_strings(json_t *attrs) {
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe(attrs, tmp, k, v) {
    if (json_is_string(v))
      continue;
    if (json_is_integer(v))
      json_object_set_new(attrs, k, json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
    else if (json_is_boolean(v))
      json_object_set_new(attrs, k, json_string(json_is_true(v) ? "true" : "false"));
    else
      json_object_del(attrs, k);
  }
}

void events_publish(struct events *ev, const char *type, const char *action, const char *id,
                    json_t *attrs) {
  if (ev == NULL) {
    json_decref(attrs);
    return;
  }
  if (attrs == NULL)
    attrs = json_object();
  attrs_as_strings(attrs);
  int64_t t = now_ns();
  json_t *e = json_object();
  /* the legacy fields, in dockerd's order, only for containers and images */
  bool legacy = strcmp(type, "container") == 0 || strcmp(type, "image") == 0;
  if (legacy) {
    json_object_set_new(e, "status", json_string(action));
    json_object_set_new(e, "id", json_string(id ? id : ""));
    const char *from = json_string_value(json_object_get(attrs, "image"));
    if (from && strcmp(type, "container") == 0)
      json_object_set_new(e, "from", json_string(from));
  }
  json_object_set_new(e, "Type", json_string(type));
  json_object_set_new(e, "Action", json_string(action));
  json_object_set_new(e, "Actor", json_pack("{s:s, s:o}", "ID", id ? id : "", "Attributes", attrs));
  json_object_set_new(e, "scope", json_string("local"));
  json_object_set_new(e, "time", json_integer(t / 1000000000));
  json_object_set_new(e, "timeNano", json_integer(t));
  pthread_mutex_lock(&ev->lock);
  size_t slot = ev->seq % EV_KEEP;
  json_decref(ev->ring[slot]);
  ev->ring[slot] = e;
  ev->ring_ns[slot] = t;
  ev->seq++;
  pthread_cond_broadcast(&ev->cond);
  pthread_mutex_unlock(&ev->lock);
}

/* ---- filters (Docker's daemon/events/filter.go semantics) ---- */

static const char *attr(const json_t *e, const char *name) {
  return json_string_value(json_object_get(json_object_get(json_object_get(e, "Actor"),
                                                           "Attributes"),
                                           name));
}

/* Exact match, or an ID prefix (Docker's FuzzyMatch). */
static bool fuzzy(const json_t *f, const char *key, const char *id, const char *name) {
  const json_t *list = json_object_get(f, key);
  if (json_array_size(list) == 0)
    return true;
  size_t i;
  const json_t *v;
  json_array_foreach(list, i, v) {
    const char *w = json_string_value(v);
    if ((name && strcmp(w, name) == 0) || (id && *w && str_has_prefix(id, w)))
      return true;
  }
  return false;
}

/* "busybox" matches "busybox:latest" and the other way round. */
static bool image_match(const json_t *f, const char *img) {
  const json_t *list = json_object_get(f, "image");
  if (json_array_size(list) == 0)
    return true;
  if (img == NULL)
    return false;
  size_t i;
  const json_t *v;
  json_array_foreach(list, i, v) {
    const char *w = json_string_value(v);
    size_t wl = strlen(w), il = strlen(img);
    if (strcmp(w, img) == 0 || (str_has_suffix(img, ":latest") && il - 7 == wl &&
                                strncmp(img, w, wl) == 0) ||
        (str_has_suffix(w, ":latest") && wl - 7 == il && strncmp(img, w, il) == 0) ||
        (*w && str_has_prefix(img, "sha256:") && str_has_prefix(img + 7, w)))
      return true;
  }
  return false;
}

static bool action_match(const json_t *f, const char *action) {
  if (filters_match(f, "event", action))
    return true;
  /* "exec_start: sh -c ..." is matched by "exec_start" */
  const char *colon = strchr(action, ':');
  if (colon == NULL)
    return false;
  _cleanup_free_ char *base = strndup(action, (size_t)(colon - action));
  return filters_match(f, "event", base);
}


bool events_match(const json_t *e, const json_t *f) {
  if (f == NULL || json_object_size(f) == 0)
    return true;
  const char *type = json_string_value(json_object_get(e, "Type"));
  const char *action = json_string_value(json_object_get(e, "Action"));
  const char *id = json_string_value(json_object_get(json_object_get(e, "Actor"), "ID"));
  const char *name = attr(e, "name");
  bool is_ctr = strcmp(type, "container") == 0, is_img = strcmp(type, "image") == 0;
  if (!filters_match(f, "type", type) || !action_match(f, action) ||
      !filters_match(f, "scope", "local"))
    return false;
  if (json_object_get(f, "container") && !(is_ctr && fuzzy(f, "container", id, name)))
    return false;
  if (json_object_get(f, "daemon") && !(strcmp(type, "daemon") == 0 && fuzzy(f, "daemon", id, name)))
    return false;
  if (json_object_get(f, "network") && !(strcmp(type, "network") == 0 && fuzzy(f, "network", id, name)))
    return false;
  if (json_object_get(f, "volume") && !(strcmp(type, "volume") == 0 && fuzzy(f, "volume", id, name)))
    return false;
  if (json_object_get(f, "image")) {
    const char *img = is_ctr ? attr(e, "image") : is_img ? (name ? name : id) : NULL;
    if (!(is_ctr || is_img) || (!image_match(f, img) && !(is_img && image_match(f, id))))
      return false;
  }
  return filters_match_labels(f, "label",
                              json_object_get(json_object_get(e, "Actor"), "Attributes"));
}

/* Docker's since/until: unix seconds with optional ".nanoseconds"; 0 if absent. */
int events_parse_time(const char *s, int64_t *out) {
  *out = 0;
  if (s == NULL || *s == '\0')
    return 0;
  const char *dot = strchr(s, '.');
  _cleanup_free_ char *sec = dot ? strndup(s, (size_t)(dot - s)) : xstrdup(s);
  int64_t secs, nanos = 0;
  if (parse_int64(sec, &secs) < 0 || secs < 0 || secs > INT64_MAX / 1000000000 - 1)
    return -EINVAL;
  if (dot) {
    const char *f = dot + 1;
    size_t n = strlen(f);
    if (n == 0 || n > 9 || strspn(f, "0123456789") != n)
      return -EINVAL;
    nanos = atoll(f);
    for (size_t i = n; i < 9; i++)
      nanos *= 10;
  }
  *out = secs * 1000000000 + nanos;
  return 0;
}

/* ---- the /events stream ---- */

/* Has the client closed its side? (it sends nothing after the request) */
static bool client_gone(struct http_req *r) {
  struct pollfd p = {.fd = http_conn_fd(r->conn), .events = POLLIN | POLLRDHUP};
  if (poll(&p, 1, 0) <= 0)
    return false;
  if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
    return true;
  char b;
  return recv(p.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static int write_event(struct http_req *r, json_t *e) {
  _cleanup_free_ char *s = json_dumps(e, JSON_COMPACT);
  if (s == NULL)
    return 0;
  _cleanup_free_ char *line = xasprintf("%s\n", s);
  return http_stream_write(r, line, strlen(line));
}

/* Take the next event for a reader at *next (under the lock): a new
 * reference, or NULL when it has read everything. */
static json_t *take(struct events *ev, uint64_t *next, int64_t *t) {
  if (*next + EV_KEEP < ev->seq)
    *next = ev->seq - EV_KEEP;
  if (*next >= ev->seq)
    return NULL;
  size_t slot = *next % EV_KEEP;
  (*next)++;
  *t = ev->ring_ns[slot];
  return json_incref(ev->ring[slot]);
}

void events_serve(struct events *ev, struct http_req *r, int64_t since_ns, int64_t until_ns,
                  json_t *filters) {
  if (http_stream_begin(r, 200, "application/json") < 0)
    return;
  pthread_mutex_lock(&ev->lock);
  ev->listeners++;
  /* without --since only new events; with it, the kept ones from then on */
  uint64_t next = since_ns > 0 ? (ev->seq > EV_KEEP ? ev->seq - EV_KEEP : 0) : ev->seq;
  bool done = false;
  while (!done && !ev->closing) {
    int64_t t;
    json_t *e = take(ev, &next, &t);
    if (e) {
      pthread_mutex_unlock(&ev->lock);
      if (until_ns > 0 && t > until_ns)
        done = true;
      else if (t >= since_ns && events_match(e, filters) && write_event(r, e) < 0)
        done = true;
      json_decref(e);
      pthread_mutex_lock(&ev->lock);
      continue;
    }
    int64_t now = now_ns();
    if (until_ns > 0 && now >= until_ns)
      break;
    /* wake at least every second to notice a client that went away */
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int64_t wait = until_ns > 0 && until_ns - now < 1000000000 ? until_ns - now : 1000000000;
    dl.tv_sec += wait / 1000000000;
    dl.tv_nsec += wait % 1000000000;
    if (dl.tv_nsec >= 1000000000) {
      dl.tv_sec++;
      dl.tv_nsec -= 1000000000;
    }
    int rc = pthread_cond_timedwait(&ev->cond, &ev->lock, &dl);
    if (rc == ETIMEDOUT) {
      pthread_mutex_unlock(&ev->lock);
      done = client_gone(r);
      pthread_mutex_lock(&ev->lock);
    }
  }
  ev->listeners--;
  pthread_mutex_unlock(&ev->lock);
  http_stream_end(r);
}
