#!/usr/bin/env bats
# The embedded DNS server (src/net/dns.c) and the userland proxy (src/net/proxy.c)
# on their own, driven by tests/tools/dnsctl — no berthd, no bridge:
#   - DNS: the test makes a network namespace, dnsctl serves 127.0.0.11:53 inside
#     it from a static name table, an upstream dnsmasq the test starts on
#     127.0.0.1:<free port> (never the host's resolver) answers the rest; queries
#     run inside the namespace with busybox nslookup and a small python client
#     (UDP and TCP, EDNS0, pipelining, malformed packets).
#   - proxy: a veth pair between the host and a namespace the test makes (a /30 of
#     10.231.0.0/16 unique to the run), python servers in the namespace, clients on
#     the host's 127.0.0.1.
# Everything (namespaces, veths, dnsctl, dnsmasq, servers) is removed in teardown.
#
# Environment (besides helpers.bash's): BERTH_BUILD (default build), DNSCTL (default
# $BERTH_BUILD/tests/tools/dnsctl).

load helpers

: "${DNSCTL:=${BERTH_BUILD:-$BERTH_REPO/build}/tests/tools/dnsctl}"
PY=/usr/bin/python3

setup_file() {
	# a DNS client that shows what it got: "rcode=N tc=0|1 an=N" then one line per answer
	cat >"$BATS_FILE_TMPDIR/dnsq.py" <<'EOF'
import socket, struct, sys, random
def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.strip(".").split(".") if l) + b"\0"
def query(qname, qtype, edns=None, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    h = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    q = h + name(qname) + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    return qid, q
def rdname(m, o):
    out, jumped, end = [], False, None
    while True:
        l = m[o]
        if l & 0xc0 == 0xc0:
            if end is None: end = o + 2
            o = ((l & 0x3f) << 8) | m[o + 1]; continue
        if l == 0:
            return ".".join(out), (end if end is not None else o + 1)
        out.append(m[o + 1:o + 1 + l].decode()); o += 1 + l
def show(qid, m):
    rid, fl, qd, an, ns, ar = struct.unpack(">HHHHHH", m[:12])
    print("rcode=%d tc=%d an=%d ar=%d id=%s" % (fl & 15, (fl >> 9) & 1, an, ar, "ok" if rid == qid else "BAD"))
    o = 12
    for _ in range(qd):
        _, o = rdname(m, o); o += 4
    for _ in range(an):
        _, o = rdname(m, o)
        t, c, ttl, rl = struct.unpack(">HHIH", m[o:o + 10]); o += 10
        rd = m[o:o + rl]
        if t == 1: print("A", socket.inet_ntop(socket.AF_INET, rd))
        elif t == 28: print("AAAA", socket.inet_ntop(socket.AF_INET6, rd))
        elif t == 12: print("PTR", rdname(m, o)[0])
        else: print("type%d" % t)
        o += rl
def recvn(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d: raise SystemExit("connection closed")
        b += d
    return b
types = {"A": 1, "AAAA": 28, "PTR": 12, "MX": 15, "TXT": 16}
args = sys.argv[1:]
mode = args.pop(0)  # udp | tcp | tcp2 (two pipelined queries) | garbage
edns = None
if args and args[0].startswith("--edns="):
    edns = int(args.pop(0)[7:])
server = ("127.0.0.11", 53)
if mode == "garbage":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for junk in (b"", b"\x01", b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
                 b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f", b"\xff" * 600):
        s.sendto(junk, server)
    t = socket.create_connection(server, timeout=5)
    t.sendall(b"\x00\x05abc")  # a short TCP message, then close
    t.close()
    print("sent"); sys.exit(0)
if mode == "flight":  # N UDP + N TCP queries at once; "sent" to FILE; then how each TCP one ended
    import time
    n, flag = int(args[0]), args[1]
    us, ts = [], []
    for i in range(n):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(query("slow%d.test" % i, 1)[1], server); us.append(u)
        t = socket.create_connection(server, timeout=10)
        q = query("slow%d.test" % i, 1)[1]
        t.sendall(struct.pack(">H", len(q)) + q); ts.append(t)
    open(flag, "w").write("sent\n")
    for t in ts:
        try: print("tcp answered" if t.recv(2) else "tcp closed")
        except OSError as e: print("tcp", e)
    sys.exit(0)
qname, qtype = args[0], types[args[1]]
if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    qid, q = query(qname, qtype, edns)
    s.sendto(q, server)
    show(qid, s.recvfrom(65535)[0])
elif mode == "tcp":
    s = socket.create_connection(server, timeout=5)
    qid, q = query(qname, qtype, edns)
    s.sendall(struct.pack(">H", len(q)) + q)
    show(qid, recvn(s, struct.unpack(">H", recvn(s, 2))[0]))
elif mode == "tcp2":
    s = socket.create_connection(server, timeout=5)
    q1, m1 = query(qname, qtype, qid=1)
    q2, m2 = query(args[2], types[args[3]], qid=2)
    s.sendall(struct.pack(">H", len(m1)) + m1 + struct.pack(">H", len(m2)) + m2)
    got = {}
    for _ in range(2):
        m = recvn(s, struct.unpack(">H", recvn(s, 2))[0])
        got[struct.unpack(">H", m[:2])[0]] = m
    show(1, got[1]); show(2, got[2])
EOF
}

setup() {
	[ -x "$DNSCTL" ] || fail "DNSCTL=$DNSCTL is not an executable (ninja -C \$BERTH_BUILD tests/tools/dnsctl)"
	command -v dnsmasq >/dev/null || skip "dnsmasq is not installed"
	T=$BATS_TEST_TMPDIR
}

teardown() {
	# berth_teardown kills the recorded processes and deletes the namespaces
	# (the veth pair goes with its netns end); an explicit delete for the host end
	[ -n "${VETH:-}" ] && ip link delete "$VETH" 2>/dev/null
	# dnsctl gets SIGTERM first: a clean exit frees everything (leak checkers see it)
	if [ -n "${CTL_PID:-}" ] && kill -TERM "$CTL_PID" 2>/dev/null; then
		wait_pid_gone "$CTL_PID" 10 || true
	fi
	berth_teardown
}

free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# in_ns CMD... — run in the test's namespace with a timeout
in_ns() { timeout -k 2 20 ip netns exec "$NETNS" "$@"; }
dnsq() { in_ns "$PY" "$BATS_FILE_TMPDIR/dnsq.py" "$@"; }

# wait_ready WORD — the ready file says WORD (dnsctl writes it after each step)
wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(cat "$T/ready" 2>/dev/null)" = "$1" ] && return 0
		sleep 0.1
	done
	fail "dnsctl did not report '$1' (ready: $(cat "$T/ready" 2>/dev/null); log: $(cat "$T/dnsctl.log"))"
}

# start_upstream — dnsmasq on 127.0.0.1:$UP_PORT knowing only upstream.test
start_upstream() {
	UP_PORT=$(free_port)
	local i
	for ((i = 1; i <= 40; i++)); do echo "10.8.0.$i big.test"; done >"$T/big.hosts"
	dnsmasq --no-daemon --port "$UP_PORT" --listen-address 127.0.0.1 --bind-interfaces --no-resolv \
		--no-hosts --address=/upstream.test/10.9.9.9 --addn-hosts="$T/big.hosts" --pid-file="$T/dnsmasq.pid" \
		>"$T/dnsmasq.log" 2>&1 3>&- &
	UP_PID=$!
	record_pid "$UP_PID"
	for ((i = 0; i < 50; i++)); do
		ss -lun "sport = :$UP_PORT" | grep -q 127.0.0.1 && return 0
		sleep 0.1
	done
	fail "dnsmasq did not start: $(cat "$T/dnsmasq.log")"
}

# start_dns [dnsctl dns options...] — the namespace, its lo up, and dnsctl serving it
start_dns() {
	make_netns dns
	ip -n "$NETNS" link set lo up
	cat >"$T/names" <<-EOF
		web 172.18.0.2 fd00::2
		db 172.18.0.3 172.19.0.3
		alias.web 172.18.0.2
		!blocked.internal
	EOF
	"$DNSCTL" dns --netns "$NETNS_PATH" --names "$T/names" --ready "$T/ready" "$@" >"$T/dnsctl.log" 2>&1 3>&- &
	CTL_PID=$!
	record_pid "$CTL_PID"
	wait_ready ready
}

@test "dns: A, AAAA and PTR of known names, case-insensitive, from inside the namespace" {
	start_upstream
	start_dns --upstream "127.0.0.1:$UP_PORT"
	run -0 in_ns busybox nslookup web 127.0.0.11
	expect_contains "$output" "Address: 172.18.0.2"
	expect_contains "$output" "Address: fd00::2"
	run -0 in_ns busybox nslookup 172.18.0.2 127.0.0.11
	expect_contains "$output" "name = web"
	run -0 dnsq udp WEB A
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=1 ar=0 id=ok"
	expect_eq "${lines[1]}" "A 172.18.0.2"
	run -0 dnsq udp db A
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=2 ar=0 id=ok"
	run -0 dnsq udp DB AAAA # known name, no IPv6: NOERROR without answer, not forwarded
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=0 ar=0 id=ok"
	run -0 dnsq udp web AAAA
	expect_eq "${lines[1]}" "AAAA fd00::2"
	run -0 dnsq udp 2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa PTR
	expect_eq "${lines[1]}" "PTR web"
	run -0 dnsq udp alias.web A
	expect_eq "${lines[1]}" "A 172.18.0.2"
	run -0 dnsq udp blocked.internal A # the table says NXDOMAIN: not forwarded
	expect_eq "${lines[0]}" "rcode=3 tc=0 an=0 ar=0 id=ok"
	# EDNS0: our answer carries an OPT record back
	run -0 dnsq udp --edns=1232 web A
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=1 ar=1 id=ok"
}

@test "dns: unknown names are forwarded to the upstream from the daemon's namespace, UDP and TCP" {
	start_upstream
	start_dns --upstream "127.0.0.1:$UP_PORT"
	run -0 in_ns busybox nslookup -type=A upstream.test 127.0.0.11
	expect_contains "$output" "Address: 10.9.9.9"
	run -0 dnsq udp upstream.test A
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=1 ar=0 id=ok"
	expect_eq "${lines[1]}" "A 10.9.9.9"
	run -0 dnsq tcp upstream.test A
	expect_eq "${lines[1]}" "A 10.9.9.9"
	run -0 dnsq udp --edns=4096 upstream.test A # EDNS0 passes through to dnsmasq and back
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=1 ar=1 id=ok"
	# 40 addresses do not fit in 512 bytes: the truncated UDP answer is relayed with TC,
	# the client's retry over TCP is forwarded over TCP and gets them all
	run -0 dnsq udp big.test A
	expect_match "${lines[0]}" "^rcode=0 tc=1 .*id=ok"
	run -0 dnsq tcp big.test A
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=40 ar=0 id=ok"
	run -0 dnsq udp 9.9.9.10.in-addr.arpa PTR # not ours: forwarded too
	expect_match "${lines[0]}" "^rcode=[0-9]+ .*id=ok"
	# dnsmasq saw the forwarded queries (and the namespace could not have reached it itself)
	run -0 in_ns "$PY" -c "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(1)
try:
    s.sendto(b'x',('127.0.0.1',$UP_PORT)); s.recv(10); print('reached')
except Exception: print('unreachable')"
	expect_eq "$output" "unreachable"
}

@test "dns: TCP queries, pipelined on one connection" {
	start_upstream
	start_dns --upstream "127.0.0.1:$UP_PORT"
	run -0 dnsq tcp web A
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=1 ar=0 id=ok"
	expect_eq "${lines[1]}" "A 172.18.0.2"
	run -0 dnsq tcp2 upstream.test A db A
	expect_eq "${lines[0]}" "rcode=0 tc=0 an=1 ar=0 id=ok"
	expect_eq "${lines[1]}" "A 10.9.9.9"
	expect_eq "${lines[2]}" "rcode=0 tc=0 an=2 ar=0 id=ok"
}

@test "dns: SERVFAIL when every upstream fails or none is given" {
	local dead
	dead=$(free_port) # nothing listens there: ICMP port unreachable
	start_dns --upstream "127.0.0.1:$dead"
	run -0 dnsq udp nothing.test A
	expect_eq "${lines[0]}" "rcode=2 tc=0 an=0 ar=0 id=ok"
	run -0 dnsq tcp nothing.test A
	expect_eq "${lines[0]}" "rcode=2 tc=0 an=0 ar=0 id=ok"
	run -0 dnsq udp web A # ours still answered
	expect_eq "${lines[1]}" "A 172.18.0.2"
}

@test "dns: malformed packets are refused without harm" {
	start_upstream
	start_dns --upstream "127.0.0.1:$UP_PORT"
	run -0 dnsq garbage
	run -0 dnsq udp web A
	expect_eq "${lines[1]}" "A 172.18.0.2"
	kill -0 "$CTL_PID"
}

@test "dns: removal stops answering, adding again serves again" {
	start_upstream
	start_dns --upstream "127.0.0.1:$UP_PORT"
	run -0 dnsq udp web A
	kill -USR1 "$CTL_PID"
	wait_ready removed
	run ! dnsq udp web A
	run ! dnsq tcp web A
	# the sockets are gone from the namespace
	run -0 in_ns ss -lntu
	[[ $output != *127.0.0.11:53* ]] || fail "still bound: $output"
	kill -USR2 "$CTL_PID"
	wait_ready ready
	run -0 dnsq udp web A
	expect_eq "${lines[1]}" "A 172.18.0.2"
	kill -TERM "$CTL_PID"
	wait_pid_gone "$CTL_PID"
}

@test "dns: removal with forwards in flight and TCP clients waiting" {
	# an upstream that reads and never answers: forwards stay pending
	local silent
	silent=$(free_port)
	"$PY" -c "import socket,time
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);u.bind(('127.0.0.1',$silent))
t=socket.socket();t.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);t.bind(('127.0.0.1',$silent));t.listen(64)
cs=[]
while True:
    c,_=t.accept();cs.append(c)" >"$T/silent.log" 2>&1 3>&- &
	record_pid $!
	for ((i = 0; i < 50; i++)); do
		ss -ltn "sport = :$silent" | grep -q 127.0.0.1 && break
		sleep 0.1
	done
	start_dns --upstream "127.0.0.1:$silent"
	local fds0
	fds0=$(ls "/proc/$CTL_PID/fd" | wc -l)
	dnsq flight 5 "$T/sent" >"$T/flight.out" 2>&1 3>&- &
	local q=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$T/sent" ] && break
		sleep 0.05
	done
	# the forwards are in flight (a socket each; each TCP client one more)
	for ((i = 0; i < 50; i++)); do
		[ "$(ls "/proc/$CTL_PID/fd" | wc -l)" -ge $((fds0 + 15)) ] && break
		sleep 0.02
	done
	[ "$(ls "/proc/$CTL_PID/fd" | wc -l)" -ge $((fds0 + 15)) ] || fail "forwards not in flight"
	kill -USR1 "$CTL_PID"
	wait_ready removed
	# the TCP clients see their connection closed at once, not an answer nor a timeout
	wait "$q"
	run cat "$T/flight.out"
	expect_eq "$output" "$(printf 'tcp closed\n%.0s' 1 2 3 4 5 | head -c -1)"
	# every socket of the endpoint is gone: back to fewer fds than before the add
	run -0 ls "/proc/$CTL_PID/fd"
	[ "${#lines[@]}" -lt "$fds0" ] || fail "fds left: ${#lines[@]} >= $fds0"
	kill -USR2 "$CTL_PID"
	wait_ready ready
	run -0 dnsq udp web A
	expect_eq "${lines[1]}" "A 172.18.0.2"
}

