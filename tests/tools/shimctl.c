/*
 * shimctl.c — a small client of berth-shim over the API in src/shim/shim.h,
 * for the system tests (tests/system/shim.bats) and for poking a shim by hand.
 *
 *   shimctl spawn --shim PATH --state-dir DIR --id ID --runtime PATH [--runtime-root DIR]
 *                 [--bundle DIR | --exec-id EID --process FILE] [--tty] [--open-stdin]
 *                 [--log-driver D] [--log-path F] [--log-max-size N] [--log-max-file N]
 *                 [--height H --width W]           prints the process's pid
 *   shimctl start|state|wait|close-stdin DIR
 *   shimctl kill DIR SIGNAL [--all]
 *   shimctl delete DIR [--force]
 *   shimctl resize DIR HEIGHT WIDTH
 *   shimctl attach DIR [--stdin] [--stdout] [--stderr] [--stdin-once] [--demux] [--ready FILE]
 *           stdin → the process, its output → stdout (raw bytes; --demux decodes
 *           the multiplexed frames to stdout / stderr; --ready: FILE is created
 *           once the stream is open)
 *   shimctl logs FILE DRIVER [--max-file N]  one line per entry: "<stream> <time> <bytes>"
 * Errors: the message on stderr, exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include "shim/shim.h"

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int cmd_spawn(int argc, char **argv, struct berr **err) {
  static const struct option lo[] = {
      {"shim", 1, 0, 'S'}, {"state-dir", 1, 0, 's'}, {"id", 1, 0, 'i'}, {"exec-id", 1, 0, 'e'},
      {"runtime", 1, 0, 'r'}, {"runtime-root", 1, 0, 'R'}, {"bundle", 1, 0, 'b'}, {"process", 1, 0, 'p'},
      {"tty", 0, 0, 't'}, {"open-stdin", 0, 0, 'I'}, {"log-driver", 1, 0, 'd'}, {"log-path", 1, 0, 'l'},
      {"log-max-size", 1, 0, 'm'}, {"log-max-file", 1, 0, 'n'}, {"height", 1, 0, 'H'}, {"width", 1, 0, 'W'},
      {0, 0, 0, 0}};
  struct shim_opts o = {.log_max_size = -1, .log_max_file = 1};
  const char *shim = "berth-shim";
  int c;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case 'S': shim = optarg; break;
    case 's': o.state_dir = optarg; break;
    case 'i': o.id = optarg; break;
    case 'e': o.exec_id = optarg; break;
    case 'r': o.runtime = optarg; break;
    case 'R': o.runtime_root = optarg; break;
    case 'b': o.bundle = optarg; break;
    case 'p': o.process_json = optarg; break;
    case 't': o.tty = true; break;
    case 'I': o.open_stdin = true; break;
    case 'd': o.log_driver = optarg; break;
    case 'l': o.log_path = optarg; break;
    case 'm':
      if (parse_size_bytes(optarg, &o.log_max_size) < 0)
        return berr_set(err, EINVAL, "bad --log-max-size %s", optarg);
      break;
    case 'n': o.log_max_file = atoi(optarg); break;
    case 'H': o.height = atoi(optarg); break;
    case 'W': o.width = atoi(optarg); break;
    default: return berr_set(err, EINVAL, "spawn: bad option");
    }
  }
  pid_t pid;
  int r = shim_spawn(shim, &o, &pid, err);
  if (r == 0)
    printf("%d\n", (int)pid);
  return r;
}

static int print_json(json_t *o) {
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  printf("%s\n", s ? s : "null");
  free(s);
  return 0;
}

static int cmd_state(const char *dir, struct berr **err) {
  int fd = shim_connect(dir, err);
  if (fd < 0)
    return fd;
  _cleanup_json_ json_t *reply = NULL;
  int r = shim_call(fd, SHIM_STATE, NULL, &reply, err);
  close(fd);
  if (r == 0)
    print_json(reply);
  return r;
}

static int cmd_wait(const char *dir, struct berr **err) {
  struct shim_exit ex;
  int r = shim_wait(dir, &ex, err);
  if (r < 0)
    return r;
  json_t *o = json_pack("{s:i, s:s, s:b, s:i}", "ExitCode", ex.exit_code, "FinishedAt", ex.finished_at,
                        "OOMKilled", ex.oom_killed, "Signal", ex.signal);
  print_json(o);
  json_decref(o);
  return 0;
}

/* Decode stdcopy frames from buf, keeping a partial frame in *pend. */
static void demux(char **pend, size_t *pn, const char *buf, size_t n) {
  *pend = xrealloc(*pend, *pn + n);
  memcpy(*pend + *pn, buf, n);
  *pn += n;
  size_t off = 0;
  while (*pn - off >= 8) {
    unsigned char *h = (unsigned char *)*pend + off;
    size_t len = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
    if (*pn - off - 8 < len)
      break;
    write_all(h[0] == 2 ? 2 : 1, *pend + off + 8, len);
    off += 8 + len;
  }
  memmove(*pend, *pend + off, *pn - off);
  *pn -= off;
}

