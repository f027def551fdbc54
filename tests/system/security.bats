#!/usr/bin/env bats
# tests/system/security.bats — security options (issue 6, Security): what
# the process inside sees (/proc/self/status CapEff, NoNewPrivs, Seccomp;
# `unshare` and `mount` refused under the default profile; /dev; /sys and
# /proc writability; ids; namespaces shared with the host or another
# container; sysctls) for each flag, compared with a private real dockerd
# 20.10 given the same flags in the same run; and the bad input cases with
# the same error text on both and nothing created.

# shellcheck disable=SC2016,SC2154 # scripts for the container; results set by the helpers
load limits-helpers

STATUS='grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'

setup_file() { limits_setup_file; }
teardown_file() { limits_teardown_file; }
setup() { limits_setup; }
teardown() { limits_teardown; }

@test "default: Docker's capability set, seccomp filter on, no_new_privs off" {
	inside -- "$STATUS"
	same
	expect "CapEff:	00000000a80425fb"
	expect "Seccomp:	2"
	expect "NoNewPrivs:	0"
}

@test "default profile: unshare and mount refused" {
	inside -- 'unshare -U true 2>&1; echo "unshare=$?"; mkdir -p /m; mount -t tmpfs none /m 2>&1; echo "mount=$?"'
	same
	expect "unshare=1"
	expect "mount: permission denied"
	# with the capability, mount is allowed by the profile (a cap-conditional rule)
	inside --cap-add SYS_ADMIN -- 'mkdir -p /m && mount -t tmpfs none /m && echo mounted'
	same
	expect mounted
}

@test "--cap-add / --cap-drop: names with or without CAP_, any case, ALL" {
	inside --cap-add NET_ADMIN --cap-drop chown -- "$STATUS"
	same
	inside --cap-add cap_sys_ptrace --cap-drop CAP_NET_RAW -- "$STATUS"
	same
	inside --cap-drop ALL -- "$STATUS"
	same
	expect "CapEff:	0000000000000000"
	inside --cap-drop ALL --cap-add KILL -- "$STATUS"
	same
	if full_bounding_set; then
		inside --cap-add ALL -- "$STATUS"
		same
		inside --cap-add ALL --cap-drop MKNOD -- "$STATUS"
		same
	fi
}

@test "--privileged, unprivileged view: /sys read-only, masked /proc entries, /proc/sys read-only" {
	inside -- "grep -E ' /sys ' /proc/mounts | awk '{print \$4}' | cut -d, -f1; wc -c </proc/kcore; echo x >/proc/sys/kernel/domainname 2>&1; echo w=\$?; ls /dev | tr '\n' ' '"
	same
	expect ro
	expect "w=1"
}

# every capability the kernel knows is in our bounding set (else neither
# runtime can give a container all of them: runc refuses, as berth-runc does)
full_bounding_set() {
	local bnd last
	bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
	last=$(cat /proc/sys/kernel/cap_last_cap)
	[ "$((16#$bnd))" -eq "$(((1 << (last + 1)) - 1))" ]
}

@test "--privileged: all capabilities, host devices, no seccomp, writable /sys" {
	full_bounding_set || skip "this machine's bounding set lacks capabilities: --privileged cannot start (dockerd's runc fails too)"
	inside --privileged -- "$STATUS; test -e /dev/vda && echo has-vda; grep -E ' /sys (sysfs|.*) ' /proc/mounts | awk '{print \$4}' | cut -d, -f1 | head -n 1"
	same
	expect "Seccomp:	0"
	expect has-vda
	expect rw
}

