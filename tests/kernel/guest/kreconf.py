#!/usr/bin/python3
"""Kernel-SCTP peer for the RE-CONFIG (RFC 6525) and I-DATA (RFC 8260) tests, in the VM.

usage: kreconf.py -p PORT -b ADDR[,ADDR] --cmd FIFO [--enable BITS] [--intl] [--sched rr]

One one-to-one socket (SOCK_STREAM) listening on ADDR:PORT, one association accepted.
Commands come one a line through the named pipe FIFO (the test writes them with the
agent: ``echo 'reset out 1 2' > FIFO``); every line of output is one JSON object:

  {"ev": "listening"}  {"ev": "up", "istreams": N, "ostreams": N, "assoc_id": N}
  {"ev": "msg", "sid": S, "ssn": N, "len": L, "sha": HEX16, "head": TEXT}  (whole messages)
  {"ev": "stream_reset", "flags": F, "streams": [..]}
  {"ev": "assoc_reset", "flags": F, "local_tsn": T, "remote_tsn": T}
  {"ev": "stream_change", "flags": F, "in": N, "out": N, "total_in": N, "total_out": N}
  {"ev": "ok", "cmd": C} / {"ev": "err", "cmd": C, "errno": E}    (each command's outcome)
  {"ev": "status", "in": N, "out": N}

Commands: ``send SID COUNT SIZE TAG [TTL]`` (COUNT messages "TAG-000001:" padded with "."
to SIZE; TTL: a PR-SCTP lifetime in ms), ``reset out|in|both [SID ...]``
(SCTP_RESET_STREAMS), ``add out|in N`` (SCTP_ADD_STREAMS), ``assoc`` (SCTP_RESET_ASSOC),
``status``, ``close``.

Socket option numbers: Linux include/uapi/linux/sctp.h (6.1): SCTP_EVENTS 11,
SCTP_STATUS 14, SCTP_FRAGMENT_INTERLEAVE 18, SCTP_PARTIAL_DELIVERY_POINT 19,
SCTP_SOCKOPT_BINDX_ADD 100,
SCTP_RECONFIG_SUPPORTED 117, SCTP_ENABLE_STREAM_RESET 118, SCTP_RESET_STREAMS 119,
SCTP_RESET_ASSOC 120, SCTP_ADD_STREAMS 121, SCTP_STREAM_SCHEDULER 123 (enum
sctp_sched_type: FCFS 0, PRIO 1, RR 2), SCTP_INTERLEAVING_SUPPORTED 125; the
notification types SCTP_STREAM_RESET_EVENT 0x800a, SCTP_ASSOC_RESET_EVENT 0x800b,
SCTP_STREAM_CHANGE_EVENT 0x800c (enum sctp_sn_type) and struct sctp_event_subscribe's
bytes 10-12 for them. SCTP_INTERLEAVING_SUPPORTED needs net.sctp.intl_enable=1 and
SCTP_FRAGMENT_INTERLEAVE 2 first (else EPERM); RE-CONFIG needs net.sctp.reconf_enable=1.
"""

import argparse
import errno
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

SOL_SCTP = 132
SCTP_EVENTS = 11
SCTP_STATUS = 14
SCTP_FRAGMENT_INTERLEAVE = 18
SCTP_PARTIAL_DELIVERY_POINT = 19
SCTP_SOCKOPT_BINDX_ADD = 100
SCTP_RECONFIG_SUPPORTED = 117
SCTP_ENABLE_STREAM_RESET = 118
SCTP_RESET_STREAMS = 119
SCTP_RESET_ASSOC = 120
SCTP_ADD_STREAMS = 121
SCTP_STREAM_SCHEDULER = 123
SCTP_INTERLEAVING_SUPPORTED = 125
SCHEDULERS = {"fcfs": 0, "prio": 1, "rr": 2}  # enum sctp_sched_type
SCTP_SNDRCV = 1  # cmsg type: struct sctp_sndrcvinfo
MSG_NOTIFICATION = 0x8000
SNDRCV = struct.Struct("=HHHxxIIIIIi")  # stream ssn flags ppid context ttl tsn cumtsn assoc_id
ASSOC_VALUE = struct.Struct("=iI")  # struct sctp_assoc_value
STREAM_RESET_INCOMING, STREAM_RESET_OUTGOING = 0x01, 0x02
SCTP_PR_SCTP_TTL = 0x0010  # sinfo_flags: the PR-SCTP policy "timed" (RFC 3758, Linux's value)

