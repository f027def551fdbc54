#!/usr/bin/env bats
# berth-runc lifecycle: create / start / state / kill / delete / run, the
# create-start split, list, ps, pause / resume.  tests/run runs this file a
# second time against the ASan+UBSan build.

load helpers

@test "lifecycle: create, state created, start, running, kill, stopped, delete" {
	make_bundle sleep 1000
	run runc_io create --bundle "$BUNDLE" c1
	show
	[ "$status" -eq 0 ]

	run -0 runc_ state c1
	show
	expect_eq "$(jq -r .status <<<"$output")" created status
	expect_eq "$(jq -r .id <<<"$output")" c1 id
	expect_eq "$(jq -r .bundle <<<"$output")" "$BUNDLE" bundle
	expect_eq "$(jq -r .ociVersion <<<"$output" | cut -c1-2)" "1." ociVersion
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" -gt 0 ]
	[ -d "/proc/$pid" ]
	record_pid "$pid"

	run -0 runc_ start c1
	wait_for_status c1 running
	expect_eq "$(state_field c1 pid)" "$pid" "pid after start"

	run -0 runc_ kill c1 KILL
	wait_for_status c1 stopped
	wait_pid_gone "$pid"

	run -0 runc_ delete c1
	run ! runc_ state c1
	assert_nothing_left c1
}

@test "lifecycle: state of an unknown container fails" {
	run --separate-stderr runc_ state nosuch
	show
	[ "$status" -ne 0 ]
	expect_match "$stderr$output" "nosuch|not exist|no such"
}

@test "lifecycle: run prints the process output and passes its exit code through" {
	make_bundle sh -c 'echo hello-out; echo hello-err >&2; exit 42'
	run runc_ run --bundle "$BUNDLE" c1
	show
	[ "$status" -eq 42 ]
	expect_contains "$output" hello-out
	expect_contains "$output" hello-err
	# run without --keep deletes the container when it exits
	run ! runc_ state c1
	assert_nothing_left c1
}

@test "lifecycle: run exits 0 for a successful process" {
	make_bundle true
	run -0 runc_ run --bundle "$BUNDLE" c1
	assert_nothing_left c1
}

@test "lifecycle: run --keep keeps the stopped container until delete" {
	make_bundle sh -c 'exit 3'
	run runc_ run --keep --bundle "$BUNDLE" c1
	[ "$status" -eq 3 ]
	expect_eq "$(container_status c1)" stopped status
	run -0 runc_ delete c1
	assert_nothing_left c1
}

@test "lifecycle: run -d detaches, with --pid-file" {
	make_bundle sleep 1000
	run runc_io run -d --pid-file "$BATS_TEST_TMPDIR/pid" --bundle "$BUNDLE" c1
	show
	[ "$status" -eq 0 ]
	record_pid_file "$BATS_TEST_TMPDIR/pid"
	expect_eq "$(container_status c1)" running status
	expect_eq "$(cat "$BATS_TEST_TMPDIR/pid")" "$(state_field c1 pid)" "pid file"
	# the process really is the container's sleep
	expect_contains "$(tr '\0' ' ' <"/proc/$(cat "$BATS_TEST_TMPDIR/pid")/cmdline")" "sleep 1000"
	run -0 runc_ delete --force c1
	assert_nothing_left c1
}

@test "lifecycle: create does not run the process until start" {
	make_bundle sh -c 'echo started > /started; echo out-after-start; sleep 1000'
	run runc_io create --pid-file "$BATS_TEST_TMPDIR/pid" --bundle "$BUNDLE" c1
	show
	[ "$status" -eq 0 ]
	record_pid_file "$BATS_TEST_TMPDIR/pid"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	expect_eq "$pid" "$(state_field c1 pid)" "pid file"
	sleep 0.5
	[ ! -e "$BUNDLE/rootfs/started" ] || fail "the process ran before start"
	expect_eq "$(container_status c1)" created status
	# the runtime itself has exited: the waiting process is no child of a runtime
	ppid=$(awk '{print $4}' "/proc/$pid/stat")
	[ "$(readlink "/proc/$ppid/exe")" != "$(readlink -f "$BERTH_RUNC")" ] || fail "parent of the container is still a runtime process"

	run -0 runc_ start c1
	wait_for_file "$BUNDLE/rootfs/started"
	expect_eq "$(cat "$BUNDLE/rootfs/started")" started
	wait_for_status c1 running
	for _ in $(seq 50); do grep -q out-after-start "$CTR_OUT" && break; sleep 0.1; done
	expect_contains "$(ctr_output)" out-after-start
}

