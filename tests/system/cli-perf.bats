#!/usr/bin/env bats
# tests/system/cli-perf.bats — what the CLI's speed work must not change:
#   - no /_ping before a request: the CLI sends its own API version (1.41)
#     and negotiates only when a daemon refuses it as too new (an older
#     dockerd), then sends the request again;
#   - ps builds only the row fields its template names, and reads only the
#     keys of the list those fields need: the output is the same as with
#     every field made (a template that names the whole row);
#   - the shared `ls` tables (volume, network) keep their output;
#   - berthd's pooled connection threads serve many clients, one after the
#     other and at once.
# No timing thresholds: speed is bench/run.sh's business.

bats_require_minimum_version 1.5.0
load daemon-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	start_berthd && load_busybox
}

teardown_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	stop_berthd
	# an ASan build's reports land in the daemon's log
	local bad=0
	if grep -q "Sanitizer\|runtime error" "$BERTHD_LOG" 2>/dev/null; then
		cat "$BERTHD_LOG" >&2
		bad=1
	fi
	teardown_berthd
	return $bad
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (berthd)"
}

teardown() {
	[ "$(id -u)" -eq 0 ] || return 0
	"$BERTH_CLI" rm -fv $("$BERTH_CLI" ps -aq) >/dev/null 2>&1 || true
	"$BERTH_CLI" volume rm cpvol aa zz >/dev/null 2>&1 || true
	if [ -n "${OLD_PID:-}" ]; then
		kill "$OLD_PID" 2>/dev/null || true
		wait "$OLD_PID" 2>/dev/null || true
	fi
	[ -z "${OLD_DIR:-}" ] || rm -rf "$OLD_DIR"
}

