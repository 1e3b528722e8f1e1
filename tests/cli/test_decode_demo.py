"""``python -m sctpx decode-demo``: decode, show and re-encode a real usrsctp INIT."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from sctpx.__main__ import COMMANDS, USRSCTP_INIT_HEX, main

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_embedded_init_is_the_vector() -> None:
    assert (VECTORS / "usrsctp-init.hex").read_text().strip() == USRSCTP_INIT_HEX


def test_demo_prints_the_fields_and_a_byte_identical_reencoding() -> None:
    out = io.StringIO()
    assert main(["decode-demo"], out=out) == 0
    text = out.getvalue()
    for expected in (
        "120 bytes on the wire",
        "src port 62619, dst port 5001, verification tag 0x00000000",
        "chunk 1 INIT",
        "initiate tag   0x56a40ff8",
        "a_rwnd         131072",
        "initial TSN    4211981863",
        "Supported Extensions: chunk_types=(192, 15, 193, 128, 130)",
        "ECN Capable (kept opaque): body=(empty), unknown-type action=SKIP",
        "re-encoded: 120 bytes, CRC32c eabfa0e7, identical to the original",
    ):
        assert expected in text, expected


def test_demo_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sctpx", "decode-demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "identical to the original" in done.stdout


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "command" in capsys.readouterr().err
    assert {"demo", "decode-demo", "listen", "connect", "bench"} <= set(COMMANDS)