@test "lifecycle: start twice fails, start of unknown fails" {
	make_bundle sleep 1000
	run -0 runc_io create --bundle "$BUNDLE" c1
	run -0 runc_ start c1
	wait_for_status c1 running
	run ! runc_ start c1
	run ! runc_ start nosuch
}

@test "lifecycle: delete of a running container fails without --force" {
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	run ! runc_ delete c1
	expect_eq "$(container_status c1)" running status
}

@test "lifecycle: delete --force kills and removes a running container" {
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	pid=$(state_field c1 pid)
	record_pid "$pid"
	run -0 runc_ delete --force c1
	wait_pid_gone "$pid"
	run ! runc_ state c1
	assert_nothing_left c1
}

@test "lifecycle: delete --force of a created container" {
	make_bundle sleep 1000
	run -0 runc_io create --bundle "$BUNDLE" c1
	pid=$(state_field c1 pid)
	record_pid "$pid"
	run -0 runc_ delete --force c1
	wait_pid_gone "$pid"
	assert_nothing_left c1
}

@test "lifecycle: delete of a created container (no --force) removes it" {
	make_bundle sleep 1000
	run -0 runc_io create --bundle "$BUNDLE" c1
	pid=$(state_field c1 pid)
	record_pid "$pid"
	run -0 runc_ delete c1
	wait_pid_gone "$pid"
	assert_nothing_left c1
}

# A pid-1 shell that reports the signals it gets into /sig (rootfs/sig).
trap_bundle() {
	make_bundle sh -c 'trap "echo TERM >> /sig; exit 0" TERM; trap "echo USR1 >> /sig" USR1; trap "echo HUP >> /sig" HUP; echo ready > /ready; while :; do sleep 0.1; done'
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	wait_for_file "$BUNDLE/rootfs/ready"
}

@test "kill: signal by name (USR1), number (1) and SIG-prefixed name (SIGTERM)" {
	trap_bundle
	run -0 runc_ kill c1 USR1
	for _ in $(seq 50); do grep -q USR1 "$BUNDLE/rootfs/sig" 2>/dev/null && break; sleep 0.1; done
	expect_contains "$(cat "$BUNDLE/rootfs/sig")" USR1
	run -0 runc_ kill c1 1
	for _ in $(seq 50); do grep -q HUP "$BUNDLE/rootfs/sig" 2>/dev/null && break; sleep 0.1; done
	expect_contains "$(cat "$BUNDLE/rootfs/sig")" HUP
	run -0 runc_ kill c1 SIGTERM
	wait_for_status c1 stopped
	expect_contains "$(cat "$BUNDLE/rootfs/sig")" TERM
}

@test "kill: default signal is SIGTERM" {
	trap_bundle
	run -0 runc_ kill c1
	wait_for_status c1 stopped
	expect_contains "$(cat "$BUNDLE/rootfs/sig")" TERM
}

@test "kill: KILL by number 9" {
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	run -0 runc_ kill c1 9
	wait_for_status c1 stopped
}

@test "kill: unknown signal fails and leaves the container running" {
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	run --separate-stderr runc_ kill c1 NOSUCHSIG
	show
	expect_error_line "NOSUCHSIG|signal"
	run --separate-stderr runc_ kill c1 99999
	show
	[ "$status" -ne 0 ]
	expect_eq "$(container_status c1)" running status
}

@test "kill: a stopped container cannot be signalled" {
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	run -0 runc_ kill c1 KILL
	wait_for_status c1 stopped
	run ! runc_ kill c1 KILL
}

@test "kill --all: every process of the container gets the signal" {
	make_bundle sh -c 'sleep 1000 & sleep 1000 & echo ready > /ready; wait'
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	wait_for_file "$BUNDLE/rootfs/ready"
	run -0 runc_ ps --format json c1
	show
	pids=$(jq -r '.[]' <<<"$output")
	[ "$(wc -w <<<"$pids")" -ge 3 ]
	run -0 runc_ kill --all c1 KILL
	wait_for_status c1 stopped
	for p in $pids; do wait_pid_gone "$p"; done
}

