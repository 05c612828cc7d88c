"""The rule preview evaluates rules as Grafana does. The rules are built here, not taken from
alerting/ (but for the drift rule, at the end), and run against a small Prometheus HTTP API
stand-in (the real Prometheus runs in test_end_to_end.py). Every expected value comes from
Grafana's source or its tests (grafana/grafana; each test names the file), never from the
preview's code."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

import names
from conftest import JsonHandler, serving
from provisioning.discover import discover
from provisioning.expressions import NO_LABELS, DropNonNumbers, Reduce, ReplaceNonNumbers, Series
from provisioning.kinds import RuleGroups, Stack
from provisioning.preview import Instance, PreviewError, PrometheusUnreachable, preview
from provisioning.settings import load_settings

# PromQL -> what Prometheus answers as "data"; any other query is refused as a bad query.
ANSWERS: dict[str, dict[str, Any]] = {}
ASKED: list[tuple[str, dict[str, str]]] = []  # (API path, parameters) of each request
T0 = 1_700_000_000


@pytest.fixture(scope="module")
def prometheus() -> Iterator[str]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query))
            ASKED.append((parts.path, params))
            data = ANSWERS.get(params["query"])
            if data is None:
                body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
            else:
                body = {"status": "success", "data": data}
            self.reply(400 if data is None else 200, json.dumps(body).encode())

    with serving(Handler) as url:
        yield url


def vector(*samples: tuple[dict[str, str], str]) -> dict[str, Any]:
    result = [{"metric": labels, "value": [T0, value]} for labels, value in samples]
    return {"resultType": "vector", "result": result}


def matrix(*series: tuple[dict[str, str], list[str]]) -> dict[str, Any]:
    result = [
        {"metric": labels, "values": [[T0 + 15 * i, v] for i, v in enumerate(values)]}
        for labels, values in series
    ]
    return {"resultType": "matrix", "result": result}


# --- rules, in Grafana's provisioning format ------------------------------------------------


def query(ref: str, expr: str, instant: bool = True) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": "prom",
        "relativeTimeRange": {"from": 600, "to": 0},
        "model": {"expr": expr, "instant": instant, "range": not instant},
    }


def expression(ref: str, kind: str, **model: Any) -> dict[str, Any]:
    return {"refId": ref, "datasourceUid": "__expr__", "model": {"type": kind, **model}}


def reduce(ref: str, source: str, reducer: str = "last", mode: str = "") -> dict[str, Any]:
    settings = {"mode": mode, "replaceWithValue": 0.5}
    return expression(ref, "reduce", expression=source, reducer=reducer, settings=settings)


def threshold(ref: str, source: str, kind: str, *params: float) -> dict[str, Any]:
    conditions = [{"evaluator": {"type": kind, "params": list(params)}}]
    return expression(ref, "threshold", expression=source, conditions=conditions)


def formula(ref: str, text: str) -> dict[str, Any]:
    return expression(ref, "math", expression=text)


def rule(
    *data: dict[str, Any], condition: str, no_data: str = "NoData", exec_err: str = "Error"
) -> dict[str, Any]:
    return {
        "title": "rule",
        "condition": condition,
        "data": list(data),
        "noDataState": no_data,
        "execErrState": exec_err,
        "labels": {"routed": "true"},
    }


def run(prometheus: str, *rules: dict[str, Any]) -> list[Instance]:
    return preview({"rules": list(rules)}, "Folder", prometheus)


def thresholded(expr: str, kind: str, *params: float, mode: str = "", reducer: str = "last"):
    """The usual rule: query q, v its reduce, c the threshold on v."""
    return rule(
        query("q", expr),
        reduce("v", "q", reducer, mode),
        threshold("c", "v", kind, *params),
        condition="c",
    )


def firing(prometheus: str, expr: str, kind: str, *params: float, **options: str) -> set[str]:
    instances = run(prometheus, thresholded(expr, kind, *params, **options))
    return {i.labels["f"] for i in instances if i.firing}


def by_series(instances: list[Instance], name: str) -> dict[str, float]:
    """Each instance's value of ``name``, by its "f" label."""
    return {i.labels.get("f", ""): i.values[name] for i in instances}


