#!/usr/bin/env bats
# tests/system/build-graph.bats — the builder's stage graph and sources
# (issue 7): independent stages built at the same time (a rendezvous two
# sequential stages could never pass), output in the sequential order, the
# first failure cancelling the rest with nothing left behind; FROM an image
# not in the store pulled from a private registry (and --pull); ADD <url>
# from a local HTTP server; the tty progress view.
#
# berthd: daemon-helpers.bash; a registry: registry-helpers.bash; an HTTP
# server: python3 -m http.server on 127.0.0.1. Comparisons with dockerd
# 20.10's classic builder where it can do the same (ADD <url>).

bats_require_minimum_version 1.5.0
load daemon-helpers
load registry-helpers
load dropin-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"

setup_file() {
	if ! start_berthd || ! load_busybox; then
		teardown_berthd
		return 1
	fi
	export SUT_HOST=unix://$BERTHD_SOCK
	unset DOCKER_HOST BERTH_HOST
}

teardown_file() {
	teardown_berthd
}

setup() {
	WORK=$(mktemp -d "$BATS_TEST_TMPDIR/ctx-XXXXXX")
	HTTP_PID=
}

teardown() {
	[ -z "$HTTP_PID" ] || { kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null || true; }
	[ -z "${REF_HOST:-}" ] || dropin_ref_stop
	reg_stop
}

# http_start DIR: python's http.server for DIR on 127.0.0.1:<free port>
# (exports HTTP_PORT, HTTP_PID).
http_start() {
	HTTP_PORT=$(reg_free_port)
	python3 -m http.server --bind 127.0.0.1 --directory "$1" "$HTTP_PORT" >"$WORK/http.log" 2>&1 &
	HTTP_PID=$!
	reg_wait_http "http://127.0.0.1:$HTTP_PORT/" "$HTTP_PID"
}

# dk HOST ARGS...: the docker CLI 28 with the classic builder.
dk() {
	local h=$1
	shift
	DOCKER_BUILDKIT=0 timeout -k 5 180 /usr/local/bin/docker -H "$h" "$@"
}

# layers HOST IMAGE: the entries of every layer above busybox (mode, owner,
# size, mtime, name).
layers() {
	local d l
	d=$(mktemp -d "$BATS_TEST_TMPDIR/save-XXXXXX")
	dk "$1" save "$2" | tar -C "$d" -x
	for l in $(jq -r '.[0].Layers[1:][]' "$d/manifest.json"); do
		echo "== layer"
		tar --numeric-owner --full-time -tvf "$d/$l" | awk '{ s = ($1 ~ /^d/) ? "-" : $3; print $1, $2, s, ($1 ~ /^d/) ? "-" : $4 " " $5, $6 }'
	done
	rm -rf "$d"
}

# bb ARGS...: berth's CLI against the test's berthd.
bb() {
	timeout -k 5 180 "$BERTH_CLI" -H "$SUT_HOST" "$@"
}

# file_in IMAGE PATH: PATH's content in the image's top-most layer having it
# (from `save`: no container needed).
file_in() {
	local d l out=
	d=$(mktemp -d "$BATS_TEST_TMPDIR/save-XXXXXX")
	bb save "$1" | tar -C "$d" -x
	for l in $(jq -r '.[0].Layers | reverse | .[]' "$d/manifest.json"); do
		if tar -tf "$d/$l" "${2#/}" >/dev/null 2>&1; then
			out=$(tar -xOf "$d/$l" "${2#/}")
			break
		fi
	done
	rm -rf "$d"
	printf '%s' "$out"
}

# nothing_left: no build snapshot, temp dir, mount or runtime state remains.
nothing_left() {
	run bash -c "ls '$BERTHD_DATA/containers' 2>/dev/null | grep builder-"
	[ "$status" -ne 0 ] || { echo "left snapshots: $output" >&2; return 1; }
	run bash -c "ls '$BERTHD_DATA/builder/tmp'"
	[ -z "$output" ] || { echo "left temp: $output" >&2; return 1; }
	run bash -c "grep -F '$BERTHD_DATA/containers/builder-' /proc/self/mountinfo"
	[ "$status" -ne 0 ] || { echo "left mounts: $output" >&2; return 1; }
}

