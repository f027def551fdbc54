/*
 * log.c — the runtime's log, in runc's two formats.
 *
 * containerd's runc shim and dockerd run the runtime with
 * `--log FILE --log-format json` and, when a command fails, read the last
 * {"level":"error","msg":...} line from FILE to report the cause. So every
 * error main() prints also goes to the log, in that shape, one line per entry.
 * Process-wide state here is the one exception to "no globals": the log
 * destination is set once in main() before anything else runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>

#include "common.h"

static struct {
  int fd;            /* -1: stderr */
  enum log_format format;
  enum log_level max;
} logger = {-1, LOG_TEXT, LOG_WARN};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int log_open(const char *path, enum log_format format, enum log_level max, struct berr **err) {
  logger.format = format;
  logger.max = max;
  if (path == NULL || *path == '\0')
    return 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return berr_sys(err, errno, "open log file %s", path);
  logger.fd = fd;
  return 0;
}

void log_close(void) {
  closep(&logger.fd);
}

bool log_is_file(void) {
  return logger.fd >= 0;
}

static void log_write_json(enum log_level level, const char *msg) {
  _cleanup_free_ char *now = time_now_rfc3339();
  json_t *o = json_pack("{s:s, s:s, s:s}", "level", level_names[level], "msg", msg, "time", now);
  _cleanup_free_ char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (s)
    dprintf(logger.fd >= 0 ? logger.fd : 2, "%s\n", s);
}

void log_msg(enum log_level level, const char *fmt, ...) {
  if (level > logger.max)
    return;
  int saved = errno;
  va_list ap;
  _cleanup_free_ char *msg = NULL;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (msg == NULL)
    return;
  if (logger.format == LOG_JSON) {
    log_write_json(level, msg);
  } else if (logger.fd >= 0) {
    _cleanup_free_ char *now = time_now_rfc3339();
    dprintf(logger.fd, "time=\"%s\" level=%s msg=\"%s\"\n", now, level_names[level], msg);
  } else if (logger.max >= LOG_DEBUG) {
    /* --debug: monotonic seconds.microseconds and pid, to see where a run spends its time */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    dprintf(2, "[%ld.%06ld %d] %s\n", (long)(ts.tv_sec % 1000), ts.tv_nsec / 1000, (int)getpid(), msg);
  } else {
    dprintf(2, "%s\n", msg);
  }
  errno = saved;
}
