/*
 * cmd_run.c — berth run / create / start / attach / exec: the commands that
 * build a container config from flags and the ones that attach to a stream.
 *
 * run follows docker's order so no output is lost and the exit status is
 * the container's: create (404 no such image → "Unable to find image" and a
 * pull), attach (hijacked, before start) unless -d, wait (next-exit, or
 * removed with --rm; sent before start on its own connection), start, copy
 * the streams, then the wait's StatusCode is the exit status. A failure of
 * the CLI or daemon is 125, a start error mentioning a missing executable
 * 127 and one with "permission denied" / "is a directory" 126 (docker CLI's
 * toStatusError).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#include "cli/cli.h"
#include "cli/run.h"

struct run_opts {
  bool detach, interactive, tty, rm, init, privileged, read_only, no_healthcheck, sig_proxy;
  bool entrypoint_set, sig_proxy_set, health_retries_set, stop_timeout_set, pids_set;
  bool health_interval_set, health_timeout_set, health_start_set, memory_set, shm_set;
  const char *name, *workdir, *user, *entrypoint, *restart, *stop_signal, *health_cmd;
  const char *cidfile, *cpus;
  const char *network, *hostname, *detach_keys, *platform, *pull, *log_driver;
  int64_t health_retries, stop_timeout, pids_limit, memory, shm_size;
  int64_t health_interval, health_timeout, health_start_period; /* ns */
  char **env, **env_file, **label, **label_file, **attach, **cap_add, **cap_drop, **volume, **publish;
  char **log_opt, **dns, **add_host, **expose, **tmpfs, **device, **security_opt, **ulimit, **sysctl;
  struct run_storage_opts storage;     /* run_storage.c */
  struct run_resources_opts resources; /* run_resources.c */
  struct run_network_opts network_ext; /* run_network.c */
};

static void run_opts_free(struct run_opts *o) {
  char ***v[] = {&o->env, &o->env_file, &o->label, &o->label_file, &o->attach, &o->cap_add,
                 &o->cap_drop, &o->volume, &o->publish, &o->log_opt, &o->dns, &o->add_host,
                 &o->expose, &o->tmpfs, &o->device, &o->security_opt, &o->ulimit, &o->sysctl};
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
    strv_freep(v[i]);
  run_storage_free(&o->storage);
  run_resources_free(&o->resources);
  run_network_free(&o->network_ext);
}



