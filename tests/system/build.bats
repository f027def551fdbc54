#!/usr/bin/env bats
# tests/system/build.bats — the builder (issue 7): golden builds compared with
# a private real dockerd 20.10 (classic builder, DOCKER_BUILDKIT=0) building
# the same contexts (tests/fixtures/build/) in the same run: image config
# fields, layer count, history, the files of every layer; .dockerignore;
# parse errors with their line; cache hits and misses; and berth-only
# features the classic builder lacks (heredocs, RUN --mount, --chmod).
#
# Both daemons are driven by the docker CLI 28 (the client programs use) and
# berth's own CLI. dockerd: dropin-helpers.bash (own containerd, private
# mount namespace); berthd: daemon-helpers.bash.
# Development: BUILD_REF_HOST / BUILD_SUT_HOST reuse running daemons.

bats_require_minimum_version 1.5.0
load daemon-helpers
load dropin-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"
DOCKER_CLI=/usr/local/bin/docker
CTX=$BATS_TEST_DIRNAME/../fixtures/build

setup_file() {
	local rc=0
	if [ -n "${BUILD_REF_HOST:-}" ] && [ -n "${BUILD_SUT_HOST:-}" ]; then
		export REF_HOST=$BUILD_REF_HOST SUT_HOST=$BUILD_SUT_HOST
		return 0
	fi
	dropin_ref_start || rc=$?
	[ "$rc" -ne 1 ] || return 0
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

teardown_file() {
	[ -z "${BUILD_REF_HOST:-}" ] || return 0
	teardown_berthd
	dropin_ref_stop
}

setup() {
	WORK=$(mktemp -d "$BATS_TEST_TMPDIR/ctx-XXXXXX")
	[ -n "${BUILD_REF_HOST:-}" ] && return 0
	dropin_setup_test
}

# dk HOST ARGS...: the docker CLI with the classic builder.
dk() {
	local h=$1
	shift
	DOCKER_BUILDKIT=0 timeout -k 5 120 "$DOCKER_CLI" -H "$h" "$@"
}

# ctx NAME: a private copy of fixture NAME in $WORK/NAME (tests may edit it).
ctx() {
	cp -a "$CTX/$1" "$WORK/$1"
	echo "$WORK/$1"
}

# config HOST IMAGE: the fields the issue lists, sorted JSON.
config() {
	dk "$1" image inspect "$2" --format '{{json .Config}}' |
		jq -S -c '{Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels, Healthcheck, StopSignal, OnBuild, Shell}'
}

# history HOST IMAGE: created_by and empty layer, content hashes masked.
history() {
	dk "$1" history --no-trunc "$2" --format '{{.CreatedBy}}|{{if eq .Size 0}}0{{else}}+{{end}}' |
		sed -E 's/(file|dir|multi):[0-9a-f]{64}/\1:<H>/g'
}

# layers HOST IMAGE: every layer's entries above busybox (mode, numeric owner,
# size of files, name), one "== layer" line before each.
layers() {
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/save-XXXXXX")
	dk "$1" save "$2" | tar -C "$d" -x
	local base=${3:-1}
	for l in $(jq -r --argjson b "$base" '.[0].Layers[$b:][]' "$d/manifest.json"); do
		echo "== layer"
		tar --numeric-owner -tvf "$d/$l" | awk '{ s = ($1 ~ /^d/ || $1 ~ /^l/) ? "-" : $3; print $1, $2, s, $6, $7, $8 }'
	done
	rm -rf "$d"
}

# file_in HOST IMAGE PATH: the content of PATH in the image's top-most layer having it.
file_in() {
	local d l out=
	d=$(mktemp -d "$BATS_TEST_TMPDIR/save-XXXXXX")
	dk "$1" save "$2" | tar -C "$d" -x
	for l in $(jq -r '.[0].Layers | reverse | .[]' "$d/manifest.json"); do
		if tar -tf "$d/$l" "${3#/}" >/dev/null 2>&1; then
			out=$(tar -xOf "$d/$l" "${3#/}")
			break
		fi
	done
	rm -rf "$d"
	printf '%s' "$out"
}

# make_archive DIR: DIR/archive.tar for ADD, the same bytes every run.
make_archive() {
	mkdir -p "$WORK/t" && echo inside >"$WORK/t/in.txt"
	tar -C "$WORK/t" --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -cf "$1/archive.tar" in.txt
}

expect_same() { # WHAT REF SUT
	if [ "$2" != "$3" ]; then
		echo "DIFFERENCE in $1 (--- dockerd, +++ berthd):" >&2
		diff -u <(echo "$2") <(echo "$3") | tail -n +3 >&2
		return 1
	fi
}

# golden DIR TAG [BUILD ARGS...]: build on both, compare config, history, layers.
golden() {
	local dir=$1 tag=$2
	shift 2
	run dk "$REF_HOST" build -t "$tag" "$@" "$dir"
	[ "$status" -eq 0 ] || { echo "dockerd build failed: $output" >&2; return 1; }
	run dk "$SUT_HOST" build -t "$tag" "$@" "$dir"
	[ "$status" -eq 0 ] || { echo "berthd build failed: $output" >&2; return 1; }
	expect_same "config" "$(config "$REF_HOST" "$tag")" "$(config "$SUT_HOST" "$tag")"
	expect_same "history" "$(history "$REF_HOST" "$tag")" "$(history "$SUT_HOST" "$tag")"
	expect_same "layer count" "$(dk "$REF_HOST" image inspect "$tag" --format '{{len .RootFS.Layers}}')" \
		"$(dk "$SUT_HOST" image inspect "$tag" --format '{{len .RootFS.Layers}}')"
	expect_same "layers" "$(layers "$REF_HOST" "$tag" "${LAYER_BASE:-1}")" "$(layers "$SUT_HOST" "$tag" "${LAYER_BASE:-1}")"
}

@test "golden: metadata instructions, WORKDIR, COPY --chown, ADD of a local tar" {
	local d
	d=$(ctx meta)
	make_archive "$d"
	golden "$d" meta:test
	# the Author of MAINTAINER, the image's Parent chain
	expect_same "author" "$(dk "$REF_HOST" image inspect meta:test --format '{{.Author}} {{.Os}}')" \
		"$(dk "$SUT_HOST" image inspect meta:test --format '{{.Author}} {{.Os}}')"
	run dk "$SUT_HOST" image inspect meta:test --format '{{.Parent}}'
	[[ "$output" == sha256:* ]]
}

@test "golden: .dockerignore (**, ! exceptions, leading /, dirs; Dockerfile and .dockerignore not copied)" {
	local d
	d=$(ctx ignore)
	mkdir "$d/.git" && echo ref >"$d/.git/HEAD"
	golden "$d" ignore:test
	run layers "$SUT_HOST" ignore:test
	[[ "$output" == *ctx/keep.md* ]]
	[[ "$output" == *ctx/docs/keep.txt* ]]
	[[ "$output" != *a.md* ]]
	[[ "$output" != *.git* ]]
	[[ "$output" != *deep.tmp* ]]
	[[ "$output" != *Dockerfile* ]]
	# the berth CLI sends the same context
	run "$BERTH_CLI" -H "$SUT_HOST" build -t ignore:berth "$d"
	[ "$status" -eq 0 ]
	expect_same "berth CLI context" "$(layers "$SUT_HOST" ignore:test)" "$(layers "$SUT_HOST" ignore:berth)"
}

@test "golden: RUN (shell and exec form, build args in history, USER, WORKDIR)" {
	golden "$CTX/run" run:test --build-arg Y=why --build-arg HTTP_PROXY=http://127.0.0.1:9
	expect_same "RUN output file" "$(file_in "$REF_HOST" run:test /f)" "$(file_in "$SUT_HOST" run:test /f)"
	expect_same "USER in RUN" "$(file_in "$REF_HOST" run:test /tmp/uid)" "$(file_in "$SUT_HOST" run:test /tmp/uid)"
	# the proxy build arg is in no history line
	run history "$SUT_HOST" run:test
	[[ "$output" != *PROXY* ]]
}

@test "golden: multi-stage with a scratch final stage; --target" {
	LAYER_BASE=0 golden "$CTX/multi" multi:test
	run dk "$SUT_HOST" build -q --target build -t multi:build "$CTX/multi"
	[ "$status" -eq 0 ]
	expect_same "target stage" "$(file_in "$REF_HOST" multi:test /out)" "$(file_in "$SUT_HOST" multi:build /out)"
	# berth skips the stage the target does not need (dockerd 20.10 builds it)
	run "$BERTH_CLI" -H "$SUT_HOST" build --no-cache -t multi:again "$CTX/multi"
	[ "$status" -eq 0 ]
	[[ "$output" != *never* ]]
	[[ "$output" == *"Step 1/6 : FROM busybox AS build"* ]]
}

@test "golden: ONBUILD triggers run in the child build" {
	golden "$CTX/onbuild/parent" onbuild-parent:test
	local d
	d=$(ctx onbuild)
	golden "$d/child" onbuild-child:test
	expect_same "trigger's file" "$(file_in "$REF_HOST" onbuild-child:test /from-trigger.txt)" \
		"$(file_in "$SUT_HOST" onbuild-child:test /from-trigger.txt)"
}

@test "cache: a rebuild hits every step; changing one COPY source misses from there on" {
	local d
	d=$(ctx meta)
	make_archive "$d"
	local h ref sut
	for h in "$REF_HOST" "$SUT_HOST"; do
		dk "$h" build -t cache:1 "$d" >/dev/null
	done
	ref=$(dk "$REF_HOST" build -t cache:1 "$d" 2>&1 | grep -c "Using cache")
	sut=$(dk "$SUT_HOST" build -t cache:1 "$d" 2>&1 | grep -c "Using cache")
	expect_same "cache hits of a rebuild" "$ref" "$sut"
	[ "$sut" -ge 15 ]
	# content no earlier run has cached, on either daemon
	echo "changed $(date +%s%N) $$" >"$d/dir/one"
	ref=$(dk "$REF_HOST" build -t cache:2 "$d" 2>&1 | grep -E "^Step|Using cache" | sed -E 's/ : .*//')
	sut=$(dk "$SUT_HOST" build -t cache:2 "$d" 2>&1 | grep -E "^Step|Using cache" | sed -E 's/ : .*//')
	expect_same "cache after an edit" "$ref" "$sut"
	# --no-cache: no hit at all
	run dk "$SUT_HOST" build --no-cache -t cache:3 "$d"
	[ "$status" -eq 0 ]
	[[ "$output" != *"Using cache"* ]]
}

@test "cache: COPY is looked up before copying (--chown by id and by name, dirs); a mode change misses" {
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/hashonly.XXXXXX")
	mkdir -p "$d/dir/sub"
	echo one >"$d/f"
	echo two >"$d/dir/sub/g"
	ln -s ../f "$d/dir/link"
	cat >"$d/Dockerfile" <<-'EOF'
		FROM busybox
		COPY --chown=7:8 f /a
		COPY --chown=nobody f /b
		COPY dir /d/
	EOF
	run dk "$SUT_HOST" build -t hashonly:1 "$d"
	[ "$status" -eq 0 ]
	run dk "$SUT_HOST" build -t hashonly:1 "$d"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 3 ]
	# the mode of a file in the copied dir is part of the key
	chmod 0600 "$d/dir/sub/g"
	run dk "$SUT_HOST" build -t hashonly:2 "$d"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 2 ]
	run "$BERTH_CLI" -H "$SUT_HOST" run --rm hashonly:2 stat -c '%a %u:%g %n' /a /d/sub/g
	[ "$status" -eq 0 ]
	[[ "$output" == *"644 7:8 /a"* ]]
	[[ "$output" == *"600 0:0 /d/sub/g"* ]]
	"$BERTH_CLI" -H "$SUT_HOST" rmi hashonly:1 hashonly:2 >/dev/null
}

