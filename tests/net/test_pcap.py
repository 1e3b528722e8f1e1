"""Stack(pcap=...) records every packet sent and received; tshark reads it as SCTP over UDP."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from sctpx.core import AssocChangeState
from sctpx.net import Stack

from .conftest import Pair

TSHARK = shutil.which("tshark")
# INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, DATA, SACK, SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE
EXPECTED_CHUNKS = {1, 2, 10, 11, 0, 3, 7, 8, 14}


def test_pcap_is_read_by_tshark(make_stack: Callable[..., Stack], tmp_path: Path) -> None:
    assert TSHARK is not None, "tshark is needed (make test installs it as root)"
    cap = tmp_path / "client.pcap"
    pair = Pair(make_stack, pcap=cap)
    aid = pair.establish()

    def send(now: float) -> None:
        for i in range(20):
            pair.cep.send(aid, b"hello %d" % i, now)

    pair.client.call(send)
    pair.sev.data(20)
    pair.client.call(lambda now: pair.cep.shutdown(aid, now))
    pair.cev.assoc_change(AssocChangeState.SHUTDOWN_COMP)
    pair.client.close()  # flushes and closes the file
    st = pair.client.stats
    ports = (pair.client.udp_port, pair.server.udp_port)
    decode = [a for p in ports for a in ("-d", f"udp.port=={p},sctp")]
    fields = ["ip.src", "ip.dst", "udp.srcport", "udp.dstport", "sctp.chunk_type"]
    out = subprocess.run(
        [TSHARK, "-r", str(cap), *decode, "-o", "sctp.checksum:crc-32c", "-T", "fields"]
        + [a for f in [*fields, "sctp.checksum.status"] for a in ("-e", f)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.splitlines()
    assert len(out) == st.sent + st.received
    chunks: set[int] = set()
    for line in out:
        src, dst, sport, dport, types, csum = line.split("\t")
        assert {src, dst} <= {"127.0.0.1", "127.0.0.2", "127.0.0.3"}
        assert {int(sport), int(dport)} == set(ports)
        assert csum == "1", f"bad CRC32c in {line!r}"  # 1 = good
        chunks.update(int(t) for t in types.split(","))
    assert chunks >= EXPECTED_CHUNKS
    expert = subprocess.run(
        [
            TSHARK,
            "-r",
            str(cap),
            *decode,
            "-o",
            "sctp.checksum:crc-32c",
            "-q",
            "-z",
            "expert,error",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "Errors (" not in expert, expert  # tshark lists "Errors (N)" when there are any
