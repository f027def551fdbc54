/*
 * container_limits.c — the resources and security half of a HostConfig:
 * the create/update-time checks dockerd 20.10 makes (daemon_unix.go's
 * verifyPlatformContainerResources and verifyPlatformContainerSettings,
 * read, not copied), with its messages and warnings, and the parts of the
 * OCI spec container_spec.c delegates here (block I/O devices, device
 * cgroup rules).
 *
 * What the host supports is read from /sys each time (no cached state):
 * the number of CPUs, the cpuset and memory nodes, whether the block I/O
 * weight files exist. Like dockerd, an unsupported weight is a warning and
 * the value is discarded (set to 0 / []) rather than an error.
 *
 * Invariants: the checks only ever modify the `hc` they are given (the
 * caller's copy) and append to `warnings`; on error nothing is half-done
 * for the caller to undo (it drops its copy).
 */
#include <errno.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "daemon/container_internal.h"

#define MB (1024LL * 1024LL)

static json_int_t hc_int(const json_t *hc, const char *key) {
  return json_integer_value(json_object_get(hc, key));
}

static void warn(json_t *warnings, const char *msg) {
  if (warnings)
    json_array_append_new(warnings, json_string(msg));
}

/* sysinfo.NumCPU: the CPUs this process may run on */
static int num_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* ------------------------------------------------------- cpuset lists ---- */

#define LIST_MAX 4096

/* parsers.ParseUintList: "0-3,5" → bits; -1 on a bad format ("" is empty). */
int limits_parse_list(const char *s, unsigned char *bits, size_t nbits) {
  memset(bits, 0, (nbits + 7) / 8);
  if (s == NULL || *s == '\0')
    return 0;
  _cleanup_free_ char *copy = xstrdup(s);
  char *p = copy, *tok;
  while ((tok = strsep(&p, ",")) != NULL) {
    char *dash = strchr(tok, '-');
    int64_t a, b;
    if (dash)
      *dash = '\0';
    if (parse_int64(tok, &a) < 0 || a < 0 || (dash && (parse_int64(dash + 1, &b) < 0 || b < a)))
      return -1;
    if (!dash)
      b = a;
    for (int64_t i = a; i <= b && i < (int64_t)nbits; i++)
      bits[i / 8] |= (unsigned char)(1u << (i % 8));
    if (b >= (int64_t)nbits)
      return -2; /* beyond anything a host has: not available */
  }
  return 0;
}

/* The host's list from the first readable file, trimmed; caller frees. */
static char *read_list(const char *const *files) {
  for (size_t i = 0; files[i]; i++) {
    _cleanup_free_ char *t = NULL;
    if (read_file(files[i], &t, NULL, NULL) == 0) {
      t[strcspn(t, "\n")] = '\0';
      if (*t)
        return steal_ptr(t);
    }
  }
  return xstrdup("0");
}

static int check_cpuset(const char *want, const char *what, const char *what_av,
                        const char *const *files, struct berr **err) {
  if (want == NULL || *want == '\0')
    return 0;
  unsigned char req[LIST_MAX / 8], av[LIST_MAX / 8];
  int r = limits_parse_list(want, req, LIST_MAX);
  if (r == -1)
    return berr_set(err, EINVAL, "Invalid value %s for cpuset %s: invalid format: %s", want, what,
                    want);
  _cleanup_free_ char *avail = read_list(files);
  limits_parse_list(avail, av, LIST_MAX);
  bool ok = r == 0;
  for (size_t i = 0; ok && i < sizeof(req); i++)
    ok = (req[i] & ~av[i]) == 0;
  if (!ok)
    return berr_set(err, EINVAL, "Requested %s are not available - requested %s, available: %s",
                    what_av, want, avail);
  return 0;
}

/* ------------------------------------------------------------ memory ---- */

