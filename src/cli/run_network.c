/*
 * run_network.c — `run` / `create` options: the network group (run.h):
 * --ip, --ip6, --network-alias, --link, --link-local-ip, --mac-address,
 * --dns-search, --dns-option, --domainname, -P / --publish-all. (--network,
 * --publish, --expose, --dns, --add-host, --hostname stay in cmd_run.c.)
 *
 * As the docker CLI: the endpoint's settings go to
 * NetworkingConfig.EndpointsConfig[<NetworkMode>], --link also to
 * HostConfig.Links; the daemon checks what the network allows
 * (aliases and --ip only on user-defined networks).
 */
#include "cli/run.h"

size_t run_network_flags(struct run_network_opts *o, struct flag *out) {
  size_t n = 0;
  out[n++] = (struct flag){"ip", 0, FLAG_STR, &o->ip, "IPv4 address (e.g., 172.30.100.104)", NULL};
  out[n++] = (struct flag){"ip6", 0, FLAG_STR, &o->ip6, "IPv6 address (e.g., 2001:db8::33)", NULL};
  out[n++] = (struct flag){"mac-address", 0, FLAG_STR, &o->mac,
                           "Container MAC address (e.g., 92:d0:c6:0a:29:33)", NULL};
  out[n++] = (struct flag){"domainname", 0, FLAG_STR, &o->domainname, "Container NIS domain name",
                           NULL};
  out[n++] = (struct flag){"publish-all", 'P', FLAG_BOOL, &o->publish_all,
                           "Publish all exposed ports to random ports", NULL};
  out[n++] = (struct flag){"network-alias", 0, FLAG_STRV, &o->aliases,
                           "Add network-scoped alias for the container", NULL};
  out[n++] = (struct flag){"link", 0, FLAG_STRV, &o->links, "Add link to another container", NULL};
  out[n++] = (struct flag){"link-local-ip", 0, FLAG_STRV, &o->link_local_ip,
                           "Container IPv4/IPv6 link-local addresses", NULL};
  out[n++] = (struct flag){"dns-search", 0, FLAG_STRV, &o->dns_search, "Set custom DNS search domains",
                           NULL};
  out[n++] = (struct flag){"dns-option", 0, FLAG_STRV, &o->dns_option, "Set DNS options", NULL};
  out[n++] = (struct flag){"dns-opt", 0, FLAG_STRV, &o->dns_option, "Set DNS options", NULL};
  return n;
}

static json_t *strv_array(char **v) {
  json_t *a = json_array();
  for (; v && *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

/* "name" → "name:name" (docker's opts.ValidateLink) */
static json_t *links_array(char **v) {
  json_t *a = json_array();
  for (; v && *v; v++)
    json_array_append_new(a, strchr(*v, ':') ? json_string(*v) : json_sprintf("%s:%s", *v, *v));
  return a;
}

int run_network_apply(const struct run_network_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                      struct berr **err) {
  (void)err;
  if (o->mac)
    json_object_set_new(cfg, "MacAddress", json_string(o->mac));
  if (o->domainname)
    json_object_set_new(cfg, "Domainname", json_string(o->domainname));
  if (o->publish_all)
    json_object_set_new(hc, "PublishAllPorts", json_true());
  if (o->dns_search)
    json_object_set_new(hc, "DnsSearch", strv_array(o->dns_search));
  if (o->dns_option)
    json_object_set_new(hc, "DnsOptions", strv_array(o->dns_option));
  if (o->links)
    json_object_set_new(hc, "Links", links_array(o->links));
  if (!o->ip && !o->ip6 && !o->aliases && !o->links && !o->link_local_ip)
    return 0;
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  if (mode == NULL || *mode == '\0')
    mode = "default";
  json_t *ep = json_object();
  if (o->ip || o->ip6 || o->link_local_ip) {
    json_t *ipam = json_object();
    if (o->ip)
      json_object_set_new(ipam, "IPv4Address", json_string(o->ip));
    if (o->ip6)
      json_object_set_new(ipam, "IPv6Address", json_string(o->ip6));
    if (o->link_local_ip)
      json_object_set_new(ipam, "LinkLocalIPs", strv_array(o->link_local_ip));
    json_object_set_new(ep, "IPAMConfig", ipam);
  }
  if (o->aliases)
    json_object_set_new(ep, "Aliases", strv_array(o->aliases));
  if (o->links)
    json_object_set_new(ep, "Links", links_array(o->links));
  json_t *ec = json_object_get(nc, "EndpointsConfig");
  if (!json_is_object(ec)) {
    ec = json_object();
    json_object_set_new(nc, "EndpointsConfig", ec);
  }
  json_object_set_new(ec, mode, ep);
  return 0;
}

void run_network_free(struct run_network_opts *o) {
  strv_free(o->aliases);
  strv_free(o->links);
  strv_free(o->dns_search);
  strv_free(o->dns_option);
  strv_free(o->link_local_ip);
  memset(o, 0, sizeof(*o));
}