@test "--security-opt: no-new-privileges, seccomp=unconfined, a seccomp file, apparmor and label accepted" {
	inside --security-opt no-new-privileges -- "$STATUS"
	same
	expect "NoNewPrivs:	1"
	inside --security-opt no-new-privileges=false -- "$STATUS"
	same
	inside --security-opt seccomp=unconfined -- "$STATUS"
	same
	expect "Seccomp:	0"
	# a profile that refuses mkdir with EPERM
	cat >"$BATS_TEST_TMPDIR/p.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
EOF
	inside --security-opt "seccomp=$BATS_TEST_TMPDIR/p.json" -- 'mkdir /x 2>&1; echo rc=$?'
	same
	expect "rc=1"
	inside --security-opt apparmor=unconfined --security-opt label=disable -- 'echo ok'
	same
	expect ok
}

@test "--user and --group-add: uid, uid:gid, names from the image's files" {
	inside --user 1000:1000 -- id
	same
	expect "uid=1000"
	inside --user berth -- id
	same
	inside --user nobody -- id
	same
	inside --group-add tty --group-add 1234 -- id
	same
	expect "1234"
	inside --user 1000 --group-add nogroup -- id
	same
	# unknown names: refused at start with dockerd's text
	both_cli run --user nosuch busybox true
	same
	both_cli run --group-add nosuchgroup busybox true
	same
	expect "Unable to find group nosuchgroup"
}

@test "--pid, --ipc, --uts host and container:<id>; --cgroupns" {
	inside --pid host -- 'test "$(ps -o pid | wc -l)" -gt 5 && echo many'
	same
	expect many
	inside --ipc host --uts host -- "readlink /proc/self/ns/ipc; hostname"
	same
	expect "$(readlink /proc/self/ns/ipc)"
	expect "$(hostname)"
	R run -d --name p1 --ipc shareable busybox sleep 60 >/dev/null
	B run -d --name p1 --ipc shareable busybox sleep 60 >/dev/null
	inside --pid container:p1 --ipc container:p1 -- "ps -o comm | grep -c sleep"
	same
	expect 1
	both_cli inspect -f '{{.HostConfig.PidMode}} {{.HostConfig.IpcMode}} {{.HostConfig.UTSMode}} {{.HostConfig.CgroupnsMode}}' p1
	same
	# private: the v1 hierarchies and the v2 one (0::) both start at the container's cgroup
	inside --cgroupns private -- "grep -c ':memory:/\$' /proc/self/cgroup; grep '^0::' /proc/self/cgroup"
	same
	expect "1
0::/"
	inside --cgroupns host -- "grep -c ':memory:/\$' /proc/self/cgroup"
	same
	expect 0
}

@test "--sysctl: the namespaced ones are set, the others refused by the CLI" {
	inside --sysctl kernel.shmmax=1073741824 --sysctl net.ipv4.ip_forward=1 --sysctl fs.mqueue.msg_max=20 -- \
		"cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/fs/mqueue/msg_max"
	same
	expect "1073741824
1
20"
	bad --sysctl kernel.domainname=x
	bad --sysctl vm.swappiness=1
}

@test "bad input: capabilities, security options, namespace modes — Docker's errors, nothing created" {
	bad --cap-add FOO
	bad --cap-drop CAP_BAR
	bad --privileged --cap-add nope
	bad --security-opt foo
	bad --security-opt no-new-privileges=maybe
	bad --security-opt seccomp=/nonexistent/profile.json
	echo '{"defaultAction": ' >"$BATS_TEST_TMPDIR/bad.json"
	both_cli run --security-opt "seccomp=$BATS_TEST_TMPDIR/bad.json" busybox true
	# the JSON parser's own words differ (Go's vs jansson's): the prefix, status, nothing left
	[ "$ref_status" -eq 125 ] && [ "$sut_status" -eq 125 ]
	expect "CLI: compacting json for seccomp profile ($BATS_TEST_TMPDIR/bad.json) failed: "
	nothing_left
	bad --pid foo
	bad --pid container:nosuch
	# refused at start by both (created, then removed by --rm)
	both_cli run --rm --ipc foo busybox true
	same
	expect "Invalid IPC mode: foo"
	nothing_left
	bad --ipc container:nosuch
	bad --uts foo
	bad --cgroupns foo
	bad --userns foo
}