static int check_memory(json_t *hc, json_t *warnings, struct berr **err) {
  json_int_t mem = hc_int(hc, "Memory"), res = hc_int(hc, "MemoryReservation");
  json_int_t kmem = hc_int(hc, "KernelMemory");
  if (res > 0 && res < 6 * MB)
    return berr_set(err, EINVAL, "Minimum memory reservation allowed is 6MB");
  if (mem > 0 && res > 0 && mem < res)
    return berr_set(err, EINVAL,
                    "Minimum memory limit can not be less than memory reservation limit, see "
                    "usage");
  if (kmem != 0 && kmem < 6 * MB)
    return berr_set(err, EINVAL, "Minimum kernel memory limit allowed is 6MB");
  if (kmem > 0)
    warn(warnings, "Specifying a kernel memory limit is deprecated and will be removed in a "
                   "future release.");
  if (json_is_true(json_object_get(hc, "OomKillDisable")) && mem == 0)
    warn(warnings, "OOM killer is disabled for the container, but no memory limit is set, this "
                   "can result in the system running out of resources.");
  json_int_t oom = hc_int(hc, "OomScoreAdj");
  if (oom < -1000 || oom > 1000)
    return berr_set(err, EINVAL, "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                    (long long)oom);
  return 0;
}

/* --------------------------------------------------------------- cpu ---- */

static int check_cpu(json_t *hc, struct berr **err) {
  json_int_t nano = hc_int(hc, "NanoCpus"), period = hc_int(hc, "CpuPeriod");
  json_int_t quota = hc_int(hc, "CpuQuota");
  if (nano > 0 && period > 0)
    return berr_set(err, EINVAL, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano > 0 && quota > 0)
    return berr_set(err, EINVAL, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  int n = num_cpus();
  if (nano < 0 || nano > (json_int_t)n * 1000000000LL)
    return berr_set(err, EINVAL,
                    "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n,
                    n);
  if (period != 0 && (period < 1000 || period > 1000000))
    return berr_set(err, EINVAL,
                    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. "
                    "1000000)");
  if (quota > 0 && quota < 1000)
    return berr_set(err, EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  json_int_t rtp = hc_int(hc, "CpuRealtimePeriod"), rtr = hc_int(hc, "CpuRealtimeRuntime");
  bool rt = path_exists("/sys/fs/cgroup/cpu/cpu.rt_period_us") ||
            path_exists("/sys/fs/cgroup/cpu,cpuacct/cpu.rt_period_us");
  if (rtp > 0 && !rt)
    return berr_set(err, EINVAL, "Your kernel does not support cgroup cpu real-time period");
  if (rtr > 0 && !rt)
    return berr_set(err, EINVAL, "Your kernel does not support cgroup cpu real-time runtime");
  if (rtp != 0 && rtr != 0 && rtr > rtp)
    return berr_set(err, EINVAL, "cpu real-time runtime cannot be higher than cpu real-time period");
  static const char *const cpu_files[] = {"/sys/fs/cgroup/cpuset/cpuset.effective_cpus",
                                          "/sys/fs/cgroup/cpuset/cpuset.cpus",
                                          "/sys/fs/cgroup/cpuset.cpus.effective",
                                          "/sys/devices/system/cpu/online", NULL};
  static const char *const mem_files[] = {"/sys/fs/cgroup/cpuset/cpuset.effective_mems",
                                          "/sys/fs/cgroup/cpuset/cpuset.mems",
                                          "/sys/fs/cgroup/cpuset.mems.effective",
                                          "/sys/devices/system/node/online", NULL};
  if (check_cpuset(json_string_value(json_object_get(hc, "CpusetCpus")), "cpus", "CPUs",
                   cpu_files, err) < 0 ||
      check_cpuset(json_string_value(json_object_get(hc, "CpusetMems")), "mems", "memory nodes",
                   mem_files, err) < 0)
    return -1;
  return 0;
}

/* --------------------------------------------------------- block I/O ---- */

static bool blkio_weight_supported(void) {
  if (path_exists("/sys/fs/cgroup/cgroup.controllers") && !path_exists("/sys/fs/cgroup/blkio"))
    return path_exists("/sys/fs/cgroup/io.weight") || path_exists("/sys/fs/cgroup/io.bfq.weight") ||
           path_exists("/sys/fs/cgroup/cgroup.subtree_control"); /* v2: io controller */
  return path_exists("/sys/fs/cgroup/blkio/blkio.weight") ||
         path_exists("/sys/fs/cgroup/blkio/blkio.bfq.weight");
}

static bool blkio_weight_device_supported(void) {
  if (path_exists("/sys/fs/cgroup/cgroup.controllers") && !path_exists("/sys/fs/cgroup/blkio"))
    return true;
  return path_exists("/sys/fs/cgroup/blkio/blkio.weight_device");
}

static int check_blkio(json_t *hc, json_t *warnings, struct berr **err) {
  json_int_t w = hc_int(hc, "BlkioWeight");
  if (w > 0 && !blkio_weight_supported()) {
    warn(warnings, "Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                   "Weight discarded.");
    json_object_set_new(hc, "BlkioWeight", json_integer(0));
  } else if (w > 0 && (w < 10 || w > 1000)) {
    return berr_set(err, EINVAL, "Range of blkio weight is from 10 to 1000");
  }
  if (json_array_size(json_object_get(hc, "BlkioWeightDevice")) > 0 &&
      !blkio_weight_device_supported()) {
    warn(warnings, "Your kernel does not support Block I/O weight_device or the cgroup is not "
                   "mounted. Weight-device discarded.");
    json_object_set_new(hc, "BlkioWeightDevice", json_array());
  }
  return 0;
}

int limits_check_resources(json_t *hc, json_t *warnings, struct berr **err) {
  if (check_memory(hc, warnings, err) < 0 || check_cpu(hc, err) < 0 ||
      check_blkio(hc, warnings, err) < 0)
    return -1;
  return 0;
}

/* ---------------------------------------------- namespaces, security ---- */

/* "container:<name>" must name an existing container (dockerd checks at
 * create: "No such container: x") */
static int check_container_mode(struct daemon *d, const char *mode, struct berr **err) {
  if (!d || !mode || !str_has_prefix(mode, "container:"))
    return 0;
  struct container *o = NULL;
  if (ctr_get(d, mode + 10, &o, err) < 0)
    return -1;
  ctr_put(o);
  return 0;
}

static int check_modes(struct daemon *d, const json_t *hc, struct berr **err) {
  const char *ipc = json_string_value(json_object_get(hc, "IpcMode"));
  const char *pid = json_string_value(json_object_get(hc, "PidMode"));
  const char *uts = json_string_value(json_object_get(hc, "UTSMode"));
  const char *cg = json_string_value(json_object_get(hc, "CgroupnsMode"));
  const char *us = json_string_value(json_object_get(hc, "UsernsMode"));
  const char *iso = json_string_value(json_object_get(hc, "Isolation"));
  /* an unknown IpcMode is refused at start (limits_spec_check), as dockerd does */
  if (pid && *pid && strcmp(pid, "host") && !(str_has_prefix(pid, "container:") && pid[10]))
    return berr_set(err, EINVAL, "Invalid PID mode: %s", pid);
  if (uts && *uts && strcmp(uts, "host"))
    return berr_set(err, EINVAL, "Invalid UTS mode: %s", uts);
  if (cg && *cg && strcmp(cg, "host") && strcmp(cg, "private"))
    return berr_set(err, EINVAL, "invalid cgroup namespace mode: %s", cg);
  if (us && *us && strcmp(us, "host"))
    return berr_set(err, EINVAL, "invalid USER mode: %s", us);
  if (iso && *iso && strcasecmp(iso, "default"))
    return berr_set(err, EINVAL, "Invalid isolation: \"%s\" - linux only supports 'default'", iso);
  if (check_container_mode(d, pid, err) < 0 || check_container_mode(d, ipc, err) < 0)
    return -1;
  return 0;
}

/* dockerd's parseSecurityOpt: key=value or key:value; no-new-privileges
 * alone or with a boolean; label/apparmor accepted (no LSM here: ignored,
 * as dockerd does when AppArmor/SELinux are not enabled) */
static int check_security_opts(const json_t *hc, struct berr **err) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
    const char *s = json_string_value(v);
    if (s == NULL)
      return berr_set(err, EINVAL, "invalid --security-opt 1: \"\"");
    if (strcmp(s, "no-new-privileges") == 0)
      continue;
    const char *eq = strchr(s, '=');
    const char *co = strchr(s, ':');
    const char *sep = eq && (!co || eq < co) ? eq : co;
    if (sep == NULL)
      return berr_set(err, EINVAL, "invalid --security-opt 1: \"%s\"", s);
    size_t kl = (size_t)(sep - s);
    const char *val = sep + 1;
    if (kl == 17 && strncmp(s, "no-new-privileges", kl) == 0) {
      if (strcmp(val, "true") && strcmp(val, "false") && strcmp(val, "1") && strcmp(val, "0"))
        return berr_set(err, EINVAL, "invalid --security-opt 2: \"%s\"", s);
    } else if (!((kl == 5 && strncmp(s, "label", 5) == 0) ||
                 (kl == 8 && strncmp(s, "apparmor", 8) == 0) ||
                 (kl == 7 && strncmp(s, "seccomp", 7) == 0))) {
      return berr_set(err, EINVAL, "invalid --security-opt 2: \"%s\"", s);
    }
  }
  return 0;
}

/* CapAdd / CapDrop names: dockerd says "invalid CapAdd: unknown capability:
 * "CAP_FOO"" (the name upper-cased, with the prefix) at create */
static int check_caps(const json_t *hc, const char *key, struct berr **err) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, key), i, v) {
    _cleanup_json_ json_t *one = json_pack("{s:[O]}", "CapAdd", v);
    _cleanup_json_ json_t *caps = NULL;
    _cleanup_berr_ struct berr *e = NULL;
    if (spec_capabilities(one, &caps, &e) < 0) {
      const char *s = json_string_value(v) ? json_string_value(v) : "";
      _cleanup_free_ char *up = strncasecmp(s, "CAP_", 4) == 0 ? xstrdup(s) : xasprintf("CAP_%s", s);
      for (char *p = up; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
      return berr_set(err, EINVAL, "invalid %s: unknown capability: \"%s\"", key, up);
    }
  }
  return 0;
}

