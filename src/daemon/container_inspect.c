/*
 * container_inspect.c — GET /containers/{id}/json and GET /containers/json in
 * Docker's shape (API 1.41), with the list's filters and Docker's humanised
 * status ("Up 3 seconds", "Exited (0) 2 minutes ago").
 *
 * Everything here reads a container under its lock and builds new JSON; no
 * state changes.
 */
#include <errno.h>
#include <time.h>

#include "daemon/container_internal.h"
#include "daemon/container_network.h"
#include "daemon/container_volumes.h"

#define ZERO_TIME "0001-01-01T00:00:00Z"

/* go-units HumanDuration */
char *human_duration(int64_t secs) {
  if (secs < 1)
    return xstrdup("Less than a second");
  if (secs == 1)
    return xstrdup("1 second");
  if (secs < 60)
    return xasprintf("%lld seconds", (long long)secs);
  int64_t minutes = secs / 60;
  if (minutes == 1)
    return xstrdup("About a minute");
  if (minutes < 60)
    return xasprintf("%lld minutes", (long long)minutes);
  int64_t hours = (secs + 1800) / 3600; /* rounded, as Go's math.Round(d.Hours()) */
  if (hours == 1)
    return xstrdup("About an hour");
  if (hours < 48)
    return xasprintf("%lld hours", (long long)hours);
  if (hours < 24 * 7 * 2)
    return xasprintf("%lld days", (long long)(hours / 24));
  if (hours < 24 * 30 * 2)
    return xasprintf("%lld weeks", (long long)(hours / 24 / 7));
  if (hours < 24 * 365 * 2)
    return xasprintf("%lld months", (long long)(hours / 24 / 30));
  return xasprintf("%lld years", (long long)(secs / 3600 / 24 / 365));
}

static int64_t since_secs(const char *t) {
  int64_t ns = ctr_parse_time(t);
  return ns ? (ctr_now_ns() - ns) / 1000000000LL : 0;
}

/* call with c->lock held */
char *ctr_status_text(const struct container *c) {
  _cleanup_free_ char *up = NULL;
  const char *hs = json_string_value(json_object_get(c->health, "Status"));
  switch (c->state) {
  case CTR_RUNNING:
  case CTR_PAUSED:
    up = human_duration(since_secs(c->started_at));
    if (c->state == CTR_PAUSED)
      return xasprintf("Up %s (Paused)", up);
    if (hs && strcmp(hs, "starting") == 0)
      return xasprintf("Up %s (health: starting)", up);
    if (hs && (strcmp(hs, "healthy") == 0 || strcmp(hs, "unhealthy") == 0))
      return xasprintf("Up %s (%s)", up, hs);
    return xasprintf("Up %s", up);
  case CTR_RESTARTING:
    up = human_duration(since_secs(c->finished_at));
    return xasprintf("Restarting (%d) %s ago", c->exit_code, up);
  case CTR_REMOVING:
    return xstrdup("Removal In Progress");
  case CTR_DEAD:
    return xstrdup("Dead");
  case CTR_EXITED:
    if (ctr_parse_time(c->finished_at) == 0)
      return xasprintf("Exited (%d)", c->exit_code);
    up = human_duration(since_secs(c->finished_at));
    return xasprintf("Exited (%d) %s ago", c->exit_code, up);
  case CTR_CREATED:
  default:
    return xstrdup("Created");
  }
}

static json_t *mounts_json(const json_t *hc) {
  json_t *a = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Binds"), i, v) {
    _cleanup_free_ char *s = xstrdup(json_string_value(v) ? json_string_value(v) : "");
    char *p = s, *src = strsep(&p, ":"), *dst = strsep(&p, ":"), *mode = p ? p : "";
    if (!src || !dst)
      continue;
    bool ro = strstr(mode, "ro") != NULL && strstr(mode, "rw") == NULL;
    const char *prop = strstr(mode, "rshared") ? "rshared" : strstr(mode, "rslave") ? "rslave"
                       : strstr(mode, "shared") ? "shared" : strstr(mode, "slave") ? "slave"
                       : strstr(mode, "private") && !strstr(mode, "rprivate") ? "private"
                                                                               : "rprivate";
    json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source",
                                       src, "Destination", dst, "Mode", mode, "RW", !ro,
                                       "Propagation", prop));
  }
  json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
    const char *type = json_string_value(json_object_get(v, "Type"));
    const char *src = json_string_value(json_object_get(v, "Source"));
    const char *dst = json_string_value(json_object_get(v, "Target"));
    const char *prop =
        json_string_value(json_object_get(json_object_get(v, "BindOptions"), "Propagation"));
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", type ? type : "", "Source",
                          src ? src : "", "Destination", dst ? dst : "", "Mode", "", "RW",
                          !json_is_true(json_object_get(v, "ReadOnly")), "Propagation",
                          type && strcmp(type, "bind") == 0 ? (prop ? prop : "rprivate") : "");
    json_array_append_new(a, m);
  }
  return a;
}

