/*
 * routes_volumes.c — the Engine API's volumes area over the volume store
 * (src/volume/volume.h): GET /volumes, POST /volumes/create,
 * GET /volumes/{name}, DELETE /volumes/{name}, POST /volumes/prune.
 *
 * API 1.41 semantics (dockerd 20.10): prune removes every unused local
 * volume, named ones included (API ≥ 1.42 would keep named ones unless
 * all=true). Events: volume create / destroy with the driver attribute.
 */
#include <errno.h>

#include "daemon/daemon.h"
#include "volume/volume.h"

static void vol_event(struct daemon *d, const char *action, const char *name) {
  events_publish(d->events, "volume", action, name, json_pack("{s:s}", "driver", "local"));
}

/* filters name (substring), driver, label, dangling */
static bool list_match(const json_t *f, const json_t *v, bool dangling_set, bool dangling,
                       size_t users) {
  const char *name = json_string_value(json_object_get(v, "Name"));
  const json_t *names = json_object_get(f, "name");
  if (json_array_size(names)) {
    bool any = false;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) any = any || strstr(name, json_string_value(n)) != NULL;
    if (!any)
      return false;
  }
  if (!filters_match(f, "driver", json_string_value(json_object_get(v, "Driver"))))
    return false;
  if (!filters_match_labels(f, "label", json_object_get(v, "Labels")))
    return false;
  return !dangling_set || dangling == (users == 0);
}

static int dangling_filter(const json_t *f, bool *set, bool *val, struct berr **err) {
  const json_t *l = json_object_get(f, "dangling");
  *set = false;
  size_t i;
  json_t *v;
  json_array_foreach(l, i, v) {
    const char *s = json_string_value(v);
    if (!strcmp(s, "true") || !strcmp(s, "1"))
      *val = true;
    else if (!strcmp(s, "false") || !strcmp(s, "0"))
      *val = false;
    else
      return berr_set(err, EINVAL, "Invalid filter 'dangling=%s'", s);
    *set = true;
  }
  return 0;
}

static void volumes_list(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *f = NULL, *all = NULL;
  static const char *const ok[] = {"dangling", "driver", "label", "name", NULL};
  bool dset = false, dval = false;
  if (filters_parse(http_query(r, "filters"), &f, &err) < 0 || filters_check(f, ok, &err) < 0 ||
      dangling_filter(f, &dset, &dval, &err) < 0 || volume_list(d->volumes, false, &all, &err) < 0)
    return http_reply_berr(r, err);
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v) {
    _cleanup_json_ json_t *u =
        volume_users(d->volumes, json_string_value(json_object_get(v, "Name")));
    if (list_match(f, v, dset, dval, json_array_size(u)))
      json_array_append(out, v);
  }
  http_reply_json(r, 200, json_pack("{s:o,s:n}", "Volumes", out, "Warnings"));
}

static bool str_map(const json_t *j) {
  if (j == NULL || json_is_null(j))
    return true;
  if (!json_is_object(j))
    return false;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)j, k, v) if (!json_is_string(v)) return false;
  return true;
}

static void volumes_create(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *body = NULL, *out = NULL;
  if (http_body_json(r, &body, &err) < 0)
    return http_reply_berr(r, err);
  const char *name = json_string_value(json_object_get(body, "Name"));
  const char *driver = json_string_value(json_object_get(body, "Driver"));
  const json_t *opts = json_object_get(body, "DriverOpts");
  const json_t *labels = json_object_get(body, "Labels");
  if (!str_map(opts) || !str_map(labels))
    return http_reply_error(r, 400, "invalid JSON: DriverOpts and Labels must map strings to "
                                    "strings");
  bool existed = name && *name && volume_exists(d->volumes, name);
  if (volume_create(d->volumes, name, driver, json_is_object(opts) ? opts : NULL,
                    json_is_object(labels) ? labels : NULL, &out, &err) < 0)
    return http_reply_berr(r, err);
  if (!existed)
    vol_event(d, "create", json_string_value(json_object_get(out, "Name")));
  http_reply_json(r, 201, steal_ptr(out));
}

static void volumes_inspect(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  json_t *out = NULL;
  if (volume_inspect(d->volumes, r->params[0], &out, &err) < 0)
    return http_reply_berr(r, err);
  http_reply_json(r, 200, out);
}

static void volumes_delete(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  bool existed = volume_exists(d->volumes, r->params[0]);
  if (volume_remove(d->volumes, r->params[0], http_query_bool(r, "force", false), &err) < 0)
    return http_reply_berr(r, err);
  if (existed)
    vol_event(d, "destroy", r->params[0]);
  http_reply_status(r, 204);
}

/* label (every one holds) and label! (none holds) */
static bool prune_match(const json_t *v, void *arg) {
  const json_t *f = arg;
  const json_t *labels = json_object_get(v, "Labels");
  if (!filters_match_labels(f, "label", labels))
    return false;
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(f, "label!"), i, x) {
    _cleanup_json_ json_t *one = json_pack("{s:[O]}", "label", x);
    if (filters_match_labels(one, "label", labels))
      return false;
  }
  return true;
}

static void volumes_prune(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *f = NULL;
  static const char *const ok[] = {"label", "label!", NULL};
  json_t *out = NULL;
  if (filters_parse(http_query(r, "filters"), &f, &err) < 0 || filters_check(f, ok, &err) < 0 ||
      volume_prune(d->volumes, prune_match, f, &out, &err) < 0)
    return http_reply_berr(r, err);
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(out, "VolumesDeleted"), i, n)
      vol_event(d, "destroy", json_string_value(n));
  http_reply_json(r, 200, out);
}

const struct http_route routes_volumes[] = {
    {"GET", "/volumes", volumes_list, 0},
    {"POST", "/volumes/create", volumes_create, 0},
    {"POST", "/volumes/prune", volumes_prune, 0},
    {"GET", "/volumes/{}", volumes_inspect, 0},
    {"DELETE", "/volumes/{}", volumes_delete, 0},
    {NULL, NULL, NULL, 0},
};