@test "parallel stages: two stages meet at a rendezvous (impossible one after the other); output in stage order" {
	local id="sync-$$-$RANDOM"
	cd "$WORK"
	# each stage announces itself in a shared cache mount, then waits for the
	# other: built one after the other, the first would give up (exit 9)
	cat >Dockerfile <<DF
FROM busybox AS a
RUN --mount=type=cache,id=$id,target=/s echo a-out && touch /s/a && i=0; until [ -e /s/b ]; do i=\$((i+1)); [ \$i -lt 1200 ] || exit 9; sleep 0.1; done; echo a > /a-done
FROM busybox AS b
RUN --mount=type=cache,id=$id,target=/s echo b-out && touch /s/b && i=0; until [ -e /s/a ]; do i=\$((i+1)); [ \$i -lt 1200 ] || exit 9; sleep 0.1; done; echo b > /b-done
FROM busybox
COPY --from=a /a-done /
COPY --from=b /b-done /
DF
	run bb build --no-cache -t graph:par .
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(file_in graph:par /a-done)" = a ]
	[ "$(file_in graph:par /b-done)" = b ]
	# the output is what a sequential build prints: stage a's steps and RUN
	# output, then stage b's, then the final stage's
	local steps
	steps=$(grep -E '^Step |^(a|b)-out$' <<<"$output" | tr '\n' '|')
	[ "$steps" = "Step 1/7 : FROM busybox AS a|Step 2/7 : RUN --mount=type=cache,id=$id,target=/s echo a-out && touch /s/a && i=0; until [ -e /s/b ]; do i=\$((i+1)); [ \$i -lt 1200 ] || exit 9; sleep 0.1; done; echo a > /a-done|a-out|Step 3/7 : FROM busybox AS b|Step 4/7 : RUN --mount=type=cache,id=$id,target=/s echo b-out && touch /s/b && i=0; until [ -e /s/a ]; do i=\$((i+1)); [ \$i -lt 1200 ] || exit 9; sleep 0.1; done; echo b > /b-done|b-out|Step 5/7 : FROM busybox|Step 6/7 : COPY --from=a /a-done /|Step 7/7 : COPY --from=b /b-done /|" ]
	[[ "$output" == *"Successfully tagged graph:par"* ]]
	nothing_left
}

@test "parallel stages: the first failure cancels a running stage (its RUN killed); nothing left behind" {
	local id="fail-$$-$RANDOM"
	cd "$WORK"
	# b starts a long RUN; a fails once b's RUN is surely running
	cat >Dockerfile <<DF
FROM busybox AS a
RUN --mount=type=cache,id=$id,target=/s i=0; until [ -e /s/b-running ]; do i=\$((i+1)); [ \$i -lt 1200 ] || exit 9; sleep 0.1; done; echo a-fails; exit 5
FROM busybox AS b
RUN --mount=type=cache,id=$id,target=/s touch /s/b-running; sleep 600; touch /s/b-finished
FROM busybox
COPY --from=a / /a
COPY --from=b / /b
DF
	run bb build --no-cache .
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"a-fails"* ]]
	[[ "$(tail -n 1 <<<"$output")" == *"returned a non-zero code: 5"* ]]
	# nothing of the final stage ran
	[[ "$output" != *"Step 5/7"* ]]
	nothing_left
	# the killed RUN never finished (no process of it is left either)
	[ ! -e "$BERTHD_DATA/builder/cache-mounts" ] || ! find "$BERTHD_DATA/builder/cache-mounts" -name b-finished | grep -q .
	run pgrep -f "sleep 600; touch /s/b-finished"
	[ "$status" -ne 0 ]
}

