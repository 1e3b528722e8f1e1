"""``sctpx bench``: two stacks in this process, a progress line and a table."""

from __future__ import annotations

import io
import re

from sctpx.__main__ import main


def test_bench_by_count_prints_a_table() -> None:
    out = io.StringIO()
    assert main(["bench", "--count", "3000", "--size", "700"], out=out) == 0
    text = out.getvalue()
    assert "700-byte ordered messages for 3,000 messages" in text
    header = re.search(r"messages +bytes +seconds +Mbit/s +msgs/s\n +3,000 +2\.10 MB ", text)
    assert header, text


def test_bench_by_time_shows_progress() -> None:
    out = io.StringIO()
    assert main(["bench", "--seconds", "1.2", "--unordered"], out=out) == 0
    text = out.getvalue()
    assert re.search(r"1\.0 s .* received .* Mbit/s now", text), text  # a line a second
    assert "Mbit/s" in text and "msgs/s" in text
