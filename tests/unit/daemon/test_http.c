/*
 * test_http.c — berthd's HTTP server over a real Unix socket: a server
 * thread with test routes, raw-socket clients that check the bytes on the
 * wire (framing, keep-alive, chunked bodies both ways, the version prefix,
 * route captures, hijack, the error answers).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>

#include "daemon/daemon.h"

struct fixture {
  char dir[64];
  char sock[128];
  struct http_server *srv;
  pthread_t thread;
};

/* ---- routes ---- */

static void h_hello(struct http_req *r) {
  _cleanup_free_ char *s = xasprintf("minor=%d q=%s b=%d", r->api_minor,
                                     http_query(r, "q") ? http_query(r, "q") : "-",
                                     http_query_bool(r, "b", false));
  http_reply(r, 200, "text/plain", s, strlen(s));
}

static void h_echo(struct http_req *r) { /* buffered body */
  http_reply(r, 200, "application/octet-stream", r->body ? r->body : "", r->body_len);
}

static void h_count(struct http_req *r) { /* streamed body: count bytes */
  char buf[1000];
  ssize_t n;
  size_t total = 0;
  while ((n = http_body_read(r, buf, sizeof(buf))) > 0)
    total += (size_t)n;
  if (n < 0) {
    http_reply_error(r, 400, "read: %zd", n);
    return;
  }
  http_reply_json(r, 200, json_pack("{s:I}", "n", (json_int_t)total));
}

static void h_params(struct http_req *r) {
  _cleanup_free_ char *s = xasprintf("%s|%s", r->params[0], r->params[1] ? r->params[1] : "-");
  http_reply(r, 200, "text/plain", s, strlen(s));
}

static void h_silent(struct http_req *r) {}

static void h_stream(struct http_req *r) {
  http_stream_begin(r, 200, "application/json");
  http_stream_write(r, "{\"a\":1}\n", 8);
  http_stream_write(r, "{\"b\":2}\n", 8);
  http_stream_end(r);
}

static void h_hijack(struct http_req *r) {
  struct http_conn *c = r->conn;
  http_hijack(r, "application/vnd.docker.raw-stream");
  char buf[64];
  ssize_t n = http_conn_read(c, buf, sizeof(buf));
  if (n > 0)
    http_conn_write(c, buf, (size_t)n);
  http_conn_shutdown_write(c);
  http_conn_close(c);
}

static void h_berr(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  berr_set(&e, ENOENT, "No such container: %s", r->params[0]);
  http_reply_berr(r, e);
}

static void h_tid(struct http_req *r) { /* which thread serves this connection */
  _cleanup_free_ char *s = xasprintf("%d", (int)gettid());
  http_reply(r, 200, "text/plain", s, strlen(s));
}

static const struct http_route routes[] = {
    {"GET", "/tid", h_tid},
    {"GET", "/hello", h_hello},
    {"POST", "/echo", h_echo},
    {"POST", "/count", h_count, HTTP_ROUTE_STREAM_BODY},
    {"GET", "/images/json", h_hello},
    {"GET", "/images/{*}/json", h_params},
    {"GET", "/containers/{}/logs/{}", h_params},
    {"GET", "/containers/{}/json", h_berr},
    {"GET", "/silent", h_silent},
    {"GET", "/stream", h_stream},
    {"POST", "/hijack", h_hijack},
    {NULL},
};

static void *serve(void *arg) {
  http_server_run(arg);
  return NULL;
}

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/berth-test-http-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->sock, sizeof(f->sock), "%s/s.sock", f->dir);
  f->srv = http_server_new(NULL);
  http_server_add_routes(f->srv, routes);
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(http_server_listen_unix(f->srv, f->sock, 0660, NULL, &err), 0);
  pthread_create(&f->thread, NULL, serve, f->srv);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  http_server_stop(f->srv);
  pthread_join(f->thread, NULL);
  http_server_free(f->srv);
  assert_false(path_exists(f->sock)); /* the socket goes with the server */
  rmdir(f->dir);
  free(f);
  return 0;
}

/* ---- client ---- */

static int dial(struct fixture *f) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, f->sock);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

