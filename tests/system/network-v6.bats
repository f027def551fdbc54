#!/usr/bin/env bats
# tests/system/network-v6.bats — IPv6 networking through a real berthd and the
# docker CLI 28, compared with what dockerd 20.10 answers for the same flags:
# `network create --ipv6 --subnet` (ULA subnets of this file's own), the
# containers' v6 addresses, routes and DNS (AAAA, ping6 by name), --ip6, the
# ip6 nftables table (masquerade, isolation, published ports), the default
# bridge with daemon --ipv6 / --fixed-cidr-v6 (flags and daemon.json, with
# dockerd's MAC-derived addresses); and beside it what else the network
# subsystem owes Docker's users: `rename` in the embedded DNS, and network
# errors at start in dockerd's words.
#
# Safety: like network.bats — a bridge, subnets (10.150-199.x.0/24 and
# fd42:<token>::/48) and nft tables of this file's own, all removed in
# teardown_file; names the embedded DNS does not know go to this file's own
# dnsmasq on a loopback address of its own (never the host's resolver); all
# traffic stays on bridges berthd made here and on the host's own addresses.

load daemon-helpers

DOCKER=/usr/local/bin/docker

setup_file() {
	local t=$((BERTH_TEST_TOKEN % 40000))
	export V6_T=$t
	export V6_BR=bv$t                        # the default bridge
	export V6_A=$((150 + t % 50)) V6_B=$((t / 50 % 200))
	export V6_BIP=10.$V6_A.$V6_B.1/24
	export V6_NET1=10.$V6_A.$((V6_B + 1))    # user networks' IPv4 /24s
	export V6_NET2=10.$V6_A.$((V6_B + 2))
	export V6_P=fd42:$(printf %x "$t")       # this file's /32 of ULA space
	export V6_FIXED=$V6_P:ff::/64            # the default bridge's fixed-cidr-v6
	export V6_DNS=127.$((100 + t % 100)).$((t / 100 % 250)).56
	dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces --port 53 \
		--listen-address "$V6_DNS" --address=/upstream.test/10.9.9.9 \
		--pid-file="$BATS_FILE_TMPDIR/dnsmasq.pid" >"$BATS_FILE_TMPDIR/dnsmasq.log" 2>&1 &
	echo $! >"$BATS_FILE_TMPDIR/dnsmasq.run"
	v6_start_berthd
	load_busybox
}

# every berthd of this file: its bridge, IPv6 on it, its dnsmasq as upstream
v6_start_berthd() {
	start_berthd --bridge "$V6_BR" --bip "$V6_BIP" --iptables=true --dns "$V6_DNS" \
		--ipv6 --fixed-cidr-v6 "$V6_FIXED" "$@"
}

# the nft table of this file's berthd (ip family; the ip6 one has the same name)
v6_table() {
	nft list tables ip 2>/dev/null | awk '{print $3}' | grep '^berth_' | while read -r tb; do
		if nft list table ip "$tb" 2>/dev/null | grep -q "\"$V6_BR\""; then echo "$tb"; fi
	done
	return 0 # other programs' tables may come last
}

teardown_file() {
	local tb l
	tb=$(v6_table)
	$DOCKER rm -f $($DOCKER ps -aq) >/dev/null 2>&1 || true
	for n in $($DOCKER network ls -q --filter type=custom 2>/dev/null); do
		$DOCKER network rm "$n" >/dev/null 2>&1 || true
	done
	teardown_berthd
	[ -f "$BATS_FILE_TMPDIR/dnsmasq.run" ] && kill "$(cat "$BATS_FILE_TMPDIR/dnsmasq.run")" 2>/dev/null
	ip link del "$V6_BR" 2>/dev/null || true
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E "^bw${V6_T}[a-z]$"); do
		ip link del "$l" 2>/dev/null || true
	done
	if [ -n "$tb" ]; then
		nft delete table ip "$tb" 2>/dev/null || true
		nft delete table ip6 "$tb" 2>/dev/null || true
	fi
	true
}

