"""Requests and wall time of ``provision.py`` apply and plan, against the fake Grafana.

    .venv/bin/python bench/provision_requests.py [--repeats N]

Three stacks, each a list of ``provisioning.resources`` objects in apply order:

* default: ``build_stack(load_settings(), secrets)`` with fake Telegram secrets (7 resources);
* mid: the default stack plus 9 copies of the Data Drift dashboard (uids data-drift-001..009)
  and 5 rule groups of 10 copies of the drift rule, all in the stack's folder;
* large: the same with 99 dashboards and 50 rule groups (500 more rules).

For each stack, on a fresh fake Grafana (``tests/fake_grafana.py``, started in this process),
three phases run one after the other, each with a new ``GrafanaClient`` as the CLI makes one:
apply on the empty Grafana (``make_plan`` + ``apply``), a no-op apply (the same again), then
``plan``. It records the requests the fake received (reads = GET, writes = the others, by
method, by resource kind and endpoint), the client's own counters, and the wall time (median
over ``--repeats`` fresh fakes, after one untimed warm-up round). The wall time includes the
fake's work, since it runs in this process: the fake times its own handling of each request,
and "tool" is the wall time minus that (the tool, plus HTTP on both ends). Before each phase
the objects that exist already (the fake's state, the stacks) are frozen out of Python's
cyclic GC, as they would be with Grafana in a process of its own.

Targets (from the issue): one write per changed resource on an empty Grafana; zero writes and
at most one read per resource on a no-op apply (on average, and for every kind); cost linear
in the number of resources (tool ms and requests per resource within 2x from the smallest
stack to the largest; wall time is shown, but it includes the fake's own work, which grows
with the state it holds). The fake must also have found no request body that Grafana's
OpenAPI spec refuses, no unknown request and no error of its own.

It prints tables, writes bench/results/provision_requests.json and exits with 1 when a target
is missed.
"""

# The imports after the sys.path line below cannot be at the top of the file.
# ruff: noqa: E402

from __future__ import annotations

import argparse
import gc
import json
import platform
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ on sys.path, not the repository. The fake Grafana is
# test infrastructure, never product: it comes from tests/, which only the tests and this
# benchmark import.
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from tables import (  # bench/tables.py: a script sees its own folder
    conclude,
    progress,
    table,
    targets_table,
)

from alerting.rules import build_rule_group, drift_rule
from fake_grafana import DEFAULT_TOKEN, FakeGrafana, RecordedRequest, Reply
from provisioning.client import GrafanaClient, GrafanaError
from provisioning.plan import CREATE, UNCHANGED, apply, make_plan
from provisioning.resources import (
    PROVISIONING,
    ContactPoint,
    Dashboard,
    DataSource,
    Folder,
    PolicyRoutes,
    Resource,
    RuleGroup,
    Template,
)
from provisioning.settings import Secrets, Settings, load_settings
from provisioning.stack import build_stack, dashboard_body

RESULTS = ROOT / "bench" / "results" / "provision_requests.json"
TELEGRAM_TOKEN = "123456:fake-benchmark-token"
TELEGRAM_CHAT_ID = "-1001234567890"
RULES_PER_GROUP = 10
PHASES = ("empty apply", "no-op apply", "plan")

# The targets.
MAX_NOOP_READS_PER_RESOURCE = 1.0
MAX_LINEARITY_RATIO = 2.0  # per-resource cost, largest over smallest across the stacks

