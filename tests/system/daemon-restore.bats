#!/usr/bin/env bats
# tests/system/daemon-restore.bats — berthd going away and coming back:
#   - SIGKILL while containers run: they keep running, their logs have no gap,
#     and attach, logs -f, exec, stop and wait work on them afterwards;
#   - SIGKILL at awkward moments (right after create, during a start, after
#     an exit, with --rm containers): the state is consistent, nothing lost,
#     exits that happened while berthd was down are recorded;
#   - a clean shutdown without live-restore stops the containers (dockerd's
#     behaviour) and the restart policies bring `always` / `unless-stopped`
#     ones back; with live-restore they keep running.

load daemon-helpers

DOCKER=/usr/local/bin/docker

setup_file() {
	start_berthd
	load_busybox
}

teardown_file() {
	teardown_berthd
}

# kill_berthd — SIGKILL the daemon (by PID) and wait until it is gone.
kill_berthd() {
	local pid i
	pid=$(berthd_pid)
	kill -KILL "$pid"
	for ((i = 0; i < 100; i++)); do
		[ -d "/proc/$pid" ] || break
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		sleep 0.05
	done
	rm -f "$BATS_FILE_TMPDIR/berthd.running"
	# a daemon started by an earlier test stays a zombie (its parent is bats,
	# which does not reap it), and the pid-file check counts a zombie as alive;
	# a real init reaps it
	rm -f "$BERTHD_EXEC/berthd.pid"
}

# state NAME — "Status ExitCode" of a container.
state() {
	$DOCKER inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$1"
}

# wait_state NAME WANT [TRIES] — poll until `state NAME` starts with WANT.
wait_state() {
	local i s
	for ((i = 0; i < ${3:-100}; i++)); do
		s=$(state "$1" 2>/dev/null)
		[[ "$s" == "$2"* ]] && return 0
		sleep 0.1
	done
	echo "container $1: state '$s', wanted '$2'" >&2
	return 1
}

# shims_of ID — the pids of shims whose command line names the container.
shims_of() {
	local d
	for d in /proc/[0-9]*; do
		if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q "berth-shim.*$1"; then
			echo "${d#/proc/}"
		fi
	done
}

@test "SIGKILL while running: containers keep running, logs have no gap, attach / logs -f / exec / stop / wait work" {
	run -0 $DOCKER run -d --name live busybox sh -c 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'
	pid0=$($DOCKER inspect -f '{{.State.Pid}}' live)
	[ "$pid0" -gt 0 ]
	sleep 0.5
	kill_berthd
	sleep 1.5 # the container writes on while berthd is away
	kill -0 "$pid0"
	start_berthd
	run -0 $DOCKER inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}}' live
	[ "$output" = "running true $pid0" ]
	run -0 $DOCKER ps --format '{{.Names}} {{.Status}}' --filter name=live
	[[ "$output" == "live Up "* ]]
	# no gap: 1, 2, 3, … without a missing number across the outage
	sleep 0.3
	run -0 bash -c "$DOCKER logs live | awk 'NR != \$1 { print \"gap at line \" NR \": \" \$1; exit 1 } END { print NR }'"
	[ "$output" -gt 20 ]
	# attach to the running container gets its live output (the CLI ignores
	# SIGTERM while attached: KILL it)
	run -137 timeout -s KILL 1.5 $DOCKER attach --no-stdin live
	[ "${#lines[@]}" -ge 5 ]
	run -0 $DOCKER exec live echo exec-ok
	[ "$output" = exec-ok ]
	# wait (in the background) ends when stop ends the container
	$DOCKER wait live >"$BATS_TEST_TMPDIR/wait.out" &
	wpid=$!
	sleep 0.3
	run -0 $DOCKER stop -t 1 live
	wait "$wpid"
	[ "$(cat "$BATS_TEST_TMPDIR/wait.out")" = 137 ] || [ "$(cat "$BATS_TEST_TMPDIR/wait.out")" = 143 ]
	run -0 state live
	[[ "$output" == "exited 1"[34]* ]]
	run -1 kill -0 "$pid0"
	run -0 $DOCKER rm live
}

