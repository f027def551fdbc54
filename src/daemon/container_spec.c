/*
 * container_spec.c — Docker's container configuration → the OCI config.json
 * berth-runc runs. Pure functions (no daemon state): the inputs are the create
 * body's Config and HostConfig, the image's config, the rootfs (for
 * /etc/passwd and /etc/group) and a few daemon settings, so unit tests can
 * check the output directly.
 *
 * What follows dockerd 20.10 (daemon/oci_linux.go and friends, read, not
 * copied): the default mounts, capabilities, masked and read-only paths, the
 * env order (PATH, HOSTNAME, TERM, then the user's), user lookup, the seccomp
 * profile's includes/excludes, resources, and --privileged.
 *
 * Invariants: every object returned is new (the inputs are never modified,
 * except spec_merge_image's `cfg` and spec_hostconfig_check's `hc`, which
 * are the point of those two).
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include "daemon/container_internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ------------------------------------------------------ config merge ---- */

static const char *env_key_end(const char *kv) {
  const char *eq = strchr(kv, '=');
  return eq ? eq : kv + strlen(kv);
}

static bool env_has_key(const json_t *env, const char *kv) {
  size_t klen = (size_t)(env_key_end(kv) - kv);
  size_t i;
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *s = json_string_value(v);
    if (s && (size_t)(env_key_end(s) - s) == klen && strncmp(s, kv, klen) == 0)
      return true;
  }
  return false;
}

static bool empty_array(const json_t *a) {
  return a == NULL || json_is_null(a) || (json_is_array(a) && json_array_size(a) == 0);
}

static bool empty_string(const json_t *s) {
  return s == NULL || !json_is_string(s) || json_string_length(s) == 0;
}

static void take_if_empty_str(json_t *cfg, const json_t *img, const char *key) {
  json_t *iv = json_object_get(img, key);
  if (empty_string(json_object_get(cfg, key)) && !empty_string(iv))
    json_object_set(cfg, key, iv);
}

static void union_object(json_t *cfg, const json_t *img, const char *key) {
  json_t *iv = json_object_get(img, key);
  if (!json_is_object(iv))
    return;
  json_t *cv = json_object_get(cfg, key);
  if (!json_is_object(cv)) {
    json_object_set_new(cfg, key, json_deep_copy(iv));
    return;
  }
  json_object_update_missing(cv, iv);
}

static void merge_health(json_t *cfg, const json_t *img) {
  json_t *ih = json_object_get(img, "Healthcheck");
  json_t *ch = json_object_get(cfg, "Healthcheck");
  if (!json_is_object(ih))
    return;
  if (!json_is_object(ch)) {
    json_object_set_new(cfg, "Healthcheck", json_deep_copy(ih));
    return;
  }
  if (empty_array(json_object_get(ch, "Test")))
    json_object_set(ch, "Test", json_object_get(ih, "Test"));
  static const char *const durations[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
  for (size_t i = 0; i < 4; i++)
    if (json_integer_value(json_object_get(ch, durations[i])) == 0 &&
        json_object_get(ih, durations[i]))
      json_object_set(ch, durations[i], json_object_get(ih, durations[i]));
}

void spec_merge_image(json_t *cfg, const json_t *img) {
  if (!json_is_object(img))
    return;
  take_if_empty_str(cfg, img, "User");
  union_object(cfg, img, "ExposedPorts");
  union_object(cfg, img, "Volumes");
  /* Env: the user's first, then the image's keys the user did not set */
  json_t *env = json_object_get(cfg, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(cfg, "Env", env);
  }
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(img, "Env"), i, v) {
    if (json_is_string(v) && !env_has_key(env, json_string_value(v)))
      json_array_append(env, v);
  }
  /* Labels: the image's, overridden by the user's */
  json_t *il = json_object_get(img, "Labels");
  if (json_is_object(il)) {
    json_t *labels = json_deep_copy(il);
    json_t *cl = json_object_get(cfg, "Labels");
    if (json_is_object(cl))
      json_object_update(labels, cl);
    json_object_set_new(cfg, "Labels", labels);
  }
  /* An Entrypoint given resets the image's Cmd; without one, the image's
   * Entrypoint stays and its Cmd is the default arguments */
  if (empty_array(json_object_get(cfg, "Entrypoint"))) {
    if (empty_array(json_object_get(cfg, "Cmd")) && json_object_get(img, "Cmd"))
      json_object_set(cfg, "Cmd", json_object_get(img, "Cmd"));
    if (json_object_get(cfg, "Entrypoint") == NULL || json_is_null(json_object_get(cfg, "Entrypoint")))
      if (json_object_get(img, "Entrypoint"))
        json_object_set(cfg, "Entrypoint", json_object_get(img, "Entrypoint"));
  }
  merge_health(cfg, img);
  take_if_empty_str(cfg, img, "WorkingDir");
  take_if_empty_str(cfg, img, "StopSignal");
  if (json_object_get(img, "OnBuild") && json_object_get(cfg, "OnBuild") == NULL)
    json_object_set(cfg, "OnBuild", json_object_get(img, "OnBuild"));
}

/* ------------------------------------------------------ host config ---- */

