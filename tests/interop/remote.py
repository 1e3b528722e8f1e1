"""The test side of peer.py: sctpx sockets in another process, called like local ones.

``peer.socket()`` gives a :class:`RemoteSocket` whose methods run in the peer
(``s.connectx([(ip, port)])``, ``s.getpaddrs()``); ``s.job("send_bulk", n)``
runs one of peer.py's helpers on a thread there and returns a :class:`RemoteJob`.
Every call has a deadline: nothing here waits without bound.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import sctpx
from sctpx.testing import Host, TestNet

PEER_PY = Path(__file__).with_name("peer.py")
# The peer imports the same sctpx as the tests (e.g. PYTHONPATH=/snapshot/src pytest ...).
SRC = Path(sctpx.__file__).resolve().parents[1]
CALL_TIMEOUT = 30.0


class C:
    """An ``sctpx`` constant by name, resolved in the peer: ``C("SCTP_NODELAY")``."""

    def __init__(self, name: str) -> None:
        self.name = name


class Opt:
    """An option object built in the peer: ``Opt("UdpEncaps", port=9899)``."""

    def __init__(self, name: str, **kw: Any) -> None:
        self.name = name
        self.kw = kw


class Obj(dict[str, Any]):
    """A dataclass from the peer (an event, an option value): fields as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def type(self) -> str:
        return str(self.get("$type", ""))


class RemoteJob:
    def __init__(self, peer: SctpxPeer, jid: int, what: str) -> None:
        self.peer = peer
        self.id = jid
        self.what = what

    def progress(self) -> dict[str, Any]:
        p: dict[str, Any] = self.peer.request("progress", job=self.id)
        return p

    def join(self, timeout: float) -> Any:
        """The job's result; TimeoutError if it is still running after ``timeout`` seconds."""
        r = self.peer.request("join", job=self.id, timeout=timeout, deadline=timeout + 10)
        if isinstance(r, dict) and r.get("$running"):
            raise TimeoutError(f"{self.what} still running after {timeout} s: {r['progress']}")
        return r

    def wait_progress(self, key: str, at_least: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            v = int(self.progress().get(key, 0))
            if v >= at_least:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.what}: {key} = {v} < {at_least} after {timeout} s")
            time.sleep(0.02)


class RemoteSocket:
    def __init__(self, peer: SctpxPeer, handle: int) -> None:
        self._peer = peer
        self.handle = handle

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._peer.request("call", sock=self.handle, method=method, args=list(args),
                                      kwargs=kwargs)  # fmt: skip

        return call

    def background(self, method: str, *args: Any, **kwargs: Any) -> RemoteJob:
        """``method`` on a thread of the peer (e.g. a blocking accept)."""
        jid = self._peer.request("call", sock=self.handle, method=method, args=list(args),
                                 kwargs=kwargs, background=True)  # fmt: skip
        return RemoteJob(self._peer, int(jid), method)

    def job(self, fn: str, *args: Any, **kwargs: Any) -> RemoteJob:
        """One of peer.py's helpers (send_bulk, recv_all, echo, events, wait_event)."""
        jid = self._peer.request("job", fn=fn, sock=self.handle, args=list(args), kwargs=kwargs)
        return RemoteJob(self._peer, int(jid), fn)

    def udp_encaps(self, port: int) -> None:
        """SCTP_REMOTE_UDP_ENCAPS_PORT for every peer address."""
        self.setsockopt(C("IPPROTO_SCTP"), C("SCTP_REMOTE_UDP_ENCAPS_PORT"),
                        Opt("UdpEncaps", port=port))  # fmt: skip

    def addr_info(self, ip: str, port: int) -> Obj:
        info: Obj = self.getsockopt(C("IPPROTO_SCTP"), C("SCTP_GET_PEER_ADDR_INFO"), (ip, port))
        return info

    def __repr__(self) -> str:
        return f"<RemoteSocket {self.handle}>"


