"""The monitor side by side with Prometheus's Pushgateway, in one run.

    .venv/bin/python bench/monitor_vs_pushgateway.py [--pushes N] [--quick]

Needs the Debian package prometheus-pushgateway. The script starts both servers itself on
free 127.0.0.1 ports (the monitor as ``python -m monitor`` with a temporary SQLite file and a
write token; the Pushgateway with persistence off), measures, and stops both, also on Ctrl-C
or an error. One client sends every request in turn over a keep-alive connection.

What it measures:

* Push: one 13-feature drift run (data/control/bike_sharing_dataset_1.csv against
  data/audit/bike_sharing_dataset_4.csv.off with data/drift.yaml). The monitor gets the run's
  JSON at POST /api/v1/runs; the Pushgateway gets the same series, rendered by the monitor's
  own exposition, at PUT /metrics/job/drift/dataset/<name>, which replaces the group as a run
  replaces a dataset. Client-side latency over N pushes after a warm-up: median, p99, and
  pushes per second.
* Scrape: GET /metrics with about 100 and about 10,000 series in each server (one dataset,
  then as many as give 10,000 series; the real number of sample lines is reported), both
  asked for the text format 0.0.4 without compression, since the monitor never compresses.
  The first scrape is excluded. The monitor renders /metrics again only after a write, so a
  scrape right after a push is timed apart, for information.
* Memory: the server's resident memory (VmRSS) every 1,000 of 10,000 pushes of the same
  dataset, so the state keeps its size; and the monitor's SQLite file at the end, whose
  history is capped by --keep-runs.

It prints a table with the issue's targets, writes bench/results/monitor_vs_pushgateway.json
and exits with 1 when a target is missed. --quick: 300 timed pushes, 50 scrapes, 2,000
memory pushes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import requests
from harness import machine, resident_mib, version  # bench/: a script sees its own folder
from tables import (
    conclude,
    progress,
    run_script,
    table,
    targets_table,
)

import drift
import names
from drift.publish import run_document
from monitor.exposition import Exposition, series_of
from monitor.schema import Run
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "monitor_vs_pushgateway.json"
CONFIG = ROOT / "data" / "drift.yaml"
REFERENCE = ROOT / "data" / "control" / "bike_sharing_dataset_1.csv"
CURRENT = ROOT / "data" / "audit" / "bike_sharing_dataset_4.csv.off"
PUSHGATEWAY = "prometheus-pushgateway"

# The targets.
MAX_PUSH_P99_MS = 20.0
MAX_SCRAPE_RATIO = 2.0  # monitor / Pushgateway, median, at 10,000 series
MAX_RSS_GROWTH = 0.10  # from the 1,000th push to the last

SERIES_LEVELS = (100, 10_000)
KEEP_RUNS = 1_000  # the monitor's default, passed explicitly so the results say it
MAX_SERIES = 2 * SERIES_LEVELS[-1]
WARMUP_PUSHES = 50
READY_SECONDS = 30.0
TIMEOUT_SECONDS = 30.0
TEXT_FORMAT = "text/plain; version=0.0.4"
DATASET = "bench-000"  # the dataset of the push and memory phases; the others fill

Result = dict[str, Any]
Push = tuple[str, bytes]  # URL and body of one push


@dataclass(frozen=True)
class Contender:
    """One running server and how a drift run is pushed to it."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    session: requests.Session
    method: str
    accepted: int  # the status of an accepted push
    path: Callable[[str], str]  # where a dataset's run goes
    encode: Callable[[dict[str, Any]], bytes]

    def push_of(self, run: dict[str, Any], dataset: str) -> Push:
        return self.url + self.path(dataset), self.encode({**run, "dataset": dataset})

    def send(self, push: Push) -> None:
        url, body = push
        response = self.session.request(self.method, url, data=body, timeout=TIMEOUT_SECONDS)
        if response.status_code != self.accepted:
            raise RuntimeError(
                f"{self.name} refused a push: HTTP {response.status_code}: {response.text[:300]}"
            )

    def rss_mib(self) -> float:
        return resident_mib(pid=self.process.pid)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    binary = shutil.which(PUSHGATEWAY)
    if binary is None:
        print(
            f"{PUSHGATEWAY} is not installed; install it with:\n"
            f"    sudo apt-get install {PUSHGATEWAY}",
            file=sys.stderr,
        )
        sys.exit(1)
    run = drift_run()
    load_before = os.getloadavg()[0]  # other work on the machine skews every number
    scraper = plain_session({"Accept": TEXT_FORMAT, "Accept-Encoding": "identity"})
    with tempfile.TemporaryDirectory(prefix="monitor-vs-pushgateway-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        monitor = stack.enter_context(start_monitor(workdir, scraper))
        pushgateway = stack.enter_context(start_pushgateway(binary, workdir, scraper))
        results = measure(args, run, (monitor, pushgateway), scraper, workdir / "monitor.db")
    load = {"before": load_before, "after": os.getloadavg()[0]}
    results["machine"] = machine(pushgateway=version(binary), load_average_1m=load)
    results["targets"] = targets(results)
    conclude(results, RESULTS, report(results))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, help="timed pushes (default 2,000; --quick 300)")
    parser.add_argument("--quick", action="store_true", help="fewer pushes and scrapes")
    args = parser.parse_args(argv)
    args.pushes = args.pushes or (300 if args.quick else 2_000)
    args.scrapes = 50 if args.quick else 200
    args.memory_pushes = 2_000 if args.quick else 10_000
    args.memory_every = args.memory_pushes // 10
    return args