static json_t *network_settings(bool full) {
  json_t *ns = json_pack("{s:o}", "Networks", json_object());
  if (!full)
    return ns;
  json_t *o = json_pack(
      "{s:s,s:s,s:b,s:s,s:i,s:o,s:s,s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s}", "Bridge", "",
      "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0,
      "Ports", json_object(), "SandboxKey", "", "SecondaryIPAddresses", "SecondaryIPv6Addresses",
      "EndpointID", "", "Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
      "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress", "");
  json_object_update(o, ns);
  json_decref(ns);
  return o;
}

/* Config in dockerd's shape (container.Config's JSON): the fields without
 * omitempty always there, the omitempty ones gone when empty, and an empty
 * Volumes map as null (as dockerd answers). */
static json_t *config_view(const json_t *cfg) {
  static const char *const strs[] = {"Hostname", "Domainname", "User", "Image", "WorkingDir", NULL};
  static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                                      "OpenStdin",   "StdinOnce",    NULL};
  static const char *const nulls[] = {"Env", "Cmd", "Volumes", "Entrypoint", "OnBuild", NULL};
  static const char *const omitempty[] = {"NetworkDisabled", "MacAddress", "StopSignal", "Shell",
                                          "ArgsEscaped", "Healthcheck", "ExposedPorts", NULL};
  json_t *o = json_is_object(cfg) ? json_deep_copy(cfg) : json_object();
  for (size_t i = 0; strs[i]; i++)
    if (!json_is_string(json_object_get(o, strs[i])))
      json_object_set_new(o, strs[i], json_string(""));
  for (size_t i = 0; bools[i]; i++)
    if (!json_is_boolean(json_object_get(o, bools[i])))
      json_object_set_new(o, bools[i], json_false());
  for (size_t i = 0; nulls[i]; i++)
    if (json_object_get(o, nulls[i]) == NULL)
      json_object_set_new(o, nulls[i], json_null());
  json_t *vol = json_object_get(o, "Volumes");
  if (json_is_object(vol) && json_object_size(vol) == 0)
    json_object_set_new(o, "Volumes", json_null());
  if (!json_is_object(json_object_get(o, "Labels")))
    json_object_set_new(o, "Labels", json_object());
  for (size_t i = 0; omitempty[i]; i++) {
    json_t *v = json_object_get(o, omitempty[i]);
    if (v && (json_is_null(v) || json_is_false(v) ||
              (json_is_string(v) && json_string_length(v) == 0) ||
              (json_is_array(v) && json_array_size(v) == 0) ||
              (json_is_object(v) && json_object_size(v) == 0)))
      json_object_del(o, omitempty[i]);
  }
  return o;
}

json_t *ctr_inspect_json(struct daemon *d, struct container *c, bool size) {
  pthread_mutex_lock(&c->lock);
  json_t *state = json_pack(
      "{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,s:s}", "Status", ctr_state_name(c->state),
      "Running", c->state == CTR_RUNNING || c->state == CTR_PAUSED, "Paused",
      c->state == CTR_PAUSED, "Restarting", c->state == CTR_RESTARTING, "OOMKilled",
      c->oom_killed, "Dead", c->state == CTR_DEAD, "Pid", (int)c->pid, "ExitCode", c->exit_code, "Error", c->error ? c->error : "",
      "StartedAt", c->started_at, "FinishedAt", c->finished_at);
  json_t *h = ctr_health_json(c);
  if (h)
    json_object_set_new(state, "Health", h);
  const char *drv =
      json_string_value(json_object_get(json_object_get(c->host_config, "LogConfig"), "Type"));
  json_t *j = json_pack(
      "{s:s,s:s,s:s,s:O,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s}", "Id", c->id,
      "Created", c->created, "Path", c->path ? c->path : "", "Args", c->args, "State", state,
      "Image", c->image_id ? c->image_id : "", "ResolvConfPath", "", "HostnamePath", "",
      "HostsPath", "", "LogPath", "", "Name", "", "RestartCount", c->restart_count, "Driver",
      "overlay2", "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile",
      "");
  json_object_set_new(j, "ResolvConfPath", json_sprintf("%s/resolv.conf", c->root_dir));
  json_object_set_new(j, "HostnamePath", json_sprintf("%s/hostname", c->root_dir));
  json_object_set_new(j, "HostsPath", json_sprintf("%s/hosts", c->root_dir));
  json_object_set_new(j, "LogPath",
                      json_string(drv == NULL || strcmp(drv, "json-file") == 0 ? c->log_path : ""));
  json_object_set_new(j, "Name", json_sprintf("/%s", c->name));
  json_object_set_new(j, "ExecIDs",
                      json_array_size(c->exec_ids) ? json_deep_copy(c->exec_ids) : json_null());
  json_object_set_new(j, "HostConfig", json_deep_copy(c->host_config));
  json_t *vm = ctr_volumes_inspect(d, c); /* recorded mount points (volumes issue) */
  json_object_set_new(j, "Mounts", vm ? vm : mounts_json(c->host_config));
  json_object_set_new(j, "Config", config_view(c->config));
  json_object_set_new(j, "NetworkSettings", network_settings(true));
  ctr_net_inspect(d, c, json_object_get(j, "NetworkSettings")); /* networking issue */
  pthread_mutex_unlock(&c->lock);
  json_t *gd = d->store ? store_rw_graphdriver(d->store, c->id) : NULL;
  json_object_set_new(j, "GraphDriver", gd ? gd : json_pack("{s:s,s:n}", "Name", "overlay2",
                                                            "Data"));
  if (size) {
    int64_t rw = store_rw_size(d->store, c->id);
    json_object_set_new(j, "SizeRw", json_integer(rw > 0 ? rw : 0));
    json_object_set_new(j, "SizeRootFs", json_integer(rw > 0 ? rw : 0));
  }
  return j;
}

