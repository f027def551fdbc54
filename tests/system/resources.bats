#!/usr/bin/env bats
# tests/system/resources.bats — resource limits (issue 6, Resources): for
# each run/create flag, what the process inside sees (its cgroup files in
# the v1 hierarchies of this hybrid machine, rlimits, oom_score_adj, /dev,
# /dev/shm), compared with a private real dockerd 20.10 given the same
# flags in the same run; `update` on a running container; an OOM kill; the
# bad input cases with the same error text on both and nothing created.
#
# berthd runs with daemon.json default-ulimits (msgqueue), checked alone.

# shellcheck disable=SC2016,SC2154 # scripts for the container; results set by the helpers
load limits-helpers

CG=/sys/fs/cgroup

setup_file() {
	BERTHD_CONFIG=$BATS_FILE_TMPDIR/daemon.json
	echo '{"default-ulimits": {"msgqueue": {"Name": "msgqueue", "Soft": 4096, "Hard": 8192}}}' >"$BERTHD_CONFIG"
	export BERTHD_CONFIG
	limits_setup_file
}
teardown_file() { limits_teardown_file; }
setup() { limits_setup; }
teardown() { limits_teardown; }

@test "memory: --memory --memory-swap --memory-reservation --memory-swappiness --oom-kill-disable" {
	inside --memory 64m --memory-swap 128m --memory-reservation 32m --memory-swappiness 10 --oom-kill-disable -- \
		"cd $CG/memory && cat memory.limit_in_bytes memory.memsw.limit_in_bytes memory.soft_limit_in_bytes memory.swappiness && grep oom_kill_disable memory.oom_control"
	same
	expect "67108864
134217728
33554432
10
oom_kill_disable 1"
	# -1: unlimited swap
	inside --memory 64m --memory-swap -1 -- "cat $CG/memory/memory.memsw.limit_in_bytes"
	same
}

@test "memory: inspect shows the limits as dockerd stores them" {
	local f='{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} {{json .HostConfig.MemorySwappiness}} {{.HostConfig.OomKillDisable}} {{.HostConfig.KernelMemory}} {{.HostConfig.OomScoreAdj}}'
	R create --name m1 --memory 64m --memory-swap 128m --memory-reservation 32m --oom-score-adj 300 busybox true >/dev/null
	B create --name m1 --memory 64m --memory-swap 128m --memory-reservation 32m --oom-score-adj 300 busybox true >/dev/null
	both_cli inspect -f "$f" m1
	same
	expect "67108864 134217728 33554432 null false 0 300"
}

@test "kernel memory: accepted with dockerd's deprecation warning" {
	both_cli create --kernel-memory 10m busybox true
	same
	expect "WARNING: Specifying a kernel memory limit is deprecated"
}

@test "cpu: --cpus, --cpu-shares, --cpu-period/--cpu-quota, --cpuset-cpus/--cpuset-mems" {
	inside --cpus 1.5 -- "cat $CG/cpu/cpu.cfs_quota_us $CG/cpu/cpu.cfs_period_us"
	same
	expect "150000
100000"
	inside -c 512 --cpu-period 50000 --cpu-quota 25000 -- "cat $CG/cpu/cpu.shares $CG/cpu/cpu.cfs_period_us $CG/cpu/cpu.cfs_quota_us"
	same
	expect "512
50000
25000"
	inside --cpuset-cpus 0 --cpuset-mems 0 -- "cat $CG/cpuset/cpuset.cpus $CG/cpuset/cpuset.mems"
	same
	expect "0
0"
}

@test "pids: --pids-limit" {
	inside --pids-limit 50 -- "cat $CG/pids/pids.max"
	same
	expect 50
}

@test "block I/O: --device-read-bps/-write-bps/-read-iops/-write-iops, --blkio-weight discarded with a warning" {
	local dev
	dev=$(lsblk -dno PATH,TYPE | awk '$2 == "disk" && $1 !~ /zram/ {print $1; exit}')
	[ -n "$dev" ] || skip "no block device"
	inside --device-read-bps "$dev:1mb" --device-write-bps "$dev:2mb" --device-read-iops "$dev:100" --device-write-iops "$dev:200" -- \
		"cd $CG/blkio && cat blkio.throttle.read_bps_device blkio.throttle.write_bps_device blkio.throttle.read_iops_device blkio.throttle.write_iops_device"
	same
	expect " 1048576"
	expect " 200"
	if [ ! -e $CG/blkio/blkio.weight ] && [ ! -e $CG/blkio/blkio.bfq.weight ]; then
		both_cli create --blkio-weight 300 busybox true
		same
		expect "WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
	fi
}

