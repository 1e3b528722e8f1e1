"""The kernel backend's side of the cross-tests with sctpx's userspace stack on the host.

``g_cross.py client --to A,B -p PORT --encaps UDPPORT``: connectx to the host over
SCTP/UDP, send one message, read the answer, print one JSON result.
``g_cross.py server -b A,B -p PORT``: accept one association, answer every message
with its PPID + 1 on the same stream, print JSON records (first: listening).
"""

from __future__ import annotations

import argparse
import json
import sys

import sctpx

SOL = sctpx.IPPROTO_SCTP


def say(**rec: object) -> None:
    print(json.dumps(rec, default=str), flush=True)


def client(a: argparse.Namespace) -> None:
    c = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, backend="kernel")
    c.settimeout(20)
    c.bind((a.bind.split(",")[0], 0))
    for ip in a.bind.split(",")[1:]:
        c.bindx([(ip, 0)])
    c.setsockopt(SOL, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT, sctpx.UdpEncaps(port=a.encaps))
    c.subscribe(sctpx.SCTP_PEER_ADDR_CHANGE)
    aid = c.connectx([(ip, a.port) for ip in a.to.split(",")])
    c.sctp_send(b"ping from the kernel", stream=2, ppid=46)
    while True:
        data, _frm, info, flags = c.sctp_recvmsg()
        if not flags & sctpx.MSG_NOTIFICATION:
            break
    states = {ip: c.getsockopt(SOL, sctpx.SCTP_GET_PEER_ADDR_INFO, (ip, a.port)).state
              for ip in a.to.split(",")}  # fmt: skip
    say(ev="done", aid=aid, paddrs=c.getpaddrs(aid), data=data.decode(), sid=info.sid,
        ppid=info.ppid, states=states)  # fmt: skip
    c.close()


def server(a: argparse.Namespace) -> None:
    s = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, backend="kernel")
    ips = a.bind.split(",")
    s.bind((ips[0], a.port))
    if ips[1:]:
        s.bindx([(ip, a.port) for ip in ips[1:]])
    s.listen()
    say(ev="listening", port=a.port)
    conn, peer = s.accept()
    say(ev="accepted", peer=peer, paddrs=conn.getpaddrs())
    while True:
        try:
            data, _frm, info, _flags = conn.sctp_recvmsg()
        except OSError:
            break
        if not data:
            break
        say(ev="data", data=data.decode(), sid=info.sid, ppid=info.ppid)
        conn.sctp_send(b"pong: " + data, stream=info.sid, ppid=info.ppid + 1)
    say(ev="closed")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["client", "server"])
    p.add_argument("--to", default="")
    p.add_argument("-b", "--bind", default="0.0.0.0")
    p.add_argument("-p", "--port", type=int, required=True)
    p.add_argument("--encaps", type=int, default=9899)
    a = p.parse_args()
    (client if a.role == "client" else server)(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
