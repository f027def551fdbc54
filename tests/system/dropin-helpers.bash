# tests/system/dropin-helpers.bash — private dockerd / containerd for the
# drop-in tests (dropin-docker.bats, dropin-containerd.bats).
#
# These tests prove berth-runc can stand in for runc under real, unmodified
# Debian programs.  The runtime under test is $BERTH_RUNC (default: the built
# build/src/berth-runc); `BERTH_RUNC=/usr/sbin/runc` validates the tests
# themselves against the reference.
#
# Isolation (the tests run as root on a shared machine):
#  - every file, socket and state directory lives in one temp dir
#    /tmp/berth-test-XXXXXX ($DROPIN_DIR); its basename is the token used for
#    everything else we create;
#  - the daemons run in a private mount namespace (unshare -m) with a fresh
#    tmpfs on /run: containerd 1.6 puts its shims' sockets in /run/containerd/s
#    whatever its config says, and the runc shim keeps the runtime's --root in
#    /run/containerd/runc; this keeps all of that, and every overlay mount, off
#    the host.  When the last process of that namespace dies, its mounts go
#    with it.  dockerd joins the same namespace (nsenter), since the shim must
#    see the rootfs mounts dockerd makes; ctr runs on the host with its FIFOs in
#    our dir (--fifo-dir), which both sides see;
#  - dockerd uses our containerd (--containerd), not one it would start
#    itself, so both PIDs are ours; our own --config-file keeps it away from
#    /etc/docker (daemon.json, key.json);
#  - the daemons sit in the cgroup pids:/<token>/daemons (v2: /<token>/daemons),
#    containers under /<token>/... in every controller, so teardown can find
#    (and SIGKILL) every process we started, even shims and containers a broken
#    runtime left behind, and remove every cgroup we made, touching nothing else;
#  - daemons are stopped by PID (SIGTERM, wait, SIGKILL), never by name;
#  - no network: dockerd runs with --bridge none --iptables=false.

DROPIN_TIMEOUT=${DROPIN_TIMEOUT:-60}
# dockerd lives in /usr/sbin: make sure a caller's PATH finds it.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

# dropin_require: can we run at all (root, runtime, peers)?  Not root: bats
# 1.8 has no skip in setup_file, so this sets DROPIN_SKIP and returns 1, and
# every test's setup() (dropin_setup_test) skips.  Runtime or peers missing:
# returns 2, and setup_file fails.
# Sets and exports BERTH_RUNC (absolute path).
dropin_require() {
	DROPIN_SKIP=
	local repo
	repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	BERTH_RUNC=${BERTH_RUNC:-$repo/build/src/berth-runc}
	case "$BERTH_RUNC" in /*) ;; *) BERTH_RUNC=$(command -v "$BERTH_RUNC" || echo "$BERTH_RUNC") ;; esac
	export BERTH_RUNC
	if [ "$(id -u)" -ne 0 ]; then
		DROPIN_SKIP="drop-in tests need root"
		export DROPIN_SKIP
		return 1
	fi
	export DROPIN_SKIP
	# A missing runtime or peer is a failure (of setup_file), not a skip: a
	# broken build must not pass as "skipped".
	if [ ! -x "$BERTH_RUNC" ]; then
		echo "BERTH_RUNC=$BERTH_RUNC is not an executable (build first: ninja -C build)" >&2
		return 2
	fi
	"$repo/scripts/setup-peers" || {
		echo "scripts/setup-peers failed: no dockerd/containerd" >&2
		return 2
	}
}

# dropin_setup_test: every test's setup(): skip if needed, and note where the
# daemons' logs stand so that a failure shows only what this test caused.
dropin_setup_test() {
	if [ -n "${DROPIN_SKIP:-}" ]; then
		skip "$DROPIN_SKIP"
	fi
	# read back by name in dropin_runtime_log
	# shellcheck disable=SC2034
	DROPIN_MARK_dockerd=$(wc -l <"$DROPIN_DIR/dockerd.log" 2>/dev/null || echo 0)
	# shellcheck disable=SC2034
	DROPIN_MARK_containerd=$(wc -l <"$DROPIN_DIR/containerd.log" 2>/dev/null || echo 0)
}

# dropin_init: make the temp dir, token and cgroups.  Exports DROPIN_DIR,
# DROPIN_TOKEN.
dropin_init() {
	DROPIN_DIR=$(mktemp -d /tmp/berth-test-XXXXXX)
	DROPIN_TOKEN=${DROPIN_DIR##*/}
	export DROPIN_DIR DROPIN_TOKEN
	mkdir -p "$DROPIN_DIR/fifo"
	# v1 / hybrid: the pids hierarchy; v2: the unified one.
	if [ -d /sys/fs/cgroup/pids ]; then
		DROPIN_DAEMON_CG=/sys/fs/cgroup/pids/$DROPIN_TOKEN/daemons
	else
		DROPIN_DAEMON_CG=/sys/fs/cgroup/$DROPIN_TOKEN/daemons
	fi
	export DROPIN_DAEMON_CG
	mkdir -p "$DROPIN_DAEMON_CG"
}

