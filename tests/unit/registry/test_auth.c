/* Unit tests of src/registry/auth.c: WWW-Authenticate parsing, the token
 * cache, base64 and the X-Registry-Auth header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "registry/registry_internal.h"

static void test_challenge_bearer(void **state) {
  (void)state;
  struct challenge c;
  assert_int_equal(challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                   "scope=\"repository:library/busybox:pull,push\"",
                                   &c),
                   0);
  assert_string_equal(c.scheme, "bearer");
  assert_string_equal(c.realm, "https://auth.docker.io/token");
  assert_string_equal(c.service, "registry.docker.io");
  assert_string_equal(c.scope, "repository:library/busybox:pull,push"); /* the comma is inside quotes */
  challenge_clear(&c);
  /* spaces after commas, a token value, an escaped quote, an unknown param */
  assert_int_equal(challenge_parse("bearer realm=http://127.0.0.1:5001/token, service=\"a\\\"b\", error=\"x\"", &c), 0);
  assert_string_equal(c.realm, "http://127.0.0.1:5001/token");
  assert_string_equal(c.service, "a\"b");
  assert_null(c.scope);
  challenge_clear(&c);
}

static void test_challenge_basic(void **state) {
  (void)state;
  struct challenge c;
  assert_int_equal(challenge_parse("Basic realm=\"berth-test\"", &c), 0);
  assert_string_equal(c.scheme, "basic");
  assert_string_equal(c.realm, "berth-test");
  challenge_clear(&c);
}

static void test_challenge_malformed(void **state) {
  (void)state;
  struct challenge c;
  assert_int_equal(challenge_parse("", &c), -EINVAL);
  assert_int_equal(challenge_parse("Bearer realm=\"unterminated", &c), -EINVAL);
  assert_int_equal(challenge_parse("Bearer realm", &c), -EINVAL);
  assert_int_equal(challenge_parse("Bearer a=\"1\" b=\"2\"", &c), -EINVAL); /* no comma */
}

static void test_token_cache(void **state) {
  (void)state;
  struct token_cache *tc = token_cache_new();
  assert_null(token_cache_get(tc, "k1", 100));
  token_cache_put(tc, "k1", "tok1", 160);
  token_cache_put(tc, "k2", "tok2", 200);
  char *t = token_cache_get(tc, "k1", 159);
  assert_string_equal(t, "tok1");
  free(t);
  assert_null(token_cache_get(tc, "k1", 160)); /* expired */
  token_cache_put(tc, "k1", "tok1b", 500);     /* replaced */
  t = token_cache_get(tc, "k1", 300);
  assert_string_equal(t, "tok1b");
  free(t);
  t = token_cache_get(tc, "k2", 199);
  assert_string_equal(t, "tok2");
  free(t);
  assert_null(token_cache_get(tc, "k3", 0));
  token_cache_free(tc);
}

static void test_base64(void **state) {
  (void)state;
  char *e = b64_encode("user:pa ss", 10);
  assert_string_equal(e, "dXNlcjpwYSBzcw==");
  size_t n = 0;
  char *d = b64_decode(e, &n);
  assert_int_equal(n, 10);
  assert_memory_equal(d, "user:pa ss", 10);
  free(d);
  free(e);
  /* base64url without padding: "?\?>" → "Pz8-" */
  d = b64_decode("Pz8-", &n);
  assert_string_equal(d, "?\?>");
  free(d);
  assert_null(b64_decode("a", &n));
  assert_null(b64_decode("ab$d", &n));
}

static void test_registry_auth_header(void **state) {
  (void)state;
  const char *json = "{\"username\":\"u\",\"password\":\"p\",\"serveraddress\":\"127.0.0.1:5000\"}";
  char *h = b64_encode(json, strlen(json));
  for (char *c = h; *c; c++) /* as base64url */
    if (*c == '+')
      *c = '-';
    else if (*c == '/')
      *c = '_';
  struct registry_auth a;
  assert_int_equal(registry_auth_decode(h, &a, NULL), 0);
  assert_string_equal(a.username, "u");
  assert_string_equal(a.password, "p");
  assert_string_equal(a.serveraddress, "127.0.0.1:5000");
  assert_null(a.identitytoken);
  registry_auth_clear(&a);
  free(h);
  assert_int_equal(registry_auth_decode(NULL, &a, NULL), 0);
  assert_null(a.username);
  assert_int_equal(registry_auth_decode("e30=", &a, NULL), 0); /* "{}" */
  assert_null(a.username);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_challenge_bearer), cmocka_unit_test(test_challenge_basic),
      cmocka_unit_test(test_challenge_malformed), cmocka_unit_test(test_token_cache),
      cmocka_unit_test(test_base64), cmocka_unit_test(test_registry_auth_header),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