class SctpxPeer:
    """peer.py running inside ``host``: its own sctpx Stack (UDP port, pcap file)."""

    def __init__(self, net: TestNet, host: Host, workdir: Path, udp_port: int, name: str = "sctpx",
                 pcap: bool = True, transport: str = "udp") -> None:  # fmt: skip
        self.name = name
        self.pcap = workdir / f"{name}.pcap" if pcap else None
        self.log = workdir / f"{name}.log"
        self.udp_port = udp_port
        self.net = net
        self.transport = transport
        argv = [sys.executable, str(PEER_PY), "--udp-port", str(udp_port), "--transport", transport]
        if self.pcap is not None:
            argv += ["--pcap", str(self.pcap)]
        env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
        self._log: IO[bytes] = open(self.log, "wb")  # noqa: SIM115 - closed in close()
        self.proc = net.spawn(host, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=self._log, env=env, text=True)  # fmt: skip
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next = 0
        self._lock = threading.Lock()
        self.closed = False
        ready = self._get(20.0, "start-up")
        assert ready.get("ready"), ready

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._replies.put(json.loads(line))
            except ValueError:
                continue
        self._replies.put(None)

    def _get(self, timeout: float, what: str) -> dict[str, Any]:
        try:
            r = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name}: no reply to {what} within {timeout} s "
                               f"(log: {self.log})") from None  # fmt: skip
        if r is None:
            raise RuntimeError(f"{self.name} exited (code {self.proc.poll()}); log:\n"
                               f"{self.log_text()[-3000:]}")  # fmt: skip
        return r

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # ----- values -----

    def _enc(self, v: Any) -> Any:
        if isinstance(v, (bytes, bytearray)):
            return {"$bytes": base64.b64encode(bytes(v)).decode()}
        if isinstance(v, C):
            return {"$const": v.name}
        if isinstance(v, Opt):
            return {"$opt": v.name, "kw": self._enc(v.kw)}
        if isinstance(v, RemoteSocket):
            return {"$sock": v.handle}
        if isinstance(v, (list, tuple)):
            return [self._enc(x) for x in v]
        if isinstance(v, dict):
            return {k: self._enc(x) for k, x in v.items()}
        return v

    def _dec(self, v: Any) -> Any:
        if isinstance(v, dict):
            if "$bytes" in v:
                return base64.b64decode(v["$bytes"])
            if "$sock" in v:
                return RemoteSocket(self, int(v["$sock"]))
            return Obj({k: self._dec(x) for k, x in v.items()})
        if isinstance(v, list):
            items = [self._dec(x) for x in v]
            if items and all(isinstance(x, (str, int, float)) for x in items):
                return tuple(items)
            return items
        return v

    # ----- requests -----

    def request(self, op: str, deadline: float = CALL_TIMEOUT, **kw: Any) -> Any:
        """Send one request and wait at most ``deadline`` seconds for its reply."""
        with self._lock:
            self._next += 1
            rid = self._next
            msg = {"id": rid, "op": op, **{k: self._enc(v) for k, v in kw.items()}}
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            r = self._get(deadline, f"{op} {kw.get('method') or kw.get('fn') or ''}")
        assert r.get("id") == rid, (r, rid)
        if "error" in r:
            name, code, message = r["error"], r.get("errno"), r.get("message", "")
            if name == "TimeoutError":
                raise TimeoutError(code, message)
            if code is not None:
                raise OSError(code, message)
            raise RuntimeError(f"{name} in the peer: {message}")
        return self._dec(r["ok"])

    def socket(self, family: int = 4, type: str = "stream") -> RemoteSocket:
        s: RemoteSocket = self.request("socket", family=family, type=type)
        return s

    def stats(self) -> Obj:
        st: Obj = self.request("stats")
        return st

    def close(self, timeout: float = 10.0) -> None:
        """Quit the peer (its sockets close, its pcap is flushed); kill it if it hangs."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.proc.poll() is None:
                self.request("quit", deadline=timeout)
                self.proc.wait(timeout)
        except (OSError, TimeoutError, RuntimeError, subprocess.TimeoutExpired, AssertionError):
            pass
        finally:
            TestNet.stop(self.proc)
            self._log.close()
