/*
 * cmd_image.c — image commands: images (image ls), rmi, tag, history, load,
 * save, image prune. (image inspect lives with inspect in cmd_container.c.)
 * Table rows carry docker's template field names (Repository, Tag, Digest,
 * ID, CreatedSince, CreatedAt, Size, ...); sizes are go-units HumanSize with
 * docker CLI 28's precision 3.
 */
#include <errno.h>
#include <fcntl.h>

#include "cli/cli.h"

static const struct cli_column images_cols[] = {
    {"Repository", "REPOSITORY"}, {"Tag", "TAG"}, {"Digest", "DIGEST"}, {"ID", "IMAGE ID"},
    {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"}, {"Size", "SIZE"},
    {"Containers", "CONTAINERS"}, {"VirtualSize", "VIRTUAL SIZE"}, {"SharedSize", "SHARED SIZE"},
    {"UniqueSize", "UNIQUE SIZE"}, {"CreatedBy", "CREATED BY"}, {"Comment", "COMMENT"}, {NULL, NULL}};

static const char *images_header(const char *f) { return cli_column_title(images_cols, f); }

static const char *history_header(const char *f) {
  if (!strcmp(f, "ID"))
    return "IMAGE";
  return images_header(f);
}

/* split "repo:tag" at the tag's colon (after the last '/') */
static void split_ref(const char *ref, char **repo, char **tag) {
  const char *slash = strrchr(ref, '/');
  const char *colon = strrchr(slash ? slash : ref, ':');
  const char *at = strchr(ref, '@');
  if (at) {
    *repo = strndup(ref, (size_t)(at - ref));
    *tag = NULL;
    return;
  }
  if (colon) {
    *repo = strndup(ref, (size_t)(colon - ref));
    *tag = xstrdup(colon + 1);
  } else {
    *repo = xstrdup(ref);
    *tag = NULL;
  }
}

static json_t *image_row(const json_t *img, const char *repo, const char *tag, const char *digest,
                         bool trunc, double now) {
  json_t *row = json_object();
  const char *id = json_string_value(json_object_get(img, "Id"));
  _cleanup_free_ char *tid = trunc ? fmt_trunc_id(id) : xstrdup(id ? id : "");
  int64_t created = json_integer_value(json_object_get(img, "Created"));
  _cleanup_free_ char *dur = fmt_human_duration(now - (double)created);
  _cleanup_free_ char *since = xasprintf("%s ago", dur);
  _cleanup_free_ char *at = fmt_go_time(created);
  _cleanup_free_ char *size = fmt_human_size((double)json_integer_value(json_object_get(img, "Size")), 3);
  _cleanup_free_ char *vsize = fmt_human_size((double)json_integer_value(json_object_get(img, "VirtualSize")), 3);
  int64_t shared = json_integer_value(json_object_get(img, "SharedSize"));
  _cleanup_free_ char *ssize = shared >= 0 ? fmt_human_size((double)shared, 3) : xstrdup("N/A");
  int64_t ncont = json_integer_value(json_object_get(img, "Containers"));
  _cleanup_free_ char *cont = ncont >= 0 ? xasprintf("%lld", (long long)ncont) : xstrdup("N/A");
  json_object_set_new(row, "Containers", json_string(cont));
  json_object_set_new(row, "CreatedAt", json_string(at));
  json_object_set_new(row, "CreatedSince", json_string(since));
  json_object_set_new(row, "Digest", json_string(digest));
  json_object_set_new(row, "ID", json_string(tid));
  json_object_set_new(row, "Repository", json_string(repo));
  json_object_set_new(row, "SharedSize", json_string(ssize));
  json_object_set_new(row, "Size", json_string(size));
  json_object_set_new(row, "Tag", json_string(tag));
  json_object_set_new(row, "UniqueSize", json_string("N/A"));
  json_object_set_new(row, "VirtualSize", json_string(vsize));
  return row;
}

/* the digest of `repo` among the image's RepoDigests, or "<none>" */
static const char *digest_for(const json_t *img, const char *repo) {
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(img, "RepoDigests"), i, d) {
    const char *s = json_string_value(d);
    const char *at = s ? strchr(s, '@') : NULL;
    if (at && strlen(repo) == (size_t)(at - s) && !strncmp(s, repo, (size_t)(at - s)))
      return at + 1;
  }
  return "<none>";
}

