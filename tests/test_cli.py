"""``python -m drift compare``: bad input is one error line and exit status 1, in a real
subprocess; the JSON document has exactly the documented keys."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from drift.cli import cli
from drift.config import DriftConfig
from drift.engine import check_schema
from drift.errors import DriftInputError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CONFIG = DATA / "drift.yaml"
REFERENCE = DATA / "control" / "bike_sharing_dataset_1.csv"
NO_DRIFT = DATA / "audit" / "bike_sharing_dataset_2.csv"
JULY_2011 = DATA / "audit" / "bike_sharing_dataset_3.csv.off"

FEATURE_KEYS = [
    "feature", "kind", "test", "statistic", "p_value", "p_value_adjusted", "effect_size",
    "n_reference", "n_current", "missing_share_reference", "missing_share_current",
    "drifted", "status", "reason", "effect_size_threshold", "ks_error_bound",
]  # fmt: skip
DATASET_KEYS = [
    "features_tested", "features_skipped", "features_drifted", "share_drifted", "drifted",
]  # fmt: skip


def run_drift(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drift", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def strict_json(text: str) -> Any:
    """Parse JSON, refusing the NaN and Infinity that Python's json module would accept."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON output")

    return json.loads(text, parse_constant=refuse)


def invoke(*args: str | Path) -> Any:
    """Run the CLI in-process; returns the click Result."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# --- errors, in a real subprocess ---------------------------------------------------------


def test_missing_reference_file_is_one_error_line(tmp_path: Path) -> None:
    absent = tmp_path / "absent.csv"
    assert_one_error_line(run_drift("compare", absent, NO_DRIFT), f"{absent}: no such file")


def test_missing_current_file_is_one_error_line(tmp_path: Path) -> None:
    absent = tmp_path / "absent.csv"
    result = run_drift("compare", REFERENCE, absent, "--config", CONFIG)
    assert_one_error_line(result, f"{absent}: no such file")


def test_directory_as_a_batch_is_one_error_line(tmp_path: Path) -> None:
    result = run_drift("compare", tmp_path, NO_DRIFT)
    assert_one_error_line(result, f"{tmp_path}: not a readable CSV file")


@pytest.mark.parametrize("alphabet", [256, 128], ids=["binary", "ascii-control"])
def test_garbage_file_as_a_batch_is_one_error_line(tmp_path: Path, alphabet: int) -> None:
    garbage = tmp_path / "garbage.csv"
    rng = random.Random(alphabet)
    garbage.write_bytes(bytes(rng.randrange(alphabet) for _ in range(4000)))
    result = run_drift("compare", REFERENCE, garbage, "--config", CONFIG)
    assert_one_error_line(result, f"{garbage}: not a readable CSV file")


def test_empty_file_as_a_batch_is_one_error_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_one_error_line(run_drift("compare", empty, NO_DRIFT), f"{empty}: not a readable CSV")


def test_header_without_the_configured_columns_is_one_error_line(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("city,temp\nParis,12.5\nOslo,3.0\n")
    result = run_drift("compare", REFERENCE, other, "--config", CONFIG)
    assert_one_error_line(result, f"{other}: missing configured column(s) 'season'", "'hum'")


def test_text_in_a_numeric_column_is_one_error_line(tmp_path: Path) -> None:
    lines = NO_DRIFT.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    row = lines[3].rstrip("\n").split(",")
    row[header.index("hum")] = "n/a%"  # not a number, not one of pandas' missing markers
    lines[3] = ",".join(row) + "\n"
    broken = tmp_path / "broken.csv"
    broken.write_text("".join(lines))
    result = run_drift("compare", REFERENCE, broken, "--config", CONFIG)
    assert_one_error_line(result, f"{broken}: column 'hum' is numeric", "row 3", "'n/a%'")


def test_a_row_with_extra_fields_is_one_error_line_not_shifted_columns(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("temp,hum\n1.0,2.0\n3.0,4.0,5.0\n")
    assert_one_error_line(run_drift("compare", ragged, ragged), f"{ragged}: not a readable CSV")


def test_trailing_commas_keep_columns_in_place(tmp_path: Path) -> None:
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("temp,hum\n1.0,2.0,\n3.0,4.0,\n5.0,6.0,\n")
    report = strict_json(invoke("compare", trailing, trailing, "--output", "json").output)
    assert [(f["feature"], f["n_reference"]) for f in report["features"]] == [
        ("temp", 3),
        ("hum", 3),
    ]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"alpha: [0.05\n", "not valid YAML"),
        (b"\xff\xfe\x00binary", "cannot read config"),
        (b"alpha: 0.05\nthreshold: 2\n", "unknown setting(s): threshold"),
    ],
    ids=["invalid-yaml", "binary", "unknown-key"],
)
def test_bad_config_is_one_error_line(tmp_path: Path, content: bytes, fragment: str) -> None:
    config = tmp_path / "drift.yaml"
    config.write_bytes(content)
    result = run_drift("compare", REFERENCE, NO_DRIFT, "--config", config)
    assert_one_error_line(result, str(config), fragment)


@pytest.mark.parametrize("alpha", ["0", "1.5"])
def test_alpha_option_outside_zero_one_is_one_error_line(alpha: str) -> None:
    # "--alpha 0" must be rejected, not silently replaced by the config's alpha.
    result = run_drift("compare", REFERENCE, NO_DRIFT, "--config", CONFIG, "--alpha", alpha)
    assert_one_error_line(result, "alpha must be between 0 and 1")


@pytest.mark.parametrize("with_config", [False, True], ids=["inferred", "schema"])
@pytest.mark.parametrize(
    ("current_text", "fragment"),
    [
        ("instant,season,cnt\n", "every feature was skipped"),
        ("instant;season;cnt\n1;1;985\n2;1;801\n", "looks ';'-separated"),
        ("instant\tseason\tcnt\n1\t1\t985\n2\t1\t801\n", "looks tab-separated"),
        ("city,temp_c\nParis,12.5\nOslo,3.0\n", None),
        ("instant,season,cnt\n,,\n,,\n", "(no values in /"),
    ],
    ids=["header-only", "semicolons", "tabs", "no-shared-column", "all-missing"],
)
def test_a_comparison_that_tests_nothing_is_one_error_line_and_exit_1(
    tmp_path: Path, current_text: str, fragment: str | None, with_config: bool
) -> None:
    reference, current, config = _bikes_like(tmp_path, current_text)
    result = invoke("compare", reference, current, *(("--config", config) if with_config else ()))
    if fragment is None:  # the schema makes it a missing column, the inference a lack of one
        fragment = "missing configured column(s)" if with_config else "no column is in both"
    assert (result.exit_code, result.stdout) == (1, "")
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and fragment in line


def test_a_semicolon_separated_batch_is_one_error_line_in_a_real_process(tmp_path: Path) -> None:
    reference, current, _ = _bikes_like(tmp_path, "instant;season;cnt\n1;1;985\n2;1;801\n")
    result = run_drift("compare", reference, current)
    assert_one_error_line(result, f"{current} looks ';'-separated", "must be comma-separated")


def _bikes_like(tmp_path: Path, current_text: str) -> tuple[Path, Path, Path]:
    """A small reference batch, a current batch with this text, and a config for both."""
    reference = tmp_path / "reference.csv"
    reference.write_text("instant,season,cnt\n1,1,985\n2,1,801\n3,2,1349\n4,2,1562\n")
    current = tmp_path / "current.csv"
    current.write_text(current_text)
    config = tmp_path / "drift.yaml"
    config.write_text("columns:\n  instant: numeric\n  season: categorical\n  cnt: numeric\n")
    return reference, current, config


def test_help_describes_the_compare_command_and_its_exit_statuses() -> None:
    top = run_drift("--help")
    assert top.returncode == 0 and top.stderr == ""
    assert "compare" in top.stdout
    sub = run_drift("compare", "--help")
    assert sub.returncode == 0
    for option in (
        "--config", "--alpha", "--correction", "--min-effect-size", "--output",
        "--fail-on-drift", "--backend", "--no-cache", "REFERENCE", "CURRENT",
    ):  # fmt: skip
        assert option in sub.stdout
    statuses = sub.stdout.split("Exit status:")[1].split("Options:")[0].split()
    assert [word for word in statuses if word.isdigit()] == ["0", "1", "2", "3"]


@pytest.mark.parametrize("output", ["table", "json"])
def test_fail_on_drift_exits_3_after_printing_the_results_of_a_drifted_batch(output: str) -> None:
    result = run_drift(
        "compare", REFERENCE, JULY_2011, "--config", CONFIG, "--fail-on-drift", "--output", output
    )
    assert (result.returncode, result.stderr) == (3, "")
    if output == "json":
        assert strict_json(result.stdout)["summary"]["drifted"] is True
    else:
        assert result.stdout.splitlines()[-1].endswith(": DRIFT")


def test_fail_on_drift_exits_0_when_nothing_drifted() -> None:
    result = invoke("compare", REFERENCE, NO_DRIFT, "--config", CONFIG, "--fail-on-drift")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].endswith(": no drift")


def test_drift_without_fail_on_drift_exits_0() -> None:
    assert invoke("compare", REFERENCE, JULY_2011, "--config", CONFIG).exit_code == 0


def _tiny_shift(tmp_path: Path, shift: float) -> tuple[Path, Path]:
    """50,000 evenly spread normal quantiles, and the same moved by ``shift`` standard
    deviations: at this size even a shift of 0.04 has a KS p-value far below 0.05."""
    n = 50_000
    x = stats.norm.ppf((np.arange(n) + 0.5) / n)
    ref = tmp_path / "ref.csv"
    cur = tmp_path / "cur.csv"
    ref.write_text("x\n" + "".join(f"{float(v)!r}\n" for v in x))
    cur.write_text("x\n" + "".join(f"{float(v + shift)!r}\n" for v in x))
    return ref, cur


def test_a_significant_but_small_shift_is_no_drift_and_fail_on_drift_exits_0(
    tmp_path: Path,
) -> None:
    ref, cur = _tiny_shift(tmp_path, 0.04)
    result = invoke("compare", ref, cur, "--fail-on-drift")
    assert result.exit_code == 0, result.output
    header, row = (line.split() for line in result.stdout.splitlines()[:2])
    cells = dict(zip(header, row, strict=False))
    assert float(cells["p_adjusted"]) < 1e-4  # significant...
    assert float(cells["effect"]) == pytest.approx(0.04, abs=5e-4)  # ...but below 0.07
    assert (cells["min_effect"], row[-1]) == ("0.07", "ok")
    assert result.stdout.splitlines()[-1].endswith(": no drift")
    # By p-values alone (threshold 0) the same batch drifts.
    by_p = invoke("compare", ref, cur, "--fail-on-drift", "--min-effect-size", "0")
    assert by_p.exit_code == 3
    assert by_p.stdout.splitlines()[1].endswith("DRIFT")


@pytest.mark.parametrize("value", ["-0.1", "nan", "inf"])
def test_a_bad_min_effect_size_option_is_one_error_line(value: str) -> None:
    result = run_drift("compare", REFERENCE, NO_DRIFT, "--min-effect-size", value)
    assert_one_error_line(result, "min_effect_size.numeric must be a number, 0 or more")


def test_a_per_feature_threshold_from_the_config_decides_and_is_in_the_json(
    tmp_path: Path,
) -> None:
    ref, cur = _tiny_shift(tmp_path, 0.04)
    config = tmp_path / "drift.yaml"
    config.write_text("min_effect_size:\n  numeric: 0.5\n  features:\n    x: 0.03\n")
    result = invoke("compare", ref, cur, "--config", config, "--output", "json")
    [x] = strict_json(result.stdout)["features"]
    assert (x["effect_size_threshold"], x["drifted"]) == (0.03, True)
    result = invoke("compare", ref, cur, "--config", config, "--min-effect-size", "0.05")
    assert result.stdout.splitlines()[1].split()[-1] == "ok"


def test_a_per_feature_threshold_for_no_column_is_one_error_line(tmp_path: Path) -> None:
    """Kinds inferred: a typo (Cnt for cnt) would leave cnt on the default threshold unseen."""
    config = tmp_path / "drift.yaml"
    config.write_text("min_effect_size:\n  features:\n    Cnt: 0.9\n")
    result = run_drift("compare", REFERENCE, NO_DRIFT, "--config", config)
    assert_one_error_line(result, "min_effect_size.features names 'Cnt', not a column")


def test_a_per_feature_threshold_for_an_ignored_column_is_refused_by_the_schema_check() -> None:
    """check_schema is what the DAG's validate_schema runs: the run fails with that line."""
    config = DriftConfig(ignore=frozenset({"b"}), min_effect_size_features={"a": 0.1})
    assert [name for name, _ in check_schema(["a", "b"], ["a", "b"], config)] == ["a"]
    config = replace(config, min_effect_size_features={"a": 0.1, "b": 0.2})
    with pytest.raises(DriftInputError, match=r"names 'b', not a column .* ignored one"):
        check_schema(["a", "b"], ["a", "b"], config)