# ------------------------------------------------------------------ proxy ----

# proxy_target — a namespace with a veth to the host on a /30, and python servers in it:
# TCP $TGT:8080 answers "got N bytes" after reading to EOF, UDP $TGT:8081 echoes.
proxy_target() {
	make_netns px
	local n=$((BERTH_TEST_TOKEN % 250)) m=$(((BATS_SUITE_TEST_NUMBER * 4) % 256))
	VETH=bdx$((BERTH_TEST_TOKEN % 100000))n$BATS_SUITE_TEST_NUMBER
	HOSTIP=10.231.$n.$((m + 1))
	TGT=10.231.$n.$((m + 2))
	ip link add "$VETH" type veth peer name eth0 netns "$NETNS"
	ip addr add "$HOSTIP/30" dev "$VETH"
	ip link set "$VETH" up
	ip -n "$NETNS" link set lo up
	ip -n "$NETNS" addr add "$TGT/30" dev eth0
	ip -n "$NETNS" link set eth0 up
	cat >"$T/srv.py" <<-EOF
		import socket, threading
		def tcp():
		    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    s.bind(("$TGT", 8080)); s.listen(16)
		    while True:
		        c, _ = s.accept(); n = 0
		        while True:
		            d = c.recv(65536)
		            if not d: break
		            n += len(d)
		        c.sendall(b"got %d bytes\n" % n); c.close()
		def udp():
		    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("$TGT", 8081))
		    while True:
		        d, a = u.recvfrom(65535); u.sendto(b"echo:" + d, a)
		threading.Thread(target=udp, daemon=True).start()
		tcp()
	EOF
	ip netns exec "$NETNS" "$PY" "$T/srv.py" >"$T/srv.log" 2>&1 3>&- &
	record_pid $!
	local i
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$NETNS" ss -ltn | grep -q ":8080" && return 0
		sleep 0.1
	done
	fail "target server did not start: $(cat "$T/srv.log")"
}