@test "cache: survives a berthd restart; builder prune empties it" {
	[ -z "${BUILD_SUT_HOST:-}" ] || skip "reusing a berthd"
	run dk "$SUT_HOST" build -t restart:1 "$CTX/run"
	[ "$status" -eq 0 ]
	stop_berthd
	start_berthd
	run dk "$SUT_HOST" build -t restart:1 "$CTX/run"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'Using cache' <<<"$output")" -ge 8 ]
	run "$BERTH_CLI" -H "$SUT_HOST" builder prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Total reclaimed space"* ]]
	run dk "$SUT_HOST" build -t restart:1 "$CTX/run"
	[ "$status" -eq 0 ]
	[[ "$output" != *"Using cache"* ]]
}

@test "parse errors: same text and line as dockerd" {
	local df
	for df in 'FROM busybox\nCOP a b\n' 'FROM busybox\n\nENV\n' 'FROM busybox\nRUN a \\\n  b\nCOPY --foo a b\n' \
		'# escape=x\nFROM busybox\n' '\n# comment\n' 'FROM busybox\nCMD ["a", 1]\n' \
		'FROM busybox\nONBUILD ONBUILD RUN x\n' 'FROM a b\n' 'FROM busybox\nHEALTHCHECK --retries=0 CMD x\n' \
		'FROM busybox\nLABEL a=b c\n' 'FROM busybox\nCOPY --from a b\n' 'FROM busybox\nENV A\n' \
		'FROM busybox\nHEALTHCHECK foo x\n' 'FROM busybox\nHEALTHCHECK NONE x\n' 'FROM busybox\nENV =x\n' \
		'FROM busybox\nONBUILD FROM x\n' 'FROM busybox\nCOPY a\n' 'RUN x\n' \
		'FROM busybox\nFROM a AS 1x\n' 'FROM busybox\nEXPOSE\n'; do
		mkdir -p "$WORK/p"
		printf "$df" >"$WORK/p/Dockerfile"
		run dk "$REF_HOST" build "$WORK/p"
		local ref_st=$status ref_msg
		ref_msg=$(grep "Error response" <<<"$output")
		run dk "$SUT_HOST" build "$WORK/p"
		expect_same "exit status of [$df]" "$ref_st" "$status"
		expect_same "error of [$df]" "$ref_msg" "$(grep "Error response" <<<"$output")"
	done
}

