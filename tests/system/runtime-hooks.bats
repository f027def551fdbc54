#!/usr/bin/env bats
# berth-runc hooks: all six kinds run at their point of the lifecycle, in
# the right namespace, with the state JSON on stdin, their args and env; a
# failing or timed-out create hook fails create and leaves nothing behind.

load helpers

setup() {
	berth_setup
	HOOKS=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HOOKS"
	# The host-side hook: $1 names the kind.  Writes the state it got on
	# stdin, its mount namespace, an env variable and the order of calls.
	cat >"$BATS_TEST_TMPDIR/hook.sh" <<EOF
#!/bin/sh
cat > "$HOOKS/\$1.json"
readlink /proc/self/ns/mnt > "$HOOKS/\$1.mnt"
echo "\$HOOKVAR" > "$HOOKS/\$1.env"
echo "\$1" >> "$HOOKS/order"
EOF
	chmod +x "$BATS_TEST_TMPDIR/hook.sh"
}

# host_hook KIND — a hook entry running hook.sh KIND
host_hook() {
	jq -n -c --arg p "$BATS_TEST_TMPDIR/hook.sh" --arg k "$1" \
		'{path: $p, args: ["hook.sh", $k], env: ["HOOKVAR=var-\($k)"]}'
}

all_hooks_bundle() {
	make_bundle sh -c 'echo ran > /hooks/process; sleep 1000'
	# startContainer resolves in the container: a shell there writing to
	# the hooks directory, bind-mounted at /hooks.
	update_config --arg h "$HOOKS" \
		--argjson pre "$(host_hook prestart)" \
		--argjson cr "$(host_hook createRuntime)" \
		--argjson cc "$(host_hook createContainer)" \
		--argjson ps "$(host_hook poststart)" \
		--argjson pst "$(host_hook poststop)" \
		'.mounts += [{destination: "/hooks", type: "bind", source: $h, options: ["bind"]}]
		| .hooks = {
			prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
			startContainer: [{path: "/bin/sh", args: ["sh", "-c",
				"cat > /hooks/startContainer.json; readlink /proc/self/ns/mnt > /hooks/startContainer.mnt; echo \"$HOOKVAR\" > /hooks/startContainer.env; echo startContainer >> /hooks/order"],
				env: ["HOOKVAR=var-startContainer"]}],
			poststart: [$ps], poststop: [$pst] }'
}

