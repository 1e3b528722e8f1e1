"""``sctpx decode-demo``: the codec at work on a real packet.

Decodes an INIT captured from usrsctp, prints its fields, re-encodes it and
shows that the bytes are the same (the CRC32c included). Exit status 0 when
they are.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TextIO

from .. import __version__
from ..wire import (
    InitAckChunk,
    InitChunk,
    Packet,
    Param,
    UnknownParam,
    decode_packet,
    encode_packet,
)

# An INIT captured from usrsctp 0.9.5 (tsctp client, SCTP over UDP on loopback):
# the same bytes as tests/vectors/usrsctp-init.hex.
USRSCTP_INIT_HEX = (
    "f49b138900000000eabfa0e70100006a56a40ff800020000000a0800fb0dbe27"
    "c00600080000000080000004c000000480080009c00fc1808200000080020024"
    "6fcd918158b2d0852a43f738170d12ca2ce29cad59bedd5865610c2280f19df3"
    "80040006000100008003000680c10000000c00060005"
    "0000"
)

CHUNK_NAMES = {0: "DATA", 1: "INIT", 2: "INIT ACK", 3: "SACK", 4: "HEARTBEAT"}
PARAM_NAMES = {
    0x0005: "IPv4 Address",
    0x0006: "IPv6 Address",
    0x000C: "Supported Address Types",
    0x8000: "ECN Capable (kept opaque)",
    0x8002: "Random (SCTP-AUTH)",
    0x8003: "Chunk List (SCTP-AUTH)",
    0x8004: "HMAC Algorithm (SCTP-AUTH)",
    0x8008: "Supported Extensions",
    0xC000: "Forward-TSN-Supported",
    0xC006: "Adaptation Layer Indication",
}


def _value_text(value: object) -> str:
    if isinstance(value, bytes):
        shown = value[:16].hex(" ")
        return f"{shown} …({len(value)} bytes)" if len(value) > 16 else shown or "(empty)"
    return str(value)


def _param_line(p: Param) -> str:
    name = PARAM_NAMES.get(p.type, type(p).__name__)
    fields = [f for f in dataclasses.fields(p) if f.name != "type"]
    detail = (
        ", ".join(f"{f.name}={_value_text(getattr(p, f.name))}" for f in fields) or "(no value)"
    )
    if isinstance(p, UnknownParam):
        detail += f", unknown-type action={p.action.name}"
    return f"  param {p.type:#06x} {name}: {detail}"


def describe(packet: Packet, out: TextIO) -> None:
    """Print ``packet`` field by field."""
    print(
        f"common header: src port {packet.src_port}, dst port {packet.dst_port}, "
        f"verification tag {packet.verification_tag:#010x}",
        file=out,
    )
    for chunk in packet.chunks:
        name = CHUNK_NAMES.get(chunk.type, type(chunk).__name__)
        print(f"chunk {chunk.type} {name}, flags {chunk.flags:#04x}", file=out)
        if isinstance(chunk, InitChunk | InitAckChunk):
            print(f"  initiate tag   {chunk.initiate_tag:#010x}", file=out)
            print(f"  a_rwnd         {chunk.a_rwnd}", file=out)
            print(f"  outbound       {chunk.outbound_streams} streams", file=out)
            print(f"  inbound        {chunk.inbound_streams} streams", file=out)
            print(f"  initial TSN    {chunk.initial_tsn}", file=out)
            for p in chunk.params:
                print(_param_line(p), file=out)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Decode, show and re-encode a real usrsctp INIT."""
    raw = bytes.fromhex(USRSCTP_INIT_HEX)
    print(f"sctpx {__version__}: a usrsctp INIT, {len(raw)} bytes on the wire", file=out)
    for off in range(0, len(raw), 16):
        print(f"  {off:04x}  {raw[off : off + 16].hex(' ', 4)}", file=out)
    print(file=out)
    packet = decode_packet(raw)  # checks the CRC32c too
    describe(packet, out)
    print(file=out)
    again = encode_packet(packet)
    same = again == raw
    verdict = "identical to the original" if same else "DIFFERENT from the original"
    print(f"re-encoded: {len(again)} bytes, CRC32c {again[8:12].hex()}, {verdict}", file=out)
    return 0 if same else 1


NAME = "decode-demo"
HELP = "decode and re-encode a real usrsctp INIT (the wire codec at work)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""
