/*
 * error.c — berth's error objects (see common.h for the convention).
 *
 * An error is one message string plus an errno-style code. The first failure
 * sets it; every caller on the way up prefixes its own context, so the final
 * text reads outermost-first: "create c1: rootfs: mount /proc: Permission denied".
 * If *err is already set, berr_set keeps the first (innermost) cause.
 */
#include <errno.h>

#include "common.h"

static int berr_new(struct berr **err, int code, char *msg) {
  if (code <= 0)
    code = code < 0 ? -code : EIO;
  if (err == NULL || *err != NULL) {
    free(msg);
    return -code;
  }
  struct berr *e = xcalloc(1, sizeof *e);
  e->code = code;
  e->msg = msg;
  *err = e;
  return -code;
}

int berr_set(struct berr **err, int code, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  return berr_new(err, code, msg);
}

int berr_sys(struct berr **err, int code, const char *fmt, ...) {
  va_list ap;
  char *head = NULL;
  if (code < 0)
    code = -code;
  va_start(ap, fmt);
  if (vasprintf(&head, fmt, ap) < 0)
    abort();
  va_end(ap);
  char *msg = xasprintf("%s: %s", head, strerror(code));
  free(head);
  return berr_new(err, code, msg);
}

int berr_wrap(struct berr **err, const char *fmt, ...) {
  if (err == NULL || *err == NULL)
    return -EIO;
  va_list ap;
  char *head = NULL;
  va_start(ap, fmt);
  if (vasprintf(&head, fmt, ap) < 0)
    abort();
  va_end(ap);
  char *msg = xasprintf("%s: %s", head, (*err)->msg);
  free(head);
  free((*err)->msg);
  (*err)->msg = msg;
  return -(*err)->code;
}

void berr_free(struct berr *err) {
  if (err == NULL)
    return;
  free(err->msg);
  free(err);
}

void berr_freep(struct berr **err) {
  berr_free(*err);
  *err = NULL;
}

/* ---- cleanup helpers: idempotent, they reset what they release ---- */

void freep(void *p) {
  void **pp = p;
  free(*pp);
  *pp = NULL;
}

void closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
  *fd = -1;
}

void fclosep(FILE **f) {
  if (*f)
    fclose(*f);
  *f = NULL;
}

void closedirp(DIR **d) {
  if (*d)
    closedir(*d);
  *d = NULL;
}

void strv_freep(char ***v) {
  strv_free(*v);
  *v = NULL;
}
