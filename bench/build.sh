#!/bin/bash
# bench/build.sh — `build` of one small Dockerfile: berth against Debian's
# dockerd 20.10 with its legacy builder and with BuildKit, in the same run.
#
#   bench/build.sh [-n RUNS] [-f FILES] [--baseline BUILD_DIR] [--doc FILE | --no-doc]
#
# The context: a Dockerfile of 6 steps on busybox (FROM, WORKDIR, COPY, RUN,
# ENV, CMD) and a dir of FILES (default 300) small files (1-2 KB of text
# each, in 10 subdirs) that the COPY sends and the RUN reads. Each engine
# does, RUNS (default 5) times, the engines taking turns (the order rotates
# every run):
#   cold     its image and build cache removed first (rmi, image prune,
#            builder prune: not timed), then `build`
#   cached   the same `build` again: every step from the cache
#   changed  one of the COPY's files edited, then `build`: COPY, RUN and
#            what follows run again
# Figure: wall time of the CLI's `build -q --network none -t TAG DIR` (start
# to exit), median of the runs. `--network none` because dockerd runs with
# `--bridge none`, where BuildKit's RUN fails ("network bridge not found");
# every engine gets it, so every RUN has a fresh namespace with only lo.
# After the runs, each engine builds once more cold and then once verbosely,
# to count the steps its rebuild took from the cache.
# The BuildKit client is Debian's docker 20.10 CLI with DOCKER_BUILDKIT=1
# (the CLI 28 in /usr/local/bin has no buildx plugin and refuses; the script
# checks and says so); the legacy builder runs with DOCKER_BUILDKIT=0
# through the same client.
# --baseline BUILD_DIR: a second berthd from another build dir (e.g. one of
# the previous commit) takes its turns too, as "berth (baseline)": a before /
# after comparison under the same load.
# Daemons and isolation: bench/lib.sh. No thresholds: this script never
# fails because something is slow.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init build.sh
runs=5
nfiles=300
baseline=
bench_args '2,29p' -n:runs -f:nfiles --baseline=baseline -- "$@"
[ "$runs" -gt 0 ] && [ "$nfiles" -gt 0 ] || bench_die "-n and -f must be at least 1"
bench_require
bench_engines
BASE_PID=
bench_cleanup_hook() { # the baseline berthd and its mounts
	[ -z "$BASE_PID" ] || dropin_stop_pid "$BASE_PID"
	awk -v p="$work/berth-base" 'index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
}

echo "==> starting dockerd (+ containerd) and berthd"
bench_start_docker
bench_start_berthd
bench_load_busybox
if [ -n "$baseline" ]; then
	for f in src/cli/berth src/daemon/berthd src/shim/berth-shim src/berth-runc; do
		[ -x "$baseline/$f" ] || bench_die "--baseline: $baseline/$f missing"
	done
	mkdir -p "$work/berth-base/data" "$work/berth-base/exec"
	BASE_SOCK=unix://$work/berth-base/berth.sock
	BERTH_RUNC=$baseline/src/berth-runc "$baseline/src/daemon/berthd" --config-file "$work/daemon.json" \
		--data-root "$work/berth-base/data" --exec-root "$work/berth-base/exec" \
		-H "$BASE_SOCK" --pidfile "$work/berth-base/berthd.pid" \
		--cgroup-parent "/$DROPIN_TOKEN/berth-base" --bridge none --iptables=false --ip6tables=false \
		--shim-path "$baseline/src/shim/berth-shim" --runtime-path "$baseline/src/berth-runc" \
		>>"$work/berthd-base.log" 2>&1 &
	BASE_PID=$!
	n=100
	until "$baseline/src/cli/berth" -H "$BASE_SOCK" version >/dev/null 2>&1; do
		kill -0 "$BASE_PID" 2>/dev/null && [ $((n -= 1)) -gt 0 ] || { tail "$work/berthd-base.log" >&2; exit 1; }
		sleep 0.1
	done
	archive=$(BERTH_BUSYBOX_REF=busybox:latest "$repo/tests/fixtures/busybox-image.sh" docker-archive)
	"$baseline/src/cli/berth" -H "$BASE_SOCK" load -q -i "$archive" >/dev/null
fi

DCLI=/usr/bin/docker # Debian's 20.10 client: its BuildKit client is built in
B=("$BERTH" -H "$BERTH_SOCK")
DL=(env DOCKER_BUILDKIT=0 "$DCLI")
DK=(env DOCKER_BUILDKIT=1 "$DCLI")

# ---- the context ----------------------------------------------------------------
ctx=$work/ctx
mkdir -p "$ctx"
"$python" - "$ctx" "$nfiles" <<'EOF'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
for i in range(n):
    d = os.path.join(root, "files", f"d{i % 10}")
    os.makedirs(d, exist_ok=True)
    size = rng.randrange(1000, 2000)
    text = []
    while sum(map(len, text)) < size:
        text.append(rng.choice(words) + (" " if rng.random() < .9 else "\n"))
    with open(os.path.join(d, f"f{i:04d}.txt"), "w") as f:
        f.write("".join(text) + "\n")
