"""``python -m drift compare REFERENCE CURRENT``: drift results for two batches (CSV or
Parquet files)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from drift.backends import BACKEND_CHOICES
from drift.compare_files import compare_files
from drift.config import CORRECTIONS, KINDS, DriftConfig, load_config
from drift.errors import DriftInputError
from drift.report import format_table, sketch_warnings

# With --fail-on-drift; 1 (bad input) and 2 (bad usage) are click's own. Documented in
# compare's --help and the README.
EXIT_DRIFT = 3


@click.group()
def cli() -> None:
    """Statistical drift tests between a reference and a current batch."""


@cli.command("compare")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("current", type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="YAML file: alpha, correction, min_effect_size, column kinds, ignored columns.",
)
@click.option("--alpha", type=float, help="Significance level (overrides the config).")
@click.option(
    "--correction",
    type=click.Choice(CORRECTIONS),
    help="Multiple-testing correction (overrides the config).",
)
@click.option(
    "--min-effect-size",
    type=float,
    help="Effect size every feature must reach to drift (overrides the config; 0: p-values alone).",
)
@click.option(
    "--backend",
    type=click.Choice(BACKEND_CHOICES),
    default="auto",
    show_default=True,
    help="What summarises the batches: auto is DuckDB for large files (Parquet from 1 MiB, "
    "CSV from 256 MiB), else pandas.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Summarise the reference again instead of reusing its summary in .summaries/.",
)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--fail-on-drift",
    is_flag=True,
    help=f"Exit with status {EXIT_DRIFT} when a feature drifted (after printing the results).",
)
def compare_command(
    reference: Path,
    current: Path,
    config_path: Path | None,
    alpha: float | None,
    correction: str | None,
    min_effect_size: float | None,
    backend: str,
    no_cache: bool,
    output: str,
    fail_on_drift: bool,
) -> None:
    """Test each feature of CURRENT for drift from REFERENCE (CSV or Parquet files).

    Numeric features get the two-sample Kolmogorov-Smirnov test, categorical ones a
    chi-square test of homogeneity; p-values are adjusted for the number of features. A
    feature drifts when its adjusted p-value is below alpha and its effect size (normed
    Wasserstein distance, Cramer's V) is at least its threshold (min_effect).

    \b
    Exit status:
      0  the features were tested (drift or not, without --fail-on-drift)
      1  bad input, or nothing could be tested (one "Error: ..." line)
      2  bad usage
      3  drift found, with --fail-on-drift
    """
    try:
        config = load_config(config_path) if config_path else DriftConfig()
        if alpha is not None:  # --alpha 0 must reach the check, not be ignored
            config = replace(config, alpha=alpha)
        if correction is not None:
            config = replace(config, correction=correction)
        if min_effect_size is not None:
            config = replace(
                config,
                min_effect_size=dict.fromkeys(KINDS, min_effect_size),
                min_effect_size_features={},
            )
        report = compare_files(reference, current, config, backend, cache=not no_cache)
    except DriftInputError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in sketch_warnings(report):  # on stderr: the JSON on stdout stays parseable
        click.echo(f"Warning: {warning}", err=True)
    if output == "json":
        document = {"reference": str(reference), "current": str(current), **report.to_dict()}
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(format_table(report))
    if fail_on_drift and report.drifted:
        click.get_current_context().exit(EXIT_DRIFT)
