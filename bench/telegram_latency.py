"""Time from the DAG's push to the Telegram message, with our default intervals and with the
course's 1 m scrape.

    .venv/bin/python bench/telegram_latency.py [--runs N] [--quick]

Two settings, each on a fresh stack of real components on 127.0.0.1, started by the script and
always stopped (process groups): the monitor (``python -m monitor``, temporary SQLite file,
write token), Prometheus 2.42 (the Compose stack's prometheus/prometheus.yml, scraping the
local monitor, with the rules of ``provision.py export --target prometheus`` and alerting the
local Alertmanager), Alertmanager 0.25 (the exported configuration, ``api_url`` pointing to a
fake Telegram Bot API, tests/fake_telegram.py) and the fake itself:

* defaults: the repository's settings: scrape every 5 s (prometheus/prometheus.yml); the rule
  evaluated every 10 s and pending for 10 s, group_wait 5 s (grafana.yaml, as exported);
* course: the course's prometheus.yml, scrape every 1 m; everything else the same (the course
  had the rule in Grafana, evaluated every 10 s, pending 10 s; group_wait as ours).

Expected, from the intervals (each stage waits for the next tick of a fixed schedule):

    defaults: scrape <= 5 s + evaluation <= 10 s + pending 10 s + group_wait 5 s = 15 to 30 s
    course:   scrape <= 60 s + evaluation <= 10 s + pending 10 s + group_wait 5 s = 15 to 85 s

Prometheus places its scrapes and rule evaluations at fixed offsets of the Unix clock, so the
latency depends on when in that cycle the push comes (the cycle is the least common multiple
of the scrape and evaluation intervals: 10 s, and 60 s for the course). The trials of a
setting push at evenly spread points of it, (i + 0.5) / N of the cycle: left to itself, each
trial would start right after the previous cleanup, always at the same point.

Once Prometheus has scraped the monitor, found Alertmanager and evaluated the rules twice
(after a start it writes no ALERTS series before its second evaluation, when it restores
the alerts' pending state; a first alert still fires on time), a trial pushes a drift run
(data/audit/bike_sharing_dataset_4.csv.off against data/control/bike_sharing_dataset_1.csv
with data/drift.yaml, a fresh run_at) with ``drift.publish.send_run``, as the DAG does, and
times from the moment it returns to the first sendMessage saying "firing" at the fake
Telegram (the time the fake received it). Prometheus's sample timestamps split that time into
stages: push to scrape, scrape to the first evaluation that sees the run (alert pending),
pending to firing, and firing to Telegram (Alertmanager). Untimed, the no-drift batch
(bike_sharing_dataset_2.csv) then ends the drift, and the trial waits for the resolved message
and for ALERTS to be empty. Every trial uses a dataset of its own: the stages are read from
the first samples of its series, and its alerts form a new Alertmanager group, as a daily
run's do (an alert joining a group that has sent already waits for the group's next
group_interval tick, 1 m, not group_wait; Prometheus re-sends resolved alerts for 15 minutes,
which can bring a group back). Every wait is bounded (4 minutes).

It prints the trials, the median, minimum and maximum per setting and the ratio of the
medians (course / defaults), writes bench/results/telegram_latency.json and exits with 1
when the target is missed: a median under 30 s with the defaults (whether the maximum is
under 30 s too is shown, for information). --runs N: trials per setting (default 3);
--quick: 1 trial per setting.
"""

# The imports after the sys.path line below cannot be at the top of the file.
# ruff: noqa: E402

from __future__ import annotations

import argparse
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ on sys.path, not the repository. run_local.py starts
# services and builds the Compose Prometheus configuration for a local monitor; the fake
# Telegram is test infrastructure, never product.
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")]

import requests
import yaml
from harness import machine, version  # bench/: a script sees its own folder
from run_local import answers, prometheus_config, service
from tables import (
    conclude,
    progress,
    run_script,
    table,
    targets_table,
)

import names
from drift import DriftReport, compare, load_config, read_batch
from drift.publish import PublishError, run_document, send_run
from fake_telegram import FakeTelegram
from provisioning.settings import duration_seconds

