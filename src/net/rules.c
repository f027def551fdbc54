/*
 * rules.c — berthd's nftables table, rebuilt whole from the network table
 * and the active endpoints after every change, in one transaction
 * ("add table; delete table; table { … }"), so the kernel never holds a
 * half-made ruleset and a restart simply writes it again. The text is
 * written only when it differs from the last one written (nft_apply): most
 * container starts and stops (no published port) change nothing here.
 *
 *   prerouting (nat)   local destination → ports
 *   output (nat)       local destination → ports (not 127/8 when the
 *                      userland proxy serves loopback, as Docker)
 *   ports              one DNAT per published port
 *   postrouting (nat)  masquerade per bridge subnet leaving its bridge;
 *                      hairpin (a container to its own published port);
 *                      127/8 sources leaving a bridge without the proxy
 *                      (route_localnet is set on the bridges then)
 *   forward (filter)   isolation between bridges, internal networks, icc
 */
#include <stdio.h>
#include <string.h>

#include "net/net_internal.h"

struct buf {
  char *s;
  size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void bp(struct buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *x = NULL;
  int n = vasprintf(&x, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = (b->len + (size_t)n + 1) * 2;
    b->s = xrealloc(b->s, b->cap);
  }
  memcpy(b->s + b->len, x, (size_t)n + 1);
  b->len += (size_t)n;
  free(x);
}

static bool is_bridge(const struct net_network *w) {
  return strcmp(w->driver, "bridge") == 0 && w->bridge && w->has_subnet;
}

static void port_rules(struct net *n, struct buf *b, bool dnat) {
  _cleanup_json_ json_t *rows = ep_all(n);
  size_t i, k;
  json_t *r, *p;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    const char *ip = json_string_value(json_object_get(d, "IPAddress"));
    if (!json_is_true(json_object_get(d, "Active")) || ip == NULL || *ip == '\0')
      continue;
    json_array_foreach(json_object_get(d, "Ports"), k, p) {
      const char *proto = json_string_value(json_object_get(p, "proto"));
      int cport = (int)json_integer_value(json_object_get(p, "cport"));
      int hport = (int)json_integer_value(json_object_get(p, "hport"));
      uint32_t hip = (uint32_t)json_integer_value(json_object_get(p, "hip"));
      char hb[16];
      if (dnat) {
        if (hip)
          bp(b, "    ip daddr %s %s dport %d dnat to %s:%d\n", ipam_fmt(hip, hb), proto, hport,
             ip, cport);
        else
          bp(b, "    %s dport %d dnat to %s:%d\n", proto, hport, ip, cport);
      } else {
        bp(b, "    ip saddr %s ip daddr %s %s dport %d masquerade\n", ip, ip, proto, cport);
      }
    }
  }
}

static void forward_rules(struct net *n, struct buf *b) {
  for (size_t i = 0; i < n->n_nets; i++) {
    const struct net_network *a = n->nets[i];
    if (!is_bridge(a))
      continue;
    if (a->internal) {
      bp(b, "    iifname \"%s\" oifname != \"%s\" drop\n", a->bridge, a->bridge);
      bp(b, "    oifname \"%s\" iifname != \"%s\" drop\n", a->bridge, a->bridge);
    }
    if (!a->icc)
      bp(b, "    iifname \"%s\" oifname \"%s\" drop\n", a->bridge, a->bridge);
    for (size_t j = 0; j < n->n_nets; j++) {
      const struct net_network *c = n->nets[j];
      if (j != i && is_bridge(c))
        bp(b, "    iifname \"%s\" oifname \"%s\" drop\n", a->bridge, c->bridge);
    }
  }
}

/* ---- IPv6 (additive): an ip6 table of the same name, made with the first
 * network with EnableIPv6 and dropped with the last. dockerd 20.10 with
 * ip6tables: masquerade of each v6 subnet, the same isolation, and DNAT of
 * published ports to the container's v6 address for v6 destinations. ---- */

static bool is_bridge6(const struct net_network *w) {
  return is_bridge(w) && w->ipv6 && w->has_subnet6;
}

