#!/bin/bash
# bench/net.sh — container networking, berth against Debian's dockerd 20.10 in
# the same run (issue 5, "Speed"):
#
#   bench/net.sh [-n ITERATIONS] [-t SECONDS] [-r REPEATS] [--doc FILE | --no-doc]
#
#   setup  the time a container's network setup adds to `run --rm busybox true`:
#          the median with the default bridge minus the median with
#          `--network none`, per engine. The four commands (two engines x two
#          modes) take turns ITERATIONS times (default 40), the order rotating
#          every round; 3 warm-up rounds are discarded.
#   tcp    one TCP stream (iperf3, SECONDS each, default 5; median of REPEATS,
#          default 3) from a client network namespace to a container's
#          published port on the engine host's address, against the same
#          client straight to an iperf3 server on the host side of its veth
#          (the floor: what the veth alone gives).
#
# Topology (all of it made here, all of it removed at exit, also on failure):
#   - a private 10.A.0.0/16 that no route or address of the host touches;
#   - berthd in the host's network namespace, networking on, with a bridge of
#     its own (nb<token>, 10.A.0.1/24) and its own nftables table;
#   - dockerd (+ containerd, as tests/system/dropin-helpers.bash) with its
#     bridge and iptables ON, but inside a network namespace made for it
#     (nbd<token>): its docker0, its iptables chains and the FORWARD policy
#     dockerd sets are that namespace's, never the host's;
#   - a client namespace (nbc<token>) with one veth to the host (client
#     10.A.1.2, host 10.A.1.1) and one to dockerd's namespace (client
#     10.A.2.2, dockerd's side 10.A.2.1); no default routes, no masquerade:
#     every packet stays inside namespaces this script made.
# The iperf3 server "in the container" is the host's iperf3 run inside the
# container's network namespace (nsenter --net): the same sockets and path as
# a server in the image, without shipping a static iperf3 in busybox. Its log
# must show the client's own address, proving the traffic went through the
# engine's DNAT (not a userland proxy).
# No thresholds: this script never fails because something is slow.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init net.sh
iterations=40
seconds=5
repeats=3
bench_args '2,17p' -n:iterations -t:seconds -r:repeats -- "$@"
bench_require
command -v iperf3 >/dev/null 2>&1 || {
	echo "==> installing iperf3"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iperf3 >/dev/null ||
		{ apt-get update -qq >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iperf3 >/dev/null; }
}
for c in ip iperf3 nft iptables jq nsenter; do
	command -v "$c" >/dev/null 2>&1 || bench_die "$c missing"
done

# ---- names and addresses -------------------------------------------------
tok=$(($$ % 10000))
NB_BR=nb$tok     # berthd's bridge
NB_DNS=nbd$tok   # dockerd's network namespace
NB_CL=nbc$tok    # the client
# a 10.A/16 in which the host has no route and no address
net_a=
for a in $(shuf -i 100-250 -n 40); do
	if ! ip -4 route show table all | grep -q "\b10\.$a\." &&
		! ip -4 -o addr show | grep -q " 10\.$a\."; then
		net_a=$a
		break
	fi
done
[ -n "$net_a" ] || bench_die "no free 10.x.0.0/16 found"
P=10.$net_a
for n in "$NB_BR" "${NB_CL}h" "${NB_DNS}h"; do
	! ip link show "$n" >/dev/null 2>&1 || bench_die "interface $n exists already"
done
for n in "$NB_DNS" "$NB_CL"; do
	[ ! -e "/run/netns/$n" ] || bench_die "network namespace $n exists already"
done