# start_proxy MAPPING... — dnsctl proxy; PORTS gets the bound host ports
start_proxy() {
	"$DNSCTL" proxy --udp-timeout 2 --ready "$T/ready" "$@" >"$T/dnsctl.log" 2>&1 3>&- &
	CTL_PID=$!
	record_pid "$CTL_PID"
	local i
	for ((i = 0; i < 50; i++)); do
		[ -s "$T/ready" ] && break
		sleep 0.1
	done
	[ -s "$T/ready" ] || fail "proxy did not start: $(cat "$T/dnsctl.log")"
	mapfile -t PORTS <"$T/ready"
}

@test "proxy: TCP through 127.0.0.1 to a namespace, 4 MB with half-close, parallel clients" {
	proxy_target
	start_proxy "tcp:127.0.0.1:0:$TGT:8080"
	head -c 4000000 /dev/urandom >"$T/blob"
	local fds0
	fds0=$(ls "/proc/$CTL_PID/fd" | wc -l)
	run -0 timeout 20 "$PY" - "${PORTS[0]}" "$T/blob" <<-'EOF'
		import socket, sys, threading
		port, blob = int(sys.argv[1]), open(sys.argv[2], "rb").read()
		res = []
		def one(data):
		    s = socket.create_connection(("127.0.0.1", port), timeout=10)
		    s.sendall(data); s.shutdown(socket.SHUT_WR)   # half-close: the answer still comes back
		    r = b""
		    while True:
		        d = s.recv(65536)
		        if not d: break
		        r += d
		    res.append(r.decode().strip())
		ts = [threading.Thread(target=one, args=(blob[:n],)) for n in (len(blob), 1, 0, 100000)]
		[t.start() for t in ts]; [t.join() for t in ts]
		print("\n".join(sorted(res)))
	EOF
	expect_eq "$output" "got 0 bytes
got 1 bytes
got 100000 bytes
got 4000000 bytes"
	# every connection's sockets and pipes are closed
	sleep 0.5
	run -0 ls "/proc/$CTL_PID/fd"
	expect_eq "${#lines[@]}" "$fds0" "open fds"
}