RESULTS = ROOT / "bench" / "results" / "telegram_latency.json"
DATA = ROOT / "data"
CONFIG = DATA / "drift.yaml"
REFERENCE = DATA / "control" / "bike_sharing_dataset_1.csv"
DRIFT_BATCH = DATA / "audit" / "bike_sharing_dataset_4.csv.off"
NO_DRIFT_BATCH = DATA / "audit" / "bike_sharing_dataset_2.csv"
PROMETHEUS = Path("/usr/bin/prometheus")
ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
TELEGRAM_TOKEN = "123456:fake-benchmark-token"
TELEGRAM_CHAT_ID = "-1001234567890"

# The target.
MAX_MEDIAN_SECONDS = 30.0

READY_SECONDS = 30.0
WAIT_SECONDS = 240.0  # any other wait: a trial of the course setting needs up to ~1.5 min
POLL_SECONDS = 0.2  # the fake stamps each message itself: polling does not blur the timing
LEAD_SECONDS = 0.5  # the least time between choosing a push moment and the push

Result = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Setting:
    name: str
    scrape_interval: str | None  # None: prometheus/prometheus.yml's own
    description: str


SETTINGS = (
    Setting("defaults", None, "the repository's settings"),
    Setting("course", "1m", "the course's 1 m scrape, the rest as in defaults"),
)


@dataclass(frozen=True)
class Stack:
    """One setting's running components and the intervals they were given."""

    monitor_url: str
    token: str
    prometheus_url: str
    job: str
    telegram: FakeTelegram
    intervals: dict[str, str]  # scrape, evaluation, pending, group_wait, group_interval

    @property
    def cycle(self) -> int:
        """Seconds after which scrapes and evaluations fall on the same offsets again."""
        scrape, evaluation = (
            int(duration_seconds(self.intervals[k])) for k in ("scrape", "evaluation")
        )
        return math.lcm(scrape, evaluation)


class WaitTimeout(Exception):
    pass


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for binary in (PROMETHEUS, ALERTMANAGER):
        if not binary.exists():
            sys.exit(f"{binary} is not installed (make system-packages installs it)")
    config = load_config(CONFIG)
    reference = read_batch(REFERENCE, config)
    reports = {
        batch: compare(reference, read_batch(batch, config), config)
        for batch in (DRIFT_BATCH, NO_DRIFT_BATCH)
    }
    results: Result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(prometheus=version(PROMETHEUS), alertmanager=version(ALERTMANAGER)),
        "runs": args.runs,
        "settings": {},
    }
    try:
        for setting in SETTINGS:
            results["settings"][setting.name] = measure(setting, reports, args.runs)
    except (WaitTimeout, RuntimeError, PublishError) as exc:  # the servers are stopped already
        sys.exit(f"error: {exc}")
    defaults, course = (results["settings"][s.name]["summary"] for s in SETTINGS)
    results["ratio_of_medians"] = course["median_s"] / defaults["median_s"]
    results["targets"] = targets(defaults)
    conclude(results, RESULTS, report(results))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--runs", type=int, help="trials per setting (default 3; --quick 1)")
    parser.add_argument("--quick", action="store_true", help="1 trial per setting")
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


