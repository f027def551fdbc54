/*
 * main.c — berth-shim's entry: flags (one per struct shim_opts field, see
 * shim.h), detaching, then shim_run (server.c).
 *
 *   berth-shim --id ID [--exec-id EID --process FILE] --bundle DIR --state-dir DIR
 *              --runtime PATH [--runtime-root DIR] [--tty] [--open-stdin]
 *              [--log-driver json-file|local|none] [--log-path FILE]
 *              [--log-max-size BYTES] [--log-max-file N] [--height H --width W]
 *              [--ready-fd FD] [--direct-start]
 *
 * Detaching: shim_spawn starts us in a new session; we fork once more and the
 * first process exits at once, so berthd reaps its child immediately and the
 * shim is re-parented away from berthd (a SIGKILL of berthd never reaches it).
 * The shim's cwd is its state dir; stdin/stdout are /dev/null, stderr and our
 * own log go to <state>/shim.log. Every inherited fd but the ready pipe is
 * closed first: berthd's sockets must not live on in the shim (or the container).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

#include "shim/shim_internal.h"

enum { O_ID = 256, O_EXEC_ID, O_BUNDLE, O_STATE, O_RUNTIME, O_RTROOT, O_PROCESS, O_TTY, O_STDIN,
       O_LOGDRV, O_LOGPATH, O_LOGSIZE, O_LOGFILE, O_HEIGHT, O_WIDTH, O_READY, O_DSTART };

static const struct option long_opts[] = {
    {"id", required_argument, NULL, O_ID},
    {"exec-id", required_argument, NULL, O_EXEC_ID},
    {"bundle", required_argument, NULL, O_BUNDLE},
    {"state-dir", required_argument, NULL, O_STATE},
    {"runtime", required_argument, NULL, O_RUNTIME},
    {"runtime-root", required_argument, NULL, O_RTROOT},
    {"process", required_argument, NULL, O_PROCESS},
    {"tty", no_argument, NULL, O_TTY},
    {"open-stdin", no_argument, NULL, O_STDIN},
    {"log-driver", required_argument, NULL, O_LOGDRV},
    {"log-path", required_argument, NULL, O_LOGPATH},
    {"log-max-size", required_argument, NULL, O_LOGSIZE},
    {"log-max-file", required_argument, NULL, O_LOGFILE},
    {"height", required_argument, NULL, O_HEIGHT},
    {"width", required_argument, NULL, O_WIDTH},
    {"ready-fd", required_argument, NULL, O_READY},
    {"direct-start", no_argument, NULL, O_DSTART},
    {NULL, 0, NULL, 0},
};

static int num_arg(const char *name, const char *v, int64_t *out, struct berr **err) {
  if (parse_int64(v, out) < 0)
    return berr_set(err, EINVAL, "--%s: not a number: %s", name, v);
  return 0;
}

static int parse_flags(int argc, char **argv, struct shim_opts *o, int *ready_fd, struct berr **err) {
  int c, r = 0;
  int64_t v = 0;
  o->log_max_size = -1;
  o->log_max_file = 1;
  while (r == 0 && (c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
    switch (c) {
    case O_ID: o->id = optarg; break;
    case O_EXEC_ID: o->exec_id = optarg; break;
    case O_BUNDLE: o->bundle = optarg; break;
    case O_STATE: o->state_dir = optarg; break;
    case O_RUNTIME: o->runtime = optarg; break;
    case O_RTROOT: o->runtime_root = optarg; break;
    case O_PROCESS: o->process_json = optarg; break;
    case O_TTY: o->tty = true; break;
    case O_STDIN: o->open_stdin = true; break;
    case O_DSTART: o->direct_start = true; break;
    case O_LOGDRV: o->log_driver = optarg; break;
    case O_LOGPATH: o->log_path = optarg; break;
    case O_LOGSIZE: r = num_arg("log-max-size", optarg, &o->log_max_size, err); break;
    case O_LOGFILE: r = num_arg("log-max-file", optarg, &v, err), o->log_max_file = (int)v; break;
    case O_HEIGHT: r = num_arg("height", optarg, &v, err), o->height = (int)v; break;
    case O_WIDTH: r = num_arg("width", optarg, &v, err), o->width = (int)v; break;
    case O_READY: r = num_arg("ready-fd", optarg, &v, err), *ready_fd = (int)v; break;
    default: r = berr_set(err, EINVAL, "usage: berth-shim --id ID --state-dir DIR --runtime PATH ..."); break;
    }
  }
  if (r < 0)
    return r;
  if (!o->id || !o->state_dir || !o->runtime)
    return berr_set(err, EINVAL, "berth-shim: --id, --state-dir and --runtime are required");
  if (o->exec_id ? !o->process_json : !o->bundle)
    return berr_set(err, EINVAL, "berth-shim: %s", o->exec_id ? "an exec needs --process" : "--bundle is required");
  if (o->state_dir[0] != '/')
    return berr_set(err, EINVAL, "berth-shim: --state-dir must be absolute: %s", o->state_dir);
  return 0;
}

static void close_inherited(int keep) {
  unsigned int hi = ~0U;
  if (keep > 3)
    syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0U);
  if (keep >= 3)
    syscall(SYS_close_range, (unsigned)keep + 1, hi, 0U);
  else
    syscall(SYS_close_range, 3U, hi, 0U);
  if (keep >= 0)
    fcntl(keep, F_SETFD, FD_CLOEXEC);
}

/* stdin/stdout /dev/null, stderr shim.log, our log to shim.log. */
static int setup_stdio(const char *state_dir, struct berr **err) {
  _cleanup_free_ char *log = xasprintf("%s/shim.log", state_dir);
  int null = open("/dev/null", O_RDWR);
  int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (null < 0 || lf < 0)
    return berr_sys(err, errno, "open %s", lf < 0 ? log : "/dev/null");
  dup2(null, 0);
  dup2(null, 1);
  dup2(lf, 2);
  if (null > 2)
    close(null);
  if (lf > 2)
    close(lf);
  return log_open(log, LOG_TEXT, LOG_INFO, err);
}

