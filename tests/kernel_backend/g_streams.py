"""Stream reconfiguration (RFC 6525) and interleaving (RFC 8260) on the kernel backend, in the
VM (plain python3, no pytest).

``python3 g_streams.py [NAME ...]`` runs the named scenarios (all but those in
:data:`APART` by default) between two kernel-backend sockets on the guest's loopback
and prints one JSON object a line, as g_scenarios.py does; test_streams_kernel.py
asserts on them. The host sets the sysctls (``net.sctp.intl_enable=1`` and
``net.sctp.reconf_enable=0``: the backend offers RE-CONFIG by itself) and runs the
scenarios of :data:`APART` with ``intl_enable=0``. Routes this file adds (a
blackhole to hold a request unanswered) are removed before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import sctpx
import sctpx.aio
from sctpx.api.kernel import linux as L

CLI = "127.0.0.1"
WAIT = 5.0
SOL = sctpx.IPPROTO_SCTP
ALL_BITS = (sctpx.SCTP_ENABLE_RESET_STREAM_REQ | sctpx.SCTP_ENABLE_RESET_ASSOC_REQ
            | sctpx.SCTP_ENABLE_CHANGE_ASSOC_REQ)  # fmt: skip
RECONF_EVENTS = (sctpx.SCTP_STREAM_RESET_EVENT, sctpx.SCTP_ASSOC_RESET_EVENT,
                 sctpx.SCTP_STREAM_CHANGE_EVENT)  # fmt: skip
Scenario = Callable[[int], dict[str, Any]]
SCENARIOS: dict[str, tuple[Scenario, int]] = {}
APART = ("intl_sysctl_off",)  # run by the host with net.sctp.intl_enable=0


def scenario(port: int) -> Callable[[Scenario], Scenario]:
    def add(fn: Scenario) -> Scenario:
        SCENARIOS[fn.__name__] = (fn, port)
        return fn

    return add


def sock(kind: int = sctpx.SOCK_STREAM) -> sctpx.socket:
    s = sctpx.socket(sctpx.AF_INET, kind, backend="kernel")
    s.settimeout(WAIT)
    return s


def errno_of(fn: Callable[[], Any]) -> Any:
    try:
        fn()
    except OSError as e:
        return {"errno": errno.errorcode.get(e.errno or 0, e.errno), "msg": str(e)}
    return None


def ev(e: Any) -> dict[str, Any]:
    d = {k: getattr(e, k) for k in getattr(e, "__slots__", ())}
    d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
    return {"kind": type(e).__name__, **d}


def drain(s: sctpx.socket, until: Callable[[list[dict[str, Any]]], bool],
          timeout: float = WAIT) -> list[dict[str, Any]]:  # fmt: skip
    """Events and whole messages (as {"kind": "data", ...}) until ``until(seen)``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(seen) and time.monotonic() < deadline:
        r, _w, _x = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        e = s.sctp_recv()
        if isinstance(e, sctpx.DataReceived):
            seen.append({"kind": "data", "sid": e.stream_id, "ssn": e.ssn, "tsn": e.tsn,
                         "len": len(e.data), "sha": hashlib.sha256(e.data).hexdigest()[:16],
                         "head": e.data[:12].decode(errors="replace")})  # fmt: skip
        else:
            seen.append(ev(e))
    return seen


def kinds(n: int, kind: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda seen: sum(x["kind"] == kind for x in seen) >= n


def pair(port: int, addr: str = "127.0.0.2", both: Callable[[sctpx.socket], None] | None = None,
         srv_bits: int = ALL_BITS, cli_bits: int = ALL_BITS
         ) -> tuple[sctpx.socket, sctpx.socket, sctpx.socket, int]:  # fmt: skip
    """A listening socket, a client connected to it, the accepted socket, the assoc id;
    RE-CONFIG events on, and the given SCTP_ENABLE_STREAM_RESET bits."""
    srv, cli = sock(), sock()
    for s, bits in ((srv, srv_bits), (cli, cli_bits)):
        s.subscribe(*RECONF_EVENTS)
        s.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, sctpx.AssocValue(0, bits))
        if both is not None:
            both(s)
    srv.bind((addr, port))
    srv.listen()
    cli.bind((CLI, 0))
    cli.setsockopt(SOL, sctpx.SCTP_RTOINFO, sctpx.RtoInfo(0, 300, 1000, 100))
    aid = cli.connectx([(addr, port)])
    conn, _peer = srv.accept()
    conn.settimeout(WAIT)
    return srv, cli, conn, aid