@test "proxy: UDP flows per client, replies to the right client, idle flows expire" {
	proxy_target
	start_proxy "udp:127.0.0.1:0:$TGT:8081"
	run -0 timeout 20 "$PY" - "${PORTS[0]}" <<-'EOF'
		import socket, sys, time
		port = int(sys.argv[1])
		a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.settimeout(3)
		b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.settimeout(3)
		a.sendto(b"from-a", ("127.0.0.1", port)); b.sendto(b"from-b", ("127.0.0.1", port))
		print(a.recv(100).decode(), b.recv(100).decode())
		big = b"x" * 30000
		a.sendto(big, ("127.0.0.1", port)); print(len(a.recv(65535)))
		time.sleep(3.5)   # past the 2 s idle timeout: a new flow is made transparently
		a.sendto(b"again", ("127.0.0.1", port)); print(a.recv(100).decode())
	EOF
	expect_eq "${lines[0]}" "echo:from-a echo:from-b"
	expect_eq "${lines[1]}" "30005"
	expect_eq "${lines[2]}" "echo:again"
	# only the listening socket (and the loop's own fds) left after the idle timeout
	sleep 3
	run -0 ss -unp
	[[ $output != *"pid=$CTL_PID,"*"$TGT:8081"* ]] || fail "flow socket still open: $output"
}