def test_a_sketch_too_coarse_for_its_column_reports_its_bound_and_warns(tmp_path: Path) -> None:
    """Epoch-millisecond timestamps over a week: at 12 bits a sketch cell near 1.7e12 is
    2^29 ms (6 days) wide, so the sketched D says little about the exact one."""
    rng = np.random.default_rng(0)
    n = 20_000
    start = 1.7e12
    ref_t = np.round(start + rng.uniform(0, 7 * 86_400_000, n))
    cur_t = np.round(start + 3_600_000 + rng.uniform(0, 7 * 86_400_000, n))  # an hour later
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ref.write_text("t\n" + "".join(f"{v:.0f}\n" for v in ref_t))
    cur.write_text("t\n" + "".join(f"{v:.0f}\n" for v in cur_t))
    config = tmp_path / "drift.yaml"
    config.write_text("max_distinct: 10000\n")  # 40,000 distinct values: sketched

    result = invoke("compare", ref, cur, "--config", config, "--output", "json")

    assert result.exit_code == 0, result.output
    [t] = strict_json(result.stdout)["features"]
    exact_d = stats.ks_2samp(ref_t, cur_t).statistic
    assert t["statistic"] <= exact_d <= t["statistic"] + t["ks_error_bound"]  # the bound holds
    assert t["ks_error_bound"] > 0.5
    [warning] = result.stderr.splitlines()
    assert warning.startswith("Warning: 't': sketched; its KS statistic may be up to ")
    assert warning.endswith("raise sketch_bits or max_distinct in the config")
    fine = tmp_path / "fine.yaml"
    fine.write_text("max_distinct: 10000\nsketch_bits: 40\n")  # 2^-40 of 1.7e12: 1.5 ms
    result = invoke("compare", ref, cur, "--config", fine, "--output", "json")
    assert result.stderr == ""
    assert strict_json(result.stdout)["features"][0]["ks_error_bound"] <= 0.01