/* dockerd's default masked and read-only paths (oci.DefaultSpec) */
static const char *const masked_paths[] = {
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    NULL,
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *strarr(const char *const *v) {
  json_t *a = json_array();
  for (; *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

/* Every HostConfig field dockerd 20.10 answers in inspect (its Go struct has
 * no omitempty), with the value an absent field decodes to (Go's zero value:
 * nil for slices and maps, hence null): clients that send a minimal body
 * (docker-py) must read back dockerd's full shape. */
static const struct {
  const char *key;
  char type; /* s: "", i: 0, b: false, n: null, c: [0,0] */
} hc_fields[] = {
    {"Binds", 'n'}, {"ContainerIDFile", 's'}, {"NetworkMode", 's'}, {"PortBindings", 'n'},
    {"AutoRemove", 'b'}, {"VolumeDriver", 's'}, {"VolumesFrom", 'n'}, {"CapAdd", 'n'},
    {"CapDrop", 'n'}, {"CgroupnsMode", 's'}, {"Dns", 'n'}, {"DnsOptions", 'n'},
    {"DnsSearch", 'n'}, {"ExtraHosts", 'n'}, {"GroupAdd", 'n'}, {"IpcMode", 's'},
    {"Cgroup", 's'}, {"Links", 'n'}, {"OomScoreAdj", 'i'}, {"PidMode", 's'},
    {"Privileged", 'b'}, {"PublishAllPorts", 'b'}, {"ReadonlyRootfs", 'b'}, {"SecurityOpt", 'n'},
    {"UTSMode", 's'}, {"UsernsMode", 's'}, {"ShmSize", 'i'}, {"ConsoleSize", 'c'},
    {"Isolation", 's'}, {"CpuShares", 'i'}, {"Memory", 'i'}, {"NanoCpus", 'i'},
    {"CgroupParent", 's'}, {"BlkioWeight", 'i'}, {"BlkioWeightDevice", 'n'},
    {"BlkioDeviceReadBps", 'n'}, {"BlkioDeviceWriteBps", 'n'}, {"BlkioDeviceReadIOps", 'n'},
    {"BlkioDeviceWriteIOps", 'n'}, {"CpuPeriod", 'i'}, {"CpuQuota", 'i'},
    {"CpuRealtimePeriod", 'i'}, {"CpuRealtimeRuntime", 'i'}, {"CpusetCpus", 's'},
    {"CpusetMems", 's'}, {"Devices", 'n'}, {"DeviceCgroupRules", 'n'}, {"DeviceRequests", 'n'},
    {"KernelMemory", 'i'}, {"KernelMemoryTCP", 'i'}, {"MemoryReservation", 'i'},
    {"MemorySwap", 'i'}, {"MemorySwappiness", 'n'}, {"OomKillDisable", 'b'},
    {"PidsLimit", 'n'}, {"Ulimits", 'n'}, {"CpuCount", 'i'}, {"CpuPercent", 'i'},
    {"IOMaximumIOps", 'i'}, {"IOMaximumBandwidth", 'i'}, {"MaskedPaths", 'n'},
    {"ReadonlyPaths", 'n'},
};

static json_t *hc_zero(char type) {
  switch (type) {
  case 's':
    return json_string("");
  case 'i':
    return json_integer(0);
  case 'b':
    return json_false();
  case 'c':
    return json_pack("[ii]", 0, 0);
  default:
    return json_null();
  }
}

/* dockerd's create-time defaults (daemon/create.go, adaptContainerSettings):
 * absent fields filled, "no limit" values stored as null, the default IPC
 * and cgroup namespace modes, the masked paths of an unprivileged
 * container. */
static void hostconfig_defaults(json_t *hc) {
  for (size_t i = 0; i < sizeof hc_fields / sizeof hc_fields[0]; i++)
    if (json_object_get(hc, hc_fields[i].key) == NULL)
      json_object_set_new(hc, hc_fields[i].key, hc_zero(hc_fields[i].type));
  /* -1 (the CLI's default) means unset: dockerd stores nil */
  if (json_integer_value(json_object_get(hc, "MemorySwappiness")) == -1)
    json_object_set_new(hc, "MemorySwappiness", json_null());
  json_t *pl = json_object_get(hc, "PidsLimit");
  if (json_is_integer(pl) && json_integer_value(pl) <= 0)
    json_object_set_new(hc, "PidsLimit", json_null());
  /* default-ipc-mode "private"; default-cgroupns-mode host on v1, private on v2 */
  if (empty_string(json_object_get(hc, "IpcMode")))
    json_object_set_new(hc, "IpcMode", json_string("private"));
  if (empty_string(json_object_get(hc, "CgroupnsMode"))) {
    bool v2 = path_exists("/sys/fs/cgroup/cgroup.controllers");
    json_object_set_new(hc, "CgroupnsMode", json_string(v2 ? "private" : "host"));
  }
  if (!json_is_true(json_object_get(hc, "Privileged"))) {
    if (json_is_null(json_object_get(hc, "MaskedPaths")))
      json_object_set_new(hc, "MaskedPaths", strarr(masked_paths));
    if (json_is_null(json_object_get(hc, "ReadonlyPaths")))
      json_object_set_new(hc, "ReadonlyPaths", strarr(readonly_paths));
  }
}


static int check_restart(json_t *hc, struct berr **err) {
  json_t *rp = json_object_get(hc, "RestartPolicy");
  if (!json_is_object(rp)) {
    rp = json_object();
    json_object_set_new(hc, "RestartPolicy", rp);
  }
  const char *name = json_string_value(json_object_get(rp, "Name"));
  json_int_t max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));
  if (name == NULL || *name == '\0')
    name = "no";
  if (strcmp(name, "no") && strcmp(name, "always") && strcmp(name, "unless-stopped") &&
      strcmp(name, "on-failure"))
    return berr_set(err, EINVAL, "invalid restart policy '%s'", name);
  if (max < 0)
    return berr_set(err, EINVAL, "invalid restart policy: maximum retry count cannot be negative");
  if (max > 0 && strcmp(name, "on-failure") != 0)
    return berr_set(err, EINVAL,
                    "invalid restart policy: maximum retry count can only be used with "
                    "'on-failure'");
  if (json_is_true(json_object_get(hc, "AutoRemove")) && strcmp(name, "no") != 0)
    return berr_set(err, EINVAL, "can't create 'AutoRemove' container with restart policy");
  json_object_set_new(rp, "Name", json_string(name));
  json_object_set_new(rp, "MaximumRetryCount", json_integer(max));
  return 0;
}

int spec_hostconfig_check(json_t *hc, struct berr **err) {
  int rc = check_restart(hc, err);
  if (rc < 0)
    return rc;
  if (empty_string(json_object_get(hc, "NetworkMode")))
    json_object_set_new(hc, "NetworkMode", json_string("default"));
  json_int_t mem = json_integer_value(json_object_get(hc, "Memory"));
  if (mem != 0 && mem < 6 * 1024 * 1024)
    return berr_set(err, EINVAL, "Minimum memory limit allowed is 6MB");
  json_int_t swap = json_integer_value(json_object_get(hc, "MemorySwap"));
  if (swap > 0 && mem == 0)
    return berr_set(err, EINVAL,
                    "You should always set the Memory limit when using Memoryswap limit, see "
                    "usage");
  if (swap > 0 && swap < mem)
    return berr_set(err, EINVAL,
                    "Minimum memoryswap limit should be larger than memory limit, see usage");
  /* the Nano CPUs / CFS conflicts and ranges: container_limits.c */
  json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
  if (shm < 0)
    return berr_set(err, EINVAL, "SHM size can not be less than 0");
  if (shm == 0)
    json_object_set_new(hc, "ShmSize", json_integer(64 * 1024 * 1024));
  json_t *swappiness = json_object_get(hc, "MemorySwappiness");
  if (json_is_integer(swappiness) &&
      (json_integer_value(swappiness) < -1 || json_integer_value(swappiness) > 100))
    return berr_set(err, EINVAL,
                    "Invalid value: %lld, valid memory swappiness range is 0-100",
                    (long long)json_integer_value(swappiness));
  hostconfig_defaults(hc);
  return 0;
}

/* ----------------------------------------------------- capabilities ---- */

/* Docker's default set (20.10) */
static const char *const default_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",         "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",         "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",   "CAP_AUDIT_WRITE", NULL,
};

static const char *const all_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE", NULL,
};

