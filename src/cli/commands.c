/*
 * commands.c — the berth command: global options (-H, --tls*, -D, -v), the
 * daemon address from DOCKER_HOST / BERTH_HOST, the command table with
 * docker's management-command aliases (container ls, image rm, system df,
 * ...), and the output helpers every command shares (tables through
 * template.h, inspect's indented JSON, docker's usage and error texts).
 *
 * Exit codes follow the docker CLI: 0 ok, 1 a daemon / runtime error, 125 a
 * flag error (and run/create's own failures), the container's status for
 * run/start -a/wait.
 */
#include <errno.h>

#include "cli/cli.h"
#include "cli/template.h"

struct command {
  const char *name;   /* "ps" or "container ls" */
  const char *usage;  /* after "berth " */
  const char *desc;
  cmd_fn fn;
};

static const struct command commands[] = {
    {"run", "run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image", cmd_run},
    {"create", "create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", cmd_create},
    {"start", "start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", cmd_start},
    {"stop", "stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", cmd_stop},
    {"kill", "kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", cmd_kill},
    {"restart", "restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", cmd_restart},
    {"pause", "pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", cmd_pause},
    {"unpause", "unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", cmd_unpause},
    {"wait", "wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", cmd_wait},
    {"rm", "rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", cmd_rm},
    {"rename", "rename CONTAINER NEW_NAME", "Rename a container", cmd_rename},
    {"attach", "attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", cmd_attach},
    {"logs", "logs [OPTIONS] CONTAINER", "Fetch the logs of a container", cmd_logs},
    {"exec", "exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", cmd_exec},
    {"ps", "ps [OPTIONS]", "List containers", cmd_ps},
    {"inspect", "inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Docker objects", cmd_inspect},
    {"top", "top CONTAINER [ps OPTIONS]", "Display the running processes of a container", cmd_top},
    {"stats", "stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", cmd_stats},
    {"diff", "diff CONTAINER", "Inspect changes to files or directories on a container's filesystem", cmd_diff},
    {"cp", "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH", "Copy files/folders between a container and the local filesystem", cmd_cp},
    {"port", "port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", cmd_port},
    {"update", "update [OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers", cmd_update},
    {"events", "events [OPTIONS]", "Get real time events from the server", cmd_events},
    {"version", "version [OPTIONS]", "Show the Docker version information", cmd_version},
    {"info", "info [OPTIONS]", "Display system-wide information", cmd_info},
    {"images", "images [OPTIONS] [REPOSITORY[:TAG]]", "List images", cmd_images},
    {"rmi", "rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", cmd_rmi},
    {"tag", "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", cmd_tag},
    {"history", "history [OPTIONS] IMAGE", "Show the history of an image", cmd_history},
    {"load", "load [OPTIONS]", "Load an image from a tar archive or STDIN", cmd_load},
    {"save", "save [OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", cmd_save},
    {"import", "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image", cmd_import},
    {"commit", "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", cmd_commit},
    {"export", "export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", cmd_export},
    {"pull", "pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", cmd_pull},
    {"push", "push [OPTIONS] NAME[:TAG]", "Upload an image to a registry", cmd_push},
    {"login", "login [OPTIONS] [SERVER]", "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.", cmd_login},
    {"logout", "logout [SERVER]", "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.", cmd_logout},
    /* management commands */
    {"container run", "container run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image", cmd_run},
    {"container create", "container create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", cmd_create},
    {"container start", "container start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", cmd_start},
    {"container stop", "container stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", cmd_stop},
    {"container kill", "container kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", cmd_kill},
    {"container restart", "container restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", cmd_restart},
    {"container pause", "container pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", cmd_pause},
    {"container unpause", "container unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", cmd_unpause},
    {"container wait", "container wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", cmd_wait},
    {"container rm", "container rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", cmd_rm},
    {"container remove", "container rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", cmd_rm},
    {"container rename", "container rename CONTAINER NEW_NAME", "Rename a container", cmd_rename},
    {"container attach", "container attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", cmd_attach},
    {"container logs", "container logs [OPTIONS] CONTAINER", "Fetch the logs of a container", cmd_logs},
    {"container exec", "container exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", cmd_exec},
    {"container ls", "container ls [OPTIONS]", "List containers", cmd_ps},
    {"container list", "container ls [OPTIONS]", "List containers", cmd_ps},
    {"container ps", "container ls [OPTIONS]", "List containers", cmd_ps},
    {"container inspect", "container inspect [OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers", cmd_container_inspect},
    {"container top", "container top CONTAINER [ps OPTIONS]", "Display the running processes of a container", cmd_top},
    {"container stats", "container stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", cmd_stats},
    {"container diff", "container diff CONTAINER", "Inspect changes to files or directories on a container's filesystem", cmd_diff},
    {"container cp", "container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-", "Copy files/folders between a container and the local filesystem", cmd_cp},
    {"container port", "container port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", cmd_port},
    {"container update", "container update [OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers", cmd_update},
    {"container prune", "container prune [OPTIONS]", "Remove all stopped containers", cmd_container_prune},
    {"image ls", "image ls [OPTIONS] [REPOSITORY[:TAG]]", "List images", cmd_images},
    {"image list", "image ls [OPTIONS] [REPOSITORY[:TAG]]", "List images", cmd_images},
    {"image rm", "image rm [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", cmd_rmi},
    {"image remove", "image rm [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", cmd_rmi},
    {"image tag", "image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", cmd_tag},
    {"image inspect", "image inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images", cmd_image_inspect},
    {"image history", "image history [OPTIONS] IMAGE", "Show the history of an image", cmd_history},
    {"image load", "image load [OPTIONS]", "Load an image from a tar archive or STDIN", cmd_load},
    {"image save", "image save [OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", cmd_save},
    {"image import", "image import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image", cmd_import},
    {"container commit", "container commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", cmd_commit},
    {"container export", "container export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", cmd_export},
    {"image prune", "image prune [OPTIONS]", "Remove unused images", cmd_image_prune},
    {"image pull", "image pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", cmd_pull},
    {"image push", "image push [OPTIONS] NAME[:TAG]", "Upload an image to a registry", cmd_push},
    {"volume create", "volume create [OPTIONS] [VOLUME]", "Create a volume", cmd_volume_create},
    {"volume ls", "volume ls [OPTIONS]", "List volumes", cmd_volume_ls},
    {"volume list", "volume ls [OPTIONS]", "List volumes", cmd_volume_ls},
    {"volume inspect", "volume inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", cmd_volume_inspect},
    {"volume rm", "volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", cmd_volume_rm},
    {"volume remove", "volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", cmd_volume_rm},
    {"volume prune", "volume prune [OPTIONS]", "Remove unused local volumes", cmd_volume_prune},
    {"network create", "network create [OPTIONS] NETWORK", "Create a network", cmd_network_create},
    {"network ls", "network ls [OPTIONS]", "List networks", cmd_network_ls},
    {"network list", "network ls [OPTIONS]", "List networks", cmd_network_ls},
    {"network inspect", "network inspect [OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks", cmd_network_inspect},
    {"network rm", "network rm NETWORK [NETWORK...]", "Remove one or more networks", cmd_network_rm},
    {"network remove", "network rm NETWORK [NETWORK...]", "Remove one or more networks", cmd_network_rm},
    {"network prune", "network prune [OPTIONS]", "Remove all unused networks", cmd_network_prune},
    {"network connect", "network connect [OPTIONS] NETWORK CONTAINER", "Connect a container to a network", cmd_network_connect},
    {"network disconnect", "network disconnect [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", cmd_network_disconnect},
    {"system df", "system df [OPTIONS]", "Show docker disk usage", cmd_system_df},
    {"system prune", "system prune [OPTIONS]", "Remove unused data", cmd_system_prune},
    {"system info", "system info [OPTIONS]", "Display system-wide information", cmd_info},
    {"system events", "system events [OPTIONS]", "Get real time events from the server", cmd_events},
    {"build", "build [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", cmd_build},
    {"image build", "image build [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", cmd_build},
    {"builder build", "builder build [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", cmd_build},
    {"builder prune", "builder prune", "Remove build cache", cmd_builder_prune},
    {NULL, NULL, NULL, NULL},
};

