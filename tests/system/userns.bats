#!/usr/bin/env bats
# tests/system/userns.bats — the daemon's --userns-remap (issue 6, Security)
# and copy-up at create (issue 6, Storage), each compared with a private real
# dockerd 20.10 started with the same --userns-remap in the same run: the ids
# a container sees (/proc/self/uid_map, gid_map, id), its root writing its
# rootfs, a named volume and a bind mount (owned by the mapped uid on the
# host), --userns=host, dockerd's refusals (--privileged, --net host, --pid
# host), `info`; the image's content copied into a new volume at create,
# before any start, and not again at start.
#
# The host: both daemons remap to the existing user `nobody` (nobody:nogroup),
# whose subordinate ranges (nobody:300000:65536) this file appends to
# /etc/subuid and /etc/subgid. The last test starts berthd with --userns-remap=default,
# which (as dockerd with `dockremap`) runs useradd for `berthremap` and
# usermod -v/-w for its ranges: /etc/passwd, group, shadow, gshadow, subuid
# and subgid change, and their "-" backups. All of them are saved in
# setup_file and put back (or removed, if they were not there) in
# teardown_file, whatever happened.

# shellcheck disable=SC2154,SC2034,SC2016 # bats' `run` results; same() reads ref_/sut_ vars; scripts for the container
load limits-helpers

REMAP_USER=nobody
REMAP=nobody:nogroup # dockerd 20.10 takes both files' ranges by the user
RANGE=300000
# with the backups useradd / usermod leave (passwd-, subuid-, ...)
ETC_FILES="subuid subgid passwd group shadow gshadow subuid- subgid- passwd- group- shadow- gshadow-"

etc_save() {
	local f
	mkdir -p "$BATS_FILE_TMPDIR/etc"
	for f in $ETC_FILES; do
		if [ -e "/etc/$f" ]; then
			cp -p "/etc/$f" "$BATS_FILE_TMPDIR/etc/$f"
		else
			: >"$BATS_FILE_TMPDIR/etc/$f.absent"
		fi
	done
	return 0
}

# put back each saved file whose content changed (same file, same mode), and
# remove the ones that did not exist
etc_restore() {
	local f
	for f in $ETC_FILES; do
		if [ -e "$BATS_FILE_TMPDIR/etc/$f.absent" ]; then
			rm -f "/etc/$f"
		elif [ -e "$BATS_FILE_TMPDIR/etc/$f" ]; then
			cmp -s "$BATS_FILE_TMPDIR/etc/$f" "/etc/$f" ||
				cat "$BATS_FILE_TMPDIR/etc/$f" >"/etc/$f"
			touch -r "$BATS_FILE_TMPDIR/etc/$f" "/etc/$f"
		fi
	done
	return 0
}

# a dockerd that takes --userns-remap, found first on PATH by
# dropin_start_dockerd; it also gives o+x to the parents of its data root
# (dockerd refuses a root the remapped root cannot reach)
ref_dockerd_wrapper() {
	mkdir -p "$BATS_FILE_TMPDIR/bin"
	cat >"$BATS_FILE_TMPDIR/bin/dockerd" <<EOF
#!/bin/sh
root= prev=
for a in "\$@"; do [ "\$prev" = --data-root ] && root=\$a; prev=\$a; done
d=\$(dirname "\$root")
while [ "\$d" != / ] && [ "\$d" != /tmp ]; do chmod o+x "\$d"; d=\$(dirname "\$d"); done
exec /usr/sbin/dockerd --userns-remap $REMAP "\$@"
EOF
	chmod +x "$BATS_FILE_TMPDIR/bin/dockerd"
	PATH=$BATS_FILE_TMPDIR/bin:$PATH
}

ref_start() {
	local rc=0 archive
	dropin_require || rc=$?
	[ "$rc" -eq 0 ] || return "$rc"
	dropin_init
	ref_dockerd_wrapper
	if ! dropin_start_containerd || ! dropin_start_dockerd; then
		dropin_teardown
		return 2
	fi
	archive=$(BERTH_BUSYBOX_REF=busybox:latest "$FIXTURES/busybox-image.sh" docker-archive | tail -n 1)
	if ! "$DOCKER_CLI" -H "$DOCKER_HOST" load -i "$archive" >/dev/null; then
		dropin_teardown
		return 2
	fi
	REF_HOST=$DOCKER_HOST
	unset DOCKER_HOST
	export REF_HOST
}

