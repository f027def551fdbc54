#!/usr/bin/env python3
"""tests/system/compat.py — the docker-py side of compat.bats.

Each scenario drives one daemon through docker-py (Debian's python3-docker)
and returns what a program would see: exit codes, outputs, key sets and
types, status codes and messages.  main() runs the named scenarios against
the reference (a private dockerd, --ref) and the daemon under test (berthd,
--sut), and prints every difference; the exit code is 1 if any.

    compat.py --ref unix:///tmp/x/docker.sock --sut unix:///tmp/bd-y/berth.sock run_output ...

IDs (64 and 12 hex digits) and "berth daemon" are normalised before the
comparison: they differ by nature (docs/api-coverage.md, "Intended
differences").  Every scenario removes the containers it made.
"""
import argparse
import difflib
import io
import json
import re
import socket
import sys
import tarfile
import time

import docker
from docker.errors import APIError, ContainerError, NotFound

IMG = "busybox:latest"


def clean(cl):
    for c in cl.containers.list(all=True):
        try:
            c.remove(force=True)
        except APIError:
            pass


def api_err(fn, *a, **kw):
    """Call fn; return its result, or ["error", status, explanation]."""
    try:
        r = fn(*a, **kw)
        return ["ok", r]
    except APIError as e:
        return ["error", e.status_code, e.explanation]


def shape(v, path=""):
    """Sorted 'path type' lines for every leaf (or empty container) of v."""
    out = []
    if isinstance(v, dict) and v:
        for k, x in v.items():
            out += shape(x, f"{path}.{k}")
    elif isinstance(v, list) and v:
        out += shape(v[0], f"{path}[]")
    else:
        t = type(v).__name__
        if isinstance(v, (dict, list)):
            t += "(empty)"
        out.append(f"{path} {t}")
    return sorted(set(out))


# --- scenarios -----------------------------------------------------------

def s_run_output(cl):
    r = {}
    r["plain"] = cl.containers.run(IMG, ["sh", "-c", "echo out; echo err >&2"], remove=True).decode()
    # one stream of both: dockerd's json-file writer takes stdout and stderr
    # in two goroutines, their order in the log is a race
    r["both"] = sorted(cl.containers.run(IMG, ["sh", "-c", "echo out; echo err >&2"], remove=True,
                                         stdout=True, stderr=True).decode().splitlines())
    try:
        cl.containers.run(IMG, ["sh", "-c", "echo out; echo err >&2; exit 3"], remove=True)
        r["fail"] = "no error"
    except ContainerError as e:
        r["fail"] = [e.exit_status, e.stderr.decode() if e.stderr else None]
    c = cl.containers.create(IMG, ["sh", "-c", "exit 5"])
    c.start()
    r["wait"] = c.wait()
    c.remove()
    r["missing"] = api_err(cl.containers.run, IMG, ["/nonexistent"], remove=True)
    if r["missing"][0] == "error":
        r["missing"][2] = "no such file or directory" in r["missing"][2]
    return r


