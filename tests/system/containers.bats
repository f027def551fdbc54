#!/usr/bin/env bats
# tests/system/containers.bats — the container manager through a real berthd
# and the real docker CLI 28: create / start / run / attach / logs / inspect /
# ps / stop / kill / wait / rm / rename / restart policies, and bad input
# (a name in use, no such image, bad JSON, command not found / not executable,
# stop of a stopped container, rm of a running one).

load daemon-helpers

DOCKER=/usr/local/bin/docker

setup_file() {
	start_berthd
	load_busybox
}

teardown_file() {
	teardown_berthd
}

@test "run: output, exit code, --rm" {
	run -0 timeout 30 $DOCKER run --rm busybox echo hello
	[ "$output" = hello ]
	run -3 timeout 30 $DOCKER run --rm busybox sh -c 'exit 3'
	run -0 $DOCKER ps -aq --filter status=exited
}

@test "run on a --bridge none daemon: a namespace with only lo, and lo is up (as dockerd's sandbox)" {
	run -0 timeout 30 $DOCKER run --rm busybox ip -o link
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[[ $output == *"lo: <LOOPBACK,UP"* ]]
	run -0 timeout 30 $DOCKER run --rm busybox ping -c1 -W2 127.0.0.1
}

@test "run --rm leaves nothing: record, layer, mount, runtime state, cgroups" {
	# The shim removes the runtime's state and the store the writable layer
	# after the wait has been answered (off the run's path): both must still
	# happen, soon. (berth-runc's .seccomp/ is its cache of compiled seccomp
	# programs, one file per distinct profile, kept on purpose.)
	run -0 timeout 30 $DOCKER run --rm --name gone busybox true
	run -1 $DOCKER inspect gone
	local i left
	for i in $(seq 50); do
		left=$(find "$BERTHD_EXEC/runtime" -mindepth 2 -not -path '*/.seccomp' -not -path '*/.seccomp/*' 2>/dev/null
			find "$BERTHD_DATA/tmp" "$BERTHD_DATA/containers" -mindepth 1 2>/dev/null
			find /sys/fs/cgroup -maxdepth 3 -path "*${BERTHD_CG_PARENT#/}/*" -type d 2>/dev/null)
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
	! grep -q "$BERTHD_DATA/containers" /proc/self/mountinfo
}

@test "run -d, ps, inspect, logs, stop" {
	run -0 $DOCKER run -d --name web busybox sh -c 'echo started; echo oops >&2; sleep 300'
	id=$output
	[ ${#id} -eq 64 ]
	run -0 $DOCKER inspect -f '{{.State.Status}} {{.Name}} {{.Config.Hostname}}' web
	[ "$output" = "running /web ${id:0:12}" ]
	run -0 $DOCKER ps --format '{{.Names}} {{.Status}}'
	[[ "$output" == *"web Up "* ]]
	sleep 0.5
	run -0 $DOCKER logs web
	[[ "$output" == *started* ]]
	run -0 --separate-stderr $DOCKER logs web
	[ "$output" = started ]
	[ "$stderr" = oops ]
	run -0 $DOCKER stop -t 1 web
	run -0 $DOCKER inspect -f '{{.State.Status}} {{.State.ExitCode}}' web
	[ "$output" = "exited 137" ] || [ "$output" = "exited 143" ]
	run -0 $DOCKER ps -a --format '{{.Status}}' --filter name=web
	[[ "$output" == "Exited ("* ]]
	# stopping a stopped container: 304, which the CLI takes as success
	run -0 api POST /containers/web/stop -o /dev/null -w '%{http_code}'
	[ "$output" = 304 ]
	run -0 $DOCKER rm web
}

@test "a name in use: 409 with Docker's message" {
	run -0 $DOCKER create --name dup busybox true
	run -1 $DOCKER create --name dup busybox true
	[[ "$output" == *'Conflict. The container name "/dup" is already in use by container'* ]]
	run -0 $DOCKER rm dup
}

@test "bad input: no such image, bad name, malformed JSON" {
	run -0 api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"nope"}' -w ' %{http_code}'
	[[ "$output" == *'No such image: nope:latest'*' 404' ]]
	run -0 api POST '/containers/create?name=-x' -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["true"]}' -w ' %{http_code}'
	[[ "$output" == *'Invalid container name (-x)'*' 400' ]]
	run -0 api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":' -w ' %{http_code}'
	[[ "$output" == *' 400' ]]
	run -0 $DOCKER ps -aq
	[ -z "$output" ]
}

@test "command not found: 127; not executable: 126; left created" {
	run -127 timeout 30 $DOCKER run --name nf busybox /nonexistent
	run -0 $DOCKER inspect -f '{{.State.Status}}' nf
	[ "$output" = created ]
	run -126 timeout 30 $DOCKER run --rm busybox /etc/passwd
	run -0 $DOCKER rm nf
}

@test "rm of a running container: 409; rm -f works" {
	run -0 $DOCKER run -d --name busy busybox sleep 300
	run -1 $DOCKER rm busy
	[[ "$output" == *"You cannot remove a running container"* ]]
	run -0 $DOCKER rm -f busy
	run -1 $DOCKER inspect busy
}

@test "kill, wait, rename, restart" {
	run -0 $DOCKER run -d --name k1 busybox sleep 300
	run -0 $DOCKER kill k1
	run -0 timeout 10 $DOCKER wait k1
	[ "$output" = 137 ]
	run -1 $DOCKER kill k1
	[[ "$output" == *"is not running"* ]]
	run -0 $DOCKER rename k1 k2
	run -0 $DOCKER inspect -f '{{.Name}}' k2
	[ "$output" = /k2 ]
	run -0 $DOCKER restart -t 1 k2
	run -0 $DOCKER inspect -f '{{.State.Running}}' k2
	[ "$output" = true ]
	run -0 $DOCKER rm -f k2
}

@test "restart policy on-failure:2 and AutoRemove" {
	run -0 $DOCKER run -d --name rp --restart on-failure:2 busybox sh -c 'exit 1'
	for i in $(seq 50); do
		c=$($DOCKER inspect -f '{{.RestartCount}} {{.State.Status}}' rp)
		[ "$c" = "2 exited" ] && break
		sleep 0.2
	done
	[ "$c" = "2 exited" ]
	run -0 $DOCKER rm rp
	run -0 $DOCKER run -d --rm --name gone busybox true
	for i in $(seq 50); do
		$DOCKER inspect gone >/dev/null 2>&1 || break
		sleep 0.1
	done
	run -1 $DOCKER inspect gone
}

@test "attach with stdin, tty off: multiplexed output" {
	run -0 bash -c "echo piped | timeout 30 $DOCKER run -i --rm busybox cat"
	[ "$output" = piped ]
}
