"""SCTPX_PCAP captures a program's traffic; logging is silent by default, INFO shows state
changes and DEBUG packets (issue 6)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = r"""
import sctpx
srv_stack = sctpx.Stack(udp_port=0)
srv = sctpx.socket(stack=srv_stack); srv.bind(("127.0.0.2", 5000)); srv.listen()
cli = sctpx.socket(stack=sctpx.Stack(udp_port=0))
cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
               sctpx.UdpEncaps(port=srv_stack.udp_port))
cli.settimeout(5); cli.connectx([("127.0.0.2", 5000)]); cli.send(b"x")
c, _ = srv.accept(); c.settimeout(5); c.recv(10); cli.close(); c.close(); srv.close()
print("done")
"""


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env}
    return subprocess.run([sys.executable, "-c", PROGRAM], env=full, capture_output=True,
                          text=True, timeout=30, check=True)  # fmt: skip


def test_sctpx_pcap_env_captures_every_stack(tmp_path: Path) -> None:
    out = tmp_path / "cap.pcap"
    r = run({"SCTPX_PCAP": str(out)})
    assert r.stdout.strip() == "done" and r.stderr == ""  # silent by default
    assert out.stat().st_size > 24 and Path(f"{out}.1").stat().st_size > 24


def test_logging_levels(caplog: pytest.LogCaptureFixture) -> None:
    import sctpx
    from sctpx.net import Stack

    with caplog.at_level(logging.DEBUG, logger="sctpx"):
        a, b = Stack(udp_port=0), Stack(udp_port=0)
        try:
            srv = sctpx.socket(stack=a)
            srv.bind(("127.0.0.2", 5001))
            srv.listen()
            cli = sctpx.socket(stack=b)
            cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                           sctpx.UdpEncaps(port=a.udp_port))  # fmt: skip
            cli.settimeout(5)
            cli.connectx([("127.0.0.2", 5001)])
            cli.close()
            srv.close()
        finally:
            b.close()
            a.close()
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    debugs = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("COOKIE_WAIT -> COOKIE_ECHOED" in m for m in infos)
    assert any(m.startswith("sent") for m in debugs) and any(
        m.startswith("received") for m in debugs
    )
