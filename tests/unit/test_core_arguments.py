"""A caller's mistakes at the Endpoint give the same outcome in the pure and the compiled core.

The rule (core/arguments.py): address lists, messages and connectx options are checked
by the core and refused with EINVAL, whatever their Python type; a scalar argument of
the wrong type raises TypeError (the compiled build's own check at the call, the same
check in Python in the pure build). The suite runs on both builds (make test,
make test-compiled), so this table pins both. Each refused call leaves no trace.
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable

import pytest

import sctpx.core.endpoint as endpoint_module
from sctpx.core import Config, Endpoint, State

A = ("198.18.1.2", 5001)
OK, EINVAL = "ok", errno.EINVAL

Call = Callable[[Endpoint, int], object]


def _ep() -> Endpoint:
    return Endpoint(40000, ["198.18.1.1"], rng=random.Random(1))


def _established() -> tuple[Endpoint, int]:
    c, s = _ep(), Endpoint(5000, ["198.18.1.2"], rng=random.Random(2))
    s.listen()
    aid = c.connectx([("198.18.1.2", 5000)], 0.0)
    for _ in range(4):
        for d, src, dst in c.datagrams_to_send(0.0):
            s.receive(d, src, dst, 0.0)
        for d, src, dst in s.datagrams_to_send(0.0):
            c.receive(d, src, dst, 0.0)
    assert c.association(aid).state is State.ESTABLISHED
    return c, aid


NEW: list[tuple[str, Callable[[], object], object]] = [
    ("port float", lambda: Endpoint(5000.0, ["198.18.1.1"]), TypeError),  # type: ignore[arg-type]
    ("port str", lambda: Endpoint("5000", ["198.18.1.1"]), TypeError),  # type: ignore[arg-type]
    ("port 0", lambda: Endpoint(0, ["198.18.1.1"]), EINVAL),
    ("addresses a tuple", lambda: Endpoint(5000, ("198.18.1.1",)), OK),
    ("addresses a str", lambda: Endpoint(5000, "198.18.1.1"), EINVAL),
    ("an address an int", lambda: Endpoint(5000, [5]), EINVAL),  # type: ignore[list-item]
    ("addresses None", lambda: Endpoint(5000, None), EINVAL),  # type: ignore[arg-type]
    ("config not a Config", lambda: Endpoint(5000, ["198.18.1.1"], config=5), TypeError),  # type: ignore[arg-type]
    ("rng not a Random", lambda: Endpoint(5000, ["198.18.1.1"], rng=5), TypeError),  # type: ignore[arg-type]
    ("udp_port str", lambda: Endpoint(5000, ["198.18.1.1"], udp_port="1"), TypeError),  # type: ignore[arg-type]
]

# (what, the call on a fresh endpoint with one established association, expected)
ON_ENDPOINT: list[tuple[str, Call, object]] = [
    ("connectx: a tuple of addresses", lambda e, a: e.connectx((A,), 0.0), OK),
    ("connectx: lists as entries", lambda e, a: e.connectx([list(A)], 0.0), OK),  # type: ignore[list-item]
    ("connectx: an AF_UNIX-like entry", lambda e, a: e.connectx([A, ("/tmp/sock",)], 0.0), EINVAL),  # type: ignore[list-item]
    ("connectx: an IPv6 4-tuple", lambda e, a: e.connectx([("::1", 5001, 0, 0)], 0.0), EINVAL),  # type: ignore[list-item]
    ("connectx: port as str", lambda e, a: e.connectx([("198.18.1.2", "5001")], 0.0), EINVAL),  # type: ignore[list-item]
    ("connectx: port as float", lambda e, a: e.connectx([("198.18.1.2", 5001.0)], 0.0), EINVAL),  # type: ignore[list-item]
    ("connectx: port True", lambda e, a: e.connectx([("198.18.1.2", True)], 0.0), EINVAL),
    ("connectx: ip as bytes", lambda e, a: e.connectx([(b"198.18.1.2", 5001)], 0.0), EINVAL),  # type: ignore[list-item]
    ("connectx: None", lambda e, a: e.connectx(None, 0.0), EINVAL),  # type: ignore[arg-type]
    ("connectx: one str", lambda e, a: e.connectx("198.18.1.2", 0.0), EINVAL),  # type: ignore[arg-type]
    ("connectx: now as str", lambda e, a: e.connectx([A], "0"), TypeError),  # type: ignore[arg-type]
    ("connectx: now an int", lambda e, a: e.connectx([A], 0), OK),
    ("option: unknown", lambda e, a: e.connectx([A], 0.0, bogus=1), EINVAL),
    ("option: a bool as int", lambda e, a: e.connectx([A], 0.0, nodelay=1), EINVAL),
    ("option: an int as str", lambda e, a: e.connectx([A], 0.0, num_ostreams="5"), EINVAL),
    ("option: an int as float", lambda e, a: e.connectx([A], 0.0, num_ostreams=5.0), EINVAL),
    ("option: an int as bool", lambda e, a: e.connectx([A], 0.0, num_ostreams=True), EINVAL),
    ("option: a float as int", lambda e, a: e.connectx([A], 0.0, init_stagger=1), OK),
    ("option: a dict as list", lambda e, a: e.connectx([A], 0.0, remote_udp_ports=[]), EINVAL),
    ("option: a dict of str", lambda e, a: e.connectx([A], 0, remote_udp_ports={"x": ""}), EINVAL),
    ("option: a str as int", lambda e, a: e.connectx([A], 0.0, stream_scheduler=1), EINVAL),
    ("option: a bad value", lambda e, a: e.connectx([A], 0.0, num_ostreams=0), EINVAL),
    ("find: a list", lambda e, a: e.find(["198.18.1.2", 5000]), OK),
    ("find: a 1-tuple", lambda e, a: e.find(("198.18.1.2",)), OK),
    ("find: None", lambda e, a: e.find(None), OK),  # type: ignore[arg-type]
    ("find: ip an int", lambda e, a: e.find((5, 1)), OK),
    ("association: id as str", lambda e, a: e.association(str(a)), TypeError),  # type: ignore[arg-type]
    ("association: id as float", lambda e, a: e.association(float(a)), TypeError),  # type: ignore[arg-type]
    ("association: unknown id", lambda e, a: e.association(a + 1), EINVAL),
    ("consumed: id as str", lambda e, a: e.consumed(str(a), 1), TypeError),  # type: ignore[arg-type]
    ("consumed: nbytes as str", lambda e, a: e.consumed(a, "1"), TypeError),  # type: ignore[arg-type]
    ("set_primary: ip an int", lambda e, a: e.set_primary(a, 5), TypeError),  # type: ignore[arg-type]
    ("set_primary: not an ip", lambda e, a: e.set_primary(a, "x"), EINVAL),
    ("send: bytes", lambda e, a: e.send(a, b"x", 0.0), OK),
    ("send: bytearray", lambda e, a: e.send(a, bytearray(b"x"), 0.0), OK),
    ("send: memoryview", lambda e, a: e.send(a, memoryview(b"x"), 0.0), OK),
    ("send: str", lambda e, a: e.send(a, "x", 0.0), EINVAL),  # type: ignore[arg-type]
    ("send: empty", lambda e, a: e.send(a, b"", 0.0), EINVAL),
    ("send: id as str", lambda e, a: e.send(str(a), b"x", 0.0), TypeError),  # type: ignore[arg-type]
    ("send: stream as float", lambda e, a: e.send(a, b"x", 0.0, stream=1.0), TypeError),  # type: ignore[arg-type]
    ("send: stream beyond", lambda e, a: e.send(a, b"x", 0.0, stream=99999), EINVAL),
    ("send: ppid as str", lambda e, a: e.send(a, b"x", 0.0, ppid="1"), TypeError),  # type: ignore[arg-type]
    ("send: ppid beyond 32 bits", lambda e, a: e.send(a, b"x", 0.0, ppid=2**32), EINVAL),
    ("send: unordered an int", lambda e, a: e.send(a, b"x", 0.0, unordered=1), TypeError),  # type: ignore[arg-type]
    ("send: context as str", lambda e, a: e.send(a, b"x", 0.0, context="1"), TypeError),  # type: ignore[arg-type]
    ("send: ttl an int", lambda e, a: e.send(a, b"x", 0.0, ttl=1), OK),
    ("send: ttl as str", lambda e, a: e.send(a, b"x", 0.0, ttl="1"), TypeError),  # type: ignore[arg-type]
    ("send: ttl negative", lambda e, a: e.send(a, b"x", 0.0, ttl=-1.0), EINVAL),
    ("send: max_rtx a float", lambda e, a: e.send(a, b"x", 0.0, max_retransmissions=.5), TypeError),  # type: ignore[arg-type]
    ("send: now as str", lambda e, a: e.send(a, b"x", "0"), TypeError),  # type: ignore[arg-type]
    ("shutdown: id as str", lambda e, a: e.shutdown(str(a), 0.0), TypeError),  # type: ignore[arg-type]
    ("abort: reason a str", lambda e, a: e.abort(a, 0.0, "why"), EINVAL),  # type: ignore[arg-type]
    ("abort: reason a bytearray", lambda e, a: e.abort(a, 0.0, bytearray(b"why")), OK),
    ("abort: id as str", lambda e, a: e.abort(str(a), 0.0), TypeError),  # type: ignore[arg-type]
    ("listen: an int", lambda e, a: e.listen(1), TypeError),  # type: ignore[arg-type]
]  # fmt: skip


def _outcome(fn: Callable[[], object]) -> object:
    try:
        fn()
    except OSError as e:
        return e.errno
    except TypeError:
        return TypeError
    return OK


@pytest.mark.parametrize(("what", "call", "expected"), NEW, ids=[c[0] for c in NEW])
def test_new_endpoint_arguments(what: str, call: Callable[[], object], expected: object) -> None:
    assert _outcome(call) == expected


def _trace(e: Endpoint) -> object:
    a = next(iter(e.associations.values()))
    return (sorted(e.associations), e.ctx.out, list(e.ctx.events), a.state,
            a.data.sender.queued_bytes if a.data else None)  # fmt: skip


@pytest.mark.parametrize(("what", "call", "expected"), ON_ENDPOINT, ids=[c[0] for c in ON_ENDPOINT])
def test_endpoint_call_arguments(what: str, call: Call, expected: object) -> None:
    e, aid = _established()
    before = _trace(e)
    assert _outcome(lambda: call(e, aid)) == expected
    if expected is not OK:
        assert _trace(e) == before  # refused: no trace


def test_this_run_says_which_build_it_tests() -> None:
    """The table above ran on the build this names (the compiled one is a .so)."""
    name = endpoint_module.__file__ or ""
    assert name.endswith((".py", ".so")), name
    print(f"\nthe core under test: {name}")


def test_config_options_accept_every_field_with_its_own_type() -> None:
    """The option check knows every Config field: each takes its default's own value."""
    e, _aid = _established()
    defaults = Config()
    for i, name in enumerate(Config.__dataclass_fields__):
        value = getattr(defaults, name)
        peer = (f"198.18.9.{i + 1}", 6000)
        assert isinstance(e.connectx([peer], 0.0, **{name: value}), int), name
