#!/usr/bin/env bats
# tests/system/volumes.bats — volumes and mounts (issue 6, Storage): the
# volume commands, -v / --mount / --tmpfs / --volumes-from / --read-only seen
# from inside the container, data surviving the container, copy-up, anonymous
# volumes going with rm -v / --rm, volumes in system df, the local driver's
# options, and bad input refused with nothing created.
#
# The last tests run the same commands against a private real dockerd 20.10
# (dropin-helpers.bash, as compat.bats) in the same run and compare: the
# inspect Mounts shape, the volume inspect shape, ls / prune output and the
# error texts.  Paths under each daemon's data root and IDs are normalised.

bats_require_minimum_version 1.5.0
load daemon-helpers
load dropin-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"
DOCKER_CLI=/usr/local/bin/docker

setup_file() {
	local rc=0
	dropin_ref_start || rc=$?
	[ "$rc" -ne 1 ] || return 0 # not root: every test skips
	[ "$rc" -eq 0 ] || return 1
	REF_ROOT=$DROPIN_DIR/docker/data
	if ! start_berthd || ! load_busybox; then
		teardown_berthd
		dropin_ref_stop
		return 1
	fi
	SUT_HOST=unix://$BERTHD_SOCK
	SUT_ROOT=$BERTHD_DATA
	HOSTDIR=$DROPIN_DIR/host
	mkdir -p "$HOSTDIR"
	unset DOCKER_HOST BERTH_HOST
	export REF_HOST REF_ROOT SUT_HOST SUT_ROOT HOSTDIR
}

teardown_file() {
	teardown_berthd
	dropin_ref_stop
}

setup() {
	dropin_setup_test
}

teardown() {
	[ -z "${DROPIN_SKIP:-}" ] || return 0
	clean_daemons
}

# clean_daemons — remove every container, then every volume, of both daemons.
clean_daemons() {
	local h ids
	for h in "$REF_HOST" "$SUT_HOST"; do
		ids=$("$DOCKER_CLI" -H "$h" ps -aq 2>/dev/null) || continue
		# shellcheck disable=SC2086 # one word per id
		[ -z "$ids" ] || "$DOCKER_CLI" -H "$h" rm -f $ids >/dev/null 2>&1 || true
		ids=$("$DOCKER_CLI" -H "$h" volume ls -q 2>/dev/null) || continue
		# shellcheck disable=SC2086
		[ -z "$ids" ] || "$DOCKER_CLI" -H "$h" volume rm -f $ids >/dev/null 2>&1 || true
	done
}

# b ARGS... — the berth CLI against berthd
b() {
	timeout -k 5 60 "$BERTH_CLI" -H "$SUT_HOST" "$@"
}

# both CLIENT SNIPPET — the snippet once per daemon with `D` the client
# (berth | docker) on that daemon; ref_out / sut_out normalised.
both() {
	local client=$1 snippet=$2 bin
	case "$client" in
	berth) bin=$BERTH_CLI ;;
	docker) bin=$DOCKER_CLI ;;
	*) return 1 ;;
	esac
	local pre='D() { timeout -k 5 60 "$BIN" -H "$HOST" "$@"; };'
	clean_daemons
	run env BIN="$bin" HOST="$REF_HOST" H="$HOSTDIR" bash -c "$pre $snippet"
	ref_status=$status ref_out=$(printf '%s' "$output" | normalize "$REF_ROOT")
	run env BIN="$bin" HOST="$SUT_HOST" H="$HOSTDIR" bash -c "$pre $snippet"
	sut_status=$status sut_out=$(printf '%s' "$output" | normalize "$SUT_ROOT")
	clean_daemons
	scenario="$client: $snippet"
}

# normalize ROOT — the data root, IDs, dates and the program's name differ by nature
normalize() {
	sed -E -e "s#$1#<ROOT>#g" -e 's/[0-9a-f]{64}/<ID>/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
		-e 's/"CreatedAt": ?"[^"]*"/"CreatedAt":"<T>"/g' -e 's/berth daemon/Docker daemon/g' \
		-e "s/'berth /'docker /g" -e 's/Usage:  berth /Usage:  docker /g'
}