@test "list: table and json, -q" {
	make_bundle_named one sleep 1000
	b1=$BUNDLE
	run -0 runc_io run -d --bundle "$b1" c1
	make_bundle_named two sleep 1000
	b2=$BUNDLE
	run -0 runc_io create --bundle "$b2" c2

	run -0 runc_ list
	show
	expect_match "${lines[0]}" "^ID +PID +STATUS +BUNDLE +CREATED +OWNER"
	expect_match "$output" "^c1 +[0-9]+ +running +$b1 "
	expect_match "$output" "^c2 +[0-9]+ +created +$b2 "

	run -0 runc_ list --format json
	show
	expect_eq "$(jq length <<<"$output")" 2 "containers"
	expect_eq "$(jq -r '.[] | select(.id=="c1") | .status' <<<"$output")" running
	expect_eq "$(jq -r '.[] | select(.id=="c2") | .status' <<<"$output")" created
	expect_eq "$(jq -r '.[] | select(.id=="c1") | .bundle' <<<"$output")" "$b1"
	expect_eq "$(jq -r '.[] | select(.id=="c1") | .pid' <<<"$output")" "$(state_field c1 pid)"
	jq -e '.[] | select(.id=="c1") | .created | test("^[0-9]{4}-")' <<<"$output" >/dev/null
	expect_eq "$(jq -r '.[] | select(.id=="c1") | .owner' <<<"$output")" root

	run -0 runc_ list -q
	expect_eq "$(sort <<<"$output" | tr '\n' ' ')" "c1 c2 " "list -q"
}

@test "list: an empty root lists nothing" {
	run -0 runc_ list --format json
	show
	[ "$output" = "null" ] || [ "$(jq length <<<"$output")" -eq 0 ]
	run -0 runc_ list -q
	[ -z "$output" ]
}

@test "ps: json lists the container's pids, table shows them" {
	make_bundle sh -c 'sleep 1000 & echo ready > /ready; wait'
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	wait_for_file "$BUNDLE/rootfs/ready"
	pid=$(state_field c1 pid)

	run -0 runc_ ps --format json c1
	show
	jq -e 'type == "array"' <<<"$output" >/dev/null
	jq -e --argjson p "$pid" 'index($p) != null' <<<"$output" >/dev/null
	expect_eq "$(jq length <<<"$output")" 2 "processes"

	run -0 runc_ ps c1
	show
	expect_match "${lines[0]}" "PID"
	expect_match "$output" "(^|[[:space:]])$pid[[:space:]]"
	expect_contains "$output" "sleep 1000"
}

@test "ps: an unknown container fails" {
	run ! runc_ ps nosuch
}

@test "pause/resume: status paused, freezer FROZEN, then running again" {
	make_bundle sh -c 'i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.1; done'
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	wait_for_file "$BUNDLE/rootfs/count"

	run -0 runc_ pause c1
	expect_eq "$(container_status c1)" paused status
	if [ -f "$(cg_dir freezer)/freezer.state" ]; then
		expect_eq "$(cg_read freezer freezer.state)" FROZEN freezer.state
	else
		expect_eq "$(cg_read unified cgroup.freeze)" 1 cgroup.freeze
	fi
	# nothing runs while paused
	a=$(cat "$BUNDLE/rootfs/count")
	sleep 0.5
	expect_eq "$(cat "$BUNDLE/rootfs/count")" "$a" "counter while paused"

	run -0 runc_ resume c1
	expect_eq "$(container_status c1)" running status
	if [ -f "$(cg_dir freezer)/freezer.state" ]; then
		expect_eq "$(cg_read freezer freezer.state)" THAWED freezer.state
	fi
	sleep 0.5
	[ "$(cat "$BUNDLE/rootfs/count")" != "$a" ] || fail "counter did not move after resume"
}

@test "pause/resume: errors on a container that is not running / not paused" {
	make_bundle sleep 1000
	run -0 runc_io create --bundle "$BUNDLE" c1
	run ! runc_ resume c1
	run -0 runc_ start c1
	run ! runc_ resume c1
	run -0 runc_ pause c1
	run -0 runc_ delete --force c1
	assert_nothing_left c1
}

@test "lifecycle: two containers side by side in one root" {
	make_bundle_named one sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	make_bundle_named two sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c2
	[ "$(state_field c1 pid)" != "$(state_field c2 pid)" ]
	run -0 runc_ delete --force c1
	expect_eq "$(container_status c2)" running "c2 status"
	run -0 runc_ delete --force c2
}
