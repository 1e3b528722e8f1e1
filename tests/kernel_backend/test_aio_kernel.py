"""``sctpx.aio`` on the kernel backend: g_aio.py's scenarios in the VM (Linux 6.1's sctp.ko),
asserted here; and, on this host without kernel SCTP, the clear EPROTONOSUPPORT."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

import pytest
from kernel.vm import KernelVM

import sctpx
import sctpx.aio

from .guest import run_json

S1, S2 = "127.0.0.2", "127.0.0.3"


@pytest.fixture(scope="module")
def aio(guest: KernelVM) -> dict[str, Any]:
    """Every scenario of g_aio.py, run once in the guest (the tree is shipped by ``guest``)."""
    return {r["scenario"]: r for r in run_json(guest, "g_aio.py", timeout=240)}


def result(aio: dict[str, Any], name: str) -> dict[str, Any]:
    rec = aio.get(name)
    assert rec is not None, f"scenario {name} did not run"
    assert "error" not in rec, rec["error"]
    res: dict[str, Any] = rec["result"]
    return res


def err(rec: Any) -> tuple[str, str | None]:
    assert rec is not None, "nothing was raised"
    return rec["type"], rec["errno"]


def test_echo_with_stream_ppid_unordered_both_ways(aio) -> None:
    r = result(aio, "echo_both_ways")
    assert r["type"] == "KernelAssociation" and r["isinstance"] is True
    assert r["server_type"] == "KernelServer" and r["server_port"] == 7200
    assert r["server_addresses"] == [S1, S2]
    assert r["peer"] == [[S1, 7200], [S2, 7200]] and r["primary"] == [S1, 7200]
    assert r["streams"] == [10, 10]
    got = r["server"]["got"]
    assert [(m["data"], m["stream"], m["ppid"], m["unordered"]) for m in got[:3]] == [
        ("one", 3, 46, False), ("two", 2, 0xFFFFFFF0, True), ("three", 0, 0, False)]  # fmt: skip
    assert [(m["data"], m["stream"], m["ppid"], m["unordered"], m["complete"])
            for m in r["back"]] == [("ONE", 3, 47, False, True),
                                    ("TWO", 2, 0xFFFFFFF1, True, True),
                                    ("THREE", 0, 1, False, True)]  # fmt: skip
    assert r["server"]["type"] == "KernelAssociation"
    assert r["server"]["peer"] == [list(a) for a in r["local"]]


def test_send_checks_and_the_send_buffer_limit(aio) -> None:
    r = result(aio, "echo_both_ways")
    assert err(r["bad_stream"]) == err(r["empty"]) == err(r["bad_ppid"]) == ("OSError", "EINVAL")
    assert err(r["too_big"]) == ("OSError", "EMSGSIZE")  # 4 MB > SO_SNDBUF, queued nothing
    assert err(r["stack"])[0] == "AttributeError"  # no sctpx.Stack under the kernel


def test_a_large_message_arrives_in_parts_marked_complete_on_the_last(aio) -> None:
    r = result(aio, "echo_both_ways")
    parts = [m for m in r["server"]["got"] if m["stream"] == 7]
    assert sum(m["len"] for m in parts) == 200_000
    assert [m["complete"] for m in parts] == [False] * (len(parts) - 1) + [True]
    assert r["big_reply"]["data"] == f"{len(parts)} 200000"


def test_paths_from_peer_addr_info(aio) -> None:
    r = result(aio, "echo_both_ways")
    by_ip = {p[0]: p for p in r["paths"]}
    assert set(by_ip) == {S1, S2}
    for ip, state, has_srtt, rto, has_cwnd, confirmed, primary in r["paths"]:
        assert state == "ACTIVE" and confirmed is True and has_srtt is True and has_cwnd is True
        assert rto > 0
        assert primary is (ip == S1)


def test_graceful_close_by_the_client_and_eof_on_both_sides(aio) -> None:
    r = result(aio, "echo_both_ways")
    assert r["closed"] is True
    assert r["end"] == {"kind": "AssocChange", "state": "SHUTDOWN_COMP", "error": 0}
    assert r["events"][0]["state"] == "COMM_UP" and r["events"][-1] == r["end"]
    assert err(r["recv_after"]) == ("EOFError", None)
    assert err(r["send_after"]) == ("BrokenPipeError", "EPIPE")
    assert r["close_again"] is None
    srv = r["server"]
    assert srv["end"]["state"] == "SHUTDOWN_COMP"
    assert err(srv["recv_after"]) == ("EOFError", None)
    assert err(srv["send_after"]) == ("BrokenPipeError", "EPIPE")
    # a closed server's port refuses (the kernel answers the INIT with an ABORT)
    assert r["server_serving"] is False
    assert err(r["refused_after_close"]) == ("ConnectionRefusedError", "ECONNREFUSED")


def test_the_server_closes_first(aio) -> None:
    r = result(aio, "server_closes_first")
    assert r["server"]["got"]["data"] == "hello" and r["server"]["got"]["stream"] == 2
    assert (r["last"]["data"], r["last"]["stream"], r["last"]["ppid"]) == ("bye", 1, 5)
    assert err(r["eof"]) == ("EOFError", None)
    assert r["end"]["state"] == "SHUTDOWN_COMP" == r["server"]["end"]["state"]
    assert err(r["send_after"]) == ("BrokenPipeError", "EPIPE")
    assert [e["kind"] + ":" + str(e.get("state", "")) for e in r["events"]] == [
        "AssocChange:COMM_UP", "ShutdownEvent:", "AssocChange:SHUTDOWN_COMP"]  # fmt: skip


def test_client_abort_is_a_reset_on_the_server(aio) -> None:
    r = result(aio, "client_aborts")
    assert r["closed"] is True
    assert r["end"] == {"kind": "AssocChange", "state": "COMM_LOST", "error": errno.ECONNABORTED}
    assert err(r["recv"]) == err(r["send"]) == ("ConnectionAbortedError", "ECONNABORTED")
    srv = r["server"]
    assert srv["got"]["data"] == "ping"
    assert srv["end"] == {"kind": "AssocChange", "state": "COMM_LOST", "error": errno.ECONNRESET}
    assert err(srv["recv"]) == err(srv["send"]) == err(srv["drain"])
    assert err(srv["recv"]) == ("ConnectionResetError", "ECONNRESET")


def test_server_abort_is_a_reset_on_the_client(aio) -> None:
    r = result(aio, "server_aborts")
    assert err(r["recv"]) == ("ConnectionResetError", "ECONNRESET")
    assert r["end"] == {"kind": "AssocChange", "state": "COMM_LOST", "error": errno.ECONNRESET}


def test_connectx_errors_timeout_and_cancellation(aio) -> None:
    r = result(aio, "connect_errors")
    assert err(r["refused"]) == ("ConnectionRefusedError", "ECONNREFUSED")
    assert r["refused_took"] < 1.0
    assert err(r["timeout"]) == ("TimeoutError", "ETIMEDOUT")
    assert 0.45 < r["timeout_took"] < 1.5
    assert err(r["cancelled"]) == ("CancelledError", None) and r["cancel_took"] < 0.5
    for name in ("no_addrs", "mixed_ports", "init_stagger", "udp_port", "remote_udp_port",
                 "server_udp_port", "no_server_addrs"):  # fmt: skip
        assert err(r[name]) == ("OSError", "EINVAL"), name


def test_sctpx_backend_env_and_streams(aio) -> None:
    r = result(aio, "env_default_and_streams")
    assert r["types"] == ["KernelServer", "KernelAssociation"]
    assert r["streams"] == [4, 3]  # we asked for 4 out, the server offers 3
    assert (r["echo"]["data"], r["echo"]["stream"]) == ("s2", 2)


def test_drain_waits_for_a_slow_reader(aio) -> None:
    r = result(aio, "slow_reader_holds_drain")
    assert r["queued"] > sctpx.aio.DEFAULT_HIGH_WATER  # the kernel's buffer took only part
    assert r["drain_took"] > 0.4 and r["reader_started_before_drain"] is True
    assert r["after_drain"] <= sctpx.aio.DEFAULT_HIGH_WATER // 4
    assert r["reply"]["data"] == "100 2000000"
    assert (r["server"]["n"], r["server"]["total"]) == (100, 2_000_000)


# ----- this host: no kernel SCTP -----

HOST_HAS_SCTP = sctpx.kernel_available()


@pytest.mark.skipif(HOST_HAS_SCTP, reason="this host has kernel SCTP")
def test_kernel_backend_without_kernel_sctp_is_eprotonosupport(monkeypatch) -> None:
    async def main() -> list[OSError]:
        errors = []
        for coro in (
            sctpx.aio.connectx([("127.0.0.1", 5000)], backend="kernel"),
            sctpx.aio.start_server(lambda a: asyncio.sleep(0), "127.0.0.1", 0, backend="kernel"),
        ):
            with pytest.raises(OSError) as e:
                await coro
            errors.append(e.value)
        monkeypatch.setenv("SCTPX_BACKEND", "kernel")
        with pytest.raises(OSError) as e2:
            await sctpx.aio.connectx([("127.0.0.1", 5000)])
        errors.append(e2.value)
        return errors

    for e in asyncio.run(main()):
        assert e.errno == errno.EPROTONOSUPPORT
        assert "modprobe sctp" in str(e)


def test_backend_argument_is_checked() -> None:
    async def main() -> None:
        with pytest.raises(ValueError):
            await sctpx.aio.connectx([("127.0.0.1", 5000)], backend="bsd")
        with pytest.raises(ValueError):
            await sctpx.aio.start_server(lambda a: asyncio.sleep(0), "127.0.0.1", 0,
                                         backend="bsd")  # fmt: skip

    asyncio.run(main())