@test "parallel stages: an independent stage the target does not need is skipped; a chain stays ordered" {
	cd "$WORK"
	cat >Dockerfile <<'DF'
FROM busybox AS base
RUN echo one > /one
FROM base AS mid
RUN cat /one > /two
FROM busybox AS unused
RUN exit 1
FROM mid
RUN cat /two > /three
DF
	run bb build --no-cache -t graph:chain .
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(file_in graph:chain /three)" = one ]
	[[ "$output" != *"exit 1"* ]]
	[ "$(grep -c '^Step ' <<<"$output")" -eq 6 ]
}

@test "FROM an image not in the store is pulled (dockerd's progress lines); --pull pulls a newer one" {
	reg_start anon
	local R=$REG_HOST/graph-pt:1
	cd "$WORK"
	# the registry gets an image graph-pt:1 the store then forgets
	printf 'FROM busybox\nLABEL graph-pt=1\n' >Dockerfile.v1
	run bb build -f Dockerfile.v1 -t "$R" .
	run bb push "$R"
	[ "$status" -eq 0 ] || { echo "$output" >&2; reg_stop; false; }
	bb rmi "$R" >/dev/null
	printf 'FROM %s\nRUN test -e /v && echo has-v || echo no-v\n' "$R" >Dockerfile
	run bb build --no-cache -t graph:pulled .
	echo "$output"
	[ "$status" -eq 0 ] || { reg_stop; false; }
	[[ "$output" == *"Step 1/2 : FROM $R"* ]]
	[[ "$output" == *"1: Pulling from graph-pt"* ]]
	[[ "$output" == *"Digest: sha256:"* ]]
	[[ "$output" == *"Status: Downloaded newer image for $R"* ]]
	[[ "$output" == *"no-v"* ]]
	bb image inspect "$R" >/dev/null
	# a newer graph-pt:1 in the registry; the local one stays the old
	printf 'FROM busybox\nRUN echo v2 > /v\n' >Dockerfile.v2
	run bb build --no-cache -f Dockerfile.v2 -t "$R" .
	run bb push "$R"
	[ "$status" -eq 0 ] || { echo "$output" >&2; reg_stop; false; }
	bb tag busybox "$R"
	# without --pull: the local image
	run bb build --no-cache .
	[[ "$output" == *"no-v"* && "$output" != *"Pulling from"* ]] || { echo "$output" >&2; reg_stop; false; }
	# --pull: the registry's
	run bb build --no-cache --pull .
	echo "$output"
	reg_stop
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pulling from graph-pt"* ]]
	[[ "$output" == *"has-v"* ]]
	# a name no registry has: the registry's error, the build fails
	printf 'FROM 127.0.0.1:1/nothing-here\n' >Dockerfile
	run bb build .
	[ "$status" -ne 0 ]
	[[ "$output" == *"127.0.0.1:1"* ]]
	nothing_left
}