@test "bad input: missing file, escape, symlink out, missing stage, failing RUN, bad platform; nothing left behind" {
	mkdir -p "$WORK/b" && cd "$WORK/b"
	ln -s /etc/passwd outside
	local df
	for df in 'FROM busybox\nCOPY nosuch /x\n' 'FROM busybox\nCOPY ../x /x\n' 'FROM busybox\nCOPY a b c\n' \
		'FROM busybox\nSTOPSIGNAL FOO\n' 'FROM busybox\nCOPY outside /x\n'; do
		printf "$df" >Dockerfile
		touch a b
		run dk "$REF_HOST" build .
		local ref_st=$status ref_err
		ref_err=$(tail -n 1 <<<"$output")
		run dk "$SUT_HOST" build .
		expect_same "status of [$df]" "$ref_st" "$status"
		expect_same "error of [$df]" "$ref_err" "$(tail -n 1 <<<"$output")"
	done
	printf 'FROM busybox\nCOPY --from=nostage /a /b\n' >Dockerfile
	run dk "$SUT_HOST" build .
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid from flag value nostage"* ]]
	printf 'FROM busybox\nRUN echo before-fail; exit 3\n' >Dockerfile
	run dk "$REF_HOST" build .
	local ref_out=$output ref_st=$status
	run dk "$SUT_HOST" build .
	expect_same "failing RUN status" "$ref_st" "$status"
	[[ "$output" == *"Step 2/2 : RUN echo before-fail; exit 3"* ]]
	[[ "$output" == *before-fail* ]]
	expect_same "failing RUN error" "$(tail -n 1 <<<"$ref_out")" "$(tail -n 1 <<<"$output")"
	run "$BERTH_CLI" -H "$SUT_HOST" build --platform linux/s390x .
	[ "$status" -ne 0 ]
	[[ "$output" == *"platform linux/s390x is not supported"* ]]
	# no snapshot, container, mount or temp dir of a build is left
	if [ -z "${BUILD_SUT_HOST:-}" ]; then
		run bash -c "ls '$BERTHD_DATA/containers' 2>/dev/null | grep builder-"
		[ "$status" -ne 0 ]
		run bash -c "ls '$BERTHD_DATA/builder/tmp'"
		[ -z "$output" ]
		run grep -F "$BERTHD_DATA" /proc/self/mountinfo
		[ "$status" -ne 0 ]
	fi
}

