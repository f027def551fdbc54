/*
 * endpoint.c — where a reference's registry is reached.
 *
 *   docker.io        registry-1.docker.io:443 over TLS; registry-mirrors
 *                    (URLs) are tried first, in order, as dockerd does
 *   anything else    host[:port] as written; TLS, except for loopback
 *                    hosts and those in insecure-registries (a host,
 *                    host:port or an IPv4 CIDR), which may use plain
 *                    http: dockerd tries TLS first and falls back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <strings.h>

#include "registry/registry_internal.h"

void endpoint_clear(struct endpoint *e) {
  free(e->host);
  free(e->prefix);
  memset(e, 0, sizeof *e);
}

int split_hostport(const char *hp, bool tls, char **host, int *port) {
  *port = tls ? 443 : 80;
  const char *colon;
  if (hp[0] == '[') {
    const char *rb = strchr(hp, ']');
    if (!rb)
      return -EINVAL;
    *host = xasprintf("%.*s", (int)(rb - hp - 1), hp + 1);
    colon = rb[1] == ':' ? rb + 1 : NULL;
  } else {
    colon = strrchr(hp, ':');
    *host = colon ? xasprintf("%.*s", (int)(colon - hp), hp) : xstrdup(hp);
  }
  if (colon) {
    int64_t p;
    if (parse_int64(colon + 1, &p) < 0 || p <= 0 || p > 65535) {
      free(*host);
      *host = NULL;
      return -EINVAL;
    }
    *port = (int)p;
  }
  return 0;
}

static bool ipv4_in_cidr(const char *ip, const char *cidr) {
  const char *slash = strchr(cidr, '/');
  if (!slash)
    return false;
  char net[64];
  snprintf(net, sizeof net, "%.*s", (int)(slash - cidr), cidr);
  struct in_addr a, n;
  int64_t bits;
  if (inet_pton(AF_INET, ip, &a) != 1 || inet_pton(AF_INET, net, &n) != 1 ||
      parse_int64(slash + 1, &bits) < 0 || bits < 0 || bits > 32)
    return false;
  uint32_t mask = bits == 0 ? 0 : htonl(~0u << (32 - bits));
  return (a.s_addr & mask) == (n.s_addr & mask);
}

static bool host_loopback(const char *host) {
  return strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

bool domain_insecure(const char *domain, char *const *insecure) {
  _cleanup_free_ char *host = NULL;
  int port;
  if (split_hostport(domain, false, &host, &port) < 0)
    return false;
  if (host_loopback(host))
    return true;
  for (size_t i = 0; insecure && insecure[i]; i++) {
    const char *e = insecure[i];
    if (str_has_prefix(e, "http://"))
      e += 7;
    else if (str_has_prefix(e, "https://"))
      e += 8;
    size_t el = strlen(e);
    while (el > 0 && e[el - 1] == '/')
      el--;
    if ((strlen(domain) == el && strncasecmp(domain, e, el) == 0) ||
        (strlen(host) == el && strncasecmp(host, e, el) == 0) || ipv4_in_cidr(host, insecure[i]))
      return true;
  }
  return false;
}

/* A mirror URL ("https://mirror:5000/prefix") → endpoint. */
static int mirror_endpoint(const char *url, char *const *insecure, struct endpoint *e) {
  bool tls = true;
  const char *p = url;
  if (str_has_prefix(p, "https://"))
    p += 8;
  else if (str_has_prefix(p, "http://")) {
    p += 7;
    tls = false;
  } else {
    return -EINVAL;
  }
  size_t hl = strcspn(p, "/");
  _cleanup_free_ char *hp = xasprintf("%.*s", (int)hl, p);
  if (split_hostport(hp, tls, &e->host, &e->port) < 0)
    return -EINVAL;
  e->tls = tls;
  e->try_plain = tls && domain_insecure(hp, insecure);
  e->mirror = true;
  const char *rest = p + hl;
  size_t rl = strlen(rest);
  while (rl > 0 && rest[rl - 1] == '/')
    rl--;
  e->prefix = xasprintf("%.*s", (int)rl, rest);
  return 0;
}

int endpoints_for(const char *domain, char *const *insecure, char *const *mirrors, struct endpoint **out,
                  size_t *n, struct berr **err) {
  struct endpoint *v = xcalloc(strv_len(mirrors) + 1, sizeof *v);
  size_t k = 0;
  bool hub = strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0 ||
             strcmp(domain, "registry-1.docker.io") == 0;
  for (size_t i = 0; hub && mirrors && mirrors[i]; i++)
    if (mirror_endpoint(mirrors[i], insecure, &v[k]) == 0)
      k++;
    else
      endpoint_clear(&v[k]);
  struct endpoint *e = &v[k];
  const char *hp = hub ? "registry-1.docker.io" : domain;
  if (split_hostport(hp, true, &e->host, &e->port) < 0) {
    for (size_t i = 0; i < k; i++)
      endpoint_clear(&v[i]);
    free(v);
    return berr_set(err, EINVAL, "invalid registry address \"%s\"", domain);
  }
  e->tls = true;
  e->try_plain = !hub && domain_insecure(domain, insecure);
  e->prefix = xstrdup("");
  *out = v;
  *n = k + 1;
  return 0;
}
