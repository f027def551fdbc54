/*
 * console.c — the container's terminal (runtime-spec process.terminal, runc's
 * --console-socket contract): the container opens a pty from its own devpts
 * instance, sends the master to the caller over the AF_UNIX socket with
 * SCM_RIGHTS, and makes the slave its controlling terminal and stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "runtime-internal.h"

int rt_console_connect(const char *path, int *fd, struct berr **err) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path)
    return berr_set(err, ENAMETOOLONG, "console socket path %s is too long", path);
  strcpy(addr.sun_path, path);
  _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return berr_sys(err, errno, "console socket");
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0)
    return berr_sys(err, errno, "connect to console socket %s", path);
  *fd = move_fd(&s);
  return 0;
}

static int send_fd(int sock, int fd, const char *name) {
  char buf[CMSG_SPACE(sizeof(int))];
  memset(buf, 0, sizeof buf);
  struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name) + 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int rt_recv_fd(int sock, int *fd, struct berr **err) {
  char name[4096], buf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf};
  ssize_t r;
  do
    r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return berr_sys(err, errno, "receive console fd");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS)
    return berr_set(err, EPROTO, "receive console fd: no descriptor in message");
  memcpy(fd, CMSG_DATA(c), sizeof *fd);
  return 0;
}

int rt_console_setup(int sock_fd, const struct oci_process *p, struct berr **err) {
  if (sock_fd < 0)
    return berr_set(err, EINVAL, "process.terminal is true but no console socket was given");
  _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return berr_sys(err, errno, "open /dev/ptmx in the container");
  if (unlockpt(master) < 0)
    return berr_sys(err, errno, "unlockpt");
  _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return berr_sys(err, errno, "open pty slave");
  if (p->has_console_size) {
    struct winsize ws = {.ws_row = (unsigned short)p->console_size.height,
                         .ws_col = (unsigned short)p->console_size.width};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  char name[64] = "/dev/pts/?";
  ptsname_r(master, name, sizeof name);
  int r = send_fd(sock_fd, master, name);
  if (r < 0)
    return berr_sys(err, -r, "send pty master to console socket");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0)
      return berr_sys(err, errno, "dup pty slave to fd %d", i);
  if (ioctl(0, TIOCSCTTY, 0) < 0)
    return berr_sys(err, errno, "make the pty the controlling terminal");
  return 0;
}
