"""provision.py run as a user runs it, against the fake Grafana: shared by the provisioning
tests. No secret is ever printed, and no run shows a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

from conftest import ROOT
from fake_grafana import DEFAULT_TOKEN, NOTIFICATIONS_GROUP, FakeGrafana

TOKEN = "123456:fake-test-token"
NEW_TOKEN = "654321:another-fake-test-token"
CHAT_ID = "-1001234567890"


def telegram(fake: FakeGrafana) -> list[dict]:
    """The integrations of our contact point ("Telegram") in the fake's state."""
    return [cp for cp in fake.state.contact_points.values() if cp["name"] == "Telegram"]


def notifications_app(fake: FakeGrafana) -> str | None:
    """Where provision.py writes contact points, templates, mute timings and the policy tree
    on the fake's profile: notifications.alerting.grafana.app in org 1's namespace (Grafana
    13), or None (the provisioning API). There a contact point is one object (one receiver, all
    its integrations) that the plan names by its name."""
    if fake.profile.serves(NOTIFICATIONS_GROUP, "v1beta1"):
        return f"/apis/{NOTIFICATIONS_GROUP}/v1beta1/namespaces/default"
    return None


def copy_definitions(target: Path) -> Path:
    """The repository's dashboards/ and alerting/ copied into ``target`` (for --definitions),
    where a test adds or edits modules."""
    for package in ("dashboards", "alerting"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / package, target / package, ignore=ignore)
    return target


# A definitions module: a folder and a rule of one uid, the rule with one more setting (a
# keyword argument as written), and a route for its team to the bundled contact point.
RULE_MODULE = Template("""
from provisioning.model import Folder, Query, Reduce, Route, Rule, RuleGroup, Threshold


def define(values):
    source = values.section("prometheus").text("datasource_uid")
    rule = Rule(
        uid="$uid",
        title="$title",
        steps={
            "up_query": Query("up", source),
            "up": Reduce("up_query"),
            "down": Threshold("up", "<", 1),
        },
        labels={"team": "$uid"},
        $setting,
    )
    folder = Folder("$uid", "$title")
    route = Route(receiver="Telegram", matchers={"team": "$uid"})
    return [folder, route, RuleGroup(folder=folder, name="g", interval="1m", rules=[rule])]
""")


def with_rule(tmp_path: Path, uid: str, setting: str) -> dict[str, str]:
    """The repository's definitions and a module of RULE_MODULE's rule ``uid`` with
    ``setting``, as the environment that points provision.py at them."""
    root = copy_definitions(tmp_path)
    module = RULE_MODULE.substitute(uid=uid, title=uid.title(), setting=setting)
    (root / "alerting" / f"{uid}.py").write_text(module)
    return {"PROVISION_DEFINITIONS": str(root)}


def provision(
    fake: FakeGrafana | None, *args: str, telegram_env: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run provision.py; ``telegram_env=False``: with no TELEGRAM_* variable set."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PROVISION__", "GRAFANA_", "TELEGRAM_", "PROMETHEUS_", "PREVIEW_"))
    }
    if telegram_env:
        environ |= {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID}
    if fake is not None:
        environ |= {"GRAFANA_URL": fake.url, "GRAFANA_TOKEN": DEFAULT_TOKEN}
    environ |= env
    run = subprocess.run(
        [sys.executable, str(ROOT / "provision.py"), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for secret in (TOKEN, NEW_TOKEN, DEFAULT_TOKEN):  # never printed, whatever happens
        assert secret not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run


def applied(fake: FakeGrafana, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    run = provision(fake, "apply", *args, **env)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def plan(fake: FakeGrafana, *args: str, **env: str) -> tuple[int, dict]:
    run = provision(fake, "plan", "--output", "json", *args, **env)
    assert run.returncode in (0, 2), run.stderr
    return run.returncode, json.loads(run.stdout)


def error_line(run: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed run prints on stderr (besides what Grafana said about deprecated
    endpoints, shown once each)."""
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    [line] = [line for line in lines if not line.startswith("Grafana deprecates ")]
    assert line.startswith("Error: ")
    return line
