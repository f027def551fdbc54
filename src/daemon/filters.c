/*
 * filters.c — Docker's `filters` query parameter, shared by every route
 * that lists things (containers, images, events, volumes, networks).
 *
 * Docker accepts two JSON shapes: the current {"key":{"value":true}} and the
 * old {"key":["value"]} (docker-py still sends it). Both normalise to
 * {"key":["value",...]}. A value mapped to false is not kept (dockerd
 * ignores it too).
 */
#include <errno.h>

#include "daemon/daemon.h"

static int add_value(json_t *list, const char *key, json_t *v, struct berr **err) {
  if (!json_is_string(v))
    return berr_set(err, EINVAL, "invalid filter '%s': values must be strings", key);
  json_array_append(list, v);
  return 0;
}

int filters_parse(const char *s, json_t **out, struct berr **err) {
  *out = NULL;
  if (s == NULL || *s == '\0') {
    *out = json_object();
    return 0;
  }
  json_error_t je;
  _cleanup_json_ json_t *in = json_loads(s, JSON_DECODE_ANY, &je);
  if (in == NULL || !json_is_object(in))
    return berr_set(err, EINVAL, "invalid filter: %s", in ? "not a JSON object" : je.text);
  _cleanup_json_ json_t *res = json_object();
  const char *key;
  json_t *val;
  json_object_foreach(in, key, val) {
    json_t *list = json_array();
    json_object_set_new(res, key, list);
    if (json_is_array(val)) {
      size_t i;
      json_t *v;
      json_array_foreach(val, i, v) {
        if (add_value(list, key, v, err) < 0)
          return -EINVAL;
      }
    } else if (json_is_object(val)) {
      const char *k2;
      json_t *b;
      json_object_foreach(val, k2, b) {
        if (!json_is_boolean(b))
          return berr_set(err, EINVAL, "invalid filter '%s': expected {\"value\": true}", key);
        if (json_is_true(b))
          json_array_append_new(list, json_string(k2));
      }
    } else {
      return berr_set(err, EINVAL, "invalid filter '%s': expected a list or an object", key);
    }
  }
  *out = steal_ptr(res);
  return 0;
}

bool filters_match(const json_t *filters, const char *key, const char *value) {
  const json_t *list = filters ? json_object_get(filters, key) : NULL;
  if (list == NULL || json_array_size(list) == 0)
    return true;
  if (value == NULL)
    return false;
  size_t i;
  const json_t *v;
  json_array_foreach(list, i, v) {
    if (strcmp(json_string_value(v), value) == 0)
      return true;
  }
  return false;
}

int filters_check(const json_t *filters, const char *const *accepted, struct berr **err) {
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)filters, key, v) {
    bool ok = false;
    for (const char *const *a = accepted; *a && !ok; a++)
      ok = strcmp(*a, key) == 0;
    if (!ok) /* dockerd 20.10's filters.Validate, on every route that validates (events does not) */
      return berr_set(err, EINVAL, "Invalid filter '%s'", key);
  }
  return 0;
}

bool filters_match_labels(const json_t *filters, const char *key, const json_t *labels) {
  const json_t *list = filters ? json_object_get(filters, key) : NULL;
  size_t i;
  const json_t *v;
  json_array_foreach(list, i, v) {
    const char *want = json_string_value(v);
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
    const json_t *have = labels ? json_object_get(labels, k) : NULL;
    if (have == NULL)
      return false;
    if (eq && (!json_is_string(have) || strcmp(json_string_value(have), eq + 1) != 0))
      return false;
  }
  return true;
}
