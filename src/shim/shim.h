/*
 * shim.h — berth-shim and the daemon's side of its protocol.
 *
 * One berth-shim runs per container (its init process) and one per exec. berthd
 * spawns it and then forgets it: the shim detaches (setsid, double fork), makes
 * itself the child subreaper, runs the OCI runtime's `create` (or `exec
 * --detach`) with the process's stdio connected to pipes it holds (or a pty it
 * receives through --console-socket), and stays until berthd tells it to
 * delete. Meanwhile it
 *   - copies stdout/stderr to the log driver's files (json-file with max-size /
 *     max-file rotation, local, none) and to every attached client,
 *   - forwards attached clients' bytes to the process's stdin,
 *   - records the exit (exit.json, atomically) when the process ends,
 *   - serves its control socket, <state-dir>/shim.sock.
 * Because the shim, not berthd, holds all of that, berthd can be killed and
 * started again without the containers noticing (live restore): it reconnects
 * to each shim's socket.
 *
 * Files in the state dir (exec-root/containers/<id>[/exec/<eid>]):
 *   shim.sock    the control socket
 *   shim.pid     the shim's pid (decimal)
 *   init.pid     the container (or exec) process's pid, written by the runtime
 *   exit.json    {"ExitCode":N,"FinishedAt":"RFC3339Nano","OOMKilled":b,"Signal":N}
 *                written (temp + rename) when the process has exited
 *   shim.log     the shim's own log (runtime errors land here too)
 *
 * Wire protocol on shim.sock: every message is a header
 *   uint32 type, uint32 length (both little endian), then `length` bytes of
 *   payload (JSON unless said otherwise).
 * Requests (client → shim) and the shim's single reply each (SHIM_REPLY with
 * {"ok":true,...} or {"ok":false,"error":"..."}):
 *   SHIM_START     {}                      init: run the runtime's `start` (or,
 *                                          with direct_start, do what berth-runc's
 *                                          start does: one byte into exec.fifo).
 *                                          exec: "begin" — the process runs from
 *                                          the spawn, but the shim reads none of
 *                                          its output (the pipes or pty hold it)
 *                                          until START: the client attaches
 *                                          first, then sends START (a detached
 *                                          exec: START at once). Until then the
 *                                          exit is not recorded either (WAIT
 *                                          waits, no exit.json).
 *   SHIM_KILL      {"signal":N,"all":b}    signal the process (all: runtime kill --all)
 *   SHIM_RESIZE    {"height":H,"width":W}  pty window size
 *   SHIM_CLOSE_STDIN {}                    close the process's stdin
 *   SHIM_STATE     {}                      reply {"ok":true,"pid":N,"running":b,
 *                                          "exit":{...exit.json...}|null}
 *   SHIM_WAIT      {}                      reply only when the process has exited
 *                                          (at once if it has), with "exit":{...}
 *   SHIM_DELETE    {"force":b}             after exit (or before start, or with
 *                                          force): runtime delete [--force],
 *                                          remove shim.sock and shim.pid; the
 *                                          shim exits after replying
 *   SHIM_ATTACH    {"stdin":b,"stdout":b,"stderr":b,"stdin_once":b}
 *                  after the ok reply the connection is a raw stream, no more
 *                  messages: the shim writes the process's output — with a tty
 *                  the raw bytes, without one Docker's multiplexed frames
 *                  ([stream(1 stdout, 2 stderr),0,0,0,uint32 big-endian size]
 *                  + data) — and reads bytes for stdin. When the client
 *                  half-closes and stdin_once is set, the shim closes the
 *                  process's stdin. When the process has exited and its output
 *                  is drained, the shim closes the connection.
 */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

enum shim_msg_type {
  SHIM_REPLY = 1,
  SHIM_START = 2,
  SHIM_KILL = 3,
  SHIM_RESIZE = 4,
  SHIM_CLOSE_STDIN = 5,
  SHIM_STATE = 6,
  SHIM_WAIT = 7,
  SHIM_DELETE = 8,
  SHIM_ATTACH = 9,
};

#define SHIM_MAX_PAYLOAD (1u << 20)

/* What berthd asks of a new shim (also its command-line flags, see main.c). */
struct shim_opts {
  const char *id;           /* container id */
  const char *exec_id;      /* NULL for the container's init; set for an exec */
  const char *bundle;       /* OCI bundle dir (config.json; rootfs already mounted) */
  const char *state_dir;    /* the shim's files (above); created by the caller */
  const char *runtime;      /* OCI runtime binary (berth-runc, runc, crun) */
  const char *runtime_root; /* the runtime's --root */
  const char *process_json; /* exec only: the process spec file for `exec --process` */
  bool tty;                 /* give the process a pty (console socket) */
  bool open_stdin;          /* keep a stdin pipe (else /dev/null) */
  const char *log_driver;   /* "json-file" (default), "local", "none" */
  const char *log_path;     /* log file (json-file: <id>-json.log) */
  int64_t log_max_size;     /* bytes before rotation; <= 0: never rotate */
  int log_max_file;         /* files kept, current one included (>= 1) */
  int height, width;        /* initial pty size, 0: leave the default */
  bool direct_start;        /* the runtime is berth-runc and the spec has no poststart hooks:
                             * SHIM_START writes <runtime_root>/<id>/exec.fifo itself instead
                             * of running `runtime start` (see runtime.c) */
};

