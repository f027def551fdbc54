/*
 * routes_containers.c — the /containers API handlers: parse the request,
 * look the container up (ctr_get), make one container-manager call, answer in
 * Docker's shape and status codes. No logic of their own beyond that.
 */
#include <errno.h>
#include <strings.h>

#include "daemon/container_internal.h"

#define D(r) ((struct daemon *)(r)->ctx)

/* Look up params[0]; answers 404/400 itself when it fails. */
static struct container *lookup(struct http_req *r) {
  struct container *c = NULL;
  _cleanup_berr_ struct berr *e = NULL;
  if (ctr_get(D(r), r->params[0], &c, &e) < 0) {
    http_reply_berr(r, e);
    return NULL;
  }
  return c;
}

/* (evaluate the call before passing e: argument order is unspecified) */
static void reply_rc(struct http_req *r, int rc, struct berr *e, int ok_status) {
  if (rc < 0)
    http_reply_berr(r, e);
  else if (rc == 1)
    http_reply_status(r, 304);
  else
    http_reply_status(r, ok_status);
}

static void h_list(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *f = NULL;
  int64_t limit = -1;
  if (filters_parse(http_query(r, "filters"), &f, &e) < 0 ||
      http_query_int(r, "limit", -1, &limit, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  json_t *out = NULL;
  if (ctr_list_json(D(r), http_query_bool(r, "all", false), limit,
                    http_query_bool(r, "size", false), f, &out, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  http_reply_json(r, 200, out);
}

/* dockerd's httputils.CheckForJSON: a body must come as application/json
 * (parameters allowed); no Content-Type is fine only without a body. */
static bool body_is_json(struct http_req *r) {
  const char *ct = http_header(r, "Content-Type");
  if ((ct == NULL || *ct == '\0') && r->body_len == 0)
    return true;
  if (ct && strncasecmp(ct, "application/json", 16) == 0 && (ct[16] == '\0' || ct[16] == ';'))
    return true;
  http_reply_error(r, 400, "Content-Type specified (%s) must be 'application/json'", ct ? ct : "");
  return false;
}

/* Docker's strslice.StrSlice: Cmd and Entrypoint may be one string. */
static void str_slices(json_t *body) {
  static const char *const keys[] = {"Cmd", "Entrypoint"};
  for (size_t i = 0; i < 2; i++) {
    json_t *v = json_object_get(body, keys[i]);
    if (json_is_string(v))
      json_object_set_new(body, keys[i], json_pack("[O]", v));
  }
}

static void h_create(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *body = NULL;
  if (!body_is_json(r))
    return;
  if (http_body_json(r, &body, &e) == 0)
    str_slices(body);
  if (e) {
    http_reply_berr(r, e);
    return;
  }
  _cleanup_free_ char *id = NULL;
  json_t *warnings = NULL;
  if (ctr_create(D(r), body, http_query(r, "name"), &id, &warnings, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  http_reply_json(r, 201, json_pack("{s:s,s:o}", "Id", id, "Warnings", warnings));
}

static void h_inspect(struct http_req *r) {
  struct container *c = lookup(r);
  if (!c)
    return;
  http_reply_json(r, 200, ctr_inspect_json(D(r), c, http_query_bool(r, "size", false)));
  ctr_put(c);
}

/* ---- operations that answer with a status only ----
 * serve_op looks the container up, makes the one call, answers (0: the
 * operation's status, 1: 304 nothing to do, <0: the error's status) and
 * releases the container; each op_* is that call. */

typedef int (*ctr_op)(struct http_req *r, struct container *c, struct berr **e);

static void serve_op(struct http_req *r, ctr_op op, int ok_status) {
  struct container *c = lookup(r);
  if (!c)
    return;
  _cleanup_berr_ struct berr *e = NULL;
  int rc = op(r, c, &e);
  reply_rc(r, rc, e, ok_status);
  ctr_put(c);
}

static int query_timeout(struct http_req *r, int64_t *t, struct berr **e) {
  /* "t" (seconds; API ≥ 1.42 also "timeout"); absent: the container's own */
  return http_query_int(r, "t", INT64_MIN, t, e);
}

static int op_start(struct http_req *r, struct container *c, struct berr **e) {
  return ctr_start(D(r), c, e);
}

static int op_stop(struct http_req *r, struct container *c, struct berr **e) {
  int64_t t;
  return query_timeout(r, &t, e) < 0 ? -EINVAL : ctr_stop(D(r), c, t, e);
}

static int op_restart(struct http_req *r, struct container *c, struct berr **e) {
  int64_t t;
  if (query_timeout(r, &t, e) < 0)
    return -EINVAL;
  int rc = ctr_restart(D(r), c, t, e);
  return rc < 0 ? rc : 0; /* a restart always answers 204 */
}

static int op_kill(struct http_req *r, struct container *c, struct berr **e) {
  int rc = ctr_kill(D(r), c, http_query(r, "signal"), e);
  if (rc != -ENOTCONN)
    return rc;
  /* dockerd names the container as the client did */
  berr_free(*e);
  *e = NULL;
  return berr_set(e, ENOTCONN, "Cannot kill container: %s: Container %s is not running",
                  r->params[0], c->id);
}

static int op_pause(struct http_req *r, struct container *c, struct berr **e) {
  return ctr_pause(D(r), c, true, e);
}

static int op_unpause(struct http_req *r, struct container *c, struct berr **e) {
  return ctr_pause(D(r), c, false, e);
}

static int op_delete(struct http_req *r, struct container *c, struct berr **e) {
  if (http_query_bool(r, "link", false))
    return berr_set(e, EINVAL, "Conflict, cannot remove the default link name of the container");
  return ctr_remove(D(r), c, http_query_bool(r, "force", false), http_query_bool(r, "v", false), e);
}

static int op_rename(struct http_req *r, struct container *c, struct berr **e) {
  return ctr_rename(D(r), c, http_query(r, "name"), e);
}

static int op_resize(struct http_req *r, struct container *c, struct berr **e) {
  int64_t h = 0, w = 0;
  if (http_query_int(r, "h", 0, &h, e) < 0 || http_query_int(r, "w", 0, &w, e) < 0)
    return -EINVAL;
  return ctr_resize(D(r), c, (int)h, (int)w, e);
}

static void h_start(struct http_req *r) { serve_op(r, op_start, 204); }
static void h_stop(struct http_req *r) { serve_op(r, op_stop, 204); }
static void h_restart(struct http_req *r) { serve_op(r, op_restart, 204); }
static void h_kill(struct http_req *r) { serve_op(r, op_kill, 204); }
static void h_pause(struct http_req *r) { serve_op(r, op_pause, 204); }
static void h_unpause(struct http_req *r) { serve_op(r, op_unpause, 204); }
static void h_delete(struct http_req *r) { serve_op(r, op_delete, 204); }
static void h_rename(struct http_req *r) { serve_op(r, op_rename, 204); }
static void h_resize(struct http_req *r) { serve_op(r, op_resize, 200); }

/* dockerd sends the 200 header at once and the body at the exit, so a client
 * (docker run) knows the wait is in place before it starts the container. */
static void h_wait(struct http_req *r) {
  struct container *c = lookup(r);
  if (!c)
    return;
  /* dockerd 20.10 takes any other condition (or none) as "not-running" */
  const char *cond = http_query(r, "condition");
  if (cond && strcmp(cond, "next-exit") && strcmp(cond, "removed"))
    cond = NULL;
  _cleanup_berr_ struct berr *e = NULL;
  if (http_stream_begin(r, 200, "application/json") < 0) {
    ctr_put(c);
    return;
  }
  int code = 0;
  int rc = ctr_wait(D(r), c, cond, &code, &e);
  _cleanup_json_ json_t *body =
      rc < 0 ? json_pack("{s:i,s:{s:s}}", "StatusCode", -1, "Error", "Message", e->msg)
             : json_pack("{s:i,s:n}", "StatusCode", code, "Error");
  _cleanup_free_ char *txt = json_dump_compact(body);
  _cleanup_free_ char *line = xasprintf("%s\n", txt);
  http_stream_write(r, line, strlen(line));
  http_stream_end(r);
  ctr_put(c);
}

static void h_update(struct http_req *r) {
  struct container *c = lookup(r);
  if (!c)
    return;
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *body = NULL;
  json_t *warnings = NULL;
  if (http_body_json(r, &body, &e) < 0 || ctr_update(D(r), c, body, &warnings, &e) < 0) {
    json_decref(warnings);
    http_reply_berr(r, e);
  } else {
    http_reply_json(r, 200, json_pack("{s:o}", "Warnings", warnings));
  }
  ctr_put(c);
}

static void h_attach(struct http_req *r) {
  struct container *c = lookup(r);
  if (!c)
    return;
  ctr_attach_serve(D(r), r, c);
  ctr_put(c);
}

static void h_logs(struct http_req *r) {
  struct container *c = lookup(r);
  if (!c)
    return;
  ctr_logs_serve(D(r), r, c);
  ctr_put(c);
}

static void h_prune(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *f = NULL;
  json_t *out = NULL;
  if (filters_parse(http_query(r, "filters"), &f, &e) < 0 || ctr_prune(D(r), f, &out, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  http_reply_json(r, 200, out);
}

const struct http_route routes_containers[] = {
    {"GET", "/containers/json", h_list, 0},
    {"POST", "/containers/create", h_create, 0},
    {"POST", "/containers/prune", h_prune, 0},
    {"GET", "/containers/{}/json", h_inspect, 0},
    {"POST", "/containers/{}/start", h_start, 0},
    {"POST", "/containers/{}/stop", h_stop, 0},
    {"POST", "/containers/{}/restart", h_restart, 0},
    {"POST", "/containers/{}/kill", h_kill, 0},
    {"POST", "/containers/{}/pause", h_pause, 0},
    {"POST", "/containers/{}/unpause", h_unpause, 0},
    {"POST", "/containers/{}/wait", h_wait, 0},
    {"POST", "/containers/{}/rename", h_rename, 0},
    {"POST", "/containers/{}/update", h_update, 0},
    {"POST", "/containers/{}/resize", h_resize, 0},
    {"POST", "/containers/{}/attach", h_attach, 0},
    {"GET", "/containers/{}/logs", h_logs, 0},
    {"DELETE", "/containers/{}", h_delete, 0},
    {NULL, NULL, NULL, 0},
};