@test "berth only: heredocs (RUN <<EOF, COPY <<EOF, <<-'END')" {
	run "$BERTH_CLI" -H "$SUT_HOST" build -t heredoc:test "$CTX/heredoc"
	[ "$status" -eq 0 ]
	[ "$(file_in "$SUT_HOST" heredoc:test /greeting)" = "hello world" ]
	[ "$(file_in "$SUT_HOST" heredoc:test /files/one.txt)" = "first world" ]
	[ "$(file_in "$SUT_HOST" heredoc:test /files/two.txt)" = 'second $WHO' ]
	[ "$(file_in "$SUT_HOST" heredoc:test /script.sh)" = "$(printf '#!/bin/sh\necho $WHO')" ]
}

@test "berth only: RUN --mount bind/cache/tmpfs, COPY --chmod/--parents/--exclude" {
	mkdir -p "$WORK/m/src/a" "$WORK/m/src/b" && cd "$WORK/m"
	echo 1 >src/a/one.txt && echo 2 >src/b/two.md && echo x >src/a/skip.log
	cat >Dockerfile <<'DF'
FROM busybox
RUN --mount=type=bind,source=src,target=/src cat /src/a/one.txt > /copied
RUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /cache-lines
RUN --mount=type=tmpfs,target=/t touch /t/x && ! test -e /x
COPY --chmod=600 src/a/one.txt /mode/
COPY --parents src/a/one.txt /p/
COPY --exclude=*.log src/a /ex/
DF
	run "$BERTH_CLI" -H "$SUT_HOST" build --no-cache -t mount:test .
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	[ "$(file_in "$SUT_HOST" mount:test /copied)" = 1 ]
	run layers "$SUT_HOST" mount:test
	[[ "$output" == *"-rw------- 0/0 2 mode/one.txt"* ]]
	[[ "$output" == *"p/src/a/one.txt"* ]]
	[[ "$output" == *"ex/one.txt"* ]]
	[[ "$output" != *"skip.log"* ]]
	# the cache mount keeps its content across builds
	local n1
	n1=$(file_in "$SUT_HOST" mount:test /cache-lines)
	run "$BERTH_CLI" -H "$SUT_HOST" build --no-cache -t mount:test .
	[ "$status" -eq 0 ]
	[ "$(file_in "$SUT_HOST" mount:test /cache-lines)" = $((n1 + 1)) ]
}

