# tests/system/registry-helpers.bash — a private Docker registry for the
# registry tests (registry.bats) and bench/pull.sh.
#
# reg_start MODE starts Debian's docker-registry (distribution 2.8) on
# 127.0.0.1:<free port> with its own storage and config in a temp dir
# $REG_DIR (/tmp/berth-reg-XXXXXX), in one of three modes:
#   anon    no auth
#   basic   htpasswd basic auth (bcrypt, htpasswd -Bbn) for $REG_USER:$REG_PASS
#   token   bearer tokens from tests/system/token-server.py (also on
#           127.0.0.1), RS256 with a throw-away key made here by openssl
# Exports REG_DIR, REG_PORT, REG_HOST (127.0.0.1:port), REG_PID, TOKEN_PID.
# reg_stop stops both by PID and removes $REG_DIR.  Nothing listens on
# anything but 127.0.0.1.
#
# reg_proxy_start N starts a TCP proxy in front of the registry that closes
# a connection after relaying N bytes of response (a registry that drops the
# connection mid-layer); exports PROXY_PORT, PROXY_PID.

REG_USER=${REG_USER:-berthuser}
REG_PASS=${REG_PASS:-s3cret-pass}
REG_SERVICE=berth-test-registry
REG_ISSUER=berth-test-issuer

# reg_free_port: a TCP port free on 127.0.0.1 right now.
reg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# reg_wait_http URL PID: wait until URL answers (any status) or PID dies.
reg_wait_http() {
	local url=$1 pid=$2 n=100
	until curl -s -o /dev/null "$url"; do
		if ! kill -0 "$pid" 2>/dev/null || [ $((n -= 1)) -le 0 ]; then
			return 1
		fi
		sleep 0.1
	done
}

# reg_auth_yaml MODE: the config's auth section.
reg_auth_yaml() {
	case "$1" in
	anon) ;;
	basic)
		printf 'auth:\n  htpasswd:\n    realm: berth-test\n    path: %s/htpasswd\n' "$REG_DIR"
		;;
	token)
		printf 'auth:\n  token:\n    realm: http://127.0.0.1:%s/token\n    service: %s\n    issuer: %s\n    rootcertbundle: %s/token.crt\n' \
			"$TOKEN_PORT" "$REG_SERVICE" "$REG_ISSUER" "$REG_DIR"
		;;
	esac
}

# reg_start_token_server: key pair + token-server.py on a free port.
reg_start_token_server() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=berth-test-token \
		-keyout "$REG_DIR/token.key" -out "$REG_DIR/token.crt" 2>/dev/null || return 1
	TOKEN_PORT=$(reg_free_port)
	python3 "$(dirname "${BASH_SOURCE[0]}")/token-server.py" --port "$TOKEN_PORT" \
		--key "$REG_DIR/token.key" --cert "$REG_DIR/token.crt" \
		--issuer "$REG_ISSUER" --service "$REG_SERVICE" --user "$REG_USER:$REG_PASS" \
		</dev/null >"$REG_DIR/token.log" 2>&1 &
	TOKEN_PID=$!
	echo "$TOKEN_PID" >"$REG_DIR/token.pid"
	export TOKEN_PORT TOKEN_PID
	reg_wait_http "http://127.0.0.1:$TOKEN_PORT/token" "$TOKEN_PID"
}

# reg_start MODE: see the top of the file.
reg_start() {
	local mode=${1:-anon}
	REG_DIR=$(mktemp -d /tmp/berth-reg-XXXXXX)
	REG_PORT=$(reg_free_port)
	REG_HOST=127.0.0.1:$REG_PORT
	TOKEN_PID=
	export REG_DIR REG_PORT REG_HOST REG_MODE=$mode
	mkdir -p "$REG_DIR/storage"
	case "$mode" in
	basic) htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$REG_DIR/htpasswd" || return 1 ;;
	token) reg_start_token_server || return 1 ;;
	esac
	cat >"$REG_DIR/config.yml" <<-EOF
		version: 0.1
		log:
		  level: info
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $REG_DIR/storage
		  delete:
		    enabled: true
		  maintenance:
		    uploadpurging:
		      enabled: false
		http:
		  addr: 127.0.0.1:$REG_PORT
		  secret: berth-test-$RANDOM$RANDOM
		$(reg_auth_yaml "$mode")
	EOF
	docker-registry serve "$REG_DIR/config.yml" </dev/null >"$REG_DIR/registry.log" 2>&1 &
	REG_PID=$!
	echo "$REG_PID" >"$REG_DIR/registry.pid"
	export REG_PID
	if ! reg_wait_http "http://$REG_HOST/v2/" "$REG_PID"; then
		echo "docker-registry did not start:" >&2
		tail -n 20 "$REG_DIR/registry.log" >&2
		return 1
	fi
}