# Every endpoint the tool calls, by the kind of resource it serves (literal paths first).
ENDPOINTS = (
    (DataSource.kind, "/api/datasources"),
    (DataSource.kind, "/api/datasources/uid/{uid}"),
    (Folder.kind, "/api/folders"),
    (Folder.kind, "/api/folders/{uid}"),
    (Dashboard.kind, "/api/dashboards/db"),
    (Dashboard.kind, "/api/dashboards/uid/{uid}"),
    (Template.kind, f"{PROVISIONING}/templates/{{name}}"),
    (ContactPoint.kind, f"{PROVISIONING}/contact-points"),
    (ContactPoint.kind, f"{PROVISIONING}/contact-points/export"),
    (ContactPoint.kind, f"{PROVISIONING}/contact-points/{{uid}}"),
    (PolicyRoutes.kind, f"{PROVISIONING}/policies"),
    (RuleGroup.kind, f"{PROVISIONING}/folder/{{uid}}/rule-groups/{{group}}"),
)
ENDPOINT_PATTERNS = [
    (kind, template, re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"))
    for kind, template in ENDPOINTS
]

Result = dict[str, Any]


@dataclass(frozen=True)
class StackSize:
    name: str
    extra_dashboards: int
    extra_groups: int  # of RULES_PER_GROUP rules each


SIZES = (StackSize("default", 0, 0), StackSize("mid", 9, 5), StackSize("large", 99, 50))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = load_settings()
    stacks = {size.name: build(settings, size) for size in SIZES}
    problems: list[Result] = []
    progress("warm-up: the default stack once, untimed")
    measure(settings, stacks["default"], 1, problems)
    results: Result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "repeats": args.repeats,
        "stacks": [],
    }
    for size in SIZES:
        resources = stacks[size.name]
        progress(f"{size.name}: {len(resources)} resources, {args.repeats} fresh fakes")
        phases = measure(settings, resources, args.repeats, problems)
        results["stacks"].append(describe(size.name, resources) | {"phases": phases})
    results["fake_problems"] = problems
    results["targets"] = targets(results["stacks"], problems)
    conclude(results, RESULTS, report(results))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh fakes per stack; wall time is the median"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


# -- the stacks ---------------------------------------------------------------------------


def secrets() -> Secrets:
    return Secrets(
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_chat_id=TELEGRAM_CHAT_ID,
        grafana_token=DEFAULT_TOKEN,
        grafana_user=None,
        grafana_password=None,
    )


def build(settings: Settings, size: StackSize) -> list[Resource]:
    """The default stack, then the extra dashboards and rule groups (after their folder)."""
    stack = build_stack(settings, secrets())
    provenance = next(r for r in stack if isinstance(r, RuleGroup)).provenance
    dashboards = [extra_dashboard(settings, n) for n in range(1, size.extra_dashboards + 1)]
    groups = [extra_group(settings, n, provenance) for n in range(1, size.extra_groups + 1)]
    return [*stack, *dashboards, *groups]


def extra_dashboard(settings: Settings, number: int) -> Dashboard:
    """The Data Drift dashboard again, under uid data-drift-NNN and its own title."""
    dashboard = replace(
        settings.dashboard,
        uid=f"{settings.dashboard.uid}-{number:03d}",
        title=f"{settings.dashboard.title} {number:03d}",
    )
    return Dashboard(dashboard_body(replace(settings, dashboard=dashboard)))


def extra_group(settings: Settings, number: int, provenance: str) -> RuleGroup:
    """A rule group of RULES_PER_GROUP copies of the drift rule, each with its uid and title."""
    title = f"{settings.alerting.group}-{number:03d}"
    rule = drift_rule(settings)
    rules = [
        rule
        | {
            "uid": f"{rule['uid']}-{number:03d}-{n:02d}",
            "title": f"{rule['title']} ({number:03d}-{n:02d})",
            "ruleGroup": title,
        }
        for n in range(1, RULES_PER_GROUP + 1)
    ]
    return RuleGroup(build_rule_group(settings) | {"title": title, "rules": rules}, provenance)


def describe(name: str, resources: list[Resource]) -> Result:
    groups = [r for r in resources if isinstance(r, RuleGroup)]
    return {
        "stack": name,
        "resources": len(resources),
        "kinds": dict(Counter(r.kind for r in resources)),
        "dashboards": sum(isinstance(r, Dashboard) for r in resources),
        "rule_groups": len(groups),
        "rules": sum(len(g.body["rules"]) for g in groups),
    }


# -- measuring ----------------------------------------------------------------------------


class TimedFake(FakeGrafana):
    """The fake Grafana, also timing its own handling of each request (routing, checks against
    the spec, state), by resource kind: it runs in this process, so its work is part of the
    wall time. Its HTTP parsing and the encoding of its replies are not included."""

    def __init__(self) -> None:
        super().__init__()
        self.handling: Counter[str] = Counter()  # seconds by resource kind

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], raw: bytes) -> Reply:
        start = time.perf_counter()
        try:
            return super().handle(method, target, headers, raw)
        finally:
            self.handling[classify(urlsplit(target).path)[0]] += time.perf_counter() - start