# ---- cleanup (runs before lib.sh's: daemons are still up) ------------------
SERVERS=()
# shellcheck disable=SC2046 # the IDs are words
bench_cleanup_hook() {
	local p
	for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null; done
	[ -z "${DOCKERD_PID:-}" ] || docker rm -f $(docker ps -aq 2>/dev/null) >/dev/null 2>&1
	[ -z "$BERTHD_PID" ] || "$BERTH" -H "$BERTH_SOCK" rm -f $("$BERTH" -H "$BERTH_SOCK" ps -aq 2>/dev/null) >/dev/null 2>&1
}
# after lib.sh's cleanup (berthd and dockerd stopped): our namespaces (their
# veths and dockerd's docker0 go with them), berthd's bridge, and berthd's
# table should it have been killed before removing it
nb_cleanup() {
	set +e
	bench_cleanup
	ip netns del "$NB_CL" 2>/dev/null
	ip netns del "$NB_DNS" 2>/dev/null
	ip link del "${NB_CL}h" 2>/dev/null
	ip link del "$NB_BR" 2>/dev/null
	local tb
	for tb in $(nft list tables ip 2>/dev/null | awk '$3 ~ /^berth_/ {print $3}'); do
		nft list table ip "$tb" 2>/dev/null | grep -q "\"$NB_BR\"" && nft delete table ip "$tb"
	done
	return 0
}

bench_engines
trap nb_cleanup EXIT INT TERM

# ---- namespaces and veths ------------------------------------------------------
ip netns add "$NB_DNS"
ip netns add "$NB_CL"
ip -n "$NB_DNS" link set lo up
ip -n "$NB_CL" link set lo up
# client <-> host
ip link add "${NB_CL}h" type veth peer name "${NB_CL}i" netns "$NB_CL"
ip addr add "$P.1.1/30" dev "${NB_CL}h"
ip link set "${NB_CL}h" up
ip -n "$NB_CL" addr add "$P.1.2/30" dev "${NB_CL}i"
ip -n "$NB_CL" link set "${NB_CL}i" up
# client <-> dockerd's namespace
ip -n "$NB_CL" link add "${NB_CL}d" type veth peer name "${NB_DNS}h" netns "$NB_DNS"
ip -n "$NB_CL" addr add "$P.2.2/30" dev "${NB_CL}d"
ip -n "$NB_CL" link set "${NB_CL}d" up
ip -n "$NB_DNS" addr add "$P.2.1/30" dev "${NB_DNS}h"
ip -n "$NB_DNS" link set "${NB_DNS}h" up

# ---- the engines -----------------------------------------------------------------
# dockerd as the benchmarks start it, but in its namespace and with its
# network on: the drop-in starter, edited; fails loudly if it changed.
body=$(declare -f bench_dropin_start_dockerd)
new=$(sed -e "s|nsenter --mount=|nsenter --net=/run/netns/$NB_DNS --mount=|" \
	-e "s|--bridge none --iptables=false --ip6tables=false --ip-masq=false|--bip $P.3.1/24 --iptables=true --ip6tables=false|" \
	<<<"$body")
{ grep -q -e "--net=/run/netns/$NB_DNS" <<<"$new" && grep -q -e "--bip $P.3.1/24" <<<"$new"; } ||
	bench_die "dropin_start_dockerd changed: cannot give dockerd its network"
eval "nb_${new}"

echo "==> starting dockerd (+ containerd; bridge and iptables in $NB_DNS) and berthd (bridge $NB_BR)"
bench_dropin_start_containerd
nb_bench_dropin_start_dockerd
bench_start_berthd --bridge "$NB_BR" --bip "$P.0.1/24" --iptables=true
bench_load_busybox
D=(docker)
B=("$BERTH" -H "$BERTH_SOCK")
load_start=$(bench_loadavg)

