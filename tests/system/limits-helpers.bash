# tests/system/limits-helpers.bash — shared by resources.bats and
# security.bats: one berthd (daemon-helpers.bash) and one private real
# dockerd 20.10 (dropin-helpers.bash, runc) in the same test run, both with
# the busybox fixture as busybox:latest, and helpers that run the same
# container (same flags, same command) on each and compare what the process
# inside saw, or the error each client printed.
#
# berthd is driven by the berth CLI, dockerd by the docker CLI 28: the
# comparison is of the whole user-visible behaviour.

# shellcheck disable=SC2154 # $status and $output are bats' `run` results
bats_require_minimum_version 1.5.0
load daemon-helpers
load dropin-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"
DOCKER_CLI=/usr/local/bin/docker

# limits_setup_file: both daemons (berthd with $BERTHD_CONFIG if the caller
# wrote one first).
limits_setup_file() {
	local rc=0
	dropin_ref_start || rc=$?
	[ "$rc" -ne 1 ] || return 0 # not root: every test skips
	[ "$rc" -eq 0 ] || return 1
	if ! start_berthd || ! load_busybox; then
		teardown_berthd
		dropin_ref_stop
		return 1
	fi
	SUT_HOST=unix://$BERTHD_SOCK
	unset DOCKER_HOST BERTH_HOST
	export REF_HOST SUT_HOST
}

limits_teardown_file() {
	teardown_berthd
	dropin_ref_stop
}

limits_setup() {
	dropin_setup_test
}

limits_teardown() {
	[ -z "${DROPIN_SKIP:-}" ] || return 0
	limits_clean
}

# limits_clean — remove every container of both daemons.
# shellcheck disable=SC2086 # one word per id
limits_clean() {
	local ids
	ids=$("$DOCKER_CLI" -H "$REF_HOST" ps -aq 2>/dev/null) &&
		{ [ -z "$ids" ] || "$DOCKER_CLI" -H "$REF_HOST" rm -f $ids >/dev/null 2>&1 || true; }
	ids=$("$BERTH_CLI" -H "$SUT_HOST" ps -aq 2>/dev/null) &&
		{ [ -z "$ids" ] || "$BERTH_CLI" -H "$SUT_HOST" rm -f $ids >/dev/null 2>&1 || true; }
	return 0
}

# R ARGS... / B ARGS... — the docker CLI on dockerd, the berth CLI on berthd.
R() { timeout -k 5 60 "$DOCKER_CLI" -H "$REF_HOST" "$@"; }
B() { timeout -k 5 60 "$BERTH_CLI" -H "$SUT_HOST" "$@"; }

# normalise: the program's own name, ids and per-daemon paths differ by nature
lim_norm() {
	sed -E -e 's/^(docker|berth): /CLI: /' -e "s/'(docker|berth) (run|create|update) --help'/'CLI \\2 --help'/" \
		-e 's/(docker|berth) (run|create|update) \[OPTIONS\]/CLI \2 [OPTIONS]/' \
		-e 's/[0-9a-f]{64}/<ID>/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g'
}

# inside FLAG... -- SCRIPT: `run --rm FLAGS busybox sh -c SCRIPT` on both
# daemons. Sets ref_status/ref_out and sut_status/sut_out.
inside() {
	local flags=()
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		flags+=("$1")
		shift
	done
	shift
	# stderr into stdout inside: one stream, one order on both
	run R run --rm "${flags[@]}" busybox sh -c "exec 2>&1; $1"
	ref_status=$status ref_out=$(printf '%s' "$output" | lim_norm)
	run B run --rm "${flags[@]}" busybox sh -c "exec 2>&1; $1"
	sut_status=$status sut_out=$(printf '%s' "$output" | lim_norm)
	scenario="${flags[*]} -- $1"
}

# both_cli SUBCOMMAND ARGS...: the same CLI command on both (create, run, ...)
both_cli() {
	run R "$@"
	ref_status=$status ref_out=$(printf '%s' "$output" | lim_norm)
	run B "$@"
	sut_status=$status sut_out=$(printf '%s' "$output" | lim_norm)
	scenario="$*"
}

# same — the last inside/both_cli gave the same status and output.
same() {
	if [ "$ref_status" != "$sut_status" ] || [ "$ref_out" != "$sut_out" ]; then
		{
			echo "DIFFERENCE in [$scenario]"
			echo "status: dockerd $ref_status, berthd $sut_status; output (--- dockerd, +++ berthd):"
			diff -u <(echo "$ref_out") <(echo "$sut_out") | tail -n +3
		} >&2
		return 1
	fi
}

# expect TEXT — the berthd output (already compared) contains TEXT: proves
# the scenario saw what it meant to, not two identical failures.
expect() {
	case "$sut_out" in
	*"$1"*) return 0 ;;
	esac
	echo "expected '$1' in: $sut_out" >&2
	return 1
}

# nothing_left — neither daemon has a container (bad input created nothing).
nothing_left() {
	local r b
	r=$(R ps -aq) b=$(B ps -aq)
	if [ -n "$r$b" ]; then
		echo "containers left: dockerd [$r] berthd [$b]" >&2
		return 1
	fi
}

# bad FLAG... — `run FLAGS busybox true` fails the same way on both, and
# nothing is created. (`run`, not `create`: berth create prints a daemon
# error as run does, "berth: Error response ..." and 125, where docker
# create prints it bare with 1 — cmd_run.c's, noted for the lead.)
bad() {
	both_cli run "$@" busybox true
	same
	[ "$sut_status" -ne 0 ]
	nothing_left
}
