# tests/system/helpers.bash — shared setup, teardown and helpers of the
# berth-runc system tests (tests/system/runtime-*.bats).
#
# The tests run real containers as root on a shared machine, so everything a
# test makes is private to it and removed in teardown, even when it failed:
#   - state: every runtime call goes through runc_ / runc_io, which pass
#     --root $ROOT, a directory under $BATS_TEST_TMPDIR; /run/runc and
#     /run/berth-runc are never touched;
#   - cgroups: bundles get linux.cgroupsPath /berth-test-<token>/<bundle
#     name> (tests/fixtures/bundle.sh), where <token> is this suite run's
#     $BERTH_TEST_TOKEN (default: the PID of the bats process); teardown
#     kills what is left in the test's cgroups and removes them, teardown_file
#     removes the empty /berth-test-<token> parents.  Another suite run beside
#     this one has another token and is never touched;
#   - processes: only PIDs recorded with record_pid (checked against their
#     start time, so a reused PID is left alone) and processes inside this
#     test's own cgroups are killed; never by name;
#   - mounts: anything mounted under $BATS_TEST_TMPDIR is unmounted;
#   - network namespaces: made with make_netns (named berth-test-<token>-...)
#     and deleted in teardown.
#
# Environment:
#   BERTH_RUNC          the runtime under test (default: build/src/berth-runc);
#                       set it to /usr/sbin/runc to check the tests themselves
#   BERTH_TEST_TOKEN    unique token of this suite run (default: bats' PID)
#   BERTH_CMD_TIMEOUT   seconds one runtime command may take (default 60)
#
# A test that checks something berth promises but runc (the reference) does
# not do is marked "# berth-specific" and calls requires_berth, which skips it
# when BERTH_RUNC is runc.

bats_require_minimum_version 1.5.0

BERTH_REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
FIXTURES=$BERTH_REPO/tests/fixtures
: "${BERTH_RUNC:=$BERTH_REPO/build/src/berth-runc}"
export BERTH_RUNC
export BERTH_TEST_TOKEN=${BERTH_TEST_TOKEN:-$BATS_ROOT_PID}
CG_PREFIX=berth-test-$BERTH_TEST_TOKEN
: "${BERTH_CMD_TIMEOUT:=60}"

# ---------------------------------------------------------------- setup ----

berth_setup_file() {
	# Build the busybox rootfs once per file (bundle.sh then only copies it).
	"$FIXTURES/busybox.sh" >/dev/null
}

berth_setup() {
	if [ ! -x "$BERTH_RUNC" ]; then
		echo "BERTH_RUNC=$BERTH_RUNC is not an executable (build first: ninja -C build)" >&2
		return 1
	fi
	ROOT=$BATS_TEST_TMPDIR/state
	mkdir -p "$ROOT"
	CTR_OUT=$BATS_TEST_TMPDIR/ctr.out
	: >"$CTR_OUT"
	BUNDLE=
}

# Default bats hooks; a file may define its own and call these.
setup_file() { berth_setup_file; }
setup() { berth_setup; }
teardown() { berth_teardown; }
teardown_file() { berth_teardown_file; }

# ---------------------------------------------------------- the runtime ----

# runc_ ARGS... — the runtime under test with this test's --root.
runc_() {
	timeout --foreground -k 5 "$BERTH_CMD_TIMEOUT" "$BERTH_RUNC" --root "$ROOT" "$@"
}

# runc_io ARGS... — runc_ with stdin from /dev/null and stdout+stderr appended
# to $CTR_OUT, for commands that leave a process behind holding their stdio
# (create, run -d, exec -d): bats' `run` would otherwise wait for the
# container to close its output pipe.  Prints what this call added to the file
# (the runtime's own messages) on stderr, so `run runc_io create ...` sets
# $output, and `run --separate-stderr runc_io ...` sets $stderr.
# The container's later output lands in $CTR_OUT too: read it with ctr_output.
runc_io() {
	local before rc=0
	before=$(stat -c %s "$CTR_OUT")
	timeout --foreground -k 5 "$BERTH_CMD_TIMEOUT" \
		"$BERTH_RUNC" --root "$ROOT" "$@" </dev/null >>"$CTR_OUT" 2>&1 || rc=$?
	tail -c +$((before + 1)) "$CTR_OUT" >&2
	return $rc
}

ctr_output() { cat "$CTR_OUT"; }

# is_runc: true when the runtime under test is runc (the reference).
is_runc() {
	"$BERTH_RUNC" --version 2>/dev/null | head -n1 | grep -q '^runc version'
}
is_berth() { ! is_runc; }

