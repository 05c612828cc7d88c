"""Mistakes in a definition that Grafana refuses (or that never settle) stop `validate`, and so
`apply`, in one line before anything is written; each was let through before, and `apply`
then failed halfway. The allowed values come from Grafana's source (cited in the model)."""

from __future__ import annotations

from pathlib import Path
from subprocess import CompletedProcess

import pytest

from fake_grafana import FakeGrafana
from provision_cli import applied, copy_definitions, error_line, provision
from provisioning.model import Threshold
from provisioning.model.rules import step_json
from provisioning.pull import rules as pull_rules

# A team's module, valid as it is; each case below changes one thing in it.
TEAM = """
from dashboards.drift import datasource
from provisioning.model import (
    ContactPoint, Dashboard, Email, Env, Folder, Math, Matcher, MuteTiming, Other, Query, Reduce,
    Route, Rule, RuleGroup, Slack, Threshold, TimeInterval,
)

FOLDER = Folder("team-c", "Team C")
SLACK = ContactPoint("Team C Slack", [Slack(url=Env("TEAM_C_SLACK_URL"))])
NIGHTS = MuteTiming("team-c-nights", [TimeInterval(times=[("22:00", "24:00")])])


def rule(uid, source, title=None):
    return Rule(
        uid=uid,
        title=title or f"Team C: {uid}",
        steps={
            "share_query": Query("drift_feature_missing_share", source),
            "share": Reduce("share_query", reducer="last"),
            "scaled": Math("$share * 100"),
            "too_many": Threshold("scaled", ">", 20),
        },
        labels={"team": "c"},
        no_data="OK",
    )


def define(values):
    source = datasource(values)
    route = Route(receiver=SLACK, matchers=[Matcher("team", "=", "c")], group_wait="30s",
                  mute_timings=[NIGHTS])
    return [
        FOLDER, SLACK, NIGHTS, route,
        RuleGroup(folder=FOLDER, name="team-c", rules=[rule("team-c-missing", source)]),
    ]
"""


def validate(tmp_path: Path, old: str = "", new: str = "") -> CompletedProcess[str]:
    """`validate` of the definitions with the team's module, ``old`` replaced by ``new``."""
    root = copy_definitions(tmp_path / f"run{len(list(tmp_path.iterdir()))}")
    assert old in TEAM
    (root / "alerting" / "team_c.py").write_text(TEAM.replace(old, new))
    return provision(None, "validate", PROVISION_DEFINITIONS=str(root))


def test_the_team_module_is_valid_as_written(tmp_path: Path) -> None:
    run = validate(tmp_path)
    assert run.returncode == 0, run.stderr
    assert "alerting.team_c" in run.stdout


