#!/bin/bash
# bench/profile.sh — where one `berth run --rm busybox true` spends its time.
#
#   bench/profile.sh [-n RUNS]        (as root; BERTH_BUILD_DIR picks the build, default build/)
#
# Starts a private berthd with -D (its debug lines carry CLOCK_MONOTONIC
# microseconds) and records each run with `perf record -k mono` on a few
# scheduler tracepoints (process exec, fork and exit), so the CLI, berthd,
# berth-shim, berth-runc and the container appear on one clock. Prints, for each stage, the median over
# RUNS (default 15) runs after 3 warm-up runs; the stages add up to the
# median of the total only roughly (medians of parts). Tracepoints cost a few
# µs each: the total is a little above bench/run.sh's figure.
#
# Isolation: its own data root, exec root, socket and cgroup parent
# (/berth-test-profile-<pid>), berthd stopped by PID, everything removed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=15
[ "${1:-}" = -n ] && { runs=$2; shift 2; }
case "$runs" in '' | *[!0-9]*) echo "profile.sh: -n takes a number" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "profile.sh: run as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile.sh: needs perf (linux-perf)" >&2; exit 1; }
build=${BERTH_BUILD_DIR:-$repo/build}
BERTH=$build/src/cli/berth

work=$(mktemp -d /tmp/berth-profile-XXXXXX)
pid=
cleanup() {
	set +e
	if [ -n "$pid" ]; then
		"$BERTH" -H "unix://$work/s.sock" rm -f $("$BERTH" -H "unix://$work/s.sock" ps -aq) >/dev/null 2>&1
		kill "$pid"
		while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	fi
	awk -v p="$work" 'index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf "$work"
	for c in /sys/fs/cgroup/*/"berth-test-profile-$$" /sys/fs/cgroup/"berth-test-profile-$$"; do
		[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
trap cleanup EXIT INT TERM

mkdir -p "$work/data" "$work/exec"
echo '{}' >"$work/daemon.json"
"$build/src/daemon/berthd" -D --config-file "$work/daemon.json" --data-root "$work/data" \
	--exec-root "$work/exec" -H "unix://$work/s.sock" --pidfile "$work/exec/berthd.pid" \
	--cgroup-parent "/berth-test-profile-$$" --bridge none --iptables=false --ip6tables=false \
	--shim-path "$build/src/shim/berth-shim" --runtime-path "$build/src/berth-runc" \
	>"$work/berthd.log" 2>&1 &
pid=$!
B=("$BERTH" -H "unix://$work/s.sock")
n=100
until "${B[@]}" version >/dev/null 2>&1; do
	kill -0 "$pid" 2>/dev/null && [ $((n -= 1)) -gt 0 ] || { tail "$work/berthd.log" >&2; exit 1; }
	sleep 0.1
done
"${B[@]}" load -q -i "$(BERTH_BUSYBOX_REF=busybox:latest "$repo/tests/fixtures/busybox-image.sh" docker-archive)" >/dev/null
for _ in 1 2 3; do "${B[@]}" run --rm busybox true; done

events=sched:sched_process_exec,sched:sched_process_fork,sched:sched_process_exit
for i in $(seq "$runs"); do
	off=$(stat -c %s "$work/berthd.log")
	perf record -q -k mono -o "$work/perf.data" -a -e "$events" -- "${B[@]}" run --rm busybox true \
		>/dev/null 2>&1
	{
		perf script -i "$work/perf.data" -F comm,pid,time,event,trace 2>/dev/null
		tail -c +"$((off + 1))" "$work/berthd.log"
	} >"$work/run-$i.txt"
done

# only berthd's descendants count (other engines may run on the machine):
# its threads now; the rest are followed through the fork events
python3 - "$work" "$runs" "$BERTH" $(ls "/proc/$pid/task") <<'EOF'
import re, statistics, sys
work, runs, cli_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
berthd_tids = {int(t) for t in sys.argv[4:]}
# stage name -> (start mark, end mark)
stages = [
    ("CLI exec → POST /containers/create answered", "cli_exec", "create"),
    ("create → attach, wait and start requests in", "create", "bundle"),
    ("bundle → shim exec'd (berthd posix_spawn)", "bundle", "shim_exec"),
    ("shim exec → detached (parse, close fds, fork)", "shim_exec", "shim_fork"),
    ("detached → runtime spawned (logs, pidfile, socket)", "shim_fork", "rt_create_exec"),
    ("berth-runc create (exec → exit)", "rt_create_exec", "rt_create_exit"),
    ("create exit → berthd sees the shim up", "rt_create_exit", "shim_up"),
    ("shim up → container execs /bin/true (start)", "shim_up", "true_exec"),
    ("  of which berth-runc start (exec → exit), when run", "rt_start_exec", "rt_start_exit"),
    ("/bin/true runs and exits", "true_exec", "true_exit"),
    ("exit → berthd notices it", "true_exit", "exited"),
    ("noticed → removal begins (shim delete, unmount, save)", "exited", "deleted"),
    ("rw layer, directories, unregister", "deleted", "removed"),
    ("removed → CLI exits", "removed", "cli_exit"),
    ("total (CLI exec → CLI exit)", "cli_exec", "cli_exit"),
    ("(berth-runc delete in the shim, after its reply)", "rt_delete_exec", "rt_delete_exit"),
]
perf_re = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+(\d+\.\d+):\s+(\S+):\s+(.*)$")
log_re = re.compile(r"^\[(\d+\.\d+) \d+\] (.*)$")
cols = {s[0]: [] for s in stages}
for i in range(1, runs + 1):
    m, rt_pids, runc_exec = {}, {}, 0
    cli_pid, ours = None, set(berthd_tids)
    for line in open(f"{work}/run-{i}.txt", errors="replace"):
        p = perf_re.match(line)
        if p:
            comm, pid, t, ev, rest = p.group(1), int(p.group(2)), float(p.group(3)) % 1000, p.group(4), p.group(5)
            if ev == "sched:sched_process_fork":
                f = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
                if int(f.get("pid", -1)) in ours:
                    ours.add(int(f["child_pid"]))
            if ev == "sched:sched_process_exec" and rest.split()[0] == "filename=" + cli_path:
                m.setdefault("cli_exec", t); cli_pid = pid
            elif ev == "sched:sched_process_exit" and pid == cli_pid:
                m.setdefault("cli_exit", t)
            if pid not in ours:
                continue
            if ev == "sched:sched_process_exec":
                if "/berth-shim " in rest + " ":
                    m.setdefault("shim_exec", t)
                elif "/berth-runc " in rest + " ":
                    # create first; then `start` before the container's exec
                    # (the shim writes exec.fifo itself for berth-runc: none),
                    # `delete` after its exit
                    runc_exec += 1
                    name = ("rt_create" if runc_exec == 1 else
                            "rt_delete" if "true_exit" in m else
                            "rt_start" if "true_exec" not in m else None)
                    if name:
                        m.setdefault(name + "_exec", t); rt_pids[pid] = name
                elif "filename=/bin/true" in rest:
                    m.setdefault("true_exec", t); rt_pids[pid] = "true"
            elif ev == "sched:sched_process_fork" and comm == "berth-shim":
                m.setdefault("shim_fork", t)
            elif ev == "sched:sched_process_exit":
                if pid in rt_pids:
                    m.setdefault(rt_pids.pop(pid) + "_exit", t)
            continue
        l = log_re.match(line)
        if not l:
            continue
        t, msg = float(l.group(1)), l.group(2)
        for key, pat in (("create", "POST /containers/create"), ("bundle", "bundle ready"),
                         ("shim_up", "shim up"), ("exited", "exited with"),
                         ("deleted", "runtime state deleted"), ("removed", ": removed")):
            if pat in msg:
                m.setdefault(key, t)
    for name, a, b in stages:
        if a in m and b in m:
            cols[name].append((m[b] - m[a]) * 1000)
w = max(len(s[0]) for s in stages)
print(f"| stage | median ms | min ms |\n|---|---:|---:|")
for name, _, _ in stages:
    v = cols[name]
    if v:
        print(f"| {name} | {statistics.median(v):.2f} | {min(v):.2f} |")
    else:
        print(f"| {name} | — | — |")
EOF
