/*
 * nsjoin.c — creating the container's process inside its namespaces.
 *
 * Some namespaces only apply to children of the caller (pid and time: setns and
 * unshare change what the *next* fork gets), and a user namespace must exist
 * before the namespaces it should own. So, as runc's nsexec does in its own way,
 * the process is made in two steps:
 *
 *   runtime (P, child subreaper) --fork--> C1: setns() into every namespace given by
 *       path (user last: joining it first would cost the host capabilities needed to
 *       join the others), unshare(CLONE_NEWUSER) and have P write the id maps, then
 *       unshare() the other new ones, fork C2, report C2's host pid, exit.
 *   C2 is pid 1 of a new pid namespace (or a member of the joined one); when C1
 *   exits it is re-parented to P, the nearest subreaper, so P can wait for it, and
 *   when P exits, to P's own subreaper (a shim) — the runc create/start contract.
 *
 * Fast path: with nothing to join and no user or time namespace (docker's common
 * case), one clone() with the CLONE_NEW* flags makes C2 directly as P's child,
 * saving a fork and an exit (about a millisecond each on a VM).
 *
 * The cgroup namespace is unshared later, by C2, once P has put it in its cgroup,
 * so the namespace's root is the container's own cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime-internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int rt_sync_send(int fd, int type, int value, const char *text) {
  struct rt_sync_msg m = {.type = type, .value = value};
  if (text)
    snprintf(m.text, sizeof m.text, "%s", text);
  ssize_t w;
  do
    w = send(fd, &m, sizeof m, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  return w == (ssize_t)sizeof m ? 0 : -EIO;
}

int rt_sync_recv(int fd, struct rt_sync_msg *m, struct berr **err) {
  ssize_t r;
  bool reset_seen = false;
  for (;;) {
    r = recv(fd, m, sizeof *m, 0);
    if (r >= 0 || errno == EINTR) {
      if (r >= 0)
        break;
      continue;
    }
    /* An AF_UNIX peer that exits with unread messages of ours in its queue
     * (a SYNC_GO it never got to) sets ECONNRESET on our socket, and the
     * kernel reports that error before the SYNC_ERROR the peer queued just
     * before exiting. The error is reported once: read again for the message. */
    if (errno == ECONNRESET && !reset_seen) {
      reset_seen = true;
      continue;
    }
    break;
  }
  if (r < 0)
    return berr_sys(err, errno, "read from container init");
  if (r == 0)
    return berr_set(err, EPIPE, "container init exited before it was set up");
  if (r != (ssize_t)sizeof *m)
    return berr_set(err, EIO, "short message from container init");
  m->text[sizeof m->text - 1] = '\0';
  return 0;
}

int rt_sync_expect(int fd, int type, struct rt_sync_msg *m, struct berr **err) {
  int r = rt_sync_recv(fd, m, err);
  if (r < 0)
    return r;
  if (m->type == SYNC_ERROR)
    return berr_set(err, m->value > 0 ? m->value : EIO, "%s", m->text);
  if (m->type != type)
    return berr_set(err, EPROTO, "unexpected message %d from container init (wanted %d)", m->type, type);
  return 0;
}

/* A child reports its error to the parent, then exits. */
__attribute__((noreturn)) static void child_fail(int fd, struct berr *err) {
  rt_sync_send(fd, SYNC_ERROR, err ? err->code : EIO, err ? err->msg : "unknown error");
  _exit(1);
}

/* ---- which namespaces to join and which to create ---- */

struct ns_plan {
  int join_fd[OCI_NS_TYPES]; /* -1: not joined */
  int create_flags;          /* CLONE_NEW* to unshare, without USER and CGROUP */
  bool new_user, new_cgroup, new_time;
};

static int plan_from_spec(const struct oci_spec *spec, struct ns_plan *plan, struct berr **err) {
  for (size_t i = 0; spec->linux_ && i < spec->linux_->n_namespaces; i++) {
    const struct oci_namespace *ns = &spec->linux_->namespaces[i];
    if (ns->path) {
      int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return berr_sys(err, errno, "linux.namespaces: open %s namespace %s", oci_ns_names[ns->type], ns->path);
      plan->join_fd[ns->type] = fd;
    } else if (ns->type == OCI_NS_USER) {
      plan->new_user = true;
    } else if (ns->type == OCI_NS_CGROUP) {
      plan->new_cgroup = true;
    } else {
      plan->create_flags |= oci_ns_clone_flags[ns->type];
      if (ns->type == OCI_NS_TIME)
        plan->new_time = true;
    }
  }
  return 0;
}