# --- thresholds (pkg/expr/threshold.go) -----------------------------------------------------

# Values exactly at a threshold or at a range's ends, as Prometheus writes them.
BOUNDARIES = [
    ({"f": "below"}, "0.01"),
    ({"f": "left"}, "0.02"),
    ({"f": "between"}, "0.03"),
    ({"f": "at"}, "0.05"),
    ({"f": "inside"}, "0.3"),
    ({"f": "right"}, "0.6"),
    ({"f": "above"}, "0.7"),
]
EVERYTHING = {labels["f"] for labels, _ in BOUNDARIES}


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        # threshold.go's predicates: gt f > v, lt f < v, eq f == v, ne f != v, gte f >= v,
        # lte f <= v, within_range l < f < r, outside_range f < l || f > r, and the *_included
        # ranges l <= f <= r and f <= l || f >= r.
        ("lt", [0.05], {"below", "left", "between"}),
        ("gt", [0.05], {"inside", "right", "above"}),
        ("eq", [0.05], {"at"}),
        ("ne", [0.05], EVERYTHING - {"at"}),
        ("gte", [0.05], {"at", "inside", "right", "above"}),
        ("lte", [0.05], {"below", "left", "between", "at"}),
        ("within_range", [0.02, 0.6], {"between", "at", "inside"}),
        ("outside_range", [0.02, 0.6], {"below", "above"}),
        ("within_range_included", [0.02, 0.6], {"left", "between", "at", "inside", "right"}),
        ("outside_range_included", [0.02, 0.6], {"below", "left", "right", "above"}),
        # Bounds taken in the order given: nothing lies above 0.6 and below 0.02, and
        # everything is below 0.6 or above 0.02.
        ("within_range", [0.6, 0.02], set()),
        ("outside_range", [0.6, 0.02], EVERYTHING),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_thresholds_at_their_bounds(
    prometheus: str, kind: str, params: list[float], expected: set[str]
) -> None:
    ANSWERS["bounds"] = vector(*BOUNDARIES)
    assert firing(prometheus, "bounds", kind, *params) == expected


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("gt", [1.0]),
        ("lt", [1.0]),
        ("eq", [1.0]),
        ("ne", [1.0]),
        ("gte", [1.0]),
        ("lte", [1.0]),
        ("within_range", [0.0, 1.0]),
        ("outside_range", [0.0, 1.0]),
        ("within_range_included", [0.0, 1.0]),
        ("outside_range_included", [0.0, 1.0]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_nan_reaching_a_threshold_fires_only_not_equal(
    prometheus: str, kind: str, params: list[float]
) -> None:
    # threshold.go: every predicate compares with Go's operators, false for NaN but "!=".
    # (Grafana before 11.1 ran thresholds as math, where NaN made the instance Alerting.)
    ANSWERS["n"] = vector(({"f": "nan"}, "NaN"))
    [instance] = run(prometheus, thresholded("n", kind, *params))
    expected = 1.0 if kind == "ne" else 0.0
    assert (instance.state, instance.values["c"]) == (
        "Alerting" if expected else "Normal",
        expected,
    )


def test_a_recovery_threshold_is_not_applied_on_a_first_evaluation(prometheus: str) -> None:
    # hysteresis.go: with no instance firing before (LoadedDimensions empty) only the
    # "evaluator" applies, never the "unloadEvaluator".
    ANSWERS["p"] = vector(({"f": "a"}, "0.5"))
    hysteresis = thresholded("p", "gt", 1.0)
    hysteresis["data"][2]["model"]["conditions"][0]["unloadEvaluator"] = {
        "type": "lt",
        "params": [0.1],
    }
    [instance] = run(prometheus, hysteresis)
    assert (instance.state, instance.values["c"]) == ("Normal", 0.0)


# --- the condition's value (pkg/services/ngalert/eval/eval.go) ------------------------------


@pytest.mark.parametrize(
    ("value", "state"),
    [("0", "Normal"), ("0.3", "Alerting"), ("NaN", "Alerting"), ("-Inf", "Alerting")],
)
def test_the_condition_fires_on_any_value_but_zero_nan_included(
    prometheus: str, value: str, state: str
) -> None:
    # eval.go evaluateExecutionResult: "0 results in Normal. Nonzero (e.g 1.2, NaN) results
    # in Alerting." Here the condition is the reduce itself, no threshold.
    ANSWERS["v"] = vector(({"f": "a"}, value))
    [instance] = run(prometheus, rule(query("A", "v"), reduce("B", "A"), condition="B"))
    assert instance.state == state


@pytest.mark.parametrize(
    ("text", "value", "state"),
    [
        ("1 * $v", math.nan, "Alerting"),  # a NaN operand gives NaN
        ("$v > 1", math.nan, "Alerting"),  # comparisons too, unlike a threshold
        ("1 || $v", 1.0, "Alerting"),  # "||" decides on its non-zero left side first
        ("0 && $v", 0.0, "Normal"),  # "&&" on its zero left side
        ("! $v", math.nan, "Alerting"),
    ],
)
def test_nan_in_math_follows_gos_operators(
    prometheus: str, text: str, value: float, state: str
) -> None:
    # mathexp/exp.go binaryOp and unaryOp; the cases of exp_nan_null_val_test.go TestNaN.
    ANSWERS["n"] = vector(({"f": "a"}, "NaN"))
    data = query("q", "n"), reduce("v", "q"), formula("c", text)
    [instance] = run(prometheus, rule(*data, condition="c"))
    got = instance.values["c"]
    assert (math.isnan(got) if math.isnan(value) else got == value) and instance.state == state


def test_a_null_condition_is_no_data_for_that_series(prometheus: str) -> None:
    # exp_nan_null_val_test.go TestNullValues: a null operand gives null; eval.go: a null
    # condition value is NoData, for that instance (its labels kept); funcs.go is_null.
    ANSWERS["v"] = vector(({"f": "a"}, "1"))
    data = query("q", "v"), reduce("v", "q"), formula("nothing", "$v + null()")
    [instance] = run(prometheus, rule(*data, condition="nothing"))
    assert (instance.state, instance.labels["f"]) == ("NoData", "a")
    assert instance.values["v"] == 1.0 and math.isnan(instance.values["nothing"])  # null: NaN
    [flagged] = run(prometheus, rule(*data, formula("flag", "is_null($nothing)"), condition="flag"))
    assert (flagged.state, flagged.values["flag"]) == ("Alerting", 1.0)


# --- no data and execution errors (eval.go, state/state.go, state/compat.go) --------------------


@pytest.mark.parametrize(
    ("no_data", "state"),
    [("NoData", "NoData"), ("Alerting", "Alerting"), ("OK", "Normal"), ("KeepLast", "Normal")],
)
def test_a_query_with_no_series_gives_the_rules_no_data_state(
    prometheus: str, no_data: str, state: str
) -> None:
    # eval.go: a query that answers nothing makes one NoData result labelled with the data
    # source and the query; state.go resultNoData maps it by noDataState (KeepLast keeps the
    # previous state, Normal for a first evaluation); compat.go renames a NoData alert.
    ANSWERS["absent"] = vector()
    [instance] = run(
        prometheus, rule(query("A", "absent"), reduce("B", "A"), condition="B", no_data=no_data)
    )
    assert (instance.state, instance.reason) == (state, "NoData")
    assert instance.labels == {
        "alertname": "DatasourceNoData" if state == "NoData" else "rule",
        "grafana_folder": "Folder",
        "routed": "true",
        "datasource_uid": "prom",
        "ref_id": "A",
    } | ({"rulename": "rule"} if state == "NoData" else {})
    assert instance.firing == (state != "Normal")


def test_any_query_with_no_series_makes_the_whole_rule_no_data(prometheus: str) -> None:
    # eval.go: NoData as soon as one data source query answers nothing, whatever the others
    # answer; its ref_id lists the silent queries, sorted and joined by ",".
    ANSWERS.update(v=vector(({"f": "a"}, "1")), absent=vector(), gone=vector())
    data = query("B", "absent"), query("A", "gone"), query("C", "v"), reduce("D", "C")
    [instance] = run(prometheus, rule(*data, condition="D"))
    assert (instance.state, instance.labels["ref_id"]) == ("NoData", "A,B")


@pytest.mark.parametrize(
    ("exec_err", "state"),
    [("Error", "Error"), ("Alerting", "Alerting"), ("OK", "Normal"), ("KeepLast", "Normal")],
)
def test_a_failing_query_gives_the_rules_error_state(
    prometheus: str, exec_err: str, state: str
) -> None:
    # state.go resultError: by execErrState; only the Error state carries the failed query
    # as labels (AddErrorInformation); compat.go renames an Error alert.
    [instance] = run(
        prometheus, rule(query("A", "bad("), reduce("B", "A"), condition="B", exec_err=exec_err)
    )
    assert (instance.state, instance.reason) == (state, "Error")
    assert "failed to execute query A: bad_data: parse error" in instance.error
    labels = {"alertname": "rule", "grafana_folder": "Folder", "routed": "true"}
    if state == "Error":
        error_labels = {"ref_id": "A", "datasource_uid": "prom"}
        labels |= error_labels | {"alertname": "DatasourceError", "rulename": "rule"}
    assert instance.labels == labels


def test_a_failing_query_the_condition_does_not_read_is_no_data(prometheus: str) -> None:
    # eval.go FindConditionError follows the condition only; the failed query answered no
    # frames, which IsNoData counts as no data.
    ANSWERS["v"] = vector(({"f": "a"}, "1"))
    data = query("A", "v"), query("X", "bad("), reduce("B", "A")
    [instance] = run(prometheus, rule(*data, condition="B"))
    assert (instance.state, instance.labels["ref_id"]) == ("NoData", "X")


def test_a_failing_expression_is_an_execution_error(prometheus: str) -> None:
    # commands.go ReduceCommand: "can only reduce type series, got type scalar".
    [instance] = run(prometheus, rule(formula("A", "1"), reduce("B", "A"), condition="B"))
    assert instance.state == "Error"
    assert instance.error == "can only reduce type series, got type scalar"
    assert "ref_id" not in instance.labels  # not a query's failure


def test_a_condition_on_unreduced_series_is_an_error(prometheus: str) -> None:
    # eval.go: "looks like time series data, only reduced data can be alerted on."
    ANSWERS["r"] = matrix(({"f": "a"}, ["1", "2"]))
    [instance] = run(prometheus, rule(query("A", "r", instant=False), condition="A"))
    assert instance.state == "Error" and "only reduced data can be alerted on" in instance.error


def test_duplicate_instance_labels_are_one_error(prometheus: str) -> None:
    # union_test.go "A with different tags keys lengths to B makes 3 unions (with two unions
    # have matching tags)"; eval.go then refuses results it cannot tell apart.
    ANSWERS["a"] = vector(({"id": "1"}, "1"), ({"id": "1", "fish": "herring"}, "2"))
    ANSWERS["b"] = vector(
        ({"id": "1", "fish": "herring"}, "3"), ({"id": "1", "fish": "red snapper"}, "4")
    )
    data = query("A", "a"), query("B", "b"), formula("C", "$A + $B")
    [instance] = run(prometheus, rule(*data, condition="C"))
    assert instance.state == "Error" and "cannot uniquely be identified" in instance.error


# --- reduce (pkg/expr/commands.go, pkg/expr/mathexp/reduce.go) -------------------------------

NON_NUMBERS = [({"f": "nan"}, "NaN"), ({"f": "inf"}, "+Inf"), ({"f": "-inf"}, "-Inf")]


@pytest.mark.parametrize("reducer", ["last", "mean", "min", "max", "sum", "count", "median"])
def test_every_reducer_passes_an_instant_value_through(prometheus: str, reducer: str) -> None:
    # commands.go: a Number is already reduced; the reducer is not applied.
    ANSWERS["p"] = vector(({"f": "a"}, "0.01"), ({"f": "b"}, "0.5"))
    assert firing(prometheus, "p", "lt", 0.05, reducer=reducer) == {"a"}


def test_instant_non_numbers_by_mode(prometheus: str) -> None:
    # commands.go on Numbers: strict keeps them, dropNN leaves them out of the results
    # (commands_test.go "drop all non numbers if mapper is DropNonNumber"), replaceNN
    # replaces them (here by 0.5).
    ANSWERS["nn"] = vector(*NON_NUMBERS, ({"f": "number"}, "0.01"))
    strict = run(prometheus, thresholded("nn", "lt", 1.0))
    assert {i.labels["f"]: i.state for i in strict} == {
        "nan": "Normal",
        "inf": "Normal",
        "-inf": "Alerting",
        "number": "Alerting",
    }
    assert [
        i.labels["f"] for i in run(prometheus, thresholded("nn", "lt", 1.0, mode="dropNN"))
    ] == ["number"]
    replaced = run(prometheus, thresholded("nn", "lt", 1.0, mode="replaceNN"))
    assert by_series(replaced, "v") == {"nan": 0.5, "inf": 0.5, "-inf": 0.5, "number": 0.01}


@pytest.mark.parametrize(
    ("points", "reducer", "mode", "expected"),
    [
        # reduce_test.go: TestSeriesReduce, TestSeriesReduceDropNN, TestSeriesReduceReplaceNN
        (["1", "2"], "last", "", 2.0),
        (["1", "2"], "mean", "", 1.5),
        (["2", "NaN"], "mean", "", math.nan),
        (["2", "NaN"], "mean", "dropNN", 2.0),
        (["2", "NaN"], "count", "", 2.0),
        (["2", "NaN"], "count", "dropNN", 1.0),
        (["NaN", "-Inf", "+Inf"], "mean", "replaceNN", 0.5),
    ],
)
def test_a_range_query_is_reduced_point_by_point(
    prometheus: str, points: list[str], reducer: str, mode: str, expected: float
) -> None:
    ANSWERS["r"] = matrix(({"f": "a"}, points))
    ASKED.clear()
    [instance] = run(
        prometheus,
        rule(query("q", "r", instant=False), reduce("v", "q", reducer, mode), condition="v"),
    )
    got = instance.values["v"]
    assert math.isnan(got) if math.isnan(expected) else got == expected
    assert [path for path, _ in ASKED] == ["/api/v1/query_range"]


def test_a_series_left_empty_by_drop_nn_is_no_data(prometheus: str) -> None:
    # reduce_test.go "DropNN: mean series that becomes empty after filtering non-number": nil,
    # which eval.go makes NoData.
    ANSWERS["r"] = matrix(({"f": "a"}, ["NaN", "-Inf", "+Inf"]))
    data = query("A", "r", instant=False), reduce("B", "A", "mean", "dropNN")
    [instance] = run(prometheus, rule(*data, condition="B"))
    assert (instance.state, instance.labels["f"]) == ("NoData", "a")


def series(*values: float | None) -> Series:
    return Series(NO_LABELS, tuple((T0 + i, v) for i, v in enumerate(values)))


@pytest.mark.parametrize(
    ("points", "reducer", "mapper", "expected"),
    [
        # reduce_test.go cases with null points, which Prometheus never sends.
        ((), "last", None, math.nan),  # "last empty series"
        ((2.0, None), "last", None, None),  # "last null series"
        ((2.0, None), "sum", None, math.nan),  # "sum series with a nil value"
        ((), "sum", None, 0.0),  # "sum empty series"
        ((), "mean", None, math.nan),  # "mean empty series"
        ((), "min", None, math.nan),  # "min empty series"
        ((), "max", None, math.nan),  # "max empty series"
        ((), "count", None, 0.0),  # "count empty series"
        ((2.0, None), "sum", DropNonNumbers(), 2.0),  # "dropNN: sum series with a nil value"
        ((), "mean", DropNonNumbers(), None),  # "DropNN: mean empty series"
        ((2.0, None), "count", DropNonNumbers(), 1.0),
        ((2.0, None), "count", ReplaceNonNumbers(0.5), 2.0),
        ((2.0, None), "mean", ReplaceNonNumbers(0.5), 1.25),  # (2 + replaceWith) / 2
        ((), "mean", ReplaceNonNumbers(0.5), 0.5),  # "replaceNN: mean empty series"
    ],
)
def test_reduce_over_points_with_nulls(
    points: tuple[float | None, ...], reducer: str, mapper: Any, expected: float | None
) -> None:
    [number] = Reduce("A", reducer, mapper).execute({"A": [series(*points)]})
    got = number.value  # type: ignore[union-attr]
    if expected is None or got is None:
        assert got is expected
    else:
        assert math.isnan(got) if math.isnan(expected) else got == expected


# --- math (pkg/expr/mathexp/exp.go union, funcs.go) --------------------------------------------


def math_values(prometheus: str, text: str, **answers: dict[str, Any]) -> list[Instance]:
    """The instances of condition ``result`` = ``text``, over the queries named in ``answers``."""
    ANSWERS.update({f"q_{ref}": answer for ref, answer in answers.items()})
    data = [query(ref, f"q_{ref}") for ref in answers]
    return run(
        prometheus, rule(*data, formula("result", text), condition="result", no_data="NoData")
    )


def test_math_pairs_series_with_equal_labels(prometheus: str) -> None:
    # union_test.go "equal tags single union"
    a = vector(({"f": "a"}, "3"), ({"f": "b"}, "5"))
    b = vector(({"f": "b"}, "2"), ({"f": "a"}, "1"))
    assert by_series(math_values(prometheus, "$A - $B", A=a, B=b), "result") == {"a": 2.0, "b": 3.0}


def test_math_with_a_scalar_keeps_each_series(prometheus: str) -> None:
    instances = math_values(
        prometheus, "$A * 2 + ${A}", A=vector(({"f": "a"}, "3"), ({"f": "b"}, "5"))
    )
    assert by_series(instances, "result") == {"a": 9.0, "b": 15.0}


def test_math_with_an_unlabelled_side_takes_the_labelled_sides_labels(prometheus: str) -> None:
    # exp.go union: a side with no labels pairs with every value of the other.
    a = vector(({"f": "a"}, "3"), ({"f": "b"}, "5"))
    instances = math_values(prometheus, "$A - $B", A=a, B=vector(({}, "1")))
    assert by_series(instances, "result") == {"a": 2.0, "b": 4.0}


def test_math_pairs_a_subset_and_takes_the_larger_labels(prometheus: str) -> None:
    # union_test.go "A is subset of B results in single union with Labels of B"
    a = vector(({"id": "1"}, "1"))
    b = vector(({"id": "1", "fish": "herring"}, "2"))
    [instance] = math_values(prometheus, "$A + $B", A=a, B=b)
    assert instance.labels["fish"] == "herring" and instance.values["result"] == 3.0


def test_math_pairs_one_value_per_side_whatever_its_labels(prometheus: str) -> None:
    # union_test.go "equal tags keys with no matching values will result in a union when
    # len(A) == 1 && len(B) == 1": the result has no labels.
    [instance] = math_values(
        prometheus, "$A + $B", A=vector(({"id": "1"}, "1")), B=vector(({"id": "2"}, "2"))
    )
    assert "id" not in instance.labels and instance.values["result"] == 3.0


def test_math_drops_unmatched_labels_then_the_rule_has_no_data(prometheus: str) -> None:
    # union_test.go "... will result in no unions when len(A) != 1 && len(B) != 1"; eval.go:
    # a condition with no result is NoData, without a data source label (no query was silent).
    # Grafana's Prometheus frames keep __name__ (promlib/converter prom-vector-frame.jsonc),
    # so two metrics never pair by their other labels alone.
    a = vector(({"__name__": "p", "f": "a"}, "1"), ({"__name__": "p", "f": "b"}, "2"))
    b = vector(({"__name__": "alpha", "f": "a"}, "1"), ({"__name__": "alpha", "f": "b"}, "2"))
    [instance] = math_values(prometheus, "$A - $B", A=a, B=b)
    assert instance.state == "NoData" and "datasource_uid" not in instance.labels


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # Go's math package, which funcs.go calls: Round halves away from zero.
        ("round", {"a": 3.0, "b": -3.0, "c": 0.0, "d": 2.0}),
        ("ceil", {"a": 3.0, "b": -2.0, "c": 1.0, "d": 2.0}),
        ("floor", {"a": 2.0, "b": -3.0, "c": 0.0, "d": 1.0}),
        ("abs", {"a": 2.5, "b": 2.5, "c": 0.4, "d": 1.7}),
    ],
)
def test_math_rounding_functions(
    prometheus: str, function: str, expected: dict[str, float]
) -> None:
    a = vector(({"f": "a"}, "2.5"), ({"f": "b"}, "-2.5"), ({"f": "c"}, "0.4"), ({"f": "d"}, "1.7"))
    assert by_series(math_values(prometheus, f"{function}($A)", A=a), "result") == expected


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # funcs.go: is_nan, is_inf (either sign), is_number (not NaN, infinite or null);
        # Go's math.Log: Log(0) = -Inf, Log(x < 0) = NaN.
        ("is_nan", {"nan": 1.0, "inf": 0.0, "one": 0.0, "zero": 0.0, "minus": 0.0}),
        ("is_inf", {"nan": 0.0, "inf": 1.0, "one": 0.0, "zero": 0.0, "minus": 0.0}),
        ("is_number", {"nan": 0.0, "inf": 0.0, "one": 1.0, "zero": 1.0, "minus": 1.0}),
        (
            "log",
            {"nan": math.nan, "inf": math.inf, "one": 0.0, "zero": -math.inf, "minus": math.nan},
        ),
    ],
)
def test_math_value_tests(prometheus: str, function: str, expected: dict[str, float]) -> None:
    a = vector(
        ({"f": "nan"}, "NaN"),
        ({"f": "inf"}, "+Inf"),
        ({"f": "one"}, "1"),
        ({"f": "zero"}, "0"),
        ({"f": "minus"}, "-1"),
    )
    got = by_series(math_values(prometheus, f"{function}($A)", A=a), "result")
    assert {k: "NaN" if math.isnan(v) else v for k, v in got.items()} == {
        k: "NaN" if math.isnan(v) else v for k, v in expected.items()
    }


