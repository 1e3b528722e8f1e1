"""Stream reconfiguration (RFC 6525) and interleaving (RFC 8260) on the kernel backend: the
scenarios of g_streams.py in the VM (Linux 6.1), asserted the way the userspace backend's
rules say (api/reconfig.py, api/interleave.py), with the kernel's documented differences
(api/kernel/streams.py, docs/api.md)."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

import pytest
from kernel.vm import KernelVM

import sctpx

from .guest import run_json

# For the run: I-DATA allowed; RE-CONFIG not offered by the sysctl, so that the backend's
# own SCTP_RECONFIG_SUPPORTED is what makes it work (and a plain kernel socket lacks it).
SYSCTLS = {"net.sctp.intl_enable": "1", "net.sctp.reconf_enable": "0"}
OUT_SSN, IN_SSN = sctpx.SCTP_STREAM_RESET_OUTGOING_SSN, sctpx.SCTP_STREAM_RESET_INCOMING_SSN
DENIED = sctpx.SCTP_STREAM_RESET_DENIED


@pytest.fixture(scope="module")
def streams(guest: KernelVM) -> Iterator[dict[str, Any]]:
    """Every scenario of g_streams.py; the guest's sysctls set for it and put back after."""
    saved = {name: guest.sysctl(name) for name in SYSCTLS}
    try:
        for name, value in SYSCTLS.items():
            guest.set_sysctl(name, value)
        recs = run_json(guest, "g_streams.py", timeout=300)
        guest.set_sysctl("net.sctp.intl_enable", "0")
        recs += run_json(guest, "g_streams.py", "intl_sysctl_off", timeout=60)
        yield {r["scenario"]: r for r in recs}
    finally:
        for name, value in saved.items():
            guest.set_sysctl(name, value)


def result(streams: dict[str, Any], name: str) -> dict[str, Any]:
    rec = streams.get(name)
    assert rec is not None, f"scenario {name} did not run"
    assert "error" not in rec, rec["error"]
    res: dict[str, Any] = rec["result"]
    return res


def code(rec: Any) -> int:
    assert rec is not None, "no error was raised"
    return int(getattr(errno, rec["errno"]))


def reset_ev(aid: int, flags: int, streams: list[int]) -> dict[str, Any]:
    return {"kind": "StreamResetEvent", "assoc_id": aid, "flags": flags, "streams": streams}


def test_stream_reset_both_ways_and_ssns_start_again(streams) -> None:
    r = result(streams, "stream_reset_both_ways")
    a, b = r["aid"], r["conn_aid"]
    assert r["reconf_sysctl"] == "0"  # RE-CONFIG offered by the backend itself
    assert [m["ssn"] for m in r["before"]] == [0, 1]
    assert r["cli_out"] == [reset_ev(a, OUT_SSN, [1, 2])]
    assert r["conn_out"] == [reset_ev(b, IN_SSN, [1, 2])]
    assert (r["after"][0]["head"], r["after"][0]["ssn"]) == ("s1-after", 0)
    assert r["cli_in"] == [reset_ev(a, IN_SSN, [3])]  # performed by the peer's own request
    assert r["conn_in"] == [reset_ev(b, OUT_SSN, [3])]
    assert r["conn_all"] == [reset_ev(b, OUT_SSN, [])]  # no streams: every stream
    data = [m for m in r["cli_all"] if m["kind"] == "data"]
    assert [(m["head"], m["ssn"]) for m in data] == [("x", 0), ("y", 1)]
    assert reset_ev(a, IN_SSN, []) in r["cli_all"]
    assert (r["cli_after_all"][0]["head"], r["cli_after_all"][0]["ssn"]) == ("z", 0)
    assert sorted(e["flags"] for e in r["cli_both"]) == [IN_SSN, OUT_SSN]
    assert sorted(e["flags"] for e in r["conn_both"]) == [IN_SSN, OUT_SSN]


def test_a_denied_reset_and_linux_wanting_the_local_bit(streams) -> None:
    r = result(streams, "stream_reset_denied_and_local_bit")
    (denied,) = r["denied"]
    assert denied["flags"] == OUT_SSN | DENIED and denied["streams"] == [1]
    assert r["conn_saw"] == []  # Linux tells nothing to the end that denied it
    assert r["enable_cli"]["assoc_value"] == sctpx.SCTP_ENABLE_RESET_STREAM_REQ
    assert r["enable_conn_assoc"]["assoc_value"] == r["enable_srv"]["assoc_value"] == 0
    # The documented difference: Linux sends a request only with its own bit set here
    for case, bit in (("no_bit_reset", "RESET_STREAM_REQ"), ("no_bit_assoc", "RESET_ASSOC_REQ"),
                      ("no_bit_add", "CHANGE_ASSOC_REQ"),
                      ("no_bit_assoc_cli", "RESET_ASSOC_REQ")):  # fmt: skip
        assert code(r[case]) == errno.EOPNOTSUPP, case
        assert f"SCTP_ENABLE_{bit}" in r[case]["msg"]


