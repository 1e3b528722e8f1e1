"""sctpx in another process (inside a namespace), driven by JSON lines on stdin/stdout.

Started by the interop tests (see ``remote.py``) as::

    ip netns exec NS python tests/interop/peer.py --udp-port N --pcap FILE

One request a line, one reply a line, in order::

    {"id": 1, "op": "socket", "family": 4, "type": "stream"}     -> {"id": 1, "ok": {"$sock": 1}}
    {"id": 2, "op": "call", "sock": 1, "method": "connectx", "args": [[["198.18.1.2", 7]]]}
    {"id": 3, "op": "call", "sock": 1, "method": "accept", "background": true}  -> a job id
    {"id": 4, "op": "job", "fn": "send_bulk", "sock": 1, "args": [52428800]}     -> a job id
    {"id": 5, "op": "progress", "job": 2}  /  {"op": "join", "job": 2, "timeout": 30}
    {"id": 6, "op": "stats"}  /  {"op": "quit"}

Values: lists of scalars become tuples (addresses), ``{"$bytes": base64}`` is
bytes, ``{"$const": "SCTP_NODELAY"}`` an ``sctpx`` constant, ``{"$opt": "UdpEncaps",
"kw": {...}}`` an option object, ``{"$sock": n}`` a socket. Results come back the
same way; dataclasses as ``{"$type": "AssocChange", ...fields}`` with enums by name.
Errors: ``{"id": n, "error": "OSError", "errno": 111, "message": "..."}``.
Log records of the stack go to stderr.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import enum
import errno
import hashlib
import json
import logging
import random
import sys
import threading
import time
import traceback
from collections import Counter
from typing import Any

import sctpx


class Job:
    """A call running on its own thread; ``progress`` is what it has reported so far."""

    def __init__(self, fn: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.progress: dict[str, Any] = {}
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self.thread.start()

    def _run(self, fn: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
        _local.progress = self.progress
        try:
            self.result = fn(*args, **kwargs)
        except BaseException as e:
            self.error = e
        finally:
            self.done.set()


class Peer:
    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.socks: dict[int, sctpx.socket] = {}
        self.jobs: dict[int, Job] = {}
        self._lock = threading.Lock()

    # ----- values -----

    def decode(self, v: Any) -> Any:
        if isinstance(v, dict):
            if "$bytes" in v:
                return base64.b64decode(v["$bytes"])
            if "$const" in v:
                return getattr(sctpx, v["$const"])
            if "$opt" in v:
                return getattr(sctpx, v["$opt"])(**self.decode(v.get("kw", {})))
            if "$sock" in v:
                return self.socks[v["$sock"]]
            return {k: self.decode(x) for k, x in v.items()}
        if isinstance(v, list):
            items = [self.decode(x) for x in v]
            if items and all(isinstance(x, (str, int, float)) for x in items):
                return tuple(items)
            return items
        return v

    def encode(self, v: Any) -> Any:
        if isinstance(v, (bytes, bytearray, memoryview)):
            return {"$bytes": base64.b64encode(bytes(v)).decode()}
        if isinstance(v, sctpx.socket):
            return {"$sock": self.register(v)}
        if isinstance(v, enum.Enum):
            return v.name
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            out = {"$type": type(v).__name__}
            for f in dataclasses.fields(v):
                out[f.name] = self.encode(getattr(v, f.name))
            return out
        if isinstance(v, (list, tuple, set, frozenset)):
            return [self.encode(x) for x in v]
        if isinstance(v, dict):
            return {str(k): self.encode(x) for k, x in v.items()}
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        return repr(v)

    def register(self, s: sctpx.socket) -> int:
        with self._lock:
            for h, known in self.socks.items():
                if known is s:
                    return h
            h = len(self.socks) + 1
            self.socks[h] = s
            return h

    # ----- requests -----

    def handle(self, req: dict[str, Any]) -> Any:
        op = req["op"]
        if op == "socket":
            fam = sctpx.AF_INET6 if req.get("family") == 6 else sctpx.AF_INET
            kind = sctpx.SOCK_SEQPACKET if req.get("type") == "seqpacket" else sctpx.SOCK_STREAM
            return sctpx.socket(fam, kind, stack=self.stack)
        if op in ("call", "job"):
            args = self.decode(req.get("args", []))
            kwargs = self.decode(req.get("kwargs", {}))
            sock = self.socks[req["sock"]] if "sock" in req else None
            if op == "call":
                assert sock is not None
                fn = getattr(sock, req["method"])
            else:
                fn = HELPERS[req["fn"]]
                args = [sock, *args] if sock is not None else args
            if op == "call" and not req.get("background"):
                return fn(*args, **kwargs)
            job = Job(fn, list(args), dict(kwargs))
            with self._lock:
                jid = len(self.jobs) + 1
                self.jobs[jid] = job
            return jid
        if op == "progress":
            return dict(self.jobs[req["job"]].progress)
        if op == "join":
            job = self.jobs[req["job"]]
            if not job.done.wait(req.get("timeout", 0)):
                return {"$running": True, "progress": dict(job.progress)}
            if job.error is not None:
                raise job.error
            return job.result
        if op == "stats":
            st = dataclasses.asdict(self.stack.stats)
            st["ep_dropped"] = self.stack.call(lambda now: [ep.dropped for ep in
                                                            self.stack.endpoints])  # fmt: skip
            return st
        raise ValueError(f"unknown op {op!r}")


_local = threading.local()


def _progress() -> dict[str, Any]:
    """The progress dict of the job running on this thread (a throwaway one elsewhere)."""
    prog: dict[str, Any] = getattr(_local, "progress", {})
    return prog


# ----- helpers run as jobs (the socket is the first argument) -----


def pattern(seed: int, size: int = 1 << 16) -> bytes:
    return random.Random(seed).randbytes(size)


def send_bulk(sock: sctpx.socket, total: int, msglen: int = 1200, seed: int = 1,
              stream: int = 0, close: bool = False, ttl: int = 0) -> dict[str, Any]:  # fmt: skip
    """Send ``total`` bytes in messages of ``msglen`` (pseudo-random content from ``seed``);
    ``ttl``: PR-SCTP lifetime of each message in ms (0: reliable)."""
    block = pattern(seed)
    span = len(block) - msglen
    h = hashlib.sha256()
    prog = _progress()
    n = msgs = 0
    t0 = time.monotonic()
    while n < total:
        off = (msgs * msglen) % span
        piece = block[off : off + min(msglen, total - n)]
        sock.sctp_send(piece, stream=stream, ttl=ttl)
        h.update(piece)
        n += len(piece)
        msgs += 1
        prog["bytes"] = n
    if close:
        sock.close()
    return {"bytes": n, "messages": msgs, "sha256": h.hexdigest(),
            "seconds": time.monotonic() - t0}  # fmt: skip


def recv_all(sock: sctpx.socket, limit: int = 0) -> dict[str, Any]:
    """Read messages until the association ends (or ``limit`` bytes): sizes and a digest.

    ``sizes`` counts whole messages (the parts of a message too large for the receive
    buffer are joined: partial delivery); ``parts`` counts the parts that were not a
    message's last."""
    h = hashlib.sha256()
    sizes: Counter[int] = Counter()
    cur = parts = 0  # bytes of the message arriving in parts so far; parts seen
    notes: list[Any] = []
    streams: Counter[int] = Counter()
    prog = _progress()
    n = 0
    t0 = time.monotonic()
    first = last = 0.0
    while not limit or n < limit:
        try:
            ev = sock.sctp_recv()
        except OSError as e:
            if e.errno == errno.ENOTCONN:
                break
            raise
        if isinstance(ev, sctpx.DataReceived):
            first = first or time.monotonic()
            last = time.monotonic()
            h.update(ev.data)
            n += len(ev.data)
            cur += len(ev.data)
            if ev.complete:
                sizes[cur] += 1
                streams[ev.stream_id] += 1
                cur = 0
            else:
                parts += 1
            prog["bytes"] = n
        else:
            notes.append(ev)
    return {"bytes": n, "messages": sum(sizes.values()), "sha256": h.hexdigest(),
            "sizes": dict(sizes), "parts": parts, "streams": dict(streams), "notifications": notes,
            "seconds": time.monotonic() - t0, "data_seconds": last - first}  # fmt: skip


