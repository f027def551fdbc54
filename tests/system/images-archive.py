#!/usr/bin/env python3
"""images-archive.py — crafted docker-archive tars for images-archive.bats.

    images-archive.py OUT.tar TAG BASE.tar|- < SPEC.json

BASE is a docker-archive (the busybox fixture) whose layers come first, or
"-" for none. SPEC is {"layers": [LAYER, ...]} where each LAYER is
{"compress": "none"|"gzip"|"zstd", "entries": [ENTRY, ...]} and an ENTRY is
    ["f", name, data]      regular file
    ["d", name]            directory
    ["l", name, target]    symbolic link
    ["h", name, target]    hard link
    ["c", name]            0/0 character device
A LAYER may instead be {"repeat": N, "compress": ..., "entries": ...}: N
copies, each with every "%d" in names and data replaced by its index.
The config's diff_ids are the sha256 of each uncompressed layer tar, as
docker save writes them; zstd goes through the zstd CLI.
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import gzip


def layer_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            kind, name = e[0], e[1]
            ti = tarfile.TarInfo(name)
            ti.mtime = 1000000
            ti.mode = 0o755 if kind == "d" else 0o644
            data = b""
            if kind == "f":
                data = e[2].encode()
                ti.size = len(data)
            elif kind == "d":
                ti.type = tarfile.DIRTYPE
            elif kind == "l":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e[2]
            elif kind == "h":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e[2]
            elif kind == "c":
                ti.type = tarfile.CHRTYPE
                ti.devmajor = ti.devminor = 0
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def compress(raw, how):
    if how == "gzip":
        return gzip.compress(raw, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    return raw


def expand(spec):
    for layer in spec["layers"]:
        n = layer.get("repeat")
        if n is None:
            yield layer
            continue
        for i in range(n):
            sub = lambda s: s.replace("%d", str(i)) if isinstance(s, str) else s
            yield {"compress": layer.get("compress", "none"),
                   "entries": [[sub(x) for x in e] for e in layer["entries"]]}


def add_bytes(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 0
    t.addfile(ti, io.BytesIO(data))


def main():
    out, tag, base = sys.argv[1], sys.argv[2], sys.argv[3]
    spec = json.load(sys.stdin)
    layers = []  # (stored bytes, diff id)
    config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
              "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                         "Cmd": ["sh"]},
              "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    if base != "-":
        with tarfile.open(base) as b:
            # docker save names "x"; tar -C dir . names "./x"
            by = {os.path.normpath(ti.name): ti for ti in b.getmembers()}
            get = lambda n: b.extractfile(by[os.path.normpath(n)])
            m = json.load(get("manifest.json"))[0]
            config = json.load(get(m["Config"]))
            for lp in m["Layers"]:
                raw = get(lp).read()
                layers.append((raw, "sha256:" + hashlib.sha256(raw).hexdigest()))
    for layer in expand(spec):
        raw = layer_tar(layer["entries"])
        layers.append((compress(raw, layer.get("compress", "none")),
                       "sha256:" + hashlib.sha256(raw).hexdigest()))
        config["history"].append({"created": "2024-01-01T00:00:00Z", "created_by": "crafted"})
    config["rootfs"]["diff_ids"] = [d for _, d in layers]
    cfg = json.dumps(config, separators=(",", ":")).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    names = []
    with tarfile.open(out + ".tmp", "w", format=tarfile.PAX_FORMAT) as t:
        add_bytes(t, cfg_name, cfg)
        for i, (data, _) in enumerate(layers):
            name = "l%03d/layer.tar" % i
            names.append(name)
            add_bytes(t, name, data)
        manifest = [{"Config": cfg_name, "RepoTags": [tag], "Layers": names}]
        add_bytes(t, "manifest.json", json.dumps(manifest).encode())
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
