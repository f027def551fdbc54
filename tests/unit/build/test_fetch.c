/* Unit tests of src/build/fetch.c (ADD <url>): a one-shot HTTP server on
 * 127.0.0.1 in a thread answers with a canned response; bfetch_url must name
 * the file as dockerd does, keep mode 0600, take Last-Modified as the mtime,
 * decode chunked bodies, follow a redirect, and word errors with the URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "build/build_internal.h"

struct server {
  int lfd;
  int port;
  const char *replies[2]; /* one per connection, in order */
  pthread_t th;
};

static void *serve(void *arg) {
  struct server *s = arg;
  for (size_t i = 0; i < 2 && s->replies[i]; i++) {
    int c = accept(s->lfd, NULL, NULL);
    if (c < 0)
      return NULL;
    char buf[4096];
    size_t n = 0;
    while (n < sizeof buf - 1) { /* read the request head */
      ssize_t k = read(c, buf + n, sizeof buf - 1 - n);
      if (k <= 0)
        break;
      n += (size_t)k;
      buf[n] = '\0';
      if (strstr(buf, "\r\n\r\n"))
        break;
    }
    const char *r = s->replies[i];
    if (write(c, r, strlen(r)) < 0) {
      close(c);
      return NULL;
    }
    close(c);
  }
  return NULL;
}

static void server_start(struct server *s) {
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t l = sizeof a;
  getsockname(s->lfd, (struct sockaddr *)&a, &l);
  s->port = ntohs(a.sin_port);
  assert_int_equal(listen(s->lfd, 4), 0);
  pthread_create(&s->th, NULL, serve, s);
}

static void server_stop(struct server *s) {
  shutdown(s->lfd, SHUT_RDWR);
  pthread_join(s->th, NULL);
  close(s->lfd);
}

static int tmpdir_fd(char *path) {
  strcpy(path, "/tmp/test-fetch-XXXXXX");
  assert_non_null(mkdtemp(path));
  return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void test_plain_name_mode_mtime(void **state) {
  (void)state;
  struct server s = {.replies = {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n"
                                 "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\n\r\nhello"}};
  server_start(&s);
  char dir[64];
  int dfd = tmpdir_fd(dir);
  _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%d/a/b/file.txt?x=1", s.port);
  struct bfetch f;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(bfetch_url(url, dfd, &f, &err), 0);
  server_stop(&s);
  assert_string_equal(f.name, "file.txt");
  struct stat st;
  assert_int_equal(fstatat(dfd, f.file, &st, 0), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_size, 5);
  assert_int_equal(st.st_mtime, 1700000000);
  /* sha256("hello") */
  assert_string_equal(f.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  bfetch_free(&f);
  close(dfd);
  rm_rf(dir, NULL);
}

static void test_chunked_disposition_redirect(void **state) {
  (void)state;
  struct server s = {.replies = {"HTTP/1.1 302 Found\r\nLocation: /real\r\nContent-Length: 0\r\n\r\n",
                                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                 "Content-Disposition: attachment; filename=\"dl.bin\"\r\n\r\n"
                                 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"}};
  server_start(&s);
  char dir[64];
  int dfd = tmpdir_fd(dir);
  /* the URL's path ends in "/": the name comes from Content-Disposition */
  _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%d/dir/", s.port);
  struct bfetch f;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(bfetch_url(url, dfd, &f, &err), 0);
  server_stop(&s);
  assert_string_equal(f.name, "dl.bin");
  _cleanup_free_ char *p = xasprintf("%s/%s", dir, f.file);
  _cleanup_free_ char *body = NULL;
  assert_int_equal(read_file(p, &body, NULL, NULL), 0);
  assert_string_equal(body, "abcde");
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mtime, 0); /* no Last-Modified: the epoch */
  bfetch_free(&f);
  close(dfd);
  rm_rf(dir, NULL);
}

static void test_errors_name_the_url(void **state) {
  (void)state;
  struct server s = {.replies = {"HTTP/1.0 404 Not Found\r\nContent-Length: 8\r\n\r\n  gone\n\n"}};
  server_start(&s);
  char dir[64];
  int dfd = tmpdir_fd(dir);
  _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%d/x", s.port);
  struct bfetch f;
  struct berr *err = NULL;
  assert_true(bfetch_url(url, dfd, &f, &err) < 0);
  server_stop(&s);
  _cleanup_free_ char *want = xasprintf("failed to GET %s with status 404 Not Found: gone", url);
  assert_string_equal(err->msg, want);
  berr_free(err);
  err = NULL;
  /* a closed port: Go's dial error */
  struct server c = {0};
  server_start(&c);
  int port = c.port;
  server_stop(&c);
  _cleanup_free_ char *url2 = xasprintf("http://127.0.0.1:%d/y", port);
  assert_true(bfetch_url(url2, dfd, &f, &err) < 0);
  _cleanup_free_ char *want2 = xasprintf("Get \"%s\": dial tcp 127.0.0.1:%d: connect: connection refused", url2, port);
  assert_string_equal(err->msg, want2);
  berr_free(err);
  err = NULL;
  assert_true(bfetch_url("https://127.0.0.1/z", dfd, &f, &err) < 0);
  assert_non_null(strstr(err->msg, "https"));
  berr_free(err);
  close(dfd);
  rm_rf(dir, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_name_mode_mtime),
      cmocka_unit_test(test_chunked_disposition_redirect),
      cmocka_unit_test(test_errors_name_the_url),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
