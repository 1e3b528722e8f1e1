"""The kernel backend of ``sctpx.socket``: the OS's own SCTP (Linux sctp.ko), same interface.

``sctpx.socket(family, type, backend="kernel")`` (or ``SCTPX_BACKEND=kernel``)
gives a :class:`KernelSocket`; :func:`kernel_available` says whether the OS has
SCTP. See docs/api.md for what each call does on the kernel.
"""

from __future__ import annotations

from typing import Any

from .probe import kernel_available


def __getattr__(name: str) -> Any:
    if name == "KernelSocket":  # loaded on first use: it binds libc through ctypes
        from .socket import KernelSocket

        return KernelSocket
    raise AttributeError(name)


__all__ = ["KernelSocket", "kernel_available"]
