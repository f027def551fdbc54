#!/usr/bin/env bats
# berth-runc root filesystem and mounts: bind (ro), tmpfs options, readonly
# root, maskedPaths, readonlyPaths, default devices and /dev symlinks,
# linux.devices, --no-pivot, and that no mount leaks to the host.

load helpers

@test "mounts: bind mount, read-only, of a host directory" {
	mkdir "$BATS_TEST_TMPDIR/data"
	echo from-host >"$BATS_TEST_TMPDIR/data/file"
	make_bundle sh -c 'cat /data/file; echo x > /data/new && echo WRITE-OK; grep " /data " /proc/mounts'
	update_config --arg s "$BATS_TEST_TMPDIR/data" \
		'.mounts += [{destination: "/data", type: "bind", source: $s, options: ["rbind", "ro"]}]'
	run runc_ run --bundle "$BUNDLE" c1
	show
	expect_contains "$output" from-host
	expect_match "$output" "Read-only file system"
	[[ $output != *WRITE-OK* ]] || fail "wrote through a read-only bind"
	expect_match "$output" " /data [^ ]+ ro[, ]"
	[ ! -e "$BATS_TEST_TMPDIR/data/new" ]
}

@test "mounts: read-write bind mount writes through to the host" {
	mkdir "$BATS_TEST_TMPDIR/data"
	make_bundle sh -c 'echo from-container > /data/out'
	update_config --arg s "$BATS_TEST_TMPDIR/data" \
		'.mounts += [{destination: "/data", type: "bind", source: $s, options: ["bind"]}]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	expect_eq "$(cat "$BATS_TEST_TMPDIR/data/out")" from-container
}

@test "mounts: bind mount of a single file, destination created" {
	echo file-content >"$BATS_TEST_TMPDIR/one"
	make_bundle cat /etc/deep/dir/one
	update_config --arg s "$BATS_TEST_TMPDIR/one" \
		'.mounts += [{destination: "/etc/deep/dir/one", type: "bind", source: $s, options: ["bind", "ro"]}]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	expect_eq "$output" file-content
}

@test "mounts: tmpfs with size, mode and nosuid,nodev,noexec" {
	make_bundle sh -c 'grep " /scratch " /proc/mounts; stat -c %a /scratch'
	update_config '.mounts += [{destination: "/scratch", type: "tmpfs", source: "tmpfs",
		options: ["nosuid", "nodev", "noexec", "size=1m", "mode=1770"]}]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "${lines[0]}" "^tmpfs /scratch tmpfs "
	expect_match "${lines[0]}" "size=1024k"
	expect_match "${lines[0]}" "nosuid"
	expect_match "${lines[0]}" "nodev"
	expect_match "${lines[0]}" "noexec"
	expect_eq "${lines[1]}" 1770 mode
}

@test "mounts: the size of a tmpfs is enforced" {
	make_bundle sh -c 'dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>&1; ls -s /scratch/big'
	update_config '.mounts += [{destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]'
	run runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "$output" "No space left on device"
}

@test "mounts: readonly root: writes fail, tmpfs and /dev still writable" {
	make_bundle sh -c 'touch /newfile || echo ROOT-RO; touch /dev/shm/x && echo SHM-RW; echo ok > /dev/null && echo DEV-OK'
	update_config '.root.readonly = true'
	run runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "$output" "Read-only file system"
	expect_contains "$output" ROOT-RO
	expect_contains "$output" SHM-RW
	expect_contains "$output" DEV-OK
	[ ! -e "$BUNDLE/rootfs/newfile" ]
}

@test "mounts: masked paths read empty" {
	# masked files and directories of the default config that this kernel has
	paths=()
	for p in /proc/kcore /proc/keys /proc/timer_list /proc/acpi /sys/firmware; do
		[ -e "$p" ] && paths+=("$p")
	done
	[ "${#paths[@]}" -gt 0 ] || skip "none of the masked paths exists here"
	make_bundle sh -c 'for p in "$@"; do if [ -d "$p" ]; then echo "$p $(ls -A "$p" | wc -l)"; else echo "$p $(wc -c < "$p")"; fi; done' sh "${paths[@]}"
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	for p in "${paths[@]}"; do
		expect_contains "$output" "$p 0"
	done
	# the host's are not empty
	[ "$(ls -A /sys/firmware | wc -l)" -gt 0 ] || [ "$(wc -c </proc/keys)" -gt 0 ]
}

