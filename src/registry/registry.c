/* registry.c — placeholder entry of the distribution client (registry.h). */
#include "registry/registry.h"

const char *registry_client_name(void) { return "berth-registry"; }
