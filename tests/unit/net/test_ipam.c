/*
 * test_ipam.c — src/net's pure parts: CIDR and address parsing, subnet
 * picking from Docker's default pools and from daemon.json pools (never
 * overlapping what is used), Docker's MAC derivation, port keys, and the
 * nftables ruleset text built from a network table (rules_build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/net_internal.h"

static void test_parse(void **state) {
  (void)state;
  uint32_t a;
  int p;
  assert_int_equal(ipam_parse_cidr("172.18.0.0/16", &a, &p), 0);
  assert_int_equal(a, 0xac120000u);
  assert_int_equal(p, 16);
  assert_int_equal(ipam_parse_cidr("10.1.2.3/33", &a, &p), -EINVAL);
  assert_int_equal(ipam_parse_cidr("10.1.2.3", &a, &p), -EINVAL);
  assert_int_equal(ipam_parse_cidr("10.1.2/24", &a, &p), -EINVAL);
  assert_int_equal(ipam_parse_ip("192.168.1.254", &a), 0);
  char b[16];
  assert_string_equal(ipam_fmt(a, b), "192.168.1.254");
  assert_int_equal(ipam_parse_ip("300.1.1.1", &a), -EINVAL);
}

static void test_overlap(void **state) {
  (void)state;
  assert_true(ipam_overlap(0x0a000000u, 8, 0x0a010000u, 16));
  assert_true(ipam_overlap(0x0a010000u, 16, 0x0a000000u, 8));
  assert_false(ipam_overlap(0x0a010000u, 16, 0x0a020000u, 16));
  assert_true(ipam_overlap(0, 0, 0x0a020000u, 16)); /* a default route covers everything */
}

static void test_pick_default(void **state) {
  (void)state;
  uint32_t out;
  int p;
  _cleanup_json_ json_t *none = json_array();
  assert_int_equal(ipam_pick_subnet(none, NULL, NULL, 0, &out, &p, NULL), 0);
  assert_int_equal(out, 0xac110000u); /* 172.17.0.0/16 */
  assert_int_equal(p, 16);
  /* 172.17/16 taken by a network, 172.18.5/24 by a host route */
  uint32_t used[] = {0xac110000u, 0xac120500u};
  int up[] = {16, 24};
  assert_int_equal(ipam_pick_subnet(none, used, up, 2, &out, &p, NULL), 0);
  assert_int_equal(out, 0xac130000u); /* 172.19.0.0/16 */
  /* every 172.x taken: 192.168.0.0/20 */
  uint32_t all[] = {0xac100000u};
  int ap[] = {12};
  assert_int_equal(ipam_pick_subnet(none, all, ap, 1, &out, &p, NULL), 0);
  assert_int_equal(out, 0xc0a80000u);
  assert_int_equal(p, 20);
}

static void test_pick_pools(void **state) {
  (void)state;
  _cleanup_json_ json_t *pools = json_loads("[{\"base\":\"10.10.0.0/16\",\"size\":24}]", 0, NULL);
  uint32_t used[] = {0x0a0a0000u};
  int up[] = {24};
  uint32_t out;
  int p;
  assert_int_equal(ipam_pick_subnet(pools, used, up, 1, &out, &p, NULL), 0);
  assert_int_equal(out, 0x0a0a0100u);
  assert_int_equal(p, 24);
  uint32_t full[] = {0x0a0a0000u};
  int fp[] = {16};
  struct berr *err = NULL;
  assert_int_equal(ipam_pick_subnet(pools, full, fp, 1, &out, &p, &err), -ENOSPC);
  assert_non_null(strstr(err->msg, "could not find an available, non-overlapping IPv4 address pool"));
  berr_free(err);
}

static void test_mac_ports(void **state) {
  (void)state;
  char b[18], proto[8];
  assert_string_equal(ipam_mac(0xac110002u, b), "02:42:ac:11:00:02");
  int port;
  assert_int_equal(ipam_port_key("80/tcp", &port, proto, sizeof(proto)), 0);
  assert_int_equal(port, 80);
  assert_string_equal(proto, "tcp");
  assert_int_equal(ipam_port_key("53/udp", &port, proto, sizeof(proto)), 0);
  assert_string_equal(proto, "udp");
  assert_int_equal(ipam_port_key("8080", &port, proto, sizeof(proto)), 0);
  assert_string_equal(proto, "tcp");
  assert_int_equal(ipam_port_key("0/tcp", &port, proto, sizeof(proto)), -EINVAL);
  assert_int_equal(ipam_port_key("80/icmp", &port, proto, sizeof(proto)), -EINVAL);
  assert_int_equal(ipam_port_key("99999", &port, proto, sizeof(proto)), -EINVAL);
}

/* rules_build over a table of two bridges, one internal, no endpoints */
static void test_rules(void **state) {
  (void)state;
  struct net_network a = {.driver = "bridge", .bridge = "bra", .has_subnet = true,
                          .subnet = 0x0a010000u, .prefix = 24, .masquerade = true, .icc = true};
  struct net_network b = {.driver = "bridge", .bridge = "brb", .has_subnet = true,
                          .subnet = 0x0a020000u, .prefix = 24, .internal = true, .masquerade = true,
                          .icc = true};
  struct net_network *nets[] = {&a, &b};
  struct net n = {.table = "berth_test", .nets = nets, .n_nets = 2, .userland_proxy = true};
  n.db = NULL;
  _cleanup_free_ char *t = rules_build(&n);
  assert_non_null(strstr(t, "add table ip berth_test\ndelete table ip berth_test\n"));
  assert_non_null(strstr(t, "ip saddr 10.1.0.0/24 oifname != \"bra\" masquerade"));
  assert_null(strstr(t, "ip saddr 10.2.0.0/24")); /* internal: no masquerade */
  assert_non_null(strstr(t, "iifname \"bra\" oifname \"brb\" drop"));
  assert_non_null(strstr(t, "iifname \"brb\" oifname \"bra\" drop"));
  assert_non_null(strstr(t, "iifname \"brb\" oifname != \"brb\" drop"));
  assert_non_null(strstr(t, "ip daddr != 127.0.0.0/8 fib daddr type local jump ports"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),      cmocka_unit_test(test_overlap),
      cmocka_unit_test(test_pick_default), cmocka_unit_test(test_pick_pools),
      cmocka_unit_test(test_mac_ports),  cmocka_unit_test(test_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