# dropin_cgroup_dirs: every cgroup directory we made (deepest first).
dropin_cgroup_dirs() {
	local c
	for c in /sys/fs/cgroup/*/"$DROPIN_TOKEN" /sys/fs/cgroup/"$DROPIN_TOKEN"; do
		[ -d "$c" ] && find "$c" -depth -type d
	done
	return 0
}

# dropin_wait_pid PID SECONDS: wait for a process (not our child) to go.
dropin_wait_pid() {
	local pid=$1 n=$(($2 * 10))
	while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		n=$((n - 1))
	done
	! kill -0 "$pid" 2>/dev/null
}

# dropin_stop_pid PID: SIGTERM, wait up to 20 s, then SIGKILL.
dropin_stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	dropin_wait_pid "$pid" 20 && return 0
	kill -KILL "$pid" 2>/dev/null || true
	dropin_wait_pid "$pid" 5 || true
}

# dropin_spawn LOG CMD...: run CMD in the background in our daemons cgroup,
# stdio to LOG; $! is its PID (the wrapper shell execs it).
dropin_spawn() {
	local log=$1
	shift
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' \
		"$DROPIN_DAEMON_CG" "$@" </dev/null >"$log" 2>&1 3>&- &
}

# dropin_start_containerd: a containerd of our own, in a private mount ns.
# Exports CTR_SOCK and CONTAINERD_PID.
dropin_start_containerd() {
	local d=$DROPIN_DIR
	mkdir -p "$d/containerd/root" "$d/containerd/state" "$d/containerd/opt"
	CTR_SOCK=$d/containerd.sock
	cat >"$d/containerd.toml" <<EOF
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  address = ""
  level = "debug"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/containerd/opt"
EOF
	# Joins our cgroup, makes /run private, then becomes containerd (same PID).
	# shellcheck disable=SC2016 # $0 is expanded by the inner shell
	dropin_spawn "$d/containerd.log" \
		unshare --mount --propagation private -- sh -c '
			mount -n -t tmpfs -o mode=755,size=64m berth-test-run /run || exit 1
			exec containerd --config "$0"' "$d/containerd.toml"
	CONTAINERD_PID=$!
	echo "$CONTAINERD_PID" >"$d/containerd.pid"
	export CTR_SOCK CONTAINERD_PID
	local n=300
	until [ -S "$CTR_SOCK" ] && ctr -a "$CTR_SOCK" version >/dev/null 2>&1; do
		if ! kill -0 "$CONTAINERD_PID" 2>/dev/null || [ $((n -= 1)) -le 0 ]; then
			echo "containerd did not start:" >&2
			tail -n 30 "$d/containerd.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# dropin_start_dockerd: a dockerd of our own on top of our containerd, in the
# same mount namespace (its overlay2 mounts must be visible to the shim).
# Exports DOCKER_HOST, DOCKER_CONFIG, DOCKERD_PID, DOCKER_CGROUP_PARENT.
dropin_start_dockerd() {
	local d=$DROPIN_DIR
	mkdir -p "$d/docker/data" "$d/docker/exec" "$d/docker/client"
	DOCKER_CGROUP_PARENT=/$DROPIN_TOKEN/docker
	# Our own config file: no /etc/docker/daemon.json, no /etc/docker/key.json.
	jq -n --arg key "$d/docker/key.json" '{"deprecated-key-path": $key}' >"$d/docker/daemon.json"
	dropin_spawn "$d/dockerd.log" \
		nsenter --mount="/proc/$CONTAINERD_PID/ns/mnt" -- \
		dockerd \
		--config-file "$d/docker/daemon.json" \
		--data-root "$d/docker/data" \
		--exec-root "$d/docker/exec" \
		--pidfile "$d/docker/dockerd.pid" \
		-H "unix://$d/docker.sock" \
		--containerd "$CTR_SOCK" \
		--bridge none --iptables=false --ip6tables=false --ip-masq=false \
		--userland-proxy=false \
		--storage-driver overlay2 \
		--exec-opt native.cgroupdriver=cgroupfs \
		--cgroup-parent "$DOCKER_CGROUP_PARENT" \
		--add-runtime "berth=$BERTH_RUNC" \
		--debug
	DOCKERD_PID=$!
	echo "$DOCKERD_PID" >"$d/dockerd.pid"
	DOCKER_HOST=unix://$d/docker.sock
	DOCKER_CONFIG=$d/docker/client
	export DOCKER_HOST DOCKER_CONFIG DOCKERD_PID DOCKER_CGROUP_PARENT
	local n=300
	until docker version >/dev/null 2>&1; do
		if ! kill -0 "$DOCKERD_PID" 2>/dev/null || [ $((n -= 1)) -le 0 ]; then
			echo "dockerd did not start:" >&2
			tail -n 30 "$d/dockerd.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# dropin_ref_start: the reference daemon of the comparison tests (compat,
# volumes, build, resources/security): dropin_require + dropin_init, our own
# containerd and dockerd (--bridge none --iptables=false, see above), and the
# busybox fixture loaded as busybox:latest.  On success exports REF_HOST
# (unix:///tmp/berth-test-.../docker.sock) and unsets DOCKER_HOST, so that
# nothing reaches the reference by accident.  Returns 1 when not root
# (DROPIN_SKIP is set: every test's dropin_setup_test skips), 2 when anything
# failed; on failure everything it started is stopped and removed again.
# Typical setup_file:
#	local rc=0; dropin_ref_start || rc=$?
#	[ "$rc" -ne 1 ] || return 0; [ "$rc" -eq 0 ] || return 1
dropin_ref_start() {
	local rc=0 archive repo
	dropin_require || rc=$?
	[ "$rc" -eq 0 ] || return "$rc"
	dropin_init
	if ! dropin_start_containerd || ! dropin_start_dockerd; then
		dropin_teardown
		return 2
	fi
	repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	if ! archive=$(BERTH_BUSYBOX_REF=busybox:latest "$repo/tests/fixtures/busybox-image.sh" docker-archive | tail -n 1) ||
		! "${DOCKER_CLI:-docker}" -H "$DOCKER_HOST" load -i "$archive" >/dev/null; then
		echo "dropin_ref_start: cannot load the busybox fixture into dockerd" >&2
		dropin_teardown
		return 2
	fi
	REF_HOST=$DOCKER_HOST
	unset DOCKER_HOST
	export REF_HOST
}

# dropin_ref_stop: stop the reference daemons by PID and remove everything
# dropin_ref_start made (dropin_teardown); safe after a failed or skipped
# start and when called twice.
dropin_ref_stop() {
	dropin_teardown
	unset REF_HOST
}

# dropin_teardown: stop everything we started and remove everything we made.
# Safe to call more than once and after a partial setup.
dropin_teardown() {
	[ -n "${DROPIN_DIR:-}" ] && [ -d "$DROPIN_DIR" ] || return 0
	local d=$DROPIN_DIR pid c f
	for f in "$d/dockerd.pid" "$d/docker/dockerd.pid" "$d/containerd.pid"; do
		[ -s "$f" ] && dropin_stop_pid "$(cat "$f")"
	done
	# Anything left in our cgroups (shims, containers) is ours: thaw, kill.
	local _
	for _ in $(seq 50); do
		local left=
		for c in $(dropin_cgroup_dirs); do
			[ -f "$c/freezer.state" ] && echo THAWED >"$c/freezer.state" 2>/dev/null
			for pid in $(cat "$c/cgroup.procs" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null && left=1
			done
		done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for c in $(dropin_cgroup_dirs); do rmdir "$c" 2>/dev/null || true; done
	# The daemons' mounts died with their namespace; anything under our dir
	# in the host namespace (there should be none) is unmounted too.
	awk -v p="$d" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$d"
	# Report what could not be removed (a runtime that leaks cgroups).
	local leaked
	leaked=$(dropin_cgroup_dirs)
	if [ -n "$leaked" ]; then
		echo "# dropin: cgroups left behind: $leaked" >&3
	fi
	return 0
}

# Bounded front ends: a hung runtime must fail the test, not hang the suite.
# They refuse to run without our private daemon: never the machine's own
# /var/run/docker.sock or /run/containerd/containerd.sock.
d() {
	case "${DOCKER_HOST:-}" in
	unix:///tmp/berth-test-*) ;;
	*)
		echo "d: no private dockerd (DOCKER_HOST='${DOCKER_HOST:-}')" >&2
		return 1
		;;
	esac
	timeout -k 5 "$DROPIN_TIMEOUT" docker "$@"
}
c() {
	case "${CTR_SOCK:-}" in
	/tmp/berth-test-*) ;;
	*)
		echo "c: no private containerd (CTR_SOCK='${CTR_SOCK:-}')" >&2
		return 1
		;;
	esac
	timeout -k 5 "$DROPIN_TIMEOUT" ctr -a "$CTR_SOCK" -n berth-test "$@"
}

# dropin_runtime_log: what the daemons said during this test (dockerd relays
# the runtime's --log messages), for failure messages.
dropin_runtime_log() {
	local n f mark
	for n in dockerd containerd; do
		f=$DROPIN_DIR/$n.log
		[ -f "$f" ] || continue
		mark=DROPIN_MARK_$n
		echo "--- $n.log: errors and warnings during this test"
		tail -n +"$((${!mark:-0} + 1))" "$f" | grep -E 'level=(error|fatal|warning)' |
			grep -v 'cleanup warnings' | tail -n 20
	done
}

# expect_eq EXPECTED ACTUAL: equality with a readable failure.
expect_eq() {
	if [ "$1" != "$2" ]; then
		echo "expected: '$1'" >&2
		echo "actual:   '$2'" >&2
		return 1
	fi
}

# expect_in NEEDLE HAYSTACK
expect_in() {
	case "$2" in
	*"$1"*) return 0 ;;
	esac
	echo "expected to find: '$1'" >&2
	echo "in:               '$2'" >&2
	return 1
}