#define RUN_FLAGS(o, run)                                                                        \
  {"attach", 'a', FLAG_STRV, &(o).attach, "Attach to STDIN, STDOUT or STDERR", NULL},            \
  {"add-host", 0, FLAG_STRV, &(o).add_host, "Add a custom host-to-IP mapping (host:ip)", NULL},  \
  {"cap-add", 0, FLAG_STRV, &(o).cap_add, "Add Linux capabilities", NULL},                        \
  {"cap-drop", 0, FLAG_STRV, &(o).cap_drop, "Drop Linux capabilities", NULL},                     \
  {"cidfile", 0, FLAG_STR, &(o).cidfile, "Write the container ID to the file", NULL},             \
  {"cpus", 0, FLAG_STR, &(o).cpus, "Number of CPUs", NULL},                                       \
  {"detach", run ? 'd' : 0, FLAG_BOOL, &(o).detach, "Run container in background and print container ID", NULL}, \
  {"detach-keys", 0, FLAG_STR, &(o).detach_keys, "Override the key sequence for detaching a container", NULL}, \
  {"dns", 0, FLAG_STRV, &(o).dns, "Set custom DNS servers", NULL},                                \
  {"entrypoint", 0, FLAG_STR, &(o).entrypoint, "Overwrite the default ENTRYPOINT of the image", &(o).entrypoint_set}, \
  {"env", 'e', FLAG_STRV, &(o).env, "Set environment variables", NULL},                           \
  {"env-file", 0, FLAG_STRV, &(o).env_file, "Read in a file of environment variables", NULL},     \
  {"expose", 0, FLAG_STRV, &(o).expose, "Expose a port or a range of ports", NULL},               \
  {"health-cmd", 0, FLAG_STR, &(o).health_cmd, "Command to run to check health", NULL},           \
  {"health-interval", 0, FLAG_DURATION, &(o).health_interval, "Time between running the check (ms|s|m|h) (default 0s)", &(o).health_interval_set}, \
  {"health-retries", 0, FLAG_INT, &(o).health_retries, "Consecutive failures needed to report unhealthy", &(o).health_retries_set}, \
  {"health-start-period", 0, FLAG_DURATION, &(o).health_start_period, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)", &(o).health_start_set}, \
  {"health-timeout", 0, FLAG_DURATION, &(o).health_timeout, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", &(o).health_timeout_set}, \
  {"hostname", 'h', FLAG_STR, &(o).hostname, "Container host name", NULL},                       \
  {"init", 0, FLAG_BOOL, &(o).init, "Run an init inside the container that forwards signals and reaps processes", NULL}, \
  {"interactive", 'i', FLAG_BOOL, &(o).interactive, "Keep STDIN open even if not attached", NULL}, \
  {"label", 'l', FLAG_STRV, &(o).label, "Set meta data on a container", NULL},                    \
  {"label-file", 0, FLAG_STRV, &(o).label_file, "Read in a line delimited file of labels", NULL}, \
  {"log-driver", 0, FLAG_STR, &(o).log_driver, "Logging driver for the container", NULL},         \
  {"log-opt", 0, FLAG_STRV, &(o).log_opt, "Log driver options", NULL},                            \
  {"memory", 'm', FLAG_BYTES, &(o).memory, "Memory limit", &(o).memory_set},                                   \
  {"name", 0, FLAG_STR, &(o).name, "Assign a name to the container", NULL},                       \
  {"network", 0, FLAG_STR, &(o).network, "Connect a container to a network", NULL},               \
  {"net", 0, FLAG_STR, &(o).network, "Connect a container to a network", NULL},                   \
  {"pids-limit", 0, FLAG_INT, &(o).pids_limit, "Tune container pids limit (set -1 for unlimited)", &(o).pids_set}, \
  {"platform", 0, FLAG_STR, &(o).platform, "Set platform if server is multi-platform capable", NULL}, \
  {"privileged", 0, FLAG_BOOL, &(o).privileged, "Give extended privileges to this container", NULL}, \
  {"publish", 'p', FLAG_STRV, &(o).publish, "Publish a container's port(s) to the host", NULL},  \
  {"pull", 0, FLAG_STR, &(o).pull, "Pull image before running (\"always\", \"missing\", \"never\")", NULL}, \
  {"read-only", 0, FLAG_BOOL, &(o).read_only, "Mount the container's root filesystem as read only", NULL}, \
  {"restart", 0, FLAG_STR, &(o).restart, "Restart policy to apply when a container exits (default \"no\")", NULL}, \
  {"rm", 0, FLAG_BOOL, &(o).rm, "Automatically remove the container and its associated anonymous volumes when it exits", NULL}, \
  {"shm-size", 0, FLAG_BYTES, &(o).shm_size, "Size of /dev/shm", &(o).shm_set},                 \
  {"sig-proxy", 0, FLAG_BOOL, &(o).sig_proxy, "Proxy received signals to the process (default true)", &(o).sig_proxy_set}, \
  {"stop-signal", 0, FLAG_STR, &(o).stop_signal, "Signal to stop the container", NULL},           \
  {"stop-timeout", 0, FLAG_INT, &(o).stop_timeout, "Timeout (in seconds) to stop a container", &(o).stop_timeout_set}, \
  {"tmpfs", 0, FLAG_STRV, &(o).tmpfs, "Mount a tmpfs directory", NULL},                           \
  {"tty", 't', FLAG_BOOL, &(o).tty, "Allocate a pseudo-TTY", NULL},                               \
  {"user", 'u', FLAG_STR, &(o).user, "Username or UID (format: <name|uid>[:<group|gid>])", NULL}, \
  {"volume", 'v', FLAG_STRV, &(o).volume, "Bind mount a volume", NULL},                           \
  {"workdir", 'w', FLAG_STR, &(o).workdir, "Working directory inside the container", NULL},      \
  {"no-healthcheck", 0, FLAG_BOOL, &(o).no_healthcheck, "Disable any container-specified HEALTHCHECK", NULL}

static int flag_by_name(const void *a, const void *b) {
  return strcmp(((const struct flag *)a)->name, ((const struct flag *)b)->name);
}

/* cmd_run.c's own flags, then each group's (run.h), sorted by name as pflag
 * lists them; the table ends with a zeroed entry */
static size_t run_flag_table(struct run_opts *o, bool run, struct flag *out) {
  const struct flag own[] = {RUN_FLAGS(*o, run)};
  size_t n = sizeof(own) / sizeof(own[0]);
  memcpy(out, own, sizeof(own));
  n += run_storage_flags(&o->storage, out + n);
  n += run_resources_flags(&o->resources, out + n);
  n += run_network_flags(&o->network_ext, out + n);
  qsort(out, n, sizeof(*out), flag_by_name);
  out[n] = (struct flag){0};
  return n;
}

/* the groups' options into the create body (run.h) */
static int apply_run_groups(const struct run_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                            struct berr **err) {
  if (run_storage_apply(&o->storage, cfg, hc, nc, err) < 0 ||
      run_resources_apply(&o->resources, cfg, hc, nc, err) < 0 ||
      run_network_apply(&o->network_ext, cfg, hc, nc, err) < 0)
    return -1;
  return 0;
}

/* ---------- config building ---------- */

/* KEY=VALUE, or KEY: docker's opts.ValidateEnv takes the value from our
 * environment when set and otherwise passes the bare name on unchanged */
static void add_env(json_t *arr, const char *kv) {
  const char *v = strchr(kv, '=') ? NULL : getenv(kv);
  if (v)
    json_array_append_new(arr, json_string_nocheck(xasprintf("%s=%s", kv, v)));
  else
    json_array_append_new(arr, json_string(kv));
}

/* Go's syscall.Errno text: strerror in lower case ("no such file or directory") */
static char *go_strerror(int e) {
  char *s = xstrdup(strerror(e));
  if (s[0] >= 'A' && s[0] <= 'Z')
    s[0] = (char)(s[0] - 'A' + 'a');
  return s;
}

