/*
 * cli.c — runc's command line for berth-runc.
 *
 * containerd's runc shim, dockerd and podman build runc command lines like
 *   runc --root R --log L --log-format json create --bundle B --pid-file P ID
 *   runc exec --process F --detach --pid-file P ID
 *   runc update --resources - ID            (resources JSON on stdin)
 * so flags follow urfave/cli's rules: global flags before the command, command
 * flags before the positional arguments, "-flag" and "--flag", "=value" or a
 * separate value. Each command is one row of `commands` and one call into
 * runtime.h (DESIGN.md practice 1).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>

#include "runtime-internal.h"
#include "runtime-cli.h"

/* ---- generic option parsing ---- */

struct optdef {
  const char *name; /* long name */
  char short_;      /* 0: none */
  bool arg;         /* takes a value */
};

#define MAX_OPTS 32
struct parsed {
  const struct optdef *defs;
  char **vals[MAX_OPTS]; /* every value given (repeatable flags); bool flags get "true" */
  char **pos;            /* positional arguments, the rest after the first one for exec/ps */
};

static void parsed_free(struct parsed *p) {
  for (int i = 0; i < MAX_OPTS; i++)
    strv_free(p->vals[i]);
  strv_free(p->pos);
}

static int find_def(const struct optdef *defs, const char *name, size_t len, char short_) {
  for (int i = 0; defs[i].name; i++) {
    if (short_ && defs[i].short_ == short_ && len == 1)
      return i;
    if (!short_ && strlen(defs[i].name) == len && strncmp(defs[i].name, name, len) == 0)
      return i;
  }
  return -1;
}

/* Parse argv (after the command name). stop_at_first: everything after the first
 * positional is positional too (exec's command, ps's options). */
static int parse_args(int argc, char **argv, const struct optdef *defs, bool stop_at_first, struct parsed *p,
                      const char *cmd, struct berr **err) {
  p->defs = defs;
  for (int i = 0; i < argc; i++) {
    char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      for (i++; i < argc; i++)
        p->pos = strv_append(p->pos, xstrdup(argv[i]));
      break;
    }
    if (a[0] != '-' || a[1] == '\0' || (p->pos && stop_at_first)) {
      p->pos = strv_append(p->pos, xstrdup(a));
      continue;
    }
    const char *name = a + 1 + (a[1] == '-');
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int d = find_def(defs, name, len, 0);
    if (d < 0 && len == 1)
      d = find_def(defs, name, 1, name[0]);
    if (d < 0)
      return berr_set(err, EINVAL, "%s: flag provided but not defined: -%.*s", cmd, (int)len, name);
    const char *val = "true";
    if (defs[d].arg) {
      if (eq)
        val = eq + 1;
      else if (i + 1 < argc)
        val = argv[++i];
      else
        return berr_set(err, EINVAL, "%s: flag needs an argument: -%s", cmd, defs[d].name);
    } else if (eq) {
      val = eq + 1; /* --detach=false */
    }
    p->vals[d] = strv_append(p->vals[d], xstrdup(val));
  }
  return 0;
}

static int opt_index(const struct parsed *p, const char *name) {
  for (int i = 0; p->defs[i].name; i++)
    if (strcmp(p->defs[i].name, name) == 0)
      return i;
  abort(); /* a programming error: asking for an option the table lacks */
}

static const char *opt_str(const struct parsed *p, const char *name) {
  char **v = p->vals[opt_index(p, name)];
  return v ? v[strv_len(v) - 1] : NULL;
}

