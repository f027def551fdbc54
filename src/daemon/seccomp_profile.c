/*
 * seccomp_profile.c — berth's default seccomp profile and its format.
 *
 * The profile allows what Docker's default profile (moby's
 * profiles/seccomp/default.json) allows, written in berth's own compact
 * line format, and is built into berthd: it applies to every container
 * unless --privileged or --security-opt seccomp=unconfined, or a profile
 * of the user's replaces it (/etc/berth/seccomp.json, or a file next to the
 * installed shim, in Docker's JSON format, still win: container_run.c).
 *
 * Format (one statement per line; "#" starts a comment; a rule's syscall
 * names continue on the following indented lines):
 *   default errno N            the action for anything not listed: errno N
 *   arch NATIVE [SUB...]       libseccomp arch names (lower case, no
 *                              SCMP_ARCH_), the sub-architectures a native
 *                              one also filters
 *   ACTION [COND...] :         a rule; ACTION is "allow" or "errno=N";
 *     NAME NAME ...            conditions, all of which must hold:
 *                                kernel>=X.Y      the running kernel
 *                                arch=a,b / !arch=a,b   Go arch names
 *                                cap=x,y / !cap=x,y     capabilities the
 *                                  container has (x = "sys_admin")
 *                                argI<V argI==V argI>V argI!=V argI<=V
 *                                argI>=V argI&MASK==V   syscall arguments
 *
 * seccomp_profile_parse turns it into Docker's JSON shape, which
 * spec_seccomp_convert (container_spec.c) already turns into the OCI one:
 * one conversion path for the default and the user's profiles.
 */
#include <errno.h>

#include "daemon/container_internal.h"

static const char default_profile[] =
    "# berth default: Docker's allow rules\n"
    "default errno 1\n"
    "arch x86_64 x86 x32\n"
    "arch aarch64 arm\n"
    "arch mips64 mips mips64n32\n"
    "arch mips64n32 mips mips64\n"
    "arch mipsel64 mipsel mipsel64n32\n"
    "arch mipsel64n32 mipsel mipsel64\n"
    "arch s390x s390\n"
    "arch riscv64\n"
    "arch loongarch64\n"
    "allow :\n"
    "  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod\n"
    "  chown chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64\n"
    "  clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range\n"
    "  connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl\n"
    "  epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2\n"
    "  execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate\n"
    "  fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64\n"
    "  fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64\n"
    "  fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue\n"
    "  futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents\n"
    "  getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32\n"
    "  getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid\n"
    "  getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid\n"
    "  getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr\n"
    "  getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel\n"
    "  ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set\n"
    "  io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset\n"
    "  landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount\n"
    "  listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64\n"
    "  madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat\n"
    "  mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify\n"
    "  mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64\n"
    "  mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap\n"
    "  name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open\n"
    "  pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll\n"
    "  ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6\n"
    "  pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv\n"
    "  recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr\n"
    "  removexattrat rename renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq\n"
    "  rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend\n"
    "  rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity\n"
    "  sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min\n"
    "  sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64\n"
    "  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp\n"
    "  select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64\n"
    "  sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32\n"
    "  setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid\n"
    "  setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid\n"
    "  setsockopt set_thread_area set_tid_address setuid setuid32 setxattr setxattrat shmat\n"
    "  shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn\n"
    "  socketcall socketpair splice stat stat64 statfs statfs64 statmount statx symlink\n"
    "  symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create\n"
    "  timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime\n"
    "  timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime\n"
    "  timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink\n"
    "  unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid\n"
    "  waitpid write writev\n"
    "allow kernel>=4.8 :\n"
    "  process_vm_readv process_vm_writev ptrace\n"
    "allow arg0<38 :\n"
    "  socket\n"
    "allow arg0==39 :\n"
    "  socket\n"
    "allow arg0>40 :\n"
    "  socket\n"
    "allow arg0==0 :\n"
    "  personality\n"
    "allow arg0==8 :\n"
    "  personality\n"
    "allow arg0==131072 :\n"
    "  personality\n"
    "allow arg0==131080 :\n"
    "  personality\n"
    "allow arg0==4294967295 :\n"
    "  personality\n"
    "allow arch=ppc64le :\n"
    "  sync_file_range2 swapcontext\n"
    "allow arch=arm,arm64 :\n"
    "  arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls\n"
    "allow arch=amd64,x32 :\n"
    "  arch_prctl\n"
    "allow arch=amd64,x32,x86 :\n"
    "  modify_ldt\n"
    "allow arch=s390,s390x :\n"
    "  s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr\n"
    "allow arch=riscv64 :\n"
    "  riscv_flush_icache\n"
    "allow cap=dac_read_search :\n"
    "  open_by_handle_at\n"
    "allow cap=sys_admin :\n"
    "  bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie\n"
    "  lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount\n"
    "  open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog\n"
    "  umount umount2 unshare\n"
    "allow !arch=s390,s390x !cap=sys_admin arg0&2114060288==0 :\n"
    "  clone\n"
    "allow arch=s390,s390x !cap=sys_admin arg1&2114060288==0 :\n"
    "  clone\n"
    "errno=38 !cap=sys_admin :\n"
    "  clone3\n"
    "allow cap=sys_boot :\n"
    "  reboot\n"
    "allow cap=sys_chroot :\n"
    "  chroot\n"
    "allow cap=sys_module :\n"
    "  delete_module init_module finit_module\n"
    "allow cap=sys_pacct :\n"
    "  acct\n"
    "allow cap=sys_ptrace :\n"
    "  kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace\n"
    "allow cap=sys_rawio :\n"
    "  iopl ioperm\n"
    "allow cap=sys_time :\n"
    "  settimeofday stime clock_settime clock_settime64\n"
    "allow cap=sys_tty_config :\n"
    "  vhangup\n"
    "allow cap=sys_nice :\n"
    "  get_mempolicy mbind set_mempolicy set_mempolicy_home_node\n"
    "allow cap=syslog :\n"
    "  syslog\n"
    "allow cap=bpf :\n"
    "  bpf\n"
    "allow cap=perfmon :\n"
    "  perf_event_open\n";

