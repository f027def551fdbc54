#!/usr/bin/env bats
# tests/system/registry.bats — pull, push, login and logout against a real
# registry (Debian's docker-registry, distribution 2.8) started by each test
# on 127.0.0.1 (registry-helpers.bash): anonymous, htpasswd basic auth, and
# bearer tokens from our own token server (token-server.py).  skopeo puts
# images in (docker-archive, OCI format, oci: layouts) and reads pushed ones
# back; berth, the docker CLI 28 and docker-py drive the daemon under test.
# Failure cases (corrupted blob, connection cut mid-layer, unknown media
# type) check the error text and that no image, layer or temp file is left.
#
# The daemon under test is a private berthd (daemon-helpers.bash).  To check
# the expectations themselves against the reference, point the suite at a
# real dockerd: REGISTRY_SUT_HOST=unix:///path/docker.sock (the data-root
# checks, which look inside berthd's store, are then skipped).
#
# Each test gets its own registry, DOCKER_CONFIG and HOME (temp dirs), and
# teardown stops the registry / token server / proxy by PID, removes the
# images it pulled or tagged, and the temp dirs.

bats_require_minimum_version 1.5.0
load daemon-helpers
load registry-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"
DOCKER_CLI=/usr/local/bin/docker

setup_file() {
	if [ "$(id -u)" -ne 0 ]; then
		export REG_SKIP="registry tests need root"
		return 0
	fi
	local archive
	archive=$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" docker-archive | tail -n 1) || return 1
	OCI_ARCHIVE=$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" oci-archive | tail -n 1) || return 1
	export BUSYBOX_ARCHIVE=$archive OCI_ARCHIVE
	if [ -n "${REGISTRY_SUT_HOST:-}" ]; then
		export SUT=$REGISTRY_SUT_HOST SUT_BERTHD=
		"$DOCKER_CLI" -H "$SUT" load -i "$archive" >/dev/null
		return
	fi
	if ! start_berthd || ! load_busybox; then
		teardown_berthd
		return 1
	fi
	unset DOCKER_HOST BERTH_HOST
	export SUT=unix://$BERTHD_SOCK SUT_BERTHD=1
}

teardown_file() {
	[ -n "${SUT_BERTHD:-}" ] && teardown_berthd
	return 0
}

setup() {
	[ -z "${REG_SKIP:-}" ] || skip "$REG_SKIP"
	TEST_DIR=$(mktemp -d /tmp/berth-regtest-XXXXXX)
	export HOME=$TEST_DIR DOCKER_CONFIG=$TEST_DIR/docker
	REG_DIR=
}

teardown() {
	[ -z "${REG_SKIP:-}" ] || return 0
	reg_stop
	clean_images
	rm -rf "$TEST_DIR"
}

b() { "$BERTH_CLI" -H "$SUT" "$@"; }
dk() { "$DOCKER_CLI" -H "$SUT" "$@"; }

# clean_images: remove the containers, and every image reference to a
# 127.0.0.1 registry (by tag and by digest; busybox:latest shares their ID).
clean_images() {
	local ids repo tag dg
	ids=$(b ps -aq 2>/dev/null) || true
	# shellcheck disable=SC2086 # one word per id
	[ -z "$ids" ] || b rm -f $ids >/dev/null 2>&1 || true
	b images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' 2>/dev/null |
		while read -r repo tag dg; do
			case "$repo" in 127.0.0.1:*) ;; *) continue ;; esac
			[ "$tag" = "<none>" ] || b rmi -f "$repo:$tag" >/dev/null 2>&1 || true
			[ "$dg" = "<none>" ] || b rmi -f "$repo@$dg" >/dev/null 2>&1 || true
		done
}

# put_busybox NAME:TAG [skopeo args]: the busybox fixture into the registry.
put_busybox() {
	local c
	c=$(reg_creds)
	reg_push_archive "docker-archive:$BUSYBOX_ARCHIVE" "$@" ${c:+--dest-creds "$c"}
}

