"""api.batch.Batch: a socket's calls onto the stack's thread, in order, many per wake-up."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from sctpx.api.batch import Batch
from sctpx.net import Stack


@pytest.fixture
def stack() -> Iterator[Stack]:
    s = Stack(udp_port=0)
    try:
        yield s
    finally:
        s.close()


class CountingStack:
    """Counts the runners a Batch posts; forwards them to a real stack."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.posted = 0

    def call_soon(self, fn: object, endpoint: object = None) -> None:
        self.posted += 1
        self.stack.call_soon(fn, endpoint=endpoint)  # type: ignore[arg-type]


def test_calls_run_in_order_on_the_loop_thread_with_few_wakeups(stack: Stack) -> None:
    counting = CountingStack(stack)
    b = Batch(counting)  # type: ignore[arg-type]
    seen: list[int] = []
    threads: set[int] = set()
    n = 20_000

    def call(i: int) -> None:
        seen.append(i)
        threads.add(threading.get_ident())

    for i in range(n):
        b.post(lambda now, i=i: call(i))
    stack.call(lambda now: None)  # a blocking call from the same thread runs after them
    assert seen == list(range(n))
    assert threads and threading.get_ident() not in threads
    assert counting.posted < n // 10  # many calls per wake-up, not one each


def test_an_error_in_one_call_is_logged_and_the_rest_still_run(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    b = Batch(stack)
    seen: list[str] = []

    def boom(now: float) -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="sctpx.api"):
        b.post(lambda now: seen.append("a"))
        b.post(boom)
        b.post(lambda now: seen.append("b"))
        stack.call(lambda now: None)
    assert seen == ["a", "b"]
    assert any("boom" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_posts_from_many_threads_all_run_once(stack: Stack) -> None:
    b = Batch(stack)
    seen: list[tuple[int, int]] = []
    per_thread = 5_000

    def poster(t: int) -> None:
        for i in range(per_thread):
            b.post(lambda now, i=i: seen.append((t, i)))

    ts = [threading.Thread(target=poster, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    stack.call(lambda now: None)
    assert len(seen) == 4 * per_thread
    for t in range(4):  # each thread's own calls keep their order
        assert [i for tt, i in seen if tt == t] == list(range(per_thread))


def test_calls_for_two_endpoints_are_all_flushed(stack: Stack) -> None:
    # A Batch bound to one endpoint settles only it; a call for another one must still
    # have its endpoint flushed (the batch then settles every endpoint).
    from sctpx.core import Config

    eps = [stack.open_endpoint(0, ["127.0.0.1"], Config(), lambda ep: None) for _ in range(2)]
    b = Batch(stack)
    b.post(lambda now: None, eps[0])
    b.post(lambda now: eps[1].connectx([("127.0.0.1", 9)], now), eps[1])  # an INIT is due
    sent = stack.call(lambda now: stack.stats.sent)
    assert sent >= 1  # the INIT of eps[1] left although the first runner was bound to eps[0]
    for ep in eps:
        stack.close_endpoint(ep)