def drift_run() -> dict[str, Any]:
    """The request body of one run of the bundled data: 13 features."""
    config = drift.load_config(CONFIG)
    reference = drift.read_batch(REFERENCE, config)
    current = drift.read_batch(CURRENT, config)
    report = drift.compare(reference, current, config)
    reference_name, current_name = (str(p.relative_to(ROOT / "data")) for p in (REFERENCE, CURRENT))
    return run_document(report, DATASET, reference_name, current_name, datetime.now(UTC))


def exposition_text(run: dict[str, Any]) -> bytes:
    """The series the monitor exposes for this run, minus the legacy family (a run does not
    set it): the monitor's exposition of an in-memory store holding the run alone."""
    store = Store(":memory:", series_of, max_series=MAX_SERIES, keep_runs=1)
    try:
        store.add_run(Run.model_validate(run))
        text = Exposition(store).render().decode()
    finally:
        store.close()
    legacy = (f"# HELP {names.LEGACY_GAUGE} ", f"# TYPE {names.LEGACY_GAUGE} ")
    return "".join(line for line in text.splitlines(True) if not line.startswith(legacy)).encode()


def plain_session(headers: dict[str, str]) -> requests.Session:
    """A keep-alive session that ignores proxy and netrc settings from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.headers.update(headers)
    return session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def monitor_server(
    workdir: Path, probe: requests.Session, *options: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """``python -m monitor`` on a free port of 127.0.0.1 with a fresh write token and a
    database in ``workdir`` (and ``options``), until the block ends: its process, URL and
    token."""
    port, token = free_port(), secrets.token_hex(16)
    # MONITOR_* settings of the caller's shell must not change what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env[names.MONITOR_TOKEN_ENV] = token
    command = [
        sys.executable, "-m", "monitor", "--host", "127.0.0.1", "--port", str(port),
        "--db", str(workdir / "monitor.db"), *options,
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with server(command, env, url + "/readyz", workdir / "monitor.log", probe) as process:
        yield process, url, token


@contextmanager
def start_monitor(workdir: Path, scraper: requests.Session) -> Iterator[Contender]:
    options = ("--max-series", str(MAX_SERIES), "--keep-runs", str(KEEP_RUNS))
    with monitor_server(workdir, scraper, *options) as (process, url, token):
        yield Contender(
            name="monitor",
            process=process,
            url=url,
            session=plain_session(
                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            ),
            method="POST",
            accepted=201,
            path=lambda _: names.RUNS_PATH,
            encode=lambda run: json.dumps(run).encode(),
        )


@contextmanager
def start_pushgateway(binary: str, workdir: Path, scraper: requests.Session) -> Iterator[Contender]:
    port = free_port()
    command = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
    url = f"http://127.0.0.1:{port}"
    with server(
        command, dict(os.environ), url + "/-/ready", workdir / "pushgateway.log", scraper
    ) as process:
        yield Contender(
            name="pushgateway",
            process=process,
            url=url,
            session=plain_session({"Content-Type": TEXT_FORMAT}),
            method="PUT",
            accepted=200,
            path=lambda dataset: f"/metrics/job/drift/dataset/{quote(dataset, safe='')}",
            encode=exposition_text,
        )


@contextmanager
def server(
    command: list[str], env: dict[str, str], ready_url: str, log: Path, probe: requests.Session
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server in a process group of its own until the block ends, however it ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(process, ready_url, log, probe)
        yield process
    finally:
        stop(process)


def wait_ready(
    process: subprocess.Popen[bytes], url: str, log: Path, probe: requests.Session
) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{tail(log)}")
        try:
            if probe.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {READY_SECONDS:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL if it is still there after 10 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass  # already gone


def measure(
    args: argparse.Namespace,
    run: dict[str, Any],
    contenders: tuple[Contender, ...],
    scraper: requests.Session,
    db: Path,
) -> Result:
    results: Result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {
            "pushes": args.pushes,
            "warmup_pushes": WARMUP_PUSHES,
            "scrapes": args.scrapes,
            "memory_pushes": args.memory_pushes,
            "keep_runs": KEEP_RUNS,
            "features": len(run["features"]),
            "push_bytes": {c.name: len(c.push_of(run, DATASET)[1]) for c in contenders},
        },
    }
    progress(f"push: {WARMUP_PUSHES} warm-up + {args.pushes} timed pushes each")
    results["push"] = {
        c.name: time_pushes(c, c.push_of(run, DATASET), args.pushes) for c in contenders
    }
    results["scrape"] = []
    filled = 1  # the push phase left one dataset in each server
    for level in SERIES_LEVELS:
        wanted = max(1, round(level / series_of(Run.model_validate(run))))
        progress(f"scrape: {wanted} dataset(s), {args.scrapes} scrapes each")
        for contender in contenders:
            for i in range(filled, wanted):
                contender.send(contender.push_of(run, f"bench-{i:03d}"))
        filled = max(filled, wanted)
        results["scrape"].append(scrape_level(level, wanted, run, contenders, scraper, args))
    progress(f"memory: {args.memory_pushes} pushes each, resident memory every {args.memory_every}")
    results["memory"] = {
        "pushes": list(range(0, args.memory_pushes + 1, args.memory_every)),
        "datasets": filled,
        **{c.name: memory(c, c.push_of(run, DATASET), args) for c in contenders},
        "monitor_db": db_state(db),
    }
    return results


def time_pushes(contender: Contender, push: Push, pushes: int) -> Result:
    for _ in range(WARMUP_PUSHES):
        contender.send(push)
    latencies = []
    started = time.perf_counter()
    for _ in range(pushes):
        start = time.perf_counter()
        contender.send(push)
        latencies.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - started
    return {**summary_ms(latencies), "per_second": pushes / elapsed}


def scrape_level(
    level: int,
    datasets: int,
    run: dict[str, Any],
    contenders: tuple[Contender, ...],
    scraper: requests.Session,
    args: argparse.Namespace,
) -> Result:
    result: Result = {"level": level, "datasets": datasets}
    for contender in contenders:
        url = contender.url + "/metrics"
        body = scraper.get(url, timeout=TIMEOUT_SECONDS).content  # excluded: a warm-up
        result[contender.name] = {
            "series": sum(1 for line in body.splitlines() if line and not line.startswith(b"#")),
            "bytes": len(body),
            **summary_ms(time_scrapes(scraper, url, args.scrapes)),
            # What a scrape costs when a run came in since the last one.
            "after_push": summary_ms(
                time_scrapes(
                    scraper,
                    url,
                    args.scrapes // 10,
                    before=lambda c=contender: c.send(c.push_of(run, DATASET)),
                )
            ),
        }
    result["ratio_median"] = result["monitor"]["median_ms"] / result["pushgateway"]["median_ms"]
    result["ratio_p99"] = result["monitor"]["p99_ms"] / result["pushgateway"]["p99_ms"]
    result["ratio_after_push"] = (
        result["monitor"]["after_push"]["median_ms"]
        / result["pushgateway"]["after_push"]["median_ms"]
    )
    return result


def time_scrapes(
    scraper: requests.Session, url: str, scrapes: int, before: Callable[[], None] | None = None
) -> list[float]:
    """Seconds per GET, body read in full; ``before`` runs untimed ahead of each one."""
    seconds = []
    for _ in range(scrapes):
        if before:
            before()
        start = time.perf_counter()
        response = scraper.get(url, timeout=TIMEOUT_SECONDS)
        seconds.append(time.perf_counter() - start)
        response.raise_for_status()
    return seconds


def memory(contender: Contender, push: Push, args: argparse.Namespace) -> Result:
    rss = [contender.rss_mib()]
    started = time.perf_counter()
    for done in range(1, args.memory_pushes + 1):
        contender.send(push)
        if done % args.memory_every == 0:
            rss.append(contender.rss_mib())
    elapsed = time.perf_counter() - started
    growth = rss[-1] - rss[1]  # from the first sample after pushing: start-up is not growth
    return {
        "rss_mib": rss,
        "growth_mib": growth,
        "growth_share": growth / rss[1],
        "per_second": args.memory_pushes / elapsed,
    }


def db_state(db: Path) -> Result:
    """Sizes of the monitor's SQLite file and write-ahead log, and the runs it keeps."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        runs = connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    wal = db.with_name(db.name + "-wal")
    return {
        "db_mib": db.stat().st_size / 2**20,
        "wal_mib": wal.stat().st_size / 2**20 if wal.exists() else 0.0,
        "runs_kept": runs,
    }