static int read_lines_file(const char *path, json_t *arr, bool env, struct berr **err) {
  _cleanup_free_ char *text = NULL;
  if (read_file(path, &text, NULL, NULL) < 0) {
    int e = errno ? errno : ENOENT;
    _cleanup_free_ char *why = go_strerror(e);
    return berr_set(err, e, "open %s: %s", path, why); /* docker's os.Open error */
  }
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
      line[--n] = '\0';
    while (*line == ' ' || *line == '\t')
      line++;
    if (!*line || *line == '#')
      continue;
    if (env)
      add_env(arr, line);
    else
      json_array_append_new(arr, json_string(line));
  }
  return 0;
}

static void labels_add(json_t *obj, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (eq) {
    _cleanup_free_ char *k = strndup(kv, (size_t)(eq - kv));
    json_object_set_new(obj, k, json_string(eq + 1));
  } else {
    json_object_set_new(obj, kv, json_string(""));
  }
}

static json_t *strv_json(char **v) {
  json_t *a = json_array();
  for (; v && *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

/* -p [ip:][hostPort:]containerPort[/proto] (ranges a-b on both sides) */
static int add_publish(json_t *exposed, json_t *bindings, const char *spec, struct berr **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *proto = strrchr(s, '/');
  const char *pr = "tcp";
  if (proto) {
    *proto = '\0';
    pr = proto + 1;
  }
  char *ip = NULL, *host = NULL, *cport = s;
  char *last = strrchr(s, ':');
  if (last) {
    *last = '\0';
    cport = last + 1;
    char *mid = strrchr(s, ':');
    if (s[0] == '[' && strchr(s, ']')) { /* [v6]:host */
      char *rb = strchr(s, ']');
      ip = s + 1;
      *rb = '\0';
      host = rb[1] == ':' ? rb + 2 : rb + 1;
    } else if (mid) {
      *mid = '\0';
      ip = s;
      host = mid + 1;
    } else {
      host = s;
    }
  }
  int64_t c0, c1, h0 = 0, h1 = 0;
  char *dash = strchr(cport, '-');
  if (dash)
    *dash = '\0';
  if (parse_int64(cport, &c0) < 0 || (dash && parse_int64(dash + 1, &c1) < 0) || c0 <= 0)
    return berr_set(err, EINVAL, "invalid containerPort: %s", cport);
  if (!dash)
    c1 = c0;
  if (host && *host) {
    char *hd = strchr(host, '-');
    if (hd)
      *hd = '\0';
    if (parse_int64(host, &h0) < 0 || (hd && parse_int64(hd + 1, &h1) < 0))
      return berr_set(err, EINVAL, "invalid hostPort: %s", host);
    if (!hd)
      h1 = h0 + (c1 - c0);
  }
  for (int64_t p = c0; p <= c1; p++) {
    _cleanup_free_ char *key = xasprintf("%lld/%s", (long long)p, pr);
    json_object_set_new(exposed, key, json_object());
    json_t *arr = json_object_get(bindings, key);
    if (!arr) {
      arr = json_array();
      json_object_set_new(bindings, key, arr);
    }
    _cleanup_free_ char *hp = h0 ? xasprintf("%lld", (long long)(h0 + (p - c0) <= h1 ? h0 + (p - c0) : h0)) : xstrdup("");
    json_array_append_new(arr, json_pack("{s:s, s:s}", "HostIp", ip ? ip : "", "HostPort", hp));
  }
  return 0;
}

static int restart_policy(const char *s, json_t **out, struct berr **err) {
  _cleanup_free_ char *name = xstrdup(s ? s : "no");
  int64_t max = 0;
  char *colon = strchr(name, ':');
  if (colon) {
    *colon = '\0';
    if (parse_int64(colon + 1, &max) < 0)
      return berr_set(err, EINVAL, "invalid restart policy format: maximum retry count must be an integer");
  }
  if (strcmp(name, "no") && strcmp(name, "always") && strcmp(name, "unless-stopped") &&
      strcmp(name, "on-failure"))
    return berr_set(err, EINVAL, "invalid restart policy format: unknown policy '%s'", name);
  if (!strcmp(name, "no"))
    name[0] = '\0', strcpy(name, "no");
  *out = json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t)max);
  return 0;
}

static bool attach_has(char **a, const char *s) {
  for (; a && *a; a++)
    if (!strcasecmp(*a, s))
      return true;
  return false;
}