/* ------------------------------------------------------------- list ---- */

static json_t *list_entry(struct daemon *d, struct container *c, bool size) {
  pthread_mutex_lock(&c->lock);
  _cleanup_free_ char *status = ctr_status_text(c);
  _cleanup_free_ char *cmd = xstrdup(c->path ? c->path : "");
  size_t i;
  json_t *v;
  json_array_foreach(c->args, i, v) {
    /* dockerd (daemon/list.go) quotes an argument holding a space: 'a b' */
    const char *a = json_string_value(v) ? json_string_value(v) : "";
    char *n = xasprintf(strchr(a, ' ') ? "%s '%s'" : "%s %s", cmd, a);
    free(cmd);
    cmd = n;
  }
  const char *image = json_string_value(json_object_get(c->config, "Image"));
  json_t *lb = json_object_get(c->config, "Labels");
  _cleanup_json_ json_t *labels = json_is_object(lb) ? json_incref(lb) : json_object();
  const char *nm = json_string_value(json_object_get(c->host_config, "NetworkMode"));
  json_t *e = json_pack("{s:s,s:[s+],s:s,s:s,s:s,s:I,s:[],s:O,s:s,s:s,s:{s:s}}", "Id", c->id,
                        "Names", "/", c->name, "Image", image ? image : "", "ImageID",
                        c->image_id ? c->image_id : "", "Command", cmd, "Created",
                        (json_int_t)(ctr_parse_time(c->created) / 1000000000LL), "Ports",
                        "Labels", labels, "State",
                        ctr_state_name(c->state), "Status", status, "HostConfig", "NetworkMode",
                        nm ? nm : "default");
  json_object_set_new(e, "NetworkSettings", network_settings(false));
  ctr_net_list(d, c, e); /* networking issue: Networks, Ports */
  json_t *vm = ctr_volumes_inspect(d, c); /* recorded mount points (volumes issue) */
  json_object_set_new(e, "Mounts", vm ? vm : mounts_json(c->host_config));
  pthread_mutex_unlock(&c->lock);
  if (size) {
    int64_t rw = store_rw_size(d->store, c->id);
    json_object_set_new(e, "SizeRw", json_integer(rw > 0 ? rw : 0));
    json_object_set_new(e, "SizeRootFs", json_integer(rw > 0 ? rw : 0));
  }
  return e;
}

static const char *const list_filters[] = {
    "status", "name", "label", "label!", "ancestor", "exited", "id", "before", "since",
    "health", "volume", "network", "is-task", "publish", "expose", "isolation", NULL,
};

static bool value_in(const json_t *vals, bool (*pred)(const char *, const void *), const void *x) {
  size_t i;
  json_t *v;
  json_array_foreach(vals, i, v) if (pred(json_string_value(v), x)) return true;
  return false;
}

static bool eq_str(const char *a, const void *b) {
  return a && strcmp(a, (const char *)b) == 0;
}
static bool id_prefix(const char *a, const void *b) {
  return a && str_has_prefix((const char *)b, a);
}
static bool name_has(const char *a, const void *b) {
  return a && strstr((const char *)b, a[0] == '/' ? a + 1 : a) != NULL;
}

