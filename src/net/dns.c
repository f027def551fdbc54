/*
 * dns.c — the embedded DNS server (see dns.h for the model).
 *
 * Two halves:
 *  1. Wire format: a bounds-checked parser (names with compression pointers that
 *     must point strictly backwards and never into the header, so loops cannot
 *     happen), a validator for whole messages, and a reply builder whose answer
 *     names are pointers to the question (offset 12).
 *  2. The server: one epoll thread (evloop.c). Watched objects (struct watch) are
 *     each endpoint's UDP and TCP listening sockets, TCP clients and pending
 *     forwards. Invariants:
 *       - every object is touched only with s->lock held, except by the loop thread
 *         while it runs the lookup callback (it unlocks around it and re-checks
 *         `dead` afterwards);
 *       - killing an object (remove, error) removes its fd from epoll, closes it and
 *         marks it dead; only the loop thread frees dead objects, at the end of an
 *         iteration, so an event already returned by epoll_wait never points to
 *         freed memory;
 *       - forwards belong to their endpoint; a forward answering a TCP client holds a
 *         pointer to it, cleared when the client dies first.
 * Forwarding sockets are created by the loop thread, i.e. in berthd's namespace.
 */
#include "net/dns.h"
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

/* ====================================================================== */
/* wire format                                                            */
/* ====================================================================== */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v) {
  wr16(p, (uint16_t)(v >> 16));
  wr16(p + 2, (uint16_t)v);
}

/* Append one label byte to the text form, escaping what is not a plain character. */
static int name_put_byte(char *out, size_t outcap, size_t *o, uint8_t c) {
  if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
    if (*o + 1 >= outcap)
      return -EBADMSG;
    out[(*o)++] = (char)c;
    return 0;
  }
  if (*o + 4 >= outcap)
    return -EBADMSG;
  out[(*o)++] = '\\';
  out[(*o)++] = (char)('0' + c / 100);
  out[(*o)++] = (char)('0' + c / 10 % 10);
  out[(*o)++] = (char)('0' + c % 10);
  return 0;
}

int dns_name_decode(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outcap) {
  size_t pos = *off, lowest = *off, end = 0, wire = 0, o = 0;
  bool jumped = false;
  if (outcap == 0)
    return -EBADMSG;
  for (;;) {
    if (pos >= len)
      return -EBADMSG;
    uint8_t l = msg[pos];
    if ((l & 0xc0) == 0xc0) {
      if (pos + 1 >= len)
        return -EBADMSG;
      size_t target = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
      /* strictly backwards of everything visited, never into the header: no loops */
      if (target >= lowest || target < DNS_HEADER_LEN)
        return -EBADMSG;
      if (!jumped)
        end = pos + 2;
      jumped = true;
      pos = lowest = target;
      continue;
    }
    if (l & 0xc0) /* 0x40 / 0x80: extended and reserved label types */
      return -EBADMSG;
    if (l == 0) {
      if (!jumped)
        end = pos + 1;
      break;
    }
    if (pos + 1 + l > len)
      return -EBADMSG;
    wire += 1u + l;
    if (wire + 1 > DNS_NAME_MAX)
      return -EBADMSG;
    if (o > 0) {
      if (o + 1 >= outcap)
        return -EBADMSG;
      out[o++] = '.';
    }
    for (size_t i = 0; i < l; i++)
      if (name_put_byte(out, outcap, &o, msg[pos + 1 + i]) < 0)
        return -EBADMSG;
    pos += 1u + l;
  }
  out[o] = '\0';
  *off = end;
  return 0;
}

int dns_name_encode(const char *name, uint8_t *out, size_t cap) {
  size_t n = 0;
  const char *p = name;
  if (strcmp(name, ".") == 0)
    p = "";
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    if (l == 0 || l > 63)
      return -EINVAL;
    if (n + 1 + l + 1 > DNS_NAME_MAX)
      return -EINVAL;
    if (n + 1 + l > cap)
      return -ENOSPC;
    out[n++] = (uint8_t)l;
    memcpy(out + n, p, l);
    n += l;
    p += l;
    if (*p == '.')
      p++;
  }
  if (n + 1 > cap)
    return -ENOSPC;
  out[n++] = 0;
  return (int)n;
}

/* Skip a name without decoding it to text (still fully checked). */
static int name_skip(const uint8_t *msg, size_t len, size_t *off) {
  char tmp[DNS_NAME_TEXT_MAX];
  return dns_name_decode(msg, len, off, tmp, sizeof tmp);
}

/* One resource record at *off: name, fixed part and rdata in bounds. Fills type/class/ttl/rdlen. */
struct rr_view {
  bool root_name;
  uint16_t type, class_;
  uint32_t ttl;
  uint16_t rdlen;
};

static int rr_walk(const uint8_t *msg, size_t len, size_t *off, struct rr_view *rr) {
  size_t start = *off;
  if (name_skip(msg, len, off) < 0)
    return -EBADMSG;
  rr->root_name = *off == start + 1 && msg[start] == 0;
  if (*off + 10 > len)
    return -EBADMSG;
  rr->type = rd16(msg + *off);
  rr->class_ = rd16(msg + *off + 2);
  rr->ttl = ((uint32_t)rd16(msg + *off + 4) << 16) | rd16(msg + *off + 6);
  rr->rdlen = rd16(msg + *off + 8);
  *off += 10;
  if (*off + rr->rdlen > len)
    return -EBADMSG;
  *off += rr->rdlen;
  return 0;
}

