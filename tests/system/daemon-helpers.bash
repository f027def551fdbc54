# tests/system/daemon-helpers.bash — run a private berthd for a bats file.
#
#   load daemon-helpers
#   setup_file()    { start_berthd; load_busybox; }
#   teardown_file() { teardown_berthd; }
#
# Everything the daemon makes is private to this file and removed in
# teardown_berthd, even after a failure, so the tests can run beside a live
# berthd or dockerd:
#   - data root:  $BATS_FILE_TMPDIR/berthd-data (BERTHD_DATA)
#   - exec root:  a short /tmp/bd-XXXXXX (BERTHD_EXEC; a Unix socket path may
#                 not exceed 107 bytes, and bats' temp paths are long)
#   - socket:     $BERTHD_EXEC/berth.sock; DOCKER_HOST and BERTH_HOST point to it
#   - cgroups:    --cgroup-parent /berth-test-$BERTH_TEST_TOKEN-d (BERTHD_CG_PARENT)
#   - processes:  teardown kills the berthd it started (by PID), processes
#                 inside BERTHD_CG_PARENT's cgroups, and shims whose command
#                 line names this file's exec root; never anything by name.
#   - mounts:     anything mounted under the data or exec root is unmounted.
#   - daemon.json: $BATS_FILE_TMPDIR/daemon.json ("{}"), so the host's
#                 /etc/berth/daemon.json is never read; BERTHD_CONFIG overrides.
#
# Environment:
#   BERTH_BUILD       build dir (default <repo>/build)
#   BERTHD            the daemon under test (default $BERTH_BUILD/src/daemon/berthd)
#   BERTH_SHIM_BIN    default $BERTH_BUILD/src/shim/berth-shim
#   BERTH_RUNC        default $BERTH_BUILD/src/berth-runc
#   BERTH_TEST_TOKEN  unique token of this suite run (default: bats' PID)

bats_require_minimum_version 1.5.0

BERTH_REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
FIXTURES=$BERTH_REPO/tests/fixtures
: "${BERTH_BUILD:=$BERTH_REPO/build}"
: "${BERTHD:=$BERTH_BUILD/src/daemon/berthd}"
: "${BERTH_SHIM_BIN:=$BERTH_BUILD/src/shim/berth-shim}"
: "${BERTH_RUNC:=$BERTH_BUILD/src/berth-runc}"
export BERTH_TEST_TOKEN=${BERTH_TEST_TOKEN:-$BATS_ROOT_PID}
BERTHD_CG_PARENT=/berth-test-$BERTH_TEST_TOKEN-d

# berthd_private_args — the flags that keep a berthd inside this file's
# private roots (no -H): for tests that run berthd themselves, e.g. to see
# it refuse to start.
berthd_private_args() {
	echo --data-root "$BERTHD_DATA" --exec-root "$BERTHD_EXEC" \
		--pidfile "$BERTHD_EXEC/berthd.pid" --cgroup-parent "$BERTHD_CG_PARENT" \
		--bridge none --iptables=false --ip6tables=false \
		--shim-path "$BERTH_SHIM_BIN" --runtime-path "$BERTH_RUNC"
}

# berthd_roots — make (once per file) the private roots and daemon.json.
berthd_roots() {
	: "${BERTHD_DATA:=$BATS_FILE_TMPDIR/berthd-data}"
	if [ -z "${BERTHD_EXEC:-}" ] || [ ! -d "$BERTHD_EXEC" ]; then
		BERTHD_EXEC=$(mktemp -d /tmp/bd-XXXXXX)
	fi
	: "${BERTHD_CONFIG:=$BATS_FILE_TMPDIR/daemon.json}"
	[ -e "$BERTHD_CONFIG" ] || echo '{}' >"$BERTHD_CONFIG"
	BERTHD_SOCK=$BERTHD_EXEC/berth.sock
	BERTHD_LOG=$BATS_FILE_TMPDIR/berthd.log
	export BERTHD_DATA BERTHD_EXEC BERTHD_CONFIG BERTHD_SOCK BERTHD_LOG
	mkdir -p "$BERTHD_DATA"
}