# --- instances: labels, values, output -------------------------------------------------------


def test_instances_carry_built_in_then_rule_then_series_labels(prometheus: str) -> None:
    # state/cache.go expandAnnotationsAndLabels: alertname and grafana_folder win over the
    # rule's labels, which win over the series'; the series' __name__ stays.
    ANSWERS["p"] = vector(({"__name__": "p", "f": "a", "routed": "no", "alertname": "x"}, "0.01"))
    [instance] = run(prometheus, thresholded("p", "lt", 0.05))
    assert instance.labels == {
        "__name__": "p",
        "f": "a",
        "routed": "true",
        "alertname": "rule",
        "grafana_folder": "Folder",
    }


def test_values_are_named_by_refid_or_by_what_they_compute(prometheus: str) -> None:
    ANSWERS["up"] = vector(({"f": "a"}, "0"))
    [named] = run(
        prometheus,
        rule(
            query("up_query", "up"),
            reduce("up", "up_query"),
            threshold("down", "up", "lt", 1),
            condition="down",
        ),
    )
    assert named.values == {"up": 0.0, "down": 1.0}  # the expressions', not the query's
    data = query("A", "up"), reduce("B", "A"), threshold("C", "B", "lt", 1)
    [default] = run(prometheus, rule(*data, condition="C"))
    assert default.values == {"last(up)": 0.0, "last(up) < 1": 1.0}
    data = query("A", "up"), reduce("B", "A"), reduce("C", "A"), formula("D", "$B + $C")
    [twice] = run(prometheus, rule(*data, condition="D"))
    assert twice.values == {"last(up) (B)": 0.0, "last(up) (C)": 0.0, "last(up) + last(up)": 0.0}
    ANSWERS["x" * 40] = vector(({"f": "a"}, "0"))  # PromQL is cut at 30 characters
    data = query("A", "x" * 40), reduce("B", "A"), threshold("C", "B", "lt", 1)
    [shortened] = run(prometheus, rule(*data, condition="C"))
    assert list(shortened.values) == [f"last({'x' * 29}…)", f"last({'x' * 29}…) < 1"]


