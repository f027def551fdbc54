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
