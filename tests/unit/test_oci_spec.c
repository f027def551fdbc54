/*
 * test_oci_spec.c — oci_spec_parse and friends: a full config like the
 * spec's example, minimal and default configs, and every error with the exact
 * field path in its message. Error cases are tables of {document, message};
 * documents are written with single quotes, turned into JSON by sq_json().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "oci/oci.h"

/* Parse JSON written with ' for " (no string in these tests contains a quote). */
static json_t *sq_json(const char *sq) {
  char *s = xstrdup(sq);
  for (char *p = s; *p; p++)
    if (*p == '\'')
      *p = '"';
  json_error_t jerr;
  json_t *j = json_loads(s, 0, &jerr);
  if (j == NULL)
    fail_msg("bad test JSON: %s: %s", jerr.text, s);
  free(s);
  return j;
}

static struct oci_spec *parse_ok(const char *sq) {
  json_t *doc = sq_json(sq);
  struct oci_spec *spec = NULL;
  struct berr *err = NULL;
  int r = oci_spec_parse(doc, "config.json", &spec, &err);
  if (r < 0)
    fail_msg("unexpected error: %s", err ? err->msg : "(none)");
  assert_null(err);
  assert_non_null(spec);
  assert_ptr_equal(spec->raw, doc);
  json_decref(doc);
  return spec;
}

struct err_case {
  const char *doc; /* single-quoted JSON */
  const char *msg; /* the exact error message */
};

/* Each case must fail with -EINVAL, its message, and leave *out NULL. */
static void check_errors(const struct err_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    json_t *doc = sq_json(cases[i].doc);
    struct oci_spec *spec = NULL;
    struct berr *err = NULL;
    int r = oci_spec_parse(doc, "config.json", &spec, &err);
    if (r != -EINVAL || err == NULL || strcmp(err->msg, cases[i].msg) != 0)
      fail_msg("case %zu: %s\n  want: %s\n  got:  %s (r=%d)", i, cases[i].doc, cases[i].msg,
               err ? err->msg : "(no error)", r);
    assert_int_equal(err->code, EINVAL);
    assert_null(spec);
    assert_int_equal(doc->refcount, 1); /* the partial spec released its reference */
    berr_free(err);
    json_decref(doc);
  }
}

#define CHECK_ERRORS(cases) check_errors(cases, sizeof(cases) / sizeof(cases[0]))

/* The common head of a valid config; cases append their own members. */
#define BASE "'ociVersion':'1.1.0','root':{'path':'rootfs'}"
#define PROC(...) "{" BASE ",'process':{'cwd':'/','args':['sh']," __VA_ARGS__ "}}"
#define LINUX(...) "{" BASE ",'linux':{" __VA_ARGS__ "}}"
#define RES(...) LINUX("'resources':{" __VA_ARGS__ "}")
#define SECCOMP(...) LINUX("'seccomp':{" __VA_ARGS__ "}")

/* Equivalent to the full example of config.md, plus fields it leaves out. */
static const char full_config[] =
  "{'ociVersion':'1.0.1',"
  " 'process':{'terminal':true,'consoleSize':{'height':25,'width':80},"
  "  'user':{'uid':1,'gid':1,'umask':63,'additionalGids':[5,6]},"
  "  'args':['sh'],'env':['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin','TERM=xterm'],"
  "  'cwd':'/',"
  "  'capabilities':{'bounding':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],"
  "   'permitted':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],"
  "   'inheritable':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],"
  "   'effective':['CAP_AUDIT_WRITE','CAP_KILL'],'ambient':['CAP_NET_BIND_SERVICE']},"
  "  'rlimits':[{'type':'RLIMIT_CORE','hard':1024,'soft':1024},{'type':'RLIMIT_NOFILE','hard':1024,'soft':512}],"
  "  'apparmorProfile':'acme_secure_profile','oomScoreAdj':100,"
  "  'selinuxLabel':'system_u:system_r:svirt_lxc_net_t:s0:c124,c675',"
  "  'ioPriority':{'class':'IOPRIO_CLASS_IDLE','priority':4},'noNewPrivileges':true},"
  " 'root':{'path':'rootfs','readonly':true},"
  " 'hostname':'slartibartfast','domainname':'foobarbaz.test',"
  " 'mounts':["
  "  {'destination':'/proc','type':'proc','source':'proc'},"
  "  {'destination':'/dev','type':'tmpfs','source':'tmpfs','options':['nosuid','strictatime','mode=755','size=65536k']},"
  "  {'destination':'/dev/pts','type':'devpts','source':'devpts',"
  "   'options':['nosuid','noexec','newinstance','ptmxmode=0666','mode=0620','gid=5']},"
  "  {'destination':'/dev/shm','type':'tmpfs','source':'shm','options':['nosuid','noexec','nodev','mode=1777','size=65536k']},"
  "  {'destination':'/dev/mqueue','type':'mqueue','source':'mqueue','options':['nosuid','noexec','nodev']},"
  "  {'destination':'/sys','type':'sysfs','source':'sysfs','options':['nosuid','noexec','nodev']},"
  "  {'destination':'/sys/fs/cgroup','type':'cgroup','source':'cgroup','options':['nosuid','noexec','nodev','relatime','ro']},"
  "  {'destination':'/data','source':'/volumes/testing','options':['rbind','rw','rslave']}],"
  " 'hooks':{"
  "  'prestart':[{'path':'/usr/bin/fix-mounts','args':['fix-mounts','arg1','arg2'],'env':['key1=value1']},"
  "              {'path':'/usr/bin/setup-network'}],"
  "  'createRuntime':[{'path':'/usr/bin/create-runtime'}],"
  "  'createContainer':[{'path':'/usr/bin/mount-hook','args':['-mount']}],"
  "  'startContainer':[{'path':'/usr/bin/refresh-ldcache'}],"
  "  'poststart':[{'path':'/usr/bin/notify-start','timeout':5}],"
  "  'poststop':[{'path':'/usr/sbin/cleanup.sh','args':['cleanup.sh','-f']}]},"
  " 'linux':{"
  "  'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,'uid':0,'gid':0},"
  "             {'path':'/dev/sda','type':'b','major':8,'minor':0,'fileMode':432,'uid':0,'gid':0},"
  "             {'path':'/dev/fifo','type':'p'}],"
  "  'uidMappings':[{'containerID':0,'hostID':1000,'size':32000}],"
  "  'gidMappings':[{'containerID':0,'hostID':1001,'size':32001}],"
  "  'sysctl':{'net.ipv4.ip_forward':'1','net.core.somaxconn':'256'},"
  "  'cgroupsPath':'/myRuntime/myContainer',"
  "  'resources':{"
  "   'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500},{'name':'eth1','priority':1000}]},"
  "   'pids':{'limit':32771},"
  "   'hugepageLimits':[{'pageSize':'2MB','limit':9223372036854772000},{'pageSize':'64KB','limit':1000000}],"
  "   'memory':{'limit':536870912,'reservation':536870912,'swap':536870912,'kernel':-1,'kernelTCP':-1,"
  "             'swappiness':0,'disableOOMKiller':false,'checkBeforeUpdate':true},"
  "   'cpu':{'shares':1024,'quota':1000000,'burst':500000,'period':500000,'realtimeRuntime':950000,"
  "          'realtimePeriod':1000000,'cpus':'2-3','idle':1,'mems':'0-7'},"
  "   'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c','major':10,'minor':229,'access':'rw'},"
  "              {'allow':true,'type':'b','major':8,'minor':0,'access':'r'}],"
  "   'blockIO':{'weight':10,'leafWeight':10,"
  "     'weightDevice':[{'major':8,'minor':0,'weight':500,'leafWeight':300},{'major':8,'minor':16,'weight':500}],"
  "     'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':600}],"
  "     'throttleWriteIOPSDevice':[{'major':8,'minor':16,'rate':300}]},"
  "   'unified':{'io.max':'259:0 rbps=2097152','memory.high':'max'}},"
  "  'rootfsPropagation':'slave',"
  "  'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':1,"
  "   'architectures':['SCMP_ARCH_X86','SCMP_ARCH_X32'],'flags':['SECCOMP_FILTER_FLAG_LOG'],"
  "   'listenerPath':'/run/agent.sock','listenerMetadata':'meta',"
  "   'syscalls':[{'names':['getcwd','chmod'],'action':'SCMP_ACT_ERRNO','errnoRet':38},"
  "               {'names':['personality'],'action':'SCMP_ACT_ALLOW',"
  "                'args':[{'index':0,'value':8,'op':'SCMP_CMP_EQ'},{'index':1,'value':4,'valueTwo':2,'op':'SCMP_CMP_MASKED_EQ'}]}]},"
  "  'timeOffsets':{'monotonic':{'secs':172800,'nanosecs':0},'boottime':{'secs':-604800,'nanosecs':7}},"
  "  'namespaces':[{'type':'pid'},{'type':'network','path':'/var/run/netns/neta'},{'type':'ipc'},{'type':'uts'},"
  "                {'type':'mount'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
  "  'maskedPaths':['/proc/kcore','/proc/latency_stats','/proc/timer_stats','/proc/sched_debug'],"
  "  'readonlyPaths':['/proc/asound','/proc/bus','/proc/fs','/proc/irq','/proc/sys','/proc/sysrq-trigger'],"
  "  'mountLabel':'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',"
  "  'intelRdt':{'closID':'guaranteed_group'},"
  "  'personality':{'domain':'LINUX32'}},"
  " 'annotations':{'com.example.key1':'value1','com.example.key2':'value2'},"
  " 'windows':{'ignored':true},'x-unknown':[1,2,3]}";

