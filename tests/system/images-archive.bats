#!/usr/bin/env bats
# images-archive.bats — the store's hard cases and the archive commands:
#   - layers that try to escape (../ paths, absolute paths, symlinks then a
#     write through them, hard links out), loaded with `berth load` from
#     docker-archives crafted by images-archive.py: refused with an error
#     naming the layer, nothing left (no layer dir, no image, no canary);
#   - whiteouts both ways: a layer deleting a file and replacing a dir
#     opaquely; a commit of a container that deleted files (.wh. entries in
#     the saved layer, the files gone in a container of the new image);
#   - 60 layers (the mount-option length limit), zstd / gzip / plain layers;
#   - import (--change, -m), commit (-a, -c, -m, --pause), export → import,
#     save/load through skopeo's docker-archive: and oci: transports;
#   - beside a private real dockerd (dropin-helpers.bash, skipped when it
#     cannot start): real `docker save` output loaded by berth, and the
#     configs, history and layer counts of commit / import compared.

bats_require_minimum_version 1.5.0
load daemon-helpers
load dropin-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"
DOCKER_CLI=/usr/local/bin/docker
MKARCHIVE=$BATS_TEST_DIRNAME/images-archive.py

setup_file() {
	start_berthd || return 1
	load_busybox || return 1
	export BUSYBOX_ARCHIVE
	BUSYBOX_ARCHIVE=$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" docker-archive | tail -n 1)
	# the reference dockerd is optional: its tests skip without it
	REF_HOST=
	if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/dockerd ] && dropin_require >/dev/null 2>&1; then
		dropin_init
		if dropin_start_containerd >/dev/null 2>&1 && dropin_start_dockerd >/dev/null 2>&1 &&
			"$DOCKER_CLI" -H "$DOCKER_HOST" load -i "$BUSYBOX_ARCHIVE" >/dev/null; then
			REF_HOST=$DOCKER_HOST
		fi
	fi
	export DOCKER_HOST=unix://$BERTHD_SOCK REF_HOST
	echo "$REF_HOST" >"$BATS_FILE_TMPDIR/ref_host"
}

teardown_file() {
	teardown_berthd
	dropin_teardown
}

setup() {
	REF_HOST=$(cat "$BATS_FILE_TMPDIR/ref_host")
	CANARY=/tmp/berth-canary-$BERTH_TEST_TOKEN
	rm -f "$CANARY"
}

teardown() {
	local ids
	ids=$(b ps -aq 2>/dev/null) || true
	# shellcheck disable=SC2086 # one word per id
	[ -z "$ids" ] || b rm -f $ids >/dev/null 2>&1 || true
	rm -f "$CANARY"
}

b() { timeout -k 5 120 "$BERTH_CLI" -H "unix://$BERTHD_SOCK" "$@"; }
dref() { timeout -k 5 120 "$DOCKER_CLI" -H "$REF_HOST" "$@"; }
need_ref() { [ -n "$REF_HOST" ] || skip "no private dockerd"; }

# mkarchive OUT TAG BASE|- SPEC-JSON
mkarchive() { python3 "$MKARCHIVE" "$1" "$2" "$3" <<<"$4"; }

layer_dirs() { find "$BERTHD_DATA/layers" -mindepth 1 -maxdepth 1 -not -name l | wc -l; }

# refused SPEC — a busybox + SPEC image must fail to load, with the layer
# named, and leave no image, no new layer, nothing in tmp, no canary.
refused() {
	local before
	mkarchive "$BATS_TEST_TMPDIR/bad.tar" bad:1 "$BUSYBOX_ARCHIVE" "$1"
	before=$(layer_dirs)
	run b load -i "$BATS_TEST_TMPDIR/bad.tar"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer sha256:"* ]]
	[[ "$output" == *"${2:-}"* ]]
	run b image inspect bad:1
	[ "$status" -ne 0 ]
	[ "$(layer_dirs)" -eq "$before" ]
	[ -z "$(ls -A "$BERTHD_DATA/tmp")" ]
	[ ! -e "$CANARY" ]
}

# ------------------------------------------------------------- escapes ----

@test "escape: a ../ path is refused" {
	refused '{"layers":[{"entries":[["f","../../../../../../../../..'"$CANARY"'","x"]]}]}'
}

@test "escape: an absolute path is refused" {
	refused '{"layers":[{"entries":[["f","'"$CANARY"'","x"]]}]}'
}

@test "escape: a hard link to outside the root is refused" {
	refused '{"layers":[{"entries":[["h","passwd-out","../../../../../../../../../etc/passwd"]]}]}'
}