/* "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; NULL if unknown. */
static const char *cap_normalise(const char *s) {
  const char *n = strncasecmp(s, "CAP_", 4) == 0 ? s + 4 : s;
  for (size_t i = 0; all_caps[i]; i++)
    if (strcasecmp(all_caps[i] + 4, n) == 0)
      return all_caps[i];
  return NULL;
}

static bool list_has_all(const json_t *list) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    const char *s = json_string_value(v);
    if (s && (strcasecmp(s, "ALL") == 0 || strcasecmp(s, "CAP_ALL") == 0))
      return true;
  }
  return false;
}

static bool strarr_has(const json_t *a, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (json_string_value(v) && strcmp(json_string_value(v), s) == 0)
      return true;
  return false;
}

static int check_cap_list(const json_t *list, struct berr **err) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    const char *s = json_string_value(v);
    if (s == NULL || (cap_normalise(s) == NULL && strcasecmp(s, "ALL") && strcasecmp(s, "CAP_ALL")))
      return berr_set(err, EINVAL, "unknown capability: \"%s\"", s ? s : "");
  }
  return 0;
}

int spec_capabilities(const json_t *hc, json_t **out, struct berr **err) {
  const json_t *add = json_object_get(hc, "CapAdd");
  const json_t *drop = json_object_get(hc, "CapDrop");
  int rc;
  if ((rc = check_cap_list(add, err)) < 0 || (rc = check_cap_list(drop, err)) < 0)
    return rc;
  json_t *caps = json_array();
  bool priv = json_is_true(json_object_get(hc, "Privileged"));
  const char *const *base = priv || list_has_all(add) ? all_caps : default_caps;
  bool drop_all = list_has_all(drop) && !priv;
  for (size_t i = 0; base[i] && !drop_all; i++)
    json_array_append_new(caps, json_string(base[i]));
  size_t i;
  json_t *v;
  json_array_foreach(add, i, v) {
    const char *c = cap_normalise(json_string_value(v));
    if (c && !strarr_has(caps, c))
      json_array_append_new(caps, json_string(c));
  }
  if (!priv) {
    json_array_foreach(drop, i, v) {
      const char *c = cap_normalise(json_string_value(v));
      for (size_t j = 0; c && j < json_array_size(caps); j++)
        if (strcmp(json_string_value(json_array_get(caps, j)), c) == 0) {
          /* an explicit add beats a drop only for ALL; Docker: drop wins */
          json_array_remove(caps, j);
          break;
        }
    }
  }
  *out = caps;
  return 0;
}

/* --------------------------------------------------------- seccomp ---- */

static const char *go_arch(const char *machine) {
  static const char *const map[][2] = {
      {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"i686", "386"}, {"i386", "386"},
      {"armv7l", "arm"},   {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"},
      {"loongarch64", "loong64"},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(map[i][0], machine) == 0)
      return map[i][1];
  return machine;
}

static const char *scmp_arch(const char *machine) {
  static const char *const map[][2] = {
      {"x86_64", "SCMP_ARCH_X86_64"}, {"aarch64", "SCMP_ARCH_AARCH64"}, {"i686", "SCMP_ARCH_X86"},
      {"ppc64le", "SCMP_ARCH_PPC64LE"}, {"s390x", "SCMP_ARCH_S390X"},
      {"riscv64", "SCMP_ARCH_RISCV64"}, {"loongarch64", "SCMP_ARCH_LOONGARCH64"},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(map[i][0], machine) == 0)
      return map[i][1];
  return NULL;
}

/* Kernel release ≥ "maj.min"? */
static bool kernel_at_least(const char *release, const char *want) {
  int rmaj = 0, rmin = 0, wmaj = 0, wmin = 0;
  if (sscanf(release, "%d.%d", &rmaj, &rmin) < 1 || sscanf(want, "%d.%d", &wmaj, &wmin) < 1)
    return true;
  return rmaj > wmaj || (rmaj == wmaj && rmin >= wmin);
}

static bool rule_applies(const json_t *rule, const json_t *caps, const char *arch,
                         const char *release) {
  const json_t *inc = json_object_get(rule, "includes");
  const json_t *exc = json_object_get(rule, "excludes");
  size_t i;
  json_t *v;
  const json_t *arches = json_object_get(inc, "arches");
  if (json_array_size(arches) > 0 && !strarr_has(arches, arch))
    return false;
  json_array_foreach(json_object_get(inc, "caps"), i, v) {
    if (!strarr_has(caps, json_string_value(v)))
      return false;
  }
  const char *mk = json_string_value(json_object_get(inc, "minKernel"));
  if (mk && !kernel_at_least(release, mk))
    return false;
  if (strarr_has(json_object_get(exc, "arches"), arch))
    return false;
  json_array_foreach(json_object_get(exc, "caps"), i, v) {
    if (strarr_has(caps, json_string_value(v)))
      return false;
  }
  return true;
}

int spec_seccomp_convert(const json_t *profile, const json_t *caps, json_t **out,
                         struct berr **err) {
  if (!json_is_object(profile) || !json_is_string(json_object_get(profile, "defaultAction")))
    return berr_set(err, EINVAL, "seccomp profile: missing defaultAction");
  struct utsname u;
  uname(&u);
  const char *arch = go_arch(u.machine);
  json_t *sc = json_object();
  json_object_set(sc, "defaultAction", json_object_get(profile, "defaultAction"));
  if (json_object_get(profile, "defaultErrnoRet"))
    json_object_set(sc, "defaultErrnoRet", json_object_get(profile, "defaultErrnoRet"));
  /* architectures: the host's entry of archMap with its sub-architectures */
  json_t *archs = json_array();
  const char *native = scmp_arch(u.machine);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(profile, "archMap"), i, v) {
    const char *a = json_string_value(json_object_get(v, "architecture"));
    if (native == NULL || a == NULL || strcmp(a, native) != 0)
      continue;
    json_array_append_new(archs, json_string(a));
    size_t j;
    json_t *sub;
    json_array_foreach(json_object_get(v, "subArchitectures"), j, sub)
        json_array_append(archs, sub);
  }
  json_array_foreach(json_object_get(profile, "architectures"), i, v) {
    if (!strarr_has(archs, json_string_value(v)))
      json_array_append(archs, v);
  }
  json_object_set_new(sc, "architectures", archs);
  json_t *calls = json_array();
  json_array_foreach(json_object_get(profile, "syscalls"), i, v) {
    if (!rule_applies(v, caps, arch, u.release))
      continue;
    json_t *names = json_object_get(v, "names");
    if (!json_is_array(names) && json_is_string(json_object_get(v, "name"))) {
      names = json_pack("[O]", json_object_get(v, "name"));
    } else {
      json_incref(names);
    }
    json_t *r = json_pack("{s:o,s:O}", "names", names, "action", json_object_get(v, "action"));
    if (json_object_get(v, "errnoRet"))
      json_object_set(r, "errnoRet", json_object_get(v, "errnoRet"));
    if (json_array_size(json_object_get(v, "args")) > 0)
      json_object_set(r, "args", json_object_get(v, "args"));
    json_array_append_new(calls, r);
  }
  json_object_set_new(sc, "syscalls", calls);
  *out = sc;
  return 0;
}

