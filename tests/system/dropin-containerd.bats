#!/usr/bin/env bats
# dropin-containerd.bats — Debian's containerd (1.6) runs containers with
# berth-runc in runc's place: `ctr run --runc-binary $BERTH_RUNC`, through
# containerd's own runc shim (io.containerd.runc.v2), which drives the runtime
# with create/start/state/exec/ps/pause/resume/kill/delete and reads its
# --log JSON.
#
# A private containerd is started once for the file (see dropin-helpers.bash)
# and the busybox fixture's OCI archive is imported into namespace berth-test.
#
#   BERTH_RUNC=/usr/sbin/runc bats tests/system/dropin-containerd.bats
#   bats tests/system/dropin-containerd.bats

load dropin-helpers

IMG=docker.io/library/berth-busybox:test

setup_file() {
	local rc=0
	dropin_require || rc=$?
	[ "$rc" -ne 1 ] || return 0 # not root: every test skips
	[ "$rc" -eq 0 ] || return 1
	dropin_init
	if ! dropin_start_containerd; then
		dropin_teardown
		return 1
	fi
	local archive
	if ! archive=$("$BATS_TEST_DIRNAME/../fixtures/busybox-image.sh" oci-archive) ||
		! c images import "$archive" >/dev/null; then
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
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dropin_runtime_log
	local id=dropin-$BATS_TEST_NUMBER
	c task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
	c task delete -f "$id" >/dev/null 2>&1 || true
	c containers delete "$id" >/dev/null 2>&1 || true
}

# ctr_run [CTR-RUN-OPTIONS...] -- COMMAND...: `ctr run` with our runtime,
# FIFO dir and cgroup; the container id is dropin-<test number>; output shown
# on failure.
cid() { echo "dropin-$BATS_TEST_NUMBER"; }
ctr_run() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	run c run "${opts[@]}" --runc-binary "$BERTH_RUNC" --fifo-dir "$DROPIN_DIR/fifo" \
		--cgroup "/$DROPIN_TOKEN/ctr/$(cid)" "$IMG" "$(cid)" "$@"
	echo "status=$status output: $output"
}

# task_status ID: RUNNING / PAUSED / STOPPED / CREATED (from `ctr task ls`).
task_status() {
	c task ls | awk -v id="$1" '$1 == id { print $3 }'
}

wait_task_status() {
	local _ s
	for _ in $(seq 100); do
		s=$(task_status "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	echo "task $1 is '$s', expected '$2'" >&2
	return 1
}

@test "dropin containerd: the fixture image is imported" {
	run c images ls -q
	echo "$output"
	expect_in "$IMG" "$output"
}

@test "dropin containerd: ctr run --rm prints the output and returns the exit code" {
	ctr_run --rm -- sh -c 'echo hi; exit 4'
	[ "$status" -eq 4 ]
	expect_eq hi "$output"

	# --rm removed the container
	run c containers ls -q
	[[ "$output" != *"$(cid)"* ]]
}

@test "dropin containerd: environment and cwd from the spec" {
	ctr_run --rm --env FOO=bar --cwd /tmp -- sh -c 'echo "$FOO $(pwd) $(id -u)"'
	[ "$status" -eq 0 ]
	expect_eq "bar /tmp 0" "$output"
}

@test "dropin containerd: --memory-limit in the container's cgroup, removed on delete" {
	local id m
	id=$(cid)
	# ctr's default spec mounts no cgroupfs in the container: look from the host
	m=/sys/fs/cgroup/memory/$DROPIN_TOKEN/ctr/$id/memory.limit_in_bytes
	[ -d /sys/fs/cgroup/memory ] || m=/sys/fs/cgroup/$DROPIN_TOKEN/ctr/$id/memory.max
	ctr_run -d --memory-limit 67108864 -- sleep 300
	[ "$status" -eq 0 ]
	wait_task_status "$id" RUNNING
	expect_eq 67108864 "$(cat "$m")"
	local pid
	pid=$(c task ls | awk -v id="$id" '$1 == id { print $2 }')
	grep -qx "$pid" "$(dirname "$m")/cgroup.procs"

	run c task kill -s SIGKILL "$id"
	[ "$status" -eq 0 ]
	wait_task_status "$id" STOPPED
	run c task delete "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	[ ! -d "$(dirname "$m")" ]
}

@test "dropin containerd: run -d, task exec, ps, pause/resume, kill, delete" {
	local id
	id=$(cid)
	ctr_run -d -- sh -c 'trap "exit 7" TERM; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ]
	wait_task_status "$id" RUNNING

	# the shim was told to use our runtime (runc options: protobuf, base64)
	run c containers info "$id"
	[ "$status" -eq 0 ]
	expect_in "$BERTH_RUNC" "$(echo "$output" | jq -r '.Runtime.Options.value' | base64 -d | tr -c '[:print:]' ' ')"

	# exec: output and exit status
	run c task exec --exec-id e1 --fifo-dir "$DROPIN_DIR/fifo" "$id" sh -c 'echo in-exec; exit 6'
	echo "status=$status output: $output"
	[ "$status" -eq 6 ]
	expect_eq in-exec "$output"

	# ps goes through `runtime ps --format json`
	local pid
	pid=$(c task ls | awk -v id="$id" '$1 == id { print $2 }')
	run c task ps "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	expect_in "$pid" "$output"

	# pause / resume
	run c task pause "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	wait_task_status "$id" PAUSED
	run c task resume "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	wait_task_status "$id" RUNNING

	# kill with SIGTERM: the trap exits 7
	run c task kill -s SIGTERM "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	wait_task_status "$id" STOPPED

	# delete reports the exit status (ctr 1.6 as a warning)
	run c task delete "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	expect_in "exit code 7" "$output"
	run c task ls
	[[ "$output" != *"$id"* ]]

	run c containers delete "$id"
	[ "$status" -eq 0 ]
}

@test "dropin containerd: task kill --all and SIGKILL" {
	local id
	id=$(cid)
	ctr_run -d -- sh -c 'sleep 300 & sleep 300 & wait'
	[ "$status" -eq 0 ]
	wait_task_status "$id" RUNNING
	run c task kill -a -s SIGKILL "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	wait_task_status "$id" STOPPED
	run c task delete "$id"
	echo "status=$status output: $output"
	[ "$status" -eq 0 ]
	expect_in "exit code 137" "$output"
}