static void check_full_process(const struct oci_process *p) {
  assert_true(p->terminal);
  assert_true(p->has_console_size);
  assert_int_equal(p->console_size.height, 25);
  assert_int_equal(p->console_size.width, 80);
  assert_int_equal(p->user.uid, 1);
  assert_int_equal(p->user.gid, 1);
  assert_true(p->user.umask.set);
  assert_int_equal(p->user.umask.v, 63);
  assert_int_equal(p->user.n_additional_gids, 2);
  assert_int_equal(p->user.additional_gids[1], 6);
  assert_string_equal(p->args[0], "sh");
  assert_null(p->args[1]);
  assert_string_equal(p->env[1], "TERM=xterm");
  assert_string_equal(p->cwd, "/");
  assert_non_null(p->caps);
  assert_int_equal(strv_len(p->caps->bounding), 3);
  assert_int_equal(strv_len(p->caps->effective), 2);
  assert_string_equal(p->caps->ambient[0], "CAP_NET_BIND_SERVICE");
  assert_int_equal(p->n_rlimits, 2);
  assert_int_equal(p->rlimits[0].resource, RLIMIT_CORE);
  assert_int_equal(p->rlimits[1].resource, RLIMIT_NOFILE);
  assert_string_equal(p->rlimits[1].type, "RLIMIT_NOFILE");
  assert_int_equal(p->rlimits[1].soft, 512);
  assert_int_equal(p->rlimits[1].hard, 1024);
  assert_string_equal(p->apparmor_profile, "acme_secure_profile");
  assert_true(p->oom_score_adj.set);
  assert_int_equal(p->oom_score_adj.v, 100);
  assert_string_equal(p->selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675");
  assert_true(p->has_io_priority);
  assert_string_equal(p->io_priority_class, "IOPRIO_CLASS_IDLE");
  assert_int_equal(p->io_priority, 4);
  assert_true(p->no_new_privileges);
}

static void check_full_mounts(const struct oci_spec *s) {
  assert_int_equal(s->n_mounts, 8);
  assert_string_equal(s->mounts[0].destination, "/proc");
  assert_null(s->mounts[0].options);
  assert_int_equal(s->mounts[0].flags, 0);
  assert_string_equal(s->mounts[1].data, "mode=755,size=65536k");
  assert_int_equal(s->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
  assert_string_equal(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  assert_int_equal(s->mounts[6].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
  const struct oci_mount *data = &s->mounts[7];
  assert_string_equal(data->type, "bind"); /* no type + rbind */
  assert_true(data->bind);
  assert_true(data->recursive);
  assert_int_equal(data->clear, MS_RDONLY);
  assert_int_equal(data->propagation, MS_SLAVE | MS_REC);
  assert_null(data->data);
}

static void check_full_hooks(const struct oci_spec *s) {
  const struct oci_hooks *h = &s->hooks;
  assert_int_equal(h->n[OCI_HOOK_PRESTART], 2);
  assert_string_equal(h->list[OCI_HOOK_PRESTART][0].path, "/usr/bin/fix-mounts");
  assert_string_equal(h->list[OCI_HOOK_PRESTART][0].args[2], "arg2");
  assert_string_equal(h->list[OCI_HOOK_PRESTART][0].env[0], "key1=value1");
  assert_null(h->list[OCI_HOOK_PRESTART][1].args);
  assert_false(h->list[OCI_HOOK_PRESTART][1].timeout.set);
  assert_int_equal(h->n[OCI_HOOK_CREATE_RUNTIME], 1);
  assert_int_equal(h->n[OCI_HOOK_CREATE_CONTAINER], 1);
  assert_int_equal(h->n[OCI_HOOK_START_CONTAINER], 1);
  assert_true(h->list[OCI_HOOK_POSTSTART][0].timeout.set);
  assert_int_equal(h->list[OCI_HOOK_POSTSTART][0].timeout.v, 5);
  assert_string_equal(h->list[OCI_HOOK_POSTSTOP][0].args[1], "-f");
}

static void check_full_resources(const struct oci_resources *r) {
  assert_non_null(r);
  assert_int_equal(r->n_devices, 3);
  assert_false(r->devices[0].allow);
  assert_int_equal(r->devices[0].type, 'a');
  assert_int_equal(r->devices[0].major, -1);
  assert_string_equal(r->devices[0].access, "rwm");
  assert_int_equal(r->devices[1].type, 'c');
  assert_int_equal(r->devices[1].minor, 229);
  assert_string_equal(r->devices[2].access, "r");
  assert_int_equal(r->memory.limit.v, 536870912);
  assert_int_equal(r->memory.kernel.v, -1);
  assert_true(r->memory.swappiness.set);
  assert_int_equal(r->memory.swappiness.v, 0);
  assert_true(r->memory.has_disable_oom_killer);
  assert_false(r->memory.disable_oom_killer);
  assert_false(r->memory.has_use_hierarchy);
  assert_true(r->memory.check_before_update);
  assert_int_equal(r->cpu.shares.v, 1024);
  assert_int_equal(r->cpu.quota.v, 1000000);
  assert_int_equal(r->cpu.burst.v, 500000);
  assert_int_equal(r->cpu.realtime_runtime.v, 950000);
  assert_string_equal(r->cpu.cpus, "2-3");
  assert_string_equal(r->cpu.mems, "0-7");
  assert_true(r->cpu.idle.set);
  assert_int_equal(r->cpu.idle.v, 1);
  assert_true(r->pids.set);
  assert_int_equal(r->pids.limit, 32771);
  assert_int_equal(r->blkio.weight.v, 10);
  assert_int_equal(r->blkio.n_weight_device, 2);
  assert_int_equal(r->blkio.weight_device[0].leaf_weight.v, 300);
  assert_false(r->blkio.weight_device[1].leaf_weight.set);
  assert_int_equal(r->blkio.n_throttle_read_bps, 1);
  assert_int_equal(r->blkio.throttle_read_bps[0].rate, 600);
  assert_int_equal(r->blkio.n_throttle_write_bps, 0);
  assert_int_equal(r->blkio.n_throttle_write_iops, 1);
  assert_int_equal(r->blkio.throttle_write_iops[0].minor, 16);
  assert_int_equal(r->n_hugepage_limits, 2);
  assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
  assert_true(r->hugepage_limits[0].limit == 9223372036854772000ULL);
  assert_int_equal(r->network.class_id.v, 1048577);
  assert_int_equal(r->network.n_priorities, 2);
  assert_string_equal(r->network.priorities[1].name, "eth1");
  assert_int_equal(r->network.priorities[1].priority, 1000);
  assert_string_equal(r->unified_keys[0], "io.max");
  assert_string_equal(r->unified_values[1], "max");
  assert_null(r->unified_keys[2]);
}

static void check_full_seccomp(const struct oci_seccomp *s) {
  assert_non_null(s);
  assert_string_equal(s->default_action, "SCMP_ACT_ALLOW");
  assert_int_equal(s->default_errno_ret.v, 1);
  assert_string_equal(s->architectures[1], "SCMP_ARCH_X32");
  assert_string_equal(s->flags[0], "SECCOMP_FILTER_FLAG_LOG");
  assert_string_equal(s->listener_path, "/run/agent.sock");
  assert_string_equal(s->listener_metadata, "meta");
  assert_int_equal(s->n_syscalls, 2);
  assert_string_equal(s->syscalls[0].names[1], "chmod");
  assert_int_equal(s->syscalls[0].errno_ret.v, 38);
  assert_int_equal(s->syscalls[0].n_args, 0);
  assert_int_equal(s->syscalls[1].n_args, 2);
  assert_int_equal(s->syscalls[1].args[1].index, 1);
  assert_int_equal(s->syscalls[1].args[1].value_two, 2);
  assert_string_equal(s->syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
}

static void check_full_linux(const struct oci_linux *lx) {
  assert_non_null(lx);
  assert_int_equal(lx->n_devices, 3);
  assert_int_equal(lx->devices[0].type, 'c');
  assert_int_equal(lx->devices[0].major, 10);
  assert_int_equal(lx->devices[0].file_mode.v, 438);
  assert_true(lx->devices[1].uid.set);
  assert_int_equal(lx->devices[2].type, 'p');
  assert_int_equal(lx->devices[2].major, -1);
  assert_false(lx->devices[2].file_mode.set);
  assert_int_equal(lx->n_uid_mappings, 1);
  assert_int_equal(lx->uid_mappings[0].host_id, 1000);
  assert_int_equal(lx->gid_mappings[0].size, 32001);
  assert_string_equal(lx->sysctl_keys[0], "net.ipv4.ip_forward");
  assert_string_equal(lx->sysctl_values[1], "256");
  assert_string_equal(lx->cgroups_path, "/myRuntime/myContainer");
  assert_string_equal(lx->rootfs_propagation, "slave");
  assert_true(lx->has_time_offsets);
  assert_int_equal(lx->time_monotonic.secs, 172800);
  assert_int_equal(lx->time_boottime.secs, -604800);
  assert_int_equal(lx->time_boottime.nanosecs, 7);
  assert_int_equal(lx->n_namespaces, 8);
  assert_int_equal(lx->namespaces[1].type, OCI_NS_NETWORK);
  assert_string_equal(lx->namespaces[1].path, "/var/run/netns/neta");
  assert_null(lx->namespaces[0].path);
  assert_int_equal(strv_len(lx->masked_paths), 4);
  assert_string_equal(lx->readonly_paths[5], "/proc/sysrq-trigger");
  assert_string_equal(lx->mount_label, "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811");
  assert_string_equal(lx->intel_rdt_clos, "guaranteed_group");
  assert_string_equal(lx->personality_domain, "LINUX32");
  check_full_resources(lx->resources);
  check_full_seccomp(lx->seccomp);
}

static void test_full_config(void **state) {
  (void)state;
  struct oci_spec *s = parse_ok(full_config);
  assert_string_equal(s->oci_version, "1.0.1");
  assert_string_equal(s->root.path, "rootfs");
  assert_true(s->root.readonly);
  assert_string_equal(s->hostname, "slartibartfast");
  assert_string_equal(s->domainname, "foobarbaz.test");
  assert_string_equal(s->annotation_keys[1], "com.example.key2");
  assert_string_equal(s->annotation_values[0], "value1");
  assert_int_equal(s->raw->refcount, 1);
  check_full_process(s->process);
  check_full_mounts(s);
  check_full_hooks(s);
  check_full_linux(s->linux_);
  oci_spec_free(s);
}

static void test_minimal_config(void **state) {
  (void)state;
  struct oci_spec *s = parse_ok("{" BASE "}");
  assert_string_equal(s->oci_version, "1.1.0");
  assert_false(s->root.readonly);
  assert_null(s->process);
  assert_null(s->linux_);
  assert_null(s->mounts);
  assert_int_equal(s->n_mounts, 0);
  assert_null(s->annotation_keys);
  assert_null(oci_spec_namespace(s, OCI_NS_PID));
  oci_spec_free(s);
}

/* JSON null counts as absent, empty arrays stay empty (not NULL). */
static void test_nulls_and_empty_arrays(void **state) {
  (void)state;
  struct oci_spec *s = parse_ok("{" BASE ",'hostname':null,'mounts':null,'process':{'cwd':'/','args':['true'],"
                                "'env':null,'capabilities':{'bounding':[],'ambient':null}},"
                                "'linux':{'namespaces':[],'resources':{'pids':{'limit':-1}}}}");
  assert_null(s->hostname);
  assert_null(s->process->env);
  assert_non_null(s->process->caps->bounding);
  assert_null(s->process->caps->bounding[0]);
  assert_null(s->process->caps->ambient);
  assert_int_equal(s->linux_->n_namespaces, 0);
  assert_int_equal(s->linux_->resources->pids.limit, -1);
  assert_int_equal(s->process->user.uid, 0);
  oci_spec_free(s);
}

static void test_namespace_lookup(void **state) {
  (void)state;
  struct oci_spec *s = parse_ok(LINUX("'namespaces':[{'type':'mount'},{'type':'network','path':'/proc/1/ns/net'}]"));
  const struct oci_namespace *ns = oci_spec_namespace(s, OCI_NS_NETWORK);
  assert_non_null(ns);
  assert_string_equal(ns->path, "/proc/1/ns/net");
  assert_non_null(oci_spec_namespace(s, OCI_NS_MOUNT));
  assert_null(oci_spec_namespace(s, OCI_NS_USER));
  oci_spec_free(s);
}

static void test_tables(void **state) {
  (void)state;
  assert_string_equal(oci_hook_kind_names[OCI_HOOK_PRESTART], "prestart");
  assert_string_equal(oci_hook_kind_names[OCI_HOOK_CREATE_RUNTIME], "createRuntime");
  assert_string_equal(oci_hook_kind_names[OCI_HOOK_CREATE_CONTAINER], "createContainer");
  assert_string_equal(oci_hook_kind_names[OCI_HOOK_START_CONTAINER], "startContainer");
  assert_string_equal(oci_hook_kind_names[OCI_HOOK_POSTSTART], "poststart");
  assert_string_equal(oci_hook_kind_names[OCI_HOOK_POSTSTOP], "poststop");
  static const char *const names[] = { "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" };
  static const char *const proc[] = { "pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time" };
  static const int flags[] = { CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWIPC,
                               CLONE_NEWUTS, CLONE_NEWUSER, CLONE_NEWCGROUP, 0x80 };
  for (int t = 0; t < OCI_NS_TYPES; t++) {
    assert_string_equal(oci_ns_names[t], names[t]);
    assert_string_equal(oci_ns_proc_names[t], proc[t]);
    assert_int_equal(oci_ns_clone_flags[t], flags[t]);
  }
}

static void test_all_rlimits(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int res;
  } all[] = {
    { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },         { "RLIMIT_CPU", RLIMIT_CPU },
    { "RLIMIT_DATA", RLIMIT_DATA },       { "RLIMIT_FSIZE", RLIMIT_FSIZE },       { "RLIMIT_LOCKS", RLIMIT_LOCKS },
    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
    { "RLIMIT_NOFILE", RLIMIT_NOFILE },   { "RLIMIT_NPROC", RLIMIT_NPROC },       { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
    { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
  };
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    char doc[256];
    snprintf(doc, sizeof(doc), PROC("'rlimits':[{'type':'%s','soft':1,'hard':2}]"), all[i].name);
    struct oci_spec *s = parse_ok(doc);
    assert_int_equal(s->process->rlimits[0].resource, all[i].res);
    oci_spec_free(s);
  }
}

static void check_default_spec(bool rootless) {
  json_t *doc = oci_spec_default(rootless, 1000, 1001);
  assert_non_null(doc);
  struct berr *err = NULL;
  struct oci_spec *s = NULL;
  if (oci_spec_parse(doc, "default", &s, &err) < 0)
    fail_msg("default spec does not parse: %s", err->msg);
  assert_string_equal(s->oci_version, OCI_VERSION);
  assert_string_equal(s->hostname, "berth");
  assert_string_equal(s->root.path, "rootfs");
  assert_true(s->root.readonly);
  struct oci_process *p = s->process;
  assert_true(p->terminal);
  assert_string_equal(p->args[0], "sh");
  assert_string_equal(p->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert_string_equal(p->env[1], "TERM=xterm");
  assert_string_equal(p->cwd, "/");
  assert_int_equal(strv_len(p->caps->bounding), 3);
  assert_int_equal(strv_len(p->caps->effective), 3);
  assert_int_equal(strv_len(p->caps->permitted), 3);
  assert_null(p->caps->inheritable);
  assert_null(p->caps->ambient);
  assert_string_equal(p->caps->bounding[2], "CAP_NET_BIND_SERVICE");
  assert_int_equal(p->n_rlimits, 1);
  assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal(p->rlimits[0].soft, 1024);
  assert_true(p->no_new_privileges);
  assert_int_equal(s->n_mounts, 7);
  assert_string_equal(s->mounts[6].destination, "/sys/fs/cgroup");
  assert_int_equal(strv_len(s->linux_->masked_paths), 10);
  assert_int_equal(strv_len(s->linux_->readonly_paths), 5);
  assert_non_null(oci_spec_namespace(s, OCI_NS_PID));
  assert_non_null(oci_spec_namespace(s, OCI_NS_CGROUP));
  if (rootless) {
    assert_null(oci_spec_namespace(s, OCI_NS_NETWORK));
    assert_non_null(oci_spec_namespace(s, OCI_NS_USER));
    assert_int_equal(s->linux_->uid_mappings[0].host_id, 1000);
    assert_int_equal(s->linux_->gid_mappings[0].host_id, 1001);
    assert_int_equal(s->linux_->gid_mappings[0].size, 1);
    assert_null(s->linux_->resources);
    assert_string_equal(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620"); /* no gid=5 */
    assert_string_equal(s->mounts[5].source, "/sys");
    assert_true(s->mounts[5].bind && s->mounts[5].recursive);
  } else {
    assert_non_null(oci_spec_namespace(s, OCI_NS_NETWORK));
    assert_null(oci_spec_namespace(s, OCI_NS_USER));
    assert_int_equal(s->linux_->n_namespaces, 6);
    assert_int_equal(s->linux_->resources->n_devices, 1);
    assert_false(s->linux_->resources->devices[0].allow);
    assert_string_equal(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    assert_string_equal(s->mounts[5].type, "sysfs");
  }
  oci_spec_free(s);
  json_decref(doc);
}

static void test_default_spec(void **state) {
  (void)state;
  check_default_spec(false);
}

static void test_default_spec_rootless(void **state) {
  (void)state;
  check_default_spec(true);
}

static void test_load_file(void **state) {
  (void)state;
  char dir[] = "/tmp/test_oci_spec.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *path = xasprintf("%s/config.json", dir);
  json_t *doc = oci_spec_default(false, 0, 0);
  assert_int_equal(json_dump_file(doc, path, 0), 0);
  json_decref(doc);

  struct berr *err = NULL;
  struct oci_spec *s = NULL;
  assert_int_equal(oci_spec_load(path, &s, &err), 0);
  assert_int_equal(s->n_mounts, 7);
  oci_spec_free(s);

  FILE *f = fopen(path, "w");
  fputs("{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":7}}", f);
  fclose(f);
  s = NULL;
  assert_int_equal(oci_spec_load(path, &s, &err), -EINVAL);
  char *want = xasprintf("%s: root.path: must be a string", path);
  assert_string_equal(err->msg, want);
  assert_null(s);
  free(want);
  berr_free(err);
  err = NULL;

  unlink(path);
  assert_true(oci_spec_load(path, &s, &err) < 0);
  assert_non_null(err);
  assert_null(s);
  berr_free(err);
  rmdir(dir);
  free(path);
}

static void test_freep(void **state) {
  (void)state;
  _cleanup_spec_ struct oci_spec *s = parse_ok(full_config);
  assert_non_null(s);
  struct oci_spec *none = NULL;
  oci_spec_freep(&none); /* a NULL spec is fine */
  oci_spec_free(NULL);
}

/* ---------- standalone process and resources ---------- */

static void test_process_parse(void **state) {
  (void)state;
  json_t *doc = sq_json("{'cwd':'/work','args':['ls','-l'],'env':['A=1'],'user':{'uid':5,'gid':6},"
                        "'capabilities':{'effective':['CAP_CHOWN']},'terminal':false}");
  struct oci_process *p = NULL;
  struct berr *err = NULL;
  assert_int_equal(oci_process_parse(doc, "process.json", &p, &err), 0);
  assert_string_equal(p->cwd, "/work");
  assert_string_equal(p->args[1], "-l");
  assert_int_equal(p->user.uid, 5);
  assert_int_equal(p->user.gid, 6);
  assert_string_equal(p->caps->effective[0], "CAP_CHOWN");
  oci_process_free(p);
  json_decref(doc);

  static const struct err_case cases[] = {
    { "{'cwd':'/'}", "process.json: args: must be a non-empty array of strings" },
    { "{'args':['sh']}", "process.json: cwd: missing" },
    { "{'args':['sh'],'cwd':'x'}", "process.json: cwd: must be an absolute path" },
    { "{'args':['sh'],'cwd':'/','user':{'uid':-5}}", "process.json: user.uid: must be a non-negative integer" },
    { "[1]", "process.json: must be a JSON object" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    doc = sq_json(cases[i].doc);
    p = NULL;
    assert_int_equal(oci_process_parse(doc, "process.json", &p, &err), -EINVAL);
    assert_string_equal(err->msg, cases[i].msg);
    assert_null(p);
    berr_free(err);
    err = NULL;
    json_decref(doc);
  }
}

static void test_resources_parse(void **state) {
  (void)state;
  json_t *doc = sq_json("{'memory':{'limit':1048576,'swap':-1},'cpu':{'quota':-1,'period':100000},"
                        "'pids':{'limit':0},'devices':[{'allow':true,'type':'c','major':1,'minor':3}]}");
  struct oci_resources *r = NULL;
  struct berr *err = NULL;
  assert_int_equal(oci_resources_parse(doc, "update.json", &r, &err), 0);
  assert_int_equal(r->memory.limit.v, 1048576);
  assert_int_equal(r->memory.swap.v, -1);
  assert_false(r->memory.reservation.set);
  assert_int_equal(r->cpu.quota.v, -1);
  assert_true(r->pids.set);
  assert_int_equal(r->pids.limit, 0);
  assert_string_equal(r->devices[0].access, "rwm");
  oci_resources_free(r);
  json_decref(doc);

  doc = sq_json("{'memory':{'limit':'1g'}}");
  r = NULL;
  assert_int_equal(oci_resources_parse(doc, "update.json", &r, &err), -EINVAL);
  assert_string_equal(err->msg, "update.json: memory.limit: must be an integer");
  assert_null(r);
  berr_free(err);
  json_decref(doc);
}

/* ---------- errors ---------- */

static void test_errors_top_level(void **state) {
  (void)state;
  static const struct err_case cases[] = {
    { "[]", "config.json: must be a JSON object" },
    { "{}", "config.json: ociVersion: missing" },
    { "{'ociVersion':null,'root':{'path':'rootfs'}}", "config.json: ociVersion: missing" },
    { "{'ociVersion':1,'root':{'path':'rootfs'}}", "config.json: ociVersion: must be a string" },
    { "{'ociVersion':'','root':{'path':'rootfs'}}", "config.json: ociVersion: must not be empty" },
    { "{'ociVersion':'1.1.0'}", "config.json: root: missing" },
    { "{'ociVersion':'1.1.0','root':'rootfs'}", "config.json: root: must be an object" },
    { "{'ociVersion':'1.1.0','root':{}}", "config.json: root.path: missing" },
    { "{'ociVersion':'1.1.0','root':{'path':''}}", "config.json: root.path: must not be empty" },
    { "{'ociVersion':'1.1.0','root':{'path':'r','readonly':'yes'}}", "config.json: root.readonly: must be a boolean" },
    { "{" BASE ",'hostname':5}", "config.json: hostname: must be a string" },
    { "{" BASE ",'domainname':[]}", "config.json: domainname: must be a string" },
    { "{" BASE ",'annotations':{'com.example':1}}", "config.json: annotations[\"com.example\"]: must be a string" },
    { "{" BASE ",'annotations':{'':'x'}}", "config.json: annotations: keys must not be empty" },
    { "{" BASE ",'annotations':['a']}", "config.json: annotations: must be an object" },
    { "{" BASE ",'process':[]}", "config.json: process: must be an object" },
    { "{" BASE ",'linux':true}", "config.json: linux: must be an object" },
    { "{" BASE ",'mounts':{}}", "config.json: mounts: must be an array" },
  };
  CHECK_ERRORS(cases);
}

static void test_errors_process(void **state) {
  (void)state;
  static const struct err_case cases[] = {
    { "{" BASE ",'process':{'cwd':'/'}}", "config.json: process.args: must be a non-empty array of strings" },
    { "{" BASE ",'process':{'cwd':'/','args':[]}}", "config.json: process.args: must be a non-empty array of strings" },
    { "{" BASE ",'process':{'cwd':'/','args':['sh',1]}}",
      "config.json: process.args: must be a non-empty array of strings" },
    { "{" BASE ",'process':{'cwd':'/','args':'sh'}}", "config.json: process.args: must be a non-empty array of strings" },
    { "{" BASE ",'process':{'args':['sh']}}", "config.json: process.cwd: missing" },
    { "{" BASE ",'process':{'args':['sh'],'cwd':'root'}}", "config.json: process.cwd: must be an absolute path" },
    { "{" BASE ",'process':{'args':['sh'],'cwd':3}}", "config.json: process.cwd: must be a string" },
    { PROC("'env':'A=1'"), "config.json: process.env: must be an array of strings" },
    { PROC("'terminal':1"), "config.json: process.terminal: must be a boolean" },
    { PROC("'consoleSize':{'height':25}"), "config.json: process.consoleSize.width: missing" },
    { PROC("'consoleSize':{'height':-1,'width':80}"),
      "config.json: process.consoleSize.height: must be a non-negative integer" },
    { PROC("'user':{'uid':-1,'gid':0}"), "config.json: process.user.uid: must be a non-negative integer" },
    { PROC("'user':{'uid':1.5,'gid':0}"), "config.json: process.user.uid: must be a non-negative integer" },
    { PROC("'user':{'uid':'0','gid':0}"), "config.json: process.user.uid: must be a non-negative integer" },
    { PROC("'user':{'uid':0,'gid':4294967296}"), "config.json: process.user.gid: must be at most 4294967295" },
    { PROC("'user':{'umask':-18}"), "config.json: process.user.umask: must be a non-negative integer" },
    { PROC("'user':{'additionalGids':[1,-2]}"),
      "config.json: process.user.additionalGids[1]: must be an integer between 0 and 4294967295" },
    { PROC("'user':{'additionalGids':5}"), "config.json: process.user.additionalGids: must be an array" },
    { PROC("'user':7"), "config.json: process.user: must be an object" },
    { PROC("'capabilities':{'bounding':['CAP_KILL','kill']}"),
      "config.json: process.capabilities.bounding[1]: \"kill\" is not a capability name (CAP_...)" },
    { PROC("'capabilities':{'effective':'CAP_KILL'}"),
      "config.json: process.capabilities.effective: must be an array of strings" },
    { PROC("'capabilities':{'ambient':[1]}"), "config.json: process.capabilities.ambient: must be an array of strings" },
    { PROC("'capabilities':['CAP_KILL']"), "config.json: process.capabilities: must be an object" },
    { PROC("'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]"),
      "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"" },
    { PROC("'rlimits':[{'soft':1,'hard':1}]"), "config.json: process.rlimits[0].type: missing" },
    { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','hard':1}]"), "config.json: process.rlimits[0].soft: missing" },
    { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':-1}]"),
      "config.json: process.rlimits[0].hard: must be a non-negative integer" },
    { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},{'type':'RLIMIT_CORE','soft':0,'hard':0},"
           "{'type':'RLIMIT_NOFILE','soft':2,'hard':2}]"),
      "config.json: process.rlimits[2].type: duplicate rlimit \"RLIMIT_NOFILE\"" },
    { PROC("'rlimits':[5]"), "config.json: process.rlimits[0]: must be an object" },
    { PROC("'rlimits':{}"), "config.json: process.rlimits: must be an array" },
    { PROC("'noNewPrivileges':'true'"), "config.json: process.noNewPrivileges: must be a boolean" },
    { PROC("'oomScoreAdj':1001"), "config.json: process.oomScoreAdj: must be between -1000 and 1000" },
    { PROC("'oomScoreAdj':-0.5"), "config.json: process.oomScoreAdj: must be an integer" },
    { PROC("'apparmorProfile':false"), "config.json: process.apparmorProfile: must be a string" },
    { PROC("'selinuxLabel':{}"), "config.json: process.selinuxLabel: must be a string" },
    { PROC("'ioPriority':{}"), "config.json: process.ioPriority.class: missing" },
    { PROC("'ioPriority':{'class':'IOPRIO_CLASS_X'}"),
      "config.json: process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_X\"" },
    { PROC("'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':8}"),
      "config.json: process.ioPriority.priority: must be between 0 and 7" },
  };
  CHECK_ERRORS(cases);
}

static void test_errors_mounts_and_hooks(void **state) {
  (void)state;
  static const struct err_case cases[] = {
    { "{" BASE ",'mounts':[{'destination':'/a'},{'type':'tmpfs'}]}", "config.json: mounts[1].destination: missing" },
    { "{" BASE ",'mounts':[{'destination':'/a'},{'destination':'b'}]}",
      "config.json: mounts[1].destination: must be an absolute path" },
    { "{" BASE ",'mounts':[{'destination':'/a','type':5}]}", "config.json: mounts[0].type: must be a string" },
    { "{" BASE ",'mounts':[{'destination':'/a','source':[]}]}", "config.json: mounts[0].source: must be a string" },
    { "{" BASE ",'mounts':[{'destination':'/a','options':'ro'}]}",
      "config.json: mounts[0].options: must be an array of strings" },
    { "{" BASE ",'mounts':[{'destination':'/a'},{'destination':'/b','options':['ro','']}]}",
      "config.json: mounts[1].options[1]: empty mount option" },
    { "{" BASE ",'mounts':['/a']}", "config.json: mounts[0]: must be an object" },
    { "{" BASE ",'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1,'size':1}]}]}",
      "config.json: mounts[0].gidMappings: missing (uidMappings and gidMappings go together)" },
    { "{" BASE ",'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1}],'gidMappings':[]}]}",
      "config.json: mounts[0].uidMappings[0].size: missing" },
    { "{" BASE ",'hooks':'x'}", "config.json: hooks: must be an object" },
    { "{" BASE ",'hooks':{'prestart':[{'path':'fix-mounts'}]}}",
      "config.json: hooks.prestart[0].path: must be an absolute path" },
    { "{" BASE ",'hooks':{'poststop':[{'path':'/a'},{'args':['x']}]}}", "config.json: hooks.poststop[1].path: missing" },
    { "{" BASE ",'hooks':{'createRuntime':[{'path':'/a','timeout':0}]}}",
      "config.json: hooks.createRuntime[0].timeout: must be greater than zero" },
    { "{" BASE ",'hooks':{'createContainer':[{'path':'/a','timeout':'5'}]}}",
      "config.json: hooks.createContainer[0].timeout: must be an integer" },
    { "{" BASE ",'hooks':{'startContainer':[{'path':'/a','args':[1]}]}}",
      "config.json: hooks.startContainer[0].args: must be an array of strings" },
    { "{" BASE ",'hooks':{'poststart':[{'path':'/a','env':'A=1'}]}}",
      "config.json: hooks.poststart[0].env: must be an array of strings" },
    { "{" BASE ",'hooks':{'poststart':{}}}", "config.json: hooks.poststart: must be an array" },
  };
  CHECK_ERRORS(cases);
}

static void test_errors_linux(void **state) {
  (void)state;
  static const struct err_case cases[] = {
    { LINUX("'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'foo'}]"),
      "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"" },
    { LINUX("'namespaces':[{'type':'pid'},{'type':'uts'},{'type':'pid','path':'/proc/1/ns/pid'}]"),
      "config.json: linux.namespaces: duplicate namespace \"pid\"" },
    { LINUX("'namespaces':[{'path':'/proc/1/ns/pid'}]"), "config.json: linux.namespaces[0].type: missing" },
    { LINUX("'namespaces':[{'type':'net'}]"), "config.json: linux.namespaces[0].type: unknown namespace type \"net\"" },
    { LINUX("'namespaces':[{'type':'network','path':'proc/1/ns/net'}]"),
      "config.json: linux.namespaces[0].path: must be an absolute path" },
    { LINUX("'namespaces':{'type':'pid'}"), "config.json: linux.namespaces: must be an array" },
    { LINUX("'uidMappings':[{'containerID':0,'hostID':-1,'size':1}]"),
      "config.json: linux.uidMappings[0].hostID: must be a non-negative integer" },
    { LINUX("'uidMappings':[{'hostID':1,'size':1}]"), "config.json: linux.uidMappings[0].containerID: missing" },
    { LINUX("'uidMappings':[{'containerID':0,'hostID':1,'size':4294967296}]"),
      "config.json: linux.uidMappings[0].size: must be at most 4294967295" },
    { LINUX("'uidMappings':'0 1000 1'"), "config.json: linux.uidMappings: must be an array" },
    { LINUX("'gidMappings':[1]"), "config.json: linux.gidMappings[0]: must be an object" },
    { LINUX("'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]"),
      "config.json: linux.devices[0].type: must be \"c\", \"b\", \"u\" or \"p\", not \"x\"" },
    { LINUX("'devices':[{'path':'/dev/x','type':'cb','major':1,'minor':1}]"),
      "config.json: linux.devices[0].type: must be \"c\", \"b\", \"u\" or \"p\", not \"cb\"" },
    { LINUX("'devices':[{'path':'/dev/x','major':1,'minor':1}]"), "config.json: linux.devices[0].type: missing" },
    { LINUX("'devices':[{'type':'c','major':1,'minor':1}]"), "config.json: linux.devices[0].path: missing" },
    { LINUX("'devices':[{'path':'/dev/p','type':'p'},{'path':'/dev/x','type':'c','minor':1}]"),
      "config.json: linux.devices[1].major: missing" },
    { LINUX("'devices':[{'path':'/dev/x','type':'b','major':8}]"), "config.json: linux.devices[0].minor: missing" },
    { LINUX("'devices':[{'path':'/dev/x','type':'u','major':8,'minor':-3}]"),
      "config.json: linux.devices[0].minor: must be between 0 and 9223372036854775807" },
    { LINUX("'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]"),
      "config.json: linux.devices[0].path: must be an absolute path" },
    { LINUX("'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'fileMode':-1}]"),
      "config.json: linux.devices[0].fileMode: must be a non-negative integer" },
    { LINUX("'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'uid':'root'}]"),
      "config.json: linux.devices[0].uid: must be a non-negative integer" },
    { LINUX("'maskedPaths':['/proc/kcore','proc/keys']"), "config.json: linux.maskedPaths[1]: must be an absolute path" },
    { LINUX("'readonlyPaths':'/proc/sys'"), "config.json: linux.readonlyPaths: must be an array of strings" },
    { LINUX("'rootfsPropagation':'weird'"), "config.json: linux.rootfsPropagation: unknown propagation \"weird\"" },
    { LINUX("'rootfsPropagation':'ro'"), "config.json: linux.rootfsPropagation: unknown propagation \"ro\"" },
    { LINUX("'sysctl':{'net.ipv4.ip_forward':1}"),
      "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: must be a string" },
    { LINUX("'cgroupsPath':5"), "config.json: linux.cgroupsPath: must be a string" },
    { LINUX("'mountLabel':[]"), "config.json: linux.mountLabel: must be a string" },
    { LINUX("'timeOffsets':{'realtime':{'secs':1}}"),
      "config.json: linux.timeOffsets[\"realtime\"]: unknown clock (monotonic or boottime)" },
    { LINUX("'timeOffsets':{'monotonic':{'secs':1,'nanosecs':-1}}"),
      "config.json: linux.timeOffsets[\"monotonic\"].nanosecs: must be a non-negative integer" },
    { LINUX("'timeOffsets':{'boottime':5}"), "config.json: linux.timeOffsets[\"boottime\"]: must be an object" },
    { LINUX("'personality':{}"), "config.json: linux.personality.domain: missing" },
    { LINUX("'personality':{'domain':'LINUX64'}"),
      "config.json: linux.personality.domain: must be \"LINUX\" or \"LINUX32\", not \"LINUX64\"" },
    { LINUX("'personality':{'domain':'LINUX','flags':['SHORT_INODE']}"),
      "config.json: linux.personality.flags: flag \"SHORT_INODE\" is not supported" },
    { LINUX("'intelRdt':{'closID':1}"), "config.json: linux.intelRdt.closID: must be a string" },
  };
  CHECK_ERRORS(cases);
}

static void test_errors_seccomp(void **state) {
  (void)state;
  static const struct err_case cases[] = {
    { LINUX("'seccomp':'unconfined'"), "config.json: linux.seccomp: must be an object" },
    { SECCOMP("'syscalls':[]"), "config.json: linux.seccomp.defaultAction: missing" },
    { SECCOMP("'defaultAction':7"), "config.json: linux.seccomp.defaultAction: must be a string" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':-1"),
      "config.json: linux.seccomp.defaultErrnoRet: must be a non-negative integer" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','architectures':[1]"),
      "config.json: linux.seccomp.architectures: must be an array of strings" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','flags':'SECCOMP_FILTER_FLAG_LOG'"),
      "config.json: linux.seccomp.flags: must be an array of strings" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','listenerMetadata':'x'"),
      "config.json: linux.seccomp.listenerMetadata: must not be set without listenerPath" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':[],'action':'SCMP_ACT_ALLOW'}]"),
      "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of strings" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'action':'SCMP_ACT_ALLOW'}]"),
      "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of strings" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['read']},{'names':['write']}]"),
      "config.json: linux.seccomp.syscalls[0].action: missing" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
              "'errnoRet':'EPERM'}]"),
      "config.json: linux.seccomp.syscalls[0].errnoRet: must be a non-negative integer" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW',"
              "'args':[{'index':0,'value':1}]}]"),
      "config.json: linux.seccomp.syscalls[0].args[0].op: missing" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW',"
              "'args':[{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':-1,'value':1,'op':'SCMP_CMP_EQ'}]}]"),
      "config.json: linux.seccomp.syscalls[0].args[1].index: must be a non-negative integer" },
    { SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW',"
              "'args':[{'index':0,'op':'SCMP_CMP_EQ'}]}]"),
      "config.json: linux.seccomp.syscalls[0].args[0].value: missing" },
  };
  CHECK_ERRORS(cases);
}

static void test_errors_resources(void **state) {
  (void)state;
  static const struct err_case cases[] = {
    { LINUX("'resources':[]"), "config.json: linux.resources: must be an object" },
    { RES("'devices':[{'access':'rwm'}]"), "config.json: linux.resources.devices[0].allow: missing" },
    { RES("'devices':[{'allow':'no'}]"), "config.json: linux.resources.devices[0].allow: must be a boolean" },
    { RES("'devices':[{'allow':true,'type':'x'}]"),
      "config.json: linux.resources.devices[0].type: must be \"a\", \"c\" or \"b\", not \"x\"" },
    { RES("'devices':[{'allow':true,'access':'rwx'}]"),
      "config.json: linux.resources.devices[0].access: must be a combination of r, w and m, not \"rwx\"" },
    { RES("'devices':[{'allow':true,'access':''}]"),
      "config.json: linux.resources.devices[0].access: must be a combination of r, w and m, not \"\"" },
    { RES("'devices':[{'allow':true,'major':-2}]"),
      "config.json: linux.resources.devices[0].major: must be between -1 and 9223372036854775807" },
    { RES("'memory':{'limit':'big'}"), "config.json: linux.resources.memory.limit: must be an integer" },
    { RES("'memory':{'limit':1.5}"), "config.json: linux.resources.memory.limit: must be an integer" },
    { RES("'memory':{'swappiness':101}"), "config.json: linux.resources.memory.swappiness: must be at most 100" },
    { RES("'memory':{'disableOOMKiller':1}"),
      "config.json: linux.resources.memory.disableOOMKiller: must be a boolean" },
    { RES("'memory':5"), "config.json: linux.resources.memory: must be an object" },
    { RES("'cpu':{'shares':-1}"), "config.json: linux.resources.cpu.shares: must be a non-negative integer" },
    { RES("'cpu':{'period':-100}"), "config.json: linux.resources.cpu.period: must be a non-negative integer" },
    { RES("'cpu':{'quota':'max'}"), "config.json: linux.resources.cpu.quota: must be an integer" },
    { RES("'cpu':{'cpus':3}"), "config.json: linux.resources.cpu.cpus: must be a string" },
    { RES("'pids':{}"), "config.json: linux.resources.pids.limit: missing" },
    { RES("'blockIO':{'weight':70000}"), "config.json: linux.resources.blockIO.weight: must be at most 65535" },
    { RES("'blockIO':{'weightDevice':[{'major':8,'minor':0}]}"),
      "config.json: linux.resources.blockIO.weightDevice[0]: must set weight or leafWeight" },
    { RES("'blockIO':{'weightDevice':[{'minor':0,'weight':5}]}"),
      "config.json: linux.resources.blockIO.weightDevice[0].major: missing" },
    { RES("'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}"),
      "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: missing" },
    { RES("'blockIO':{'throttleWriteBpsDevice':[{'major':8,'minor':0,'rate':-1}]}"),
      "config.json: linux.resources.blockIO.throttleWriteBpsDevice[0].rate: must be a non-negative integer" },
    { RES("'blockIO':{'throttleReadIOPSDevice':[{'major':8,'rate':1}]}"),
      "config.json: linux.resources.blockIO.throttleReadIOPSDevice[0].minor: missing" },
    { RES("'blockIO':{'throttleWriteIOPSDevice':'x'}"),
      "config.json: linux.resources.blockIO.throttleWriteIOPSDevice: must be an array" },
    { RES("'hugepageLimits':[{'pageSize':'2M','limit':1}]"),
      "config.json: linux.resources.hugepageLimits[0].pageSize: \"2M\" is not a size like 2MB or 1GB" },
    { RES("'hugepageLimits':[{'pageSize':'02MB','limit':1}]"),
      "config.json: linux.resources.hugepageLimits[0].pageSize: \"02MB\" is not a size like 2MB or 1GB" },
    { RES("'hugepageLimits':[{'pageSize':'2MB'}]"), "config.json: linux.resources.hugepageLimits[0].limit: missing" },
    { RES("'network':{'classID':-1}"), "config.json: linux.resources.network.classID: must be a non-negative integer" },
    { RES("'network':{'priorities':[{'name':'eth0'}]}"),
      "config.json: linux.resources.network.priorities[0].priority: missing" },
    { RES("'network':{'priorities':[{'priority':1}]}"),
      "config.json: linux.resources.network.priorities[0].name: missing" },
    { RES("'unified':{'memory.max':5}"), "config.json: linux.resources.unified[\"memory.max\"]: must be a string" },
  };
  CHECK_ERRORS(cases);
}

/* ---------- every field broken in turn (run under ASan/valgrind: no leaks, no crash) ---------- */

static size_t n_mutations;

/* Parse the mutated document: success or a config.json error, never anything else. */
static void parse_mutated(json_t *root) {
  struct oci_spec *s = NULL;
  struct berr *err = NULL;
  int r = oci_spec_parse(root, "config.json", &s, &err);
  if (r < 0) {
    assert_int_equal(r, -EINVAL);
    assert_non_null(err);
    assert_true(str_has_prefix(err->msg, "config.json: "));
    assert_null(s);
    berr_free(err);
  } else {
    assert_null(err);
    oci_spec_free(s);
  }
  assert_int_equal(root->refcount, 1);
  n_mutations++;
}

static void mutate_tree(json_t *root, json_t *node);

/* Replace the child with each bad value, then recurse into it. */
static void mutate_child(json_t *root, json_t *node, const char *key, size_t index) {
  json_t *saved = json_incref(key ? json_object_get(node, key) : json_array_get(node, index));
  json_t *bad[] = { json_object(), json_array(), json_string(""), json_integer(-1), json_real(1.5), json_true() };
  for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
    if (key)
      json_object_set_new(node, key, bad[b]);
    else
      json_array_set_new(node, index, bad[b]);
    parse_mutated(root);
  }
  if (key) {
    json_object_del(node, key); /* and missing altogether */
    parse_mutated(root);
    json_object_set(node, key, saved);
  } else {
    json_array_set(node, index, saved);
  }
  mutate_tree(root, saved);
  json_decref(saved);
}