# --- output, in-process -------------------------------------------------------------------


def _write_batch(path: Path, x: np.ndarray, k: list[str], day: str) -> Path:
    rows = (f"{float(v)!r},{c},{day}\n" for v, c in zip(x, k, strict=True))
    path.write_text("x,k,day\n" + "".join(rows))
    return path


def _small_batches(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A shifted numeric column x, a categorical k with a new category, an ISO date."""
    rng = np.random.default_rng(4)
    ref_x, cur_x = rng.normal(0, 1, 40), rng.normal(1.0, 1, 50)
    ref_k = ["a"] * 25 + ["b"] * 15
    cur_k = ["a"] * 20 + ["b"] * 25 + ["c"] * 5
    ref = _write_batch(tmp_path / "ref.csv", ref_x, ref_k, "2011-01-01")
    cur = _write_batch(tmp_path / "cur.csv", cur_x, cur_k, "2012-01-01")
    return ref, cur, ref_x, cur_x


def test_json_output_has_exactly_the_documented_keys_and_scipy_values(tmp_path: Path) -> None:
    ref, cur, ref_x, cur_x = _small_batches(tmp_path)
    result = invoke("compare", ref, cur, "--output", "json")
    assert result.exit_code == 0, result.output
    document = strict_json(result.stdout)
    assert list(document["summary"]) == DATASET_KEYS
    assert [list(f) for f in document["features"]] == [FEATURE_KEYS] * 3
    x, k, day = document["features"]
    assert (x["feature"], x["kind"], x["test"], x["status"]) == ("x", "numeric", "ks", "tested")
    assert x["p_value"] == pytest.approx(stats.ks_2samp(ref_x, cur_x).pvalue, rel=1e-12)
    assert x["ks_error_bound"] is None  # 90 distinct values: exact, not sketched
    expected_k = stats.chi2_contingency(np.array([[25, 15, 0], [20, 25, 5]]))
    assert (k["kind"], k["test"]) == ("categorical", "chi2")
    assert k["statistic"] == pytest.approx(expected_k.statistic, rel=1e-12)
    assert (k["n_reference"], k["n_current"]) == (40, 50)
    assert (day["status"], day["kind"], day["p_value"]) == ("skipped", "datetime", None)
    assert document["summary"]["features_tested"] == 2
    assert document["summary"]["features_skipped"] == 1


def test_json_output_for_a_drifted_bundled_batch_exits_zero() -> None:
    result = invoke("compare", REFERENCE, JULY_2011, "--config", CONFIG, "--output", "json")
    assert result.exit_code == 0
    document = strict_json(result.stdout)
    assert document["reference"] == str(REFERENCE) and document["current"] == str(JULY_2011)
    assert document["settings"] == {"alpha": 0.05, "correction": "bh"}
    assert document["summary"]["drifted"] is True
    assert document["summary"]["features_tested"] == 13


def test_correction_and_alpha_options_override_the_config() -> None:
    result = invoke(
        "compare", REFERENCE, NO_DRIFT, "--config", CONFIG, "--correction", "none",
        "--alpha", "0.5", "--min-effect-size", "0", "--output", "json",
    )  # fmt: skip
    document = strict_json(result.stdout)
    assert document["settings"] == {"alpha": 0.5, "correction": "none"}
    for feature in document["features"]:
        assert feature["p_value_adjusted"] == feature["p_value"]
        assert feature["drifted"] is (feature["p_value"] < 0.5)
    # The no-drift batch has raw p-values below 0.5 (e.g. temp, 0.37), so some now drift.
    assert document["summary"]["features_drifted"] > 0


def test_table_output_lists_every_feature_and_the_summary(tmp_path: Path) -> None:
    ref, cur, _, _ = _small_batches(tmp_path)
    result = invoke("compare", ref, cur)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "feature"
    assert [line.split()[0] for line in lines[1:4]] == ["x", "k", "day"]
    assert lines[3].endswith("skipped: a date column, not tested")
    assert lines[1].endswith("DRIFT")
    assert lines[-1] == (
        "2 of 2 features drifted, 1 skipped (drift: adjusted p-value below alpha 0.05 and "
        "effect at least min_effect; correction bh): DRIFT"
    )


def test_unknown_correction_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        cli, ["compare", str(REFERENCE), str(NO_DRIFT), "--correction", "x"]
    )
    assert result.exit_code == 2


# --- Parquet and the backends ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["auto", "pandas", "duckdb"])
def test_parquet_batches_give_the_json_of_their_csv_files(tmp_path: Path, backend: str) -> None:
    parquet = []
    for csv in (REFERENCE, JULY_2011):
        parquet.append(tmp_path / f"{csv.name.split('.')[0]}.parquet")
        pd.read_csv(csv).to_parquet(parquet[-1])
    from_csv = invoke("compare", REFERENCE, JULY_2011, "--config", CONFIG, "--output", "json")
    from_parquet = invoke(
        "compare", *parquet, "--config", CONFIG, "--output", "json", "--backend", backend
    )
    assert from_parquet.exit_code == from_csv.exit_code == 0
    csv_document, parquet_document = strict_json(from_csv.stdout), strict_json(from_parquet.stdout)
    assert parquet_document["features"] == csv_document["features"]
    assert parquet_document["summary"]["drifted"] is True


def test_the_reference_summary_is_cached_beside_it_unless_no_cache(tmp_path: Path) -> None:
    reference = tmp_path / "ref.csv"
    reference.write_bytes(REFERENCE.read_bytes())
    invoke("compare", reference, NO_DRIFT, "--config", CONFIG, "--no-cache")
    assert not (tmp_path / ".summaries").exists()
    first = invoke("compare", reference, NO_DRIFT, "--config", CONFIG, "--output", "json")
    assert len(list((tmp_path / ".summaries").glob("ref.csv.*.npz"))) == 1
    again = invoke("compare", reference, NO_DRIFT, "--config", CONFIG, "--output", "json")
    assert first.exit_code == again.exit_code == 0 and first.stdout == again.stdout


def test_an_unknown_backend_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        cli, ["compare", str(REFERENCE), str(NO_DRIFT), "--backend", "polars"]
    )
    assert result.exit_code == 2


def test_a_file_that_is_not_parquet_is_one_error_line(tmp_path: Path) -> None:
    fake = tmp_path / "batch.parquet"
    fake.write_bytes(REFERENCE.read_bytes())  # CSV text under a Parquet name
    assert_one_error_line(
        run_drift("compare", fake, NO_DRIFT), f"{fake}: not a readable Parquet file"
    )
