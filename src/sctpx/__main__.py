"""The ``sctpx`` command line: ``python -m sctpx <command>``.

Commands are small functions registered in :data:`COMMANDS`; each gets its own
argparse sub-parser and returns the exit status. For now there is one:

``demo``
    decode a real INIT sent by usrsctp, show its fields, re-encode it and show
    that the bytes are the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from . import __version__
from .wire import (
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


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
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


Command = Callable[[argparse.Namespace, TextIO], int]
COMMANDS: dict[str, tuple[Command, str]] = {
    "demo": (cmd_demo, "decode and re-encode a real usrsctp packet"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sctpx", description="sctpx: userspace SCTP for Python")
    parser.add_argument("--version", action="version", version=f"sctpx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (func, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=func.__doc__)
        cmd.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``python -m sctpx`` and of the ``sctpx`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args, out if out is not None else sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
