/*
 * common.h — the bottom layer of libberth: errors, logging, cleanup helpers,
 * strings, JSON and filesystem helpers. Everything else includes this; this
 * includes nothing of berth's own.
 *
 * Error convention (see docs/architecture.md, after crun's error_handling.md):
 * a function that can fail returns 0 on success or a negative errno, and fills
 * `struct berr **err` with a message. Callers add context on the way up with
 * berr_wrap(); only main() prints. The message always names the object and
 * the cause: "create foo: mount /proc: Operation not permitted".
 */
#ifndef BERTH_COMMON_H
#define BERTH_COMMON_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

/* ---------- errors ---------- */

struct berr {
  int code;  /* positive errno describing the failure class (EINVAL, ENOENT, ...) */
  char *msg; /* full message, outermost context first */
};

/* Set *err to a new error (if err is non-NULL and *err is NULL) and return -code. */
int berr_set(struct berr **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like berr_set, with ": strerror(code)" appended. */
int berr_sys(struct berr **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix the existing error with "context: "; returns -(*err)->code (or -EIO). */
int berr_wrap(struct berr **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berr_free(struct berr *err);
void berr_freep(struct berr **err);
#define _cleanup_berr_ __attribute__((cleanup(berr_freep)))

/* ---------- cleanup helpers ---------- */

void freep(void *p);
void closep(int *fd);
void fclosep(FILE **f);
void closedirp(DIR **d);
/* json_decrefp comes from jansson (2.9+) */
void strv_freep(char ***v);

#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))
#define _cleanup_strv_ __attribute__((cleanup(strv_freep)))

/* Take ownership out of a cleanup variable. */
#define steal_ptr(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
static inline int move_fd(int *fd) {
  int t = *fd;
  *fd = -1;
  return t;
}

/* ---------- logging ---------- */

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/* Send log lines to `path` (NULL: stderr) in `format`; lines above `max` are dropped.
 * runc's JSON line shape: {"level":"error","msg":"...","time":"RFC3339"}. */
int log_open(const char *path, enum log_format format, enum log_level max, struct berr **err);
void log_close(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
/* true when log lines go somewhere other than stderr */
bool log_is_file(void);

/* ---------- strings ---------- */

/* Allocating printf; aborts on out-of-memory (the only place we abort). Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xstrdup(const char *s);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* NULL-terminated string vectors. strv_len counts; strv_append takes ownership of s. */
size_t strv_len(char *const *v);
void strv_free(char **v);
char **strv_append(char **v, char *s);
/* A deep copy of v (NULL stays NULL). Caller frees with strv_free. */
char **strv_dup(char *const *v);
/* Parse a decimal integer; the whole string must be consumed. */
int parse_int64(const char *s, int64_t *out);
/* Docker / go-units RAMInBytes: "512", "512k", "64m", "1g", "1.5GB" (1024-based).
 * "-1" is accepted as -1 (unlimited). */
int parse_size_bytes(const char *s, int64_t *out);
/* Current time as RFC 3339 with nanoseconds, UTC ("2024-01-02T03:04:05.123456789Z"). Caller frees. */
char *time_now_rfc3339(void);

/* ---------- files ---------- */

/* mkdir -p with `mode` for created components. */
int mkdir_p(const char *path, mode_t mode, struct berr **err);
/* Read a whole file (NUL-terminated; *len optional). Caller frees *out. */
int read_file(const char *path, char **out, size_t *len, struct berr **err);
/* Write `data` to an existing file (e.g. a cgroup or /proc knob), no create, no truncate. */
int write_file(const char *path, const char *data, size_t len, struct berr **err);
/* Write a file atomically: temp file in the same dir, fsync, rename. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct berr **err);
/* The same without fsync: readers never see a partial file, but a power cut may
 * lose it. For run-time state that lives on tmpfs (/run) and dies with the boot. */
int write_file_replace(const char *path, const char *data, size_t len, mode_t mode, struct berr **err);
/* Remove a directory tree (does not cross mount points; no error if absent). */
int rm_rf(const char *path, struct berr **err);
/* Lexically clean an absolute or relative path: collapse //, ., and .. ("/a/../b" -> "/b").
 * *escapes is set when a ".." climbed above the start. Caller frees. */
char *path_clean(const char *path, bool *escapes);
/* Join root and a path meant to be inside it, lexically; refuses ".." escapes
 * with -EINVAL naming the path. Symlinks are not followed: use openat2 RESOLVE_IN_ROOT
 * when touching the result. Caller frees *out. */
int path_join_in_root(const char *root, const char *path, char **out, struct berr **err);
bool path_exists(const char *path);
/* Open `rel` under the directory root_fd as if root_fd were "/": symlinks
 * (absolute or through "..") and ".." cannot lead out, magic links are
 * refused; "" and "/" name the root. O_CLOEXEC is added; `mode` counts with
 * O_CREAT. The fd, or -errno. */
int fs_open_in_root(int root_fd, const char *rel, int flags, mode_t mode);

/* ---------- JSON ---------- */

/* Load a JSON file; the error names the file, line and column. */
int json_load_path(const char *path, json_t **out, struct berr **err);
/* Dump compact JSON to a malloc'd string. Caller frees. */
char *json_dump_compact(const json_t *j);

#endif
