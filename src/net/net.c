/* net.c — placeholder entry of the network manager (net.h). */
#include "net/net.h"

const char *net_default_bridge(void) { return "berth0"; }
