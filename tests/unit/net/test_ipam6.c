/*
 * test_ipam6.c — src/net's IPv6 arithmetic (parsing, masks, overlap, the
 * carry of ipam6_add, dockerd's MAC-derived addresses) and the ip6 nftables
 * table text (rules_build6: made with the first IPv6 network, dropped after
 * the last, nothing at all without one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/net_internal.h"

static struct in6_addr ip6(const char *s) {
  struct in6_addr a;
  assert_int_equal(ipam6_parse_ip(s, &a), 0);
  return a;
}

static void test_parse6(void **state) {
  (void)state;
  struct in6_addr a;
  int p;
  char b[INET6_ADDRSTRLEN];
  assert_int_equal(ipam6_parse_cidr("fd00:1:2::5/64", &a, &p), 0);
  assert_int_equal(p, 64);
  assert_string_equal(ipam6_fmt(&a, b), "fd00:1:2::5"); /* as written: not masked */
  ipam6_mask(&a, 64);
  assert_string_equal(ipam6_fmt(&a, b), "fd00:1:2::");
  assert_int_equal(ipam6_parse_cidr("fd00::/129", &a, &p), -EINVAL);
  assert_int_equal(ipam6_parse_cidr("fd00::/xx", &a, &p), -EINVAL);
  assert_int_equal(ipam6_parse_cidr("fd00::", &a, &p), -EINVAL);
  assert_int_equal(ipam6_parse_cidr("10.0.0.0/8", &a, &p), -EINVAL); /* not IPv6 */
  assert_int_equal(ipam6_parse_ip("10.0.0.1", &a), -EINVAL);
  assert_int_equal(ipam6_parse_ip("fd00::zz", &a), -EINVAL);
  /* a mask that is not a multiple of 8 */
  a = ip6("fd00:1:2:3:ffff::1");
  ipam6_mask(&a, 66);
  assert_string_equal(ipam6_fmt(&a, b), "fd00:1:2:3:c000::");
  ipam6_mask(&a, 0);
  assert_string_equal(ipam6_fmt(&a, b), "::");
}

static void test_overlap6(void **state) {
  (void)state;
  struct in6_addr a = ip6("fd00:1::"), b = ip6("fd00:1:0:0:1::"), c = ip6("fd00:2::");
  assert_true(ipam6_overlap(&a, 64, &b, 80));
  assert_true(ipam6_overlap(&b, 80, &a, 64));
  assert_false(ipam6_overlap(&a, 64, &c, 64));
  assert_true(ipam6_overlap(&a, 8, &c, 64));
  struct in6_addr host = ip6("fd00:1::99");
  assert_true(ipam6_overlap(&host, 128, &a, 64));
  assert_false(ipam6_overlap(&host, 128, &c, 64));
}

static void test_add6(void **state) {
  (void)state;
  char b[INET6_ADDRSTRLEN];
  struct in6_addr a = ip6("fd00::ffff");
  ipam6_add(&a, 1);
  assert_string_equal(ipam6_fmt(&a, b), "fd00::1:0"); /* carried */
  a = ip6("fd00::ffff:ffff:ffff:ffff");
  ipam6_add(&a, 2);
  assert_string_equal(ipam6_fmt(&a, b), "fd00:0:0:1::1"); /* into the upper 64 bits */
  assert_true(ipam6_eq(&a, &a));
}

static void test_mac6(void **state) {
  (void)state;
  char b[INET6_ADDRSTRLEN];
  struct in6_addr net = ip6("2001:db8:1::"), out;
  assert_int_equal(ipam6_from_mac(&net, 64, "02:42:ac:11:00:02", &out), 0);
  assert_string_equal(ipam6_fmt(&out, b), "2001:db8:1::242:ac11:2"); /* dockerd's */
  assert_int_equal(ipam6_from_mac(&net, 80, "02:42:ac:11:00:03", &out), 0);
  assert_int_equal(ipam6_from_mac(&net, 96, "02:42:ac:11:00:02", &out), -EINVAL); /* < 48 host bits */
  assert_int_equal(ipam6_from_mac(&net, 64, "nonsense", &out), -EINVAL);
}

static void test_rules6(void **state) {
  (void)state;
  struct net_network a = {.driver = "bridge", .bridge = "bra", .has_subnet = true,
                          .subnet = 0x0a010000u, .prefix = 24, .masquerade = true, .icc = true,
                          .ipv6 = true, .has_subnet6 = true, .prefix6 = 64};
  a.subnet6 = ip6("fd00:1::");
  struct net_network b = {.driver = "bridge", .bridge = "brb", .has_subnet = true,
                          .subnet = 0x0a020000u, .prefix = 24, .masquerade = true, .icc = true};
  struct net_network *nets[] = {&a, &b};
  struct net n = {.table = "berth_test", .nets = nets, .n_nets = 2, .userland_proxy = true};
  _cleanup_free_ char *t = rules_build6(&n);
  assert_non_null(strstr(t, "add table ip6 berth_test\ndelete table ip6 berth_test\n"));
  assert_non_null(strstr(t, "ip6 saddr fd00:1::/64 oifname != \"bra\" masquerade"));
  assert_non_null(strstr(t, "iifname \"bra\" oifname \"brb\" drop"));
  assert_non_null(strstr(t, "ip6 daddr != ::1 fib daddr type local jump ports"));
  /* internal: no masquerade */
  a.internal = true;
  _cleanup_free_ char *ti = rules_build6(&n);
  assert_null(strstr(ti, "masquerade"));
  /* no IPv6 network: the table goes if it was made, else nothing at all */
  a.ipv6 = false;
  n.table6 = true;
  _cleanup_free_ char *gone = rules_build6(&n);
  assert_string_equal(gone, "add table ip6 berth_test\ndelete table ip6 berth_test\n");
  n.table6 = false;
  _cleanup_free_ char *none = rules_build6(&n);
  assert_string_equal(none, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse6), cmocka_unit_test(test_overlap6), cmocka_unit_test(test_add6),
      cmocka_unit_test(test_mac6),   cmocka_unit_test(test_rules6),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