# remote_digest NAME:TAG: the manifest digest skopeo sees.
remote_digest() {
	local c
	c=$(reg_creds)
	reg_skopeo inspect --tls-verify=false ${c:+--creds "$c"} --format '{{.Digest}}' "docker://$REG_HOST/$1"
}

# store_state FILE: what a failed pull must not change (berthd only):
# the images, the layer directories, and the store's temp dir.
store_state() {
	{
		b images -a --digests --format '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}' | sort
		echo "-- layers"
		[ -z "${SUT_BERTHD:-}" ] || ls "$BERTHD_DATA/layers" | sort
		echo "-- tmp"
		[ -z "${SUT_BERTHD:-}" ] || ls -A "$BERTHD_DATA/tmp" 2>/dev/null
	} >"$1"
}

# expect_nothing_left BEFORE: the store is as it was.
expect_nothing_left() {
	store_state "$TEST_DIR/after"
	if ! diff -u "$1" "$TEST_DIR/after"; then
		echo "a failed pull left something behind" >&2
		return 1
	fi
}

@test "registry: pull from an anonymous registry, run it, pull again, inspect RepoDigests" {
	reg_start anon
	put_busybox busybox:latest
	dg=$(remote_digest busybox:latest)
	run -0 b pull "$REG_HOST/busybox"
	echo "$output"
	[ "${lines[0]}" = "Using default tag: latest" ]
	[ "${lines[1]}" = "latest: Pulling from busybox" ]
	[[ "$output" == *$'\n'"Digest: $dg"$'\n'* ]]
	[[ "$output" == *"Status: Downloaded newer image for $REG_HOST/busybox:latest"* ]]
	[ "${lines[-1]}" = "$REG_HOST/busybox:latest" ]
	# off a terminal: no progress bars, no escape sequences
	[[ "$output" != *"["*"=>"* ]]
	[[ "$output" != *$'\e'* ]]
	run -0 b run --rm "$REG_HOST/busybox" echo pulled-and-ran
	[ "$output" = pulled-and-ran ]
	run -0 b image inspect --format '{{json .RepoDigests}}' "$REG_HOST/busybox"
	[[ "$output" == *"\"$REG_HOST/busybox@$dg\""* ]]
	run -0 b pull "$REG_HOST/busybox:latest"
	[[ "$output" == *"Status: Image is up to date for $REG_HOST/busybox:latest"* ]]
	run -0 b images --format '{{.Repository}}:{{.Tag}}' "$REG_HOST/busybox"
	[[ "$output" == *"$REG_HOST/busybox:latest"* ]]
}

@test "registry: pull -q, by digest, -a, --platform; bad references and a missing image" {
	reg_start anon
	put_busybox busybox:latest
	put_busybox busybox:other
	dg=$(remote_digest busybox:latest)
	run -0 b pull -q "$REG_HOST/busybox:other"
	[ "$output" = "$REG_HOST/busybox:other" ]
	run -0 b pull "$REG_HOST/busybox@$dg"
	[[ "$output" == *"Digest: $dg"* ]]
	[ "${lines[-1]}" = "$REG_HOST/busybox@$dg" ]
	run -0 b pull -a "$REG_HOST/busybox"
	[ "${lines[-1]}" = "$REG_HOST/busybox" ]
	run -0 b images --format '{{.Tag}}' "$REG_HOST/busybox"
	[[ "$output" == *latest* ]] && [[ "$output" == *other* ]]
	run -0 b pull --platform linux/amd64 --disable-content-trust "$REG_HOST/busybox:latest"
	run -1 b pull -a "$REG_HOST/busybox:latest"
	[ "$output" = "tag can't be used with --all-tags/-a" ]
	run -1 b pull "$REG_HOST/BusyBox"
	[ "$output" = "invalid reference format: repository name (BusyBox) must be lowercase" ]
	run -1 b pull 'a b'
	[ "$output" = "invalid reference format" ]
	run -1 b pull "$REG_HOST/nothere"
	[[ "$output" == *"Error response from daemon: manifest for $REG_HOST/nothere:latest not found"* ]]
	# the same through the docker CLI
	run -1 dk pull "$REG_HOST/nothere"
	[[ "$output" == *"Error response from daemon: manifest for $REG_HOST/nothere:latest not found"* ]]
}

