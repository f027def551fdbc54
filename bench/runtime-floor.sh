#!/usr/bin/env bash
# bench/runtime-floor.sh [-n N] — the kernel's share of a runtime's `run`:
# median wall time of spawning /bin/true, of bench/ns-floor.c (clone into the
# five namespaces of the bench bundle + exec busybox true + wait), and of
# berth-runc and runc running the bench bundle, all timed the same way
# (posix_spawn + wait4 from Python, alternating). Needs root.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=100
[ "${1:-}" = "-n" ] && n=$2
work=$(mktemp -d /tmp/berth-floor.XXXXXX)
token=floor-$$
cleanup() {
  for d in /sys/fs/cgroup/*/berth-test-$token; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
gcc -O2 -static -o "$work/ns-floor" "$top/bench/ns-floor.c"
BERTH_TEST_TOKEN=$token bash "$top/tests/fixtures/bundle.sh" "$work/bundle" /bin/true >/dev/null
jq 'del(.process.capabilities.ambient)' "$work/bundle/config.json" >"$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"
cd "$work/bundle"
python3 - "$n" "$work" "$top/build/src/berth-runc" "$(command -v runc)" <<'PY'
import os, sys, time, statistics
n, work, berth, runc = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
true_in_rootfs = os.path.join(work, "bundle/rootfs/bin/true")
cases = {
    "/bin/true": lambda i: ["/bin/true"],
    "ns-floor (5 namespaces + exec)": lambda i: [os.path.join(work, "ns-floor"), true_in_rootfs],
    "berth-runc run": lambda i: [berth, "--root", os.path.join(work, "b"), "run", "f%d" % i],
    "runc run": lambda i: [runc, "--root", os.path.join(work, "r"), "run", "f%d" % i],
}
times = {k: [] for k in cases}
for i in range(n):
    for name, argv in cases.items():
        a = argv(i)
        t = time.perf_counter_ns()
        pid = os.posix_spawn(a[0], a, os.environ)
        os.waitpid(pid, 0)
        times[name].append((time.perf_counter_ns() - t) / 1e6)
for name, ts in times.items():
    print("%-32s median %7.2f ms" % (name, statistics.median(ts)))
r = statistics.median(times["runc run"])
print("runc / 8 = %.2f ms; the floor takes %.0f%% of that budget" % (r / 8, 100 * statistics.median(times["ns-floor (5 namespaces + exec)"]) / (r / 8)))
PY