def collect(sock: sctpx.socket, count: int) -> list[Any]:
    """The next ``count`` messages (notifications are kept too but not counted)."""
    out: list[Any] = []
    prog = _progress()
    msgs = 0
    while msgs < count:
        ev = sock.sctp_recv()
        out.append(ev)
        if isinstance(ev, sctpx.DataReceived):
            msgs += 1
            prog["messages"] = msgs
    return out


def echo(sock: sctpx.socket, count: int = 0) -> dict[str, Any]:
    """Send every message back on its stream with its PPID, until the end (or ``count``)."""
    msgs = n = 0
    prog = _progress()
    while not count or msgs < count:
        try:
            ev = sock.sctp_recv()
        except OSError as e:
            if e.errno == errno.ENOTCONN:
                break
            raise
        if isinstance(ev, sctpx.DataReceived):
            flags = sctpx.SCTP_UNORDERED if ev.unordered else 0
            sock.sctp_send(ev.data, stream=ev.stream_id, ppid=ev.ppid, flags=flags)
            msgs += 1
            n += len(ev.data)
            prog["messages"] = msgs
    return {"messages": msgs, "bytes": n}


def events(sock: sctpx.socket, seconds: float) -> list[Any]:
    """Every notification (and message) that arrives within ``seconds``."""
    out: list[Any] = []
    deadline = time.monotonic() + seconds
    old = sock.gettimeout()
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                out.append(sock.sctp_recv())
            except TimeoutError:
                break
    finally:
        sock.settimeout(old)
    return out