static bool opt_bool(const struct parsed *p, const char *name) {
  const char *v = opt_str(p, name);
  return v && strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

static char **opt_all(const struct parsed *p, const char *name) {
  return p->vals[opt_index(p, name)];
}

static int opt_int(const struct parsed *p, const char *name, int *out, struct berr **err) {
  const char *v = opt_str(p, name);
  int64_t n = 0;
  if (v && (parse_int64(v, &n) < 0 || n < 0 || n > 65536))
    return berr_set(err, EINVAL, "invalid value \"%s\" for flag --%s", v, name);
  *out = (int)n;
  return 0;
}

static int need_id(const struct parsed *p, const char *cmd, size_t max, const char **id, struct berr **err) {
  size_t n = strv_len(p->pos);
  if (n < 1)
    return berr_set(err, EINVAL, "%s: requires a container id argument", cmd);
  if (max && n > max)
    return berr_set(err, EINVAL, "%s: too many arguments (%zu), expected at most %zu", cmd, n, max);
  *id = p->pos[0];
  return 0;
}

static void print_json(json_t *j, bool pretty) {
  char *s = json_dumps(j, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  if (s)
    printf("%s\n", s);
  free(s);
}

/* ---- commands ---- */

static const struct optdef create_defs[] = {
    {"bundle", 'b', true},      {"console-socket", 0, true}, {"pid-file", 0, true},
    {"no-pivot", 0, false},     {"no-new-keyring", 0, false}, {"preserve-fds", 0, true},
    {"detach", 'd', false},     {"keep", 0, false},           {"no-subreaper", 0, false},
    {NULL, 0, false}};

static int fill_create_opts(const struct parsed *p, struct rt_create_opts *o, struct berr **err) {
  o->bundle = opt_str(p, "bundle");
  o->console_socket = opt_str(p, "console-socket");
  o->pid_file = opt_str(p, "pid-file");
  o->no_pivot = opt_bool(p, "no-pivot");
  o->no_new_keyring = opt_bool(p, "no-new-keyring");
  o->detach = opt_bool(p, "detach");
  o->keep = opt_bool(p, "keep");
  return opt_int(p, "preserve-fds", &o->preserve_fds, err);
}

static int cmd_create(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  struct rt_create_opts o = {0};
  int r = need_id(p, "create", 1, &id, err);
  if (r == 0)
    r = fill_create_opts(p, &o, err);
  o.detach = true; /* create always returns once the init waits for start */
  if (r == 0)
    r = rt_create(ctx, id, &o, err);
  *status = r < 0 ? 1 : 0;
  return r;
}

static int cmd_run(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  struct rt_create_opts o = {0};
  int r = need_id(p, "run", 1, &id, err);
  if (r == 0)
    r = fill_create_opts(p, &o, err);
  if (r == 0)
    r = rt_run(ctx, id, &o, status, err);
  return r;
}

static const struct optdef none_defs[] = {{NULL, 0, false}};

static int cmd_start(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "start", 1, &id, err);
  return r < 0 ? r : rt_start(ctx, id, err);
}

static int cmd_state(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  _cleanup_json_ json_t *j = NULL;
  int r = need_id(p, "state", 1, &id, err);
  if (r == 0 && (r = rt_state(ctx, id, &j, err)) == 0)
    print_json(j, true);
  return r;
}

static const struct optdef kill_defs[] = {{"all", 'a', false}, {NULL, 0, false}};

static int cmd_kill(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "kill", 2, &id, err);
  if (r < 0)
    return r;
  int sig = SIGTERM;
  const char *s = p->pos[1];
  if (s && oci_signal_parse(s, &sig) < 0)
    return berr_set(err, EINVAL, "kill: unknown signal \"%s\"", s);
  return rt_kill(ctx, id, sig, opt_bool(p, "all"), err);
}

static const struct optdef delete_defs[] = {{"force", 'f', false}, {NULL, 0, false}};

static int cmd_delete(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "delete", 1, &id, err);
  if (r < 0)
    return r;
  r = rt_delete(ctx, id, opt_bool(p, "force"), err);
  /* runc: deleting a container that does not exist with --force succeeds */
  if (r == -ENOENT && opt_bool(p, "force")) {
    berr_freep(err);
    return 0;
  }
  return r;
}

static int cmd_pause(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "pause", 1, &id, err);
  return r < 0 ? r : rt_pause(ctx, id, err);
}

