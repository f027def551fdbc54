#!/usr/bin/env bats
# tests/system/daemon-core.bats — berthd's core: the HTTP server, the version
# prefix, the system routes, daemon.json, signals, the pidfile, TLS, and real
# clients (docker CLI 28, Debian's docker 20.10 client, docker-py) against it.

load daemon-helpers

DOCKER28=/usr/local/bin/docker
DOCKER20=/usr/bin/docker

setup_file() {
	start_berthd
}

teardown_file() {
	teardown_berthd
}

# raw_request BYTES — send BYTES on a new connection to the socket, print the answer.
raw_request() {
	python3 - "$BERTHD_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode("latin-1"))
PY
}

@test "ping: GET and HEAD, dockerd's headers" {
	run -0 curl -si --unix-socket "$BERTHD_SOCK" http://localhost/_ping
	[[ "$output" == *"HTTP/1.1 200 OK"* ]]
	[[ "$output" == *"Api-Version: 1.41"* ]]
	[[ "$output" == *"Docker-Experimental: false"* ]]
	[[ "$output" == *"Ostype: linux"* ]]
	[[ "$output" == *"Server: Docker/"*" (linux)"* ]]
	[[ "$output" == *"Cache-Control: no-cache, no-store, must-revalidate"* ]]
	[[ "$output" == *"Pragma: no-cache"* ]]
	[[ "$output" == *"Builder-Version: 1"* ]]
	[[ "$output" == *$'\r\n\r\nOK' ]]
	run -0 curl -sI --unix-socket "$BERTHD_SOCK" http://localhost/_ping
	[[ "$output" == *"Content-Length: 0"* ]]
}

@test "version: docker's shape" {
	run -0 api GET /version
	echo "$output" | jq -e '.ApiVersion == "1.41" and .MinAPIVersion == "1.24" and .Os == "linux"
		and (.Components[0].Name == "Engine") and (.Components[0].Details.ApiVersion == "1.41")
		and (.KernelVersion | length > 0) and (.Arch | length > 0)'
	run -0 api GET /v1.24/version
	echo "$output" | jq -e '.ApiVersion == "1.41"'
}