v6net() { # NAME LETTER N: a v6 network on bridge bw<token><letter>, subnet $V6_P:N::/64
	$DOCKER network create --ipv6 --subnet "$V6_P:$3::/64" -o com.docker.network.bridge.name=bw${V6_T}$2 "$1"
}

ip6of() { $DOCKER inspect -f "{{(index .NetworkSettings.Networks \"$2\").GlobalIPv6Address}}" "$1"; }

@test "network create --ipv6: inspect as dockerd; overlapping, bad and missing v6 subnets" {
	run -0 $DOCKER network create --ipv6 --subnet "$V6_NET1.0/24" --subnet "$V6_P:1::/64" \
		-o com.docker.network.bridge.name=bw${V6_T}a n6a
	run -0 $DOCKER network inspect n6a -f '{{.EnableIPv6}} {{json .IPAM.Config}}'
	[ "$output" = "true [{\"Subnet\":\"$V6_NET1.0/24\"},{\"Subnet\":\"$V6_P:1::/64\"}]" ]
	# the bridge has the subnet's ::1 (tentative until a port gives it a carrier)
	run -0 ip -6 addr show dev bw${V6_T}a
	[[ $output == *"inet6 $V6_P:1::1/64 scope global"* ]]
	# dockerd's errors
	run -1 $DOCKER network create --ipv6 --subnet "$V6_P:1:0:0:1::/80" n6x
	[[ $output == *"Pool overlaps with other one on this address space"* ]]
	run -1 $DOCKER network create --ipv6 --subnet "$V6_P:9::/xx" n6x
	[[ $output == *"Invalid subnet $V6_P:9::/xx : invalid CIDR address: $V6_P:9::/xx"* ]]
	run -1 $DOCKER network create --ipv6 n6x
	[[ $output == *"could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network"* ]]
	run -1 $DOCKER network create --ipv6 --subnet "$V6_P:9::/64" --gateway "$V6_P:8::1" n6x
	[[ $output == *"no matching subnet for gateway $V6_P:8::1"* ]]
	# none of them left a network or a bridge behind
	run -0 $DOCKER network ls --format '{{.Name}}'
	[[ $output != *n6x* ]]
	# a v6 subnet without --ipv6 is kept and shown, as dockerd does; gateway and range as given
	run -0 $DOCKER network create --subnet "$V6_P:2::/64" -o com.docker.network.bridge.name=bw${V6_T}b n6b
	run -0 $DOCKER network inspect n6b -f '{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}}'
	[ "$output" = "false $V6_P:2::/64" ]
	run -0 $DOCKER network create --ipv6 --subnet "$V6_P:3::/64" --gateway "$V6_P:3::99" \
		--ip-range "$V6_P:3::100/120" -o com.docker.network.bridge.name=bw${V6_T}c n6c
	run -0 $DOCKER network inspect n6c -f '{{json (index .IPAM.Config 1)}}'
	[ "$output" = "{\"Subnet\":\"$V6_P:3::/64\",\"IPRange\":\"$V6_P:3::100/120\",\"Gateway\":\"$V6_P:3::99\"}" ]
	run -0 $DOCKER run --rm --network n6c busybox ip -6 -o addr show eth0 scope global
	[[ $output == *"$V6_P:3::100/64"* ]]
	run -0 $DOCKER network rm n6a n6b n6c
	run -1 ip link show bw${V6_T}a
}

