#!/usr/bin/env bats
# berth-runc exec: args, exit code, --env, --cwd, --user, --additional-gids,
# --process, -d with --pid-file, --cap, --no-new-privs, and that the new
# process joins the container's namespaces and cgroup.

load helpers

# A running container c1 (sleep), for exec.
start_sleeper() {
	make_bundle sleep 1000
	if [ $# -gt 0 ]; then update_config "$@"; fi
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	record_pid "$(state_field c1 pid)"
}

@test "exec: runs args in the container and prints their output" {
	start_sleeper
	run -0 runc_ exec c1 echo hello from exec
	expect_eq "$output" "hello from exec"
	run -0 runc_ exec c1 cat /etc/hostname
	expect_eq "$output" "berth-fixture"
}

@test "exec: passes the exit code through" {
	start_sleeper
	run runc_ exec c1 sh -c 'exit 7'
	expect_eq "$status" 7 "exit status"
	run runc_ exec c1 false
	expect_eq "$status" 1 "exit status"
	# a command that does not exist in the container
	run runc_ exec c1 /no/such/binary
	show
	[ "$status" -ne 0 ]
}

@test "exec: --env adds to the config's environment" {
	start_sleeper
	run -0 runc_ exec --env FOO=bar --env BAZ=qux c1 sh -c 'echo "$FOO-$BAZ-$TERM"'
	expect_eq "$output" "bar-qux-xterm"
	# --env overrides a variable of the config
	run -0 runc_ exec --env TERM=dumb c1 sh -c 'echo "$TERM"'
	expect_eq "$output" dumb
}

@test "exec: --cwd" {
	start_sleeper
	run -0 runc_ exec --cwd /tmp c1 pwd
	expect_eq "$output" /tmp
	run -0 runc_ exec c1 pwd
	expect_eq "$output" /
}

@test "exec: --user uid:gid, uid alone, --additional-gids" {
	start_sleeper
	run -0 runc_ exec --user 1000:1000 c1 id
	show
	expect_contains "$output" "uid=1000(berth) gid=1000(berth)"
	run -0 runc_ exec --user 65534 c1 id -u
	expect_eq "$output" 65534
	run -0 runc_ exec --user 1000:1000 --additional-gids 5 --additional-gids 65534 c1 id -G
	expect_eq "$(tr ' ' '\n' <<<"$output" | sort -n | tr '\n' ' ')" "5 1000 65534 " "groups"
	# a non-root user has no effective capabilities
	run -0 runc_ exec --user 1000:1000 c1 grep CapEff /proc/self/status
	expect_contains "$output" 0000000000000000
}

@test "exec: --process FILE gives args, env, cwd, user" {
	start_sleeper
	cat >"$BATS_TEST_TMPDIR/process.json" <<'EOF'
{
  "terminal": false,
  "user": { "uid": 1000, "gid": 1000 },
  "args": ["sh", "-c", "echo \"$GREETING $(id -u) $(pwd)\""],
  "env": ["PATH=/bin:/usr/bin", "GREETING=hi-from-process-json"],
  "cwd": "/home/berth"
}
EOF
	run -0 runc_ exec --process "$BATS_TEST_TMPDIR/process.json" c1
	show
	expect_eq "$output" "hi-from-process-json 1000 /home/berth"
}

@test "exec: -d with --pid-file runs in the background inside the container" {
	start_sleeper
	run -0 runc_io exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" c1 sleep 999
	show
	[ -s "$BATS_TEST_TMPDIR/exec.pid" ]
	pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
	record_pid "$pid"
	expect_contains "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 999"
	init=$(state_field c1 pid)
	for ns in pid mnt net ipc uts; do
		expect_eq "$(readlink "/proc/$pid/ns/$ns")" "$(readlink "/proc/$init/ns/$ns")" "$ns namespace"
	done
	expect_eq "$(cat "/proc/$pid/cgroup")" "$(cat "/proc/$init/cgroup")" cgroup
	run -0 runc_ ps --format json c1
	jq -e --argjson p "$pid" 'index($p) != null' <<<"$output" >/dev/null
}

@test "exec: the process sees the container's hostname and pid namespace" {
	start_sleeper
	run -0 runc_ exec c1 hostname
	expect_eq "$output" berth-test
	run -0 runc_ exec c1 sh -c 'cat /proc/1/cmdline | tr "\0" " "'
	expect_contains "$output" "sleep 1000"
}

@test "exec: --cap adds a capability" {
	start_sleeper
	run -0 runc_ exec c1 grep CapBnd /proc/self/status
	expect_contains "$output" 0000000020000420
	# CAP_SYS_ADMIN is bit 21
	run -0 runc_ exec --cap CAP_SYS_ADMIN c1 grep CapBnd /proc/self/status
	show
	expect_contains "$output" 0000000020200420
}

@test "exec: --no-new-privs" {
	start_sleeper '.process.noNewPrivileges = false'
	run -0 runc_ exec c1 grep NoNewPrivs /proc/self/status
	expect_match "$output" "NoNewPrivs:[[:space:]]+0"
	run -0 runc_ exec --no-new-privs c1 grep NoNewPrivs /proc/self/status
	expect_match "$output" "NoNewPrivs:[[:space:]]+1"
}

@test "exec: fails in a stopped or unknown container" {
	make_bundle sh -c 'exit 0'
	run -0 runc_io create --bundle "$BUNDLE" c1
	run -0 runc_ start c1
	wait_for_status c1 stopped
	run ! runc_ exec c1 true
	run ! runc_ exec nosuch true
}
