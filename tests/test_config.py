"""Loading and validating the YAML config; every bad config is a DriftInputError that names
the file, in one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from drift import compare
from drift.config import DriftConfig, drifted, load_config
from drift.errors import DriftInputError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "drift.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(path: Path) -> str:
    """The message of the DriftInputError that loading ``path`` raises."""
    with pytest.raises(DriftInputError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message


def test_full_config_is_loaded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alpha: 0.01\n"
        "correction: bonferroni\n"
        "columns:\n  temp: numeric\n  weathersit: categorical\n"
        "ignore: [dteday]\n",
    )
    config = load_config(path)
    assert config.alpha == 0.01
    assert config.correction == "bonferroni"
    assert dict(config.columns or {}) == {"temp": "numeric", "weathersit": "categorical"}
    assert list(config.columns or {}) == ["temp", "weathersit"]  # file order is kept
    assert config.ignore == frozenset({"dteday"})


def test_empty_config_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing set\n"))
    assert config == DriftConfig()
    assert (config.alpha, config.correction, config.columns) == (0.05, "bh", None)


def test_correction_is_case_insensitive(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "correction: BH\n")).correction == "bh"


def test_non_text_column_names_are_read_as_text(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "columns:\n  2011: numeric\nignore: [7]\n"))
    assert dict(config.columns or {}) == {"2011": "numeric"}
    assert config.ignore == frozenset({"7"})


def test_bundled_config_declares_the_bike_sharing_schema() -> None:
    config = load_config(ROOT / "data" / "drift.yaml")
    assert (config.alpha, config.correction) == (0.05, "bh")
    columns = dict(config.columns or {})
    assert len(columns) == 13
    assert sorted(k for k, v in columns.items() if v == "categorical") == [
        "holiday", "hr", "season", "weathersit", "weekday", "workingday",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "named"),
    [("alpha: 0.05\nthreshold: 0.1\n", "threshold"), ("alpha: 0.05\n3: x\n", "3")],
    ids=["text-key", "number-key"],
)
def test_unknown_setting_is_rejected_by_name(tmp_path: Path, text: str, named: str) -> None:
    assert f"unknown setting(s): {named}" in load_error(write(tmp_path, text))


@pytest.mark.parametrize("alpha", ["0", "1", "1.5", "-0.1", ".nan", "abc", "true", "''", "null"])
def test_alpha_outside_zero_one_or_not_a_number_is_rejected(tmp_path: Path, alpha: str) -> None:
    assert "alpha must be" in load_error(write(tmp_path, f"alpha: {alpha}\n"))


@pytest.mark.parametrize("correction", ["holm", "5", "null", "''", "[bh]"])
def test_unknown_correction_is_rejected(tmp_path: Path, correction: str) -> None:
    # A blank value must not read as the string "none", which would switch correction off.
    message = load_error(write(tmp_path, f"correction: {correction}\n"))
    assert "correction must be one of bh, bonferroni, none" in message


def test_unknown_column_kind_is_rejected_naming_the_column(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "columns:\n  temp: numeric\n  city: text\n"))
    assert "column 'city': kind must be one of numeric, categorical, got 'text'" in message


@pytest.mark.parametrize("columns", ["[temp, hum]", "{}", "temp"])
def test_columns_that_are_not_a_mapping_are_rejected(tmp_path: Path, columns: str) -> None:
    assert "'columns' must map" in load_error(write(tmp_path, f"columns: {columns}\n"))


def test_ignore_that_is_not_a_list_is_rejected(tmp_path: Path) -> None:
    assert "'ignore' must be a list" in load_error(write(tmp_path, "ignore: dteday\n"))


def test_top_level_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    assert "expected a mapping" in load_error(write(tmp_path, "- alpha\n- 0.05\n"))


@pytest.mark.parametrize(
    "text",
    ["alpha: [0.05\n", "columns:\n  temp: numeric\n hum: numeric\n", "alpha: 0.05\n\x00\n"],
    ids=["unclosed-list", "bad-indent", "control-character"],
)
def test_invalid_yaml_is_one_line_error_naming_the_file(tmp_path: Path, text: str) -> None:
    assert "not valid YAML" in load_error(write(tmp_path, text))


def test_missing_config_file_is_an_input_error(tmp_path: Path) -> None:
    assert "cannot read config" in load_error(tmp_path / "absent.yaml")


def test_directory_as_config_is_an_input_error(tmp_path: Path) -> None:
    assert "cannot read config" in load_error(tmp_path)


def test_binary_config_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "drift.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x01binary")
    assert "cannot read config" in load_error(path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"alpha": 0.0}, "alpha must be between 0 and 1"),
        ({"alpha": 1.0}, "alpha must be between 0 and 1"),
        ({"correction": "holm"}, "correction must be one of"),
        ({"columns": {"x": "ordinal"}}, "kind must be one of"),
    ],
)
def test_drift_config_validates_its_settings(settings: dict, message: str) -> None:
    with pytest.raises(DriftInputError, match=message):
        DriftConfig(**settings)


# --- material drift: effect size thresholds -------------------------------------------------


def test_min_effect_size_defaults_by_kind_and_per_feature_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "min_effect_size:\n  features:\n    temp: 0.2\n"))
    # The measured defaults (bench/README.md): normed Wasserstein 0.07, Cramer's V 0.1.
    assert dict(config.min_effect_size) == {"numeric": 0.07, "categorical": 0.1}
    assert config.min_effect("temp", "numeric") == 0.2
    assert config.min_effect("hum", "numeric") == 0.07
    assert config.min_effect("hr", "categorical") == 0.1
    assert DriftConfig().min_effect("anything", "categorical") == 0.1


def test_min_effect_size_sets_one_kind_and_keeps_the_other_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "min_effect_size:\n  numeric: 0\n"))
    assert dict(config.min_effect_size) == {"numeric": 0, "categorical": 0.1}
    assert config.min_effect("x", "numeric") == 0.0  # 0: p-values alone decide


def test_the_bundled_config_uses_the_measured_defaults() -> None:
    config = load_config(ROOT / "data" / "drift.yaml")
    assert dict(config.min_effect_size) == {"numeric": 0.07, "categorical": 0.1}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("min_effect_size: 0.1\n", "'min_effect_size' must map numeric, categorical and features"),
        ("min_effect_size:\n  numeric: -0.1\n", "min_effect_size.numeric must be a number, 0"),
        ("min_effect_size:\n  categorical: .inf\n", "min_effect_size.categorical must be"),
        ("min_effect_size:\n  numeric: .nan\n", "min_effect_size.numeric must be"),
        ("min_effect_size:\n  numeric: true\n", "min_effect_size.numeric must be"),
        ("min_effect_size:\n  numeric: '0.1'\n", "min_effect_size.numeric must be"),
        ("min_effect_size:\n  ordinal: 0.1\n", "min_effect_size: unknown key(s) ordinal"),
        ("min_effect_size:\n  features: [temp]\n", "'min_effect_size.features' must map"),
        ("min_effect_size:\n  features:\n    temp: -1\n", "min_effect_size.features.temp must"),
        (
            "columns:\n  temp: numeric\nmin_effect_size:\n  features:\n    hum: 0.1\n",
            "min_effect_size.features names 'hum', not a configured column",
        ),
    ],
)
def test_bad_min_effect_size_is_one_line_naming_it(tmp_path: Path, text: str, named: str) -> None:
    assert named in load_error(write(tmp_path, text))


@pytest.mark.parametrize(
    ("p_value_adjusted", "effect_size", "expected"),
    [
        (0.049, 0.07, True),  # significant, and the effect reaches its threshold exactly
        (0.05, 0.9, False),  # an adjusted p-value equal to alpha is not below it
        (0.01, 0.0699, False),  # significant but too small to matter
        (0.01, None, False),  # an effect size that overflowed is unknown: not material
    ],
)
def test_a_feature_drifts_when_below_alpha_and_at_least_its_min_effect(
    p_value_adjusted: float, effect_size: float | None, expected: bool
) -> None:
    assert drifted(p_value_adjusted, effect_size, alpha=0.05, min_effect=0.07) is expected


def test_the_engine_counts_an_effect_equal_to_its_threshold_as_drift() -> None:
    """75 a / 25 b against 25 a / 75 b: chi-square 50 over 200 rows, Cramer's V exactly 0.5
    (by hand: each of the four cells is 25 off its expected 50)."""
    reference = pd.DataFrame({"c": ["a"] * 75 + ["b"] * 25})
    current = pd.DataFrame({"c": ["a"] * 25 + ["b"] * 75})
    for threshold, expected in ((0.5, True), (0.5000001, False)):
        thresholds = {"numeric": 0.07, "categorical": threshold}
        config = DriftConfig(columns={"c": "categorical"}, min_effect_size=thresholds)
        [feature] = compare(reference, current, config).features
        assert feature.effect_size == 0.5
        assert feature.drifted is expected