@test "escape: a symlink up and out, then a write through it, is refused" {
	# the link itself climbs above the layer's root: refused as dockerd does
	refused '{"layers":[{"entries":[["l","up","../../../../../../../../../tmp"],["f","up/'"${CANARY##*/}"'","x"]]}]}'
}

@test "escape: a symlink climbing out (to the root's parent), then a write: refused as dockerd" {
	# dockerd refuses the link itself ("invalid symlink \"…/up\" -> \"../..\"")
	refused '{"layers":[{"entries":[["d","a"],["l","a/up","../../.."],["f","a/up/'"${CANARY##*/}"'","x"]]}]}' \
		'invalid symlink "a/up" -> "../../.."'
}

@test "escape: a symlink to / then a write through it stays inside the root" {
	# as dockerd (its extraction is chrooted): an absolute link resolves in
	# the layer, so the write lands there, never on the host
	mkarchive "$BATS_TEST_TMPDIR/abs.tar" abs:1 "$BUSYBOX_ARCHIVE" \
		'{"layers":[{"entries":[["l","rootlink","/"],["f","rootlink/tmp/'"${CANARY##*/}"'","inside"]]}]}'
	run b load -i "$BATS_TEST_TMPDIR/abs.tar"
	[ "$status" -eq 0 ]
	[ ! -e "$CANARY" ]
	run b run --rm abs:1 cat "/tmp/${CANARY##*/}"
	[ "$output" = inside ]
	b rmi abs:1
}

@test "escape: the same crafted layer through import is refused, nothing left" {
	local before
	python3 - "$BATS_TEST_TMPDIR/imp.tar" <<-EOF
		import io, sys, tarfile
		with tarfile.open(sys.argv[1], "w") as t:
		    ti = tarfile.TarInfo("../../../../../..$CANARY"); ti.size = 1
		    t.addfile(ti, io.BytesIO(b"x"))
	EOF
	before=$(layer_dirs)
	run b import "$BATS_TEST_TMPDIR/imp.tar" badimport:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer sha256:"*"path escapes the layer root"* ]]
	run b image inspect badimport:1
	[ "$status" -ne 0 ]
	[ "$(layer_dirs)" -eq "$before" ]
	[ ! -e "$CANARY" ]
}

# ----------------------------------------------------------- whiteouts ----

@test "whiteouts: a layer deleting a file and replacing a dir opaquely" {
	mkarchive "$BATS_TEST_TMPDIR/wh.tar" wh:1 "$BUSYBOX_ARCHIVE" '{"layers":[
		{"entries":[["d","wdir"],["f","wdir/old1","1"],["f","wdir/old2","2"],["f","delme","x"]]},
		{"entries":[["f",".wh.delme",""],["d","wdir"],["f","wdir/.wh..wh..opq",""],["f","wdir/new","3"]]}]}'
	b load -i "$BATS_TEST_TMPDIR/wh.tar"
	run b run --rm wh:1 sh -c 'ls /wdir; test -e /delme && echo present || echo gone'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'new\ngone')" ]
	# and save gives them back in AUFS form
	b save -o "$BATS_TEST_TMPDIR/wh-saved.tar" wh:1
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/wh-saved.tar"
	top=$(jq -r '.[0].Layers[-1]' "$BATS_TEST_TMPDIR/x/manifest.json")
	run tar -tf "$BATS_TEST_TMPDIR/x/$top"
	[[ "$output" == *".wh.delme"* ]]
	[[ "$output" == *"wdir/.wh..wh..opq"* ]]
	b rmi wh:1
}