def sysctl(name: str) -> str:
    with open(f"/proc/sys/net/sctp/{name}") as f:
        return f.read().strip()


def close(*socks: sctpx.socket) -> None:
    for s in socks:
        s.close()


@contextlib.contextmanager
def unanswered(addr: str) -> Iterator[None]:
    """Packets to ``addr`` dropped (a blackhole in the local table) while inside."""
    subprocess.run(["ip", "route", "add", "blackhole", f"{addr}/32", "table", "local"],
                   check=True)  # fmt: skip
    try:
        yield
    finally:
        subprocess.run(["ip", "route", "del", "blackhole", f"{addr}/32", "table", "local"],
                       check=True)  # fmt: skip


def reset(s: sctpx.socket, flags: int, streams: tuple[int, ...] = (), aid: int = 0) -> None:
    s.setsockopt(SOL, sctpx.SCTP_RESET_STREAMS, sctpx.ResetStreams(aid, flags, streams))


def add(s: sctpx.socket, instrms: int, outstrms: int, aid: int = 0) -> None:
    s.setsockopt(SOL, sctpx.SCTP_ADD_STREAMS, sctpx.AddStreams(aid, instrms, outstrms))


def counts(s: sctpx.socket) -> list[int]:
    st = s.getsockopt(SOL, sctpx.SCTP_STATUS)
    return [st.instrms, st.outstrms]


OUT, IN = sctpx.SCTP_STREAM_RESET_OUTGOING, sctpx.SCTP_STREAM_RESET_INCOMING


@scenario(7300)
def stream_reset_both_ways(port: int) -> dict[str, Any]:
    srv, cli, conn, aid = pair(port)
    out: dict[str, Any] = {"aid": aid, "conn_aid": conn.getsockopt(SOL, sctpx.SCTP_STATUS).assoc_id,
                           "reconf_sysctl": sysctl("reconf_enable")}
    for i in range(2):
        cli.sctp_send(b"s1-%d" % i, stream=1)
    out["before"] = drain(conn, kinds(2, "data"))
    reset(cli, OUT, (1, 2))  # ours: outgoing
    out["cli_out"] = drain(cli, kinds(1, "StreamResetEvent"))
    out["conn_out"] = drain(conn, kinds(1, "StreamResetEvent"))
    cli.sctp_send(b"s1-after", stream=1)
    out["after"] = drain(conn, kinds(1, "data"))
    reset(cli, IN, (3,))  # the peer's outgoing stream 3, by its own request
    out["cli_in"] = drain(cli, kinds(1, "StreamResetEvent"))
    out["conn_in"] = drain(conn, kinds(1, "StreamResetEvent"))
    conn.sctp_send(b"x", stream=3)
    conn.sctp_send(b"y", stream=3)
    reset(conn, OUT)  # the other way, every stream
    out["conn_all"] = drain(conn, kinds(1, "StreamResetEvent"))
    out["cli_all"] = drain(cli, lambda s: kinds(2, "data")(s) and kinds(1, "StreamResetEvent")(s))
    conn.sctp_send(b"z", stream=3)
    out["cli_after_all"] = drain(cli, kinds(1, "data"))
    reset(cli, IN | OUT, ())
    out["cli_both"] = drain(cli, kinds(2, "StreamResetEvent"))
    out["conn_both"] = drain(conn, kinds(2, "StreamResetEvent"))
    close(cli, conn, srv)
    return out


@scenario(7310)
def stream_reset_denied_and_local_bit(port: int) -> dict[str, Any]:
    srv, cli, conn, _aid = pair(port, srv_bits=0, cli_bits=sctpx.SCTP_ENABLE_RESET_STREAM_REQ)
    out: dict[str, Any] = {}
    reset(cli, OUT, (1,))
    out["denied"] = drain(cli, kinds(1, "StreamResetEvent"))
    out["conn_saw"] = drain(conn, lambda s: bool(s), timeout=0.5)
    out["enable_cli"] = vars(cli.getsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET))
    out["enable_conn_assoc"] = vars(conn.getsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, 0))
    out["enable_srv"] = vars(srv.getsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET))
    # Linux sends nothing without the request's own bit on this end (streams.py)
    out["no_bit_reset"] = errno_of(lambda: reset(conn, OUT))
    out["no_bit_assoc"] = errno_of(lambda: conn.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0))
    out["no_bit_add"] = errno_of(lambda: add(conn, 0, 1))
    out["no_bit_assoc_cli"] = errno_of(lambda: cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0))
    close(cli, conn, srv)
    return out


