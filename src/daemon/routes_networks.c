/*
 * routes_networks.c — the Engine API's networks area: /networks create,
 * list, inspect, connect, disconnect, remove, prune. Each handler parses
 * the request, makes one call into src/net (or container_network.c for
 * connect / disconnect, which need the container), publishes Docker's
 * network event and answers in Docker's shape.
 */
#include <string.h>

#include "daemon/container_network.h"
#include "net/net.h"

#define D(r) ((struct daemon *)(r)->ctx)

static void net_event(struct daemon *d, const char *action, const char *id, const char *name,
                      const char *container) {
  json_t *a = json_pack("{s:s,s:s}", "name", name ? name : "", "type", "bridge");
  _cleanup_free_ char *drv = net_driver_of(d->net, id);
  if (drv)
    json_object_set_new(a, "type", json_string(drv));
  if (container)
    json_object_set_new(a, "container", json_string(container));
  events_publish(d->events, "network", action, id, a);
}

static void h_list(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *f = NULL;
  json_t *out = NULL;
  if (filters_parse(http_query(r, "filters"), &f, &e) < 0 ||
      net_api_list(D(r)->net, f, &out, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  http_reply_json(r, 200, out);
}

static void h_inspect(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  json_t *out = NULL;
  if (net_api_inspect(D(r)->net, r->params[0], &out, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  http_reply_json(r, 200, out);
}

static void h_create(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *body = NULL;
  json_t *out = NULL;
  if (http_body_json(r, &body, &e) < 0 || net_api_create(D(r)->net, body, &out, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  net_event(D(r), "create", json_string_value(json_object_get(out, "Id")),
            json_string_value(json_object_get(body, "Name")), NULL);
  http_reply_json(r, 201, out);
}

static void h_remove(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_free_ char *id = NULL, *name = NULL;
  if (net_lookup(D(r)->net, r->params[0], &id, &name, &e) < 0 ||
      net_api_remove(D(r)->net, id, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  events_publish(D(r)->events, "network", "destroy", id,
                 json_pack("{s:s,s:s}", "name", name, "type", "bridge"));
  http_reply_status(r, 204);
}

static void h_prune(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *f = NULL;
  json_t *out = NULL;
  if (filters_parse(http_query(r, "filters"), &f, &e) < 0 ||
      net_api_prune(D(r)->net, f, &out, &e) < 0) {
    http_reply_berr(r, e);
    return;
  }
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(out, "Ids"), i, v) {
    const char *name = json_string_value(json_array_get(json_object_get(out, "NetworksDeleted"), i));
    events_publish(D(r)->events, "network", "destroy", json_string_value(v),
                   json_pack("{s:s,s:s}", "name", name ? name : "", "type", "bridge"));
  }
  json_object_del(out, "Ids");
  events_publish(D(r)->events, "network", "prune", "",
                 json_pack("{s:s}", "reclaimed", "0"));
  http_reply_json(r, 200, out);
}

static void h_connect(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *body = NULL;
  _cleanup_free_ char *id = NULL, *name = NULL;
  const char *ctr = NULL;
  if (http_body_json(r, &body, &e) == 0)
    ctr = json_string_value(json_object_get(body, "Container"));
  if (e == NULL && net_lookup(D(r)->net, r->params[0], &id, &name, &e) == 0)
    ctr_net_connect(D(r), id, ctr ? ctr : "", json_object_get(body, "EndpointConfig"), &e);
  if (e) {
    http_reply_berr(r, e);
    return;
  }
  net_event(D(r), "connect", id, name, ctr);
  http_reply_status(r, 200);
}

static void h_disconnect(struct http_req *r) {
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_json_ json_t *body = NULL;
  _cleanup_free_ char *id = NULL, *name = NULL;
  const char *ctr = NULL;
  if (http_body_json(r, &body, &e) == 0)
    ctr = json_string_value(json_object_get(body, "Container"));
  if (e == NULL && net_lookup(D(r)->net, r->params[0], &id, &name, &e) == 0)
    ctr_net_disconnect(D(r), id, ctr ? ctr : "", json_is_true(json_object_get(body, "Force")),
                       &e);
  if (e) {
    http_reply_berr(r, e);
    return;
  }
  net_event(D(r), "disconnect", id, name, ctr);
  http_reply_status(r, 200);
}

const struct http_route routes_networks[] = {
    {"GET", "/networks", h_list, 0},
    {"GET", "/networks/", h_list, 0},
    {"POST", "/networks/create", h_create, 0},
    {"POST", "/networks/prune", h_prune, 0},
    {"GET", "/networks/{}", h_inspect, 0},
    {"DELETE", "/networks/{}", h_remove, 0},
    {"POST", "/networks/{}/connect", h_connect, 0},
    {"POST", "/networks/{}/disconnect", h_disconnect, 0},
    {NULL, NULL, NULL, 0},
};