int limits_check_create(struct daemon *d, json_t *hc, json_t *warnings, struct berr **err) {
  if (check_caps(hc, "CapAdd", err) < 0 || check_caps(hc, "CapDrop", err) < 0 ||
      limits_check_resources(hc, warnings, err) < 0 || check_modes(d, hc, err) < 0 ||
      check_security_opts(hc, err) < 0)
    return -1;
  return 0;
}

/* ------------------------------------------------------ spec helpers ---- */

static int dev_numbers(const char *path, json_int_t *maj, json_int_t *min, struct berr **err) {
  struct stat st;
  if (stat(path, &st) < 0)
    return berr_sys(err, errno, "error gathering device information for %s", path);
  if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
    return berr_set(err, EINVAL, "%s is not a device", path);
  *maj = (json_int_t)major(st.st_rdev);
  *min = (json_int_t)minor(st.st_rdev);
  return 0;
}

/* BlkioDevice{Read,Write}{Bps,IOps} → [{major, minor, rate}] */
static int throttle_list(const json_t *hc, const char *key, json_t *blk, const char *oci,
                         struct berr **err) {
  const json_t *list = json_object_get(hc, key);
  if (json_array_size(list) == 0)
    return 0;
  json_t *out = json_array();
  json_object_set_new(blk, oci, out);
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    json_int_t maj, min;
    const char *p = json_string_value(json_object_get(v, "Path"));
    if (dev_numbers(p ? p : "", &maj, &min, err) < 0)
      return -1;
    json_array_append_new(out, json_pack("{s:I,s:I,s:I}", "major", maj, "minor", min, "rate",
                                         json_integer_value(json_object_get(v, "Rate"))));
  }
  return 0;
}