setup_file() {
	[ "$(id -u)" -eq 0 ] || {
		export DROPIN_SKIP="needs root"
		return 0
	}
	if ! getent passwd "$REMAP_USER" >/dev/null || ! getent group nogroup >/dev/null; then
		export DROPIN_SKIP="no user nobody or group nogroup on this host"
		return 0
	fi
	etc_save
	echo "$REMAP_USER:$RANGE:65536" >>/etc/subuid
	echo "$REMAP_USER:$RANGE:65536" >>/etc/subgid
	local rc=0
	ref_start || rc=$?
	if [ "$rc" -ne 0 ]; then
		etc_restore
		[ "$rc" -eq 1 ] && return 0
		return 1
	fi
	# a data root the remapped root can reach (bats' own temp dirs are 0700)
	BERTHD_DATA=$(mktemp -d /tmp/berth-un-XXXXXX)
	chmod 711 "$BERTHD_DATA"
	export BERTHD_DATA
	if ! start_berthd --userns-remap "$REMAP" || ! load_busybox; then
		teardown_berthd
		dropin_teardown
		etc_restore
		return 1
	fi
	SUT_HOST=unix://$BERTHD_SOCK
	HOSTDIR=$DROPIN_DIR/host
	mkdir -p "$HOSTDIR"
	chmod 711 "$HOSTDIR"
	unset DOCKER_HOST BERTH_HOST
	export REF_HOST SUT_HOST HOSTDIR
}

teardown_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	teardown_berthd
	dropin_teardown
	etc_restore
}

setup() { limits_setup; }

teardown() {
	[ -z "${DROPIN_SKIP:-}" ] || return 0
	limits_clean
	local v
	for v in uvol cuv; do
		R volume rm -f "$v" >/dev/null 2>&1 || true
		B volume rm -f "$v" >/dev/null 2>&1 || true
	done
}

# owner uid:gid of a host path
owner() { stat -c %u:%g "$1"; }

# the names in a directory, sorted, but mtab: dockerd's init layer puts one in
# /etc, berth has no counterpart of that layer
names() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -vx mtab | LC_ALL=C sort; }

@test "a remapped container: its ids, uid_map and gid_map; info shows the remapped root and name=userns" {
	inside -- 'id; cat /proc/self/uid_map /proc/self/gid_map'
	same
	expect "uid=0(root) gid=0(root)"
	expect "0     $RANGE      65536"
	# exec joins the same namespace
	R run -d --name ex1 busybox sleep 60
	B run -d --name ex1 busybox sleep 60
	both_cli exec -u 1000:1000 ex1 sh -c 'id; cat /proc/self/uid_map'
	same
	expect "uid=1000(berth) gid=1000(berth)"
	both_cli info -f '{{json .SecurityOptions}}'
	same
	expect '"name=userns"'
	run -0 R info -f '{{.DockerRootDir}}'
	[[ "$output" == */data/$RANGE.$RANGE ]]
	run -0 B info -f '{{.DockerRootDir}}'
	[ "$output" = "$BERTHD_DATA/$RANGE.$RANGE" ]
	[ "$(owner "$output")" = "$RANGE:$RANGE" ]
}

@test "root in the container writes its rootfs, a named volume and a bind mount; the host sees the mapped uid" {
	local script='echo x >/etc/new && mkdir /newdir && touch /data/f /b/f && ls -ln /data /b && stat -c "%u:%g %n" /etc/new /newdir /bin/sh /etc/passwd'
	run R run --rm -v uvol:/data -v "$HOSTDIR/ref:/b" busybox sh -c "$script"
	ref_status=$status ref_out=$output
	run B run --rm -v uvol:/data -v "$HOSTDIR/sut:/b" busybox sh -c "$script"
	sut_status=$status sut_out=$output
	scenario="rootfs, volume, bind"
	same
	expect "0:0 /etc/new"
	expect "0:0 /bin/sh"
	# on the host: the bind source -v made, and what root wrote in it
	[ "$(owner "$HOSTDIR/ref")" = "$RANGE:$RANGE" ]
	[ "$(owner "$HOSTDIR/sut")" = "$RANGE:$RANGE" ]
	[ "$(owner "$HOSTDIR/ref/f")" = "$RANGE:$RANGE" ]
	[ "$(owner "$HOSTDIR/sut/f")" = "$RANGE:$RANGE" ]
	local mp
	mp=$(R volume inspect -f '{{.Mountpoint}}' uvol)
	[ "$(owner "$mp/f")" = "$RANGE:$RANGE" ]
	mp=$(B volume inspect -f '{{.Mountpoint}}' uvol)
	[ "$(owner "$mp/f")" = "$RANGE:$RANGE" ]
	[[ "$mp" == "$BERTHD_DATA/$RANGE.$RANGE/"* ]]
}

@test "--userns=host: the host's ids; --privileged, --net host, --pid host refused without it" {
	inside --userns=host -- 'cat /proc/self/uid_map; id -u'
	same
	expect "4294967295"
	bad --privileged
	expect "privileged mode is incompatible with user namespaces"
	bad --net host
	expect "cannot share the host's network namespace when user namespaces are enabled"
	bad --pid host
	expect "cannot share the host PID namespace when user namespaces are enabled"
	inside --userns host --pid host -- 'test "$(ps -o pid | wc -l)" -gt 5 && echo host-pids'
	same
	expect host-pids
	inside --userns host --net host -- 'cat /proc/self/uid_map'
	same
}