@test "ADD <url>: name, mode 0600, Last-Modified mtime, no extraction, --chown — as dockerd; errors name the URL" {
	mkdir -p "$WORK/srv/sub" "$WORK/ctx" "$WORK/t"
	echo hello-remote >"$WORK/srv/hello.txt"
	echo inside >"$WORK/t/in.txt"
	tar -C "$WORK/t" -cf "$WORK/srv/archive.tar" in.txt
	echo deep >"$WORK/srv/sub/deep.bin"
	touch -d @1700000000 "$WORK/srv/hello.txt" "$WORK/srv/archive.tar" "$WORK/srv/sub/deep.bin"
	http_start "$WORK/srv"
	local U=http://127.0.0.1:$HTTP_PORT
	cd "$WORK/ctx"
	cat >Dockerfile <<DF
FROM busybox
ADD $U/hello.txt /dl/
ADD $U/archive.tar /dl/
ADD $U/sub/deep.bin /named.bin
ADD --chown=1:2 $U/hello.txt /owned/
DF
	local rc=0
	dropin_ref_start || rc=$?
	[ "$rc" -eq 0 ]
	run dk "$REF_HOST" build -t addurl:ref .
	echo "$output"
	[ "$status" -eq 0 ]
	local ref_layers
	ref_layers=$(layers "$REF_HOST" addurl:ref)
	run bb build -t addurl:sut .
	echo "$output"
	[ "$status" -eq 0 ]
	run layers "$SUT_HOST" addurl:sut
	echo "== dockerd:"; echo "$ref_layers"; echo "== berth:"; echo "$output"
	[ "$output" = "$ref_layers" ]
	[[ "$output" == *"-rw------- 0/0 13 2023-11-14 22:13:20 dl/hello.txt"* ]]
	[[ "$output" == *"dl/archive.tar"* && "$output" != *"in.txt"* ]]
	# errors: a 404 and an unreachable server, with dockerd's text
	local url
	for url in "$U/nope.txt" "http://127.0.0.1:1/x.txt"; do
		printf 'FROM busybox\nADD %s /x\n' "$url" >Dockerfile
		run dk "$REF_HOST" build .
		local ref_st=$status ref_err
		ref_err=$(sed -n '/^Step 2\/2/,$p' <<<"$output" | tail -n +2)
		run bb build .
		echo "== dockerd: $ref_err"
		echo "== berth: $output"
		[ "$status" -eq "$ref_st" ]
		[[ "$output" == *"$url"* ]]
		[ "$(sed -n '/^Step 2\/2/,$p' <<<"$output" | tail -n +2)" = "$ref_err" ]
	done
	nothing_left
}

@test "ADD <url>: cache keyed by the content, --checksum, --chmod; COPY refuses a URL" {
	mkdir -p "$WORK/srv" "$WORK/ctx"
	echo one >"$WORK/srv/f.txt"
	http_start "$WORK/srv"
	local U=http://127.0.0.1:$HTTP_PORT sum
	sum=$(sha256sum "$WORK/srv/f.txt" | cut -d' ' -f1)
	cd "$WORK/ctx"
	printf 'FROM busybox\nADD --checksum=sha256:%s --chmod=644 %s/f.txt /f.txt\nRUN cat /f.txt\n' "$sum" "$U" >Dockerfile
	run bb build -t addurl:c1 .
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(file_in addurl:c1 /f.txt)" = one ]
	run layers "$SUT_HOST" addurl:c1
	[[ "$output" == *"-rw-r--r-- 0/0 4 "*" f.txt"* ]]
	# the same content: every step from the cache
	run bb build -t addurl:c1 .
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 2 ]
	# new content: the ADD misses (and its checksum no longer matches)
	echo two >"$WORK/srv/f.txt"
	run bb build .
	[ "$status" -ne 0 ]
	[[ "$output" == *"digest mismatch sha256:$(sha256sum "$WORK/srv/f.txt" | cut -d' ' -f1): sha256:$sum"* ]]
	printf 'FROM busybox\nADD %s/f.txt /f.txt\nRUN cat /f.txt\n' "$U" >Dockerfile
	run bb build -t addurl:c2 .
	[ "$status" -eq 0 ]
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 0 ]
	[[ "$output" == *two* ]]
	printf 'FROM busybox\nCOPY %s/f.txt /f.txt\n' "$U" >Dockerfile
	run bb build .
	[ "$status" -ne 0 ]
	[[ "$output" == *"source can't be a URL for COPY"* ]]
	nothing_left
}

@test "cache: a rebuild hits every step of every stage (stages built in parallel)" {
	cd "$WORK"
	printf 'one\n' >f
	cat >Dockerfile <<'DF'
FROM busybox AS a
COPY f /f
RUN cat /f > /g
FROM busybox AS b
RUN echo b > /b
FROM busybox
COPY --from=a /g /g
COPY --from=b /b /b
RUN cat /g /b
DF
	run bb build -t graph:cache .
	echo "$output"
	[ "$status" -eq 0 ]
	run bb build -t graph:cache .
	echo "$output"
	[ "$status" -eq 0 ] || { tail -n 30 "$BERTHD_LOG"; false; }
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 6 ]
}