@test "two containers on a v6 network: addresses, routes, inspect, ping6 by name and address, AAAA" {
	run -0 v6net n6 a 10
	run -0 $DOCKER run -d --name c1 --network n6 busybox sleep 300
	run -0 $DOCKER run -d --name c2 --network n6 --ip6 "$V6_P:10::99" busybox sleep 300
	# inspect: dockerd's fields
	run -0 $DOCKER inspect -f '{{with .NetworkSettings.Networks.n6}}{{.GlobalIPv6Address}} {{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}} {{.IPAMConfig.IPv6Address}}{{end}}' c2
	[ "$output" = "$V6_P:10::99 64 $V6_P:10::1 $V6_P:10::99" ]
	[ "$(ip6of c1 n6)" = "$V6_P:10::2" ]
	run -0 $DOCKER network inspect n6 -f '{{range .Containers}}{{.Name}}={{.IPv6Address}} {{end}}'
	[[ $output == *"c1=$V6_P:10::2/64"* ]]
	[[ $output == *"c2=$V6_P:10::99/64"* ]]
	# inside: the address (not tentative: no DAD), the default route, /etc/hosts
	run -0 $DOCKER exec c1 ip -6 -o addr show eth0 scope global
	[[ $output == *"inet6 $V6_P:10::2/64 scope global"* ]]
	[[ $output != *tentative* ]] # (the link-local one may still be: the kernel's own DAD)
	run -0 $DOCKER exec c1 ip -6 route
	[[ $output == *"default via $V6_P:10::1 dev eth0"* ]]
	run -0 $DOCKER exec c1 cat /etc/hosts
	[[ $output == *"$V6_P:10::2"$'\t'* ]]
	# reach: the other by address and by name, the gateway
	run -0 $DOCKER exec c1 ping6 -c1 -W2 "$V6_P:10::99"
	run -0 $DOCKER exec c1 ping6 -c1 -W2 c2
	[[ $output == *"$V6_P:10::99"* ]]
	run -0 $DOCKER exec c2 ping6 -c1 -W2 "$V6_P:10::1"
	# the embedded DNS: AAAA (and still A)
	run -0 timeout 20 $DOCKER exec c1 nslookup -type=aaaa c2
	[[ $output == *"Address: $V6_P:10::99"* ]]
	run -0 timeout 20 $DOCKER exec c1 nslookup c2
	[[ $output == *"$V6_P:10::99"* ]]
	# --ip6: taken, outside the subnet, not an address (dockerd's words)
	run -125 $DOCKER run --rm --network n6 --ip6 "$V6_P:10::99" busybox true
	[[ $output == *"Address already in use"* ]]
	run -125 $DOCKER run --rm --network n6 --ip6 "$V6_P:11::5" busybox true
	[[ $output == *"Invalid address $V6_P:11::5: It does not belong to any of this network's subnets"* ]]
	$DOCKER rm -f c1 c2 >/dev/null
	# released: the next container gets ::2 again
	run -0 $DOCKER run --rm --network n6 busybox ip -6 -o addr show eth0 scope global
	[[ $output == *"$V6_P:10::2/64"* ]]
	run -0 $DOCKER network rm n6
}

@test "ip6 nftables: masquerade, isolation between v6 networks, published port over IPv6" {
	local tb hp=17$((BERTH_TEST_TOKEN % 900 + 100))
	run -0 v6net n6d d 20
	run -0 v6net n6e e 21
	tb=$(v6_table)
	run -0 nft list table ip6 "$tb"
	[[ $output == *"ip6 saddr $V6_P:20::/64 oifname != \"bw${V6_T}d\" masquerade"* ]]
	[[ $output == *"iifname \"bw${V6_T}d\" oifname \"bw${V6_T}e\" drop"* ]]
	run -0 $DOCKER run -d --name w6 --network n6d -p $hp:80 busybox httpd -f -p 80 -h /etc
	run -0 $DOCKER run -d --name x6 --network n6e busybox sleep 300
	run -0 nft list table ip6 "$tb"
	[[ $output == *"tcp dport $hp dnat to [$V6_P:20::2]:80"* ]]
	# isolation: n6e cannot reach n6d
	run -1 $DOCKER exec x6 ping6 -c1 -W1 "$V6_P:20::2"
	# the published port answers on the host's own IPv6 address (DNAT in ip6 output)
	run -0 curl -sS --max-time 5 -g "http://[$V6_P:21::1]:$hp/hostname"
	[ "$output" = "$($DOCKER inspect -f '{{.Config.Hostname}}' w6)" ]
	$DOCKER rm -f w6 x6 >/dev/null
	run -0 $DOCKER network rm n6d n6e
	# their rules went with them (the default bridge keeps the table: --ipv6)
	run -0 nft list table ip6 "$tb"
	[[ $output != *"bw${V6_T}d"* && $output != *"dnat"* ]]
}

