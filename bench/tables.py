"""Plain-text tables and progress lines, shared by the benchmark scripts."""

from __future__ import annotations

import sys
from collections.abc import Container
from typing import Any


def table(rows: list[tuple[str, ...]], right: Container[int] | None = None) -> str:
    """Columns padded to their widest cell. ``right`` numbers the right-aligned columns;
    by default every column but the first."""

    def is_right(i: int) -> bool:
        return i > 0 if right is None else i in right

    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if is_right(i) else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def targets_table(targets: list[dict[str, Any]]) -> str:
    """Each target with its measured value and PASS or FAIL."""
    rows = [(t["target"], t["value"], "PASS" if t["passed"] else "FAIL") for t in targets]
    return table([("target", "value", ""), *rows])
