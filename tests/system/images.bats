#!/usr/bin/env bats
# images.bats — the images API of berthd through the real docker CLI 28:
# load (docker-archive and OCI), images (+ filters), image inspect, history,
# tag, rmi, save (checked by skopeo), prune; and the same requests against
# a private real dockerd 20.10 for the shapes that matter (skipped when no
# dockerd starts).

load daemon-helpers

# a private dockerd: own data/exec roots, socket, pidfile, its own containerd
start_ref_dockerd() {
	REF_DIR=$(mktemp -d /tmp/bdref-XXXXXX)
	echo "$REF_DIR" >"$BATS_FILE_TMPDIR/refdir"
	[ -x /usr/sbin/dockerd ] || return 0
	/usr/sbin/dockerd --data-root "$REF_DIR/data" --exec-root "$REF_DIR/exec" \
		-H "unix://$REF_DIR/d.sock" --pidfile "$REF_DIR/d.pid" \
		--bridge none --iptables=false --ip6tables=false \
		>"$REF_DIR/log" 2>&1 &
	echo $! >"$REF_DIR/pid"
	local i
	for i in $(seq 1 100); do
		[ -S "$REF_DIR/d.sock" ] && curl -s --unix-socket "$REF_DIR/d.sock" http://x/_ping >/dev/null && return 0
		sleep 0.2
	done
	return 0
}

stop_ref_dockerd() {
	local dir pid
	dir=$(cat "$BATS_FILE_TMPDIR/refdir" 2>/dev/null) || return 0
	if [ -f "$dir/pid" ]; then
		pid=$(cat "$dir/pid")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	grep -F " $dir/" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$dir"
}

setup_file() {
	start_berthd
	start_ref_dockerd
}

teardown_file() {
	stop_ref_dockerd
	teardown_berthd
}

setup() {
	REF_DIR=$(cat "$BATS_FILE_TMPDIR/refdir")
	ARCHIVE=$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" docker-archive | tail -n 1)
}

have_ref() { [ -S "$REF_DIR/d.sock" ]; }

# on SOCK: run the docker CLI against it
dk() {
	local sock=$1
	shift
	DOCKER_HOST=unix://$sock docker "$@"
}

# both SOCK-relative outputs of a command must be equal (when dockerd runs)
same_on_both() {
	local ours theirs
	ours=$(dk "$BERTHD_SOCK" "$@" 2>&1) || true
	if have_ref; then
		theirs=$(dk "$REF_DIR/d.sock" "$@" 2>&1) || true
		if [ "$ours" != "$theirs" ]; then
			echo "berthd: $ours" >&2
			echo "dockerd: $theirs" >&2
			return 1
		fi
	fi
	echo "$ours"
}

# a variant of the fixture with another config: variant SRC OUT TAG LABEL CREATED
variant() {
	local w cfg sha
	w=$(mktemp -d "$BATS_TEST_TMPDIR/v.XXXXXX")
	tar -C "$w" -xf "$1"
	cfg=$(jq -r '.[0].Config' "$w/manifest.json")
	jq -c --arg l "$4" --arg c "$5" '.config.Labels = {"variant": $l} | .created = $c' "$w/$cfg" >"$w/new.json"
	sha=$(sha256sum "$w/new.json" | cut -d' ' -f1)
	rm "$w/$cfg"
	mv "$w/new.json" "$w/$sha.json"
	jq -c --arg c "$sha.json" --arg t "$3" '.[0].Config = $c | .[0].RepoTags = [$t]' "$w/manifest.json" >"$w/m"
	mv "$w/m" "$w/manifest.json"
	rm -f "$w/repositories"
	tar -C "$w" -cf "$2" .
}

@test "load: docker-archive, the JSON stream as dockerd's" {
	run same_on_both load -i "$ARCHIVE"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:latest" ]
	run api POST "/images/load?quiet=1" -H "Content-Type: application/x-tar" --data-binary "@$ARCHIVE"
	[ "$(echo "$output" | tr -d '\r')" = '{"stream":"Loaded image: busybox:latest\n"}' ]
}

