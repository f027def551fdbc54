#!/usr/bin/env bats
# berth-runc command line: spec (default, --rootless, no overwrite, usable),
# features, --log / --log-format, --version, --help, unknown commands and
# flags, --systemd-cgroup.

load helpers

@test "spec: writes a default config.json into --bundle" {
	mkdir "$BATS_TEST_TMPDIR/sb"
	run -0 runc_ spec --bundle "$BATS_TEST_TMPDIR/sb"
	cfg=$BATS_TEST_TMPDIR/sb/config.json
	jq -e . "$cfg" >/dev/null
	expect_eq "$(jq -r .ociVersion "$cfg" | cut -c1-2)" "1." ociVersion
	expect_eq "$(jq -r .process.terminal "$cfg")" true terminal
	expect_eq "$(jq -c .process.args "$cfg")" '["sh"]' args
	expect_eq "$(jq -r .root.path "$cfg")" rootfs root.path
	expect_eq "$(jq -r .process.cwd "$cfg")" / cwd
	for ns in pid network ipc uts mount; do
		jq -e --arg n "$ns" '.linux.namespaces | map(.type) | index($n) != null' "$cfg" >/dev/null || fail "no $ns namespace"
	done
	jq -e '.mounts | map(.destination) | index("/proc") != null' "$cfg" >/dev/null
	jq -e '.linux.maskedPaths | length > 0' "$cfg" >/dev/null
	jq -e '.process.capabilities.bounding | index("CAP_KILL") != null' "$cfg" >/dev/null
}

@test "spec: without --bundle writes ./config.json" {
	mkdir "$BATS_TEST_TMPDIR/cwd"
	cd "$BATS_TEST_TMPDIR/cwd"
	run -0 runc_ spec
	jq -e . "$BATS_TEST_TMPDIR/cwd/config.json" >/dev/null
}

@test "spec: refuses to overwrite an existing config.json" {
	mkdir "$BATS_TEST_TMPDIR/sb"
	echo '{"keep": "me"}' >"$BATS_TEST_TMPDIR/sb/config.json"
	run --separate-stderr runc_ spec --bundle "$BATS_TEST_TMPDIR/sb"
	show
	expect_error_line "config\\.json"
	expect_eq "$(jq -r .keep "$BATS_TEST_TMPDIR/sb/config.json")" me "config.json untouched"
}

@test "spec: --rootless has a user namespace with mappings and no network namespace" {
	mkdir "$BATS_TEST_TMPDIR/sb"
	run -0 runc_ spec --rootless --bundle "$BATS_TEST_TMPDIR/sb"
	cfg=$BATS_TEST_TMPDIR/sb/config.json
	jq -e '.linux.namespaces | map(.type) | index("user") != null' "$cfg" >/dev/null || fail "no user namespace"
	jq -e '.linux.namespaces | map(.type) | index("network") == null' "$cfg" >/dev/null || fail "rootless spec has a network namespace"
	jq -e '.linux.uidMappings | length > 0' "$cfg" >/dev/null || fail "no uidMappings"
	jq -e '.linux.gidMappings | length > 0' "$cfg" >/dev/null || fail "no gidMappings"
}

@test "spec: the generated config runs the busybox rootfs" {
	make_bundle true
	rm "$BUNDLE/config.json"
	run -0 runc_ spec --bundle "$BUNDLE"
	update_config --arg cg "/$CG_PREFIX/$(basename "$BUNDLE")" \
		'.process.terminal = false | .process.args = ["sh", "-c", "echo spec-works; hostname"]
		| .linux.cgroupsPath = $cg'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "${lines[0]}" spec-works
}

