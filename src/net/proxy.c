/*
 * proxy.c — the userland port proxy (see proxy.h for the model).
 *
 * One epoll thread (evloop.c) serves every mapping. Watched objects:
 *   W_LISTEN_TCP  a mapping's listening socket: accept, connect to the target
 *   W_LISTEN_UDP  a mapping's UDP socket: datagrams from clients, replies to them
 *   W_SIDE_A/B    the client side (A) and the target side (B) of a TCP connection
 *   W_FLOW        a UDP flow's socket connected to the target
 * TCP data moves with splice(): socket → pipe → socket, one pipe per direction,
 * `ab`/`ba` counting the bytes sitting in each pipe. EOF read from one side becomes
 * shutdown(SHUT_WR) on the other once its pipe is empty (half-close); the connection
 * is closed when both directions are finished, or at once on an error / reset.
 *
 * Invariants (same scheme as dns.c): objects are touched with p->lock held; killing
 * removes the fds from epoll, closes them and marks the object dead; only the loop
 * thread frees dead objects, after handling the events of an iteration.
 */
#include "net/proxy.h"
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#define PIPE_WANT (256 * 1024) /* per direction; bigger than the default 64k for throughput */
#define UDP_MAX 65535
#define MAX_FLOWS_PER_MAPPING 1024

enum pwatch_kind { W_LISTEN_TCP, W_LISTEN_UDP, W_SIDE_A, W_SIDE_B, W_FLOW };

struct pwatch {
  enum pwatch_kind kind;
  int fd;
  bool dead;
};

struct mapping;

struct tcp_conn {
  struct pwatch a, b; /* a: the client, b: the target */
  struct mapping *m;
  struct tcp_conn *next;
  int ab[2], ba[2]; /* pipes a→b and b→a */
  size_t ab_n, ba_n, ab_cap, ba_cap;
  bool connected;
  bool a_eof, b_eof;   /* EOF read from that side */
  bool b_shut, a_shut; /* SHUT_WR sent to that side */
  bool dead;
  struct tcp_conn *grave_next;
};

struct udp_flow {
  struct pwatch w;
  struct mapping *m;
  struct udp_flow *next;
  struct sockaddr_storage client;
  socklen_t client_len;
  uint64_t last_ms;
  bool dead;
  struct udp_flow *grave_next;
};

struct mapping {
  struct pwatch listen;
  struct mapping *next;
  bool udp;
  char host_ip[INET6_ADDRSTRLEN];
  uint16_t port; /* bound */
  struct sockaddr_storage target;
  socklen_t target_len;
  struct tcp_conn *conns;
  struct udp_flow *flows;
  size_t n_flows;
  bool dead;
  struct mapping *grave_next;
};

struct proxy {
  pthread_mutex_t lock;
  struct evloop *loop;
  unsigned udp_timeout;
  struct mapping *maps;
  struct mapping *map_grave;
  struct tcp_conn *conn_grave;
  struct udp_flow *flow_grave;
};

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int pw_add(struct proxy *p, struct pwatch *w, uint32_t ev) {
  return evloop_add(p->loop, w->fd, ev, w);
}

static void pw_mod(struct proxy *p, struct pwatch *w, uint32_t ev) {
  evloop_mod(p->loop, w->fd, ev, w);
}

static void pw_close(struct proxy *p, struct pwatch *w) {
  if (w->fd >= 0) {
    evloop_del(p->loop, w->fd);
    close(w->fd);
    w->fd = -1;
  }
  w->dead = true;
}

static void close_pipe(int fds[2]) {
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0) {
      close(fds[i]);
      fds[i] = -1;
    }
}

/* ---------- TCP ---------- */

static void conn_kill(struct proxy *p, struct tcp_conn *c) {
  if (c->dead)
    return;
  struct tcp_conn **pp = &c->m->conns;
  while (*pp && *pp != c)
    pp = &(*pp)->next;
  if (*pp)
    *pp = c->next;
  pw_close(p, &c->a);
  pw_close(p, &c->b);
  close_pipe(c->ab);
  close_pipe(c->ba);
  c->dead = true;
  c->grave_next = p->conn_grave;
  p->conn_grave = c;
}

