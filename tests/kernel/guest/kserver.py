#!/usr/bin/python3
"""Kernel-SCTP server for the sctpx kernel suite, run inside the kvm-peer VM.

usage: kserver.py -p PORT -b ADDR[,ADDR...] [--mode echo|discard]

One one-to-many socket (SOCK_SEQPACKET) bound with sctp_bindx to the given
addresses. Every line of output is one JSON object, flushed at once:

  {"ev": "listening", "port": P}
  {"ev": "assoc", "state": "COMM_UP", "error": 0, "assoc_id": N, "ostreams": .., "istreams": ..}
  {"ev": "paddr", "addr": IP, "state": "ADDR_CONFIRMED", "assoc_id": N}
  {"ev": "shutdown", "assoc_id": N}
  {"ev": "msg", "n": K, "len": L, "stream": S, "ppid": P, "assoc_id": N, "from": IP}

In echo mode each message goes back on its association with its stream and
PPID. Three messages are commands instead of data: b"ABORT" makes the kernel
abort that association (SCTP_ABORT), b"CLOSE" makes it shut it down gracefully
(SCTP_EOF), b"STATUS" is answered with the peer's addresses as JSON (PPID 0).
"""

import argparse
import json
import socket
import struct
import sys

SOL_SCTP = 132
SCTP_EVENTS = 11
SCTP_SOCKOPT_BINDX_ADD = 100
SCTP_GET_PEER_ADDRS = 108
SCTP_SNDRCV = 1  # cmsg type: struct sctp_sndrcvinfo
SCTP_ABORT = 0x4  # sinfo_flags
SCTP_EOF = 0x200  # MSG_FIN
MSG_NOTIFICATION = 0x8000
SNDRCV = struct.Struct("=HHHxxIIIIIi")  # stream ssn flags ppid context ttl tsn cumtsn assoc_id

ASSOC = {0: "COMM_UP", 1: "COMM_LOST", 2: "RESTART", 3: "SHUTDOWN_COMP", 4: "CANT_STR_ASSOC"}
PADDR = {0: "ADDR_AVAILABLE", 1: "ADDR_UNREACHABLE", 2: "ADDR_REMOVED", 3: "ADDR_ADDED",
         4: "ADDR_MADE_PRIM", 5: "ADDR_CONFIRMED", 6: "ADDR_POTENTIALLY_FAILED"}


def out(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def sockaddr(ip, port):
    if ":" in ip:
        return (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0)
                + socket.inet_pton(socket.AF_INET6, ip) + struct.pack("=I", 0))
    return (struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton(ip)
            + bytes(8))


def peer_addrs(s, assoc_id):
    """SCTP_GET_PEER_ADDRS needs the association id as input: libc getsockopt via ctypes."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(8 + 28 * 16)
    struct.pack_into("=iI", buf, 0, assoc_id, 0)
    ln = ctypes.c_uint32(len(buf))
    if libc.getsockopt(s.fileno(), SOL_SCTP, SCTP_GET_PEER_ADDRS, buf, ctypes.byref(ln)) < 0:
        return [f"error {ctypes.get_errno()}"]
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


def send(s, data, addr, stream, ppid_raw, flags, assoc_id):
    info = SNDRCV.pack(stream, 0, flags, ppid_raw, 0, 0, 0, 0, assoc_id)
    s.sendmsg([data], [(SOL_SCTP, SCTP_SNDRCV, info)], 0, addr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", "--port", type=int, required=True)
    ap.add_argument("-b", "--bind", required=True)
    ap.add_argument("--mode", choices=("echo", "discard"), default="echo")
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET6, socket.SOCK_SEQPACKET, socket.IPPROTO_SCTP)
    s.setsockopt(SOL_SCTP, SCTP_SOCKOPT_BINDX_ADD,
                 b"".join(sockaddr(ip, a.port) for ip in a.bind.split(",")))
    # struct sctp_event_subscribe: data_io, association, address, send_failure, peer_error, shutdown
    s.setsockopt(SOL_SCTP, SCTP_EVENTS, bytes([1, 1, 1, 0, 0, 1]) + bytes(8))
    s.listen(16)
    out(ev="listening", port=a.port, bind=a.bind.split(","))
    n = 0
    while True:
        data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(SNDRCV.size))
        if flags & MSG_NOTIFICATION:
            typ = struct.unpack_from("=H", data)[0]
            if typ == 0x8001:  # SCTP_ASSOC_CHANGE
                st, err, ost, ist, aid = struct.unpack_from("=HHHHi", data, 8)
                out(ev="assoc", state=ASSOC.get(st, st), error=err, ostreams=ost, istreams=ist,
                    assoc_id=aid)
            elif typ == 0x8002:  # SCTP_PEER_ADDR_CHANGE
                fam = struct.unpack_from("=H", data, 8)[0]
                if fam == socket.AF_INET:
                    ip = socket.inet_ntoa(data[12:16])
                else:
                    ip = socket.inet_ntop(socket.AF_INET6, data[16:32])
                st, _err, aid = struct.unpack_from("=iii", data, 8 + 128)
                out(ev="paddr", addr=ip, state=PADDR.get(st, st), assoc_id=aid)
            elif typ == 0x8005:  # SCTP_SHUTDOWN_EVENT
                out(ev="shutdown", assoc_id=struct.unpack_from("=i", data, 8)[0])
            else:
                out(ev="notification", type=typ)
            continue
        info = None
        for level, typ, cdata in anc:
            if level == SOL_SCTP and typ == SCTP_SNDRCV:
                info = SNDRCV.unpack(cdata[:SNDRCV.size])
        stream, _ssn, _fl, ppid_raw, _c, _t, _tsn, _cum, aid = info
        n += 1
        ppid = socket.ntohl(ppid_raw)
        out(ev="msg", n=n, len=len(data), stream=stream, ppid=ppid, assoc_id=aid,
            eor=bool(flags & socket.MSG_EOR), **{"from": addr[0]})
        if a.mode == "discard":
            continue
        try:
            if data == b"ABORT":
                send(s, b"", addr, 0, 0, SCTP_ABORT, aid)
            elif data == b"CLOSE":
                send(s, b"", addr, 0, 0, SCTP_EOF, aid)
            elif data == b"STATUS":
                status = json.dumps({"peer_addrs": peer_addrs(s, aid)}).encode()
                send(s, status, addr, stream, 0, 0, aid)
            else:
                send(s, data, addr, stream, ppid_raw, 0, aid)
        except OSError as e:
            out(ev="send_error", errno=e.errno, error=str(e), assoc_id=aid)


main()