@test "version prefix: too new, too old, not a version" {
	run -0 api GET /v1.99/version -w '%{http_code}'
	[ "$output" = '{"message":"client version 1.99 is too new. Maximum supported API version is 1.41"}
400' ]
	run -0 api GET /v1.20/version -w '%{http_code}'
	[[ "$output" == *'client version 1.20 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version'* ]]
	[[ "$output" == *400 ]]
}

@test "unknown path and wrong method: 404 page not found" {
	run -0 api GET /nope -w '%{http_code}'
	[ "$output" = '{"message":"page not found"}
404' ]
	run -0 api DELETE /version -w '%{http_code}'
	[[ "$output" == *404 ]]
}

@test "malformed requests: 400 and close" {
	run -0 raw_request 'GARBAGE\r\n\r\n'
	[[ "$output" == "HTTP/1.1 400 Bad Request"* ]]
	run -0 raw_request 'GET /_ping HTTP/1.1\r\nbad header\r\n\r\n'
	[[ "$output" == "HTTP/1.1 400 Bad Request"* ]]
	run -0 raw_request 'GET /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n'
	[[ "$output" == "HTTP/1.1 400 Bad Request"* ]]
	# keep-alive: two requests, one connection; the daemon is still fine after the garbage
	run -0 raw_request 'GET /_ping HTTP/1.1\r\n\r\nGET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n'
	[ "$(grep -c 'HTTP/1.1 200 OK' <<<"$output")" -eq 2 ]
}

@test "info: docker's field set with this daemon's values" {
	run -0 api GET /info
	echo "$output" | jq -e --arg root "$BERTHD_DATA" '.Driver == "overlay2" and .DockerRootDir == $root
		and .CgroupDriver == "cgroupfs" and (.CgroupVersion == "1" or .CgroupVersion == "2")
		and .OSType == "linux" and .NCPU > 0 and .MemTotal > 0 and (.ID | length > 0)
		and .Swarm.LocalNodeState == "inactive" and .DefaultRuntime == "berth-runc"
		and (.Runtimes | has("berth-runc")) and .LiveRestoreEnabled == false
		and (.Containers | type == "number") and (.Images | type == "number")
		and (.RegistryConfig.IndexConfigs | has("docker.io"))'
	# the engine ID is stable across restarts
	id=$(echo "$output" | jq -r .ID)
	[ "$(cat "$BERTHD_DATA/engine-id")" = "$id" ]
}

@test "system df: docker's shape" {
	run -0 api GET /system/df
	echo "$output" | jq -e '(.LayersSize | type == "number") and (.Images | type == "array")
		and (.Containers | type == "array") and .Volumes == [] and .BuildCache == []'
}

@test "docker CLI 28: version, info, system df" {
	run -0 "$DOCKER28" version --format '{{.Server.APIVersion}} {{.Client.APIVersion}}'
	[ "$output" = "1.41 1.41" ]
	run -0 "$DOCKER28" info --format '{{.Driver}} {{.OSType}}'
	[ "$output" = "overlay2 linux" ]
	run -0 "$DOCKER28" system df
	[[ "$output" == *"Images"*"Containers"*"Local Volumes"*"Build Cache"* ]]
}

@test "Debian's docker 20.10 client: version, info" {
	[ -x "$DOCKER20" ] || skip "no $DOCKER20"
	run -0 "$DOCKER20" version --format '{{.Server.APIVersion}}'
	[ "$output" = "1.41" ]
	run -0 "$DOCKER20" info --format '{{.Driver}}'
	[ "$output" = overlay2 ]
}

@test "docker-py: ping, version, info, events" {
	run -0 python3 - <<'PY'
import os, time, docker
c = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="auto")
assert c.ping() is True
assert c.version()["ApiVersion"] == "1.41"
assert c.info()["Driver"] == "overlay2"
evs = list(c.events(since=1, until=int(time.time()) + 1, decode=True, filters={"type": "daemon"}))
assert any(e["Action"] == "start" for e in evs), evs
print("ok")
PY
	[ "$output" = ok ]
}

@test "events: --since/--until replay, filters, a live stream ends at --until" {
	run -0 "$DOCKER28" events --since 1h --until 0s --filter type=daemon --format '{{.Type}} {{.Action}}'
	[[ "$output" == *"daemon start"* ]]
	run -0 "$DOCKER28" events --since 1h --until 0s --filter type=container
	[ -z "$output" ]
	run -0 "$DOCKER28" events --since 1h --until 0s --filter event=start --filter daemon=berthd --format '{{.Action}}'
	[[ "$output" == *start* ]]
	# until in the future: the stream stays open, then ends by itself
	start=$(date +%s)
	run -0 timeout 10 "$DOCKER28" events --until "$(( $(date +%s) + 2 ))" --format '{{.Action}}'
	[ $(( $(date +%s) - start )) -ge 1 ]
	run -0 api GET '/events?since=5&until=2' -w '%{http_code}'
	[[ "$output" == *400 ]]
	run -0 api GET '/events?filters=notjson' -w '%{http_code}'
	[[ "$output" == *400 ]]
}

@test "SIGHUP: daemon.json reloaded, reload event" {
	cp "$BERTHD_CONFIG" "$BATS_TEST_TMPDIR/saved.json"
	echo '{"live-restore": true, "registry-mirrors": ["https://mirror.invalid"]}' >"$BERTHD_CONFIG"
	kill -HUP "$(berthd_pid)"
	for ((i = 0; i < 50; i++)); do
		api GET /info | jq -e .LiveRestoreEnabled >/dev/null && break
		sleep 0.1
	done
	run -0 api GET /info
	echo "$output" | jq -e '.LiveRestoreEnabled == true and .RegistryConfig.Mirrors == ["https://mirror.invalid"]'
	# --until 0s is whole seconds in the CLI: an event of this second would not count
	run -0 "$DOCKER28" events --since 1m --until "$(( $(date +%s) + 1 ))" --filter event=reload --format '{{.Type}} {{.Action}}'
	[[ "$output" == *"daemon reload"* ]]
	# a bad file is refused and changes nothing
	echo '{"live-restore": false, "no-such-key": 1}' >"$BERTHD_CONFIG"
	kill -HUP "$(berthd_pid)"
	sleep 0.5
	api GET /info | jq -e '.LiveRestoreEnabled == true'
	grep -q "no-such-key" "$BERTHD_LOG"
	cp "$BATS_TEST_TMPDIR/saved.json" "$BERTHD_CONFIG"
	kill -HUP "$(berthd_pid)"
}

@test "pidfile: a second berthd on the same pidfile refuses to start" {
	# shellcheck disable=SC2046
	run -1 timeout 20 "$BERTHD" $(berthd_private_args) --config-file "$BERTHD_CONFIG" \
		-H "unix://$BERTHD_EXEC/second.sock"
	[[ "$output" == *"pid file found, ensure berthd is not running or delete $BERTHD_EXEC/berthd.pid"* ]]
	# and the first one still serves, its pidfile untouched
	[ "$(cat "$BERTHD_EXEC/berthd.pid")" = "$(berthd_pid)" ]
	api GET /_ping
}

@test "daemon.json: unknown keys, conflicts, types, log-opts" {
	d=$BATS_TEST_TMPDIR
	check() { # JSON EXPECTED [FLAGS...]
		echo "$1" >"$d/bad.json"
		local want=$2
		shift 2
		run -1 timeout 20 "$BERTHD" --config-file "$d/bad.json" --data-root "$d/data" \
			--exec-root "$d/exec" -H "unix://$d/x.sock" "$@"
		[[ "$output" == *"$want"* ]] || fail "expected '$want' in: $output"
	}
	check '{"bogus": 1}' "unable to configure the berth daemon with file $d/bad.json: the following directives don't match any configuration option: bogus"
	check '{"debug": true}' "the following directives are specified both as a flag and in the configuration file: debug: (from flag: true, from file: true)" -D
	check '{"debug": "yes"}' "debug must be a boolean"
	check '{"log-opts": {"max-size": "huge"}}' "invalid max-size: huge"
	check '{"log-opts": {"max-file": "0"}}' "max-file cannot be less than 1"
	check '{' "$d/bad.json"
	run -1 timeout 20 "$BERTHD" --config-file "$d/absent.json" --data-root "$d/data" --exec-root "$d/exec"
	[[ "$output" == *"$d/absent.json"* ]]
	[ ! -e "$d/x.sock" ]
}

@test "TLS: --tlsverify needs a client certificate signed by --tlscacert" {
	d=$BATS_TEST_TMPDIR
	(
		cd "$d"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 1 -subj /CN=berth-test-ca
		openssl req -newkey rsa:2048 -nodes -keyout key.pem -out server.csr -subj /CN=127.0.0.1
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 1 -extfile ext.cnf
		openssl req -newkey rsa:2048 -nodes -keyout ckey.pem -out client.csr -subj /CN=client
		printf 'extendedKeyUsage=clientAuth\n' >cext.cnf
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out ccert.pem -days 1 -extfile cext.cnf
		# a client certificate from another CA
		openssl req -x509 -newkey rsa:2048 -nodes -keyout okey.pem -out ocert.pem -days 1 -subj /CN=other
	) >/dev/null 2>&1
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	stop_berthd
	start_berthd -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$d/ca.pem" \
		--tlscert "$d/cert.pem" --tlskey "$d/key.pem"
	run -0 curl -s --cacert "$d/ca.pem" --cert "$d/ccert.pem" --key "$d/ckey.pem" "https://127.0.0.1:$port/_ping"
	[ "$output" = OK ]
	run ! curl -s --cacert "$d/ca.pem" "https://127.0.0.1:$port/_ping"
	run ! curl -s --cacert "$d/ca.pem" --cert "$d/ocert.pem" --key "$d/okey.pem" "https://127.0.0.1:$port/_ping"
	run ! curl -s "http://127.0.0.1:$port/_ping"
	run -0 "$DOCKER28" -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$d/ca.pem" \
		--tlscert "$d/ccert.pem" --tlskey "$d/ckey.pem" version --format '{{.Server.APIVersion}}'
	[ "$output" = 1.41 ]
	# the berth CLI: flags, then DOCKER_CERT_PATH + DOCKER_TLS_VERIFY (docker's file names)
	local berth=$BERTH_BUILD/src/cli/berth
	run -0 "$berth" -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$d/ca.pem" \
		--tlscert "$d/ccert.pem" --tlskey "$d/ckey.pem" version --format '{{.Server.APIVersion}}'
	[ "$output" = 1.41 ]
	mkdir -p "$d/certs"
	cp "$d/ca.pem" "$d/certs/ca.pem"
	cp "$d/ccert.pem" "$d/certs/cert.pem"
	cp "$d/ckey.pem" "$d/certs/key.pem"
	DOCKER_CERT_PATH=$d/certs DOCKER_TLS_VERIFY=1 DOCKER_HOST=tcp://127.0.0.1:$port \
		run -0 "$berth" version --format '{{.Server.APIVersion}}'
	[ "$output" = 1.41 ]
	# without a client certificate the daemon refuses the handshake
	run ! "$berth" -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$d/ca.pem" version
	# back to the plain daemon for the other tests
	stop_berthd
	start_berthd
}

@test "SIGTERM: clean stop removes the socket and the pidfile" {
	stop_berthd
	[ ! -e "$BERTHD_SOCK" ]
	[ ! -e "$BERTHD_EXEC/berthd.pid" ]
	grep -q "API listen on $BERTHD_SOCK" "$BERTHD_LOG"
	start_berthd
	api GET /_ping
}