@test "whiteouts: commit of a container that deleted files holds .wh. entries" {
	b run --name delfiles busybox sh -c 'rm /etc/passwd; rm -rf /etc/ssl 2>/dev/null; mkdir -p /data; echo hi >/data/f'
	run b commit delfiles committed:wh
	[ "$status" -eq 0 ]
	[[ "$output" == sha256:* ]]
	b save -o "$BATS_TEST_TMPDIR/c.tar" committed:wh
	mkdir "$BATS_TEST_TMPDIR/c"
	tar -C "$BATS_TEST_TMPDIR/c" -xf "$BATS_TEST_TMPDIR/c.tar"
	[ "$(jq -r '.[0].Layers | length' "$BATS_TEST_TMPDIR/c/manifest.json")" -eq 2 ]
	top=$(jq -r '.[0].Layers[-1]' "$BATS_TEST_TMPDIR/c/manifest.json")
	run tar -tf "$BATS_TEST_TMPDIR/c/$top"
	echo "$output"
	[[ "$output" == *"etc/.wh.passwd"* ]]
	[[ "$output" == *"data/f"* ]]
	# the diff ID in the config is the saved tar's sha256
	cfg=$(jq -r '.[0].Config' "$BATS_TEST_TMPDIR/c/manifest.json")
	[ "$(jq -r '.rootfs.diff_ids[-1]' "$BATS_TEST_TMPDIR/c/$cfg")" = "sha256:$(sha256sum "$BATS_TEST_TMPDIR/c/$top" | cut -d' ' -f1)" ]
	run b run --rm committed:wh sh -c 'test -e /etc/passwd && echo present || echo gone; cat /data/f'
	[ "$output" = "$(printf 'gone\nhi')" ]
	b rm delfiles
	b rmi committed:wh
}

# ---------------------------------------------------- many layers, zstd ----

@test "60 layers load and run" {
	mkarchive "$BATS_TEST_TMPDIR/many.tar" many:60 "$BUSYBOX_ARCHIVE" \
		'{"layers":[{"repeat":60,"entries":[["f","layer%d","%d\n"],["f","top","%d\n"]]}]}'
	b load -i "$BATS_TEST_TMPDIR/many.tar"
	run b image inspect -f '{{len .RootFS.Layers}}' many:60
	[ "$output" -eq 61 ]
	run b run --rm many:60 sh -c 'cat /layer0 /layer59 /top'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n59\n59')" ]
	b rmi many:60
}

@test "zstd, gzip and uncompressed layers" {
	command -v zstd >/dev/null || skip "no zstd CLI"
	mkarchive "$BATS_TEST_TMPDIR/z.tar" comp:1 "$BUSYBOX_ARCHIVE" '{"layers":[
		{"compress":"zstd","entries":[["f","z","zstd\n"]]},
		{"compress":"gzip","entries":[["f","g","gzip\n"]]},
		{"compress":"none","entries":[["f","n","none\n"]]}]}'
	b load -i "$BATS_TEST_TMPDIR/z.tar"
	run b run --rm comp:1 cat /z /g /n
	echo "$output"
	[ "$output" = "$(printf 'zstd\ngzip\nnone')" ]
	# saved back uncompressed: every layer.tar hashes to its diff ID
	b save -o "$BATS_TEST_TMPDIR/z-saved.tar" comp:1
	mkdir "$BATS_TEST_TMPDIR/zs"
	tar -C "$BATS_TEST_TMPDIR/zs" -xf "$BATS_TEST_TMPDIR/z-saved.tar"
	cfg=$(jq -r '.[0].Config' "$BATS_TEST_TMPDIR/zs/manifest.json")
	for i in 0 1 2 3; do
		l=$(jq -r ".[0].Layers[$i]" "$BATS_TEST_TMPDIR/zs/manifest.json")
		[ "$(jq -r ".rootfs.diff_ids[$i]" "$BATS_TEST_TMPDIR/zs/$cfg")" = "sha256:$(sha256sum "$BATS_TEST_TMPDIR/zs/$l" | cut -d' ' -f1)" ]
	done
	b rmi comp:1
}

# ------------------------------------------------------ import / commit ----

@test "import with --change and -m, from a file and from stdin" {
	mkdir -p "$BATS_TEST_TMPDIR/root/bin"
	cp "$(b image inspect -f '{{.GraphDriver.Data.UpperDir}}' busybox)/bin/busybox" "$BATS_TEST_TMPDIR/root/bin/" 2>/dev/null ||
		tar -C "$BATS_TEST_TMPDIR/root" -xf "$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" layer | tail -n 1)"
	echo hello >"$BATS_TEST_TMPDIR/root/hello"
	tar -C "$BATS_TEST_TMPDIR/root" -czf "$BATS_TEST_TMPDIR/root.tgz" .
	run b import -c 'CMD ["/bin/busybox", "cat", "/hello"]' -c 'ENV A=1 B=two' -c 'WORKDIR /w' \
		-c 'EXPOSE 80' -c 'LABEL k=v' -m 'my message' "$BATS_TEST_TMPDIR/root.tgz" imported:1
	[ "$status" -eq 0 ]
	[[ "$output" == sha256:* ]]
	run b run --rm imported:1
	[ "$output" = hello ]
	run b image inspect -f '{{json .Config.Env}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{.Config.Labels.k}} {{.Comment}} {{len .RootFS.Layers}}' imported:1
	[ "$output" = '["A=1","B=two"] /w {"80/tcp":{}} v my message 1' ]
	run b history --format '{{.Comment}}' imported:1
	[ "$output" = "my message" ]
	# stdin, no message: "Imported from -"
	run bash -c "'$BERTH_CLI' -H 'unix://$BERTHD_SOCK' import - imported:2 <'$BATS_TEST_TMPDIR/root.tgz'"
	[ "$status" -eq 0 ]
	run b history --format '{{.Comment}}' imported:2
	[ "$output" = "Imported from -" ]
	# bad changes and URLs are refused with docker's words
	run b import -c 'RUN echo hi' "$BATS_TEST_TMPDIR/root.tgz"
	[ "$status" -ne 0 ]
	[[ "$output" == *"run is not a valid change command"* ]]
	run b import http://127.0.0.1:9/x.tar
	[ "$status" -ne 0 ]
	[[ "$output" == *"URL"* ]]
	b rmi imported:1 imported:2
}