int dns_msg_validate(const uint8_t *msg, size_t len) {
  if (len < DNS_HEADER_LEN || len > DNS_MSG_MAX)
    return -EBADMSG;
  size_t off = DNS_HEADER_LEN;
  unsigned qd = rd16(msg + 4);
  unsigned rrs = (unsigned)rd16(msg + 6) + rd16(msg + 8) + rd16(msg + 10);
  for (unsigned i = 0; i < qd; i++) {
    if (name_skip(msg, len, &off) < 0 || off + 4 > len)
      return -EBADMSG;
    off += 4;
  }
  for (unsigned i = 0; i < rrs; i++) {
    struct rr_view rr;
    if (rr_walk(msg, len, &off, &rr) < 0)
      return -EBADMSG;
  }
  return off == len ? 0 : -EBADMSG;
}

/* The question and the additional section of a query (qdcount already checked to be 1). */
static int query_body_parse(const uint8_t *msg, size_t len, struct dns_query *q) {
  size_t off = DNS_HEADER_LEN;
  if (dns_name_decode(msg, len, &off, q->qname, sizeof q->qname) < 0 || off + 4 > len)
    return DNS_RCODE_FORMERR;
  q->qtype = rd16(msg + off);
  q->qclass = rd16(msg + off + 2);
  off += 4;
  q->qwire_len = off - DNS_HEADER_LEN; /* no pointers possible: nothing before it to point to */
  memcpy(q->qwire, msg + DNS_HEADER_LEN, q->qwire_len);
  unsigned an_ns = (unsigned)rd16(msg + 6) + rd16(msg + 8), ar = rd16(msg + 10);
  for (unsigned i = 0; i < an_ns + ar; i++) {
    struct rr_view rr;
    if (rr_walk(msg, len, &off, &rr) < 0)
      return DNS_RCODE_FORMERR;
    if (i >= an_ns && rr.type == DNS_TYPE_OPT) {
      if (q->edns || !rr.root_name) /* RFC 6891: one OPT, owned by the root */
        return DNS_RCODE_FORMERR;
      q->edns = true;
      q->edns_udp_size = rr.class_ < DNS_UDP_MIN ? DNS_UDP_MIN : rr.class_;
      q->edns_version = (uint8_t)(rr.ttl >> 16);
      q->edns_do = (rr.ttl & 0x8000) != 0;
    }
  }
  return off == len ? 0 : DNS_RCODE_FORMERR;
}

int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q) {
  memset(q, 0, sizeof *q);
  if (len < DNS_HEADER_LEN || len > DNS_MSG_MAX)
    return -EBADMSG;
  q->id = rd16(msg);
  q->flags = rd16(msg + 2);
  if (q->flags & DNS_FLAG_QR) /* a response sent to us: never answer (reflection loops) */
    return -EBADMSG;
  if (DNS_OPCODE(q->flags) != 0)
    return DNS_RCODE_NOTIMP;
  if (rd16(msg + 4) != 1)
    return DNS_RCODE_FORMERR;
  int r = query_body_parse(msg, len, q);
  if (r != 0) {
    q->qwire_len = 0; /* do not echo a question we could not read */
    q->edns = false;
  }
  return r;
}

/* Size of one answer record for qtype, or 0 when the address does not match it. */
static size_t answer_size(uint16_t qtype, const struct dns_addr *a) {
  if (qtype == DNS_TYPE_A && a->family == AF_INET)
    return 12 + 4;
  if (qtype == DNS_TYPE_AAAA && a->family == AF_INET6)
    return 12 + 16;
  return 0;
}

/* Write an answer's fixed part: name pointer to the question, type, class, ttl, rdlength. */
static void answer_head(uint8_t *p, uint16_t type, uint32_t ttl, uint16_t rdlen) {
  wr16(p, 0xc000 | DNS_HEADER_LEN);
  wr16(p + 2, type);
  wr16(p + 4, DNS_CLASS_IN);
  wr32(p + 6, ttl);
  wr16(p + 10, rdlen);
}

int dns_reply_build(const struct dns_query *q, int rcode, const struct dns_lookup_result *res,
                    size_t limit, uint8_t *out, size_t cap) {
  size_t opt_len = q->edns ? 11 : 0;
  size_t n = DNS_HEADER_LEN + q->qwire_len;
  if (limit > cap)
    limit = cap;
  if (n + opt_len > limit)
    return -ENOSPC;
  uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | (q->flags & (DNS_FLAG_RD | 0x7800)) | (uint16_t)(rcode & 0xf);
  memset(out, 0, DNS_HEADER_LEN);
  wr16(out, q->id);
  wr16(out + 4, q->qwire_len ? 1 : 0);
  memcpy(out + DNS_HEADER_LEN, q->qwire, q->qwire_len);
  uint16_t ancount = 0;
  uint32_t ttl = res && res->ttl ? res->ttl : DNS_DEFAULT_TTL;
  if (res && q->qwire_len && rcode == DNS_RCODE_NOERROR) {
    if (q->qtype == DNS_TYPE_PTR && res->ptr_name[0]) {
      uint8_t wire[DNS_NAME_MAX + 1];
      int wl = dns_name_encode(res->ptr_name, wire, sizeof wire);
      if (wl > 0 && n + 12 + (size_t)wl + opt_len <= limit) {
        answer_head(out + n, DNS_TYPE_PTR, ttl, (uint16_t)wl);
        memcpy(out + n + 12, wire, (size_t)wl);
        n += 12 + (size_t)wl;
        ancount++;
      } else if (wl > 0) {
        flags |= DNS_FLAG_TC;
      }
    }
    for (size_t i = 0; i < res->n_addrs && i < DNS_MAX_ADDRS; i++) {
      const struct dns_addr *a = &res->addrs[i];
      size_t sz = answer_size(q->qtype, a);
      if (sz == 0)
        continue;
      if (n + sz + opt_len > limit) { /* Docker truncates and sets TC as well */
        flags |= DNS_FLAG_TC;
        break;
      }
      answer_head(out + n, q->qtype, ttl, (uint16_t)(sz - 12));
      memcpy(out + n + 12, a->family == AF_INET ? (const void *)&a->v4 : (const void *)&a->v6, sz - 12);
      n += sz;
      ancount++;
    }
  }
  wr16(out + 2, flags);
  wr16(out + 6, ancount);
  if (q->edns) { /* our OPT: root, type 41, our payload size, DO copied (RFC 3225) */
    uint8_t *p = out + n;
    p[0] = 0;
    wr16(p + 1, DNS_TYPE_OPT);
    wr16(p + 3, DNS_UDP_OUR_EDNS);
    wr32(p + 5, q->edns_do ? 0x8000 : 0);
    wr16(p + 9, 0);
    n += 11;
    wr16(out + 10, 1);
  }
  return (int)n;
}

