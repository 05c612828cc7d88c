"""The status page with many features, and what people watching it do to writes.

    .venv/bin/python bench/monitor_page.py [--quick]

The script starts the monitor (``python -m monitor``, a temporary SQLite file, a write token)
on a free 127.0.0.1 port, loads it over HTTP and measures from a client, client-side
time.perf_counter:

* Page: GET / with one dataset of 100 features and 20 runs (the runs the charts show), one
  of 1,000 features, then six of 1,000. "After a write": the first view after a new run of
  every dataset, when each section is rendered again; "repeat view": the next one, when
  nothing changed. And, in process on the monitor's database, the first view of a page that
  has seen nothing, as after a restart, which parses every run the charts show.
* Writes while people watch: POST /api/v1/runs of a 13-feature run (the bundled data's size)
  to a dataset of its own, first alone, then while 4 viewers (processes of their own) load
  the page of the six datasets in a loop. Then the worst case: the writes are 1,000-feature
  runs of a dataset on the page, so that every view after a write renders it again.

It prints the tables, writes bench/results/monitor_page.json and exits with 1 when a target
is missed: a 1,000-feature page with 20 runs under 0.2 s after a write and after a restart
(medians), and a cost linear in the features (per feature, 1,000 features within 2x of 100,
best views).
--quick: fewer views and writes.
"""

# The imports after the sys.path line below cannot be at the top of the file.
# ruff: noqa: E402

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run as a script: bench/ only is on sys.path

import numpy as np
import requests
from harness import machine  # bench/: a script sees its own folder
from monitor_vs_pushgateway import monitor_server, plain_session
from run_docs import feature_doc, run_doc  # tests/run_docs.py: no pytest needed
from tables import (
    conclude,
    progress,
    run_script,
    table,
    targets_table,
)

import names
from monitor.exposition import series_of
from monitor.page import StatusPage
from monitor.store import Store

RESULTS = ROOT / "bench" / "results" / "monitor_page.json"
FEATURES = 1_000  # the most a run may have (monitor.schema.MAX_FEATURES)
FEW_FEATURES = 100
RUNS = 20  # the runs a chart shows (monitor.page.HISTORY_RUNS)
DATASETS = 6
PROBE_FEATURES = 13
VIEWERS = 4
MAX_SERIES = 2 * DATASETS * 10 * FEATURES  # room for the six datasets and the probe
MAX_PAGE_SECONDS = 0.2  # the target, 1,000 features x 20 runs: after a write, a restart
MAX_PER_FEATURE_RATIO = 2.0  # linear: a feature costs about the same at 1,000 as at 100
TIMEOUT_SECONDS = 60.0
FIRST_RUN_AT = datetime(2026, 1, 1, tzinfo=UTC)

Result = dict[str, Any]


class Monitor:
    """The running monitor, seen from a client."""

    def __init__(self, url: str, token: str, db: Path) -> None:
        self.url, self.db = url, db
        self.session = plain_session({"Authorization": f"Bearer {token}"})
        self.runs: dict[str, int] = {}  # runs sent per dataset, so each one is newer

    def write(self, dataset: str, features: int) -> float:
        """Send a new run of the dataset; the seconds until it was acknowledged."""
        index = self.runs.get(dataset, 0)
        self.runs[dataset] = index + 1
        body = json.dumps(drift_run(dataset, features, index)).encode()
        headers = {"Content-Type": "application/json"}
        start = time.perf_counter()
        response = self.session.post(
            self.url + names.RUNS_PATH, data=body, headers=headers, timeout=TIMEOUT_SECONDS
        )
        elapsed = time.perf_counter() - start
        if response.status_code != 201:
            raise RuntimeError(f"a run was refused: {response.status_code} {response.text[:300]}")
        return elapsed

    def delete(self, dataset: str) -> None:
        url = f"{self.url}{names.DATASETS_PATH}/{dataset}"
        self.session.delete(url, timeout=TIMEOUT_SECONDS).raise_for_status()
        del self.runs[dataset]

    def view(self) -> tuple[float, int]:
        """Load the page: the seconds and its size in bytes."""
        return view(self.session, self.url)


