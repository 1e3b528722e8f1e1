"""docs/codec.md stays true: its example runs and it names every public codec class."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import sctpx.wire

DOC = Path(__file__).resolve().parents[2] / "docs" / "codec.md"


def test_codec_doc_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], str(DOC), "exec"), {})
    assert out.getvalue() == "CRC32c mismatch\n"


def test_codec_doc_names_every_public_class() -> None:
    text = DOC.read_text()
    classes = [n for n in sctpx.wire.__all__ if isinstance(getattr(sctpx.wire, n), type)]
    missing = [n for n in classes if f"`{n}`" not in text]
    assert not missing, missing
