#!/usr/bin/env bats
# dropin-docker.bats — Debian's dockerd (docker.io 20.10) runs containers with
# berth-runc in runc's place: `dockerd --add-runtime berth=$BERTH_RUNC` and
# `docker run --runtime berth`.
#
# A private containerd + dockerd are started once for the file (see
# dropin-helpers.bash for how they are kept off the rest of the machine) and
# the busybox fixture is loaded as berth-busybox:test.
#
#   BERTH_RUNC=/usr/sbin/runc bats tests/system/dropin-docker.bats   # the reference
#   bats tests/system/dropin-docker.bats                             # build/src/berth-runc

load dropin-helpers

IMG=berth-busybox:test

setup_file() {
	local rc=0
	dropin_require || rc=$?
	[ "$rc" -ne 1 ] || return 0 # not root: every test skips
	[ "$rc" -eq 0 ] || return 1
	dropin_init
	if ! dropin_start_containerd || ! dropin_start_dockerd; then
		dropin_teardown
		return 1
	fi
	local archive
	if ! archive=$("$BATS_TEST_DIRNAME/../fixtures/busybox-image.sh" docker-archive) ||
		! d load -i "$archive" >/dev/null; then
		dropin_teardown
		return 1
	fi
}

teardown_file() {
	dropin_teardown
}

setup() {
	dropin_setup_test
}

teardown() {
	[ -z "${DROPIN_SKIP:-}" ] || return 0
	# What dockerd said (it relays the runtime's --log messages) when a test fails.
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dropin_runtime_log
	d rm -f "dropin-$BATS_TEST_NUMBER" >/dev/null 2>&1 || true
}

# brun ARGS...: docker run --rm --runtime berth, output shown on failure.
brun() {
	run d run --rm --runtime berth "$@"
	echo "status=$status output: $output"
}

# bstart NAME ARGS...: a detached container under the berth runtime.
bstart() {
	local name=$1
	shift
	run d run -d --name "$name" --runtime berth "$@"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
}

# wait_log NAME TEXT: wait (bounded) until the container's log shows TEXT.
wait_log() {
	local _
	for _ in $(seq 100); do
		case "$(d logs "$1" 2>&1)" in *"$2"*) return 0 ;; esac
		sleep 0.1
	done
	echo "log of $1 never showed '$2':" >&2
	d logs "$1" >&2 || true
	return 1
}

