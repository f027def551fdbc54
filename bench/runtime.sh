#!/bin/bash
# bench/runtime.sh — berth-runc against runc: `run` of one busybox bundle whose
# process is /bin/true, wall time and peak RSS.
#
#   bench/runtime.sh [-n ITERATIONS] [-m RSS_RUNS] [--berth PATH] [--runc PATH]
#                    [--doc FILE | --no-doc]
#
# Method
#  - One bundle (config from `runc spec`, then terminal false, args
#    ["/bin/true"], linux.cgroupsPath /berth-test-<token>/bench, no ambient
#    capability list; rootfs a copy of the busybox fixture) is run by both runtimes, each with its own --root in a
#    temp dir and a unique container id per run.
#  - Iterations alternate the two runtimes, and which goes first flips every
#    iteration, so drift on the machine (page cache, CPU frequency, other
#    tenants) hits both alike.  A few warm-up runs of each are discarded.
#  - Wall time is taken by a small Python driver as time.perf_counter_ns()
#    around os.posix_spawn() + os.wait4() of the runtime: no shell in between,
#    none of subprocess's extra work.  That includes the spawn of the runtime
#    itself, as any caller pays it; the driver also times /bin/true the same
#    way and prints it as the floor of what this method (and this machine's
#    fork/exec) can see.
#  - Peak RSS is GNU time's %M (ru_maxrss of the runtime and the descendants
#    it waited for, in KiB), the maximum over RSS_RUNS separate runs of each.
#    It includes the container's process, so busybox `true` alone (printed as
#    the RSS floor) bounds what any runtime can score; a second figure from
#    `run -d` (the runtime does not wait for the container; we reap it as a
#    subreaper, then delete it) is the runtime's own.
#  - Prints median and p90 for each, and the ratios runc/berth-runc; then
#    writes the "Runtime" section of docs/benchmarks.md (unless --no-doc).
#  - Removes every container, state dir and cgroup it created, also on ^C.
#  - No threshold: this never fails because something is slow.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
iterations=200
rss_runs=20
berth=${BERTH_RUNC:-$repo/build/src/berth-runc}
runc=$(command -v runc || echo /usr/sbin/runc)
write_doc=1
doc=$repo/docs/benchmarks.md
cmdline=bench/runtime.sh

usage() {
	sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}
while [ $# -gt 0 ]; do
	case "$1" in
	-n | -m | --berth | --runc | --doc)
		[ $# -ge 2 ] || { echo "runtime.sh: $1 needs a value" >&2; exit 2; }
		case "$1" in
		-n) iterations=$2 ;;
		-m) rss_runs=$2 ;;
		--berth) berth=$2 ;;
		--runc) runc=$2 ;;
		--doc) doc=$2 ;;
		esac
		# the command recorded in the doc leaves out where the doc goes
		[ "$1" = --doc ] || cmdline="$cmdline $1 $2"
		shift 2
		;;
	--no-doc) write_doc=; shift ;;
	-h | --help) usage 0 ;;
	*) echo "runtime.sh: unknown argument '$1'" >&2; usage 2 >&2 ;;
	esac
done
case "$iterations$rss_runs" in *[!0-9]*) echo "runtime.sh: -n and -m take numbers" >&2; exit 2 ;; esac

[ "$(id -u)" -eq 0 ] || { echo "runtime.sh: run as root (containers)" >&2; exit 1; }
for b in "$berth" "$runc"; do
	[ -x "$b" ] || { echo "runtime.sh: no runtime at $b (build first, or --berth PATH)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "runtime.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)

if [ -n "${BERTH_BUSYBOX_ROOTFS:-}" ]; then
	rootfs=$BERTH_BUSYBOX_ROOTFS
else
	rootfs=$("$repo/tests/fixtures/busybox.sh" | tail -n 1)