/* ------------------------------------------------------------ users ---- */

/* User "name|uid[:group|gid]" + GroupAdd → the OCI user and HOME, from the
 * image's files (passwd.c, shared with exec and cp). */
static int resolve_user(const char *rootfs, const char *spec_user, const json_t *group_add,
                        json_t **user_out, char **home, struct berr **err) {
  _cleanup_free_ char *passwd = NULL, *group = NULL;
  ctr_user_files(rootfs, &passwd, &group);
  struct ctr_user u;
  int rc = ctr_user_resolve(spec_user, passwd, group, group_add, &u, err);
  if (rc < 0)
    return rc;
  *user_out = ctr_user_oci(&u);
  *home = steal_ptr(u.home);
  ctr_user_clear(&u);
  return 0;
}

/* ------------------------------------------------------------- env ---- */

static json_t *build_env(const json_t *cfg, const char *hostname, const char *home) {
  json_t *env = json_array();
  const json_t *user_env = json_object_get(cfg, "Env");
  if (!env_has_key(user_env, "PATH="))
    json_array_append_new(env, json_string(DEFAULT_PATH));
  json_array_append_new(env, json_sprintf("HOSTNAME=%s", hostname));
  if (json_is_true(json_object_get(cfg, "Tty")))
    json_array_append_new(env, json_string("TERM=xterm"));
  size_t i;
  json_t *v;
  json_array_foreach(user_env, i, v) {
    const char *s = json_string_value(v);
    /* "NAME" without "=": the docker CLI sends it for `-e NAME` when NAME is
     * unset on the client; dockerd leaves it out of the process's
     * environment (runc would refuse it) */
    if (s == NULL || strchr(s, '=') == NULL)
      continue;
    /* replace an earlier entry with the same key (HOSTNAME, TERM) */
    size_t klen = (size_t)(env_key_end(s) - s);
    bool replaced = false;
    for (size_t j = 0; j < json_array_size(env) && !replaced; j++) {
      const char *e = json_string_value(json_array_get(env, j));
      if ((size_t)(env_key_end(e) - e) == klen && strncmp(e, s, klen) == 0) {
        json_array_set(env, j, v);
        replaced = true;
      }
    }
    if (!replaced)
      json_array_append(env, v);
  }
  if (!env_has_key(env, "HOME="))
    json_array_append_new(env, json_sprintf("HOME=%s", home && *home ? home : "/"));
  return env;
}

/* ----------------------------------------------------------- rlimits ---- */

static json_t *rlimit_entry(const char *name, json_int_t soft, json_int_t hard) {
  _cleanup_free_ char *up = xasprintf("RLIMIT_%s", name);
  for (char *p = up; *p; p++)
    *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  return json_pack("{s:s,s:I,s:I}", "type", up, "soft", soft, "hard", hard);
}

static json_t *build_rlimits(const json_t *hc, const json_t *defaults) {
  json_t *byname = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)defaults, k, v) {
    const char *n = json_string_value(json_object_get(v, "Name"));
    json_object_set_new(byname, n ? n : k,
                        rlimit_entry(n ? n : k, json_integer_value(json_object_get(v, "Soft")),
                                     json_integer_value(json_object_get(v, "Hard"))));
  }
  size_t i;
  json_array_foreach(json_object_get(hc, "Ulimits"), i, v) {
    const char *n = json_string_value(json_object_get(v, "Name"));
    if (n)
      json_object_set_new(byname, n,
                          rlimit_entry(n, json_integer_value(json_object_get(v, "Soft")),
                                       json_integer_value(json_object_get(v, "Hard"))));
  }
  json_t *arr = json_array();
  json_object_foreach(byname, k, v) json_array_append(arr, v);
  json_decref(byname);
  return arr;
}

/* ------------------------------------------------------------ mounts ---- */

static json_t *mnt(const char *dst, const char *type, const char *src, const char *opts) {
  json_t *o = json_array();
  _cleanup_free_ char *copy = xstrdup(opts);
  char *p = copy, *t;
  while ((t = strsep(&p, ",")) != NULL)
    if (*t)
      json_array_append_new(o, json_string(t));
  return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src,
                   "options", o);
}

static size_t path_depth(const char *p) {
  size_t n = 0;
  for (; *p; p++)
    n += *p == '/';
  return n;
}

static int cmp_depth(const void *a, const void *b) {
  const char *da = json_string_value(json_object_get(*(json_t *const *)a, "destination"));
  const char *db = json_string_value(json_object_get(*(json_t *const *)b, "destination"));
  size_t x = path_depth(da), y = path_depth(db);
  return x < y ? -1 : x > y;
}

static bool is_propagation(const char *o) {
  static const char *const p[] = {"shared", "rshared", "slave", "rslave", "private", "rprivate"};
  for (size_t i = 0; i < 6; i++)
    if (strcmp(p[i], o) == 0)
      return true;
  return false;
}

/* "-v src:dst[:opts]" */
static int bind_from_spec(const char *spec, json_t *user, struct berr **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *p = s, *src = strsep(&p, ":"), *dst = strsep(&p, ":"), *opts = p;
  if (!src || !dst || !*src || !*dst)
    return berr_set(err, EINVAL, "invalid volume specification: '%s'", spec);
  if (src[0] != '/')
    return berr_set(err, ENOTSUP, "invalid volume specification: '%s': named volumes are not "
                    "supported yet", spec);
  if (dst[0] != '/')
    return berr_set(err, EINVAL,
                    "invalid volume specification: '%s': invalid mount config for type "
                    "\"bind\": invalid mount path: '%s' mount path must be absolute",
                    spec, dst);
  /* Docker still creates a missing host directory for -v binds */
  if (!path_exists(src) && mkdir_p(src, 0755, err) < 0)
    return berr_wrap(err, "bind %s", spec);
  json_t *o = json_pack("[s]", "rbind");
  bool ro = false, prop = false;
  char *t;
  while (opts && (t = strsep(&opts, ",")) != NULL) {
    if (strcmp(t, "ro") == 0)
      ro = true;
    else if (is_propagation(t)) {
      json_array_append_new(o, json_string(t));
      prop = true;
    } else if (strcmp(t, "rw") && strcmp(t, "z") && strcmp(t, "Z") && strcmp(t, "nocopy") &&
               strcmp(t, "consistent") && strcmp(t, "cached") && strcmp(t, "delegated") && *t) {
      json_decref(o);
      return berr_set(err, EINVAL, "invalid mode: %s", t);
    }
  }
  if (!prop)
    json_array_append_new(o, json_string("rprivate"));
  json_array_append_new(o, json_string(ro ? "ro" : "rw"));
  json_array_append_new(user, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", "bind",
                                        "source", src, "options", o));
  return 0;
}