static const char *const groups[] = {"builder", "container", "image", "network", "system", "volume", NULL};

void cmd_print_err(struct berr *err) {
  fprintf(stderr, "%s\n", err && err->msg ? err->msg : "unknown error");
}

int cmd_parse(struct cmd_ctx *ctx, const struct flag *flags, int argc, char **argv,
              bool interspersed, char ***args) {
  _cleanup_berr_ struct berr *err = NULL;
  bool help = false;
  if (flags_parse(flags, argc, argv, interspersed, args, &help, &err) < 0) {
    /* docker 28: "unknown flag: --x\n\nUsage:  docker run ...\n\nRun 'docker run --help' ..." */
    fprintf(stderr, "%s\n\nUsage:  %s\n\nRun 'berth %s --help' for more information\n", err->msg,
            ctx->usage, ctx->name);
    return 125;
  }
  if (help) {
    printf("\nUsage:  %s\n\n", ctx->usage);
    for (const struct command *c = commands; c->name; c++)
      if (!strcmp(c->name, ctx->name)) {
        printf("%s\n\n", c->desc);
        break;
      }
    if (flags[0].name) {
      printf("Options:\n");
      flags_help(stdout, flags);
    }
    free(*args);
    *args = NULL;
    return 1000;
  }
  return 0;
}

