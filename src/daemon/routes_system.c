/* placeholder */
#include "daemon/daemon.h"
const struct http_route routes_system[] = {{NULL}};
