#!/usr/bin/env bats
# The short `run` path (issue 4, perf-run): with its own runtime, berth-runc,
# berthd's shim starts the container by writing the runtime's exec.fifo itself
# instead of running `berth-runc start`; any other runtime (and a failed
# write) still goes through the runtime's `start`. The runtime here is a
# wrapper that records each command it is given, then runs berth-runc.

load daemon-helpers

setup_file() {
	RT_LOG=$BATS_FILE_TMPDIR/runtime-commands
	RT_WRAP=$BATS_FILE_TMPDIR/berth-runc
	# a command line is "--root R --log L --log-format json <command> …"
	cat >"$RT_WRAP" <<-EOF
		#!/bin/sh
		for a; do case "\$a" in create|start|delete|kill|state|exec) echo "\$a" >>"$RT_LOG"; break ;; esac; done
		exec "$BERTH_BUILD/src/berth-runc" "\$@"
	EOF
	chmod +x "$RT_WRAP"
	export RT_LOG RT_WRAP
	# the same wrapper under another name: not "our" runtime for berthd
	printf '{"runtimes": {"wrapped": {"path": "%s"}}}\n' "$RT_WRAP" >"$BATS_FILE_TMPDIR/daemon.json"
	BERTH_RUNC=$RT_WRAP start_berthd
	load_busybox
}

teardown_file() { teardown_berthd; }

berth() { timeout --foreground -k 5 60 "$BERTH_BUILD/src/cli/berth" "$@"; }

@test "run --rm: output and exit code, no runtime start, nothing left" {
	: >"$RT_LOG"
	run berth run --rm busybox sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *out* ]] && [[ "$output" == *err* ]]
	run cat "$RT_LOG"
	[[ "$output" == *create* ]]
	[[ "$output" != *start* ]]
	run berth ps -aq
	[ -z "$output" ]
	# the runtime's delete runs in the shim after its reply: wait for it
	# (its root keeps only the seccomp cache, a dot name)
	for _ in $(seq 100); do
		[ -z "$(ls "$BERTHD_EXEC/runtime/berth-runc")" ] && break
		sleep 0.1
	done
	run ls "$BERTHD_EXEC/runtime/berth-runc"
	[ -z "$output" ]
}

@test "a directly started container is running for the runtime and for inspect" {
	id=$(berth run -d busybox sleep 300)
	run "$BERTH_BUILD/src/berth-runc" --root "$BERTHD_EXEC/runtime/berth-runc" state "$id"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"status": "running"'* ]]
	[ ! -e "$BERTHD_EXEC/runtime/berth-runc/$id/exec.fifo" ]
	run berth inspect -f '{{.State.Status}} {{.State.Running}}' "$id"
	[ "$output" = "running true" ]
	# stop, start again (a new create and a new fifo), then remove
	berth stop -t 1 "$id"
	berth start "$id"
	run berth inspect -f '{{.State.Status}}' "$id"
	[ "$output" = running ]
	berth rm -f "$id"
}

@test "start -a and restart of a directly started container" {
	id=$(berth create busybox echo again)
	run berth start -a "$id"
	[ "$status" -eq 0 ]
	[ "$output" = again ]
	run berth start -a "$id"
	[ "$output" = again ]
	run berth logs "$id"
	[ "$output" = $'again\nagain' ]
	berth rm "$id"
}

@test "another runtime is started with its own start command" {
	: >"$RT_LOG"
	# the CLI has no --runtime (docker's is not in berth's run yet): the API's HostConfig.Runtime
	run api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Cmd":["echo","hi"],"HostConfig":{"Runtime":"wrapped"}}'
	id=$(echo "$output" | sed -n 's/.*"Id": *"\([0-9a-f]*\)".*/\1/p')
	[ -n "$id" ]
	run berth start -a "$id"
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	run cat "$RT_LOG"
	[[ "$output" == *create*start* ]]
	berth rm "$id"
}
