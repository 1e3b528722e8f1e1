"""The sockets-API scenarios run on the kernel backend inside the VM (plain python3, no pytest).

``python3 g_scenarios.py [NAME ...]`` runs the named scenarios (all by default)
on ``sctpx.socket(..., backend="kernel")`` over the guest's loopback and prints
one JSON object a line: ``{"scenario": NAME, "result": {...}}`` or
``{"scenario": NAME, "error": "traceback"}``. The host's pytest tests
(test_kernel_backend.py) assert on the results; this file only observes.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import sctpx

S1, S2, S3 = "127.0.0.2", "127.0.0.3", "127.0.0.4"
CLI, CLI2 = "127.0.0.1", "127.0.0.5"
DEAD = "127.0.0.77"  # blackholed in the guest's local table (guest.py)
REFUSED = "127.0.0.9"  # a loopback address where nothing listens: answers with ABORT
WAIT = 5.0
SOL = sctpx.IPPROTO_SCTP
Scenario = Callable[[int], dict[str, Any]]
SCENARIOS: dict[str, tuple[Scenario, int]] = {}  # name: (function, its SCTP port)


def scenario(port: int) -> Callable[[Scenario], Scenario]:
    def add(fn: Scenario) -> Scenario:
        SCENARIOS[fn.__name__] = (fn, port)
        return fn

    return add


def sock(kind: int = sctpx.SOCK_STREAM, family: int = sctpx.AF_INET) -> sctpx.socket:
    s = sctpx.socket(family, kind, backend="kernel")
    s.settimeout(WAIT)
    return s


def fast(s: sctpx.socket, attempts: int = 0) -> None:
    """Short RTOs so a dead address is left after 0.3 s (the kernel's initial RTO is 3 s)."""
    s.setsockopt(SOL, sctpx.SCTP_RTOINFO, sctpx.RtoInfo(0, 300, 1000, 100))
    if attempts:
        s.setsockopt(SOL, sctpx.SCTP_INITMSG, sctpx.InitMsg(max_attempts=attempts))


def server(port: int, kind: int = sctpx.SOCK_STREAM, addrs: tuple[str, ...] = (S1, S2),
           events: tuple[int, ...] = ()) -> sctpx.socket:  # fmt: skip
    s = sock(kind)
    s.bind((addrs[0], port))
    if addrs[1:]:
        s.bindx([(a, port) for a in addrs[1:]])
    s.subscribe(*events)
    s.listen()
    return s


def client(kind: int = sctpx.SOCK_STREAM, bind: tuple[str, ...] = (CLI,),
           events: tuple[int, ...] = (), attempts: int = 0) -> sctpx.socket:  # fmt: skip
    c = sock(kind)
    c.bind((bind[0], 0))
    if bind[1:]:
        c.bindx([(a, 0) for a in bind[1:]])
    c.subscribe(*events)
    fast(c, attempts)
    return c


def errno_of(fn: Callable[[], Any]) -> Any:
    try:
        fn()
    except OSError as e:
        return {"errno": errno.errorcode.get(e.errno or 0, e.errno), "type": type(e).__name__,
                "assoc_id": getattr(e, "assoc_id", None)}  # fmt: skip
    return None


def ev(e: Any) -> dict[str, Any]:
    d = {k: getattr(e, k) for k in getattr(e, "__slots__", ())}
    d = {k: (v.name if hasattr(v, "name") else v) for k, v in d.items()}
    d = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in d.items() if k != "causes"}
    return {"kind": type(e).__name__, **d}