@test "load: OCI layout" {
	local oci
	oci=$(BERTH_BUSYBOX_REF=busybox:oci "$FIXTURES/busybox-image.sh" oci-archive | tail -n 1)
	run dk "$BERTHD_SOCK" load -i "$oci"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:oci" ]
	run dk "$BERTHD_SOCK" images --format '{{.ID}}' busybox
	[ "${lines[0]}" = "${lines[1]}" ] # the same image as the docker-archive's
	dk "$BERTHD_SOCK" rmi busybox:oci
}

@test "load: garbage is refused and leaves nothing" {
	echo garbage >"$BATS_TEST_TMPDIR/g.tar"
	run dk "$BERTHD_SOCK" load -i "$BATS_TEST_TMPDIR/g.tar"
	[ "$status" -ne 0 ]
	[ -z "$(ls "$BERTHD_DATA/tmp")" ]
}

@test "images and inspect: dockerd's shapes" {
	dk "$BERTHD_SOCK" load -i "$ARCHIVE"
	have_ref && dk "$REF_DIR/d.sock" load -i "$ARCHIVE"
	run same_on_both images --format '{{.Repository}} {{.Tag}} {{.ID}} {{.Size}} {{.CreatedSince}}'
	[ "$status" -eq 0 ]
	[[ "$output" == "busybox latest "* ]]
	local ours theirs
	ours=$(api GET /v1.41/images/json | jq -S .)
	[ "$(echo "$ours" | jq -r '.[0].Containers')" = -1 ]
	ours=$(api GET /v1.41/images/busybox/json | jq -S 'del(.GraphDriver.Data)')
	[ "$(echo "$ours" | jq -r .GraphDriver.Name)" = overlay2 ]
	if have_ref; then
		theirs=$(curl -s --unix-socket "$REF_DIR/d.sock" http://x/v1.41/images/busybox/json | jq -S 'del(.GraphDriver.Data)')
		diff <(echo "$ours") <(echo "$theirs")
		diff <(api GET /v1.41/images/json | jq -S .) <(curl -s --unix-socket "$REF_DIR/d.sock" http://x/v1.41/images/json | jq -S .)
		diff <(api GET /v1.41/images/busybox/history | jq -S .) <(curl -s --unix-socket "$REF_DIR/d.sock" http://x/v1.41/images/busybox/history | jq -S .)
	fi
	run same_on_both image inspect --format '{{.Id}} {{.Os}} {{json .RootFS}}' busybox
	[ "$status" -eq 0 ]
}

@test "errors: unknown images, bad references, dockerd's words" {
	run same_on_both image inspect nosuch
	[[ "$output" == *"No such image: nosuch:latest"* ]]
	run same_on_both rmi nosuch
	[[ "$output" == *"No such image: nosuch:latest"* ]]
	run api POST "/images/busybox/tag?repo=Foo"
	[ "$output" = '{"message":"invalid reference format: repository name must be lowercase"}' ]
	run api POST "/images/busybox/tag?repo=foo&tag=-x"
	[ "$output" = '{"message":"invalid tag format"}' ]
	run api GET "/images/nosuch/json" -o /dev/null -w '%{http_code}'
	[ "$output" = 404 ]
	run same_on_both images --filter dangling=maybe
	[[ "$output" == *"Invalid filter 'dangling=[maybe]'"* ]]
}

@test "tag, rmi: untag first, delete with the last name, conflicts" {
	for s in "$BERTHD_SOCK" ${REF_DIR:+$REF_DIR/d.sock}; do
		[ -S "$s" ] || continue
		dk "$s" load -i "$ARCHIVE" >/dev/null
		dk "$s" tag busybox localhost:5000/x/y:1
		dk "$s" tag busybox b2
	done
	run same_on_both rmi localhost:5000/x/y:1
	[ "$output" = "Untagged: localhost:5000/x/y:1" ]
	run same_on_both rmi "$(dk "$BERTHD_SOCK" images -q busybox | head -1)"
	[[ "$output" == *"(must be forced) - image is referenced in multiple repositories"* ]]
	run same_on_both rmi -f "$(dk "$BERTHD_SOCK" images -q busybox | head -1)"
	[[ "${lines[0]}" == "Untagged: b2:latest" ]]
	[[ "${lines[1]}" == "Untagged: busybox:latest" ]]
	[[ "${lines[2]}" == "Deleted: sha256:"* ]]
	[ -z "$(dk "$BERTHD_SOCK" images -q)" ]
	# the layer went with the image
	[ "$(ls "$BERTHD_DATA/layers" | grep -vc '^l$')" -eq 0 ]
}

@test "save: docker-archive that skopeo reads, the digest dockerd gives" {
	dk "$BERTHD_SOCK" load -i "$ARCHIVE" >/dev/null
	dk "$BERTHD_SOCK" save busybox -o "$BATS_TEST_TMPDIR/ours.tar"
	run skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/ours.tar:busybox:latest"
	[ "$status" -eq 0 ]
	local dig
	dig=$(echo "$output" | jq -r .Digest)
	if have_ref; then
		dk "$REF_DIR/d.sock" load -i "$ARCHIVE" >/dev/null
		dk "$REF_DIR/d.sock" save busybox -o "$BATS_TEST_TMPDIR/theirs.tar"
		[ "$dig" = "$(skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/theirs.tar:busybox:latest" | jq -r .Digest)" ]
		diff <(tar xOf "$BATS_TEST_TMPDIR/ours.tar" manifest.json | jq -S '.[0] | del(.Layers)') \
			<(tar xOf "$BATS_TEST_TMPDIR/theirs.tar" manifest.json | jq -S '.[0] | del(.Layers)')
	fi
	# a saved archive loads back
	dk "$BERTHD_SOCK" rmi busybox
	run dk "$BERTHD_SOCK" load -i "$BATS_TEST_TMPDIR/ours.tar"
	[ "$output" = "Loaded image: busybox:latest" ]
	run same_on_both save nosuch -o "$BATS_TEST_TMPDIR/none.tar"
	[[ "$output" == *"No such image: nosuch"* ]]
}

@test "filters and prune" {
	local v
	variant "$ARCHIVE" "$BATS_TEST_TMPDIR/v1.tar" app:v1 one 2020-01-01T00:00:00Z
	variant "$ARCHIVE" "$BATS_TEST_TMPDIR/v2.tar" app:v1 two 2021-01-01T00:00:00Z
	variant "$ARCHIVE" "$BATS_TEST_TMPDIR/v3.tar" app:v3 three 2022-01-01T00:00:00Z
	for s in "$BERTHD_SOCK" ${REF_DIR:+$REF_DIR/d.sock}; do
		[ -S "$s" ] || continue
		dk "$s" load -i "$ARCHIVE" >/dev/null
		for v in 1 2 3; do dk "$s" load -i "$BATS_TEST_TMPDIR/v$v.tar" >/dev/null; done
	done
	run same_on_both images -a --format '{{.Repository}}:{{.Tag}}'
	[ "${#lines[@]}" -eq 4 ]
	run same_on_both images --filter dangling=true --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "<none>:<none>" ]
	run same_on_both images --filter label=variant=two --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "app:v1" ]
	run same_on_both images --filter 'reference=app:*' --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "$(printf 'app:v3\napp:v1')" ]
	# an image with tags in two repositories lists only the matching one
	for s in "$BERTHD_SOCK" ${REF_DIR:+$REF_DIR/d.sock}; do
		[ -S "$s" ] && dk "$s" tag app:v3 other:v3
	done
	run same_on_both images app --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "$(printf 'app:v3\napp:v1')" ]
	run same_on_both images other --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "other:v3" ]
	for s in "$BERTHD_SOCK" ${REF_DIR:+$REF_DIR/d.sock}; do
		[ -S "$s" ] && dk "$s" rmi other:v3 >/dev/null
	done
	run same_on_both images --filter since=app:v1 --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "app:v3" ]
	run same_on_both image prune -f
	[[ "$output" == *"deleted: sha256:"* ]]
	run same_on_both image prune -a -f --filter label=variant=three
	[[ "$output" == *"untagged: app:v3"* ]]
	run same_on_both images --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "$(printf 'app:v1\nbusybox:latest')" ]
}

