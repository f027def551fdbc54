/*
 * run_storage.c — `run` / `create` options for volumes and mounts (run.h):
 * --mount (docker CLI's opts.MountOpt: CSV fields into HostConfig.Mounts),
 * --volumes-from; -v, --tmpfs and --read-only stay in cmd_run.c, and this
 * group only turns a relative "./x" / "." host part of -v into an absolute
 * path, as the docker CLI does.
 *
 * --mount errors are the flag parser's ("invalid argument \"V\" for
 * \"--mount\" flag: …"), in docker CLI 28's words; the daemon checks the
 * rest (paths existing, volume names).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>

#include "cli/run.h"

size_t run_storage_flags(struct run_storage_opts *o, struct flag *out) {
  size_t n = 0;
  out[n++] = (struct flag){"mount", 0, FLAG_STRV, &o->mount, "Attach a filesystem mount to the container", NULL};
  out[n++] = (struct flag){"volumes-from", 0, FLAG_STRV, &o->volumes_from,
                           "Mount volumes from the specified container(s)", NULL};
  return n;
}

/* Go's strconv.ParseBool */
static int parse_bool(const char *s, bool *out) {
  static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < 6; i++) {
    if (!strcmp(s, t[i]))
      return *out = true, 0;
    if (!strcmp(s, f[i]))
      return *out = false, 0;
  }
  return -EINVAL;
}

/* Go's encoding/csv for one record: fields split at commas, "..." quoting. */
static char **csv_fields(const char *s, bool *bad) {
  char **v = NULL;
  struct sb f = {0};
  *bad = false;
  const char *p = s;
  for (;;) {
    sb_add(&f, "");
    if (*p == '"') {
      p++;
      for (;;) {
        if (*p == '\0') {
          *bad = true;
          break;
        }
        if (*p == '"' && p[1] == '"') {
          sb_addn(&f, "\"", 1);
          p += 2;
        } else if (*p == '"') {
          p++;
          break;
        } else {
          sb_addn(&f, p++, 1);
        }
      }
    }
    while (*p && *p != ',')
      sb_addn(&f, p++, 1);
    v = strv_append(v, sb_steal(&f));
    if (*p != ',')
      break;
    p++;
  }
  sb_free(&f);
  return v;
}

static json_t *sub_obj(json_t *m, const char *key) {
  json_t *o = json_object_get(m, key);
  if (!o) {
    o = json_object();
    json_object_set_new(m, key, o);
  }
  return o;
}

#define MOUNT_ERR(err, spec, fmt, ...)                                                           \
  berr_set(err, EINVAL, "invalid argument \"%s\" for \"--mount\" flag: " fmt, spec, __VA_ARGS__)

/* "k=v" into obj[k] = v (volume-label, volume-opt) */
static void add_kv(json_t *obj, const char *kv) {
  const char *eq = strchr(kv, '=');
  _cleanup_free_ char *k = eq ? strndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
  json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
}