/* exec: join every namespace of the container's init that differs from ours. */
static int plan_from_pid(pid_t pid, struct ns_plan *plan, struct berr **err) {
  for (int t = 0; t < OCI_NS_TYPES; t++) {
    char theirs[64], ours[64];
    struct stat a, b;
    snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", (int)pid, oci_ns_proc_names[t]);
    snprintf(ours, sizeof ours, "/proc/self/ns/%s", oci_ns_proc_names[t]);
    if (stat(theirs, &a) < 0) {
      if (errno == ENOENT)
        continue; /* kernel without this namespace kind */
      return berr_sys(err, errno, "stat %s", theirs);
    }
    if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      continue;
    int fd = open(theirs, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return berr_sys(err, errno, "open %s", theirs);
    plan->join_fd[t] = fd;
  }
  return 0;
}

static int join_namespaces(struct ns_plan *plan, struct berr **err) {
  for (int pass = 0; pass < 2; pass++) {
    for (int t = 0; t < OCI_NS_TYPES; t++) {
      if (plan->join_fd[t] < 0 || (pass == 0) == (t == OCI_NS_USER))
        continue;
      if (setns(plan->join_fd[t], oci_ns_clone_flags[t]) < 0)
        return berr_sys(err, errno, "join %s namespace", oci_ns_names[t]);
      closep(&plan->join_fd[t]);
    }
  }
  return 0;
}

static int write_time_offsets(const struct oci_spec *spec, struct berr **err) {
  const struct oci_linux *l = spec->linux_;
  if (!l || !l->has_time_offsets)
    return 0;
  _cleanup_free_ char *text = xasprintf("monotonic %lld %u\nboottime %lld %u\n", (long long)l->time_monotonic.secs,
                                        l->time_monotonic.nanosecs, (long long)l->time_boottime.secs,
                                        l->time_boottime.nanosecs);
  int r = write_file("/proc/self/timens_offsets", text, strlen(text), err);
  return r < 0 ? berr_wrap(err, "linux.timeOffsets") : 0;
}

static int create_user_namespace(int sync_fd, struct berr **err) {
  if (unshare(CLONE_NEWUSER) < 0)
    return berr_sys(err, errno, "create user namespace");
  struct rt_sync_msg m;
  if (rt_sync_send(sync_fd, SYNC_USERMAP, getpid(), NULL) < 0)
    return berr_set(err, EIO, "ask for user namespace maps");
  int r = rt_sync_expect(sync_fd, SYNC_USERMAP_DONE, &m, err);
  if (r < 0)
    return r;
  /* become the namespace's root, so mounts and files act as container uid 0 */
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
    return berr_sys(err, errno, "become root in the new user namespace (is uid/gid 0 mapped?)");
  return 0;
}

/* C1's whole life. */
__attribute__((noreturn)) static void first_child(struct rt_init_args *a, struct ns_plan *plan) {
  struct berr *err = NULL;
  int fd = a->sync_fd;
  if (join_namespaces(plan, &err) < 0)
    child_fail(fd, err);
  if (plan->new_user && create_user_namespace(fd, &err) < 0)
    child_fail(fd, err);
  if (plan->create_flags && unshare(plan->create_flags) < 0) {
    berr_sys(&err, errno, "create namespaces (flags 0x%x)", plan->create_flags);
    child_fail(fd, err);
  }
  if (plan->new_time && write_time_offsets(a->spec, &err) < 0)
    child_fail(fd, err);
  pid_t pid = fork();
  if (pid < 0) {
    berr_sys(&err, errno, "fork container init");
    child_fail(fd, err);
  }
  if (pid == 0)
    rt_init_main(a);
  rt_sync_send(fd, SYNC_PID, pid, NULL);
  _exit(0);
}

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *maps, size_t n,
                        struct berr **err) {
  _cleanup_free_ char *text = xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *next = xasprintf("%s%u %u %u\n", text, maps[i].container_id, maps[i].host_id, maps[i].size);
    free(text);
    text = next;
  }
  _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
  int r = write_file(path, text, strlen(text), err);
  return r < 0 ? berr_wrap(err, "linux.%s", strcmp(file, "uid_map") == 0 ? "uidMappings" : "gidMappings") : 0;
}

