/*
 * container_network.h — a container's networks (container_network.c), the
 * container manager's side of src/net: endpoints recorded at create, plumbed
 * at start into a namespace of berthd's own (<exec-root>/netns/<id12>),
 * released at stop, dropped at remove; /etc/hosts and /etc/resolv.conf with
 * the addresses; inspect's NetworkSettings; network connect / disconnect.
 */
#pragma once

#include "daemon/container_internal.h"

/* Create: check NetworkMode / NetworkingConfig (body is the create request),
 * record the endpoints (inactive). Docker's errors ("network X not found"). */
int ctr_net_create(struct daemon *d, struct container *c, const json_t *body, struct berr **err);
/* Start: for bridge / user networks make the namespace, plumb every
 * endpoint, write hosts and resolv.conf, start the DNS; *netns the namespace
 * path for the spec (left untouched for host / none / container: modes). */
int ctr_net_start(struct daemon *d, struct container *c, const json_t *cfg, const json_t *hc,
                  char **netns, struct berr **err);
/* The run ended (or its start failed): release addresses, ports, veths, the namespace. */
void ctr_net_stop(struct daemon *d, struct container *c);
/* The container is removed: forget its endpoints. */
void ctr_net_remove(struct daemon *d, struct container *c);
/* Fill inspect's NetworkSettings `ns` (Networks, Ports, legacy fields). Called
 * with c->lock held. */
void ctr_net_inspect(struct daemon *d, const struct container *c, json_t *ns);
/* Fill a /containers/json entry's NetworkSettings.Networks and Ports. c->lock held. */
void ctr_net_list(struct daemon *d, const struct container *c, json_t *entry);
/* POST /networks/{id}/connect and /disconnect. */
int ctr_net_connect(struct daemon *d, const char *network, const char *container,
                    const json_t *endpoint_config, struct berr **err);
int ctr_net_disconnect(struct daemon *d, const char *network, const char *container, bool force,
                       struct berr **err);
/* The container was renamed (name without "/"): the embedded DNS answers the
 * new name from now on, and no longer the old one. */
void ctr_net_rename(struct daemon *d, const struct container *c, const char *name);