# A model object refuses its arguments when it is built: one line, the file and line first.
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('Threshold("scaled", ">", 20)', 'Threshold("scaled", "=>", 20)',
         "Threshold('scaled') operator: '=>' is none of '>', '<'"),
        ('Math("$share * 100")', "Math(42)", "Math: expected an expression"),
        ('Matcher("team", "=", "c")', '("team", "=", "c")',
         "matchers: expected a Matcher(label, op, value), got ('team', '=', 'c')"),
        ('Matcher("team", "=", "c")', 'Matcher("team", "==", "c")',
         "Matcher('team') operator: '==' is none of '=', '!=', '=~', '!~'"),
        ('Matcher("team", "=", "c")', 'Matcher("team", "=~", "(c")', "'(c' is no regex"),
        ('reducer="last"', 'reducer="avg"', "reducer: 'avg' is none of 'last', 'mean'"),
        ('no_data="OK"', 'no_data="Ok"', "no_data: 'Ok' is none of 'NoData', 'Alerting', 'OK'"),
        ('Slack(url=Env("TEAM_C_SLACK_URL"))', 'Slack(recipient="#c")',
         "Slack: give url (an incoming webhook), or token and recipient"),
        # A str would be written one address per character: "t;e;a;m;@;...".
        ('Slack(url=Env("TEAM_C_SLACK_URL"))', 'Email(addresses="team@x.com")',
         """Email addresses: expected a list such as ["a@x.com"], got 'team@x.com'"""),
    ],
)  # fmt: skip
def test_a_model_object_refuses_a_wrong_argument_in_one_line_naming_where(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    line = error_line(validate(tmp_path, old, new))
    assert line.startswith("Error: alerting/team_c.py:"), line
    assert message in line


def test_a_dashboard_without_a_title_is_refused(tmp_path: Path) -> None:
    old = "FOLDER, SLACK,"
    new = 'FOLDER, Dashboard({"uid": "team-c-board", "panels": []}, FOLDER), SLACK,'
    run = validate(tmp_path, old, new)
    assert "dashboard team-c-board: its JSON needs a title" in error_line(run)


def problem_lines(run: CompletedProcess[str]) -> list[str]:
    assert run.returncode == 1, run.stdout + run.stderr
    assert "valid:" not in run.stdout
    return [line for line in run.stderr.splitlines() if line.startswith("problem: ")]


# What only the definitions together show: validate names each problem and exits 1.
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('group_wait="30s"', 'group_wait="5 minutes"',
         "group_wait: '5 minutes' is not a duration such as 10s"),
        ("mute_timings=[NIGHTS]", 'mute_timings=["team-c-nights"]',
         "mute timing 'team-c-nights' is defined here: give the MuteTiming itself"),
        ('rules=[rule("team-c-missing", source)]),',
         'rules=[rule("team-c-missing", source)]),\n'
         '        RuleGroup(folder=FOLDER, name="team-c-2",'
         ' rules=[rule("team-c-missing", source, "Team C: again")]),',
         "rule team-c-missing: its uid repeats"),
        # Grafana's limits (pkg/services/ngalert/store/alert_rule.go, 190 bytes; empty names:
        # api/validation/api_ruler_validation.go) and dashboards.ErrFolderTitleEmpty.
        ('title or f"Team C: {uid}"', '"T" * 191',
         "rule team-c-missing: its title has 191 bytes; Grafana takes 190 at most"),
        ('title or f"Team C: {uid}"', '"é" * 96', "rule team-c-missing: its title has 192 bytes"),
        ('title or f"Team C: {uid}"', '""', "rule team-c-missing: its title is empty"),
        ('name="team-c", rules', 'name="", rules', "a rule group in team-c: its name is empty"),
        ('name="team-c", rules', 'name="g" * 191, rules', "its name has 191 bytes"),
        ('Folder("team-c", "Team C")', 'Folder("team-c", " ")',
         "folder team-c: its title is blank"),
        # dashboards.RootFolderName: "General", in any case, is the root folder's title
        # (ErrDashboardFolderNameExists before 13, folder.ErrNameExists in 13).
        # models/alert_rule.go LabelsUserCannotSpecify: simplified routing's labels.
        ('labels={"team": "c"}', 'labels={"team": "c", "__grafana_receiver__": "Team C Slack"}',
         "rule team-c-missing: the label __grafana_receiver__ is reserved by Grafana"),
        ('Folder("team-c", "Team C")', 'Folder("team-c", " general")',
         "folder team-c: its title ' general': Grafana reserves it for the root folder"),
        # Grafana keeps a rule title once per folder, whatever the group
        # (ErrAlertRuleUniqueConstraintViolation).
        ('rules=[rule("team-c-missing", source)]),',
         'rules=[rule("team-c-missing", source)]),\n'
         '        RuleGroup(folder=FOLDER, name="team-c-2",'
         ' rules=[rule("team-c-other", source, "Team C: team-c-missing")]),',
         "folder team-c: rule title 'Team C: team-c-missing' repeats (team-c-missing in group "
         "team-c, team-c-other in group team-c-2)"),
    ],
)  # fmt: skip
def test_validate_refuses_what_grafana_refuses_or_what_never_settles(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    [line] = problem_lines(validate(tmp_path, old, new))
    assert message in line


# Grafana's uid rule (pkg/util/shortid_generator.go ValidateUID) is Go's ^[a-zA-Z0-9\-\_]*$,
# where $ ends the text: a uid with a trailing newline is refused, as dashboards.drift refuses it.
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('Folder("team-c", "Team C")', 'Folder("team-c\\n", "Team C")',
         "folder 'team-c\\n': a uid has 1-40 letters, digits, '-' or '_'"),
        ('rule("team-c-missing", source)', 'rule("team-c-missing\\n", source, "Team C")',
         "rule 'team-c-missing\\n': a uid has 1-40 letters, digits, '-' or '_'"),
        ("FOLDER, SLACK,",
         'FOLDER, Dashboard({"uid": "team-c-board\\n", "title": "Team C"}, FOLDER), SLACK,',
         "dashboard 'team-c-board\\n': a uid has 1-40 letters, digits, '-' or '_'"),
    ],
)  # fmt: skip
def test_a_uid_with_a_trailing_newline_is_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    [line] = problem_lines(validate(tmp_path, old, new))
    assert message in line