def view(session: requests.Session, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    response = session.get(url + "/", timeout=TIMEOUT_SECONDS)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, len(response.content)


def drift_run(dataset: str, features: int, index: int) -> dict[str, Any]:
    """A valid run: p-values drawn anew for each run, a few features drifted."""
    rng = np.random.default_rng(index)
    p_values = rng.uniform(0, 1, features) ** 3  # some small ones
    docs = [
        feature_doc(f"feature_{i:04d}", float(p), drifted=bool(min(1.0, 2 * p) < 0.05))
        for i, p in enumerate(p_values)
    ]
    return run_doc(dataset, docs, run_at=FIRST_RUN_AT + timedelta(hours=index))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="monitor-page-") as tmp, start_monitor(Path(tmp)) as m:
        results = measure(args, m)
    load = {"before": load_before, "after": os.getloadavg()[0]}
    results["machine"] = machine(load_average_1m=load)
    one = results["page"][1]["after_write"]["median_s"]
    cold = results["page"][1]["after_restart"]["median_s"]
    # Linear: best of the views (the least disturbed by other work), per feature.
    few, many = (results["page"][i]["after_write"]["min_s"] for i in (0, 1))
    ratio = (many / FEATURES) / (few / FEW_FEATURES)
    results["targets"] = [
        {
            "target": f"{FEATURES:,} features x {RUNS} runs, first view after a write "
            f"< {MAX_PAGE_SECONDS:g} s",
            "value": f"{one:.3f} s (median)",
            "passed": one < MAX_PAGE_SECONDS,
        },
        {
            "target": f"{FEATURES:,} features x {RUNS} runs, first view after a restart "
            f"< {MAX_PAGE_SECONDS:g} s",
            "value": f"{cold:.3f} s (median)",
            "passed": cold < MAX_PAGE_SECONDS,
        },
        {
            "target": f"time per feature after a write, {FEATURES:,} vs {FEW_FEATURES} "
            f"features <= {MAX_PER_FEATURE_RATIO:g}x",
            "value": f"{ratio:.2f}x (best view)",
            "passed": ratio <= MAX_PER_FEATURE_RATIO,
        },
    ]
    conclude(results, RESULTS, report(results))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer views and writes")
    args = parser.parse_args(argv)
    args.views = 3 if args.quick else 10
    args.writes = 30 if args.quick else 200
    return args


@contextmanager
def start_monitor(workdir: Path) -> Iterator[Monitor]:
    options = ("--max-series", str(MAX_SERIES))
    with monitor_server(workdir, plain_session({}), *options) as (_, url, token):
        yield Monitor(url, token, workdir / "monitor.db")


def measure(args: argparse.Namespace, monitor: Monitor) -> Result:
    results: Result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {
            "runs": RUNS,
            "views": args.views,
            "writes": args.writes,
            "viewers": VIEWERS,
        },
        "page": [],
    }
    for datasets, features in ((1, FEW_FEATURES), (1, FEATURES), (DATASETS, FEATURES)):
        progress(f"page: {datasets} dataset(s) of {features:,} features x {RUNS} runs")
        for d in range(datasets):
            while monitor.runs.get(dataset_name(d, features), 0) < RUNS:
                monitor.write(dataset_name(d, features), features)
        results["page"].append(time_views(monitor, datasets, features, args.views))
        results["page"][-1]["after_restart"] = time_restarts(monitor.db, args.views)
        if features == FEW_FEATURES:  # measured alone
            monitor.delete(dataset_name(0, features))
    results["writes"] = []
    for label, dataset, features in (
        (f"{PROBE_FEATURES}-feature run, a dataset of its own", "probe", PROBE_FEATURES),
        (f"{FEATURES:,}-feature run of a dataset on the page", dataset_name(0), FEATURES),
    ):
        progress(f"writes: {args.writes} x {label}, alone and with {VIEWERS} viewers")
        monitor.write(dataset, features)  # the dataset is on the page from the start
        alone = [monitor.write(dataset, features) for _ in range(args.writes)]
        with viewers(monitor.url) as views:
            watched = [monitor.write(dataset, features) for _ in range(args.writes)]
        results["writes"].append(
            {
                "write": label,
                "alone": summary(alone),
                "viewers": summary(watched),
                "views": views.value,
            }
        )
    return results