def summary_ms(seconds: list[float]) -> Result:
    median, p99 = np.percentile(seconds, [50, 99]) * 1000
    return {"median_ms": float(median), "p99_ms": float(p99), "n": len(seconds)}


def targets(results: Result) -> list[Result]:
    push_p99 = results["push"]["monitor"]["p99_ms"]
    top = results["scrape"][-1]
    rss = results["memory"]["monitor"]
    pushes = results["memory"]["pushes"]
    return [
        target(
            f"push p99 < {MAX_PUSH_P99_MS:.0f} ms", f"{push_p99:.2f} ms", push_p99 < MAX_PUSH_P99_MS
        ),
        target(
            f"scrape at {top['monitor']['series']:,} series <= {MAX_SCRAPE_RATIO:.0f}x Pushgateway",
            f"{top['ratio_median']:.2f}x (median)",
            top["ratio_median"] <= MAX_SCRAPE_RATIO,
        ),
        target(
            f"memory flat over {pushes[-1]:,} pushes (< {MAX_RSS_GROWTH:.0%} after push "
            f"{pushes[1]:,})",
            f"{rss['growth_mib']:+.1f} MiB ({rss['growth_share']:+.1%})",
            rss["growth_share"] < MAX_RSS_GROWTH,
        ),
    ]