static int build_config(struct run_opts *o, char **args, bool run, json_t **out, struct berr **err) {
  _cleanup_json_ json_t *cfg = json_object(), *hc = json_object();
  int r;
  json_object_set_new(cfg, "Image", json_string(args[0]));
  if (o->hostname)
    json_object_set_new(cfg, "Hostname", json_string(o->hostname));
  json_object_set_new(cfg, "User", json_string(o->user ? o->user : ""));
  bool attach_in, attach_out, attach_err;
  if (o->attach) {
    for (char **a = o->attach; *a; a++)
      if (strcasecmp(*a, "stdin") && strcasecmp(*a, "stdout") && strcasecmp(*a, "stderr"))
        return berr_set(err, EINVAL, "invalid argument \"%s\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", *a);
    attach_in = attach_has(o->attach, "stdin");
    attach_out = attach_has(o->attach, "stdout");
    attach_err = attach_has(o->attach, "stderr");
  } else {
    attach_in = o->interactive;
    attach_out = attach_err = !o->detach;
  }
  if (o->detach && o->attach)
    return berr_set(err, EINVAL, "conflicting options: cannot specify both --attach and --detach");
  if (o->detach)
    attach_in = attach_out = attach_err = false;
  json_object_set_new(cfg, "AttachStdin", json_boolean(attach_in));
  json_object_set_new(cfg, "AttachStdout", json_boolean(attach_out));
  json_object_set_new(cfg, "AttachStderr", json_boolean(attach_err));
  json_object_set_new(cfg, "Tty", json_boolean(o->tty));
  json_object_set_new(cfg, "OpenStdin", json_boolean(o->interactive));
  json_object_set_new(cfg, "StdinOnce", json_boolean(o->interactive && attach_in));
  json_t *env = json_array();
  json_object_set_new(cfg, "Env", env);
  for (char **f = o->env_file; f && *f; f++)
    if ((r = read_lines_file(*f, env, true, err)) < 0)
      return r;
  for (char **e = o->env; e && *e; e++)
    add_env(env, *e);
  if (args[1])
    json_object_set_new(cfg, "Cmd", strv_json(args + 1));
  if (o->entrypoint_set)
    json_object_set_new(cfg, "Entrypoint", json_pack("[s]", o->entrypoint ? o->entrypoint : ""));
  if (o->workdir)
    json_object_set_new(cfg, "WorkingDir", json_string(o->workdir));
  json_t *labels = json_object();
  json_object_set_new(cfg, "Labels", labels);
  for (char **f = o->label_file; f && *f; f++) {
    _cleanup_json_ json_t *lines = json_array();
    if ((r = read_lines_file(*f, lines, false, err)) < 0)
      return r;
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l) labels_add(labels, json_string_value(l));
  }
  for (char **l = o->label; l && *l; l++)
    labels_add(labels, *l);
  if (o->stop_signal)
    json_object_set_new(cfg, "StopSignal", json_string(o->stop_signal));
  if (o->stop_timeout_set)
    json_object_set_new(cfg, "StopTimeout", json_integer(o->stop_timeout));
  if (o->no_healthcheck) {
    if (o->health_cmd || o->health_interval_set || o->health_timeout_set || o->health_retries_set ||
        o->health_start_set)
      return berr_set(err, EINVAL, "--no-healthcheck conflicts with --health-* options");
    json_object_set_new(cfg, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
  } else if (o->health_cmd || o->health_interval_set || o->health_timeout_set ||
             o->health_retries_set || o->health_start_set) {
    json_t *h = json_object();
    json_object_set_new(cfg, "Healthcheck", h);
    if (o->health_cmd)
      json_object_set_new(h, "Test", json_pack("[s,s]", "CMD-SHELL", o->health_cmd));
    /* docker: "--health-interval cannot be negative" and friends */
    if (o->health_interval < 0 || o->health_timeout < 0 || o->health_start_period < 0)
      return berr_set(err, EINVAL, "--health-%s cannot be negative",
                      o->health_interval < 0 ? "interval" : o->health_timeout < 0 ? "timeout" : "start-period");
    if (o->health_interval_set)
      json_object_set_new(h, "Interval", json_integer(o->health_interval));
    if (o->health_timeout_set)
      json_object_set_new(h, "Timeout", json_integer(o->health_timeout));
    if (o->health_start_set)
      json_object_set_new(h, "StartPeriod", json_integer(o->health_start_period));
    if (o->health_retries_set)
      json_object_set_new(h, "Retries", json_integer(o->health_retries));
  }
  /* HostConfig */
  json_t *binds = json_array(), *vols = json_object();
  for (char **v = o->volume; v && *v; v++) {
    if (strchr(*v, ':'))
      json_array_append_new(binds, json_string(*v));
    else
      json_object_set_new(vols, *v, json_object());
  }
  json_object_set_new(hc, "Binds", binds);
  if (json_object_size(vols))
    json_object_set_new(cfg, "Volumes", vols);
  else
    json_decref(vols);
  json_t *exposed = json_object(), *pb = json_object();
  for (char **p = o->publish; p && *p; p++)
    if ((r = add_publish(exposed, pb, *p, err)) < 0) {
      json_decref(exposed);
      json_decref(pb);
      return r;
    }
  for (char **e = o->expose; e && *e; e++) {
    _cleanup_free_ char *k = strchr(*e, '/') ? xstrdup(*e) : xasprintf("%s/tcp", *e);
    json_object_set_new(exposed, k, json_object());
  }
  if (json_object_size(exposed))
    json_object_set_new(cfg, "ExposedPorts", exposed);
  else
    json_decref(exposed);
  json_object_set_new(hc, "PortBindings", pb);
  json_object_set_new(hc, "NetworkMode", json_string(o->network ? o->network : "default"));
  json_t *rp = NULL;
  if ((r = restart_policy(o->restart, &rp, err)) < 0)
    return r;
  json_object_set_new(hc, "RestartPolicy", rp);
  if (o->rm && strcmp(json_string_value(json_object_get(rp, "Name")), "no"))
    return berr_set(err, EINVAL, "conflicting options: cannot specify both --restart and --rm");
  json_object_set_new(hc, "AutoRemove", json_boolean(o->rm));
  if (o->cap_add)
    json_object_set_new(hc, "CapAdd", strv_json(o->cap_add));
  if (o->cap_drop)
    json_object_set_new(hc, "CapDrop", strv_json(o->cap_drop));
  if (o->dns)
    json_object_set_new(hc, "Dns", strv_json(o->dns));
  if (o->add_host)
    json_object_set_new(hc, "ExtraHosts", strv_json(o->add_host));
  json_object_set_new(hc, "Privileged", json_boolean(o->privileged));
  json_object_set_new(hc, "ReadonlyRootfs", json_boolean(o->read_only));
  if (o->init)
    json_object_set_new(hc, "Init", json_true());
  if (o->memory_set)
    json_object_set_new(hc, "Memory", json_integer(o->memory));
  if (o->shm_set)
    json_object_set_new(hc, "ShmSize", json_integer(o->shm_size));
  if (o->cpus) {
    int64_t n;
    if (parse_nano_cpus(o->cpus, &n) < 0)
      return berr_set(err, EINVAL, "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number",
                      o->cpus, o->cpus);
    json_object_set_new(hc, "NanoCpus", json_integer(n));
  }
  if (o->pids_set)
    json_object_set_new(hc, "PidsLimit", json_integer(o->pids_limit));
  if (o->tmpfs) {
    json_t *t = json_object();
    for (char **v = o->tmpfs; *v; v++) {
      _cleanup_free_ char *k = xstrdup(*v);
      char *c = strchr(k, ':');
      if (c)
        *c++ = '\0';
      json_object_set_new(t, k, json_string(c ? c : ""));
    }
    json_object_set_new(hc, "Tmpfs", t);
  }
  if (o->log_driver || o->log_opt) {
    json_t *lc = json_object(), *opts = json_object();
    json_object_set_new(lc, "Type", json_string(o->log_driver ? o->log_driver : ""));
    for (char **v = o->log_opt; v && *v; v++)
      labels_add(opts, *v);
    json_object_set_new(lc, "Config", opts);
    json_object_set_new(hc, "LogConfig", lc);
  }
  (void)run;
  _cleanup_json_ json_t *nc = json_object();
  if (apply_run_groups(o, cfg, hc, nc, err) < 0)
    return -1;
  json_object_set_new(cfg, "HostConfig", steal_ptr(hc));
  json_object_set_new(cfg, "NetworkingConfig", steal_ptr(nc));
  *out = steal_ptr(cfg);
  return 0;
}

