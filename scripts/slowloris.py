#!/usr/bin/env python3
"""Slow-loris and idle-socket pressure against a local HTTP server (standard library only).

Holds --dribble connections that send a request line and then one header byte per
--interval seconds without ever finishing the headers, --idle connections that send
nothing at all, and --upload connections that POST to the push API announcing 1 MiB and
then send --upload-chunk body bytes per --interval (without a token, or with
--upload-token). A connection the server closes (or answers, e.g. 401, 408) is counted and
opened again, so the pressure stays constant. Only loopback targets are accepted.

    python3 scripts/slowloris.py --port 8080 --dribble 1000 --idle 2000 --duration 30
    python3 scripts/slowloris.py --port 8080 --dribble 0 --idle 0 --upload 200 --upload-chunk 65536

Prints one status line when all sockets are open ("open dribble=... idle=...") and a JSON
summary on exit (SIGINT/SIGTERM or after --duration): sockets opened, closed by the server,
connect errors, per kind.
"""
import argparse
import ipaddress
import json
import selectors
import signal
import socket
import sys
import time

HEADER = b"GET /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
DRIP = b"X-Slow: " + b"a" * 4000  # never followed by CRLF CRLF


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dribble", type=int, default=1000)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--upload", type=int, default=0, help="slow push uploads")
    ap.add_argument("--upload-token", default="", help="bearer token of the uploads (none: no header)")
    ap.add_argument("--upload-source", default="push", help="the push source the uploads write")
    ap.add_argument("--upload-chunk", type=int, default=1, help="body bytes per interval")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between dribbled bytes")
    ap.add_argument("--duration", type=float, default=0, help="0 = until SIGTERM")
    args = ap.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("slowloris.py: only loopback targets are allowed")

    sel = selectors.DefaultSelector()
    kinds = ("dribble", "idle", "upload")
    stats = {k: {"opened": 0, "closed_by_server": 0, "connect_errors": 0} for k in kinds}
    stats["upload"]["answers"] = {}
    pos = {}  # socket -> bytes of DRIP sent (dribble sockets only)
    sent = {}  # socket -> body bytes sent (upload sockets only)
    auth = "Authorization: Bearer %s\r\n" % args.upload_token if args.upload_token else ""
    upload_head = (
        "POST /api/v1/push/%s/events HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
        "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n" % (args.upload_source, auth)
    ).encode()
    chunk = b"[" + b" " * max(args.upload_chunk - 1, 0)

    def open_one(kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect((args.host, args.port))
        except OSError:
            stats[kind]["connect_errors"] += 1
            s.close()
            return False
        s.setblocking(False)
        if kind == "dribble":
            try:
                s.send(HEADER)
            except OSError:
                pass
            pos[s] = 0
        if kind == "upload":
            try:
                s.send(upload_head)
            except OSError:
                pass
            sent[s] = 0
        sel.register(s, selectors.EVENT_READ, kind)
        stats[kind]["opened"] += 1
        return True

    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    for kind, n in (("dribble", args.dribble), ("idle", args.idle), ("upload", args.upload)):
        for _ in range(n):
            if not open_one(kind):
                time.sleep(0.01)
    print("open dribble=%d idle=%d upload=%d" % tuple(stats[k]["opened"] for k in kinds), flush=True)

    started = time.monotonic()
    next_drip = started
    while not stop["now"]:
        if args.duration and time.monotonic() - started >= args.duration:
            break
        for key, _ in sel.select(timeout=0.2):
            s, kind = key.fileobj, key.data
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            # Any answer (401, 408, 400) or EOF: the server ended this connection.
            if kind == "upload" and data.startswith(b"HTTP/1.1 "):
                code = data[9:12].decode("ascii", "replace")
                stats["upload"]["answers"][code] = stats["upload"]["answers"].get(code, 0) + 1
            sel.unregister(s)
            pos.pop(s, None)
            sent.pop(s, None)
            s.close()
            stats[kind]["closed_by_server"] += 1
            if not stop["now"]:
                open_one(kind)
            del data
        now = time.monotonic()
        if now >= next_drip:
            next_drip = now + args.interval
            for s in list(pos):
                i = pos[s] % len(DRIP)
                try:
                    s.send(DRIP[i:i + 1])
                    pos[s] += 1
                except OSError:
                    pass  # the selector reports the close
            for s in list(sent):
                if sent[s] >= 1048576:
                    continue
                try:
                    sent[s] += s.send(chunk[: 1048576 - sent[s]])
                except OSError:
                    pass  # the selector reports the close
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    stats["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
