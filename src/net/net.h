/*
 * net.h — container networking: drivers (bridge, host, none, container:,
 * macvlan, ipvlan), IPAM, veth/addresses/routes over netlink (libnl-route-3),
 * NAT and published ports in nftables, the embedded DNS server.
 *
 * (Placeholder while the issue "Networking: bridge, ports, DNS" is built.)
 */
#pragma once

#include "common/common.h"

/* The default bridge device's name. */
const char *net_default_bridge(void);