/* "busybox" → "busybox:latest" (no tag and no digest) */
static char *image_with_tag(const char *ref) {
  const char *slash = strrchr(ref, '/');
  const char *last = slash ? slash : ref;
  if (strchr(ref, '@') || strchr(last, ':'))
    return xstrdup(ref);
  return xasprintf("%s:latest", ref);
}

/* POST /images/create: read the JSON progress stream, report its error. */
static int pull_image(struct cli *cli, const char *ref, bool quiet, struct berr **err) {
  _cleanup_free_ char *full = image_with_tag(ref);
  _cleanup_sb_ struct sb p = {0};
  sb_add(&p, "/images/create");
  char *at = strchr(full, '@');
  const char *slash = strrchr(full, '/');
  char *colon = strrchr(slash ? slash : full, ':');
  if (at) {
    sb_query(&p, "fromImage", full);
  } else {
    _cleanup_free_ char *name = strndup(full, (size_t)(colon - full));
    sb_query(&p, "fromImage", name);
    sb_query(&p, "tag", colon + 1);
  }
  struct http_resp resp;
  _cleanup_free_ char *hdr = cred_header_for_ref(full);
  int r = cli_stream_headers(cli, "POST", p.s, NULL, NULL, 0, hdr, &resp, err);
  if (r < 0)
    return r;
  /* docker run renders the pull's progress on stderr */
  r = progress_display(&resp, quiet ? NULL : stderr, isatty(STDERR_FILENO), NULL, err);
  resp_free(&resp);
  return r;
}

/* Create the container; on "No such image" say so, pull, and try again. */
static int create_container(struct cli *cli, json_t *cfg, const char *name, char **id,
                            struct berr **err) {
  _cleanup_sb_ struct sb p = {0};
  sb_add(&p, "/containers/create");
  if (name)
    sb_query(&p, "name", name);
  _cleanup_json_ json_t *resp = NULL;
  int status = 0;
  _cleanup_berr_ struct berr *e = NULL;
  int r = cli_call(cli, "POST", p.s, cfg, &resp, &status, &e);
  if (r < 0 && status == 404 && strstr(e->msg, "No such image")) {
    const char *image = json_string_value(json_object_get(cfg, "Image"));
    _cleanup_free_ char *full = image_with_tag(image);
    fprintf(stderr, "Unable to find image '%s' locally\n", full);
    if ((r = pull_image(cli, image, false, err)) < 0)
      return r;
    berr_free(steal_ptr(e));
    r = cli_call(cli, "POST", p.s, cfg, &resp, &status, &e);
  }
  if (r < 0) {
    *err = steal_ptr(e);
    return r;
  }
  json_t *w;
  size_t i;
  json_array_foreach(json_object_get(resp, "Warnings"), i, w)
    fprintf(stderr, "WARNING: %s\n", json_string_value(w));
  const char *cid = json_string_value(json_object_get(resp, "Id"));
  if (!cid)
    return berr_set(err, EPROTO, "Error response from daemon: no container ID in the reply");
  *id = xstrdup(cid);
  return 0;
}

