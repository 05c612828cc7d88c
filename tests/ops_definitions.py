"""A second team's definitions, added to a copy of the repository's (tests/test_export.py and
tests/test_prometheus_native.py): with them every kind has several objects. Dollars sit where
Grafana expands environment variables (titles, labels, settings) and where it does not
(annotations)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT

SLACK_URL = "https://hooks.slack.example/services/T0/B0/slack-secret-path"
HOOK_PASSWORD = "hook-secret-password"
SECRETS = {"OPS_SLACK_URL": SLACK_URL, "OPS_HOOK_PASSWORD": HOOK_PASSWORD}

MODULE = """
from provisioning.model import (
    ContactPoint, Dashboard, Env, Folder, MuteTiming, Query, Reduce, Route, Rule, RuleGroup,
    Slack, Threshold, TimeInterval, Webhook,
)

OPS = Folder("ops", "Operations $team")


def define(values):
    source = values.section("prometheus").text("datasource_uid")
    board = Dashboard({"uid": "ops-board", "title": "Ops", "panels": []}, OPS)
    nights = MuteTiming("nights", [TimeInterval(times=[("22:00", "24:00")])])
    slack = ContactPoint(
        "Ops Slack",
        [Slack(url=Env("OPS_SLACK_URL"), text='{{ template "slack.default.text" . }} costs $5')],
    )
    hook = ContactPoint(
        "Ops hook",
        [Webhook(url="http://hooks.example/alert", username="ops",
                 password=Env("OPS_HOOK_PASSWORD"))],
    )
    rule = Rule(
        uid="ops-queue-depth",
        title="Queue depth $high",
        steps={
            "depth_query": Query("queue_depth", source),
            "depth": Reduce("depth_query"),
            "deep": Threshold("depth", ">", 100),
        },
        labels={"team": "ops", "cost": "$5"},
        annotations={"summary": "Queue {{ $labels.queue }} holds {{ $values.depth.Value }}"},
        pending="1m",
        no_data="OK",
    )
    return [
        OPS, board, nights, slack, hook,
        Route(receiver=slack, matchers={"team": "ops"}, mute_timings=[nights],
              continue_matching=True),
        Route(
            receiver=hook,
            matchers={"team": "ops"},
            routes=[Route(receiver="Telegram", matchers={"severity": "page"})],
        ),
        RuleGroup(folder=OPS, name="ops", interval="1m", rules=[rule]),
    ]
"""


def definitions_with_ops(directory: Path, module: str = MODULE) -> Path:
    """A copy of the repository's definitions in ``directory``, with ``module`` added as
    alerting/ops.py."""
    for package in ("dashboards", "alerting"):
        shutil.copytree(
            ROOT / package, directory / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    (directory / "alerting" / "ops.py").write_text(module)
    return directory
