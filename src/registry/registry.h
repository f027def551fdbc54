/*
 * registry.h — the distribution client (OCI distribution spec): reference
 * resolution against a registry, auth (anonymous, basic, bearer token),
 * pull into the store, push from it. Lower layer than the daemon: it knows
 * the store (store.h) and common/, nothing above.
 *
 * (Placeholder while the issue "Images, layers and registries" is built.)
 */
#pragma once

#include "common/common.h"
#include "store/store.h"

/* The library's version string, for logs. */
const char *registry_client_name(void);
