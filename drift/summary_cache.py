"""The reference batch's summary, computed once and reused while the file stays the same.

An entry is keyed by the file's content (its SHA-256 and size), the columns summarised with
their kinds, and the summary settings: a changed file, plan or setting is summarised again.
Entries live in ``.summaries/`` beside the batch (``<name>.<key>.npz``; numpy arrays and one
JSON document, loaded without pickle), or, where the data is read-only, under the folder
``$DRIFT_SUMMARY_CACHE`` names (a subfolder per data folder). An entry that cannot be read,
whose checksums (zip's CRC-32 per array) or key do not match, is ignored and written anew: a
cache never changes a result. One that cannot be written is only a warning: the run goes on
without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from drift.stats import Distinct
from drift.summary import (
    BatchSummary,
    CategoricalSummary,
    DateSummary,
    FeatureSummary,
    NumericSummary,
    Plan,
    Sketch,
    SummarySettings,
)

log = logging.getLogger(__name__)

CACHE_FOLDER = ".summaries"
CACHE_ENV = "DRIFT_SUMMARY_CACHE"  # a folder for every batch's entries instead
FORMAT = 1  # bump when the stored form or the summaries' meaning changes
READ_CHUNK = 1 << 20
KEY_LENGTH = 32  # hex digits of the key in an entry's name


def cached_summary(
    path: Path,
    plan: Plan,
    settings: SummarySettings,
    summarise: Callable[[], BatchSummary],
    folder: Path | None = None,
) -> BatchSummary:
    """``summarise()``'s result for the batch at ``path``, from the cache when an entry for
    this content, plan and settings is there, else computed and stored."""
    key = cache_key(path, plan, settings)
    entry = (folder or cache_folder(path)) / f"{path.name}.{key[:KEY_LENGTH]}.npz"
    cached = _load(entry, key)
    if cached is not None:
        return cached
    summary = summarise()
    _store(entry, key, summary)
    return summary


def cache_folder(path: Path) -> Path:
    """Where the batch at ``path`` has its entries."""
    shared = os.environ.get(CACHE_ENV)
    if not shared:
        return path.parent / CACHE_FOLDER
    # One subfolder per data folder: batches of one name in two folders keep their entries.
    return Path(shared) / hashlib.sha256(str(path.resolve().parent).encode()).hexdigest()[:16]


def cache_key(path: Path, plan: Plan, settings: SummarySettings) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(READ_CHUNK):
            digest.update(chunk)
    identity = {
        "format": FORMAT,
        "content": digest.hexdigest(),
        "size": path.stat().st_size,
        "plan": [[name, kind] for name, kind in plan.items()],
        "settings": [settings.max_distinct, settings.sketch_bits],
    }
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def _load(entry: Path, key: str) -> BatchSummary | None:
    if not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}  # reads (and CRC-checks) all
        meta = json.loads(str(arrays.pop("meta")))
        if meta["key"] != key:
            raise ValueError("another key")
        features = {
            str(name): _feature(feature, arrays, str(index))
            for index, (name, feature) in enumerate(meta["features"].items())
        }
        return BatchSummary(tuple(map(str, meta["columns"])), features)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("%s: unreadable summary cache entry, summarising again (%s)", entry, exc)
        return None


def _feature(meta: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str) -> FeatureSummary:
    kind = meta["kind"]
    if kind == "datetime":
        return DateSummary(int(meta["missing"]), int(meta["rows"]))
    if kind == "categorical":
        counts = {str(label): int(count) for label, count in meta["counts"].items()}
        return CategoricalSummary(counts, int(meta["missing"]))
    if kind != "numeric":
        raise ValueError(f"unknown kind {kind!r}")
    values = Distinct(
        arrays[f"{prefix}.values"].astype(float), arrays[f"{prefix}.counts"].astype(np.int64)
    )
    if meta["bits"] is None:
        return NumericSummary(values, None, int(meta["missing"]))
    sketch = Sketch(
        int(meta["bits"]), values, arrays[f"{prefix}.low"].astype(float),
        arrays[f"{prefix}.high"].astype(float),
    )  # fmt: skip
    return NumericSummary(None, sketch, int(meta["missing"]))


def _store(entry: Path, key: str, summary: BatchSummary) -> None:
    features: dict[str, dict[str, Any]] = {}
    arrays: dict[str, np.ndarray] = {}
    for index, (name, feature) in enumerate(summary.features.items()):
        meta: dict[str, Any] = {"kind": feature.kind, "missing": _missing(feature)}
        if isinstance(feature, DateSummary):
            meta["rows"] = feature.rows
        elif isinstance(feature, CategoricalSummary):
            meta["counts"] = dict(feature.counts)
        else:
            meta["bits"] = feature.sketch.bits if feature.sketch else None
            arrays[f"{index}.values"] = feature.distribution.values
            arrays[f"{index}.counts"] = feature.distribution.counts
            if feature.sketch:
                arrays[f"{index}.low"], arrays[f"{index}.high"] = (
                    feature.sketch.low,
                    feature.sketch.high,
                )
        features[name] = meta
    document = {"key": key, "columns": list(summary.columns), "features": features}
    temporary = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=entry.parent, suffix=".tmp", delete=False) as file:
            temporary = Path(file.name)
            np.savez(file, meta=np.array(json.dumps(document)), **arrays)
        os.replace(temporary, entry)  # readers see the old entry or the whole new one
        for other in entry.parent.iterdir():  # the same batch's older contents or plans
            if other != entry and _same_batch(other.name, entry.name):
                other.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("%s: summary not cached (%s)", entry, exc.strerror or exc)
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _same_batch(name: str, entry: str) -> bool:
    """Whether ``name`` is an entry of the batch ``entry`` is one of: ``<batch>.<key>.npz``."""
    batch = entry[: -len(".npz") - KEY_LENGTH - 1]
    return len(name) == len(entry) and name.startswith(f"{batch}.") and name.endswith(".npz")


def _missing(feature: FeatureSummary) -> int:
    return feature.rows - feature.present
