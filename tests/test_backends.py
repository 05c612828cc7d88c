"""The backends: identical data gives identical summaries on pandas and DuckDB, from CSV and
Parquet alike; Parquet and CSV batches give the same results; the reference's summary is
reused from its cache only while its file, plan and settings are the same."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

import drift.backends
from drift.backends import choose_backend
from drift.backends.arrow import summarise_column
from drift.backends.duckdb import DuckDBBackend
from drift.backends.pandas import PandasBackend, summarise_frame
from drift.compare_files import compare_files
from drift.config import DriftConfig, load_config
from drift.dataset import read_batch
from drift.engine import compare
from drift.errors import DriftInputError
from drift.summary import BatchSummary, Plan, SummarySettings, categorical_summary
from drift.summary_cache import CACHE_FOLDER, cached_summary

DATA = Path(__file__).resolve().parents[1] / "data"
CONFIG = DATA / "drift.yaml"
REFERENCE = DATA / "control" / "bike_sharing_dataset_1.csv"
CURRENT = DATA / "audit" / "bike_sharing_dataset_4.csv.off"
SETTINGS = SummarySettings()
BACKENDS = [PandasBackend(), DuckDBBackend()]


def summaries(path: Path, plan: Plan, settings: SummarySettings = SETTINGS) -> list[BatchSummary]:
    return [backend.summarise(path, plan, settings, path.name) for backend in BACKENDS]


def inferred(path: Path) -> Plan:
    return dict.fromkeys(PandasBackend().header(path))


def as_parquet(csv: Path, folder: Path) -> Path:
    target = folder / (csv.name.removesuffix(".off").removesuffix(".csv") + ".parquet")
    pd.read_csv(csv).to_parquet(target)
    return target


# --- identical summaries on every backend -------------------------------------------------


@pytest.mark.parametrize("batch", [REFERENCE, CURRENT], ids=["reference", "2012"])
@pytest.mark.parametrize("declared", [True, False], ids=["schema", "inferred"])
@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_bundled_batches_have_identical_summaries_on_pandas_and_duckdb(
    tmp_path: Path, batch: Path, declared: bool, form: str
) -> None:
    path = batch if form == "csv" else as_parquet(batch, tmp_path)
    plan = dict(load_config(CONFIG).columns or {}) if declared else inferred(path)
    by_pandas, by_duckdb = summaries(path, plan)
    assert by_pandas == by_duckdb
    assert set(by_pandas.features) == set(plan)
    kinds = {name: summary.kind for name, summary in by_pandas.features.items()}
    assert kinds["hr"] == "categorical" and kinds["temp"] == "numeric"
    if not declared:
        assert kinds["dteday"] == "datetime"


TRICKY_CSV = """\
x,code,weather,flag,flag_gaps,empty,constant,text_number,day,mixed,big
1.5,1,Clear,True,True,,7,1.5,2011-01-01,1.5,1e308
nan,2,Śnieg ❄,False,,,7,2.5,2011-01-02,oops,-1e308
inf,,"",TRUE,false,,7,,2011-01-03,2,0
-inf,3,"a,b",false,TRUE,,7,-0.0,,,5e-324
0.0,1,Clear,True,,,7,1e3,2011-01-05,3,
-0.0,2,"quote""d",False,False,,7,NA,2011-01-06,4,2
2.25,1.0,N/A,True,True,,7,3,2011-01-07,x,3
"""


def _tricky_frame() -> pd.DataFrame:
    """The same data as a frame for Parquet: types as a lake holds them."""
    return pd.DataFrame(
        {
            "x": [1.5, np.nan, np.inf, -np.inf, 0.0, -0.0, 2.25],
            "code": pd.array([1, 2, None, 3, 1, 2, 1], dtype="Int64"),
            "weather": ["Clear", "Śnieg ❄", "", "a,b", "Clear", 'quote"d', None],
            "flag": [True, False, True, False, True, False, True],
            "flag_gaps": pd.array([True, None, False, True, None, False, True], dtype="boolean"),
            "empty": pd.array([None] * 7, dtype="float64"),
            "empty_text": pd.array([None] * 7, dtype="string"),
            "constant": [7] * 7,
            "text_number": ["1.5", "2.5", None, "-0.0", "1e3", None, "3"],
            "day": pd.to_datetime(["2011-01-01", "2011-01-02", "2011-01-03", None,
                                   "2011-01-05", "2011-01-06", "2011-01-07"]),
            "mixed": ["1.5", "oops", "2", None, "3", "4", "x"],
            "big": [1e308, -1e308, 0.0, 5e-324, None, 2.0, 3.0],
        }
    )  # fmt: skip


@pytest.fixture(params=["csv", "parquet"])
def tricky(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "csv":
        path = tmp_path / "tricky.csv"
        path.write_text(TRICKY_CSV, encoding="utf-8")
    else:
        path = tmp_path / "tricky.parquet"
        _tricky_frame().to_parquet(path)
    return path


def test_tricky_data_has_identical_summaries_with_inferred_kinds(tricky: Path) -> None:
    by_pandas, by_duckdb = summaries(tricky, inferred(tricky))
    assert by_pandas == by_duckdb
    features = by_pandas.features
    assert features["x"].kind == "numeric"
    assert (features["x"].present, features["x"].missing) == (4, 3)  # NaN, +-inf missing
    assert features["weather"].kind == "categorical"
    assert features["flag"].kind == features["flag_gaps"].kind == "categorical"
    assert set(features["flag_gaps"].counts) == {"True", "False"}  # type: ignore[union-attr]
    assert features["empty"].present == 0
    assert features["mixed"].kind == "categorical"  # "oops" keeps it text
    assert features["day"].kind == "datetime"


def test_tricky_data_has_identical_summaries_with_declared_kinds(tricky: Path) -> None:
    plan: Plan = {
        "x": "numeric", "code": "categorical", "weather": "categorical", "flag": "categorical",
        "flag_gaps": "categorical", "empty": "numeric", "constant": "numeric",
        "text_number": "numeric", "mixed": "categorical", "big": "numeric",
    }  # fmt: skip
    by_pandas, by_duckdb = summaries(tricky, plan)
    assert by_pandas == by_duckdb
    code = by_pandas.features["code"]
    assert code.counts == {"1": 3, "2": 2, "3": 1}  # type: ignore[union-attr]  # 1.0 is 1


def test_tricky_data_compares_alike_on_both_backends(tricky: Path) -> None:
    reports = [
        compare_files(tricky, tricky, DriftConfig(), backend.name, cache=False)
        for backend in BACKENDS
    ]
    assert reports[0] == reports[1]


def test_sketched_summaries_are_identical_on_both_backends(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    values = np.random.default_rng(3).lognormal(0, 3, 20_000)
    pd.DataFrame({"v": values}).to_parquet(path)
    settings = SummarySettings(max_distinct=1_000, sketch_bits=10)
    by_pandas, by_duckdb = summaries(path, {"v": None}, settings)
    assert by_pandas.features["v"].sketch is not None  # type: ignore[union-attr]
    assert by_pandas == by_duckdb


@pytest.mark.parametrize("bits", [1, 7, 12, 52])
def test_duckdb_sketches_extreme_values_in_sql_as_drift_summary_does(
    tmp_path: Path, bits: int
) -> None:
    rng = np.random.default_rng(bits)
    extremes = [5e-324, -5e-324, 2.0**-1022, 1.7976931348623157e308, -1e308, 0.0, -0.0, 0.75]
    values = np.concatenate([rng.normal(0, 1, 3_000), rng.lognormal(0, 40, 3_000), extremes])
    path = tmp_path / "extremes.parquet"
    pd.DataFrame({"v": values}).to_parquet(path)
    settings = SummarySettings(max_distinct=100, sketch_bits=bits)
    by_pandas, by_duckdb = summaries(path, {"v": "numeric"}, settings)
    assert by_pandas.features["v"].sketch is not None  # type: ignore[union-attr]
    assert by_pandas == by_duckdb


def test_text_in_a_numeric_column_is_the_same_one_line_error_on_both_backends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cur.csv"
    path.write_text("x,y\n1.5,a\n2.5,b\noops,c\n")
    messages = []
    for backend in BACKENDS:
        with pytest.raises(DriftInputError) as info:
            backend.summarise(path, {"x": "numeric"}, SETTINGS, "cur.csv")
        messages.append(str(info.value))
    assert (
        messages[0]
        == messages[1]
        == ("cur.csv: column 'x' is numeric, but data row 3 holds 'oops'")
    )


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.parquet", None, "no such file"),
        ("garbage.parquet", b"PAR1 not really", "not a readable Parquet file"),
        ("absent.csv", None, "no such file"),
    ],
)
def test_an_unreadable_batch_is_one_line(
    tmp_path: Path, backend: object, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DriftInputError) as info:
        compare_files(path, REFERENCE, DriftConfig(), backend.name, cache=False)  # type: ignore[attr-defined]
    assert str(info.value).startswith(f"{path}: {message}")
    assert "\n" not in str(info.value)


def test_duckdb_runs_within_its_memory_limit_and_spills_to_its_temp_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFT_DUCKDB_MEMORY_LIMIT", "64MB")
    monkeypatch.setenv("DRIFT_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    with DuckDBBackend()._connect() as con:
        limit, folder = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone() or ("", "")
    assert limit in ("61.0 MiB", "64.0 MB", "64MB")  # DuckDB shows it in its own units
    assert folder == str(tmp_path / "spill") and (tmp_path / "spill").is_dir()


def test_duckdb_out_of_memory_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pd.DataFrame({"v": np.random.default_rng(5).normal(size=400_000)}).to_parquet(path)
    backend = DuckDBBackend(memory_limit="8MB", temp_directory=tmp_path / "spill")
    with pytest.raises(DriftInputError) as info:
        backend.summarise(path, {"v": "numeric"}, SETTINGS, "wide.parquet")
    assert str(info.value) == (
        "wide.parquet: DuckDB ran out of memory within its limit of 8MB "
        "(set DRIFT_DUCKDB_MEMORY_LIMIT higher)"
    )


def test_pandas_reads_csv_categoricals_straight_into_categories_labelled_as_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code,w,x\n1,Clear,0.5\n2,Mist,1.5\n,Clear,2.5\n1.0,,3.5\n")
    frame = read_batch(path, DriftConfig(columns={"code": "categorical", "w": "categorical"}))
    assert isinstance(frame["code"].dtype, pd.CategoricalDtype)
    assert list(frame["code"].cat.categories) == ["1", "2"]  # 1 and 1.0 are one category
    assert list(frame["w"].cat.categories) == ["Clear", "Mist"]
    assert frame["x"].dtype == float


@pytest.mark.parametrize("backend", ["pandas", "duckdb"])
def test_codes_are_one_category_whether_or_not_a_batch_also_holds_words(
    tmp_path: Path, backend: str
) -> None:
    # pandas types the current batch's categories as numbers (all are), the reference's not.
    reference, current = tmp_path / "ref.csv", tmp_path / "cur.csv"
    reference.write_text("code,x\n" + "01,1\n02,2\n" * 20 + "other,3\n")
    current.write_text("code,x\n" + "01,1\n02,2\n" * 10)
    report = compare_files(reference, current, DriftConfig(), backend, cache=False)
    (code,) = [f for f in report.features if f.feature == "code"]
    assert (code.kind, code.n_reference, code.n_current) == ("categorical", 41, 20)
    expected = stats.chi2_contingency([[20, 20, 1], [10, 10, 0]])  # "01", "02", "other"
    assert code.statistic == pytest.approx(expected.statistic, rel=1e-12)


def _lake_table() -> pa.Table:
    """Types a lake holds beyond _tricky_frame's: small and unsigned integers with gaps,
    float32, dictionaries of text and of integers, large strings, -0.0 and NaN as categories."""
    return pa.table(
        {
            "int8_gaps": pa.array([1, None, 3, 3, -2, None, 7], pa.int8()),
            "uint64": pa.array([2**63 + 1, 0, 5, 5, 2**64 - 1, 1, 2], pa.uint64()),
            "float32": pa.array([0.1, -0.0, float("nan"), None, 2.5, 0.1, 1e30], pa.float32()),
            "words": pa.array(["a", "b", None, "a", "", "c", "b"]).dictionary_encode(),
            "codes": pa.array([1, 2, 2, None, 3, 10, 1]).dictionary_encode(),
            "long_text": pa.array(["x", None, "y", "x", "1", "1.0", "true"], pa.large_string()),
            "float_codes": pa.array([0.0, -0.0, float("nan"), None, 1.0, 1.5, 1.0]),
            "int_codes": pa.array([1, 2, None, 2, 2, 3, 1]),
            "flags": pa.array([True, None, False, True, True, False, None]),
        }
    )


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "inferred"])
def test_pandas_summarises_parquet_from_arrow_as_from_a_data_frame(
    tmp_path: Path, declared: bool
) -> None:
    # The pandas backend summarises Parquet from the Arrow table; what it gives must be what
    # summarising the data frame pandas reads gives (the path it replaces), for every type,
    # also with several row groups (a chunk, and a dictionary, each).
    table = pa.Table.from_pandas(_tricky_frame(), preserve_index=False)
    lake = _lake_table()
    for name in lake.column_names:
        table = table.append_column(name, lake.column(name))
    path = tmp_path / "lake.parquet"
    pq.write_table(table, path, row_group_size=3)
    categorical = {"code", "weather", "flag", "flag_gaps", "mixed", "words", "codes",
                   "long_text", "float_codes", "int_codes", "flags"}  # fmt: skip
    untested = {"day"}  # a date: neither kind
    plan: Plan = dict.fromkeys(table.column_names)
    if declared:
        plan = {name: "categorical" if name in categorical else "numeric" for name in plan
                if name not in untested}  # fmt: skip
    by_arrow = PandasBackend().summarise(path, plan, SETTINGS, "lake")
    by_frame = summarise_frame(pd.read_parquet(path), plan, SETTINGS, "lake")
    assert by_arrow.features == by_frame.features
    assert list(by_arrow.features) == [name for name in plan if name in table.column_names]
    assert by_arrow.columns == tuple(table.column_names)
    # The Arrow path, not the fallback, summarised these (so the comparison is not vacuous).
    arrow_read = pq.read_table(path)
    for name in ["x", "int8_gaps", "uint64", "float32", "flag", "flags", "big", "constant"]:
        summary = summarise_column(arrow_read.column(name), plan[name], SETTINGS)
        assert summary == by_frame.features[name], name
    if declared:
        for name in ["words", "codes", "long_text", "float_codes", "int_codes", "weather"]:
            assert summarise_column(arrow_read.column(name), plan[name], SETTINGS) is not None
        assert by_arrow.features["codes"].counts == {"1": 2, "10": 1, "2": 2, "3": 1}  # type: ignore[union-attr]
        assert by_arrow.features["float_codes"].missing == 2  # type: ignore[union-attr]  # NaN, null


# --- Parquet and CSV give the same results -------------------------------------------------


@pytest.mark.parametrize("backend", ["pandas", "duckdb", "auto"])
def test_parquet_batches_give_the_results_of_their_csv(tmp_path: Path, backend: str) -> None:
    config = load_config(CONFIG)
    reference, current = as_parquet(REFERENCE, tmp_path), as_parquet(CURRENT, tmp_path)
    from_parquet = compare_files(reference, current, config, backend, names=("r", "c"))
    from_csv = compare(read_batch(REFERENCE, config), read_batch(CURRENT, config), config,
                       names=("r", "c"))  # fmt: skip
    assert from_parquet == from_csv
    assert from_csv.features_drifted > 0


def test_auto_takes_duckdb_for_large_files_of_each_format_and_pandas_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parquet = as_parquet(REFERENCE, tmp_path)
    assert parquet.stat().st_size < drift.backends.AUTO_DUCKDB_PARQUET_BYTES
    assert choose_backend("auto", REFERENCE, REFERENCE).name == "pandas"
    assert choose_backend("auto", REFERENCE, parquet).name == "pandas"
    monkeypatch.setattr(drift.backends, "AUTO_DUCKDB_PARQUET_BYTES", parquet.stat().st_size)
    assert choose_backend("auto", REFERENCE, parquet).name == "duckdb"
    assert choose_backend("auto", REFERENCE, REFERENCE).name == "pandas"  # CSV: its own limit
    monkeypatch.setattr(drift.backends, "AUTO_DUCKDB_BYTES", REFERENCE.stat().st_size)
    assert choose_backend("auto", REFERENCE, REFERENCE).name == "duckdb"
    with pytest.raises(DriftInputError, match="backend must be one of auto, pandas, duckdb"):
        choose_backend("polars", REFERENCE)


# --- the reference's summary, computed once -----------------------------------------------


class Counting:
    """A summarise() callback that counts its calls."""

    def __init__(self, path: Path, plan: Plan) -> None:
        self.path, self.plan, self.calls = path, plan, 0

    def __call__(self) -> BatchSummary:
        self.calls += 1
        return PandasBackend().summarise(self.path, self.plan, SETTINGS, self.path.name)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "ref.csv"
    path.write_bytes(REFERENCE.read_bytes())
    return path


def test_the_reference_summary_is_computed_once_and_reused(batch: Path) -> None:
    plan = inferred(batch)
    summarise = Counting(batch, plan)
    first = cached_summary(batch, plan, SETTINGS, summarise)
    again = cached_summary(batch, plan, SETTINGS, summarise)
    assert summarise.calls == 1
    assert again == first == summarise()
    assert len(list((batch.parent / CACHE_FOLDER).glob("ref.csv.*.npz"))) == 1


def test_a_changed_file_plan_or_setting_is_summarised_again(batch: Path) -> None:
    plan = inferred(batch)
    summarise = Counting(batch, plan)
    cached_summary(batch, plan, SETTINGS, summarise)
    cached_summary(batch, {"temp": "numeric"}, SETTINGS, summarise)
    cached_summary(batch, plan, SummarySettings(max_distinct=5), summarise)
    assert summarise.calls == 3
    lines = batch.read_text().splitlines()
    batch.write_text("\n".join(lines[:-1]) + "\n")  # one row fewer: the same size no more
    changed = cached_summary(batch, plan, SETTINGS, summarise)
    assert summarise.calls == 4
    assert changed.features["cnt"].rows == len(lines) - 2
    assert len(list((batch.parent / CACHE_FOLDER).glob("ref.csv.*.npz"))) == 1  # old ones gone


def test_an_edit_that_keeps_the_size_and_mtime_is_still_seen(batch: Path) -> None:
    import os

    plan = inferred(batch)
    summarise = Counting(batch, plan)
    before = cached_summary(batch, plan, SETTINGS, summarise)
    stat = batch.stat()
    text = batch.read_text()
    batch.write_text(text.replace("Clear", "Clouds", 1).replace("Clear", "Clea", 1))  # same size
    os.utime(batch, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = cached_summary(batch, plan, SETTINGS, summarise)
    assert summarise.calls == 2
    assert after != before


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a zip", "flip"],
    ids=["empty", "garbage", "flipped-byte"],
)
def test_a_corrupt_cache_entry_is_ignored_and_written_anew(
    batch: Path, damage: bytes | str, caplog: pytest.LogCaptureFixture
) -> None:
    plan = inferred(batch)
    summarise = Counting(batch, plan)
    expected = cached_summary(batch, plan, SETTINGS, summarise)
    [entry] = (batch.parent / CACHE_FOLDER).glob("*.npz")
    content = entry.read_bytes()
    if damage == "flip":
        middle = len(content) // 2
        content = content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1 :]
    else:
        content = damage  # type: ignore[assignment]
    entry.write_bytes(content)
    assert cached_summary(batch, plan, SETTINGS, summarise) == expected
    assert summarise.calls == 2
    assert "unreadable summary cache entry" in caplog.text
    assert cached_summary(batch, plan, SETTINGS, summarise) == expected  # rewritten: reused
    assert summarise.calls == 2


def test_an_entry_of_another_key_under_this_name_is_not_used(batch: Path) -> None:
    plan = inferred(batch)
    cached_summary(batch, plan, SETTINGS, Counting(batch, plan))
    [entry] = (batch.parent / CACHE_FOLDER).glob("*.npz")
    other = batch.parent / "other.csv"
    other.write_text("temp\n1.0\n2.0\n")
    other_plan: Plan = {"temp": None}
    cached_summary(other, other_plan, SETTINGS, Counting(other, other_plan))
    [other_entry] = (batch.parent / CACHE_FOLDER).glob("other.csv.*.npz")
    entry.write_bytes(other_entry.read_bytes())  # a valid entry, for another key
    summarise = Counting(batch, plan)
    assert cached_summary(batch, plan, SETTINGS, summarise).features["temp"].present == 4322
    assert summarise.calls == 1


def test_an_unwritable_cache_folder_only_warns(
    batch: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (batch.parent / CACHE_FOLDER).write_text("a file where the folder should be")
    plan = inferred(batch)
    summary = cached_summary(batch, plan, SETTINGS, Counting(batch, plan))
    assert summary.features["temp"].present == 4322
    assert "summary not cached" in caplog.text


def test_the_cache_can_live_in_a_folder_of_its_own_for_read_only_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFT_SUMMARY_CACHE", str(tmp_path / "cache"))
    batches = []
    for folder in ("a", "b"):  # one file name in two data folders, different contents
        (tmp_path / folder).mkdir()
        batches.append(tmp_path / folder / "ref.csv")
    batches[0].write_text("x\n1\n2\n")
    batches[1].write_text("x\n3\n4\n5\n")
    counters = [Counting(path, {"x": None}) for path in batches]
    for _ in range(2):
        for path, summarise in zip(batches, counters, strict=True):
            cached_summary(path, {"x": None}, SETTINGS, summarise)
    assert [c.calls for c in counters] == [1, 1]  # each kept its entry
    assert not any((tmp_path / folder / CACHE_FOLDER).exists() for folder in ("a", "b"))
    assert len(list((tmp_path / "cache").glob("*/ref.csv.*.npz"))) == 2


def test_cached_and_fresh_summaries_give_the_same_report(batch: Path) -> None:
    config = load_config(CONFIG)
    fresh = compare_files(batch, CURRENT, config, cache=False)
    first = compare_files(batch, CURRENT, config)
    reused = compare_files(batch, CURRENT, config)
    assert fresh == first == reused
    assert not any(math.isnan(f.p_value or 0.0) for f in reused.features)


def test_categorical_summaries_survive_the_cache_with_any_label(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text('k\nŚnieg ❄\n"a,b"\n"""q"""\n')
    plan: Plan = {"k": "categorical"}
    summarise = Counting(path, plan)
    first = cached_summary(path, plan, SETTINGS, summarise)
    assert cached_summary(path, plan, SETTINGS, summarise) == first
    assert first.features["k"] == categorical_summary(["Śnieg ❄", "a,b", '"q"'], [1, 1, 1], 0)
