#!/usr/bin/env bats
# berth-runc namespaces: uts (hostname, domainname), pid (the process is pid
# 1), network (only lo; sysctl applies inside), user (uid/gid mappings),
# cgroup, joining an existing namespace by path, and leaving out a namespace
# (the host's is shared).

load helpers

@test "namespaces: hostname in a new uts namespace" {
	make_bundle hostname
	update_config '.hostname = "box1"'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "$output" box1 hostname
	[ "$(hostname)" != box1 ]
}

# berth-specific: runc 1.1 ignores "domainname" (runtime-spec 1.1; runc >= 1.2).
@test "namespaces: domainname in a new uts namespace" {
	requires_berth "runc 1.1 ignores domainname"
	make_bundle cat /proc/sys/kernel/domainname
	update_config '.hostname = "box1" | .domainname = "example.test"'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "$output" example.test domainname
}

@test "namespaces: the process is pid 1 of a new pid namespace" {
	make_bundle sh -c 'echo $$; ps -o pid,comm | grep -v "ps\|grep"'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "${lines[0]}" 1 pid
	expect_match "$output" "^ +1 +sh"
}

@test "namespaces: a new network namespace has only lo" {
	make_bundle sh -c 'ls /sys/class/net; ip -o link | wc -l'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "${lines[0]}" lo interfaces
	expect_eq "${lines[1]}" 1 "links"
}

@test "namespaces: every process namespace differs from the host's, unless left out" {
	make_bundle sleep 1000
	update_config '.linux.namespaces += [{type: "cgroup"}]'
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	pid=$(state_field c1 pid)
	record_pid "$pid"
	for ns in pid net ipc uts mnt cgroup; do
		[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] || fail "$ns namespace is the host's"
	done
	# no user namespace configured: the host's
	expect_eq "$(readlink "/proc/$pid/ns/user")" "$(readlink /proc/self/ns/user)" "user namespace"
}

@test "namespaces: without a network namespace the host's network is shared" {
	make_bundle sh -c 'readlink /proc/self/ns/net'
	update_config '.linux.namespaces |= map(select(.type != "network"))'
	# sysfs cannot be mounted without a new network namespace by a non-owner: drop it
	update_config '.mounts |= map(select(.destination != "/sys" and .destination != "/sys/fs/cgroup"))'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "$output" "$(readlink /proc/self/ns/net)" "net namespace"
}

@test "namespaces: cgroup namespace shows / as the container's cgroup" {
	make_bundle sh -c 'grep memory /proc/self/cgroup'
	update_config '.linux.namespaces += [{type: "cgroup"}]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "$output" ":memory:/$"
}

@test "namespaces: join an existing network namespace by path" {
	make_netns net
	want=$(stat -L -c %i "$NETNS_PATH")
	make_bundle sh -c 'readlink /proc/self/ns/net'
	update_config --arg p "$NETNS_PATH" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "$output" "net:[$want]" "net namespace"
	# the namespace outlives the container
	[ -e "$NETNS_PATH" ]
	ip netns exec "$NETNS" true
}

@test "namespaces: join the network namespace of another container" {
	make_bundle_named one sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	pid=$(state_field c1 pid)
	record_pid "$pid"
	make_bundle_named two sh -c 'readlink /proc/self/ns/net; readlink /proc/self/ns/ipc'
	update_config --arg n "/proc/$pid/ns/net" '.linux.namespaces |= map(if .type == "network" then .path = $n else . end)'
	run -0 runc_ run --bundle "$BUNDLE" c2
	show
	expect_eq "${lines[0]}" "$(readlink "/proc/$pid/ns/net")" "net namespace"
	# the ipc namespace was not joined: a new one
	[ "${lines[1]}" != "$(readlink "/proc/$pid/ns/ipc")" ]
}

@test "namespaces: user namespace with uid/gid mappings" {
	make_bundle sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g'
	userns_bundle_access 100000
	update_config '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .mounts |= map(select(.destination != "/sys/fs/cgroup"))'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "${lines[0]}" "^ +0 +100000 +65536$"
	expect_match "${lines[1]}" "^ +0 +100000 +65536$"
	expect_eq "${lines[2]}" 0 "uid inside"
	expect_eq "${lines[3]}" 0 "gid inside"
}

@test "namespaces: a user namespace process runs as a mapped uid on the host" {
	make_bundle sleep 1000
	userns_bundle_access 100000
	update_config '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .mounts |= map(select(.destination != "/sys/fs/cgroup"))'
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	pid=$(state_field c1 pid)
	record_pid "$pid"
	expect_match "$(grep '^Uid:' "/proc/$pid/status")" "^Uid:[[:space:]]+100000[[:space:]]"
	[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ]
}

@test "sysctl: net.ipv4.ip_forward applies inside the network namespace only" {
	host_before=$(cat /proc/sys/net/ipv4/ip_forward)
	want=1
	[ "$host_before" = 0 ] || want=0
	make_bundle sh -c 'cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/msgmax'
	update_config --arg v "$want" '.linux.sysctl = {"net.ipv4.ip_forward": $v, "kernel.msgmax": "12345"}'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "${lines[0]}" "$want" "ip_forward inside"
	expect_eq "${lines[1]}" 12345 "kernel.msgmax inside (ipc namespace)"
	expect_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_before" "ip_forward on the host"
}

# berth-specific: runc 1.1 has no time namespace (runtime-spec 1.1 timeOffsets).
@test "namespaces: time namespace with a monotonic/boottime offset" {
	requires_berth "runc 1.1 has no time namespace"
	[ -e /proc/self/ns/time ] || skip "kernel without time namespaces"
	make_bundle sh -c 'cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time'
	update_config '.linux.namespaces += [{type: "time"}]
		| .linux.timeOffsets = {boottime: {secs: 31536000, nanosecs: 0}, monotonic: {secs: 31536000, nanosecs: 0}}'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	host=$(cut -d. -f1 /proc/uptime)
	[ "${lines[0]}" -ge $((host + 31536000 - 60)) ] || fail "uptime inside ${lines[0]}, host $host: no offset"
	[ "${lines[1]}" != "$(readlink /proc/self/ns/time)" ] || fail "time namespace is the host's"
}
