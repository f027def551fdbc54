#!/usr/bin/env bats
# container-ops.bats — top, stats, docker cp (both ways), changes, export
# against a private berthd, with the docker CLI 28 as client.

load daemon-helpers

setup_file() {
	start_berthd
	load_busybox
	docker run -d --name op1 busybox sleep 1000
}

teardown_file() {
	teardown_berthd
}

@test "top: dockerd's ps -ef titles and the container's processes only" {
	run -0 docker top op1
	[[ "${lines[0]}" == UID*PID*PPID*C*STIME*TTY*TIME*CMD ]]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == *"sleep 1000"* ]]
	run -0 docker top op1 -o pid,comm
	[[ "${lines[0]}" == PID*COMMAND ]]
	[[ "${lines[1]}" == *sleep ]]
	docker create --name op-stopped busybox true
	run docker top op-stopped
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not running"* ]]
	docker rm op-stopped
}

@test "stats: one-shot and two-sample JSON with Docker's keys" {
	run -0 api GET "/containers/op1/stats?stream=false"
	for k in read preread pids_stats blkio_stats num_procs storage_stats cpu_stats precpu_stats memory_stats name id; do
		jq -e "has(\"$k\")" <<<"$output" >/dev/null
	done
	[ "$(jq -r .name <<<"$output")" = /op1 ]
	[ "$(jq -r .pids_stats.current <<<"$output")" -ge 1 ]
	[ "$(jq -r .cpu_stats.system_cpu_usage <<<"$output")" -gt "$(jq -r .precpu_stats.system_cpu_usage <<<"$output")" ]
	[ "$(jq -r .memory_stats.usage <<<"$output")" -gt 0 ]
	run -0 api GET "/containers/op1/stats?stream=false&one-shot=true"
	[ "$(jq -r .preread <<<"$output")" = 0001-01-01T00:00:00Z ]
	run -0 docker stats --no-stream --format '{{.Name}} {{.PIDs}}' op1
	[ "$output" = "op1 1" ]
}

@test "stats: live mode streams samples, redraws, and shows a stopped container as --" {
	docker run -d --name op-live busybox sleep 2
	run timeout 5 "$BERTH_BUILD/src/cli/berth" stats --format '{{.Name}} {{.PIDs}}' op1 op-live
	[ "$status" -eq 124 ] # still redrawing when timeout stops it
	[ "$(grep -c 'op1 1' <<<"$output")" -ge 5 ]
	grep -q 'op-live 1' <<<"$output"
	grep -q 'op-live --' <<<"$output"
	run timeout 5 "$BERTH_BUILD/src/cli/berth" stats nosuchctr
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such container: nosuchctr"* ]]
	docker rm op-live
}

@test "cp: out of the container, stat header, missing path" {
	d=$BATS_TEST_TMPDIR
	run -0 docker cp op1:/etc/passwd "$d/passwd"
	grep -q '^root:' "$d/passwd"
	run -0 docker cp op1:/etc "$d/etc"
	[ -f "$d/etc/passwd" ]
	run -0 bash -c "curl -sSI --unix-socket '$BERTHD_SOCK' 'http://x/containers/op1/archive?path=/bin/sh' | grep -i x-docker-container-path-stat"
	stat=$(echo "$output" | cut -d' ' -f2 | tr -d '\r' | base64 -d)
	[ "$(jq -r .name <<<"$stat")" = sh ]
	[ "$(jq -r .linkTarget <<<"$stat")" = /bin/busybox ]
	# GET streams the tar (chunked, no spooling) with the stat header too
	run -0 curl -sS -D "$d/h" -o "$d/bb.tar" --unix-socket "$BERTHD_SOCK" 'http://x/containers/op1/archive?path=/bin/busybox'
	grep -qi '^transfer-encoding: chunked' "$d/h"
	stat=$(grep -i '^x-docker-container-path-stat: ' "$d/h" | cut -d' ' -f2 | tr -d '\r' | base64 -d)
	[ "$(jq -r .name <<<"$stat")" = busybox ]
	[ "$(tar -xOf "$d/bb.tar" busybox | wc -c)" = "$(jq -r .size <<<"$stat")" ]
	run docker cp op1:/nope "$d/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Could not find the file /nope in container op1"* ]]
}

@test "cp: into the container, a stopped one too, and the errors" {
	d=$BATS_TEST_TMPDIR
	echo hi >"$d/f"
	chown 1234:1234 "$d/f"
	run -0 docker cp "$d/f" op1:/tmp/
	run -0 docker exec op1 stat -c '%u:%g %s' /tmp/f
	[ "$output" = "1234:1234 3" ]
	mkdir -p "$d/dir/sub" && echo x >"$d/dir/sub/y"
	run -0 docker cp "$d/dir" op1:/tmp/dir
	run -0 docker exec op1 cat /tmp/dir/sub/y
	[ "$output" = x ]
	run docker cp "$d/f" op1:/etc/passwd/x
	[ "$status" -ne 0 ]
	docker create --name op2 busybox true
	run -0 docker cp "$d/f" op2:/f
	run -0 docker cp op2:/f "$d/back"
	[ "$(cat "$d/back")" = hi ]
	docker rm op2
}

@test "changes and export" {
	docker run --name op3 busybox sh -c 'echo a >/newfile; rm /etc/group'
	run -0 docker diff op3
	[[ "$output" == *"A /newfile"* ]]
	[[ "$output" == *"D /etc/group"* ]]
	run -0 bash -c "docker export op3 | tar tf -"
	[[ "$output" == *newfile* ]]
	[[ "$output" == *bin/busybox* ]]
	docker rm op3
}