# requires_berth: skip a berth-specific test when checking the tests on runc.
requires_berth() {
	if is_runc; then
		skip "berth-specific${1:+: $1}"
	fi
}

# ------------------------------------------------------------- bundles ----

# make_bundle [ARG...] — a fresh bundle for this test in $BUNDLE running ARGs
# (default: sh).  make_bundle_named NAME [ARG...] for a second one; $BUNDLE
# is set to the newest.  The bundle's name (its directory's basename) is unique
# in the suite run, and so is its cgroup /berth-test-<token>/<name>.
make_bundle() { make_bundle_named b "$@"; }
make_bundle_named() {
	local name=t${BATS_SUITE_TEST_NUMBER}-$1
	shift
	BUNDLE=$BATS_TEST_TMPDIR/$name
	"$FIXTURES/bundle.sh" "$BUNDLE" "$@" >/dev/null
	echo "$BUNDLE" >>"$BATS_TEST_TMPDIR/bundles"
}

# update_config [JQ-OPTION...] FILTER — edit $BUNDLE/config.json in place.
# The last argument is the filter, e.g.
#   update_config --arg d "$dir" '.mounts += [{destination: "/data", source: $d, ...}]'
update_config() {
	local filter=${*: -1} cfg=$BUNDLE/config.json
	local opts=("${@:1:$#-1}")
	jq "${opts[@]}" "$filter" "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"
}

# json_array ARG... — the arguments as a JSON array of strings.
json_array() {
	local argv=(jq -n -c) expr= i=0 a
	for a in "$@"; do
		argv+=(--arg "a$i" "$a")
		expr+="${expr:+,}\$a$i"
		i=$((i + 1))
	done
	"${argv[@]}" "[$expr]"
}

# set_args ARG... — the container process's args.
set_args() {
	update_config --argjson a "$(json_array "$@")" '.process.args = $a'
}

# userns_bundle_access HOSTUID — for a user namespace whose root is HOSTUID on
# the host: give it the bundle's rootfs (a private copy) and a way through the
# test's directories, which bats makes with mode 0700.  Only this run's own
# directories are touched.
userns_bundle_access() {
	local d=$BUNDLE
	chown -R "$1:$1" "$BUNDLE/rootfs"
	while [ "$d" != / ] && [ "$d" != "${BATS_RUN_TMPDIR%/*}" ]; do
		chmod a+x "$d"
		d=$(dirname "$d")
	done
}

# ---------------------------------------------------------- inspection ----

# state_field ID FIELD — one field (jq path without the dot) of `state ID`.
state_field() {
	runc_ state "$1" | jq -r ".$2"
}

container_status() { state_field "$1" status 2>/dev/null; }

# wait_for_status ID STATUS [SECONDS] — poll `state` until STATUS.
wait_for_status() {
	local id=$1 want=$2 secs=${3:-10} i st=
	for ((i = 0; i < secs * 10; i++)); do
		st=$(container_status "$id") || true
		[ "$st" = "$want" ] && return 0
		sleep 0.1
	done
	echo "container $id: status '$st', wanted '$want' after ${secs}s" >&2
	return 1
}

# wait_for_file PATH [SECONDS]
wait_for_file() {
	local f=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		[ -e "$f" ] && return 0
		sleep 0.1
	done
	echo "no $f after ${secs}s" >&2
	return 1
}

# wait_pid_gone PID [SECONDS]
wait_pid_gone() {
	local pid=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		[ -e "/proc/$pid" ] || return 0
		# a zombie whose parent is gone counts as gone too
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.1
	done
	echo "pid $pid still alive after ${secs}s" >&2
	return 1
}

# cg_dir CONTROLLER [BUNDLE] — the host path of a bundle's cgroup in one
# hierarchy ("memory", "pids", ..., "unified").
cg_dir() {
	local b=${2:-$BUNDLE}
	echo "/sys/fs/cgroup/$1/$CG_PREFIX/$(basename "$b")"
}

# cg_read CONTROLLER FILE [BUNDLE]
cg_read() { cat "$(cg_dir "$1" "${3:-}")/$2"; }

# cgroup_hierarchies — every mounted hierarchy directory under /sys/fs/cgroup
# (cgroup v1 controllers, the v2 unified one, or the v2 root itself).
# Read once from mountinfo (field 5 the mount point, after " - " the type).
_BERTH_CG_HIER=$(awk '$5 ~ "^/sys/fs/cgroup" {
	for (i = 7; i <= NF; i++) if ($i == "-") break;
	if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5 }' /proc/self/mountinfo | sort -u)