def measure(
    settings: Settings, resources: list[Resource], repeats: int, problems: list[Result]
) -> Result:
    """Each phase's requests (the same in every repeat) and the medians of its times."""
    runs = []
    for _ in range(repeats):
        with TimedFake() as fake:
            try:
                runs.append({p: run_phase(fake, settings, resources, p) for p in PHASES})
            except GrafanaError as exc:
                found = json.dumps(fake_problems(fake), indent=2)
                sys.exit(f"provisioning failed against the fake: {exc}\nfake problems: {found}")
        problems.extend(fake_problems(fake))
    phases = {}
    for phase in PHASES:
        counts = [run[phase]["counts"] for run in runs]
        if any(c != counts[0] for c in counts):
            sys.exit(f"{phase}: the requests differ between repeats: {counts}")
        walls = [run[phase]["wall_ms"] for run in runs]
        fakes = [sum(run[phase]["fake_ms"].values()) for run in runs]
        kinds = {kind for run in runs for kind in run[phase]["fake_ms"]}
        phases[phase] = counts[0] | {
            "wall_ms": walls,
            "median_ms": statistics.median(walls),
            "median_fake_ms": statistics.median(fakes),
            "median_tool_ms": statistics.median(w - f for w, f in zip(walls, fakes, strict=True)),
            "median_fake_ms_by_kind": {
                kind: statistics.median(run[phase]["fake_ms"].get(kind, 0.0) for run in runs)
                for kind in sorted(kinds)
            },
        }
    return phases


def run_phase(fake: TimedFake, settings: Settings, resources: list[Resource], phase: str) -> Result:
    """One phase as the CLI runs it, with a client of its own: its times and its requests."""
    grafana = settings.grafana
    client = GrafanaClient(
        fake.url,
        org_id=grafana.org_id,
        token=DEFAULT_TOKEN,
        timeout=grafana.timeout_seconds,
        retries=grafana.retries,
        disable_provenance=grafana.ui_editable,
    )
    fake.reset_log()
    fake.handling.clear()
    # What exists already (the fake's state, the stacks) stays out of the cyclic GC's scans,
    # as it would if Grafana ran in a process of its own; what the phase creates does not.
    gc.collect()
    gc.freeze()
    start = time.perf_counter()
    changes = make_plan(client, resources)
    if phase != "plan":
        apply(client, changes, progress=lambda _line: None)
    wall_ms = (time.perf_counter() - start) * 1000
    gc.unfreeze()
    changed = Counter(c.resource.kind for c in changes if c.action != UNCHANGED)
    counts = {
        "actions": dict(Counter(c.action for c in changes)),
        "changed": sum(changed.values()),
        "client": {"reads": client.reads, "writes": client.writes},
        **tally([r for r in fake.requests if r.path != "/api/health"]),
    }
    kinds = Counter(r.kind for r in resources)
    for kind, entry in counts["by_kind"].items():
        entry |= {"resources": kinds[kind], "changed": changed[kind]}
    fake_ms = {kind: seconds * 1000 for kind, seconds in fake.handling.items()}
    return {"wall_ms": wall_ms, "fake_ms": fake_ms, "counts": counts}


def tally(requests: list[RecordedRequest]) -> Result:
    """Reads, writes, by method, and by kind with each endpoint's count."""
    by_kind: dict[str, Result] = {}
    for request in requests:
        kind, endpoint = classify(request.path)
        entry = by_kind.setdefault(kind, {"reads": 0, "writes": 0, "endpoints": Counter()})
        entry["reads" if request.method == "GET" else "writes"] += 1
        entry["endpoints"][f"{request.method} {endpoint}"] += 1
    return {
        "reads": sum(r.method == "GET" for r in requests),
        "writes": sum(r.method != "GET" for r in requests),
        "by_method": dict(Counter(r.method for r in requests)),
        "by_kind": {k: v | {"endpoints": dict(v["endpoints"])} for k, v in by_kind.items()},
    }


def classify(path: str) -> tuple[str, str]:
    for kind, template, pattern in ENDPOINT_PATTERNS:
        if pattern.match(path):
            return kind, template
    return "other", path


def fake_problems(fake: FakeGrafana) -> list[Result]:
    """What real Grafana would have refused, or the fake could not answer (bodies left out)."""
    found = [
        {"problem": "spec violation"}
        | {k: v for k, v in violation.items() if k in ("method", "path", "operation", "errors")}
        for violation in fake.spec_violations
    ]
    found += [
        {"problem": "unknown request", "method": m, "path": p} for m, p in fake.unknown_requests
    ]
    found += [{"problem": "fake internal error", "detail": e} for e in fake.internal_errors]
    return found


