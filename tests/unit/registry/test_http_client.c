/* Unit tests of src/registry/http_client.c's response parser (fed from
 * memory in small pieces, as a socket would) and progress.c's strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "registry/registry_internal.h"

struct mem {
  const char *data;
  size_t len, off, step; /* at most `step` bytes per read */
};

static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  struct mem *m = ctx;
  size_t n = m->len - m->off;
  if (n > len)
    n = len;
  if (n > m->step)
    n = m->step;
  memcpy(buf, m->data + m->off, n);
  m->off += n;
  return (ssize_t)n;
}

static struct rbuf *mkbuf(struct mem *m, const char *data, size_t step) {
  m->data = data;
  m->len = strlen(data);
  m->off = 0;
  m->step = step;
  struct rbuf *b = calloc(1, sizeof *b);
  b->read = mem_read;
  b->ctx = m;
  return b;
}

/* The whole body as a string (asserting no error). */
static char *body(struct rbuf *b, struct rresp *h) {
  char *out = calloc(1, 4096);
  size_t n = 0;
  for (;;) {
    ssize_t k = rhttp_body_read(b, h, out + n, 7);
    assert_true(k >= 0);
    if (k == 0)
      break;
    n += (size_t)k;
  }
  return out;
}

static void test_content_length_keepalive(void **state) {
  (void)state;
  struct mem m;
  const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDocker-Content-Digest: sha256:x\r\n\r\nhello"
                     "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno";
  for (size_t step = 1; step <= 64; step *= 4) {
    struct rbuf *b = mkbuf(&m, resp, step);
    struct rresp h = {0};
    assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.length, 5);
    assert_true(h.keep_alive);
    assert_string_equal(rresp_header(&h, "DOCKER-content-digest"), "sha256:x");
    char *s = body(b, &h);
    assert_string_equal(s, "hello");
    free(s);
    assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0); /* the next response on the connection */
    assert_int_equal(h.status, 404);
    assert_false(h.keep_alive);
    s = body(b, &h);
    assert_string_equal(s, "no");
    free(s);
    rresp_clear(&h);
    free(b);
  }
}

static void test_chunked(void **state) {
  (void)state;
  struct mem m;
  const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n"
                     "HTTP/1.1 204 No Content\r\n\r\n";
  for (size_t step = 1; step <= 64; step *= 2) {
    struct rbuf *b = mkbuf(&m, resp, step);
    struct rresp h = {0};
    assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0);
    assert_true(h.chunked);
    char *s = body(b, &h);
    assert_string_equal(s, "hello 0123456789");
    free(s);
    assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0);
    assert_int_equal(h.status, 204);
    assert_true(h.done);
    rresp_clear(&h);
    free(b);
  }
}

static void test_until_close_and_continue(void **state) {
  (void)state;
  struct mem m;
  struct rbuf *b = mkbuf(&m, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it", 3);
  struct rresp h = {0};
  assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0);
  assert_int_equal(h.status, 200);
  assert_true(h.until_close);
  assert_false(h.keep_alive);
  char *s = body(b, &h);
  assert_string_equal(s, "all of it");
  free(s);
  rresp_clear(&h);
  free(b);
}

static void test_truncated(void **state) {
  (void)state;
  struct mem m;
  char buf[64];
  /* Content-Length promises more than comes: -EPIPE, not a short success */
  struct rbuf *b = mkbuf(&m, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100);
  struct rresp h = {0};
  assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0);
  assert_int_equal(rhttp_body_read(b, &h, buf, sizeof buf), 3);
  assert_int_equal(rhttp_body_read(b, &h, buf, sizeof buf), -EPIPE);
  free(b);
  /* a chunked body cut inside a chunk */
  b = mkbuf(&m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", 100);
  assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0);
  assert_int_equal(rhttp_body_read(b, &h, buf, sizeof buf), 3);
  assert_int_equal(rhttp_body_read(b, &h, buf, sizeof buf), -EPIPE);
  free(b);
  /* a malformed chunk size */
  b = mkbuf(&m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100);
  assert_int_equal(rhttp_read_head(b, false, &h, NULL), 0);
  assert_int_equal(rhttp_body_read(b, &h, buf, sizeof buf), -EPROTO);
  free(b);
  /* HEAD: a Content-Length but no body */
  b = mkbuf(&m, "HTTP/1.1 200 OK\r\nContent-Length: 1090937\r\n\r\n", 100);
  assert_int_equal(rhttp_read_head(b, true, &h, NULL), 0);
  assert_int_equal(h.length, 1090937);
  assert_int_equal(rhttp_body_read(b, &h, buf, sizeof buf), 0);
  free(b);
  struct berr *e = NULL;
  b = mkbuf(&m, "SSH-2.0-OpenSSH\r\n\r\n", 100);
  assert_int_equal(rhttp_read_head(b, false, &h, &e), -EPROTO);
  assert_non_null(strstr(e->msg, "malformed HTTP status line"));
  berr_free(e);
  rresp_clear(&h);
  free(b);
}

static void test_progress_strings(void **state) {
  (void)state;
  char *s = human_size(1090937);
  assert_string_equal(s, "1.091MB");
  free(s);
  s = human_size(98304);
  assert_string_equal(s, "98.3kB");
  free(s);
  s = human_size(0);
  assert_string_equal(s, "0B");
  free(s);
  s = progress_string(32768, 1090937); /* dockerd's, byte for byte */
  assert_string_equal(s, "[=>                                                 ]  32.77kB/1.091MB");
  free(s);
  s = progress_string(1090937, 1090937);
  assert_string_equal(s, "[==================================================>]  1.091MB/1.091MB");
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_content_length_keepalive), cmocka_unit_test(test_chunked),
      cmocka_unit_test(test_until_close_and_continue), cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_progress_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