@test "daemon --ipv6 --fixed-cidr-v6 (flags, then daemon.json): the default bridge, MAC-derived addresses" {
	run -0 $DOCKER network inspect bridge -f '{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}}'
	[ "$output" = "true $V6_FIXED" ]
	run -0 $DOCKER run -d --name d6 busybox sleep 300
	local mac want
	mac=$($DOCKER inspect -f '{{.NetworkSettings.MacAddress}}' d6)
	# dockerd: the MAC in the address's last 6 bytes (02:42:0a:96:00:02 → ::242:a96:2)
	want=$(python3 -c "import ipaddress,sys; n=ipaddress.IPv6Network(sys.argv[1]); m=bytes.fromhex(sys.argv[2].replace(':','')); print(ipaddress.IPv6Address(int(n.network_address)|int.from_bytes(m,'big')))" "$V6_FIXED" "$mac")
	run -0 $DOCKER inspect -f '{{.NetworkSettings.GlobalIPv6Address}} {{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}' d6
	[ "$output" = "$want 64 ${V6_FIXED%::/64}::1" ]
	run -0 $DOCKER exec d6 ping6 -c1 -W2 "${V6_FIXED%::/64}::1"
	$DOCKER rm -f d6 >/dev/null
	# shutdown removes both tables
	local tb
	tb=$(v6_table)
	run -0 nft list table ip6 "$tb"
	stop_berthd
	run -1 nft list table ip6 "$tb"
	run -1 nft list table ip "$tb"
	# the same from daemon.json
	printf '{"ipv6": true, "fixed-cidr-v6": "%s"}\n' "${V6_FIXED%:ff::/64}:fe::/64" >"$BATS_FILE_TMPDIR/v6.json"
	start_berthd --bridge "$V6_BR" --bip "$V6_BIP" --iptables=true --dns "$V6_DNS" \
		--config-file "$BATS_FILE_TMPDIR/v6.json"
	run -0 $DOCKER run --rm busybox ip -6 -o addr show eth0 scope global
	[[ $output == *"${V6_FIXED%:ff::/64}:fe::242:"* ]]
	stop_berthd
	v6_start_berthd
}

@test "rename: the embedded DNS answers the new name, not the old one" {
	run -0 $DOCKER network create --subnet "$V6_NET1.0/24" -o com.docker.network.bridge.name=bw${V6_T}f nr
	run -0 $DOCKER run -d --name before --network nr busybox sleep 300
	run -0 $DOCKER run -d --name asker --network nr busybox sleep 300
	run -0 timeout 20 $DOCKER exec asker nslookup before
	[[ $output == *"$V6_NET1.2"* ]]
	run -0 $DOCKER rename before after
	run -0 timeout 20 $DOCKER exec asker nslookup after
	[[ $output == *"$V6_NET1.2"* ]]
	# the old name is nobody's: forwarded to this file's dnsmasq, which does not know it
	run -1 timeout 20 $DOCKER exec asker nslookup before
	[[ $output != *"$V6_NET1.2"* ]]
	# and after a restart of the renamed container too
	run -0 $DOCKER restart -t 0 after
	run -0 timeout 20 $DOCKER exec asker nslookup after
	[[ $output == *"$V6_NET1.2"* ]]
	$DOCKER rm -f after asker >/dev/null
	run -0 $DOCKER network rm nr
}