static int cmd_attach(const char *dir, int argc, char **argv, struct berr **err) {
  bool in = false, out = false, errs = false, once = false, dmx = false;
  const char *ready = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc) {
      ready = argv[++i];
      continue;
    }
    if (strcmp(argv[i], "--stdin") == 0) in = true;
    else if (strcmp(argv[i], "--stdout") == 0) out = true;
    else if (strcmp(argv[i], "--stderr") == 0) errs = true;
    else if (strcmp(argv[i], "--stdin-once") == 0) once = true;
    else if (strcmp(argv[i], "--demux") == 0) dmx = true;
    else return berr_set(err, EINVAL, "attach: unknown option %s", argv[i]);
  }
  _cleanup_close_ int fd = shim_attach(dir, in, out, errs, once, err);
  if (fd < 0)
    return fd;
  if (ready && write_file_replace(ready, "", 0, 0644, err) < 0)
    return -EIO;
  _cleanup_free_ char *pend = NULL;
  size_t pn = 0;
  bool in_open = in;
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {0, in_open ? POLLIN : 0, 0}};
    if (poll(p, in_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      return berr_sys(err, errno, "poll");
    }
    char buf[16384];
    if (p[0].revents) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0)
        break;
      if (dmx)
        demux(&pend, &pn, buf, (size_t)n);
      else
        write_all(1, buf, (size_t)n);
    }
    if (in_open && p[1].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) {
        shutdown(fd, SHUT_WR);
        in_open = false;
      } else if (write_all(fd, buf, (size_t)n) < 0) {
        in_open = false;
      }
    }
  }
  return 0;
}

static int print_entry(void *ctx, int stream, int64_t ns, const char *bytes, size_t len) {
  char t[64];
  shim_format_time(ns, t);
  printf("%s %s ", stream == 2 ? "stderr" : "stdout", t);
  fwrite(bytes, 1, len, stdout);
  return 0;
}

static int cmd_logs(int argc, char **argv, struct berr **err) {
  if (argc < 2)
    return berr_set(err, EINVAL, "usage: shimctl logs FILE DRIVER [--max-file N]");
  int max_file = argc >= 4 && strcmp(argv[2], "--max-file") == 0 ? atoi(argv[3]) : 1;
  return shim_log_read_all(argv[0], argv[1], max_file, print_entry, NULL, err);
}

static int dispatch(int argc, char **argv, struct berr **err) {
  if (argc < 2)
    return berr_set(err, EINVAL, "usage: shimctl spawn|start|attach|wait|kill|state|delete|resize|close-stdin|logs ...");
  const char *cmd = argv[1];
  if (strcmp(cmd, "spawn") == 0)
    return cmd_spawn(argc - 1, argv + 1, err);
  if (strcmp(cmd, "logs") == 0)
    return cmd_logs(argc - 2, argv + 2, err);
  if (argc < 3)
    return berr_set(err, EINVAL, "%s: the shim's state dir is missing", cmd);
  const char *dir = argv[2];
  if (strcmp(cmd, "start") == 0)
    return shim_start(dir, err);
  if (strcmp(cmd, "state") == 0)
    return cmd_state(dir, err);
  if (strcmp(cmd, "wait") == 0)
    return cmd_wait(dir, err);
  if (strcmp(cmd, "close-stdin") == 0)
    return shim_close_stdin(dir, err);
  if (strcmp(cmd, "delete") == 0)
    return shim_delete_force(dir, argc > 3 && strcmp(argv[3], "--force") == 0, err);
  if (strcmp(cmd, "kill") == 0 && argc >= 4)
    return shim_kill(dir, atoi(argv[3]), argc > 4 && strcmp(argv[4], "--all") == 0, err);
  if (strcmp(cmd, "resize") == 0 && argc >= 5)
    return shim_resize(dir, atoi(argv[3]), atoi(argv[4]), err);
  if (strcmp(cmd, "attach") == 0)
    return cmd_attach(dir, argc - 3, argv + 3, err);
  return berr_set(err, EINVAL, "unknown command or missing arguments: %s", cmd);
}

int main(int argc, char **argv) {
  _cleanup_berr_ struct berr *err = NULL;
  signal(SIGPIPE, SIG_IGN);
  int r = dispatch(argc, argv, &err);
  fflush(stdout);
  if (r < 0) {
    fprintf(stderr, "shimctl: %s\n", err ? err->msg : "failed");
    return 1;
  }
  return 0;
}