# reg_kill PID: SIGTERM, wait, SIGKILL.
reg_kill() {
	local pid=$1 n=50
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while [ $((n -= 1)) -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# reg_stop: stop the registry, token server and proxy; remove $REG_DIR.
reg_stop() {
	[ -n "${REG_DIR:-}" ] && [ -d "$REG_DIR" ] || return 0
	local f
	for f in "$REG_DIR"/*.pid; do
		[ -s "$f" ] && reg_kill "$(cat "$f")"
	done
	rm -rf "$REG_DIR"
	REG_DIR=
}

# reg_skopeo ARGS...: skopeo without /etc/containers policy surprises.
reg_skopeo() {
	skopeo --insecure-policy "$@"
}

# reg_push_archive TRANSPORT:PATH NAME[:TAG] [--format oci] [--dest-creds u:p]:
# put an image into the registry with skopeo.
reg_push_archive() {
	local src=$1 dest=$2
	shift 2
	reg_skopeo copy -q --dest-tls-verify=false "$@" "$src" "docker://$REG_HOST/$dest"
}

# reg_creds: skopeo's --*-creds for the current mode ("" for anon).
reg_creds() {
	[ "${REG_MODE:-anon}" = anon ] || echo "$REG_USER:$REG_PASS"
}

# reg_blob_path DIGEST: the data file of a blob in the registry's storage.
reg_blob_path() {
	local hex=${1#sha256:}
	echo "$REG_DIR/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# reg_proxy_start N: a proxy to the registry that cuts every connection after
# N bytes of response.  Exports PROXY_PORT, PROXY_PID.
reg_proxy_start() {
	PROXY_PORT=$(reg_free_port)
	python3 - "$PROXY_PORT" "$REG_PORT" "$1" >"$REG_DIR/proxy.log" 2>&1 <<-'EOF' &
		import socket, sys, threading
		port, target, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
		def pump(src, dst, cap):
		    sent = 0
		    try:
		        while True:
		            data = src.recv(65536)
		            if not data:
		                break
		            if cap is not None and sent + len(data) > cap:
		                dst.sendall(data[:cap - sent])
		                break
		            dst.sendall(data)
		            sent += len(data)
		    except OSError:
		        pass
		    for s in (src, dst):
		        try:
		            s.shutdown(socket.SHUT_RDWR)
		        except OSError:
		            pass
		def serve(c):
		    u = socket.create_connection(("127.0.0.1", target))
		    threading.Thread(target=pump, args=(c, u, None), daemon=True).start()
		    pump(u, c, limit)
		    c.close(); u.close()
		ls = socket.socket()
		ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		ls.bind(("127.0.0.1", port))
		ls.listen(16)
		while True:
		    c, _ = ls.accept()
		    threading.Thread(target=serve, args=(c,), daemon=True).start()
	EOF
	PROXY_PID=$!
	echo "$PROXY_PID" >"$REG_DIR/proxy.pid"
	export PROXY_PORT PROXY_PID
	reg_wait_http "http://127.0.0.1:$PROXY_PORT/v2/" "$PROXY_PID"
}

# reg_make_image OUT.tar NAME:TAG LAYERS BYTES: a docker-archive (docker save
# format) of LAYERS layers, each one file of BYTES random bytes (random data:
# gzip cannot shrink it), made with python3's tarfile; no base image.
reg_make_image() {
	python3 - "$@" <<-'EOF'
		import hashlib, io, json, os, sys, tarfile
		out, ref, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
		layers, diff_ids = [], []
		for i in range(n):
		    buf = io.BytesIO()
		    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
		        d = tarfile.TarInfo("data"); d.type = tarfile.DIRTYPE; d.mode = 0o755
		        t.addfile(d)
		        f = tarfile.TarInfo("data/layer%d.bin" % i); f.size = size; f.mode = 0o644
		        t.addfile(f, io.BytesIO(os.urandom(size)))
		    data = buf.getvalue()
		    h = hashlib.sha256(data).hexdigest()
		    layers.append((h, data)); diff_ids.append("sha256:" + h)
		cfg = json.dumps({"architecture": "amd64", "os": "linux",
		                  "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
		                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
		                  "history": [{"created_by": "berth-test layer %d" % i} for i in range(n)]}).encode()
		ch = hashlib.sha256(cfg).hexdigest()
		def add(t, name, data):
		    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
		    t.addfile(ti, io.BytesIO(data))
		with tarfile.open(out, "w") as t:
		    add(t, ch + ".json", cfg)
		    for h, data in layers:
		        add(t, h + "/layer.tar", data)
		    add(t, "manifest.json", json.dumps([{"Config": ch + ".json", "RepoTags": [ref],
		        "Layers": [h + "/layer.tar" for h, _ in layers]}]).encode())
	EOF
}

# reg_manifest NAME REF: the image manifest (Docker schema2 or OCI) from the registry.
reg_manifest() {
	curl -sf ${REG_CURL_AUTH:+-u "$REG_CURL_AUTH"} \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG_HOST/v2/$1/manifests/$2"
}
