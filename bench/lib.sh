# bench/lib.sh — the preamble every engine benchmark shares (bench/run.sh,
# bench/pull.sh, bench/build.sh, ...): arguments, root check, the binaries,
# a private dockerd (+ containerd) and a private berthd, cleanup, small
# statistics helpers, and writing one section of docs/benchmarks.md.
#
# Source it from a script in bench/ (after `set -euo pipefail`):
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init run.sh                        # names, defaults
#   bench_args '2,8p' -n:iterations -p:parallel -- "$@"
#   bench_require                            # root, binaries, peers
#   bench_engines                            # temp dir, traps, dropin helpers
#   bench_start_docker; bench_start_berthd
#   ... figures ...
#   bench_write_doc '## Engine \(bench/run\.sh\)' "$report"
#
# What it sets for the caller: repo, doc, write_doc, cmdline, build (from
# BERTH_BUILD_DIR, default build/), BERTH BERTHD SHIM and (exported)
# BERTH_RUNC, python, work (= DROPIN_DIR, removed at exit), BERTH_SOCK,
# BERTHD_PID, and the dropin helpers' DOCKER_HOST, DOCKERD_PID, CONTAINERD_PID.
# A script adds its own cleanup (containers, a registry) by defining
# bench_cleanup_hook before the exit; it runs first, with `set +e`.
#
# Isolation: dockerd and containerd run as in tests/system/dropin-helpers.bash
# (their own dirs, sockets, cgroups and a private mount namespace, --bridge
# none), without debug logging; berthd gets its own data root, exec root,
# socket and cgroup parent under the same temp dir. Every daemon is stopped by
# PID and everything created is removed, also on ^C.
# No thresholds here: a benchmark never fails because something is slow.

# bench_init NAME: defaults; NAME (e.g. run.sh) prefixes every message.
bench_init() {
	BENCH_NAME=$1
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	write_doc=1
	doc=$repo/docs/benchmarks.md
	cmdline=bench/$1
	build=${BERTH_BUILD_DIR:-$repo/build}
	python=/usr/bin/python3
	BERTHD_PID=
}

# bench_die MESSAGE...: print "NAME: MESSAGE" to stderr, exit 1.
bench_die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