def wait_event(sock: sctpx.socket, type_name: str, timeout: float,
               **match: Any) -> dict[str, Any]:  # fmt: skip
    """The first notification of ``type_name`` whose fields match, and all seen before it."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    old = sock.gettimeout()
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                ev = sock.sctp_recv()
            except TimeoutError:
                break
            seen.append(ev)
            if type(ev).__name__ == type_name and all(
                (getattr(ev, k).name if isinstance(getattr(ev, k), enum.Enum)
                 else getattr(ev, k)) == v for k, v in match.items()):  # fmt: skip
                return {"event": ev, "seen": seen, "at": time.monotonic()}
    finally:
        sock.settimeout(old)
    return {"event": None, "seen": seen, "at": time.monotonic()}


HELPERS = {f.__name__: f for f in (send_bulk, recv_all, collect, echo, events, wait_event)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--udp-port", type=int, default=9899)
    ap.add_argument("--pcap", default=None)
    ap.add_argument("--transport", choices=("udp", "ip"), default="udp")
    opts = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip
    udp_port = opts.udp_port if opts.transport == "udp" else None
    stack = sctpx.Stack(transport=opts.transport, udp_port=udp_port, pcap=opts.pcap)
    peer = Peer(stack)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "udp_port": opts.udp_port}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            if req["op"] == "quit":
                out.write(json.dumps({"id": req["id"], "ok": None}) + "\n")
                out.flush()
                break
            try:
                reply = {"id": req["id"], "ok": peer.encode(peer.handle(req))}
            except OSError as e:
                reply = {"id": req["id"], "error": type(e).__name__, "errno": e.errno,
                         "message": str(e)}  # fmt: skip
            except Exception as e:
                reply = {"id": req["id"], "error": type(e).__name__, "errno": None,
                         "message": f"{e}\n{traceback.format_exc()}"}  # fmt: skip
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        for s in list(peer.socks.values()):
            with contextlib.suppress(OSError):
                s.close()
        time.sleep(0.2)  # let the last SHUTDOWN/ABORT go out before the stack stops
        stack.close()  # flushes the pcap


if __name__ == "__main__":
    main()
