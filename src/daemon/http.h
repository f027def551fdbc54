/*
 * http.h — berthd's HTTP/1.1 server: listeners (Unix socket, TCP, TCP+TLS
 * with client verification), one thread per connection, request parsing,
 * the Engine API's version prefix, routing to handler tables, and the four
 * ways a handler answers: a whole body, a chunked stream, a hijacked
 * connection (attach / exec start), or an error.
 *
 * Why our own server and not libmicrohttpd (DESIGN.md's first choice): the
 * Engine API needs a handler thread that blocks while it streams (logs -f,
 * events, stats, wait), and Docker's hijack (101 UPGRADED with Upgrade: tcp,
 * or a plain 200 without it, then raw bytes both ways with half-close). Both
 * are simple with a thread that owns its socket and awkward behind MHD's
 * callbacks; TLS stays on OpenSSL, which the store already links.
 *
 * Threading: http_server_run() accepts on every listener and hands each
 * connection to a detached thread (256 KiB stack); a handler may block as
 * long as it needs. Keep-alive: several requests per connection, one at a time.
 * Routing: tables are searched in the order they were added and each table
 * in order, so put fixed paths before captures ("/images/json" before
 * "/images/{*}/json"). A path matching no route, or no route of that method,
 * gets dockerd's 404 {"message":"page not found"}.
 * TLS: an OpenSSL connection must not be read in one thread while another
 * writes it; drive a hijacked TLS connection from one thread (poll
 * http_conn_fd, check http_conn_pending first).
 * Stop: http_server_free() shuts every connection's socket and waits up to
 * 2 s for the handlers; a handler still running after that (a hijacked
 * stream) keeps the server alive until the process exits.
 */