/* docker CLI's toStatusError for run/start failures */
static int run_status(const char *msg) {
  if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
      strstr(msg, "system cannot find the file specified"))
    return 127;
  if (strstr(msg, "permission denied") || strstr(msg, "is a directory"))
    return 126;
  return 125;
}

static int run_fail(struct cmd_ctx *ctx, struct berr *err, int status) {
  fprintf(stderr, "%s: %s\n\nRun 'berth %s --help' for more information\n", ctx->cli->prog,
          err && err->msg ? err->msg : "unknown error", ctx->name);
  return status ? status : run_status(err && err->msg ? err->msg : "");
}

static int write_cidfile(const char *path, const char *id, struct berr **err) {
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      return berr_set(err, EEXIST, "container ID file found, make sure the other container isn't running or delete %s", path);
    return berr_sys(err, errno, "failed to create the container ID file");
  }
  if (write(fd, id, strlen(id)) < 0)
    return berr_sys(err, errno, "failed to write the container ID to the file");
  return 0;
}

static int run_or_create(struct cmd_ctx *ctx, int argc, char **argv, bool run) {
  struct run_opts o = {.sig_proxy = true};
  struct flag flags[128 + 3 * RUN_GROUP_MAX_FLAGS];
  run_flag_table(&o, run, flags);
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, false, &args);
  if (rc) {
    run_opts_free(&o);
    return rc;
  }
  _cleanup_berr_ struct berr *err = NULL;
  if ((rc = cmd_need_args(ctx, args, 1, SIZE_MAX))) {
    run_opts_free(&o);
    return rc;
  }
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_conn_ struct conn *att = NULL, *waitc = NULL;
  _cleanup_free_ char *sp = NULL, *body = NULL;
  _cleanup_json_ json_t *w = NULL;
  if (build_config(&o, args, run, &cfg, &err) < 0) {
    if (!strncmp(err->msg, "invalid argument \"", 18)) {
      /* a flag value docker checks in its flag parser: pflag's text, no prefix */
      fprintf(stderr, "%s\n\nUsage:  %s\n\nRun 'berth %s --help' for more information\n",
              err->msg, ctx->usage, ctx->name);
      rc = 125;
    } else {
      rc = run_fail(ctx, err, 125);
    }
    goto out;
  }
  if (o.cidfile && path_exists(o.cidfile)) {
    berr_set(&err, EEXIST, "container ID file found, make sure the other container isn't running or delete %s", o.cidfile);
    rc = run_fail(ctx, err, 125);
    goto out;
  }
  if (create_container(ctx->cli, cfg, o.name, &id, &err) < 0) {
    /* docker run reports it with its usage hint and 125; docker create
     * returns the daemon's error as it is, which exits 1 */
    if (run) {
      rc = run_fail(ctx, err, 125);
    } else {
      cmd_print_err(err);
      rc = 1;
    }
    goto out;
  }
  if (o.cidfile && write_cidfile(o.cidfile, id, &err) < 0) {
    rc = run_fail(ctx, err, 125);
    goto out;
  }
  if (!run) {
    printf("%s\n", id);
    rc = 0;
    goto out;
  }
  bool tty = o.tty;
  bool ain = json_is_true(json_object_get(cfg, "AttachStdin"));
  bool aout = json_is_true(json_object_get(cfg, "AttachStdout"));
  bool aerr = json_is_true(json_object_get(cfg, "AttachStderr"));
  bool attached = !o.detach && (ain || aout || aerr);
  if (attached) {
    _cleanup_sb_ struct sb p = {0};
    sb_addf(&p, "/containers/%s/attach?stream=1", id);
    if (ain)
      sb_add(&p, "&stdin=1");
    if (aout)
      sb_add(&p, "&stdout=1");
    if (aerr)
      sb_add(&p, "&stderr=1");
    if (o.detach_keys)
      sb_query(&p, "detachKeys", o.detach_keys);
    if (cli_hijack(ctx->cli, p.s, NULL, &att, &err) < 0) {
      rc = run_fail(ctx, err, 125);
      goto out;
    }
  }
  if (!o.detach) {
    /* the wait is sent before start, on its own connection, so a fast exit is not missed */
    _cleanup_free_ char *wp = xasprintf("/containers/%s/wait?condition=%s", id, o.rm ? "removed" : "next-exit");
    if (cli_conn_open(ctx->cli, &waitc, &err) < 0 ||
        http_send(ctx->cli, waitc, "POST", wp, NULL, NULL, 0, NULL, &err) < 0) {
      rc = run_fail(ctx, err, 125);
      goto out;
    }
  }
  sp = xasprintf("/containers/%s/start", id);
  if (cli_call(ctx->cli, "POST", sp, NULL, NULL, NULL, &err) < 0) {
    rc = run_fail(ctx, err, 0);
    goto out;
  }
  if (o.detach) {
    printf("%s\n", id);
    rc = 0;
    goto out;
  }
  if (att) {
    _cleanup_free_ char *rz = xasprintf("/containers/%s/resize", id);
    _cleanup_free_ char *kp = xasprintf("/containers/%s/kill", id);
    bool detached = false;
    struct stream_opts so = {.tty = tty, .in = ain, .out = aout, .err = aerr,
                             .sig_proxy = o.sig_proxy, .resize_path = rz, .kill_path = kp,
                             .detach_keys = o.detach_keys, .detached = &detached};
    if (stream_run(ctx->cli, att, &so, &err) < 0) {
      cmd_print_err(err);
      rc = 125;
      goto out;
    }
    if (detached) { /* docker: the container goes on; no wait */
      rc = 0;
      goto out;
    }
  }
  struct http_resp wr;
  if (http_read_head(waitc, &wr, &err) < 0 || resp_read_all(&wr, &body, NULL, &err) < 0) {
    rc = run_fail(ctx, err, 125);
    goto out;
  }
  int st = wr.status;
  resp_free(&wr);
  if (st >= 400) {
    cli_resp_error(st, body, &err);
    rc = run_fail(ctx, err, 125);
    goto out;
  }
  w = json_loads(body, 0, NULL);
  const char *werr = json_string_value(json_object_get(json_object_get(w, "Error"), "Message"));
  if (werr && *werr) {
    fprintf(stderr, "%s: Error response from daemon: %s\n", ctx->cli->prog, werr);
    rc = 125;
    goto out;
  }
  rc = (int)json_integer_value(json_object_get(w, "StatusCode"));