@scenario(7320)
def add_streams_both_ways(port: int) -> dict[str, Any]:
    srv, cli, conn, _aid = pair(port)
    out: dict[str, Any] = {"start": [counts(cli), counts(conn)]}
    add(cli, 0, 3)
    out["out3"] = [drain(cli, kinds(1, "StreamChangeEvent")),
                   drain(conn, kinds(1, "StreamChangeEvent"))]  # fmt: skip
    out["after_out3"] = [counts(cli), counts(conn)]
    cli.sctp_send(b"on stream 12", stream=12)
    out["new_stream"] = drain(conn, kinds(1, "data"))
    add(cli, 2, 0)
    out["in2"] = [drain(cli, kinds(1, "StreamChangeEvent")),
                  drain(conn, kinds(1, "StreamChangeEvent"))]  # fmt: skip
    out["after_in2"] = [counts(cli), counts(conn)]
    conn.sctp_send(b"on stream 11", stream=11)
    out["new_in"] = drain(cli, kinds(1, "data"))
    add(cli, 1, 1)
    out["both"] = [drain(cli, kinds(2, "StreamChangeEvent")),
                   drain(conn, kinds(2, "StreamChangeEvent"))]  # fmt: skip
    out["after_both"] = [counts(cli), counts(conn)]
    conn.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, sctpx.AssocValue(0, 0))
    add(cli, 0, 2)
    out["denied"] = drain(cli, kinds(1, "StreamChangeEvent"))
    out["after_denied"] = counts(cli)
    out["zero"] = errno_of(lambda: add(cli, 0, 0))
    out["too_many"] = errno_of(lambda: add(cli, 0, 65530))
    out["not_16_bit"] = errno_of(lambda: add(cli, 70000, 0))
    close(cli, conn, srv)
    return out


@scenario(7330)
def assoc_reset_tsns(port: int) -> dict[str, Any]:
    srv, cli, conn, aid = pair(port)
    out: dict[str, Any] = {}
    cli.sctp_send(b"cli-before", stream=1)
    conn.sctp_send(b"conn-before", stream=1)
    out["before"] = [drain(conn, kinds(1, "data")), drain(cli, kinds(1, "data"))]
    time.sleep(0.3)  # acknowledged: Linux resets only with nothing queued or in flight
    cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, aid)
    out["cli_ev"] = drain(cli, kinds(1, "AssocResetEvent"))
    out["conn_ev"] = drain(conn, kinds(1, "AssocResetEvent"))
    cli.sctp_send(b"cli-after", stream=1)
    conn.sctp_send(b"conn-after", stream=1)
    out["after"] = [drain(conn, kinds(1, "data")), drain(cli, kinds(1, "data"))]
    out["again"] = errno_of(lambda: cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0))  # < 30 s
    time.sleep(0.3)
    conn.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0)  # the other end: its own 30 s
    out["conn_ev2"] = drain(conn, kinds(1, "AssocResetEvent"))
    out["cli_ev2"] = drain(cli, kinds(1, "AssocResetEvent"))
    out["bool"] = errno_of(lambda: cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, True))
    close(cli, conn, srv)
    srv, cli, conn, aid = pair(port + 1, srv_bits=sctpx.SCTP_ENABLE_RESET_STREAM_REQ)
    cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0)
    out["denied"] = drain(cli, kinds(1, "AssocResetEvent"))
    close(cli, conn, srv)
    return out