def target(name: str, value: str, passed: bool) -> Result:
    return {"target": name, "value": value, "passed": passed}


def report(results: Result) -> str:
    """The printed tables."""
    m, s = results["machine"], results["settings"]
    load = m["load_average_1m"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}; {m['pushgateway']}.",
        f"Load average (1 min): {load['before']:.2f} before, {load['after']:.2f} after.",
        "One client, one request at a time over keep-alive; client-side time.perf_counter.",
        "",
        f"PUSH: one {s['features']}-feature run ({s['push_bytes']['monitor']:,} B JSON to the "
        f"monitor, {s['push_bytes']['pushgateway']:,} B text to the Pushgateway); "
        f"{s['warmup_pushes']} warm-up + {s['pushes']:,} timed",
        push_table(results["push"]),
        "",
        f"SCRAPE: GET /metrics, text format 0.0.4, no compression; 1 warm-up + "
        f"{s['scrapes']} timed; 'after a push': {s['scrapes'] // 10} scrapes, each right "
        "after a push",
        scrape_table(results["scrape"]),
        "",
        memory_text(results["memory"]),
        "",
        "TARGETS",
        targets_table(results["targets"]),
        "",
        f"Results written to {RESULTS.relative_to(ROOT)}.",
    ]
    return "\n".join(lines)