@test "proxy: port conflicts in Docker's words, removal closes the listener" {
	proxy_target
	start_proxy "tcp:127.0.0.1:0:$TGT:8080" "udp:127.0.0.1:0:$TGT:8081"
	run -1 "$DNSCTL" proxy "tcp:127.0.0.1:${PORTS[0]}:$TGT:8080"
	expect_eq "$output" "dnsctl: listen tcp4 127.0.0.1:${PORTS[0]}: bind: address already in use"
	run -1 "$DNSCTL" proxy "udp:127.0.0.1:${PORTS[1]}:$TGT:8081"
	expect_eq "$output" "dnsctl: listen udp4 127.0.0.1:${PORTS[1]}: bind: address already in use"
	run -1 "$DNSCTL" proxy "sctp:127.0.0.1:0:$TGT:8081"
	expect_contains "$output" "sctp is not supported"
	# IPv6 listeners, reaching an IPv4 container; conflicts named as Go does ("[::1]:port")
	"$DNSCTL" proxy --ready "$T/ready6" "tcp:[::1]:0:$TGT:8080" >"$T/dnsctl6.log" 2>&1 3>&- &
	record_pid $!
	wait_for_file "$T/ready6"
	local p6
	p6=$(cat "$T/ready6")
	run -0 timeout 10 "$PY" -c "import socket
s=socket.create_connection(('::1',$p6));s.sendall(b'abc');s.shutdown(socket.SHUT_WR);print(s.recv(100).decode().strip())"
	expect_eq "$output" "got 3 bytes"
	run -1 "$DNSCTL" proxy "tcp:[::1]:$p6:$TGT:8080"
	expect_eq "$output" "dnsctl: listen tcp6 [::1]:$p6: bind: address already in use"
	# a connection open at removal is closed too
	exec 5<>"/dev/tcp/127.0.0.1/${PORTS[0]}"
	sleep 0.3 # accepted by the proxy
	kill -USR1 "$CTL_PID"
	wait_ready removed
	run ! timeout 5 bash -c "exec 6<>/dev/tcp/127.0.0.1/${PORTS[0]}"
	run -0 timeout 5 cat <&5
	exec 5<&-
	# the host port is free again
	run -0 ss -ltn "sport = :${PORTS[0]}"
	[[ $output != *"127.0.0.1:${PORTS[0]}"* ]] || fail "still listening: $output"
}