@scenario(7340)
def reconf_errnos(port: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    u = sock()
    out["unconnected_reset"] = errno_of(lambda: reset(u, OUT))
    out["unconnected_assoc"] = errno_of(lambda: u.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0))
    out["unconnected_add"] = errno_of(lambda: add(u, 0, 1))
    m = sock(sctpx.SOCK_SEQPACKET)
    out["m_no_id"] = errno_of(lambda: reset(m, OUT))
    out["m_unknown_id"] = errno_of(lambda: reset(m, OUT, (), 4242))
    out["m_unknown_assoc"] = errno_of(lambda: m.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 4242))
    out["bad_bits"] = errno_of(lambda: u.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET,
                                                    sctpx.AssocValue(0, 8)))  # fmt: skip
    m.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, sctpx.AssocValue(0, 5))
    out["m_future"] = [m.getsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, a).assoc_value
                       for a in (0, 1, 2)]  # fmt: skip
    close(u, m)
    srv, cli, conn, aid = pair(port, addr="127.0.0.6")
    out["flags_none"] = errno_of(lambda: reset(cli, 0))
    out["flags_unknown"] = errno_of(lambda: reset(cli, OUT | 4))
    out["bad_stream"] = errno_of(lambda: reset(cli, OUT, (4000,)))
    out["wrong_id"] = errno_of(lambda: reset(cli, OUT, (), aid + 100))
    with unanswered("127.0.0.6"):  # the request stays outstanding
        reset(cli, OUT, (1,))
        out["in_progress_reset"] = errno_of(lambda: reset(cli, OUT, (2,)))
        out["in_progress_assoc"] = errno_of(lambda: cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0))
        out["in_progress_add"] = errno_of(lambda: add(cli, 0, 1))
        out["sent_meanwhile"] = cli.sctp_send(b"held", stream=1)
    out["answered"] = drain(cli, kinds(1, "StreamResetEvent"))
    out["held_then"] = drain(conn, kinds(1, "data"))
    cli.setblocking(False)  # the peer reads nothing: messages wait unsent in the kernel
    try:
        for _ in range(5000):
            cli.sctp_send(os.urandom(4000), stream=3)
    except BlockingIOError:
        pass
    out["queued_reset"] = errno_of(lambda: reset(cli, OUT, (3,)))
    out["queued_other_stream"] = errno_of(lambda: reset(cli, OUT, (4,)))
    time.sleep(0.3)
    out["queued_assoc"] = errno_of(lambda: cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0))
    close(cli, conn, srv)
    # a peer that does not announce RE-CONFIG: a plain kernel socket (reconf_enable=0)
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM, SOL)
    plain.bind(("127.0.0.3", port + 1))
    plain.listen()
    c = sock()
    c.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, sctpx.AssocValue(0, ALL_BITS))
    c.connectx([("127.0.0.3", port + 1)])
    peer, _a = plain.accept()
    out["no_reconf_reset"] = errno_of(lambda: reset(c, OUT))
    out["no_reconf_add"] = errno_of(lambda: add(c, 0, 1))
    out["no_reconf_assoc"] = errno_of(lambda: c.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0))
    c.close()
    peer.close()
    plain.close()
    return out


def intl(s: sctpx.socket) -> None:
    s.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 2)
    s.setsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.AssocValue(0, 1))


@scenario(7350)
def interleaving_negotiated(port: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    s = sock()
    out["frag_default"] = s.getsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE)
    out["intl_default"] = s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED).assoc_value
    out["needs_frag_2"] = errno_of(lambda: s.setsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED,
                                                        sctpx.AssocValue(0, 1)))  # fmt: skip
    s.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 1)
    out["needs_frag_2_not_1"] = errno_of(lambda: s.setsockopt(
        SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.AssocValue(0, 1)))  # fmt: skip
    out["frag_bad"] = errno_of(lambda: s.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 3))
    intl(s)
    out["frag_2"] = s.getsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE)
    out["intl_on"] = s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED).assoc_value
    s.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 1)  # below 2: I-DATA off again
    out["intl_after_frag_1"] = s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED).assoc_value
    intl(s)
    s.setsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.AssocValue(0, 0))
    out["intl_set_0"] = s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED).assoc_value
    out["intl_by_assoc_id"] = errno_of(lambda: s.setsockopt(
        SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.AssocValue(7, 1)))  # fmt: skip
    s.close()
    srv, cli, conn, aid = pair(port, both=intl)
    out["assoc"] = [cli.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, aid).assoc_value,
                    conn.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, 0).assoc_value]
    out["conn_frag"] = conn.getsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE)  # inherited
    out["sched_default"] = cli.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, aid).assoc_value
    cli.setsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, sctpx.AssocValue(aid, sctpx.SCTP_SS_RR))
    big = b"B" * 200_000  # (a message larger than SO_SNDBUF is EMSGSIZE on Linux)
    seen: list[list[dict[str, Any]]] = []
    reader = threading.Thread(target=lambda: seen.append(drain(conn, kinds(11, "data"), 20)))
    reader.start()  # the receiver reads while the sender's buffer is full
    cli.sctp_send(big, stream=1)
    for i in range(10):
        cli.sctp_send(b"small-%02d" % i + b"." * 90, stream=2)
    reader.join()
    got = seen[0]
    out["got"] = [(g["sid"], g["len"], g["sha"]) for g in got if g["kind"] == "data"]
    out["big_sha"] = hashlib.sha256(big).hexdigest()[:16]
    close(cli, conn, srv)
    # one side offers I-DATA: DATA
    srv = sock()
    intl(srv)
    srv.bind(("127.0.0.2", port + 1))
    srv.listen()
    c = sock()
    a = c.connectx([("127.0.0.2", port + 1)])
    conn, _p = srv.accept()
    out["one_side"] = [c.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, a).assoc_value,
                       conn.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED).assoc_value]
    close(c, conn, srv)
    return out