def machine() -> Result:
    with open("/proc/cpuinfo") as f:
        models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    return {
        "cpu": models[0] if models else platform.machine(),
        "cores": len(models),
        "python": platform.python_version(),
    }


# -- targets ------------------------------------------------------------------------------


def targets(stacks: list[Result], problems: list[Result]) -> list[Result]:
    empty = [s["phases"]["empty apply"] for s in stacks]
    noop = [s["phases"]["no-op apply"] for s in stacks]
    over = sorted(
        {
            f"{kind} {ratio(e['reads'], e['resources']):.2f}"
            for phase in noop
            for kind, e in phase["by_kind"].items()
            if e["reads"] > MAX_NOOP_READS_PER_RESOURCE * e["resources"]
        }
    )
    averages = [ratio(p["reads"], s["resources"]) for p, s in zip(noop, stacks, strict=True)]
    noop_reads = [f"{p['reads']}/{s['resources']}" for p, s in zip(noop, stacks, strict=True)]
    checks = [
        target(
            "empty apply: one write per resource created (every kind, every stack)",
            ", ".join(f"{p['writes']}/{p['actions'].get(CREATE, 0)}" for p in empty),
            all(
                p["actions"] == {CREATE: s["resources"]}
                and all(e["writes"] == e["changed"] for e in p["by_kind"].values())
                for p, s in zip(empty, stacks, strict=True)
            ),
        ),
        target(
            "no-op apply: zero writes and nothing changed",
            ", ".join(f"{p['writes']} ({p['changed']} changed)" for p in noop),
            all(p["writes"] == 0 and p["changed"] == 0 for p in noop),
        ),
        target(
            f"no-op apply: <= {MAX_NOOP_READS_PER_RESOURCE:g} read per resource, on average",
            ", ".join(f"{r} = {a:.3f}" for r, a in zip(noop_reads, averages, strict=True)),
            all(a <= MAX_NOOP_READS_PER_RESOURCE for a in averages),
        ),
        target(
            f"no-op apply: <= {MAX_NOOP_READS_PER_RESOURCE:g} read per resource, every kind",
            "over: " + ", ".join(over) if over else "none over",
            not over,
        ),
    ]
    smallest, largest = stacks[0]["resources"], stacks[-1]["resources"]
    for phase in PHASES:
        for what, unit, cost in (
            # Not wall time: it includes the fake's own work, which grows with its state.
            ("tool ms (wall - fake handling)", "ms", lambda p: p["median_tool_ms"]),
            ("requests", "", lambda p: p["reads"] + p["writes"]),
        ):
            per = [ratio(cost(s["phases"][phase]), s["resources"]) for s in stacks]
            spread = max(per) / min(per)
            checks.append(
                target(
                    f"{phase}: {what} per resource within {MAX_LINEARITY_RATIO:g}x, "
                    f"{smallest} to {largest} resources",
                    ", ".join(f"{v:.3g}{unit}" for v in per) + f" ({spread:.2f}x)",
                    spread <= MAX_LINEARITY_RATIO,
                )
            )
    checks.append(
        target(
            "fake: no body refused by Grafana's OpenAPI spec, no unknown request, no error",
            f"{len(problems)} problems",
            not problems,
        )
    )
    return checks


def target(name: str, value: str, passed: bool) -> Result:
    return {"target": name, "value": value, "passed": passed}


def ratio(count: float, per: int) -> float:
    return count / per if per else float("nan")


# -- report -------------------------------------------------------------------------------


def report(results: Result) -> str:
    """The printed tables."""
    m, stacks = results["machine"], results["stacks"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}.",
        "Fake Grafana 11.4 (tests/fake_grafana.py) in this process; wall time = tool + fake, "
        f"median of {results['repeats']} fresh fakes after 1 warm-up round.",
        "",
        "STACKS",
        *(
            f"  {s['stack']}: {s['resources']} resources ({s['dashboards']} dashboards, "
            f"{s['rule_groups']} rule groups with {s['rules']} rules, and "
            f"{s['resources'] - s['dashboards'] - s['rule_groups']} others)"
            for s in stacks
        ),
        "",
        "REQUESTS (as the fake received them; client = GrafanaClient's own counters)",
        requests_table(stacks),
        "",
        "TIME (median ms; fake = the fake's handling of the requests, in this process; "
        "tool = wall - fake)",
        time_table(stacks),
        "",
        "PER KIND (per resource of the kind; a/b/c = default/mid/large when they differ)",
        kinds_table(stacks),
        "",
        *extra_requests(stacks),
        "",
        "TARGETS",
        targets_table(results["targets"]),
        "",
        f"Results written to {RESULTS.relative_to(ROOT)}.",
    ]
    if results["fake_problems"]:
        lines += ["", "FAKE PROBLEMS", *(f"  {json.dumps(p)}" for p in results["fake_problems"])]
    return "\n".join(lines)