# expect_order KIND... — the hooks called so far, in order.  runc 1.1 runs
# poststart hooks at create (a known runc bug, fixed in 1.2; the spec says
# after the process started): on runc, poststart is left out of both sides.
expect_order() {
	local got want="$* "
	got=$(tr '\n' ' ' <"$HOOKS/order")
	if is_runc; then
		got=${got//poststart /}
		want=${want//poststart /}
	fi
	expect_eq "$got" "$want" "hooks called"
}

@test "hooks: all six kinds run in order, with the state on stdin, args and env" {
	all_hooks_bundle
	run -0 runc_io create --bundle "$BUNDLE" c1
	show
	pid=$(state_field c1 pid)
	record_pid "$pid"
	expect_order prestart createRuntime createContainer
	[ ! -e "$HOOKS/process" ] || fail "the process ran at create"

	run -0 runc_ start c1
	wait_for_file "$HOOKS/process"
	wait_for_file "$HOOKS/poststart.json"
	expect_order prestart createRuntime createContainer startContainer poststart

	run -0 runc_ delete --force c1
	wait_for_file "$HOOKS/poststop.json"
	expect_order prestart createRuntime createContainer startContainer poststart poststop

	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		f=$HOOKS/$k.json
		jq -e . "$f" >/dev/null || fail "$k: no state JSON on stdin: $(cat "$f")"
		expect_eq "$(jq -r .id "$f")" c1 "$k: id"
		expect_eq "$(jq -r .bundle "$f")" "$BUNDLE" "$k: bundle"
		expect_eq "$(jq -r .ociVersion "$f" | cut -c1-2)" "1." "$k: ociVersion"
		expect_eq "$(cat "$HOOKS/$k.env")" "var-$k" "$k: env"
	done
	for k in prestart createRuntime poststart; do
		expect_eq "$(jq -r .pid "$HOOKS/$k.json")" "$pid" "$k: pid"
	done
	# The spec's state.pid is the pid as seen by the host; runc 1.1 gives the
	# container-namespace hooks the pid seen from inside (1).
	for k in createContainer startContainer; do
		got=$(jq -r .pid "$HOOKS/$k.json")
		if is_runc && [ "$got" = 1 ]; then continue; fi
		expect_eq "$got" "$pid" "$k: pid"
	done
	# (runc 1.1 runs poststart at create, so it sees "created")
	is_runc || expect_eq "$(jq -r .status "$HOOKS/poststart.json")" running "poststart: status"
	expect_eq "$(jq -r .status "$HOOKS/poststop.json")" stopped "poststop: status"
}

@test "hooks: runtime-namespace hooks run in the host's mount namespace, container ones in the container's" {
	all_hooks_bundle
	run -0 runc_io create --bundle "$BUNDLE" c1
	pid=$(state_field c1 pid)
	record_pid "$pid"
	run -0 runc_ start c1
	wait_for_file "$HOOKS/poststart.mnt"
	host=$(readlink /proc/self/ns/mnt)
	ctr=$(readlink "/proc/$pid/ns/mnt")
	[ "$host" != "$ctr" ]
	for k in prestart createRuntime poststart; do
		expect_eq "$(cat "$HOOKS/$k.mnt")" "$host" "$k: mount namespace"
	done
	for k in createContainer startContainer; do
		expect_eq "$(cat "$HOOKS/$k.mnt")" "$ctr" "$k: mount namespace"
	done
}

@test "hooks: poststop runs when run (without -d) ends" {
	make_bundle true
	update_config --argjson pst "$(host_hook poststop)" '.hooks = {poststop: [$pst]}'
	run -0 runc_ run --bundle "$BUNDLE" c1
	[ -s "$HOOKS/poststop.json" ]
	expect_eq "$(jq -r .id "$HOOKS/poststop.json")" c1 id
}

@test "hooks: several hooks of one kind run in order" {
	make_bundle true
	update_config --arg p "$BATS_TEST_TMPDIR/hook.sh" \
		'.hooks.createRuntime = [
			{path: $p, args: ["hook.sh", "first"]},
			{path: $p, args: ["hook.sh", "second"]},
			{path: $p, args: ["hook.sh", "third"]}]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	expect_eq "$(tr '\n' ' ' <"$HOOKS/order")" "first second third " order
}

@test "hooks: a failing createRuntime hook fails create and leaves nothing" {
	make_bundle sleep 1000
	update_config '.hooks.createRuntime = [{path: "/bin/sh", args: ["sh", "-c", "echo hook-says-no >&2; exit 3"]}]'
	run --separate-stderr runc_io create --bundle "$BUNDLE" c1
	show
	[ "$status" -ne 0 ]
	run ! runc_ state c1
	assert_nothing_left c1
}

@test "hooks: a hook that outlives its timeout is killed and create fails" {
	make_bundle sleep 1000
	update_config '.hooks.prestart = [{path: "/bin/sleep", args: ["sleep", "30"], timeout: 1}]'
	SECONDS=0
	run runc_io create --bundle "$BUNDLE" c1
	show
	[ "$status" -ne 0 ]
	[ "$SECONDS" -lt 15 ] || fail "create took ${SECONDS}s with a 1s hook timeout"
	expect_match "$output" "timeout|timed out"
	assert_nothing_left c1
}

@test "hooks: a hook within its timeout succeeds" {
	make_bundle true
	update_config --arg p "$BATS_TEST_TMPDIR/hook.sh" \
		'.hooks.prestart = [{path: $p, args: ["hook.sh", "prestart"], timeout: 10}]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	[ -s "$HOOKS/prestart.json" ]
}