@test "logs -f follows a restored container" {
	run -0 $DOCKER run -d --name follow busybox sh -c 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'
	kill_berthd
	start_berthd
	# following: three lines arrive one after another (head ends the follow);
	# no time limit but the hang guard
	run -0 bash -c "timeout 60 $DOCKER logs -f --tail 1 follow | head -n 3"
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[1]}" -gt "${lines[0]}" ]
	[ "${lines[2]}" -gt "${lines[1]}" ]
	run -0 $DOCKER rm -f follow
}

@test "SIGKILL while paused: the container is still paused, unpause works" {
	run -0 $DOCKER run -d --name pz busybox sleep 300
	run -0 $DOCKER pause pz
	kill_berthd
	start_berthd
	run -0 state pz
	[ "$output" = "paused 0" ]
	run -0 $DOCKER unpause pz
	run -0 $DOCKER exec pz true
	run -0 $DOCKER rm -f pz
}

@test "SIGKILL right after create: the container is there, created, and starts" {
	run -0 $DOCKER create --name c1 busybox echo from-c1
	kill_berthd
	start_berthd
	run -0 state c1
	[ "$output" = "created 0" ]
	run -0 $DOCKER start -a c1
	[ "$output" = from-c1 ]
	run -0 $DOCKER rm c1
}

@test "SIGKILL during a start: afterwards the container is consistent (created or running), no stray shim" {
	for delay in 0.02 0.06 0.12 0.2; do
		run -0 $DOCKER create --name mid busybox sleep 300
		id=$output
		timeout 30 $DOCKER start mid >/dev/null 2>&1 &
		local spid=$!
		sleep "$delay"
		kill_berthd
		# only our docker start: a bare `wait` would also wait for the berthd
		# that start_berthd left as this shell's child
		wait "$spid" || true
		start_berthd
		run -0 state mid
		case "$output" in
		"running 0")
			run -0 timeout 30 $DOCKER exec mid true
			;;
		"created 0" | "exited "*)
			# the interrupted start was undone: nothing of it runs
			[ -z "$(shims_of "$id")" ]
			run -0 timeout 30 $DOCKER start mid
			run -0 state mid
			[ "$output" = "running 0" ]
			;;
		*)
			echo "delay $delay: unexpected state $output" >&2
			false
			;;
		esac
		run -0 timeout 30 $DOCKER rm -f mid
		[ -z "$(shims_of "$id")" ]
		run -1 grep -q "$id" /proc/self/mountinfo
	done
}

@test "an exit while berthd is down is recorded (ExitCode, FinishedAt); a stopped container stays as it was" {
	run -0 $DOCKER run -d --name ex7 busybox sh -c 'sleep 1; exit 7'
	run -0 $DOCKER run --name done0 busybox true
	run -0 $DOCKER inspect -f '{{.State.FinishedAt}}' done0
	fin0=$output
	kill_berthd
	sleep 2
	back=$(date +%s.%N)
	start_berthd
	run -0 state ex7
	[ "$output" = "exited 7" ]
	run -0 $DOCKER inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}} {{.State.Pid}}' ex7
	read -r started finished pid <<<"$output"
	[ "$pid" = 0 ]
	[ "$finished" != 0001-01-01T00:00:00Z ]
	s=$(date -d "$started" +%s.%N)
	f=$(date -d "$finished" +%s.%N)
	echo "started $started finished $finished" >&2
	# the shim's time of the exit, not berthd's return (StartedAt is taken
	# after the runtime's start: a slow berthd makes the run look shorter)
	awk -v s="$s" -v f="$f" -v b="$back" 'BEGIN { d = f - s; exit !(d > 0.3 && d < 5 && f < b) }'
	run -0 $DOCKER ps -a --format '{{.Names}} {{.Status}}' --filter name=ex7
	[[ "$output" == "ex7 Exited (7) "* ]]
	run -0 $DOCKER inspect -f '{{.State.FinishedAt}}' done0
	[ "$output" = "$fin0" ]
	run -0 state done0
	[ "$output" = "exited 0" ]
	run -0 $DOCKER rm ex7 done0
}

@test "SIGKILL right after an exit: the exit is there after the restart" {
	run -0 $DOCKER run -d --name quick busybox sh -c 'exit 3'
	sleep 0.2
	kill_berthd
	start_berthd
	run -0 state quick
	[ "$output" = "exited 3" ]
	run -0 $DOCKER rm quick
}