static int child_main(struct shim *s, struct berr **err) {
  if (chdir(s->o.state_dir) < 0)
    return berr_sys(err, errno, "shim: state dir %s", s->o.state_dir);
  int r = setup_stdio(s->o.state_dir, err);
  if (r < 0)
    return r;
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  _cleanup_free_ char *pidfile = xasprintf("%s/shim.pid", s->o.state_dir);
  if ((r = write_file_replace(pidfile, pid, strlen(pid), 0644, err)) < 0)
    return r;
  return shim_run(s, err);
}

static void report_error(int fd, const struct berr *e) {
  if (fd < 0)
    return;
  json_t *o = json_pack("{s:s, s:i}", "error", e->msg, "code", e->code);
  _cleanup_free_ char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (txt && write(fd, txt, strlen(txt)) < 0)
    return;
}

int main(int argc, char **argv) {
  _cleanup_berr_ struct berr *err = NULL;
  struct shim s = {.ready_fd = -1};
  int r = parse_flags(argc, argv, &s.o, &s.ready_fd, &err);
  if (r < 0) {
    fprintf(stderr, "%s\n", err->msg);
    report_error(s.ready_fd, err);
    return 2;
  }
  close_inherited(s.ready_fd);
  if (getsid(0) != getpid())
    setsid();
  pid_t child = fork();
  if (child < 0) {
    berr_sys(&err, errno, "shim: fork");
    report_error(s.ready_fd, err);
    return 1;
  }
  if (child > 0)
    return 0; /* the caller reaps us; the shim lives on in the child */
  r = child_main(&s, &err);
  if (r < 0) {
    log_error("%s", err->msg);
    /* shim_run reports its own failures; earlier ones are reported here */
    if (s.ready_fd >= 0)
      report_error(s.ready_fd, err);
  }
  log_close();
  return r < 0 ? 1 : 0;
}