def notifications(s: sctpx.socket, until: Callable[[list[dict[str, Any]]], bool],
                  timeout: float = WAIT) -> list[dict[str, Any]]:  # fmt: skip
    """Read notifications (and note data) until ``until(seen)`` or the timeout."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(seen) and time.monotonic() < deadline:
        r, _w, _x = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        data, _frm, info, flags = s.sctp_recvmsg()
        seen.append(ev(data) if flags & sctpx.MSG_NOTIFICATION else
                    {"kind": "data", "data": data.hex(), "assoc_id": info.assoc_id})  # fmt: skip
    return seen


def rcv(info: Any) -> dict[str, Any]:
    return {"sid": info.sid, "ppid": info.ppid, "flags": info.flags, "assoc_id": info.assoc_id}


@scenario(7000)
def connectx_dead_first_two_paths(port: int) -> dict[str, Any]:
    srv = server(port, events=(sctpx.SCTP_PEER_ADDR_CHANGE, sctpx.SCTP_ASSOC_CHANGE))
    cli = client(bind=(CLI, CLI2), events=(sctpx.SCTP_ASSOC_CHANGE,))
    t0 = time.monotonic()
    aid = cli.connectx([(DEAD, port), (S1, port), (S2, port)])
    took = time.monotonic() - t0
    conn, peer = srv.accept()
    conn.settimeout(WAIT)
    infos = {ip: cli.getsockopt(SOL, sctpx.SCTP_GET_PEER_ADDR_INFO, (aid, (ip, port))).state
             for ip in (S1, S2)}  # fmt: skip
    st = cli.getsockopt(SOL, sctpx.SCTP_STATUS, aid)
    up = notifications(cli, lambda seen: any(s["kind"] == "AssocChange" for s in seen))
    # the server: the client's second address only the client announced starts unconfirmed
    # and is confirmed by a HEARTBEAT, with a notification (RFC 9260 §5.4)
    srv_side = notifications(conn, lambda seen: any(s.get("state") == "CONFIRMED"
                                                    for s in seen), timeout=10)  # fmt: skip
    res = {"aid": aid, "took": took, "paddrs": cli.getpaddrs(aid), "peer": list(peer),
           "states": infos, "status_state": st.state, "status_primary": list(st.primary.address),
           "cli_events": up, "srv_events": srv_side, "srv_paddrs": conn.getpaddrs(),
           "ladrs": cli.getladdrs(aid), "peername": list(cli.getpeername())}  # fmt: skip
    for s in (cli, conn, srv):
        s.close()
    return res


@scenario(7010)
def data_both_ways(port: int) -> dict[str, Any]:
    srv = server(port)
    cli = client()
    cli.connectx([(S1, port), (S2, port)])
    conn, _peer = srv.accept()
    conn.settimeout(WAIT)
    out: dict[str, Any] = {}
    cli.sctp_send(b"one", stream=3, ppid=46, flags=sctpx.SCTP_UNORDERED)
    cli.sctp_send(b"two!", stream=2, ppid=0xDEADBEEF)
    time.sleep(0.2)  # both queued, so that NXTINFO shows the second
    data, info, nxt, flags = conn.sctp_recvv()
    out["first"] = {"data": data.decode(), **rcv(info), "eor": bool(flags & sctpx.MSG_EOR),
                    "nxt": None if nxt is None else vars(nxt)}  # fmt: skip
    data, frm, info, flags = conn.sctp_recvmsg()
    out["second"] = {"data": data.decode(), **rcv(info), "from": list(frm) if frm else None}
    conn.sctp_sendv(b"back", sctpx.SndInfo(sid=5, ppid=0x01020304))
    data, _f, info, _fl = cli.sctp_recvmsg()
    out["back"] = {"data": data.decode(), **rcv(info)}
    conn.setsockopt(SOL, sctpx.SCTP_DEFAULT_SNDINFO, sctpx.SndInfo(sid=1, ppid=99))
    conn.send(b"default")
    _d, _f, info, _fl = cli.sctp_recvmsg()
    out["default_sndinfo"] = rcv(info)
    big = os.urandom(200_000)
    cli.sctp_send(big, stream=1, ppid=7)
    out["big_ok"] = conn.sctp_recv().data == big
    cli.sendall(b"plain")
    out["plain"] = conn.recv(100).decode()
    out["empty"] = errno_of(lambda: cli.sctp_send(b""))
    out["bad_stream"] = errno_of(lambda: cli.sctp_send(b"x", stream=4000))
    out["bad_ppid"] = errno_of(lambda: cli.sctp_send(b"x", ppid=1 << 32))
    cli.shutdown(socket.SHUT_WR)
    out["eof"] = conn.recv(100).decode()
    for s in (cli, conn, srv):
        s.close()
    return out


@scenario(7020)
def one_to_many_and_peeloff(port: int) -> dict[str, Any]:
    srv = server(port, sctpx.SOCK_SEQPACKET, events=(sctpx.SCTP_ASSOC_CHANGE,))
    c1 = client(sctpx.SOCK_SEQPACKET, events=(sctpx.SCTP_ASSOC_CHANGE,))
    c2 = client(sctpx.SOCK_SEQPACKET, bind=(CLI2,))
    a1 = c1.connectx([(S1, port)])
    a2 = c2.connectx([(S2, port), (S1, port)])
    c1.sctp_send(b"from c1", assoc_id=a1, ppid=1)
    c2.sctp_send(b"from c2", assoc_id=a2, ppid=2)
    seen = notifications(srv, lambda s: sum(x["kind"] == "data" for x in s) >= 2)
    ids = srv.getsockopt(SOL, sctpx.SCTP_GET_ASSOC_ID_LIST)
    c1_hex = b"from c1".hex()
    first = next(x["assoc_id"] for x in seen if x["kind"] == "data" and x["data"] == c1_hex)
    child = srv.peeloff(first)
    child.settimeout(WAIT)
    c1.sctp_send(b"to the child", assoc_id=a1)
    got = child.recv(100).decode()
    child.send(b"from the child")
    back = notifications(c1, lambda s: any(x["kind"] == "data" for x in s))
    after = srv.getsockopt(SOL, sctpx.SCTP_GET_ASSOC_ID_LIST)
    res = {"a1": a1, "a2": a2, "seen": seen, "ids": ids, "peeled": first, "child_got": got,
           "c1_back": back, "ids_after": after, "child_type": child.type,
           "bad_peeloff": errno_of(lambda: srv.peeloff(99999)),
           "c1_assoc_number": c1.getsockopt(SOL, sctpx.SCTP_GET_ASSOC_NUMBER)}  # fmt: skip
    for s in (c1, c2, child, srv):
        s.close()
    return res


@scenario(7030)
def implicit_setup_one_to_many(port: int) -> dict[str, Any]:
    srv = server(port, sctpx.SOCK_SEQPACKET)
    cli = client(sctpx.SOCK_SEQPACKET, events=(sctpx.SCTP_ASSOC_CHANGE,))
    n = cli.sctp_send(b"implicit", to=(S1, port), ppid=9, stream=1)
    data, frm, info, _f = srv.sctp_recvmsg()
    up = notifications(cli, lambda s: any(x["kind"] == "AssocChange" for x in s))
    res = {"n": n, "data": data.decode(), "info": rcv(info), "from": list(frm) if frm else None,
           "cli_events": up}  # fmt: skip
    cli.close()
    srv.close()
    return res


@scenario(7040)
def errno_matrix(port: int) -> dict[str, Any]:
    srv = server(port)
    out: dict[str, Any] = {}
    c = client()
    with open("/proc/self/status") as f:
        closed = client()
        closed_fd = closed.fileno()
        closed.close()
        out["EINVAL_none"] = errno_of(lambda: sctpx.sctp_connectx(c, []))
        out["EINVAL_family"] = errno_of(lambda: sctpx.sctp_connectx(
            c, b"\x63\x00" + bytes(14), 1))  # fmt: skip
        out["EINVAL_count"] = errno_of(lambda: sctpx.sctp_connectx(
            c, sctpx.pack_sockaddrs([(S1, port)]), 0))  # fmt: skip
        out["EINVAL_ports"] = errno_of(lambda: c.connectx([(S1, port), (S2, port + 1)]))
        out["EINVAL_v6_on_v4"] = errno_of(lambda: c.connectx([("::1", port)]))
        out["EINVAL_wildcard"] = errno_of(lambda: c.connectx([("0.0.0.0", port)]))
        out["E2BIG"] = errno_of(lambda: sctpx.sctp_connectx(
            c, sctpx.pack_sockaddrs([(S1, port)]), 2))  # fmt: skip
        out["EBADF"] = errno_of(lambda: sctpx.sctp_connectx(-1, [(S1, port)]))
        out["EBADF_closed"] = errno_of(lambda: sctpx.sctp_connectx(closed_fd, [(S1, port)]))
        out["ENOTSOCK"] = errno_of(lambda: sctpx.sctp_connectx(f.fileno(), [(S1, port)]))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out["EOPNOTSUPP"] = errno_of(lambda: sctpx.sctp_connectx(udp.fileno(), [(S1, port)]))
    udp.close()
    out["ECONNREFUSED"] = errno_of(lambda: c.connectx([(S1, port + 1)]))
    out["refused_first"] = errno_of(lambda: client().connectx([(REFUSED, port), (S1, port)]))
    out["by_fd"] = sctpx.sctp_connectx(c.fileno(), sctpx.pack_sockaddrs([(S1, port)]), 1)
    out["EISCONN"] = errno_of(lambda: c.connectx([(S2, port)]))
    out["EISCONN_listening"] = errno_of(lambda: srv.connectx([(S1, port)]))
    t = client(attempts=2)
    t0 = time.monotonic()
    out["ETIMEDOUT"] = errno_of(lambda: t.connectx([(DEAD, port)]))
    out["ETIMEDOUT_took"] = time.monotonic() - t0
    w = client()
    w.settimeout(0.5)
    t0 = time.monotonic()
    out["socket_timeout"] = errno_of(lambda: w.connectx([(DEAD, port)]))
    out["socket_timeout_took"] = time.monotonic() - t0
    nb = client()
    nb.setblocking(False)
    out["EINPROGRESS"] = errno_of(lambda: nb.connectx([(DEAD, port)]))
    out["EALREADY"] = errno_of(lambda: nb.connectx([(S1, port)]))
    m = client(sctpx.SOCK_SEQPACKET)
    m.setblocking(False)
    out["m_EINPROGRESS"] = errno_of(lambda: m.connectx([(DEAD, port)]))
    out["m_EALREADY"] = errno_of(lambda: m.connectx([(DEAD, port)]))
    m.setblocking(True)
    m.settimeout(WAIT)
    out["m_up"] = m.connectx([(S1, port)])
    out["m_EISCONN"] = errno_of(lambda: m.connectx([(S1, port)]))
    for s in (c, t, w, nb, m, srv):
        s.close()
    out["EBADF_method"] = errno_of(lambda: c.connectx([(S1, port)]))
    return out


@scenario(7050)
def non_blocking_with_select(port: int) -> dict[str, Any]:
    srv = server(port)
    cli = client()
    cli.setblocking(False)
    out: dict[str, Any] = {}
    try:
        cli.connectx([(S1, port)])
        out["raised"] = None
    except sctpx.InProgress as e:
        out["raised"] = "InProgress"
        out["assoc_id"] = e.assoc_id
    _r, w, _x = select.select([], [cli], [], WAIT)
    out["writable"] = bool(w)
    out["so_error"] = cli.getsockopt(sctpx.SOL_SOCKET, socket.SO_ERROR)
    out["status_id"] = cli.getsockopt(SOL, sctpx.SCTP_STATUS).assoc_id
    out["recv_empty"] = errno_of(lambda: cli.recv(100))
    conn, _p = srv.accept()
    conn.sctp_send(b"wake", ppid=3)
    r, _w, _x = select.select([cli], [], [], WAIT)
    out["readable"] = bool(r)
    out["got"] = cli.recv(100).decode()
    bad = client()
    bad.setblocking(False)
    out["bad_raised"] = errno_of(lambda: bad.connectx([(S1, port + 1)]))
    _r, w, _x = select.select([], [bad], [], WAIT)
    out["bad_writable"] = bool(w)
    out["bad_so_error"] = errno.errorcode.get(bad.getsockopt(sctpx.SOL_SOCKET, socket.SO_ERROR))
    for s in (cli, conn, srv, bad):
        s.close()
    return out


@scenario(7060)
def notifications_end_of_life(port: int) -> dict[str, Any]:
    srv = server(port, events=(sctpx.SCTP_SHUTDOWN_EVENT, sctpx.SCTP_ASSOC_CHANGE))
    cli = client(events=(sctpx.SCTP_ASSOC_CHANGE, sctpx.SCTP_SENDER_DRY_EVENT,
                         sctpx.SCTP_SEND_FAILED_EVENT))  # fmt: skip
    aid = cli.connectx([(S1, port)])
    conn, _p = srv.accept()
    conn.settimeout(WAIT)
    cli.sctp_send(b"x" * 100, ppid=5)
    dry = notifications(cli, lambda s: any(x["kind"] == "SenderDry" for x in s))
    conn.recv(1000)
    cli.shutdown(socket.SHUT_WR)
    shut = notifications(conn, lambda s: any(x["kind"] == "ShutdownEvent" for x in s))
    done = notifications(cli, lambda s: any(x.get("state") == "SHUTDOWN_COMP" for x in s))
    # SendFailed: the receiver reads nothing, the sender fills the window, then aborts
    cli2 = client(sctpx.SOCK_SEQPACKET,
                  events=(sctpx.SCTP_ASSOC_CHANGE, sctpx.SCTP_SEND_FAILED_EVENT))  # fmt: skip
    aid2 = cli2.connectx([(S1, port)])
    conn2, _p = srv.accept()
    cli2.setblocking(False)
    sent = 0
    try:
        for _ in range(2000):
            cli2.sctp_send(os.urandom(8000), ppid=77, stream=1, assoc_id=aid2)
            sent += 1
    except BlockingIOError:
        pass
    cli2.setblocking(True)
    cli2.settimeout(WAIT)
    out_abort_1to1 = errno_of(lambda: cli.sctp_send(b"x", flags=sctpx.SCTP_ABORT))
    cli2.sctp_send(b"", flags=sctpx.SCTP_ABORT, assoc_id=aid2)
    failed = notifications(cli2, lambda s: any(x["kind"] == "SendFailed" for x in s)
                           and any(x["kind"] == "AssocChange" and x["state"] == "COMM_LOST"
                                   for x in s), timeout=WAIT)  # fmt: skip
    brief = [{k: v for k, v in f.items() if k != "data"}
             | ({"len": len(f["data"]) // 2} if "data" in f else {}) for f in failed]  # fmt: skip
    res = {"aid": aid, "aid2": aid2, "dry": dry, "shutdown": shut, "done": done,
           "abort_1to1": out_abort_1to1, "sent": sent, "failed": brief}  # fmt: skip
    for s in (cli, conn, cli2, conn2, srv):
        s.close()
    return res


@scenario(7070)
def options_round_trip(port: int) -> dict[str, Any]:
    srv = server(port)
    cli = client()
    out: dict[str, Any] = {}
    cli.setsockopt(SOL, sctpx.SCTP_INITMSG, sctpx.InitMsg(num_ostreams=5, max_instreams=7))
    cli.setsockopt(SOL, sctpx.SCTP_NODELAY, 1)
    out["initmsg"] = vars(cli.getsockopt(SOL, sctpx.SCTP_INITMSG))
    out["nodelay"] = cli.getsockopt(SOL, sctpx.SCTP_NODELAY)
    aid = cli.connectx([(S1, port), (S2, port)])
    st = cli.getsockopt(SOL, sctpx.SCTP_STATUS, aid)
    out["status"] = {"state": st.state, "outstrms": st.outstrms, "instrms": st.instrms,
                     "primary": list(st.primary.address),
                     "frag": st.fragmentation_point}  # fmt: skip
    cli.setsockopt(SOL, sctpx.SCTP_RTOINFO, sctpx.RtoInfo(aid, 400, 2000, 200))
    out["rtoinfo"] = vars(cli.getsockopt(SOL, sctpx.SCTP_RTOINFO, aid))
    cli.setsockopt(SOL, sctpx.SCTP_ASSOCINFO, sctpx.AssocParams(aid, asocmaxrxt=6))
    out["associnfo"] = vars(cli.getsockopt(SOL, sctpx.SCTP_ASSOCINFO, aid))
    params = sctpx.PeerAddrParams(aid, (S2, port), hbinterval=7000, pathmaxrxt=3)
    cli.setsockopt(SOL, sctpx.SCTP_PEER_ADDR_PARAMS, params)
    p = cli.getsockopt(SOL, sctpx.SCTP_PEER_ADDR_PARAMS, (aid, (S2, port)))
    out["paddrparams_s2"] = {"hb": p.hbinterval, "rxt": p.pathmaxrxt, "mtu": p.pathmtu}
    p = cli.getsockopt(SOL, sctpx.SCTP_PEER_ADDR_PARAMS, (aid, (S1, port)))
    out["paddrparams_s1"] = {"hb": p.hbinterval, "rxt": p.pathmaxrxt}
    cli.setsockopt(SOL, sctpx.SCTP_PRIMARY_ADDR, sctpx.PrimaryAddr(aid, (S2, port)))
    out["primary_after"] = list(cli.getsockopt(SOL, sctpx.SCTP_STATUS, aid).primary.address)
    cli.setsockopt(SOL, sctpx.SCTP_MAXSEG, 1000)
    out["maxseg_future"] = cli.getsockopt(SOL, sctpx.SCTP_MAXSEG)
    out["maxseg_assoc"] = cli.getsockopt(SOL, sctpx.SCTP_MAXSEG, aid)
    out["maxseg_bad"] = errno_of(lambda: cli.setsockopt(SOL, sctpx.SCTP_MAXSEG, 10))
    cli.setsockopt(SOL, sctpx.SCTP_PARTIAL_DELIVERY_POINT, 4096)
    out["pd_point"] = cli.getsockopt(SOL, sctpx.SCTP_PARTIAL_DELIVERY_POINT)
    other = client()  # (on cli it would send the ABORT below over UDP to a closed port)
    other.setsockopt(SOL, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT, sctpx.UdpEncaps(0, None, 9931))
    out["encaps"] = other.getsockopt(SOL, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT, 0).port
    other.close()
    out["assoc_ids"] = cli.getsockopt(SOL, sctpx.SCTP_GET_ASSOC_ID_LIST)
    out["assoc_number"] = cli.getsockopt(SOL, sctpx.SCTP_GET_ASSOC_NUMBER)
    out["stagger"] = errno_of(lambda: cli.setsockopt(SOL, sctpx.SCTPX_INIT_STAGGER, 0.1))
    out["unknown"] = errno_of(lambda: cli.getsockopt(SOL, 4242))
    cli.setsockopt(sctpx.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    out["rcvbuf"] = cli.getsockopt(sctpx.SOL_SOCKET, socket.SO_RCVBUF)
    cli.setsockopt(sctpx.SOL_SOCKET, socket.SO_LINGER, (1, 0))
    out["linger"] = list(cli.getsockopt(sctpx.SOL_SOCKET, socket.SO_LINGER))
    t0 = time.monotonic()
    conn, _p = srv.accept()
    conn.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    out["t_accept"] = time.monotonic() - t0
    cli.close()  # linger 0: ABORT
    out["after_linger"] = notifications(conn, lambda s: bool(s))
    out["t_notified"] = time.monotonic() - t0
    out["recv_after_abort"] = conn.recv(10).decode()
    out["t_recv"] = time.monotonic() - t0
    conn.close()
    srv.close()
    return out


@scenario(7080)
def ipv6_and_mapped(port: int) -> dict[str, Any]:
    srv = sock(family=sctpx.AF_INET6)
    srv.bind(("::", port))
    srv.listen()
    v6 = sock(family=sctpx.AF_INET6)
    v6.bind(("::1", 0))
    aid6 = v6.connectx([("::1", port)])
    c6, p6 = srv.accept()
    v4 = client()
    aid4 = v4.connectx([(CLI, port)])
    c4, p4 = srv.accept()
    v4.sctp_send(b"v4", ppid=4)
    _d, frm, info, _f = c4.sctp_recvmsg()
    res = {"aid6": aid6, "peer6": list(p6), "paddrs6": v6.getpaddrs(), "aid4": aid4,
           "peer4": list(p4), "from4": list(frm) if frm else None, "ppid": info.ppid,
           "srv_name": list(srv.getsockname()),
           "mapped_arg": c4.getsockopt(SOL, sctpx.SCTP_GET_PEER_ADDR_INFO,
                                       (f"::ffff:{CLI}", p4[1])).state}  # fmt: skip
    for s in (v6, c6, v4, c4, srv):
        s.close()
    return res


@scenario(7090)
def kernel_available_and_socket_class(port: int) -> dict[str, Any]:
    s = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_SEQPACKET, backend="kernel")
    os.environ["SCTPX_BACKEND"] = "kernel"
    e = sctpx.socket()
    os.environ["SCTPX_BACKEND"] = "user"
    u = sctpx.socket()
    del os.environ["SCTPX_BACKEND"]
    res = {"available": sctpx.kernel_available(), "isinstance": isinstance(s, sctpx.socket),
           "kind": type(s).__name__, "env_kind": type(e).__name__, "user_kind": type(u).__name__,
           "fileno_is_sctp": socket.socket(fileno=os.dup(s.fileno())).proto}  # fmt: skip
    for x in (s, e, u):
        x.close()
    return res


def main(names: list[str]) -> int:
    for name in names or list(SCENARIOS):
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