@test "--rm containers: removed at restart when they ended, kept while they run" {
	run -0 $DOCKER run -d --rm --name rm-ends busybox sh -c 'sleep 1'
	run -0 $DOCKER run -d --rm --name rm-runs busybox sleep 300
	kill_berthd
	sleep 2
	start_berthd
	run -1 $DOCKER inspect rm-ends
	[[ "$output" == *"No such"* ]]
	run -0 state rm-runs
	[ "$output" = "running 0" ]
	# its end after the restart still removes it
	run -0 $DOCKER kill rm-runs
	for i in $(seq 50); do
		$DOCKER inspect rm-runs >/dev/null 2>&1 || break
		sleep 0.1
	done
	run -1 $DOCKER inspect rm-runs
}

@test "clean shutdown without live-restore stops the containers; restart policies at the next start" {
	# containers left by a failed test would stretch the shutdown
	ids=$($DOCKER ps -aq)
	[ -z "$ids" ] || $DOCKER rm -f $ids
	# `sleep` as PID 1 ignores SIGTERM: each stop lasts its StopTimeout, and
	# the containers are stopped in parallel (3 × 5 s would not fit otherwise)
	run -0 $DOCKER run -d --name plain --stop-timeout 5 busybox sleep 300
	run -0 $DOCKER run -d --name alw --stop-timeout 5 --restart always busybox sleep 300
	run -0 $DOCKER run -d --name unl --stop-timeout 5 --restart unless-stopped busybox sleep 300
	run -0 $DOCKER run -d --name unl-stopped --restart unless-stopped busybox sleep 300
	run -0 $DOCKER run -d --name alw-stopped --restart always busybox sleep 300
	run -0 $DOCKER stop -t 1 unl-stopped alw-stopped
	p_plain=$($DOCKER inspect -f '{{.State.Pid}}' plain)
	t0=$(date +%s%N)
	stop_berthd
	t1=$(date +%s%N)
	echo "shutdown took $(((t1 - t0) / 1000000)) ms" >&2
	[ $(((t1 - t0) / 1000000)) -lt 14000 ]
	run -1 kill -0 "$p_plain"
	start_berthd
	run -0 state plain
	[[ "$output" == "exited 137" ]]
	run -0 state alw
	[ "$output" = "running 0" ]
	run -0 state unl
	[ "$output" = "running 0" ]
	# unless-stopped stays down after a user's stop …
	run -0 state unl-stopped
	[[ "$output" == "exited "* ]]
	# … always comes back (dockerd's restore: a fresh restart manager)
	run -0 state alw-stopped
	[ "$output" = "running 0" ]
	# and a user's stop of an always container holds while berthd runs
	run -0 $DOCKER stop -t 1 alw
	sleep 0.5
	run -0 state alw
	[[ "$output" == "exited "* ]]
	run -0 $DOCKER rm -f plain alw unl unl-stopped alw-stopped
}

@test "live-restore: a clean shutdown leaves the containers running" {
	stop_berthd
	start_berthd --live-restore
	run -0 $DOCKER run -d --name lr busybox sleep 300
	pid=$($DOCKER inspect -f '{{.State.Pid}}' lr)
	stop_berthd
	kill -0 "$pid"
	start_berthd
	run -0 $DOCKER inspect -f '{{.State.Status}} {{.State.Pid}}' lr
	[ "$output" = "running $pid" ]
	run -0 $DOCKER rm -f lr
	run -1 kill -0 "$pid"
}

@test "SIGKILL during a restart back-off: the policy goes on after the restart" {
	run -0 $DOCKER run -d --name flap --restart always busybox sh -c 'sleep 0.3; exit 2'
	sleep 1.2
	kill_berthd
	sleep 0.5
	start_berthd
	for i in $(seq 50); do
		s=$(state flap)
		[[ "$s" == running* || "$s" == restarting* ]] && break
		sleep 0.1
	done
	[[ "$s" == running* || "$s" == restarting* ]]
	run -0 $DOCKER rm -f flap
}

@test "no leftovers: the state dirs and mounts of removed containers are gone" {
	ids=$($DOCKER ps -aq)
	[ -z "$ids" ] || $DOCKER rm -f $ids
	run -0 bash -c "ls '$BERTHD_EXEC/containers' 2>/dev/null | wc -l"
	[ "$output" = 0 ]
	run -1 grep -q "$BERTHD_DATA/.*merged" /proc/self/mountinfo
}
