/*
 * cmd_registry.c — the berth CLI's registry commands: pull, push, login,
 * logout (and `image pull` / `image push`), with the docker CLI 28's flags,
 * messages and exit codes.
 *
 * pull/push send POST /images/create and /images/{name}/push with the
 * X-Registry-Auth header of the image's registry (credentials.c) and render
 * the daemon's JSON progress stream (progress.c) on stdout. login checks
 * credentials with POST /auth and stores them in config.json; logout removes
 * them. References are split the way docker's reference package does
 * (docker.io/library/ for bare names) only as far as the CLI needs: the
 * familiar name for the API, the full name for the final line.
 */
#include <errno.h>
#include <termios.h>

#include "cli/cli.h"

#define INDEX_SERVER "https://index.docker.io/v1/"

/* ---------- references ---------- */

struct ref {
  char *domain;  /* "docker.io" or host[:port] */
  char *path;    /* "library/busybox" */
  char *tag;     /* NULL when absent */
  char *digest;  /* "sha256:..." or NULL */
};

static void ref_free(struct ref *r) {
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
}
#define _cleanup_ref_ __attribute__((cleanup(ref_free)))

static bool path_chars_ok(const char *p) {
  if (!*p || *p == '/' || p[strlen(p) - 1] == '/')
    return false;
  for (; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("._-/", *p)))
      return false;
  return true;
}

