"""``sctpx demo`` as a user runs it: a subprocess, its story, its pcap, and nothing left behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TSHARK = shutil.which("tshark")
IPTABLES = shutil.which("iptables")
ROOT = os.geteuid() == 0


@dataclass
class Run:
    code: int
    out: str
    err: str
    pcap: Path
    rules_after: str
    leftover: bool  # a process of the demo's session still alive afterwards


def iptables_input() -> str:
    if not (ROOT and IPTABLES):
        return ""
    return subprocess.run(
        [IPTABLES, "-w", "-S", "INPUT"], capture_output=True, text=True, timeout=15
    ).stdout


def run_demo(tmp: Path, *extra: str) -> Run:
    pcap = tmp / "demo.pcap"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sctpx", "demo", "--pcap", str(pcap), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    try:
        os.killpg(proc.pid, 0)  # anything left in the demo's process group?
        leftover = True
    except ProcessLookupError:
        leftover = False
    return Run(proc.returncode, out, err, pcap, iptables_input(), leftover)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_demo(tmp_path_factory.mktemp("demo"))


def test_demo_succeeds_quietly(demo: Run) -> None:
    assert demo.code == 0, demo.out + demo.err
    assert demo.err == ""
    assert "Traceback" not in demo.out


def test_demo_tells_the_set_up(demo: Run) -> None:
    out = demo.out
    assert re.search(r"client -> 127\.0\.0\.9 +INIT .*listed address 1 of 3", out), out
    # the same INIT to the next address: after the 250 ms stagger (black hole) or at once
    assert re.search(r"client -> 127\.0\.0\.2 +INIT +the same INIT again", out), out
    assert re.search(r"127\.0\.0\.2 -> client +INIT ACK +127\.0\.0\.2 answered", out), out
    assert "COOKIE ECHO" in out and "COOKIE ACK" in out
    assert "ASSOC_CHANGE COMM_UP" in out
    if ROOT and IPTABLES:  # the black hole is an iptables rule: the stagger shows
        assert "staggered INIT" in out and "iptables -I INPUT -d 127.0.0.9" in out
        took = re.search(r"connectx returned +after ([0-9.]+) s", out)
        assert took and 0.2 <= float(took.group(1)) < 0.8, out


def test_demo_tells_the_paths(demo: Run) -> None:
    out = demo.out
    assert re.search(r"127\.0\.0\.4 +UNCONFIRMED", out), out  # announced only, at first
    assert re.search(r"client -> 127\.0\.0\.4 +HEARTBEAT +with a random nonce", out), out
    assert "PEER_ADDR_CHANGE 127.0.0.4 ADDR_CONFIRMED" in out


def test_demo_tells_the_failover_and_the_checksum(demo: Run) -> None:
    out = demo.out
    assert "server_stack.blackhole('127.0.0.2')" in out
    assert "first DATA to 127.0.0.3" in out
    assert "PEER_ADDR_CHANGE 127.0.0.2 ADDR_POTENTIALLY_FAILED" in out
    assert "PEER_ADDR_CHANGE 127.0.0.2 ADDR_UNREACHABLE" in out
    assert "delivered 4,000,000 bytes in 4,000 messages" in out
    sent = re.search(r"SHA-256 sent +([0-9a-f]{64})", out)
    got = re.search(r"SHA-256 received +([0-9a-f]{64})", out)
    assert sent and got and sent.group(1) == got.group(1)
    assert "checksum match" in out
    assert "SHUTDOWN COMPLETE" in out and "SHUTDOWN_COMP" in out
    assert re.search(r"total +[0-9.]+ s", out)


def test_demo_leaves_nothing_behind(demo: Run) -> None:
    assert not demo.leftover
    # Only the demo's own rule is looked for: other tests may add rules of their own meanwhile.
    port = re.search(r"SCTP port 5000, UDP port (\d+)", demo.out)
    assert port, demo.out
    rule = f"-d 127.0.0.9/32 -p udp -m udp --dport {port.group(1)} -j DROP"
    if ROOT and IPTABLES:
        assert "removed at the end" in demo.out
    assert rule not in demo.rules_after


def test_demo_pcap_is_read_by_tshark(demo: Run) -> None:
    assert TSHARK is not None, "tshark is needed (make test installs it as root)"
    port = re.search(r"SCTP port 5000, UDP port (\d+)", demo.out)
    assert port, demo.out
    decode = ["-r", str(demo.pcap), "-d", f"udp.port=={port.group(1)},sctp", "-T", "fields"]
    fields = subprocess.run(
        [TSHARK, *decode, "-e", "sctp.chunk_type"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    kinds = {int(k) for line in fields.split() for k in line.split(",") if k}
    # DATA, INIT, INIT ACK, SACK, HEARTBEAT, HEARTBEAT ACK, SHUTDOWN..., COOKIE ECHO, COOKIE ACK
    assert {0, 1, 2, 3, 4, 5, 7, 8, 10, 11, 14} <= kinds, kinds
    inits = subprocess.run(
        [TSHARK, *decode, "-Y", "sctp.chunk_type == 1", "-e", "ip.dst"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert inits.split()[:2] == ["127.0.0.9", "127.0.0.2"]  # the dead address first
    # With CRC32c checking on: every checksum good, no malformed packet, no expert error.
    check = [*decode[:4], "-o", "sctp.checksum:crc-32c"]
    status = subprocess.run(
        [TSHARK, *check, "-T", "fields", "-e", "sctp.checksum.status"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    assert status and set(status) == {"1"}, set(status)  # 1 = good
    experts = subprocess.run(
        [TSHARK, *check, "-q", "-z", "expert,error"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "Malformed" not in experts and "Errors (" not in experts, experts
    known = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 64, 192, 194, 132}
    assert kinds <= known, kinds - known  # no chunk type tshark would call unknown


def test_demo_says_when_the_dead_address_refuses(tmp_path: Path) -> None:
    run = run_demo(tmp_path, "--dead", "refuse")
    assert run.code == 0, run.out + run.err
    assert "refusing: nothing is bound there" in run.out
    assert "127.0.0.9 refused at once (ICMP port unreachable)" in run.out
    assert not run.leftover