# the docker CLI's output on both daemons, container IDs (which differ) as "C"
same_on_both_cids() {
	local ours theirs
	ours=$(dk "$BERTHD_SOCK" "$@" 2>&1 | sed -E 's/container [0-9a-f]{12}/container C/') || true
	if have_ref; then
		theirs=$(dk "$REF_DIR/d.sock" "$@" 2>&1 | sed -E 's/container [0-9a-f]{12}/container C/') || true
		if [ "$ours" != "$theirs" ]; then
			echo "berthd: $ours" >&2
			echo "dockerd: $theirs" >&2
			return 1
		fi
	fi
	echo "$ours"
}

@test "rmi: an image used by containers, dockerd 20.10's conflicts" {
	local s iid cid
	for s in "$BERTHD_SOCK" ${REF_DIR:+$REF_DIR/d.sock}; do
		[ -S "$s" ] || continue
		dk "$s" load -i "$ARCHIVE" >/dev/null
		dk "$s" create --name img-stopped busybox true >/dev/null
	done
	iid=$(dk "$BERTHD_SOCK" images -q busybox)
	cid=$(dk "$BERTHD_SOCK" ps -aq --filter name=img-stopped)
	# by name, the last reference: the user is named
	run dk "$BERTHD_SOCK" rmi busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"conflict: unable to remove repository reference \"busybox\" (must force) - container $cid is using its referenced image $iid"* ]]
	run same_on_both_cids rmi busybox
	[ "$status" -eq 0 ]
	# by ID, a stopped user: must be forced
	run same_on_both_cids rmi "$iid"
	[[ "$output" == *"conflict: unable to delete $iid (must be forced) - image is being used by stopped container C"* ]]
	# a running user: not even with force
	for s in "$BERTHD_SOCK" ${REF_DIR:+$REF_DIR/d.sock}; do
		[ -S "$s" ] || continue
		dk "$s" run -d --name img-running busybox sleep 100 >/dev/null
	done
	cid=$(dk "$BERTHD_SOCK" ps -q --filter name=img-running)
	run dk "$BERTHD_SOCK" rmi -f "$iid"
	[[ "$output" == *"conflict: unable to delete $iid (cannot be forced) - image is being used by running container $cid"* ]]
	run same_on_both_cids rmi -f "$iid"
	[ "$status" -eq 0 ]
	# by name with force: untagged, the image stays for the running container
	run same_on_both_cids rmi -f busybox
	[ "$output" = "Untagged: busybox:latest" ]
	dk "$BERTHD_SOCK" images -aq | grep -qx "$iid"
	for s in "$BERTHD_SOCK" ${REF_DIR:+$REF_DIR/d.sock}; do
		[ -S "$s" ] || continue
		dk "$s" rm -f img-running img-stopped >/dev/null
		dk "$s" rmi "$iid" >/dev/null
	done
}

@test "filters: dockerd's \"Invalid filter\" on the routes that validate" {
	local p
	for p in /containers/json /images/json /containers/prune /images/prune; do
		local m=GET
		[[ $p == */prune ]] && m=POST
		run curl -s -g -X "$m" --unix-socket "$BERTHD_SOCK" "http://x/v1.41$p?filters=%7B%22nope%22:%5B%22y%22%5D%7D" -w ' %{http_code}'
		[ "$output" = "{\"message\":\"Invalid filter 'nope'\"}"$'\n'" 400" ] || { echo "$p: $output" >&2; false; }
	done
}