# -- the stack ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], T], what: str, seconds: float = WAIT_SECONDS) -> T:
    """Poll ``condition`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise WaitTimeout(f"no {what} within {seconds:.0f} s")
        time.sleep(POLL_SECONDS)
    return value


@contextmanager
def server(command: list[str], log: Path, ready_url: str, env: dict[str, str]) -> Iterator[None]:
    """A server in a process group of its own (run_local.service), ready until the block ends."""
    with service(command, log, env) as process:

        def ready() -> bool:
            if process.poll() is not None:
                output = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"{command[0]} exited with {process.returncode}:\n{output}")
            return answers(ready_url)

        wait_until(ready, f"answer from {ready_url}", READY_SECONDS)
        yield


@contextmanager
def start_stack(setting: Setting, workdir: Path) -> Iterator[Stack]:
    with ExitStack() as stack:
        telegram = stack.enter_context(FakeTelegram())
        exported = export(workdir / "alerting", telegram.url)

        # MONITOR_* settings of the caller's shell must not change what is measured.
        monitor_env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        token = secrets.token_urlsafe(16)
        monitor_env[names.MONITOR_TOKEN_ENV] = token
        monitor = f"127.0.0.1:{free_port()}"
        stack.enter_context(server(
            [sys.executable, "-m", "monitor", "--host", "127.0.0.1",
             "--port", monitor.split(":")[1], "--db", str(workdir / "monitor.db")],
            workdir / "monitor.log", f"http://{monitor}/readyz", monitor_env,
        ))  # fmt: skip

        alertmanager = f"127.0.0.1:{free_port()}"
        stack.enter_context(server(
            [str(ALERTMANAGER), f"--config.file={exported / 'alertmanager.yml'}",
             f"--storage.path={workdir / 'alertmanager'}",
             f"--web.listen-address={alertmanager}",
             "--cluster.listen-address="],  # no HA gossip on 0.0.0.0:9094
            workdir / "alertmanager.log", f"http://{alertmanager}/-/ready", dict(os.environ),
        ))  # fmt: skip

        config = prometheus_config(monitor)
        config["rule_files"] = [str(exported / "rules.yml")]
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
        [job] = config["scrape_configs"]
        if setting.scrape_interval:
            config["global"]["scrape_interval"] = job["scrape_interval"] = setting.scrape_interval
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        prometheus = f"http://127.0.0.1:{free_port()}"
        stack.enter_context(server(
            [str(PROMETHEUS), f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'prometheus'}",
             f"--web.listen-address={prometheus.removeprefix('http://')}",
             f"--web.external-url={prometheus}/"],
            workdir / "prometheus.log", f"{prometheus}/-/ready", dict(os.environ),
        ))  # fmt: skip

        yield Stack(
            monitor_url=f"http://{monitor}",
            token=token,
            prometheus_url=prometheus,
            job=job["job_name"],
            telegram=telegram,
            intervals={
                "scrape": job.get("scrape_interval", config["global"]["scrape_interval"]),
                **exported_intervals(exported),
            },
        )


def export(folder: Path, telegram_url: str) -> Path:
    """``provision.py export --target prometheus``, with grafana.yaml's defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISION__")}
    env |= {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_CHAT_ID": TELEGRAM_CHAT_ID}
    done = subprocess.run(
        [sys.executable, str(ROOT / "provision.py"), "export", "--target", "prometheus",
         str(folder), "--telegram-api-url", telegram_url],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"provision.py export failed:\n{done.stderr or done.stdout}")
    return folder


def exported_intervals(folder: Path) -> dict[str, str]:
    """The drift rule's evaluation interval and pending period, and its route's timings."""
    groups = yaml.safe_load((folder / "rules.yml").read_text())["groups"]
    group, rule = next(
        (g, r)
        for g in groups
        for r in g["rules"]
        if r.get("labels", {}).get(names.ALERT_LABEL) == names.ALERT_LABEL_VALUE
    )
    # The stack's routes sit in its branch, under the root.
    [branch] = yaml.safe_load((folder / "alertmanager.yml").read_text())["route"]["routes"]
    routes = branch["routes"]
    matcher = f'{names.ALERT_LABEL}="{names.ALERT_LABEL_VALUE}"'
    route = next(r for r in routes if matcher in r.get("matchers", []))
    return {
        "evaluation": group["interval"],
        "pending": rule["for"],
        "group_wait": route["group_wait"],
        "group_interval": route["group_interval"],
    }


# -- measuring ----------------------------------------------------------------------------


def measure(setting: Setting, reports: dict[Path, DriftReport], runs: int) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"telegram-latency-{setting.name}-") as tmp:
        progress(f"{setting.name}: starting the monitor, Alertmanager and Prometheus")
        with start_stack(setting, Path(tmp)) as stack:
            progress(
                f"{setting.name}: warming up (first scrape every {stack.intervals['scrape']}, "
                f"two rule evaluations every {stack.intervals['evaluation']})"
            )
            warm_up(stack)
            trials = []
            for i in range(runs):
                phase = (i + 0.5) / runs * stack.cycle
                progress(
                    f"{setting.name}: trial {i + 1}/{runs}, push at {phase:.1f} s of the "
                    f"{stack.cycle} s cycle"
                )
                trials.append(trial(stack, reports, f"bike_sharing_{i + 1:03d}", phase))
                progress(f"{setting.name}: {trials[-1]['latency_s']:.1f} s")
    latencies = [t["latency_s"] for t in trials]
    return {
        "description": setting.description,
        "intervals": stack.intervals,
        "cycle_s": stack.cycle,
        "trials": trials,
        "summary": {
            "median_s": statistics.median(latencies),
            "min_s": min(latencies),
            "max_s": max(latencies),
        },
    }