static int cmd_resume(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "resume", 1, &id, err);
  return r < 0 ? r : rt_resume(ctx, id, err);
}

static const struct optdef ps_defs[] = {{"format", 'f', true}, {NULL, 0, false}};

static int cmd_ps(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "ps", 0, &id, err);
  if (r < 0)
    return r;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if ((r = rt_ps(ctx, id, &pids, &n, err)) < 0)
    return r;
  const char *fmt = opt_str(p, "format");
  if (fmt && strcmp(fmt, "json") == 0) {
    _cleanup_json_ json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(a, json_integer(pids[i]));
    print_json(a, false);
    return 0;
  }
  if (fmt && strcmp(fmt, "table") != 0)
    return berr_set(err, EINVAL, "ps: invalid format option \"%s\" (table or json)", fmt);
  return cli_ps_table(pids, n, p->pos + 1, err);
}

static const struct optdef list_defs[] = {{"format", 'f', true}, {"quiet", 'q', false}, {NULL, 0, false}};

static int cmd_list(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  _cleanup_json_ json_t *a = NULL;
  int r = rt_list(ctx, &a, err);
  if (r < 0)
    return r;
  const char *fmt = opt_str(p, "format");
  if (opt_bool(p, "quiet")) {
    for (size_t i = 0; i < json_array_size(a); i++)
      printf("%s\n", json_string_value(json_object_get(json_array_get(a, i), "id")));
  } else if (fmt && strcmp(fmt, "json") == 0) {
    print_json(a, false);
  } else if (fmt && strcmp(fmt, "table") != 0) {
    return berr_set(err, EINVAL, "list: invalid format option \"%s\" (table or json)", fmt);
  } else {
    cli_list_table(a);
  }
  return 0;
}

static const struct optdef exec_defs[] = {
    {"console-socket", 0, true}, {"cwd", 0, true},          {"env", 'e', true},
    {"tty", 't', false},         {"user", 'u', true},        {"additional-gids", 'g', true},
    {"process", 'p', true},      {"detach", 'd', false},     {"pid-file", 0, true},
    {"process-label", 0, true},  {"apparmor", 0, true},      {"no-new-privs", 0, false},
    {"cap", 'c', true},          {"preserve-fds", 0, true},  {"cgroup", 0, true},
    {"ignore-paused", 0, false}, {NULL, 0, false}};

static int cmd_exec(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "exec", 0, &id, err);
  if (r < 0)
    return r;
  struct rt_exec_opts o = {
      .process_file = opt_str(p, "process"), .args = p->pos + 1, .env = opt_all(p, "env"),
      .cwd = opt_str(p, "cwd"), .user = opt_str(p, "user"), .caps = opt_all(p, "cap"),
      .tty = opt_bool(p, "tty"), .detach = opt_bool(p, "detach"), .no_new_privs = opt_bool(p, "no-new-privs"),
      .console_socket = opt_str(p, "console-socket"), .pid_file = opt_str(p, "pid-file")};
  if (!o.process_file && !o.args[0])
    return berr_set(err, EINVAL, "exec: requires a command, or --process FILE");
  if ((r = opt_int(p, "preserve-fds", &o.preserve_fds, err)) < 0)
    return r;
  char **gids = opt_all(p, "additional-gids");
  _cleanup_free_ gid_t *g = xcalloc(strv_len(gids) + 1, sizeof *g);
  for (size_t i = 0; gids && gids[i]; i++) {
    int64_t v;
    if (parse_int64(gids[i], &v) < 0 || v < 0)
      return berr_set(err, EINVAL, "exec: invalid --additional-gids value \"%s\"", gids[i]);
    g[o.n_additional_gids++] = (gid_t)v;
  }
  o.additional_gids = g;
  return rt_exec(ctx, id, &o, status, err);
}

static const struct optdef spec_defs[] = {{"bundle", 'b', true}, {"rootless", 0, false}, {NULL, 0, false}};