# ---- (a) setup time --------------------------------------------------------------
# time_rotating N CMD1 -- CMD2 -- ...: every round runs each command once, the
# order rotating by one each round; prints, per command, "median p90" and,
# for the pairs (1,2) and (3,4), the median of the per-round differences.
time_rotating() {
	"$python" - "$@" <<'EOF'
import os, sys, time
n = int(sys.argv[1]); cmds = [[]]
for a in sys.argv[2:]:
    if a == "--": cmds.append([])
    else: cmds[-1].append(a)
def run(cmd):
    t = time.perf_counter_ns()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ,
                          file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, st = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(st) != 0:
        sys.exit(f"{cmd} failed")
    return (time.perf_counter_ns() - t) / 1e6
k = len(cmds)
for _ in range(3):
    for c in cmds: run(c)
t = [[0.0] * n for _ in cmds]
for r in range(n):
    for j in range(k):
        i = (r + j) % k
        t[i][r] = run(cmds[i])
def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))]
out = []
for v in t: out += [f"{q(v, .5):.1f}", f"{q(v, .9):.1f}"]
for a in range(0, k - 1, 2):
    out.append(f"{q([x - y for x, y in zip(t[a], t[a + 1])], .5):.1f}")
print(" ".join(out))
EOF
}

echo "==> run --rm busybox true, default bridge and --network none, x $iterations each"
read -r db_med db_p90 dn_med dn_p90 bb_med bb_p90 bn_med bn_p90 d_pair b_pair < <(time_rotating "$iterations" \
	"${D[@]}" run --rm busybox true -- "${D[@]}" run --rm --network none busybox true -- \
	"${B[@]}" run --rm busybox true -- "${B[@]}" run --rm --network none busybox true)
d_add=$(awk -v a="$db_med" -v b="$dn_med" 'BEGIN { printf "%.1f", a - b }')
b_add=$(awk -v a="$bb_med" -v b="$bn_med" 'BEGIN { printf "%.1f", a - b }')
echo "    docker: bridge $db_med ms, none $dn_med ms: +$d_add ms (paired $d_pair)"
echo "    berth:  bridge $bb_med ms, none $bn_med ms: +$b_add ms (paired $b_pair)"

# ---- (b) throughput --------------------------------------------------------------
CPORT=5201
HPORT=$((20000 + tok % 10000))
# a server: serve NSPEC ADDR PORT LOG (NSPEC: a path for nsenter --net, or "")
serve() {
	local ns=$1 addr=$2 port=$3 log=$4 n=50
	if [ -n "$ns" ]; then
		nsenter --net="$ns" iperf3 -s --forceflush ${addr:+-B "$addr"} -p "$port" >"$log" 2>&1 &
	else
		iperf3 -s --forceflush ${addr:+-B "$addr"} -p "$port" >"$log" 2>&1 &
	fi
	SERVERS+=($!)
	until grep -q "Server listening" "$log" 2>/dev/null; do
		{ kill -0 "${SERVERS[-1]}" 2>/dev/null && [ $((n -= 1)) -gt 0 ]; } || { cat "$log" >&2; bench_die "iperf3 server did not start"; }
		sleep 0.1
	done
}
# client ADDR PORT: one stream from the client namespace, Mbit/s received
client() {
	nsenter --net="/run/netns/$NB_CL" iperf3 -c "$1" -p "$2" -t "$seconds" -J |
		jq -r '.end.sum_received.bits_per_second / 1e6 | floor'
}

echo "==> TCP throughput, ${seconds}s x $repeats each"
"${B[@]}" run -d --name nb-srv -p "$HPORT:$CPORT" busybox sleep 3600 >/dev/null
docker run -d --name nb-srv -p "$HPORT:$CPORT" busybox sleep 3600 >/dev/null
bpid=$("${B[@]}" inspect -f '{{.State.Pid}}' nb-srv)
dpid=$(docker inspect -f '{{.State.Pid}}' nb-srv)
serve "" "$P.1.1" "$CPORT" "$work/iperf-host.log"                       # the host's veth
serve "/run/netns/$NB_DNS" "$P.2.1" "$CPORT" "$work/iperf-dhost.log"    # dockerd's host's veth
serve "/proc/$bpid/ns/net" "" "$CPORT" "$work/iperf-berth.log"          # berth's container
serve "/proc/$dpid/ns/net" "" "$CPORT" "$work/iperf-docker.log"         # docker's container
th=() td=() tb=() tdk=()
for _ in $(seq "$repeats"); do
	th+=("$(client "$P.1.1" "$CPORT")")
	tb+=("$(client "$P.1.1" "$HPORT")")
	td+=("$(client "$P.2.1" "$CPORT")")
	tdk+=("$(client "$P.2.1" "$HPORT")")