static int mount_field(const char *spec, const char *field, json_t *m, int *kinds,
                       struct berr **err) {
  const char *eq = strchr(field, '=');
  _cleanup_free_ char *key = eq ? strndup(field, (size_t)(eq - field)) : xstrdup(field);
  const char *val = eq ? eq + 1 : NULL;
  for (char *c = key; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  static const char *const bools[] = {"readonly", "ro", "volume-nocopy", "bind-nonrecursive"};
  bool is_bool = false, b = true;
  for (size_t i = 0; i < 4; i++)
    is_bool = is_bool || !strcmp(key, bools[i]);
  if (!val && !is_bool)
    return MOUNT_ERR(err, spec, "invalid field '%s' must be a key=value pair", field);
  if (is_bool && val && parse_bool(val, &b) < 0)
    return MOUNT_ERR(err, spec, "invalid value for %s: %s", key, val);
  if (!strcmp(key, "type"))
    json_object_set_new(m, "Type", json_string(val));
  else if (!strcmp(key, "source") || !strcmp(key, "src"))
    json_object_set_new(m, "Source", json_string(val));
  else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination"))
    json_object_set_new(m, "Target", json_string(val));
  else if (!strcmp(key, "readonly") || !strcmp(key, "ro"))
    json_object_set_new(m, "ReadOnly", json_boolean(b));
  else if (!strcmp(key, "consistency"))
    json_object_set_new(m, "Consistency", json_string(val));
  else if (!strcmp(key, "bind-propagation"))
    json_object_set_new(sub_obj(m, "BindOptions"), "Propagation", json_string(val)), *kinds |= 1;
  else if (!strcmp(key, "bind-nonrecursive"))
    json_object_set_new(sub_obj(m, "BindOptions"), "NonRecursive", json_boolean(b)), *kinds |= 1;
  else if (!strcmp(key, "volume-nocopy"))
    json_object_set_new(sub_obj(m, "VolumeOptions"), "NoCopy", json_boolean(b)), *kinds |= 2;
  else if (!strcmp(key, "volume-subpath"))
    json_object_set_new(sub_obj(m, "VolumeOptions"), "Subpath", json_string(val)), *kinds |= 2;
  else if (!strcmp(key, "volume-label"))
    add_kv(sub_obj(sub_obj(m, "VolumeOptions"), "Labels"), val), *kinds |= 2;
  else if (!strcmp(key, "volume-driver"))
    json_object_set_new(sub_obj(sub_obj(m, "VolumeOptions"), "DriverConfig"), "Name",
                        json_string(val)), *kinds |= 2;
  else if (!strcmp(key, "volume-opt"))
    add_kv(sub_obj(sub_obj(sub_obj(m, "VolumeOptions"), "DriverConfig"), "Options"), val),
        *kinds |= 2;
  else if (!strcmp(key, "tmpfs-size") || !strcmp(key, "tmpfs-mode")) {
    *kinds |= 4;
    int64_t n = 0;
    if (!strcmp(key, "tmpfs-size")) {
      _cleanup_berr_ struct berr *e = NULL;
      if (parse_ram_bytes(val, &n, &e) < 0)
        return MOUNT_ERR(err, spec, "invalid value for %s: %s", key, val);
      json_object_set_new(sub_obj(m, "TmpfsOptions"), "SizeBytes", json_integer(n));
    } else {
      char *end = NULL;
      errno = 0;
      unsigned long long mo = strtoull(val, &end, 8);
      if (!*val || *end || errno || mo > 0xffffffffULL)
        return MOUNT_ERR(err, spec, "invalid value for %s: %s", key, val);
      json_object_set_new(sub_obj(m, "TmpfsOptions"), "Mode", json_integer((json_int_t)mo));
    }
  } else
    return MOUNT_ERR(err, spec, "unexpected key '%s' in '%s'", key, field);
  return 0;
}

int run_parse_mount(const char *spec, json_t **out, struct berr **err) {
  bool bad = false;
  _cleanup_strv_ char **fields = csv_fields(spec, &bad);
  if (bad)
    return MOUNT_ERR(err, spec, "%s", "parse error on line 1, column 1: extraneous or missing \" in quoted-field");
  _cleanup_json_ json_t *m = json_object();
  int kinds = 0, rc;
  for (char **f = fields; f && *f; f++)
    if ((rc = mount_field(spec, *f, m, &kinds, err)) < 0)
      return rc;
  if (!json_object_get(m, "Type"))
    json_object_set_new(m, "Type", json_string("volume"));
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *tgt = json_string_value(json_object_get(m, "Target"));
  if (!*type)
    return MOUNT_ERR(err, spec, "%s", "type is required");
  if (!tgt || !*tgt)
    return MOUNT_ERR(err, spec, "%s", "target is required");
  if ((kinds & 2) && strcmp(type, "volume"))
    return MOUNT_ERR(err, spec, "cannot mix 'volume-*' options with mount type '%s'", type);
  if ((kinds & 1) && strcmp(type, "bind"))
    return MOUNT_ERR(err, spec, "cannot mix 'bind-*' options with mount type '%s'", type);
  if ((kinds & 4) && strcmp(type, "tmpfs"))
    return MOUNT_ERR(err, spec, "cannot mix 'tmpfs-*' options with mount type '%s'", type);
  /* the docker CLI sends an empty DriverConfig with any volume option */
  if (json_object_get(m, "VolumeOptions"))
    sub_obj(json_object_get(m, "VolumeOptions"), "DriverConfig");
  *out = steal_ptr(m);
  return 0;
}

/* -v "./x:/y" → "/abs/x:/y" (docker CLI: a host part "." or starting "./") */
static void absolute_binds(json_t *hc) {
  json_t *binds = json_object_get(hc, "Binds");
  size_t i;
  json_t *v;
  json_array_foreach(binds, i, v) {
    const char *s = json_string_value(v);
    const char *colon = s ? strchr(s, ':') : NULL;
    if (!colon || !(strncmp(s, "./", 2) == 0 || (colon - s == 1 && s[0] == '.')))
      continue;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
      continue;
    _cleanup_free_ char *host = strndup(s, (size_t)(colon - s));
    _cleanup_free_ char *joined = xasprintf("%s/%s", cwd, host);
    _cleanup_free_ char *clean = path_clean(joined, NULL);
    json_array_set_new(binds, i, json_sprintf("%s%s", clean, colon));
  }
}

int run_storage_apply(const struct run_storage_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                      struct berr **err) {
  (void)cfg, (void)nc;
  absolute_binds(hc);
  if (o->mount) {
    json_t *a = json_array();
    json_object_set_new(hc, "Mounts", a);
    for (char **m = o->mount; *m; m++) {
      json_t *one = NULL;
      if (run_parse_mount(*m, &one, err) < 0)
        return -1;
      json_array_append_new(a, one);
    }
  }
  if (o->volumes_from) {
    json_t *a = json_array();
    for (char **v = o->volumes_from; *v; v++)
      json_array_append_new(a, json_string(*v));
    json_object_set_new(hc, "VolumesFrom", a);
  }
  return 0;
}

void run_storage_free(struct run_storage_opts *o) {
  strv_freep(&o->mount);
  strv_freep(&o->volumes_from);
}