# wait_status NAME STATUS: wait (bounded) for docker inspect's State.Status.
wait_status() {
	local _ s
	for _ in $(seq 100); do
		s=$(d inspect -f '{{.State.Status}}' "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	echo "container $1 is '$s', expected '$2'" >&2
	return 1
}

# cgroup_file CONTROLLER FILE-V1 FILE-V2 ID: the host-side cgroup file of a
# container (dockerd's cgroupfs driver puts it at <parent>/<id>).
cgroup_file() {
	if [ -d "/sys/fs/cgroup/$1" ]; then
		echo "/sys/fs/cgroup/$1$DOCKER_CGROUP_PARENT/$4/$2"
	else
		echo "/sys/fs/cgroup$DOCKER_CGROUP_PARENT/$4/$3"
	fi
}

@test "dropin docker: dockerd knows the berth runtime at \$BERTH_RUNC" {
	run d info --format '{{(index .Runtimes "berth").Path}}'
	echo "$output"
	expect_eq "$BERTH_RUNC" "$output"
}

@test "dropin docker: run prints the output and returns the exit code" {
	brun "$IMG" echo hello-from-berth
	[ "$status" -eq 0 ]
	expect_eq hello-from-berth "$output"

	brun "$IMG" sh -c 'exit 3'
	[ "$status" -eq 3 ]
}

@test "dropin docker: the container used the berth runtime" {
	bstart "dropin-$BATS_TEST_NUMBER" "$IMG" true
	run d wait "dropin-$BATS_TEST_NUMBER"
	expect_eq 0 "$output"
	run d inspect -f '{{.HostConfig.Runtime}}' "dropin-$BATS_TEST_NUMBER"
	expect_eq berth "$output"
}

@test "dropin docker: run -e and -w" {
	brun -e FOO=bar -e EMPTY= -w /tmp "$IMG" sh -c 'echo "$FOO|$EMPTY|$(pwd)"'
	[ "$status" -eq 0 ]
	expect_eq "bar||/tmp" "$output"

	# a working directory that does not exist yet is created
	brun -w /does/not/exist "$IMG" pwd
	[ "$status" -eq 0 ]
	expect_eq /does/not/exist "$output"
}

@test "dropin docker: run -u" {
	brun -u 1000 "$IMG" id -u
	[ "$status" -eq 0 ]
	expect_eq 1000 "$output"

	brun -u 1000:2000 --group-add 3000 "$IMG" sh -c 'echo "$(id -u):$(id -g) $(id -G)"'
	[ "$status" -eq 0 ]
	expect_in "1000:2000 " "$output"
	expect_in " 3000" "$output"
}

@test "dropin docker: hostname, stdin and the default PATH" {
	brun --hostname berth-box "$IMG" hostname
	[ "$status" -eq 0 ]
	expect_eq berth-box "$output"

	run sh -c 'echo piped-in | timeout -k 5 60 docker run --rm -i --runtime berth "$1" cat' sh "$IMG"
	echo "$output"
	[ "$status" -eq 0 ]
	expect_eq piped-in "$output"
}

@test "dropin docker: run -t gives a terminal (--console-socket)" {
	brun -t "$IMG" tty
	[ "$status" -eq 0 ]
	expect_in /dev/pts/ "$output"
}

@test "dropin docker: --memory and --pids-limit in the container's cgroup files" {
	if [ -d /sys/fs/cgroup/memory ]; then
		brun --memory 64m --pids-limit 50 "$IMG" \
			cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max
	else
		brun --memory 64m --pids-limit 50 "$IMG" \
			cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
	fi
	[ "$status" -eq 0 ]
	expect_eq "67108864
50" "$output"
}

@test "dropin docker: --memory and --pids-limit seen from the host" {
	local name=dropin-$BATS_TEST_NUMBER
	bstart "$name" --memory 64m --pids-limit 50 "$IMG" sleep 300
	local id pid
	id=$(d inspect -f '{{.Id}}' "$name")
	pid=$(d inspect -f '{{.State.Pid}}' "$name")
	local mem pids
	mem=$(cgroup_file memory memory.limit_in_bytes memory.max "$id")
	pids=$(cgroup_file pids pids.max pids.max "$id")
	echo "checking $mem and $pids"
	expect_eq 67108864 "$(cat "$mem")"
	expect_eq 50 "$(cat "$pids")"
	# the container's process is in that cgroup
	grep -qx "$pid" "$(dirname "$mem")/cgroup.procs"
}

@test "dropin docker: --cap-drop ALL leaves no effective capability" {
	brun --cap-drop ALL "$IMG" grep CapEff /proc/self/status
	[ "$status" -eq 0 ]
	expect_in 0000000000000000 "$output"

	# and without it, docker's default set
	brun "$IMG" grep CapEff /proc/self/status
	[ "$status" -eq 0 ]
	expect_in 00000000a80425fb "$output"
}

@test "dropin docker: --read-only root" {
	brun --read-only "$IMG" touch /should-fail
	[ "$status" -ne 0 ]
	expect_in "Read-only file system" "$output"

	# a writable tmpfs still works on a read-only root
	brun --read-only --tmpfs /scratch "$IMG" sh -c 'echo ok >/scratch/f && cat /scratch/f'
	[ "$status" -eq 0 ]
	expect_eq ok "$output"
}

@test "dropin docker: --network none has only lo" {
	brun --network none "$IMG" sh -c "awk -F: 'NR > 2 { gsub(/ /, \"\", \$1); print \$1 }' /proc/net/dev"
	[ "$status" -eq 0 ]
	expect_eq lo "$output"
}

@test "dropin docker: exec prints output and returns the exit code" {
	local name=dropin-$BATS_TEST_NUMBER
	bstart "$name" "$IMG" sleep 300

	run d exec "$name" sh -c 'echo in-exec; exit 5'
	echo "status=$status output: $output"
	[ "$status" -eq 5 ]
	expect_eq in-exec "$output"

	run d exec -e X=1 -w /tmp -u 1000 "$name" sh -c 'echo "$X $(pwd) $(id -u)"'
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	expect_eq "1 /tmp 1000" "$output"

	# the exec joined the container: it sees the container's pid 1
	run d exec "$name" cat /proc/1/cmdline
	[ "$status" -eq 0 ]
	expect_in sleep "$output"
}

@test "dropin docker: stop delivers SIGTERM" {
	local name=dropin-$BATS_TEST_NUMBER
	bstart "$name" "$IMG" sh -c 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.2; done'
	wait_log "$name" ready
	run d stop -t 30 "$name"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	expect_eq exited "$(d inspect -f '{{.State.Status}}' "$name")"
	# exit 0 from the trap, not 137 from the SIGKILL after the timeout
	expect_eq 0 "$(d inspect -f '{{.State.ExitCode}}' "$name")"
	wait_log "$name" got-term
}

@test "dropin docker: kill, with a signal by name and the default SIGKILL" {
	local name=dropin-$BATS_TEST_NUMBER
	bstart "$name" "$IMG" sh -c 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.2; done'
	wait_log "$name" ready
	run d kill -s USR1 "$name"
	[ "$status" -eq 0 ]
	wait_log "$name" got-usr1
	expect_eq running "$(d inspect -f '{{.State.Status}}' "$name")"

	run d kill "$name"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	wait_status "$name" exited
	expect_eq 137 "$(d inspect -f '{{.State.ExitCode}}' "$name")"
}

@test "dropin docker: pause and unpause" {
	local name=dropin-$BATS_TEST_NUMBER
	bstart "$name" "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done'
	local id
	id=$(d inspect -f '{{.Id}}' "$name")

	run d pause "$name"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	expect_eq paused "$(d inspect -f '{{.State.Status}}' "$name")"
	expect_eq true "$(d inspect -f '{{.State.Paused}}' "$name")"
	if [ -d /sys/fs/cgroup/freezer ]; then
		expect_eq FROZEN "$(cat "$(cgroup_file freezer freezer.state cgroup.freeze "$id")")"
	else
		expect_eq 1 "$(cat "$(cgroup_file freezer freezer.state cgroup.freeze "$id")")"
	fi

	run d unpause "$name"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	expect_eq running "$(d inspect -f '{{.State.Status}}' "$name")"
	expect_eq false "$(d inspect -f '{{.State.Paused}}' "$name")"

	# it runs again: the counter moves
	local a b
	a=$(d exec "$name" cat /tmp/count)
	sleep 0.5
	b=$(d exec "$name" cat /tmp/count)
	echo "count $a -> $b"
	[ "$b" -gt "$a" ]
}

@test "dropin docker: logs has stdout and stderr" {
	local name=dropin-$BATS_TEST_NUMBER
	bstart "$name" "$IMG" sh -c 'echo to-stdout; echo to-stderr >&2; exit 2'
	run d wait "$name"
	expect_eq 2 "$output"

	run d logs "$name"
	echo "$output"
	expect_in to-stdout "$output"
	expect_in to-stderr "$output"

	run sh -c 'docker logs "$1" 2>/dev/null' sh "$name"
	expect_eq to-stdout "$output"
}

@test "dropin docker: run --rm leaves no container behind" {
	brun --name "dropin-$BATS_TEST_NUMBER" "$IMG" true
	[ "$status" -eq 0 ]
	run d ps -aq --filter "name=dropin-$BATS_TEST_NUMBER"
	expect_eq "" "$output"
}
