"""The layering rules of design.md, checked on the source: imports only point downward, and
the core and the codec do no I/O (no socket, asyncio, threading or time imports)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "sctpx"
ORDER = ["wire", "core", "net", "api"]  # each may import only those before it
IO = {"socket", "asyncio", "threading", "time", "selectors"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            out.add(base)
    return out


def test_core_and_wire_do_no_io() -> None:
    for layer in ("wire", "core"):
        for f in (SRC / layer).rglob("*.py"):
            bad = {m for m in imports(f) if m.split(".")[0] in IO}
            assert not bad, f"{f.relative_to(SRC)} imports {bad}"


def test_imports_point_downward() -> None:
    for i, layer in enumerate(ORDER):
        above = set(ORDER[i + 1 :]) | {"aio", "cli", "sim"}
        for f in (SRC / layer).rglob("*.py"):
            for m in imports(f):
                parts = m.lstrip(".").split(".")
                if m.startswith("..") and parts[0] in above:
                    raise AssertionError(f"{f.relative_to(SRC)} imports the upper layer {m}")