/* HostConfig.Mounts entry (type bind / tmpfs). */
static int mount_from_api(const json_t *m, json_t *user, struct berr **err) {
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *src = json_string_value(json_object_get(m, "Source"));
  const char *dst = json_string_value(json_object_get(m, "Target"));
  bool ro = json_is_true(json_object_get(m, "ReadOnly"));
  if (!type || !dst)
    return berr_set(err, EINVAL, "invalid mount config: Type and Target are required");
  if (dst[0] != '/')
    return berr_set(err, EINVAL,
                    "invalid mount config for type \"%s\": invalid mount path: '%s' mount path "
                    "must be absolute", type, dst);
  if (strcmp(type, "bind") == 0) {
    if (!src || !*src)
      return berr_set(err, EINVAL, "invalid mount config for type \"bind\": field Source must "
                      "not be empty");
    if (!path_exists(src))
      return berr_set(err, EINVAL, "invalid mount config for type \"bind\": bind source path "
                      "does not exist: %s", src);
    const char *prop =
        json_string_value(json_object_get(json_object_get(m, "BindOptions"), "Propagation"));
    json_t *o = json_pack("[s,s,s]", "rbind", prop && *prop ? prop : "rprivate", ro ? "ro" : "rw");
    json_array_append_new(user, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type",
                                          "bind", "source", src, "options", o));
    return 0;
  }
  if (strcmp(type, "tmpfs") == 0) {
    const json_t *to = json_object_get(m, "TmpfsOptions");
    json_int_t size = json_integer_value(json_object_get(to, "SizeBytes"));
    json_int_t mode = json_integer_value(json_object_get(to, "Mode"));
    _cleanup_free_ char *opts = xasprintf("nosuid,nodev,noexec%s", ro ? ",ro" : "");
    json_t *t = mnt(dst, "tmpfs", "tmpfs", opts);
    json_t *o = json_object_get(t, "options");
    if (size > 0)
      json_array_append_new(o, json_sprintf("size=%lldk", (long long)(size / 1024)));
    if (mode > 0)
      json_array_append_new(o, json_sprintf("mode=%o", (unsigned)mode));
    json_array_append_new(user, t);
    return 0;
  }
  return berr_set(err, ENOTSUP, "mount type \"%s\" is not supported yet", type);
}

/* vmounts: the binds container_volumes.c resolved from the recorded mount
 * points (volumes, -v and --mount binds, volumes-from); then only tmpfs
 * entries of Mounts are left to read here. NULL: Binds and Mounts are read
 * here (containers made before mount points were recorded, unit tests). */
static int user_mounts(const json_t *hc, const json_t *vmounts, json_t *user, struct berr **err) {
  size_t i;
  json_t *v;
  int rc;
  json_array_foreach(vmounts, i, v) json_array_append_new(user, json_deep_copy(v));
  json_array_foreach(vmounts ? NULL : json_object_get(hc, "Binds"), i, v) {
    if (json_is_string(v) && (rc = bind_from_spec(json_string_value(v), user, err)) < 0)
      return rc;
  }
  json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
    const char *type = json_string_value(json_object_get(v, "Type"));
    if (vmounts && (!type || strcmp(type, "tmpfs")))
      continue;
    if ((rc = mount_from_api(v, user, err)) < 0)
      return rc;
  }
  const char *k;
  json_object_foreach((json_t *)json_object_get(hc, "Tmpfs"), k, v) {
    const char *o = json_string_value(v);
    _cleanup_free_ char *opts = xasprintf("noexec,nosuid,nodev%s%s", o && *o ? "," : "",
                                          o ? o : "");
    json_array_append_new(user, mnt(k, "tmpfs", "tmpfs", opts));
  }
  return 0;
}

static bool has_dest(const json_t *mounts, const char *dst) {
  size_t i;
  json_t *v;
  json_array_foreach(mounts, i, v) {
    const char *d = json_string_value(json_object_get(v, "destination"));
    if (d && strcmp(d, dst) == 0)
      return true;
  }
  return false;
}

