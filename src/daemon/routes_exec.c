/*
 * routes_exec.c — the exec endpoints of the Engine API:
 *   POST /containers/{id}/exec   create an instance (201 {"Id"})
 *   POST /exec/{id}/start        run it: hijacked stream, or detached (200)
 *   POST /exec/{id}/resize       its pty size (h, w)
 *   GET  /exec/{id}/json         inspect
 * Thin handlers over container_exec.c: parse, look up, call, answer.
 */
#include <errno.h>

#include "daemon/container_internal.h"

static void exec_create_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *body = NULL;
  if (http_body_json(r, &body, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  struct container *c = NULL;
  if (ctr_get(d, r->params[0], &c, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  _cleanup_free_ char *id = NULL;
  int rc = exec_create(d, c, body, &id, &err);
  ctr_put(c);
  if (rc < 0) {
    http_reply_berr(r, err);
    return;
  }
  http_reply_json(r, 201, json_pack("{s:s}", "Id", id));
}

static void exec_start_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *body = NULL;
  if (http_body_json(r, &body, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  _cleanup_exec_ struct exec_inst *e = NULL;
  if (exec_find(d, r->params[0], &e, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  exec_start_serve(d, r, e, body);
}

static void exec_resize_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  int64_t h = 0, w = 0;
  if (http_query_int(r, "h", 0, &h, &err) < 0 || http_query_int(r, "w", 0, &w, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  if (h < 0 || w < 0 || h > 65535 || w > 65535) {
    http_reply_error(r, 400, "invalid terminal size %lldx%lld", (long long)h, (long long)w);
    return;
  }
  _cleanup_exec_ struct exec_inst *e = NULL;
  if (exec_find(d, r->params[0], &e, &err) < 0 || exec_resize(e, (int)h, (int)w, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  http_reply(r, 200, NULL, NULL, 0);
}

static void exec_inspect_h(struct http_req *r) {
  struct daemon *d = r->ctx;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_exec_ struct exec_inst *e = NULL;
  if (exec_find(d, r->params[0], &e, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  http_reply_json(r, 200, exec_inspect_json(e));
}

const struct http_route routes_exec[] = {
    {"POST", "/containers/{}/exec", exec_create_h},
    {"POST", "/exec/{}/start", exec_start_h},
    {"POST", "/exec/{}/resize", exec_resize_h},
    {"GET", "/exec/{}/json", exec_inspect_h},
    {NULL},
};
