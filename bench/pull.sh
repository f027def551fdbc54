#!/bin/bash
# bench/pull.sh — image pull throughput from a local registry: berthd against
# Debian's dockerd 20.10, in the same run, beside this machine's single-core
# sha256 and gunzip rates (the floor for one layer: it must be hashed and
# gunzipped, and both are sequential within a layer).
#
#   bench/pull.sh [-n RUNS] [-l LAYERS] [-s MB_PER_LAYER] [--doc FILE | --no-doc]
#
# The image: LAYERS (default 5) layers, each one file of MB_PER_LAYER (default
# 40) MB of random data (incompressible), made by registry-helpers.bash's
# reg_make_image as a docker-archive, and put into Debian's docker-registry on
# 127.0.0.1 by skopeo (which gzips the layers). Each engine pulls it RUNS
# (default 3) times, the image removed (rmi + image prune -a) before each
# pull; the two engines alternate. Figure: compressed bytes / wall time of
# `pull` (CLI start to exit), median of the runs, in MB/s (10^6 bytes).
#
# Isolation: dockerd and containerd as in tests/system/dropin-helpers.bash
# (own dirs, sockets, cgroups, private mount namespace, --bridge none);
# berthd with its own data root, exec root, socket, cgroup parent; the
# registry with its own storage dir. Everything lives under /tmp and is
# removed at the end, also on ^C; every daemon is stopped by PID.
# No thresholds: this script never fails because something is slow.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
layers=5
mb=40
write_doc=1
doc=$repo/docs/benchmarks.md
cmdline=bench/pull.sh
build=${BERTH_BUILD_DIR:-$repo/build}

while [ $# -gt 0 ]; do
	case "$1" in
	-n | -l | -s | --doc)
		[ $# -ge 2 ] || { echo "pull.sh: $1 needs a value" >&2; exit 2; }
		case "$1" in
		-n) runs=$2 ;;
		-l) layers=$2 ;;
		-s) mb=$2 ;;
		--doc) doc=$2 ;;
		esac
		[ "$1" = --doc ] || cmdline="$cmdline $1 $2"
		shift 2
		;;
	--no-doc) write_doc=; shift ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "pull.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$runs$layers$mb" in *[!0-9]*) echo "pull.sh: -n, -l, -s take numbers" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "pull.sh: run as root" >&2; exit 1; }

BERTH=$build/src/cli/berth
BERTHD=$build/src/daemon/berthd
SHIM=$build/src/shim/berth-shim
export BERTH_RUNC=$build/src/berth-runc
for b in "$BERTH" "$BERTHD" "$SHIM" "$BERTH_RUNC"; do
	[ -x "$b" ] || { echo "pull.sh: $b missing (build first: ninja -C build)" >&2; exit 1; }
done
bash "$repo/scripts/setup-peers"

# ---- daemons and registry -------------------------------------------------
# shellcheck source=../tests/system/dropin-helpers.bash
. "$repo/tests/system/dropin-helpers.bash"
# shellcheck source=../tests/system/registry-helpers.bash
. "$repo/tests/system/registry-helpers.bash"
dropin_init
work=$DROPIN_DIR
BERTHD_PID=
REG_DIR= # shellcheck disable=SC2034 # read by reg_stop (registry-helpers.bash)
cleanup() {
	set +e
	[ -z "$BERTHD_PID" ] || dropin_stop_pid "$BERTHD_PID"
	awk -v p="$work/berth" 'index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	reg_stop
	dropin_teardown
}
trap cleanup EXIT INT TERM

# no debug logging in a benchmark (see bench/run.sh)
undebug() {
	local f=$1 body
	body=$(declare -f "$f" | sed -e 's/level = "debug"/level = "info"/' -e 's/ --debug;$/;/')
	[ "$body" != "$(declare -f "$f")" ] || { echo "pull.sh: no debug switch found in $f" >&2; exit 1; }
	eval "bench_${body}"
}
undebug dropin_start_containerd
undebug dropin_start_dockerd

echo "==> starting the registry, dockerd (+ containerd) and berthd"
reg_start anon
bench_dropin_start_containerd
bench_dropin_start_dockerd
BERTH_SOCK=unix://$work/berth/berth.sock
echo '{}' >"$work/daemon.json"
start_bench_berthd() {
	mkdir -p "$work/berth/data" "$work/berth/exec"
	"$BERTHD" --config-file "$work/daemon.json" \
		--data-root "$work/berth/data" --exec-root "$work/berth/exec" \
		-H "$BERTH_SOCK" --pidfile "$work/berth/berthd.pid" \
		--cgroup-parent "/$DROPIN_TOKEN/berth" --bridge none --iptables=false --ip6tables=false \
		--shim-path "$SHIM" --runtime-path "$BERTH_RUNC" >>"$work/berthd.log" 2>&1 &
	BERTHD_PID=$!
	local n=100
	until "$BERTH" -H "$BERTH_SOCK" version >/dev/null 2>&1; do
		kill -0 "$BERTHD_PID" 2>/dev/null && [ $((n -= 1)) -gt 0 ] || { tail "$work/berthd.log" >&2; exit 1; }
		sleep 0.1
	done
}
# a berthd on an empty data root (stop, unmount, wipe, start)
restart_bench_berthd() {
	dropin_stop_pid "$BERTHD_PID"
	awk -v p="$work/berth" 'index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf "$work/berth"
	start_bench_berthd
}
start_bench_berthd