/* The recorded end of a process. */
struct shim_exit {
  int exit_code;          /* the process's status, or 128 + signal */
  int signal;             /* the killing signal, 0 when it exited */
  bool oom_killed;        /* the memory cgroup recorded an OOM kill */
  char finished_at[64];   /* RFC 3339 with nanoseconds, UTC */
};

/* ---- berthd's side ---- */

/* Start a shim at `shim_path` with `o` and wait until the runtime's create
 * (init) or exec (exec) has finished: on success *pid is the process's pid and
 * the shim is serving its socket. On failure the error carries the runtime's
 * own message (e.g. `exec: "nope": executable file not found in $PATH`), the
 * shim has exited and nothing of it remains but shim.log. */
int shim_spawn(const char *shim_path, const struct shim_opts *o, pid_t *pid, struct berr **err);

/* Connect to <state_dir>/shim.sock. Returns the fd (caller closes). */
int shim_connect(const char *state_dir, struct berr **err);
/* One request and its reply on a connected fd. `reply` (optional) gets the
 * reply's JSON object (caller decrefs); {"ok":false} becomes an error. */
int shim_call(int fd, enum shim_msg_type type, json_t *payload /* stolen, may be NULL */,
              json_t **reply, struct berr **err);

/* Conveniences over shim_call, each on its own fresh connection. */
int shim_start(const char *state_dir, struct berr **err);
int shim_kill(const char *state_dir, int signal, bool all, struct berr **err);
int shim_resize(const char *state_dir, int height, int width, struct berr **err);
int shim_close_stdin(const char *state_dir, struct berr **err);
int shim_delete(const char *state_dir, struct berr **err);
/* SHIM_DELETE with {"force":true}: also for a process that still runs (runtime
 * delete --force kills it). Without force a running process is an error. */
int shim_delete_force(const char *state_dir, bool force, struct berr **err);
/* Blocks until the process has exited (or the shim went away: -ECONNRESET,
 * then read exit.json). */
int shim_wait(const char *state_dir, struct shim_exit *ex, struct berr **err);
/* Open an attach stream: returns the connected fd, already past the reply. */
int shim_attach(const char *state_dir, bool in, bool out, bool err_stream, bool stdin_once,
                struct berr **err);

/* Read exit.json: 0 and *ex filled, -ENOENT when not exited (or no file). */
int shim_read_exit(const char *state_dir, struct shim_exit *ex, struct berr **err);
/* Is the shim for state_dir alive (pid file + /proc check)? */
bool shim_alive(const char *state_dir);

/* Low level framing, shared by both sides. */
int shim_send(int fd, uint32_t type, const void *payload, uint32_t len, struct berr **err);
/* Receives one message; *payload is malloc'd and NUL-terminated (caller frees). */
int shim_recv(int fd, uint32_t *type, char **payload, uint32_t *len, struct berr **err);

/* ---- log files (shim_log.c): written by the shim, read by berthd ----
 *
 * json-file: Docker's format, one entry a line:
 *   {"log":"<bytes, JSON-escaped as Docker does>","stream":"stdout","time":"<RFC3339Nano>"}
 * local: berth's own compact binary framing, one entry a frame, little endian:
 *   uint32 n | uint8 stream (1 stdout, 2 stderr) | uint8 0 | uint16 0 | int64 time (ns since
 *   the epoch, UTC) | n bytes | uint32 n (again: lets a reader walk backwards for --tail)
 * In both, an entry's bytes are what json-file's "log" holds: a line with its
 * "\n", or a 16 KiB piece of a longer line (no "\n"), or the last bytes before EOF.
 * Rotation (both drivers): <path> is the current file, <path>.1 the one before,
 * … <path>.<max_file-1> the oldest. */

#define SHIM_LOG_LOCAL_HDR 16u  /* frame header bytes */
#define SHIM_LOG_LOCAL_TRL 4u   /* frame trailer bytes */

/* One log entry; `bytes` is valid only during the callback. Return non-zero to stop
 * reading (shim_log_read then returns that value). */
typedef int (*shim_log_cb)(void *ctx, int stream, int64_t time_ns, const char *bytes, size_t len);

/* Read the complete entries of one log file from *offset (NULL: from the start) and
 * call cb for each; *offset ends past the last complete entry, so a follower can
 * call again when the file grows (a partly written last entry is left for then).
 * driver: "json-file" or "local". -ENOENT when the file does not exist. */
int shim_log_read(const char *path, const char *driver, int64_t *offset, shim_log_cb cb, void *ctx,
                  struct berr **err);
/* All files of a rotated log, oldest first (<path>.<max_file-1> … <path>.1, <path>);
 * missing ones are skipped. */
int shim_log_read_all(const char *path, const char *driver, int max_file, shim_log_cb cb, void *ctx,
                      struct berr **err);
/* Parse RFC 3339 ("2024-01-02T03:04:05.123Z", offsets "+01:00" too) into ns since the epoch. */
int shim_parse_time(const char *s, int64_t *ns);
/* Format ns since the epoch as Go's RFC3339Nano (UTC, trailing zeros of the fraction trimmed,
 * no fraction when it is zero), as Docker's json-file and inspect do. */
void shim_format_time(int64_t ns, char out[64]);

#endif