same() {
	if [ "$ref_status" != "$sut_status" ] || [ "$ref_out" != "$sut_out" ]; then
		{
			echo "DIFFERENCE in [$scenario]"
			echo "status: dockerd $ref_status, berthd $sut_status; output (--- dockerd, +++ berthd):"
			diff -u <(echo "$ref_out") <(echo "$sut_out") | tail -n +3
		} >&2
		return 1
	fi
}

# ------------------------------------------------------------ berthd alone ----

@test "volume create / ls / inspect / rm with labels, options, filters and formats" {
	run b volume create --label a=1 --label b data1
	[ "$status" -eq 0 ] && [ "$output" = data1 ]
	b volume create data2 >/dev/null
	run b volume create
	[ "$status" -eq 0 ] && [[ "$output" =~ ^[0-9a-f]{64}$ ]]
	anon=$output
	run b volume inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels.a}} {{.Mountpoint}}' data1
	[ "$output" = "data1 local local 1 $SUT_ROOT/volumes/data1/_data" ]
	[ -d "$SUT_ROOT/volumes/data1/_data" ]
	run b volume ls --format '{{.Name}}' -f label=a=1
	[ "$output" = data1 ]
	run b volume ls -q -f name=data
	[ "$output" = "$(printf 'data1\ndata2')" ]
	run b volume ls -q -f dangling=true
	[ "${#lines[@]}" -eq 3 ]
	run b volume ls -q -f driver=local -f label=b
	[ "$output" = data1 ]
	run b volume ls
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[[ "$output" == *"local     $anon"* ]]
	[[ "$output" == *"local     data1"* ]]
	run b volume ls --format '{{.Name}}: {{.Labels}}' -f name=data1
	[ "$output" = "data1: a=1,b=" ]
	run b volume rm data1 data2 "$anon"
	[ "$status" -eq 0 ] && [ "$output" = "$(printf 'data1\ndata2\n%s' "$anon")" ]
	[ ! -e "$SUT_ROOT/volumes/data1" ]
	run b volume rm -f nothere
	[ "$status" -eq 0 ]
}

@test "files in a named volume survive the container; a used volume cannot be removed" {
	b run --name w1 -v keep:/data busybox sh -c 'echo hello >/data/f'
	run b volume rm keep
	[ "$status" -eq 1 ]
	id=$(b inspect -f '{{.Id}}' w1)
	[ "$output" = "Error response from daemon: remove keep: volume is in use - [$id]" ]
	b rm w1
	run b run --rm -v keep:/again busybox cat /again/f
	[ "$output" = hello ]
	[ "$(cat "$SUT_ROOT/volumes/keep/_data/f")" = hello ]
}

@test "copy-up fills a new volume from the image; nocopy and volume-nocopy do not" {
	run b run --rm -v up:/etc busybox cat /etc/passwd
	[ "$status" -eq 0 ] && [[ "$output" == root:* ]]
	[ -s "$SUT_ROOT/volumes/up/_data/passwd" ]
	# ownership and mode of the mount point's directory come along
	[ "$(stat -c %a "$SUT_ROOT/volumes/up/_data")" = "$(b run --rm busybox stat -c %a /etc)" ]
	# (only the network files, mounted over the volume as dockerd does)
	run b run --rm -v no1:/etc:nocopy busybox ls -A /etc
	[ "$output" = "$(printf 'hostname\nhosts\nresolv.conf')" ]
	run b run --rm --mount type=volume,src=no2,dst=/etc,volume-nocopy busybox ls -A /etc
	[ "$output" = "$(printf 'hostname\nhosts\nresolv.conf')" ]
	# not empty any more: no second copy
	b run --rm -v up:/etc busybox sh -c 'rm /etc/passwd; echo mine >/etc/own'
	run b run --rm -v up:/etc busybox ls /etc/passwd
	[ "$status" -ne 0 ]
}