static json_t *csv_array(const char *s, const char *prefix, bool upper) {
  json_t *a = json_array();
  _cleanup_free_ char *copy = xstrdup(s);
  char *p = copy, *tok;
  while ((tok = strsep(&p, ",")) != NULL) {
    _cleanup_free_ char *v = xasprintf("%s%s", prefix, tok);
    for (char *q = v; upper && *q; q++)
      *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
    json_array_append_new(a, json_string(v));
  }
  return a;
}

static json_t *section(json_t *rule, const char *key) {
  json_t *o = json_object_get(rule, key);
  if (o == NULL) {
    o = json_object();
    json_object_set_new(rule, key, o);
  }
  return o;
}

/* "arg0&2114060288==0", "arg0<38" ... → a Docker args entry */
static json_t *arg_cond(const char *w) {
  static const struct {
    const char *op, *name;
  } ops[] = {{"<=", "SCMP_CMP_LE"}, {">=", "SCMP_CMP_GE"}, {"!=", "SCMP_CMP_NE"},
             {"==", "SCMP_CMP_EQ"}, {"<", "SCMP_CMP_LT"},  {">", "SCMP_CMP_GT"}};
  char *end;
  unsigned long idx = strtoul(w + 3, &end, 10);
  if (end == w + 3)
    return NULL;
  if (*end == '&') {
    unsigned long long mask = strtoull(end + 1, &end, 10), val;
    if (strncmp(end, "==", 2) != 0)
      return NULL;
    val = strtoull(end + 2, &end, 10);
    return *end ? NULL
                : json_pack("{s:I,s:I,s:I,s:s}", "index", (json_int_t)idx, "value",
                            (json_int_t)mask, "valueTwo", (json_int_t)val, "op",
                            "SCMP_CMP_MASKED_EQ");
  }
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    size_t n = strlen(ops[i].op);
    if (strncmp(end, ops[i].op, n) == 0) {
      char *e2;
      unsigned long long v = strtoull(end + n, &e2, 10);
      return *e2 || e2 == end + n ? NULL
                                  : json_pack("{s:I,s:I,s:I,s:s}", "index", (json_int_t)idx,
                                              "value", (json_int_t)v, "valueTwo", 0, "op",
                                              ops[i].name);
    }
  }
  return NULL;
}

