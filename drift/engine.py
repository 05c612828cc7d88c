"""Compare a current batch with a reference batch, feature by feature."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from drift.config import DriftConfig, Kind
from drift.dataset import check_separator
from drift.errors import DriftInputError, NothingTestedError
from drift.labels import shown
from drift.report import SKIPPED, TESTED, DriftReport, FeatureResult
from drift.stats import adjust, chi2_test, distinct, ks_test

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TEST_BY_KIND = {"numeric": "ks", "categorical": "chi2"}
NAMED_IN_ERRORS = 5  # skipped features (and reasons) named when none could be tested


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    config: DriftConfig | None = None,
    names: tuple[str, str] = ("reference batch", "current batch"),
) -> DriftReport:
    """Test every planned column for drift and adjust the p-values for their number.

    ``names`` say which batch is which in error messages (file names, for a CLI). When no
    feature could be tested, raises NothingTestedError saying why: "no drift" would be a lie.
    """
    config = config or DriftConfig()
    planned = check_schema(list(reference.columns), list(current.columns), config, names)
    results = [
        _compare_column(name, kind, reference.get(name), current.get(name), names)
        for name, kind in planned
    ]
    tested = [i for i, r in enumerate(results) if r.status == TESTED]
    if not tested:
        raise NothingTestedError(
            f"nothing could be tested: every feature was skipped: {_skip_reasons(results)}"
        )
    p_values = np.array([results[i].p_value for i in tested], dtype=float)
    for i, p_adjusted in zip(tested, adjust(p_values, config.correction), strict=True):
        results[i] = replace(
            results[i], p_value_adjusted=float(p_adjusted), drifted=bool(p_adjusted < config.alpha)
        )
    return DriftReport(tuple(results), config.alpha, config.correction)


def check_schema(
    reference_columns: Sequence[str],
    current_columns: Sequence[str],
    config: DriftConfig,
    names: tuple[str, str] = ("reference batch", "current batch"),
) -> list[tuple[str, Kind | None]]:
    """The columns to test with their declared kinds (None: inferred from the data).

    Columns the config declares must be in both batches; otherwise every column of either
    batch is planned, and one that is absent from a batch is reported as skipped. A batch
    that is not comma-separated, or batches that share no column to test, are refused.
    """
    for name, columns in zip(names, (reference_columns, current_columns), strict=True):
        check_separator(columns, name)
    if config.columns is not None:
        for name, columns in zip(names, (reference_columns, current_columns), strict=True):
            missing = [c for c in config.columns if c not in columns]
            if missing:
                raise DriftInputError(
                    f"{name}: missing configured column(s) {', '.join(map(repr, missing))}"
                )
        return list(config.columns.items())
    every = dict.fromkeys([*reference_columns, *current_columns])
    shared = set(reference_columns) & set(current_columns)
    if not shared:
        raise NothingTestedError("nothing could be tested: no column is in both batches")
    if shared <= config.ignore:
        raise NothingTestedError(
            "nothing could be tested: every column that is in both batches is ignored"
        )
    return [(name, None) for name in every if name not in config.ignore]


def _skip_reasons(results: Sequence[FeatureResult]) -> str:
    """Which features were skipped why, e.g. "'a', 'b' (no rows in the cur.csv)", cut short."""
    by_reason: dict[str, list[str]] = {}
    for result in results:
        by_reason.setdefault(result.reason or "skipped", []).append(result.feature)
    groups = [
        f"{_some(features)} ({reason})"
        for reason, features in list(by_reason.items())[:NAMED_IN_ERRORS]
    ]
    rest = len(by_reason) - NAMED_IN_ERRORS
    return "; ".join(groups) + (f"; {rest} more reason(s)" if rest > 0 else "")


def _some(features: Sequence[str]) -> str:
    named = ", ".join(map(shown, features[:NAMED_IN_ERRORS]))
    rest = len(features) - NAMED_IN_ERRORS
    return named + (f" and {rest} more" if rest > 0 else "")


def _compare_column(
    name: str,
    kind: str | None,
    reference: pd.Series | None,
    current: pd.Series | None,
    names: tuple[str, str],
) -> FeatureResult:
    base = FeatureResult(
        feature=name, kind=kind or "unknown", test=None, statistic=None, p_value=None,
        p_value_adjusted=None, effect_size=None, n_reference=0, n_current=0,
        missing_share_reference=None, missing_share_current=None, drifted=False,
        status=SKIPPED, reason=None,
    )  # fmt: skip
    if reference is None or current is None:
        absent = names[0] if reference is None else names[1]
        return replace(base, reason=f"absent from the {absent}")
    kind = kind or _infer_kind(reference if reference.notna().any() else current)
    if kind == "datetime":
        return replace(base, kind=kind, reason="a date column, not tested")
    if kind == "numeric":
        ref = _numeric(reference, name, names[0])
        cur = _numeric(current, name, names[1])
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]  # inf counts as missing
    else:
        ref, cur = _category_codes(reference, current)
        ref, cur = ref[ref >= 0], cur[cur >= 0]  # -1 marks a missing value
    result = replace(
        base, kind=kind, test=TEST_BY_KIND[kind], n_reference=len(ref), n_current=len(cur),
        missing_share_reference=_missing_share(len(ref), len(reference)),
        missing_share_current=_missing_share(len(cur), len(current)),
    )  # fmt: skip
    for label, values, rows in ((names[0], ref, reference), (names[1], cur, current)):
        if len(values) == 0:
            what = "values" if len(rows) else "rows"
            return replace(result, reason=f"no {what} in the {label}")
    if kind == "numeric":
        if ref.min() == ref.max() == cur.min() == cur.max():
            return replace(result, reason=f"constant: every value is {ref[0]:g}")
        outcome = ks_test(distinct(ref), distinct(cur))
    else:
        k = int(max(ref.max(), cur.max())) + 1
        ref_counts, cur_counts = np.bincount(ref, minlength=k), np.bincount(cur, minlength=k)
        if np.count_nonzero(ref_counts + cur_counts) == 1:
            return replace(result, reason="constant: a single category in both batches")
        outcome = chi2_test(ref_counts, cur_counts)
    return replace(
        result, statistic=_finite(outcome.statistic), p_value=outcome.p_value,
        effect_size=_finite(outcome.effect_size), status=TESTED,
    )  # fmt: skip


def _infer_kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    present = values.dropna()
    if present.empty:
        return "categorical"
    if _parses_as_number(present.iloc[0]) and pd.to_numeric(present, errors="coerce").notna().all():
        return "numeric"
    if present.astype(str).str.match(ISO_DATE.pattern).all():
        return "datetime"
    return "categorical"


def _parses_as_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _numeric(values: pd.Series, name: str, label: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise DriftInputError(
            f"{label}: column {name!r} is numeric, but data row {row + 1} holds "
            f"{values.iloc[row]!r}"
        )
    return converted.to_numpy(dtype=float, na_value=np.nan)


def _category_codes(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes over the union of both batches' categories."""
    ref_dtype, cur_dtype = reference.dtype, current.dtype
    if (
        isinstance(ref_dtype, pd.CategoricalDtype)
        and isinstance(cur_dtype, pd.CategoricalDtype)
        and ref_dtype.categories.dtype == cur_dtype.categories.dtype
    ):  # recodes the categories only, not every row's value
        codes = union_categoricals([reference.array, current.array], ignore_order=True).codes
    else:
        codes, _ = pd.factorize(pd.concat([reference, current], ignore_index=True))
    return codes[: len(reference)], codes[len(reference) :]


def _missing_share(present: int, rows: int) -> float | None:
    return 1 - present / rows if rows else None


def _finite(value: float) -> float | None:
    """Extreme inputs (values near 1e308) can overflow a statistic; report it as unknown."""
    return value if np.isfinite(value) else None