static int build_mounts(const struct spec_input *in, bool priv, json_t **out, struct berr **err) {
  const json_t *hc = in->host_config;
  json_t *user = json_array();
  int rc = user_mounts(hc, in->volume_mounts, user, err);
  if (rc < 0) {
    json_decref(user);
    return rc;
  }
  json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
  if (shm <= 0)
    shm = 64 * 1024 * 1024;
  _cleanup_free_ char *shm_opts = xasprintf("nosuid,noexec,nodev,mode=1777,size=%lld",
                                            (long long)shm);
  const char *ipc = json_string_value(json_object_get(hc, "IpcMode"));
  json_t *defs = json_array();
  json_array_append_new(defs, mnt("/proc", "proc", "proc", "nosuid,noexec,nodev"));
  json_array_append_new(defs, mnt("/dev", "tmpfs", "tmpfs",
                                  "nosuid,strictatime,mode=755,size=65536k"));
  json_array_append_new(defs, mnt("/dev/pts", "devpts", "devpts",
                                  "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  json_array_append_new(defs, mnt("/sys", "sysfs", "sysfs",
                                  priv ? "nosuid,noexec,nodev,rw" : "nosuid,noexec,nodev,ro"));
  json_array_append_new(defs, mnt("/sys/fs/cgroup", "cgroup", "cgroup",
                                  priv ? "nosuid,noexec,nodev,relatime,rw"
                                       : "nosuid,noexec,nodev,relatime,ro"));
  json_array_append_new(defs, mnt("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  if (ipc && strcmp(ipc, "host") == 0)
    json_array_append_new(defs, mnt("/dev/shm", "bind", "/dev/shm", "rbind,rprivate,rw"));
  else
    json_array_append_new(defs, mnt("/dev/shm", "tmpfs", "shm", shm_opts));
  /* the network files sort with the user's mounts, as dockerd's
   * NetworkMounts do: a volume on /etc goes under them, not over them */
  static const char *const etc[] = {"resolv.conf", "hostname", "hosts"};
  for (size_t i = 0; i < 3; i++) {
    _cleanup_free_ char *src = xasprintf("%s/%s", in->root_dir, etc[i]);
    _cleanup_free_ char *dst = xasprintf("/etc/%s", etc[i]);
    if (!has_dest(user, dst))
      json_array_append_new(user, mnt(dst, "bind", src, "rbind,rprivate"));
  }
  json_t *all = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(defs, i, v) {
    if (!has_dest(user, json_string_value(json_object_get(v, "destination"))))
      json_array_append(all, v);
  }
  json_decref(defs);
  /* user mounts after the defaults, parents before children */
  size_t n = json_array_size(user);
  json_t **sorted = xcalloc(n + 1, sizeof(*sorted));
  for (i = 0; i < n; i++)
    sorted[i] = json_array_get(user, i);
  qsort(sorted, n, sizeof(*sorted), cmp_depth);
  for (i = 0; i < n; i++)
    json_array_append(all, sorted[i]);
  free(sorted);
  json_decref(user);
  *out = all;
  return 0;
}

/* ------------------------------------------------------- namespaces ---- */

static json_t *ns(const char *type, const char *path) {
  return path ? json_pack("{s:s,s:s}", "type", type, "path", path)
              : json_pack("{s:s}", "type", type);
}

static bool mode_is(const json_t *hc, const char *key, const char *val) {
  const char *s = json_string_value(json_object_get(hc, key));
  return s && strcmp(s, val) == 0;
}

static json_t *build_namespaces(const struct spec_input *in) {
  const json_t *hc = in->host_config;
  json_t *a = json_array();
  json_array_append_new(a, ns("mount", NULL));
  if (!mode_is(hc, "PidMode", "host"))
    json_array_append_new(a, ns("pid", in->pidns_path));
  if (!mode_is(hc, "IpcMode", "host"))
    json_array_append_new(a, ns("ipc", in->ipcns_path));
  if (!mode_is(hc, "UTSMode", "host"))
    json_array_append_new(a, ns("uts", NULL));
  /* "none": a new netns with only lo; bridge / user networks: the namespace
   * container_network.c made (in->netns_path), or container:x's */
  if (!mode_is(hc, "NetworkMode", "host"))
    json_array_append_new(a, ns("network", in->netns_path));
  bool v2 = path_exists("/sys/fs/cgroup/cgroup.controllers");
  const char *cgns = json_string_value(json_object_get(hc, "CgroupnsMode"));
  if ((cgns && strcmp(cgns, "private") == 0) || ((!cgns || !*cgns) && v2))
    json_array_append_new(a, ns("cgroup", NULL));
  /* --userns-remap (dockerd adds it last too) */
  if (in->uid_mappings && in->gid_mappings)
    json_array_append_new(a, ns("user", NULL));
  return a;
}

/* -------------------------------------------------------- resources ---- */

static void set_if(json_t *o, const char *key, const json_t *hc, const char *hkey) {
  json_int_t v = json_integer_value(json_object_get(hc, hkey));
  if (v != 0)
    json_object_set_new(o, key, json_integer(v));
}

static int device_entry(const char *spec, json_t *devices, json_t *rules, struct berr **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *p = s, *host = strsep(&p, ":"), *ctr = strsep(&p, ":"), *perm = p;
  if (ctr && (*ctr != '/')) {
    perm = ctr;
    ctr = NULL;
  }
  struct stat st;
  if (stat(host, &st) < 0)
    return berr_sys(err, errno, "error gathering device information while adding custom "
                    "device \"%s\"", host);
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
    return berr_set(err, EINVAL, "error gathering device information while adding custom "
                    "device \"%s\": not a device node", host);
  const char *t = S_ISCHR(st.st_mode) ? "c" : "b";
  json_array_append_new(devices,
                        json_pack("{s:s,s:s,s:I,s:I,s:I,s:i,s:i}", "path", ctr ? ctr : host,
                                  "type", t, "major", (json_int_t)major(st.st_rdev), "minor",
                                  (json_int_t)minor(st.st_rdev), "fileMode",
                                  (json_int_t)(st.st_mode & 07777), "uid", 0, "gid", 0));
  json_array_append_new(rules, json_pack("{s:b,s:s,s:I,s:I,s:s}", "allow", 1, "type", t, "major",
                                         (json_int_t)major(st.st_rdev), "minor",
                                         (json_int_t)minor(st.st_rdev), "access",
                                         perm && *perm ? perm : "rwm"));
  return 0;
}

/* Host devices for --privileged (the top level of /dev). */
static void privileged_devices(json_t *devices) {
  _cleanup_closedir_ DIR *dir = opendir("/dev");
  struct dirent *de;
  while (dir && (de = readdir(dir)) != NULL) {
    _cleanup_free_ char *p = xasprintf("/dev/%s", de->d_name);
    struct stat st;
    if (lstat(p, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
      continue;
    /* the runtime makes these itself; /dev/console and ptmx are special */
    if (!strcmp(de->d_name, "console") || !strcmp(de->d_name, "ptmx") ||
        !strcmp(de->d_name, "tty"))
      continue;
    json_array_append_new(devices,
                          json_pack("{s:s,s:s,s:I,s:I,s:I,s:i,s:i}", "path", p, "type",
                                    S_ISCHR(st.st_mode) ? "c" : "b", "major",
                                    (json_int_t)major(st.st_rdev), "minor",
                                    (json_int_t)minor(st.st_rdev), "fileMode",
                                    (json_int_t)(st.st_mode & 07777), "uid", 0, "gid", 0));
  }
}

int spec_build_resources(const json_t *hc, json_t *linux_obj, struct berr **err) {
  if (limits_spec_check(hc, err) < 0)
    return -1;
  bool priv = json_is_true(json_object_get(hc, "Privileged"));
  json_t *res = json_object();
  json_t *mem = json_object();
  set_if(mem, "limit", hc, "Memory");
  set_if(mem, "reservation", hc, "MemoryReservation");
  set_if(mem, "swap", hc, "MemorySwap");
  set_if(mem, "kernel", hc, "KernelMemory");
  json_t *sw = json_object_get(hc, "MemorySwappiness");
  if (json_is_integer(sw) && json_integer_value(sw) >= 0)
    json_object_set(mem, "swappiness", sw);
  if (json_is_true(json_object_get(hc, "OomKillDisable")))
    json_object_set_new(mem, "disableOOMKiller", json_true());
  if (json_object_size(mem))
    json_object_set(res, "memory", mem);
  json_decref(mem);
  json_t *cpu = json_object();
  set_if(cpu, "shares", hc, "CpuShares");
  set_if(cpu, "quota", hc, "CpuQuota");
  set_if(cpu, "period", hc, "CpuPeriod");
  set_if(cpu, "realtimeRuntime", hc, "CpuRealtimeRuntime");
  set_if(cpu, "realtimePeriod", hc, "CpuRealtimePeriod");
  json_int_t nano = json_integer_value(json_object_get(hc, "NanoCpus"));
  if (nano > 0) {
    /* Docker: period 100ms, quota = NanoCpus * period / 1e9 */
    json_object_set_new(cpu, "period", json_integer(100000));
    json_object_set_new(cpu, "quota", json_integer(nano * 100000 / 1000000000));
  }
  const char *cpus = json_string_value(json_object_get(hc, "CpusetCpus"));
  const char *mems = json_string_value(json_object_get(hc, "CpusetMems"));
  if (cpus && *cpus)
    json_object_set_new(cpu, "cpus", json_string(cpus));
  if (mems && *mems)
    json_object_set_new(cpu, "mems", json_string(mems));
  if (json_object_size(cpu))
    json_object_set(res, "cpu", cpu);
  json_decref(cpu);
  json_int_t pids = json_integer_value(json_object_get(hc, "PidsLimit"));
  if (pids != 0)
    json_object_set_new(res, "pids", json_pack("{s:I}", "limit", pids > 0 ? pids : -1));
  json_int_t bw = json_integer_value(json_object_get(hc, "BlkioWeight"));
  if (bw > 0)
    json_object_set_new(res, "blockIO", json_pack("{s:I}", "weight", bw));
  json_t *rules = json_array();
  json_t *devices = json_array();
  json_array_append_new(rules, json_pack("{s:b,s:s}", "allow", priv, "access", "rwm"));
  if (priv)
    privileged_devices(devices);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Devices"), i, v) {
    const char *host = json_string_value(json_object_get(v, "PathOnHost"));
    const char *ctr = json_string_value(json_object_get(v, "PathInContainer"));
    const char *perm = json_string_value(json_object_get(v, "CgroupPermissions"));
    if (!host)
      continue;
    _cleanup_free_ char *spec = xasprintf("%s:%s:%s", host, ctr && *ctr ? ctr : host,
                                          perm && *perm ? perm : "rwm");
    int rc = device_entry(spec, devices, rules, err);
    if (rc < 0) {
      json_decref(rules);
      json_decref(devices);
      json_decref(res);
      return rc;
    }
  }
  limits_spec_cgroup_rules(hc, rules);
  json_object_set_new(res, "devices", rules);
  if (limits_spec_blkio(hc, res, err) < 0) {
    json_decref(devices);
    json_decref(res);
    return -1;
  }
  json_object_set_new(linux_obj, "resources", res);
  if (json_array_size(devices))
    json_object_set(linux_obj, "devices", devices);
  json_decref(devices);
  return 0;
}

/* ---------------------------------------------------------- /etc files ---- */

static void dns_default(json_t *hc, const char *key, char *const *daemon_value) {
  if (json_array_size(json_object_get(hc, key)) || !daemon_value || !daemon_value[0])
    return;
  json_t *a = json_array();
  for (char *const *v = daemon_value; *v; v++)
    json_array_append_new(a, json_string(*v));
  json_object_set_new(hc, key, a);
}

json_t *spec_dns_defaults(struct daemon *d, const json_t *hc) {
  json_t *out = hc ? json_deep_copy(hc) : json_object();
  pthread_mutex_lock(&d->cfg_lock); /* SIGHUP may swap them */
  dns_default(out, "Dns", d->cfg.dns);
  dns_default(out, "DnsSearch", d->cfg.dns_search);
  dns_default(out, "DnsOptions", d->cfg.dns_opts);
  pthread_mutex_unlock(&d->cfg_lock);
  return out;
}

void spec_etc_files(const json_t *cfg, const json_t *hc, const char *host_resolv, char **hostname,
                    char **hosts, char **resolv) {
  const char *h = json_string_value(json_object_get(cfg, "Hostname"));
  const char *dom = json_string_value(json_object_get(cfg, "Domainname"));
  *hostname = xasprintf("%s\n", h ? h : "");
  /* /etc/hosts as Docker writes it; container_network.c appends the
   * container's addresses at start */
  char *x = xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                    "ff02::2\tip6-allrouters\n");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "ExtraHosts"), i, v) {
    const char *e = json_string_value(v);
    const char *colon = e ? strchr(e, ':') : NULL;
    if (!colon)
      continue;
    char *n = xasprintf("%s%s\t%.*s\n", x, colon + 1, (int)(colon - e), e);
    free(x);
    x = n;
  }
  *hosts = x;
  (void)dom;
  /* resolv.conf: the user's DNS settings, else the host's without 127.x
   * servers (they would not answer from another network namespace) */
  const json_t *dns = json_object_get(hc, "Dns");
  const json_t *search = json_object_get(hc, "DnsSearch");
  const json_t *opts = json_object_get(hc, "DnsOptions");
  char *r = xstrdup("");
  char *line;
  bool have_ns = false;
  if (json_array_size(dns) || json_array_size(search) || json_array_size(opts)) {
    json_array_foreach(dns, i, v) {
      line = xasprintf("%snameserver %s\n", r, json_string_value(v));
      free(r);
      r = line;
      have_ns = true;
    }
  }
  if (!have_ns && host_resolv) {
    _cleanup_free_ char *copy = xstrdup(host_resolv);
    char *p = copy, *l;
    while ((l = strsep(&p, "\n")) != NULL) {
      if (str_has_prefix(l, "nameserver") && strstr(l, "127.") == NULL && strstr(l, "::1") == NULL) {
        line = xasprintf("%s%s\n", r, l);
        free(r);
        r = line;
        have_ns = true;
      } else if ((str_has_prefix(l, "search") && !json_array_size(search)) ||
                 (str_has_prefix(l, "options") && !json_array_size(opts))) {
        line = xasprintf("%s%s\n", r, l);
        free(r);
        r = line;
      }
    }
  }
  if (!have_ns) {
    /* Docker's fallback: Google's public servers */
    line = xasprintf("%snameserver 8.8.8.8\nnameserver 8.8.4.4\n", r);
    free(r);
    r = line;
  }
  const json_t *lists[2] = {search, opts};
  const char *words[2] = {"search", "options"};
  for (int k = 0; k < 2; k++) {
    if (!json_array_size(lists[k]))
      continue;
    line = xasprintf("%s%s", r, words[k]);
    free(r);
    r = line;
    json_array_foreach(lists[k], i, v) {
      line = xasprintf("%s %s", r, json_string_value(v));
      free(r);
      r = line;
    }
    line = xasprintf("%s\n", r);
    free(r);
    r = line;
  }
  *resolv = r;
}

