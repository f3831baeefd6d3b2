"""Run the ```python blocks of a Markdown file, as the reader would.

Used by the README test and the documentation tests: the blocks of one file
run in order, in one namespace, and a traceback points at the line of the
Markdown file where the failing statement is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```", flags=re.S | re.M)


@dataclass(frozen=True)
class Block:
    """One fenced python block: its code and the line where the code starts."""

    code: str
    line: int


def python_blocks(path: Path) -> list[Block]:
    """The ```python blocks of ``path``, in order."""
    text = path.read_text(encoding="utf-8")
    return [
        Block(m.group(1), text.count("\n", 0, m.start(1)) + 1)
        for m in _BLOCK.finditer(text)
    ]


def run_blocks(path: Path, blocks: list[Block] | None = None) -> dict:
    """Execute ``blocks`` (default: all of ``path``'s) in one namespace; return it."""
    namespace: dict = {"__name__": "__markdown__"}
    for block in python_blocks(path) if blocks is None else blocks:
        # Pad with newlines so that line numbers in tracebacks are the file's.
        code = "\n" * (block.line - 1) + block.code
        exec(compile(code, str(path), "exec"), namespace)
    return namespace
