/*
 * shim_internal.h — what berth-shim's own files share, and what the unit tests
 * reach: the log writer (shim_log.c) and the process side (server.c).
 * berthd uses shim.h only.
 */
#ifndef BERTH_SHIM_INTERNAL_H
#define BERTH_SHIM_INTERNAL_H

#include "shim/shim.h"

/* Docker's copier buffer: a line longer than this is logged in pieces of this
 * size, each without "\n" (daemon/logger/copier.go, bufSize). */
#define SHIM_LOG_LINE_MAX (16 * 1024)

enum shim_log_driver { SHIM_LOG_NONE = 0, SHIM_LOG_JSON, SHIM_LOG_LOCAL };

/* The log writer: splits each stream's bytes into entries and appends them to
 * the driver's file, rotating it at max_size. One per shim. */
struct shim_logger;

/* driver NULL or "" means json-file. -EINVAL "unknown log driver" otherwise. */
int shim_log_driver_parse(const char *name, enum shim_log_driver *out, struct berr **err);
/* Open (create, append) the log; with SHIM_LOG_NONE nothing is opened and
 * writes are dropped. */
int shim_logger_open(enum shim_log_driver driver, const char *path, int64_t max_size, int max_file,
                     struct shim_logger **out, struct berr **err);
/* Bytes read from stream (1 stdout, 2 stderr) at time now_ns. Complete lines
 * are written at once, a partial line is kept (per stream) until its "\n", a
 * full 16 KiB buffer or shim_logger_flush. Errors (disk full …) are returned;
 * the caller logs them and keeps going, as Docker does. */
int shim_logger_write(struct shim_logger *l, int stream, const char *buf, size_t n, int64_t now_ns,
                      struct berr **err);
/* At EOF of stream (0: both): write the kept partial line as an entry of its own. */
int shim_logger_flush(struct shim_logger *l, int stream, int64_t now_ns, struct berr **err);
void shim_logger_free(struct shim_logger *l);

/* One json-file line (with its "\n") for an entry. Caller frees; *len its length. */
char *shim_json_log_line(const char *bytes, size_t n, int stream, int64_t time_ns, size_t *len);

/* ns since the epoch, CLOCK_REALTIME. */
int64_t shim_now_ns(void);

/* ---------- the shim process (server.c, runtime.c; not in the library) ---------- */

struct shim_conn;

struct shim {
  struct shim_opts o;
  int ready_fd;             /* the pipe to shim_spawn, -1 once reported */
  int epfd, sigfd, lfd, timerfd;
  int out_fd, err_fd;       /* our read ends of the process's stdout/stderr (or the pty master
                             * as out_fd), -1 after EOF */
  int in_fd;                /* our write end of its stdin (or a dup of the pty master), -1: closed */
  bool tty;
  char *stdin_buf;          /* bytes from attached clients not yet written to in_fd */
  size_t stdin_n;
  bool stdin_close_pending; /* close in_fd once stdin_buf is written */
  pid_t pid;                /* the process (from init.pid) */
  bool started;             /* init: runtime start done; exec: always */
  bool begun;               /* out_fd/err_fd are in the loop (init: from the spawn; exec: from
                             * SHIM_START, so the pipes hold the output until a client is
                             * attached) */
  bool exited;              /* reaped; output draining until both fds are closed or the timer */
  bool finalized;           /* exit.json written, waiters answered */
  bool quit;                /* leave the loop (after DELETE) */
  int status;               /* waitpid status */
  struct shim_exit ex;
  char *oom_file;           /* memory.events (v2) or memory.oom_control (v1), NULL: unknown */
  int64_t oom_base;         /* its oom_kill count at start */
  struct shim_logger *log;
  struct shim_conn *conns;
};

/* runtime.c: the OCI runtime's commands. On failure the error is the runtime's
 * own message (runtime.log's last error line, else its stderr). */
int shim_rt_create(struct shim *s, struct berr **err);
int shim_rt_simple(struct shim *s, const char *const *args, struct berr **err);
/* The init's start: the runtime's `start`, or its fifo write (direct_start). */
int shim_rt_start(struct shim *s, struct berr **err);
void shim_rt_delete_detached(struct shim *s, int log_fd);
/* Remember the process's memory cgroup and its OOM count (best effort). */
void shim_oom_watch(struct shim *s);
bool shim_oom_happened(struct shim *s);

/* server.c */
int shim_run(struct shim *s, struct berr **err);

#endif