@test "registry: pull images skopeo wrote in OCI format and from an oci: layout" {
	reg_start anon
	put_busybox oci-fmt:latest --format oci
	run -0 reg_manifest oci-fmt latest
	[[ "$output" == *application/vnd.oci.image.manifest.v1+json* ]]
	run -0 b pull "$REG_HOST/oci-fmt:latest"
	run -0 b run --rm "$REG_HOST/oci-fmt:latest" echo oci-ok
	[ "$output" = oci-ok ]
	mkdir "$TEST_DIR/layout"
	tar -xf "$OCI_ARCHIVE" -C "$TEST_DIR/layout"
	reg_skopeo copy -q --dest-tls-verify=false "oci:$TEST_DIR/layout" "docker://$REG_HOST/from-layout:v1"
	run -0 b pull "$REG_HOST/from-layout:v1"
	run -0 b run --rm "$REG_HOST/from-layout:v1" echo layout-ok
	[ "$output" = layout-ok ]
}

@test "registry: pull on a terminal: one line per layer, rewritten in place, with bars" {
	reg_start anon
	reg_make_image "$TEST_DIR/tty.tar" tty:latest 2 1500000
	reg_push_archive "docker-archive:$TEST_DIR/tty.tar" tty:latest
	run -0 script -qec "stty cols 150; $BERTH_CLI -H $SUT pull $REG_HOST/tty:latest" /dev/null
	# each layer's line is reached with ESC[nA, cleared with ESC[2K, left with ESC[nB
	[[ "$output" == *$'\e[1A\e[2K\r'*': Pulling fs layer '$'\r\e[1B'* ]]
	# the first layer's line, two up once the second layer has one
	[[ "$output" == *$'\e[2A\e[2K\r'*$'\r\e[2B'* ]]
	[[ "$output" == *$'\e[1A\e[2K\r'*': Pull complete '$'\r\e[1B'* ]]
	[[ "$output" == *': Downloading ['*'=>'*']'* || "$output" == *': Extracting ['*'=>'*']'* ]]
	[[ "$output" == *"Status: Downloaded newer image for $REG_HOST/tty:latest"* ]]
}

@test "registry: push; skopeo inspects it and copies it back; push -q, -a; digest refs refused" {
	reg_start anon
	run -0 b tag busybox:latest "$REG_HOST/pushed:v1"
	run -0 b push "$REG_HOST/pushed:v1"
	echo "$output"
	[ "${lines[0]}" = "The push refers to repository [$REG_HOST/pushed]" ]
	[[ "${lines[-1]}" =~ ^v1:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]]
	dg=${BASH_REMATCH[1]}
	[[ "$output" == *": Pushed"* ]]
	[ "$(remote_digest pushed:v1)" = "$dg" ]
	run -0 reg_skopeo copy -q --src-tls-verify=false "docker://$REG_HOST/pushed:v1" "docker-archive:$TEST_DIR/back.tar:back:v1"
	run -0 reg_skopeo inspect "docker-archive:$TEST_DIR/back.tar"
	# pushing again: every layer is already there
	run -0 b push "$REG_HOST/pushed:v1"
	[[ "$output" == *": Layer already exists"* ]]
	run -0 b tag busybox:latest "$REG_HOST/pushed"
	run -0 b push -q "$REG_HOST/pushed"
	[ "$output" = "$REG_HOST/pushed:latest" ]
	run -0 b push -a "$REG_HOST/pushed"
	[[ "$output" == *"latest: digest: $dg"* ]] && [[ "$output" == *"v1: digest: $dg"* ]]
	run -0 reg_skopeo list-tags --tls-verify=false "docker://$REG_HOST/pushed"
	[[ "$output" == *'"latest"'* ]] && [[ "$output" == *'"v1"'* ]]
	run -1 b push "$REG_HOST/pushed@$dg"
	[ "$output" = "cannot push a digest reference" ]
	run -1 b push "$REG_HOST/not-here-locally"
	[[ "$output" == *"An image does not exist locally with the tag: $REG_HOST/not-here-locally"* ]]
	# a pushed image pulls back and runs
	run -0 b rmi "$REG_HOST/pushed:v1"
	run -0 b pull "$REG_HOST/pushed:v1"
	run -0 b run --rm "$REG_HOST/pushed:v1" echo round-trip
	[ "$output" = round-trip ]
}

