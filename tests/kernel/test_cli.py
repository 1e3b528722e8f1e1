"""The `sctpx` command against the kernel: `sctpx connect` to the kernel's echo server.

Issue 12's "done when": ``sctpx connect --transport ip`` reaches the kernel's echo
server in the VM (and over UDP, the default transport, too).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sctpx
from sctpx.testing import check_capture

from .support import DATA, GUEST, HOST, INIT, UDP_PORT, TapCapture, assert_transport
from .vm import KernelPeer

SRC = Path(sctpx.__file__).resolve().parents[1]


def test_sctpx_connect_reaches_the_kernel_echo_server(kernel: KernelPeer, port: int,
                                                      tmp_path: Path) -> None:  # fmt: skip
    guest, host = list(GUEST["ipv4"]), list(HOST["ipv4"])
    srv = kernel.server(port, guest)
    lines = b"".join(b"line %d to the kernel\n" % i for i in range(20))
    argv = [sys.executable, "-m", "sctpx", "connect", *guest, "-p", str(port),
            "--transport", kernel.transport, "-l", "-v"]  # fmt: skip
    for ip in host:
        argv += ["-s", ip]
    if kernel.transport == "udp":
        argv += ["--udp-port", str(UDP_PORT)]  # what the guest sends to (net.sctp.encap_port)
    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        done = subprocess.run(argv, input=lines, capture_output=True, timeout=60,
                              env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
        srv.wait_for(lambda r: r.get("state") == "SHUTDOWN_COMP", what="SHUTDOWN_COMP")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == lines  # every line echoed by the kernel, in order
    err = done.stderr.decode()
    assert "COMM_UP" in err and "SHUTDOWN_COMP" in err, err
    assert all(ip in err for ip in guest), err  # the path table: both of the VM's addresses
    msgs = [r for r in srv.records() if r.get("ev") == "msg"]
    assert len(msgs) == 20
    report = check_capture(pcap, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert_transport(report, kernel.transport)
    assert report.chunk_count(INIT, src=host[0], dst=guest[0]) >= 1
    assert report.chunk_count(DATA, src=guest[0]) + report.chunk_count(DATA, src=guest[1]) >= 20