/* one word of a rule's head into the Docker-shaped rule; false if unknown */
static bool rule_word(json_t *rule, const char *w) {
  if (strcmp(w, "allow") == 0) {
    json_object_set_new(rule, "action", json_string("SCMP_ACT_ALLOW"));
  } else if (str_has_prefix(w, "errno=")) {
    json_object_set_new(rule, "action", json_string("SCMP_ACT_ERRNO"));
    json_object_set_new(rule, "errnoRet", json_integer(atoi(w + 6)));
  } else if (str_has_prefix(w, "kernel>=")) {
    json_object_set_new(section(rule, "includes"), "minKernel", json_string(w + 8));
  } else if (str_has_prefix(w, "arch=") || str_has_prefix(w, "!arch=")) {
    bool neg = w[0] == '!';
    json_object_set_new(section(rule, neg ? "excludes" : "includes"), "arches",
                        csv_array(w + (neg ? 6 : 5), "", false));
  } else if (str_has_prefix(w, "cap=") || str_has_prefix(w, "!cap=")) {
    bool neg = w[0] == '!';
    json_object_set_new(section(rule, neg ? "excludes" : "includes"), "caps",
                        csv_array(w + (neg ? 5 : 4), "CAP_", true));
  } else if (str_has_prefix(w, "arg")) {
    json_t *a = arg_cond(w);
    if (a == NULL)
      return false;
    json_t *args = json_object_get(rule, "args");
    if (args == NULL) {
      args = json_array();
      json_object_set_new(rule, "args", args);
    }
    json_array_append_new(args, a);
  } else {
    return false;
  }
  return true;
}

static int head_line(json_t *prof, char *line, json_t **rule, unsigned n, struct berr **err) {
  char *save = NULL, *w = strtok_r(line, " \t", &save);
  if (strcmp(w, "default") == 0) {
    char *kind = strtok_r(NULL, " \t", &save), *num = strtok_r(NULL, " \t", &save);
    if (!kind || strcmp(kind, "errno") || !num)
      return berr_set(err, EINVAL, "seccomp profile line %u: expected \"default errno N\"", n);
    json_object_set_new(prof, "defaultAction", json_string("SCMP_ACT_ERRNO"));
    json_object_set_new(prof, "defaultErrnoRet", json_integer(atoi(num)));
    return 0;
  }
  if (strcmp(w, "arch") == 0) {
    char *nat = strtok_r(NULL, " \t", &save);
    if (!nat)
      return berr_set(err, EINVAL, "seccomp profile line %u: arch without a name", n);
    _cleanup_free_ char *up = xasprintf("SCMP_ARCH_%s", nat);
    for (char *q = up; *q; q++)
      *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
    json_t *sub = json_array();
    for (char *s = strtok_r(NULL, " \t", &save); s; s = strtok_r(NULL, " \t", &save)) {
      _cleanup_free_ char *su = xasprintf("SCMP_ARCH_%s", s);
      for (char *q = su; *q; q++)
        *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
      json_array_append_new(sub, json_string(su));
    }
    json_array_append_new(json_object_get(prof, "archMap"),
                          json_pack("{s:s,s:o}", "architecture", up, "subArchitectures", sub));
    return 0;
  }
  json_t *r = json_pack("{s:[]}", "names");
  for (; w && strcmp(w, ":") != 0; w = strtok_r(NULL, " \t", &save))
    if (!rule_word(r, w)) {
      json_decref(r);
      return berr_set(err, EINVAL, "seccomp profile line %u: unknown word \"%s\"", n, w);
    }
  if (w == NULL || json_object_get(r, "action") == NULL) {
    json_decref(r);
    return berr_set(err, EINVAL, "seccomp profile line %u: a rule is ACTION [COND...] :", n);
  }
  json_array_append_new(json_object_get(prof, "syscalls"), r);
  *rule = r;
  return 0;
}

int seccomp_profile_parse(const char *text, json_t **out, struct berr **err) {
  _cleanup_json_ json_t *prof = json_pack("{s:[],s:[]}", "archMap", "syscalls");
  _cleanup_free_ char *copy = xstrdup(text);
  char *p = copy, *line;
  json_t *rule = NULL; /* borrowed: the rule the indented names belong to */
  unsigned n = 0;
  while ((line = strsep(&p, "\n")) != NULL) {
    n++;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = '\0';
    bool indented = line[0] == ' ' || line[0] == '\t';
    line += strspn(line, " \t");
    if (*line == '\0')
      continue;
    if (indented) {
      if (rule == NULL)
        return berr_set(err, EINVAL, "seccomp profile line %u: names outside a rule", n);
      char *save = NULL;
      for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        json_array_append_new(json_object_get(rule, "names"), json_string(w));
      continue;
    }
    rule = NULL;
    if (head_line(prof, line, &rule, n, err) < 0)
      return -1;
  }
  if (json_object_get(prof, "defaultAction") == NULL)
    return berr_set(err, EINVAL, "seccomp profile: no \"default\" line");
  *out = steal_ptr(prof);
  return 0;
}

json_t *seccomp_default_profile(void) {
  json_t *p = NULL;
  struct berr *e = NULL;
  if (seccomp_profile_parse(default_profile, &p, &e) < 0) {
    log_error("built-in seccomp profile: %s", e->msg); /* a build-time mistake */
    berr_free(e);
    return NULL;
  }
  return p;
}
