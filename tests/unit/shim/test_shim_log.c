/* Unit tests for src/shim/shim_log.c: Docker's json-file line, line splitting
 * (16 KiB pieces, partial lines, per-stream buffers), rotation, the local
 * format and the reader (offsets for followers), RFC 3339 times. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "shim/shim_internal.h"

#define T0 1700000000123456789LL /* 2023-11-14T22:13:20.123456789Z */

struct entries {
  int n;
  int stream[64];
  int64_t ns[64];
  char *bytes[64];
  size_t len[64];
};

static int collect(void *ctx, int stream, int64_t ns, const char *bytes, size_t len) {
  struct entries *e = ctx;
  if (e->n >= 64)
    return 1;
  e->stream[e->n] = stream;
  e->ns[e->n] = ns;
  e->bytes[e->n] = xmalloc(len + 1);
  memcpy(e->bytes[e->n], bytes, len);
  e->bytes[e->n][len] = '\0';
  e->len[e->n] = len;
  e->n++;
  return 0;
}

static void entries_free(struct entries *e) {
  for (int i = 0; i < e->n; i++)
    free(e->bytes[i]);
  e->n = 0;
}

static char *tmpdir(void) {
  char tmpl[] = "/tmp/test_shim_log.XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  return xstrdup(tmpl);
}

static void test_time_format(void **state) {
  (void)state;
  char b[64];
  shim_format_time(T0, b);
  assert_string_equal(b, "2023-11-14T22:13:20.123456789Z");
  shim_format_time(1700000000120000000LL, b); /* trailing zeros trimmed, as Go's RFC3339Nano */
  assert_string_equal(b, "2023-11-14T22:13:20.12Z");
  shim_format_time(1700000000000000000LL, b);
  assert_string_equal(b, "2023-11-14T22:13:20Z");
  int64_t ns;
  assert_int_equal(shim_parse_time("2023-11-14T22:13:20.123456789Z", &ns), 0);
  assert_true(ns == T0);
  assert_int_equal(shim_parse_time("2023-11-14T23:13:20.12+01:00", &ns), 0);
  assert_true(ns == 1700000000120000000LL);
  assert_int_equal(shim_parse_time("2023-11-14 22:13:20", &ns), -EINVAL);
  assert_int_equal(shim_parse_time("yesterday", &ns), -EINVAL);
}

static void test_json_line_escaping(void **state) {
  (void)state;
  size_t len;
  const char in[] = "a\"b\\c<d>&\t\x01\r\n";
  _cleanup_free_ char *l = shim_json_log_line(in, sizeof in - 1, 1, T0, &len);
  assert_string_equal(l, "{\"log\":\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\u0009\\u0001\\r\\n\",\"stream\":\"stdout\","
                         "\"time\":\"2023-11-14T22:13:20.123456789Z\"}\n");
  assert_int_equal(len, strlen(l));
  /* valid UTF-8 kept, invalid bytes become U+FFFD, U+2028 escaped */
  const char u[] = "\xc3\xa9 \xff \xe2\x80\xa8";
  _cleanup_free_ char *l2 = shim_json_log_line(u, sizeof u - 1, 2, T0, NULL);
  assert_non_null(strstr(l2, "{\"log\":\"\xc3\xa9 \\ufffd \\u2028\",\"stream\":\"stderr\""));
}

static struct shim_logger *open_logger(enum shim_log_driver d, const char *path, int64_t max, int files) {
  struct shim_logger *l = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(shim_logger_open(d, path, max, files, &l, &err), 0);
  return l;
}

