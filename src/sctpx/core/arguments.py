"""Checks of what a caller hands :class:`~sctpx.core.Endpoint`, the same in both builds.

The core is pure Python in ``src/`` and may be compiled with mypyc (``make compiled``).
A compiled function checks its arguments against their annotations before its body
runs, and raises its own ``TypeError``; the pure one runs its body with whatever it is
given. So that both builds treat a caller's mistake alike (docs/performance.md, mypyc):

- **User input with rules of its own** — address lists, a message, ``connectx``
  options — is annotated with types mypyc does not check on entry (``Sequence[...]``,
  ``bytes | bytearray | memoryview``) and checked here: anything else raises
  :class:`UsageError` EINVAL, an address that is not (IP text, port) included (the
  sctp_connectx "address of an invalid family").
- **Scalar arguments** (ids, stream numbers, flags, times) of the wrong Python type
  raise ``TypeError`` in both builds, as Python's own ``socket`` module does: mypyc's
  check in the compiled build, :func:`need` in the pure one. Wrong *values* of the
  right type raise EINVAL as before.
"""

from __future__ import annotations

import typing
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from .config import Config, check_config
from .errors import einval
from .types import normalise_ip

# What a Config field takes, by the class its annotation names (int for float too,
# as Python and mypyc allow); filled on first use.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {}


def need(ok: bool, what: str) -> None:
    """TypeError unless ``ok``: a scalar argument of the wrong type (``what`` says which)."""
    if not ok:
        raise TypeError(f"{what} expected")


def local_addresses(addresses: object) -> list[str]:
    """An endpoint's addresses, normalised; EINVAL for none or for what is not IP text."""
    if isinstance(addresses, (str, bytes)) or not isinstance(addresses, (list, tuple)):
        raise einval(f"addresses must be a list of IP addresses, not {addresses!r}")
    if not addresses:
        raise einval("an endpoint needs at least one address")
    out: list[str] = []
    for a in addresses:
        ip = _ip(a)
        if ip is None:
            raise einval(f"not an IP address: {a!r}")
        out.append(ip)
    return out


def _ip(a: object) -> str | None:
    """IP text normalised, or None (the compiled normalise_ip takes str only)."""
    if not isinstance(a, str):
        return None
    try:
        return normalise_ip(a)
    except ValueError:
        return None


def peer_addresses(peer_addrs: object, families: Collection[int]) -> tuple[list[str], int]:
    """connectx's (ip, port) list: its distinct IPs, in order, and their one port."""
    if isinstance(peer_addrs, (str, bytes)) or not isinstance(peer_addrs, (list, tuple)):
        raise einval(f"addresses must be a list of (ip, port), not {peer_addrs!r}")
    if not peer_addrs:
        raise einval("no addresses given")  # ERR-01
    ips: list[str] = []
    ports: set[int] = set()
    for entry in peer_addrs:
        ip, port = peer_address(entry)
        if (6 if ":" in ip else 4) not in families:
            raise einval(f"{ip}: no local address of its family")
        ports.add(port)
        if ip not in ips:
            ips.append(ip)
    if len(ports) != 1:
        raise einval("all addresses of one peer must have the same port")
    return ips, ports.pop()


def peer_address(entry: object) -> tuple[str, int]:
    """One (ip, port) of a peer, the IP normalised; EINVAL for anything else (ERR-02)."""
    if not isinstance(entry, (tuple, list)) or len(entry) != 2:
        raise einval(f"not an (IPv4 or IPv6 address, port): {entry!r}")
    ip, port = _ip(entry[0]), entry[1]
    if ip is None:
        raise einval(f"not an IPv4 or IPv6 address: {entry!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise einval(f"bad port in {entry!r}")
    return ip, port


def message(data: object, what: str = "data") -> bytes:
    """A message (or an ABORT reason) as bytes; EINVAL if it is not bytes-like."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise einval(f"{what} must be bytes, not {type(data).__name__}")


def with_options(cfg: Config, options: dict[str, Any]) -> Config:
    """``cfg`` with connectx's per-association ``options``; EINVAL for an unknown one or
    one of the wrong type, then :func:`check_config`'s value checks."""
    types = _field_types()
    for name, value in options.items():
        kinds = types.get(name)
        if kinds is None:
            raise einval(f"unknown option: {name}")
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            raise einval(f"option {name} must be {kinds[0].__name__}, not {value!r}")
        if isinstance(value, dict) and not all(
            isinstance(k, str) and isinstance(v, int) for k, v in value.items()
        ):
            raise einval(f"option {name} must map addresses to ports: {value!r}")
    out = replace(cfg, **options)
    check_config(out)
    return out


def _field_types() -> dict[str, tuple[type, ...]]:
    if not _FIELD_TYPES:
        for name, hint in typing.get_type_hints(Config).items():
            cls = typing.get_origin(hint) or hint
            _FIELD_TYPES[name] = (int, float) if cls is float else (cls,)
    return _FIELD_TYPES
