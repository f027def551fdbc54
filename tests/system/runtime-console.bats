#!/usr/bin/env bats
# berth-runc terminals: process.terminal with --console-socket (the pty master
# sent over the socket with SCM_RIGHTS, received by recvtty.py), for create,
# run -d and exec -t; and the error without a socket.

load helpers

# start_receiver [recvtty.py options] — a receiver on $SOCK writing to $TTY_OUT
start_receiver() {
	SOCK=$BATS_TEST_TMPDIR/tty$((++RECEIVERS)).sock
	TTY_OUT=$BATS_TEST_TMPDIR/tty$RECEIVERS.out
	python3 "$BATS_TEST_DIRNAME/recvtty.py" "$SOCK" --timeout 30 "$@" \
		>"$TTY_OUT" 2>"$TTY_OUT.err" </dev/null &
	RECV_PID=$!
	record_pid "$RECV_PID"
	wait_for_file "$SOCK"
}

# wait_receiver — until the receiver has seen the terminal close.
wait_receiver() {
	wait_pid_gone "$RECV_PID" 30
	wait "$RECV_PID" || fail "recvtty failed: $(cat "$TTY_OUT.err")"
}

@test "console: create --console-socket sends the pty master; the process has a tty" {
	RECEIVERS=0
	make_bundle sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo ALL-TTY; echo done'
	update_config '.process.terminal = true'
	start_receiver
	run -0 runc_io create --console-socket "$SOCK" --bundle "$BUNDLE" c1
	show
	record_pid "$(state_field c1 pid)"
	run -0 runc_ start c1
	wait_receiver
	out=$(tr -d '\r' <"$TTY_OUT")
	expect_match "$out" "^/dev/pts/[0-9]+$"
	expect_contains "$out" ALL-TTY
	expect_contains "$out" done
	# nothing went to the runtime's own stdio
	[[ $(ctr_output) != *ALL-TTY* ]] || fail "output went to stdout, not the pty"
}

@test "console: input written to the master reaches the process" {
	RECEIVERS=0
	make_bundle sh -c 'read -r line; echo "got:$line"'
	update_config '.process.terminal = true'
	start_receiver --input $'hello-pty\n'
	run -0 runc_io run -d --console-socket "$SOCK" --bundle "$BUNDLE" c1
	show
	wait_receiver
	expect_contains "$(tr -d '\r' <"$TTY_OUT")" "got:hello-pty"
}

@test "console: exec -t --console-socket in a running container" {
	RECEIVERS=0
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	record_pid "$(state_field c1 pid)"
	start_receiver
	run -0 runc_io exec -t -d --console-socket "$SOCK" c1 sh -c 'tty; echo exec-on-tty'
	show
	wait_receiver
	out=$(tr -d '\r' <"$TTY_OUT")
	expect_match "$out" "^/dev/pts/[0-9]+$"
	expect_contains "$out" exec-on-tty
}

@test "console: terminal true without --console-socket fails and leaves nothing" {
	make_bundle sh
	update_config '.process.terminal = true'
	run --separate-stderr runc_io create --bundle "$BUNDLE" c1
	show
	expect_error_line "console|tty|terminal"
	assert_nothing_left c1
}

@test "console: --console-socket to a path nobody listens on fails and leaves nothing" {
	make_bundle sh
	update_config '.process.terminal = true'
	run --separate-stderr runc_io create --console-socket "$BATS_TEST_TMPDIR/nobody.sock" --bundle "$BUNDLE" c1
	show
	expect_error_line "nobody.sock|console|socket|no such file"
	assert_nothing_left c1
}
