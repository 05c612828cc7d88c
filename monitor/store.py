"""Durable state: every acknowledged write is committed to SQLite before the answer.

The current run of each dataset and the legacy gauge values are also kept in memory, loaded
from the database at start, so scrapes and pages never touch the disk.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired

from pydantic import TypeAdapter
from typing_extensions import TypedDict  # pydantic refuses typing's before Python 3.12

from monitor.schema import STORED, Run

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    run_at REAL NOT NULL,
    received_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_newest_first ON runs (dataset, run_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS legacy (
    feature TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (feature, metric)
);
"""
NEWEST_FIRST = "ORDER BY run_at DESC, id DESC LIMIT ?"  # the order of a dataset's history


PValues = dict[str, float | None]  # a run's adjusted p-value by feature (None: skipped)


class _FeaturePValue(TypedDict):
    feature: str
    p_value_adjusted: NotRequired[float | None]


class _RunPValues(TypedDict):
    features: list[_FeaturePValue]


# Reads two fields of each feature from a stored run and skips the rest unparsed: about
# ten times cheaper than validating the whole Run, which the charts of past runs need not.
_P_VALUES = TypeAdapter(_RunPValues)


class SeriesLimitError(Exception):
    """Accepting the write would expose more series than the configured cap."""


@dataclass(frozen=True)
class StoredRun:
    id: int
    received_at: float
    run: Run


class Store:
    def __init__(
        self,
        path: Path | str,
        series_of: Callable[[Run], int],
        max_series: int,
        keep_runs: int,
    ) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before we answer
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._series_of, self._max_series, self._keep_runs = series_of, max_series, keep_runs
        self._current = {
            stored.run.dataset: stored
            for stored in map(
                _stored,
                self._db.execute(
                    "SELECT id, received_at, body FROM runs r WHERE id = (SELECT id FROM runs "
                    "WHERE dataset = r.dataset ORDER BY run_at DESC, id DESC LIMIT 1)"
                ),
            )
        }
        self._legacy = {
            (feature, metric): value
            for feature, metric, value in self._db.execute("SELECT * FROM legacy")
        }
        self.version = 0  # changes whenever what /metrics shows changes

    @property
    def current(self) -> Mapping[str, StoredRun]:
        return self._current

    @property
    def legacy(self) -> Mapping[tuple[str, str], float]:
        return self._legacy

    def series(self) -> int:
        return len(self._legacy) + sum(self._series_of(s.run) for s in self._current.values())

    def add_run(self, run: Run) -> tuple[StoredRun, bool]:
        """Store a run; it replaces the dataset's current run unless that one is newer.
        Returns the stored run and whether it is now the current one."""
        with self._lock:
            previous = self._current.get(run.dataset)
            becomes_current = previous is None or run.run_at >= previous.run.run_at
            if becomes_current:
                replaced = self._series_of(previous.run) if previous else 0
                self._check_room(self._series_of(run) - replaced)
            received_at = time.time()
            with self._transaction():
                run_id = self._db.execute(
                    "INSERT INTO runs (dataset, run_at, received_at, body) VALUES (?, ?, ?, ?)",
                    (run.dataset, run.run_at.timestamp(), received_at, run.model_dump_json()),
                ).lastrowid
                self._db.execute(  # keep the newest runs of the dataset only
                    "DELETE FROM runs WHERE dataset = ? AND id NOT IN (SELECT id FROM runs "
                    f"WHERE dataset = ? {NEWEST_FIRST})",
                    (run.dataset, run.dataset, self._keep_runs),
                )
            stored = StoredRun(int(run_id), received_at, run)  # type: ignore[arg-type]
            if becomes_current:
                self._current[run.dataset] = stored
                self.version += 1
            return stored, becomes_current

    def delete_dataset(self, dataset: str) -> bool:
        with self._lock, self._transaction():
            deleted = self._db.execute("DELETE FROM runs WHERE dataset = ?", (dataset,)).rowcount
            if self._current.pop(dataset, None):
                self.version += 1
            return deleted > 0

    def history(self, dataset: str, limit: int) -> list[StoredRun]:
        """The dataset's runs, newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, received_at, body FROM runs WHERE dataset = ? {NEWEST_FIRST}",
                (dataset, limit),
            ).fetchall()
        return [_stored(row) for row in rows]

    def p_values(self, ids: Sequence[int]) -> dict[int, PValues]:
        """The adjusted p-values by feature of the runs with these ids, of those that are
        still kept."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, body FROM runs WHERE id IN ({','.join('?' * len(ids))})", tuple(ids)
            ).fetchall()
        return {
            run_id: {
                f["feature"]: f.get("p_value_adjusted")
                for f in _P_VALUES.validate_json(body)["features"]
            }
            for run_id, body in rows
        }

    def history_ids(self, dataset: str, limit: int) -> tuple[int, ...]:
        """The ids of the runs history() returns: cheap, and they change whenever it does."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id FROM runs WHERE dataset = ? {NEWEST_FIRST}", (dataset, limit)
            ).fetchall()
        return tuple(run_id for (run_id,) in rows)

    def set_legacy(self, feature: str, metric: str, value: float) -> None:
        with self._lock:
            if (feature, metric) not in self._legacy:
                self._check_room(1)
            with self._transaction():
                self._db.execute(
                    "INSERT INTO legacy VALUES (?, ?, ?) ON CONFLICT (feature, metric) "
                    "DO UPDATE SET value = excluded.value",
                    (feature, metric, value),
                )
            self._legacy[feature, metric] = value
            self.version += 1

    def ready(self) -> bool:
        with self._lock:
            try:
                return self._db.execute("SELECT 1").fetchone() == (1,)
            except sqlite3.Error:
                return False

    def close(self) -> None:
        self._db.close()

    def _check_room(self, added: int) -> None:
        if self.series() + added > self._max_series:
            raise SeriesLimitError(
                f"the monitor is limited to {self._max_series} series; this write would need "
                f"{added} more than the {self.series()} it has"
            )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK on any error: all of a write or nothing."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _stored(row: tuple[int, float, str]) -> StoredRun:
    run_id, received_at, body = row
    # Rules added since a run was stored do not stop it loading.
    return StoredRun(run_id, received_at, Run.model_validate_json(body, context=STORED))