done
for l in berth docker; do
	grep -q "Accepted connection from $P\.[12]\.2," "$work/iperf-$l.log" ||
		bench_die "the $l container's server did not see the client's address (not DNAT?): $(head -5 "$work/iperf-$l.log")"
done
host_bw=$(printf '%s\n' "${th[@]}" | median)
dhost_bw=$(printf '%s\n' "${td[@]}" | median)
berth_bw=$(printf '%s\n' "${tb[@]}" | median)
docker_bw=$(printf '%s\n' "${tdk[@]}" | median)
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
echo "    host veth ${th[*]} Mbit/s; berth ${tb[*]}; docker's host veth ${td[*]}; docker ${tdk[*]}"
load_end=$(bench_loadavg)

# ---- report -----------------------------------------------------------------------
met() { awk -v v="$1" -v t="$2" -v o="$3" 'BEGIN { ok = (o == "le") ? v <= t : v >= t; print ok ? "met" : "NOT met" }'; }
b_ratio=$(awk -v a="$berth_bw" -v b="$host_bw" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
report=$(cat <<EOF
## Network

\`$cmdline\` on $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r); Docker is Debian's
docker.io $(dockerd --version | sed 's/Docker version //; s/,.*//') with containerd and runc, its bridge and
iptables on, inside a network namespace of its own (so its chains and FORWARD policy are not
the host's); berthd with \`--bridge $NB_BR --bip $P.0.1/24 --iptables=true\` in the host's.

Setup: \`run --rm busybox true\` with the default bridge and with \`--network none\`, the four
commands in turn $iterations times (order rotating). "Paired" is the median of the per-round
differences.

| engine | default bridge, median (p90) | \`--network none\`, median (p90) | setup adds (paired) |
|---|---:|---:|---:|
| docker | $db_med ms ($db_p90) | $dn_med ms ($dn_p90) | $d_add ms ($d_pair) |
| berth | $bb_med ms ($bb_p90) | $bn_med ms ($bn_p90) | **$b_add ms** ($b_pair) |

Throughput: one TCP stream, iperf3 -t $seconds, median of $repeats, from a client namespace
through a veth to the engine host's address: straight to a server there (the veth's own
figure), and to a container's published port (DNAT, the bridge, the container's veth).

| path | Mbit/s (all runs) | of the veth |
|---|---:|---:|
| client → host veth | $host_bw (${th[*]}) | 100% |
| client → berth container, published port | $berth_bw (${tb[*]}) | **$(pct "$berth_bw" "$host_bw")** |
| client → dockerd's namespace veth | $dhost_bw (${td[*]}) | 100% |
| client → docker container, published port | $docker_bw (${tdk[*]}) | $(pct "$docker_bw" "$dhost_bw") |

Docker's setup adds ×$(ratio "$d_add" "$b_add") what berth's does; berth's throughput is $(pct "$berth_bw" "$docker_bw") of docker's.
Targets (issue 5): setup adds ≤ 5 ms: $(met "$b_add" 5 le); throughput ≥ 95% of the veth's:
$(met "$b_ratio" 0.95 ge). Load average: $load_start at the start, $load_end at the end.
EOF
)
echo
echo "$report"
# the hand-written profile below the figures ("### Network setup: profile")
# is kept when the section is rewritten
kept=$(awk '/^## / { inside = 0 } /^### Network setup: profile/ { inside = 1 } inside' "$doc" 2>/dev/null || true)
[ -z "$kept" ] || report=$(printf '%s\n\n%s\n' "$report" "$kept")
bench_write_doc '## Network' "$report"
