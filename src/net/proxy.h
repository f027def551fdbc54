/*
 * proxy.h — berthd's userland port proxy: what docker-proxy does, as one epoll
 * thread inside berthd instead of one process per published port.
 *
 * Each mapping listens on host_ip:host_port and forwards to target_ip:target_port
 * (the container's address on its bridge):
 *   - TCP: each accepted connection gets a non-blocking connect to the target, then
 *     bytes move both ways with splice() through a pipe per direction; EOF from one
 *     side is passed on as shutdown(SHUT_WR) to the other (half-close), the pair is
 *     closed when both directions are done or on any error (reset).
 *   - UDP: a flow table keyed by the client's address; each flow has its own
 *     socket connected to the target, replies go back to that client from the
 *     listening socket; a flow idle for PROXY_UDP_TIMEOUT_DEFAULT seconds is dropped
 *     (docker-proxy's UDPConnTrackTimeout is 90 s).
 * The listening socket is bound in proxy_add itself, so a port conflict is reported
 * synchronously, in Docker's words (the daemon prefixes "Error starting userland proxy: "):
 *   "listen tcp4 0.0.0.0:8080: bind: address already in use"
 *
 * Thread safety: every function may be called from any thread; proxy_remove closes the
 * listening socket and every connection / flow of that mapping before it returns.
 */
#pragma once

#include <stdint.h>

#include "common/common.h"

#define PROXY_UDP_TIMEOUT_DEFAULT 90

struct proxy;

/* Create the proxy and start its thread. */
int proxy_new(struct proxy **out, struct berr **err);

/*
 * Add a mapping.
 *   proto        "tcp" or "udp" ("sctp": -ENOTSUP, "userland proxy: sctp is not supported")
 *   host_ip      "0.0.0.0", "127.0.0.1", "::", "::1", ...; NULL or "" means "0.0.0.0".
 *                IPv6 listeners are IPV6_V6ONLY (Docker binds the two families separately).
 *   host_port    0: the kernel picks one (see *bound_port)
 *   target_ip    the container's address (either family)
 * *bound_port (may be NULL) receives the port actually bound.
 * -EEXIST when (proto, host_ip, host_port) is already a mapping of this proxy;
 * bind failures are -errno with Docker's message (above).
 */
int proxy_add(struct proxy *p, const char *proto, const char *host_ip, uint16_t host_port,
              const char *target_ip, uint16_t target_port, uint16_t *bound_port, struct berr **err);

/* Remove the mapping: host_ip as given to proxy_add (NULL/"" = "0.0.0.0"; compared after
 * normalising, so "::0" matches "::"), host_port the BOUND port. Returns 0 or -ENOENT. */
int proxy_remove(struct proxy *p, const char *proto, const char *host_ip, uint16_t host_port);

/* Idle timeout of UDP flows in seconds (tests use a short one). Applies to all mappings. */
void proxy_set_udp_timeout(struct proxy *p, unsigned seconds);

/* Stop the thread, close every socket, free. NULL is fine. */
void proxy_free(struct proxy *p);
