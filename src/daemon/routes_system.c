/*
 * routes_system.c — the Engine API's system area: /_ping, /version, /info,
 * /events and /system/df.
 *
 * Shapes follow dockerd 20.10 (API 1.41), field for field and in dockerd's
 * order, because clients print them verbatim (`docker info`, `docker
 * version`) and some parse them strictly (docker-py's version negotiation,
 * the CLI's Components loop). Host facts (kernel, cgroup mode, OS) are read
 * when asked, so /info is always current and berthd keeps no copies.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include "daemon/containers.h"
#include "daemon/daemon.h"
#include "volume/volume.h"

#ifndef BERTH_GIT_COMMIT
#define BERTH_GIT_COMMIT "unknown"
#endif
#ifndef BERTH_BUILD_TIME
#define BERTH_BUILD_TIME ""
#endif
#define CGROUP2_MAGIC 0x63677270

/* ------------------------------------------------------------- helpers ---- */

/* GOARCH's name for the machine (what /version's Arch says). */
static const char *go_arch(const char *machine) {
  static const struct {
    const char *uname, *go;
  } map[] = {{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"i686", "386"},    {"i386", "386"},
             {"armv7l", "arm"},   {"armv6l", "arm"},    {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
             {"riscv64", "riscv64"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
    if (strcmp(map[i].uname, machine) == 0)
      return map[i].go;
  return machine;
}

static bool cgroup_v2(void) {
  struct statfs sf;
  return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_MAGIC;
}

/* Is cgroup controller `name` available (v2: in cgroup.controllers; v1: mounted)? */
static bool cgroup_has(const char *name) {
  if (!cgroup_v2()) {
    _cleanup_free_ char *p = xasprintf("/sys/fs/cgroup/%s", name);
    return path_exists(p);
  }
  _cleanup_free_ char *s = NULL;
  if (read_file("/sys/fs/cgroup/cgroup.controllers", &s, NULL, NULL) < 0)
    return false;
  size_t n = strlen(name);
  for (char *p = strstr(s, name); p; p = strstr(p + 1, name))
    if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
      return true;
  return false;
}

static bool sysctl_on(const char *path) {
  _cleanup_free_ char *s = NULL;
  return read_file(path, &s, NULL, NULL) == 0 && s[0] == '1';
}

/* A value of /etc/os-release (unquoted), or NULL. Caller frees. */
static char *os_release(const char *key) {
  _cleanup_free_ char *s = NULL;
  if (read_file("/etc/os-release", &s, NULL, NULL) < 0 &&
      read_file("/usr/lib/os-release", &s, NULL, NULL) < 0)
    return NULL;
  size_t kl = strlen(key);
  for (char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, kl) != 0 || line[kl] != '=')
      continue;
    char *v = line + kl + 1;
    size_t n = strcspn(v, "\n");
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
      v++;
      n -= 2;
    }
    return strndup(v, n);
  }
  return NULL;
}

static json_t *jstr_or_empty(char *s) {
  json_t *j = json_string(s ? s : "");
  free(s);
  return j;
}