@test "features: valid JSON with versions, namespaces, mount options, hooks" {
	run -0 --separate-stderr runc_ features
	jq -e . <<<"$output" >/dev/null
	expect_match "$(jq -r .ociVersionMin <<<"$output")" "^1\\."
	expect_match "$(jq -r .ociVersionMax <<<"$output")" "^1\\."
	for ns in cgroup ipc mount network pid user uts; do
		jq -e --arg n "$ns" '.linux.namespaces | index($n) != null' <<<"$output" >/dev/null || fail "namespace $ns missing"
	done
	for o in ro rw nosuid nodev noexec bind rbind rprivate; do
		jq -e --arg o "$o" '.mountOptions | index($o) != null' <<<"$output" >/dev/null || fail "mount option $o missing"
	done
	for h in prestart createRuntime createContainer startContainer poststart poststop; do
		jq -e --arg h "$h" '.hooks | index($h) != null' <<<"$output" >/dev/null || fail "hook $h missing"
	done
	jq -e '.linux.capabilities | index("CAP_SYS_ADMIN") != null' <<<"$output" >/dev/null || fail "capabilities"
	jq -e '.linux.seccomp.enabled == true' <<<"$output" >/dev/null || fail "seccomp"
	jq -e '.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null' <<<"$output" >/dev/null || fail "seccomp actions"
}

@test "--log with --log-format json: an error is a JSON line with level error and msg" {
	log=$BATS_TEST_TMPDIR/log.json
	run ! runc_ --log "$log" --log-format json state nosuch
	[ -s "$log" ] || fail "nothing logged"
	# every line is one JSON object
	while IFS= read -r line; do
		jq -e 'type == "object"' <<<"$line" >/dev/null || fail "not a JSON line: $line"
	done <"$log"
	jq -e -s 'map(select(.level == "error" and (.msg | length > 0))) | length >= 1' "$log" >/dev/null ||
		fail "no error line: $(cat "$log")"
	jq -e -s 'map(select(.level == "error")) | .[0].time | test("^[0-9]{4}-")' "$log" >/dev/null || fail "no time: $(cat "$log")"
}

@test "--log with the default text format" {
	log=$BATS_TEST_TMPDIR/log.txt
	run ! runc_ --log "$log" state nosuch
	expect_match "$(cat "$log")" "level=error"
	expect_match "$(cat "$log")" "msg="
}

@test "--log-format json: a failing create logs its error as JSON" {
	make_bundle true
	rm -rf "$BUNDLE/rootfs"
	log=$BATS_TEST_TMPDIR/log.json
	run ! runc_ --log "$log" --log-format json create --bundle "$BUNDLE" c1
	jq -e -s 'map(select(.level == "error")) | length >= 1' "$log" >/dev/null || fail "no error line: $(cat "$log")"
	assert_nothing_left c1
}

@test "--log-format with an unknown format fails" {
	run ! runc_ --log-format yaml list
}

@test "--version and --help" {
	run -0 "$BERTH_RUNC" --version
	expect_match "$output" "version"
	expect_match "$output" "spec: 1\\."
	run -0 "$BERTH_RUNC" --help
	for c in create start run state kill delete exec ps pause resume update spec features list; do
		expect_match "$output" "^ +$c( |,)"
	done
}

@test "an unknown command or flag fails" {
	run ! runc_ nosuchcommand
	run ! runc_ --no-such-flag list
	run ! runc_ list --no-such-flag
}

@test "--debug is accepted" {
	run -0 runc_ --debug list
}

# berth-specific: runc supports systemd cgroups; berth refuses them clearly.
@test "--systemd-cgroup is refused with a clear error" {
	requires_berth "runc supports --systemd-cgroup"
	make_bundle true
	run --separate-stderr runc_ --systemd-cgroup run --bundle "$BUNDLE" c1
	show
	expect_error_line "systemd"
	assert_nothing_left c1
}

@test "--root is created when missing and used for state" {
	ROOT=$BATS_TEST_TMPDIR/new/deeper/root
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	record_pid "$(state_field c1 pid)"
	[ -d "$ROOT" ]
	[ -n "$(find "$ROOT" -mindepth 1 -name c1)" ] || fail "no state for c1 under $ROOT"
	run -0 runc_ delete --force c1
}