int cmd_need_args(struct cmd_ctx *ctx, char **args, size_t min, size_t max) {
  size_t n = strv_len(args);
  if (n >= min && n <= max)
    return 0;
  /* docker 28's cli.NoArgs / ExactArgs / RequiresRangeArgs / RequiresMinArgs /
   * RequiresMaxArgs texts; only the min-args one says "See" instead of "Run" */
  const char *how = "Run";
  if (max == 0)
    fprintf(stderr, "berth: 'berth %s' accepts no arguments\n", ctx->name);
  else if (min == max)
    fprintf(stderr, "berth: 'berth %s' requires %zu argument%s\n", ctx->name, min, min == 1 ? "" : "s");
  else if (max != SIZE_MAX && min > 0)
    fprintf(stderr, "berth: 'berth %s' requires at least %zu and at most %zu argument%s\n",
            ctx->name, min, max, max == 1 ? "" : "s");
  else if (n < min) {
    fprintf(stderr, "berth: 'berth %s' requires at least %zu argument%s\n", ctx->name, min,
            min == 1 ? "" : "s");
    how = "See";
  } else
    fprintf(stderr, "berth: 'berth %s' requires at most %zu argument%s\n", ctx->name, max,
            max == 1 ? "" : "s");
  fprintf(stderr, "\nUsage:  %s\n\n%s 'berth %s --help' for more information\n", ctx->usage,
          how, ctx->name);
  return 1;
}

void cli_print_json_indent(const json_t *j) {
  char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  if (s) {
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
  }
}

int cli_print_inspect(const char *format, json_t *items, struct berr **err) {
  if (!format || !*format) {
    cli_print_json_indent(items);
    return 0;
  }
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it) {
    if (!strcmp(format, "json")) {
      _cleanup_free_ char *s = json_dumps(it, JSON_COMPACT | JSON_PRESERVE_ORDER);
      printf("%s\n", s);
      continue;
    }
    _cleanup_json_ json_t *one = json_pack("[O]", it);
    int r = cli_print_rows(format, format, one, NULL, err);
    if (r < 0)
      return r;
  }
  return 0;
}

