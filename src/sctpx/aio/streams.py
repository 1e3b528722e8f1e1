"""Byte-stream helpers over one SCTP stream, shaped like asyncio's StreamReader/StreamWriter.

For simple byte protocols (lines, length-prefixed records): the writer cuts
what it is given into messages on one stream, the reader joins the messages of
that stream back into bytes. Message boundaries are not kept. Messages that
arrive on other streams are dropped (counted in ``reader.dropped``).
"""

from __future__ import annotations

import asyncio
import errno
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from ..net import Stack
from ._util import oserror
from .association import Association, connectx
from .server import Server, start_server

DEFAULT_LIMIT = 2**16  # readline/readuntil: the longest line, as in asyncio
MAX_MESSAGE = 16 * 1024  # the writer sends at most this much per SCTP message


class StreamReader:
    """Reads the bytes of one stream of an association (not thread-safe, like asyncio's)."""

    def __init__(self, assoc: Association, stream: int = 0, limit: int = DEFAULT_LIMIT) -> None:
        if limit <= 0:
            raise ValueError("limit must be > 0")
        self._assoc = assoc
        self._stream = stream
        self._limit = limit
        self._buf = bytearray()
        self._eof = False
        self._exc: BaseException | None = None
        self.dropped = 0  # messages that came on another stream

    @property
    def association(self) -> Association:
        return self._assoc

    def exception(self) -> BaseException | None:
        return self._exc

    def at_eof(self) -> bool:
        """True once the association has ended gracefully and the buffer is empty."""
        return self._eof and not self._buf

    async def _fill(self) -> bool:
        """Append the next message of our stream to the buffer; False at EOF."""
        if self._exc is not None:
            raise self._exc
        while not self._eof:
            try:
                msg = await self._assoc.recv()
            except EOFError:
                self._eof = True
                break
            except OSError as e:
                self._exc = e
                raise
            if msg.stream != self._stream:
                self.dropped += 1
                continue
            self._buf += msg.data
            return True
        return False

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all until EOF if ``n`` < 0); b"" at EOF."""
        if n == 0:
            return b""
        if n < 0:
            while await self._fill():
                pass
            data = bytes(self._buf)
            self._buf.clear()
            return data
        if not self._buf:
            await self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; asyncio.IncompleteReadError if EOF comes first."""
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        while len(self._buf) < n:
            if not await self._fill():
                partial = bytes(self._buf)
                self._buf.clear()
                raise asyncio.IncompleteReadError(partial, n)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Bytes up to and including ``separator``.

        asyncio.IncompleteReadError at EOF (with what was read), LimitOverrunError
        when no separator is found within the limit (the data stays buffered).
        """
        if not separator:
            raise ValueError("separator should be at least one-byte string")
        start = 0
        while True:
            i = self._buf.find(separator, start)
            if i >= 0:
                end = i + len(separator)
                if end > self._limit:
                    raise asyncio.LimitOverrunError("separator found, but chunk > limit", i)
                data = bytes(self._buf[:end])
                del self._buf[:end]
                return data
            if len(self._buf) > self._limit:
                raise asyncio.LimitOverrunError("separator not found, chunk > limit", start)
            start = max(0, len(self._buf) - len(separator) + 1)
            if not await self._fill():
                partial = bytes(self._buf)
                self._buf.clear()
                raise asyncio.IncompleteReadError(partial, None)

    async def readline(self) -> bytes:
        """One line with its b"\\n"; the rest at EOF (b"" when nothing is left).

        ValueError when a line is longer than the limit (as asyncio).
        """
        try:
            return await self.readuntil(b"\n")
        except asyncio.IncompleteReadError as e:
            return e.partial
        except asyncio.LimitOverrunError as e:
            if self._buf.startswith(b"\n", e.consumed):
                del self._buf[: e.consumed + 1]
            else:
                self._buf.clear()
            raise ValueError(e.args[0]) from None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while line := await self.readline():
            yield line


class StreamWriter:
    """Writes bytes as messages on one stream of an association."""

    def __init__(self, assoc: Association, stream: int = 0, ppid: int = 0) -> None:
        self._assoc = assoc
        self._stream = stream
        self._ppid = ppid
        self._closer: asyncio.Task[None] | None = None

    @property
    def association(self) -> Association:
        return self._assoc

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` (nothing for b""); errors as Association.send (EPIPE, ECONNRESET)."""
        if self._closer is not None:
            raise oserror(errno.EPIPE, "the writer is closed")
        view = memoryview(data).cast("B")
        for i in range(0, len(view), MAX_MESSAGE):
            self._assoc.send(view[i : i + MAX_MESSAGE], stream=self._stream, ppid=self._ppid)

    def writelines(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def can_write_eof(self) -> bool:
        return False  # SCTP has no half-close: SHUTDOWN ends both directions

    async def drain(self) -> None:
        await self._assoc.drain()

    def is_closing(self) -> bool:
        return self._closer is not None or self._assoc.is_closing()

    def close(self) -> None:
        """Start the graceful close of the association (wait_closed() waits for it)."""
        if self._closer is None:
            self._closer = asyncio.get_running_loop().create_task(self._assoc.close())

    async def wait_closed(self) -> None:
        if self._closer is not None:
            await asyncio.shield(self._closer)
        await self._assoc.wait_closed()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``peername`` (primary peer address), ``sockname``, ``peernames``, ``association``."""
        info: dict[str, Any] = {
            "peername": self._assoc.primary_address,
            "peernames": self._assoc.peer_addresses,
            "sockname": next(iter(self._assoc.local_addresses), None),
            "association": self._assoc,
            "stream": self._stream,
        }
        return info.get(name, default)


def _peers(addrs: Sequence[str] | str, port: int) -> list[tuple[str, int]]:
    ips = [addrs] if isinstance(addrs, str) else list(addrs)
    return [(ip, port) for ip in ips]


async def open_connection(
    addrs: Sequence[str] | str,
    port: int,
    *,
    stream: int = 0,
    limit: int = DEFAULT_LIMIT,
    **kwargs: Any,
) -> tuple[StreamReader, StreamWriter]:
    """connectx to ``port`` at the peer's IPs ``addrs``; a reader and writer on ``stream``.

    Other keyword arguments go to :func:`connectx` (``udp_port``, ``remote_udp_port``,
    ``stack``, ``timeout`` ...).
    """
    if "streams" not in kwargs and stream >= 10:
        kwargs["streams"] = stream + 1
    assoc = await connectx(_peers(addrs, port), **kwargs)
    return StreamReader(assoc, stream, limit), StreamWriter(assoc, stream)


ClientConnected = Callable[[StreamReader, StreamWriter], Awaitable[object] | None]


async def start_stream_server(
    client_connected_cb: ClientConnected,
    addrs: Sequence[str] | str,
    port: int,
    *,
    stream: int = 0,
    limit: int = DEFAULT_LIMIT,
    udp_port: int | None = None,
    stack: Stack | None = None,
    **kwargs: Any,
) -> Server:
    """start_server whose handler gets ``(reader, writer)`` on ``stream``.

    A coroutine callback runs as the association's handler (the association is
    closed when it returns); a plain function's association lives until it ends.
    """

    if "streams" not in kwargs and stream >= 10:
        kwargs["streams"] = stream + 1

    async def handler(assoc: Association) -> None:
        result = client_connected_cb(
            StreamReader(assoc, stream, limit), StreamWriter(assoc, stream)
        )
        if inspect.isawaitable(result):
            await result
        else:
            await assoc.wait_closed()

    return await start_server(handler, addrs, port, udp_port=udp_port, stack=stack, **kwargs)
