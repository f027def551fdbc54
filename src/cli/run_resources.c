/*
 * run_resources.c — `run` / `create` options: the resources and security
 * group (run.h). Owns the flags for cgroup limits (--memory-swap,
 * --cpu-*, --cpuset-*, --blkio-*, --device-*-bps/iops, ...), the namespace
 * modes (--pid, --ipc, --uts, --cgroupns, --userns), and the flags whose
 * values the docker CLI checks itself before it sends anything: --ulimit,
 * --sysctl, --security-opt (a seccomp file is read and sent inline),
 * --device, --device-cgroup-rule.
 *
 * Errors use the docker CLI's wording. Two families, as docker has them:
 * a flag value checked by the flag parser ("invalid argument "V" for
 * "--flag" flag: why", shown with the usage) and one checked after
 * parsing (plain text, shown as "berth: why").
 *
 * Invariant: apply only adds HostConfig keys for flags that were given
 * (except MemorySwappiness, which docker always sends, -1 when unset), so
 * the daemon's defaults stay the daemon's.
 */
#include <ctype.h>
#include <errno.h>

#include "cli/run.h"

/* pflag's wrapping of a value error: FLAGERR(err, fmt, value, flag, args...) */
#define FLAGERR(err, fmt, ...)                                                                     \
  berr_set(err, EINVAL, "invalid argument \"%s\" for \"%s\" flag: " fmt, __VA_ARGS__)