@test "commit with -a -c -m, paused by default, -p=false" {
	b run -d --name live busybox sleep 300
	events_from=$(date +%s)
	run b commit -a 'Jane <j@x>' -m 'a message' -c 'ENV X=1' -c 'CMD ["echo","committed"]' live live:1
	[ "$status" -eq 0 ]
	id=$output
	[ "$(b inspect -f '{{.State.Status}}' live)" = running ]
	run b image inspect -f '{{.Author}}|{{.Comment}}|{{.Container}}|{{.Parent}}|{{len .RootFS.Layers}}' live:1
	# nothing changed in the container: an empty layer, not added (dockerd's rule)
	[ "$output" = "Jane <j@x>|a message|$(b inspect -f '{{.Id}}' live)|$(b image inspect -f '{{.Id}}' busybox)|1" ]
	run b image inspect -f '{{json .Config.Cmd}} {{range .Config.Env}}{{.}} {{end}}' live:1
	[[ "$output" == '["echo","committed"] '*"X=1"* ]]
	run b run --rm live:1
	[ "$output" = committed ]
	# the pause: pause and unpause events around the commit
	run b events --since "$events_from" --until "$(( $(date +%s) + 1 ))" --filter container=live --format '{{.Action}}'
	[[ "$output" == *pause*unpause*commit* ]]
	run b commit -p=false live live:2
	[ "$status" -eq 0 ]
	run b history --format '{{.CreatedBy}}|{{.Comment}}' live:1
	[ "${lines[0]}" = "sleep 300|a message" ]
	# the parent cannot go while its child exists
	run b rmi -f live:1 busybox
	run b image inspect busybox
	[ "$status" -eq 0 ]
	b rm -f live
	b rmi live:2 2>/dev/null || true
}

@test "export then import: the same files" {
	b run --name exp busybox sh -c 'echo exported >/marker'
	b export -o "$BATS_TEST_TMPDIR/exp.tar" exp
	tar -tf "$BATS_TEST_TMPDIR/exp.tar" | grep -qx marker
	b import "$BATS_TEST_TMPDIR/exp.tar" exp:imported
	run b run --rm exp:imported cat /marker
	[ "$output" = exported ]
	run b container export exp
	[ "$status" -eq 0 ] # to a pipe: fine
	b rm exp
	b rmi exp:imported
}

# ----------------------------------------------------------- skopeo ----

@test "save/load round trips through skopeo docker-archive: and oci:" {
	command -v skopeo >/dev/null || skip "no skopeo"
	local t=$BATS_TEST_TMPDIR
	b run --name sk busybox sh -c 'echo sk >/sk; rm /etc/passwd'
	b commit sk sk:1
	b save -o "$t/sk.tar" sk:1
	# berth → skopeo oci: → tar → berth load
	skopeo copy --quiet "docker-archive:$t/sk.tar" "oci:$t/oci:sk:oci"
	jq '.manifests[0].annotations["io.containerd.image.name"] = "docker.io/library/sk:fromoci"' \
		"$t/oci/index.json" >"$t/idx" && mv "$t/idx" "$t/oci/index.json"
	tar -C "$t/oci" -cf "$t/oci.tar" .
	run b load -i "$t/oci.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: sk:fromoci" ]
	run b run --rm sk:fromoci sh -c 'cat /sk; test -e /etc/passwd || echo gone'
	[ "$output" = "$(printf 'sk\ngone')" ]
	[ "$(b image inspect -f '{{json .RootFS.Layers}}' sk:fromoci)" = "$(b image inspect -f '{{json .RootFS.Layers}}' sk:1)" ]
	# oci: → skopeo docker-archive: → berth load
	skopeo copy --quiet "oci:$t/oci:sk:oci" "docker-archive:$t/back.tar:sk:back"
	run b load -i "$t/back.tar"
	[ "$status" -eq 0 ]
	run b run --rm sk:back cat /sk
	[ "$output" = sk ]
	b rm sk
	b rmi sk:1 sk:fromoci sk:back
}

