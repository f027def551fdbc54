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

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init pull.sh
runs=3
layers=5
mb=40
bench_args '2,16p' -n:runs -l:layers -s:mb -- "$@"
bench_require

# ---- daemons and registry -------------------------------------------------
bench_engines
# shellcheck source=../tests/system/registry-helpers.bash
. "$repo/tests/system/registry-helpers.bash"
REG_DIR= # shellcheck disable=SC2034 # read by reg_stop (registry-helpers.bash)
bench_cleanup_hook() { reg_stop; }

echo "==> starting the registry, dockerd (+ containerd) and berthd"
reg_start anon
bench_start_docker
bench_start_berthd

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
load_start=$(bench_loadavg)
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
		bench_restart_berthd
	fi
	pull_ms "${B[@]}" >>"$work/berth.ms"
done
reset "${D[@]}"
reset "${B[@]}"
d_ms=$(median <"$work/docker.ms")
b_ms=$(median <"$work/berth.ms")
mbps() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.0f", b / (ms / 1000) / 1e6 }'; }
d_rate=$(mbps "$d_ms")
b_rate=$(mbps "$b_ms")
ratio=$(ratio "$b_rate" "$d_rate")
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
bench_write_doc '## Pull' "$report"