static json_t *strv_json(char **v) {
  json_t *a = json_array();
  for (; v && *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

/* Filesystem name of `path`, for DriverStatus's "Backing Filesystem". */
static const char *fs_name(const char *path) {
  struct statfs sf;
  if (statfs(path, &sf) < 0)
    return "<unknown>";
  switch ((unsigned long)sf.f_type) {
  case 0xEF53: return "extfs";
  case 0x58465342: return "xfs";
  case 0x9123683E: return "btrfs";
  case 0x01021994: return "tmpfs";
  case 0x794c7630: return "overlayfs";
  case 0x2FC12FC1: return "zfs";
  default: return "<unknown>";
  }
}

/* /proc/self/status "Threads:" (NGoroutines' honest counterpart). */
static int thread_count(void) {
  _cleanup_free_ char *s = NULL;
  if (read_file("/proc/self/status", &s, NULL, NULL) < 0)
    return 0;
  char *p = strstr(s, "\nThreads:");
  return p ? atoi(p + 9) : 0;
}

static int fd_count(void) {
  _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return 0;
  while (readdir(d))
    n++;
  return n > 3 ? n - 3 : 0; /* ".", ".." and the DIR's own fd */
}

/* ---------------------------------------------------------------- ping ---- */

static void ping(struct http_req *r) {
  static const char ctype[] = "text/plain; charset=utf-8";
  /* dockerd adds Cache-Control / Pragma and Builder-Version (1: no BuildKit);
   * HEAD gets Content-Length: 0 */
  static const char extra[] = "Builder-Version: 1\r\nCache-Control: no-cache, no-store, "
                              "must-revalidate\r\nPragma: no-cache\r\n";
  if (strcmp(r->method, "HEAD") == 0)
    http_reply_extra(r, 200, ctype, extra, "", 0);
  else
    http_reply_extra(r, 200, ctype, extra, "OK", 2);
}

/* ------------------------------------------------------------- version ---- */

static json_t *version_json(void) {
  struct utsname u;
  uname(&u);
  json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ApiVersion",
                              "1.41", "Arch", go_arch(u.machine), "BuildTime", BERTH_BUILD_TIME,
                              "Experimental", "false", "GitCommit", BERTH_GIT_COMMIT, "GoVersion",
                              "n/a", "KernelVersion", u.release, "MinAPIVersion", "1.24", "Os",
                              "linux");
  json_t *comps = json_pack("[{s:s, s:s, s:o}, {s:s, s:s, s:{s:s}}]", "Name", "Engine", "Version",
                            BERTH_VERSION, "Details", details, "Name", "berth-runc", "Version",
                            BERTH_VERSION, "Details", "GitCommit", BERTH_GIT_COMMIT);
  return json_pack("{s:{s:s}, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform",
                   "Name", "berth", "Components", comps, "Version", BERTH_VERSION, "ApiVersion",
                   "1.41", "MinAPIVersion", "1.24", "GitCommit", BERTH_GIT_COMMIT, "GoVersion",
                   "n/a", "Os", "linux", "Arch", go_arch(u.machine), "KernelVersion", u.release,
                   "BuildTime", BERTH_BUILD_TIME);
}

static void version(struct http_req *r) {
  http_reply_json(r, 200, version_json());
}

/* ---------------------------------------------------------------- info ---- */

static json_t *registry_config(struct daemon_config *c) {
  json_t *cidrs = json_pack("[s]", "127.0.0.0/8");
  json_t *index = json_object();
  json_object_set_new(index, "docker.io",
                      json_pack("{s:s, s:o, s:b, s:b}", "Name", "docker.io", "Mirrors",
                                strv_json(c->registry_mirrors), "Secure", 1, "Official", 1));
  for (char **p = c->insecure_registries; p && *p; p++) {
    if (strchr(*p, '/')) /* a CIDR */
      json_array_append_new(cidrs, json_string(*p));
    else
      json_object_set_new(index, *p,
                          json_pack("{s:s, s:[], s:b, s:b}", "Name", *p, "Mirrors", "Secure", 0,
                                    "Official", 0));
  }
  return json_pack("{s:[], s:[], s:o, s:o, s:o}", "AllowNondistributableArtifactsCIDRs",
                   "AllowNondistributableArtifactsHostnames", "InsecureRegistryCIDRs", cidrs,
                   "IndexConfigs", index, "Mirrors", strv_json(c->registry_mirrors));
}

static json_t *runtimes_json(struct daemon_config *c) {
  json_t *o = json_object();
  json_object_set_new(o, "berth-runc",
                      json_pack("{s:s}", "path", config_runtime_path(c, "berth-runc")));
  json_object_set_new(o, "runc", json_pack("{s:s}", "path", "runc"));
  const char *k;
  json_t *v;
  json_object_foreach(c->runtimes, k, v) json_object_set(o, k, v);
  return o;
}

/* The host's proxy variables, with any user:password masked as dockerd does. */
static json_t *proxy_env(const char *upper, const char *lower) {
  const char *v = getenv(upper);
  if (v == NULL)
    v = getenv(lower);
  if (v == NULL)
    return json_string("");
  const char *at = strchr(v, '@'), *scheme = strstr(v, "://");
  if (at && scheme && scheme < at) {
    _cleanup_free_ char *m = xasprintf("%.*sxxxxx:xxxxx%s", (int)(scheme + 3 - v), v, at);
    return json_string(m);
  }
  return json_string(v);
}

static void info_counts(struct daemon *d, json_t *o) {
  int total = 0, running = 0, paused = 0, stopped = 0;
  containers_counts(d, &total, &running, &paused, &stopped);
  json_object_set_new(o, "Containers", json_integer(total));
  json_object_set_new(o, "ContainersRunning", json_integer(running));
  json_object_set_new(o, "ContainersPaused", json_integer(paused));
  json_object_set_new(o, "ContainersStopped", json_integer(stopped));
  struct image **imgs = NULL;
  size_t n = 0;
  if (d->store && store_image_list(d->store, &imgs, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++)
      image_free(imgs[i]);
    free(imgs);
  }
  json_object_set_new(o, "Images", json_integer((json_int_t)n));
}

static void info_cgroup_caps(json_t *o) {
  bool v2 = cgroup_v2(), mem = cgroup_has("memory"), cpu = cgroup_has("cpu");
  json_object_set_new(o, "MemoryLimit", json_boolean(mem));
  json_object_set_new(o, "SwapLimit",
                      json_boolean(mem && (v2 || path_exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"))));
  json_object_set_new(o, "KernelMemory", json_boolean(!v2 && mem));
  json_object_set_new(o, "KernelMemoryTCP", json_boolean(!v2 && mem));
  json_object_set_new(o, "CpuCfsPeriod", json_boolean(cpu));
  json_object_set_new(o, "CpuCfsQuota", json_boolean(cpu));
  json_object_set_new(o, "CPUShares", json_boolean(cpu));
  json_object_set_new(o, "CPUSet", json_boolean(cgroup_has("cpuset")));
  json_object_set_new(o, "PidsLimit", json_boolean(cgroup_has("pids")));
  json_object_set_new(o, "IPv4Forwarding", json_boolean(sysctl_on("/proc/sys/net/ipv4/ip_forward")));
  json_object_set_new(o, "BridgeNfIptables",
                      json_boolean(sysctl_on("/proc/sys/net/bridge/bridge-nf-call-iptables")));
  json_object_set_new(o, "BridgeNfIp6tables",
                      json_boolean(sysctl_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables")));
}

static json_t *info_json(struct daemon *d) {
  struct utsname u;
  uname(&u);
  struct sysinfo si;
  sysinfo(&si);
  json_t *o = json_object();
  json_object_set_new(o, "ID", json_string(d->id ? d->id : ""));
  info_counts(d, o);
  pthread_mutex_lock(&d->cfg_lock);
  struct daemon_config *c = &d->cfg;
  json_object_set_new(o, "Driver", json_string("overlay2"));
  json_object_set_new(o, "DriverStatus",
                      json_pack("[[s,s],[s,s],[s,s],[s,s]]", "Backing Filesystem",
                                fs_name(c->data_root), "Supports d_type", "true",
                                "Native Overlay Diff", "true", "userxattr", "false"));
  json_object_set_new(o, "Plugins",
                      json_pack("{s:[s], s:[s,s,s], s:n, s:[s,s]}", "Volume", "local", "Network",
                                "bridge", "host", "null", "Authorization", "Log", "json-file",
                                "local"));
  info_cgroup_caps(o);
  bool v2 = cgroup_v2();
  json_object_set_new(o, "Debug", json_boolean(c->debug));
  json_object_set_new(o, "NFd", json_integer(fd_count()));
  json_object_set_new(o, "OomKillDisable", json_boolean(!v2));
  json_object_set_new(o, "NGoroutines", json_integer(thread_count()));
  json_object_set_new(o, "SystemTime", jstr_or_empty(time_now_rfc3339()));
  json_object_set_new(o, "LoggingDriver", json_string(c->log_driver));
  json_object_set_new(o, "CgroupDriver", json_string("cgroupfs"));
  json_object_set_new(o, "CgroupVersion", json_string(v2 ? "2" : "1"));
  json_object_set_new(o, "NEventsListener", json_integer(d->events ? events_listeners(d->events) : 0));
  json_object_set_new(o, "KernelVersion", json_string(u.release));
  char *pretty = os_release("PRETTY_NAME");
  json_object_set_new(o, "OperatingSystem", jstr_or_empty(pretty ? pretty : xstrdup("Linux")));
  json_object_set_new(o, "OSVersion", jstr_or_empty(os_release("VERSION_ID")));
  json_object_set_new(o, "OSType", json_string("linux"));
  json_object_set_new(o, "Architecture", json_string(u.machine));
  json_object_set_new(o, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
  json_object_set_new(o, "RegistryConfig", registry_config(c));
  json_object_set_new(o, "NCPU", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  json_object_set_new(o, "MemTotal", json_integer((json_int_t)si.totalram * si.mem_unit));
  json_object_set_new(o, "GenericResources", json_null());
  json_object_set_new(o, "DockerRootDir", json_string(c->data_root));
  json_object_set_new(o, "HttpProxy", proxy_env("HTTP_PROXY", "http_proxy"));
  json_object_set_new(o, "HttpsProxy", proxy_env("HTTPS_PROXY", "https_proxy"));
  json_object_set_new(o, "NoProxy", proxy_env("NO_PROXY", "no_proxy"));
  json_object_set_new(o, "Name", json_string(u.nodename));
  json_object_set_new(o, "Labels", json_array());
  json_object_set_new(o, "ExperimentalBuild", json_false());
  json_object_set_new(o, "ServerVersion", json_string(BERTH_VERSION));
  json_object_set_new(o, "Runtimes", runtimes_json(c));
  json_object_set_new(o, "DefaultRuntime", json_string(c->default_runtime));
  json_object_set_new(o, "Swarm",
                      json_pack("{s:s, s:s, s:s, s:b, s:s, s:n}", "NodeID", "", "NodeAddr", "",
                                "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                                "RemoteManagers"));
  json_object_set_new(o, "LiveRestoreEnabled", json_boolean(c->live_restore));
  json_object_set_new(o, "Isolation", json_string(""));
  json_object_set_new(o, "InitBinary", json_string("berth-init"));
  json_object_set_new(o, "ContainerdCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
  json_object_set_new(o, "RuncCommit", json_pack("{s:s, s:s}", "ID", BERTH_GIT_COMMIT, "Expected",
                                                 BERTH_GIT_COMMIT));
  json_object_set_new(o, "InitCommit", json_pack("{s:s, s:s}", "ID", BERTH_GIT_COMMIT, "Expected",
                                                 BERTH_GIT_COMMIT));
  json_t *sec = json_pack("[s]", "name=seccomp,profile=default");
  if (d->userns) /* --userns-remap (dockerd's order: seccomp, userns, cgroupns) */
    json_array_append_new(sec, json_string("name=userns"));
  if (v2)
    json_array_append_new(sec, json_string("name=cgroupns"));
  json_object_set_new(o, "SecurityOptions", sec);
  if (json_array_size(c->default_address_pools) > 0)
    json_object_set(o, "DefaultAddressPools", c->default_address_pools);
  pthread_mutex_unlock(&d->cfg_lock);
  json_object_set_new(o, "Warnings", json_null());
  return o;
}

static void info(struct http_req *r) {
  http_reply_json(r, 200, info_json(r->ctx));
}

/* -------------------------------------------------------------- events ---- */

static void events(struct http_req *r) {
  struct daemon *d = r->ctx;
  int64_t since, until;
  const char *s = http_query(r, "since"), *u = http_query(r, "until");
  if (events_parse_time(s, &since) < 0) {
    http_reply_error(r, 400, "invalid value for since: %s", s);
    return;
  }
  if (events_parse_time(u, &until) < 0) {
    http_reply_error(r, 400, "invalid value for until: %s", u);
    return;
  }
  if (until > 0 && since > until) {
    http_reply_error(r, 400, "`since` time (%s) cannot be after `until` time (%s)", s, u);
    return;
  }
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse(http_query(r, "filters"), &filters, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  events_serve(d->events, r, since, until, filters);
}

/* ----------------------------------------------------------- system/df ---- */

/* One image in /images/json's shape; `ctrs` is containers_df's array (for
 * the per-image container count). */
static json_t *df_image(const struct image *img, const json_t *ctrs) {
  json_int_t users = 0;
  size_t i;
  const json_t *c;
  json_array_foreach(ctrs, i, c) {
    const char *iid = json_string_value(json_object_get(c, "ImageID"));
    users += iid && strcmp(iid, img->id) == 0;
  }
  json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");
  return json_pack("{s:I, s:I, s:s, s:O, s:s, s:o, s:o, s:I, s:I, s:I}", "Containers", users,
                   "Created", (json_int_t)img->created, "Id", img->id, "Labels",
                   labels ? labels : json_null(), "ParentId", img->parent ? img->parent : "",
                   "RepoDigests", strv_json(img->repo_digests), "RepoTags",
                   strv_json(img->repo_tags), "SharedSize", (json_int_t)0, "Size",
                   (json_int_t)img->size, "VirtualSize", (json_int_t)img->size);
}

static void system_df(struct http_req *r) {
  struct daemon *d = r->ctx;
  json_t *ctrs = containers_df(d);
  if (ctrs == NULL)
    ctrs = json_array();
  json_t *images = json_array();
  json_int_t layers = 0;
  struct image **imgs = NULL;
  size_t n = 0;
  _cleanup_berr_ struct berr *err = NULL;
  if (d->store && store_image_list(d->store, &imgs, &n, &err) < 0) {
    json_decref(ctrs);
    json_decref(images);
    http_reply_berr(r, err);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(images, df_image(imgs[i], ctrs));
    layers += imgs[i]->size;
    image_free(imgs[i]);
  }
  free(imgs);
  json_t *vols = NULL; /* with UsageData {Size, RefCount} (src/volume) */
  if (!d->volumes || volume_list(d->volumes, true, &vols, NULL) < 0)
    vols = json_array();
  http_reply_json(r, 200,
                  json_pack("{s:I, s:o, s:o, s:o, s:[], s:I}", "LayersSize", layers, "Images",
                            images, "Containers", ctrs, "Volumes", vols, "BuildCache",
                            "BuilderSize", (json_int_t)0));
}

const struct http_route routes_system[] = {
    {"GET", "/_ping", ping},
    {"HEAD", "/_ping", ping},
    {"GET", "/version", version},
    {"GET", "/info", info},
    {"GET", "/events", events},
    {"GET", "/system/df", system_df},
    {NULL},
};