static int cmd_spec(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *bundle = opt_str(p, "bundle");
  _cleanup_free_ char *path = xasprintf("%s/config.json", bundle ? bundle : ".");
  if (access(path, F_OK) == 0)
    return berr_set(err, EEXIST, "spec: file %s exists, remove it first", path);
  _cleanup_json_ json_t *j = oci_spec_default(opt_bool(p, "rootless"), getuid(), getgid());
  _cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  _cleanup_free_ char *body = xasprintf("%s\n", text);
  return write_file_atomic(path, body, strlen(body), 0666 & ~(mode_t)022, err);
}

static int cmd_features(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  _cleanup_json_ json_t *j = rt_features();
  print_json(j, true);
  return 0;
}

static int cmd_unsupported(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  return berr_set(err, ENOTSUP, "checkpoint/restore is not supported by berth-runc");
}

/* update: -r FILE|- (a LinuxResources JSON; containerd sends it on stdin) or single flags. */
static const struct optdef update_defs[] = {
    {"resources", 'r', true},       {"blkio-weight", 0, true},     {"cpu-period", 0, true},
    {"cpu-quota", 0, true},         {"cpu-rt-period", 0, true},    {"cpu-rt-runtime", 0, true},
    {"cpu-share", 0, true},         {"cpu-shares", 0, true},       {"cpuset-cpus", 0, true},
    {"cpuset-mems", 0, true},       {"kernel-memory", 0, true},    {"kernel-memory-tcp", 0, true},
    {"memory", 0, true},            {"memory-reservation", 0, true}, {"memory-swap", 0, true},
    {"pids-limit", 0, true},        {"l3-cache-schema", 0, true},  {"mem-bw-schema", 0, true},
    {NULL, 0, false}};

/* flag -> (object, key, kind) in the LinuxResources JSON */
enum upd_kind { UPD_SIZE, UPD_INT, UPD_STR };
static const struct {
  const char *flag, *obj, *key;
  enum upd_kind kind;
} update_map[] = {
    {"blkio-weight", "blockIO", "weight", UPD_INT},   {"cpu-period", "cpu", "period", UPD_INT},
    {"cpu-quota", "cpu", "quota", UPD_INT},           {"cpu-rt-period", "cpu", "realtimePeriod", UPD_INT},
    {"cpu-rt-runtime", "cpu", "realtimeRuntime", UPD_INT}, {"cpu-share", "cpu", "shares", UPD_INT},
    {"cpu-shares", "cpu", "shares", UPD_INT},         {"cpuset-cpus", "cpu", "cpus", UPD_STR},
    {"cpuset-mems", "cpu", "mems", UPD_STR},          {"kernel-memory", "memory", "kernel", UPD_SIZE},
    {"kernel-memory-tcp", "memory", "kernelTCP", UPD_SIZE}, {"memory", "memory", "limit", UPD_SIZE},
    {"memory-reservation", "memory", "reservation", UPD_SIZE}, {"memory-swap", "memory", "swap", UPD_SIZE},
    {"pids-limit", "pids", "limit", UPD_INT},
};

static int update_from_flags(const struct parsed *p, json_t *doc, struct berr **err) {
  for (size_t i = 0; i < sizeof update_map / sizeof update_map[0]; i++) {
    const char *v = opt_str(p, update_map[i].flag);
    if (!v)
      continue;
    json_t *obj = json_object_get(doc, update_map[i].obj);
    if (!obj)
      json_object_set_new(doc, update_map[i].obj, obj = json_object());
    int64_t n = 0;
    int r = 0;
    if (update_map[i].kind == UPD_STR) {
      json_object_set_new(obj, update_map[i].key, json_string(v));
      continue;
    }
    r = update_map[i].kind == UPD_SIZE ? parse_size_bytes(v, &n) : parse_int64(v, &n);
    if (r < 0)
      return berr_set(err, EINVAL, "update: invalid value \"%s\" for --%s", v, update_map[i].flag);
    json_object_set_new(obj, update_map[i].key, json_integer(n));
  }
  if (opt_str(p, "l3-cache-schema") || opt_str(p, "mem-bw-schema"))
    return berr_set(err, ENOTSUP, "update: Intel RDT is not supported");
  return 0;
}

