#!/usr/bin/env bats
# registry-api.bats — berthd's distribution endpoints at the API level
# (curl on the socket), against Debian's docker-registry on 127.0.0.1:
# pull (progress messages, RepoDigests, "up to date"), run the pulled image,
# push back under another name (cross-repo mount, upload of a loaded image)
# checked by skopeo, /distribution, /auth; and the failures that must leave
# nothing behind: a corrupted blob, a connection cut mid-layer, an unknown
# layer media type, a manifest that does not exist.
# (registry.bats, the CLI side, covers basic/token auth and progress bars.)

load daemon-helpers
load registry-helpers

setup_file() {
	reg_start anon
	echo "$REG_DIR" >"$BATS_FILE_TMPDIR/regdir"
	local ar
	ar=$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" docker-archive | tail -n 1)
	reg_push_archive "docker-archive:$ar" busybox:latest
	# a three-layer image per failure test (layers that nothing else shares)
	local t
	for t in corrupt cut weird upload; do
		python3 - "$BATS_FILE_TMPDIR/$t.tar" "$t" <<-'EOF'
			import hashlib, io, json, random, sys, tarfile
			out, seed = sys.argv[1], sys.argv[2]
			layers, diffs = [], []
			for i in range(3):
			    b = io.BytesIO()
			    with tarfile.open(fileobj=b, mode="w") as t:
			        data = random.Random(seed + str(i)).randbytes(300000)
			        f = tarfile.TarInfo("f%d" % i); f.size = len(data); t.addfile(f, io.BytesIO(data))
			    layers.append(b.getvalue()); diffs.append("sha256:" + hashlib.sha256(b.getvalue()).hexdigest())
			cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
			                  "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
			with tarfile.open(out, "w") as t:
			    def add(n, d):
			        ti = tarfile.TarInfo(n); ti.size = len(d); t.addfile(ti, io.BytesIO(d))
			    add("c.json", cfg)
			    for i, l in enumerate(layers):
			        add("l%d.tar" % i, l)
			    add("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": [seed + ":latest"],
			        "Layers": ["l%d.tar" % i for i in range(3)]}]).encode())
		EOF
		[ "$t" = upload ] || reg_push_archive "docker-archive:$BATS_FILE_TMPDIR/$t.tar" "$t:latest"
	done
	export REG_DIR REG_HOST REG_PORT
	start_berthd
}

teardown_file() {
	teardown_berthd
	REG_DIR=$(cat "$BATS_FILE_TMPDIR/regdir" 2>/dev/null) && reg_stop
}

# the store's files and the image list: nothing of a failed pull may change them
store_state() {
	(cd "$BERTHD_DATA" && find blobs layers tmp -mindepth 1 2>/dev/null | sort)
	api GET /images/json | jq -c '[.[] | .RepoTags, .RepoDigests]'
}

# api without the \r of the JSON stream's "\r\n" line ends
papi() { api "$@" | tr -d '\r'; }

manifest_json() { # REPO TAG
	curl -s -H "Accept: application/vnd.docker.distribution.manifest.v2+json" "http://$REG_HOST/v2/$1/manifests/$2"
}

