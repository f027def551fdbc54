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

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init run.sh
iterations=30
parallel=50
ps_count=100
bench_args '2,8p' -n:iterations -p:parallel -c:ps_count -- "$@"
bench_require
bench_engines
# no live restore: berthd stops its containers on SIGTERM; remove them first
bench_cleanup_hook() {
	if [ -n "$BERTHD_PID" ]; then
		"$BERTH" -H "$BERTH_SOCK" rm -f $("$BERTH" -H "$BERTH_SOCK" ps -aq 2>/dev/null) >/dev/null 2>&1
	fi
	docker rm -f $(docker ps -aq 2>/dev/null) >/dev/null 2>&1
}

echo "==> starting dockerd (+ containerd) and berthd"
bench_start_docker
bench_start_berthd
bench_load_busybox

D=(docker)
B=("$BERTH" -H "$BERTH_SOCK")

# time_alternating, time_parallel, median, rss_kib, ratio: bench/lib.sh

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
bench_write_doc '## Engine \(bench/run\.sh\)' "$report"