def test_json_output_writes_non_numbers_as_prometheus_does(prometheus: str) -> None:
    ANSWERS["n"] = vector(({"f": "a"}, "NaN"))
    [instance] = run(prometheus, rule(query("q", "n"), reduce("v", "q"), condition="v"))
    assert json.loads(json.dumps(instance.as_json()))["values"] == {"v": "NaN"}


def test_a_paused_rule_has_no_instances(prometheus: str) -> None:
    ANSWERS["p"] = vector(({"f": "a"}, "0.01"))
    assert run(prometheus, thresholded("p", "lt", 0.05) | {"isPaused": True}) == []


# --- what the preview refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            rule(query("A", "p"), reduce("B", "Z"), condition="B"),
            "B reads 'Z', which it does not define",
        ),
        (rule(query("A", "p"), formula("B", "$A +"), condition="B"), "invalid math command"),
        (
            rule(query("A", "p"), reduce("B", "A", "avg"), condition="B"),
            "reduction avg not implemented",
        ),
        (
            rule(query("A", "p"), threshold("B", "A", "above", 1), condition="B"),
            "expected threshold function",
        ),
        (
            rule(query("A", "p"), threshold("B", "A", "within_range", 1), condition="B"),
            "incorrect number of arguments",
        ),
        (
            rule(query("A", "p"), expression("B", "classic_conditions"), condition="B"),
            "does not evaluate 'classic_conditions'",
        ),
        (
            rule(query("A", "p"), reduce("B", "A"), condition="B", no_data="Maybe"),
            "noDataState 'Maybe' is not one of",
        ),
    ],
    ids=["unknown ref", "math syntax", "reducer", "threshold", "params", "classic", "state"],
)
def test_a_rule_grafana_would_refuse_is_one_clear_line(
    prometheus: str, broken: dict[str, Any], message: str
) -> None:
    ANSWERS["p"] = vector(({"f": "a"}, "1"))
    with pytest.raises(PreviewError, match=message):
        run(prometheus, broken)