@test "network errors at start in dockerd's words: port taken, port held, address taken, network gone" {
	local hp=16$((BERTH_TEST_TOKEN % 900 + 100))
	run -0 $DOCKER network create --subnet "$V6_NET2.0/24" -o com.docker.network.bridge.name=bw${V6_T}g ng
	run -0 $DOCKER run -d --name p1 --network ng -p $hp:80 busybox sleep 300
	# another container's port (dockerd's portallocator)
	run -125 $DOCKER run -d --name p2 --network ng -p $hp:80 busybox sleep 300
	[[ $output == *"Error response from daemon: driver failed programming external connectivity on endpoint p2 ("*"): Bind for 0.0.0.0:$hp failed: port is already allocated"* ]]
	[[ $output != *"OCI runtime"* && $output != *"failed to set up"* ]]
	# the same from `start`
	run -1 $DOCKER start p2
	[[ $output == *"Error response from daemon: driver failed programming external connectivity on endpoint p2 ("*"): Bind for 0.0.0.0:$hp failed: port is already allocated"* ]]
	# a port another program holds (the userland proxy's bind)
	socat TCP-LISTEN:$((hp + 1)),bind=0.0.0.0,reuseaddr,fork SYSTEM:true >/dev/null 2>&1 &
	local spid=$!
	sleep 0.3
	run -125 $DOCKER run -d --name p3 --network ng -p $((hp + 1)):80 busybox sleep 300
	kill $spid
	[[ $output == *"Error response from daemon: driver failed programming external connectivity on endpoint p3 ("*"): Error starting userland proxy: listen tcp4 0.0.0.0:$((hp + 1)): bind: address already in use"* ]]
	# an address taken: dockerd's bare words
	run -0 $DOCKER run -d --name a1 --network ng --ip "$V6_NET2.50" busybox sleep 300
	run -125 $DOCKER run -d --name a2 --network ng --ip "$V6_NET2.50" busybox sleep 300
	[[ $output == *"Error response from daemon: Address already in use"* ]]
	[[ $output != *"failed to set up"* ]]
	run -125 $DOCKER run -d --name a3 --network ng --ip "10.$V6_A.250.5" busybox sleep 300
	[[ $output == *"Invalid address 10.$V6_A.250.5: It does not belong to any of this network's subnets"* ]]
	# the network removed between create and start
	run -0 $DOCKER network create -o com.docker.network.bridge.name=bw${V6_T}h gone
	run -0 $DOCKER create --name g1 --network gone busybox true
	run -0 $DOCKER network rm gone
	run -1 $DOCKER start g1
	[[ $output == *"Error response from daemon: network gone not found"* ]]
	$DOCKER rm -f p1 p2 p3 a1 a2 a3 g1 >/dev/null
	run -0 $DOCKER network rm ng
}

# attach_then_start N DELAY: N times, create a container that prints one line
# to each stream, attach to it (hijack), shut the write side down as the
# docker CLI does when it sends no stdin, wait DELAY seconds and post /start;
# every line must come through. Before the fix a start arriving more than a
# second after that half-close (a slow start: the network tests under ASan)
# found the attach gone, and `run` printed nothing.
attach_then_start() {
	python3 - "$BERTHD_SOCK" "$1" "$2" <<'EOP'
import json, socket, struct, sys, time
sock, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sock); s.settimeout(30); return s
def call(method, path, body=None):
    s = conn()
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest
bad = 0
for i in range(n):
    st, body = call("POST", "/containers/create", {"Image": "busybox", "AttachStdout": True,
        "AttachStderr": True, "Cmd": ["sh", "-c", f"echo out-{i}; echo err-{i} >&2"]})
    assert st == 201, body
    cid = json.loads(body[body.index(b"{"):body.rindex(b"}") + 1])["Id"]
    a = conn()
    a.sendall(f"POST /containers/{cid}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: b\r\n"
              "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += a.recv(1)
    a.shutdown(socket.SHUT_WR)
    time.sleep(delay)
    st, body = call("POST", f"/containers/{cid}/start")
    assert st == 204, body
    got = b""
    while True:
        b = a.recv(65536)
        if not b: break
        got += b
    frames = {1: b"", 2: b""}
    while len(got) >= 8:
        kind, size = got[0], struct.unpack(">I", got[4:8])[0]
        frames[kind] = frames.get(kind, b"") + got[8:8 + size]
        got = got[8 + size:]
    if frames[1] != f"out-{i}\n".encode() or frames[2] != f"err-{i}\n".encode():
        bad += 1
        print(f"run {i}: stdout={frames[1]!r} stderr={frames[2]!r}")
    call("DELETE", f"/containers/{cid}?force=1")
sys.exit(1 if bad else 0)
EOP
}

@test "attached output is whole when the client half-closes and /start comes late or at once" {
	run -0 attach_then_start 2 1.5
	run -0 attach_then_start 4 0
}