static void send_all(int fd, const char *s) {
  assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read until `marker` appears (or EOF); returns a malloc'd string. */
static char *recv_until(int fd, const char *marker) {
  size_t cap = 65536, len = 0;
  char *b = calloc(1, cap);
  while (len < cap - 1 && (marker == NULL || strstr(b, marker) == NULL)) {
    ssize_t n = recv(fd, b + len, cap - 1 - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
    b[len] = '\0';
  }
  return b;
}

/* One request on a new connection, whole answer up to EOF (Connection: close). */
static char *roundtrip(struct fixture *f, const char *req) {
  int fd = dial(f);
  send_all(fd, req);
  char *out = recv_until(fd, NULL);
  close(fd);
  return out;
}

static const char *body_of(const char *resp) {
  const char *p = strstr(resp, "\r\n\r\n");
  return p ? p + 4 : "";
}

/* A client thread of test_pool: one request; non-NULL when answered. */
static void *pool_client(void *arg) {
  struct fixture *f = arg;
  int fd = dial(f);
  send_all(fd, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  char *a = recv_until(fd, NULL);
  close(fd);
  bool ok = strstr(a, "200 OK") != NULL;
  free(a);
  return ok ? f : NULL;
}

/* ---- tests ---- */

static void test_headers_and_keepalive(void **state) {
  struct fixture *f = *state;
  int fd = dial(f);
  send_all(fd, "GET /hello?q=a%20b+c&b=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  _cleanup_free_ char *a = recv_until(fd, "b=1");
  assert_non_null(strstr(a, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(a, "Api-Version: 1.41\r\n"));
  assert_non_null(strstr(a, "Docker-Experimental: false\r\n"));
  assert_non_null(strstr(a, "Ostype: linux\r\n"));
  assert_non_null(strstr(a, "Server: Docker/"));
  assert_non_null(strstr(a, "Content-Length: 20\r\n"));
  assert_string_equal(body_of(a), "minor=41 q=a b c b=1");
  /* the same connection serves a second request (keep-alive) */
  send_all(fd, "GET /v1.30/hello?b=false HTTP/1.1\r\nHost: x\r\n\r\n");
  _cleanup_free_ char *b = recv_until(fd, "b=0");
  assert_string_equal(body_of(b), "minor=30 q=- b=0");
  close(fd);
}

static void test_versions(void **state) {
  struct fixture *f = *state;
  _cleanup_free_ char *neu = roundtrip(f, "GET /v1.99/hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(neu, "400 Bad Request"));
  assert_string_equal(body_of(neu), "{\"message\":\"client version 1.99 is too new. Maximum "
                                    "supported API version is 1.41\"}\n");
  _cleanup_free_ char *old = roundtrip(f, "GET /v1.20/hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(old, "client version 1.20 is too old. Minimum supported API version is "
                              "1.24, please upgrade your client to a newer version"));
  _cleanup_free_ char *nf = roundtrip(f, "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(nf, "HTTP/1.1 404 Not Found"));
  assert_null(strstr(nf, "Api-Version")); /* as dockerd */
  assert_string_equal(body_of(nf), "{\"message\":\"page not found\"}\n");
  _cleanup_free_ char *wm = roundtrip(f, "DELETE /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(wm, "HTTP/1.1 404 Not Found"));
}

static void test_bodies(void **state) {
  struct fixture *f = *state;
  _cleanup_free_ char *cl = roundtrip(
      f, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  assert_string_equal(body_of(cl), "hello");
  _cleanup_free_ char *ch = roundtrip(f, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                         "Connection: close\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n"
                                         "0\r\nTrailer: 1\r\n\r\n");
  assert_string_equal(body_of(ch), "abcdefg");
  /* a streamed body of 3000 bytes in chunks of 1000, then the next request
   * on the same connection */
  int fd = dial(f);
  send_all(fd, "POST /count HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  char chunk[1001];
  memset(chunk, 'x', 1000);
  chunk[1000] = '\0';
  for (int i = 0; i < 3; i++) {
    send_all(fd, "3e8\r\n");
    send_all(fd, chunk);
    send_all(fd, "\r\n");
  }
  send_all(fd, "0\r\n\r\nGET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  _cleanup_free_ char *out = recv_until(fd, NULL);
  close(fd);
  assert_non_null(strstr(out, "{\"n\":3000}\n"));
  assert_non_null(strstr(out, "minor=41"));
  /* Expect: 100-continue gets its interim answer */
  fd = dial(f);
  send_all(fd, "POST /count HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
               "Connection: close\r\n\r\n");
  _cleanup_free_ char *cont = recv_until(fd, "\r\n\r\n");
  assert_non_null(strstr(cont, "HTTP/1.1 100 Continue"));
  send_all(fd, "ab");
  _cleanup_free_ char *rest = recv_until(fd, NULL);
  close(fd);
  assert_non_null(strstr(rest, "{\"n\":2}"));
}

static void test_routes(void **state) {
  struct fixture *f = *state;
  _cleanup_free_ char *a = roundtrip(
      f, "GET /images/localhost:5000/a/b:1/json HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_string_equal(body_of(a), "localhost:5000/a/b:1|-");
  _cleanup_free_ char *b = roundtrip(f, "GET /images/json HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_string_equal(body_of(b), "minor=41 q=- b=0");
  _cleanup_free_ char *c =
      roundtrip(f, "GET /v1.41/containers/abc/logs/x%20y HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_string_equal(body_of(c), "abc|x y");
  _cleanup_free_ char *d =
      roundtrip(f, "GET /containers/abc/json HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(d, "404 Not Found"));
  assert_string_equal(body_of(d), "{\"message\":\"No such container: abc\"}\n");
  _cleanup_free_ char *e = roundtrip(f, "GET /silent HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(e, "500 Internal Server Error"));
}

static void test_garbage(void **state) {
  struct fixture *f = *state;
  static const char *const bad[] = {
      "GARBAGE\r\n\r\n",
      "GET /hello HTTP/9.9\r\n\r\n",
      "GET /hello HTTP/1.1\r\nNo colon here\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n",
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /hel%zzlo HTTP/1.1\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    _cleanup_free_ char *r = roundtrip(f, bad[i]);
    assert_non_null(strstr(r, "HTTP/1.1 400 Bad Request"));
  }
}

static void test_stream_and_hijack(void **state) {
  struct fixture *f = *state;
  _cleanup_free_ char *s = roundtrip(f, "GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(s, "Transfer-Encoding: chunked\r\n"));
  assert_string_equal(body_of(s), "8\r\n{\"a\":1}\n\r\n8\r\n{\"b\":2}\n\r\n0\r\n\r\n");
  int fd = dial(f);
  send_all(fd, "POST /hijack HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  _cleanup_free_ char *h = recv_until(fd, "\r\n\r\n");
  assert_true(str_has_prefix(h, "HTTP/1.1 101 UPGRADED\r\nContent-Type: "
                                "application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
                                "Upgrade: tcp\r\n"));
  send_all(fd, "ping!");
  _cleanup_free_ char *echo = recv_until(fd, NULL);
  close(fd);
  assert_string_equal(echo, "ping!");
  fd = dial(f);
  send_all(fd, "POST /hijack HTTP/1.1\r\n\r\nraw");
  _cleanup_free_ char *plain = recv_until(fd, NULL);
  close(fd);
  assert_true(str_has_prefix(plain, "HTTP/1.1 200 OK\r\nContent-Type: "));
  assert_non_null(strstr(plain, "\r\n\r\nraw"));
}

static void test_body_json(void **state) {
  struct http_req r = {0};
  json_t *j = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(http_body_json(&r, &j, &err), 0);
  assert_true(json_is_object(j));
  json_decref(j);
  r.body = (char *)"{\"a\":";
  r.body_len = strlen(r.body);
  assert_int_equal(http_body_json(&r, &j, &err), -EINVAL);
  assert_non_null(err);
}

/* The connection threads are pooled: one-after-the-other connections are
 * served by threads that served earlier ones, and many at once still each
 * get a thread; the server is freed with threads waiting (ASan: no leak). */
static void test_pool(void **state) {
  struct fixture *f = *state;
  int tids[30], distinct = 0;
  for (int i = 0; i < 30; i++) {
    _cleanup_free_ char *a = roundtrip(f, "GET /tid HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(a, "200 OK"));
    tids[i] = atoi(body_of(a));
    bool seen = false;
    for (int k = 0; k < i; k++)
      seen = seen || tids[k] == tids[i];
    distinct += !seen;
  }
  assert_true(distinct < 30); /* a thread per connection would make 30 */
  pthread_t t[20];
  for (int i = 0; i < 20; i++)
    assert_int_equal(pthread_create(&t[i], NULL, pool_client, f), 0);
  for (int i = 0; i < 20; i++) {
    void *ok = NULL;
    pthread_join(t[i], &ok);
    assert_non_null(ok);
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_headers_and_keepalive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bodies, setup, teardown),
      cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_and_hijack, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
      cmocka_unit_test(test_body_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