# bench_args HELP_RANGE SPEC... -- ARGS...: parse the command line.
# Each SPEC is OPT:VAR (the option takes a number, stored in $VAR) or
# OPT=VAR (any string). Always known: --doc FILE, --no-doc, -h/--help (prints
# the lines HELP_RANGE, a sed range such as '2,8p', of the script's header).
# Options other than --doc are appended to $cmdline, the command the report
# quotes.
bench_args() {
	local help=$1 spec opt var kind nums=() found
	shift
	local -A kinds=() vars=()
	while [ "$1" != -- ]; do
		spec=$1
		shift
		case "$spec" in
		*:*) opt=${spec%%:*} var=${spec#*:} kind=num nums+=("$opt") ;;
		*=*) opt=${spec%%=*} var=${spec#*=} kind=str ;;
		*) bench_die "bench_args: bad spec '$spec'" ;;
		esac
		kinds[$opt]=$kind
		vars[$opt]=$var
	done
	shift
	while [ $# -gt 0 ]; do
		found=${kinds[$1]:-}
		if [ -n "$found" ] || [ "$1" = --doc ]; then
			[ $# -ge 2 ] || { echo "$BENCH_NAME: $1 needs a value" >&2; exit 2; }
			if [ "$1" = --doc ]; then
				doc=$2
			else
				printf -v "${vars[$1]}" '%s' "$2"
				cmdline="$cmdline $1 $2"
			fi
			shift 2
			continue
		fi
		case "$1" in
		--no-doc) write_doc=; shift ;;
		-h | --help) sed -n "$help" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "$BENCH_NAME: unknown argument '$1'" >&2; exit 2 ;;
		esac
	done
	[ ${#nums[@]} -gt 0 ] || return 0
	local all=
	for opt in "${nums[@]}"; do all+=${!vars[$opt]}; done
	case "$all" in *[!0-9]*)
		local list verb="take numbers"
		list=$(printf '%s, ' "${nums[@]}")
		[ ${#nums[@]} -gt 1 ] || verb="takes a number"
		echo "$BENCH_NAME: ${list%, } $verb" >&2
		exit 2
		;;
	esac
	return 0
}

# bench_require: root, the four berth binaries from $build, and Debian's
# dockerd/containerd (scripts/setup-peers installs them when missing).
bench_require() {
	[ "$(id -u)" -eq 0 ] || bench_die "run as root"
	BERTH=$build/src/cli/berth
	BERTHD=$build/src/daemon/berthd
	SHIM=$build/src/shim/berth-shim
	export BERTH_RUNC=$build/src/berth-runc
	local b
	for b in "$BERTH" "$BERTHD" "$SHIM" "$BERTH_RUNC"; do
		[ -x "$b" ] || bench_die "$b missing (build first: ninja -C build)"
	done
	bash "$repo/scripts/setup-peers"
}

# bench_engines: source the dropin helpers, make the temp dir ($work) and
# cgroups, install the exit trap, and define bench_dropin_start_containerd /
# bench_dropin_start_dockerd: the drop-in tests' starters with their debug
# switches turned off (their logs explain test failures; a benchmark must not
# pay for them). Fails loudly if the helpers change so that the switches are
# no longer found.
bench_engines() {
	# shellcheck source=../tests/system/dropin-helpers.bash
	. "$repo/tests/system/dropin-helpers.bash"
	dropin_init
	work=$DROPIN_DIR
	trap bench_cleanup EXIT
	trap 'bench_cleanup; exit 130' INT
	trap 'bench_cleanup; exit 143' TERM
	bench_undebug dropin_start_containerd
	bench_undebug dropin_start_dockerd
}

bench_undebug() {
	local f=$1 body
	body=$(declare -f "$f" | sed -e 's/level = "debug"/level = "info"/' -e 's/ --debug;$/;/')
	[ "$body" != "$(declare -f "$f")" ] || bench_die "no debug switch found in $f"
	eval "bench_${body}"
}

# bench_start_docker: containerd, then dockerd on it (DOCKER_HOST exported).
bench_start_docker() {
	bench_dropin_start_containerd
	bench_dropin_start_dockerd
}

# bench_start_berthd [BERTHD OPTION...]: a berthd on $work/berth (data root,
# exec root, socket, pidfile), no networking, its log appended to
# $work/berthd.log; waits until it answers. Sets BERTH_SOCK, BERTHD_PID.
bench_start_berthd() {
	mkdir -p "$work/berth/data" "$work/berth/exec"
	[ -f "$work/daemon.json" ] || echo '{}' >"$work/daemon.json"
	BERTH_SOCK=unix://$work/berth/berth.sock
	"$BERTHD" --config-file "$work/daemon.json" \
		--data-root "$work/berth/data" --exec-root "$work/berth/exec" \
		-H "$BERTH_SOCK" --pidfile "$work/berth/berthd.pid" \
		--cgroup-parent "/$DROPIN_TOKEN/berth" --bridge none --iptables=false --ip6tables=false \
		--shim-path "$SHIM" --runtime-path "$BERTH_RUNC" "$@" >>"$work/berthd.log" 2>&1 &
	BERTHD_PID=$!
	local n=100
	until "$BERTH" -H "$BERTH_SOCK" version >/dev/null 2>&1; do
		kill -0 "$BERTHD_PID" 2>/dev/null && [ $((n -= 1)) -gt 0 ] || { tail "$work/berthd.log" >&2; exit 1; }
		sleep 0.1
	done
}

# bench_umount_berth: every mount berthd left under $work/berth (deepest first).
bench_umount_berth() {
	awk -v p="$work/berth" 'index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
}

# bench_restart_berthd [BERTHD OPTION...]: a berthd on an empty data root
# (stop, unmount, wipe, start).
bench_restart_berthd() {
	dropin_stop_pid "$BERTHD_PID"
	BERTHD_PID=
	bench_umount_berth
	rm -rf "$work/berth"
	bench_start_berthd "$@"
}

# bench_cleanup: the exit trap. The script's bench_cleanup_hook (if any)
# first, then berthd by PID, its mounts, and the dropin teardown (dockerd,
# containerd, cgroups, the temp dir).
bench_cleanup() {
	set +e
	trap - EXIT INT TERM
	declare -F bench_cleanup_hook >/dev/null && bench_cleanup_hook
	[ -z "$BERTHD_PID" ] || dropin_stop_pid "$BERTHD_PID"
	[ -z "${work:-}" ] || bench_umount_berth
	dropin_teardown
}

# bench_load_busybox: the test fixture's busybox:latest, loaded into both
# engines.
bench_load_busybox() {
	local archive
	archive=$(BERTH_BUSYBOX_REF=busybox:latest "$repo/tests/fixtures/busybox-image.sh" docker-archive)
	docker load -q -i "$archive" >/dev/null
	"$BERTH" -H "$BERTH_SOCK" load -q -i "$archive" >/dev/null
}

# ---- statistics ----------------------------------------------------------
# median: the median of the numbers on stdin (one a line; the lower middle
# of an even count is the upper one of the two, as sort | awk picks it).
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# ratio A B: A / B with one decimal, n/a when B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
# rss_kib PID: resident set in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# bench_loadavg: the three load averages, for the report.
bench_loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# time_alternating N CMD_A... -- CMD_B...: alternate the two commands N times
# (which one goes first flips every iteration; 3 warm-up runs of each are
# discarded), print "median_a p90_a median_b p90_b" in milliseconds. Wall
# time is perf_counter_ns() around posix_spawn() + waitpid(), no shell in
# between; stdout goes to /dev/null; a failing command stops it.
time_alternating() {
	"$python" - "$@" <<'EOF'
import os, sys, time
n = int(sys.argv[1]); rest = sys.argv[2:]; i = rest.index("--")
a, b = rest[:i], rest[i + 1:]
def run(cmd):
    t = time.perf_counter_ns()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ,
                          file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, st = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(st) != 0:
        sys.exit(f"{cmd} failed")
    return (time.perf_counter_ns() - t) / 1e6
for _ in range(3):
    run(a); run(b)
ta, tb = [], []
for k in range(n):
    order = [(a, ta), (b, tb)] if k % 2 == 0 else [(b, tb), (a, ta)]
    for cmd, out in order:
        out.append(run(cmd))
def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))]
print(f"{q(ta, .5):.1f} {q(ta, .9):.1f} {q(tb, .5):.1f} {q(tb, .9):.1f}")
EOF
}

