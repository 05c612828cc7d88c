"""`provision.py plan --output markdown`: the plan as a pull-request comment; and what every
output says of a plan that apply would refuse."""

from __future__ import annotations

import re

from course_state import CONTACT_POINT, seed_course_state
from fake_grafana import FakeGrafana
from provision_cli import NEW_TOKEN, TOKEN, applied, plan, provision


def test_a_first_plan_is_a_table_of_creates_per_kind(fake: FakeGrafana) -> None:
    run = provision(fake, "plan", "--output", "markdown")
    assert run.returncode == 2, run.stderr  # changes: the exit code of every plan
    lines = run.stdout.splitlines()
    assert lines[0].startswith("### Grafana plan: stack `drift`, Grafana ")
    rows = {
        cells[0]: cells[1:]
        for line in lines
        if line.startswith("| ") and not line.startswith("| kind")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert rows["dashboard"] == ["1", "0", "0", "0"]
    assert rows["rule group"] == ["1", "0", "0", "0"]
    assert "**Plan: 7 to create, 0 to update, 0 to delete, 0 unchanged.**" in lines


def test_a_long_diff_is_folded_and_no_secret_is_shown(fake: FakeGrafana) -> None:
    applied(fake)
    board = dict(fake.state.dashboards["data-drift"]["dashboard"])
    fake.ui_save_dashboard("data-drift", {**board, "panels": board["panels"][:1]})  # a long diff
    run = provision(fake, "plan", "--output", "markdown", TELEGRAM_BOT_TOKEN=NEW_TOKEN)
    assert run.returncode == 2, run.stderr
    text = run.stdout
    assert "`~` update **dashboard data-drift**" in text
    folded = re.search(r"<details><summary>(\d+) lines of diff</summary>\n\n```diff\n", text)
    assert folded and int(folded.group(1)) > 20
    assert text.count("<details>") == text.count("</details>") == 1
    for secret in (TOKEN, NEW_TOKEN):  # the rotated token shows as a change, never its value
        assert secret not in text
    assert re.search(r"`[+~]` (create|update) \*\*contact point Telegram", text)


def test_nothing_to_change_is_said_and_exits_zero(fake: FakeGrafana) -> None:
    applied(fake)
    run = provision(fake, "plan", "--output", "markdown")
    assert run.returncode == 0, run.stderr
    assert "**Plan: 0 to create, 0 to update, 0 to delete, 7 unchanged.**" in run.stdout
    assert "```" not in run.stdout


def test_every_output_says_why_apply_would_stop(fake: FakeGrafana) -> None:
    """A hand-made contact point holds our contact point's name: text, markdown and JSON
    (``stops``, a list: empty when apply goes ahead) give the same reason."""
    _, document = plan(fake)
    assert document["stops"] == []
    seed_course_state(fake)
    _, document = plan(fake)
    [reason] = document["stops"]
    assert f"contact point {CONTACT_POINT}" in reason
    assert f"its name '{CONTACT_POINT}' is taken" in reason
    text = provision(fake, "plan").stdout.splitlines()
    assert f"Apply stops, nothing written: {reason}" in text
    markdown = provision(fake, "plan", "--output", "markdown").stdout.splitlines()
    assert f"**Apply stops, nothing written:** {reason}" in markdown
