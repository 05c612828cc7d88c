"""Finding the batches to compare in the course's folder layout.

    data/control/  the reference batch
    data/audit/    current batches; the newest enabled one is compared

A batch is a ``.csv`` or a ``.parquet`` (or ``.pq``) file; adding ``.off`` to its name
disables it. "Newest" is the natural order of the names, so ``..._10.csv`` comes after
``..._4.csv`` (and ``..._11.parquet`` after both).

Whoever triggers the DAG chooses the data folder and the file names, so every path is
resolved (symlinks too) and must stay inside the folder it belongs to: the data folder inside
the data root, each batch inside its own folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from drift.errors import DriftInputError

REFERENCE_FOLDER, CURRENT_FOLDER = "control", "audit"
CSV_SUFFIX, PARQUET_SUFFIXES, DISABLED_SUFFIX = ".csv", (".parquet", ".pq"), ".off"
BATCH_SUFFIXES = (CSV_SUFFIX, *PARQUET_SUFFIXES)
DATA_ROOT_ENV = "DRIFT_DATA_ROOT"  # the folder every data folder must be inside


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that compares runs of digits as numbers: 'b_4' < 'b_10'."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", name) if part)  # fmt: skip


def newest_batch(folder: Path) -> Path:
    if not folder.is_dir():
        raise DriftInputError(f"{folder}: no such folder")
    files = [p for p in folder.iterdir() if p.is_file()]
    enabled = [p for p in files if p.name.endswith(BATCH_SUFFIXES)]
    if not enabled:
        disabled = sorted(
            p.name
            for p in files
            if p.name.endswith(tuple(s + DISABLED_SUFFIX for s in BATCH_SUFFIXES))
        )
        hint = (
            f" (disabled: {', '.join(disabled)}; remove '.off' to enable one)" if disabled else ""
        )
        kinds = f"{', '.join(BATCH_SUFFIXES[:-1])} or {BATCH_SUFFIXES[-1]}"
        raise DriftInputError(f"{folder}: no enabled batch (a {kinds} file){hint}")
    return max(enabled, key=lambda p: natural_key(p.name))


def data_folder(data_dir: str, root: Path) -> Path:
    """The data folder, resolved: ``root`` itself or a folder inside it (a relative
    ``data_dir`` is taken from ``root``)."""
    if "\x00" in data_dir:  # no file name holds one; resolve() would raise ValueError
        raise DriftInputError(f"data_dir {data_dir!r} is not a folder name")
    folder = (root / data_dir).resolve()  # an absolute data_dir replaces the root
    if not folder.is_relative_to(root.resolve()):
        raise DriftInputError(
            f"data_dir {data_dir!r} is outside the data root {root} (set {DATA_ROOT_ENV} to "
            "allow another root)"
        )
    return folder


def pick_batches(
    data_dir: Path, reference: str | None = None, current: str | None = None
) -> tuple[Path, Path]:
    """The reference and current batch files, resolved. An explicit name is a plain file
    name in its folder; otherwise the newest enabled batch is taken."""
    return _pick(data_dir, REFERENCE_FOLDER, reference), _pick(data_dir, CURRENT_FOLDER, current)


def _pick(data_dir: Path, folder_name: str, name: str | None) -> Path:
    folder = data_dir / folder_name
    if name and (Path(name).name != name or name == ".." or "\x00" in name):
        raise DriftInputError(f"{name!r}: a plain file name in {folder} is expected, not a path")
    chosen = folder / name if name else newest_batch(folder)
    path = chosen.resolve()
    if not path.is_relative_to(data_dir.resolve() / folder_name):  # a symlink may lead away
        raise DriftInputError(f"{chosen}: leads outside {folder}; not read")
    if not path.is_file():
        raise DriftInputError(f"{chosen}: no such file")
    return path
