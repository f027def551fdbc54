#!/usr/bin/env bats
# tests/system/cli.bats — the berth CLI end to end, against a daemon that
# speaks the Engine API:
#   BERTH_CLI_BACKEND=berthd   a private berthd (daemon-helpers.bash)
#   BERTH_CLI_BACKEND=dockerd  a private real dockerd 20.10 (the reference;
#                              the default until berthd serves containers)
# The dockerd gets its own data/exec roots, socket, pidfile, containerd and
# cgroup parent, no bridge and no iptables, and is stopped by PID.
# Where the docker CLI is installed, some outputs are compared with it.

bats_require_minimum_version 1.5.0
load daemon-helpers

: "${BERTH_CLI:=$BERTH_BUILD/src/cli/berth}"
: "${BERTH_CLI_BACKEND:=dockerd}"
DOCKER_CLI=/usr/local/bin/docker

start_dockerd() {
	DOCKERD_DIR=$(mktemp -d /tmp/bc-XXXXXX)
	mkdir -p "$DOCKERD_DIR/data" "$DOCKERD_DIR/exec"
	/usr/sbin/dockerd --data-root "$DOCKERD_DIR/data" --exec-root "$DOCKERD_DIR/exec" \
		-H "unix://$DOCKERD_DIR/d.sock" --pidfile "$DOCKERD_DIR/d.pid" \
		--bridge none --iptables=false --ip6tables=false \
		--cgroup-parent "/berth-test-$BERTH_TEST_TOKEN-cli" \
		>"$DOCKERD_DIR/log" 2>&1 &
	echo $! >"$DOCKERD_DIR/pid"
	export DOCKER_HOST=unix://$DOCKERD_DIR/d.sock BERTH_HOST=unix://$DOCKERD_DIR/d.sock
	for _ in $(seq 100); do
		[ -S "$DOCKERD_DIR/d.sock" ] && "$BERTH_CLI" version >/dev/null 2>&1 && break
		sleep 0.2
	done
	# the busybox image: a rootfs of Debian's busybox-static, imported
	local root=$DOCKERD_DIR/rootfs
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
	cp /bin/busybox "$root/bin/"
	for a in sh ls cat echo sleep true false env id ps hostname; do ln -sf busybox "$root/bin/$a"; done
	tar -C "$root" -c . | "$DOCKER_CLI" import -c 'CMD ["sh"]' - busybox:latest >/dev/null
}

