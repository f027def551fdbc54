#!/usr/bin/env bats
# berth-runc cgroups: linux.resources at create time and `update` (single
# flags, -r FILE, -r - on stdin as containerd sends it), read back from the
# cgroup files.  Paths are those of cgroup v1 (this machine is hybrid: v1
# controllers under /sys/fs/cgroup/<controller>); on a pure v2 host the v1
# checks skip.

load helpers

setup() {
	berth_setup
	[ -d /sys/fs/cgroup/memory ] || skip "needs cgroup v1 controllers (hybrid or v1 host)"
}

start_sleeper() {
	make_bundle sleep 1000
	if [ $# -gt 0 ]; then update_config "$@"; fi
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	record_pid "$(state_field c1 pid)"
}

@test "cgroups: the container's processes are in linux.cgroupsPath in every hierarchy" {
	start_sleeper
	pid=$(state_field c1 pid)
	for c in memory pids cpu cpuset freezer devices blkio; do
		grep -qx "$pid" "$(cg_dir "$c")/cgroup.procs" || fail "pid $pid not in $(cg_dir "$c")"
	done
	expect_match "$(cat "/proc/$pid/cgroup")" ":memory:/$CG_PREFIX/$(basename "$BUNDLE")$"
	run -0 runc_ delete --force c1
	assert_nothing_left c1
}

@test "cgroups: linux.resources at create: memory, pids, cpu, cpuset" {
	start_sleeper '.linux.resources += {
		memory: { limit: 67108864, reservation: 33554432 },
		pids: { limit: 50 },
		cpu: { shares: 256, quota: 20000, period: 100000, cpus: "0", mems: "0" } }'
	expect_eq "$(cg_read memory memory.limit_in_bytes)" 67108864 memory.limit_in_bytes
	expect_eq "$(cg_read memory memory.soft_limit_in_bytes)" 33554432 memory.soft_limit_in_bytes
	expect_eq "$(cg_read pids pids.max)" 50 pids.max
	expect_eq "$(cg_read cpu cpu.shares)" 256 cpu.shares
	expect_eq "$(cg_read cpu cpu.cfs_quota_us)" 20000 cpu.cfs_quota_us
	expect_eq "$(cg_read cpu cpu.cfs_period_us)" 100000 cpu.cfs_period_us
	expect_eq "$(cg_read cpuset cpuset.cpus)" 0 cpuset.cpus
	expect_eq "$(cg_read cpuset cpuset.mems)" 0 cpuset.mems
}

@test "cgroups: the pids limit is enforced" {
	make_bundle sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 100 & done; wait'
	update_config '.linux.resources.pids = { limit: 4 }'
	run runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "$output" "fork|resource|again"
}

@test "update: single flags reach the cgroup files" {
	start_sleeper
	run -0 runc_ update --memory 104857600 c1
	expect_eq "$(cg_read memory memory.limit_in_bytes)" 104857600 memory.limit_in_bytes
	if [ -f "$(cg_dir memory)/memory.memsw.limit_in_bytes" ]; then
		run -0 runc_ update --memory 67108864 --memory-swap 134217728 c1
		expect_eq "$(cg_read memory memory.limit_in_bytes)" 67108864 memory.limit_in_bytes
		expect_eq "$(cg_read memory memory.memsw.limit_in_bytes)" 134217728 memory.memsw.limit_in_bytes
	fi
	run -0 runc_ update --memory-reservation 33554432 c1
	expect_eq "$(cg_read memory memory.soft_limit_in_bytes)" 33554432 memory.soft_limit_in_bytes
	run -0 runc_ update --pids-limit 42 c1
	expect_eq "$(cg_read pids pids.max)" 42 pids.max
	# runc's flag is --cpu-share (singular)
	run -0 runc_ update --cpu-share 512 c1
	expect_eq "$(cg_read cpu cpu.shares)" 512 cpu.shares
	run -0 runc_ update --cpu-period 100000 --cpu-quota 50000 c1
	expect_eq "$(cg_read cpu cpu.cfs_period_us)" 100000 cpu.cfs_period_us
	expect_eq "$(cg_read cpu cpu.cfs_quota_us)" 50000 cpu.cfs_quota_us
	run -0 runc_ update --cpuset-cpus 0 c1
	expect_eq "$(cg_read cpuset cpuset.cpus)" 0 cpuset.cpus
	run -0 runc_ update --cpuset-mems 0 c1
	expect_eq "$(cg_read cpuset cpuset.mems)" 0 cpuset.mems
	if [ -f "$(cg_dir blkio)/blkio.weight" ]; then
		run -0 runc_ update --blkio-weight 300 c1
		expect_eq "$(cg_read blkio blkio.weight)" 300 blkio.weight
	elif [ -f "$(cg_dir blkio)/blkio.bfq.weight" ]; then
		run -0 runc_ update --blkio-weight 300 c1
		expect_match "$(cg_read blkio blkio.bfq.weight)" "(^| )300$"
	fi
	# the container keeps running
	expect_eq "$(container_status c1)" running status
}