static int cmd_update(struct rt_context *ctx, struct parsed *p, int *status, struct berr **err) {
  const char *id = NULL;
  int r = need_id(p, "update", 1, &id, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *doc = NULL;
  const char *file = opt_str(p, "resources");
  if (file && strcmp(file, "-") == 0) {
    json_error_t je;
    doc = json_loadf(stdin, 0, &je);
    if (!doc)
      return berr_set(err, EINVAL, "update: resources from stdin: invalid JSON at line %d: %s", je.line, je.text);
  } else if (file) {
    if ((r = json_load_path(file, &doc, err)) < 0)
      return berr_wrap(err, "update: --resources");
  } else {
    doc = json_object();
    if ((r = update_from_flags(p, doc, err)) < 0)
      return r;
  }
  struct oci_resources *res = NULL;
  if ((r = oci_resources_parse(doc, file ? file : "update flags", &res, err)) < 0)
    return r;
  r = rt_update(ctx, id, res, err);
  oci_resources_free(res);
  return r;
}

struct command {
  const char *name;
  const struct optdef *defs;
  bool stop_at_first;
  int (*fn)(struct rt_context *, struct parsed *, int *, struct berr **);
  const char *usage;
};

static const struct command commands[] = {
    {"create", create_defs, false, cmd_create, "create a container"},
    {"run", create_defs, false, cmd_run, "create and start a container"},
    {"start", none_defs, false, cmd_start, "start a created container"},
    {"state", none_defs, false, cmd_state, "output the state of a container"},
    {"kill", kill_defs, false, cmd_kill, "send a signal to the container's init process"},
    {"delete", delete_defs, false, cmd_delete, "delete a container and its resources"},
    {"exec", exec_defs, true, cmd_exec, "execute a new process inside the container"},
    {"ps", ps_defs, true, cmd_ps, "list the processes running in a container"},
    {"pause", none_defs, false, cmd_pause, "suspend all processes in the container"},
    {"resume", none_defs, false, cmd_resume, "resume all paused processes"},
    {"update", update_defs, false, cmd_update, "update the container's resource limits"},
    {"spec", spec_defs, false, cmd_spec, "create a new specification file"},
    {"features", none_defs, false, cmd_features, "show the enabled features"},
    {"list", list_defs, false, cmd_list, "list containers started with the given root"},
    {"checkpoint", none_defs, true, cmd_unsupported, "(not supported)"},
    {"restore", none_defs, true, cmd_unsupported, "(not supported)"},
    {NULL, NULL, false, NULL, NULL}};

static void usage(FILE *f) {
  fprintf(f, "berth-runc: an OCI runtime with runc's command line\n\n"
             "usage: berth-runc [global options] command [command options] [arguments...]\n\ncommands:\n");
  for (const struct command *c = commands; c->name; c++)
    fprintf(f, "  %-11s %s\n", c->name, c->usage);
  fprintf(f, "\nglobal options:\n  --root DIR         state directory (default %s)\n"
             "  --log FILE         log file\n  --log-format F     text or json\n  --debug\n"
             "  --systemd-cgroup   (refused: the systemd cgroup driver is not supported)\n"
             "  --version, -v\n",
          RT_DEFAULT_ROOT);
}

static const struct optdef global_defs[] = {
    {"root", 0, true},     {"log", 0, true},         {"log-format", 0, true}, {"debug", 0, false},
    {"systemd-cgroup", 0, false}, {"criu", 0, true}, {"rootless", 0, true},   {"help", 'h', false},
    {"version", 'v', false}, {NULL, 0, false}};

static int setup_global(struct parsed *g, struct rt_context *ctx, struct berr **err) {
  const char *fmt = opt_str(g, "log-format");
  enum log_format lf = LOG_TEXT;
  if (fmt && strcmp(fmt, "json") == 0)
    lf = LOG_JSON;
  else if (fmt && strcmp(fmt, "text") != 0)
    return berr_set(err, EINVAL, "unknown log-format \"%s\" (text or json)", fmt);
  ctx->debug = opt_bool(g, "debug");
  int r = log_open(opt_str(g, "log"), lf, ctx->debug ? LOG_DEBUG : LOG_WARN, err);
  if (r < 0)
    return r;
  if (opt_bool(g, "systemd-cgroup"))
    return berr_set(err, ENOTSUP, "--systemd-cgroup: the systemd cgroup driver is not supported; use cgroupfs");
  ctx->root = opt_str(g, "root") ? opt_str(g, "root") : RT_DEFAULT_ROOT;
  return 0;
}

/* Split argv into global flags, the command, and the command's arguments. */
static int split_global(int argc, char **argv, int *cmd_at) {
  int i = 1;
  while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
    const char *name = argv[i] + 1 + (argv[i][1] == '-');
    size_t len = strcspn(name, "=");
    int d = find_def(global_defs, name, len, 0);
    if (d < 0 && len == 1)
      d = find_def(global_defs, name, 1, name[0]);
    i += (d >= 0 && global_defs[d].arg && !strchr(name, '=')) ? 2 : 1;
  }
  *cmd_at = i;
  return 0;
}