@scenario(7360)
def scheduler_get_set(port: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    SS = sctpx.SCTP_STREAM_SCHEDULER
    m = sock(sctpx.SOCK_SEQPACKET)
    out["default"] = [m.getsockopt(SOL, SS, a).assoc_value for a in (0, 1, 2)]
    for name in ("SCTP_SS_RR_PKT", "SCTP_SS_FC", "SCTP_SS_WFQ"):
        out[name] = errno_of(lambda n=name: m.setsockopt(SOL, SS,
                                                         sctpx.AssocValue(0, getattr(sctpx, n))))
    out["unknown"] = errno_of(lambda: m.setsockopt(SOL, SS, sctpx.AssocValue(0, 99)))
    out["m_value_no_assoc"] = errno_of(lambda: m.setsockopt(
        SOL, sctpx.SCTP_STREAM_SCHEDULER_VALUE, sctpx.StreamValue(0, 1, 3)))  # fmt: skip
    out["m_unknown_assoc"] = errno_of(lambda: m.setsockopt(SOL, SS, sctpx.AssocValue(4242, 1)))
    m.setsockopt(SOL, SS, sctpx.AssocValue(0, sctpx.SCTP_SS_PRIO))  # future associations
    m.bind(("127.0.0.2", port))
    m.listen()
    c = sock(sctpx.SOCK_SEQPACKET)
    c.setsockopt(SOL, SS, sctpx.AssocValue(0, sctpx.SCTP_SS_RR))
    a = c.connectx([("127.0.0.2", port)])
    c.sctp_send(b"hello", assoc_id=a)
    _d, _f, info, _fl = m.sctp_recvmsg()
    ma = info.assoc_id
    out["inherited"] = [c.getsockopt(SOL, SS, a).assoc_value, m.getsockopt(SOL, SS, ma).assoc_value]
    VAL = sctpx.SCTP_STREAM_SCHEDULER_VALUE
    out["rr_value"] = errno_of(lambda: c.setsockopt(SOL, VAL, sctpx.StreamValue(a, 1, 3)))
    out["rr_value_get"] = c.getsockopt(SOL, VAL, (a, 1)).stream_value
    m.setsockopt(SOL, VAL, sctpx.StreamValue(ma, 1, 7))
    out["prio_value"] = vars(m.getsockopt(SOL, VAL, sctpx.StreamValue(ma, 1)))
    out["prio_value_other"] = m.getsockopt(SOL, VAL, (ma, 2)).stream_value
    out["prio_too_big"] = errno_of(lambda: m.setsockopt(SOL, VAL, sctpx.StreamValue(ma, 1, 70000)))
    out["prio_bad_stream"] = errno_of(lambda: m.setsockopt(SOL, VAL,
                                                           sctpx.StreamValue(ma, 400, 1)))
    out["get_bad_stream"] = errno_of(lambda: m.getsockopt(SOL, VAL, (ma, 400)))
    out["get_no_arg"] = errno_of(lambda: m.getsockopt(SOL, VAL))
    c.setsockopt(SOL, SS, sctpx.AssocValue(a, sctpx.SCTP_SS_FCFS))
    out["fcfs_now"] = c.getsockopt(SOL, SS, a).assoc_value
    out["fcfs_value"] = errno_of(lambda: c.setsockopt(SOL, VAL, sctpx.StreamValue(a, 1, 3)))
    u = sock()
    out["u_value"] = errno_of(lambda: u.setsockopt(SOL, VAL, sctpx.StreamValue(0, 0, 0)))
    out["u_sched_other_id"] = errno_of(lambda: u.setsockopt(SOL, SS, sctpx.AssocValue(5, 1)))
    close(u, c, m)
    return out


@scenario(7370)
def interleaved_parts_joined_by_sctp_recv(port: int) -> dict[str, Any]:
    """sctp_recv joins each message's parts when other associations' parts come between
    them (SCTP_FRAGMENT_INTERLEAVE 1 on a one-to-many socket, a small delivery point)."""
    m = sock(sctpx.SOCK_SEQPACKET)
    m.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 1)
    m.setsockopt(SOL, sctpx.SCTP_PARTIAL_DELIVERY_POINT, 2000)
    m.bind(("127.0.0.2", port))
    m.listen()
    msgs = {1: os.urandom(200_000), 2: os.urandom(150_000)}
    clients = []
    for sid, data in msgs.items():
        c = sock(sctpx.SOCK_SEQPACKET)
        a = c.connectx([("127.0.0.2", port)])
        clients.append((c, a, sid, data))
    for c, a, sid, data in clients:
        c.sctp_send(data, stream=sid, assoc_id=a)
    got = drain(m, kinds(2, "data"), timeout=20)
    res = {"got": sorted((g["sid"], g["len"], g["sha"]) for g in got if g["kind"] == "data"),
           "want": sorted((sid, len(d), hashlib.sha256(d).hexdigest()[:16])
                          for sid, d in msgs.items())}  # fmt: skip
    close(m, *[c for c, *_r in clients])
    return res