EOF
cat >"$ctx/Dockerfile" <<'EOF'
FROM busybox
WORKDIR /app
COPY files/ ./files/
RUN find files -type f | wc -l >count && cat files/d0/* | md5sum >sum
ENV BENCH_MODE=build
CMD ["cat", "/app/count"]
EOF
changed_file=$ctx/files/d0/f0000.txt
ctx_kib=$(du -sk "$ctx" | cut -f1)

# ---- which docker builders work here ----------------------------------------------
echo "==> checking the docker builders"
# probe LABEL CMD...: can CMD build the context? Sets PROBE_ERR when not.
probe() {
	local label=$1 out
	shift
	PROBE_ERR=
	if out=$("$@" build -q --network none -t bench-probe "$ctx" 2>&1); then
		"$DCLI" rmi -f bench-probe >/dev/null 2>&1 || true
		echo "    $label: works"
		return 0
	fi
	PROBE_ERR=$(grep -m1 -iE 'error|failed|denied' <<<"$out" || head -n1 <<<"$out")
	echo "    $label: fails: $PROBE_ERR"
	return 1
}
probe "legacy builder (docker 20.10, DOCKER_BUILDKIT=0)" "${DL[@]}" ||
	bench_die "the legacy builder cannot build the bench context"
engines=(berth legacy)
[ -z "$baseline" ] || engines+=(baseline)
if probe "BuildKit (docker 20.10, DOCKER_BUILDKIT=1)" "${DK[@]}"; then
	engines+=(buildkit)
	bk_note="BuildKit: Debian's docker 20.10 client with \`DOCKER_BUILDKIT=1\` (its built-in BuildKit client) works."
else
	bk_note="BuildKit with Debian's docker 20.10 client and \`DOCKER_BUILDKIT=1\` failed here (\"$PROBE_ERR\"): no BuildKit column."
fi
cli28v=$(/usr/local/bin/docker --version 2>/dev/null | awk '{print $3}' | tr -d ,)
if [ -n "$cli28v" ]; then
	if probe "BuildKit (docker $cli28v, DOCKER_BUILDKIT=1)" env DOCKER_BUILDKIT=1 /usr/local/bin/docker; then
		bk_note="$bk_note The docker CLI $cli28v (/usr/local/bin/docker) with \`DOCKER_BUILDKIT=1\` works too."
	else
		bk_note="$bk_note The docker CLI $cli28v (/usr/local/bin/docker) with \`DOCKER_BUILDKIT=1\` does not: \"$PROBE_ERR\"."
	fi
fi
"$DCLI" builder prune -af >/dev/null 2>&1 || true

# ---- the runs -------------------------------------------------------------------------
cmd_of() { # the CLI of an engine, in ENGINE_CMD
	case "$1" in
	berth) ENGINE_CMD=("${B[@]}") ;;
	baseline) ENGINE_CMD=("$baseline/src/cli/berth" -H "$BASE_SOCK") ;;
	legacy) ENGINE_CMD=("${DL[@]}") ;;
	buildkit) ENGINE_CMD=("${DK[@]}") ;;
	esac
}
reset_engine() {
	cmd_of "$1"
	local tag=bench-build-$1
	"${ENGINE_CMD[@]}" rmi -f "$tag" >/dev/null 2>&1 || true
	"${ENGINE_CMD[@]}" image prune -f >/dev/null 2>&1 || true
	"${ENGINE_CMD[@]}" builder prune -af >/dev/null 2>&1 || true
}
build_ms() { # build_ms ENGINE: one timed build
	cmd_of "$1"
	time_cmd_ms "${ENGINE_CMD[@]}" build -q --network none -t "bench-build-$1" "$ctx" 2>>"$work/build-stderr.log"
}

load_start=$(bench_loadavg)
for e in "${engines[@]}"; do : >"$work/$e.cold" >"$work/$e.cached" >"$work/$e.changed"; done
ne=${#engines[@]}
for ((i = 0; i < runs; i++)); do
	order=()
	for ((k = 0; k < ne; k++)); do order+=("${engines[(i + k) % ne]}"); done
	echo "==> run $((i + 1)) of $runs (${order[*]})"
	for e in "${order[@]}"; do
		reset_engine "$e"
		build_ms "$e" >>"$work/$e.cold"
		build_ms "$e" >>"$work/$e.cached"
		echo "changed by run $i of $e" >>"$changed_file"
		build_ms "$e" >>"$work/$e.changed"
	done
done
load_end=$(bench_loadavg)
# how many steps each engine's first rebuild took from the cache (not timed)
declare -A hits
for e in "${engines[@]}"; do
	reset_engine "$e"
	cmd_of "$e"
	"${ENGINE_CMD[@]}" build -q --network none -t "bench-build-$e" "$ctx" >/dev/null 2>&1
	hits[$e]=$(env BUILDKIT_PROGRESS=plain "${ENGINE_CMD[@]}" build --network none -t "bench-build-$e" "$ctx" 2>&1 |
		grep -cE 'Using cache|^#[0-9]+ CACHED' || true)
	reset_engine "$e"
done

declare -A med all
for e in "${engines[@]}"; do
	for phase in cold cached changed; do
		med[$e.$phase]=$(median <"$work/$e.$phase")
		all[$e.$phase]=$(paste -sd' ' "$work/$e.$phase")
	done
	echo "    $e: cold ${all[$e.cold]} ms; cached ${all[$e.cached]} ms; changed ${all[$e.changed]} ms"
done

# ---- report -----------------------------------------------------------------------
have_bk=
[[ " ${engines[*]} " == *" buildkit "* ]] && have_bk=1
row() { # row PHASE LABEL
	local p=$1 line
	line="| $2 | ${med[berth.$p]} ms | ${med[legacy.$p]} ms"
	[ -z "$have_bk" ] || line+=" | ${med[buildkit.$p]} ms"
	[ -z "$baseline" ] || line+=" | ${med[baseline.$p]} ms"
	line+=" | ×$(ratio "${med[legacy.$p]}" "${med[berth.$p]}")"
	[ -z "$have_bk" ] || line+=" | ×$(ratio "${med[buildkit.$p]}" "${med[berth.$p]}")"
	[ -z "$baseline" ] || line+=" | ×$(ratio "${med[baseline.$p]}" "${med[berth.$p]}")"
	echo "$line |"
}
met() { # met PHASE FACTOR: berth ≤ BuildKit / FACTOR ?
	[ -n "$have_bk" ] || { echo "not measured (no BuildKit)"; return; }
	awk -v b="${med[berth.$1]}" -v k="${med[buildkit.$1]}" -v f="$2" \
		'BEGIN { if (b * f <= k) print "met"; else print "NOT met" }'
}
head='| build | berth | docker (legacy)'
sep='|---|---:|---:'
[ -z "$have_bk" ] || { head+=' | docker (BuildKit)'; sep+='|---:'; }
[ -z "$baseline" ] || { head+=' | berth (baseline)'; sep+='|---:'; }
head+=' | legacy / berth'
sep+='|---:'
[ -z "$have_bk" ] || { head+=' | BuildKit / berth'; sep+='|---:'; }
[ -z "$baseline" ] || { head+=' | baseline / berth'; sep+='|---:'; }
head+=' |'
sep+='|'
runs_lines=$(for e in "${engines[@]}"; do
	echo "- $e: cold ${all[$e.cold]}; cached ${all[$e.cached]}; changed ${all[$e.changed]}"
done)
hits_line=$(for e in "${engines[@]}"; do printf '%s %s, ' "$e" "${hits[$e]}"; done)
report=$(cat <<EOF
## Build

\`$cmdline\` on $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r); Docker is Debian's dockerd
$(dockerd --version | sed 's/Docker version //; s/,.*//') with containerd (\`--bridge none\`). The Dockerfile has 6 steps on busybox (FROM,
WORKDIR, COPY of $nfiles files of 1-2 KB in 10 dirs, RUN reading them, ENV, CMD); the context is
$ctx_kib KiB on disk. Each figure is the median of $runs runs of \`build -q --network none -t TAG DIR\`
(CLI start to exit; \`--network none\` for all: BuildKit's RUN fails on a dockerd with \`--bridge none\`),
the engines taking turns: cold (image, its parents and the build cache removed first), then
fully cached, then after one of the COPY's files changed.

$head
$sep
$(row cold cold)
$(row cached "fully cached")
$(row changed "one COPY source changed")

Targets (issue 7): cached rebuild at most 1/5 of BuildKit's: $(met cached 5); cold build at most
1/2 of BuildKit's: $(met cold 2).
$bk_note
Steps that a rebuild right after a cold build took from the cache (of the 5 after FROM; BuildKit
lists only WORKDIR, COPY and RUN as steps): ${hits_line%, }.
Every run (ms):
$runs_lines

Load average: $load_start at the start, $load_end at the end.
Command, as root, from the repository: \`bench/build.sh\` (options: \`-n\` runs, \`-f\` files in the
context, \`--baseline BUILD_DIR\` another berth build to compare with, \`--doc FILE\` or \`--no-doc\`;
\`BERTH_BUILD_DIR\` picks the build dir).
EOF
)
echo
echo "$report"
bench_write_doc '## Build' "$report"