@test "pull: dockerd's progress messages, tag and RepoDigests" {
	run papi POST "/images/create?fromImage=$REG_HOST/busybox&tag=latest"
	[ "$status" -eq 0 ]
	echo "$output"
	local dg layer
	dg=$(curl -s -o /dev/null -w '%header{docker-content-digest}' \
		-H "Accept: application/vnd.docker.distribution.manifest.v2+json" "http://$REG_HOST/v2/busybox/manifests/latest")
	layer=$(manifest_json busybox latest | jq -r '.layers[0].digest')
	id=${layer#sha256:}
	id=${id:0:12}
	[ "$(echo "$output" | head -n 1)" = '{"status":"Pulling from busybox","id":"latest"}' ]
	echo "$output" | grep -qxF "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"$id\"}"
	echo "$output" | grep -q "^{\"status\":\"Downloading\",\"progressDetail\":{\"current\":[0-9]*,\"total\":[0-9]*},\"progress\":\"\[.*\",\"id\":\"$id\"}"
	echo "$output" | grep -qxF "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"$id\"}"
	echo "$output" | grep -qxF "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"$id\"}"
	echo "$output" | grep -qxF "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"$id\"}"
	echo "$output" | grep -qxF "{\"status\":\"Digest: $dg\"}"
	[ "$(echo "$output" | tail -n 1)" = "{\"status\":\"Status: Downloaded newer image for $REG_HOST/busybox:latest\"}" ]
	run papi GET "/images/$REG_HOST/busybox:latest/json"
	[ "$(echo "$output" | jq -r '.RepoDigests[0]')" = "$REG_HOST/busybox@$dg" ]
	[ "$(echo "$output" | jq -r '.RepoTags[0]')" = "$REG_HOST/busybox:latest" ]
	# again: up to date, no layer messages (dockerd skips them for a known config)
	run papi POST "/images/create?fromImage=$REG_HOST/busybox&tag=latest"
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	[ "$(echo "$output" | tail -n 1)" = "{\"status\":\"Status: Image is up to date for $REG_HOST/busybox:latest\"}" ]
	# by digest
	run papi POST "/images/create?fromImage=$REG_HOST/busybox&tag=$dg"
	echo "$output" | grep -qF "for $REG_HOST/busybox@$dg"
}

@test "pull: the pulled image runs" {
	local cid
	cid=$(api POST /containers/create -H 'Content-Type: application/json' \
		-d "{\"Image\":\"$REG_HOST/busybox:latest\",\"Cmd\":[\"sh\",\"-c\",\"echo pulled-ok\"]}" | jq -r .Id)
	api POST "/containers/$cid/start" --fail-with-body
	api POST "/containers/$cid/wait" | jq -e '.StatusCode == 0'
	run papi GET "/containers/$cid/logs?stdout=1"
	[[ "$output" == *pulled-ok* ]]
	api DELETE "/containers/$cid?force=1"
}

@test "pull errors before the stream: plain HTTP errors with dockerd's wording" {
	run papi POST "/images/create?fromImage=$REG_HOST/busybox&tag=nope" -w ' %{http_code}'
	echo "$output"
	[ "$(echo "$output" | tr -d '\n')" = '{"message":"manifest for '"$REG_HOST"'/busybox:nope not found: manifest unknown: manifest unknown"} 404' ]
	run papi POST "/images/create?fromImage=127.0.0.1:1/busybox&tag=latest" -w ' %{http_code}'
	[[ "$(echo "$output" | tr -d '\n')" == *'dial tcp 127.0.0.1:1: connect: connection refused"} 500' ]]
	run papi POST "/images/create?fromImage=$REG_HOST/BusyBox" -w ' %{http_code}'
	[[ "$(echo "$output" | tr -d '\n')" == *'repository name must be lowercase"} 400' ]]
}

@test "pull: a corrupted blob is refused and nothing stays" {
	local before dg f
	before=$(store_state)
	dg=$(manifest_json corrupt latest | jq -r '.layers[1].digest')
	f=$(reg_blob_path "$dg")
	cp "$f" "$BATS_FILE_TMPDIR/blob.saved"
	printf 'X' | dd of="$f" bs=1 seek=5000 conv=notrunc 2>/dev/null
	run papi POST "/images/create?fromImage=$REG_HOST/corrupt&tag=latest"
	cp "$BATS_FILE_TMPDIR/blob.saved" "$f"
	echo "$output" | tail -n 1
	[ "$(echo "$output" | tail -n 1)" = "{\"errorDetail\":{\"message\":\"filesystem layer verification failed for digest $dg\"},\"error\":\"filesystem layer verification failed for digest $dg\"}" ]
	[ "$(store_state)" = "$before" ]
	# the registry repaired, the same pull works
	run papi POST "/images/create?fromImage=$REG_HOST/corrupt&tag=latest"
	[[ "$(echo "$output" | tail -n 1)" == *"Downloaded newer image"* ]]
}

@test "pull: a connection cut mid-layer is an error and nothing stays" {
	local before
	before=$(store_state)
	reg_proxy_start 100000
	run papi POST "/images/create?fromImage=127.0.0.1:$PROXY_PORT/cut&tag=latest"
	reg_kill "$PROXY_PID"
	echo "$output" | tail -n 1
	echo "$output" | tail -n 1 | jq -e '.error | test("^error pulling layer sha256:[0-9a-f]{64}: read blob: unexpected EOF")'
	[ "$(store_state)" = "$before" ]
}

@test "pull: an unknown layer media type is refused before any download" {
	local before
	before=$(store_state)
	manifest_json weird latest | jq -c '.layers[2].mediaType = "application/vnd.example.unknown"' >"$BATS_FILE_TMPDIR/w.json"
	curl -sf -X PUT -H "Content-Type: application/vnd.docker.distribution.manifest.v2+json" \
		--data-binary "@$BATS_FILE_TMPDIR/w.json" "http://$REG_HOST/v2/weird/manifests/odd"
	run papi POST "/images/create?fromImage=$REG_HOST/weird&tag=odd"
	echo "$output"
	[ "$(echo "$output" | head -n 1)" = '{"status":"Pulling from weird","id":"odd"}' ]
	echo "$output" | tail -n 1 | jq -e '.error | test("^unsupported media type application/vnd.example.unknown for layer sha256:")'
	[ "$(store_state)" = "$before" ]
}

@test "push: cross-repository mount, then layer exists; skopeo sees the pushed manifest" {
	api POST "/images/$REG_HOST/busybox:latest/tag?repo=$REG_HOST/copy/one&tag=v1" --fail-with-body
	run papi POST "/images/$REG_HOST/copy/one/push?tag=v1" -H "X-Registry-Auth: e30="
	echo "$output"
	[ "$(echo "$output" | head -n 1)" = "{\"status\":\"The push refers to repository [$REG_HOST/copy/one]\"}" ]
	echo "$output" | grep -q '"status":"Mounted from busybox"'
	local dg
	dg=$(echo "$output" | tail -n 1 | jq -r .aux.Digest)
	[ "$(skopeo inspect --tls-verify=false "docker://$REG_HOST/copy/one:v1" | jq -r .Digest)" = "$dg" ]
	echo "$output" | grep -qxF "{\"status\":\"v1: digest: $dg size: $(echo "$output" | tail -n 1 | jq -r .aux.Size)\"}"
	run papi POST "/images/$REG_HOST/copy/one/push?tag=v1" -H "X-Registry-Auth: e30="
	echo "$output" | grep -q '"status":"Layer already exists"'
	api GET "/images/$REG_HOST/copy/one:v1/json" | jq -e --arg d "$REG_HOST/copy/one@$dg" '.RepoDigests | index($d)'
}

@test "push: a loaded image is gzipped and uploaded; skopeo copies it back" {
	api POST "/images/load?quiet=1" --data-binary "@$BATS_FILE_TMPDIR/upload.tar" --fail-with-body
	api POST "/images/upload:latest/tag?repo=$REG_HOST/loaded&tag=x" --fail-with-body
	run papi POST "/images/$REG_HOST/loaded/push?tag=x" -H "X-Registry-Auth: e30="
	echo "$output"
	echo "$output" | grep -q '"status":"Pushing","progressDetail":{"current":'
	echo "$output" | grep -q '"status":"Pushed"'
	reg_skopeo copy -q --src-tls-verify=false "docker://$REG_HOST/loaded:x" "oci:$BATS_FILE_TMPDIR/oci:x"
	run papi POST "/images/$REG_HOST/nothere/push?tag=v" -H "X-Registry-Auth: e30="
	[[ "$output" == *'"error":"An image does not exist locally with the tag: '"$REG_HOST"'/nothere"}'* ]]
}

@test "distribution inspect and auth against an anonymous registry" {
	run papi GET "/distribution/$REG_HOST/busybox:latest/json"
	echo "$output"
	echo "$output" | jq -e '.Descriptor.mediaType == "application/vnd.docker.distribution.manifest.v2+json"'
	echo "$output" | jq -e '.Platforms == [{"architecture":"amd64","os":"linux"}]'
	run papi POST /auth -H 'Content-Type: application/json' -d "{\"serveraddress\":\"$REG_HOST\"}"
	[ "$output" = '{"IdentityToken":"","Status":"Login Succeeded"}' ]
}

@test "rmi: a pulled image's layers, blobs and manifest go with it" {
	local before
	api DELETE "/images/$REG_HOST/cut:latest" >/dev/null 2>&1 || true
	before=$(store_state)
	run papi POST "/images/create?fromImage=$REG_HOST/cut&tag=latest"
	[[ "$(echo "$output" | tail -n 1)" == *"Downloaded newer image"* ]]
	[ "$(store_state)" != "$before" ]
	run api DELETE "/images/$REG_HOST/cut:latest"
	[ "$status" -eq 0 ]
	# nothing of it stays: no diff-ID tar, compressed blob, manifest or layer
	[ "$(store_state)" = "$before" ]
}
