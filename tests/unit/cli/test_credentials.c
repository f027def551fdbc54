/* test_credentials.c — config.json credentials (credentials.c): keys, the
 * file format docker writes, keeping other keys, logout, the X-Registry-Auth
 * encoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cli/cli.h"

static void eq_free(char *got, const char *want) {
  assert_string_equal(got, want);
  free(got);
}

static void test_base64(void **s) {
  (void)s;
  eq_free(b64_encode("user:pass", 9, false), "dXNlcjpwYXNz");
  eq_free(b64_encode("a", 1, false), "YQ==");
  eq_free(b64_encode("\xfb\xff", 2, false), "+/8=");
  eq_free(b64_encode("\xfb\xff", 2, true), "-_8=");
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(b64_decode("dXNlcjpwYXNz", &out, &n), 0);
  assert_int_equal(n, 9);
  eq_free(out, "user:pass");
  assert_int_equal(b64_decode("-_8=", &out, &n), 0);
  assert_int_equal(n, 2);
  assert_memory_equal(out, "\xfb\xff", 2);
  free(out);
  assert_int_equal(b64_decode("a b", &out, &n), -EINVAL);
}

static void test_keys(void **s) {
  (void)s;
  eq_free(cred_server_key(NULL), "https://index.docker.io/v1/");
  eq_free(cred_server_key("docker.io"), "https://index.docker.io/v1/");
  eq_free(cred_server_key("https://index.docker.io/v1/"), "https://index.docker.io/v1/");
  eq_free(cred_server_key("127.0.0.1:5000"), "127.0.0.1:5000");
  eq_free(cred_server_key("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  eq_free(cred_hostname("https://reg.example.com/v1/"), "reg.example.com");
  eq_free(cred_ref_key("busybox"), "https://index.docker.io/v1/");
  eq_free(cred_ref_key("user/app"), "https://index.docker.io/v1/");
  eq_free(cred_ref_key("127.0.0.1:5000/busybox"), "127.0.0.1:5000");
  eq_free(cred_ref_key("localhost/a/b"), "localhost");
  eq_free(cred_ref_key("reg.example.com/a"), "reg.example.com");
}

struct tmp {
  char dir[64];
  char *path;
};

static int setup_tmp(void **state) {
  struct tmp *t = calloc(1, sizeof(*t));
  strcpy(t->dir, "/tmp/berth-unit-cred-XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  t->path = xasprintf("%s/sub/config.json", t->dir);
  *state = t;
  return 0;
}

static int teardown_tmp(void **state) {
  struct tmp *t = *state;
  rm_rf(t->dir, NULL);
  free(t->path);
  free(t);
  return 0;
}

static char *slurp(const char *path) {
  char *s = NULL;
  assert_int_equal(read_file(path, &s, NULL, NULL), 0);
  return s;
}

static void test_store_format(void **state) {
  struct tmp *t = *state;
  struct berr *err = NULL;
  assert_int_equal(cred_store(t->path, "127.0.0.1:5000", "user", "pass", NULL, &err), 0);
  /* docker writes MarshalIndent with tabs, no trailing newline, mode 0600 */
  eq_free(slurp(t->path), "{\n\t\"auths\": {\n\t\t\"127.0.0.1:5000\": {\n\t\t\t\"auth\": \"dXNlcjpwYXNz\"\n\t\t}\n\t}\n}");
  struct stat st;
  assert_int_equal(stat(t->path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  struct cred c;
  bool found = false;
  assert_int_equal(cred_get(t->path, "127.0.0.1:5000", &c, &found, &err), 0);
  assert_true(found);
  assert_string_equal(c.username, "user");
  assert_string_equal(c.password, "pass");
  assert_string_equal(c.serveraddress, "127.0.0.1:5000");
  cred_free(&c);
  assert_int_equal(cred_get(t->path, "127.0.0.1:5001", &c, &found, &err), 0);
  assert_false(found);
  cred_free(&c);
}

static void test_keeps_other_keys(void **state) {
  struct tmp *t = *state;
  struct berr *err = NULL;
  _cleanup_free_ char *sub = xasprintf("%s/sub", t->dir);
  assert_int_equal(mkdir_p(sub, 0700, NULL), 0);
  const char *orig = "{\"psFormat\": \"table {{.ID}}\", \"auths\": {\"http://other:1/v2/\": {\"auth\": \"bzpwdw==\"}},"
                     " \"proxies\": {\"default\": {\"httpProxy\": \"x\"}}}";
  assert_int_equal(write_file_atomic(t->path, orig, strlen(orig), 0644, NULL), 0);
  /* a key written with a scheme is found by its hostname */
  struct cred c;
  bool found = false;
  assert_int_equal(cred_get(t->path, "other:1", &c, &found, &err), 0);
  assert_true(found);
  assert_string_equal(c.username, "o");
  assert_string_equal(c.password, "pw");
  cred_free(&c);
  assert_int_equal(cred_store(t->path, "new:2", "u", "p", "tok", &err), 0);
  json_t *j = NULL;
  assert_int_equal(json_load_path(t->path, &j, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(j, "psFormat")), "table {{.ID}}");
  assert_non_null(json_object_get(json_object_get(j, "proxies"), "default"));
  json_t *auths = json_object_get(j, "auths");
  assert_non_null(json_object_get(auths, "http://other:1/v2/"));
  /* with an identity token docker keeps "user:" only */
  assert_string_equal(json_string_value(json_object_get(json_object_get(auths, "new:2"), "auth")), "dTo=");
  assert_string_equal(json_string_value(json_object_get(json_object_get(auths, "new:2"), "identitytoken")), "tok");
  json_decref(j);
  /* logout by hostname removes the http:// spelling too, keeps the rest */
  assert_int_equal(cred_erase(t->path, "other:1", &found, &err), 0);
  assert_true(found);
  assert_int_equal(cred_erase(t->path, "other:1", &found, &err), 0);
  assert_false(found);
  assert_int_equal(json_load_path(t->path, &j, NULL), 0);
  assert_null(json_object_get(json_object_get(j, "auths"), "http://other:1/v2/"));
  assert_non_null(json_object_get(json_object_get(j, "auths"), "new:2"));
  assert_non_null(json_object_get(j, "psFormat"));
  json_decref(j);
}

static void test_bad_file(void **state) {
  struct tmp *t = *state;
  _cleanup_free_ char *sub = xasprintf("%s/sub", t->dir);
  assert_int_equal(mkdir_p(sub, 0700, NULL), 0);
  assert_int_equal(write_file_atomic(t->path, "{nope", 5, 0600, NULL), 0);
  struct berr *err = NULL;
  struct cred c;
  bool found;
  assert_true(cred_get(t->path, "x", &c, &found, &err) < 0);
  assert_non_null(strstr(err->msg, "loading config file"));
  assert_non_null(strstr(err->msg, t->path));
  berr_free(err);
  err = NULL;
  /* a store must not clobber a file it cannot parse */
  assert_true(cred_store(t->path, "x", "u", "p", NULL, &err) < 0);
  berr_free(err);
  eq_free(slurp(t->path), "{nope");
}

static void test_encode(void **s) {
  (void)s;
  struct cred c = {.username = "u", .password = "p", .serveraddress = "127.0.0.1:5000"};
  char *enc = cred_encode(&c);
  char *dec = NULL;
  assert_int_equal(b64_decode(enc, &dec, NULL), 0);
  assert_string_equal(dec, "{\"username\":\"u\",\"password\":\"p\",\"serveraddress\":\"127.0.0.1:5000\"}");
  assert_null(strchr(enc, '+'));
  assert_null(strchr(enc, '/'));
  free(enc);
  free(dec);
  struct cred none = {0};
  eq_free(cred_encode(&none), "e30=");
}

static void test_header_for_ref(void **state) {
  struct tmp *t = *state;
  setenv("DOCKER_CONFIG", t->dir, 1);
  _cleanup_free_ char *path = cred_config_path();
  _cleanup_free_ char *want = xasprintf("%s/config.json", t->dir);
  assert_string_equal(path, want);
  eq_free(cred_header_for_ref("127.0.0.1:5000/busybox"), "X-Registry-Auth: e30=\r\n");
  assert_int_equal(cred_store(path, "127.0.0.1:5000", "u", "p", NULL, NULL), 0);
  char *h = cred_header_for_ref("127.0.0.1:5000/busybox");
  char *dec = NULL;
  h[strlen(h) - 2] = 0;
  assert_int_equal(b64_decode(h + strlen("X-Registry-Auth: "), &dec, NULL), 0);
  assert_string_equal(dec, "{\"username\":\"u\",\"password\":\"p\",\"serveraddress\":\"127.0.0.1:5000\"}");
  free(h);
  free(dec);
  eq_free(cred_header_for_ref("busybox"), "X-Registry-Auth: e30=\r\n");
  unsetenv("DOCKER_CONFIG");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_keys),
      cmocka_unit_test_setup_teardown(test_store_format, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_keeps_other_keys, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_bad_file, setup_tmp, teardown_tmp),
      cmocka_unit_test(test_encode),
      cmocka_unit_test_setup_teardown(test_header_for_ref, setup_tmp, teardown_tmp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
