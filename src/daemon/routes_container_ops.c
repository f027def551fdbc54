/*
 * routes_container_ops.c — per-container operations of the Engine API:
 *   GET  /containers/{id}/top       ps_args          (container_stats.c)
 *   GET  /containers/{id}/stats     stream, one-shot (container_stats.c)
 *   HEAD /containers/{id}/archive   path → X-Docker-Container-Path-Stat
 *   GET  /containers/{id}/archive   path → tar       (container_archive.c)
 *   PUT  /containers/{id}/archive   path, noOverwriteDirNonDir, copyUIDGID
 *   GET  /containers/{id}/changes   (the store's diff of the writable layer)
 *   GET  /containers/{id}/export    tar of the rootfs
 * Thin handlers: look the container up, call, answer.
 */
#include <errno.h>
#include <fcntl.h>

#include "daemon/container_internal.h"

static void ctr_putp(struct container **c) {
  ctr_put(*c);
}
#define _cleanup_ctr_ __attribute__((cleanup(ctr_putp)))

/* Look up params[0]; answers the error itself. */
static struct container *lookup(struct http_req *r) {
  _cleanup_berr_ struct berr *err = NULL;
  struct container *c = NULL;
  if (ctr_get(r->ctx, r->params[0], &c, &err) < 0) {
    http_reply_berr(r, err);
    return NULL;
  }
  return c;
}

static void top_h(struct http_req *r) {
  _cleanup_ctr_ struct container *c = lookup(r);
  if (c == NULL)
    return;
  _cleanup_berr_ struct berr *err = NULL;
  json_t *out = NULL;
  if (ctr_top(r->ctx, c, http_query(r, "ps_args"), &out, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  http_reply_json(r, 200, out);
}

static void stats_h(struct http_req *r) {
  _cleanup_ctr_ struct container *c = lookup(r);
  if (c == NULL)
    return;
  ctr_stats_serve(r->ctx, r, c);
}

static void archive_get_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  const char *path = http_query(r, "path");
  if (path == NULL || *path == '\0') {
    http_reply_error(r, 400, "path is required"); /* not an empty path: Docker's wording */
    return;
  }
  _cleanup_ctr_ struct container *c = lookup(r);
  if (c == NULL)
    return;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_close_ int root = -1;
  if (archive_root_open(d, c, true, &root, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  archive_get_serve(r, root, path, r->params[0], d->cfg.data_root);
}

/* copyUIDGID: files owned by the container's user (Docker's tarCopyOptions);
 * without a Config.User the tar's owners stay. */
static int put_owner(struct daemon *d, struct container *c, int root, struct archive_put_opts *o,
                     struct berr **err) {
  pthread_mutex_lock(&c->lock);
  const char *u = json_string_value(json_object_get(c->config, "User"));
  _cleanup_free_ char *user = u && *u ? xstrdup(u) : NULL;
  pthread_mutex_unlock(&c->lock);
  if (user == NULL)
    return 0;
  _cleanup_free_ char *passwd = NULL, *group = NULL;
  const char *files[] = {"etc/passwd", "etc/group"};
  char **bufs[] = {&passwd, &group};
  for (int i = 0; i < 2; i++) {
    _cleanup_close_ int fd = archive_openat_root(root, files[i], O_RDONLY, NULL);
    _cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(move_fd(&fd), "r") : NULL;
    if (f == NULL)
      continue;
    size_t cap = 0;
    if (getdelim(bufs[i], &cap, '\0', f) < 0) {
      free(*bufs[i]);
      *bufs[i] = NULL;
    }
  }
  _cleanup_json_ json_t *uj = NULL;
  if (exec_resolve_user(user, passwd, group, NULL, &uj, err) < 0)
    return -EINVAL;
  o->chown_to = true;
  o->uid = (uid_t)json_integer_value(json_object_get(uj, "uid"));
  o->gid = (gid_t)json_integer_value(json_object_get(uj, "gid"));
  return 0;
}

static void archive_put_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  const char *path = http_query(r, "path");
  if (path == NULL || *path == '\0') {
    http_reply_error(r, 400, "path is required");
    return;
  }
  _cleanup_ctr_ struct container *c = lookup(r);
  if (c == NULL)
    return;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_close_ int root = -1;
  struct archive_put_opts o = {.path = path,
                               .ctr_name = r->params[0],
                               .no_overwrite_dir_nondir =
                                   http_query_bool(r, "noOverwriteDirNonDir", false)};
  if (archive_root_open(d, c, true, &root, &err) < 0 ||
      (http_query_bool(r, "copyUIDGID", false) && put_owner(d, c, root, &o, &err) < 0) ||
      archive_put(r, root, &o, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  http_reply(r, 200, NULL, NULL, 0);
}

static void changes_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_ctr_ struct container *c = lookup(r);
  if (c == NULL)
    return;
  _cleanup_berr_ struct berr *err = NULL;
  json_t *out = NULL;
  if (store_rw_changes(d->store, c->id, &out, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  http_reply_json(r, 200, out);
}

static void export_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_ctr_ struct container *c = lookup(r);
  if (c == NULL)
    return;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_close_ int root = -1;
  if (archive_root_open(d, c, false, &root, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  archive_export_serve(r, root);
}

const struct http_route routes_container_ops[] = {
    {"GET", "/containers/{}/top", top_h},
    {"GET", "/containers/{}/stats", stats_h},
    {"HEAD", "/containers/{}/archive", archive_get_h},
    {"GET", "/containers/{}/archive", archive_get_h},
    {"PUT", "/containers/{}/archive", archive_put_h, HTTP_ROUTE_STREAM_BODY},
    {"GET", "/containers/{}/changes", changes_h},
    {"GET", "/containers/{}/export", export_h},
    {NULL},
};