def test_an_unreachable_prometheus_is_one_clear_line() -> None:
    with pytest.raises(
        PrometheusUnreachable, match=r"cannot reach Prometheus at http://127\.0\.0\.1:1"
    ):
        preview({"rules": [thresholded("p", "lt", 1)]}, "F", "http://127.0.0.1:1")


# --- the repository's drift rule ---------------------------------------------------------------


def test_the_drift_rule_fires_only_where_both_published_thresholds_are_met(
    prometheus: str,
) -> None:
    """The one rule taken from alerting/ (as apply writes it): material drift needs the
    adjusted p-value below the run's alpha and the effect size at least the feature's
    threshold. The stand-in answers each query as Prometheus would for these series."""
    definitions = discover(load_settings(environ={}).values).definitions
    [group] = [w.body for w in RuleGroups(Stack("drift")).wanted(definitions)]
    drift_rule = next(r for r in group["rules"] if r["uid"] == "drift-p-value")
    p_minus_alpha = f"{names.P_VALUE_ADJUSTED} - on(dataset) group_left() {names.DATASET_ALPHA}"
    effect_minus_threshold = f"{names.EFFECT_SIZE} - {names.EFFECT_SIZE_THRESHOLD}"
    # (feature, p, p - alpha, effect, effect - threshold), alpha 0.05, threshold 0.07.
    features = [
        ("both", "0.001", "-0.049", "0.3", "0.23"),
        ("significant_only", "1e-300", "-0.05", "0.02", "-0.05"),
        ("material_only", "0.5", "0.45", "0.9", "0.83"),
        ("at_the_threshold", "0.001", "-0.049", "0.07", "0"),
    ]
    for expr, column in (
        (names.P_VALUE_ADJUSTED, 1), (p_minus_alpha, 2), (names.EFFECT_SIZE, 3),
        (effect_minus_threshold, 4),
    ):  # fmt: skip
        ANSWERS[expr] = vector(*(({"dataset": "d", "feature": f[0]}, f[column]) for f in features))
    instances = run(prometheus, drift_rule)
    assert {i.labels["feature"]: i.firing for i in instances} == {
        "both": True,
        "significant_only": False,
        "material_only": False,
        "at_the_threshold": True,
    }
    both = next(i for i in instances if i.labels["feature"] == "both")
    assert both.values["p_value"] == 0.001 and both.values["effect_size"] == 0.3