static void mutate_tree(json_t *root, json_t *node) {
  if (json_is_object(node)) {
    /* keys first: the loop below edits the object */
    size_t n = json_object_size(node), i = 0;
    char **keys = xcalloc(n + 1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(node, k, v) keys[i++] = xstrdup(k);
    for (i = 0; i < n; i++)
      mutate_child(root, node, keys[i], 0);
    strv_free(keys);
  } else if (json_is_array(node)) {
    for (size_t i = 0; i < json_array_size(node); i++)
      mutate_child(root, node, NULL, i);
  }
}

static void test_every_field_broken(void **state) {
  (void)state;
  json_t *doc = sq_json(full_config);
  n_mutations = 0;
  mutate_tree(doc, doc);
  assert_true(n_mutations > 2000);
  /* the document is whole again */
  struct oci_spec *s = parse_ok(full_config);
  oci_spec_free(s);
  json_decref(doc);
}

/* A NULL err is allowed: the caller only wants the code. */
static void test_null_err(void **state) {
  (void)state;
  json_t *doc = sq_json("{" BASE ",'mounts':[{'destination':'/a','options':['']}]}");
  struct oci_spec *s = NULL;
  assert_int_equal(oci_spec_parse(doc, NULL, &s, NULL), -EINVAL);
  assert_null(s);
  json_decref(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_full_config),
    cmocka_unit_test(test_minimal_config),
    cmocka_unit_test(test_nulls_and_empty_arrays),
    cmocka_unit_test(test_namespace_lookup),
    cmocka_unit_test(test_tables),
    cmocka_unit_test(test_all_rlimits),
    cmocka_unit_test(test_default_spec),
    cmocka_unit_test(test_default_spec_rootless),
    cmocka_unit_test(test_load_file),
    cmocka_unit_test(test_freep),
    cmocka_unit_test(test_process_parse),
    cmocka_unit_test(test_resources_parse),
    cmocka_unit_test(test_errors_top_level),
    cmocka_unit_test(test_errors_process),
    cmocka_unit_test(test_errors_mounts_and_hooks),
    cmocka_unit_test(test_errors_linux),
    cmocka_unit_test(test_errors_seccomp),
    cmocka_unit_test(test_errors_resources),
    cmocka_unit_test(test_null_err),
    cmocka_unit_test(test_every_field_broken),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