size_t run_resources_flags(struct run_resources_opts *o, struct flag *out) {
  const struct flag f[] = {
      {"blkio-weight", 0, FLAG_INT, &o->blkio_weight, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", &o->blkio_weight_set},
      {"blkio-weight-device", 0, FLAG_STRV, &o->blkio_weight_device, "Block IO weight (relative device weight)", NULL},
      {"cgroupns", 0, FLAG_STR, &o->cgroupns, "Cgroup namespace to use (host|private)", NULL},
      {"cpu-period", 0, FLAG_INT, &o->cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period", &o->cpu_period_set},
      {"cpu-quota", 0, FLAG_INT, &o->cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota", &o->cpu_quota_set},
      {"cpu-rt-period", 0, FLAG_INT, &o->cpu_rt_period, "Limit CPU real-time period in microseconds", &o->cpu_rt_period_set},
      {"cpu-rt-runtime", 0, FLAG_INT, &o->cpu_rt_runtime, "Limit CPU real-time runtime in microseconds", &o->cpu_rt_runtime_set},
      {"cpu-shares", 'c', FLAG_INT, &o->cpu_shares, "CPU shares (relative weight)", &o->cpu_shares_set},
      {"cpuset-cpus", 0, FLAG_STR, &o->cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)", NULL},
      {"cpuset-mems", 0, FLAG_STR, &o->cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)", NULL},
      {"device", 0, FLAG_STRV, &o->device, "Add a host device to the container", NULL},
      {"device-cgroup-rule", 0, FLAG_STRV, &o->device_cgroup_rule, "Add a rule to the cgroup allowed devices list", NULL},
      {"device-read-bps", 0, FLAG_STRV, &o->device_read_bps, "Limit read rate (bytes per second) from a device", NULL},
      {"device-read-iops", 0, FLAG_STRV, &o->device_read_iops, "Limit read rate (IO per second) from a device", NULL},
      {"device-write-bps", 0, FLAG_STRV, &o->device_write_bps, "Limit write rate (bytes per second) to a device", NULL},
      {"device-write-iops", 0, FLAG_STRV, &o->device_write_iops, "Limit write rate (IO per second) to a device", NULL},
      {"group-add", 0, FLAG_STRV, &o->group_add, "Add additional groups to join", NULL},
      {"ipc", 0, FLAG_STR, &o->ipc, "IPC mode to use", NULL},
      {"isolation", 0, FLAG_STR, &o->isolation, "Container isolation technology", NULL},
      {"kernel-memory", 0, FLAG_BYTES, &o->kernel_memory, "Kernel memory limit", &o->kernel_memory_set},
      {"memory-reservation", 0, FLAG_BYTES, &o->memory_reservation, "Memory soft limit", &o->memory_reservation_set},
      {"memory-swap", 0, FLAG_STR, &o->memory_swap, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", NULL},
      {"memory-swappiness", 0, FLAG_INT, &o->memory_swappiness, "Tune container memory swappiness (0 to 100) (default -1)", &o->memory_swappiness_set},
      {"oom-kill-disable", 0, FLAG_BOOL, &o->oom_kill_disable, "Disable OOM Killer", NULL},
      {"oom-score-adj", 0, FLAG_INT, &o->oom_score_adj, "Tune host's OOM preferences (-1000 to 1000)", &o->oom_score_adj_set},
      {"pid", 0, FLAG_STR, &o->pid, "PID namespace to use", NULL},
      {"security-opt", 0, FLAG_STRV, &o->security_opt, "Security Options", NULL},
      {"sysctl", 0, FLAG_STRV, &o->sysctl, "Sysctl options", NULL},
      {"ulimit", 0, FLAG_STRV, &o->ulimit, "Ulimit options", NULL},
      {"userns", 0, FLAG_STR, &o->userns, "User namespace to use", NULL},
      {"uts", 0, FLAG_STR, &o->uts, "UTS namespace to use", NULL},
  };
  size_t n = sizeof(f) / sizeof(f[0]);
  memcpy(out, f, sizeof(f));
  return n;
}

/* ------------------------------------------------------- value parsers ---- */

/* Go's strconv.ParseInt/ParseUint on the whole string (no sign for uint). */
static bool parse_whole(const char *s, bool is_unsigned, int64_t *out) {
  if (!*s || isspace((unsigned char)*s) || (is_unsigned && (*s == '-' || *s == '+')))
    return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*end || errno)
    return false;
  *out = v;
  return true;
}

/* "/dev/sda:VALUE" → path and value text (docker's split on ':'). */
static int device_pair(const char *flag, const char *v, char **path, const char **val,
                       struct berr **err) {
  const char *c = strchr(v, ':');
  if (!c || strchr(c + 1, ':'))
    return FLAGERR(err, "bad format: %s", v, flag, v);
  if (strncmp(v, "/dev/", 5) != 0)
    return FLAGERR(err, "bad format for device path: %s", v, flag, v);
  *path = strndup(v, (size_t)(c - v));
  *val = c + 1;
  return 0;
}

int run_parse_weight_device(const char *v, json_t **out, struct berr **err) {
  _cleanup_free_ char *path = NULL;
  const char *w;
  int64_t n;
  if (device_pair("--blkio-weight-device", v, &path, &w, err) < 0)
    return -1;
  /* docker: a uint16, 10..1000, or 0 */
  if (!parse_whole(w, true, &n) || n > 65535 || (n != 0 && (n < 10 || n > 1000)))
    return FLAGERR(err, "invalid weight for device: %s", v,
                   "--blkio-weight-device", v);
  *out = json_pack("{s:s,s:I}", "Path", path, "Weight", (json_int_t)n);
  return 0;
}

int run_parse_throttle(const char *flag, const char *v, bool iops, json_t **out,
                       struct berr **err) {
  _cleanup_free_ char *path = NULL;
  const char *r;
  int64_t n = 0;
  if (device_pair(flag, v, &path, &r, err) < 0)
    return -1;
  if (iops) {
    if (!parse_whole(r, true, &n))
      return FLAGERR(err, "invalid rate for device: %s. The correct format is <device-path>:<number>. "
                     "Number must be a positive integer",
                     v, flag, v);
  } else {
    _cleanup_berr_ struct berr *e = NULL;
    if (parse_ram_bytes(r, &n, &e) < 0 || n < 0)
      return FLAGERR(err, "invalid rate for device: %s. The correct format is "
                     "<device-path>:<number>[<unit>]. Number must be a positive integer. Unit is "
                     "optional and can be kb, mb, or gb",
                     v, flag, v);
  }
  *out = json_pack("{s:s,s:I}", "Path", path, "Rate", (json_int_t)n);
  return 0;
}

static const char *const ulimit_names[] = {
    "core", "cpu",  "data",  "fsize",  "locks",  "memlock",    "msgqueue", "nice",
    "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",    NULL,
};

/* go-units ParseUlimit: "name=soft[:hard]" */
int run_parse_ulimit(const char *v, json_t **out, struct berr **err) {
  const char *eq = strchr(v, '=');
  if (!eq)
    return FLAGERR(err, "invalid ulimit argument: %s", v, "--ulimit", v);
  _cleanup_free_ char *name = strndup(v, (size_t)(eq - v));
  bool known = false;
  for (size_t i = 0; ulimit_names[i]; i++)
    known = known || strcmp(ulimit_names[i], name) == 0;
  if (!known)
    return FLAGERR(err, "invalid ulimit type: %s", v, "--ulimit", name);
  _cleanup_free_ char *vals = xstrdup(eq + 1);
  char *colon = strchr(vals, ':');
  if (colon && strchr(colon + 1, ':'))
    return FLAGERR(err, "too many limit value arguments - %s, can only have up to two, `soft[:hard]`",
                   v, "--ulimit", vals);
  if (colon)
    *colon = '\0';
  int64_t soft, hard;
  if (!parse_whole(vals, false, &soft))
    return FLAGERR(err, "strconv.ParseInt: parsing \"%s\": invalid syntax", v,
                   "--ulimit", vals);
  hard = soft;
  if (colon && !parse_whole(colon + 1, false, &hard))
    return FLAGERR(err, "strconv.ParseInt: parsing \"%s\": invalid syntax", v,
                   "--ulimit", colon + 1);
  if (soft > hard)
    return FLAGERR(err, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld", v,
                   "--ulimit", (long long)soft, (long long)hard);
  *out = json_pack("{s:s,s:I,s:I}", "Name", name, "Hard", (json_int_t)hard, "Soft",
                   (json_int_t)soft);
  return 0;
}

/* opts.ValidateSysctl: the namespaced sysctls only */
int run_check_sysctl(const char *v, struct berr **err) {
  static const char *const names[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                      "kernel.sem",    "kernel.shmall", "kernel.shmmax",
                                      "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
  const char *eq = strchr(v, '=');
  if (eq) {
    size_t n = (size_t)(eq - v);
    for (size_t i = 0; names[i]; i++)
      if (strlen(names[i]) == n && strncmp(names[i], v, n) == 0)
        return 0;
    if (strncmp(v, "net.", 4) == 0 || strncmp(v, "fs.mqueue.", 10) == 0)
      return 0;
  }
  return FLAGERR(err, "sysctl '%s' is not allowed", v, "--sysctl", v);
}

/* validDeviceMode: 1 to 3 of r, w, m, none twice */
static bool device_mode_ok(const char *m) {
  size_t n = strlen(m);
  if (n == 0 || n > 3)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!strchr("rwm", m[i]) || memchr(m, m[i], i))
      return false;
  return true;
}

/* --device SRC[:DST][:MODE] (docker's validateLinuxPath + parseDevice) */
int run_parse_device(const char *v, json_t **out, struct berr **err) {
  _cleanup_free_ char *s = xstrdup(v);
  size_t colons = 0;
  for (const char *p = v; *p; p++)
    colons += *p == ':';
  if (colons > 2 || *v == ':' || *v == '\0')
    return berr_set(err, EINVAL, "bad format for path: %s", v);
  char *a = strchr(s, ':'), *b = a ? strchr(a + 1, ':') : NULL;
  if (a)
    *a++ = '\0';
  if (b)
    *b++ = '\0';
  const char *dst = s, *mode = "rwm";
  if (b) {
    if (!device_mode_ok(b))
      return berr_set(err, EINVAL, "bad mode specified: %s", b);
    dst = a, mode = b;
  } else if (a) {
    if (device_mode_ok(a))
      mode = a;
    else
      dst = a;
  }
  if (dst[0] != '/')
    return berr_set(err, EINVAL, "%s is not an absolute path", dst);
  *out = json_pack("{s:s,s:s,s:s}", "PathOnHost", s, "PathInContainer", dst,
                   "CgroupPermissions", mode);
  return 0;
}

/* opts.ValidateDeviceCgroupRule: "^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$" */
int run_check_cgroup_rule(const char *v, struct berr **err) {
  const char *p = v;
  bool ok = (*p == 'a' || *p == 'c' || *p == 'b') && p[1] == ' ';
  p += 2;
  for (int part = 0; ok && part < 2; part++) {
    if (*p == '*') {
      p++;
    } else {
      const char *st = p;
      while (isdigit((unsigned char)*p))
        p++;
      ok = p > st;
    }
    ok = ok && *p == (part == 0 ? ':' : ' ');
    p++;
  }
  size_t n = ok ? strlen(p) : 0;
  ok = ok && n >= 1 && n <= 3 && strspn(p, "rwm") == n;
  if (!ok)
    return FLAGERR(err, "invalid device cgroup format '%s'", v,
                   "--device-cgroup-rule", v);
  return 0;
}

/* parseSecurityOpts: KEY=VALUE (or KEY:VALUE); a seccomp file is read and
 * sent inline as compact JSON; "builtin" and "unconfined" pass as they are. */
int run_security_opt(const char *v, char **out, struct berr **err) {
  const char *sep = strchr(v, '=');
  if (!sep && strcmp(v, "no-new-privileges") != 0)
    sep = strchr(v, ':');
  if ((!sep || !sep[1]) && strcmp(v, "no-new-privileges") != 0)
    return berr_set(err, EINVAL, "Invalid --security-opt: \"%s\"", v);
  if (sep && (size_t)(sep - v) == 7 && strncmp(v, "seccomp", 7) == 0 &&
      strcmp(sep + 1, "builtin") && strcmp(sep + 1, "unconfined")) {
    const char *file = sep + 1;
    _cleanup_free_ char *text = NULL;
    if (read_file(file, &text, NULL, NULL) < 0) {
      int e = errno ? errno : ENOENT;
      _cleanup_free_ char *why = xstrdup(strerror(e));
      why[0] = (char)tolower((unsigned char)why[0]);
      return berr_set(err, e, "opening seccomp profile (%s) failed: open %s: %s", file, file, why);
    }
    json_error_t je;
    _cleanup_json_ json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
      return berr_set(err, EINVAL, "compacting json for seccomp profile (%s) failed: %s", file,
                      je.text);
    _cleanup_free_ char *compact = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *out = xasprintf("seccomp=%s", compact);
    return 0;
  }
  *out = xstrdup(v);
  return 0;
}

/* --pid / --ipc / --uts / --cgroupns / --userns as the docker CLI checks them */
static int check_modes(const struct run_resources_opts *o, struct berr **err) {
  const char *pid = o->pid;
  if (pid && *pid && strcmp(pid, "host") &&
      !(strncmp(pid, "container:", 10) == 0 && pid[10]))
    return berr_set(err, EINVAL, "--pid: invalid PID mode");
  if (o->uts && *o->uts && strcmp(o->uts, "host"))
    return berr_set(err, EINVAL, "--uts: invalid UTS mode");
  if (o->userns && *o->userns && strcmp(o->userns, "host"))
    return berr_set(err, EINVAL, "--userns: invalid USER mode");
  if (o->cgroupns && *o->cgroupns && strcmp(o->cgroupns, "host") && strcmp(o->cgroupns, "private"))
    return berr_set(err, EINVAL, "--cgroupns: invalid CGROUP mode");
  return 0;
}

/* docker's MemSwapBytes: "-1" unlimited, else a RAMInBytes size */
int run_parse_memory_swap(const char *v, int64_t *out, struct berr **err) {
  if (strcmp(v, "-1") == 0) {
    *out = -1;
    return 0;
  }
  _cleanup_berr_ struct berr *e = NULL;
  if (parse_ram_bytes(v, out, &e) < 0)
    return FLAGERR(err, "%s", v, "--memory-swap", e->msg);
  return 0;
}

/* ------------------------------------------------------------- apply ---- */

typedef int (*item_fn)(const char *v, json_t **out, struct berr **err);

static int list_into(json_t *hc, const char *key, char **vals, item_fn fn, struct berr **err) {
  if (!vals)
    return 0;
  _cleanup_json_ json_t *a = json_array();
  for (char **v = vals; *v; v++) {
    json_t *item = NULL;
    if (fn(*v, &item, err) < 0)
      return -1;
    json_array_append_new(a, item);
  }
  json_object_set(hc, key, a);
  return 0;
}

static int throttle_into(json_t *hc, const char *key, const char *flag, char **vals, bool iops,
                         struct berr **err) {
  if (!vals)
    return 0;
  _cleanup_json_ json_t *a = json_array();
  for (char **v = vals; *v; v++) {
    json_t *item = NULL;
    if (run_parse_throttle(flag, *v, iops, &item, err) < 0)
      return -1;
    json_array_append_new(a, item);
  }
  json_object_set(hc, key, a);
  return 0;
}

static json_t *strv_array(char **v) {
  json_t *a = json_array();
  for (; v && *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

static void set_str(json_t *o, const char *key, const char *v) {
  if (v)
    json_object_set_new(o, key, json_string(v));
}

static void set_int(json_t *o, const char *key, bool set, int64_t v) {
  if (set)
    json_object_set_new(o, key, json_integer(v));
}

/* flag values checked by the parser (pflag's "invalid argument" family) */
static int apply_lists(const struct run_resources_opts *o, json_t *hc, struct berr **err) {
  if (list_into(hc, "Ulimits", o->ulimit, run_parse_ulimit, err) < 0 ||
      list_into(hc, "BlkioWeightDevice", o->blkio_weight_device, run_parse_weight_device, err) < 0 ||
      throttle_into(hc, "BlkioDeviceReadBps", "--device-read-bps", o->device_read_bps, false, err) < 0 ||
      throttle_into(hc, "BlkioDeviceWriteBps", "--device-write-bps", o->device_write_bps, false, err) < 0 ||
      throttle_into(hc, "BlkioDeviceReadIOps", "--device-read-iops", o->device_read_iops, true, err) < 0 ||
      throttle_into(hc, "BlkioDeviceWriteIOps", "--device-write-iops", o->device_write_iops, true, err) < 0)
    return -1;
  for (char **v = o->sysctl; v && *v; v++)
    if (run_check_sysctl(*v, err) < 0)
      return -1;
  for (char **v = o->device_cgroup_rule; v && *v; v++)
    if (run_check_cgroup_rule(*v, err) < 0)
      return -1;
  if (o->sysctl) {
    json_t *t = json_object();
    for (char **v = o->sysctl; *v; v++) {
      const char *eq = strchr(*v, '=');
      _cleanup_free_ char *k = strndup(*v, (size_t)(eq - *v));
      json_object_set_new(t, k, json_string(eq + 1));
    }
    json_object_set_new(hc, "Sysctls", t);
  }
  if (o->device_cgroup_rule)
    json_object_set_new(hc, "DeviceCgroupRules", strv_array(o->device_cgroup_rule));
  if (o->memory_swap) {
    int64_t v;
    if (run_parse_memory_swap(o->memory_swap, &v, err) < 0)
      return -1;
    json_object_set_new(hc, "MemorySwap", json_integer(v));
  }
  return 0;
}

/* values checked after parsing (plain messages) */
static int apply_checked(const struct run_resources_opts *o, json_t *hc, struct berr **err) {
  if (o->memory_swappiness_set && (o->memory_swappiness < -1 || o->memory_swappiness > 100))
    return berr_set(err, EINVAL, "invalid value: %lld. Valid memory swappiness range is 0-100",
                    (long long)o->memory_swappiness);
  if (check_modes(o, err) < 0)
    return -1;
  if (list_into(hc, "Devices", o->device, run_parse_device, err) < 0)
    return -1;
  if (o->security_opt) {
    _cleanup_json_ json_t *a = json_array();
    for (char **v = o->security_opt; *v; v++) {
      char *s = NULL;
      if (run_security_opt(*v, &s, err) < 0)
        return -1;
      /* systempaths=unconfined: no masked or read-only paths (docker sends
       * empty lists and not the option) */
      if (strcmp(s, "systempaths=unconfined") == 0) {
        json_object_set_new(hc, "MaskedPaths", json_array());
        json_object_set_new(hc, "ReadonlyPaths", json_array());
        free(s);
        continue;
      }
      json_array_append_new(a, json_string_nocheck(s));
      free(s);
    }
    json_object_set(hc, "SecurityOpt", a);
  }
  return 0;
}

int run_resources_apply(const struct run_resources_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                        struct berr **err) {
  (void)cfg, (void)nc;
  if (apply_lists(o, hc, err) < 0 || apply_checked(o, hc, err) < 0)
    return -1;
  set_int(hc, "BlkioWeight", o->blkio_weight_set, o->blkio_weight);
  set_int(hc, "CpuPeriod", o->cpu_period_set, o->cpu_period);
  set_int(hc, "CpuQuota", o->cpu_quota_set, o->cpu_quota);
  set_int(hc, "CpuRealtimePeriod", o->cpu_rt_period_set, o->cpu_rt_period);
  set_int(hc, "CpuRealtimeRuntime", o->cpu_rt_runtime_set, o->cpu_rt_runtime);
  set_int(hc, "CpuShares", o->cpu_shares_set, o->cpu_shares);
  set_int(hc, "KernelMemory", o->kernel_memory_set, o->kernel_memory);
  set_int(hc, "MemoryReservation", o->memory_reservation_set, o->memory_reservation);
  set_int(hc, "OomScoreAdj", o->oom_score_adj_set, o->oom_score_adj);
  json_object_set_new(hc, "MemorySwappiness",
                      json_integer(o->memory_swappiness_set ? o->memory_swappiness : -1));
  if (o->oom_kill_disable)
    json_object_set_new(hc, "OomKillDisable", json_true());
  set_str(hc, "CpusetCpus", o->cpuset_cpus);
  set_str(hc, "CpusetMems", o->cpuset_mems);
  set_str(hc, "PidMode", o->pid);
  set_str(hc, "IpcMode", o->ipc);
  set_str(hc, "UTSMode", o->uts);
  set_str(hc, "CgroupnsMode", o->cgroupns);
  set_str(hc, "UsernsMode", o->userns);
  set_str(hc, "Isolation", o->isolation);
  if (o->group_add)
    json_object_set_new(hc, "GroupAdd", strv_array(o->group_add));
  return 0;
}

void run_resources_free(struct run_resources_opts *o) {
  char ***v[] = {&o->blkio_weight_device, &o->device, &o->device_cgroup_rule,
                 &o->device_read_bps,     &o->device_read_iops, &o->device_write_bps,
                 &o->device_write_iops,   &o->group_add,        &o->security_opt,
                 &o->sysctl,              &o->ulimit};
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
    strv_freep(v[i]);
}