out:
  run_opts_free(&o);
  return rc;
}

int cmd_run(struct cmd_ctx *ctx, int argc, char **argv) { return run_or_create(ctx, argc, argv, true); }
int cmd_create(struct cmd_ctx *ctx, int argc, char **argv) { return run_or_create(ctx, argc, argv, false); }

/* ---------- attach to an existing container ---------- */

static int attach_stream(struct cmd_ctx *ctx, const char *id, json_t *info, bool in,
                         const char *detach_keys, bool sig_proxy, bool start) {
  _cleanup_berr_ struct berr *err = NULL;
  const json_t *config = json_object_get(info, "Config");
  bool tty = json_is_true(json_object_get(config, "Tty"));
  in = in && json_is_true(json_object_get(config, "OpenStdin"));
  _cleanup_sb_ struct sb p = {0};
  sb_addf(&p, "/containers/%s/attach?stream=1&stdout=1&stderr=1", id);
  if (in)
    sb_add(&p, "&stdin=1");
  if (detach_keys)
    sb_query(&p, "detachKeys", detach_keys);
  _cleanup_conn_ struct conn *att = NULL;
  if (cli_hijack(ctx->cli, p.s, NULL, &att, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  if (start) {
    _cleanup_free_ char *sp = xasprintf("/containers/%s/start", id);
    if (cli_call(ctx->cli, "POST", sp, NULL, NULL, NULL, &err) < 0) {
      cmd_print_err(err); /* docker start -a: the daemon's error, exit 1 (no 126/127 as run) */
      return 1;
    }
  }
  _cleanup_free_ char *rz = xasprintf("/containers/%s/resize", id);
  _cleanup_free_ char *kp = xasprintf("/containers/%s/kill", id);
  struct stream_opts so = {.tty = tty, .in = in, .out = true, .err = true, .sig_proxy = sig_proxy,
                           .resize_path = rz, .kill_path = kp, .detach_keys = detach_keys};
  if (stream_run(ctx->cli, att, &so, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  /* the container's exit status, as docker's attach / start -a */
  _cleanup_json_ json_t *now = NULL;
  if (cli_inspect_container(ctx->cli, id, &now, NULL) < 0)
    return 0;
  const json_t *state = json_object_get(now, "State");
  if (json_is_true(json_object_get(state, "Running")))
    return 0;
  return (int)json_integer_value(json_object_get(state, "ExitCode"));
}

int cmd_start(struct cmd_ctx *ctx, int argc, char **argv) {
  bool att = false, in = false;
  const char *dk = NULL;
  const struct flag flags[] = {
      {"attach", 'a', FLAG_BOOL, &att, "Attach STDOUT/STDERR and forward signals", NULL},
      {"detach-keys", 0, FLAG_STR, &dk, "Override the key sequence for detaching a container", NULL},
      {"interactive", 'i', FLAG_BOOL, &in, "Attach container's STDIN", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  if (att || in) {
    if (strv_len(args) > 1) {
      fprintf(stderr, "you cannot start and attach multiple containers at once\n");
      return 1;
    }
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_json_ json_t *info = NULL;
    if (cli_inspect_container(ctx->cli, args[0], &info, &err) < 0) {
      cmd_print_err(err);
      return 1;
    }
    const char *id = json_string_value(json_object_get(info, "Id"));
    return attach_stream(ctx, id ? id : args[0], info, in, dk, true, true);
  }
  _cleanup_sb_ struct sb failed = {0};
  for (char **a = args; *a; a++) {
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_sb_ struct sb p = {0};
    sb_add(&p, "/containers/");
    sb_add_qs(&p, *a);
    sb_add(&p, "/start");
    if (cli_call(ctx->cli, "POST", p.s, NULL, NULL, NULL, &err) < 0) {
      cmd_print_err(err);
      sb_addf(&failed, "%s%s", failed.len ? ", " : "", *a);
    } else {
      printf("%s\n", *a);
    }
  }
  if (failed.len) {
    fprintf(stderr, "Error: failed to start containers: %s\n", failed.s);
    return 1;
  }
  return 0;
}

int cmd_attach(struct cmd_ctx *ctx, int argc, char **argv) {
  bool no_stdin = false, sig_proxy = true;
  const char *dk = NULL;
  const struct flag flags[] = {
      {"detach-keys", 0, FLAG_STR, &dk, "Override the key sequence for detaching a container", NULL},
      {"no-stdin", 0, FLAG_BOOL, &no_stdin, "Do not attach STDIN", NULL},
      {"sig-proxy", 0, FLAG_BOOL, &sig_proxy, "Proxy all received signals to the process (default true)", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *info = NULL;
  if (cli_inspect_container(ctx->cli, args[0], &info, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  const json_t *state = json_object_get(info, "State");
  if (!json_is_true(json_object_get(state, "Running"))) {
    fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
    return 1;
  }
  if (json_is_true(json_object_get(state, "Paused"))) {
    fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
    return 1;
  }
  const char *id = json_string_value(json_object_get(info, "Id"));
  return attach_stream(ctx, id ? id : args[0], info, !no_stdin, dk, sig_proxy, false);
}

/* ---------- exec ---------- */

int cmd_exec(struct cmd_ctx *ctx, int argc, char **argv) {
  bool detach = false, in = false, tty = false, priv = false;
  const char *workdir = NULL, *user = NULL, *dk = NULL;
  _cleanup_strv_ char **env = NULL, **env_file = NULL;
  const struct flag flags[] = {
      {"detach", 'd', FLAG_BOOL, &detach, "Detached mode: run command in the background", NULL},
      {"detach-keys", 0, FLAG_STR, &dk, "Override the key sequence for detaching a container", NULL},
      {"env", 'e', FLAG_STRV, &env, "Set environment variables", NULL},
      {"env-file", 0, FLAG_STRV, &env_file, "Read in a file of environment variables", NULL},
      {"interactive", 'i', FLAG_BOOL, &in, "Keep STDIN open even if not attached", NULL},
      {"privileged", 0, FLAG_BOOL, &priv, "Give extended privileges to the command", NULL},
      {"tty", 't', FLAG_BOOL, &tty, "Allocate a pseudo-TTY", NULL},
      {"user", 'u', FLAG_STR, &user, "Username or UID (format: \"<name|uid>[:<group|gid>]\")", NULL},
      {"workdir", 'w', FLAG_STR, &workdir, "Working directory inside the container", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, false, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 2, SIZE_MAX)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *body = json_object();
  json_object_set_new(body, "User", json_string(user ? user : ""));
  json_object_set_new(body, "Privileged", json_boolean(priv));
  json_object_set_new(body, "Tty", json_boolean(tty));
  json_object_set_new(body, "AttachStdin", json_boolean(in && !detach));
  json_object_set_new(body, "AttachStdout", json_boolean(!detach));
  json_object_set_new(body, "AttachStderr", json_boolean(!detach));
  if (dk)
    json_object_set_new(body, "DetachKeys", json_string(dk));
  json_t *e = json_array();
  json_object_set_new(body, "Env", e);
  for (char **f = env_file; f && *f; f++)
    if (read_lines_file(*f, e, true, &err) < 0) {
      cmd_print_err(err);
      return 1;
    }
  for (char **v = env; v && *v; v++)
    add_env(e, *v);
  if (workdir)
    json_object_set_new(body, "WorkingDir", json_string(workdir));
  json_object_set_new(body, "Cmd", strv_json(args + 1));
  _cleanup_sb_ struct sb p = {0};
  sb_add(&p, "/containers/");
  sb_add_qs(&p, args[0]);
  sb_add(&p, "/exec");
  _cleanup_json_ json_t *created = NULL;
  if (cli_call(ctx->cli, "POST", p.s, body, &created, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  const char *eid = json_string_value(json_object_get(created, "Id"));
  if (!eid) {
    fprintf(stderr, "Error response from daemon: no exec ID in the reply\n");
    return 1;
  }
  _cleanup_free_ char *startp = xasprintf("/exec/%s/start", eid);
  _cleanup_json_ json_t *sb = json_pack("{s:b, s:b}", "Detach", detach, "Tty", tty);
  if (detach) {
    if (cli_call(ctx->cli, "POST", startp, sb, NULL, NULL, &err) < 0) {
      cmd_print_err(err);
      return 1;
    }
    return 0;
  }
  _cleanup_conn_ struct conn *c = NULL;
  if (cli_hijack(ctx->cli, startp, sb, &c, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  _cleanup_free_ char *rz = xasprintf("/exec/%s/resize", eid);
  bool detached = false;
  struct stream_opts so = {.tty = tty, .in = in, .out = true, .err = true, .resize_path = rz,
                           .detach_keys = dk, .detached = &detached};
  if (stream_run(ctx->cli, c, &so, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  if (detached)
    return 0;
  _cleanup_free_ char *ip = xasprintf("/exec/%s/json", eid);
  _cleanup_json_ json_t *info = NULL;
  if (cli_call(ctx->cli, "GET", ip, NULL, &info, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return (int)json_integer_value(json_object_get(info, "ExitCode"));
}