@test "registry: run pulls a missing image (Unable to find image … locally)" {
	reg_start anon
	put_busybox runme:latest
	run -0 --separate-stderr b run --rm "$REG_HOST/runme" echo from-run
	[ "$output" = from-run ]
	[[ "$stderr" == *"Unable to find image '$REG_HOST/runme:latest' locally"* ]]
	[[ "$stderr" == *"Status: Downloaded newer image for $REG_HOST/runme:latest"* ]]
	run -125 --separate-stderr b run --rm "$REG_HOST/nothere"
	[[ "$stderr" == *"Unable to find image '$REG_HOST/nothere:latest' locally"* ]]
	[[ "$stderr" == *"manifest for $REG_HOST/nothere:latest not found"* ]]
}

# login_flow: the checks shared by the basic and token modes.
login_flow() {
	put_busybox private:latest
	local cfg=$DOCKER_CONFIG/config.json
	# no credentials
	run -1 b pull "$REG_HOST/private"
	[[ "$output" == *"Error response from daemon: "* ]]
	run -0 b images -q "$REG_HOST/private"
	[ -z "$output" ]
	# wrong password: docker's error, exit 1, nothing stored
	run -1 --separate-stderr b login -u "$REG_USER" -p wrong "$REG_HOST"
	[ "${stderr_lines[0]}" = "WARNING! Using --password via the CLI is insecure. Use --password-stdin." ]
	[[ "$stderr" == *"Error response from daemon: "* ]]
	[[ "$stderr" == *"401 Unauthorized"* || "$stderr" == *unauthorized* ]]
	[ ! -e "$cfg" ]
	# right password from stdin
	run -0 --separate-stderr b login -u "$REG_USER" --password-stdin "$REG_HOST" <<<"$REG_PASS"
	[ "$output" = "Login Succeeded" ]
	[[ "$stderr" == *"WARNING! Your credentials are stored unencrypted in '$cfg'."* ]]
	[ "$(stat -c %a "$cfg")" = 600 ]
	run -0 jq -r --arg k "$REG_HOST" '.auths[$k].auth' "$cfg"
	[ "$(base64 -d <<<"$output")" = "$REG_USER:$REG_PASS" ]
	# pull, run and push with the stored credentials
	run -0 b pull "$REG_HOST/private"
	run -0 b run --rm "$REG_HOST/private" echo private-ok
	[ "$output" = private-ok ]
	run -0 b tag busybox:latest "$REG_HOST/private:pushed"
	run -0 b push "$REG_HOST/private:pushed"
	[[ "${lines[-1]}" =~ ^pushed:\ digest:\ (sha256:[0-9a-f]{64})\ size: ]]
	[ "$(remote_digest private:pushed)" = "${BASH_REMATCH[1]}" ]
	run -0 b rmi "$REG_HOST/private"
	run -0 --separate-stderr b run --rm "$REG_HOST/private" echo run-pull-ok
	[ "$output" = run-pull-ok ]
	# login again without flags: the stored credentials are tried first
	run -0 --separate-stderr b login "$REG_HOST" </dev/null
	[ "$output" = "Login Succeeded" ]
	[[ "$stderr" == *"Authenticating with existing credentials... [Username: $REG_USER]"* ]]
	# logout removes them; pulls fail again
	run -0 b logout "$REG_HOST"
	[ "$output" = "Removing login credentials for $REG_HOST" ]
	run -0 jq -c '.auths' "$cfg"
	[ "$output" = "{}" ]
	run -0 b rmi "$REG_HOST/private"
	run -1 b pull "$REG_HOST/private"
}