def warm_up(stack: Stack) -> None:
    """Until Prometheus has scraped the monitor, found Alertmanager and evaluated the rules
    twice: before its second evaluation after a start, Prometheus writes no ALERTS series (it
    restores the alerts' pending state then), and the stages could not be measured."""
    wait_until(lambda: query(stack, f'up{{job="{stack.job}"}} == 1'), "first scrape")
    wait_until(
        lambda: prometheus_api(stack, "alertmanagers")["activeAlertmanagers"],
        "Alertmanager found by Prometheus",
    )

    def last_evaluation() -> str | None:
        [group] = prometheus_api(stack, "rules")["groups"]
        evaluated = group["lastEvaluation"]
        return None if evaluated.startswith("0001-") else evaluated  # Go's zero time: never

    first = wait_until(last_evaluation, "first rule evaluation")
    wait_until(lambda: last_evaluation() not in (None, first), "second rule evaluation")


def trial(stack: Stack, reports: dict[Path, DriftReport], dataset: str, phase: float) -> Result:
    sent = stack.telegram.sent
    # Scrapes and evaluations sit at fixed offsets of the Unix clock (module docstring).
    earliest = time.time() + LEAD_SECONDS
    time.sleep(earliest + (phase - earliest) % stack.cycle - time.time())
    seen = len(sent)
    push(stack, reports[DRIFT_BATCH], dataset, DRIFT_BATCH)
    pushed = time.time()
    firing = wait_until(
        lambda: message(sent[seen:], dataset, "firing"), f"firing Telegram message for {dataset}"
    )
    scraped = first_sample(stack, f'{names.LAST_RUN_TIMESTAMP}{{dataset="{dataset}"}}')
    pending = first_sample(stack, f'ALERTS{{alertstate="pending", dataset="{dataset}"}}')
    fired = first_sample(stack, f'ALERTS{{alertstate="firing", dataset="{dataset}"}}')

    # Untimed: end the drift, so that the next trial starts with no alert.
    seen = len(sent)
    push(stack, reports[NO_DRIFT_BATCH], dataset, NO_DRIFT_BATCH)
    ended = time.time()
    resolved = wait_until(
        lambda: message(sent[seen:], dataset, "Resolved:"), f"resolved message for {dataset}"
    )
    wait_until(lambda: not query(stack, "ALERTS"), "empty ALERTS after the drift ended")
    return {
        "dataset": dataset,
        "phase_s": phase,
        "pushed_at": pushed,
        "telegram_at": firing["at"],
        "latency_s": firing["at"] - pushed,
        "stages_s": {
            "push_to_scrape": scraped - pushed,
            "scrape_to_pending": pending - scraped,
            "pending_to_firing": fired - pending,
            "firing_to_telegram": firing["at"] - fired,
        },
        "resolved_message_after_s": resolved["at"] - ended,
    }


def push(stack: Stack, report: DriftReport, dataset: str, batch: Path) -> None:
    reference, current = (str(path.relative_to(DATA)) for path in (REFERENCE, batch))
    run = run_document(report, dataset, reference, current, datetime.now(UTC))
    send_run(run, stack.monitor_url, token=stack.token)


def message(sent: list[Result], dataset: str, word: str) -> Result | None:
    """The first sendMessage about ``dataset`` whose text has ``word``."""
    return next((m for m in sent if word in m["text"] and dataset in m["text"]), None)