@test "mounts: a masked directory reads empty; a masked path that does not exist is ignored" {
	make_bundle sh -c 'ls -A /opt/secret | wc -l'
	mkdir -p "$BUNDLE/rootfs/opt/secret"
	echo hidden >"$BUNDLE/rootfs/opt/secret/key"
	update_config '.linux.maskedPaths += ["/opt/secret", "/does/not/exist"]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "$output" 0 "entries in a masked directory"
}

@test "mounts: readonly paths cannot be written" {
	make_bundle sh -c 'echo 1 > /proc/sys/kernel/domainname && echo WRITE-OK; cat /proc/sys/kernel/ostype; touch /opt/ro/x && echo TOUCH-OK'
	mkdir -p "$BUNDLE/rootfs/opt/ro"
	update_config '.linux.readonlyPaths += ["/opt/ro"]'
	run runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "$output" "Read-only file system"
	expect_contains "$output" Linux
	[[ $output != *WRITE-OK* ]] || fail "wrote a readonly path"
	[[ $output != *TOUCH-OK* ]] || fail "wrote a readonly path"
}

@test "mounts: proc, sysfs (ro), devpts, mqueue, shm are mounted" {
	make_bundle sh -c 'cat /proc/mounts'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_match "$output" "^proc /proc proc "
	expect_match "$output" "^sysfs /sys sysfs ro[, ]"
	expect_match "$output" "^devpts /dev/pts devpts "
	expect_match "$output" "^mqueue /dev/mqueue mqueue "
	expect_match "$output" "^shm /dev/shm tmpfs "
	expect_match "$output" " /dev tmpfs "
}

@test "mounts: no container mount is visible on the host" {
	make_bundle sleep 1000
	run -0 runc_io run -d --bundle "$BUNDLE" c1
	record_pid "$(state_field c1 pid)"
	run -0 test_mounts
	[ -z "$output" ] || fail "container mounts on the host: $output"
}

@test "devices: default devices and /dev symlinks" {
	make_bundle sh -c 'for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo "$d $(stat -c "%t:%T %a" /dev/$d)"; done
		for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_contains "$output" "null 1:3 666"
	expect_contains "$output" "zero 1:5 666"
	expect_contains "$output" "full 1:7 666"
	expect_contains "$output" "random 1:8 666"
	expect_contains "$output" "urandom 1:9 666"
	expect_contains "$output" "tty 5:0 666"
	expect_contains "$output" "fd -> /proc/self/fd"
	expect_contains "$output" "stdin -> /proc/self/fd/0"
	expect_contains "$output" "stdout -> /proc/self/fd/1"
	expect_contains "$output" "stderr -> /proc/self/fd/2"
	expect_contains "$output" "ptmx -> pts/ptmx"
}

@test "devices: linux.devices creates the node with its mode and owner" {
	make_bundle sh -c 'stat -c "%F %t:%T %a %u:%g" /dev/fuse; ls -la /dev/fuse'
	update_config '.linux.devices = [{path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 1000, gid: 1000}]
		| .linux.resources.devices += [{allow: true, type: "c", major: 10, minor: 229, access: "rwm"}]'
	run -0 runc_ run --bundle "$BUNDLE" c1
	show
	expect_eq "${lines[0]}" "character special file a:e5 666 1000:1000" "/dev/fuse"
}

@test "mounts: --no-pivot (chroot) runs the container too" {
	make_bundle sh -c 'cat /etc/hostname; ls /'
	run -0 runc_ run --no-pivot --bundle "$BUNDLE" c1
	show
	expect_eq "${lines[0]}" berth-fixture
}

@test "mounts: rootfsPropagation private and a relative root.path" {
	make_bundle cat /etc/hostname
	mv "$BUNDLE/rootfs" "$BUNDLE/myroot"
	update_config '.root.path = "myroot" | .linux.rootfsPropagation = "private"'
	run -0 runc_ run --bundle "$BUNDLE" c1
	expect_eq "$output" berth-fixture
}