#ifndef BERTH_DAEMON_HTTP_H
#define BERTH_DAEMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* API versions (Engine API 1.NN): the oldest a client may ask for, and the
 * newest berthd fully serves (what /_ping's Api-Version and /version report). */
#define API_MIN_MINOR 24
#define API_MAX_MINOR 41

struct http_conn;   /* one client connection (plain or TLS); private */
struct http_server; /* listeners + route tables; private */

struct http_kv {
  char *key;
  char *value;
};

/* One request. Owned by the server; valid until the handler returns (or,
 * after http_hijack, until http_conn_close). */
struct http_req {
  struct http_conn *conn;
  const char *method;      /* "GET", "POST", "HEAD", "PUT", "DELETE" */
  const char *path;        /* decoded path with any "/v1.NN" prefix removed */
  int api_minor;           /* 1.NN asked for in the path, else API_MAX_MINOR */
  struct http_kv *query;   /* decoded query parameters, in order */
  size_t nquery;
  struct http_kv *headers; /* header names lower-cased */
  size_t nheaders;
  char *body;              /* request body (Content-Length or chunked), NUL-terminated */
  size_t body_len;
  const char *params[4];   /* captures of the route's "{}" segments, in order */
  void *ctx;               /* the server's user context (struct daemon *) */
  bool answered;           /* set by every http_reply* / stream / hijack call */
};

typedef void (*http_handler)(struct http_req *r);

/* A route: method and a pattern where "{}" matches one path segment
 * ("/containers/{}/json") and "{*}" one or more segments, slashes included, so
 * that image names with slashes work: "/images/{*}/json" matches
 * "/images/localhost:5000/a/b:1/json" with params[0] = "localhost:5000/a/b:1".
 * Fixed segments may follow "{*}". Tables end with {NULL}. */
struct http_route {
  const char *method;
  const char *pattern;
  http_handler fn;
  unsigned flags; /* HTTP_ROUTE_* */
};

/* The handler reads the body itself with http_body_read (images/load,
 * archive PUT, build: bodies too large to buffer); r->body stays NULL. */
#define HTTP_ROUTE_STREAM_BODY 1u

/* ---- request accessors ---- */

/* Last value of a query parameter, or NULL. */
const char *http_query(const struct http_req *r, const char *key);
/* Docker's boolean query parsing: absent → def; "", "0", "no", "false",
 * "none" (any case) → false; anything else → true. */
bool http_query_bool(const struct http_req *r, const char *key, bool def);
/* Integer query parameter; absent → def. Malformed → -EINVAL with *err set
 * ("invalid value for t: abc"). */
int http_query_int(const struct http_req *r, const char *key, int64_t def, int64_t *out,
                   struct berr **err);
/* Header value (name case-insensitive), or NULL. */
const char *http_header(const struct http_req *r, const char *name);
/* Parse the body as JSON; an empty body gives an empty object. Malformed →
 * -EINVAL with Docker's message shape. Caller decrefs *out. */
int http_body_json(const struct http_req *r, json_t **out, struct berr **err);

/* Read the next bytes of a HTTP_ROUTE_STREAM_BODY request's body (chunked
 * encoding decoded): bytes read, 0 at the end of the body, negative errno. */
ssize_t http_body_read(struct http_req *r, void *buf, size_t len);

/* ---- answers (each sends exactly one response) ---- */

/* A JSON body; steals `j`. */
void http_reply_json(struct http_req *r, int status, json_t *j);
/* {"message": "..."} with `status`. */
void http_reply_error(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map an error to Docker's status: ENOENT→404, EEXIST/EBUSY/EALREADY→409,
 * EINVAL→400, EPERM/EACCES→403 (only when the client is at fault),
 * ENOTSUP/ENOSYS→501, ENOTCONN (not running)→409, else 500; body as above. */
void http_reply_berr(struct http_req *r, const struct berr *e);
/* Any body with a content type (NULL: none); len 0 allowed. */
void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
                size_t len);
/* http_reply with extra header lines, each ending in "\r\n" (/_ping's
 * Cache-Control, Pragma, Builder-Version). */
void http_reply_extra(struct http_req *r, int status, const char *content_type,
                      const char *headers, const void *body, size_t len);
/* Status only (204, 304...). */
void http_reply_status(struct http_req *r, int status);

/* Chunked streaming: begin sends the headers; each write is one chunk
 * (flushed); write returns -EPIPE once the client has gone, which the
 * handler must take as "stop". end sends the last chunk. */
int http_stream_begin(struct http_req *r, int status, const char *content_type);
/* http_stream_begin with extra header lines, each ending in "\r\n" (archive
 * GET's X-Docker-Container-Path-Stat); NULL: none. */
int http_stream_begin_extra(struct http_req *r, int status, const char *content_type,
                            const char *extra_headers);
int http_stream_write(struct http_req *r, const void *data, size_t len);
int http_stream_end(struct http_req *r);

/* Hijack the connection (attach, exec start): answers "101 UPGRADED" with
 * Connection: Upgrade / Upgrade: tcp when the client asked to upgrade, else
 * "200 OK"; Content-Type is `content_type` (Docker:
 * application/vnd.docker.raw-stream or .multiplexed-stream). Afterwards the
 * handler owns the connection: read/write raw bytes through the conn
 * functions below, and close it when done (the server does not reuse it). */
int http_hijack(struct http_req *r, const char *content_type);

/* Raw I/O on a hijacked connection (TLS-aware). read returns bytes, 0 at EOF,
 * negative errno on error; write writes all or fails. */
ssize_t http_conn_read(struct http_conn *c, void *buf, size_t len);
int http_conn_write(struct http_conn *c, const void *buf, size_t len);
/* Half-close our sending side (Docker's CloseWrite). */
void http_conn_shutdown_write(struct http_conn *c);
/* The socket, for poll(); http_conn_pending tells if TLS has buffered bytes
 * that poll would not see. */
int http_conn_fd(const struct http_conn *c);
bool http_conn_pending(const struct http_conn *c);
/* Close a hijacked connection and free its request. */
void http_conn_close(struct http_conn *c);

/* ---- server ---- */

struct http_tls_opts {
  const char *cert, *key;  /* server certificate and key (PEM) */
  const char *ca;          /* CA for client certificates */
  bool verify;             /* --tlsverify: require a client cert signed by ca */
};

/* ctx is given to every handler as r->ctx. */
struct http_server *http_server_new(void *ctx);
void http_server_free(struct http_server *s);
/* Add a route table (kept by reference; tables are static). */
void http_server_add_routes(struct http_server *s, const struct http_route *table);
/* Listen on a Unix socket: removes a stale socket file, binds, chmod `mode`,
 * chgrp to `group` when that group exists (NULL: none). */
int http_server_listen_unix(struct http_server *s, const char *path, mode_t mode,
                            const char *group, struct berr **err);
/* Listen on "host:port" (tcp://… already stripped); tls NULL for plain. */
int http_server_listen_tcp(struct http_server *s, const char *hostport,
                           const struct http_tls_opts *tls, struct berr **err);
/* Accept until http_server_stop(); returns 0. */
int http_server_run(struct http_server *s);
/* Safe from any thread or signal handler context via a pipe/eventfd. */
void http_server_stop(struct http_server *s);

#endif
