"""Two kinds of error: the caller's mistakes and the peer's protocol violations."""

from __future__ import annotations

import errno


class UsageError(OSError):
    """The caller used the core wrongly; carries an errno like the socket module does."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)


def einval(message: str) -> UsageError:
    return UsageError(errno.EINVAL, message)


class PeerViolation(Exception):
    """The peer broke the protocol. Never escapes ``Endpoint.receive``."""
