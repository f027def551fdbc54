#!/bin/bash
# bench/run.sh — the whole engine against real Docker, side by side in one run:
# berth (CLI → berthd → berth-shim → berth-runc) and Debian's docker.io 20.10
# (docker CLI → dockerd → containerd → containerd-shim-runc-v2 → runc).
#
#   bench/run.sh [-n ITERATIONS] [-p PARALLEL] [-c PS_CONTAINERS] [--doc FILE | --no-doc]
#
# Figures (each side gets the same busybox image, loaded from the fixture):
#   run      `run --rm busybox true` end to end, median and p90 of ITERATIONS
#            (default 30), the two engines alternating, which one goes first
#            flipping every iteration; a few warm-up runs discarded
#   parallel PARALLEL (default 50) `run -d busybox sleep 600` started at once:
#            time until every CLI has returned (median of 3 rounds)
#   ps       `ps -a` with PS_CONTAINERS (default 100) exited containers, median
#            of 20
#   memory   idle daemon RSS (berthd; dockerd + containerd) with the image
#            loaded and no container; one shim's RSS with one container
#            running `sleep` (berth-shim; containerd-shim-runc-v2)
#   size     the binaries on disk
# Wall times come from a small Python driver: perf_counter_ns() around
# posix_spawn() + waitpid() of the CLI, no shell in between.
#
# Isolation: dockerd and containerd run as in tests/system/dropin-helpers.bash
# (their own dirs, sockets, cgroups and a private mount namespace, --bridge
# none); berthd gets its own data root, exec root, socket and cgroup parent.
# Every daemon is stopped by PID and everything created is removed, also on ^C.
# No thresholds: this script never fails because something is slow.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
iterations=30
parallel=50
ps_count=100
write_doc=1
doc=$repo/docs/benchmarks.md
cmdline=bench/run.sh
build=${BERTH_BUILD_DIR:-$repo/build}

while [ $# -gt 0 ]; do
	case "$1" in
	-n | -p | -c | --doc)
		[ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
		case "$1" in
		-n) iterations=$2 ;;
		-p) parallel=$2 ;;
		-c) ps_count=$2 ;;
		--doc) doc=$2 ;;
		esac
		[ "$1" = --doc ] || cmdline="$cmdline $1 $2"
		shift 2
		;;
	--no-doc) write_doc=; shift ;;
	-h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$iterations$parallel$ps_count" in *[!0-9]*) echo "run.sh: -n, -p, -c take numbers" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "run.sh: run as root" >&2; exit 1; }

BERTH=$build/src/cli/berth
BERTHD=$build/src/daemon/berthd
SHIM=$build/src/shim/berth-shim
export BERTH_RUNC=$build/src/berth-runc
for b in "$BERTH" "$BERTHD" "$SHIM" "$BERTH_RUNC"; do
	[ -x "$b" ] || { echo "run.sh: $b missing (build first: ninja -C build)" >&2; exit 1; }
done
bash "$repo/scripts/setup-peers"
python=/usr/bin/python3

# ---- the two engines ------------------------------------------------------
# shellcheck source=../tests/system/dropin-helpers.bash
. "$repo/tests/system/dropin-helpers.bash"
dropin_init
work=$DROPIN_DIR
BERTHD_PID=
cleanup() {
	set +e
	if [ -n "$BERTHD_PID" ]; then
		# no live restore: berthd stops its containers on SIGTERM
		"$BERTH" -H "$BERTH_SOCK" rm -f $("$BERTH" -H "$BERTH_SOCK" ps -aq 2>/dev/null) >/dev/null 2>&1
		dropin_stop_pid "$BERTHD_PID"
	fi
	docker rm -f $(docker ps -aq 2>/dev/null) >/dev/null 2>&1
	awk -v p="$work/berth" 'index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	dropin_teardown
}
trap cleanup EXIT INT TERM

