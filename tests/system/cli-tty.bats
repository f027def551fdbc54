#!/usr/bin/env bats
# tests/system/cli-tty.bats — the berth CLI on a real terminal, against a
# private berthd: run -it / exec -it / attach through a pty made by python3's
# pty module (raw mode, window size at start and on SIGWINCH, detach keys),
# and --sig-proxy without a tty.

bats_require_minimum_version 1.5.0
load daemon-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"

setup_file() {
	start_berthd
	load_busybox
}

teardown_file() {
	teardown_berthd
}

b() { "$BERTH_CLI" "$@"; }

# ptyrun ROWS COLS SCRIPT -- CMD...: run CMD on a new pty of ROWS x COLS and
# play SCRIPT, lines of "send TEXT" (\r, \x10 escapes), "expect TEXT",
# "resize R C"; print "exit=<status>" at the end. 20 s in all.
ptyrun() {
	local rows=$1 cols=$2 script=$3
	shift 4
	python3 - "$rows" "$cols" "$script" "$@" <<'PY'
import os, pty, sys, time, select, struct, fcntl, termios, signal
rows, cols, script, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
def setsize(r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
setsize(rows, cols)
buf = b""
deadline = time.time() + 20
def expect(text):
    global buf
    while text.encode() not in buf:
        if time.time() > deadline:
            sys.stdout.write("TIMEOUT waiting for %r; got %r\n" % (text, buf)); sys.exit(2)
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                d = b""
            if not d:
                sys.stdout.write("EOF waiting for %r; got %r\n" % (text, buf)); sys.exit(2)
            buf += d
    buf = buf[buf.index(text.encode()) + len(text):]
for line in script.split(";"):
    line = line.strip()
    if not line:
        continue
    op, _, arg = line.partition(" ")
    if op == "send":
        os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
    elif op == "expect":
        expect(arg)
    elif op == "resize":
        r, c = arg.split()
        setsize(int(r), int(c))
        os.kill(pid, signal.SIGWINCH)
    elif op == "sleep":
        time.sleep(float(arg))
while True:
    try:
        d = os.read(fd, 4096)
        if not d:
            break
    except OSError:
        break
_, st = os.waitpid(pid, 0)
print("exit=%d" % (os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)))
PY
}

@test "tty: run -it is a raw terminal with the window size, and exits with the shell's status" {
	run ptyrun 33 77 'expect # ;send stty size\r;expect 33 77;send echo hi-$((40+2))\r;expect hi-42;send exit 3\r' -- \
		"$BERTH_CLI" run -it --rm busybox sh
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"exit=3"* ]]
}

@test "tty: SIGWINCH resizes the container's terminal" {
	run ptyrun 24 80 'expect # ;send stty size\r;expect 24 80;resize 40 100;sleep 0.5;send stty size\r;expect 40 100;send exit\r' -- \
		"$BERTH_CLI" run -it --rm busybox sh
	echo "$output"
	[[ "$output" == *"exit=0"* ]]
}

@test "tty: ctrl-p ctrl-q detaches run -it" {
	b rm -f ttydet0 >/dev/null 2>&1 || true
	run ptyrun 24 80 'expect # ;send \x10\x11' -- "$BERTH_CLI" run -it --name ttydet0 busybox sh
	echo "$output"
	[[ "$output" == *"exit=0"* ]]
	# docker keeps a tty container running after a detach, even with
	# StdinOnce (its stdin is closed on EOF only without a tty)
	sleep 0.5
	run -0 b inspect -f '{{.State.Running}}' ttydet0
	[ "$output" = true ]
	b rm -f ttydet0 >/dev/null
}

@test "tty: attach detaches with ctrl-p ctrl-q and with --detach-keys; the container keeps running" {
	b rm -f ttydet >/dev/null 2>&1 || true
	b run -dit --name ttydet busybox sh >/dev/null
	run ptyrun 24 80 'send echo one-$((1+1))\r;expect one-2;send \x10\x11' -- "$BERTH_CLI" attach ttydet
	echo "$output"
	[[ "$output" == *"exit=0"* ]]
	[ "$(b inspect -f '{{.State.Running}}' ttydet)" = true ]
	run ptyrun 24 80 'send echo back-$((1+1))\r;expect back-2;send \x01\x02' -- \
		"$BERTH_CLI" attach --detach-keys ctrl-a,ctrl-b ttydet
	echo "$output"
	[[ "$output" == *"exit=0"* ]]
	[ "$(b inspect -f '{{.State.Running}}' ttydet)" = true ]
	b rm -f ttydet >/dev/null
}

@test "tty: exec -it gets a terminal of the caller's size" {
	b rm -f ttyexec >/dev/null 2>&1 || true
	b run -d --name ttyexec busybox sleep 1000 >/dev/null
	run ptyrun 30 90 'expect # ;send stty size\r;expect 30 90;send exit 5\r' -- "$BERTH_CLI" exec -it ttyexec sh
	echo "$output"
	[[ "$output" == *"exit=5"* ]]
	b rm -f ttyexec >/dev/null
}

@test "tty: --sig-proxy forwards a signal to the container without a tty" {
	b rm -f ttysig >/dev/null 2>&1 || true
	"$BERTH_CLI" run --name ttysig busybox sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' \
		>"$BATS_TEST_TMPDIR/out" 2>&1 &
	local pid=$!
	for _ in $(seq 50); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	cat "$BATS_TEST_TMPDIR/out"
	grep -q got-term "$BATS_TEST_TMPDIR/out"
	[ "$st" -eq 7 ]
	b rm -f ttysig >/dev/null
}
