/* Unit tests of src/registry/endpoint.c: reference domains → endpoints
 * (docker.io, mirrors, plain http for loopback / insecure registries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "registry/registry_internal.h"

static void free_eps(struct endpoint *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    endpoint_clear(&v[i]);
  free(v);
}

static void test_docker_hub(void **state) {
  (void)state;
  struct endpoint *v = NULL;
  size_t n = 0;
  char *mirrors[] = {"https://mirror.example:5000/", "http://127.0.0.1:5001/prefix", "bogus", NULL};
  assert_int_equal(endpoints_for("docker.io", NULL, mirrors, &v, &n, NULL), 0);
  assert_int_equal(n, 3); /* two mirrors (the bogus one skipped), then the hub */
  assert_string_equal(v[0].host, "mirror.example");
  assert_int_equal(v[0].port, 5000);
  assert_true(v[0].tls);
  assert_true(v[0].mirror);
  assert_string_equal(v[0].prefix, "");
  assert_string_equal(v[1].host, "127.0.0.1");
  assert_false(v[1].tls);
  assert_string_equal(v[1].prefix, "/prefix");
  assert_string_equal(v[2].host, "registry-1.docker.io");
  assert_int_equal(v[2].port, 443);
  assert_true(v[2].tls);
  assert_false(v[2].try_plain);
  free_eps(v, n);
}

static void test_private(void **state) {
  (void)state;
  struct endpoint *v = NULL;
  size_t n = 0;
  char *mirrors[] = {"https://mirror.example", NULL};
  assert_int_equal(endpoints_for("127.0.0.1:5000", NULL, mirrors, &v, &n, NULL), 0);
  assert_int_equal(n, 1); /* mirrors are for docker.io only */
  assert_string_equal(v[0].host, "127.0.0.1");
  assert_int_equal(v[0].port, 5000);
  assert_true(v[0].tls);
  assert_true(v[0].try_plain); /* loopback: http allowed */
  free_eps(v, n);
  assert_int_equal(endpoints_for("registry.example.com", NULL, NULL, &v, &n, NULL), 0);
  assert_int_equal(v[0].port, 443);
  assert_false(v[0].try_plain);
  free_eps(v, n);
  assert_int_equal(endpoints_for("[::1]:5000", NULL, NULL, &v, &n, NULL), 0);
  assert_string_equal(v[0].host, "::1");
  assert_int_equal(v[0].port, 5000);
  assert_true(v[0].try_plain);
  free_eps(v, n);
  assert_int_equal(endpoints_for("host:99999", NULL, NULL, &v, &n, NULL), -EINVAL);
}

static void test_insecure(void **state) {
  (void)state;
  char *ins[] = {"reg.example:5000", "10.0.0.0/8", "http://other.example/", NULL};
  assert_true(domain_insecure("localhost:5000", NULL));
  assert_true(domain_insecure("127.1.2.3", NULL));
  assert_false(domain_insecure("reg.example:5000", NULL));
  assert_true(domain_insecure("reg.example:5000", ins));
  assert_false(domain_insecure("reg.example:5001", ins));
  assert_true(domain_insecure("10.1.2.3:5000", ins));
  assert_false(domain_insecure("11.1.2.3:5000", ins));
  assert_true(domain_insecure("other.example", ins));
  assert_true(domain_insecure("other.example:443", ins)); /* a bare host covers its ports */
}

static void test_split_hostport(void **state) {
  (void)state;
  char *h = NULL;
  int port = 0;
  assert_int_equal(split_hostport("example.com", false, &h, &port), 0);
  assert_string_equal(h, "example.com");
  assert_int_equal(port, 80);
  free(h);
  assert_int_equal(split_hostport("[fe80::1]", true, &h, &port), 0);
  assert_string_equal(h, "fe80::1");
  assert_int_equal(port, 443);
  free(h);
  assert_int_equal(split_hostport("h:0", true, &h, &port), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_hub),
      cmocka_unit_test(test_private),
      cmocka_unit_test(test_insecure),
      cmocka_unit_test(test_split_hostport),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