# The drop-in tests run dockerd and containerd with debug logging (their logs
# explain failures); a benchmark must not: the same starters, with the debug
# switches turned off (berthd runs without -D too). Fails loudly if the
# helpers change so that the switches are no longer found.
undebug() {
	local f=$1 body
	body=$(declare -f "$f" | sed -e 's/level = "debug"/level = "info"/' -e 's/ --debug;$/;/')
	[ "$body" != "$(declare -f "$f")" ] || { echo "run.sh: no debug switch found in $f" >&2; exit 1; }
	eval "bench_${body}"
}
undebug dropin_start_containerd
undebug dropin_start_dockerd

echo "==> starting dockerd (+ containerd) and berthd"
bench_dropin_start_containerd
bench_dropin_start_dockerd
mkdir -p "$work/berth/data" "$work/berth/exec"
echo '{}' >"$work/berth/daemon.json"
BERTH_SOCK=unix://$work/berth/berth.sock
"$BERTHD" --config-file "$work/berth/daemon.json" \
	--data-root "$work/berth/data" --exec-root "$work/berth/exec" \
	-H "$BERTH_SOCK" --pidfile "$work/berth/berthd.pid" \
	--cgroup-parent "/$DROPIN_TOKEN/berth" --bridge none --iptables=false --ip6tables=false \
	--shim-path "$SHIM" --runtime-path "$BERTH_RUNC" >"$work/berthd.log" 2>&1 &
BERTHD_PID=$!
n=100
until "$BERTH" -H "$BERTH_SOCK" version >/dev/null 2>&1; do
	kill -0 "$BERTHD_PID" 2>/dev/null && [ $((n -= 1)) -gt 0 ] || { tail "$work/berthd.log" >&2; exit 1; }
	sleep 0.1
done

archive=$(BERTH_BUSYBOX_REF=busybox:latest "$repo/tests/fixtures/busybox-image.sh" docker-archive)
docker load -q -i "$archive" >/dev/null
"$BERTH" -H "$BERTH_SOCK" load -q -i "$archive" >/dev/null

D=(docker)
B=("$BERTH" -H "$BERTH_SOCK")

# ---- timing driver ----------------------------------------------------------
# time_cmds N CMD_A... -- CMD_B...: alternate the two commands N times, print
# "median_a p90_a median_b p90_b" in milliseconds.
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

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }

# ---- memory first (idle daemons) --------------------------------------------
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "==> idle memory"
sleep 2
dockerd_rss=$(rss_kib "$DOCKERD_PID")
containerd_rss=$(rss_kib "$CONTAINERD_PID")
berthd_rss=$(rss_kib "$BERTHD_PID")

docker run -d --name bench-shim busybox sleep 600 >/dev/null
"${B[@]}" run -d --name bench-shim busybox sleep 600 >/dev/null
sleep 1
# the shim is found by its container, not by name: the parent of the
# container's init
dinit=$(docker inspect -f '{{.State.Pid}}' bench-shim)
binit=$("${B[@]}" inspect -f '{{.State.Pid}}' bench-shim)
dshim_pid=$(awk '/^PPid:/ {print $2}' "/proc/$dinit/status")
bshim_pid=$(awk '/^PPid:/ {print $2}' "/proc/$binit/status")
dshim_rss=$(rss_kib "$dshim_pid")
bshim_rss=$(rss_kib "$bshim_pid")
docker rm -f bench-shim >/dev/null
"${B[@]}" rm -f bench-shim >/dev/null
echo "    dockerd $dockerd_rss + containerd $containerd_rss KiB, berthd $berthd_rss KiB;" \
	"shim: containerd-shim-runc-v2 $dshim_rss KiB, berth-shim $bshim_rss KiB"

# ---- run --rm -----------------------------------------------------------------
echo "==> run --rm busybox true x $iterations"
read -r d_med d_p90 b_med b_p90 < <(time_alternating "$iterations" \
	"${D[@]}" run --rm busybox true -- "${B[@]}" run --rm busybox true)
echo "    docker $d_med ms (p90 $d_p90), berth $b_med ms (p90 $b_p90)"

# ---- parallel run -d ------------------------------------------------------------
echo "==> $parallel x run -d in parallel (3 rounds)"
dpar=() bpar=()
for round in 1 2 3; do
	dpar+=("$(time_parallel "$parallel" "${D[@]}" run -d busybox sleep 600)")
	docker rm -f $(docker ps -aq) >/dev/null
	bpar+=("$(time_parallel "$parallel" "${B[@]}" run -d busybox sleep 600)")
	"${B[@]}" rm -f $("${B[@]}" ps -aq) >/dev/null
