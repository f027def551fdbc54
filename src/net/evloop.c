/*
 * evloop.c — the epoll thread shared by the embedded DNS (dns.c) and the
 * userland proxy (proxy.c): one epoll set, one eventfd to wake it, one thread
 * started with every signal blocked.
 *
 * The owner keeps its own lock and objects; the loop takes the owner's lock
 * around each iteration's events and its tick (timers, freeing dead objects),
 * so callbacks run with that lock held and an event returned by epoll_wait is
 * only looked at after the owner had the chance to mark its object dead.
 * Stopping: evloop_stop() sets the stop flag under the owner's lock, wakes the
 * thread and joins it; then the owner may tear its objects down (evloop_del
 * still works) and evloop_free() closes the epoll set and the eventfd.
 */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/net_internal.h"

struct evloop {
  pthread_mutex_t *lock; /* the owner's */
  const struct evloop_ops *ops;
  void *ctx;
  int epfd, wakefd;
  pthread_t thread;
  bool started, stop;
};

int evloop_add(struct evloop *l, int fd, uint32_t events, void *data) {
  struct epoll_event e = {.events = events, .data.ptr = data};
  return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

void evloop_mod(struct evloop *l, int fd, uint32_t events, void *data) {
  struct epoll_event e = {.events = events, .data.ptr = data};
  if (fd >= 0)
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &e);
}

void evloop_del(struct evloop *l, int fd) {
  if (fd >= 0)
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void evloop_wake(struct evloop *l) {
  uint64_t one = 1;
  if (write(l->wakefd, &one, sizeof one) < 0) { /* counter full: the loop is awake anyway */
  }
}

static void *loop_main(void *arg) {
  struct evloop *l = arg;
  int timeout = -1;
  for (;;) {
    struct epoll_event evs[64];
    int n = epoll_wait(l->epfd, evs, 64, timeout);
    pthread_mutex_lock(l->lock);
    if (l->stop) {
      pthread_mutex_unlock(l->lock);
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == l) { /* the wake-up itself was the message */
        uint64_t v;
        if (read(l->wakefd, &v, sizeof v) < 0) {
        }
        continue;
      }
      l->ops->event(l->ctx, evs[i].data.ptr, evs[i].events);
    }
    timeout = l->ops->tick(l->ctx);
    pthread_mutex_unlock(l->lock);
  }
}

/* Every signal blocked: the thread must never run the process's handlers,
 * and a SIGPIPE from a write to a closed socket stays pending on it, harmless. */
int evloop_thread_start(pthread_t *t, void *(*fn)(void *), void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int r = pthread_create(t, NULL, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r;
}

int evloop_new(struct evloop **out, pthread_mutex_t *lock, const struct evloop_ops *ops,
               void *ctx, const char *what, struct berr **err) {
  struct evloop *l = xcalloc(1, sizeof(*l));
  l->lock = lock;
  l->ops = ops;
  l->ctx = ctx;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int r;
  if (l->epfd < 0 || l->wakefd < 0) {
    r = berr_sys(err, errno, "%s: epoll", what);
  } else if ((r = evloop_add(l, l->wakefd, EPOLLIN, l)) < 0) {
    berr_sys(err, -r, "%s: epoll", what);
  } else if ((r = evloop_thread_start(&l->thread, loop_main, l)) != 0) {
    r = berr_sys(err, r, "%s: start thread", what);
  } else {
    l->started = true;
    *out = l;
    return 0;
  }
  evloop_free(l);
  return r;
}

void evloop_stop(struct evloop *l) {
  if (l == NULL || !l->started)
    return;
  pthread_mutex_lock(l->lock);
  l->stop = true;
  pthread_mutex_unlock(l->lock);
  evloop_wake(l);
  pthread_join(l->thread, NULL);
  l->started = false;
}

void evloop_free(struct evloop *l) {
  if (l == NULL)
    return;
  evloop_stop(l);
  if (l->wakefd >= 0)
    close(l->wakefd);
  if (l->epfd >= 0)
    close(l->epfd);
  free(l);
}