static int check_values(const json_t *f, struct berr **err) {
  static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                         "paused", "exited", "dead", NULL};
  static const char *const health[] = {"starting", "healthy", "unhealthy", "none", NULL};
  const char *const *lists[2] = {statuses, health};
  const char *keys[2] = {"status", "health"};
  for (int k = 0; k < 2; k++) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(f, keys[k]), i, v) {
      bool ok = false;
      for (size_t j = 0; lists[k][j]; j++)
        ok = ok || strcmp(lists[k][j], json_string_value(v)) == 0;
      if (!ok)
        return berr_set(err, EINVAL, "Invalid filter '%s=%s'", keys[k], json_string_value(v));
    }
  }
  return 0;
}

/* ancestor: an image name / ID → its ID (NULL when unknown). */
static json_t *ancestor_ids(struct daemon *d, const json_t *f) {
  json_t *ids = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(f, "ancestor"), i, v) {
    struct image *img = NULL;
    if (store_image_get(d->store, json_string_value(v), &img, NULL) == 0) {
      json_array_append_new(ids, json_string(img->id));
      image_free(img);
    }
  }
  return ids;
}

static bool passes(const json_t *f, const json_t *anc, struct container *c, int64_t before_ns,
                   int64_t since_ns) {
  pthread_mutex_lock(&c->lock);
  bool ok = true;
  char code[16];
  snprintf(code, sizeof(code), "%d", c->exit_code);
  const char *hs = c->health ? json_string_value(json_object_get(c->health, "Status")) : "none";
  int64_t created = ctr_parse_time(c->created);
  ok = ok && filters_match(f, "status", ctr_state_name(c->state));
  ok = ok && (!json_object_get(f, "name") || value_in(json_object_get(f, "name"), name_has,
                                                      c->name));
  ok = ok && (!json_object_get(f, "id") || value_in(json_object_get(f, "id"), id_prefix, c->id));
  ok = ok && filters_match_labels(f, "label", json_object_get(c->config, "Labels"));
  ok = ok && (!json_object_get(f, "exited") ||
              (c->state == CTR_EXITED && filters_match(f, "exited", code)));
  ok = ok && filters_match(f, "health", hs ? hs : "none");
  ok = ok && (!json_object_get(f, "ancestor") ||
              (c->image_id && value_in(anc, eq_str, c->image_id)));
  ok = ok && (!before_ns || created < before_ns) && (!since_ns || created > since_ns);
  pthread_mutex_unlock(&c->lock);
  return ok;
}

static int cmp_created(const void *a, const void *b) {
  const struct container *x = *(struct container *const *)a, *y = *(struct container *const *)b;
  int64_t tx = ctr_parse_time(x->created), ty = ctr_parse_time(y->created);
  return tx < ty ? 1 : tx > ty ? -1 : 0;
}

static int ref_time(struct daemon *d, const json_t *f, const char *key, int64_t *out,
                    struct berr **err) {
  json_t *v = json_array_get(json_object_get(f, key), 0);
  *out = 0;
  if (!v)
    return 0;
  struct container *o = NULL;
  int rc = ctr_get(d, json_string_value(v), &o, err);
  if (rc < 0)
    return rc;
  *out = ctr_parse_time(o->created);
  ctr_put(o);
  return 0;
}

int ctr_list_json(struct daemon *d, bool all, int64_t limit, bool size, const json_t *filters,
                  json_t **out, struct berr **err) {
  _cleanup_json_ json_t *f = filters ? json_incref((json_t *)filters) : json_object();
  int rc;
  int64_t before = 0, since = 0;
  if ((rc = filters_check(f, list_filters, err)) < 0 || (rc = check_values(f, err)) < 0 ||
      (rc = ref_time(d, f, "before", &before, err)) < 0 ||
      (rc = ref_time(d, f, "since", &since, err)) < 0)
    return rc;
  if (limit > 0 || json_object_get(f, "status") || json_object_get(f, "exited"))
    all = true;
  _cleanup_json_ json_t *anc = ancestor_ids(d, f);
  size_t n = 0;
  struct container **v = ctr_list(d, &n);
  qsort(v, n, sizeof(*v), cmp_created);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    if (limit > 0 && (int64_t)json_array_size(arr) >= limit)
      break;
    pthread_mutex_lock(&v[i]->lock);
    bool up = v[i]->state == CTR_RUNNING || v[i]->state == CTR_PAUSED ||
              v[i]->state == CTR_RESTARTING;
    pthread_mutex_unlock(&v[i]->lock);
    if ((!all && !up) || !passes(f, anc, v[i], before, since))
      continue;
    json_array_append_new(arr, list_entry(d, v[i], size));
  }
  ctr_list_free(v, n);
  *out = arr;
  return 0;
}