fi
[ -x "$rootfs/bin/true" ] || { echo "runtime.sh: no busybox rootfs at '$rootfs'" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-test-XXXXXX)
token=${work##*/}
cleanup() {
	local r rt id c
	for r in berth runc; do
		rt=$berth
		[ "$r" = runc ] && rt=$runc
		[ -d "$work/root-$r" ] || continue
		for id in "$work/root-$r"/*; do
			[ -e "$id" ] || continue
			id=${id##*/}
			"$rt" --root "$work/root-$r" kill "$id" KILL >/dev/null 2>&1 || true
			"$rt" --root "$work/root-$r" delete -f "$id" >/dev/null 2>&1 || true
		done
	done
	for c in /sys/fs/cgroup/*/"$token" /sys/fs/cgroup/"$token"; do
		[ -d "$c" ] || continue
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
		[ -d "$c" ] && echo "runtime.sh: could not remove cgroup $c" >&2
	done
	rm -rf "$work"
}
trap cleanup EXIT
pypid=
stop() {
	# Let the driver finish the run in flight (it stops between runs), then clean up.
	if [ -n "$pypid" ]; then
		kill -TERM "$pypid" 2>/dev/null || true
		wait "$pypid" 2>/dev/null || true
	fi
	exit 130
}
trap stop INT TERM

mkdir -p "$work/bundle" "$work/root-berth" "$work/root-runc"
cp -a "$rootfs" "$work/bundle/rootfs"
(cd "$work/bundle" && "$runc" spec)
# runc spec lists its three capabilities as ambient but not inheritable: the
# kernel cannot raise such ambient capabilities, runc ignores that silently,
# berth-runc may refuse it.  Dropping the list changes nothing for runc.
jq --arg cg "/$token/bench" '
	.process.terminal = false
	| .process.args = ["/bin/true"]
	| .linux.cgroupsPath = $cg
	| del(.process.capabilities.ambient)
' "$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

# Sanity: both runtimes run the bundle.
for r in berth runc; do
	rt=$berth
	[ "$r" = runc ] && rt=$runc
	if ! out=$("$rt" --root "$work/root-$r" run --bundle "$work/bundle" "check-$r" 2>&1 </dev/null); then
		echo "runtime.sh: $rt cannot run the bundle:" >&2
		echo "$out" >&2
		exit 1
	fi
done

machine_cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
if [ -d /sys/fs/cgroup/unified ]; then cgmode="hybrid (v1 controllers + v2 at /sys/fs/cgroup/unified)"
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then cgmode="v2"
else cgmode="v1"; fi

read -r load1 load5 load15 _ </proc/loadavg
export BENCH_LOAD="$load1, $load5, $load15"
export BENCH_WORK=$work BENCH_BUNDLE=$work/bundle BENCH_BERTH=$berth BENCH_RUNC=$runc \
	BENCH_N=$iterations BENCH_M=$rss_runs BENCH_DOC=${write_doc:+$doc} BENCH_CMD=$cmdline \
	BENCH_CPU=$machine_cpu BENCH_CGMODE=$cgmode
"$python" - <<'PYEOF' &
import math, os, signal, statistics, subprocess, sys, time, datetime, platform, re

# Stop between runs, never in the middle of one (the runtime must clean up).
stopping = False
def _stop(signum, frame):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGINT, _stop)
def check_stop():
    if stopping:
        sys.stderr.write("runtime.sh: interrupted\n")
        sys.exit(130)

work = os.environ["BENCH_WORK"]
bundle = os.environ["BENCH_BUNDLE"]
rts = {"berth-runc": os.environ["BENCH_BERTH"], "runc": os.environ["BENCH_RUNC"]}
roots = {"berth-runc": f"{work}/root-berth", "runc": f"{work}/root-runc"}
N = int(os.environ["BENCH_N"])
M = int(os.environ["BENCH_M"])
WARMUP = 5
errlog = f"{work}/stderr"
seq = 0

DEVNULL = os.open("/dev/null", os.O_RDWR)

def spawn_wait(argv, errfd):
    """posix_spawn + wait4: the cheapest way Python has to run a program.
    Returns (exit status, ns)."""
    fa = [(os.POSIX_SPAWN_DUP2, DEVNULL, 0), (os.POSIX_SPAWN_DUP2, DEVNULL, 1),
          (os.POSIX_SPAWN_DUP2, errfd, 2)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
    _, st, _ = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    return os.waitstatus_to_exitcode(st), t1 - t0

def run_once(name):
    """One `RUNTIME --root R run --bundle B ID`; returns its wall time in ns."""
    global seq
    seq += 1
    cmd = [rts[name], "--root", roots[name], "run", "--bundle", bundle, f"bench-{seq}"]
    errfd = os.open(errlog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        rc, ns = spawn_wait(cmd, errfd)
    finally:
        os.close(errfd)
    if rc != 0:
        sys.stderr.write(f"runtime.sh: {' '.join(cmd)} exited {rc}:\n")
        sys.stderr.write(open(errlog, errors="replace").read())
        sys.exit(1)
    return ns

def rss_once(name, detached=False):
    """Peak RSS (KiB) of `RUNTIME run` under GNU time.  detached: `run -d`,
    so the runtime does not wait for the container and its figure is the
    runtime's own (create + start); the container is reparented to us (a
    subreaper), reaped, and the stopped container deleted."""
    global seq
    seq += 1
    cid = f"bench-{seq}"
    out = f"{work}/rss"
    cmd = ["/usr/bin/time", "-o", out, "-f", "%M", rts[name], "--root", roots[name],
           "run"] + (["-d"] if detached else []) + ["--bundle", bundle, cid]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.stderr.write(f"runtime.sh: {' '.join(cmd)} exited {p.returncode}:\n")
        sys.stderr.write(p.stderr.decode(errors="replace"))
        sys.exit(1)
    if detached:
        reap_all()
        subprocess.run([rts[name], "--root", roots[name], "delete", "-f", cid],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return int(open(out).read().split()[-1])

def reap_all():
    """Wait (bounded) for the detached container's process to exit, reap it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.005)

def floor_ns():
    """What the method itself costs: spawning /bin/true the same way."""
    xs = [spawn_wait(["/bin/true"], DEVNULL)[1] for _ in range(100)]
    return statistics.median(xs)

def rss_floor():
    """The container's own process under this method: busybox `true` of the
    bundle's rootfs run directly, peak RSS (KiB), max of M runs."""
    out = f"{work}/rss"
    xs = []
    for _ in range(max(M, 1)):
        subprocess.run(["/usr/bin/time", "-o", out, "-f", "%M", f"{bundle}/rootfs/bin/true"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
        xs.append(int(open(out).read().split()[-1]))
    return max(xs)

def p90(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]

names = ["berth-runc", "runc"]
for _ in range(WARMUP):
    for n in names:
        check_stop()
        run_once(n)
times = {n: [] for n in names}
for i in range(N):
    order = names if i % 2 == 0 else names[::-1]
    for n in order:
        check_stop()
        times[n].append(run_once(n))
# Become a subreaper, so that containers left by `run -d` are ours to reap.
import ctypes
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
rss = {n: [] for n in names}
rss_d = {n: [] for n in names}
for i in range(M):
    order = names if i % 2 == 0 else names[::-1]
    for n in order:
        check_stop()
        rss[n].append(rss_once(n))
        check_stop()
        rss_d[n].append(rss_once(n, detached=True))
floor = floor_ns()
rfloor = rss_floor()

def ms(ns):
    return ns / 1e6

res = {}
for n in names:
    res[n] = {
        "median": statistics.median(times[n]),
        "p90": p90(times[n]),
        "min": min(times[n]),
        "rss": max(rss[n]),
        "rss_d": max(rss_d[n]),
    }
b, r = res["berth-runc"], res["runc"]
ratio_med = r["median"] / b["median"]
ratio_p90 = r["p90"] / b["p90"]
ratio_rss = r["rss"] / b["rss"]
ratio_rss_d = r["rss_d"] / b["rss_d"]

def version(path):
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].strip() if out else "?"
    except Exception:
        return "?"

vb, vr = version(rts["berth-runc"]), version(rts["runc"])
print(f"{'runtime':<12} {'median ms':>10} {'p90 ms':>10} {'min ms':>10} {'peak RSS KiB':>13} {'run -d RSS':>11}")
for n in names:
    x = res[n]
    print(f"{n:<12} {ms(x['median']):>10.2f} {ms(x['p90']):>10.2f} {ms(x['min']):>10.2f} "
          f"{x['rss']:>13} {x['rss_d']:>11}")
print(f"runc/berth-runc: time x{ratio_med:.1f} (median), x{ratio_p90:.1f} (p90); "
      f"peak RSS x{ratio_rss:.1f} (run), x{ratio_rss_d:.1f} (run -d, the runtime alone)")
def met(x, want):
    return "met" if x >= want else "NOT met"
print(f"targets: time >= x8 {met(ratio_med, 8)}; RSS >= x10 {met(ratio_rss, 10)} (run), "
      f"{met(ratio_rss_d, 10)} (run -d)")
print(f"({N} alternating iterations, {WARMUP} warm-up, RSS max of {M} runs each; "
      f"floors: spawning /bin/true {ms(floor):.2f} ms, busybox true alone {rfloor} KiB)")

doc = os.environ.get("BENCH_DOC")
if doc:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    la = os.environ.get("BENCH_LOAD", "?")
    section = f"""## Runtime

`berth-runc run` against `runc run` on one busybox bundle whose process is `/bin/true` (the config of `runc spec` with terminal false and no ambient capabilities).

| runtime | median | p90 | min | peak RSS (`run`) | peak RSS (`run -d`) |
|---|---:|---:|---:|---:|---:|
| berth-runc | {ms(b['median']):.2f} ms | {ms(b['p90']):.2f} ms | {ms(b['min']):.2f} ms | {b['rss']} KiB | {b['rss_d']} KiB |
| runc | {ms(r['median']):.2f} ms | {ms(r['p90']):.2f} ms | {ms(r['min']):.2f} ms | {r['rss']} KiB | {r['rss_d']} KiB |
| **runc / berth-runc** | **x{ratio_med:.1f}** | x{ratio_p90:.1f} | | **x{ratio_rss:.1f}** | x{ratio_rss_d:.1f} |

Targets (issue 2): time at least x8, peak RSS at least x10. Time: {met(ratio_med, 8)}; RSS: {met(ratio_rss, 10)} (`run`), {met(ratio_rss_d, 10)} (`run -d`).

How:
- {N} iterations alternate the two runtimes, and which goes first flips every iteration, so drift on the machine hits both alike; {WARMUP} warm-up runs of each are discarded. Each runtime has its own `--root`; every run has a new container id.
- Wall time: `time.perf_counter_ns()` around `os.posix_spawn()` + `os.wait4()` of the runtime, no shell in between. Spawning `/bin/true` the same way takes {ms(floor):.2f} ms here: that floor is inside both figures.
- Peak RSS: GNU `time -f %M`, the maximum over {M} runs of each. It is the kernel's ru_maxrss of the runtime and of the children it waited for, so for `run` it includes the container's own process (busybox `true` alone peaks at {rfloor} KiB, the floor of that method). `run -d` does not wait for the container, so that column is the runtime alone (create + start).

Machine: {os.cpu_count()} CPUs ({os.environ.get('BENCH_CPU') or platform.processor()}), Linux {platform.release()}, cgroups {os.environ.get('BENCH_CGMODE')}; load average {la} when it started; measured {now}. berth-runc: `{vb}`; runc: `{vr}` ({rts['runc']}).

Command, as root, from the repository: `{os.environ['BENCH_CMD'].strip()}` (options: `-n` iterations, `-m` RSS runs, `--berth PATH`, `--runc PATH`, `--doc FILE` or `--no-doc`).

"""
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n\nHow berth compares with the programs it replaces. Each section says how to reproduce it.\n\n"
    pat = re.compile(r"^## Runtime\n.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(text):
        text = pat.sub(lambda m: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(doc + ".tmp", "w") as f:
        f.write(text.rstrip("\n") + "\n")
    os.replace(doc + ".tmp", doc)
    print(f"wrote the Runtime section of {doc}")
PYEOF
pypid=$!
wait "$pypid"
