/*
 * routes_networks.c — the Engine API's networks area: /networks create, list, inspect, connect, disconnect, remove, prune.
 *
 * (Placeholder: the route table is empty until this area is built.)
 */
#include "daemon/daemon.h"

const struct http_route routes_networks[] = {
    {NULL},
};