static int write_user_maps(const struct oci_spec *spec, pid_t pid, struct berr **err) {
  const struct oci_linux *l = spec->linux_;
  if (l->n_uid_mappings == 0 || l->n_gid_mappings == 0)
    return berr_set(err, EINVAL, "a new user namespace needs linux.uidMappings and linux.gidMappings");
  int r = write_id_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err);
  if (r == 0)
    r = write_id_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err);
  return r;
}

static void plan_close(struct ns_plan *plan) {
  for (int t = 0; t < OCI_NS_TYPES; t++)
    closep(&plan->join_fd[t]);
}

/* P's side: serve the user-map request, collect C2's pid, reap C1. */
static int parent_collect(struct rt_init_args *a, pid_t c1, int parent_fd, pid_t *pid, struct berr **err) {
  struct rt_sync_msg m;
  int r;
  for (;;) {
    r = rt_sync_recv(parent_fd, &m, err);
    if (r < 0)
      break;
    if (m.type == SYNC_USERMAP) {
      r = write_user_maps(a->spec, (pid_t)m.value, err);
      if (r < 0)
        break;
      rt_sync_send(parent_fd, SYNC_USERMAP_DONE, 0, NULL);
      continue;
    }
    if (m.type == SYNC_ERROR) {
      r = berr_set(err, m.value > 0 ? m.value : EIO, "%s", m.text);
      break;
    }
    if (m.type == SYNC_PID) {
      *pid = (pid_t)m.value;
      break;
    }
    r = berr_set(err, EPROTO, "unexpected message %d from container init", m.type);
    break;
  }
  if (r < 0)
    kill(c1, SIGKILL);
  int status = 0;
  while (waitpid(c1, &status, 0) < 0 && errno == EINTR)
    ;
  return r;
}

static bool plan_is_simple(const struct ns_plan *plan) {
  for (int t = 0; t < OCI_NS_TYPES; t++)
    if (plan->join_fd[t] >= 0)
      return false;
  return !plan->new_user && !plan->new_time;
}

/* clone(2) without a new stack behaves like fork() with namespace flags. */
static int spawn_direct(struct rt_init_args *a, const struct ns_plan *plan, pid_t *pid, int parent_fd,
                        struct berr **err) {
  long c2 = syscall(SYS_clone, (unsigned long)plan->create_flags | SIGCHLD, NULL, NULL, NULL, 0);
  if (c2 < 0)
    return berr_sys(err, errno, "create namespaces (flags 0x%x)", plan->create_flags);
  if (c2 == 0) {
    close(parent_fd);
    rt_init_main(a);
  }
  *pid = (pid_t)c2;
  return 0;
}

int rt_spawn(struct rt_init_args *a, pid_t *pid, int parent_fd, struct berr **err) {
  struct ns_plan plan;
  for (int t = 0; t < OCI_NS_TYPES; t++)
    plan.join_fd[t] = -1;
  plan.create_flags = 0;
  plan.new_user = plan.new_cgroup = plan.new_time = false;
  int r = a->is_exec ? plan_from_pid(a->join_pid, &plan, err) : plan_from_spec(a->spec, &plan, err);
  if (r < 0) {
    plan_close(&plan);
    return r;
  }
  if (!a->is_exec && plan_is_simple(&plan))
    return spawn_direct(a, &plan, pid, parent_fd, err);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    plan_close(&plan);
    return berr_sys(err, errno, "become child subreaper");
  }
  pid_t c1 = fork();
  if (c1 < 0) {
    plan_close(&plan);
    return berr_sys(err, errno, "fork");
  }
  if (c1 == 0) {
    close(parent_fd);
    first_child(a, &plan);
  }
  plan_close(&plan);
  *pid = 0;
  return parent_collect(a, c1, parent_fd, pid, err);
}