def test_add_streams_events_carry_the_totals(streams) -> None:
    r = result(streams, "add_streams_both_ways")
    assert r["start"] == [[10, 10], [10, 10]]

    def change(e: dict[str, Any]) -> tuple[int, int, int]:
        return e["flags"], e["inbound_streams"], e["outbound_streams"]

    cli, conn = r["out3"]
    assert [change(e) for e in cli] == [(0, 10, 13)] and [change(e) for e in conn] == [(0, 13, 10)]
    assert r["after_out3"] == [[10, 13], [13, 10]]
    assert r["new_stream"][0]["sid"] == 12
    cli, conn = r["in2"]
    assert [change(e) for e in cli] == [(0, 12, 13)] and [change(e) for e in conn] == [(0, 13, 12)]
    assert r["after_in2"] == [[12, 13], [13, 12]] and r["new_in"][0]["sid"] == 11
    cli, conn = r["both"]  # one event per kind
    assert len(cli) == len(conn) == 2
    assert change(cli[-1]) == (0, 13, 14) and change(conn[-1]) == (0, 14, 13)
    assert r["after_both"] == [[13, 14], [14, 13]]
    assert [change(e) for e in r["denied"]] == [(sctpx.SCTP_STREAM_CHANGE_DENIED, 13, 14)]
    assert r["after_denied"] == [13, 14]
    assert code(r["zero"]) == code(r["too_many"]) == code(r["not_16_bit"]) == errno.EINVAL


def test_assoc_reset_tsns_are_ours_and_the_peers(streams) -> None:
    r = result(streams, "assoc_reset_tsns")
    (cli,) = r["cli_ev"]
    (conn,) = r["conn_ev"]
    assert cli["flags"] == conn["flags"] == 0
    at_conn, at_cli = r["after"][0][0], r["after"][1][0]
    # local_tsn is the next TSN this end sends (Linux's fields swapped back), remote_tsn
    # the peer's: the TSNs of the first messages after the reset say which is which
    assert cli["local_tsn"] == at_conn["tsn"] == conn["remote_tsn"]
    assert cli["remote_tsn"] == at_cli["tsn"] == conn["local_tsn"]
    assert at_conn["ssn"] == at_cli["ssn"] == 0
    assert at_conn["tsn"] != r["before"][0][0]["tsn"] + 1  # a new numbering
    assert code(r["again"]) == errno.EAGAIN  # sctpx's 30 s rule (RFC 6525 §5.1.4)
    (cli2,) = r["cli_ev2"]
    (conn2,) = r["conn_ev2"]
    assert conn2["local_tsn"] == cli2["remote_tsn"] and conn2["remote_tsn"] == cli2["local_tsn"]
    assert code(r["bool"]) == errno.ENOPROTOOPT  # an assoc id, not a bool (as userspace)
    (denied,) = r["denied"]
    assert denied["flags"] == sctpx.SCTP_ASSOC_RESET_DENIED
    assert (denied["local_tsn"], denied["remote_tsn"]) == (0, 0)  # Linux does not say


RECONF_ERRNOS = [
    ("unconnected_reset", errno.ENOTCONN), ("unconnected_assoc", errno.ENOTCONN),
    ("unconnected_add", errno.ENOTCONN), ("m_no_id", errno.EINVAL),
    ("m_unknown_id", errno.EINVAL), ("m_unknown_assoc", errno.EINVAL),
    ("bad_bits", errno.EINVAL), ("flags_none", errno.EINVAL), ("flags_unknown", errno.EINVAL),
    ("bad_stream", errno.EINVAL), ("wrong_id", errno.EINVAL),
    ("in_progress_reset", errno.EINPROGRESS), ("in_progress_assoc", errno.EINPROGRESS),
    ("in_progress_add", errno.EINPROGRESS), ("queued_reset", errno.EAGAIN),
    ("queued_assoc", errno.EAGAIN), ("no_reconf_reset", errno.EOPNOTSUPP),
    ("no_reconf_add", errno.EOPNOTSUPP), ("no_reconf_assoc", errno.EOPNOTSUPP),
]  # fmt: skip


@pytest.mark.parametrize(("case", "expected"), RECONF_ERRNOS, ids=[c for c, _e in RECONF_ERRNOS])
def test_reconf_errnos(streams, case: str, expected: int) -> None:
    r = result(streams, "reconf_errnos")
    assert code(r[case]) == expected, r[case]