# start_berthd [FLAG...] — start berthd in the background and wait for
# /_ping (10 s). Sets BERTHD_PID; exports DOCKER_HOST and BERTH_HOST.
start_berthd() {
	local cfg=() a i
	berthd_roots
	cfg=(--config-file "$BERTHD_CONFIG")
	for a in "$@"; do
		if [ "$a" = --config-file ] || [[ "$a" == --config-file=* ]]; then
			cfg=()
		fi
	done
	if [ ! -x "$BERTHD" ]; then
		echo "BERTHD=$BERTHD is not an executable (build first)" >&2
		return 1
	fi
	# shellcheck disable=SC2046 # the private args are words on purpose
	"$BERTHD" $(berthd_private_args) -H "unix://$BERTHD_SOCK" \
		"${cfg[@]}" "$@" \
		</dev/null >>"$BERTHD_LOG" 2>&1 3>&- &
	BERTHD_PID=$!
	# bats runs each test in its own subshell: a daemon restarted inside a
	# test is found by the next test (and teardown) through this file
	echo "$BERTHD_PID" >"$BATS_FILE_TMPDIR/berthd.running"
	export BERTHD_PID
	export DOCKER_HOST=unix://$BERTHD_SOCK BERTH_HOST=unix://$BERTHD_SOCK
	for ((i = 0; i < 100; i++)); do
		if curl -sf --max-time 2 --unix-socket "$BERTHD_SOCK" http://localhost/_ping >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$BERTHD_PID" 2>/dev/null || berthd_zombie; then
			echo "berthd exited during start-up; its log:" >&2
			cat "$BERTHD_LOG" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "berthd did not answer /_ping within 10s; its log:" >&2
	cat "$BERTHD_LOG" >&2
	return 1
}

# berthd_pid — the running daemon's PID (also after a restart in another test).
berthd_pid() {
	cat "$BATS_FILE_TMPDIR/berthd.running" 2>/dev/null || echo "${BERTHD_PID:-}"
}

berthd_zombie() {
	[ "$(awk '{print $3}' "/proc/$BERTHD_PID/stat" 2>/dev/null)" = Z ]
}

# stop_berthd — SIGTERM, up to 20 s, then SIGKILL; by PID only.
stop_berthd() {
	local i
	[ -f "$BATS_FILE_TMPDIR/berthd.running" ] && BERTHD_PID=$(cat "$BATS_FILE_TMPDIR/berthd.running")
	[ -n "${BERTHD_PID:-}" ] || return 0
	kill -TERM "$BERTHD_PID" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$BERTHD_PID" 2>/dev/null || berthd_zombie; then
			wait "$BERTHD_PID" 2>/dev/null || true
			BERTHD_PID=
			rm -f "$BATS_FILE_TMPDIR/berthd.running"
			return 0
		fi
		sleep 0.1
	done
	echo "berthd ($BERTHD_PID) ignored SIGTERM for 20s: SIGKILL" >&2
	kill -KILL "$BERTHD_PID" 2>/dev/null || true
	wait "$BERTHD_PID" 2>/dev/null || true
	BERTHD_PID=
	rm -f "$BATS_FILE_TMPDIR/berthd.running"
	return 1
}

# api METHOD PATH [CURL-ARG...] — one request to berthd; prints the body.
api() {
	local method=$1 path=$2
	shift 2
	curl -sS --max-time 60 --unix-socket "$BERTHD_SOCK" -X "$method" "$@" "http://localhost$path"
}

# load_busybox — POST /images/load with the busybox fixture as busybox:latest.
load_busybox() {
	local archive
	archive=$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" docker-archive | tail -n 1)
	api POST "/images/load?quiet=1" -H "Content-Type: application/x-tar" \
		--data-binary "@$archive" --fail-with-body >/dev/null
}

# berthd_cgroups — this file's cgroup directories, deepest first.
berthd_cgroups() {
	local h
	for h in $(awk '$5 ~ "^/sys/fs/cgroup" {
		for (i = 7; i <= NF; i++) if ($i == "-") break;
		if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5 }' /proc/self/mountinfo | sort -u); do
		[ -d "$h$BERTHD_CG_PARENT" ] && find "$h$BERTHD_CG_PARENT" -depth -type d
	done
}

# teardown_berthd — stop the daemon, then remove whatever it left.
teardown_berthd() {
	local d pid i n m
	stop_berthd || true
	# shims of this daemon: their command line names our exec root
	if [ -n "${BERTHD_EXEC:-}" ]; then
		for d in /proc/[0-9]*; do
			pid=${d#/proc/}
			if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$BERTHD_EXEC/"; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done
	fi
	# processes in our cgroups: thaw, kill, until none are left
	for d in $(berthd_cgroups); do
		[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		[ -f "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		n=0
		for d in $(berthd_cgroups); do
			for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
				n=$((n + 1))
			done
		done
		[ "$n" -eq 0 ] && break
		sleep 0.1
	done
	for d in $(berthd_cgroups); do
		rmdir "$d" 2>/dev/null || true
	done
	# mounts under our roots, deepest first
	for m in $(awk '{print $5}' /proc/self/mountinfo | sort -r); do
		case "$m" in
		"${BERTHD_DATA:-/nonexistent}"/* | "${BERTHD_EXEC:-/nonexistent}"/* | "${BERTHD_EXEC:-/nonexistent}")
			umount -l "$m" 2>/dev/null || true
			;;
		esac
	done
	if [ -n "${BERTHD_EXEC:-}" ] && [[ "$BERTHD_EXEC" == /tmp/bd-* ]]; then
		rm -rf "$BERTHD_EXEC"
	fi
	if [ -n "${BERTHD_DATA:-}" ]; then
		rm -rf "$BERTHD_DATA" 2>/dev/null || true
	fi
}
