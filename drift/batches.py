"""Finding the batches to compare in the course's folder layout.

    data/control/  the reference batch
    data/audit/    current batches; the newest enabled one is compared

A batch is a ``.csv`` file; adding ``.off`` to its name disables it. "Newest" is the
natural order of the names, so ``..._10.csv`` comes after ``..._4.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path

from drift.errors import DriftInputError

REFERENCE_FOLDER, CURRENT_FOLDER = "control", "audit"
BATCH_SUFFIX, DISABLED_SUFFIX = ".csv", ".off"


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that compares runs of digits as numbers: 'b_4' < 'b_10'."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", name) if part)  # fmt: skip


def newest_batch(folder: Path) -> Path:
    if not folder.is_dir():
        raise DriftInputError(f"{folder}: no such folder")
    enabled = [p for p in folder.iterdir() if p.is_file() and p.name.endswith(BATCH_SUFFIX)]
    if not enabled:
        disabled = sorted(p.name for p in folder.glob(f"*{BATCH_SUFFIX}{DISABLED_SUFFIX}"))
        hint = (
            f" (disabled: {', '.join(disabled)}; remove '.off' to enable one)" if disabled else ""
        )
        raise DriftInputError(f"{folder}: no enabled {BATCH_SUFFIX} batch{hint}")
    return max(enabled, key=lambda p: natural_key(p.name))


def pick_batches(
    data_dir: Path, reference: str | None = None, current: str | None = None
) -> tuple[Path, Path]:
    """The reference and current batch files. Explicit names are looked up in their folder
    (or used as they are when absolute); otherwise the newest enabled batch is taken."""
    return (
        _pick(data_dir / REFERENCE_FOLDER, reference),
        _pick(data_dir / CURRENT_FOLDER, current),
    )


def _pick(folder: Path, name: str | None) -> Path:
    if not name:
        return newest_batch(folder)
    path = folder / name  # an absolute name replaces the folder
    if not path.is_file():
        raise DriftInputError(f"{path}: no such file")
    return path