stop_dockerd() {
	[ -n "${DOCKERD_DIR:-}" ] || return 0
	local pid
	pid=$(cat "$DOCKERD_DIR/pid" 2>/dev/null) || true
	if [ -n "$pid" ]; then
		"$BERTH_CLI" rm -f $("$BERTH_CLI" ps -aq) >/dev/null 2>&1 || true
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	fi
	rm -rf "$DOCKERD_DIR"
	# dockerd made its cgroup parent in every hierarchy (v1 controllers and
	# the unified one on hybrid hosts): remove them all, children first
	local cg
	for cg in /sys/fs/cgroup/berth-test-"$BERTH_TEST_TOKEN"-cli /sys/fs/cgroup/*/berth-test-"$BERTH_TEST_TOKEN"-cli; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "$cg" 2>/dev/null || true
	done
}

setup_file() {
	if [ "$BERTH_CLI_BACKEND" = berthd ]; then
		start_berthd
		load_busybox
	else
		start_dockerd
	fi
}

teardown_file() {
	if [ "$BERTH_CLI_BACKEND" = berthd ]; then
		teardown_berthd
	else
		stop_dockerd
	fi
}

b() { "$BERTH_CLI" "$@"; }

@test "cli: version and info talk to the daemon" {
	run b version
	[ "$status" -eq 0 ]
	[[ "$output" == *"Client:"* ]]
	[[ "$output" == *"Server:"* ]]
	[[ "$output" == *"API version:"* ]]
	run b info --format '{{.OSType}}'
	[ "$status" -eq 0 ]
	[ "$output" = linux ]
}

@test "cli: run prints output and exits with the container's status" {
	run b run --rm busybox sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *out* ]]
	[[ "$output" == *err* ]]
	run --separate-stderr b run --rm busybox sh -c 'echo err >&2'
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	[ "$stderr" = err ]
}

@test "cli: run -i passes stdin through" {
	run bash -c "echo hello | '$BERTH_CLI' run --rm -i busybox cat"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
}

@test "cli: run exit codes 125, 126, 127 as docker" {
	run -127 b run --rm busybox nosuchcmd
	[ "$status" -eq 127 ]
	[[ "$output" == "berth: Error response from daemon:"* ]]
	run -126 b run --rm busybox /etc
	[ "$status" -eq 126 ]
	run b run --bogus busybox
	[ "$status" -eq 125 ]
	[[ "${lines[0]}" == "unknown flag: --bogus" ]]
	[[ "$output" == *"Run 'berth run --help' for more information"* ]]
	run b run --rm nosuchimage
	[ "$status" -eq 125 ]
	[[ "$output" == *"Unable to find image 'nosuchimage:latest' locally"* ]]
}

@test "cli: run -d, ps, inspect, logs, stop, rm" {
	run b run -d --name clitest1 -l app=web -e FOO=bar busybox sh -c 'echo started; echo $FOO; sleep 100'
	[ "$status" -eq 0 ]
	id=$output
	[ ${#id} -eq 64 ]
	run b ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "CONTAINER ID   IMAGE     COMMAND                  CREATED"* ]]
	[[ "$output" == *"${id:0:12}   busybox   \"sh -c 'echo started…\""* ]]
	[[ "$output" == *clitest1* ]]
	run b ps -q --no-trunc
	[[ "$output" == *"$id"* ]]
	run b ps --format '{{.Names}} {{.Label "app"}} {{.State}}'
	[[ "$output" == *"clitest1 web running"* ]]
	run b inspect -f '{{.Name}} {{.State.Running}}' clitest1
	[ "$output" = "/clitest1 true" ]
	run b inspect clitest1
	[ "${lines[0]}" = "[" ]
	[ "${lines[1]}" = "    {" ]
	sleep 1
	run b logs clitest1
	[ "$output" = "started
bar" ]
	run b logs --tail 1 clitest1
	[ "$output" = bar ]
	run b stop -t 1 clitest1
	[ "$status" -eq 0 ]
	[ "$output" = clitest1 ]
	run b wait clitest1
	[ "$output" = 137 ] || [ "$output" = 143 ]
	run b rm clitest1
	[ "$output" = clitest1 ]
}

@test "cli: errors name the object, exit 1" {
	run b rm nosuch1 nosuch2
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "Error response from daemon: No such container: nosuch1" ]
	[ "${lines[1]}" = "Error response from daemon: No such container: nosuch2" ]
	run b inspect nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"Error: No such object: nosuch"* ]]
	run b frobnicate
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown command: berth frobnicate"* ]]
	run b rm
	[ "$status" -eq 1 ]
	[[ "$output" == *"'berth rm' requires at least 1 argument"* ]]
}

@test "cli: exec runs in the container with its exit code" {
	b run -d --name cliexec busybox sleep 100
	run b exec cliexec sh -c 'echo in-exec; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = in-exec ]
	run bash -c "echo abc | '$BERTH_CLI' exec -i cliexec cat"
	[ "$output" = abc ]
	run b exec -e X=1 -w /tmp cliexec sh -c 'echo $X $(pwd)'
	[ "$output" = "1 /tmp" ]
	run b top cliexec
	[[ "${lines[0]}" == UID* ]]
	b rm -f cliexec
}

@test "cli: container / image / system aliases" {
	run b container ls -a --format '{{.Names}}'
	[ "$status" -eq 0 ]
	run b image ls --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *busybox:latest* ]]
	run b system df
	[ "${lines[0]%% *}" = TYPE ]
	run b container inspect nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such container: nosuch"* ]]
}

@test "cli: images, tag, rmi, history, save and load" {
	run b images
	[[ "${lines[0]}" == "REPOSITORY   TAG       IMAGE ID       CREATED"* ]]
	b tag busybox clitest/bb:v1
	run b images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *clitest/bb:v1* ]]
	run b history busybox
	[[ "${lines[0]}" == "IMAGE"* ]]
	b save -o "$BATS_TEST_TMPDIR/bb.tar" clitest/bb:v1
	[ -s "$BATS_TEST_TMPDIR/bb.tar" ]
	run b rmi clitest/bb:v1
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: clitest/bb:v1" ]
	run b load -i "$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: clitest/bb:v1"* ]]
	b rmi clitest/bb:v1
}

@test "cli: create, start -a, rename, --rm with wait" {
	run b create --name clicreate busybox echo created-output
	[ "$status" -eq 0 ]
	run b rename clicreate clicreate2
	[ "$status" -eq 0 ]
	run b start -a clicreate2
	[ "$status" -eq 0 ]
	[ "$output" = created-output ]
	b rm clicreate2
	run b run --rm --name clirm busybox true
	run b inspect clirm
	[ "$status" -eq 1 ]
}

@test "cli: output matches the docker CLI" {
	[ -x "$DOCKER_CLI" ] || skip "docker CLI not installed"
	b run -d --name clicmp busybox sleep 100 >/dev/null
	for cmd in "ps" "ps -a --no-trunc" "images" "images -q" "inspect clicmp" "history busybox" \
		"ps --format {{.Names}}" "system df"; do
		# a second may tick between the two: retry once
		diff <(b $cmd 2>&1) <("$DOCKER_CLI" $cmd 2>&1) ||
			diff <(b $cmd 2>&1) <("$DOCKER_CLI" $cmd 2>&1)
	done
	b rm -f clicmp
}

@test "cli: events print local time with nine fraction digits, as the docker CLI" {
	[ -x "$DOCKER_CLI" ] || skip "docker CLI not installed"
	local since until
	since=$(date +%s)
	b tag busybox clievents:one
	b rmi clievents:one >/dev/null
	until=$(( $(date +%s) + 1 ))
	for tz in UTC Asia/Kolkata America/New_York; do
		run -0 env TZ=$tz "$BERTH_CLI" events --since "$since" --until "$until"
		local ours=$output
		run -0 env TZ=$tz "$DOCKER_CLI" events --since "$since" --until "$until"
		diff <(echo "$ours") <(echo "$output")
		[[ "$ours" == *" image tag "* ]]
	done
	run -0 env TZ=Asia/Kolkata "$BERTH_CLI" events --since "$since" --until "$until"
	grep -qE '^[0-9-]{10}T[0-9:]{8}\.[0-9]{9}\+05:30 image tag ' <<<"$output"
}

@test "cli: unknown flags of every command exit 125" {
	for c in ps images rm stop logs exec inspect; do
		run b $c --bogus
		[ "$status" -eq 125 ]
		[ "${lines[0]}" = "unknown flag: --bogus" ]
	done
}

# bad input: docker 28's texts and exit statuses (docker.sh prints the same
# with "docker" for "berth" where the docker CLI is installed)
bad_input_same() {
	local out_b out_d st_b st_d
	out_b=$(b "$@" 2>&1) && st_b=0 || st_b=$?
	[ -x "$DOCKER_CLI" ] || { echo "$out_b"; return "$st_b"; }
	out_d=$("$DOCKER_CLI" "$@" 2>&1) && st_d=0 || st_d=$?
	[ "$st_b" -eq "$st_d" ] || { echo "status $st_b, docker $st_d"; return 1; }
	diff <(echo "$out_b" | sed 's/berth/docker/g') <(echo "$out_d") || return 1
}

@test "cli: bad input is reported as docker 28 does" {
	[ -x "$DOCKER_CLI" ] || skip "docker CLI not installed"
	bad_input_same run --bogus busybox
	bad_input_same run
	bad_input_same exec onlyone
	bad_input_same rename a
	bad_input_same port
	bad_input_same events extra
	bad_input_same run --health-interval 5 busybox true
	bad_input_same run --health-interval 5x busybox true
	bad_input_same run -m 5zz busybox true
	bad_input_same run -m abc busybox true
	bad_input_same run --shm-size 1x busybox true
	bad_input_same run --stop-timeout 99999999999999999999 busybox true
	bad_input_same run --cpus abc busybox true
	bad_input_same run --env-file /nonexistent/env busybox true
	bad_input_same run -a bogus busybox true
	# a daemon error: run adds its usage hint and exits 125, create exits 1
	bad_input_same run --cpus 1000 busybox true
	bad_input_same create --cpus 1000 busybox true
}

@test "cli: run's failures: missing image 125, command not found 127, not executable 126" {
	run -125 b run --rm nosuchimage-berth:latest
	[ "$status" -eq 125 ]
	[[ "$output" == *"Unable to find image 'nosuchimage-berth:latest' locally"* ]]
	run -127 b run --rm busybox nosuchcmd
	[ "$status" -eq 127 ]
	[[ "$output" == *'"nosuchcmd": executable file not found in $PATH'* ]]
	run -126 b run --rm busybox /etc
	[ "$status" -eq 126 ]
	[[ "$output" == *"permission denied"* ]]
	# start -a reports the same failure with the daemon's error and 1, as docker 28
	b create --name clisa busybox nosuchcmd >/dev/null
	run -1 b start -a clisa
	[[ "$output" == *'"nosuchcmd": executable file not found in $PATH'* ]]
	if [ -x "$DOCKER_CLI" ]; then
		run -1 "$DOCKER_CLI" start -a clisa
	fi
	b rm -f clisa >/dev/null
}

@test "cli: -e NAME takes our environment, or passes the bare name" {
	run env BERTH_T_VAL=bar "$BERTH_CLI" run --rm -e BERTH_T_VAL -e BERTH_T_UNSET busybox env
	[ "$status" -eq 0 ]
	[[ "$output" == *"BERTH_T_VAL=bar"* ]]
	# the bare name reaches the daemon, which leaves it out of the process's
	# environment (dockerd 20.10 does; berthd too)
	[[ "$output" != *"BERTH_T_UNSET"* ]]
}

@test "cli: cp to and from local paths follows docker's rules" {
	local w=$BATS_TEST_TMPDIR
	b rm -f cpc >/dev/null 2>&1 || true
	b run -d --name cpc busybox sh -c 'mkdir -p /d/sub && echo a >/d/a && echo s >/d/sub/s && ln -s /d /dl && sleep 1000' >/dev/null
	mkdir -p "$w/exist" "$w/src/dir/inner"
	echo f >"$w/file"; echo x >"$w/src/dir/x"; echo y >"$w/src/dir/inner/y"
	cd "$w"
	b cp cpc:/d n1                       # a dir to a new name
	[ "$(cat n1/a)" = a ] && [ "$(cat n1/sub/s)" = s ]
	b cp cpc:/d exist                    # into an existing dir
	[ "$(cat exist/d/a)" = a ]
	b cp cpc:/d/. n2                     # a dir's contents
	[ "$(cat n2/sub/s)" = s ]
	b cp cpc:/d/a n3                     # a file to a new name
	[ "$(cat n3)" = a ]
	b cp -L cpc:/dl n4                   # a symlink, followed
	[ "$(cat n4/a)" = a ]
	run b cp cpc:/d/a nodir/
	[ "$status" -eq 1 ] && [ "$output" = "no such directory" ]
	run b cp cpc:/d file
	[ "$status" -eq 1 ] && [ "$output" = "cannot copy directory" ]
	run b cp cpc:/nonexist x
	[ "$status" -eq 1 ] && [[ "$output" == *"Could not find the file /nonexist in container cpc"* ]]
	b cp src/dir cpc:/t1                 # local dir to a new name
	b cp src/dir/. cpc:/t2               # its contents
	b cp file cpc:/tmp                   # a file into a dir
	run b exec cpc sh -c 'cat /t1/x /t1/inner/y /t2/x /tmp/file'
	[ "$output" = "$(printf 'x\ny\nx\nf')" ]
	run b cp nofile cpc:/t3
	[ "$status" -eq 1 ] && [[ "$output" == "lstat $w/nofile: no such file or directory" ]]
	b rm -f cpc >/dev/null
}