# Alertmanager's time of day (timeinterval.go validTime, "^(([01][0-9])|(2[0-3])):[0-5][0-9]$"
# or 24:00) in Go: $ ends the text and [0-9] is ASCII. A chat id is a whole number or @name.
@pytest.mark.parametrize("start", ["22:00\n", "1\u0669:00"])  # a newline; an Arabic-Indic 9
def test_a_mute_timing_time_is_hh_mm_in_ascii_and_nothing_after(tmp_path: Path, start: str) -> None:
    run = validate(tmp_path, '("22:00", "24:00")', f"({start!r}, '24:00')")
    assert run.returncode == 1
    assert f"problem: mute timing team-c-nights: times {start}-24:00: HH:MM" in run.stderr


def test_a_chat_id_with_a_trailing_newline_is_refused() -> None:
    run = provision(None, "validate", TELEGRAM_CHAT_ID="-1001234567890\n")
    assert "chat id '-1001234567890\\n' is not a whole number or @channel" in run.stderr


def test_a_mute_timing_only_grafana_has_is_a_warning_offline(tmp_path: Path) -> None:
    run = validate(tmp_path, "mute_timings=[NIGHTS]", 'mute_timings=["nights"]')
    assert run.returncode == 0, run.stderr
    assert "mute timing 'nights' is not defined here; it must exist in Grafana" in run.stderr


def test_a_rule_uid_may_repeat_nowhere_in_the_definitions(tmp_path: Path) -> None:
    """The bundled drift rule's uid, taken again by the team's rule."""
    run = validate(tmp_path, 'rule("team-c-missing", source)', 'rule("drift-p-value", source)')
    assert "rule drift-p-value: its uid repeats" in "\n".join(problem_lines(run))


def test_the_inclusive_ranges_are_written_as_grafanas_evaluators(tmp_path: Path) -> None:
    for operator, evaluator in (("within_included", "within_range_included"),
                                ("outside_included", "outside_range_included")):  # fmt: skip
        threshold = Threshold("x", operator, (1.0, 2.0))  # type: ignore[arg-type]
        conditions = [{"evaluator": {"type": evaluator, "params": [1.0, 2.0]}}]
        assert threshold.model()["conditions"] == conditions
        assert pull_rules.step(step_json("t", threshold)) == threshold  # pulled back as written
    new = 'Threshold("scaled", "within_included", (0, 20))'
    run = validate(tmp_path, 'Threshold("scaled", ">", 20)', new)
    assert run.returncode == 0, run.stderr
    run = validate(tmp_path, 'Threshold("scaled", ">", 20)', 'Threshold("scaled", "within", 5)')
    assert "within takes (low, high)" in "\n".join(problem_lines(run))


# The provisioning API answers "[REDACTED]"; the app platform (13) moves it to secureFields.
def test_a_setting_grafana_keeps_secret_given_in_plain_stops_plan_and_is_never_shown(
    fake: FakeGrafana, tmp_path: Path
) -> None:
    plain = 'Other(integration_type="pagerduty", values={"integrationKey": "plainkey-123"})'
    root = copy_definitions(tmp_path)
    team = TEAM.replace('Slack(url=Env("TEAM_C_SLACK_URL"))', plain)
    (root / "alerting" / "team_c.py").write_text(team)
    applied(fake, PROVISION_DEFINITIONS=str(root))  # written once, as Grafana took it
    run = provision(fake, "plan", PROVISION_DEFINITIONS=str(root))
    assert "plainkey-123" not in run.stdout + run.stderr
    assert "Grafana keeps integrationKey secret: name it in secret_fields" in error_line(run)
