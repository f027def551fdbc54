#!/usr/bin/env python3
"""recvtty.py SOCKET [--input TEXT] [--timeout SECONDS]

The receiving end of an OCI runtime's --console-socket, for the system tests
(like runc's contrib/cmd/recvtty, reduced to what the tests need).

Listens on the Unix socket SOCKET (bound under a temporary name and renamed,
so the socket appears only once it accepts), accepts one connection, takes the
pty master fd that the runtime sends with SCM_RIGHTS, optionally writes TEXT to
it (the container's terminal input), then copies everything the container
writes to its terminal to stdout until the last slave fd closes (EIO), or
until the timeout.  The payload sent with the fd (runc sends the pty's name)
goes to stderr.  Exit status: 0 when a master fd came, 1 otherwise.
"""
import argparse
import array
import os
import select
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--input", default=None)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    deadline = time.monotonic() + a.timeout
    tmp = a.socket + ".tmp"
    for p in (a.socket, tmp):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(1)
    os.rename(tmp, a.socket)

    srv.settimeout(a.timeout)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("recvtty: no connection", file=sys.stderr)
        return 1
    fds = array.array("i")
    msg, ancdata, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(data) - (len(data) % fds.itemsize)
            fds.frombytes(data[:usable])
    conn.close()
    srv.close()
    if not fds:
        print("recvtty: no fd received", file=sys.stderr)
        return 1
    master = fds[0]
    for extra in fds[1:]:
        os.close(extra)
    print("recvtty: got fd, payload %r" % msg.decode(errors="replace"), file=sys.stderr)

    if a.input is not None:
        os.write(master, a.input.encode())

    out = sys.stdout.buffer
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("recvtty: timeout", file=sys.stderr)
            break
        r, _, _ = select.select([master], [], [], left)
        if not r:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every slave fd is closed
            break
        if not data:
            break
        out.write(data)
        out.flush()
    os.close(master)
    return 0


if __name__ == "__main__":
    sys.exit(main())