# time_parallel N CMD...: start N copies at once, print ms until all are done.
time_parallel() {
	"$python" - "$@" <<'EOF'
import os, sys, time
n = int(sys.argv[1]); cmd = sys.argv[2:]
t = time.perf_counter_ns()
pids = [os.posix_spawnp(cmd[0], cmd, os.environ,
        file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)]) for _ in range(n)]
bad = 0
for p in pids:
    _, st = os.waitpid(p, 0)
    bad += os.waitstatus_to_exitcode(st) != 0
print(f"{(time.perf_counter_ns() - t) / 1e6:.0f}")
if bad: sys.exit(f"{bad} of {n} failed")
EOF
}

# time_cmd_ms CMD...: run CMD (stdout to /dev/null), print its wall time in
# whole milliseconds; a failing command fails.
time_cmd_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# ---- the report --------------------------------------------------------------
# bench_write_doc HEADING_REGEX SECTION: unless --no-doc, replace the section
# of $doc whose heading line matches HEADING_REGEX (a Python regex, e.g.
# '## Pull') — up to the next "## " heading — with SECTION, or append it.
bench_write_doc() {
	[ -n "$write_doc" ] || return 0
	"$python" - "$doc" "$1" "$2" <<'EOF'
import re, sys
path, head, section = sys.argv[1], sys.argv[2], sys.argv[3].rstrip() + "\n"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
pat = re.compile(r"^" + head + r"\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(lambda m: section + "\n", text) if pat.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text)
EOF
	echo "(written to ${doc#"$repo"/})"
}