static void test_lines_and_partials(void **state) {
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = xasprintf("%s/c-json.log", dir);
  struct shim_logger *l = open_logger(SHIM_LOG_JSON, path, -1, 1);
  assert_int_equal(shim_logger_write(l, 1, "one\ntw", 6, T0, NULL), 0);
  assert_int_equal(shim_logger_write(l, 2, "err-part", 8, T0, NULL), 0); /* stderr keeps its own */
  assert_int_equal(shim_logger_write(l, 1, "o\n\nthree", 8, T0, NULL), 0);
  assert_int_equal(shim_logger_flush(l, 0, T0, NULL), 0); /* EOF: the rest gets its "\n" */
  shim_logger_free(l);
  struct entries e = {0};
  assert_int_equal(shim_log_read(path, "json-file", NULL, collect, &e, NULL), 0);
  assert_int_equal(e.n, 5);
  assert_string_equal(e.bytes[0], "one\n");
  assert_string_equal(e.bytes[1], "two\n");
  assert_string_equal(e.bytes[2], "\n");
  assert_string_equal(e.bytes[3], "three\n");
  assert_int_equal(e.stream[3], 1);
  assert_string_equal(e.bytes[4], "err-part\n");
  assert_int_equal(e.stream[4], 2);
  assert_true(e.ns[0] == T0);
  entries_free(&e);
  _cleanup_berr_ struct berr *err = NULL;
  rm_rf(dir, &err);
}

static void test_long_line_pieces(void **state) {
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = xasprintf("%s/c-json.log", dir);
  struct shim_logger *l = open_logger(SHIM_LOG_JSON, path, -1, 1);
  size_t n = 40000;
  char *big = xmalloc(n + 1);
  memset(big, 'x', n);
  big[n] = '\n';
  /* in two writes, to cross the kept-partial path */
  assert_int_equal(shim_logger_write(l, 1, big, 1000, T0, NULL), 0);
  assert_int_equal(shim_logger_write(l, 1, big + 1000, n + 1 - 1000, T0, NULL), 0);
  shim_logger_free(l);
  free(big);
  struct entries e = {0};
  assert_int_equal(shim_log_read(path, "json-file", NULL, collect, &e, NULL), 0);
  assert_int_equal(e.n, 3); /* 16384 + 16384 (no "\n") + 7232 + "\n" */
  assert_int_equal(e.len[0], SHIM_LOG_LINE_MAX);
  assert_int_equal(e.len[1], SHIM_LOG_LINE_MAX);
  assert_int_equal(e.len[2], n - 2 * SHIM_LOG_LINE_MAX + 1);
  assert_int_equal(e.bytes[0][SHIM_LOG_LINE_MAX - 1], 'x');
  assert_int_equal(e.bytes[2][e.len[2] - 1], '\n');
  entries_free(&e);
  _cleanup_berr_ struct berr *err = NULL;
  rm_rf(dir, &err);
}

static off_t fsize(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? st.st_size : -1;
}

static void test_rotation(void **state) {
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = xasprintf("%s/c-json.log", dir);
  _cleanup_free_ char *p1 = xasprintf("%s.1", path), *p2 = xasprintf("%s.2", path), *p3 = xasprintf("%s.3", path);
  struct shim_logger *l = open_logger(SHIM_LOG_JSON, path, 300, 3);
  for (int i = 0; i < 40; i++) {
    char line[32];
    int k = snprintf(line, sizeof line, "line-%02d\n", i);
    assert_int_equal(shim_logger_write(l, 1, line, (size_t)k, T0, NULL), 0);
  }
  shim_logger_free(l);
  /* each entry is 78 bytes: a file rotates once it holds >= 300, i.e. 4 entries */
  assert_true(fsize(path) > 0 && fsize(path) <= 4 * 78);
  assert_int_equal(fsize(p1), 4 * 78);
  assert_int_equal(fsize(p2), 4 * 78);
  assert_int_equal(fsize(p3), -1);
  struct entries e = {0};
  assert_int_equal(shim_log_read_all(path, "json-file", 3, collect, &e, NULL), 0);
  assert_int_equal(e.n, 12); /* the last 12 of 40, in order */
  assert_string_equal(e.bytes[0], "line-28\n");
  assert_string_equal(e.bytes[11], "line-39\n");
  entries_free(&e);
  /* max-file 1: truncated in place */
  _cleanup_free_ char *q = xasprintf("%s/one.log", dir), *q1 = xasprintf("%s.1", q);
  l = open_logger(SHIM_LOG_JSON, q, 100, 1);
  for (int i = 0; i < 5; i++)
    assert_int_equal(shim_logger_write(l, 1, "abc\n", 4, T0, NULL), 0);
  shim_logger_free(l);
  assert_int_equal(fsize(q), 74);
  assert_int_equal(fsize(q1), -1);
  _cleanup_berr_ struct berr *err = NULL;
  rm_rf(dir, &err);
}

