#!/usr/bin/env bats
# exec.bats — docker exec against a private berthd (the docker CLI 28 as client):
# output, exit codes (126 for a start failure, as dockerd 20.10), user, env,
# workdir, stdin, detached exec, inspect, 409s, events.

load daemon-helpers

setup_file() {
	start_berthd
	load_busybox
	docker run -d --name ex1 busybox sleep 1000
}

teardown_file() {
	teardown_berthd
}

# japi METHOD PATH [JSON]: an API call with a JSON body.
japi() {
	api "$1" "$2" -H 'Content-Type: application/json' -d "${3:-{\}}"
}

@test "exec: output and exit code" {
	run -0 docker exec ex1 echo hello
	[ "$output" = "hello" ]
	run -3 docker exec ex1 sh -c 'echo err >&2; exit 3'
	[ "$output" = "err" ]
}

@test "exec: no output is lost, the first bytes nor more than a pipe holds, tty too" {
	local n # (not i: bats' run uses that name)
	for n in 1 2 3; do
		run -0 docker exec ex1 echo "quick-$n"
		[ "$output" = "quick-$n" ]
	done
	# ~190 KB: more than the pipe holds before the client is attached
	run -0 docker exec ex1 seq 1 30000
	[ "${#lines[@]}" -eq 30000 ]
	[ "${lines[0]}" = 1 ] && [ "${lines[29999]}" = 30000 ]
	run -0 docker exec -t ex1 echo tty-out
	[ "$(tr -d '\r' <<<"$output")" = tty-out ]
}

@test "exec: a missing binary exits 126 with the runtime's message" {
	run -126 docker exec ex1 nope-not-here
	[[ "$output" == *"OCI runtime exec failed"* ]]
	[[ "$output" == *nope-not-here* ]]
}

@test "exec: user, env, workdir" {
	run -0 docker exec -u 1000:1000 -w /tmp -e FOO=bar ex1 sh -c 'id -u; id -g; pwd; echo $FOO'
	[ "${lines[0]}" = 1000 ] && [ "${lines[1]}" = 1000 ]
	[ "${lines[2]}" = /tmp ] && [ "${lines[3]}" = bar ]
	run -0 docker exec -u nobody ex1 id -u
	[ "$output" = 65534 ]
	run -126 docker exec -u nosuch ex1 id
	[[ "$output" == *"unable to find user nosuch: no matching entries in passwd file"* ]]
}

@test "exec: stdin" {
	run -0 bash -c 'echo piped | docker exec -i ex1 cat'
	[ "$output" = piped ]
}

@test "exec: detached, inspect, ExecIDs, second start is a 409" {
	id=$(japi POST /containers/ex1/exec '{"Cmd":["sleep","2"]}' | jq -r .Id)
	[ ${#id} -eq 64 ]
	run -0 api GET /exec/$id/json
	[ "$(jq -r .Running <<<"$output")" = false ]
	[ "$(jq -r .ExitCode <<<"$output")" = null ]
	[ "$(jq -r .ProcessConfig.entrypoint <<<"$output")" = sleep ]
	japi POST /exec/$id/start '{"Detach":true}'
	run -0 api GET /exec/$id/json
	[ "$(jq -r .Running <<<"$output")" = true ]
	[ "$(jq -r .Pid <<<"$output")" -gt 0 ]
	docker inspect -f '{{json .ExecIDs}}' ex1 | grep -q "$id"
	run japi POST /exec/$id/start '{"Detach":true}'
	[[ "$output" == *"is already running"* ]]
	sleep 3
	run -0 api GET /exec/$id/json
	[ "$(jq -r .Running <<<"$output")" = false ]
	[ "$(jq -r .ExitCode <<<"$output")" = 0 ]
}

@test "exec: errors" {
	run japi POST /containers/nope/exec '{"Cmd":["true"]}'
	[[ "$output" == *"No such container: nope"* ]]
	run japi POST /containers/ex1/exec '{}'
	[[ "$output" == *"No exec command specified"* ]]
	run api GET /exec/0123/json
	[[ "$output" == *"No such exec instance: 0123"* ]]
	docker create --name ex2 busybox true
	run docker exec ex2 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not running"* ]]
	docker rm ex2
}

@test "exec: events" {
	since=$(date +%s)
	docker exec ex1 true
	run -0 docker events --since "$since" --until "$(($(date +%s) + 1))" --format '{{.Action}} {{.Actor.Attributes.exitCode}}'
	[[ "$output" == *"exec_create: true"* ]]
	[[ "$output" == *"exec_start: true"* ]]
	[[ "$output" == *"exec_die 0"* ]]
}
