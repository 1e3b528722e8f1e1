"""``sctpx listen`` and ``sctpx connect`` as processes: round trips, errors and exit codes."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SCTPX = [sys.executable, "-m", "sctpx"]
TIMEOUT = 20


def sctpx(
    *args: str, stdin: str = "", timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCTPX, *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )


@contextmanager
def listener(*args: str, stdin: str | None = None) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A running ``sctpx listen ... --udp-port 0``; yields it and its UDP port; always ended."""
    proc = subprocess.Popen(
        [*SCTPX, "listen", *args, "--udp-port", "0"],
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdin is not None and proc.stderr is not None
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.flush()
        ready, _, _ = select.select([proc.stderr], [], [], TIMEOUT)
        assert ready, "the listener did not start"
        line = proc.stderr.readline()
        found = re.search(r"listening on .* UDP port (\d+)", line)
        assert found, line
        yield proc, int(found.group(1))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                f.close()


def test_echo_round_trip_through_a_dead_first_address() -> None:
    lines = "".join(f"line {i} " + "x" * i + "\n" for i in range(50))
    with listener("127.0.0.2", "127.0.0.3", "-p", "5000", "--echo", "-v") as (srv, udp):
        done = sctpx(
            "connect",
            "127.0.0.9",
            "127.0.0.2",
            "-p",
            "5000",
            "--remote-udp-port",
            str(udp),
            "--lines",
            "-v",
            stdin=lines,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == lines  # every line came back, in order
        # -v: the path table (state, srtt, rto, cwnd) and the notifications, on stderr
        assert re.search(r"127\.0\.0\.2 +ACTIVE .*primary", done.stderr), done.stderr
        assert "127.0.0.9" not in done.stderr.split("connected to")[1]  # dropped from the paths
        assert "peer address 127.0.0.3 ADDR_CONFIRMED" in done.stderr  # announced, then confirmed
        assert "Traceback" not in done.stderr
        srv.send_signal(signal.SIGTERM)
        assert srv.wait(TIMEOUT) == 128 + signal.SIGTERM
        assert srv.stderr is not None
        log = srv.stderr.read()
        assert "COMM_UP" in log and "SHUTDOWN_COMP" in log, log


def test_plain_listen_and_connect_talk_both_ways() -> None:
    with listener("127.0.0.2", "-p", "5001", stdin="pong\n") as (srv, udp):
        done = sctpx(
            "connect",
            "127.0.0.2",
            "-p",
            "5001",
            "--remote-udp-port",
            str(udp),
            "--stream",
            "3",
            "--ppid",
            "51",
            stdin="ping\n",
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "pong\n"
        assert done.stderr == ""
        out, err = srv.communicate(timeout=TIMEOUT)  # ends with the association
        assert srv.returncode == 0, err
        assert out == "ping\n"


def test_connect_refused_is_one_line_and_status_1() -> None:
    done = sctpx("connect", "127.0.0.2", "-p", "5000", "--remote-udp-port", "9", "-w", "5")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        "sctpx: cannot connect to 127.0.0.2 port 5000: Connection refused"
    )


def test_unknown_address_is_a_usage_error() -> None:
    done = sctpx("connect", "no-such-host.invalid", "-p", "5000")
    assert done.returncode == 2
    assert done.stderr.startswith("sctpx: unknown address 'no-such-host.invalid'")
    assert done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["listen", "0.0.0.0", "127.0.0.2", "-p", "5000"], "the wildcard address comes alone"),
        (["connect", "0.0.0.0", "-p", "5000"], "the wildcard address is for listening only"),
        (["listen", "127.0.0.2", "-p", "70000"], "70000 is not a port number"),
        (["connect", "127.0.0.2", "-p", "0"], "the peer's SCTP port cannot be 0"),
        (["connect", "127.0.0.2", "-p", "5000", "--stream", "x"], "not a number"),
        (["listen", "127.0.0.2"], "the following arguments are required: -p/--port"),
        (["bench", "--size", "0"], "--size must be"),
    ],
)
def test_bad_command_lines_exit_2(args: list[str], message: str) -> None:
    done = sctpx(*args)
    assert done.returncode == 2, done
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_listening_on_a_foreign_address_is_a_runtime_error() -> None:
    done = sctpx("listen", "192.0.2.1", "-p", "5000")  # TEST-NET-1: not ours
    assert done.returncode == 1
    assert re.fullmatch(
        r"sctpx: cannot listen on 192\.0\.2\.1 port 5000: Cannot assign requested address: "
        r"UDP 192\.0\.2\.1 port \d+ \(that address is not one of this host's\)\n",
        done.stderr,
    ), done.stderr


def test_port_in_use() -> None:
    with listener("127.0.0.2", "-p", "5002", "--discard") as (_srv, udp):
        done = sctpx("listen", "127.0.0.2", "-p", "5002", "--udp-port", str(udp))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"Address already in use: UDP 127.0.0.2 port {udp}" in done.stderr
    assert "choose another with --udp-port" in done.stderr


def _unprivileged_port_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or _unprivileged_port_start() <= 80,
    reason="needs root (to become nobody with setpriv) and privileged ports",
)
def test_permission_needed() -> None:
    setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    done = subprocess.run(
        [*setpriv, *SCTPX, "listen", "127.0.0.2", "-p", "5000", "--udp-port", "80"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 1, done
    assert "Permission denied" in done.stderr and "CAP_NET_BIND_SERVICE" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_an_interrupted_echo_server_shuts_its_associations_down() -> None:
    with listener("127.0.0.2", "-p", "5003", "--echo") as (srv, udp):
        cli = subprocess.Popen(
            [*SCTPX, "connect", "127.0.0.2", "-p", "5003", "--remote-udp-port", str(udp), "-v"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert cli.stderr is not None
            for _ in range(5):  # -v: maybe a library warning first
                ready, _, _ = select.select([cli.stderr], [], [], TIMEOUT)
                assert ready, "the client did not connect"
                if "connected to 127.0.0.2" in cli.stderr.readline():
                    break
            else:
                raise AssertionError("no 'connected to' line")
            srv.send_signal(signal.SIGTERM)
            assert srv.wait(TIMEOUT) == 128 + signal.SIGTERM
            # stdin is still open: only the server's SHUTDOWN can end the client
            assert cli.wait(TIMEOUT) == 0
            err = cli.stderr.read()
            assert "the peer sent SHUTDOWN" in err and "SHUTDOWN_COMP" in err
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.communicate()