int cli_inspect_each(struct cmd_ctx *ctx, char **names, const char *format,
                     char *(*path_of)(const char *name, const char *suffix)) {
  _cleanup_json_ json_t *items = json_array();
  _cleanup_sb_ struct sb errs = {0};
  for (char **a = names; *a; a++) {
    _cleanup_free_ char *p = path_of(*a, "");
    _cleanup_json_ json_t *j = NULL;
    _cleanup_berr_ struct berr *err = NULL;
    if (cli_call(ctx->cli, "GET", p, NULL, &j, NULL, &err) < 0) {
      sb_addf(&errs, "%s\n", err->msg);
      continue;
    }
    json_array_append(items, j);
  }
  _cleanup_berr_ struct berr *err = NULL;
  if (cli_print_inspect(format, items, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  if (errs.len) {
    fputs(errs.s, stderr);
    return 1;
  }
  return 0;
}

int cli_print_rows(const char *format, const char *deftable, json_t *rows,
                   const char *(*headers)(const char *field), struct berr **err) {
  const char *fmt = format && *format ? format : deftable;
  const char *body = NULL;
  bool table = false;
  if (!strcmp(fmt, "table"))
    fmt = deftable;
  if (!strcmp(fmt, "json") || !strcmp(fmt, "{{json .}}")) {
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
      /* docker marshals the row struct: sorted keys, no method-only fields */
      _cleanup_json_ json_t *copy = json_copy(row);
      json_object_del(copy, "Label");
      _cleanup_free_ char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
      printf("%s\n", s);
    }
    return 0;
  }
  table = tmpl_table_prefix(fmt, &body);
  if (!table)
    body = fmt;
  /* Docker un-escapes \t and \n written literally in --format */
  struct sb text = {0};
  for (const char *p = body; *p; p++) {
    if (p[0] == '\\' && p[1] == 't') {
      sb_add(&text, "\t");
      p++;
    } else if (p[0] == '\\' && p[1] == 'n') {
      sb_add(&text, "\n");
      p++;
    } else {
      sb_addn(&text, p, 1);
    }
  }
  _cleanup_free_ char *tpl_text = sb_steal(&text);
  struct tmpl *t = NULL;
  int r = tmpl_parse(tpl_text, &t, err);
  if (r < 0)
    return r;
  struct tabwriter *tw = table ? tabwriter_new(10, 1, 3) : NULL;
  if (table) {
    _cleanup_free_ char *h = tmpl_header_line(tpl_text, headers);
    tabwriter_write(tw, h);
    tabwriter_write(tw, "\n");
  }
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    _cleanup_free_ char *out = NULL;
    if ((r = tmpl_exec(t, row, &out, err)) < 0)
      break;
    if (tw) {
      tabwriter_write(tw, out);
      tabwriter_write(tw, "\n");
    } else {
      printf("%s\n", out);
    }
  }
  if (tw) {
    _cleanup_free_ char *all = tabwriter_flush(tw);
    fputs(all, stdout);
    tabwriter_free(tw);
  }
  tmpl_free(t);
  return r;
}

static void usage(FILE *out) {
  fprintf(out,
          "\nUsage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\n"
          "Common Commands:\n");
  for (const struct command *c = commands; c->name && !strchr(c->name, ' '); c++)
    fprintf(out, "  %-11s %s\n", c->name, c->desc);
  fprintf(out, "\nManagement Commands:\n  builder     Manage builds\n  container   Manage containers\n  image       Manage images\n"
               "  network     Manage networks\n  system      Manage Docker\n  volume      Manage volumes\n\nGlobal Options:\n"
               "  -D, --debug              Enable debug mode\n"
               "  -H, --host string        Daemon socket to connect to\n"
               "      --tls                Use TLS; implied by --tlsverify\n"
               "      --tlscacert string   Trust certs signed only by this CA\n"
               "      --tlscert string     Path to TLS certificate file\n"
               "      --tlskey string      Path to TLS key file\n"
               "      --tlsverify          Use TLS and verify the remote\n"
               "  -v, --version            Print version information and quit\n"
               "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

static void group_usage(const char *g) {
  printf("\nUsage:  berth %s COMMAND\n\nManage %ss\n\nCommands:\n", g, g);
  size_t gl = strlen(g);
  for (const struct command *c = commands; c->name; c++)
    if (!strncmp(c->name, g, gl) && c->name[gl] == ' ')
      printf("  %-10s %s\n", c->name + gl + 1, c->desc);
  printf("\nRun 'berth %s COMMAND --help' for more information on a command.\n", g);
}

/* Global options come before the command. Returns the index of the command or -exit. */
static int global_opts(struct cli *cli, int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (a[0] != '-')
      break;
#define VAL(n)                                                                   \
  (!strncmp(a, n "=", strlen(n) + 1) ? (v = a + strlen(n) + 1)                   \
   : !strcmp(a, n) && i + 1 < argc   ? (v = argv[++i])                           \
                                     : NULL)
    if (VAL("-H") || VAL("--host")) {
      free(cli->host);
      cli->host = xstrdup(v);
    } else if (!strcmp(a, "--tls")) {
      cli->tls = true;
    } else if (!strcmp(a, "--tlsverify")) {
      cli->tlsverify = true;
    } else if (VAL("--tlscacert")) {
      free(cli->tlscacert);
      cli->tlscacert = xstrdup(v);
    } else if (VAL("--tlscert")) {
      free(cli->tlscert);
      cli->tlscert = xstrdup(v);
    } else if (VAL("--tlskey")) {
      free(cli->tlskey);
      cli->tlskey = xstrdup(v);
    } else if (!strcmp(a, "-D") || !strcmp(a, "--debug")) {
      cli->debug = true;
    } else if (VAL("-l") || VAL("--log-level") || VAL("--config") || VAL("-c") || VAL("--context")) {
      /* accepted for compatibility */
    } else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
      printf("berth version %s\n", BERTH_VERSION);
      return -1000;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return -1000;
    } else {
      fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
      return -125;
    }
#undef VAL
  }
  return i;
}

