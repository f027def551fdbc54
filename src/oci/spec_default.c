/*
 * spec_default.c — the config.json that `berth-runc spec` writes.
 *
 * The same document as `runc spec` (runc's example spec), with ociVersion
 * OCI_VERSION and hostname "berth": `sh` on a terminal as root in new pid,
 * network, ipc, uts, mount and cgroup namespaces, a read-only rootfs, the
 * standard /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys and
 * /sys/fs/cgroup mounts, three capabilities, no device access but the defaults,
 * and the usual masked and read-only /proc paths.
 *
 * `rootless` turns it into a spec an unprivileged user can run, as
 * `runc spec --rootless` does: the network namespace goes (an unprivileged user
 * cannot set one up) and a user namespace maps container root to the caller;
 * /sys becomes a read-only rbind of the host's (sysfs cannot be mounted without
 * owning the network namespace); uid=/gid= mount options go (those ids are not
 * mapped); resources go (no cgroup delegation assumed).
 */
#include <string.h>

#include "oci/oci.h"

static const char *const default_caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };

static const char *const masked_paths[] = {
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", NULL,
};

static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const char *const default_namespaces[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", NULL };

struct default_mount {
  const char *destination, *type, *source;
  const char *const *options; /* NULL: no "options" key */
};

static const struct default_mount default_mounts[] = {
  { "/proc", "proc", "proc", NULL },
  { "/dev", "tmpfs", "tmpfs", (const char *const[]){ "nosuid", "strictatime", "mode=755", "size=65536k", NULL } },
  { "/dev/pts", "devpts", "devpts",
    (const char *const[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL } },
  { "/dev/shm", "tmpfs", "shm",
    (const char *const[]){ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL } },
  { "/dev/mqueue", "mqueue", "mqueue", (const char *const[]){ "nosuid", "noexec", "nodev", NULL } },
  { "/sys", "sysfs", "sysfs", (const char *const[]){ "nosuid", "noexec", "nodev", "ro", NULL } },
  { "/sys/fs/cgroup", "cgroup", "cgroup",
    (const char *const[]){ "nosuid", "noexec", "nodev", "relatime", "ro", NULL } },
};

/* The rootless replacement of the /sys mount. */
static const struct default_mount rootless_sys_mount = {
  "/sys", "none", "/sys", (const char *const[]){ "rbind", "nosuid", "noexec", "nodev", "ro", NULL },
};

/* A JSON array of the strings of a NULL-terminated list. */
static json_t *string_array(const char *const *list) {
  json_t *arr = json_array();
  for (size_t i = 0; list[i]; i++)
    json_array_append_new(arr, json_string(list[i]));
  return arr;
}

/* A mount object; in rootless mode without uid=/gid= options. */
static json_t *mount_object(const struct default_mount *dm, bool rootless) {
  json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dm->destination, "type", dm->type, "source", dm->source);
  if (dm->options == NULL)
    return m;
  json_t *opts = json_array();
  for (size_t i = 0; dm->options[i]; i++) {
    if (rootless && (str_has_prefix(dm->options[i], "uid=") || str_has_prefix(dm->options[i], "gid=")))
      continue;
    json_array_append_new(opts, json_string(dm->options[i]));
  }
  json_object_set_new(m, "options", opts);
  return m;
}

static json_t *mounts_array(bool rootless) {
  json_t *arr = json_array();
  for (size_t i = 0; i < sizeof(default_mounts) / sizeof(default_mounts[0]); i++) {
    const struct default_mount *dm = &default_mounts[i];
    if (rootless && strcmp(dm->destination, "/sys") == 0)
      dm = &rootless_sys_mount;
    json_array_append_new(arr, mount_object(dm, rootless));
  }
  return arr;
}

static json_t *process_object(void) {
  return json_pack("{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:{s:o, s:o, s:o}, s:[{s:s, s:i, s:i}], s:b}",
                   "terminal", 1,
                   "user", "uid", 0, "gid", 0,
                   "args", "sh",
                   "env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
                   "cwd", "/",
                   "capabilities", "bounding", string_array(default_caps), "effective", string_array(default_caps),
                   "permitted", string_array(default_caps),
                   "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
                   "noNewPrivileges", 1);
}

static json_t *namespaces_array(bool rootless) {
  json_t *arr = json_array();
  for (size_t i = 0; default_namespaces[i]; i++) {
    if (rootless && strcmp(default_namespaces[i], "network") == 0)
      continue;
    json_array_append_new(arr, json_pack("{s:s}", "type", default_namespaces[i]));
  }
  if (rootless)
    json_array_append_new(arr, json_pack("{s:s}", "type", "user"));
  return arr;
}

/* A one-entry id mapping: container id 0 is `host_id` on the host. */
static json_t *single_id_mapping(unsigned host_id) {
  return json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)host_id, "size", 1);
}

static json_t *linux_object(bool rootless, uid_t uid, gid_t gid) {
  json_t *lx = json_pack("{s:o, s:o, s:o}", "namespaces", namespaces_array(rootless), "maskedPaths",
                         string_array(masked_paths), "readonlyPaths", string_array(readonly_paths));
  if (lx == NULL)
    return NULL;
  if (rootless) {
    json_object_set_new(lx, "uidMappings", single_id_mapping(uid));
    json_object_set_new(lx, "gidMappings", single_id_mapping(gid));
  } else {
    json_object_set_new(lx, "resources", json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
  }
  return lx;
}

json_t *oci_spec_default(bool rootless, uid_t uid, gid_t gid) {
  return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}",
                   "ociVersion", OCI_VERSION,
                   "process", process_object(),
                   "root", "path", "rootfs", "readonly", 1,
                   "hostname", "berth",
                   "mounts", mounts_array(rootless),
                   "linux", linux_object(rootless, uid, gid));
}
