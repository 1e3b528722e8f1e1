#!/usr/bin/python3
"""Kernel-SCTP client for the sctpx kernel suite, run inside the kvm-peer VM.

usage: kclient.py --to IP,IP[,...] -p PORT [--bind IP,IP] [-n COUNT] [--size N]
                  [--stream S] [--ppid P] [--timeout SECS]

A one-to-one socket (SOCK_STREAM) is bound with sctp_bindx (if --bind) and
connected with the kernel's sctp_connectx (setsockopt SCTP_SOCKOPT_CONNECTX
with the packed addresses, through libc so that the association id it returns
is kept). It sends COUNT messages with the given stream and PPID, reads the
echoes, asks the kernel for the peer's addresses, shuts down gracefully and
prints one JSON object with what happened.
"""

import argparse
import ctypes
import errno
import json
import socket
import struct
import time

SOL_SCTP = 132
SCTP_EVENTS = 11
SCTP_SOCKOPT_BINDX_ADD = 100
SCTP_SOCKOPT_CONNECTX = 110
SCTP_GET_PEER_ADDRS = 108
SCTP_SNDRCV = 1
SNDRCV = struct.Struct("=HHHxxIIIIIi")

libc = ctypes.CDLL(None, use_errno=True)


def sockaddr(ip, port):
    if ":" in ip:
        return (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0)
                + socket.inet_pton(socket.AF_INET6, ip) + struct.pack("=I", 0))
    return (struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton(ip)
            + bytes(8))


def setsockopt_ret(s, opt, data):
    """libc setsockopt, returning its (non-negative) result or raising OSError."""
    buf = ctypes.create_string_buffer(data, len(data))
    r = libc.setsockopt(s.fileno(), SOL_SCTP, opt, buf, len(data))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setsockopt({opt}): {errno.errorcode.get(e, e)}")
    return r


def peer_addrs(s):
    buf = ctypes.create_string_buffer(8 + 28 * 16)
    ln = ctypes.c_uint32(len(buf))
    if libc.getsockopt(s.fileno(), SOL_SCTP, SCTP_GET_PEER_ADDRS, buf, ctypes.byref(ln)) < 0:
        raise OSError(ctypes.get_errno(), "SCTP_GET_PEER_ADDRS")
    n = struct.unpack_from("=I", buf, 4)[0]
    addrs, off = [], 8
    for _ in range(n):
        fam = struct.unpack_from("=H", buf, off)[0]
        if fam == socket.AF_INET:
            addrs.append(socket.inet_ntoa(buf.raw[off + 4:off + 8]))
            off += 16
        else:
            addrs.append(socket.inet_ntop(socket.AF_INET6, buf.raw[off + 8:off + 24]))
            off += 28
    return addrs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("-p", "--port", type=int, required=True)
    ap.add_argument("--bind", default="")
    ap.add_argument("-n", "--count", type=int, default=5)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--stream", type=int, default=0)
    ap.add_argument("--ppid", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()
    peers = a.to.split(",")
    res = {"to": peers, "port": a.port}
    fam = socket.AF_INET6 if any(":" in p for p in peers) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    # Blocking socket (settimeout would make connectx return EINPROGRESS); the kernel's
    # waits in connect, send and receive are bounded by SO_SNDTIMEO / SO_RCVTIMEO instead.
    tv = struct.pack("=qq", int(a.timeout), int(a.timeout % 1 * 1e6))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    t0 = time.monotonic()
    try:
        if a.bind:
            local = b"".join(sockaddr(ip, 0) for ip in a.bind.split(","))
            setsockopt_ret(s, SCTP_SOCKOPT_BINDX_ADD, local)
        # data_io events: each message comes with its stream and PPID (struct sctp_sndrcvinfo)
        s.setsockopt(SOL_SCTP, SCTP_EVENTS, bytes([1]) + bytes(13))
        t0 = time.monotonic()
        packed = b"".join(sockaddr(ip, a.port) for ip in peers)
        res["assoc_id"] = setsockopt_ret(s, SCTP_SOCKOPT_CONNECTX, packed)  # sctp_connectx()
        res["connect_s"] = round(time.monotonic() - t0, 4)
        res["peer_addrs"] = peer_addrs(s)
        echoes = []
        for i in range(a.count):
            payload = (b"kernel-%05d:" % i).ljust(a.size, b"k")
            info = SNDRCV.pack(a.stream, 0, 0, socket.htonl(a.ppid), 0, 0, 0, 0, 0)
            s.sendmsg([payload], [(SOL_SCTP, SCTP_SNDRCV, info)])
            data, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(SNDRCV.size))
            stream = ppid = None
            for level, typ, cdata in anc:
                if level == SOL_SCTP and typ == SCTP_SNDRCV:
                    stream, _ssn, _fl, ppid_raw = SNDRCV.unpack(cdata[:SNDRCV.size])[:4]
                    ppid = socket.ntohl(ppid_raw)
            echoes.append({"ok": data == payload, "len": len(data), "stream": stream, "ppid": ppid})
        res["echoes"] = echoes
        res["elapsed_s"] = round(time.monotonic() - t0, 4)
        s.shutdown(socket.SHUT_RDWR)  # graceful SHUTDOWN
        res["closed"] = True
    except OSError as e:
        res["failed_after_s"] = round(time.monotonic() - t0, 4)
        name = errno.errorcode.get(e.errno or 0, "")
        res["error"] = {"errno": e.errno, "name": name, "msg": str(e)}
    finally:
        s.close()
    print(json.dumps(res), flush=True)


main()