static void test_local_format(void **state) {
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = xasprintf("%s/container.log", dir);
  struct shim_logger *l = open_logger(SHIM_LOG_LOCAL, path, -1, 1);
  assert_int_equal(shim_logger_write(l, 1, "hello\nwor", 9, T0, NULL), 0);
  assert_int_equal(shim_logger_write(l, 2, "bad\0bytes\n", 10, T0 + 1, NULL), 0);
  assert_int_equal(shim_logger_flush(l, 1, T0 + 2, NULL), 0);
  shim_logger_free(l);
  /* frame: 16-byte header, the bytes, a 4-byte trailer */
  assert_int_equal(fsize(path), (16 + 6 + 4) + (16 + 10 + 4) + (16 + 4 + 4));
  struct entries e = {0};
  int64_t off = 0;
  assert_int_equal(shim_log_read(path, "local", &off, collect, &e, NULL), 0);
  assert_int_equal(off, fsize(path));
  assert_int_equal(e.n, 3);
  assert_string_equal(e.bytes[0], "hello\n");
  assert_int_equal(e.len[1], 10);
  assert_memory_equal(e.bytes[1], "bad\0bytes\n", 10);
  assert_int_equal(e.stream[1], 2);
  assert_true(e.ns[1] == T0 + 1);
  assert_string_equal(e.bytes[2], "wor\n");
  entries_free(&e);
  /* a follower: nothing new from the end offset */
  assert_int_equal(shim_log_read(path, "local", &off, collect, &e, NULL), 0);
  assert_int_equal(e.n, 0);
  _cleanup_berr_ struct berr *err = NULL;
  rm_rf(dir, &err);
}

static void test_reader_partial_and_errors(void **state) {
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = xasprintf("%s/c-json.log", dir);
  const char *txt = "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}\n"
                    "garbage\n"
                    "{\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:21Z\"}\n"
                    "{\"log\":\"c";
  assert_int_equal(write_file_replace(path, txt, strlen(txt), 0644, NULL), 0);
  struct entries e = {0};
  int64_t off = 0;
  assert_int_equal(shim_log_read(path, "json-file", &off, collect, &e, NULL), 0);
  assert_int_equal(e.n, 2); /* the damaged line skipped, the unfinished one left */
  assert_string_equal(e.bytes[1], "b\n");
  assert_int_equal(e.stream[1], 2);
  assert_int_equal(off, (int64_t)(strlen(txt) - strlen("{\"log\":\"c")));
  entries_free(&e);
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(shim_log_read(path, "none", NULL, collect, &e, &err), -EINVAL);
  berr_freep(&err);
  assert_int_equal(shim_log_read("/nonexistent/x.log", "json-file", NULL, collect, &e, &err), -ENOENT);
  berr_freep(&err);
  enum shim_log_driver d;
  assert_int_equal(shim_log_driver_parse("syslog", &d, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "syslog"));
  berr_freep(&err);
  rm_rf(dir, &err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_time_format),     cmocka_unit_test(test_json_line_escaping),
      cmocka_unit_test(test_lines_and_partials), cmocka_unit_test(test_long_line_pieces),
      cmocka_unit_test(test_rotation),        cmocka_unit_test(test_local_format),
      cmocka_unit_test(test_reader_partial_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
