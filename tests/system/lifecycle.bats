#!/usr/bin/env bats
# tests/system/lifecycle.bats — the container lifecycle beyond start/stop,
# through the real docker CLI 28 against a private berthd:
#   restart policies (no / always / unless-stopped / on-failure[:N], Docker's
#   back-off, RestartCount, a user's stop ends them), HEALTHCHECK (status,
#   FailingStreak, Log, start period, timeout, events, ps), --init (PID 1,
#   zombies reaped, SIGTERM forwarded), pause / unpause, update (resources and
#   the restart policy of a running container), container prune (until,
#   label), rename, and the wait conditions.

load daemon-helpers

DOCKER=/usr/local/bin/docker

setup_file() {
	start_berthd
	load_busybox
}

teardown_file() {
	teardown_berthd
}

# poll N CMD... — run CMD until it succeeds, at most N times, 0.1 s apart.
poll() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "poll: '$*' never succeeded" >&2
	return 1
}

insp() {
	$DOCKER inspect -f "$1" "$2"
}

is() { # is FORMAT NAME WANT — insp equals WANT
	[ "$(insp "$1" "$2")" = "$3" ]
}

at_least() { # at_least FORMAT NAME N — insp (a number) is N or more
	[ "$(insp "$1" "$2")" -ge "$3" ]
}