int cli_main(int argc, char **argv) {
  struct rt_context ctx = {.root = RT_DEFAULT_ROOT};
  _cleanup_berr_ struct berr *err = NULL;
  struct parsed g = {0}, p = {0};
  int cmd_at, status = 0, r;
  split_global(argc, argv, &cmd_at);
  r = parse_args(cmd_at - 1, argv + 1, global_defs, false, &g, "berth-runc", &err);
  if (r == 0 && opt_bool(&g, "version")) {
    printf("berth-runc version %s\nspec: %s\n", BERTH_VERSION, OCI_VERSION);
    goto out;
  }
  if (r == 0 && (opt_bool(&g, "help") || cmd_at >= argc)) {
    usage(cmd_at >= argc && !opt_bool(&g, "help") ? stderr : stdout);
    status = cmd_at >= argc && !opt_bool(&g, "help") ? 1 : 0;
    goto out;
  }
  if (r == 0)
    r = setup_global(&g, &ctx, &err);
  const struct command *c = commands;
  while (r == 0 && c->name && strcmp(c->name, argv[cmd_at]) != 0)
    c++;
  if (r == 0 && !c->name)
    r = berr_set(&err, EINVAL, "unknown command \"%s\" (see berth-runc --help)", argv[cmd_at]);
  if (r == 0 && cmd_at + 1 < argc && (strcmp(argv[cmd_at + 1], "--help") == 0 || strcmp(argv[cmd_at + 1], "-h") == 0)) {
    printf("usage: berth-runc %s [options] <container-id>  — %s\noptions:\n", c->name, c->usage);
    for (const struct optdef *d = c->defs; d->name; d++)
      printf("  --%s%s%s\n", d->name, d->arg ? " value" : "", d->short_ ? (char[]){',', ' ', '-', d->short_, 0} : "");
    goto out;
  }
  if (r == 0)
    r = parse_args(argc - cmd_at - 1, argv + cmd_at + 1, c->defs, c->stop_at_first, &p, c->name, &err);
  log_debug("berth-runc %s", c->name ? c->name : "");
  if (r == 0)
    r = c->fn(&ctx, &p, &status, &err);
  log_debug("berth-runc %s: done", c->name ? c->name : "");
out:
  if (r < 0) {
    const char *msg = err ? err->msg : "unknown error";
    if (log_is_file())
      log_error("%s", msg);
    fprintf(stderr, "berth-runc: %s\n", msg);
    status = status > 0 ? status : 1;
  }
  parsed_free(&g);
  parsed_free(&p);
  log_close();
  return status;
}