@test "registry: htpasswd basic auth: login (wrong password, --password-stdin), pull, push, logout" {
	reg_start basic
	login_flow
}

@test "registry: token auth (own token server): login, pull, push, logout" {
	reg_start token
	login_flow
	# the token server saw our user
	grep -q 'GET /token' "$REG_DIR/token.log"
}

@test "registry: login/logout options and config.json handling" {
	reg_start basic
	local cfg=$DOCKER_CONFIG/config.json
	mkdir -p "$DOCKER_CONFIG"
	printf '{\n\t"psFormat": "table {{.ID}}",\n\t"auths": {"other.example:5000": {"auth": "bzpwdw=="}}\n}' >"$cfg"
	run -1 b login -u x -p y --password-stdin "$REG_HOST" </dev/null
	[[ "$output" == *"conflicting options: cannot specify both --password and --password-stdin"* ]]
	run -1 b login --password-stdin "$REG_HOST" </dev/null
	[ "$output" = "the --password-stdin option requires --username to be set" ]
	run -1 b login "$REG_HOST" </dev/null
	[ "$output" = "Error: Cannot perform an interactive login from a non TTY device" ]
	run -0 --separate-stderr b login -u "$REG_USER" -p "$REG_PASS" "http://$REG_HOST/v2/"
	[ "$output" = "Login Succeeded" ]
	# stored under the bare host; the other keys and registries are kept
	run -0 jq -r '.psFormat, .auths["other.example:5000"].auth, (.auths | keys | join(","))' "$cfg"
	[ "${lines[0]}" = "table {{.ID}}" ]
	[ "${lines[1]}" = "bzpwdw==" ]
	[ "${lines[2]}" = "$REG_HOST,other.example:5000" ]
	run -0 b logout "$REG_HOST"
	run -0 b logout "$REG_HOST"
	[ "$output" = "Removing login credentials for $REG_HOST" ]
	run -0 b logout
	[ "$output" = "Removing login credentials for https://index.docker.io/v1/" ]
	run -0 jq -r '.psFormat, (.auths | keys | join(","))' "$cfg"
	[ "${lines[0]}" = "table {{.ID}}" ]
	[ "${lines[1]}" = "other.example:5000" ]
	# the docker CLI reads what berth wrote
	run -0 b login -u "$REG_USER" -p "$REG_PASS" "$REG_HOST"
	put_busybox shared:latest
	run -0 dk pull "$REG_HOST/shared:latest"
	run -0 "$DOCKER_CLI" logout "$REG_HOST"
	run -0 jq -r '.auths | keys | join(",")' "$cfg"
	[ "$output" = "other.example:5000" ]
}

