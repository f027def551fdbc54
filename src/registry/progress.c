/*
 * progress.c — Docker's JSON progress messages (pkg/jsonmessage), built as
 * dockerd builds them on the server side, where the "terminal width" is
 * 200: so the "progress" string always has the bar, and never a time left
 * (dockerd's stream formatter does not pass Start through).
 *
 *   {"status":"Downloading","progressDetail":{"current":N,"total":M},
 *    "progress":"[==>      ]  1.2MB/3.4MB","id":"<12 hex>"}
 *
 * Sizes use go-units' HumanSize: "%.4g" of the value scaled by 1000 with
 * B, kB, MB, GB, TB, PB, EB, ZB, YB.
 */
#include <time.h>

#include "registry/registry_internal.h"

int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *human_size(double n) {
  static const char *const u[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t i = 0;
  while (n >= 1000.0 && i < sizeof u / sizeof u[0] - 1) {
    n /= 1000.0;
    i++;
  }
  return xasprintf("%.4g%s", n, u[i]);
}

char *progress_string(int64_t cur, int64_t total) {
  if (cur <= 0 && total <= 0)
    return xstrdup("");
  _cleanup_free_ char *c = human_size((double)cur);
  if (total <= 0)
    return xasprintf("%8s", c);
  int pct = (int)((double)cur / (double)total * 100) / 2;
  if (pct > 50)
    pct = 50;
  if (pct < 0)
    pct = 0;
  char bar[64];
  memset(bar, '=', (size_t)pct);
  bar[pct] = '>';
  memset(bar + pct + 1, ' ', (size_t)(50 - pct));
  bar[51] = '\0';
  _cleanup_free_ char *t = human_size((double)total);
  if (cur > total)
    return xasprintf("[%s] %8s", bar, c);
  return xasprintf("[%s] %8s/%s", bar, c, t);
}

static void emit(struct progress *p, json_t *m) {
  if (!p || !p->emit) {
    json_decref(m);
    return;
  }
  pthread_mutex_lock(&p->lock);
  p->emit(m, p->ctx);
  pthread_mutex_unlock(&p->lock);
}

void progress_msg(struct progress *p, const char *id, const char *status, bool detail) {
  json_t *m = json_pack("{s:s}", "status", status);
  if (detail)
    json_object_set_new(m, "progressDetail", json_object());
  if (id)
    json_object_set_new(m, "id", json_string(id));
  emit(p, m);
}

void progress_bar(struct progress *p, const char *id, const char *status, int64_t cur, int64_t total) {
  _cleanup_free_ char *bar = progress_string(cur, total);
  json_t *m = json_pack("{s:s,s:{s:I,s:I},s:s}", "status", status, "progressDetail", "current",
                        (json_int_t)cur, "total", (json_int_t)total, "progress", bar);
  if (id)
    json_object_set_new(m, "id", json_string(id));
  emit(p, m);
}