def prometheus_api(stack: Stack, endpoint: str, **params: str) -> Any:
    response = requests.get(f"{stack.prometheus_url}/api/v1/{endpoint}", params, timeout=5)
    body = response.json()
    if response.status_code != 200 or body.get("status") != "success":
        raise RuntimeError(f"Prometheus refused /api/v1/{endpoint} {params}: {body}")
    return body["data"]


def query(stack: Stack, promql: str) -> list[Result]:
    return prometheus_api(stack, "query", query=promql)["result"]


def first_sample(stack: Stack, selector: str) -> float:
    """The timestamp of the earliest sample of the selected series in the last 10 minutes."""
    series = query(stack, f"{selector}[10m]")
    if not series:
        raise RuntimeError(f"Prometheus has no sample of {selector}")
    return min(float(s["values"][0][0]) for s in series)


# -- targets and report -------------------------------------------------------------------


def targets(defaults: Result) -> list[Result]:
    median, largest = defaults["median_s"], defaults["max_s"]
    return [
        {
            "target": f"defaults: median under {MAX_MEDIAN_SECONDS:.0f} s",
            "value": f"{median:.1f} s",
            "passed": median < MAX_MEDIAN_SECONDS,
            "informational": False,
        },
        {
            "target": f"defaults: maximum under {MAX_MEDIAN_SECONDS:.0f} s (for information)",
            "value": f"{largest:.1f} s",
            "passed": largest < MAX_MEDIAN_SECONDS,
            "informational": True,
        },
    ]


def report(results: Result) -> str:
    """The printed tables."""
    m, settings = results["machine"], results["settings"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}.",
        f"{m['prometheus']}; {m['alertmanager']}.",
        "Latency: from send_run's return to the firing sendMessage at the fake Telegram "
        f"(its own clock); {results['runs']} trial(s) per setting, pushed at evenly spread "
        "points of the scrape/evaluation cycle.",
        "",
        "SETTINGS",
        settings_table(settings),
        "",
        "TRIALS (seconds; stages from Prometheus's sample timestamps)",
        trials_table(settings),
        "",
        "SUMMARY (seconds)",
        summary_table(settings),
        f"course / defaults, medians: {results['ratio_of_medians']:.2f}x",
        "",
        "TARGETS",
        targets_table(results["targets"]),
        "",
        f"Results written to {RESULTS.relative_to(ROOT)}.",
    ]
    return "\n".join(lines)


def settings_table(settings: Result) -> str:
    rows = [
        ("setting", "scrape", "rule evaluation", "pending", "group_wait", "group_interval",
         "cycle", "expected")
    ]  # fmt: skip
    for name, s in settings.items():
        i = s["intervals"]
        seconds = {k: duration_seconds(v) for k, v in i.items()}
        shortest = seconds["pending"] + seconds["group_wait"]
        longest = shortest + seconds["scrape"] + seconds["evaluation"]
        rows.append(
            (
                name,
                i["scrape"],
                i["evaluation"],
                i["pending"],
                i["group_wait"],
                i["group_interval"],
                f"{s['cycle_s']} s",
                f"{shortest:.0f} to {longest:.0f} s",
            )
        )
    return table(rows)


def trials_table(settings: Result) -> str:
    rows = [
        ("setting", "trial", "phase", "latency", "push to scrape", "scrape to pending",
         "pending to firing", "firing to Telegram", "resolved message after")
    ]  # fmt: skip
    for name, s in settings.items():
        for number, t in enumerate(s["trials"], 1):
            rows.append(
                (
                    name,
                    str(number),
                    f"{t['phase_s']:.1f}",
                    f"{t['latency_s']:.1f}",
                    *(f"{v:.1f}" for v in t["stages_s"].values()),
                    f"{t['resolved_message_after_s']:.1f}",
                )
            )
    return table(rows)


def summary_table(settings: Result) -> str:
    rows = [("setting", "runs", "median", "min", "max")]
    for name, s in settings.items():
        summary = s["summary"]
        rows.append(
            (
                name,
                str(len(s["trials"])),
                *(f"{summary[k]:.1f}" for k in ("median_s", "min_s", "max_s")),
            )
        )
    return table(rows)


if __name__ == "__main__":
    run_script(main)