@test "registry: the docker CLI and docker-py pull and push through the daemon" {
	reg_start basic
	put_busybox viadocker:latest
	echo "$REG_PASS" | dk login -u "$REG_USER" --password-stdin "$REG_HOST"
	run -0 dk pull "$REG_HOST/viadocker"
	[[ "$output" == *"Status: Downloaded newer image for $REG_HOST/viadocker:latest"* ]]
	[ "${lines[-1]}" = "$REG_HOST/viadocker:latest" ]
	run -0 dk tag busybox:latest "$REG_HOST/viadocker:pushed"
	run -0 dk push "$REG_HOST/viadocker:pushed"
	[[ "${lines[-1]}" =~ ^pushed:\ digest:\ sha256:[0-9a-f]{64}\ size:\ [0-9]+$ ]]
	run -0 python3 - "$SUT" "$REG_HOST" "$REG_USER" "$REG_PASS" <<-'EOF'
		import sys, docker
		host, reg, user, pw = sys.argv[1:5]
		c = docker.DockerClient(base_url=host.replace("unix://", "unix://"), version="1.41")
		auth = {"username": user, "password": pw}
		img = c.images.pull(reg + "/viadocker", tag="latest", auth_config=auth)
		assert any(t == reg + "/viadocker:latest" for t in img.tags), img.tags
		img.tag(reg + "/viadocker", "frompy")
		out = list(c.images.push(reg + "/viadocker", tag="frompy", auth_config=auth, stream=True, decode=True))
		assert not [m for m in out if "error" in m], out
		assert any("frompy: digest: sha256:" in m.get("status", "") for m in out), out
		print("docker-py ok")
	EOF
	[ "${lines[-1]}" = "docker-py ok" ]
	[ "$(remote_digest viadocker:frompy)" = "$(remote_digest viadocker:pushed)" ]
}

@test "registry: a corrupted blob fails the pull and leaves nothing behind" {
	reg_start anon
	reg_make_image "$TEST_DIR/rand.tar" rand:latest 2 2000000
	reg_push_archive "docker-archive:$TEST_DIR/rand.tar" corrupt:latest
	layer=$(reg_manifest corrupt latest | jq -r '.layers[0].digest')
	blob=$(reg_blob_path "$layer")
	head -c "$(stat -c %s "$blob")" /dev/urandom >"$blob"
	store_state "$TEST_DIR/before"
	run -1 b pull "$REG_HOST/corrupt:latest"
	echo "$output"
	[[ "$output" == *"filesystem layer verification failed for digest $layer"* ]]
	expect_nothing_left "$TEST_DIR/before"
}

@test "registry: a connection cut mid-layer fails the pull and leaves nothing behind" {
	[ -n "${SUT_BERTHD:-}" ] || skip "dockerd retries a cut download 5 times with back-off (about a minute)"
	reg_start anon
	reg_make_image "$TEST_DIR/rand.tar" rand:latest 1 3000000
	reg_push_archive "docker-archive:$TEST_DIR/rand.tar" cut:latest
	reg_proxy_start 500000
	store_state "$TEST_DIR/before"
	run -1 timeout 120 "$BERTH_CLI" -H "$SUT" pull "127.0.0.1:$PROXY_PORT/cut:latest"
	echo "$output"
	[[ "$output" == *"unexpected EOF"* || "$output" == *"connection"* ]]
	expect_nothing_left "$TEST_DIR/before"
}

@test "registry: unknown media types fail the pull and leave nothing behind" {
	reg_start anon
	reg_make_image "$TEST_DIR/rand.tar" rand:latest 1 100000
	reg_push_archive "docker-archive:$TEST_DIR/rand.tar" weird:base
	# a layer of a media type nobody knows
	reg_manifest weird base | jq -c '.layers[0].mediaType = "application/vnd.berth.unknown.layer.v1+tar"' >"$TEST_DIR/m1"
	run -0 curl -sf -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' \
		--data-binary "@$TEST_DIR/m1" "http://$REG_HOST/v2/weird/manifests/layer"
	# a config of a media type nobody knows
	reg_manifest weird base | jq -c '.config.mediaType = "application/vnd.berth.unknown.config.v1+json"' >"$TEST_DIR/m2"
	run -0 curl -sf -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' \
		--data-binary "@$TEST_DIR/m2" "http://$REG_HOST/v2/weird/manifests/config"
	store_state "$TEST_DIR/before"
	run -1 b pull "$REG_HOST/weird:layer"
	echo "$output"
	[[ "$output" == *"unsupported media type application/vnd.berth.unknown.layer.v1+tar"* ]]
	run -1 b pull "$REG_HOST/weird:config"
	echo "$output"
	[[ "$output" == *'"application/vnd.berth.unknown.config.v1+json"'* ]]
	expect_nothing_left "$TEST_DIR/before"
}
