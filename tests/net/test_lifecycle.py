"""Opening, closing and errors: ports, addresses, close from anywhere, calls after close."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import Callable

import pytest

from sctpx.core import AssocChangeState, Config, Endpoint, UsageError
from sctpx.net import Stack, default_stack
from sctpx.net import stack as stack_mod

from .conftest import Events, Pair


def udp_bindable(ip: str, port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_ephemeral_udp_port_is_shared_by_every_address(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    assert stack.udp_port == 0
    stack.open_endpoint(5000, ["127.0.0.2"], None, Events())
    port = stack.udp_port
    assert port != 0
    stack.open_endpoint(5001, ["127.0.0.3", "::1"], None, Events())
    socks = stack.udp_sockets
    assert sorted(socks) == ["127.0.0.2", "127.0.0.3", "::1"]
    assert {s.getsockname()[1] for s in socks.values()} == {port}
    assert all(s.getsockname()[0] not in ("0.0.0.0", "::") for s in socks.values())


def test_sctp_port_in_use_and_port_zero(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    stack.open_endpoint(5000, ["127.0.0.2"], None, Events())
    with pytest.raises(OSError) as exc:
        stack.open_endpoint(5000, ["127.0.0.3"], None, Events())
    assert exc.value.errno == errno.EADDRINUSE
    assert sorted(stack.udp_sockets) == ["127.0.0.2"]  # nothing left open by the failure
    ports = {stack.open_endpoint(0, ["127.0.0.2"], None, Events()).port for _ in range(20)}
    assert len(ports) == 20 and all(49152 <= p <= 65535 for p in ports)


def test_address_not_on_this_host(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    with pytest.raises(OSError) as exc:
        stack.open_endpoint(5000, ["127.0.0.2", "192.0.2.1"], None, Events())
    assert exc.value.errno == errno.EADDRNOTAVAIL
    assert stack.udp_sockets == {} and stack.endpoints == []
    assert udp_bindable("127.0.0.2", stack.udp_port)  # the first socket was closed again
    stack.open_endpoint(5000, ["127.0.0.2"], None, Events())  # the port is free too


def test_udp_port_taken_by_another_stack(make_stack: Callable[..., Stack]) -> None:
    first = make_stack()
    first.open_endpoint(5000, ["127.0.0.2"], None, Events())
    second = make_stack(udp_port=first.udp_port)
    with pytest.raises(OSError) as exc:
        second.open_endpoint(5000, ["127.0.0.3", "127.0.0.2"], None, Events())
    assert exc.value.errno == errno.EADDRINUSE
    assert second.udp_sockets == {}


def test_bad_arguments(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    # The wildcard alone binds every address of the host (tested in namespaces only:
    # tests/interop/test_rawip.py); beside other addresses it is EINVAL.
    for addrs in ([], ["nonsense"], ["0.0.0.0", "127.0.0.2"], ["127.0.0.2", "::"], "127.0.0.2"):
        with pytest.raises(OSError) as exc:
            stack.open_endpoint(5000, addrs, None, Events())  # type: ignore[arg-type]
        assert exc.value.errno == errno.EINVAL
    with pytest.raises(UsageError):  # the core's own check, sockets closed again
        stack.open_endpoint(5000, ["127.0.0.2"], Config(a_rwnd=10), Events())
    assert stack.udp_sockets == {}
    with pytest.raises(OSError):
        Stack.route_source("not an ip")


def test_close_endpoint_closes_unused_sockets(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    a = stack.open_endpoint(5000, ["127.0.0.2", "127.0.0.3"], None, Events())
    b = stack.open_endpoint(5001, ["127.0.0.3"], None, Events())
    stack.close_endpoint(a)
    assert sorted(stack.udp_sockets) == ["127.0.0.3"]
    stack.close_endpoint(a)  # twice: nothing happens
    stack.close_endpoint(b)
    assert stack.udp_sockets == {} and stack.endpoints == []


def test_close_endpoint_sends_its_abort_first(pair: Pair) -> None:
    aid = pair.establish()

    def abort_and_close(now: float) -> None:
        pair.cep.abort(aid, now)
        pair.client.close_endpoint(pair.cep)  # inline: we are on the loop thread

    pair.client.call(abort_and_close)
    ev = pair.sev.assoc_change(AssocChangeState.COMM_LOST)
    assert ev.error == errno.ECONNRESET


def test_route_source() -> None:
    # lo's route for 127/8 has source 127.0.0.1, whichever 127.x address is asked for
    assert Stack.route_source("127.0.0.7") == "127.0.0.1"
    assert Stack.route_source("::1") == "::1"
    assert Stack.route_source("::ffff:127.0.0.5") == "127.0.0.1"


def test_route_source_on_a_two_link_host() -> None:
    # Each peer address gets the source of its own link, whatever was asked before (a
    # kept, re-connected UDP socket would answer the first lookup's source every time:
    # Linux fixes a UDP socket's source at its first connect).
    import subprocess
    import sys

    from sctpx.testing import TestNet, require_root_tools

    why = require_root_tools()
    if why:
        pytest.skip(why)
    code = (
        "from sctpx.net import Stack\n"
        "print(*(Stack.route_source(ip) for ip in "
        "('198.18.1.2', '198.18.2.2', '198.18.1.2', 'fd00:1::2')))"
    )
    with TestNet() as net:
        a, _b = net.hosts
        r = subprocess.run(net.argv(a, [sys.executable, "-c", code]), capture_output=True,
                           text=True, timeout=30, check=True)  # fmt: skip
    assert r.stdout.split() == ["198.18.1.1", "198.18.2.1", "198.18.1.1", "fd00:1::1"]


def test_close_is_idempotent_and_safe_from_anywhere(pair: Pair) -> None:
    pair.establish()
    stacks = [pair.client, pair.server]
    threads = [threading.Thread(target=s.close) for s in stacks for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    for s in stacks:
        s.close()
        assert s.closed and s.udp_sockets == {}
        with pytest.raises(OSError) as exc:
            s.call(lambda now: None)
        assert exc.value.errno == errno.EBADF
        s.call_soon(lambda now: None)  # ignored
        s.close_endpoint(pair.cep)  # ignored
    assert not any(t.name == "sctpx-stack" and t.is_alive() for t in threading.enumerate()) or (
        all(s._runner._thread is None or not s._runner._thread.is_alive() for s in stacks)
    )


def test_close_from_the_loop_thread(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    stack.open_endpoint(5000, ["127.0.0.2"], None, Events())
    stack.call(lambda now: stack.close())
    thread = stack._runner._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive() and stack.udp_sockets == {}


def test_close_from_on_events(pair: Pair) -> None:
    """on_events may call the stack (inline) and even close it, without deadlock."""
    calls: list[int] = []
    inner = pair.cev

    def on_events(ep: Endpoint) -> None:
        calls.append(pair.client.call(lambda now: 7))  # nested call runs inline
        before = inner.queue.qsize()
        inner(ep)
        if inner.queue.qsize() > before:  # COMM_UP arrived: close from here
            pair.client.close()

    pair.client._eps[pair.cep.port].on_events = on_events
    pair.connect()
    inner.assoc_change(AssocChangeState.COMM_UP)
    assert calls and calls[0] == 7
    thread = pair.client._runner._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive() and pair.client.closed


def test_never_started_stack_closes(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    stack.close()
    assert stack._runner._thread is None


def test_exceptions_propagate_from_call(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    with pytest.raises(ZeroDivisionError):
        stack.call(lambda now: 1 / 0)
    assert stack.call(lambda now: now) <= stack.now()


def test_stack_on_a_given_loop() -> None:
    """loop=...: everything runs on the caller's loop; call() from a coroutine runs inline."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, client = Stack(udp_port=0, loop=loop), Stack(udp_port=0, loop=loop)
        try:
            sev, cev = Events(), Events()
            sep = server.open_endpoint(5000, ["127.0.0.2"], None, sev)
            server.call(lambda now: sep.listen())
            cfg = Config(remote_udp_port=server.udp_port)
            cep = client.open_endpoint(0, ["127.0.0.1"], cfg, cev)
            aid = client.call(lambda now: cep.connectx([("127.0.0.2", 5000)], now))
            for _ in range(500):
                if cev.queue.qsize():
                    break
                await asyncio.sleep(0.01)
            ev = cev.queue.get_nowait()
            assert getattr(ev, "state", None) is AssocChangeState.COMM_UP
            # from another thread while the loop runs: handed over, not inline
            result = await asyncio.to_thread(client.call, lambda now: aid)
            assert result == aid
        finally:
            server.close()
            client.close()
        assert client.closed and client.udp_sockets == {}

    asyncio.run(asyncio.wait_for(main(), 10))


