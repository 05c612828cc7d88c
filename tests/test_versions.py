"""Which Grafana answers and which API each kind goes through: plan's header on each profile,
a Grafana too old refused in one line, deprecation notices shown once per run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import JsonHandler, serving
from fake_grafana import DEFAULT_TOKEN, FakeGrafana
from provision_cli import applied, error_line, provision, with_rule
from provisioning.client import GrafanaClient

LEGACY = {
    "data source": "/api/datasources",
    "folder": "/api/folders",
    "dashboard": "/api/dashboards",
    "notification template": "/api/v1/provisioning",
    "mute timing": "/api/v1/provisioning",
    "contact point": "/api/v1/provisioning",
    "notification policy": "/api/v1/provisioning",
    "rule group": "/api/v1/provisioning",
}
# Grafana 13: the README's table of supported versions.
THIRTEEN = LEGACY | {
    "folder": "folder.grafana.app/v1",
    **dict.fromkeys(
        ("notification template", "mute timing", "contact point", "notification policy"),
        "notifications.alerting.grafana.app/v1beta1",
    ),
}
EXPECTED = {"11.6": ("11.6.13", LEGACY), "12.4": ("12.4.3", LEGACY), "13.2": ("13.2.1", THIRTEEN)}


def test_plan_says_which_grafana_and_which_api_each_kind_goes_through(fake: FakeGrafana) -> None:
    version, apis = EXPECTED[fake.version]
    run = provision(fake, "plan")
    assert run.returncode == 2, run.stderr
    header = run.stdout.splitlines()[: len(apis) + 1]
    assert header[0] == f"Grafana {version}, stack drift, org 1:"
    assert dict(line.strip().split(": ", 1) for line in header[1:]) == apis
    document = json.loads(provision(fake, "plan", "--output", "json").stdout)
    assert document["grafana"] == {"version": version, "apis": apis}


@pytest.mark.parametrize("version", ["10.4.2", "9.5.21"])
def test_a_grafana_older_than_11_is_one_line(version: str) -> None:
    class OldGrafana(JsonHandler):
        def do_GET(self) -> None:
            body = {"database": "ok", "version": version, "commit": "abc"}
            self.reply(200, json.dumps(body).encode())

    with serving(OldGrafana) as url:
        run = provision(None, "plan", GRAFANA_URL=url, GRAFANA_TOKEN=DEFAULT_TOKEN)
    assert error_line(run) == (
        f"Error: Grafana {version} at {url} is too old: this toolkit supports 11.6, 12.4 and 13.x"
    )


@pytest.mark.fake_versions("13.2")
def test_each_deprecation_notice_is_shown_once_per_run(fake: FakeGrafana) -> None:
    run = applied(fake)
    notices = [line for line in run.stderr.splitlines() if line.startswith("Grafana deprecates")]
    # Rule groups stay on their deprecated API (the replacement is v0alpha1): Grafana says so
    # on each of several requests, and the run says it once per distinct notice.
    assert notices and len(notices) == len(set(n.split(": ", 1)[1] for n in notices))
    assert all("/api/v1/provisioning/" in notice for notice in notices)
    rule_requests = [
        r for r in fake.requests if "/alert-rules" in r.path or "/rule-groups" in r.path
    ]
    assert len(rule_requests) > len(notices)


def test_every_x_api_header_is_a_deprecation_notice() -> None:
    """Grafana's deprecation middleware may grow headers (a sunset date): every X-API-* one
    is kept with the Warning, other headers are not."""

    class Deprecating(JsonHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for name, value in (
                ("X-Api-Sunset", "2027-04-01"),
                ("Warning", '299 - "Deprecated API"'),
                ("X-Request-Id", "r1"),
                ("X-API-Replacement", "/apis/new"),
            ):
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Deprecating) as url:
        client = GrafanaClient(url)
        client.get("/api/old")
        client.get("/api/old")
    said = 'Warning: 299 - "Deprecated API"; X-API-Replacement: /apis/new; X-Api-Sunset: 2027-04-01'
    assert client.deprecations == {said: "GET /api/old"}


def test_keep_firing_for_is_refused_where_grafana_would_drop_it(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    where = with_rule(tmp_path, "lasting", 'keep_firing_for="5m"')
    if fake.version == "11.6":  # ProvisionedAlertRule has no keep_firing_for before 12.0
        assert error_line(provision(fake, "plan", **where)) == (
            "Error: rule lasting: keep_firing_for needs Grafana 12.0 or later; this Grafana "
            "(11.6) would drop it"
        )
        assert not fake.state.rule_groups
        return
    applied(fake, **where)
    [rule] = fake.state.rule_groups["lasting", "g"]["rules"]
    assert rule["keep_firing_for"] == "5m"
    assert provision(fake, "plan", **where).returncode == 0  # no perpetual difference