_lock = threading.Lock()
_conn = None
_up = threading.Event()


def out(**kw):
    with _lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()


def sockaddr(ip, port):
    if ":" in ip:
        return (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0)
                + socket.inet_pton(socket.AF_INET6, ip) + struct.pack("=I", 0))
    return (struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton(ip)
            + bytes(8))


def stream_counts(conn):
    """(inbound, outbound) streams of the association now (SCTP_STATUS)."""
    raw = conn.getsockopt(SOL_SCTP, SCTP_STATUS, 256)
    ins, outs = struct.unpack_from("=iiIHHHH", raw)[5:7]
    return ins, outs


def notification(conn, data):
    typ, _flags, _len = struct.unpack_from("=HHI", data)
    if typ == 0x8001:  # SCTP_ASSOC_CHANGE
        st, err, ost, ist, aid = struct.unpack_from("=HHHHi", data, 8)
        if st in (0, 2):  # COMM_UP, RESTART
            out(ev="up", istreams=ist, ostreams=ost, assoc_id=aid)
            _up.set()
        else:
            out(ev="down", state=st, error=err)
    elif typ == 0x8005:
        out(ev="shutdown")
    elif typ == 0x800A:  # struct sctp_stream_reset_event
        _t, flags, length, _aid = struct.unpack_from("=HHIi", data)
        n = (length - 12) // 2
        out(ev="stream_reset", flags=flags, streams=list(struct.unpack_from(f"={n}H", data, 12)))
    elif typ == 0x800B:  # struct sctp_assoc_reset_event
        _t, flags, _l, _aid, local, remote = struct.unpack_from("=HHIiII", data)
        out(ev="assoc_reset", flags=flags, local_tsn=local, remote_tsn=remote)
    elif typ == 0x800C:  # struct sctp_stream_change_event
        # Linux 6.1 puts the numbers of streams added here, not the new totals (RFC 6525
        # §6.1.3): the totals from SCTP_STATUS go with them
        _t, flags, _l, _aid, ins, outs = struct.unpack_from("=HHIiHH", data)
        total_in, total_out = stream_counts(conn)
        out(ev="stream_change", flags=flags, total_in=total_in, total_out=total_out,
            **{"in": ins, "out": outs})
    else:
        out(ev="notification", type=typ)


def reader(conn):
    parts = {}  # stream -> bytes of the message being joined (fragment interleave 2)
    while True:
        try:
            data, anc, flags, _addr = conn.recvmsg(1 << 20, socket.CMSG_SPACE(SNDRCV.size))
        except OSError as e:
            out(ev="down", recv_errno=e.errno)
            return
        if not data and not anc:
            out(ev="down", eof=True)
            return
        if flags & MSG_NOTIFICATION:
            notification(conn, data)
            continue
        info = None
        for level, typ, cdata in anc:
            if level == SOL_SCTP and typ == SCTP_SNDRCV:
                info = SNDRCV.unpack(cdata[:SNDRCV.size])
        if info is None:
            out(ev="msg_without_info", len=len(data))
            continue
        sid, ssn = info[0], info[1]
        buf = parts.get(sid, b"") + data
        if not flags & socket.MSG_EOR:
            parts[sid] = buf
            continue
        parts.pop(sid, None)
        head = buf[:40].decode("ascii", "replace")
        out(ev="msg", sid=sid, ssn=ssn, len=len(buf), sha=hashlib.sha256(buf).hexdigest()[:16],
            head=head)


def send(conn, sid, data, ttl=0):
    """One message on ``sid``; ``ttl`` > 0: PR-SCTP lifetime in ms (SCTP_PR_SCTP_TTL)."""
    flags = SCTP_PR_SCTP_TTL if ttl else 0
    info = SNDRCV.pack(sid, 0, flags, 0, 0, ttl, 0, 0, 0)
    conn.sendmsg([data], [(SOL_SCTP, SCTP_SNDRCV, info)])


def setopt_retry(conn, opt, value, what):
    """Linux answers EAGAIN while the streams to reset still hold data, EINPROGRESS while
    an earlier request is outstanding: try again for a few seconds."""
    deadline = time.monotonic() + 5
    while True:
        try:
            conn.setsockopt(SOL_SCTP, opt, value)
            out(ev="ok", cmd=what)
            return
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EINPROGRESS) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            out(ev="err", cmd=what, errno=e.errno, name=errno.errorcode.get(e.errno, ""))
            return


