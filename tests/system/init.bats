#!/usr/bin/env bats
# berth-init (src/init/berth-init.c): the `run --init` PID 1 — exit statuses,
# exec failures, signal forwarding and zombie reaping. Run directly, and as
# PID 1 of a new pid namespace (unshare), without a daemon.

bats_require_minimum_version 1.5.0

setup() {
	BERTH_REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	INIT=${BERTH_INIT:-$BERTH_REPO/build/src/init/berth-init}
	[ -x "$INIT" ] || { echo "no berth-init at $INIT (build first)" >&2; return 1; }
}

@test "init: exits with the command's status" {
	run "$INIT" -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run "$INIT" true
	[ "$status" -eq 0 ]
}

@test "init: a command killed by a signal gives 128+N" {
	run "$INIT" -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "init: command not found is 127, not executable is 126" {
	run -127 "$INIT" -- /no/such/command
	[[ "$output" == *"exec /no/such/command: No such file or directory"* ]]
	local f=$BATS_TEST_TMPDIR/not-executable
	echo 'echo hi' >"$f"
	chmod 644 "$f"
	run -126 "$INIT" -- "$f"
	[[ "$output" == *"Permission denied"* ]]
}

@test "init: no command is a usage error" {
	run -2 "$INIT"
	[[ "$output" == *"usage: berth-init"* ]]
}

@test "init: forwards SIGTERM to a command that would ignore it as PID 1" {
	# In a new pid namespace the init is PID 1 and `sleep` is PID 2: TERM
	# sent to the init must end sleep (and so the init) long before 30 s.
	unshare --pid --fork -- "$INIT" -- sleep 30 &
	local pid=$!
	sleep 0.5
	# the unshare'd child: the init (unshare --fork waits for it)
	local init_pid
	init_pid=$(pgrep -P "$pid" | head -n 1)
	[ -n "$init_pid" ]
	kill -TERM "$init_pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 143 ]
}

@test "init: reaps orphaned zombies as PID 1" {
	run unshare --pid --fork --mount-proc -- "$INIT" -- sh -c \
		'sh -c "sleep 0.1 & exit 0"; sleep 0.5; ps -o stat= | grep -c "^Z" || true'
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = 0 ]
}

@test "init: not PID 1, it becomes the subreaper and still reaps" {
	run "$INIT" -- sh -c 'sh -c "sleep 0.1 & exit 0"; sleep 0.5; echo done'
	[ "$status" -eq 0 ]
	[ "$output" = done ]
}
