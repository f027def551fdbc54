#!/usr/bin/env bats
# tests/system/network.bats — container networking through a real berthd with
# networking on (its own --bridge and --bip, unique per run) and the docker
# CLI 28: the default bridge (gateway, another container, outbound through
# masquerade to a namespace the test made), published ports (from the host's
# address, 127.0.0.1 and another namespace; udp), user-defined networks and
# the /networks API (isolation, connect / disconnect, --ip, aliases), and
# that nothing is left behind (veths, bridges, netns files, the nft table).
#
# Safety: traffic only to 127.0.0.0/8 and addresses inside namespaces that
# berthd or this file made; never docker0, the default route or another
# program's nftables tables. Names the embedded DNS does not know go to this
# file's own dnsmasq (--no-resolv: it forwards nothing) on a loopback address
# of its own, given to berthd as --dns: never to the host's resolver. teardown_file removes every device, namespace
# and table this file made, even after a failure.

load daemon-helpers

DOCKER=/usr/local/bin/docker

setup_file() {
	local t=$((BERTH_TEST_TOKEN % 40000))
	export NT_BR=bn$t                      # the default bridge
	export NT_A=$((200 + t % 50)) NT_B=$((t / 50 % 200))
	export NT_BIP=10.$NT_A.$NT_B.1/24      # its address
	export NT_NET1=10.$NT_A.$((NT_B + 1))  # user networks' /24s
	export NT_NET2=10.$NT_A.$((NT_B + 2))
	export NT_UP=nu$t                      # the "outside" namespace
	export NT_UPNET=198.18.$((t % 250)).   # its /30 (.1 host, .2 inside)
	export NT_CLIENT=nc$t                  # a client host namespace
	export NT_CLNET=198.19.$((t % 250)).   # its /30 (.1 host, .2 inside)
	export NT_DNS=127.$((100 + t % 100)).$((t / 100 % 250)).53 # the upstream resolver
	dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces --port 53 \
		--listen-address "$NT_DNS" --address=/upstream.test/10.9.9.9 \
		--pid-file="$BATS_FILE_TMPDIR/dnsmasq.pid" >"$BATS_FILE_TMPDIR/dnsmasq.log" 2>&1 &
	echo $! >"$BATS_FILE_TMPDIR/dnsmasq.run"
	nt_start_berthd
	load_busybox
	# the outside: a namespace the host routes to, with its own veth
	ip netns add "$NT_UP"
	ip link add "${NT_UP}h" type veth peer name "${NT_UP}i" netns "$NT_UP"
	ip addr add "${NT_UPNET}1/30" dev "${NT_UP}h"
	ip link set "${NT_UP}h" up
	ip -n "$NT_UP" addr add "${NT_UPNET}2/30" dev "${NT_UP}i"
	ip -n "$NT_UP" link set "${NT_UP}i" up
	ip -n "$NT_UP" link set lo up
	# a client host: reaches the host's bridge address through its own veth
	ip netns add "$NT_CLIENT"
	ip link add "${NT_CLIENT}h" type veth peer name "${NT_CLIENT}i" netns "$NT_CLIENT"
	ip addr add "${NT_CLNET}1/30" dev "${NT_CLIENT}h"
	ip link set "${NT_CLIENT}h" up
	ip -n "$NT_CLIENT" link set "${NT_CLIENT}i" up
	ip -n "$NT_CLIENT" addr add "${NT_CLNET}2/30" dev "${NT_CLIENT}i"
	ip -n "$NT_CLIENT" route add default via "${NT_CLNET}1"
}

# every berthd of this file: its bridge and subnet, and --dns pointing the
# embedded DNS at this file's dnsmasq (never the host's resolver)
nt_start_berthd() {
	start_berthd --bridge "$NT_BR" --bip "$NT_BIP" --iptables=true --dns "$NT_DNS" "$@"
}

nt_table() {
	nft list tables 2>/dev/null | awk '{print $3}' | grep '^berth_' | while read -r tb; do
		nft list table ip "$tb" 2>/dev/null | grep -q "\"$NT_BR\"" && echo "$tb"
	done
}