@test "ulimits: --ulimit nofile, and daemon.json default-ulimits" {
	inside --ulimit nofile=1024:2048 -- 'ulimit -n; ulimit -Hn'
	same
	expect "1024
2048"
	# berthd's daemon.json default-ulimits (dockerd here has none)
	run B run --rm busybox sh -c 'grep "Max msgqueue" /proc/self/limits'
	[ "$status" -eq 0 ]
	[[ "$output" =~ 4096\ +8192 ]] || { echo "$output" >&2; false; }
	# a --ulimit overrides the default
	run B run --rm --ulimit msgqueue=100:200 busybox sh -c 'grep "Max msgqueue" /proc/self/limits'
	[[ "$output" =~ 100\ +200 ]] || { echo "$output" >&2; false; }
}

@test "oom score, shm size: /proc/self/oom_score_adj and /dev/shm" {
	inside --oom-score-adj 500 --shm-size 32m -- 'cat /proc/self/oom_score_adj; df -k /dev/shm | tail -n 1 | awk "{print \$2}"'
	same
	expect "500
32768"
}

@test "devices: --device with permissions and another path, --device-cgroup-rule" {
	inside --device /dev/null:/dev/mynull:r --device-cgroup-rule 'c 1:5 rwm' -- \
		"ls /dev | sort | tr '\n' ' '; echo; grep -E '^c 1:(3|5) ' $CG/devices/devices.list; echo x > /dev/mynull && echo writable"
	same
	expect "mynull"
	expect "c 1:5 rwm"
}

@test "update: a running container's cgroup and inspect change" {
	local f='{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{json .HostConfig.PidsLimit}} {{.HostConfig.CpuQuota}}'
	R run -d --name u1 --memory 64m busybox sleep 60 >/dev/null
	B run -d --name u1 --memory 64m busybox sleep 60 >/dev/null
	both_cli update --memory 128m --memory-swap 256m --cpu-shares 256 --pids-limit 20 --cpu-period 100000 --cpu-quota 50000 --cpuset-cpus 0 --memory-reservation 64m u1
	same
	both_cli exec u1 sh -c "cat $CG/memory/memory.limit_in_bytes $CG/memory/memory.memsw.limit_in_bytes $CG/cpu/cpu.shares $CG/pids/pids.max $CG/cpu/cpu.cfs_quota_us $CG/cpuset/cpuset.cpus $CG/memory/memory.soft_limit_in_bytes"
	same
	expect "134217728
268435456
256
20
50000
0
67108864"
	both_cli inspect -f "$f" u1
	same
	expect "134217728 268435456 0 256 20 50000"
	# bad update: the daemon's message, nothing changed
	both_cli update --cpus 9999 u1
	same
	[ "$sut_status" -ne 0 ]
	both_cli update --memory-swap 1x u1
	same
}

@test "OOM kill: exit 137, State.OOMKilled and an oom event" {
	local since
	since=$(date +%s)
	both_cli run --name oom1 --memory 8m --memory-swap 8m busybox sh -c 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done'
	same
	[ "$sut_status" -eq 137 ]
	both_cli inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom1
	same
	expect "true 137"
	both_cli events --since "$since" --until "$(($(date +%s) + 1))" --filter event=oom --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
	same
	expect "container oom oom1"
}

@test "bad input: sizes, ranges, units — Docker's errors, nothing created" {
	bad --memory 1x
	bad --memory-reservation 12q
	bad --memory-swap 1x
	bad --memory 3m
	bad --memory 10m --memory-swap 5m
	bad --memory-swap 20m
	bad --memory-reservation 1k
	bad --memory-swappiness 101
	bad --kernel-memory 1k
	bad --oom-score-adj 2000
	bad --cpus 99
	bad --cpus abc
	bad --cpus 1 --cpu-quota 5000
	bad --cpu-period 500
	bad --cpu-quota 500
	bad --cpuset-cpus 99
	bad --cpuset-cpus foo
	bad --cpuset-mems 7
	bad --pids-limit x
	bad --blkio-weight-device /dev/sda:5
	bad --blkio-weight-device sda:300
	bad --device-read-bps /dev/sda
	bad --device-write-iops /dev/sda:1k
	bad --device-read-bps /dev/sda:1x
	bad --device-cgroup-rule foo
	bad --ulimit nofile
	bad --ulimit foo=1
	bad --ulimit nofile=x
	bad --ulimit nofile=20:10
	bad --device /dev/null:/dev/x:rwq
	bad --device /dev/null::rw
	bad --isolation foo
}

@test "bad input at start: a device that does not exist" {
	both_cli create --name dev1 --device /dev/berth-nonexistent busybox true
	same
	both_cli start -a dev1
	same
	both_cli inspect -f '{{.State.Error}} {{.State.ExitCode}}' dev1
	same
	expect 'error gathering device information while adding custom device "/dev/berth-nonexistent": no such file or directory'
	# refused when the spec is built, too: negative CPU shares
	both_cli create --name sh1 --cpu-shares -1 busybox true
	both_cli start sh1
	[ "$ref_status" -ne 0 ] && [ "$sut_status" -ne 0 ]
	sut_status=$ref_status
	same
	expect "shares: invalid argument"
}
