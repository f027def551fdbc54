/* test_progress.c — the docker CLI's jsonmessage rendering (progress.c): the
 * progress bar string, terminal output (one line per id, rewritten in place
 * with cursor movement), plain output (no bars), errors and aux messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cli/cli.h"

static void eq_free(char *got, const char *want) {
  assert_string_equal(got, want);
  free(got);
}

/* a reader over a string, handing out at most `step` bytes at a time */
struct src {
  const char *s;
  size_t off, step;
};

static ssize_t src_read(void *ctx, void *buf, size_t n) {
  struct src *r = ctx;
  size_t left = strlen(r->s) - r->off;
  if (n > r->step)
    n = r->step;
  if (n > left)
    n = left;
  memcpy(buf, r->s + r->off, n);
  r->off += n;
  return (ssize_t)n;
}

/* render `stream` (fed `step` bytes at a time) and return what was printed */
static char *render(const char *stream, bool tty, size_t step, int *rc, char **errmsg, json_t **aux) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  struct src r = {.s = stream, .step = step};
  struct berr *err = NULL;
  *rc = progress_render(src_read, &r, f, tty, 80, aux, &err);
  fclose(f);
  *errmsg = err ? xstrdup(err->msg) : NULL;
  berr_free(err);
  return out;
}

static const char *pull_stream =
    "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\r\n"
    "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaa\"}\r\n"
    "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"bbb\"}\r\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":500,\"total\":1000},"
    "\"progress\":\"[=>  ] 500B/1kB\",\"id\":\"aaa\"}\r\n"
    "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"bbb\"}\r\n"
    "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"aaa\"}\r\n"
    "{\"status\":\"Digest: sha256:0123\"}\r\n"
    "{\"status\":\"Status: Downloaded newer image for busybox:latest\"}\r\n";

static void test_plain(void **s) {
  (void)s;
  int rc;
  char *e = NULL;
  /* off a terminal: every status once, the Downloading line (a bar) dropped */
  for (size_t step = 1; step <= 4096; step *= 64) {
    char *out = render(pull_stream, false, step, &rc, &e, NULL);
    assert_int_equal(rc, 0);
    assert_null(e);
    assert_string_equal(out, "latest: Pulling from library/busybox\n"
                             "aaa: Pulling fs layer\n"
                             "bbb: Pulling fs layer\n"
                             "bbb: Pull complete\n"
                             "aaa: Pull complete\n"
                             "Digest: sha256:0123\n"
                             "Status: Downloaded newer image for busybox:latest\n");
    free(out);
  }
}

static void test_tty(void **s) {
  (void)s;
  int rc;
  char *e = NULL;
  char *out = render(pull_stream, true, 7, &rc, &e, NULL);
  assert_int_equal(rc, 0);
  /* a new id: newline, up 1, clear, text, down 1; aaa later sits 2 lines up.
   * At 80 columns there is no [===>] bar (docker draws it above 110). */
  assert_string_equal(out,
                      "latest: Pulling from library/busybox\n"
                      "\n\x1b[1A\x1b[2K\raaa: Pulling fs layer \r\x1b[1B"
                      "\n\x1b[1A\x1b[2K\rbbb: Pulling fs layer \r\x1b[1B"
                      "\x1b[2A\x1b[2K\raaa: Downloading     500B/1kB\r\x1b[2B"
                      "\x1b[1A\x1b[2K\rbbb: Pull complete \r\x1b[1B"
                      "\x1b[2A\x1b[2K\raaa: Pull complete \r\x1b[2B"
                      "Digest: sha256:0123\n"
                      "Status: Downloaded newer image for busybox:latest\n");
  free(out);
}

static void test_errors_and_aux(void **s) {
  (void)s;
  int rc;
  char *e = NULL;
  json_t *aux = NULL;
  char *out = render("{\"status\":\"The push refers to repository [x]\"}\n"
                     "{\"aux\":{\"Tag\":\"v1\",\"Digest\":\"sha256:ab\",\"Size\":527}}\n"
                     "{\"stream\":\"Loaded image: a:b\\n\"}\n",
                     false, 4096, &rc, &e, &aux);
  assert_int_equal(rc, 0);
  assert_string_equal(out, "The push refers to repository [x]\nLoaded image: a:b\n");
  assert_string_equal(json_string_value(json_object_get(aux, "Digest")), "sha256:ab");
  json_decref(aux);
  free(out);
  out = render("{\"status\":\"a\"}\n{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}\n"
               "{\"status\":\"never\"}\n",
               false, 3, &rc, &e, NULL);
  assert_int_equal(rc, -EIO);
  assert_string_equal(e, "boom");
  assert_string_equal(out, "a\n");
  free(out);
  free(e);
  /* docker says this for code 401 whatever the message */
  out = render("{\"errorDetail\":{\"code\":401,\"message\":\"x\"},\"error\":\"x\"}", false, 100, &rc, &e, NULL);
  assert_true(rc < 0);
  assert_string_equal(e, "authentication is required");
  free(out);
  free(e);
}

static void test_progress_bar(void **s) {
  (void)s;
  eq_free(progress_bar(0, 0, 0, 200, 0), "");
  eq_free(progress_bar(1500, 0, 0, 200, 0), "   1.5kB");
  /* 25%: 12 '=' then '>' and 38 spaces; no time left without a start */
  eq_free(progress_bar(250000, 1000000, 0, 200, 0),
          "[============>                                      ]    250kB/1MB");
  /* narrow terminal: no bar; 10 s for 25% → 30 s left */
  eq_free(progress_bar(250000, 1000000, 100, 80, 110.0), "   250kB/1MB 30s");
  eq_free(progress_bar(250000, 1000000, 100, 40, 110.0), "   250kB/1MB");
  eq_free(progress_bar(2000000, 1000000, 0, 80, 0), "     2MB");
  eq_free(progress_bar(1000000, 1000000, 100, 200, 200.0),
          "[==================================================>]      1MB/1MB");
  /* Go's Duration.String for minutes and hours */
  eq_free(progress_bar(1000, 1000000, 100, 80, 101.0), "     1kB/1MB 16m39s");
  eq_free(progress_bar(100, 1000000, 100, 80, 101.0), "    100B/1MB 2h46m39s");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),
      cmocka_unit_test(test_tty),
      cmocka_unit_test(test_errors_and_aux),
      cmocka_unit_test(test_progress_bar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