def test_default_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCTPX_UDP_PORT", "0")
    monkeypatch.setattr(stack_mod, "_default", None)
    s = default_stack()
    try:
        assert default_stack() is s and s.udp_port == 0
        s.close()
        t = default_stack()
        assert t is not s and not t.closed
        t.close()
    finally:
        s.close()
    monkeypatch.setenv("SCTPX_UDP_PORT", "")
    assert Stack().udp_port == 9899
    monkeypatch.setenv("SCTPX_UDP_PORT", "70000")
    with pytest.raises(ValueError):
        Stack()


def test_call_soon_runs_on_the_loop_and_flushes(pair: Pair) -> None:
    aid = pair.establish()
    threads: list[int] = []

    def send(now: float) -> None:
        threads.append(threading.get_ident())
        pair.cep.send(aid, b"soon", now)

    pair.client.call_soon(send)
    (ev,) = pair.sev.data(1)
    assert ev.data == b"soon"
    assert threads == [pair.client._runner._ident]
    pair.client.call_soon(lambda now: 1 / 0)  # logged, not raised
    assert pair.client.call(lambda now: 5) == 5


def test_send_error_is_counted_and_logged_once(
    make_stack: Callable[..., Stack], caplog: pytest.LogCaptureFixture
) -> None:
    """UDP port 0 (what a peer stack with udp_port=0 reports before its first bind) fails."""
    stack = make_stack()
    ep = stack.open_endpoint(5000, ["127.0.0.2"], None, Events())
    dg = (bytes(12), ("127.0.0.2", stack.udp_port), ("127.0.0.3", 0))
    stack.call(lambda now: ep.ctx.out.extend([dg, dg]))
    assert stack.stats.send_errors == 2 and stack.stats.sent == 0
    assert len([r for r in caplog.records if "sendto" in r.getMessage()]) == 1