def dataset_name(index: int, features: int = FEATURES) -> str:
    return f"features-{features}-{index}"


def time_views(monitor: Monitor, datasets: int, features: int, views: int) -> Result:
    after_write, repeat, size = [], [], 0
    monitor.view()  # warm-up
    for _ in range(views):
        for d in range(datasets):
            monitor.write(dataset_name(d, features), features)
        seconds, size = monitor.view()
        after_write.append(seconds)
        repeat.append(monitor.view()[0])
    return {
        "datasets": datasets,
        "features": features,
        "bytes": size,
        "after_write": summary(after_write),
        "repeat": summary(repeat),
    }


def time_restarts(db: Path, views: int) -> Result:
    """The first view of a page that has seen nothing, as after a restart: in process, on
    the server's database."""
    store = Store(db, series_of, max_series=MAX_SERIES, keep_runs=1_000)
    try:
        seconds = []
        for _ in range(views):
            page = StatusPage(store)
            start = time.perf_counter()
            page.render()
            seconds.append(time.perf_counter() - start)
    finally:
        store.close()
    return summary(seconds)


@contextmanager
def viewers(url: str) -> Iterator[Any]:
    """VIEWERS processes loading the page in a loop until the block ends; the value counts
    their views."""
    stop = multiprocessing.Event()
    views = multiprocessing.Value("i", 0)
    processes = [
        multiprocessing.Process(target=keep_viewing, args=(url, stop, views), daemon=True)
        for _ in range(VIEWERS)
    ]
    for process in processes:
        process.start()
    try:
        yield views
    finally:
        stop.set()
        for process in processes:
            process.join(TIMEOUT_SECONDS)


def keep_viewing(url: str, stop: Any, views: Any) -> None:
    session = plain_session({})
    while not stop.is_set():
        view(session, url)
        with views.get_lock():
            views.value += 1


def summary(seconds: list[float]) -> Result:
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "p99_s": float(np.percentile(seconds, 99)),
        "max_s": max(seconds),
        "n": len(seconds),
    }


def report(results: Result) -> str:
    m, s = results["machine"], results["settings"]
    load = m["load_average_1m"]
    pages = [("datasets", "page bytes", "after a write: median s", "max s",
              "repeat view: median s", "max s", "after a restart: median s")]  # fmt: skip
    for p in results["page"]:
        pages.append(
            (
                f"{p['datasets']} x {p['features']:,} features x {s['runs']} runs",
                f"{p['bytes']:,}",
                f"{p['after_write']['median_s']:.3f}",
                f"{p['after_write']['max_s']:.3f}",
                f"{p['repeat']['median_s']:.4f}",
                f"{p['repeat']['max_s']:.4f}",
                f"{p['after_restart']['median_s']:.3f}",
            )
        )
    writes = [("write", "viewers", "median ms", "p99 ms", "max ms", "views meanwhile")]
    for w in results["writes"]:
        for label, key, views in ((w["write"], "alone", ""), ("", "viewers", str(w["views"]))):
            r = w[key]
            writes.append(
                (
                    label,
                    "0" if key == "alone" else str(s["viewers"]),
                    f"{r['median_s'] * 1000:.1f}",
                    f"{r['p99_s'] * 1000:.1f}",
                    f"{r['max_s'] * 1000:.1f}",
                    views,
                )
            )
    return "\n".join(
        [
            f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}.",
            f"Load average (1 min): {load['before']:.2f} before, {load['after']:.2f} after.",
            "",
            f"PAGE: GET /, client-side; {s['views']} views of each kind after a warm-up; "
            "after a restart: in process, the page's render alone",
            table(pages),
            "",
            f"WRITES: POST {names.RUNS_PATH}, {s['writes']} timed alone and {s['writes']} while "
            f"{s['viewers']} viewer processes load the page of {DATASETS} datasets in a loop",
            table(writes, right=range(1, 6)),
            "",
            "TARGETS",
            targets_table(results["targets"]),
            "",
            f"Results written to {RESULTS.relative_to(ROOT)}.",
        ]
    )


if __name__ == "__main__":
    run_script(main)
