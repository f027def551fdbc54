/*
 * routes_build.c — the Engine API's builder area: POST /build, POST /build/prune.
 *
 * (Placeholder: the route table is empty until this area is built.)
 */
#include "daemon/daemon.h"

const struct http_route routes_build[] = {
    {NULL},
};
