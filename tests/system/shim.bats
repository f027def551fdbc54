#!/usr/bin/env bats
# berth-shim end to end, driven by tests/tools/shimctl (the client API of
# src/shim/shim.h) with the runtime under test (BERTH_RUNC) on busybox bundles:
# logs, exit records, tty, attach, kill, exec, live restore (the shim outlives
# its parent), create failures and log rotation.
#
# Environment (besides helpers.bash's): BERTH_BUILD (default build), BERTH_SHIM
# (default $BERTH_BUILD/src/shim/berth-shim), SHIMCTL (default
# $BERTH_BUILD/tests/tools/shimctl).

load helpers

: "${BERTH_SHIM:=${BERTH_BUILD:-$BERTH_REPO/build}/src/shim/berth-shim}"
: "${SHIMCTL:=${BERTH_BUILD:-$BERTH_REPO/build}/tests/tools/shimctl}"

setup() {
	berth_setup
	[ -x "$BERTH_SHIM" ] || fail "BERTH_SHIM=$BERTH_SHIM is not an executable"
	[ -x "$SHIMCTL" ] || fail "SHIMCTL=$SHIMCTL is not an executable"
}

teardown() {
	local st
	# shims first (recorded with record_pid), then the runtime's leftovers
	for st in "$BATS_TEST_TMPDIR"/*.st; do
		[ -d "$st" ] && [ -S "$st/shim.sock" ] &&
			timeout 10 "$SHIMCTL" delete "$st" --force >/dev/null 2>&1
	done
	berth_teardown
}

shimctl() { timeout --foreground -k 5 "$BERTH_CMD_TIMEOUT" "$SHIMCTL" "$@"; }

# spawn NAME [shimctl spawn options…] — a shim for container NAME on $BUNDLE;
# state dir $ST, json log $LOG. Sets $output to the process's pid.
spawn() {
	local name=$1
	shift
	ST=$BATS_TEST_TMPDIR/$name.st
	LOG=$BATS_TEST_TMPDIR/$name-json.log
	mkdir -p "$ST"
	run shimctl spawn --shim "$BERTH_SHIM" --state-dir "$ST" --id "$name" --runtime "$BERTH_RUNC" \
		--runtime-root "$ROOT" --bundle "$BUNDLE" --log-path "$LOG" "$@"
	[ "$status" -eq 0 ] && record_pid_file "$ST/shim.pid"
	[ "$status" -eq 0 ] && record_pid "$output"
	return "$status"
}

exit_field() { jq -r ".$2" "$1/exit.json"; }

@test "shim: echo hi lands in the json-file log and exit.json says 0" {
	make_bundle sh -c 'echo hi; echo oops >&2'
	spawn c1
	show
	shimctl start "$ST"
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 0 "wait's ExitCode"
	expect_eq "$(exit_field "$ST" ExitCode)" 0 ExitCode
	expect_eq "$(exit_field "$ST" OOMKilled)" false OOMKilled
	# Docker's exact line shape
	grep -qE '^\{"log":"hi\\n","stream":"stdout","time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]*[1-9])?Z"\}$' "$LOG" ||
		fail "no stdout line in Docker's format: $(cat "$LOG")"
	grep -q '"log":"oops\\n","stream":"stderr"' "$LOG" || fail "no stderr line: $(cat "$LOG")"
	run -0 shimctl delete "$ST"
	wait_pid_gone "$(cat "$ST/shim.pid" 2>/dev/null || echo 0)" 5 || true
	[ ! -e "$ST/shim.sock" ] || fail "shim.sock left after delete"
	assert_nothing_left c1
}

@test "shim: exit 3 is recorded as 3" {
	make_bundle sh -c 'exit 3'
	spawn c1
	shimctl start "$ST"
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 3
	expect_eq "$(exit_field "$ST" ExitCode)" 3
	expect_eq "$(exit_field "$ST" Signal)" 0
	shimctl delete "$ST"
}

@test "shim: a tty container's output goes through the pty to the log" {
	make_bundle sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo ALL-TTY; stty size'
	update_config '.process.terminal = true'
	spawn c1 --tty --height 33 --width 101
	show
	shimctl start "$ST"
	run -0 shimctl wait "$ST"
	out=$(jq -r .log "$LOG" | tr -d '\r')
	expect_match "$out" '^/dev/pts/[0-9]+$'
	expect_contains "$out" ALL-TTY
	expect_contains "$out" "33 101"
	# a terminal has one stream
	! grep -q '"stream":"stderr"' "$LOG" || fail "stderr entry with a tty"
	shimctl delete "$ST"
}

@test "shim: attach gets live multiplexed output and stdin reaches cat" {
	make_bundle sh -c 'echo ready; cat; echo bye >&2'
	spawn c1 --open-stdin
	mkfifo "$BATS_TEST_TMPDIR/in"
	shimctl attach "$ST" --stdin --stdout --stderr --stdin-once --ready "$BATS_TEST_TMPDIR/attached" \
		<"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/att.out" &
	att=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	wait_for_file "$BATS_TEST_TMPDIR/attached"
	shimctl start "$ST"
	# live: "ready" arrives while the process still runs
	for ((i = 0; i < 50; i++)); do
		grep -q ready "$BATS_TEST_TMPDIR/att.out" 2>/dev/null && break
		sleep 0.1
	done
	run -0 shimctl state "$ST"
	expect_eq "$(jq -r .running <<<"$output")" true running
	printf 'ping\n' >&7
	exec 7>&-
	wait "$att"
	# frames: [1,0,0,0, size BE] "ready\n", "ping\n"; [2,0,0,0, …] "bye\n"
	hex=$(od -An -tx1 -v "$BATS_TEST_TMPDIR/att.out" | tr -d ' \n')
	expect_contains "$hex" "0100000000000006$(printf 'ready\n' | od -An -tx1 | tr -d ' \n')"
	expect_contains "$hex" "0100000000000005$(printf 'ping\n' | od -An -tx1 | tr -d ' \n')"
	expect_contains "$hex" "0200000000000004$(printf 'bye\n' | od -An -tx1 | tr -d ' \n')"
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 0
	grep -q '"log":"ping\\n"' "$LOG" || fail "stdin's echo not logged"
	shimctl delete "$ST"
}

@test "shim: kill ends the process with 128+signal" {
	make_bundle sleep 1000
	spawn c1
	shimctl start "$ST"
	run -0 shimctl kill "$ST" 9
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 137
	expect_eq "$(jq -r .Signal <<<"$output")" 9
	run -1 shimctl kill "$ST" 15
	expect_contains "$output" "already finished"
	shimctl delete "$ST"
	assert_nothing_left c1
}

@test "shim: the shim survives its parent's SIGKILL and keeps serving" {
	make_bundle sh -c 'sleep 1000'
	ST=$BATS_TEST_TMPDIR/c1.st
	mkdir -p "$ST"
	# the spawning parent stays around, as berthd would, then dies by SIGKILL
	bash -c '"$@" >/dev/null; exec sleep 1000' _ "$SHIMCTL" spawn --shim "$BERTH_SHIM" --state-dir "$ST" \
		--id c1 --runtime "$BERTH_RUNC" --runtime-root "$ROOT" --bundle "$BUNDLE" \
		--log-path "$BATS_TEST_TMPDIR/c1-json.log" &
	parent=$!
	record_pid "$parent"
	wait_for_file "$ST/shim.sock"
	record_pid_file "$ST/shim.pid"
	shim=$(cat "$ST/shim.pid")
	[ "$(awk '{print $4}' "/proc/$shim/stat")" != "$parent" ] || fail "the shim is its spawner's child"
	shimctl start "$ST"
	kill -KILL "$parent"
	wait "$parent" || true
	sleep 0.2
	[ -d "/proc/$shim" ] || fail "the shim died with its parent"
	run -0 shimctl state "$ST"
	expect_eq "$(jq -r .running <<<"$output")" true running
	shimctl kill "$ST" 9
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 137
	shimctl delete "$ST"
	wait_pid_gone "$shim" 5
}

@test "shim: an exec has its own shim, output and exit code" {
	make_bundle sleep 1000
	spawn c1
	shimctl start "$ST"
	CST=$ST
	jq -n '{args: ["sh", "-c", "echo from-exec; exit 7"], cwd: "/", terminal: false,
		env: ["PATH=/bin:/usr/bin"], user: {uid: 0, gid: 0}}' >"$BATS_TEST_TMPDIR/process.json"
	ST=$BATS_TEST_TMPDIR/e1.st
	mkdir -p "$ST"
	run -0 shimctl spawn --shim "$BERTH_SHIM" --state-dir "$ST" --id c1 --exec-id e1 \
		--runtime "$BERTH_RUNC" --runtime-root "$ROOT" --process "$BATS_TEST_TMPDIR/process.json" \
		--log-driver local --log-path "$BATS_TEST_TMPDIR/e1.log"
	record_pid_file "$ST/shim.pid"
	# the process has run, but its output waits in the pipe for START (shim.h):
	# nothing is read, logged or recorded before
	sleep 0.5
	[ ! -s "$BATS_TEST_TMPDIR/e1.log" ] || fail "output read before START"
	[ ! -e "$ST/exit.json" ] || fail "exit recorded before START"
	run -0 shimctl state "$ST"
	expect_eq "$(jq -r .exit <<<"$output")" null exit
	shimctl start "$ST"
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 7
	run -0 shimctl logs "$BATS_TEST_TMPDIR/e1.log" local
	expect_match "$output" '^stdout [0-9T:.-]+Z from-exec$'
	shimctl delete "$ST"
	# the container is untouched
	run -0 shimctl state "$CST"
	expect_eq "$(jq -r .running <<<"$output")" true running
	shimctl kill "$CST" 9
	shimctl wait "$CST"
	shimctl delete "$CST"
}

# Known runtime flake (not the shim's): berth-runc's create now and then says
# "read from container init: Connection reset by peer" instead of the init's
# error, also when run by hand (src/runtime/nsjoin.c rt_sync_recv on the
# SEQPACKET pair reports the peer's ECONNRESET before its queued SYNC_ERROR).
@test "shim: a create failure reports the runtime's message and leaves no shim" {
	make_bundle nope-not-a-command
	! spawn c1 || fail "spawn succeeded"
	show
	expect_eq "$status" 1 "shimctl's status"
	expect_contains "$output" 'exec: "nope-not-a-command": executable file not found in $PATH'
	[ ! -e "$ST/shim.sock" ] || fail "shim.sock left"
	[ ! -e "$ST/shim.pid" ] || fail "shim.pid left"
	[ -e "$ST/shim.log" ] || fail "no shim.log"
	left=$(find /proc -maxdepth 2 -name cwd -lname "$ST" 2>/dev/null || true)
	[ -z "$left" ] || fail "a process still runs in the state dir: $left"
	assert_nothing_left c1
}

@test "shim: json-file rotation with max-size and max-file" {
	make_bundle sh -c 'i=0; while [ $i -lt 300 ]; do echo "line-$i-padding-padding-padding"; i=$((i + 1)); done'
	spawn c1 --log-max-size 2k --log-max-file 3
	shimctl start "$ST"
	shimctl wait "$ST"
	[ -f "$LOG" ] && [ -f "$LOG.1" ] && [ -f "$LOG.2" ] || fail "missing rotated files: $(ls "$BATS_TEST_TMPDIR")"
	[ ! -e "$LOG.3" ] || fail "more files than max-file"
	for f in "$LOG" "$LOG.1" "$LOG.2"; do
		size=$(stat -c %s "$f")
		[ "$size" -lt 2200 ] || fail "$f is $size bytes, over max-size plus one entry"
	done
	expect_contains "$(tail -n1 "$LOG")" 'line-299-'
	# the oldest kept file continues where… the newer ones start
	run -0 shimctl logs "$LOG" json-file --max-file 3
	n=$(grep -c '^stdout ' <<<"$output")
	expect_eq "$(tail -n1 <<<"$output" | awk '{print $3}')" line-299-padding-padding-padding
	[ "$n" -gt 20 ] || fail "only $n entries read back"
	shimctl delete "$ST"
}

@test "shim: an exec whose leftover child keeps the pipe open still ends" {
	make_bundle sleep 1000
	spawn c1
	shimctl start "$ST"
	CST=$ST
	jq -n '{args: ["sh", "-c", "sleep 60 & echo parent-done; exit 5"], cwd: "/", terminal: false,
		env: ["PATH=/bin:/usr/bin"], user: {uid: 0, gid: 0}}' >"$BATS_TEST_TMPDIR/process.json"
	ST=$BATS_TEST_TMPDIR/e1.st
	mkdir -p "$ST"
	run -0 shimctl spawn --shim "$BERTH_SHIM" --state-dir "$ST" --id c1 --exec-id e1 \
		--runtime "$BERTH_RUNC" --runtime-root "$ROOT" --process "$BATS_TEST_TMPDIR/process.json" \
		--log-path "$BATS_TEST_TMPDIR/e1-json.log"
	record_pid_file "$ST/shim.pid"
	shimctl start "$ST"
	start=$(date +%s)
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 5
	[ $(($(date +%s) - start)) -lt 10 ] || fail "wait took too long"
	grep -q parent-done "$BATS_TEST_TMPDIR/e1-json.log" || fail "output lost"
	shimctl delete "$ST"
	shimctl delete "$CST" --force
}

@test "shim: an OOM kill is recorded as OOMKilled" {
	make_bundle tail /dev/zero
	update_config '.linux.resources.memory = {limit: 16777216, swap: 16777216}'
	spawn c1
	shimctl start "$ST"
	run -0 shimctl wait "$ST"
	show
	expect_eq "$(jq -r .ExitCode <<<"$output")" 137
	expect_eq "$(jq -r .OOMKilled <<<"$output")" true OOMKilled
	shimctl delete "$ST"
}

@test "shim: delete of a created, never started container; state before start" {
	make_bundle sh -c 'echo never'
	spawn c1
	run -0 shimctl state "$ST"
	expect_eq "$(jq -r .started <<<"$output")" false started
	expect_eq "$(jq -r .exit <<<"$output")" null exit
	run -0 shimctl delete "$ST"
	shim=$(cat "$ST/shim.pid" 2>/dev/null || true)
	[ -z "$shim" ] || fail "shim.pid left"
	[ ! -s "$LOG" ] || fail "the process ran: $(cat "$LOG")"
	assert_nothing_left c1
}

@test "shim: an exec with a tty gets its size, resize works, attach is raw; log driver none" {
	make_bundle sleep 1000
	spawn c1
	shimctl start "$ST"
	CST=$ST
	jq -n '{args: ["sh", "-c", "stty size; read -r x; stty size; echo got-$x"], cwd: "/", terminal: true,
		env: ["PATH=/bin:/usr/bin"], user: {uid: 0, gid: 0}}' >"$BATS_TEST_TMPDIR/process.json"
	ST=$BATS_TEST_TMPDIR/e1.st
	mkdir -p "$ST"
	run -0 shimctl spawn --shim "$BERTH_SHIM" --state-dir "$ST" --id c1 --exec-id e1 --tty --open-stdin \
		--height 10 --width 20 --runtime "$BERTH_RUNC" --runtime-root "$ROOT" \
		--process "$BATS_TEST_TMPDIR/process.json" --log-driver none
	record_pid_file "$ST/shim.pid"
	run -0 shimctl resize "$ST" 40 120
	# attach first, then START lets the shim read the pty (shim.h); the attach
	# waits for the output, the sleep only lets it connect first
	(printf "abc\n" | "$SHIMCTL" attach "$ST" --stdin --stdout >"$BATS_TEST_TMPDIR/attach.out" 2>&1) &
	local ap=$!
	sleep 0.5
	shimctl start "$ST"
	timeout 20 tail --pid=$ap -f /dev/null || fail "attach did not end"
	wait $ap || fail "attach failed: $(cat "$BATS_TEST_TMPDIR/attach.out")"
	output=$(cat "$BATS_TEST_TMPDIR/attach.out")
	out=$(tr -d '\r' <<<"$output")
	expect_contains "$out" "40 120"
	expect_contains "$out" "got-abc"
	# raw bytes, no multiplexing headers with a tty
	[[ $output != *$'\x01\x00\x00\x00'* ]] || fail "frame headers on a tty stream"
	run -0 shimctl wait "$ST"
	expect_eq "$(jq -r .ExitCode <<<"$output")" 0
	# (with json-file and no --log-path the spawn would have failed: "none" needs no file)
	[ "$(find "$BATS_TEST_TMPDIR" -newer "$BATS_TEST_TMPDIR/process.json" -name '*.log' ! -path '*.st/*' ! -name c1-json.log)" = "" ] ||
		fail "a log file was written with the none driver"
	shimctl delete "$ST"
	shimctl delete "$CST" --force
}