static void image_rows(json_t *rows, const json_t *img, bool trunc, double now) {
  size_t i, n = 0;
  json_t *t;
  json_array_foreach(json_object_get(img, "RepoTags"), i, t) {
    const char *s = json_string_value(t);
    if (!s || !strcmp(s, "<none>:<none>"))
      continue;
    _cleanup_free_ char *repo = NULL, *tag = NULL;
    split_ref(s, &repo, &tag);
    json_array_append_new(rows, image_row(img, repo, tag ? tag : "<none>", digest_for(img, repo), trunc, now));
    n++;
  }
  if (n)
    return;
  json_array_foreach(json_object_get(img, "RepoDigests"), i, t) {
    const char *s = json_string_value(t);
    const char *at = s ? strchr(s, '@') : NULL;
    if (!at || !strcmp(s, "<none>@<none>"))
      continue;
    _cleanup_free_ char *repo = strndup(s, (size_t)(at - s));
    json_array_append_new(rows, image_row(img, repo, "<none>", at + 1, trunc, now));
    n++;
  }
  if (!n)
    json_array_append_new(rows, image_row(img, "<none>", "<none>", "<none>", trunc, now));
}

int cmd_images(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, quiet = false, digests = false, notrunc = false, tree = false;
  const char *format = NULL;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"all", 'a', FLAG_BOOL, &all, "Show all images (default hides intermediate images)", NULL},
      {"digests", 0, FLAG_BOOL, &digests, "Show digests", NULL},
      {"filter", 'f', FLAG_STRV, &filters, "Filter output based on conditions provided", NULL},
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"no-trunc", 0, FLAG_BOOL, &notrunc, "Don't truncate output", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Only show image IDs", NULL},
      {"tree", 0, FLAG_BOOL, &tree, "List multi-platform images as a tree (EXPERIMENTAL)", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 1)))
    return rc;
  if (args[0])
    filters = strv_append(filters, xasprintf("reference=%s", args[0]));
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *fj = NULL;
  if (cli_filters_json(filters, &fj, &err) < 0) {
    cmd_print_err(err);
    return 125;
  }
  _cleanup_sb_ struct sb p = {0};
  sb_add(&p, "/images/json");
  if (all)
    sb_query(&p, "all", "1");
  _cleanup_json_ json_t *list = NULL;
  if (cli_list_get(ctx->cli, &p, filters, &list, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  double now = cli_now();
  _cleanup_json_ json_t *rows = json_array();
  size_t i;
  json_t *img;
  json_array_foreach(list, i, img) image_rows(rows, img, !notrunc, now);
  if (quiet && (!format || !*format || !strncmp(format, "table", 5))) {
    _cleanup_json_ json_t *seen = json_object();
    json_array_foreach(rows, i, img) {
      const char *id = json_string_value(json_object_get(img, "ID"));
      if (json_object_get(seen, id))
        continue;
      json_object_set_new(seen, id, json_true());
      printf("%s\n", id);
    }
    return 0;
  }
  const char *def = digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                            : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  if (cli_print_rows(format, def, rows, images_header, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

int cmd_rmi(struct cmd_ctx *ctx, int argc, char **argv) {
  bool force = false, noprune = false;
  const struct flag flags[] = {
      {"force", 'f', FLAG_BOOL, &force, "Force removal of the image", NULL},
      {"no-prune", 0, FLAG_BOOL, &noprune, "Do not delete untagged parents", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  for (char **a = args; *a; a++) {
    struct sb p = {0};
    sb_add(&p, "/images/");
    sb_add_qs(&p, *a);
    sb_addf(&p, "?force=%d&noprune=%d", force, noprune);
    _cleanup_free_ char *path = sb_steal(&p);
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_json_ json_t *r = NULL;
    if (cli_call(ctx->cli, "DELETE", path, NULL, &r, NULL, &err) < 0) {
      cmd_print_err(err);
      rc = 1;
      continue;
    }
    size_t i;
    json_t *d;
    json_array_foreach(r, i, d) {
      const char *u = json_string_value(json_object_get(d, "Untagged"));
      const char *del = json_string_value(json_object_get(d, "Deleted"));
      if (u)
        printf("Untagged: %s\n", u);
      if (del)
        printf("Deleted: %s\n", del);
    }
  }
  return rc;
}

int cmd_tag(struct cmd_ctx *ctx, int argc, char **argv) {
  const struct flag flags[] = {{0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 2, 2)))
    return rc;
  _cleanup_free_ char *repo = NULL, *tag = NULL;
  split_ref(args[1], &repo, &tag);
  struct sb p = {0};
  sb_add(&p, "/images/");
  sb_add_qs(&p, args[0]);
  sb_add(&p, "/tag");
  sb_query(&p, "repo", repo);
  sb_query(&p, "tag", tag ? tag : "latest");
  _cleanup_free_ char *path = sb_steal(&p);
  _cleanup_berr_ struct berr *err = NULL;
  if (cli_call(ctx->cli, "POST", path, NULL, NULL, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

int cmd_history(struct cmd_ctx *ctx, int argc, char **argv) {
  bool human = true, notrunc = false, quiet = false;
  const char *format = NULL;
  const struct flag flags[] = {
      {"format", 0, FLAG_STR, &format, "Format output using a custom template", NULL},
      {"human", 'H', FLAG_BOOL, &human, "Print sizes and dates in human readable format (default true)", NULL},
      {"no-trunc", 0, FLAG_BOOL, &notrunc, "Don't truncate output", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Only show image IDs", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  struct sb p = {0};
  sb_add(&p, "/images/");
  sb_add_qs(&p, args[0]);
  sb_add(&p, "/history");
  _cleanup_free_ char *path = sb_steal(&p);
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *list = NULL;
  if (cli_call(ctx->cli, "GET", path, NULL, &list, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  double now = cli_now();
  _cleanup_json_ json_t *rows = json_array();
  size_t i;
  json_t *h;
  json_array_foreach(list, i, h) {
    json_t *row = json_object();
    const char *id = json_string_value(json_object_get(h, "Id"));
    _cleanup_free_ char *tid = !id || !strcmp(id, "<missing>") ? xstrdup("<missing>")
                               : !notrunc ? fmt_trunc_id(id) : xstrdup(id);
    int64_t created = json_integer_value(json_object_get(h, "Created"));
    _cleanup_free_ char *dur = fmt_human_duration(now - (double)created);
    /* docker 28: a layer without a creation time is "N/A" */
    _cleanup_free_ char *since = !human ? fmt_go_time(created)
                                 : created > 0 ? xasprintf("%s ago", dur) : xstrdup("N/A");
    const char *cb = json_string_value(json_object_get(h, "CreatedBy"));
    _cleanup_free_ char *cbs = xstrdup(cb ? cb : "");
    for (char *c = cbs; *c; c++)
      if (*c == '\t')
        *c = ' ';
    _cleanup_free_ char *cbt = !notrunc ? fmt_ellipsis(cbs, 45) : xstrdup(cbs);
    int64_t sz = json_integer_value(json_object_get(h, "Size"));
    _cleanup_free_ char *size = human ? fmt_human_size((double)sz, 3) : xasprintf("%lld", (long long)sz);
    _cleanup_free_ char *at = fmt_go_time(created);
    json_object_set_new(row, "ID", json_string(tid));
    json_object_set_new(row, "CreatedSince", json_string(since));
    json_object_set_new(row, "CreatedAt", json_string(at));
    json_object_set_new(row, "CreatedBy", json_string(cbt));
    json_object_set_new(row, "Size", json_string(size));
    const char *cm = json_string_value(json_object_get(h, "Comment"));
    json_object_set_new(row, "Comment", json_string(cm ? cm : ""));
    json_array_append_new(rows, row);
  }
  if (quiet) {
    json_array_foreach(rows, i, h) printf("%s\n", json_string_value(json_object_get(h, "ID")));
    return 0;
  }
  if (cli_print_rows(format, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
                     rows, history_header, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

int cmd_load(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *input = NULL;
  bool quiet = false;
  const struct flag flags[] = {
      {"input", 'i', FLAG_STR, &input, "Read from tar archive file, instead of STDIN", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress the load output", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  _cleanup_close_ int fd = -1;
  if (input) {
    fd = open(input, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "open %s: %s\n", input, strerror(errno));
      return 1;
    }
  } else if (isatty(STDIN_FILENO)) {
    fprintf(stderr, "requested load from stdin, but stdin is empty\n");
    return 1;
  }
  _cleanup_berr_ struct berr *err = NULL;
  struct http_resp resp;
  const char *path = quiet ? "/images/load?quiet=1" : "/images/load?quiet=0";
  if (cli_stream_upload(ctx->cli, "POST", path, "application/x-tar", fd >= 0 ? fd : STDIN_FILENO,
                        &resp, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  rc = progress_display(&resp, stdout, isatty(STDOUT_FILENO), NULL, &err);
  resp_free(&resp);
  if (rc < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

static int copy_body(struct http_resp *resp, int fd, struct berr **err) {
  char buf[65536];
  for (;;) {
    ssize_t k = resp_read(resp, buf, sizeof(buf));
    if (k < 0)
      return berr_set(err, EPROTO, "error reading the daemon's stream: unexpected EOF");
    if (k == 0)
      return 0;
    for (ssize_t off = 0; off < k;) {
      ssize_t w = write(fd, buf + off, (size_t)(k - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return berr_sys(err, errno, "write");
      off += w;
    }
  }
}

int cmd_save(struct cmd_ctx *ctx, int argc, char **argv) {
  const char *output = NULL;
  const struct flag flags[] = {
      {"output", 'o', FLAG_STR, &output, "Write to a file, instead of STDOUT", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, SIZE_MAX)))
    return rc;
  if (!output && isatty(STDOUT_FILENO)) {
    fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    return 1;
  }
  struct sb p = {0};
  sb_add(&p, "/images/get");
  for (char **a = args; *a; a++)
    sb_query(&p, "names", *a);
  _cleanup_free_ char *path = sb_steal(&p);
  _cleanup_berr_ struct berr *err = NULL;
  struct http_resp resp;
  if (cli_stream(ctx->cli, "GET", path, NULL, NULL, 0, &resp, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  _cleanup_free_ char *tmp = output ? xasprintf("%s.berth-tmp", output) : NULL;
  _cleanup_close_ int fd = output ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
  if (output && fd < 0) {
    fprintf(stderr, "failed to save image: open %s: %s\n", output, strerror(errno));
    resp_free(&resp);
    return 1;
  }
  rc = copy_body(&resp, output ? fd : STDOUT_FILENO, &err);
  resp_free(&resp);
  if (rc == 0 && output && rename(tmp, output) < 0)
    rc = berr_sys(&err, errno, "failed to save image: rename %s", output);
  if (rc < 0) {
    if (output)
      unlink(tmp);
    cmd_print_err(err);
    return 1;
  }
  return 0;
}

int cli_prune_images(struct cli *cli, bool all, char **filters, int64_t *reclaimed, struct berr **err) {
  _cleanup_strv_ char **f = NULL;
  for (char **a = filters; a && *a; a++)
    f = strv_append(f, xstrdup(*a));
  f = strv_append(f, xstrdup(all ? "dangling=false" : "dangling=true"));
  _cleanup_free_ char *fj = NULL;
  int r = cli_filters_json(f, &fj, err);
  if (r < 0)
    return r;
  struct sb p = {0};
  sb_add(&p, "/images/prune");
  sb_query(&p, "filters", fj);
  _cleanup_free_ char *path = sb_steal(&p);
  _cleanup_json_ json_t *res = NULL;
  if ((r = cli_call(cli, "POST", path, NULL, &res, NULL, err)) < 0)
    return r;
  json_t *del = json_object_get(res, "ImagesDeleted");
  if (json_array_size(del)) {
    printf("Deleted Images:\n");
    size_t i;
    json_t *d;
    json_array_foreach(del, i, d) {
      const char *u = json_string_value(json_object_get(d, "Untagged"));
      const char *x = json_string_value(json_object_get(d, "Deleted"));
      if (u)
        printf("untagged: %s\n", u);
      if (x)
        printf("deleted: %s\n", x);
    }
    printf("\n");
  }
  *reclaimed += json_integer_value(json_object_get(res, "SpaceReclaimed"));
  return 0;
}

int cmd_image_prune(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, force = false;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"all", 'a', FLAG_BOOL, &all, "Remove all unused images, not just dangling ones", NULL},
      {"filter", 0, FLAG_STRV, &filters, "Provide filter values (e.g. \"until=<timestamp>\")", NULL},
      {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  if (!force && !cli_confirm(all ? "WARNING! This will remove all images without at least one container associated to them."
                                 : "WARNING! This will remove all dangling images."))
    return 0;
  _cleanup_berr_ struct berr *err = NULL;
  int64_t reclaimed = 0;
  if (cli_prune_images(ctx->cli, all, filters, &reclaimed, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  _cleanup_free_ char *sz = fmt_human_size((double)reclaimed, 3);
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}

/* ---- import (store-import helper) ---- */

/* docker import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]: the tarball goes as
 * the body of POST /images/create?fromSrc=-; the daemon answers a progress
 * stream whose status line is the new image's ID. URLs are refused here:
 * berthd downloads nothing but registry blobs. */
int cmd_import(struct cmd_ctx *ctx, int argc, char **argv) {
  _cleanup_strv_ char **changes = NULL;
  const char *message = NULL, *platform = NULL;
  const struct flag flags[] = {
      {"change", 'c', FLAG_STRV, &changes, "Apply Dockerfile instruction to the created image", NULL},
      {"message", 'm', FLAG_STR, &message, "Set commit message for imported image", NULL},
      {"platform", 0, FLAG_STR, &platform, "Set platform if server is multi-platform capable", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 2)))
    return rc;
  const char *src = args[0];
  if (str_has_prefix(src, "http://") || str_has_prefix(src, "https://")) {
    fprintf(stderr, "import from a URL (%s) is not supported: download it first and import the file\n", src);
    return 1;
  }
  _cleanup_close_ int fd = -1;
  if (strcmp(src, "-") != 0) {
    fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "open %s: %s\n", src, strerror(errno));
      return 1;
    }
  }
  struct sb p = {0};
  sb_add(&p, "/images/create");
  sb_query(&p, "fromSrc", "-");
  if (args[1])
    sb_query(&p, "repo", args[1]);
  if (message)
    sb_query(&p, "message", message);
  if (platform) {
    _cleanup_free_ char *lower = xstrdup(platform);
    for (char *c = lower; *c; c++)
      if (*c >= 'A' && *c <= 'Z')
        *c = (char)(*c - 'A' + 'a');
    sb_query(&p, "platform", lower);
  }
  for (char **c = changes; c && *c; c++)
    sb_query(&p, "changes", *c);
  _cleanup_free_ char *path = sb_steal(&p);
  _cleanup_berr_ struct berr *err = NULL;
  struct http_resp resp;
  if (cli_stream_upload(ctx->cli, "POST", path, "application/x-tar", fd >= 0 ? fd : STDIN_FILENO, &resp,
                        &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  rc = progress_display(&resp, stdout, isatty(STDOUT_FILENO), NULL, &err);
  resp_free(&resp);
  if (rc < 0) {
    cmd_print_err(err);
    return 1;
  }
  return 0;
}