/* Parse the label list of a reverse name into `labels` (at most max); returns the count or -1. */
static int split_labels(char *s, char **labels, int max) {
  int n = 0;
  for (char *save = NULL, *t = strtok_r(s, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
    if (n == max)
      return -1;
    labels[n++] = t;
  }
  return n;
}

static int reverse_v4(char **labels, struct dns_addr *out) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++) {
    int64_t v;
    if (strlen(labels[i]) > 3 || parse_int64(labels[i], &v) < 0 || v < 0 || v > 255 ||
        (labels[i][0] == '0' && labels[i][1]))
      return -EINVAL;
    b[3 - i] = (uint8_t)v;
  }
  out->family = AF_INET;
  memcpy(&out->v4, b, 4);
  return 0;
}

static int reverse_v6(char **labels, struct dns_addr *out) {
  uint8_t b[16] = {0};
  for (int i = 0; i < 32; i++) {
    char c = (char)tolower((unsigned char)labels[i][0]);
    if (labels[i][1] || !isxdigit((unsigned char)c))
      return -EINVAL;
    int v = c <= '9' ? c - '0' : c - 'a' + 10;
    int nib = 31 - i; /* labels are least significant nibble first */
    b[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
  }
  out->family = AF_INET6;
  memcpy(&out->v6, b, 16);
  return 0;
}

int dns_reverse_name_parse(const char *name, struct dns_addr *out) {
  char buf[DNS_NAME_TEXT_MAX];
  char *labels[40];
  size_t l = strlen(name);
  if (l >= sizeof buf)
    return -EINVAL;
  for (size_t i = 0; i <= l; i++)
    buf[i] = (char)tolower((unsigned char)name[i]);
  if (l && buf[l - 1] == '.')
    buf[--l] = '\0';
  int n = split_labels(buf, labels, 40);
  if (n == 6 && strcmp(labels[4], "in-addr") == 0 && strcmp(labels[5], "arpa") == 0)
    return reverse_v4(labels, out);
  if (n == 34 && strcmp(labels[32], "ip6") == 0 && strcmp(labels[33], "arpa") == 0)
    return reverse_v6(labels, out);
  return -EINVAL;
}

static size_t reply_limit(const struct dns_query *q, bool tcp) {
  if (tcp)
    return DNS_MSG_MAX;
  return q->edns && q->edns_udp_size > DNS_UDP_MIN ? q->edns_udp_size : DNS_UDP_MIN;
}

static enum dns_action reply(const struct dns_query *q, int rcode, const struct dns_lookup_result *res,
                             bool tcp, uint8_t *out, size_t cap, size_t *out_len) {
  int n = dns_reply_build(q, rcode, res, reply_limit(q, tcp), out, cap);
  if (n < 0)
    return DNS_ACT_DROP;
  *out_len = (size_t)n;
  return DNS_ACT_REPLY;
}

/* Ask the daemon; returns the lookup status (or <0) and the name it was asked for. */
static int ask_lookup(const struct dns_query *q, dns_lookup_fn lookup, void *ctx, const char *key,
                      struct dns_lookup_result *res) {
  char name[DNS_NAME_TEXT_MAX];
  size_t l = strlen(q->qname);
  for (size_t i = 0; i <= l; i++)
    name[i] = (char)tolower((unsigned char)q->qname[i]);
  if (q->qtype == DNS_TYPE_PTR) {
    struct dns_addr a;
    if (dns_reverse_name_parse(name, &a) < 0)
      return DNS_LOOKUP_FORWARD;
    inet_ntop(a.family, a.family == AF_INET ? (const void *)&a.v4 : (const void *)&a.v6, name, sizeof name);
  }
  memset(res, 0, sizeof *res);
  return lookup(ctx, key, name, q->qtype, res);
}

enum dns_action dns_handle_query(const uint8_t *msg, size_t len, dns_lookup_fn lookup, void *ctx,
                                 const char *key, bool have_upstreams, bool tcp, uint8_t *out,
                                 size_t cap, size_t *out_len) {
  struct dns_query q;
  int r = dns_query_parse(msg, len, &q);
  if (r < 0)
    return DNS_ACT_DROP;
  if (r > 0)
    return reply(&q, r, NULL, tcp, out, cap, out_len);
  bool ours = q.qclass == DNS_CLASS_IN &&
              (q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA || q.qtype == DNS_TYPE_PTR);
  if (ours && lookup) {
    struct dns_lookup_result res;
    int st = ask_lookup(&q, lookup, ctx, key, &res);
    if (st < 0)
      return reply(&q, DNS_RCODE_SERVFAIL, NULL, tcp, out, cap, out_len);
    if (st == DNS_LOOKUP_NXDOMAIN || (st == DNS_LOOKUP_FOUND && q.qtype == DNS_TYPE_PTR && !res.ptr_name[0]))
      return reply(&q, DNS_RCODE_NXDOMAIN, NULL, tcp, out, cap, out_len);
    if (st == DNS_LOOKUP_FOUND)
      return reply(&q, DNS_RCODE_NOERROR, &res, tcp, out, cap, out_len);
  }
  if (!have_upstreams)
    return reply(&q, DNS_RCODE_SERVFAIL, NULL, tcp, out, cap, out_len);
  return DNS_ACT_FORWARD;
}

size_t dns_servfail_build(const uint8_t *msg, size_t len, uint8_t *out, size_t cap) {
  struct dns_query q;
  if (dns_query_parse(msg, len, &q) < 0)
    return 0;
  int n = dns_reply_build(&q, DNS_RCODE_SERVFAIL, NULL, reply_limit(&q, false), out, cap);
  return n < 0 ? 0 : (size_t)n;
}

/* ====================================================================== */
/* resolv.conf                                                            */
/* ====================================================================== */

int dns_resolv_conf_nameservers(const char *path, char ***out, struct berr **err) {
  _cleanup_free_ char *data = NULL;
  _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
  struct berr *e = NULL;
  if (read_file(path, &data, NULL, &e) < 0) {
    int code = e->code;
    if (code == ENOENT) {
      berr_free(e);
      *out = steal_ptr(v);
      return 0;
    }
    if (err && !*err)
      *err = e;
    else
      berr_free(e);
    return -code;
  }
  for (char *save = NULL, *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char word[16], addr[INET6_ADDRSTRLEN + 16];
    if (sscanf(line, " %15s %61s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
      continue;
    unsigned char tmp[16];
    if (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1)
      continue; /* zone-scoped (fe80::1%eth0) or garbage: not usable here */
    v = strv_append(v, xstrdup(addr));
  }
  *out = steal_ptr(v);
  return 0;
}

/* ====================================================================== */
/* the server                                                             */
/* ====================================================================== */

#define FWD_TIMEOUT_MS 2000     /* per upstream attempt */
#define MAX_FWD_PER_EP 256      /* pending forwards per container */
#define MAX_TCP_CLIENTS_PER_EP 32
#define TCP_CLIENT_IDLE_MS 30000

enum watch_kind { W_UDP, W_TCP_LISTEN, W_TCP_CLIENT, W_FWD };

struct watch {
  enum watch_kind kind;
  int fd;
  bool dead;
  struct watch *grave_next;
};

struct endpoint;

struct tcp_client {
  struct watch w;
  struct endpoint *ep;
  struct tcp_client *next;
  uint8_t *in; /* 2-byte length + message being read */
  size_t in_len;
  uint8_t *out; /* framed replies waiting to be written */
  size_t out_len, out_off;
  unsigned pending; /* forwards answering to this client */
  bool eof;
  uint64_t last_ms;
};

struct fwd {
  struct watch w;
  struct endpoint *ep;
  struct fwd *next;
  bool over_tcp;
  struct tcp_client *client; /* TCP client to answer; NULL for UDP */
  struct sockaddr_storage peer; /* UDP client */
  socklen_t peer_len;
  uint8_t *query;
  size_t qlen;
  size_t upstream; /* index of the upstream tried now */
  uint64_t deadline_ms;
  uint8_t *buf; /* TCP: framed query being sent, then the framed answer being read */
  size_t buf_len, buf_off;
  bool connected, sent;
};

struct endpoint {
  struct dns_server *s;
  struct endpoint *next;
  char *key;
  struct watch udp, tcp;
  struct sockaddr_storage *ups;
  socklen_t *ups_len;
  size_t n_ups;
  struct tcp_client *clients;
  size_t n_clients;
  struct fwd *fwds;
  size_t n_fwds;
  bool dead;
  struct endpoint *grave_next;
};

struct dns_server {
  pthread_mutex_t lock;
  struct evloop *loop;
  dns_lookup_fn lookup;
  void *ctx;
  struct endpoint *eps;
  struct watch *grave;        /* dead clients and forwards */
  struct endpoint *ep_grave;  /* dead endpoints */
};

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int watch_add(struct dns_server *s, struct watch *w, uint32_t events) {
  return evloop_add(s->loop, w->fd, events, w);
}

static void watch_mod(struct dns_server *s, struct watch *w, uint32_t events) {
  evloop_mod(s->loop, w->fd, events, w);
}

/* Stop watching and close; the object stays allocated until the loop frees the grave. */
static void watch_close(struct dns_server *s, struct watch *w) {
  if (w->fd >= 0) {
    evloop_del(s->loop, w->fd);
    close(w->fd);
    w->fd = -1;
  }
  w->dead = true;
}

static void watch_bury(struct dns_server *s, struct watch *w) {
  watch_close(s, w);
  w->grave_next = s->grave;
  s->grave = w;
}

/* ---------- forwards ---------- */

static void fwd_kill(struct dns_server *s, struct fwd *f) {
  if (f->w.dead)
    return;
  struct fwd **pp = &f->ep->fwds;
  while (*pp && *pp != f)
    pp = &(*pp)->next;
  if (*pp)
    *pp = f->next;
  f->ep->n_fwds--;
  if (f->client)
    f->client->pending--;
  watch_bury(s, &f->w);
}

static void client_kill(struct dns_server *s, struct tcp_client *c);

/* Queue a framed message for a TCP client. */
static void client_send(struct dns_server *s, struct tcp_client *c, const uint8_t *msg, size_t len) {
  if (c->w.dead)
    return;
  c->out = xrealloc(c->out, c->out_len + 2 + len);
  wr16(c->out + c->out_len, (uint16_t)len);
  memcpy(c->out + c->out_len + 2, msg, len);
  c->out_len += 2 + len;
  watch_mod(s, &c->w, c->eof ? EPOLLOUT : EPOLLIN | EPOLLOUT);
}

/* Give the answer of a forward to whoever asked. */
static void fwd_deliver(struct dns_server *s, struct fwd *f, const uint8_t *msg, size_t len) {
  if (f->client)
    client_send(s, f->client, msg, len);
  else if (!f->ep->dead)
    sendto(f->ep->udp.fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&f->peer, f->peer_len);
}

static void fwd_fail(struct dns_server *s, struct fwd *f) {
  uint8_t out[DNS_UDP_MIN + 64];
  size_t n = dns_servfail_build(f->query, f->qlen, out, sizeof out);
  if (n)
    fwd_deliver(s, f, out, n);
  fwd_kill(s, f);
}

/* Open the socket towards upstream f->upstream (in berthd's namespace: the loop thread's). */
static int fwd_connect(struct dns_server *s, struct fwd *f) {
  struct endpoint *ep = f->ep;
  const struct sockaddr_storage *ua = &ep->ups[f->upstream];
  int fd = socket(ua->ss_family, (f->over_tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  f->w.fd = fd;
  f->connected = f->sent = false;
  f->deadline_ms = now_ms() + FWD_TIMEOUT_MS;
  if (connect(fd, (const struct sockaddr *)ua, ep->ups_len[f->upstream]) < 0 && errno != EINPROGRESS)
    return -errno;
  if (!f->over_tcp) {
    if (send(fd, f->query, f->qlen, MSG_NOSIGNAL) < 0)
      return -errno;
    f->connected = f->sent = true;
    return watch_add(s, &f->w, EPOLLIN);
  }
  free(f->buf);
  f->buf = xmalloc(2 + f->qlen);
  wr16(f->buf, (uint16_t)f->qlen);
  memcpy(f->buf + 2, f->query, f->qlen);
  f->buf_len = 2 + f->qlen;
  f->buf_off = 0;
  return watch_add(s, &f->w, EPOLLOUT);
}

/* Move to the next upstream (or fail the query when none is left). */
static void fwd_next(struct dns_server *s, struct fwd *f) {
  for (;;) {
    if (f->w.fd >= 0) {
      evloop_del(s->loop, f->w.fd);
      close(f->w.fd);
      f->w.fd = -1;
    }
    f->upstream++;
    if (f->upstream >= f->ep->n_ups) {
      fwd_fail(s, f);
      return;
    }
    if (fwd_connect(s, f) == 0)
      return;
  }
}

static void fwd_start(struct dns_server *s, struct endpoint *ep, const uint8_t *q, size_t qlen,
                      struct tcp_client *c, const struct sockaddr_storage *peer, socklen_t peer_len) {
  if (ep->n_fwds >= MAX_FWD_PER_EP || ep->n_ups == 0)
    return; /* overloaded: drop, the client retries */
  struct fwd *f = xcalloc(1, sizeof *f);
  f->w.kind = W_FWD;
  f->w.fd = -1;
  f->ep = ep;
  f->over_tcp = c != NULL;
  f->client = c;
  if (peer) {
    f->peer = *peer;
    f->peer_len = peer_len;
  }
  f->query = xmalloc(qlen);
  memcpy(f->query, q, qlen);
  f->qlen = qlen;
  f->next = ep->fwds;
  ep->fwds = f;
  ep->n_fwds++;
  if (c)
    c->pending++;
  f->upstream = (size_t)-1;
  fwd_next(s, f);
}

/* An upstream answer must be a response to our question with the same ID and well formed. */
static bool answer_ok(const struct fwd *f, const uint8_t *msg, size_t len) {
  return len >= DNS_HEADER_LEN && rd16(msg) == rd16(f->query) && (rd16(msg + 2) & DNS_FLAG_QR) &&
         dns_msg_validate(msg, len) == 0;
}

static void fwd_udp_event(struct dns_server *s, struct fwd *f) {
  uint8_t buf[DNS_MSG_MAX];
  ssize_t n = recv(f->w.fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n < 0) { /* ICMP refused etc. */
    fwd_next(s, f);
    return;
  }
  if (!answer_ok(f, buf, (size_t)n))
    return; /* stray or spoofed datagram: keep waiting until the deadline */
  fwd_deliver(s, f, buf, (size_t)n);
  fwd_kill(s, f);
}

static void fwd_tcp_event(struct dns_server *s, struct fwd *f, uint32_t events) {
  if (!f->connected) {
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(f->w.fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
      fwd_next(s, f);
      return;
    }
    f->connected = true;
  }
  if (!f->sent) {
    ssize_t w = send(f->w.fd, f->buf + f->buf_off, f->buf_len - f->buf_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EINTR) {
      fwd_next(s, f);
      return;
    }
    if (w > 0)
      f->buf_off += (size_t)w;
    if (f->buf_off < f->buf_len)
      return;
    f->sent = true;
    f->buf = xrealloc(f->buf, 2 + DNS_MSG_MAX);
    f->buf_off = 0;
    watch_mod(s, &f->w, EPOLLIN);
    return;
  }
  size_t want = f->buf_off < 2 ? 2 : 2 + (size_t)rd16(f->buf);
  ssize_t r = recv(f->w.fd, f->buf + f->buf_off, want - f->buf_off, MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (r <= 0) {
    fwd_next(s, f);
    return;
  }
  f->buf_off += (size_t)r;
  if (f->buf_off < 2 || f->buf_off < 2 + (size_t)rd16(f->buf))
    return;
  if (!answer_ok(f, f->buf + 2, f->buf_off - 2)) {
    fwd_next(s, f);
    return;
  }
  fwd_deliver(s, f, f->buf + 2, f->buf_off - 2);
  fwd_kill(s, f);
  (void)events;
}

/* ---------- queries from containers ---------- */

/* Answer or forward one query; called with the lock held, drops it around the lookup. */
static void serve_query(struct dns_server *s, struct endpoint *ep, struct tcp_client *c, const uint8_t *q,
                        size_t qlen, const struct sockaddr_storage *peer, socklen_t peer_len) {
  uint8_t out[DNS_MSG_MAX];
  size_t out_len = 0;
  bool have_ups = ep->n_ups > 0;
  pthread_mutex_unlock(&s->lock); /* ep and c stay allocated: only this thread frees them */
  enum dns_action act =
      dns_handle_query(q, qlen, s->lookup, s->ctx, ep->key, have_ups, c != NULL, out, sizeof out, &out_len);
  pthread_mutex_lock(&s->lock);
  if (ep->dead || (c && c->w.dead))
    return;
  if (act == DNS_ACT_REPLY && c)
    client_send(s, c, out, out_len);
  else if (act == DNS_ACT_REPLY)
    sendto(ep->udp.fd, out, out_len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)peer, peer_len);
  else if (act == DNS_ACT_FORWARD)
    fwd_start(s, ep, q, qlen, c, peer, peer_len);
}

static void udp_event(struct dns_server *s, struct endpoint *ep) {
  for (int i = 0; i < 16 && !ep->dead; i++) { /* a few per wake-up, fair to the others */
    uint8_t buf[DNS_MSG_MAX];
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    ssize_t n = recvfrom(ep->udp.fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&peer, &pl);
    if (n < 0)
      return;
    serve_query(s, ep, NULL, buf, (size_t)n, &peer, pl);
  }
}

static void client_kill(struct dns_server *s, struct tcp_client *c) {
  if (c->w.dead)
    return;
  for (struct fwd *f = c->ep->fwds; f; f = f->next)
    if (f->client == c)
      f->client = NULL, c->pending--;
  struct tcp_client **pp = &c->ep->clients;
  while (*pp && *pp != c)
    pp = &(*pp)->next;
  if (*pp)
    *pp = c->next;
  c->ep->n_clients--;
  watch_bury(s, &c->w);
}

static void tcp_accept(struct dns_server *s, struct endpoint *ep) {
  int fd = accept4(ep->tcp.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return;
  if (ep->n_clients >= MAX_TCP_CLIENTS_PER_EP) {
    close(fd);
    return;
  }
  struct tcp_client *c = xcalloc(1, sizeof *c);
  c->w.kind = W_TCP_CLIENT;
  c->w.fd = fd;
  c->ep = ep;
  c->in = xmalloc(2 + DNS_MSG_MAX);
  c->last_ms = now_ms();
  if (watch_add(s, &c->w, EPOLLIN) < 0) {
    close(fd);
    free(c->in);
    free(c);
    return;
  }
  c->next = ep->clients;
  ep->clients = c;
  ep->n_clients++;
}

static void client_write(struct dns_server *s, struct tcp_client *c) {
  while (c->out_off < c->out_len) {
    ssize_t w = send(c->w.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (w < 0) {
      client_kill(s, c);
      return;
    }
    c->out_off += (size_t)w;
  }
  free(c->out);
  c->out = NULL;
  c->out_len = c->out_off = 0;
  watch_mod(s, &c->w, c->eof ? 0 : EPOLLIN);
}

static void client_read(struct dns_server *s, struct tcp_client *c) {
  size_t want = c->in_len < 2 ? 2 : 2 + (size_t)rd16(c->in);
  ssize_t r = recv(c->w.fd, c->in + c->in_len, want - c->in_len, MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (r <= 0) {
    c->eof = true;
    watch_mod(s, &c->w, c->out_len ? EPOLLOUT : 0);
    return;
  }
  c->in_len += (size_t)r;
  c->last_ms = now_ms();
  if (c->in_len < 2 || c->in_len < 2 + (size_t)rd16(c->in))
    return;
  size_t qlen = c->in_len - 2;
  c->in_len = 0;
  uint8_t q[DNS_MSG_MAX];
  memcpy(q, c->in + 2, qlen);
  serve_query(s, c->ep, c, q, qlen, NULL, 0);
}

static void client_event(struct dns_server *s, struct tcp_client *c, uint32_t events) {
  if (c->eof && (events & (EPOLLHUP | EPOLLERR))) { /* gone for good: nobody to answer */
    client_kill(s, c);
    return;
  }
  if (events & EPOLLOUT)
    client_write(s, c);
  if (!c->w.dead && !c->eof && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    client_read(s, c);
  if (!c->w.dead && c->eof && c->out_len == 0 && c->pending == 0)
    client_kill(s, c);
}

/* ---------- the loop ---------- */

static void dispatch(struct dns_server *s, struct watch *w, uint32_t events) {
  if (w->dead)
    return;
  switch (w->kind) {
  case W_UDP: {
    struct endpoint *ep = container_of(w, struct endpoint, udp);
    if (!ep->dead)
      udp_event(s, ep);
    break;
  }
  case W_TCP_LISTEN: {
    struct endpoint *ep = container_of(w, struct endpoint, tcp);
    if (!ep->dead)
      tcp_accept(s, ep);
    break;
  }
  case W_TCP_CLIENT:
    client_event(s, container_of(w, struct tcp_client, w), events);
    break;
  case W_FWD: {
    struct fwd *f = container_of(w, struct fwd, w);
    if (f->over_tcp)
      fwd_tcp_event(s, f, events);
    else
      fwd_udp_event(s, f);
    break;
  }
  }
}

/* Retry or fail overdue forwards, drop idle TCP clients; returns the next epoll timeout. */
static int expire(struct dns_server *s) {
  uint64_t now = now_ms();
  int timeout = -1;
  for (struct endpoint *ep = s->eps; ep; ep = ep->next) {
    for (struct fwd *f = ep->fwds, *nx; f; f = nx) {
      nx = f->next;
      if (f->deadline_ms <= now)
        fwd_next(s, f);
    }
    for (struct tcp_client *c = ep->clients, *nx; c; c = nx) {
      nx = c->next;
      if (c->pending == 0 && c->last_ms + TCP_CLIENT_IDLE_MS <= now)
        client_kill(s, c);
    }
    if (ep->fwds || ep->clients)
      timeout = 200;
  }
  return timeout;
}

static void free_watch(struct watch *w) {
  if (w->kind == W_TCP_CLIENT) {
    struct tcp_client *c = container_of(w, struct tcp_client, w);
    free(c->in);
    free(c->out);
    free(c);
  } else if (w->kind == W_FWD) {
    struct fwd *f = container_of(w, struct fwd, w);
    free(f->query);
    free(f->buf);
    free(f);
  }
}

static void endpoint_free(struct endpoint *ep) {
  free(ep->key);
  free(ep->ups);
  free(ep->ups_len);
  free(ep);
}

static void empty_graves(struct dns_server *s) {
  while (s->grave) {
    struct watch *w = s->grave;
    s->grave = w->grave_next;
    free_watch(w);
  }
  while (s->ep_grave) {
    struct endpoint *ep = s->ep_grave;
    s->ep_grave = ep->grave_next;
    endpoint_free(ep);
  }
}

static void on_event(void *ctx, void *data, uint32_t events) { dispatch(ctx, data, events); }

static int on_tick(void *ctx) {
  struct dns_server *s = ctx;
  int timeout = expire(s);
  empty_graves(s);
  return timeout;
}

static const struct evloop_ops loop_ops = {.event = on_event, .tick = on_tick};

static void wake(struct dns_server *s) { evloop_wake(s->loop); }

int dns_server_new(struct dns_server **out, dns_lookup_fn lookup, void *ctx, struct berr **err) {
  struct dns_server *s = xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->lookup = lookup;
  s->ctx = ctx;
  int r = evloop_new(&s->loop, &s->lock, &loop_ops, s, "dns server", err);
  if (r < 0) {
    pthread_mutex_destroy(&s->lock);
    free(s);
    return r;
  }
  *out = s;
  return 0;
}

/* Parse "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address. */
static int upstream_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len) {
  char host[INET6_ADDRSTRLEN + 8];
  int64_t port = 53;
  const char *colon = strrchr(spec, ':');
  if (spec[0] == '[') {
    const char *close_b = strchr(spec, ']');
    if (!close_b || (size_t)(close_b - spec - 1) >= sizeof host)
      return -EINVAL;
    memcpy(host, spec + 1, (size_t)(close_b - spec - 1));
    host[close_b - spec - 1] = '\0';
    if (close_b[1] == ':' && parse_int64(close_b + 2, &port) < 0)
      return -EINVAL;
    else if (close_b[1] && close_b[1] != ':')
      return -EINVAL;
  } else if (colon && strchr(spec, ':') == colon) { /* exactly one colon: IPv4:port */
    if ((size_t)(colon - spec) >= sizeof host || parse_int64(colon + 1, &port) < 0)
      return -EINVAL;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
  } else {
    if (strlen(spec) >= sizeof host)
      return -EINVAL;
    strcpy(host, spec);
  }
  if (port < 1 || port > 65535)
    return -EINVAL;
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
  } else {
    return -EINVAL;
  }
  return 0;
}

static int upstreams_parse(const char *key, char *const *ups, struct sockaddr_storage **out_ss,
                           socklen_t **out_len, size_t *out_n, struct berr **err) {
  size_t n = ups ? strv_len(ups) : 0;
  _cleanup_free_ struct sockaddr_storage *ss = xcalloc(n + 1, sizeof *ss);
  _cleanup_free_ socklen_t *lens = xcalloc(n + 1, sizeof *lens);
  for (size_t i = 0; i < n; i++)
    if (upstream_parse(ups[i], &ss[i], &lens[i]) < 0)
      return berr_set(err, EINVAL, "dns for %s: invalid upstream resolver %s", key, ups[i]);
  *out_ss = steal_ptr(ss);
  *out_len = steal_ptr(lens);
  *out_n = n;
  return 0;
}

/* ---------- binding inside a namespace ---------- */

struct bind_job {
  int netns_fd;
  int udp_fd, tcp_fd;
  int err;
  char what[64];
};

static int bind_one(int type, struct bind_job *j) {
  int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    j->err = errno;
    snprintf(j->what, sizeof j->what, "socket");
    return -1;
  }
  int one = 1;
  /* FREEBIND: bind even if lo is not up yet (the container may bring it up later) */
  setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(DNS_EMBEDDED_PORT)};
  inet_pton(AF_INET, DNS_EMBEDDED_ADDR, &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0)) {
    j->err = errno;
    snprintf(j->what, sizeof j->what, "bind %s:%d/%s", DNS_EMBEDDED_ADDR, DNS_EMBEDDED_PORT,
             type == SOCK_STREAM ? "tcp" : "udp");
    close(fd);
    return -1;
  }
  return fd;
}

/* Runs on its own short-lived thread: setns only changes this thread's namespace. */
static void *bind_thread(void *arg) {
  struct bind_job *j = arg;
  if (setns(j->netns_fd, CLONE_NEWNET) < 0) {
    j->err = errno;
    snprintf(j->what, sizeof j->what, "enter network namespace");
    return NULL;
  }
  j->udp_fd = bind_one(SOCK_DGRAM, j);
  if (j->udp_fd < 0)
    return NULL;
  j->tcp_fd = bind_one(SOCK_STREAM, j);
  if (j->tcp_fd < 0) {
    close(j->udp_fd);
    j->udp_fd = -1;
  }
  return NULL;
}

static int bind_in_netns(const char *key, int netns_fd, int *udp_fd, int *tcp_fd, struct berr **err) {
  struct bind_job j = {.netns_fd = netns_fd, .udp_fd = -1, .tcp_fd = -1};
  pthread_t t;
  int r = evloop_thread_start(&t, bind_thread, &j);
  if (r != 0)
    return berr_sys(err, r, "dns for %s: start thread", key);
  pthread_join(t, NULL);
  if (j.err)
    return berr_sys(err, j.err, "dns for %s: %s", key, j.what);
  *udp_fd = j.udp_fd;
  *tcp_fd = j.tcp_fd;
  return 0;
}

static struct endpoint *find_ep(struct dns_server *s, const char *key) {
  for (struct endpoint *ep = s->eps; ep; ep = ep->next)
    if (strcmp(ep->key, key) == 0)
      return ep;
  return NULL;
}

int dns_server_add(struct dns_server *s, const char *key, int netns_fd, char *const *upstreams,
                   struct berr **err) {
  struct endpoint *ep = xcalloc(1, sizeof *ep);
  ep->s = s;
  ep->key = xstrdup(key);
  ep->udp = (struct watch){.kind = W_UDP, .fd = -1};
  ep->tcp = (struct watch){.kind = W_TCP_LISTEN, .fd = -1};
  int r = upstreams_parse(key, upstreams, &ep->ups, &ep->ups_len, &ep->n_ups, err);
  if (r == 0)
    r = bind_in_netns(key, netns_fd, &ep->udp.fd, &ep->tcp.fd, err);
  if (r < 0) {
    endpoint_free(ep);
    return r;
  }
  pthread_mutex_lock(&s->lock);
  if (find_ep(s, key)) {
    r = berr_set(err, EEXIST, "dns for %s: already served", key);
  } else if ((r = watch_add(s, &ep->udp, EPOLLIN)) < 0 || (r = watch_add(s, &ep->tcp, EPOLLIN)) < 0) {
    berr_sys(err, -r, "dns for %s: epoll", key);
  } else {
    ep->next = s->eps;
    s->eps = ep;
    ep = NULL;
  }
  if (ep) {
    watch_close(s, &ep->udp);
    watch_close(s, &ep->tcp);
    endpoint_free(ep);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

int dns_server_set_upstreams(struct dns_server *s, const char *key, char *const *upstreams,
                             struct berr **err) {
  struct sockaddr_storage *ss;
  socklen_t *lens;
  size_t n;
  int r = upstreams_parse(key, upstreams, &ss, &lens, &n, err);
  if (r < 0)
    return r;
  pthread_mutex_lock(&s->lock);
  struct endpoint *ep = find_ep(s, key);
  if (!ep) {
    pthread_mutex_unlock(&s->lock);
    free(ss);
    free(lens);
    return berr_set(err, ENOENT, "dns for %s: not served", key);
  }
  /* pending forwards index the list: let them finish on the new one (indexes are re-checked) */
  free(ep->ups);
  free(ep->ups_len);
  ep->ups = ss;
  ep->ups_len = lens;
  ep->n_ups = n;
  for (struct fwd *f = ep->fwds; f; f = f->next)
    if (f->upstream >= n)
      f->deadline_ms = 0; /* expire() moves it on, failing it cleanly */
  pthread_mutex_unlock(&s->lock);
  wake(s);
  return 0;
}

/* Close an endpoint and everything hanging off it; the loop frees it. Lock held. */
static void endpoint_kill(struct dns_server *s, struct endpoint *ep) {
  while (ep->fwds)
    fwd_kill(s, ep->fwds);
  while (ep->clients)
    client_kill(s, ep->clients);
  watch_close(s, &ep->udp);
  watch_close(s, &ep->tcp);
  ep->dead = true;
  struct endpoint **pp = &s->eps;
  while (*pp && *pp != ep)
    pp = &(*pp)->next;
  if (*pp)
    *pp = ep->next;
  ep->grave_next = s->ep_grave;
  s->ep_grave = ep;
}

int dns_server_remove(struct dns_server *s, const char *key) {
  pthread_mutex_lock(&s->lock);
  struct endpoint *ep = find_ep(s, key);
  if (ep)
    endpoint_kill(s, ep);
  pthread_mutex_unlock(&s->lock);
  if (ep)
    wake(s); /* the loop frees the grave */
  return ep ? 0 : -ENOENT;
}

void dns_server_free(struct dns_server *s) {
  if (!s)
    return;
  evloop_stop(s->loop);
  while (s->eps)
    endpoint_kill(s, s->eps);
  empty_graves(s);
  evloop_free(s->loop);
  pthread_mutex_destroy(&s->lock);
  free(s);
}
