"""The kernel backend on this host, which has no kernel SCTP: the clear error, the default."""

from __future__ import annotations

import errno
import socket

import pytest

import sctpx

HOST_HAS_SCTP = sctpx.kernel_available()


def test_kernel_available_says_what_socket_says() -> None:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, sctpx.IPPROTO_SCTP).close()
        expected = True
    except OSError:
        expected = False
    assert sctpx.kernel_available() is expected


@pytest.mark.skipif(HOST_HAS_SCTP, reason="this host has kernel SCTP")
def test_backend_kernel_without_sctp_is_eprotonosupport_naming_modprobe(monkeypatch) -> None:
    with pytest.raises(OSError) as e:
        sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, backend="kernel")
    assert e.value.errno == errno.EPROTONOSUPPORT
    assert "modprobe sctp" in str(e.value) and "backend='user'" in str(e.value)
    monkeypatch.setenv("SCTPX_BACKEND", "kernel")
    with pytest.raises(OSError) as e2:
        sctpx.socket()
    assert e2.value.errno == errno.EPROTONOSUPPORT


def test_the_default_stays_the_userspace_backend(monkeypatch) -> None:
    monkeypatch.delenv("SCTPX_BACKEND", raising=False)
    s = sctpx.socket()
    assert type(s) is sctpx.socket
    s.close()
    monkeypatch.setenv("SCTPX_BACKEND", "user")
    s = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_SEQPACKET)
    assert type(s) is sctpx.socket
    s.close()
    with pytest.raises(ValueError):
        sctpx.socket(backend="bsd")