@test "update: -r FILE" {
	start_sleeper
	cat >"$BATS_TEST_TMPDIR/res.json" <<'EOF'
{
  "memory": { "limit": 78643200 },
  "cpu": { "shares": 300, "quota": 30000, "period": 100000, "cpus": "0" },
  "pids": { "limit": 77 }
}
EOF
	run -0 runc_ update -r "$BATS_TEST_TMPDIR/res.json" c1
	show
	expect_eq "$(cg_read memory memory.limit_in_bytes)" 78643200 memory.limit_in_bytes
	expect_eq "$(cg_read cpu cpu.shares)" 300 cpu.shares
	expect_eq "$(cg_read cpu cpu.cfs_quota_us)" 30000 cpu.cfs_quota_us
	expect_eq "$(cg_read cpuset cpuset.cpus)" 0 cpuset.cpus
	expect_eq "$(cg_read pids pids.max)" 77 pids.max
}

@test "update: -r - reads the resources from stdin (as containerd does)" {
	start_sleeper
	run -0 bash -c 'echo "{\"memory\": {\"limit\": 89128960}, \"pids\": {\"limit\": 33}}" |
		timeout 60 "$BERTH_RUNC" --root "$1" update -r - c1' _ "$ROOT"
	show
	expect_eq "$(cg_read memory memory.limit_in_bytes)" 89128960 memory.limit_in_bytes
	expect_eq "$(cg_read pids pids.max)" 33 pids.max
}

@test "update: bad input fails and changes nothing" {
	start_sleeper '.linux.resources.pids = { limit: 20 }'
	echo '{ not json' >"$BATS_TEST_TMPDIR/bad.json"
	run ! runc_ update -r "$BATS_TEST_TMPDIR/bad.json" c1
	run ! runc_ update --pids-limit notanumber c1
	run ! runc_ update --pids-limit 10 nosuch
	expect_eq "$(cg_read pids pids.max)" 20 pids.max
}

@test "cgroups: device allowlist in devices.list" {
	start_sleeper '.linux.resources.devices += [{ allow: true, type: "c", major: 10, minor: 229, access: "rwm" }]'
	list=$(cg_read devices devices.list)
	expect_contains "$list" "c 10:229 rwm"
	# the default devices are allowed (null, zero, ...), not everything
	expect_contains "$list" "c 1:3 rwm"
	! grep -q '^a ' <<<"$list" || fail "everything allowed: $list"
	# and the process can use /dev/null
	run -0 runc_ exec c1 sh -c 'echo x > /dev/null && head -c 4 /dev/zero | wc -c'
	expect_eq "$output" 4
}

@test "cgroups: delete removes the container's cgroups" {
	start_sleeper '.linux.resources.memory = { limit: 67108864 }'
	[ -d "$(cg_dir memory)" ]
	run -0 runc_ kill c1 KILL
	wait_for_status c1 stopped
	run -0 runc_ delete c1
	for h in $(cgroup_hierarchies); do
		[ ! -e "$h/$CG_PREFIX/$(basename "$BUNDLE")" ] || fail "left: $h/$CG_PREFIX/$(basename "$BUNDLE")"
	done
}