static bool tag_ok(const char *t) {
  size_t n = strlen(t);
  if (!n || n > 128 || *t == '.' || *t == '-')
    return false;
  return strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* reference.ParseNormalizedNamed, with its error texts. */
static int ref_parse(const char *s, struct ref *r, struct berr **err) {
  memset(r, 0, sizeof(*r));
  _cleanup_free_ char *name = xstrdup(s);
  char *at = strchr(name, '@');
  if (at) {
    *at = 0;
    r->digest = xstrdup(at + 1);
    if (!str_has_prefix(r->digest, "sha256:") || strlen(r->digest) != 71)
      return berr_set(err, EINVAL, "invalid reference format");
  }
  char *slash = strrchr(name, '/');
  char *colon = strrchr(slash ? slash : name, ':');
  if (colon) {
    *colon = 0;
    r->tag = xstrdup(colon + 1);
    if (!tag_ok(r->tag))
      return berr_set(err, EINVAL, "invalid reference format");
  }
  char *first = strchr(name, '/');
  if (first) {
    *first = 0;
    if (strchr(name, '.') || strchr(name, ':') || !strcmp(name, "localhost")) {
      r->domain = xstrdup(name);
      r->path = xstrdup(first + 1);
    } else {
      *first = '/';
    }
  }
  if (!r->domain) {
    r->domain = xstrdup("docker.io");
    r->path = strchr(name, '/') ? xstrdup(name) : xasprintf("library/%s", name);
  }
  if (!strcmp(r->domain, "index.docker.io")) {
    free(r->domain);
    r->domain = xstrdup("docker.io");
  }
  if (!path_chars_ok(r->path))
    return berr_set(err, EINVAL, "invalid reference format");
  for (const char *p = r->path; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      return berr_set(err, EINVAL, "invalid reference format: repository name (%s) must be lowercase",
                      r->path);
  return 0;
}

/* FamiliarName: "busybox", "user/app", "127.0.0.1:5000/busybox". */
static char *ref_familiar(const struct ref *r) {
  if (!strcmp(r->domain, "docker.io"))
    return xstrdup(str_has_prefix(r->path, "library/") && !strchr(r->path + 8, '/') ? r->path + 8
                                                                                       : r->path);
  return xasprintf("%s/%s", r->domain, r->path);
}

/* ref.String(): "docker.io/library/busybox:latest". */
static char *ref_string(const struct ref *r) {
  return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                   r->digest ? "@" : "", r->digest ? r->digest : "");
}

/* ---------- pull / push ---------- */

static int print_fail(struct berr *err) {
  cmd_print_err(err);
  return 1;
}

/* Render the stream of a started request and close it. */
static int show_stream(struct http_resp *resp, bool quiet, struct berr **err) {
  int r = progress_display(resp, quiet ? NULL : stdout, isatty(STDOUT_FILENO), NULL, err);
  resp_free(resp);
  return r;
}

int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, quiet = false, no_trust = true;
  const char *platform = NULL;
  const struct flag flags[] = {
      {"all-tags", 'a', FLAG_BOOL, &all, "Download all tagged images in the repository", NULL},
      {"disable-content-trust", 0, FLAG_BOOL, &no_trust, "Skip image verification (default true)", NULL},
      {"platform", 0, FLAG_STR, &platform, "Set platform if server is multi-platform capable", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress verbose output", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_ref_ struct ref ref;
  if (ref_parse(args[0], &ref, &err) < 0)
    return print_fail(err);
  if (all && (ref.tag || ref.digest)) {
    fprintf(stderr, "tag can't be used with --all-tags/-a\n");
    return 1;
  }
  if (!all && !ref.tag && !ref.digest) {
    ref.tag = xstrdup("latest");
    if (!quiet)
      printf("Using default tag: latest\n");
  }
  _cleanup_free_ char *name = ref_familiar(&ref);
  _cleanup_sb_ struct sb p = {0};
  sb_add(&p, "/images/create");
  sb_query(&p, "fromImage", name);
  /* docker's getAPITagFromNamedRef: the digest travels as the tag */
  if (!all)
    sb_query(&p, "tag", ref.digest ? ref.digest : ref.tag);
  if (platform && *platform)
    sb_query(&p, "platform", platform);
  _cleanup_free_ char *hdr = cred_header_for_ref(name);
  struct http_resp resp;
  if (cli_stream_headers(ctx->cli, "POST", p.s, NULL, NULL, 0, hdr, &resp, &err) < 0)
    return print_fail(err);
  fflush(stdout);
  if (show_stream(&resp, quiet, &err) < 0)
    return print_fail(err);
  _cleanup_free_ char *full = ref_string(&ref);
  printf("%s\n", full);
  return 0;
}

int cmd_push(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, quiet = false, no_trust = true;
  const struct flag flags[] = {
      {"all-tags", 'a', FLAG_BOOL, &all, "Push all tags of an image to the repository", NULL},
      {"disable-content-trust", 0, FLAG_BOOL, &no_trust, "Skip image signing (default true)", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress verbose output", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_ref_ struct ref ref;
  if (ref_parse(args[0], &ref, &err) < 0)
    return print_fail(err);
  if (ref.digest) {
    fprintf(stderr, "cannot push a digest reference\n");
    return 1;
  }
  if (all && ref.tag) {
    fprintf(stderr, "tag can't be used with --all-tags/-a\n");
    return 1;
  }
  if (!all && !ref.tag) {
    ref.tag = xstrdup("latest");
    if (!quiet)
      printf("Using default tag: latest\n");
  }
  _cleanup_free_ char *name = ref_familiar(&ref);
  _cleanup_sb_ struct sb p = {0};
  sb_addf(&p, "/images/%s/push", name);
  if (!all)
    sb_query(&p, "tag", ref.tag);
  _cleanup_free_ char *hdr = cred_header_for_ref(name);
  struct http_resp resp;
  if (cli_stream_headers(ctx->cli, "POST", p.s, NULL, NULL, 0, hdr, &resp, &err) < 0)
    return print_fail(err);
  fflush(stdout);
  if (show_stream(&resp, quiet, &err) < 0)
    return print_fail(err);
  if (quiet) {
    _cleanup_free_ char *full = ref_string(&ref);
    printf("%s\n", full);
  }
  return 0;
}

/* ---------- login / logout ---------- */

/* Read one line from the terminal, echo off for secrets. Caller frees. */
static char *prompt_line(const char *prompt, bool secret) {
  fputs(prompt, stderr);
  fflush(stderr);
  struct termios saved, t;
  bool restore = secret && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    t = saved;
    t.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (restore) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    fputs("\n", stderr);
  }
  if (n < 0) {
    free(line);
    return xstrdup("");
  }
  line[strcspn(line, "\r\n")] = 0;
  return line;
}

/* --password-stdin: all of stdin, without the trailing newline (docker trims \n then \r). */
static char *read_stdin_all(void) {
  struct sb b = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
    sb_addn(&b, buf, n);
  char *s = sb_steal(&b);
  size_t len = strlen(s);
  if (len && s[len - 1] == '\n')
    s[--len] = 0;
  if (len && s[len - 1] == '\r')
    s[--len] = 0;
  return s;
}

/* POST /auth; *status gets the daemon's Status ("Login Succeeded"). */
static int auth_check(struct cli *cli, const char *user, const char *pass, const char *idtoken,
                      const char *server, char **status, char **token, struct berr **err) {
  _cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:s}", "username", user, "password", pass,
                                          "serveraddress", server);
  if (idtoken && *idtoken)
    json_object_set_new(body, "identitytoken", json_string(idtoken));
  _cleanup_json_ json_t *out = NULL;
  int r = cli_call(cli, "POST", "/auth", body, &out, NULL, err);
  if (r < 0)
    return r;
  const char *st = json_string_value(json_object_get(out, "Status"));
  const char *it = json_string_value(json_object_get(out, "IdentityToken"));
  *status = xstrdup(st && *st ? st : "Login Succeeded");
  *token = it && *it ? xstrdup(it) : NULL;
  return 0;
}

struct login_opts {
  const char *user, *password, *server;
  bool password_stdin;
};

/* The user/password to try: flags, stdin, else prompts (terminal only). */
static int login_prompt(struct login_opts *o, char **user, char **pass, struct berr **err) {
  *user = o->user ? xstrdup(o->user) : NULL;
  *pass = o->password ? xstrdup(o->password) : NULL;
  if (*user && *pass)
    return 0;
  if (!isatty(STDIN_FILENO))
    return berr_set(err, EINVAL, "Error: Cannot perform an interactive login from a non TTY device");
  if (!*user)
    *user = prompt_line("Username: ", false);
  if (!**user)
    return berr_set(err, EINVAL, "Error: Non-null Username Required");
  if (!*pass)
    *pass = prompt_line("Password: ", true);
  if (!**pass)
    return berr_set(err, EINVAL, "Error: Password Required");
  return 0;
}

int cmd_login(struct cmd_ctx *ctx, int argc, char **argv) {
  struct login_opts o = {0};
  const struct flag flags[] = {
      {"password", 'p', FLAG_STR, &o.password, "Password or Personal Access Token (PAT)", NULL},
      {"password-stdin", 0, FLAG_BOOL, &o.password_stdin, "Take the Password or Personal Access Token (PAT) from stdin", NULL},
      {"username", 'u', FLAG_STR, &o.user, "Username", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 1)))
    return rc;
  _cleanup_free_ char *stdin_pw = NULL;
  if (o.password) {
    fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    if (o.password_stdin) {
      fprintf(stderr, "conflicting options: cannot specify both --password and --password-stdin\n");
      return 1;
    }
  }
  if (o.password_stdin) {
    if (!o.user || !*o.user) {
      fprintf(stderr, "the --password-stdin option requires --username to be set\n");
      return 1;
    }
    o.password = stdin_pw = read_stdin_all();
  }
  _cleanup_free_ char *key = cred_server_key(args[0]);
  _cleanup_free_ char *path = cred_config_path();
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *status = NULL, *token = NULL;
  /* no flags: try the stored credentials first, as docker does */
  if (!o.user && !o.password) {
    struct cred c;
    bool found = false;
    if (cred_get(path, key, &c, &found, &err) < 0)
      return print_fail(err);
    if (found && c.username && *c.username && ((c.password && *c.password) || c.identitytoken)) {
      fprintf(stderr, "Authenticating with existing credentials... [Username: %s]\n\n"
                      " Info -> To login with a different account, run 'docker logout' followed by 'docker login'\n\n\n",
              c.username);
      int r = auth_check(ctx->cli, c.username, c.password ? c.password : "", c.identitytoken, key,
                         &status, &token, &err);
      cred_free(&c);
      if (r == 0) {
        printf("%s\n", status);
        return 0;
      }
      berr_free(steal_ptr(err));
    } else {
      cred_free(&c);
    }
  }
  _cleanup_free_ char *user = NULL, *pass = NULL;
  if (login_prompt(&o, &user, &pass, &err) < 0 ||
      auth_check(ctx->cli, user, pass, NULL, key, &status, &token, &err) < 0 ||
      cred_store(path, key, user, pass, token, &err) < 0)
    return print_fail(err);
  fprintf(stderr, "\nWARNING! Your credentials are stored unencrypted in '%s'.\n"
                  "Configure a credential helper to remove this warning. See\n"
                  "https://docs.docker.com/go/credential-store/\n\n",
          path);
  printf("%s\n", status);
  return 0;
}

int cmd_logout(struct cmd_ctx *ctx, int argc, char **argv) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 1)))
    return rc;
  /* docker logout: the address as given plus its hostname spellings */
  const char *server = args[0] ? args[0] : INDEX_SERVER;
  _cleanup_free_ char *shown = args[0] ? cred_hostname(server) : xstrdup(INDEX_SERVER);
  printf("Removing login credentials for %s\n", shown);
  _cleanup_free_ char *path = cred_config_path();
  _cleanup_berr_ struct berr *err = NULL;
  bool found = false;
  if (cred_erase(path, server, &found, &err) < 0) {
    fprintf(stderr, "WARNING: could not erase credentials:\n%s: %s\n", server, err->msg);
    return 0;
  }
  return 0;
}