/* -------------------------------------------------------------- spec ---- */


/* Entrypoint + Cmd → args (with --init, berth-init -- args). */
static int build_args(const struct spec_input *in, json_t **out, struct berr **err) {
  json_t *args = json_array();
  if (in->init_path)
    json_array_append_new(args, json_string("/sbin/docker-init"));
  if (in->init_path)
    json_array_append_new(args, json_string("--"));
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(in->config, "Entrypoint"), i, v) json_array_append(args, v);
  json_array_foreach(json_object_get(in->config, "Cmd"), i, v) json_array_append(args, v);
  if (json_array_size(args) == (in->init_path ? 2u : 0u)) {
    json_decref(args);
    return berr_set(err, EINVAL, "No command specified");
  }
  *out = args;
  return 0;
}

static json_t *sysctls(const json_t *hc) {
  json_t *o = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(hc, "Sysctls"), k, v) {
    if (json_is_string(v))
      json_object_set(o, k, v);
  }
  return o;
}

/* SecurityOpt: "no-new-privileges[:true|false]", "seccomp=unconfined|<json>",
 * "label=…", "apparmor=…" (accepted, ignored). */
static int security_opts(const json_t *hc, bool *nnp, bool *seccomp_off, json_t **profile,
                         struct berr **err) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
    const char *s = json_string_value(v);
    if (s == NULL)
      continue;
    if (strcmp(s, "no-new-privileges") == 0 || strcmp(s, "no-new-privileges:true") == 0 ||
        strcmp(s, "no-new-privileges=true") == 0) {
      *nnp = true;
    } else if (str_has_prefix(s, "no-new-privileges")) {
      *nnp = strcmp(s + 18, "1") == 0;
    } else if (strcmp(s, "seccomp=unconfined") == 0 || strcmp(s, "seccomp:unconfined") == 0) {
      *seccomp_off = true;
    } else if (strcmp(s, "seccomp=builtin") == 0 || strcmp(s, "seccomp:builtin") == 0) {
      continue; /* the daemon's default profile */
    } else if (str_has_prefix(s, "seccomp=") || str_has_prefix(s, "seccomp:")) {
      json_error_t je;
      json_t *p = json_loads(s + 8, 0, &je);
      if (p == NULL)
        return berr_set(err, EINVAL, "Decoding seccomp profile failed: %s", je.text);
      json_decref(*profile);
      *profile = p;
    } else if (!str_has_prefix(s, "label") && !str_has_prefix(s, "apparmor")) {
      return berr_set(err, EINVAL, "invalid --security-opt 2: \"%s\"", s);
    }
  }
  return 0;
}

