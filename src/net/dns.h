/*
 * dns.h — berthd's embedded DNS server: Docker's 127.0.0.11 inside each
 * container on a user-defined network.
 *
 * One struct dns_server per daemon. For each container, dns_server_add()
 * creates one UDP and one TCP socket bound to 127.0.0.11:53 INSIDE the
 * container's network namespace (a short-lived thread setns()es into the
 * netns fd, binds, and exits; the sockets stay in that namespace). All those
 * sockets are served by one epoll thread in berthd's own namespace:
 *   - A / AAAA / PTR questions go to the daemon's lookup callback first
 *     (container names, --network-alias, --link names, with the CURRENT
 *     addresses on the networks shared with the asking container);
 *   - everything else, and names the callback does not know, is forwarded to
 *     the endpoint's upstream resolvers FROM berthd's namespace (so the host's
 *     127.0.0.53 or a loopback dnsmasq are reachable), over UDP, or over TCP
 *     when the client asked over TCP. The upstream's reply is relayed as-is
 *     (ID preserved, EDNS0 passed through; a truncated UDP answer is relayed
 *     with TC set so the client retries over TCP, which we then forward over TCP).
 *
 * Thread safety: every dns_server_* function may be called from any thread.
 * The lookup callback runs on the DNS thread WITHOUT any dns_server lock held
 * (so it may take the daemon's own locks, and another thread holding those
 * may call dns_server_remove); it must not call dns_server_free.
 *
 * The wire-format part (parser / builder / query decision) is exposed at the
 * end of this header for the unit tests; the daemon needs only the server API.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* ---------- server API (used by the daemon / net-core) ---------- */

/* Docker's fixed address of the embedded resolver. */
#define DNS_EMBEDDED_ADDR "127.0.0.11"
#define DNS_EMBEDDED_PORT 53
/* TTL of our own answers (Docker answers with 600 s). */
#define DNS_DEFAULT_TTL 600
/* Most addresses one name can resolve to in one answer. */
#define DNS_MAX_ADDRS 32

/* Query types the lookup callback sees. */
#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_TYPE_OPT 41
#define DNS_CLASS_IN 1

/* Response codes. */
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

struct dns_addr {
  int family; /* AF_INET or AF_INET6 */
  union {
    struct in_addr v4;
    struct in6_addr v6;
  };
};

/* What the lookup callback fills (zeroed by the server before each call). */
struct dns_lookup_result {
  size_t n_addrs;                       /* A/AAAA: how many of addrs[] are set */
  struct dns_addr addrs[DNS_MAX_ADDRS]; /* both families may be given: the server
                                           answers with the ones matching qtype */
  char ptr_name[256];                   /* PTR: the name for the address, no trailing
                                           dot ("web.mynet"); the server adds it */
  uint32_t ttl;                         /* 0: DNS_DEFAULT_TTL */
};

/* The callback's return values. */
enum dns_lookup_status {
  DNS_LOOKUP_FORWARD = 0,  /* name not ours: forward to the upstreams */
  DNS_LOOKUP_FOUND = 1,    /* ours: answer from *res. A known name without an address of
                              the asked family gets NOERROR with no answer (Docker does the
                              same for AAAA on IPv4-only networks) so it is not forwarded */
  DNS_LOOKUP_NXDOMAIN = 2, /* answer NXDOMAIN ourselves, do not forward (e.g. internal networks) */
};

/*
 * The daemon's name table. Called for A, AAAA and PTR questions of class IN.
 *   key   the container key given to dns_server_add (the asking container)
 *   name  the question name, lower-cased, without the trailing dot ("web",
 *         "web.mynet"). For PTR, the reverse name is decoded for you: name is the
 *         address in text form ("172.18.0.2", "fd00::2"); reverse names that are not
 *         a full address are forwarded without calling back.
 *   qtype DNS_TYPE_A, DNS_TYPE_AAAA or DNS_TYPE_PTR
 * Returns an enum dns_lookup_status, or a negative errno: the client gets SERVFAIL.
 */
typedef int (*dns_lookup_fn)(void *ctx, const char *key, const char *name, uint16_t qtype,
                             struct dns_lookup_result *res);

struct dns_server;

/* Create the server and start its epoll thread. lookup may be NULL (forward everything);
 * ctx must outlive the server (the callback may run until dns_server_free returns). */
int dns_server_new(struct dns_server **out, dns_lookup_fn lookup, void *ctx, struct berr **err);

/*
 * Serve the container `key` (its id): bind 127.0.0.11:53 UDP+TCP inside the network
 * namespace `netns_fd` (an open /proc/<pid>/ns/net or /run/netns/<x> fd; the caller keeps
 * it and may close it right after). `upstreams` is a NULL-terminated list of resolvers,
 * "IP" or "IP:PORT" / "[IPv6]:PORT" (port 53 by default), copied; NULL or empty: names
 * the callback does not know get SERVFAIL. -EEXIST if the key is already served (err is
 * set then too). Errors name the key and the cause ("dns for <key>: bind 127.0.0.11:53/udp: ...").
 * Needs CAP_SYS_ADMIN (setns) and CAP_NET_BIND_SERVICE (port 53): berthd runs as root.
 */
int dns_server_add(struct dns_server *s, const char *key, int netns_fd, char *const *upstreams,
                   struct berr **err);

/* Replace the upstream list of a served key (e.g. after `network connect`). -ENOENT if unknown. */
int dns_server_set_upstreams(struct dns_server *s, const char *key, char *const *upstreams,
                             struct berr **err);