static void env_opts(struct cli *cli) {
  const char *h = getenv("BERTH_HOST");
  if (!h || !*h)
    h = getenv("DOCKER_HOST");
  if (h && *h)
    cli->host = xstrdup(h);
  const char *v = getenv("DOCKER_TLS_VERIFY");
  if (v && *v)
    cli->tlsverify = true;
  const char *cp = getenv("DOCKER_CERT_PATH");
  if (cp && *cp) {
    cli->tlscacert = xasprintf("%s/ca.pem", cp);
    cli->tlscert = xasprintf("%s/cert.pem", cp);
    cli->tlskey = xasprintf("%s/key.pem", cp);
  }
}

int cli_main(int argc, char **argv) {
  struct cli cli;
  char *usage_line = NULL;
  cli_init(&cli);
  env_opts(&cli);
  int i = global_opts(&cli, argc, argv);
  int rc;
  if (i < 0) {
    rc = i == -1000 ? 0 : -i;
    goto out;
  }
  if (i >= argc) {
    usage(stdout);
    rc = 0;
    goto out;
  }
  /* "container ls" style: the group and its sub-command */
  char name[64];
  int used = 1;
  snprintf(name, sizeof(name), "%s", argv[i]);
  for (const char *const *g = groups; *g; g++) {
    if (strcmp(argv[i], *g))
      continue;
    if (i + 1 >= argc || argv[i + 1][0] == '-') {
      group_usage(*g);
      rc = 0;
      goto out;
    }
    snprintf(name, sizeof(name), "%s %s", argv[i], argv[i + 1]);
    used = 2;
  }
  const struct command *cmd = NULL;
  for (const struct command *c = commands; c->name; c++)
    if (!strcmp(c->name, name)) {
      cmd = c;
      break;
    }
  if (!cmd) {
    if (used == 2)
      fprintf(stderr, "berth: unknown command: berth %s\n\nRun 'berth %s --help' for more information\n",
              name, argv[i]);
    else
      fprintf(stderr, "berth: unknown command: berth %s\n\nRun 'berth --help' for more information\n",
              name);
    rc = 1;
    goto out;
  }
  usage_line = xasprintf("berth %s", cmd->usage);
  struct cmd_ctx ctx = {.cli = &cli, .name = name, .usage = usage_line};
  rc = cmd->fn(&ctx, argc - i - used, argv + i + used);
  if (rc == 1000)
    rc = 0;
out:
  free(usage_line);
  fflush(stdout);
  cli_fini(&cli);
  return rc;
}

int cli_prune(struct cmd_ctx *ctx, const char *warning, bool force, char **filters, const char *endpoint,
              const char *key, const char *title, bool space) {
  if (!force && !cli_confirm(warning))
    return 0;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *fj = NULL;
  if (cli_filters_json(filters, &fj, &err) < 0) {
    cmd_print_err(err);
    return 125;
  }
  _cleanup_sb_ struct sb p = {0};
  sb_add(&p, endpoint);
  if (fj)
    sb_query(&p, "filters", fj);
  _cleanup_json_ json_t *r = NULL;
  if (cli_call(ctx->cli, "POST", p.s, NULL, &r, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  json_t *del = json_object_get(r, key);
  if (json_array_size(del)) {
    printf("%s:\n", title);
    size_t i;
    json_t *d;
    json_array_foreach(del, i, d) printf("%s\n", json_string_value(d));
    printf("\n");
  }
  if (space) {
    _cleanup_free_ char *sz = fmt_human_size((double)json_integer_value(json_object_get(r, "SpaceReclaimed")), 3);
    printf("Total reclaimed space: %s\n", sz);
  }
  return 0;
}