def command(conn, words):
    cmd = words[0]
    if cmd == "send" and len(words) in (5, 6):
        sid, count, size, tag = int(words[1]), int(words[2]), int(words[3]), words[4]
        ttl = int(words[5]) if len(words) == 6 else 0
        try:
            for i in range(1, count + 1):
                head = f"{tag}-{i:06d}:".encode()
                send(conn, sid, head + b"." * max(0, size - len(head)), ttl)
            out(ev="ok", cmd="send")
        except OSError as e:
            out(ev="err", cmd="send", errno=e.errno)
    elif cmd == "reset" and len(words) >= 2:
        flags = {"out": STREAM_RESET_OUTGOING, "in": STREAM_RESET_INCOMING}.get(
            words[1], STREAM_RESET_INCOMING | STREAM_RESET_OUTGOING)
        streams = [int(x) for x in words[2:]]
        value = struct.pack(f"=iHH{len(streams)}H", 0, flags, len(streams), *streams)
        setopt_retry(conn, SCTP_RESET_STREAMS, value, "reset")
    elif cmd == "add" and len(words) == 3:
        n = int(words[2])
        ins, outs = (n, 0) if words[1] == "in" else (0, n)
        setopt_retry(conn, SCTP_ADD_STREAMS, struct.pack("=iHH", 0, ins, outs), "add")
    elif cmd == "assoc":
        setopt_retry(conn, SCTP_RESET_ASSOC, struct.pack("=i", 0), "assoc")
    elif cmd == "status":
        ins, outs = stream_counts(conn)
        out(ev="status", **{"in": ins, "out": outs})
    elif cmd == "close":
        conn.shutdown(socket.SHUT_WR)
        out(ev="ok", cmd="close")
    else:
        out(ev="err", cmd=cmd, errno=0, name="unknown command")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", "--port", type=int, required=True)
    ap.add_argument("-b", "--bind", required=True)
    ap.add_argument("--cmd", required=True, help="named pipe the commands come through")
    ap.add_argument("--enable", type=int, default=7, help="SCTP_ENABLE_STREAM_RESET bits")
    ap.add_argument("--intl", action="store_true", help="offer I-DATA (RFC 8260)")
    ap.add_argument("--sched", choices=sorted(SCHEDULERS), default="fcfs",
                    help="the stream scheduler (SCTP_STREAM_SCHEDULER)")
    a = ap.parse_args()

    addrs = a.bind.split(",")
    fam = socket.AF_INET6 if any(":" in ip for ip in addrs) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    s.setsockopt(SOL_SCTP, SCTP_SOCKOPT_BINDX_ADD, b"".join(sockaddr(ip, a.port) for ip in addrs))
    s.setsockopt(SOL_SCTP, SCTP_RECONFIG_SUPPORTED, ASSOC_VALUE.pack(0, 1))
    s.setsockopt(SOL_SCTP, SCTP_ENABLE_STREAM_RESET, ASSOC_VALUE.pack(0, a.enable))
    if a.intl:
        s.setsockopt(SOL_SCTP, SCTP_FRAGMENT_INTERLEAVE, 2)
        # Without a partial delivery point Linux 6.1 held a 300 KB I-DATA message until its
        # window was 0 and then stalled (no partial delivery): hand out parts from 64 KB
        s.setsockopt(SOL_SCTP, SCTP_PARTIAL_DELIVERY_POINT, 65536)
        s.setsockopt(SOL_SCTP, SCTP_INTERLEAVING_SUPPORTED, ASSOC_VALUE.pack(0, 1))
    s.setsockopt(SOL_SCTP, SCTP_STREAM_SCHEDULER, ASSOC_VALUE.pack(0, SCHEDULERS[a.sched]))
    # struct sctp_event_subscribe: data_io, association, address, send_failure, peer_error,
    # shutdown, partial_delivery, adaptation_layer, authentication, sender_dry,
    # stream_reset, assoc_reset, stream_change, send_failure_event
    s.setsockopt(SOL_SCTP, SCTP_EVENTS, bytes([1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0]))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 << 20)
    s.listen(1)
    fifo = os.open(a.cmd, os.O_RDWR)  # O_RDWR: no EOF when a writer goes away
    out(ev="listening", port=a.port, bind=addrs, intl=a.intl, enable=a.enable)
    conn, _ = s.accept()
    threading.Thread(target=reader, args=(conn,), daemon=True).start()
    _up.wait(10)
    pending = b""
    while True:
        chunk = os.read(fifo, 4096)
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            words = line.decode().split()
            if words:
                command(conn, words)


main()