# A fake daemon of API 1.40 that refuses /v1.41 with dockerd's 400 and logs
# each request line: is the fallback to /_ping and 1.40 taken?
start_old_daemon() {
	OLD_DIR=$(mktemp -d /tmp/bcp-XXXXXX)
	cat >"$OLD_DIR/old.py" <<'EOF'
import socket, os, sys, threading
path, log = sys.argv[1], open(sys.argv[2], "a")
s = socket.socket(socket.AF_UNIX); s.bind(path + ".tmp"); s.listen(8)
os.rename(path + ".tmp", path)
def reply(c, status, body):
    c.sendall((f"HTTP/1.1 {status}\r\nApi-Version: 1.40\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
def serve(c):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        line = head.split(b"\r\n")[0].decode()
        log.write(line + "\n"); log.flush()
        target = line.split()[1]
        if target.startswith("/v1.41/"):
            reply(c, "400 Bad Request", '{"message":"client version 1.41 is too new. Maximum supported API version is 1.40"}\n')
        elif target == "/_ping":
            reply(c, "200 OK", "OK")
        elif target.startswith("/v1.40/containers/json"):
            reply(c, "200 OK", '[{"Id":"0123456789abcdef0123","Names":["/old"],"Image":"busybox","Command":"true",'
                  '"Created":1,"Ports":[],"Labels":{},"State":"exited","Status":"Exited (0) 1 second ago"}]\n')
        else:
            reply(c, "404 Not Found", '{"message":"page not found"}\n')
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
	python3 "$OLD_DIR/old.py" "$OLD_DIR/old.sock" "$OLD_DIR/requests" &
	OLD_PID=$!
	for _ in $(seq 100); do
		[ -S "$OLD_DIR/old.sock" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "no /_ping before the first request to berthd" {
	# (LeakSanitizer cannot run under ptrace: off for the traced CLI of an ASan build)
	run -0 env ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=sendto,write -s 64 "$BERTH_CLI" ps -a
	! grep -q "_ping" <<<"$output"
	grep -q 'GET /v1.41/containers/json' <<<"$output"
}

@test "an older daemon's 'too new' answer: the CLI negotiates and sends the request again" {
	start_old_daemon
	run -0 "$BERTH_CLI" -H "unix://$OLD_DIR/old.sock" ps -a
	[ "${lines[1]%% *}" = 0123456789ab ]
	grep -q '/old$\|old$' <<<"${lines[1]}"
	run -0 cat "$OLD_DIR/requests"
	[ "${lines[0]}" = "GET /v1.41/containers/json?all=1 HTTP/1.1" ]
	[ "${lines[1]}" = "GET /_ping HTTP/1.1" ]
	[ "${lines[2]}" = "GET /v1.40/containers/json?all=1 HTTP/1.1" ]
	# an error that is not about the version is not retried
	: >"$OLD_DIR/requests"
	run -1 "$BERTH_CLI" -H "unix://$OLD_DIR/old.sock" rm nosuch
	[[ "$output" == *"page not found"* ]]
	run -0 grep -c 'DELETE' "$OLD_DIR/requests"
	[ "$output" = 2 ] # the refused 1.41 one and the 1.40 one
}

@test "DOCKER_API_VERSION is used as given, without a fallback" {
	run -1 env DOCKER_API_VERSION=1.99 "$BERTH_CLI" ps
	[[ "$output" == *"client version 1.99 is too new"* ]]
	run -0 env DOCKER_API_VERSION=1.40 ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=sendto -s 64 "$BERTH_CLI" ps
	grep -q 'GET /v1.40/containers/json' <<<"$output"
}

# The ages of seconds-old containers change between two runs: one word for
# them, and single spaces (the table's widths follow the ages' lengths).
ages() { sed -E 's/(Less than a second|[0-9]+ seconds?) ago/AGE/; s/  +/ /g'; }

# ps_twice FORMAT: the output of ps with FORMAT (empty: the default) in $got,
# and with the whole row made (every field, every key) in $want.
ps_twice() {
	local def='table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}'
	local f=${1:-$def} all='{{if false}}{{json .}}{{end}}'
	[ "$f" != table ] || f=$def
	want=$("$BERTH_CLI" ps -a --format "$f$all" | ages)
	if [ -n "$1" ]; then
		got=$("$BERTH_CLI" ps -a --format "$1" | ages)
	else
		got=$("$BERTH_CLI" ps -a | ages)
	fi
}

@test "ps: the fields it leaves out change nothing in the output" {
	"$BERTH_CLI" create --name plain busybox true >/dev/null
	"$BERTH_CLI" create --name labelled -l b=2 -l a=1 -v /data -v cpvol:/x busybox true >/dev/null
	"$BERTH_CLI" create --name unicode -l note='café ☕' busybox true >/dev/null
	# a template naming the whole row ({{json .}} inside a false if) makes
	# every field and reads every key: the reference
	for fmt in "" "table" 'table {{.ID}}\t{{.Names}}' '{{.Names}} {{.Labels}} {{.Label "a"}}' \
		'table {{.Mounts}}\t{{.LocalVolumes}}\t{{.Networks}}\t{{.State}}\t{{.CreatedAt}}\t{{.Size}}' \
		'{{.ID}} {{.Command}} {{.Image}} {{.Status}} {{.Ports}} {{.Platform}}'; do
		ps_twice "$fmt"
		[ "$got" = "$want" ] || { echo "format '$fmt':"; diff <(echo "$want") <(echo "$got"); false; }
	done
	run -0 "$BERTH_CLI" ps -a --format '{{.Names}}={{.Labels}}'
	[[ "$output" == *"unicode=note=café ☕"* ]]
	[[ "$output" == *"labelled="*"a=1"* ]]
	[[ "$output" == *"labelled="*"b=2"* ]]
	run -0 "$BERTH_CLI" ps -aq
	[ "${#lines[@]}" -eq 3 ]
}

@test "volume ls and network ls: sorted tables, -q, --format" {
	"$BERTH_CLI" volume create zz >/dev/null
	"$BERTH_CLI" volume create --label k=v aa >/dev/null
	run -0 "$BERTH_CLI" volume ls
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[ "${lines[1]}" = "local     aa" ]
	[ "${lines[2]}" = "local     zz" ]
	run -0 "$BERTH_CLI" volume ls -q
	[ "$output" = $'aa\nzz' ]
	run -0 "$BERTH_CLI" volume ls --format 'table {{.Name}}\t{{.Labels}}'
	[ "${lines[0]}" = "VOLUME NAME   LABELS" ]
	[ "${lines[1]}" = "aa            k=v" ]
	"$BERTH_CLI" volume rm aa zz >/dev/null
	run -0 "$BERTH_CLI" network ls --format '{{.Name}}'
	[ "$output" = "$(sort <<<"$output")" ]
	run -0 "$BERTH_CLI" network ls
	[[ "${lines[0]}" == "NETWORK ID     NAME "* ]]
	run -0 "$BERTH_CLI" network ls -q --no-trunc
	[ "${#lines[0]}" -eq 64 ]
}

@test "berthd's pooled connection threads: many clients one after the other and at once" {
	for _ in $(seq 30); do
		"$BERTH_CLI" version >/dev/null
	done
	pids=()
	for _ in $(seq 40); do
		"$BERTH_CLI" ps -a >/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	run -0 "$BERTH_CLI" version --format '{{.Server.ApiVersion}}'
	[ "$output" = 1.41 ]
}