teardown_file() {
	local tb
	tb=$(nt_table)
	$DOCKER rm -f $($DOCKER ps -aq) >/dev/null 2>&1 || true
	for n in $($DOCKER network ls -q --filter type=custom 2>/dev/null); do
		$DOCKER network rm "$n" >/dev/null 2>&1 || true
	done
	teardown_berthd
	[ -f "$BATS_FILE_TMPDIR/dnsmasq.run" ] && kill "$(cat "$BATS_FILE_TMPDIR/dnsmasq.run")" 2>/dev/null
	ip netns del "$NT_UP" 2>/dev/null || true
	ip netns del "$NT_CLIENT" 2>/dev/null || true
	ip link del "${NT_UP}h" 2>/dev/null || true
	ip link del "${NT_CLIENT}h" 2>/dev/null || true
	ip link del "$NT_BR" 2>/dev/null || true
	ip link del "dm$((BERTH_TEST_TOKEN % 40000))" 2>/dev/null || true
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E "^(bt|br-)" ); do
		ip -d link show "$l" | grep -q bridge && [ -e "/sys/class/net/$l/brif" ] &&
			[ -z "$(ls /sys/class/net/$l/brif)" ] && [[ $l == bt$((BERTH_TEST_TOKEN % 40000))* ]] &&
			ip link del "$l" 2>/dev/null
	done
	[ -n "$tb" ] && nft delete table ip "$tb" 2>/dev/null || true
	true
}

cip() { $DOCKER inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}'; }

@test "default bridge: address, gateway, MAC, /etc/hosts, inspect" {
	run -0 $DOCKER run -d --name b1 busybox sleep 300
	run -0 $DOCKER inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}} {{.NetworkSettings.Networks.bridge.IPPrefixLen}}' b1
	[ "$output" = "10.$NT_A.$NT_B.2 10.$NT_A.$NT_B.1 02:42:0a:$(printf %02x $NT_A):$(printf %02x $NT_B):02 24" ]
	run -0 $DOCKER exec b1 ip -4 addr show eth0
	[[ $output == *"10.$NT_A.$NT_B.2/24"* ]]
	run -0 $DOCKER exec b1 ip route
	[[ $output == *"default via 10.$NT_A.$NT_B.1 dev eth0"* ]]
	run -0 $DOCKER exec b1 cat /etc/hosts
	[[ $output == *"10.$NT_A.$NT_B.2"$'\t'"$($DOCKER inspect -f '{{.Config.Hostname}}' b1)"* ]]
	# the host's bridge answers, and so does the second container
	run -0 $DOCKER exec b1 ping -c1 -W2 10.$NT_A.$NT_B.1
	run -0 $DOCKER run -d --name b2 busybox sleep 300
	[ "$(cip b2)" = "10.$NT_A.$NT_B.3" ]
	run -0 $DOCKER exec b2 ping -c1 -W2 10.$NT_A.$NT_B.2
	# the network lists both
	run -0 $DOCKER network inspect bridge -f '{{len .Containers}} {{(index .IPAM.Config 0).Subnet}}'
	[ "$output" = "2 10.$NT_A.$NT_B.0/24" ]
	$DOCKER rm -f b1 b2
}

@test "outbound: masquerade to a namespace the host routes to" {
	# the outside answers with the address it saw: the host's, not the container's
	ip netns exec "$NT_UP" socat TCP-LISTEN:7000,reuseaddr SYSTEM:'echo seen=$SOCAT_PEERADDR' \
		>/dev/null 2>&1 &
	local spid=$!
	sleep 0.3
	run -0 timeout 20 $DOCKER run --rm busybox nc -w 5 "${NT_UPNET}2" 7000
	kill $spid 2>/dev/null || true
	[ "$output" = "seen=${NT_UPNET}1" ]
}