def requests_table(stacks: list[Result]) -> str:
    rows = [
        ("stack", "resources", "phase", "changed", "reads", "writes", "by method", "client r/w",
         "reads/resource", "writes/changed")
    ]  # fmt: skip
    for s in stacks:
        for phase in PHASES:
            p = s["phases"][phase]
            methods = " ".join(f"{k} {v}" for k, v in sorted(p["by_method"].items()))
            per_change = f"{p['writes'] / p['changed']:.2f}" if p["changed"] else "-"
            rows.append(
                (
                    s["stack"],
                    str(s["resources"]),
                    phase,
                    str(p["changed"]),
                    str(p["reads"]),
                    str(p["writes"]),
                    methods,
                    f"{p['client']['reads']}/{p['client']['writes']}",
                    f"{p['reads'] / s['resources']:.3f}",
                    per_change,
                )
            )
    return table(rows)


def time_table(stacks: list[Result]) -> str:
    rows = [
        ("stack", "resources", "phase", "wall ms", "wall ms/resource", "fake ms", "tool ms",
         "tool ms/resource")
    ]  # fmt: skip
    for s in stacks:
        n = s["resources"]
        for phase in PHASES:
            p = s["phases"][phase]
            rows.append(
                (
                    s["stack"],
                    str(n),
                    phase,
                    f"{p['median_ms']:.1f}",
                    f"{p['median_ms'] / n:.2f}",
                    f"{p['median_fake_ms']:.1f}",
                    f"{p['median_tool_ms']:.1f}",
                    f"{p['median_tool_ms'] / n:.2f}",
                )
            )
    return table(rows)


def kinds_table(stacks: list[Result]) -> str:
    rows = [
        ("kind", "resources", "empty: reads", "empty: writes", "no-op: reads", "no-op: writes",
         "plan: reads", "plan: writes", "empty: fake ms")
    ]  # fmt: skip
    for kind in stacks[0]["kinds"]:
        cells = [same_or_all([str(s["kinds"][kind]) for s in stacks])]
        for phase in PHASES:
            for key in ("reads", "writes"):
                cells.append(
                    same_or_all(
                        [
                            f"{ratio(kind_entry(s, phase, kind)[key], s['kinds'][kind]):.2f}"
                            for s in stacks
                        ]
                    )
                )
        fake_ms = [
            s["phases"]["empty apply"]["median_fake_ms_by_kind"].get(kind, 0.0) / s["kinds"][kind]
            for s in stacks
        ]
        rows.append((kind, *cells, "/".join(f"{ms:.2f}" for ms in fake_ms)))
    return table(rows)


def extra_requests(stacks: list[Result]) -> list[str]:
    """Where a kind needs more than one read per resource, or more writes than changes."""
    lines = ["MORE THAN ONE READ PER RESOURCE, OR MORE WRITES THAN CHANGES (calls per resource)"]
    seen = set()
    for s in stacks:
        for phase in PHASES:
            for kind, e in s["phases"][phase]["by_kind"].items():
                if e["reads"] <= e["resources"] and e["writes"] <= e["changed"]:
                    continue
                calls = ", ".join(
                    f"{endpoint} x{per_resource(count, e['resources'])}"
                    for endpoint, count in e["endpoints"].items()
                )
                line = f"  {phase}, {kind}: {calls}"
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
    return lines if seen else [*lines, "  none"]


def per_resource(count: int, resources: int) -> str:
    return f"{count / resources:g}" if resources else f"{count} (no managed resource)"


def kind_entry(stack: Result, phase: str, kind: str) -> Result:
    return stack["phases"][phase]["by_kind"].get(kind, {"reads": 0, "writes": 0})


def same_or_all(values: list[str]) -> str:
    return values[0] if len(set(values)) == 1 else "/".join(values)


if __name__ == "__main__":
    main()