def test_reconf_errno_details(streams) -> None:
    r = result(streams, "reconf_errnos")
    assert "peer does not support RE-CONFIG" in r["no_reconf_reset"]["msg"]
    assert r["m_future"] == [5, 5, 5]  # the socket's default, read with any of the three ids
    # a message sent on a stream being reset waits and goes after it, from SSN 0
    assert r["sent_meanwhile"] == 4 and r["answered"][0]["flags"] == OUT_SSN
    held = [m for m in r["held_then"] if m["kind"] == "data"]
    assert [(m["head"], m["ssn"]) for m in held] == [("held", 0)]
    assert r["queued_other_stream"] is None  # only the streams with unsent messages


def test_interleaving_options_and_i_data_negotiated(streams) -> None:
    r = result(streams, "interleaving_negotiated")
    assert (r["frag_default"], r["intl_default"]) == (0, 0)  # the kernel's default level 0
    assert code(r["needs_frag_2"]) == code(r["needs_frag_2_not_1"]) == errno.EINVAL
    assert code(r["frag_bad"]) == code(r["intl_by_assoc_id"]) == errno.EINVAL
    assert (r["frag_2"], r["intl_on"]) == (2, 1)  # the level set is read back
    assert r["intl_after_frag_1"] == 0 and r["intl_set_0"] == 0
    assert r["assoc"] == [1, 1] and r["conn_frag"] == 2
    assert r["sched_default"] == sctpx.SCTP_SS_FCFS  # the kernel's, with I-DATA too
    assert [1, 200_000, r["big_sha"]] in r["got"]  # whole, with small ones on stream 2
    assert sorted((sid, n) for sid, n, _sha in r["got"] if sid == 2) == [(2, 98)] * 10
    assert r["one_side"] == [0, 0]  # offered by one end only: DATA


def test_i_data_needs_the_sysctl(streams) -> None:
    r = result(streams, "intl_sysctl_off")
    assert r["sysctl"] == "0" and r["kernel_eperm"]["errno"] == "EPERM"  # what Linux says
    assert code(r["on"]) == errno.EOPNOTSUPP and "net.sctp.intl_enable" in r["on"]["msg"]
    assert r["off"] is None and r["value"] == 0  # turning it off always works


def test_stream_scheduler_get_set_and_values(streams) -> None:
    r = result(streams, "scheduler_get_set")
    assert r["default"] == [sctpx.SCTP_SS_FCFS] * 3
    assert code(r["SCTP_SS_RR_PKT"]) == errno.EOPNOTSUPP  # no Linux equivalent
    assert code(r["SCTP_SS_FC"]) == code(r["SCTP_SS_WFQ"]) == errno.EOPNOTSUPP  # not in 6.1
    assert code(r["unknown"]) == errno.EINVAL
    assert code(r["m_value_no_assoc"]) == code(r["m_unknown_assoc"]) == errno.EINVAL
    assert r["inherited"] == [sctpx.SCTP_SS_RR, sctpx.SCTP_SS_PRIO]  # the sockets' defaults
    assert code(r["rr_value"]) == code(r["fcfs_value"]) == errno.EINVAL  # no per-stream value
    assert r["rr_value_get"] == 0 and r["fcfs_now"] == sctpx.SCTP_SS_FCFS
    assert r["prio_value"]["stream_value"] == 7 and r["prio_value"]["stream_id"] == 1
    assert r["prio_value_other"] == 0
    for case in ("prio_too_big", "prio_bad_stream", "get_bad_stream", "get_no_arg", "u_value"):
        assert code(r[case]) == errno.EINVAL, case
    assert code(r["u_sched_other_id"]) == errno.ENOTCONN


def test_sctp_recv_joins_parts_that_other_messages_interleave(streams) -> None:
    r = result(streams, "interleaved_parts_joined_by_sctp_recv")
    assert r["got"] == r["want"]


def test_aio_reset_add_and_schedulers_on_the_kernel(streams) -> None:
    r = result(streams, "aio_streams")
    assert r["streams"] == [10, 10] and r["streams_after"] == [12, 11]
    kinds = [e["kind"] for e in r["events"]]
    assert kinds == ["StreamResetEvent", "StreamChangeEvent", "StreamChangeEvent",
                     "AssocResetEvent"]  # fmt: skip
    assert r["events"][0]["flags"] == OUT_SSN and r["events"][0]["streams"] == [1]
    assert (r["events"][2]["inbound_streams"], r["events"][2]["outbound_streams"]) == (11, 12)
    assert r["peer"][-1]["sid"] == 11  # sent on an added stream
    assert code(r["again"]) == errno.EAGAIN
    assert r["enable"] == 7  # asking set the association's bits (Linux's rule)
    assert r["interleaving"] is False and r["value"] == 9
    assert code(r["rr_pkt"]) == errno.EOPNOTSUPP
    assert code(r["bogus"]) == code(r["nothing"]) == errno.EINVAL
    assert code(r["ended"]) == errno.ENOTCONN