/* checks dockerd makes only when it builds the spec (at start) */
int limits_spec_check(const json_t *hc, struct berr **err) {
  if (hc_int(hc, "CpuShares") < 0)
    return berr_set(err, EINVAL, "shares: invalid argument");
  static const char *const ipc_ok[] = {"", "private", "host", "none", "shareable", NULL};
  const char *ipc = json_string_value(json_object_get(hc, "IpcMode"));
  bool ok = ipc == NULL || (str_has_prefix(ipc, "container:") && ipc[10]);
  for (size_t i = 0; !ok && ipc_ok[i]; i++)
    ok = strcmp(ipc, ipc_ok[i]) == 0;
  if (!ok)
    return berr_set(err, EINVAL, "Invalid IPC mode: %s", ipc);
  return 0;
}

int limits_spec_blkio(const json_t *hc, json_t *resources, struct berr **err) {
  json_t *blk = json_object_get(resources, "blockIO");
  _cleanup_json_ json_t *own = blk ? json_incref(blk) : json_object();
  if (throttle_list(hc, "BlkioDeviceReadBps", own, "throttleReadBpsDevice", err) < 0 ||
      throttle_list(hc, "BlkioDeviceWriteBps", own, "throttleWriteBpsDevice", err) < 0 ||
      throttle_list(hc, "BlkioDeviceReadIOps", own, "throttleReadIOPSDevice", err) < 0 ||
      throttle_list(hc, "BlkioDeviceWriteIOps", own, "throttleWriteIOPSDevice", err) < 0)
    return -1;
  const json_t *wd = json_object_get(hc, "BlkioWeightDevice");
  if (json_array_size(wd) > 0) {
    json_t *out = json_array();
    json_object_set_new(own, "weightDevice", out);
    size_t i;
    json_t *v;
    json_array_foreach(wd, i, v) {
      json_int_t maj, min;
      const char *p = json_string_value(json_object_get(v, "Path"));
      if (dev_numbers(p ? p : "", &maj, &min, err) < 0)
        return -1;
      json_array_append_new(out, json_pack("{s:I,s:I,s:I}", "major", maj, "minor", min, "weight",
                                           json_integer_value(json_object_get(v, "Weight"))));
    }
  }
  if (json_object_size(own) > 0)
    json_object_set(resources, "blockIO", own);
  return 0;
}

/* DeviceCgroupRules "c 1:3 rwm" / "a *:* rwm" → linux.resources.devices */
void limits_spec_cgroup_rules(const json_t *hc, json_t *rules) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "DeviceCgroupRules"), i, v) {
    const char *s = json_string_value(v);
    char type = 0, access[8] = "";
    char majs[24] = "", mins[24] = "";
    if (!s || sscanf(s, "%c %23[0-9*]:%23[0-9*] %7s", &type, majs, mins, access) != 4)
      continue;
    json_t *r = json_pack("{s:b,s:s#,s:s}", "allow", 1, "type", &type, (size_t)1, "access", access);
    if (strcmp(majs, "*") != 0)
      json_object_set_new(r, "major", json_integer(atoll(majs)));
    if (strcmp(mins, "*") != 0)
      json_object_set_new(r, "minor", json_integer(atoll(mins)));
    json_array_append_new(rules, r);
  }
}
