/*
 * dnsctl.c — drives src/net/dns.c and src/net/proxy.c on their own, without berthd,
 * for tests/system/network-dns.bats and for poking by hand.
 *
 *   dnsctl dns --netns PATH [--names FILE] [--upstream IP[:PORT]]... [--key KEY] [--ready FILE]
 *       serve 127.0.0.11:53 inside the network namespace PATH (e.g. /run/netns/x) with
 *       a static table: each line of FILE is "NAME ADDR [ADDR...]" (A/AAAA; PTR of each
 *       ADDR answers the first NAME that lists it) or "!NAME" (answered NXDOMAIN, never
 *       forwarded); other names go to the upstreams.
 *       SIGUSR1: dns_server_remove, SIGUSR2: add again, SIGTERM/SIGINT: free and exit 0.
 *   dnsctl proxy [--udp-timeout S] [--ready FILE] PROTO:HOSTIP:HOSTPORT:TARGETIP:TARGETPORT...
 *       (IPv6 addresses in brackets) proxy the mappings; the ready file gets one line per
 *       mapping with the bound host port. SIGUSR1: remove every mapping, SIGTERM: exit 0.
 * The ready file is written once serving has begun. Errors: message on stderr, exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/socket.h>

#include "net/dns.h"
#include "net/proxy.h"

struct entry {
  char *name;
  bool nxdomain;
  size_t n;
  struct dns_addr addrs[DNS_MAX_ADDRS];
};

struct table {
  struct entry *e;
  size_t n;
};

static int table_load(const char *path, struct table *t, struct berr **err) {
  _cleanup_free_ char *data = NULL;
  int r = read_file(path, &data, NULL, err);
  if (r < 0)
    return r;
  for (char *s1 = NULL, *line = strtok_r(data, "\n", &s1); line; line = strtok_r(NULL, "\n", &s1)) {
    char *s2 = NULL, *name = strtok_r(line, " \t", &s2);
    if (!name || name[0] == '#')
      continue;
    t->e = xrealloc(t->e, (t->n + 1) * sizeof *t->e);
    struct entry *e = &t->e[t->n++];
    memset(e, 0, sizeof *e);
    e->nxdomain = name[0] == '!';
    e->name = xstrdup(name + (e->nxdomain ? 1 : 0));
    for (char *a = strtok_r(NULL, " \t", &s2); a && e->n < DNS_MAX_ADDRS; a = strtok_r(NULL, " \t", &s2)) {
      struct dns_addr *d = &e->addrs[e->n];
      if (inet_pton(AF_INET, a, &d->v4) == 1)
        d->family = AF_INET;
      else if (inet_pton(AF_INET6, a, &d->v6) == 1)
        d->family = AF_INET6;
      else
        return berr_set(err, EINVAL, "%s: bad address %s", path, a);
      e->n++;
    }
  }
  return 0;
}

static void table_free(struct table *t) {
  for (size_t i = 0; i < t->n; i++)
    free(t->e[i].name);
  free(t->e);
}

static bool addr_eq(const struct dns_addr *a, const struct dns_addr *b) {
  if (a->family != b->family)
    return false;
  return a->family == AF_INET ? memcmp(&a->v4, &b->v4, 4) == 0 : memcmp(&a->v6, &b->v6, 16) == 0;
}

static int lookup(void *ctx, const char *key, const char *name, uint16_t qtype, struct dns_lookup_result *res) {
  const struct table *t = ctx;
  if (qtype == DNS_TYPE_PTR) {
    struct dns_addr want;
    if (inet_pton(AF_INET, name, &want.v4) == 1)
      want.family = AF_INET;
    else if (inet_pton(AF_INET6, name, &want.v6) == 1)
      want.family = AF_INET6;
    else
      return DNS_LOOKUP_FORWARD;
    for (size_t i = 0; i < t->n; i++)
      for (size_t j = 0; j < t->e[i].n; j++)
        if (addr_eq(&t->e[i].addrs[j], &want)) {
          snprintf(res->ptr_name, sizeof res->ptr_name, "%s", t->e[i].name);
          return DNS_LOOKUP_FOUND;
        }
    return DNS_LOOKUP_FORWARD;
  }
  for (size_t i = 0; i < t->n; i++) {
    if (strcasecmp(t->e[i].name, name) != 0)
      continue;
    if (t->e[i].nxdomain)
      return DNS_LOOKUP_NXDOMAIN;
    res->n_addrs = t->e[i].n;
    memcpy(res->addrs, t->e[i].addrs, t->e[i].n * sizeof res->addrs[0]);
    return DNS_LOOKUP_FOUND;
  }
  return DNS_LOOKUP_FORWARD;
}

static int write_ready(const char *path, const char *text, struct berr **err) {
  if (!path)
    return 0;
  return write_file_replace(path, text, strlen(text), 0644, err);
}

/* Block the control signals and return the set to sigwait on. */
static sigset_t control_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts: they inherit it */
  return set;
}

