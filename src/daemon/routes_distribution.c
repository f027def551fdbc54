/*
 * routes_distribution.c — the Engine API's registry area: image pull (POST /images/create), push, /auth, /distribution/{name}/json.
 *
 * (Placeholder: the route table is empty until this area is built.)
 */
#include "daemon/daemon.h"

const struct http_route routes_distribution[] = {
    {NULL},
};