echo "==> making a $layers-layer image of $((layers * mb)) MB of random data"
reg_make_image "$work/image.tar" bench-pull:latest "$layers" $((mb * 1000 * 1000))
reg_push_archive "docker-archive:$work/image.tar" bench-pull:latest
rm -f "$work/image.tar"
manifest=$(reg_manifest bench-pull latest)
bytes=$(jq '[.layers[].size] | add' <<<"$manifest")
first_layer=$(jq -r '.layers[0].digest' <<<"$manifest")
IMAGE=$REG_HOST/bench-pull:latest

# ---- the machine's single-core floor ---------------------------------------
blob=$(reg_blob_path "$first_layer")
blob_bytes=$(stat -c %s "$blob")
now_ns() { date +%s%N; }
# sha256: openssl's own loop on 16 KiB blocks (no I/O), in MB/s
sha_rate=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null |
	awk '/^sha256/ || /^SHA256/ { v = $NF; sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }')
cat "$blob" >/dev/null # warm the page cache
# CPU time (user + sys), not wall time: the figure is one core's rate even on a busy machine
cpu_rate() {
	local t
	t=$(/usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -n 1)
	awk -v b="$blob_bytes" -v t="$t" 'BEGIN { split(t, a, " "); s = a[1] + a[2]; if (s <= 0) s = 0.01; printf "%.0f", b / s / 1e6 }'
}
sha_file_rate=$(cpu_rate sha256sum "$blob")
gunzip_rate=$(cpu_rate gzip -dc "$blob")

# ---- the pulls --------------------------------------------------------------
load_start=$(cut -d" " -f1-3 /proc/loadavg)
B=("$BERTH" -H "$BERTH_SOCK")
D=(docker)
reset() { # remove the image and anything it left
	"$@" rmi -f "$IMAGE" >/dev/null 2>&1 || true
	"$@" image prune -af >/dev/null 2>&1 || true
}
pull_ms() {
	local t0 t1
	t0=$(now_ns)
	"$@" pull -q "$IMAGE" >/dev/null
	t1=$(now_ns)
	echo $(((t1 - t0) / 1000000))
}
: >"$work/berth.ms"
: >"$work/docker.ms"
# blobs berthd still holds after rmi + prune: a later pull would skip their
# download, so berthd then restarts on an empty data root (and the report says so)
berth_blobs() { find "$work/berth/data/blobs" -type f 2>/dev/null | wc -l; }
left_note=
for ((i = 1; i <= runs; i++)); do
	echo "==> run $i of $runs"
	reset "${D[@]}"
	pull_ms "${D[@]}" >>"$work/docker.ms"
	reset "${B[@]}"
	left=$(berth_blobs)
	if [ "$left" -gt 0 ]; then
		left_note="berthd kept $left blob(s) after \`rmi\` + \`image prune -a\`, so it was restarted on an empty data root before its run (not timed)."
		restart_bench_berthd
	fi
	pull_ms "${B[@]}" >>"$work/berth.ms"
done
reset "${D[@]}"
reset "${B[@]}"
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
d_ms=$(median <"$work/docker.ms")
b_ms=$(median <"$work/berth.ms")
mbps() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.0f", b / (ms / 1000) / 1e6 }'; }
d_rate=$(mbps "$d_ms")
b_rate=$(mbps "$b_ms")
ratio=$(awk -v a="$b_rate" -v b="$d_rate" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')
all_d=$(paste -sd' ' "$work/docker.ms")
all_b=$(paste -sd' ' "$work/berth.ms")

# ---- report -----------------------------------------------------------------
report=$(cat <<EOF
## Pull

\`$cmdline\` on $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r): a $layers-layer image of
$((layers * mb)) MB of random data ($bytes bytes gzipped, as skopeo pushed it) pulled from Debian's
docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}') on 127.0.0.1 over http, $runs runs each
(image removed before each), the two engines alternating. Docker is Debian's dockerd
$(dockerd --version | sed 's/Docker version //; s/,.*//') with containerd.

| engine | median pull | MB/s (gzipped bytes) | all runs (ms) |
|---|---:|---:|---|
| dockerd | $d_ms ms | $d_rate | $all_d |
| berthd | $b_ms ms | $b_rate | $all_b |
| **berth / docker** | | **×$ratio** | |

The single-core floor on this machine, for one layer: sha256 $sha_rate MB/s (\`openssl speed
-evp sha256\`, 16 KiB blocks), $sha_file_rate MB/s with \`sha256sum\` on a ${mb} MB layer blob;
gunzip $gunzip_rate MB/s (\`gzip -dc\` of the same blob); both per second of CPU time. A layer
is hashed and gunzipped as one stream, so one layer cannot go faster than the slower of the two;
layers in parallel can.
Load average when the runs started: $load_start. $left_note
EOF
)
echo
echo "$report"
if [ -n "$write_doc" ]; then
	python3 - "$doc" "$report" <<'EOF'
import re, sys
path, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
pat = re.compile(r"^## Pull\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(section + "\n", text) if pat.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text)
EOF
	echo "(written to ${doc#"$repo"/})"
fi