def s_logs_follow(cl):
    c = cl.containers.run(IMG, ["sh", "-c", "for i in 1 2 3; do echo $i; echo e$i >&2; sleep 0.2; done"],
                          detach=True)
    r = {}
    r["follow"] = sorted(b"".join(c.logs(stream=True, follow=True)).decode().splitlines())
    r["stdout"] = c.logs(stdout=True, stderr=False).decode()
    r["stderr"] = c.logs(stdout=False, stderr=True).decode()
    r["tail"] = sorted(c.logs(tail=2).decode().splitlines())  # the last two: a race in dockerd
    ts = c.logs(timestamps=True).decode().splitlines()
    r["timestamps"] = [bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \S+$", x)) for x in ts]
    r["since_future"] = c.logs(since=int(time.time()) + 100).decode()
    c.remove()
    return r


def s_exec_code(cl):
    c = cl.containers.run(IMG, ["sleep", "100"], detach=True)
    r = {}
    code, out = c.exec_run(["sh", "-c", "echo hi; echo err >&2; exit 7"])
    # dockerd copies stdout and stderr in two goroutines: their order is a race
    r["exec"] = [code, sorted(out.decode().splitlines())]
    code, out = c.exec_run(["sh", "-c", "echo hi; echo err >&2"], demux=True)
    r["demux"] = [code, [x.decode() if x else x for x in out]]
    code, out = c.exec_run(["sh", "-c", "echo $FOO; pwd"], environment={"FOO": "bar"}, workdir="/tmp")
    r["env"] = [code, out.decode()]
    ex = cl.api.exec_create(c.id, ["true"])
    r["create_keys"] = sorted(ex)
    cl.api.exec_start(ex["Id"])
    r["inspect"] = shape(cl.api.exec_inspect(ex["Id"]))
    r["missing"] = api_err(c.exec_run, ["/nonexistent"])
    if r["missing"][0] == "ok":
        # KNOWN DIFFERENCE (berth-runc): strerror's "No such file" vs Go's "no such file"
        r["missing"] = [r["missing"][1].exit_code,
                        "no such file" in r["missing"][1].output.decode().lower()]
    c.remove(force=True)
    return r


def s_inspect_shape(cl):
    c = cl.containers.create(IMG, "sh", name="ci", environment={"A": "1"}, labels={"k": "v"},
                             restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
                             working_dir="/tmp")
    a = cl.api.inspect_container(c.id)
    # intended: berth has no networks yet, so NetworkSettings.Networks is {}
    # dockerd --bridge none sets Config.NetworkDisabled when it starts a container
    drop = re.compile(r"^\.(GraphDriver|Config\.Labels\.(org|io)|NetworkSettings\.Networks|"
                      r"Config\.NetworkDisabled )")
    r = {"shape": [x for x in shape(a) if not drop.match(x)]}
    r["values"] = [a["Name"], a["Path"], a["Args"], a["State"]["Status"], a["Config"]["Cmd"],
                   a["Config"]["Env"][0] if a["Config"]["Env"] else None,
                   a["HostConfig"]["RestartPolicy"], a["Config"]["Labels"].get("k")]
    r["model"] = [c.name, c.status, c.labels.get("k"), c.image.tags]
    c.start()
    c.wait()
    c.reload()
    r["after"] = [c.status, c.attrs["State"]["ExitCode"], c.attrs["State"]["Running"]]
    r["after_shape"] = [x for x in shape(c.attrs) if not drop.match(x)]
    r["missing"] = api_err(cl.api.inspect_container, "nope")
    c.remove()
    return r


def s_ps_filters(cl):
    cl.containers.create(IMG, "true", name="p1", labels={"a": "1"})
    cl.containers.create(IMG, "true", name="p2", labels={"a": "2", "b": ""})
    cl.containers.run(IMG, "sleep 100", name="p3", labels={"a": "1"}, detach=True)
    p4 = cl.containers.run(IMG, ["sh", "-c", "exit 3"], name="p4", detach=True)
    p4.wait()
    cl.containers.run(IMG, "true", name="p5")
    r = {}
    for f in [{"label": "a"}, {"label": "a=1"}, {"label": ["a=1", "b"]}, {"name": "p"},
              {"status": "running"}, {"status": "exited"}, {"status": "created"}, {"exited": 3},
              {"ancestor": "busybox"}, {"before": "p3"}, {"since": "p3"},
              {"label": "a=1", "status": "running"}]:
        r[json.dumps(f)] = sorted(c.name for c in cl.containers.list(all=True, filters=f))
    r["id"] = sorted(c.name for c in cl.containers.list(all=True, filters={"id": p4.id[:6]}))
    r["running"] = sorted(c.name for c in cl.containers.list())
    r["limit"] = [c.name for c in cl.containers.list(all=True, limit=2)]
    r["bad"] = api_err(cl.containers.list, filters={"foo": "bar"})
    r["badstatus"] = api_err(cl.containers.list, all=True, filters={"status": "nope"})
    lst = cl.api.containers(all=True, filters={"name": "p3"})
    r["list_shape"] = [x for x in shape(lst[0]) if not x.startswith(".NetworkSettings.Networks")] \
        if lst else None
    return r


def s_stop_kill_wait_rm(cl):
    r = {}
    c = cl.containers.run(IMG, "sleep 100", name="s1", detach=True)
    c.stop(timeout=1)
    r["wait1"] = c.wait()
    r["stop_again"] = api_err(c.stop)
    res = cl.api._post(cl.api._url("/containers/{0}/stop", c.id))
    r["stop_again_raw"] = [res.status_code, res.text]
    # PID 1 ignores a signal it has no handler for: trap it
    c2 = cl.containers.run(IMG, ["sh", "-c", "trap 'exit 10' USR1; while :; do sleep 0.1; done"],
                           name="s2", detach=True)
    time.sleep(0.3)
    c2.kill(signal="USR1")
    r["wait2"] = c2.wait()
    r["kill_stopped"] = api_err(c2.kill)
    c3 = cl.containers.run(IMG, "sleep 100", name="s3", detach=True)
    r["rm_running"] = api_err(c3.remove)
    r["rm_force"] = api_err(c3.remove, force=True)
    r["rm_gone"] = api_err(c3.remove)
    r["wait_gone"] = api_err(cl.api.wait, "nope")
    r["kill_badsig"] = api_err(c2.start) and api_err(c2.kill, signal="NOPE")
    c4 = cl.containers.create(IMG, "true", name="s4")
    r["wait_cond"] = api_err(c4.wait, condition="bogus")
    c4.start()
    r["wait_created"] = c4.wait(condition="not-running")
    return r


def attach_frames(data):
    """Demultiplex a non-tty attach stream into [stream, text] pairs."""
    out = []
    while len(data) >= 8:
        n = int.from_bytes(data[4:8], "big")
        out.append([data[0], data[8:8 + n].decode()])
        data = data[8 + n:]
    return out


def s_attach_stdin(cl):
    r = {}
    c = cl.containers.create(IMG, ["sh", "-c", "cat; echo done; exit 4"], stdin_open=True)
    s = cl.api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    c.start()
    raw = s._sock
    raw.sendall(b"a\nb\n")
    raw.shutdown(socket.SHUT_WR)
    data = b""
    raw.settimeout(20)
    while True:
        b = raw.recv(4096)
        if not b:
            break
        data += b
    s.close()
    # chunking may differ: merge consecutive frames of one stream
    merged = []
    for st, txt in attach_frames(data):
        if merged and merged[-1][0] == st:
            merged[-1][1] += txt
        else:
            merged.append([st, txt])
    r["frames"] = merged
    r["wait"] = c.wait()
    r["logs"] = c.logs().decode()
    c.remove()
    r["attach_missing"] = api_err(cl.api.attach, "nope")
    return r


def s_cp_both_ways(cl):
    r = {}
    since = time.time()
    c = cl.containers.create(IMG, "true", name="cp1")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"hello\n"
        ti = tarfile.TarInfo("f.txt")
        ti.size = len(data)
        ti.mode = 0o640
        t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("sub")
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
        t.addfile(ti)
    r["put"] = c.put_archive("/tmp", buf.getvalue())
    r["put_missing_dir"] = api_err(c.put_archive, "/nope/x", buf.getvalue())
    stream, stat = c.get_archive("/tmp/f.txt")
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        m = t.getmembers()
        # KNOWN DIFFERENCE (container_archive.c): berthd's tar headers carry the
        # permission bits only, dockerd's (Go's FileInfoHeader) the S_IFMT bits too
        r["get"] = [[x.name, x.size, oct(x.mode & 0o7777)] for x in m]
        r["content"] = t.extractfile(m[0]).read().decode()
    r["stat"] = [stat["name"], stat["size"], stat["mode"], sorted(stat)]
    stream, stat = c.get_archive("/tmp/sub")
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        r["get_dir"] = sorted(x.name for x in t.getmembers())
    r["get_missing"] = api_err(c.get_archive, "/nope")
    res = cl.api.head(cl.api._url("/containers/{0}/archive", c.id), params={"path": "/nope"})
    r["head_missing"] = res.status_code
    c.remove()
    # KNOWN DIFFERENCE (container_archive.c): berthd sends no extract-to-dir /
    # archive-path events yet
    r["events"] = [e["Action"] for e in cl.events(since=since, until=time.time(), decode=True,
                                                   filters={"container": "cp1"})
                   if e["Action"] not in ("extract-to-dir", "archive-path")]
    return r


def s_events(cl):
    since = int(time.time())
    try:
        cl.containers.run(IMG, ["sh", "-c", "exit 2"], name="ev1", labels={"z": "1"})
    except ContainerError:
        pass
    c = cl.containers.run(IMG, "sleep 100", name="ev2", detach=True)
    c.pause()
    c.unpause()
    c.kill()
    c.wait()
    cl.containers.get("ev1").remove()
    c.remove()
    time.sleep(0.5)
    until = time.time()
    evs = list(cl.events(since=since, until=until, decode=True,
                         filters={"type": "container", "container": ["ev1", "ev2"]}))
    r = {"events": []}
    for e in evs:
        a = e["Actor"]["Attributes"]
        r["events"].append([e["Type"], e["Action"], a.get("name"), a.get("exitCode"), a.get("signal"),
                            a.get("z"), a.get("image"), sorted(a)])
    r["keys"] = sorted({json.dumps(sorted(e)) for e in evs})
    r["types"] = sorted({json.dumps([type(e[k]).__name__ for k in sorted(e)]) for e in evs})
    r["die"] = [e["Actor"]["Attributes"]["name"] for e in
                cl.events(since=since, until=until, decode=True, filters={"event": "die"})]
    r["label"] = [e["Action"] for e in
                  cl.events(since=since, until=until, decode=True, filters={"label": "z=1"})]
    return r


def s_stats_keys(cl):
    c = cl.containers.run(IMG, "sleep 100", detach=True)
    time.sleep(0.3)
    st = c.stats(stream=False)
    r = {"top": sorted(st)}
    for k in ("cpu_stats", "precpu_stats", "memory_stats", "pids_stats", "blkio_stats"):
        r[k] = sorted(st.get(k) or {})
    r["cpu_usage"] = sorted((st.get("cpu_stats") or {}).get("cpu_usage") or {})
    r["pids"] = st.get("pids_stats", {}).get("current")
    r["name"] = st.get("name") == "/" + c.name
    r["one_shot"] = sorted(cl.api.stats(c.id, stream=False, one_shot=True))
    gen = cl.api.stats(c.id, decode=True)
    r["stream2"] = [sorted(next(gen)) == sorted(st) for _ in range(2)]
    gen.close()
    c.stop(timeout=0)
    st = c.stats(stream=False)
    r["stopped"] = [st.get("pids_stats"), sorted(st.get("memory_stats") or {}), st.get("read")]
    c.remove()
    return r


def s_bad_input(cl):
    r = {}
    bad = docker.APIClient(base_url=cl.compat_url, version="1.99")
    r["version"] = api_err(bad.version)
    # INTENDED (docs/api-coverage.md): a body that is not JSON, not an
    # object, or has a field of the wrong type is 400 with berthd's message
    # (dockerd 20.10: 500 with Go's decoder message): only "an APIError" is
    # compared
    for k, body in (("malformed", "{bad"), ("wrong_type", '{"Image": 5}'), ("empty", "")):
        res = cl.api._post(cl.api._url("/containers/create"), data=body,
                           headers={"Content-Type": "application/json"})
        r[k] = res.status_code in (400, 500) and "message" in res.json()
    res = cl.api._post(cl.api._url("/containers/create"), data="{}",
                       headers={"Content-Type": "text/plain"})
    r["content_type"] = [res.status_code, res.json().get("message")]
    res = cl.api._post(cl.api._url("/containers/create"), json={"Image": IMG, "Cmd": "true"})
    r["cmd_string"] = res.status_code
    c = cl.containers.create(IMG, "true", name="dup")
    r["dup"] = api_err(cl.containers.create, IMG, "true", name="dup")
    r["dup_bad_name"] = api_err(cl.containers.create, IMG, "true", name="a/b")
    r["stop_stopped"] = api_err(c.stop)
    res = cl.api._post(cl.api._url("/containers/{0}/stop", c.id))
    r["stop_stopped_raw"] = res.status_code
    res = cl.api._post(cl.api._url("/containers/{0}/start", c.id))
    r["start"] = res.status_code
    c.wait()
    p = cl.containers.run(IMG, "sleep 100", name="pz", detach=True)
    p.pause()
    r["exec_paused"] = api_err(p.exec_run, "true")
    r["pause_paused"] = api_err(p.pause)
    r["stop_paused"] = None
    p.unpause()
    # INTENDED: dockerd 20.10 answers 500 here (no error class), berthd 409
    r["unpause_running"] = api_err(p.unpause)
    if r["unpause_running"][0] == "error" and r["unpause_running"][1] in (409, 500):
        r["unpause_running"][1] = "409|500"
    res = cl.api._post(cl.api._url("/containers/{0}/start", p.id))
    r["start_running"] = res.status_code
    r["no_image"] = api_err(cl.containers.create, "busybox:nope", "true")
    r["not_found"] = api_err(cl.api.stop, "nope")
    r["exec_stopped"] = api_err(c.exec_run, "true")
    return r


SCENARIOS = {k[2:]: v for k, v in globals().items() if k.startswith("s_")}


def normalize(obj):
    text = json.dumps(obj, indent=1, sort_keys=True, default=str)
    text = re.sub(r"[0-9a-f]{64}", "<ID>", text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "<ID12>", text)
    return text.replace("berth daemon", "Docker daemon")


def run_one(url, name):
    cl = docker.DockerClient(base_url=url, version="auto", timeout=60)
    cl.compat_url = url
    clean(cl)
    try:
        return normalize(SCENARIOS[name](cl))
    except Exception as e:  # a crash is an answer too
        return normalize({"exception": f"{type(e).__name__}: {e}"})
    finally:
        clean(cl)
        cl.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--sut", required=True)
    ap.add_argument("scenario", nargs="*")
    a = ap.parse_args()
    bad = 0
    for name in a.scenario or sorted(SCENARIOS):
        ref = run_one(a.ref, name)
        sut = run_one(a.sut, name)
        if '"exception"' in ref:
            # the scenario itself broke on the reference: a bug of this file
            bad += 1
            print(f"BROKEN scenario {name} on dockerd: {ref}")
            continue
        if ref == sut:
            print(f"ok {name}")
            continue
        bad += 1
        print(f"DIFFERENCE in docker-py scenario {name} (--- dockerd, +++ berthd):")
        sys.stdout.writelines(difflib.unified_diff(ref.splitlines(True), sut.splitlines(True),
                                                   "dockerd", "berthd", n=2))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
