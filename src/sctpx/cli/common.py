"""What the commands share: exit codes, one-line errors, address parsing, output helpers."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
import threading
from typing import TextIO

from ..api import constants as C

EXIT_OK = 0
EXIT_ERROR = 1  # something went wrong at run time (refused, in use, timed out ...)
EXIT_USAGE = 2  # the command line is wrong (argparse uses 2 as well)
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class CliError(Exception):
    """A failure to report as one line on stderr, with the exit status to return."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def with_code(self, code: int) -> CliError:
        self.code = code
        return self


# What to add to an OSError's own text so that the user knows what to do.
_HINTS = {
    errno.EADDRINUSE: "another program, maybe another sctpx, has that UDP port on that address; "
    "choose another with --udp-port",
    errno.EADDRNOTAVAIL: "that address is not one of this host's",
    errno.EACCES: "permission needed: UDP ports below 1024 need root or CAP_NET_BIND_SERVICE",
    errno.EPERM: "permission needed",
    errno.ECONNREFUSED: "nothing listens there: check the address, -p and --remote-udp-port",
    errno.ETIMEDOUT: "no answer from any address",
    errno.EHOSTUNREACH: "no route to the host",
    errno.ENETUNREACH: "no route to the network",
    errno.ECONNRESET: "the peer aborted the association",
}


def os_error(exc: OSError, doing: str, *, detail: bool = True) -> CliError:
    """A one-line CliError for ``exc`` raised while ``doing`` something.

    ``detail`` keeps the exception's own text after the errno's (e.g. which UDP
    port was in use); without it only the errno's text is used.
    """
    text = exc.strerror or str(exc)
    if not detail and exc.errno:
        text = os.strerror(exc.errno)
    hint = _HINTS.get(exc.errno or 0)
    if hint and hint.split(":")[0] not in text:
        text = f"{text} ({hint})"
    return CliError(f"{doing}: {text}", EXIT_ERROR)


def resolve(names: list[str], *, wildcard: bool = False) -> list[str]:
    """IP addresses for ``names`` (literals or host names, in order, without repeats).

    A host name contributes every address it resolves to, as sctp_connectx takes
    several addresses of one peer. With ``wildcard`` (local addresses of a
    listener), ``0.0.0.0`` or ``::`` alone means every address of the host.
    Raises CliError (usage) for an unknown name.
    """
    ips: list[str] = []
    for name in names:
        found = _lookup(name)
        for ip in found:
            a = ipaddress.ip_address(ip)
            if a.is_unspecified:
                if wildcard and len(names) == 1:
                    return [ip]
                why = "comes alone" if wildcard else "is for listening only"
                raise CliError(f"{name}: the wildcard address {why}", EXIT_USAGE)
            if a.is_multicast or ip == "255.255.255.255":
                raise CliError(f"{name}: not a unicast address", EXIT_USAGE)
            if ip not in ips:
                ips.append(ip)
    return ips


def _lookup(name: str) -> list[str]:
    """The addresses of one IP literal or host name."""
    try:
        return [str(ipaddress.ip_address(name))]
    except ValueError:
        pass
    if "%" in name:
        raise CliError(f"{name}: scoped IPv6 addresses are not supported", EXIT_USAGE)
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise CliError(f"unknown address {name!r}: {reason}", EXIT_USAGE) from None
    found = [str(i[4][0]) for i in infos if i[0] in (socket.AF_INET, socket.AF_INET6)]
    if not found:
        raise CliError(f"unknown address {name!r}: no IPv4 or IPv6 address", EXIT_USAGE)
    return found


def family_of(ips: list[str]) -> int:
    """AF_INET6 if any address is IPv6, else AF_INET."""
    return C.AF_INET6 if any(":" in ip for ip in ips) else C.AF_INET


class Printer:
    """Whole lines to one stream from several threads, flushed at once."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, text: str = "") -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()


def warn(text: str) -> None:
    """One line on stderr, prefixed with the program name."""
    print(f"sctpx: {text}", file=sys.stderr, flush=True)


def human_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"