/* Move bytes src → pipe → dst. Returns 1 on progress, 0 when nothing moved, -1 on error. */
static int pump_dir(int src, int dst, int pipefd[2], size_t *n, size_t cap, bool *eof, bool can_write) {
  int progress = 0;
  if (!*eof && *n < cap) {
    ssize_t r = splice(src, NULL, pipefd[1], NULL, cap - *n, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (r > 0)
      *n += (size_t)r, progress = 1;
    else if (r == 0)
      *eof = true, progress = 1;
    else if (errno != EAGAIN && errno != EINTR)
      return -1;
  }
  if (can_write && *n > 0) {
    ssize_t w = splice(pipefd[0], NULL, dst, NULL, *n, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (w > 0)
      *n -= (size_t)w, progress = 1;
    else if (w < 0 && errno != EAGAIN && errno != EINTR)
      return -1;
  }
  return progress;
}

static void conn_interest(struct proxy *p, struct tcp_conn *c) {
  uint32_t ea = 0, eb = 0;
  if (!c->a_eof && c->ab_n < c->ab_cap)
    ea |= EPOLLIN;
  if (c->ba_n > 0)
    ea |= EPOLLOUT;
  if (!c->connected) {
    eb = EPOLLOUT;
  } else {
    if (!c->b_eof && c->ba_n < c->ba_cap)
      eb |= EPOLLIN;
    if (c->ab_n > 0)
      eb |= EPOLLOUT;
  }
  /* a side done both ways stays open (its peer may still read) but leaves epoll, which
     would otherwise report EPOLLHUP on it forever */
  if (c->a_eof && c->a_shut)
    evloop_del(p->loop, c->a.fd);
  else
    pw_mod(p, &c->a, ea);
  if (c->b_eof && c->b_shut)
    evloop_del(p->loop, c->b.fd);
  else
    pw_mod(p, &c->b, eb);
}

static void conn_pump(struct proxy *p, struct tcp_conn *c) {
  for (int i = 0; i < 8; i++) {
    int r1 = pump_dir(c->a.fd, c->b.fd, c->ab, &c->ab_n, c->ab_cap, &c->a_eof, c->connected);
    int r2 = c->connected ? pump_dir(c->b.fd, c->a.fd, c->ba, &c->ba_n, c->ba_cap, &c->b_eof, true) : 0;
    if (r1 < 0 || r2 < 0) {
      conn_kill(p, c); /* reset or broken pipe: Go's docker-proxy closes both too */
      return;
    }
    if (c->connected && c->a_eof && c->ab_n == 0 && !c->b_shut) {
      shutdown(c->b.fd, SHUT_WR);
      c->b_shut = true;
    }
    if (c->connected && c->b_eof && c->ba_n == 0 && !c->a_shut) {
      shutdown(c->a.fd, SHUT_WR);
      c->a_shut = true;
    }
    if (c->a_shut && c->b_shut) {
      conn_kill(p, c);
      return;
    }
    if (r1 == 0 && r2 == 0)
      break;
  }
  conn_interest(p, c);
}

static void conn_event(struct proxy *p, struct tcp_conn *c, bool side_b, uint32_t ev) {
  if (side_b && !c->connected) {
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(c->b.fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
      conn_kill(p, c); /* target refused: the client sees its connection closed, as with docker-proxy */
      return;
    }
    c->connected = true;
  }
  if (ev & EPOLLERR) {
    conn_kill(p, c);
    return;
  }
  conn_pump(p, c);
}

static int pipe_big(int fds[2], size_t *cap) {
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
    return -errno;
  int sz = fcntl(fds[0], F_SETPIPE_SZ, PIPE_WANT);
  if (sz < 0)
    sz = fcntl(fds[0], F_GETPIPE_SZ);
  *cap = sz > 0 ? (size_t)sz : 65536;
  return 0;
}

static void tcp_accept(struct proxy *p, struct mapping *m) {
  for (int i = 0; i < 16; i++) {
    int fd = accept4(m->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    struct tcp_conn *c = xcalloc(1, sizeof *c);
    c->a = (struct pwatch){.kind = W_SIDE_A, .fd = fd};
    c->b = (struct pwatch){.kind = W_SIDE_B, .fd = -1};
    c->ab[0] = c->ab[1] = c->ba[0] = c->ba[1] = -1;
    c->m = m;
    c->next = m->conns;
    m->conns = c;
    if (pipe_big(c->ab, &c->ab_cap) < 0 || pipe_big(c->ba, &c->ba_cap) < 0) {
      conn_kill(p, c);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->b.fd = socket(m->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->b.fd < 0 ||
        (connect(c->b.fd, (struct sockaddr *)&m->target, m->target_len) < 0 && errno != EINPROGRESS)) {
      conn_kill(p, c);
      continue;
    }
    setsockopt(c->b.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (pw_add(p, &c->a, EPOLLIN) < 0 || pw_add(p, &c->b, EPOLLOUT) < 0)
      conn_kill(p, c);
  }
}

/* ---------- UDP ---------- */

static void flow_kill(struct proxy *p, struct udp_flow *f) {
  if (f->dead)
    return;
  struct udp_flow **pp = &f->m->flows;
  while (*pp && *pp != f)
    pp = &(*pp)->next;
  if (*pp)
    *pp = f->next;
  f->m->n_flows--;
  pw_close(p, &f->w);
  f->dead = true;
  f->grave_next = p->flow_grave;
  p->flow_grave = f;
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t al, const struct sockaddr_storage *b,
                      socklen_t bl) {
  return al == bl && memcmp(a, b, al) == 0;
}

static struct udp_flow *flow_get(struct proxy *p, struct mapping *m, const struct sockaddr_storage *cl,
                                 socklen_t cl_len) {
  for (struct udp_flow *f = m->flows; f; f = f->next)
    if (same_addr(&f->client, f->client_len, cl, cl_len))
      return f;
  if (m->n_flows >= MAX_FLOWS_PER_MAPPING)
    return NULL;
  int fd = socket(m->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return NULL;
  if (connect(fd, (struct sockaddr *)&m->target, m->target_len) < 0) {
    close(fd);
    return NULL;
  }
  struct udp_flow *f = xcalloc(1, sizeof *f);
  f->w = (struct pwatch){.kind = W_FLOW, .fd = fd};
  f->m = m;
  f->client = *cl;
  f->client_len = cl_len;
  if (pw_add(p, &f->w, EPOLLIN) < 0) {
    close(fd);
    free(f);
    return NULL;
  }
  f->next = m->flows;
  m->flows = f;
  m->n_flows++;
  return f;
}

static void udp_listen_event(struct proxy *p, struct mapping *m) {
  uint8_t buf[UDP_MAX];
  for (int i = 0; i < 32; i++) {
    struct sockaddr_storage cl;
    socklen_t cl_len = sizeof cl;
    ssize_t n = recvfrom(m->listen.fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&cl, &cl_len);
    if (n < 0)
      return;
    struct udp_flow *f = flow_get(p, m, &cl, cl_len);
    if (!f)
      continue; /* table full or no route: dropped, as UDP may be */
    f->last_ms = now_ms();
    if (send(f->w.fd, buf, (size_t)n, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED)
      continue; /* target port closed (ICMP from an earlier datagram): keep the flow */
  }
}

static void flow_event(struct proxy *p, struct udp_flow *f) {
  uint8_t buf[UDP_MAX];
  for (int i = 0; i < 32 && !f->dead; i++) {
    ssize_t n = recv(f->w.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n < 0)
      continue; /* ICMP error queued on the socket: reading it clears it */
    f->last_ms = now_ms();
    sendto(f->m->listen.fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->client, f->client_len);
  }
}

/* ---------- the loop ---------- */

static void dispatch(struct proxy *p, struct pwatch *w, uint32_t ev) {
  if (w->dead)
    return;
  switch (w->kind) {
  case W_LISTEN_TCP:
    tcp_accept(p, container_of(w, struct mapping, listen));
    break;
  case W_LISTEN_UDP:
    udp_listen_event(p, container_of(w, struct mapping, listen));
    break;
  case W_SIDE_A: {
    struct tcp_conn *c = container_of(w, struct tcp_conn, a);
    if (!c->dead)
      conn_event(p, c, false, ev);
    break;
  }
  case W_SIDE_B: {
    struct tcp_conn *c = container_of(w, struct tcp_conn, b);
    if (!c->dead)
      conn_event(p, c, true, ev);
    break;
  }
  case W_FLOW:
    flow_event(p, container_of(w, struct udp_flow, w));
    break;
  }
}

/* Drop idle UDP flows; returns the epoll timeout until the next check. */
static int expire(struct proxy *p) {
  uint64_t now = now_ms(), idle = (uint64_t)p->udp_timeout * 1000u;
  int timeout = -1;
  for (struct mapping *m = p->maps; m; m = m->next) {
    for (struct udp_flow *f = m->flows, *nx; f; f = nx) {
      nx = f->next;
      if (f->last_ms + idle <= now)
        flow_kill(p, f);
    }
    if (m->flows)
      timeout = 500;
  }
  return timeout;
}

static void empty_graves(struct proxy *p) {
  while (p->conn_grave) {
    struct tcp_conn *c = p->conn_grave;
    p->conn_grave = c->grave_next;
    free(c);
  }
  while (p->flow_grave) {
    struct udp_flow *f = p->flow_grave;
    p->flow_grave = f->grave_next;
    free(f);
  }
  while (p->map_grave) {
    struct mapping *m = p->map_grave;
    p->map_grave = m->grave_next;
    free(m);
  }
}

static void on_event(void *ctx, void *data, uint32_t ev) { dispatch(ctx, data, ev); }

static int on_tick(void *ctx) {
  struct proxy *p = ctx;
  int timeout = expire(p);
  empty_graves(p);
  return timeout;
}

static const struct evloop_ops loop_ops = {.event = on_event, .tick = on_tick};

static void wake(struct proxy *p) { evloop_wake(p->loop); }

int proxy_new(struct proxy **out, struct berr **err) {
  struct proxy *p = xcalloc(1, sizeof *p);
  pthread_mutex_init(&p->lock, NULL);
  p->udp_timeout = PROXY_UDP_TIMEOUT_DEFAULT;
  int r = evloop_new(&p->loop, &p->lock, &loop_ops, p, "userland proxy", err);
  if (r < 0) {
    pthread_mutex_destroy(&p->lock);
    free(p);
    return r;
  }
  *out = p;
  return 0;
}

/* "10.0.0.1" / "::1" → sockaddr; the normalised text goes to `norm` when given. */
static int addr_parse(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len, char *norm) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *len = sizeof *a4;
    if (norm)
      inet_ntop(AF_INET, &a4->sin_addr, norm, INET6_ADDRSTRLEN);
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    *len = sizeof *a6;
    if (norm)
      inet_ntop(AF_INET6, &a6->sin6_addr, norm, INET6_ADDRSTRLEN);
    return 0;
  }
  return -EINVAL;
}

/* Go's error text: lower-case strerror ("address already in use"). */
static const char *go_strerror(int e, char *buf, size_t n) {
  snprintf(buf, n, "%s", strerror(e));
  if (buf[0] >= 'A' && buf[0] <= 'Z')
    buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

/* Bind the listening socket; errors in docker-proxy's words: "listen tcp4 0.0.0.0:80: bind: ..." */
static int listen_open(bool udp, const struct sockaddr_storage *ha, socklen_t hl, const char *norm, uint16_t port,
                       int *out_fd, uint16_t *bound, struct berr **err) {
  bool v6 = ha->ss_family == AF_INET6;
  char what[96], eb[128];
  snprintf(what, sizeof what, "listen %s%s %s%s%s:%u", udp ? "udp" : "tcp", v6 ? "6" : "4", v6 ? "[" : "", norm,
           v6 ? "]" : "", port);
  _cleanup_close_ int fd = socket(ha->ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berr_set(err, errno, "%s: socket: %s", what, go_strerror(errno, eb, sizeof eb));
  int one = 1;
  if (!udp)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as Go's net.Listen */
  if (v6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (const struct sockaddr *)ha, hl) < 0)
    return berr_set(err, errno, "%s: bind: %s", what, go_strerror(errno, eb, sizeof eb));
  if (!udp && listen(fd, SOMAXCONN) < 0)
    return berr_set(err, errno, "%s: listen: %s", what, go_strerror(errno, eb, sizeof eb));
  struct sockaddr_storage got;
  socklen_t gl = sizeof got;
  if (getsockname(fd, (struct sockaddr *)&got, &gl) < 0)
    return berr_set(err, errno, "%s: getsockname: %s", what, go_strerror(errno, eb, sizeof eb));
  *bound = ntohs(v6 ? ((struct sockaddr_in6 *)&got)->sin6_port : ((struct sockaddr_in *)&got)->sin_port);
  *out_fd = move_fd(&fd);
  return 0;
}

static struct mapping *find_map(struct proxy *p, bool udp, const char *norm, uint16_t port) {
  for (struct mapping *m = p->maps; m; m = m->next)
    if (m->udp == udp && m->port == port && strcmp(m->host_ip, norm) == 0)
      return m;
  return NULL;
}

static int proto_parse(const char *proto, bool *udp, struct berr **err) {
  if (proto && strcmp(proto, "udp") == 0)
    *udp = true;
  else if (!proto || !*proto || strcmp(proto, "tcp") == 0)
    *udp = false;
  else if (strcmp(proto, "sctp") == 0)
    return berr_set(err, ENOTSUP, "userland proxy: sctp is not supported");
  else
    return berr_set(err, EINVAL, "userland proxy: unknown protocol %s", proto);
  return 0;
}

int proxy_add(struct proxy *p, const char *proto, const char *host_ip, uint16_t host_port,
              const char *target_ip, uint16_t target_port, uint16_t *bound_port, struct berr **err) {
  bool udp;
  int r = proto_parse(proto, &udp, err);
  if (r < 0)
    return r;
  if (!host_ip || !*host_ip)
    host_ip = "0.0.0.0";
  struct mapping *m = xcalloc(1, sizeof *m);
  struct sockaddr_storage ha;
  socklen_t hl;
  m->udp = udp;
  m->listen = (struct pwatch){.kind = udp ? W_LISTEN_UDP : W_LISTEN_TCP, .fd = -1};
  if (addr_parse(host_ip, host_port, &ha, &hl, m->host_ip) < 0) {
    free(m);
    return berr_set(err, EINVAL, "userland proxy: invalid host address %s", host_ip);
  }
  if (!target_ip || addr_parse(target_ip, target_port, &m->target, &m->target_len, NULL) < 0) {
    free(m);
    return berr_set(err, EINVAL, "userland proxy: invalid container address %s", target_ip ? target_ip : "(none)");
  }
  pthread_mutex_lock(&p->lock);
  if (host_port && find_map(p, udp, m->host_ip, host_port)) {
    r = berr_set(err, EEXIST, "userland proxy: %s %s:%u is already proxied", udp ? "udp" : "tcp", m->host_ip,
                 host_port);
  } else if ((r = listen_open(udp, &ha, hl, m->host_ip, host_port, &m->listen.fd, &m->port, err)) == 0) {
    if ((r = pw_add(p, &m->listen, EPOLLIN)) < 0) {
      berr_sys(err, -r, "userland proxy: epoll");
      pw_close(p, &m->listen);
    }
  }
  if (r == 0) {
    m->next = p->maps;
    p->maps = m;
    if (bound_port)
      *bound_port = m->port;
  } else {
    free(m);
  }
  pthread_mutex_unlock(&p->lock);
  return r;
}

/* Close a mapping and its connections / flows. Lock held. */
static void map_kill(struct proxy *p, struct mapping *m) {
  while (m->conns)
    conn_kill(p, m->conns);
  while (m->flows)
    flow_kill(p, m->flows);
  pw_close(p, &m->listen);
  m->dead = true;
  struct mapping **pp = &p->maps;
  while (*pp && *pp != m)
    pp = &(*pp)->next;
  if (*pp)
    *pp = m->next;
  m->grave_next = p->map_grave;
  p->map_grave = m;
}

int proxy_remove(struct proxy *p, const char *proto, const char *host_ip, uint16_t host_port) {
  bool udp;
  char norm[INET6_ADDRSTRLEN];
  struct sockaddr_storage ha;
  socklen_t hl;
  if (proto_parse(proto, &udp, NULL) < 0)
    return -EINVAL;
  if (!host_ip || !*host_ip)
    host_ip = "0.0.0.0";
  if (addr_parse(host_ip, host_port, &ha, &hl, norm) < 0)
    return -EINVAL;
  pthread_mutex_lock(&p->lock);
  struct mapping *m = find_map(p, udp, norm, host_port);
  if (m)
    map_kill(p, m);
  pthread_mutex_unlock(&p->lock);
  if (m)
    wake(p);
  return m ? 0 : -ENOENT;
}

void proxy_set_udp_timeout(struct proxy *p, unsigned seconds) {
  pthread_mutex_lock(&p->lock);
  p->udp_timeout = seconds;
  pthread_mutex_unlock(&p->lock);
  wake(p);
}

void proxy_free(struct proxy *p) {
  if (!p)
    return;
  evloop_stop(p->loop);
  while (p->maps)
    map_kill(p, p->maps);
  empty_graves(p);
  evloop_free(p->loop);
  pthread_mutex_destroy(&p->lock);
  free(p);
}
