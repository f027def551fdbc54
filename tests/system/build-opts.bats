#!/usr/bin/env bats
# tests/system/build-opts.bats — the builder's BuildKit-era options (issue 7):
# --secret with RUN --mount=type=secret (readable in RUN; absent from every
# layer, from history, from the final filesystem and from berthd's disk),
# -o / --output (type=local, type=tar, the short forms; Docker's errors),
# --no-cache-filter, and RUN's network (--network=default reaches a
# container on the same daemon's bridge by IP, none does not; nothing left
# behind: veth, netns file, address).
#
# berthd runs with a bridge of its own (unique name and 10.x/24 per run,
# --iptables=true) so RUN --network=default has somewhere to go; traffic
# stays between berth's own namespaces on that bridge. Where Docker can do
# the same (a private dockerd 20.10 with BuildKit through Debian's docker
# 20.10 client, DOCKER_BUILDKIT=1), the results are compared in the same run;
# that test skips when BuildKit cannot run there.

bats_require_minimum_version 1.5.0
load daemon-helpers
load dropin-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"
DOCKER_CLI=/usr/local/bin/docker
BK_CLI=/usr/bin/docker # Debian's 20.10 client: BuildKit built in

setup_file() {
	local t=$((BERTH_TEST_TOKEN % 40000))
	export BO_BR=bo$t
	export BO_A=$((200 + t % 50)) BO_B=$((t / 50 % 200))
	export BO_BIP=10.$BO_A.$BO_B.1/24
	if ! start_berthd --bridge "$BO_BR" --bip "$BO_BIP" --iptables=true || ! load_busybox; then
		teardown_berthd
		return 1
	fi
	SUT_HOST=unix://$BERTHD_SOCK
	unset DOCKER_HOST BERTH_HOST
	export SUT_HOST
}

bo_table() {
	nft list tables 2>/dev/null | awk '{print $3}' | grep '^berth_' | while read -r tb; do
		nft list table ip "$tb" 2>/dev/null | grep -q "\"$BO_BR\"" && echo "$tb"
	done
}

teardown_file() {
	local tb
	tb=$(bo_table)
	"$BERTH_CLI" -H "$SUT_HOST" rm -f $("$BERTH_CLI" -H "$SUT_HOST" ps -aq) >/dev/null 2>&1 || true
	teardown_berthd
	ip link del "$BO_BR" 2>/dev/null || true
	[ -n "$tb" ] && nft delete table ip "$tb" 2>/dev/null || true
	true
}

setup() {
	WORK=$(mktemp -d "$BATS_TEST_TMPDIR/ctx-XXXXXX")
	cd "$WORK"
}

# the reference dockerd lives for one test only (started in it, stopped here
# in the same process, whatever the test's outcome)
teardown() {
	[ -z "${DROPIN_DIR:-}" ] || dropin_ref_stop
}

b() { timeout -k 5 120 "$BERTH_CLI" -H "$SUT_HOST" "$@"; }

# every layer's entries and bytes of IMAGE, extracted under DIR
save_layers() {
	mkdir -p "$2"
	b save "$1" | tar -C "$2" -x
	local l i=0
	for l in $(jq -r '.[0].Layers[]' "$2/manifest.json"); do
		mkdir -p "$2/L$i" && tar -C "$2/L$i" -xf "$2/$l" && i=$((i + 1))
	done
}

@test "--secret: RUN reads it (file and env=); not in any layer, history, final fs, or berthd's disk" {
	local tok=token-$BATS_ROOT_PID
	# the secret's file lives outside the context (the context is kept)
	local tf=$BATS_TEST_TMPDIR/tok.txt
	printf '%s-file' "$tok" >"$tf"
	cat >Dockerfile <<'DF'
FROM busybox
RUN --mount=type=secret,id=tok echo "seen=$(cat /run/secrets/tok)" && ls -ln /run/secrets/tok
RUN --mount=type=secret,id=tok,target=/etc/app/key,mode=0440,uid=7,gid=8 ls -ln /etc/app/key && wc -c < /etc/app/key > /keylen
RUN --mount=type=secret,id=envtok,env=TOKV echo "env=$TOKV" && echo ok > /envok
RUN --mount=type=secret,id=absent ! test -e /run/secrets/absent
DF
	SECV="$tok-env" run b build --secret id=tok,src="$tf" --secret id=envtok,env=SECV -t sec:t .
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	[[ $output == *"seen=$tok-file"* ]] && [[ $output == *"env=$tok-env"* ]]
	[[ $output == *"-r--------    1 0        0"*"/run/secrets/tok"* ]]
	[[ $output == *"-r--r-----    1 7        8"*"/etc/app/key"* ]]
	# not in any layer (bytes or mount points), nor in the config and history
	save_layers sec:t "$WORK/save"
	! grep -r -a -l "$tok" "$WORK/save" || false
	[ -z "$(cd "$WORK/save" && find L[1-9]* -path '*/run*' -o -path '*/etc/app*')" ]
	[ "$(tr -d ' ' <"$WORK/save/L1/keylen")" = "$(wc -c <"$tf")" ]
	run -0 b history --no-trunc sec:t
	[[ $output != *"$tok"* ]]
	# the final filesystem (-o) has neither the secret nor its mount points
	SECV="$tok-env" run -0 b build -q --secret id=tok,src="$tf" --secret id=envtok,env=SECV -o "$WORK/fs" .
	[ -f "$WORK/fs/envok" ] && [ ! -e "$WORK/fs/run" ] && [ ! -e "$WORK/fs/etc/app" ]
	! grep -r -a -l "$tok" "$WORK/fs" || false
	# nothing of it on berthd's disk, no tmpfs left mounted
	! grep -r -a -l "$tok" "$BERTHD_DATA" "$BERTHD_EXEC" 2>/dev/null || false
	! grep -q "$BERTHD_DATA/builder" /proc/self/mountinfo || false
	[ -z "$(ls "$BERTHD_DATA/builder/tmp")" ]
	# the cache: a rebuild hits every step (the secret is in no key)
	SECV="$tok-env" run -0 b build --secret id=tok,src="$tf" --secret id=envtok,env=SECV -t sec:t .
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 4 ]
}

