"""Capture SCTP traffic with dumpcap and check it with tshark's SCTP dissector.

::

    with Capture(net, net.b, tmp_path / "wire.pcapng"):
        ...                                              # traffic
    report = check_capture(tmp_path / "wire.pcapng", udp_ports=[9899, 19899])
    report.assert_clean()       # no malformed packet, no bad CRC32c, no unknown chunk type

tshark decodes UDP port 9899 as SCTP by itself; every other encapsulation port
must be named (``-d udp.port==N,sctp``). CRC32c checking is off in tshark by
default: we always turn it on (``-o sctp.checksum:crc-32c``). The same check
reads the pcap files that ``sctpx.Stack(pcap=...)`` writes.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .netns import Host, TestNet

__all__ = [
    "KNOWN_CHUNK_TYPES",
    "Capture",
    "CaptureReport",
    "SctpPacket",
    "check_capture",
    "tshark_fields",
]

# IANA "Chunk Types": RFC 9260 (0-14), ECNE/CWR (12, 13), AUTH (15, RFC 4895),
# PAD (132, RFC 4820), I-DATA/I-FORWARD-TSN (64, 194; RFC 8260), RE-CONFIG (130,
# RFC 6525), ASCONF/ASCONF-ACK (193, 128; RFC 5061), FORWARD-TSN (192, RFC 3758),
# NR-SACK (16, draft used by FreeBSD).
KNOWN_CHUNK_TYPES = frozenset({*range(0, 17), 64, 128, 130, 132, 192, 193, 194})
CHUNK_NAMES = {
    0: "DATA", 1: "INIT", 2: "INIT ACK", 3: "SACK", 4: "HEARTBEAT", 5: "HEARTBEAT ACK",
    6: "ABORT", 7: "SHUTDOWN", 8: "SHUTDOWN ACK", 9: "ERROR", 10: "COOKIE ECHO",
    11: "COOKIE ACK", 12: "ECNE", 13: "CWR", 14: "SHUTDOWN COMPLETE", 15: "AUTH",
    16: "NR-SACK", 64: "I-DATA", 128: "ASCONF ACK", 130: "RE-CONFIG", 132: "PAD",
    192: "FORWARD TSN", 193: "ASCONF", 194: "I-FORWARD TSN",
}  # fmt: skip
_PI_ERROR = 0x00800000  # _ws.expert.severity of an error (epan/proto.h PI_ERROR)
_CHECKSUM = {"0": "bad", "1": "good", "2": "unverified"}


def _tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        raise RuntimeError("tshark is not installed")
    return path


def _decode_args(udp_ports: Iterable[int]) -> list[str]:
    args = ["-o", "sctp.checksum:crc-32c"]
    for p in sorted(set(udp_ports) - {0, 9899}):
        args += ["-d", f"udp.port=={p},sctp"]
    return args


def tshark_fields(
    path: str | Path,
    fields: Sequence[str],
    display_filter: str = "",
    udp_ports: Iterable[int] = (),
    timeout: float = 120.0,
) -> list[list[str]]:
    """One row per matching frame, one column per field (several values joined by ``,``)."""
    argv = [_tshark(), "-n", "-r", str(path), *_decode_args(udp_ports), "-T", "fields",
            "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]  # fmt: skip
    for f in fields:
        argv += ["-e", f]
    if display_filter:
        argv += ["-Y", display_filter]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"tshark failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return [line.split("\t") for line in r.stdout.splitlines()]


@dataclass(frozen=True)
class SctpPacket:
    """One SCTP packet of a capture (outer addresses; ICMP errors quoting SCTP are left out)."""

    number: int
    time: float  # seconds since the first frame
    src: str
    dst: str
    sport: int  # UDP ports (0 for raw SCTP)
    dport: int
    vtag: int
    chunks: tuple[int, ...]
    checksum: str  # good, bad, unverified

    def has(self, *types: int) -> bool:
        return any(t in self.chunks for t in types)

    def __str__(self) -> str:
        names = ",".join(CHUNK_NAMES.get(c, str(c)) for c in self.chunks)
        return f"#{self.number} {self.time:.3f} {self.src} -> {self.dst} [{names}]"


@dataclass
class CaptureReport:
    """What tshark found in one capture file."""

    path: Path
    frames: int = 0
    packets: list[SctpPacket] = field(default_factory=list)
    bad_checksums: list[int] = field(default_factory=list)  # frame numbers
    malformed: list[int] = field(default_factory=list)
    expert_errors: list[int] = field(default_factory=list)
    unknown_chunks: list[tuple[int, int]] = field(default_factory=list)  # (frame, type)

    @property
    def clean(self) -> bool:
        return not (self.bad_checksums or self.malformed or self.expert_errors
                    or self.unknown_chunks)  # fmt: skip

    def assert_clean(self) -> None:
        """AssertionError naming the frames if anything is malformed or fails its checksum."""
        assert self.packets, f"{self.path}: no SCTP packet at all"
        assert self.clean, (
            f"{self.path}: bad CRC32c in frames {self.bad_checksums[:20]}, malformed "
            f"{self.malformed[:20]}, expert errors {self.expert_errors[:20]}, unknown chunk "
            f"types {self.unknown_chunks[:20]}"
        )

    def chunk_count(self, chunk_type: int, src: str | None = None, dst: str | None = None) -> int:
        """How many chunks of ``chunk_type`` were sent (from ``src`` / to ``dst``)."""
        return sum(p.chunks.count(chunk_type) for p in self.packets
                   if (src is None or p.src == src) and (dst is None or p.dst == dst))  # fmt: skip

    def select(self, *types: int, src: str | None = None, dst: str | None = None,
               ips: Iterable[str] | None = None) -> list[SctpPacket]:  # fmt: skip
        """Packets carrying any of ``types`` (all if none given), filtered by address.

        ``ips``: the source is one of these addresses.
        """
        want = set(ips) if ips is not None else None
        return [p for p in self.packets
                if (not types or p.has(*types)) and (src is None or p.src == src)
                and (dst is None or p.dst == dst) and (want is None or p.src in want)]  # fmt: skip


_FIELDS = (
    "frame.number", "frame.time_relative", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "udp.srcport", "udp.dstport", "sctp.verification_tag", "sctp.chunk_type",
    "sctp.checksum.status", "_ws.malformed", "_ws.expert.severity", "icmp.type", "icmpv6.type",
)  # fmt: skip


def _first(value: str) -> str:
    return value.split(",")[0] if value else ""


def check_capture(path: str | Path, udp_ports: Iterable[int] = ()) -> CaptureReport:
    """Run tshark with CRC32c checking over ``path`` and collect every SCTP packet."""
    path = Path(path)
    report = CaptureReport(path)
    for row in tshark_fields(path, _FIELDS, udp_ports=udp_ports):
        row += [""] * (len(_FIELDS) - len(row))
        (num, t, src4, dst4, src6, dst6, sport, dport, vtag, chunks, csum, malformed,
         severity, icmp4, icmp6) = row  # fmt: skip
        n = int(num)
        report.frames += 1
        if malformed:
            report.malformed.append(n)
        if any(s and int(s, 0) >= _PI_ERROR for s in severity.split(",")):
            report.expert_errors.append(n)
        if not chunks or icmp4 or icmp6:
            continue  # not SCTP, or an ICMP error quoting an SCTP packet
        status = _CHECKSUM.get(_first(csum), "unverified")
        types = tuple(int(c) for c in chunks.split(","))
        if status == "bad":
            report.bad_checksums.append(n)
        report.unknown_chunks += [(n, c) for c in types if c not in KNOWN_CHUNK_TYPES]
        report.packets.append(SctpPacket(
            n, float(t), _first(src4) or _first(src6), _first(dst4) or _first(dst6),
            int(_first(sport) or 0), int(_first(dport) or 0), int(_first(vtag) or "0", 0),
            types, status))  # fmt: skip
    # dumpcap interleaves several interfaces in the order it reads them: sort by time.
    report.packets.sort(key=lambda p: p.time)
    return report


class Capture:
    """dumpcap on some of a host's interfaces (all links by default) into a pcapng file.

    A context manager: capturing has begun when ``__enter__`` returns, and the
    file is complete when ``__exit__`` returns. Packets dropped by an iptables
    rule of :meth:`TestNet.cut` are still captured (dumpcap sees them first).
    """

    def __init__(self, net: TestNet, host: Host, path: str | Path,
                 interfaces: Sequence[str] | None = None, snaplen: int = 0) -> None:  # fmt: skip
        self.net = net
        self.host = host
        self.path = Path(path)
        self.interfaces = list(interfaces or [link.dev for link in net.links])
        self.snaplen = snaplen
        self._proc: subprocess.Popen[Any] | None = None
        self._log: IO[Any] | None = None

    @property
    def log_path(self) -> Path:
        return self.path.with_suffix(self.path.suffix + ".log")

    def start(self, timeout: float = 10.0) -> Capture:
        dumpcap = shutil.which("dumpcap")
        if dumpcap is None:
            raise RuntimeError("dumpcap is not installed (Debian: tshark pulls it in)")
        argv = [dumpcap, "-q", "-w", str(self.path)]
        for i in self.interfaces:
            argv += ["-i", i]
        if self.snaplen:
            argv += ["-s", str(self.snaplen)]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._proc = self.net.spawn(self.host, argv, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        while b"Capturing on" not in self.log_path.read_bytes():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log = self.log_path.read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"dumpcap did not start: {log.strip()}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop capturing (SIGINT lets dumpcap finish the file)."""
        if self._proc is not None:
            TestNet.stop(self._proc, timeout=timeout, sig=signal.SIGINT)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