static void port_rules6(struct net *n, struct buf *b, bool dnat) {
  _cleanup_json_ json_t *rows = ep_all(n);
  size_t i, k;
  json_t *r, *p;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    const char *ip = json_string_value(json_object_get(d, "GlobalIPv6Address"));
    if (!json_is_true(json_object_get(d, "Active")) || ip == NULL || *ip == '\0')
      continue;
    json_array_foreach(json_object_get(d, "Ports"), k, p) {
      const char *proto = json_string_value(json_object_get(p, "proto"));
      int cport = (int)json_integer_value(json_object_get(p, "cport"));
      int hport = (int)json_integer_value(json_object_get(p, "hport"));
      if (json_integer_value(json_object_get(p, "hip")) != 0)
        continue; /* bound to one IPv4 address: not for v6 destinations */
      if (dnat)
        bp(b, "    %s dport %d dnat to [%s]:%d\n", proto, hport, ip, cport);
      else
        bp(b, "    ip6 saddr %s ip6 daddr %s %s dport %d masquerade\n", ip, ip, proto, cport);
    }
  }
}

char *rules_build6(struct net *n) {
  bool any = false;
  for (size_t i = 0; i < n->n_nets; i++)
    any |= is_bridge6(n->nets[i]);
  if (!any)
    return n->table6 ? xasprintf("add table ip6 %s\ndelete table ip6 %s\n", n->table, n->table)
                     : xstrdup("");
  struct buf b = {0};
  bp(&b, "add table ip6 %s\ndelete table ip6 %s\ntable ip6 %s {\n", n->table, n->table, n->table);
  bp(&b, "  chain ports {\n");
  port_rules6(n, &b, true);
  bp(&b, "  }\n");
  bp(&b, "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
         "    fib daddr type local jump ports\n  }\n");
  bp(&b, "  chain output {\n    type nat hook output priority -100; policy accept;\n"
         "    ip6 daddr != ::1 fib daddr type local jump ports\n  }\n");
  bp(&b, "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
  for (size_t i = 0; i < n->n_nets; i++) {
    const struct net_network *w = n->nets[i];
    char sb[INET6_ADDRSTRLEN];
    if (is_bridge6(w) && w->masquerade && !w->internal)
      bp(&b, "    ip6 saddr %s/%d oifname != \"%s\" masquerade\n", ipam6_fmt(&w->subnet6, sb),
         w->prefix6, w->bridge);
  }
  port_rules6(n, &b, false);
  bp(&b, "  }\n");
  bp(&b, "  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
  forward_rules(n, &b);
  bp(&b, "  }\n}\n");
  return b.s;
}

char *rules_build(struct net *n) {
  struct buf b = {0};
  bp(&b, "add table ip %s\ndelete table ip %s\ntable ip %s {\n", n->table, n->table, n->table);
  bp(&b, "  chain ports {\n");
  port_rules(n, &b, true);
  bp(&b, "  }\n");
  bp(&b, "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
         "    fib daddr type local jump ports\n  }\n");
  bp(&b, "  chain output {\n    type nat hook output priority -100; policy accept;\n"
         "    %sfib daddr type local jump ports\n  }\n",
     n->userland_proxy ? "ip daddr != 127.0.0.0/8 " : "");
  bp(&b, "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
  for (size_t i = 0; i < n->n_nets; i++) {
    const struct net_network *w = n->nets[i];
    char sb[16];
    if (!is_bridge(w))
      continue;
    if (w->masquerade && !w->internal)
      bp(&b, "    ip saddr %s/%d oifname != \"%s\" masquerade\n", ipam_fmt(w->subnet, sb),
         w->prefix, w->bridge);
    if (!n->userland_proxy)
      bp(&b, "    oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", w->bridge);
  }
  port_rules(n, &b, false);
  bp(&b, "  }\n");
  bp(&b, "  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
  forward_rules(n, &b);
  bp(&b, "  }\n}\n");
  return b.s;
}

/* Unchanged text (a container without published ports starting or
 * stopping): nothing is written, not even the sysctls, which only a new
 * bridge (and so a new text) needs. */
int rules_apply(struct net *n, struct berr **err) {
  if (!n->iptables)
    return 0;
  _cleanup_free_ char *v4 = rules_build(n);
  _cleanup_free_ char *v6 = rules_build6(n);
  _cleanup_free_ char *txt = xasprintf("%s%s", v4, v6);
  if (nft_is_applied(n->nft, txt))
    return 0;
  if (!n->userland_proxy)
    for (size_t i = 0; i < n->n_nets; i++)
      if (is_bridge(n->nets[i])) {
        _cleanup_free_ char *k = xasprintf("net/ipv4/conf/%s/route_localnet", n->nets[i]->bridge);
        nl_sysctl(k, "1");
      }
  int rc = nft_apply(&n->nft, txt, err);
  if (rc < 0)
    log_debug("nftables ruleset that failed:\n%s", txt);
  else
    n->table6 = strchr(v6, '{') != NULL;
  return rc;
}