/* Stop serving `key`: its sockets (and TCP clients, pending forwards) are closed before
 * this returns. Returns 0, or -ENOENT if the key is not served. */
int dns_server_remove(struct dns_server *s, const char *key);

/* Stop the thread, close everything, free. NULL is fine. */
void dns_server_free(struct dns_server *s);

/*
 * The nameservers of a resolv.conf file (the host's /etc/resolv.conf) as a NULL-terminated
 * list of "IP" strings in file order, for dns_server_add's upstreams. Loopback ones are kept:
 * forwarding happens in berthd's namespace. A missing file gives an empty list. Caller frees
 * with strv_free.
 */
int dns_resolv_conf_nameservers(const char *path, char ***out, struct berr **err);

/* ---------- wire format (exposed for the unit tests) ---------- */

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 255     /* wire length of a name */
#define DNS_NAME_TEXT_MAX 1024 /* escaped text form (\DDD may quadruple a byte) */
#define DNS_UDP_MIN 512      /* plain DNS UDP payload */
#define DNS_UDP_OUR_EDNS 1232 /* the payload size we advertise (DNS flag day 2020) */
#define DNS_MSG_MAX 65535

/* Header flag bits (host order of the 16-bit flags word). */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & 0xf)

/*
 * Decode the name at *off in msg[0..len) into text ("www.example.com", no trailing dot,
 * "" for the root; '.', '\\' and bytes outside printable ASCII in a label are written as
 * \DDD). Follows compression pointers, which must point strictly backwards (so loops are
 * impossible); refuses labels >63, names >255 wire bytes, reserved label types and reads
 * past len. On success *off is just past the name in the original position.
 * Returns 0 or -EBADMSG.
 */
int dns_name_decode(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outcap);

/* Encode a plain dotted name (no escapes; a trailing dot is allowed) as uncompressed wire
 * labels into out[0..cap). Returns the wire length, or -EINVAL (empty label, label >63,
 * name >255) / -ENOSPC. */
int dns_name_encode(const char *name, uint8_t *out, size_t cap);

/* Walk a whole message: header, every question and record (names, rdlength in bounds) and no
 * trailing garbage. For replies from upstreams before relaying them. Returns 0 or -EBADMSG. */
int dns_msg_validate(const uint8_t *msg, size_t len);

/* A parsed query (exactly one question). */
struct dns_query {
  uint16_t id;
  uint16_t flags;
  char qname[DNS_NAME_TEXT_MAX]; /* as decoded, original case */
  uint16_t qtype, qclass;
  uint8_t qwire[DNS_NAME_MAX + 4]; /* the question as sent (name, type, class), echoed in replies */
  size_t qwire_len;                 /* 0 when the question could not be read */
  bool edns;              /* an OPT record was present */
  uint16_t edns_udp_size; /* its payload size (>= 512) */
  uint8_t edns_version;
  bool edns_do;           /* DNSSEC OK bit */
};

/* Parse and validate a query. Returns 0, -EBADMSG when the message is too broken to
 * answer (shorter than a header, or QR set: drop it), or a positive DNS rcode the server
 * should answer with (FORMERR: bad question count / malformed body; NOTIMP: opcode not QUERY). */
int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q);

/*
 * Build a reply to q into out[0..cap): the question echoed (original case), `rcode`,
 * the answers (all with name pointer to the question): for A/AAAA the addresses of res that
 * match qtype, for PTR res->ptr_name; an OPT record when the query had one. `limit` is the
 * most bytes the client accepts (UDP: 512 or its EDNS size; TCP: 65535): answers that do not
 * fit are dropped and TC set. res may be NULL (no answers). Returns the length or -ENOSPC.
 */
int dns_reply_build(const struct dns_query *q, int rcode, const struct dns_lookup_result *res,
                    size_t limit, uint8_t *out, size_t cap);

/* Decode a reverse name into an address: "2.0.18.172.in-addr.arpa" → 172.18.0.2, the 32
 * nibbles of ip6.arpa → an IPv6 address (case-insensitive). Returns 0 or -EINVAL. */
int dns_reverse_name_parse(const char *name, struct dns_addr *out);

/* What the server does with one query (the unit-testable core of the request path). */
enum dns_action {
  DNS_ACT_DROP = 0, /* unanswerable (not a query): say nothing */
  DNS_ACT_REPLY,    /* out[0..*out_len) is the reply */
  DNS_ACT_FORWARD,  /* send the query as-is to the upstreams */
};

/*
 * Decide and, for DNS_ACT_REPLY, build the reply: parse msg; A/AAAA/PTR of class IN go to
 * lookup (may be NULL) with the lower-cased name; the status picks answer / NXDOMAIN /
 * forward; have_upstreams=false turns "forward" into SERVFAIL. `limit` as for dns_reply_build
 * (the server passes 512 for UDP, raised to the query's EDNS size; 65535 for TCP).
 */
enum dns_action dns_handle_query(const uint8_t *msg, size_t len, dns_lookup_fn lookup, void *ctx,
                                 const char *key, bool have_upstreams, bool tcp, uint8_t *out,
                                 size_t cap, size_t *out_len);

/* A SERVFAIL for a (parseable) query, e.g. when every upstream failed. Returns the length,
 * or 0 when msg cannot be parsed. */
size_t dns_servfail_build(const uint8_t *msg, size_t len, uint8_t *out, size_t cap);
