/* features.c — the `features` document (runtime-spec features.md, features-linux.md). */
#include <ctype.h>
#include <sys/capability.h>

#include "runtime-internal.h"

/* libcap names are "cap_chown": the spec spells them "CAP_CHOWN". Caller frees. */
static char *cap_to_name_upper(int c) {
  char *n = cap_to_name((cap_value_t)c);
  if (!n)
    return NULL;
  char *up = xstrdup(n);
  cap_free(n);
  for (char *p = up; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  return str_has_prefix(up, "CAP_") ? up : (free(up), NULL);
}

static json_t *strs(const char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *mount_options(void) {
  static const char *const opts[] = {
      "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "lazytime", "loud",
      "mand", "noatime", "nodev", "nodiratime", "noexec", "nolazytime", "nomand", "norelatime",
      "nostrictatime", "nosuid", "nosymfollow", "private", "rbind", "relatime", "remount", "ro",
      "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime",
      "suid", "symfollow", "sync", "tmpcopyup", "unbindable", NULL};
  return strs(opts);
}

static json_t *caps_list(void) {
  json_t *a = json_array();
  int last = caps_last_cap();
  for (int c = 0; c <= last; c++) {
    char *name = cap_to_name_upper(c);
    if (name)
      json_array_append_new(a, json_string(name));
    free(name);
  }
  return a;
}

json_t *rt_features(void) {
  static const char *const hooks[] = {"prestart", "createRuntime", "createContainer", "startContainer",
                                      "poststart", "poststop", NULL};
  static const char *const ns[] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL};
  json_t *linux_ = json_pack("{s:o, s:o, s:{s:b, s:b, s:b}, s:{s:b}, s:{s:b}, s:{s:b}}",
                             "namespaces", strs(ns), "capabilities", caps_list(),
                             "cgroup", "v1", 1, "v2", 1, "systemd", 0,
                             "apparmor", "enabled", 0, "selinux", "enabled", 0,
                             "intelRdt", "enabled", 0);
  json_object_set_new(linux_, "seccomp", seccomp_features_json());
  return json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:s, s:s}}", "ociVersionMin", "1.0.0", "ociVersionMax",
                   OCI_VERSION, "hooks", strs(hooks), "mountOptions", mount_options(), "linux", linux_,
                   "annotations", "org.opencontainers.runc.version", "berth-runc " BERTH_VERSION,
                   "io.github.berth.version", BERTH_VERSION);
}