@test "anonymous volumes: -v /path and Config.Volumes; rm -v and --rm remove them, named ones stay" {
	b create --name an1 -v /anon -v named1:/named busybox true >/dev/null
	anon=$(b inspect -f '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}' an1)
	[[ "$anon" =~ ^[0-9a-f]{64}$ ]]
	run b volume inspect -f '{{json .Labels}}' "$anon"
	[ "$output" = '{"com.docker.volume.anonymous":""}' ]
	b rm -v an1 >/dev/null
	run b volume ls -q
	[ "$output" = named1 ]
	# --rm: the same
	b run --rm -v /anon2 -v named1:/named busybox true
	run b volume ls -q
	[ "$output" = named1 ]
	# without -v the anonymous volume stays
	b create --name an2 -v /anon3 busybox true >/dev/null
	b rm an2 >/dev/null
	run b volume ls -q
	[ "${#lines[@]}" -eq 2 ]
	# the API's Config.Volumes (what an image's VOLUME becomes)
	id=$(api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Cmd":["true"],"Volumes":{"/img":{}}}' | jq -r .Id)
	run b inspect -f '{{range .Mounts}}{{.Type}} {{.Destination}} {{.Mode}} {{.RW}}{{end}}' "$id"
	[ "$output" = "volume /img  true" ]
}

@test "--mount bind: readonly, bind-propagation, bind-nonrecursive; -v binds: ro and propagation" {
	mkdir -p "$HOSTDIR/m1"
	echo hostfile >"$HOSTDIR/m1/f"
	run b run --rm --mount type=bind,src="$HOSTDIR/m1",dst=/m,readonly busybox sh -c 'cat /m/f; touch /m/x'
	[ "${lines[0]}" = hostfile ]
	[[ "$output" == *"Read-only file system"* ]]
	run b run --rm --mount type=bind,src="$HOSTDIR/m1",dst=/m,bind-propagation=rshared busybox \
		sh -c 'grep " /m " /proc/self/mountinfo'
	[[ "$output" == *shared:* ]]
	run b run --rm -v "$HOSTDIR/m1:/m:ro,rslave" busybox sh -c 'grep " /m " /proc/self/mountinfo; touch /m/z'
	[[ "${lines[0]}" == *" ro,"* || "${lines[0]}" == *" ro "* ]]
	[[ "$output" == *"Read-only file system"* ]]
	run b run --rm --mount type=bind,src="$HOSTDIR/m1",dst=/m,bind-nonrecursive busybox cat /m/f
	[ "$output" = hostfile ]
	run b run --rm -v "$HOSTDIR/m1:/m" busybox sh -c 'echo fromctr >/m/g'
	[ "$(cat "$HOSTDIR/m1/g")" = fromctr ]
}

@test "--mount tmpfs with tmpfs-size and tmpfs-mode, --tmpfs, --read-only root with writable volumes" {
	run b run --rm --mount type=tmpfs,dst=/t,tmpfs-size=2m,tmpfs-mode=1770 busybox \
		sh -c 'grep " /t " /proc/self/mountinfo; stat -c %a /t'
	[[ "$output" == *size=2048k* ]]
	[ "${lines[1]}" = 1770 ]
	run b run --rm --tmpfs /tt:size=1m busybox sh -c 'grep " /tt " /proc/self/mountinfo'
	[[ "$output" == *size=1024k* ]]
	run b run --rm --read-only -v rw1:/data --tmpfs /scratch --mount type=tmpfs,dst=/t2 busybox \
		sh -c 'touch /data/a && touch /scratch/b && touch /t2/c && echo writable; touch /nope'
	[ "${lines[0]}" = writable ]
	[[ "$output" == *"Read-only file system"* ]]
	run b run --rm -v rw1:/data:ro busybox touch /data/z
	[[ "$output" == *"Read-only file system"* ]]
}

@test "--volumes-from copies every mount, :ro makes them read-only" {
	mkdir -p "$HOSTDIR/vf"
	b create --name vsrc -v vfvol:/shared -v "$HOSTDIR/vf:/h" busybox true >/dev/null
	b run --rm --volumes-from vsrc busybox sh -c 'echo x >/shared/f; echo y >/h/g'
	[ "$(cat "$SUT_ROOT/volumes/vfvol/_data/f")" = x ] && [ "$(cat "$HOSTDIR/vf/g")" = y ]
	run b run --rm --volumes-from vsrc:ro busybox sh -c 'cat /shared/f; touch /shared/n'
	[ "${lines[0]}" = x ]
	[[ "$output" == *"Read-only file system"* ]]
	run b create --volumes-from nope busybox true
	[ "$status" -eq 1 ] # a daemon error: docker create exits 1 (run: 125)
	[[ "$output" == *"No such container: nope"* ]]
}

@test "volume-subpath mounts a directory of the volume" {
	b run --rm -v sp:/v busybox sh -c 'mkdir -p /v/sub/dir && echo deep >/v/sub/dir/f'
	run b run --rm --mount type=volume,src=sp,dst=/s,volume-subpath=sub/dir busybox cat /s/f
	[ "$output" = deep ]
	run b run --rm --mount type=volume,src=sp,dst=/s,volume-subpath=missing busybox true
	[ "$status" -ne 0 ]
	# a symlink in the volume does not lead out of it
	b run --rm -v sp:/v busybox ln -s /etc /v/out
	run b run --rm --mount type=volume,src=sp,dst=/s,volume-subpath=out busybox ls /s
	[ "$status" -ne 0 ]
	[[ "$output" == *"subpath of volume sp"* ]]
}

@test "local driver options: tmpfs with size, bind with o=bind; mounted while used" {
	b volume create -o type=tmpfs -o device=tmpfs -o o=size=3m,mode=1777 tv >/dev/null
	run b run --rm -v tv:/x busybox sh -c 'grep " /x " /proc/self/mountinfo; echo a >/x/a; ls /x'
	[[ "$output" == *"tmpfs"*"size=3072k"* ]]
	[ "${lines[1]}" = a ]
	# unmounted after the last user: the tmpfs content is gone
	! grep -q "$SUT_ROOT/volumes/tv/_data" /proc/self/mountinfo
	run b run --rm -v tv:/x busybox ls /x
	[ "$output" = "" ]
	mkdir -p "$HOSTDIR/bv"
	echo inhost >"$HOSTDIR/bv/f"
	b volume create -o type=none -o device="$HOSTDIR/bv" -o o=bind bv >/dev/null
	run b run --rm -v bv:/y busybox cat /y/f
	[ "$output" = inhost ]
	run b volume create -o foo=bar bad1
	[ "$status" -eq 1 ]
	[ "$output" = 'Error response from daemon: create bad1: invalid option: "foo"' ]
}

@test "volumes in system df and prune (API 1.41: every unused volume)" {
	b volume create --label p=1 pr1 >/dev/null
	b volume create pr2 >/dev/null
	b run --name dfc -v dfv:/d busybox sh -c 'head -c 5000 /dev/zero >/d/f'
	run api GET /system/df
	[ "$(echo "$output" | jq -r '.Volumes[] | select(.Name=="dfv") | "\(.UsageData.Size) \(.UsageData.RefCount)"')" = "5000 1" ]
	[ "$(echo "$output" | jq -r '.Volumes[] | select(.Name=="pr1") | .UsageData.RefCount')" = 0 ]
	run b system df
	[[ "$output" == *"Local Volumes   3         1"* ]]
	run b volume prune -f --filter label=p=1
	[ "$output" = "$(printf 'Deleted Volumes:\npr1\n\nTotal reclaimed space: 0B')" ]
	run b volume prune -f
	[ "${lines[1]}" = pr2 ]
	run b volume ls -q
	[ "$output" = dfv ]
}

@test "bad input: docker's errors, nothing created" {
	run b run --rm -v a/b:/x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'create a/b: "a/b" includes invalid characters for a local volume name'* ]]
	run b volume create a/b
	[ "$status" -eq 1 ]
	run b create --mount type=bind,src=/nonexistent-berth,dst=/x busybox true
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid mount config for type "bind": bind source path does not exist: /nonexistent-berth'* ]]
	run b create --mount foo=bar,dst=/x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == 'invalid argument "foo=bar,dst=/x" for "--mount" flag: unexpected key '"'foo'"" in 'foo=bar'"* ]]
	run b create -v vv:rel busybox true
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid mount path: 'rel' mount path must be absolute"* ]]
	run b create -v vv:/d -v "$HOSTDIR:/d" busybox true
	[[ "$output" == *"Duplicate mount point: /d"* ]]
	run b ps -aq
	[ "$output" = "" ]
	run b volume ls -q
	[ "$output" = "" ]
	# -v creates a missing host directory (--mount refused it above)
	rm -rf "$HOSTDIR/made"
	b run --rm -v "$HOSTDIR/made:/m" busybox true
	[ -d "$HOSTDIR/made" ]
}

