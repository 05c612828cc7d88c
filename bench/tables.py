"""What the benchmark scripts share: plain-text tables, progress lines, and the end of a
run (results written as JSON, the report printed, the exit status from the targets)."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Container
from pathlib import Path
from typing import Any, NoReturn


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


def conclude(results: dict[str, Any], path: Path, report: str) -> NoReturn:
    """Write ``results`` to ``path``, print ``report``, and exit 1 if a target (other than
    an informational one) failed."""
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(report)
    failed = [t for t in results["targets"] if not (t["passed"] or t.get("informational"))]
    sys.exit(1 if failed else 0)


def run_script(main: Callable[[], None]) -> None:
    """A benchmark's entry point: Ctrl-C or SIGTERM ends it without a traceback, and the
    servers it started are stopped by their context managers on the way out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(128 + signal.SIGINT)