cgroup_hierarchies() { echo "$_BERTH_CG_HIER"; }

# ------------------------------------------------------------ assertions ----

fail() {
	echo "FAIL: $*" >&2
	return 1
}

# show: print the last `run`'s status and output (on failure bats shows it).
show() {
	echo "status=$status"
	echo "output: $output"
	if [ -n "${stderr+x}" ]; then echo "stderr: $stderr"; fi
}

# expect_contains TEXT SUBSTRING
expect_contains() {
	if [[ $1 != *"$2"* ]]; then
		fail "expected to find '$2' in: $1"
	fi
}

# expect_match TEXT EXTENDED-REGEX (case-insensitive)
expect_match() {
	if ! grep -qiE -- "$2" <<<"$1"; then
		fail "expected /$2/ to match: $1"
	fi
}

# expect_eq GOT WANT [WHAT]
expect_eq() {
	if [ "$1" != "$2" ]; then
		fail "${3:-value}: got '$1', want '$2'"
	fi
}

# expect_error_line REGEX [RUNC-REGEX] — the last `run --separate-stderr`
# failed with an error matching REGEX (case-insensitive: the field or path it
# names).  RUNC-REGEX replaces REGEX when the runtime is runc, whose wording
# sometimes names neither.  For berth also (berth-specific): the error is a
# single line on stderr.
expect_error_line() {
	local re=$1
	if [ $# -gt 1 ] && is_runc; then re=$2; fi
	[ "$status" -ne 0 ] || fail "expected a non-zero exit, got 0 (output: $output)"
	local all="${stderr:-}${stderr:+$'\n'}$output"
	expect_match "$all" "$re"
	if is_berth && [ -n "${stderr+x}" ]; then
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected a one-line error on stderr, got ${#stderr_lines[@]} lines: $stderr"
	fi
}

# assert_nothing_left ID — no trace of container ID and of $BUNDLE: no state
# under --root, no cgroup in any hierarchy, nothing mounted under the test's
# directory, no process left in the bundle's rootfs.
assert_nothing_left() {
	local id=$1 name h left
	left=$(find "$ROOT" -mindepth 1 -name "$id" 2>/dev/null)
	[ -z "$left" ] || fail "state left under --root: $left"
	if [ -n "$BUNDLE" ]; then
		name=$(basename "$BUNDLE")
		for h in $(cgroup_hierarchies); do
			[ ! -e "$h/$CG_PREFIX/$name" ] || fail "cgroup left: $h/$CG_PREFIX/$name"
		done
	fi
	left=$(test_mounts)
	[ -z "$left" ] || fail "mounts left under $BATS_TEST_TMPDIR: $left"
	left=$(pids_in_tmpdir)
	[ -z "$left" ] || fail "processes left with their root in $BATS_TEST_TMPDIR: $left"
}

# ------------------------------------------------------ resources to clean ----

# record_pid PID — kill it in teardown if it is still the same process.
record_pid() {
	local start
	start=$(awk '{print $22}' "/proc/$1/stat" 2>/dev/null) || return 0
	echo "$1 $start" >>"$BATS_TEST_TMPDIR/pids"
}

# record_pid_file FILE — record_pid of the PID written in FILE.
record_pid_file() {
	[ -s "$1" ] && record_pid "$(cat "$1")"
	return 0
}

# make_netns SUFFIX — a network namespace berth-test-<token>-<n>-SUFFIX, deleted in
# teardown; sets NETNS (its name) and NETNS_PATH.
make_netns() {
	NETNS=$CG_PREFIX-$BATS_SUITE_TEST_NUMBER-$1
	echo "$NETNS" >>"$BATS_TEST_TMPDIR/netns"
	ip netns add "$NETNS"
	NETNS_PATH=/run/netns/$NETNS
}

# test_mounts — mount points under $BATS_TEST_TMPDIR, deepest first.
test_mounts() {
	# mountinfo field 5 is the mount point, with \040-style escapes.
	awk '{print $5}' /proc/self/mountinfo |
		while IFS= read -r m; do printf '%b\n' "$m"; done |
		awk -v d="$BATS_TEST_TMPDIR" 'index($0, d "/") == 1 || $0 == d' |
		awk '{print length($0) " " $0}' | sort -rn | cut -d' ' -f2-
}

# pids_in_tmpdir — processes whose root directory is inside the test's tmpdir
# (container processes that escaped their cgroup, if any).
pids_in_tmpdir() {
	find /proc -mindepth 2 -maxdepth 2 -name root -lname "$BATS_TEST_TMPDIR/*" 2>/dev/null |
		cut -d/ -f3
}

# kill_same PID START — SIGKILL PID if its start time is still START.
kill_same() {
	local now
	now=$(awk '{print $22}' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$now" = "$2" ] && kill -KILL "$1" 2>/dev/null
	return 0
}

# test_cgroups — this test's cgroup directories (every hierarchy), deepest first.
test_cgroups() {
	local b h name
	[ -f "$BATS_TEST_TMPDIR/bundles" ] || return 0
	while IFS= read -r b; do
		name=$(basename "$b")
		for h in $(cgroup_hierarchies); do
			[ -d "$h/$CG_PREFIX/$name" ] && find "$h/$CG_PREFIX/$name" -depth -type d
		done
	done <"$BATS_TEST_TMPDIR/bundles"
	return 0
}

berth_teardown() {
	local id ids=() pid start d m i n

	# 1. Containers this test's runtime knows about: delete --force.
	if [ -d "${ROOT:-}" ] && [ -x "$BERTH_RUNC" ]; then
		for d in "$ROOT"/*/; do
			[ -d "$d" ] && ids+=("$(basename "$d")")
		done
		while IFS= read -r id; do
			[ -n "$id" ] && ids+=("$id")
		done < <(timeout 20 "$BERTH_RUNC" --root "$ROOT" list -q 2>/dev/null)
		for id in $(printf '%s\n' "${ids[@]}" | sort -u); do
			# a paused container must be resumed before SIGKILL takes effect
			timeout 20 "$BERTH_RUNC" --root "$ROOT" resume "$id" >/dev/null 2>&1 || true
			timeout 20 "$BERTH_RUNC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi

	# 2. Recorded processes (receivers, exec -d processes, container inits).
	if [ -f "$BATS_TEST_TMPDIR/pids" ]; then
		while read -r pid start; do
			kill_same "$pid" "$start"
		done <"$BATS_TEST_TMPDIR/pids"
	fi

	# 3. Whatever still runs in this test's cgroups: thaw, then kill.
	for d in $(test_cgroups); do
		[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		[ -f "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		n=0
		for d in $(test_cgroups); do
			for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
				n=$((n + 1))
			done
		done
		[ "$n" -eq 0 ] && break
		sleep 0.1
	done
	for pid in $(pids_in_tmpdir); do
		kill -KILL "$pid" 2>/dev/null
	done

	# 4. Mounts under the test's directory (before bats removes it).
	for ((i = 0; i < 5; i++)); do
		m=$(test_mounts)
		[ -z "$m" ] && break
		while IFS= read -r d; do
			umount -l "$d" 2>/dev/null || true
		done <<<"$m"
	done

	# 5. The test's cgroups, leaves first (rmdir retried while tasks exit).
	for ((i = 0; i < 30; i++)); do
		n=0
		for d in $(test_cgroups); do
			rmdir "$d" 2>/dev/null || n=$((n + 1))
		done
		[ "$n" -eq 0 ] && break
		sleep 0.1
	done

	# 6. Network namespaces.
	if [ -f "$BATS_TEST_TMPDIR/netns" ]; then
		while IFS= read -r n; do
			ip netns delete "$n" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/netns"
	fi

	# 7. Sanitizer reports written during this test fail it.
	check_sanitizer_reports
}

# check_sanitizer_reports — with BERTH_SANITIZER_LOGS set (tests/run does, for
# the ASan+UBSan build, with log_path in ASAN_OPTIONS / UBSAN_OPTIONS there),
# print and claim every new report; fail when there was one.  This catches a
# leak or UB in a runtime command that was expected to fail anyway.
check_sanitizer_reports() {
	local dir=${BERTH_SANITIZER_LOGS:-} f found=0
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	for f in "$dir"/asan.* "$dir"/ubsan.*; do
		[ -f "$f" ] || continue
		echo "# sanitizer report $f:"
		sed 's/^/#   /' "$f"
		mkdir -p "$dir/claimed"
		mv "$f" "$dir/claimed/test$BATS_SUITE_TEST_NUMBER-${f##*/}"
		found=1
	done
	if [ "$found" -eq 1 ]; then
		echo "FAIL: the runtime wrote sanitizer reports during this test" >&2
		return 1
	fi
	return 0
}

berth_teardown_file() {
	local h
	for h in $(cgroup_hierarchies); do
		[ -d "$h/$CG_PREFIX" ] && rmdir "$h/$CG_PREFIX" 2>/dev/null
	done
	return 0
}