# ------------------------------------------------- against a real dockerd ----

@test "compare: inspect Mounts shape for -v, --mount, --tmpfs, --volumes-from" {
	mkdir -p "$HOSTDIR/cmp"
	local s='D create --name c1 -v vy:/data -v /data2 -v $H/cmp:/h:ro -v vz:/d2:ro,nocopy \
		--mount type=volume,dst=/m --mount type=tmpfs,dst=/t --mount type=bind,src=$H/cmp,dst=/b \
		--mount type=bind,src=/etc,dst=/b3,bind-propagation=rslave,readonly \
		--mount type=volume,src=vq,dst=/vq,volume-label=a=b,volume-nocopy --tmpfs /tt busybox true >/dev/null;
		D inspect -f "{{json .Mounts}}" c1 | jq -S "sort_by(.Destination)"; D rm c1 >/dev/null;
		D create --name c1 -v vy:/data -v /data2 -v $H/cmp:/h:ro --mount type=bind,src=/etc,dst=/b3,readonly \
		--mount type=volume,src=vq,dst=/vq busybox true >/dev/null;
		D create --name c2 --volumes-from c1:ro busybox true >/dev/null;
		D inspect -f "{{json .Mounts}}" c2 | jq -S "sort_by(.Destination)";
		D volume inspect vq | jq -S .'
	for cl in berth docker; do
		both "$cl" "$s"
		same
	done
}