static int cmd_dns(int argc, char **argv, struct berr **err) {
  static const struct option lo[] = {{"netns", 1, 0, 'n'}, {"names", 1, 0, 'f'}, {"upstream", 1, 0, 'u'},
                                     {"key", 1, 0, 'k'},   {"ready", 1, 0, 'r'}, {0, 0, 0, 0}};
  const char *netns = NULL, *names = NULL, *key = "test", *ready = NULL;
  _cleanup_strv_ char **ups = xcalloc(1, sizeof(char *));
  int c;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case 'n': netns = optarg; break;
    case 'f': names = optarg; break;
    case 'u': ups = strv_append(ups, xstrdup(optarg)); break;
    case 'k': key = optarg; break;
    case 'r': ready = optarg; break;
    default: return berr_set(err, EINVAL, "dns: bad option");
    }
  }
  if (!netns)
    return berr_set(err, EINVAL, "dns: --netns is required");
  struct table t = {0};
  struct dns_server *s = NULL;
  int r = names ? table_load(names, &t, err) : 0;
  _cleanup_close_ int nsfd = r < 0 ? -1 : open(netns, O_RDONLY | O_CLOEXEC);
  if (r == 0 && nsfd < 0)
    r = berr_sys(err, errno, "open %s", netns);
  sigset_t set = control_signals();
  if (r == 0)
    r = dns_server_new(&s, lookup, &t, err);
  if (r == 0)
    r = dns_server_add(s, key, nsfd, ups, err);
  if (r == 0)
    r = write_ready(ready, "ready\n", err);
  for (int sig = 0; r == 0 && sigwait(&set, &sig) == 0;) {
    if (sig == SIGUSR1)
      dns_server_remove(s, key);
    else if (sig == SIGUSR2)
      r = dns_server_add(s, key, nsfd, ups, err);
    else
      break;
    if (r == 0)
      r = write_ready(ready, sig == SIGUSR1 ? "removed\n" : "ready\n", err);
  }
  dns_server_free(s);
  table_free(&t);
  return r;
}

/* PROTO:HOSTIP:HOSTPORT:TARGETIP:TARGETPORT with [v6] addresses. */
static int map_parse(char *spec, char **f) {
  for (int i = 0; i < 5; i++) {
    if (i == 4) {
      f[i] = spec;
      return 0;
    }
    if (*spec == '[') {
      char *e = strchr(spec, ']');
      if (!e || e[1] != ':')
        return -EINVAL;
      *e = '\0';
      f[i] = spec + 1;
      spec = e + 2;
      continue;
    }
    char *colon = strchr(spec, ':');
    if (!colon)
      return -EINVAL;
    *colon = '\0';
    f[i] = spec;
    spec = colon + 1;
  }
  return 0;
}

struct map_spec {
  char *proto, *hip, *tip;
  uint16_t hport, tport;
};

static int cmd_proxy(int argc, char **argv, struct berr **err) {
  static const struct option lo[] = {{"udp-timeout", 1, 0, 't'}, {"ready", 1, 0, 'r'}, {0, 0, 0, 0}};
  const char *ready = NULL;
  int64_t timeout = -1;
  int c;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    if (c == 't' && parse_int64(optarg, &timeout) == 0)
      continue;
    if (c == 'r') {
      ready = optarg;
      continue;
    }
    return berr_set(err, EINVAL, "proxy: bad option");
  }
  size_t n = (size_t)(argc - optind);
  _cleanup_free_ struct map_spec *ms = xcalloc(n + 1, sizeof *ms);
  for (size_t i = 0; i < n; i++) {
    char *f[5];
    int64_t hp, tp;
    if (map_parse(argv[optind + (int)i], f) < 0 || parse_int64(f[2], &hp) < 0 || parse_int64(f[4], &tp) < 0 ||
        hp < 0 || hp > 65535 || tp < 1 || tp > 65535)
      return berr_set(err, EINVAL, "proxy: bad mapping %s", argv[optind + (int)i]);
    ms[i] = (struct map_spec){f[0], f[1], f[3], (uint16_t)hp, (uint16_t)tp};
  }
  sigset_t set = control_signals();
  struct proxy *p = NULL;
  int r = proxy_new(&p, err);
  if (r == 0 && timeout >= 0)
    proxy_set_udp_timeout(p, (unsigned)timeout);
  _cleanup_free_ char *lines = xstrdup("");
  for (size_t i = 0; r == 0 && i < n; i++) {
    uint16_t bound;
    r = proxy_add(p, ms[i].proto, ms[i].hip, ms[i].hport, ms[i].tip, ms[i].tport, &bound, err);
    if (r == 0) {
      char *nl = xasprintf("%s%u\n", lines, bound);
      free(lines);
      lines = nl;
      ms[i].hport = bound;
    }
  }
  if (r == 0)
    r = write_ready(ready, lines, err);
  for (int sig = 0; r == 0 && sigwait(&set, &sig) == 0;) {
    if (sig != SIGUSR1)
      break;
    for (size_t i = 0; i < n; i++)
      proxy_remove(p, ms[i].proto, ms[i].hip, ms[i].hport);
    r = write_ready(ready, "removed\n", err);
  }
  proxy_free(p);
  return r;
}

int main(int argc, char **argv) {
  _cleanup_berr_ struct berr *err = NULL;
  if (argc < 2) {
    fprintf(stderr, "usage: dnsctl dns|proxy ...\n");
    return 1;
  }
  int r;
  if (strcmp(argv[1], "dns") == 0)
    r = cmd_dns(argc - 1, argv + 1, &err);
  else if (strcmp(argv[1], "proxy") == 0)
    r = cmd_proxy(argc - 1, argv + 1, &err);
  else
    r = berr_set(&err, EINVAL, "unknown command %s", argv[1]);
  if (r < 0) {
    fprintf(stderr, "dnsctl: %s\n", err ? err->msg : strerror(-r));
    return 1;
  }
  return 0;
}
