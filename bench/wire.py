"""Wire codec speed: decode and encode of typical packets, µs per call.

Run: ``python bench/wire.py`` (or ``make bench``). Each figure is the best of
several ``timeit`` repeats, so it shows what the code costs rather than what the
machine was busy with. The last column compares a checked decode with the
CRC32c alone over the same bytes: the part of the cost that is parsing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from sctpx.wire import DataChunk, Packet, SackChunk, crc32c, decode_packet, encode_packet

VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors"
DATA_TARGET_US = 5.0  # the goal for one DATA decode


def cases() -> list[tuple[str, bytes]]:
    data = Packet(5000, 5001, 0x1234ABCD, [DataChunk(0x10000, 1, 7, 51, bytes(1200))])
    sack = Packet(
        5001,
        5000,
        0xABCD1234,
        [SackChunk(0x10000, 131072, ((2, 5), (7, 9), (12, 12), (15, 40)), ())],
    )
    init_ack = bytes.fromhex((VECTORS / "usrsctp-init-ack.hex").read_text())
    return [
        ("DATA, 1200 B user data", encode_packet(data)),
        ("SACK, 4 gap blocks", encode_packet(sack)),
        ("INIT ACK (usrsctp, 8 params)", init_ack),
    ]


def best_us(fn: Callable[[], object], repeat: int) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timeit repeats (best is shown)")
    args = parser.parse_args(argv)

    print(f"sctpx wire codec, Python {platform.python_version()} on {platform.machine()}")
    cols = ("decode", "no CRC", "encode", "CRC32c", "dec/CRC")
    head = f"{'packet':30} {'bytes':>5}" + "".join(f" {c:>8}" for c in cols)
    print(head)
    print("-" * len(head))
    data_decode = 0.0
    for name, raw in cases():
        packet = decode_packet(raw)
        assert encode_packet(packet) == raw, name
        dec = best_us(lambda raw=raw: decode_packet(raw), args.repeat)
        dec_nocrc = best_us(lambda raw=raw: decode_packet(raw, verify_checksum=False), args.repeat)
        enc = best_us(lambda packet=packet: encode_packet(packet), args.repeat)
        crc = best_us(lambda raw=raw: crc32c(raw), args.repeat)
        figures = "".join(f" {x:8.2f}" for x in (dec, dec_nocrc, enc, crc))
        print(f"{name:30} {len(raw):5}{figures} {dec / crc:7.1f}x")
        if name.startswith("DATA"):
            data_decode = dec
    print("(µs per call, best of", args.repeat, "repeats)")
    verdict = "meets" if data_decode < DATA_TARGET_US else "MISSES"
    print(f"DATA decode {data_decode:.2f} µs {verdict} the {DATA_TARGET_US:.0f} µs target")
    return 0 if data_decode < DATA_TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