@test "published port: host address, 127.0.0.1, another namespace; port in inspect and port" {
	run -0 $DOCKER run -d --name web -p 18$((BERTH_TEST_TOKEN % 900 + 100)):80 busybox \
		httpd -f -p 80 -h /etc
	local hp=18$((BERTH_TEST_TOKEN % 900 + 100))
	sleep 0.5
	run -0 curl -sS --max-time 5 "http://127.0.0.1:$hp/hostname"
	[ "$output" = "$($DOCKER inspect -f '{{.Config.Hostname}}' web)" ]
	run -0 curl -sS --max-time 5 "http://10.$NT_A.$NT_B.1:$hp/hostname"
	run -0 ip netns exec "$NT_CLIENT" curl -sS --max-time 5 "http://${NT_CLNET}1:$hp/hostname"
	run -0 $DOCKER port web
	[ "$output" = "80/tcp -> 0.0.0.0:$hp" ]
	run -0 $DOCKER inspect -f '{{json .NetworkSettings.Ports}}' web
	[ "$output" = "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$hp\"}]}" ]
	# the same host port again: Docker's error
	run -125 $DOCKER run -d --name web2 -p $hp:80 busybox sleep 1
	[[ $output == *"Bind for 0.0.0.0:$hp failed: port is already allocated"* ]]
	$DOCKER rm -f web web2 >/dev/null 2>&1 || true
	# a host port another program holds: the userland proxy's bind error, nothing left
	local hp2=$((hp + 1)) before
	socat TCP-LISTEN:$hp2,bind=0.0.0.0,reuseaddr,fork SYSTEM:true >/dev/null 2>&1 &
	local spid=$!
	sleep 0.3
	before=$(ip -o link show master "$NT_BR" | wc -l)
	run -125 $DOCKER run -d --name web3 -p $hp2:80 busybox sleep 1
	kill $spid
	[[ $output == *"Error starting userland proxy"*"address already in use"* ]]
	[ "$(ip -o link show master "$NT_BR" | wc -l)" -eq "$before" ]
	$DOCKER rm -f web3 >/dev/null
}

@test "published udp port and -P with a random host port" {
	# busybox has no UDP server: a static echo server, bound into the container
	cat >"$BATS_FILE_TMPDIR/udpecho.c" <<-'EOC'
	#include <arpa/inet.h>
	#include <string.h>
	#include <sys/socket.h>
	int main(void) {
	  int s = socket(AF_INET, SOCK_DGRAM, 0);
	  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5353)};
	  if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) return 1;
	  for (;;) {
	    char b[512]; struct sockaddr_in p; socklen_t l = sizeof(p);
	    ssize_t n = recvfrom(s, b + 5, sizeof(b) - 5, 0, (struct sockaddr *)&p, &l);
	    if (n < 0) return 1;
	    memcpy(b, "pong:", 5);
	    sendto(s, b, (size_t)n + 5, 0, (struct sockaddr *)&p, l);
	  }
	}
	EOC
	cc -static -O1 -o "$BATS_FILE_TMPDIR/udpecho" "$BATS_FILE_TMPDIR/udpecho.c"
	run -0 $DOCKER run -d --name u1 -p 127.0.0.1::5353/udp \
		-v "$BATS_FILE_TMPDIR/udpecho:/udpecho:ro" busybox /udpecho
	run -0 $DOCKER port u1 5353/udp
	local hp=${output##*:}
	[[ $output == 127.0.0.1:* ]]
	[ "$hp" -ge "$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range)" ]
	sleep 0.3
	run -0 sh -c "echo ping | socat -t 2 - UDP4:127.0.0.1:$hp"
	[ "$output" = pong:ping ]
	run -0 $DOCKER run -d --name p1 -P --expose 81 busybox httpd -f -p 81 -h /etc
	run -0 $DOCKER port p1 81/tcp
	[[ $output == 0.0.0.0:* ]]
	sleep 0.3
	run -0 curl -sS --max-time 5 "http://127.0.0.1:${output##*:}/hostname"
	$DOCKER rm -f u1 p1
}