done
dpar_med=$(printf '%s\n' "${dpar[@]}" | median)
bpar_med=$(printf '%s\n' "${bpar[@]}" | median)
echo "    docker ${dpar[*]} ms, berth ${bpar[*]} ms"

# ---- ps -a with many containers ---------------------------------------------------
echo "==> ps -a with $ps_count containers"
for _ in $(seq "$ps_count"); do
	docker create busybox true >/dev/null
	"${B[@]}" create busybox true >/dev/null
done
read -r dps_med dps_p90 bps_med bps_p90 < <(time_alternating 20 "${D[@]}" ps -a -- "${B[@]}" ps -a)
echo "    docker $dps_med ms (p90 $dps_p90), berth $bps_med ms (p90 $bps_p90)"
docker rm -f $(docker ps -aq) >/dev/null
"${B[@]}" rm -f $("${B[@]}" ps -aq) >/dev/null

# ---- sizes ----------------------------------------------------------------------
# stripped, as the distribution's binaries are (a debugoptimized build carries
# several MiB of DWARF that is never loaded)
size_kib() {
	local f s=0
	for f in "$@"; do
		strip -o "$work/stripped" "$f" 2>/dev/null || cp -L "$f" "$work/stripped"
		s=$((s + $(stat -c %s "$work/stripped")))
	done
	rm -f "$work/stripped"
	echo $(((s + 1023) / 1024))
}
berth_size=$(size_kib "$BERTH" "$BERTHD" "$SHIM" "$BERTH_RUNC")
docker_size=$(size_kib "$(command -v docker)" /usr/sbin/dockerd /usr/bin/containerd \
	/usr/bin/containerd-shim-runc-v2 "$(command -v runc)")
berth_sizes=$(for f in "$BERTH" "$BERTHD" "$SHIM" "$BERTH_RUNC"; do echo "${f##*/} $(size_kib "$f")"; done |
	awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2} END {print ""}')

# ---- report -----------------------------------------------------------------------
docker_idle=$((dockerd_rss + containerd_rss))
report=$(cat <<EOF
## Engine (bench/run.sh)

\`$cmdline\` on $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r); Docker is Debian's
docker.io $(dockerd --version | sed 's/Docker version //; s/,.*//') with containerd and runc, both with \`--bridge none\`.

| figure | docker | berth | docker / berth |
|---|---|---|---|
| \`run --rm busybox true\`, median (p90) | $d_med ms ($d_p90) | $b_med ms ($b_p90) | ×$(ratio "$d_med" "$b_med") |
| $parallel × \`run -d\` in parallel, median of 3 | $dpar_med ms | $bpar_med ms | ×$(ratio "$dpar_med" "$bpar_med") |
| \`ps -a\` with $ps_count containers, median (p90) | $dps_med ms ($dps_p90) | $bps_med ms ($bps_p90) | ×$(ratio "$dps_med" "$bps_med") |
| idle daemon RSS | $docker_idle KiB (dockerd $dockerd_rss + containerd $containerd_rss) | $berthd_rss KiB | ×$(ratio "$docker_idle" "$berthd_rss") |
| shim RSS, one container | $dshim_rss KiB | $bshim_rss KiB | ×$(ratio "$dshim_rss" "$bshim_rss") |
| binaries on disk, stripped | $docker_size KiB | $berth_size KiB | ×$(ratio "$docker_size" "$berth_size") |

berth's binaries (KiB): $berth_sizes. Docker's: docker, dockerd, containerd,
containerd-shim-runc-v2, runc. Load average when the runs started: $load_start.
EOF
)
echo
echo "$report"
if [ -n "$write_doc" ]; then
	"$python" - "$doc" "$report" <<'EOF'
import re, sys
path, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
pat = re.compile(r"^## Engine \(bench/run\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(section + "\n", text) if pat.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text)
EOF
	echo "(written to ${doc#"$repo"/})"
fi
