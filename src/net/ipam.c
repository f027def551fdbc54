/*
 * ipam.c — IPv4 address arithmetic for the network manager: CIDR parsing,
 * picking a free subnet from the address pools, Docker's MAC derivation,
 * port keys. Pure functions (no state, no I/O): tests/unit/net/test_ipam.c.
 *
 * Addresses are uint32_t in host byte order everywhere in src/net.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "net/net.h"

int ipam_parse_ip(const char *s, uint32_t *out) {
  struct in_addr a;
  if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
    return -EINVAL;
  *out = ntohl(a.s_addr);
  return 0;
}

int ipam_parse_cidr(const char *s, uint32_t *addr, int *prefix) {
  if (s == NULL)
    return -EINVAL;
  const char *slash = strchr(s, '/');
  if (slash == NULL || slash - s >= 16)
    return -EINVAL;
  char ip[16];
  memcpy(ip, s, (size_t)(slash - s));
  ip[slash - s] = '\0';
  int64_t p;
  if (parse_int64(slash + 1, &p) < 0 || p < 0 || p > 32)
    return -EINVAL;
  if (ipam_parse_ip(ip, addr) < 0)
    return -EINVAL;
  *prefix = (int)p;
  return 0;
}

const char *ipam_fmt(uint32_t a, char *buf) {
  snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return buf;
}

const char *ipam_mac(uint32_t ip, char *buf) {
  snprintf(buf, 18, "02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
           ip & 255);
  return buf;
}

int ipam_port_key(const char *key, int *port, char *proto, size_t proto_len) {
  if (key == NULL)
    return -EINVAL;
  const char *slash = strchr(key, '/');
  size_t n = slash ? (size_t)(slash - key) : strlen(key);
  char num[16];
  if (n == 0 || n >= sizeof(num))
    return -EINVAL;
  memcpy(num, key, n);
  num[n] = '\0';
  int64_t p;
  if (parse_int64(num, &p) < 0 || p < 1 || p > 65535)
    return -EINVAL;
  const char *pr = slash ? slash + 1 : "tcp";
  if (strcmp(pr, "tcp") && strcmp(pr, "udp") && strcmp(pr, "sctp"))
    return -EINVAL;
  snprintf(proto, proto_len, "%s", pr);
  *port = (int)p;
  return 0;
}

/* Docker 20.10's predefined local pools: 172.17-31.0.0/16, then
 * 192.168.0.0/16 cut in /20s. */
struct pool {
  uint32_t base;
  int prefix, size;
};

static size_t default_pools(struct pool *out) {
  size_t n = 0;
  for (uint32_t b = 17; b <= 31; b++)
    out[n++] = (struct pool){(172u << 24) | (b << 16), 16, 16};
  out[n++] = (struct pool){(192u << 24) | (168u << 16), 16, 20};
  return n;
}

static size_t user_pools(const json_t *pools, struct pool *out, size_t cap) {
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(pools, i, v) {
    uint32_t a;
    int p;
    json_int_t sz = json_integer_value(json_object_get(v, "size"));
    if (n < cap && ipam_parse_cidr(json_string_value(json_object_get(v, "base")), &a, &p) == 0 &&
        sz >= p && sz <= 30)
      out[n++] = (struct pool){a & ipam_mask(p), p, (int)sz};
  }
  return n;
}

static bool used_overlap(uint32_t a, int p, const uint32_t *used, const int *up, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (ipam_overlap(a, p, used[i], up[i]))
      return true;
  return false;
}

int ipam_pick_subnet(const json_t *pools, const uint32_t *used, const int *used_prefix, size_t n,
                     uint32_t *out, int *out_prefix, struct berr **err) {
  struct pool pl[64];
  size_t np = json_array_size(pools) ? user_pools(pools, pl, 64) : default_pools(pl);
  for (size_t i = 0; i < np; i++) {
    uint64_t count = 1ull << (pl[i].size - pl[i].prefix);
    uint64_t step = 1ull << (32 - pl[i].size);
    for (uint64_t k = 0; k < count; k++) {
      uint32_t a = (uint32_t)(pl[i].base + k * step);
      if (!used_overlap(a, pl[i].size, used, used_prefix, n)) {
        *out = a;
        *out_prefix = pl[i].size;
        return 0;
      }
    }
  }
  return berr_set(err, ENOSPC,
                  "could not find an available, non-overlapping IPv4 address pool among the "
                  "defaults to assign to the network");
}

/* ---- IPv6 (struct in6_addr, network byte order as the kernel's) ---- */

int ipam6_parse_ip(const char *s, struct in6_addr *out) {
  if (s == NULL || strchr(s, ':') == NULL || inet_pton(AF_INET6, s, out) != 1)
    return -EINVAL;
  return 0;
}

int ipam6_parse_cidr(const char *s, struct in6_addr *addr, int *prefix) {
  const char *slash = s ? strchr(s, '/') : NULL;
  if (slash == NULL || slash - s >= INET6_ADDRSTRLEN)
    return -EINVAL;
  char ip[INET6_ADDRSTRLEN];
  memcpy(ip, s, (size_t)(slash - s));
  ip[slash - s] = '\0';
  int64_t p;
  if (parse_int64(slash + 1, &p) < 0 || p < 0 || p > 128 || ipam6_parse_ip(ip, addr) < 0)
    return -EINVAL;
  *prefix = (int)p;
  return 0;
}

const char *ipam6_fmt(const struct in6_addr *a, char *buf) {
  if (inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN) == NULL)
    snprintf(buf, INET6_ADDRSTRLEN, "::");
  return buf;
}

void ipam6_mask(struct in6_addr *a, int prefix) {
  for (int i = 0; i < 16; i++) {
    int bits = prefix - 8 * i;
    if (bits >= 8)
      continue;
    a->s6_addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
  }
}

bool ipam6_overlap(const struct in6_addr *a, int pa, const struct in6_addr *b, int pb) {
  struct in6_addr x = *a, y = *b;
  int p = pa < pb ? pa : pb;
  ipam6_mask(&x, p);
  ipam6_mask(&y, p);
  return memcmp(&x, &y, sizeof(x)) == 0;
}

bool ipam6_eq(const struct in6_addr *a, const struct in6_addr *b) {
  return memcmp(a, b, sizeof(*a)) == 0;
}

/* a + k, carried through all 128 bits. */
void ipam6_add(struct in6_addr *a, uint64_t k) {
  for (int i = 15; i >= 0 && k; i--) {
    uint64_t v = a->s6_addr[i] + (k & 0xff);
    a->s6_addr[i] = (uint8_t)v;
    k = (k >> 8) + (v >> 8);
  }
}

/* dockerd's bridge driver on a fixed-cidr-v6 of at least 48 host bits: the
 * subnet with the MAC in its last 6 bytes (02:42:ac:11:00:02 → …::242:ac11:2). */
int ipam6_from_mac(const struct in6_addr *subnet, int prefix, const char *mac,
                   struct in6_addr *out) {
  unsigned m[6];
  if (prefix > 80 || mac == NULL ||
      sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
    return -EINVAL;
  *out = *subnet;
  ipam6_mask(out, prefix);
  for (int i = 0; i < 6; i++)
    out->s6_addr[10 + i] |= (uint8_t)m[i];
  return 0;
}