@test "CLI: -q, --iidfile, Dockerfile and context on stdin, -f outside the context, --label" {
	run --separate-stderr "$BERTH_CLI" -H "$SUT_HOST" build -q --iidfile "$WORK/iid" "$CTX/run"
	[ "$status" -eq 0 ]
	[[ "$stderr" == "Sending build context to Docker daemon  "* ]]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(cat "$WORK/iid")" = "$output" ]
	run bash -c "printf 'FROM busybox\nENV FROM_STDIN=1\n' | '$BERTH_CLI' -H '$SUT_HOST' build -t stdin:df -"
	[ "$status" -eq 0 ]
	[[ "$(config "$SUT_HOST" stdin:df)" == *FROM_STDIN=1* ]]
	run bash -c "tar -C '$CTX/run' -c . | '$BERTH_CLI' -H '$SUT_HOST' build -q -t stdin:tar -"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nCOPY keep.md /\n' >"$WORK/Outside.dockerfile"
	run "$BERTH_CLI" -H "$SUT_HOST" build -f "$WORK/Outside.dockerfile" -t outside:df "$CTX/meta"
	[ "$status" -eq 0 ]
	run bash -c "printf 'FROM busybox\nCOPY hello.txt /\n' | '$BERTH_CLI' -H '$SUT_HOST' build -f - -t stdin:f '$CTX/meta'"
	[ "$status" -eq 0 ]
	golden "$CTX/run" label:test --label z=last --label a=first
}
