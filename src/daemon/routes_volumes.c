/*
 * routes_volumes.c — the Engine API's volumes area: /volumes create, list, inspect, remove, prune.
 *
 * (Placeholder: the route table is empty until this area is built.)
 */
#include "daemon/daemon.h"

const struct http_route routes_volumes[] = {
    {NULL},
};