@test "network create/ls/inspect/rm: shape, filters, errors" {
	run -0 $DOCKER network create --subnet "$NT_NET1.0/24" --gateway "$NT_NET1.254" --label team=a -o com.docker.network.bridge.name=bt$((BERTH_TEST_TOKEN % 40000))a n1
	id=$output
	[ ${#id} -eq 64 ]
	run -0 $DOCKER network inspect n1 -f '{{.Driver}} {{.Scope}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{.Labels.team}} {{.Internal}}'
	[ "$output" = "bridge local $NT_NET1.0/24 $NT_NET1.254 a false" ]
	# as dockerd: no Gateway key when only the subnet was given
	run -0 $DOCKER network create --subnet "$NT_NET2.0/24" -o com.docker.network.bridge.name=bt$((BERTH_TEST_TOKEN % 40000))b n2
	run -0 $DOCKER network inspect n2 -f '{{json .IPAM}}'
	[ "$output" = "{\"Driver\":\"default\",\"Options\":{},\"Config\":[{\"Subnet\":\"$NT_NET2.0/24\"}]}" ]
	run -0 $DOCKER network rm n2
	run -0 $DOCKER network ls --filter label=team=a --format '{{.Name}}'
	[ "$output" = n1 ]
	run -0 $DOCKER network ls --filter type=builtin --format '{{.Name}}'
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "bridge host none " ]
	run -1 $DOCKER network create n1
	[[ $output == *"network with name n1 already exists"* ]]
	run -1 $DOCKER network create --subnet "$NT_NET1.128/25" n1b
	[[ $output == *"Pool overlaps with other one on this address space"* ]]
	run -1 $DOCKER network create -d nosuch n1c
	[[ $output == *'plugin "nosuch" not found'* ]]
	run -1 $DOCKER network rm bridge
	[[ $output == *"bridge is a pre-defined network and cannot be removed"* ]]
	ip link show bt$((BERTH_TEST_TOKEN % 40000))a
	run -0 $DOCKER network rm n1
	run -1 ip link show bt$((BERTH_TEST_TOKEN % 40000))a
	run -1 $DOCKER network inspect n1
	[[ $output == *"network n1 not found"* ]]
}

@test "user networks: reach by address, isolation, --ip, connect / disconnect live" {
	local t=$((BERTH_TEST_TOKEN % 40000))
	run -0 $DOCKER network create --subnet "$NT_NET1.0/24" -o com.docker.network.bridge.name=bt${t}a na
	run -0 $DOCKER network create --subnet "$NT_NET2.0/24" -o com.docker.network.bridge.name=bt${t}b nb
	run -0 $DOCKER run -d --name a1 --network na --ip "$NT_NET1.50" busybox sleep 300
	run -0 $DOCKER run -d --name a2 --network na --network-alias web busybox sleep 300
	run -0 $DOCKER run -d --name b1 --network nb busybox sleep 300
	[ "$(cip a1)" = "$NT_NET1.50" ]
	run -0 $DOCKER exec a2 ping -c1 -W2 "$NT_NET1.50"
	# isolation: nb cannot reach na
	run -1 $DOCKER exec b1 ping -c1 -W1 "$NT_NET1.50"
	# an address taken
	run -125 $DOCKER run -d --name a3 --network na --ip "$NT_NET1.50" busybox sleep 1
	[[ $output == *"Address already in use"* ]]
	$DOCKER rm -f a3 >/dev/null 2>&1 || true
	# connect b1 to na live: eth1 appears, and it reaches a1
	run -0 $DOCKER network connect na b1
	run -0 $DOCKER exec b1 ip -4 addr show eth1
	[[ $output == *"$NT_NET1."* ]]
	run -0 $DOCKER exec b1 ping -c1 -W2 "$NT_NET1.50"
	run -0 $DOCKER network inspect na -f '{{len .Containers}}'
	[ "$output" = 3 ]
	run -0 $DOCKER network disconnect na b1
	run -1 $DOCKER exec b1 ip addr show eth1
	# in use
	run -1 $DOCKER network rm na
	[[ $output == *"has active endpoints"* ]]
	$DOCKER rm -f a1 a2 b1
	run -0 $DOCKER network rm na nb
}

@test "restart of berthd (live-restore): addresses kept, rules rebuilt; shutdown removes the table" {
	local hp=19$((BERTH_TEST_TOKEN % 900 + 100))
	stop_berthd
	nt_start_berthd --live-restore
	run -0 $DOCKER run -d --name r1 -p $hp:80 busybox httpd -f -p 80 -h /etc
	local ip1
	ip1=$(cip r1)
	[ -n "$(nt_table)" ]
	stop_berthd
	[ -z "$(nt_table)" ]
	nt_start_berthd --live-restore
	[ "$(cip r1)" = "$ip1" ]
	[ -n "$(nt_table)" ]
	sleep 0.3
	run -0 ip netns exec "$NT_CLIENT" curl -sS --max-time 5 "http://${NT_CLNET}1:$hp/hostname"
	$DOCKER rm -f r1
	stop_berthd
	nt_start_berthd
}

@test "nothing left: veths, netns files, endpoints after rm" {
	run -0 $DOCKER run -d --name g1 busybox sleep 300
	local before
	before=$(ip -o link show master "$NT_BR" | wc -l)
	[ "$before" -ge 1 ]
	[ -n "$(ls "$BERTHD_EXEC/netns")" ]
	$DOCKER rm -f g1
	[ "$(ip -o link show master "$NT_BR" | wc -l)" -eq $((before - 1)) ]
	[ -z "$(ls "$BERTHD_EXEC/netns")" ]
	run -0 $DOCKER network inspect bridge -f '{{len .Containers}}'
	[ "$output" = 0 ]
}

@test "network none, host, container:<name>" {
	run -0 $DOCKER run --rm --network none busybox ip -o link
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	# as dockerd's sandbox: lo is up and 127.0.0.1 answers (it was down once)
	[[ $output == *"lo: <LOOPBACK,UP"* ]]
	run -0 $DOCKER run --rm --network none busybox ping -c1 -W2 127.0.0.1
	run -0 $DOCKER run --rm --network host busybox cat /proc/net/dev
	[[ $output == *"$NT_BR"* ]]
	# container:<name> joins the other's namespace (its eth0 and address)
	run -0 $DOCKER run -d --name base busybox sleep 300
	run -0 $DOCKER run --rm --network container:base busybox ip -o -4 addr show eth0
	[[ $output == *"$(cip base)/24"* ]]
	$DOCKER rm -f base
}

@test "embedded DNS: names, aliases, --link; resolv.conf; no cross-network answers" {
	local t=$((BERTH_TEST_TOKEN % 40000))
	run -0 $DOCKER network create --subnet "$NT_NET1.0/24" -o com.docker.network.bridge.name=bt${t}a nd
	run -0 $DOCKER network create --subnet "$NT_NET2.0/24" -o com.docker.network.bridge.name=bt${t}b ne
	run -0 $DOCKER run -d --name d1 --network nd --network-alias svc busybox httpd -f -p 80 -h /etc
	run -0 $DOCKER run -d --name e1 --network ne busybox sleep 300
	run -0 $DOCKER run --rm --network nd busybox cat /etc/resolv.conf
	[[ $output == *"nameserver 127.0.0.11"* ]]
	run -0 timeout 20 $DOCKER run --rm --network nd busybox sh -c \
		'nslookup d1 && nslookup svc && wget -qO- http://svc/hostname'
	[[ $output == *"$NT_NET1.2"* ]]
	[[ $output == *"$($DOCKER inspect -f '{{.Config.Hostname}}' d1)"* ]]
	run -0 timeout 20 $DOCKER run --rm --network nd --link d1:web busybox nslookup web
	[[ $output == *"$NT_NET1.2"* ]]
	# e1 is on another network: d1 is not its name to know (asked upstream:
	# this file's dnsmasq, which knows only upstream.test)
	run -1 timeout 20 $DOCKER exec e1 nslookup d1
	run -0 timeout 20 $DOCKER exec e1 nslookup -type=a upstream.test
	[[ $output == *"10.9.9.9"* ]]
	$DOCKER rm -f d1 e1
	$DOCKER network rm nd ne
}

@test "internal network: no way out; masquerade off" {
	local t=$((BERTH_TEST_TOKEN % 40000))
	run -0 $DOCKER network create --internal --subnet "$NT_NET1.0/24" -o com.docker.network.bridge.name=bt${t}a ni
	ip netns exec "$NT_UP" socat TCP-LISTEN:7001,reuseaddr SYSTEM:'echo reached' >/dev/null 2>&1 &
	local spid=$!
	sleep 0.3
	run timeout 20 $DOCKER run --rm --network ni busybox nc -w 2 "${NT_UPNET}2" 7001
	kill $spid 2>/dev/null || true
	[[ $output != *reached* ]]
	run -0 $DOCKER network inspect ni -f '{{.Internal}}'
	[ "$output" = true ]
	$DOCKER network rm ni
}

@test "hairpin: a container reaches its own published port through the host's address" {
	local hp=17$((BERTH_TEST_TOKEN % 900 + 100))
	run -0 $DOCKER run -d --name h1 -p $hp:80 busybox httpd -f -p 80 -h /etc
	sleep 0.3
	run -0 timeout 20 $DOCKER exec h1 wget -qO- "http://10.$NT_A.$NT_B.1:$hp/hostname"
	[ "$output" = "$($DOCKER inspect -f '{{.Config.Hostname}}' h1)" ]
	$DOCKER rm -f h1
}

@test "network prune, connect to a stopped container, events" {
	local t=$((BERTH_TEST_TOKEN % 40000)) t0
	t0=$(date +%s)
	run -0 $DOCKER network create --subnet "$NT_NET1.0/24" -o com.docker.network.bridge.name=bt${t}a np1
	run -0 $DOCKER network create --subnet "$NT_NET2.0/24" -o com.docker.network.bridge.name=bt${t}b np2
	run -0 $DOCKER create --name s1 --network np1 busybox sleep 300
	run -0 $DOCKER network connect np2 s1
	run -0 $DOCKER inspect -f '{{len .NetworkSettings.Networks}}' s1
	[ "$output" = 2 ]
	run -0 $DOCKER start s1
	run -0 $DOCKER exec s1 ip -o -4 addr
	[[ $output == *eth0*"$NT_NET1."* ]]
	[[ $output == *eth1*"$NT_NET2."* ]]
	$DOCKER rm -f s1
	run -0 $DOCKER network prune -f
	[[ $output == *np1* && $output == *np2* ]]
	run -0 $DOCKER events --since "$t0" --until "$(($(date +%s) + 1))" --filter type=network --format '{{.Action}}'
	[[ $output == *create* && $output == *connect* && $output == *destroy* ]]
}

@test "macvlan and ipvlan on a parent the test makes: two containers reach each other" {
	local t=$((BERTH_TEST_TOKEN % 40000)) d=dm$((BERTH_TEST_TOKEN % 40000))
	# a dummy device when the kernel has the driver, else one end of a veth pair
	ip link add "$d" type dummy 2>/dev/null ||
		{ ip link add "$d" type veth peer name "${d}p" && ip link set "${d}p" up; }
	ip link set "$d" up
	run -0 $DOCKER network create -d macvlan --subnet "$NT_NET1.0/24" -o parent="$d" mv
	run -0 $DOCKER run -d --name m1 --network mv busybox sleep 300
	run -0 $DOCKER run -d --name m2 --network mv busybox sleep 300
	run -0 $DOCKER exec m1 ip -o -4 addr show eth0
	[[ $output == *"$NT_NET1.2/24"* ]]
	run -0 $DOCKER exec m2 ping -c1 -W2 "$NT_NET1.2"
	run -0 timeout 20 $DOCKER exec m2 nslookup m1
	[[ $output == *"$NT_NET1.2"* ]]
	$DOCKER rm -f m1 m2
	run -0 $DOCKER network create -d ipvlan --subnet "$NT_NET2.0/24" -o parent="$d" -o ipvlan_mode=l2 iv
	if ip link add "${d}i" link "$d" type ipvlan mode l2 2>/dev/null; then
		ip link del "${d}i"
		run -0 $DOCKER run -d --name i1 --network iv busybox sleep 300
		run -0 $DOCKER run --rm --network iv busybox ping -c1 -W2 "$NT_NET2.2"
	else
		# this kernel has no ipvlan: the start fails cleanly, nothing left
		run -125 $DOCKER run -d --name i1 --network iv busybox sleep 300
		[[ $output == *"create ipvlan on $d: Operation not supported"* ]]
		[ -z "$(ls "$BERTHD_EXEC/netns")" ]
	fi
	$DOCKER rm -f i1
	run -1 $DOCKER network create -d macvlan -o parent=nosuch$t mv2
	[[ $output == *"-o parent interface was not found on the host: nosuch$t"* ]]
	$DOCKER network rm mv iv
	ip link del "$d"
}