static void add_init_mount(const struct spec_input *in, json_t *mounts) {
  if (in->init_path)
    json_array_append_new(mounts, mnt("/sbin/docker-init", "bind", in->init_path, "bind,ro"));
}

int spec_build(const struct spec_input *in, json_t **out, struct berr **err) {
  const json_t *cfg = in->config, *hc = in->host_config;
  bool priv = json_is_true(json_object_get(hc, "Privileged"));
  const char *hostname = json_string_value(json_object_get(cfg, "Hostname"));
  if (!hostname || !*hostname)
    hostname = "";
  _cleanup_json_ json_t *args = NULL, *caps = NULL, *user = NULL, *mounts = NULL;
  _cleanup_json_ json_t *profile = in->seccomp ? json_deep_copy(in->seccomp) : NULL;
  _cleanup_free_ char *home = NULL;
  bool nnp = false, seccomp_off = priv;
  int rc;
  if ((rc = build_args(in, &args, err)) < 0 || (rc = spec_capabilities(hc, &caps, err)) < 0 ||
      (rc = security_opts(hc, &nnp, &seccomp_off, &profile, err)) < 0 ||
      (rc = resolve_user(in->rootfs, json_string_value(json_object_get(cfg, "User")),
                         json_object_get(hc, "GroupAdd"), &user, &home, err)) < 0 ||
      (rc = build_mounts(in, priv, &mounts, err)) < 0)
    return rc;
  add_init_mount(in, mounts);
  const char *cwd = json_string_value(json_object_get(cfg, "WorkingDir"));
  json_t *proc = json_pack(
      "{s:b,s:O,s:O,s:s,s:{s:O,s:O,s:O,s:O},s:b}", "terminal",
      json_is_true(json_object_get(cfg, "Tty")), "user", user, "args", args, "cwd",
      cwd && *cwd ? cwd : "/", "capabilities", "bounding", caps, "effective", caps,
      "permitted", caps, "inheritable", caps, "noNewPrivileges", nnp);
  if (proc == NULL)
    return berr_set(err, EINVAL, "create the process spec: bad Config");
  json_object_set_new(proc, "env", build_env(cfg, hostname, home));
  json_object_set_new(proc, "rlimits", build_rlimits(hc, in->default_ulimits));
  json_t *oom = json_object_get(hc, "OomScoreAdj");
  if (json_integer_value(oom) != 0)
    json_object_set(proc, "oomScoreAdj", oom);
  json_t *linux_obj = json_object();
  const char *parent = json_string_value(json_object_get(hc, "CgroupParent"));
  if (!parent || !*parent)
    parent = in->cgroup_parent && *in->cgroup_parent ? in->cgroup_parent : "/berth";
  json_object_set_new(linux_obj, "cgroupsPath",
                      json_sprintf("%s%s/%s", parent[0] == '/' ? "" : "/", parent, in->id));
  json_object_set_new(linux_obj, "namespaces", build_namespaces(in));
  if (in->uid_mappings && in->gid_mappings) {
    json_object_set_new(linux_obj, "uidMappings", json_deep_copy(in->uid_mappings));
    json_object_set_new(linux_obj, "gidMappings", json_deep_copy(in->gid_mappings));
  }
  json_object_set_new(linux_obj, "sysctl", sysctls(hc));
  if ((rc = spec_build_resources(hc, linux_obj, err)) < 0) {
    json_decref(proc);
    json_decref(linux_obj);
    return rc;
  }
  if (!priv) {
    /* the HostConfig's lists (dockerd's defaults unless the client set them) */
    json_t *mp = json_object_get(hc, "MaskedPaths");
    json_t *rp = json_object_get(hc, "ReadonlyPaths");
    json_object_set_new(linux_obj, "maskedPaths",
                        json_is_array(mp) ? json_deep_copy(mp) : strarr(masked_paths));
    json_object_set_new(linux_obj, "readonlyPaths",
                        json_is_array(rp) ? json_deep_copy(rp) : strarr(readonly_paths));
  }
  if (profile && !seccomp_off) {
    json_t *sc = NULL;
    if ((rc = spec_seccomp_convert(profile, caps, &sc, err)) < 0) {
      json_decref(proc);
      json_decref(linux_obj);
      return rc;
    }
    json_object_set_new(linux_obj, "seccomp", sc);
  }
  json_t *spec = json_pack("{s:s,s:o,s:{s:s,s:b},s:O,s:o}", "ociVersion", "1.0.2-dev", "process",
                           proc, "root", "path", in->rootfs ? in->rootfs : "rootfs", "readonly",
                           json_is_true(json_object_get(hc, "ReadonlyRootfs")), "mounts", mounts,
                           "linux", linux_obj);
  if (!mode_is(hc, "UTSMode", "host"))
    json_object_set_new(spec, "hostname", json_string(hostname));
  const char *dom = json_string_value(json_object_get(cfg, "Domainname"));
  if (dom && *dom)
    json_object_set_new(spec, "domainname", json_string(dom));
  *out = spec;
  return 0;
}