# --------------------------------------------------------- real dockerd ----

@test "real docker save output loads and runs" {
	need_ref
	dref run --name mk busybox sh -c 'echo fromdocker >/d; rm /etc/passwd'
	dref commit mk fromdocker:1 >/dev/null
	dref rm mk >/dev/null
	dref save -o "$BATS_TEST_TMPDIR/d.tar" fromdocker:1
	run b load -i "$BATS_TEST_TMPDIR/d.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: fromdocker:1" ]
	[ "$(b image inspect -f '{{.Id}}' fromdocker:1)" = "$(dref image inspect -f '{{.Id}}' fromdocker:1)" ]
	run b run --rm fromdocker:1 sh -c 'cat /d; test -e /etc/passwd || echo gone'
	[ "$output" = "$(printf 'fromdocker\ngone')" ]
	# and berth's save loads into dockerd with the same ID
	b save -o "$BATS_TEST_TMPDIR/b.tar" fromdocker:1
	dref rmi fromdocker:1 >/dev/null
	dref load -i "$BATS_TEST_TMPDIR/b.tar"
	[ "$(b image inspect -f '{{.Id}}' fromdocker:1)" = "$(dref image inspect -f '{{.Id}}' fromdocker:1)" ]
	dref rmi fromdocker:1 >/dev/null
	b rmi fromdocker:1
}

# the fields of an image config that must match (times and IDs differ)
shape() {
	jq -c '{author: .Author, comment: .Comment, parent: (.Parent != ""), container: (.Container != ""),
		os: .Os, arch: .Architecture, layers: (.RootFS.Layers | length),
		config: (.Config | del(.Hostname) | del(.Image) | del(.NetworkDisabled)),
		cc: (.ContainerConfig | del(.Hostname) | del(.Image) | del(.NetworkDisabled) | keys)}'
}

@test "commit and import: the same config, history and layers as dockerd" {
	need_ref
	local snippet='D run --name cmp busybox sh -c "rm /etc/passwd; echo x >/x" >/dev/null &&
		D commit -a au -m msg -c "ENV Z=9" -c "ENTRYPOINT [\"/bin/sh\"]" -c "EXPOSE 81/udp" -c "VOLUME /v" cmp cmp:1 >/dev/null &&
		D image inspect cmp:1 | jq -c ".[0]" >"$T/$W-commit.json" &&
		D history --format "{{.CreatedBy}}|{{.Comment}}" cmp:1 >"$T/$W-commit.hist" &&
		D export cmp >"$T/$W-cmp.tar" &&
		D import -c "USER nobody" -c "HEALTHCHECK --interval=5s CMD true" "$T/$W-cmp.tar" cmpimp:1 >/dev/null &&
		D image inspect cmpimp:1 | jq -c ".[0]" >"$T/$W-import.json" &&
		D history --format "{{.CreatedBy}}|{{.Comment}}" cmpimp:1 >"$T/$W-import.hist"
		rc=$?; D rm -f cmp >/dev/null; D rmi cmp:1 cmpimp:1 >/dev/null; exit $rc'
	local w host
	for w in ref sut; do
		host=$REF_HOST
		[ "$w" = sut ] && host=unix://$BERTHD_SOCK
		run env T="$BATS_TEST_TMPDIR" W="$w" BIN="$DOCKER_CLI" HOST="$host" bash -c 'D() { "$BIN" -H "$HOST" "$@"; }; '"$snippet"
		echo "$w: $output"
		[ "$status" -eq 0 ]
	done
	for k in commit import; do
		ref_shape=$(shape <"$BATS_TEST_TMPDIR/ref-$k.json")
		sut_shape=$(shape <"$BATS_TEST_TMPDIR/sut-$k.json")
		echo "dockerd $k: $ref_shape"
		echo "berthd  $k: $sut_shape"
		[ "$ref_shape" = "$sut_shape" ]
		diff "$BATS_TEST_TMPDIR/ref-$k.hist" "$BATS_TEST_TMPDIR/sut-$k.hist"
	done
}