@test "compare: volume commands' output, shapes and errors" {
	local s='D volume create --label k=v -o type=tmpfs -o device=tmpfs -o o=size=10m vx; D volume create vy;
		D volume create vy -o foo=1; D volume create vz -o foo=1; echo "rc=$?"; D volume create a/b; echo "rc=$?";
		D volume inspect vx vy | jq -S .; D volume inspect nope; echo "rc=$?"; D volume rm nope; echo "rc=$?";
		D volume ls; D volume ls -q -f label=k; D volume ls --format "{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}}";
		D run --name u1 -v vy:/d busybox true; D volume rm vy; echo "rc=$?"; D volume ls -q -f dangling=true;
		D volume ls -f bogus=1; echo "rc=$?";
		D volume prune -f --filter label=k; D rm u1 >/dev/null; D volume prune -f; D volume ls -q'
	for cl in berth docker; do
		both "$cl" "$s"
		same
	done
}

@test "compare: create-time mount errors" {
	local s='D create -v vy:rel busybox true; echo "rc=$?"; D create -v vy:/ busybox true; echo "rc=$?";
		D create -v vy:/d:xyz busybox true; echo "rc=$?";
		D create --mount type=bind,src=/nonexistent-berth,dst=/x busybox true; echo "rc=$?";
		D create --mount type=tmpfs,src=/x,dst=/x busybox true; echo "rc=$?";
		D create --mount type=volume,src=a/b,dst=/x busybox true; echo "rc=$?";
		D create --mount type=bind,dst=/x busybox true; echo "rc=$?";
		D create -v /x:/x -v vy:/x busybox true; echo "rc=$?";
		D create --volumes-from nope busybox true; echo "rc=$?"; D ps -aq; D volume ls -q'
	for cl in berth docker; do
		both "$cl" "$s"
		same
	done
	# the CLI's own --mount checks (berth CLI against the docker CLI)
	local m='D create --mount type=bind,source=/tmp busybox true 2>&1 | head -1;
		D create --mount foo=bar,dst=/x busybox true 2>&1 | head -1;
		D create --mount type=bind,src=/tmp,dst=/x,volume-nocopy busybox true 2>&1 | head -1;
		D create --mount type=volume,dst=/x,readonly=maybe busybox true 2>&1 | head -1;
		D create --mount type=volume,dst=/x,tmpfs-size=1m busybox true 2>&1 | head -1'
	both docker "$m"
	local ref=$ref_out
	both berth "$m"
	[ "$ref" = "$sut_out" ] || {
		diff -u <(echo "$ref") <(echo "$sut_out") >&2
		false
	}
}