@test "--secret: buildx's sources and errors; a missing required secret names the step" {
	echo -n filesecret >mysec
	printf 'FROM busybox\nRUN --mount=type=secret,id=mysec cat /run/secrets/mysec\n' >Dockerfile
	# id alone: the env var of that name if set, else the file of that name
	run -0 b build --no-cache --secret id=mysec .
	[[ $output == *filesecret* ]]
	mysec=fromenv run -0 b build --no-cache --secret id=mysec .
	[[ $output == *fromenv* ]]
	V=typed run -0 b build --no-cache --secret type=env,id=mysec,src=V .
	[[ $output == *typed* ]]
	run -1 b build --secret src=mysec .
	[[ $output == *"secret missing ID"* ]]
	run -1 b build --secret id=x,foo=bar .
	[[ $output == *"unexpected key 'foo' in 'foo=bar'"* ]]
	run -1 b build --secret id=x,type=ssh .
	[[ $output == *'unsupported secret type "ssh"'* ]]
	run -1 b build --secret id=x,src=/nonexistent/f .
	[[ $output == *"failed to stat /nonexistent/f"* ]]
	head -c 600000 /dev/zero >big
	run -1 b build --secret id=big,src=big .
	[[ $output == *"secret big too big. max size 500KB"* ]]
	printf 'FROM busybox\nRUN true\nRUN --mount=type=secret,id=nope,required=true true\n' >Dockerfile
	run -1 b build .
	[[ $output == *"Dockerfile:3: failed to solve: secret nope not found: not found"* ]]
	[ -z "$(ls "$BERTHD_DATA/builder/tmp")" ]
}

@test "-o: type=local (and the short form DIR), type=tar to a file and to stdout; Docker's errors" {
	mkdir -p src/d && echo hello >src/d/a.txt && ln -s a.txt src/d/l && chmod 750 src/d
	cat >Dockerfile <<'DF'
FROM busybox AS build
RUN mkdir -p /out/bin && echo built > /out/bin/tool && chmod 755 /out/bin/tool
FROM scratch
COPY --from=build /out /
COPY src /src
DF
	run -0 b build -q -o type=local,dest="$WORK/l1" .
	run -0 b build -q -o "$WORK/l2" .
	run -0 b build -q -o type=tar,dest="$WORK/o.tar" .
	run -0 bash -c "'$BERTH_CLI' -H '$SUT_HOST' build -q -o - . > '$WORK/stdout.tar'"
	local want
	want=$'bin\nbin/tool\nsrc\nsrc/d\nsrc/d/a.txt\nsrc/d/l'
	[ "$(cd l1 && find . -mindepth 1 | sed 's|^\./||' | sort)" = "$want" ]
	[ "$(cd l2 && find . -mindepth 1 | sed 's|^\./||' | sort)" = "$want" ]
	[ "$(tar -tf o.tar | sed 's|/$||' | sort)" = "$want" ]
	[ "$(tar -tf stdout.tar | sed 's|/$||' | sort)" = "$want" ]
	[ "$(cat l1/bin/tool)" = built ] && [ "$(cat l1/src/d/a.txt)" = hello ]
	[ "$(readlink l1/src/d/l)" = a.txt ] && [ "$(stat -c %a l1/src/d)" = 750 ] && [ -x l1/bin/tool ]
	[ "$(tar -xOf o.tar bin/tool)" = built ]
	# the export leaves no container behind
	[ -z "$(b ps -aq)" ]
	run -1 b build -o type=local .
	[[ $output == *"dest is required for local output"* ]]
	run -1 b build -o dest=x .
	[[ $output == *"type is required for output"* ]]
	run -1 b build -o type=tar,dest="$WORK" .
	[[ $output == *"destination file $WORK is a directory"* ]]
	run -1 b build -o type=local,dest=a -o type=tar,dest=b .
	[[ $output == *"multiple outputs currently unsupported"* ]]
	run -1 b build -o type=oci,dest=x .
	[[ $output == *'output type "oci" is not supported'* ]]
}