# cg_file ID FILE — the host path of a cgroup v1 memory/cpu file, or the v2 one.
cg_file() {
	local f
	for f in /sys/fs/cgroup/*"$BERTHD_CG_PARENT/$1/$2" /sys/fs/cgroup"$BERTHD_CG_PARENT/$1/$2"; do
		[ -e "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# ---------------------------------------------------------- restart policies

@test "restart no: an exit stays an exit" {
	run -0 $DOCKER run -d --name rno busybox sh -c 'exit 4'
	poll 50 is '{{.State.Status}}' rno exited
	sleep 0.5
	run -0 insp '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' rno
	[ "$output" = "exited 4 0" ]
	run -0 $DOCKER rm rno
}

@test "restart always: Docker's back-off, RestartCount; docker stop ends it for good; start resets the count" {
	run -0 $DOCKER run -d --name ral --restart always busybox sh -c 'sleep 0.2; exit 1'
	sleep 2.5
	n=$(insp '{{.RestartCount}}' ral)
	# runs of 0.2 s, back-off 100, 200, 400, 800 ms … : about 4 restarts in
	# 2.5 s (without a back-off: a dozen)
	[ "$n" -ge 2 ] && [ "$n" -le 7 ]
	run -0 $DOCKER stop -t 1 ral
	run -0 insp '{{.State.Status}}' ral
	[ "$output" = exited ]
	n=$(insp '{{.RestartCount}}' ral)
	sleep 1.5
	run -0 insp '{{.State.Status}} {{.RestartCount}}' ral
	[ "$output" = "exited $n" ]
	# a user's start begins a new restart history (dockerd resets the count)
	run -0 $DOCKER start ral
	run -0 insp '{{.RestartCount}}' ral
	[ "$output" -le 1 ]
	run -0 $DOCKER rm -f ral
}

@test "restart always: a long run resets the back-off; the process restarts with the same config" {
	run -0 $DOCKER run -d --name rlong --restart always busybox sh -c 'echo run; sleep 0.3'
	poll 50 is '{{.RestartCount}}' rlong 2
	run -0 $DOCKER logs rlong
	[ "${lines[0]}" = run ] && [ "${lines[1]}" = run ]
	run -0 $DOCKER rm -f rlong
}

@test "restart on-failure: exit 0 ends it, exit 1 restarts up to the maximum" {
	run -0 $DOCKER run -d --name rof0 --restart on-failure busybox true
	poll 50 is '{{.State.Status}}' rof0 exited
	sleep 0.4
	run -0 insp '{{.State.Status}} {{.RestartCount}}' rof0
	[ "$output" = "exited 0" ]
	run -0 $DOCKER run -d --name rof3 --restart on-failure:3 busybox sh -c 'exit 5'
	poll 80 is '{{.RestartCount}} {{.State.Status}}' rof3 "3 exited"
	sleep 0.5
	run -0 insp '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' rof3
	[ "$output" = "3 exited 5" ]
	run -0 $DOCKER rm rof0 rof3
}

@test "restart: docker kill and docker rm -f of a restarting container end it" {
	run -0 $DOCKER run -d --name rk --restart always busybox sleep 300
	run -0 $DOCKER kill rk
	sleep 0.5
	run -0 insp '{{.State.Status}} {{.RestartCount}}' rk
	[ "$output" = "exited 0" ]
	run -0 $DOCKER run -d --name rrm --restart always busybox sh -c 'sleep 0.2; exit 1'
	sleep 1
	run -0 $DOCKER rm -f rrm
	run -1 $DOCKER inspect rrm
	run -0 $DOCKER rm rk
}

@test "update --restart on a running container takes effect at its exit" {
	run -0 $DOCKER run -d --name rup busybox sh -c 'sleep 1; exit 3'
	run -0 $DOCKER update --restart on-failure:1 rup
	run -0 insp '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' rup
	[ "$output" = "on-failure 1" ]
	poll 60 is '{{.RestartCount}}' rup 1
	poll 60 is '{{.State.Status}}' rup exited
	run -0 $DOCKER update --restart always rup
	run -125 $DOCKER run -d --rm --name rup2 --restart always busybox true
	run -0 $DOCKER run -d --rm --name rup3 busybox sleep 300
	run -1 $DOCKER update --restart always rup3
	[[ "$output" == *"AutoRemove"* ]]
	run -0 $DOCKER rm -f rup rup3
}

# ------------------------------------------------------------- healthcheck

@test "health: starting → unhealthy → healthy, FailingStreak, Log, ps, events" {
	since=$(date +%s)
	# the probe waits for /tmp/go, so the container stays "starting" until the
	# test says so (no race with a loaded machine); then it fails until /tmp/ok
	run -0 $DOCKER run -d --name hc --health-interval 300ms --health-timeout 120s --health-retries 2 \
		--health-cmd 'until [ -e /tmp/go ]; do sleep 0.1; done; test -e /tmp/ok' busybox sleep 300
	run -0 insp '{{.State.Health.Status}}' hc
	[ "$output" = starting ]
	run -0 $DOCKER ps --format '{{.Status}}' --filter name=hc
	[[ "$output" == *"(health: starting)" ]]
	run -0 $DOCKER exec hc touch /tmp/go
	poll 30 is '{{.State.Health.Status}}' hc unhealthy
	run -0 insp '{{.State.Health.FailingStreak}}' hc
	[ "$output" -ge 2 ]
	run -0 $DOCKER ps --format '{{.Status}}' --filter name=hc
	[[ "$output" == *"(unhealthy)" ]]
	run -0 $DOCKER ps -q --filter health=unhealthy
	[ -n "$output" ]
	run -0 $DOCKER exec hc touch /tmp/ok
	poll 40 is '{{.State.Health.Status}}' hc healthy
	run -0 insp '{{.State.Health.FailingStreak}} {{len .State.Health.Log}}' hc
	read -r streak nlog <<<"$output"
	[ "$streak" = 0 ] && [ "$nlog" -le 5 ] && [ "$nlog" -ge 3 ]
	run -0 insp '{{range .State.Health.Log}}{{.ExitCode}}{{end}}' hc
	[[ "$output" == *10 || "$output" == *100 || "$output" == *0 ]]
	run -0 $DOCKER ps --format '{{.Status}}' --filter name=hc
	[[ "$output" == *"(healthy)" ]]
	run -0 $DOCKER events --since "$since" --until "$(($(date +%s) + 1))" --filter container=hc \
		--filter event=health_status --format '{{.Action}}'
	[[ "$output" == *"health_status: unhealthy"* ]]
	[[ "$output" == *"health_status: healthy"* ]]
	run -0 $DOCKER rm -f hc
}

@test "health: failures inside the start period do not count; a probe timeout fails" {
	run -0 $DOCKER run -d --name hsp --health-cmd false --health-interval 200ms \
		--health-retries 1 --health-start-period 30s busybox sleep 300
	poll 300 at_least '{{len .State.Health.Log}}' hsp 2
	run -0 insp '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' hsp
	[ "$output" = "starting 0" ]
	run -0 $DOCKER run -d --name hto --health-cmd 'sleep 5' --health-interval 200ms \
		--health-timeout 300ms --health-retries 1 busybox sleep 300
	poll 40 is '{{.State.Health.Status}}' hto unhealthy
	run -0 insp '{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}' hto
	[ "$output" = "-1 Health check exceeded timeout (300ms)" ]
	run -0 $DOCKER rm -f hsp hto
}

@test "health: a Healthcheck given in the API config (no HEALTHCHECK in the image); --no-healthcheck" {
	run -0 api POST /containers/create?name=hapi -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Cmd":["sleep","300"],"Healthcheck":{"Test":["CMD","true"],"Interval":200000000,"Retries":1}}'
	run -0 $DOCKER start hapi
	poll 30 is '{{.State.Health.Status}}' hapi healthy
	run -0 insp '{{json .Config.Healthcheck.Test}}' hapi
	[ "$output" = '["CMD","true"]' ]
	run -0 $DOCKER run -d --name hnone --no-healthcheck busybox sleep 300
	run -0 insp '{{if .State.Health}}has{{else}}none{{end}}' hnone
	[ "$output" = none ]
	run -0 $DOCKER rm -f hapi hnone
}

@test "health: a restart starts over as starting; a stopped container keeps its last Health" {
	# /gate is a tmpfs, empty again after the restart: the probe then waits
	# there, so "starting" is seen whatever the machine's load
	run -0 $DOCKER run -d --name hrs --tmpfs /gate --health-interval 200ms --health-timeout 120s \
		--health-cmd 'until [ -e /gate/ok ]; do sleep 0.1; done' busybox sleep 300
	run -0 $DOCKER exec hrs touch /gate/ok
	poll 30 is '{{.State.Health.Status}}' hrs healthy
	run -0 $DOCKER restart -t 0 hrs
	run -0 insp '{{.State.Health.Status}}' hrs
	[ "$output" = starting ]
	run -0 $DOCKER exec hrs touch /gate/ok
	poll 30 is '{{.State.Health.Status}}' hrs healthy
	run -0 $DOCKER stop -t 0 hrs
	run -0 insp '{{.State.Status}} {{.State.Health.Status}}' hrs
	[ "$output" = "exited healthy" ]
	run -0 $DOCKER rm -f hrs
}

# ------------------------------------------------------------------- --init

@test "--init: berth-init is PID 1, reaps zombies, forwards SIGTERM (quick stop)" {
	# bind-mounted into a busybox rootfs, it must be static: a sanitizer
	# build links it against libasan, which the container does not have
	if ldd "$BERTH_BUILD/src/init/berth-init" >/dev/null 2>&1; then
		skip "berth-init is dynamically linked (sanitizer build)"
	fi
	run -0 timeout 30 $DOCKER run --rm --init busybox ps -o pid,comm
	[[ "$output" == *"1 docker-init"* || "$output" == *"1 berth-init"* ]]
	# an orphan re-parented to PID 1 is reaped: no zombie afterwards
	run -0 timeout 30 $DOCKER run --rm --init busybox sh -c '(sleep 0.2 &); sleep 1; ps -o stat,comm'
	[[ "$output" != *"Z "* ]]
	run -0 $DOCKER run -d --init --name isl busybox sleep 300
	t0=$(date +%s%N)
	run -0 $DOCKER stop isl
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 3000 ]
	run -0 insp '{{.State.ExitCode}}' isl
	[ "$output" = 143 ]
	run -0 $DOCKER rm isl
}

# -------------------------------------------------- pause / update / prune

@test "pause / unpause: state, ps, the process is frozen and goes on" {
	run -0 $DOCKER run -d --name pz busybox sh -c 'i=0; while true; do i=$((i+1)); echo $i >/tmp/n; sleep 0.1; done'
	sleep 0.3
	run -0 $DOCKER pause pz
	run -0 insp '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' pz
	[ "$output" = "paused true true" ]
	run -0 $DOCKER ps --format '{{.Status}}' --filter name=pz
	[[ "$output" == *"(Paused)" ]]
	run -1 $DOCKER pause pz
	[[ "$output" == *"already paused"* ]]
	run -0 $DOCKER unpause pz
	run -1 $DOCKER unpause pz
	[[ "$output" == *"not paused"* ]]
	a=$($DOCKER exec pz cat /tmp/n)
	sleep 0.5
	b=$($DOCKER exec pz cat /tmp/n)
	[ "$b" -gt "$a" ]
	# a paused container stops (dockerd thaws it for the signal)
	run -0 $DOCKER pause pz
	run -0 $DOCKER stop -t 1 pz
	run -0 insp '{{.State.Status}}' pz
	[ "$output" = exited ]
	run -0 $DOCKER rm pz
}

@test "update: memory and cpus of a running container reach its cgroup" {
	run -0 $DOCKER run -d --name up busybox sleep 300
	id=$(insp '{{.Id}}' up)
	run -0 $DOCKER update --memory 64m --memory-swap 128m --cpus 0.5 up
	run -0 insp '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}}' up
	[ "$output" = "67108864 134217728 500000000" ]
	if f=$(cg_file "$id" memory.limit_in_bytes); then
		[ "$(cat "$f")" = 67108864 ]
		f=$(cg_file "$id" cpu.cfs_quota_us)
		[ "$(cat "$f")" = 50000 ]
	else
		f=$(cg_file "$id" memory.max)
		[ "$(cat "$f")" = 67108864 ]
	fi
	# a stopped container takes the update for its next start
	run -0 $DOCKER stop -t 0 up
	run -0 $DOCKER update --memory 96m --memory-swap 192m up
	run -0 $DOCKER start up
	if f=$(cg_file "$id" memory.limit_in_bytes); then
		[ "$(cat "$f")" = 100663296 ]
	fi
	run -0 $DOCKER rm -f up
}

@test "container prune: only stopped ones, filters until and label" {
	run -0 $DOCKER run --name pr-old --label keep=no busybox true
	sleep 2
	cut=$(date +%s)
	run -0 $DOCKER run --name pr-new --label keep=no busybox true
	run -0 $DOCKER run --name pr-keep --label keep=yes busybox true
	run -0 $DOCKER run -d --name pr-run --label keep=no busybox sleep 300
	run -0 $DOCKER container prune -f --filter until="$cut"
	[[ "$output" == *"$(insp '{{.Id}}' pr-new 2>/dev/null || true)"* ]] || true
	run -1 $DOCKER inspect pr-old
	run -0 $DOCKER inspect pr-new
	run -0 $DOCKER container prune -f --filter label=keep=no
	run -1 $DOCKER inspect pr-new
	run -0 $DOCKER inspect pr-keep
	run -0 $DOCKER inspect pr-run
	run -0 $DOCKER container prune -f --filter label!=keep=yes
	run -0 $DOCKER inspect pr-keep
	run -0 $DOCKER rm -f pr-keep pr-run
}

@test "rename: a running container, the old name is free, conflicts refused" {
	run -0 $DOCKER run -d --name rn1 busybox sleep 300
	run -0 $DOCKER run -d --name rn2 busybox sleep 300
	run -1 $DOCKER rename rn1 rn2
	[[ "$output" == *"is already in use"* ]]
	run -0 $DOCKER rename rn1 rn3
	run -1 $DOCKER inspect rn1
	run -0 insp '{{.Name}} {{.State.Status}}' rn3
	[ "$output" = "/rn3 running" ]
	run -0 $DOCKER run -d --name rn1 busybox true
	run -0 $DOCKER exec rn3 true
	run -0 $DOCKER rm -f rn1 rn2 rn3
}

@test "wait: not-running, next-exit and removed conditions" {
	run -0 $DOCKER run -d --name w1 busybox sh -c 'sleep 0.5; exit 6'
	run -0 timeout 20 $DOCKER wait w1
	[ "$output" = 6 ]
	# not-running on an exited container answers at once
	run -0 api POST '/containers/w1/wait?condition=not-running'
	[[ "$output" == *'"StatusCode":6'* ]]
	# next-exit waits for the next run's end
	api POST '/containers/w1/wait?condition=next-exit' >"$BATS_TEST_TMPDIR/next" &
	wpid=$!
	sleep 0.3
	kill -0 "$wpid"
	run -0 $DOCKER start w1
	wait "$wpid"
	grep -q '"StatusCode":6' "$BATS_TEST_TMPDIR/next"
	# removed: answers when the --rm container is gone
	run -0 $DOCKER run -d --rm --name w2 busybox sh -c 'sleep 0.5; exit 2'
	run -0 timeout 20 curl -sS --unix-socket "$BERTHD_SOCK" -X POST 'http://localhost/containers/w2/wait?condition=removed'
	[[ "$output" == *'"StatusCode":2'* ]]
	run -1 $DOCKER inspect w2
	run -0 $DOCKER rm w1
}