@scenario(7380)
def aio_streams(port: int) -> dict[str, Any]:
    return asyncio.run(_aio_streams(port))


async def _aio_streams(port: int) -> dict[str, Any]:
    srv = sock()  # the peer: a socket-API kernel socket that accepts every request
    srv.subscribe(*RECONF_EVENTS)
    srv.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, sctpx.AssocValue(0, ALL_BITS))
    srv.bind(("127.0.0.2", port))
    srv.listen()
    assoc = await sctpx.aio.connectx([("127.0.0.2", port)], backend="kernel", timeout=WAIT)
    conn, _p = await asyncio.to_thread(srv.accept)
    conn.settimeout(WAIT)
    out: dict[str, Any] = {"streams": [assoc.outbound_streams, assoc.inbound_streams]}
    got: list[dict[str, Any]] = []

    async def events(n: int) -> None:
        async def take() -> None:
            async for e in assoc.events():
                if type(e).__name__ != "AssocChange":
                    got.append(ev(e))
                if len(got) >= n:
                    return

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(take(), WAIT)

    assoc.reset_streams((1,))
    await events(1)
    assoc.add_streams(2, incoming=1)
    await events(3)
    out["streams_after"] = [assoc.outbound_streams, assoc.inbound_streams]
    assoc.send(b"on 11", stream=11)
    out["peer"] = await asyncio.to_thread(drain, conn, kinds(1, "data"))
    await asyncio.sleep(0.3)
    assoc.reset_assoc()
    await events(4)
    out["events"] = got
    out["again"] = errno_of(assoc.reset_assoc)
    out["enable"] = assoc._sock.getsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, 0).assoc_value
    out["interleaving"] = assoc.interleaving
    assoc.set_stream_scheduler("prio")
    assoc.set_stream_value(2, 9)
    out["value"] = assoc.stream_value(2)
    out["rr_pkt"] = errno_of(lambda: assoc.set_stream_scheduler("rr_pkt"))
    out["bogus"] = errno_of(lambda: assoc.set_stream_scheduler("bogus"))
    out["nothing"] = errno_of(lambda: assoc.reset_streams(outgoing=False))
    await assoc.close()
    out["ended"] = errno_of(lambda: assoc.add_streams(1))
    close(conn, srv)
    return out


@scenario(7390)
def intl_sysctl_off(port: int) -> dict[str, Any]:
    s = sock()
    s.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 2)
    out = {"sysctl": sysctl("intl_enable"),
           "on": errno_of(lambda: s.setsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED,
                                               sctpx.AssocValue(0, 1))),
           "off": errno_of(lambda: s.setsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED,
                                                sctpx.AssocValue(0, 0))),
           "kernel_eperm": errno_of(lambda: L.setsockopt_rc(s.fileno(), 125,
                                                             L.ASSOC_VALUE.pack(0, 0))),
           "value": s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED).assoc_value}  # fmt: skip
    s.close()
    return out


def main(names: list[str]) -> int:
    for name in names or [n for n in SCENARIOS if n not in APART]:
        t0 = time.monotonic()
        try:
            fn, port = SCENARIOS[name]
            rec = {"scenario": name, "result": fn(port)}
        except Exception:
            rec = {"scenario": name, "error": traceback.format_exc()}
        rec["seconds"] = round(time.monotonic() - t0, 3)
        print(json.dumps(rec, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