@test "--no-cache-filter: the named stages miss the cache, the others hit it" {
	cat >Dockerfile <<'DF'
FROM busybox AS one
RUN echo one > /one
FROM busybox AS Two
RUN echo two > /two
FROM busybox
RUN echo final > /final
COPY --from=one /one /one
COPY --from=two /two /two
DF
	run -0 b build -t ncf:t .
	run -0 b build --no-cache-filter two -t ncf:t .
	# step 2 (one) and step 6 (final) hit; step 4 (Two) runs again
	[[ $output == *"Step 2/8 : RUN echo one > /one"$'\n'" ---> Using cache"* ]]
	[[ $output == *"Step 4/8 : RUN echo two > /two"$'\n'" ---> Running in"* ]]
	[[ $output == *"Step 6/8 : RUN echo final > /final"$'\n'" ---> Using cache"* ]]
	run -0 b build --no-cache-filter one,two -t ncf:t .
	[[ $output == *"Step 2/8 : RUN echo one > /one"$'\n'" ---> Running in"* ]]
	[[ $output == *"Step 6/8 : RUN echo final > /final"$'\n'" ---> Using cache"* ]]
}

@test "RUN network: default reaches a container on the bridge by IP, none does not; nothing left" {
	mkdir -p www && echo from-httpd >www/index.html
	run -0 b run -d --name web -v "$WORK/www:/www:ro" busybox httpd -f -p 8080 -h /www
	local ip
	ip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' web)
	[ -n "$ip" ]
	local links_before
	links_before=$(ip -o link show master "$BO_BR" | wc -l)
	# busybox nc, not wget: the fixture's wget needs a resolver it lacks
	cat >Dockerfile <<DF
FROM busybox
RUN printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $ip 8080
RUN --network=none ip -o link | wc -l > /links && ip -o link show lo | grep -q ',UP' && ! nc -w 3 $ip 8080 </dev/null
RUN --network=default printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $ip 8080 | grep -q from-httpd && echo again
DF
	run b build --no-cache -t netb:t .
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	[[ $output == *from-httpd* ]] && [[ $output == *again* ]]
	[ "$(b run --rm netb:t cat /links | tr -d ' ')" = 1 ]
	# --network none for the whole build: no RUN reaches it
	printf 'FROM busybox\nRUN nc -w 3 %s 8080 </dev/null\n' "$ip" >Dockerfile
	run b build --no-cache --network none .
	[ "$status" -ne 0 ]
	# nothing left: veths on the bridge, netns files, endpoints (addresses)
	[ "$(ip -o link show master "$BO_BR" | wc -l)" -eq "$links_before" ]
	[ "$(ls "$BERTHD_EXEC/netns" | wc -l)" -eq 1 ]
	run -0 b network inspect bridge -f '{{len .Containers}}'
	[ "$output" = 1 ]
	b rm -f web
}

@test "compared with Docker (BuildKit): a secret's mount, -o local's files" {
	local rc=0
	dropin_ref_start || rc=$?
	[ "$rc" -ne 1 ] || skip "no private dockerd here"
	[ "$rc" -eq 0 ]
	dk() { DOCKER_BUILDKIT=1 timeout -k 5 120 "$BK_CLI" -H "$REF_HOST" "$@"; }
	run dk build -q --network none - <<<$'FROM busybox\nRUN true'
	[ "$status" -eq 0 ] || skip "BuildKit does not run on the private dockerd: $output"
	echo -n s3 >s.txt
	mkdir -p src && echo x >src/f && ln -s f src/l
	cat >Dockerfile <<'DF'
FROM busybox AS b
RUN --mount=type=secret,id=s ls -ln /run/secrets/ | tail -n +2 | awk '{print $1, $3, $4, $5, $9}' > /ls && cat /run/secrets/s > /copy
FROM scratch
COPY --from=b /ls /copy /
COPY src /src
DF
	run -0 dk build --network none --secret id=s,src=s.txt -o "$WORK/ref" .
	run -0 b build --secret id=s,src=s.txt -o "$WORK/sut" .
	diff <(cd ref && find . | sort) <(cd sut && find . | sort)
	diff ref/ls sut/ls
	diff ref/copy sut/copy
	[ "$(readlink sut/src/l)" = "$(readlink ref/src/l)" ]
}