def push_table(push: Result) -> str:
    monitor, pushgateway = push["monitor"], push["pushgateway"]
    rows = [("", "median ms", "p99 ms", "pushes/s")]
    for name, r in (("monitor", monitor), ("pushgateway", pushgateway)):
        rows.append(
            (name, f"{r['median_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['per_second']:,.0f}")
        )
    rows.append(
        (
            "monitor / pushgateway",
            f"{monitor['median_ms'] / pushgateway['median_ms']:.2f}x",
            f"{monitor['p99_ms'] / pushgateway['p99_ms']:.2f}x",
            f"{monitor['per_second'] / pushgateway['per_second']:.2f}x",
        )
    )
    return table(rows)


def scrape_table(scrape: list[Result]) -> str:
    rows = [
        ("level", "datasets", "server", "series", "bytes", "median ms", "p99 ms",
         "after a push: median ms")
    ]  # fmt: skip
    for level in scrape:
        for name in ("monitor", "pushgateway"):
            r = level[name]
            rows.append(
                (
                    f"~{level['level']:,}",
                    str(level["datasets"]),
                    name,
                    f"{r['series']:,}",
                    f"{r['bytes']:,}",
                    f"{r['median_ms']:.2f}",
                    f"{r['p99_ms']:.2f}",
                    f"{r['after_push']['median_ms']:.2f}",
                )
            )
        rows.append(
            (
                "",
                "",
                "monitor / pushgateway",
                "",
                "",
                f"{level['ratio_median']:.2f}x",
                f"{level['ratio_p99']:.2f}x",
                f"{level['ratio_after_push']:.2f}x",
            )
        )
    return table(rows)


def memory_text(memory: Result) -> str:
    rows = [("pushes", *(f"{n:,}" for n in memory["pushes"]), "growth", "pushes/s")]
    for name in ("monitor", "pushgateway"):
        r = memory[name]
        rows.append(
            (
                f"{name} RSS MiB",
                *(f"{v:.1f}" for v in r["rss_mib"]),
                f"{r['growth_mib']:+.1f} ({r['growth_share']:+.1%})",
                f"{r['per_second']:,.0f}",
            )
        )
    db = memory["monitor_db"]
    return "\n".join(
        [
            f"MEMORY: {memory['pushes'][-1]:,} pushes of one dataset with {memory['datasets']} "
            f"datasets loaded; growth from push {memory['pushes'][1]:,} to the last",
            table(rows),
            f"Monitor SQLite at the end: {db['db_mib']:.1f} MiB + {db['wal_mib']:.1f} MiB WAL, "
            f"{db['runs_kept']:,} runs kept (--keep-runs {KEEP_RUNS:,} per dataset).",
        ]
    )


if __name__ == "__main__":
    run_script(main)
