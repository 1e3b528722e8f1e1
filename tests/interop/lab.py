"""One interop test's world: the namespace network, sctpx on host a, usrsctp on host b.

sctpx always runs on host ``a`` (UDP encapsulation port :data:`SX_UDP`), usrsctp's
programs on host ``b`` (:data:`US_UDP`); two ports other than one another so
that each side must be told, or learn, the other's (RFC 6951 §5.1, §5.4).
Everything on the wire is captured on b's two links (``wire.pcapng``), and
sctpx records what it sends and receives (``Stack(pcap=...)``); :meth:`Lab.finish`
checks both with tshark (CRC32c on): no malformed packet, no bad checksum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sctpx.testing import Capture, CaptureReport, Host, TestNet, check_capture

from .remote import RemoteSocket, SctpxPeer
from .usrsctp import Program

SX_UDP = 19899  # sctpx's UDP encapsulation port (host a)
US_UDP = 9899  # usrsctp's (host b): tshark's default SCTP-over-UDP port
A1, A2, A6 = "198.18.1.1", "198.18.2.1", "fd00:1::1"
B1, B2, B6 = "198.18.1.2", "198.18.2.2", "fd00:1::2"
ECHO_PORT, DISCARD_PORT, TSCTP_PORT = 7, 9, 5001
WAIT = 10.0  # the longest a socket call of the sctpx side may block


@dataclass
class Reports:
    wire: CaptureReport
    sctpx: dict[str, CaptureReport] = field(default_factory=dict)

    @property
    def stack(self) -> CaptureReport:
        """The pcap of the (first) sctpx peer."""
        return next(iter(self.sctpx.values()))


class Lab:
    def __init__(self, net: TestNet, workdir: Path) -> None:
        self.net = net
        self.dir = workdir
        self.link1, self.link2 = net.links
        self._peers: list[SctpxPeer] = []
        self._programs: list[Program] = []
        self.reports: Reports | None = None
        self.capture = Capture(net, net.b, workdir / "wire.pcapng").start()

    @property
    def a(self) -> Host:
        return self.net.a

    @property
    def b(self) -> Host:
        return self.net.b

    # ----- the two sides -----

    def sctpx(self, name: str = "sctpx", pcap: bool = True, transport: str = "udp",
              host: Host | None = None) -> SctpxPeer:  # fmt: skip
        """A new sctpx process on host a (or ``host``), over UDP or directly over IP."""
        peer = SctpxPeer(self.net, host or self.a, self.dir, SX_UDP, name=name, pcap=pcap,
                         transport=transport)  # fmt: skip
        self._peers.append(peer)
        return peer

    def client(self, peer: SctpxPeer, family: int = 4,
               bind: tuple[str, ...] = (A1, A2)) -> RemoteSocket:  # fmt: skip
        """A one-to-one sctpx socket bound to ``bind``, aimed at usrsctp's UDP port."""
        s = peer.socket(family)
        s.bind((bind[0], 0))
        if bind[1:]:
            s.bindx([(ip, 0) for ip in bind[1:]])
        s.udp_encaps(US_UDP)
        s.settimeout(WAIT)
        return s

    def server(self, peer: SctpxPeer, port: int, family: int = 4,
               addrs: tuple[str, ...] = (A1, A2)) -> RemoteSocket:  # fmt: skip
        """A listening one-to-one sctpx socket on ``addrs``."""
        s = peer.socket(family)
        s.bind((addrs[0], port))
        if addrs[1:]:
            s.bindx([(ip, port) for ip in addrs[1:]])
        s.udp_encaps(US_UDP)
        s.listen()
        s.settimeout(WAIT)
        return s

    def usrsctp(self, name: str, *args: str, stdin: bool = False, line_buffered: bool = True,
                log: str | None = None, markers: bytes = b"") -> Program:  # fmt: skip
        """Start one of usrsctp's programs on host b."""
        p = Program(self.net, self.b, name, list(args), self.dir / (log or f"{name}.log"),
                    stdin=stdin, line_buffered=line_buffered, markers=markers)  # fmt: skip
        self._programs.append(p)
        return p

    def usrsctp_server(self, name: str, *args: str, line_buffered: bool = True) -> Program:
        """A usrsctp server on host b, returned once its UDP port is open."""
        p = self.usrsctp(name, *args, line_buffered=line_buffered)
        self.wait_udp_bound(self.b, US_UDP, p)
        return p

    def wait_udp_bound(self, host: Host, port: int, prog: Program, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            r = self.net.run(host, ["ss", "-Hlun", f"sport = :{port}"], check=False)
            if r.stdout.strip():
                break
            assert prog.running(), f"{prog.name} exited:\n{prog.text()[-2000:]}"
            assert time.monotonic() < deadline, f"{prog.name}: UDP port {port} not bound"
            time.sleep(0.02)
        # usrsctp opens its UDP sockets in usrsctp_init(), before bind and listen of the
        # program's SCTP socket: give those a moment (an INIT before listen() is dropped).
        time.sleep(0.15)

    # ----- checks -----

    def finish(self) -> Reports:
        """Stop everything, then check every capture with tshark (CRC32c on).

        Asserts no malformed packet, no bad checksum and no unknown chunk type
        on the wire and in each sctpx pcap, and no exception inside sctpx (its
        stack counts and logs those it swallows); returns the reports.
        """
        stats = {}
        for peer in self._peers:
            if not peer.closed and peer.proc.poll() is None:
                stats[peer.name] = peer.stats()
        self.stop()
        for name, st in stats.items():
            assert (st.core_errors, st.callback_errors) == (0, 0), f"{name}: {st}"
        for peer in self._peers:
            bad = [ln for ln in peer.log_text().splitlines()
                   if " ERROR " in ln or ln.startswith("Traceback")]  # fmt: skip
            assert not bad, f"{peer.name} logged errors:\n" + "\n".join(bad[:20])
        ports = (SX_UDP, US_UDP)
        wire = check_capture(self.capture.path, ports)
        reports = Reports(wire)
        for peer in self._peers:
            if peer.pcap is not None:
                reports.sctpx[peer.name] = check_capture(peer.pcap, ports)
        self.reports = reports
        wire.assert_clean()
        for r in reports.sctpx.values():
            r.assert_clean()
        return reports

    def stop(self) -> None:
        """End the peers, then the programs, then the capture (idempotent, never raises).

        sctpx goes first: a graceful close still has a live peer to complete with.
        """
        for peer in self._peers:
            peer.close()
        for p in self._programs:
            p.stop()
        self.capture.stop()