@test "copy-up at create: the image's content is in a new volume before any start, and never copied at start" {
	both_cli create --name cu -v cuv:/etc busybox true
	same
	local rmp smp
	rmp=$(R volume inspect -f '{{.Mountpoint}}' cuv)
	smp=$(B volume inspect -f '{{.Mountpoint}}' cuv)
	# before any start: the image's /etc, with the remapped owners
	ref_out=$(names "$rmp") sut_out=$(names "$smp") ref_status=0 sut_status=0
	scenario="ls of the volume after create"
	same
	expect passwd
	[ "$(owner "$smp/passwd")" = "$(owner "$rmp/passwd")" ]
	[ "$(owner "$smp/passwd")" = "$RANGE:$RANGE" ]
	# emptied (from the host: inside, the network files are mounted over
	# the volume's /etc on both): starting cu does not fill it again
	find "$rmp" "$smp" -mindepth 1 -delete
	both_cli start -a cu
	same
	ref_out=$(ls -A "$rmp") sut_out=$(ls -A "$smp")
	scenario="ls of the volume after start"
	same
	# (only the runtime's mount points for the network files)
	[ "$(grep -cx passwd <<<"$sut_out")" -eq 0 ]
	# a container created on an empty volume copies again, as dockerd does
	find "$rmp" "$smp" -mindepth 1 -delete
	both_cli create --name cu2 -v cuv:/etc busybox true
	same
	ref_out=$(names "$rmp") sut_out=$(names "$smp")
	scenario="ls of the volume after a second create"
	same
	expect passwd
	# nocopy: nothing at create
	both_cli rm -f cu cu2
	both_cli volume rm -f cuv
	both_cli create --name cu3 -v cuv:/etc:nocopy busybox true
	same
	rmp=$(R volume inspect -f '{{.Mountpoint}}' cuv)
	smp=$(B volume inspect -f '{{.Mountpoint}}' cuv)
	[ -z "$(ls -A "$rmp")" ]
	[ -z "$(ls -A "$smp")" ]
}

@test "berthd restarted with the same remapping: a container made before starts remapped, its files kept" {
	B create --name keep busybox sh -c 'cat /proc/self/uid_map; cat /keep 2>/dev/null || echo none; echo kept >/keep'
	run -0 B start -a keep
	[[ "$output" == *"0     $RANGE      65536"* ]]
	[[ "$output" == *none* ]]
	stop_berthd
	start_berthd --userns-remap "$REMAP"
	run -0 B start -a keep
	[[ "$output" == *"0     $RANGE      65536"* ]]
	[[ "$output" == *kept* ]]
	# its upper layer holds the container's own ids: commit gives root-owned files
	run -0 B commit keep kept:1
	run -0 B run --rm kept:1 stat -c %u:%g /keep
	[ "$output" = "0:0" ]
	B rmi -f kept:1 >/dev/null
}

@test "--userns-remap=default: berthd makes berthremap and its ranges as dockerd makes dockremap" {
	getent passwd berthremap >/dev/null && skip "berthremap already exists on this host"
	# no other ranges may start at 100000 for the expected value below
	! grep -q ':1[0-9][0-9][0-9][0-9][0-9]:' "$BATS_FILE_TMPDIR/etc/subuid" || skip "the host has ranges near 100000"
	stop_berthd
	start_berthd --userns-remap default
	getent passwd berthremap
	getent group berthremap
	run -0 grep '^berthremap:' /etc/subuid
	[ "$output" = "berthremap:100000:65536" ]
	run -0 grep '^berthremap:' /etc/subgid
	[ "$output" = "berthremap:100000:65536" ]
	run -0 B info -f '{{.DockerRootDir}}'
	[ "$output" = "$BERTHD_DATA/100000.100000" ]
	load_busybox
	run -0 B run --rm busybox cat /proc/self/uid_map
	[[ "$output" == *"0     100000      65536"* ]]
	# a second start finds the user and its ranges: nothing added
	stop_berthd
	start_berthd --userns-remap default
	[ "$(grep -c '^berthremap:' /etc/subuid)" -eq 1 ]
	stop_berthd
	start_berthd --userns-remap "$REMAP"
}

@test "bad --userns-remap settings: dockerd's messages, berthd does not start" {
	stop_berthd
	local d
	d=$(mktemp -d /tmp/berth-un-bad-XXXXXX)
	for spec in a:b:c nosuchuser "$REMAP_USER:nosuchgroup" 99999; do
		run timeout 20 "$BERTHD" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" \
			--config-file "$BERTHD_CONFIG" -H "unix://$d/s.sock" --bridge none --iptables=false \
			--userns-remap "$spec"
		[ "$status" -ne 0 ]
		case $spec in
		a:b:c) [[ "$output" == *'Invalid user/group specification in --userns-remap: "a:b:c"'* ]] ;;
		nosuchuser) [[ "$output" == *'Error during uid lookup for "nosuchuser"'* ]] ;;
		*:nosuchgroup) [[ "$output" == *'Error during groupname lookup for "nosuchgroup"'* ]] ;;
		99999) [[ "$output" == *"Uid 99999 has no entry in /etc/passwd"* ]] ;;
		esac
	done
	rm -rf "$d"
	start_berthd --userns-remap "$REMAP"
	load_busybox
}
