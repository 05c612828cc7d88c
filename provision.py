"""Grafana as code for the drift platform.

\b
    python provision.py validate            offline checks, as Grafana would make them
    python provision.py plan                what apply would change (exit 2 when something would)
    python provision.py apply [--wait 120]  make Grafana match the definitions
    python provision.py destroy             remove what this tool manages, nothing else
    python provision.py export DIR          the same as Grafana file-provisioning files
    python provision.py pull [FOLDER|--all] definitions for what Grafana holds that no
                                            stack owns (made by hand), to move it into code
    python provision.py test-notification [CONTACT_POINT]
                                            send a test message through a contact point
    python provision.py preview             which alerts the rules would fire now (Prometheus only)

\b
Definitions: the modules in dashboards/ and alerting/ (each defines define(values)).
Settings, each layer over the one before: grafana.yaml, environments/NAME.yaml (--env NAME or
PROVISION_ENV), --config FILE, then PROVISION__A__B (any one key). --env, --config,
--grafana-url, --org-id and --definitions go before or after the subcommand. Secrets from the
environment: GRAFANA_TOKEN or GRAFANA_USER/GRAFANA_PASSWORD, and the variables the
definitions name (TELEGRAM_BOT_TOKEN, ...), each also as NAME_FILE.

\b
Exit codes, every subcommand: 0 done; 1 a problem, said in one line (validate: each problem);
2 a usage mistake (click's), or plan's changes pending.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from names import PROMETHEUS_PORT
from provisioning import ownership
from provisioning.changes import ADOPT, CANDIDATE, KEEP, NO_WRITE, REPLACE, UNCHANGED, Change
from provisioning.client import GrafanaClient
from provisioning.discover import DEFAULT_ROOT, Discovered, discover
from provisioning.errors import ProvisioningError
from provisioning.export import export
from provisioning.kinds import ContactPoints, Kind, RuleGroups, Stack, kinds_for, unresolved
from provisioning.model import Definition, RuleGroup
from provisioning.notify import send_test_notification
from provisioning.plan import (
    apply,
    as_json,
    make_plan,
    markdown,
    render,
    stop_reasons,
    tested,
)
from provisioning.preview import Instance, PrometheusUnreachable, preview
from provisioning.prometheus_native import TELEGRAM_API_URL, export_prometheus
from provisioning.pull import pull
from provisioning.server import Server, read_server
from provisioning.settings import (
    DEFAULT_FILE,
    ENVIRONMENTS,
    Credentials,
    Settings,
    load_credentials,
    load_settings,
)
from provisioning.validate import validate

T = TypeVar("T")
# The preview runs where the user is (the host), not where Grafana is.
PREVIEW_PROMETHEUS_URL = f"http://localhost:{PROMETHEUS_PORT}"
PREVIEW_PROMETHEUS_URL_ENV = "PREVIEW_PROMETHEUS_URL"
# Read by with_settings, not by click: an explicit option before the subcommand must win over them.
ENVIRONMENT_VARIABLE = "PROVISION_ENV"
DEFINITIONS_VARIABLE = "PROVISION_DEFINITIONS"
OUTPUT = click.option("--output", type=click.Choice(["text", "json"]), default="text")
# Each accepted before the subcommand and after it (after wins): see with_settings.
SETTINGS_OPTIONS = (
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"A settings file: the keys it sets override the bundled {DEFAULT_FILE.name}.",
    ),
    click.option(
        "--env",
        "environment",
        metavar="NAME",
        help=f"The target: {ENVIRONMENTS.name}/NAME.yaml merged over {DEFAULT_FILE.name} (and "
        f"under --config); default: {ENVIRONMENT_VARIABLE}, else none.",
    ),
    click.option("--grafana-url", help="Grafana's URL (overrides GRAFANA_URL and the file)."),
    click.option(
        "--org-id", type=click.IntRange(min=1), help="The Grafana organisation to provision."
    ),
    click.option(
        "--definitions",
        "definitions_root",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="The folder holding the dashboards/ and alerting/ definitions (default: "
        f"{DEFINITIONS_VARIABLE}, else the one of provision.py).",
    ),
)


@dataclass(frozen=True)
class Connection:
    """A Grafana that answered, what it is, and the kinds through the APIs it serves."""

    client: GrafanaClient
    server: Server

    def kinds(self, stack: Stack) -> list[Kind]:
        return [make(stack) for make in _guard(lambda: kinds_for(self.server, stack.own_tree))]

    def plan(
        self,
        definitions: list[Definition],
        stack: Stack,
        destroy: bool = False,
        takeover: str = "",
    ) -> list[Change]:
        kinds = self.kinds(stack)
        return make_plan(self.client, definitions, kinds, destroy=destroy, takeover=takeover)

    def apis(self, stack: Stack) -> dict[str, str]:
        """Which API each kind goes through."""
        return {kind.label: kind.api for kind in self.kinds(stack)}


@dataclass(frozen=True)
class Context:
    settings: Settings
    credentials: Credentials
    root: Path  # where the definitions are
    environment: str | None  # the overlay merged over grafana.yaml, if any

    def target(self, quote: str = "") -> str:
        """What a plan acts on: the environment (when one is chosen) and the stack, their
        names in ``quote``."""
        stack = f"stack {quote}{self.stack.name}{quote}"
        return (
            f"environment {quote}{self.environment}{quote}, {stack}" if self.environment else stack
        )

    def done(self, what: str) -> str:
        """``what`` ("Apply complete"), naming the environment when one is chosen."""
        return f"{what} (environment {self.environment})" if self.environment else what

    @functools.cached_property
    def discovered(self) -> Discovered:
        return _guard(lambda: discover(self.settings.values, self.root))

    @property
    def stack(self) -> Stack:
        grafana = self.settings.grafana
        provenance = "" if grafana.ui_editable else "api"
        return Stack(
            self.settings.stack, grafana.org_id, provenance, dict(os.environ), grafana.own_tree
        )

    def connect(self, wait: float = 0) -> Connection:
        """A Grafana that answers and is healthy (waiting up to ``wait`` s), its version and
        APIs. What it says about deprecated endpoints is shown when the command ends."""
        client = self._client()
        health = _guard(lambda: client.wait_until_healthy(wait) if wait else client.check_health())
        click.get_current_context().call_on_close(lambda: _show_deprecations(client))
        features = self.stack.own_tree  # the toggles say whether it has named trees
        return Connection(client, _guard(lambda: read_server(client, health, features)))

    def _client(self) -> GrafanaClient:
        grafana = self.settings.grafana
        return GrafanaClient(
            grafana.url,
            org_id=grafana.org_id,
            token=self.credentials.token,
            user=self.credentials.user,
            password=self.credentials.password,
            timeout=grafana.timeout_seconds,
            retries=grafana.retries,
            disable_provenance=grafana.ui_editable,
        )


def settings_options(function: Callable[..., T]) -> Callable[..., T]:
    """The settings options, the same on the group and on each subcommand."""
    for option in reversed(SETTINGS_OPTIONS):
        function = option(function)
    return function


def with_settings(command: Callable[..., None]) -> Callable[..., None]:
    """Call ``command`` with a Context made from the settings options, each taken from
    after the subcommand, else from before it."""

    @settings_options
    @functools.wraps(command)
    def wrapper(
        config_path: Path | None,
        environment: str | None,
        grafana_url: str | None,
        org_id: int | None,
        definitions_root: Path | None,
        **kwargs: Any,
    ) -> None:
        before = click.get_current_context().find_root().params
        context = _load_context(
            config_path or before["config_path"] or DEFAULT_FILE,
            environment or before["environment"] or os.environ.get(ENVIRONMENT_VARIABLE) or None,
            grafana_url or before["grafana_url"],
            org_id or before["org_id"],
            definitions_root
            or before["definitions_root"]
            or Path(os.environ.get(DEFINITIONS_VARIABLE) or DEFAULT_ROOT),
        )
        command(context, **kwargs)

    return wrapper


def _load_context(
    config_path: Path,
    environment: str | None,
    grafana_url: str | None,
    org_id: int | None,
    root: Path,
) -> Context:
    settings, credentials = _guard(
        lambda: (load_settings(config_path, environment=environment), load_credentials())
    )
    grafana = settings.grafana
    grafana = replace(grafana, url=grafana_url or grafana.url, org_id=org_id or grafana.org_id)
    return Context(replace(settings, grafana=grafana), credentials, root.resolve(), environment)


@click.group(help=__doc__)
@settings_options
def cli(**_: Any) -> None:
    """The settings options are read by each subcommand (with_settings)."""


@cli.command("validate")
@OUTPUT
@with_settings
def validate_command(context: Context, output: str) -> None:
    """Check every definition offline, with no secret; exit 1 naming each problem."""
    found = context.discovered
    report = _guard(lambda: validate(found, context.stack))
    if output == "json":
        document = {
            "valid": not report.problems,
            "definitions": len(found.definitions),
            "modules": list(found.modules),
            "problems": report.problems,
            "warnings": report.warnings,
        }
        click.echo(json.dumps(document, indent=2))
        raise SystemExit(1 if report.problems else 0)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    if report.problems:
        raise SystemExit(1)
    click.echo(f"valid: {len(found.definitions)} definitions from {', '.join(found.modules)}")


def takeover_options(command: Callable[..., None]) -> Callable[..., None]:
    """--adopt and --replace: what to do with objects made by hand that look like ours."""
    command = click.option(
        "--replace",
        is_flag=True,
        help="Write ours, then delete the hand-made objects that look like them.",
    )(command)
    return click.option(
        "--adopt",
        is_flag=True,
        help="Make the hand-made objects that look like ours the stack's, in place where "
        "Grafana allows it (README: Taking over a Grafana set up by hand).",
    )(command)


def _takeover(adopt: bool, replace: bool) -> str:
    if adopt and replace:
        raise click.UsageError("--adopt and --replace: choose one")
    return ADOPT if adopt else REPLACE if replace else ""


@cli.command("plan")
@click.option(
    "--output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    help="markdown: a pull-request comment (a table per kind, then each change's diff).",
)
@takeover_options
@with_settings
def plan_command(context: Context, output: str, adopt: bool, replace: bool) -> None:
    """Compare the definitions with live Grafana. Exit 0: no changes, 2: changes, 1: error.
    Needs no integration secret: settings it cannot compare are named."""
    takeover = _takeover(adopt, replace)
    definitions = context.discovered.definitions
    grafana = context.connect()
    changes = _guard(lambda: grafana.plan(definitions, context.stack, takeover=takeover))
    _show(changes, grafana, context, output)
    if any(c.action not in NO_WRITE for c in changes):
        raise SystemExit(2)


@cli.command("apply")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="First wait this long for Grafana's /api/health.",
)
@OUTPUT
@takeover_options
@with_settings
def apply_command(context: Context, wait: float, output: str, adopt: bool, replace: bool) -> None:
    """Make Grafana match the definitions; a second apply writes nothing."""
    takeover = _takeover(adopt, replace)
    found = context.discovered
    problems = _guard(lambda: validate(found, context.stack)).problems
    if problems:  # nothing reaches Grafana that Grafana would refuse or that routes nowhere
        raise click.ClickException("not valid: " + "; ".join(problems))
    missing = _guard(lambda: unresolved(found.definitions, context.stack))
    if missing:
        raise click.ClickException(f"not set: {', '.join(missing)}; apply needs every one")
    grafana = context.connect(wait)

    def run() -> None:
        changes = grafana.plan(found.definitions, context.stack, takeover=takeover)
        done = apply(grafana.client, changes, progress=_progress(output))
        writes = grafana.client.writes
        tests = tested(grafana.client, done)
        if output == "json":
            document = {"environment": context.environment, "applied": as_json(done)}
            results = [
                {"kind": c.kind.label, "name": c.key, "passed": t.passed, "message": t.message}
                for c, t in tests
            ]
            document |= _kept_json(changes) | {"writes": writes, "tested": results}
            click.echo(json.dumps(document, indent=2))
        else:
            unchanged = sum(c.action == UNCHANGED for c in changes)
            left = sum(c.action == CANDIDATE for c in changes)
            # Said, not silent: what was made by hand and looks like ours is still beside it.
            tail = f"; {left} made by hand look like ours (plan --adopt)" if left else ""
            click.echo(
                f"{context.done('Apply complete')}: {len(done)} changed, {unchanged} "
                f"unchanged{tail}{_kept(changes)}."
            )
        for change, test in tests:  # a failure is saved all the same, as by "Save & test"
            if test.passed and output != "json":
                click.echo(f"{change.title}: Grafana's test passed: {test.message}")
            elif not test.passed:
                outcome = (
                    "Grafana's test failed" if test.passed is False else "Grafana could not test it"
                )
                warning = f"Warning: {change.title}: {outcome}: {test.message}"
                click.echo(warning, err=True)

    _guard(run)


@cli.command("destroy")
@OUTPUT
@with_settings
def destroy_command(context: Context, output: str) -> None:
    """Remove everything the stack owns, in reverse order; nothing else."""
    grafana = context.connect()

    def run() -> None:
        changes = grafana.plan([], context.stack, destroy=True)
        done = apply(grafana.client, changes, progress=_progress(output))
        if output == "json":
            document = {"environment": context.environment, "destroyed": as_json(done)}
            click.echo(json.dumps(document | _kept_json(changes), indent=2))
        else:
            click.echo(f"{context.done('Destroy complete')}: {len(done)} removed{_kept(changes)}.")

    _guard(run)


def _kept(changes: list[Change]) -> str:
    """The summary's tail for what stays though the stack no longer names it (a folder
    holding what others made): said, and never counted as changed or removed."""
    return "".join(f"; {c.title} kept: {'; '.join(c.notes)}" for c in changes if c.action == KEEP)


def _kept_json(changes: list[Change]) -> dict[str, Any]:
    kept = [c for c in changes if c.action == KEEP]
    return {"kept": as_json(kept)} if kept else {}


@cli.command("export")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--target",
    type=click.Choice(["grafana", "prometheus"]),
    default="grafana",
    show_default=True,
    help="grafana: file-provisioning files, secrets as $ENV references. prometheus: a rule "
    "file and an Alertmanager configuration (alertmanager.yml holds the bot token: it is "
    "created readable by its owner only).",
)
@click.option(
    "--telegram-api-url", default=TELEGRAM_API_URL, show_default=True, help="For Alertmanager."
)
@with_settings
def export_command(context: Context, directory: Path, target: str, telegram_api_url: str) -> None:
    """Write the definitions as files for Grafana's file provisioning, or as the same alerts
    for Prometheus and Alertmanager."""
    definitions, stack = context.discovered.definitions, context.stack
    if target == "grafana":
        paths = _guard(lambda: export(definitions, stack, directory))
    else:
        paths = _guard(lambda: export_prometheus(definitions, stack, directory, telegram_api_url))
    for path in paths:
        click.echo(str(path))


@cli.command("pull")
@click.argument("folder", required=False)
@click.option("--all", "everything", is_flag=True, help="Pull every object no stack owns.")
@click.option("--force", is_flag=True, help="Overwrite modules pulled before.")
@OUTPUT
@with_settings
def pull_command(
    context: Context, folder: str | None, everything: bool, force: bool, output: str
) -> None:
    """Write definition modules (dashboards/pulled_*.py, alerting/pulled_*.py) for what
    Grafana holds that no stack owns: FOLDER's dashboards and rule groups (a title or uid;
    General for the dashboards in none), or --all of them with data sources, templates, mute
    timings, contact points and the routes under the policy tree's root. Grafana's uids are
    kept; secrets are never pulled: each is read from an environment variable, listed."""
    if (folder is None) == (not everything):
        raise click.UsageError("give a FOLDER or --all (not both)")
    grafana = context.connect()
    kinds = grafana.kinds(context.stack)
    pulled = _guard(lambda: pull(grafana.client, kinds, context.root, folder, force))
    if output == "json":
        click.echo(json.dumps(asdict(pulled), indent=2))
        return
    for path in pulled.written:
        click.echo(f"wrote {path}")
    for note in pulled.notes:
        click.echo(f"note: {note}")
    for name, what in pulled.environment.items():
        click.echo(f"set {name} before apply: {what}")
    if not pulled.written:
        click.echo("Nothing to pull: Grafana holds no object that no stack owns here.")


@cli.command("test-notification")
@click.argument("contact_point", required=False)
@with_settings
def test_notification_command(context: Context, contact_point: str | None) -> None:
    """Send a test message through CONTACT_POINT (needed when there are several), via
    Grafana, with the settings and secrets being provisioned."""
    integrations = _guard(
        lambda: ContactPoints(context.stack).wanted(context.discovered.definitions)
    )
    points = sorted({i.body["name"] for i in integrations})
    if contact_point is None and len(points) == 1:
        contact_point = points[0]
    if contact_point not in points:
        known = ", ".join(points) or "none is defined"
        if contact_point is None:
            raise click.ClickException(f"name the contact point to test: {known}")
        raise click.ClickException(f"no contact point {contact_point!r}; name one of: {known}")
    chosen = [i for i in integrations if i.body["name"] == contact_point]
    missing = sorted({name for i in chosen for name in i.unresolved})
    if missing:
        raise click.ClickException(f"{', '.join(missing)} not set: the test needs them")
    labels = {ownership.LABEL: context.stack.name}
    grafana, namespace = context.connect(), context.stack.namespace
    _guard(
        lambda: send_test_notification(grafana.client, grafana.server, namespace, chosen, labels)
    )
    click.echo(f"test notification sent through {contact_point}")


@cli.command("preview")
@click.option(
    "--prometheus-url",
    envvar=PREVIEW_PROMETHEUS_URL_ENV,
    show_envvar=True,
    default=PREVIEW_PROMETHEUS_URL,
    show_default=True,
    help="Prometheus as reachable from here: the default is the port the local run and "
    "Compose publish.",
)
@OUTPUT
@with_settings
def preview_command(context: Context, prometheus_url: str, output: str) -> None:
    """Evaluate each rule against live Prometheus as Grafana would, and list the alert
    instances that would fire."""
    kind = RuleGroups(context.stack)
    groups = [d for d in context.discovered.definitions if isinstance(d, RuleGroup)]

    def evaluate() -> list[Instance]:
        try:
            return [
                instance
                for group in groups
                for instance in preview(kind.render(group).body, group.folder.title, prometheus_url)
            ]
        except PrometheusUnreachable as exc:
            hint = f"--prometheus-url URL or {PREVIEW_PROMETHEUS_URL_ENV}=URL"
            raise PrometheusUnreachable(f"{exc}; point the preview at it with {hint}") from None

    instances = _guard(evaluate)
    firing = [i for i in instances if i.firing]
    if output == "json":
        click.echo(
            json.dumps({"firing": [i.as_json() for i in firing], "evaluated": len(instances)})
        )
        return
    for instance in firing:  # state, rule, labels, values, and why when not from a value
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(instance.labels.items()))
        values = ", ".join(f"{name}={value:.3g}" for name, value in instance.values.items())
        why = f"({instance.error or instance.reason})" if instance.reason else ""
        parts = [instance.state, instance.rule, f"{{{labels}}}", values, why]
        click.echo("  ".join(part for part in parts if part))
    if all(i.reason == "NoData" for i in instances):  # no series at all: not "all clear"
        click.echo(
            f"No alert instance to evaluate: Prometheus at {prometheus_url} has none of the "
            "series the rules query (is it scraping the monitor, and has a run been sent?); "
            "each rule takes its no-data state."
        )
    click.echo(f"{len(firing)} of {len(instances)} alert instances would fire.")


def _show(changes: list[Change], grafana: Connection, context: Context, output: str) -> None:
    apis = grafana.apis(context.stack)
    if output == "markdown":
        where = f"Grafana {grafana.server.version}, org {context.stack.org_id}"
        title = f"Grafana plan: {context.target('`')}, {where}"
        click.echo(markdown(changes, title), nl=False)
        return
    if output == "json":
        about = {"version": grafana.server.version, "apis": apis}
        document = {"environment": context.environment, "grafana": about}
        plan = {"changes": as_json(changes), "stops": stop_reasons(changes)}
        click.echo(json.dumps({**document, **plan}, indent=2))
        return
    where = f"{context.target()}, org {context.stack.org_id}"
    click.echo(f"Grafana {grafana.server.version}, {where}:")
    for label, api in apis.items():
        click.echo(f"  {label}: {api}")
    click.echo(render(changes))


def _show_deprecations(client: GrafanaClient) -> None:
    for message, request in client.deprecations.items():
        click.echo(f"Grafana deprecates {request}: {message}", err=True)


def _progress(output: str) -> Callable[[str], None]:
    """Progress lines; on stderr when stdout carries JSON."""
    return (lambda line: click.echo(line, err=True)) if output == "json" else click.echo


def _guard(action: Callable[[], T]) -> T:
    """Run ``action``; a problem for a person (Grafana's, a setting's, a definition's) is
    one line and exit 1; anything else is a bug and keeps its traceback."""
    try:
        return action()
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    cli(prog_name="provision.py")
