"""The rule preview's expression semantics, against a small Prometheus HTTP API stand-in
(the real Prometheus runs in test_end_to_end.py). The rules are built here, not taken from
alerting/: these tests pin Grafana 11.4's semantics, read from its source (grafana/grafana):

* An instant query's answer reaches the expressions as one number per series
  (pkg/expr/nodes.go: ``isAllFrameVectors`` for Prometheus ``resultType: vector``, then
  ``framesToNumbers``).
* reduce on a number ignores the reducer and passes the value through; mode ``dropNN`` drops the
  series when ``DropNonNumber.MapInput`` maps its value to nil (NaN, +Inf, -Inf), ``replaceNN``
  swaps those for ``replaceWithValue``; the default (strict) mode keeps them
  (pkg/expr/commands.go ``ReduceCommand.Execute``, case ``mathexp.Number``;
  pkg/expr/mathexp/reduce.go ``DropNonNumber`` and ``ReplaceNonNumberWithValue``).
* threshold predicates are strict (pkg/expr/threshold.go): ``gt`` is ``f > value``, ``lt``
  ``f < value``, ``within_range`` ``f > left && f < right``, ``outside_range``
  ``f < left || f > right``; each is false for NaN, so the condition is 0.
* the condition fires where it is non-zero (pkg/services/ngalert/eval/eval.go
  ``evaluateExecutionResult``: 0 is Normal, anything else Alerting).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import Vectors, prometheus_queries
from provisioning.preview import PreviewError, preview

VECTORS: Vectors = {}


@pytest.fixture(scope="module")
def prometheus() -> Iterator[str]:
    with prometheus_queries(VECTORS, refuse_unknown=True) as url:
        yield url


def group(
    expr: str, evaluator: dict[str, Any], mode: str = "", reducer: str = "last"
) -> dict[str, Any]:
    def expression(ref_id: str, model: dict[str, Any]) -> dict[str, Any]:
        return {"refId": ref_id, "datasourceUid": "__expr__", "model": model}

    reduce = {"type": "reduce", "expression": "A", "reducer": reducer}
    threshold = {"type": "threshold", "expression": "B", "conditions": [{"evaluator": evaluator}]}
    return {
        "rules": [
            {
                "title": "rule",
                "condition": "C",
                "labels": {"routed": "true"},
                "data": [
                    {"refId": "A", "datasourceUid": "prom", "model": {"expr": expr}},
                    expression("B", reduce | {"settings": {"mode": mode, "replaceWithValue": 0.5}}),
                    expression("C", threshold),
                ],
            }
        ]
    }


def firing(
    prometheus: str, expr: str, evaluator: dict[str, Any], mode: str = "", reducer: str = "last"
) -> set[str]:
    return {
        i.labels["f"]
        for i in preview(group(expr, evaluator, mode, reducer), "Folder", prometheus)
        if i.firing
    }


def test_thresholds_fire_per_series(prometheus: str) -> None:
    VECTORS["p"] = [({"f": "a"}, "0.01"), ({"f": "b"}, "0.5"), ({"f": "c"}, "0.05")]
    assert firing(prometheus, "p", {"type": "lt", "params": [0.05]}) == {"a"}
    assert firing(prometheus, "p", {"type": "gt", "params": [0.05]}) == {"b"}
    assert firing(prometheus, "p", {"type": "within_range", "params": [0.02, 0.6]}) == {"b", "c"}
    assert firing(prometheus, "p", {"type": "outside_range", "params": [0.02, 0.6]}) == {"a"}


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


@pytest.mark.parametrize(
    ("evaluator", "expected"),
    [
        ({"type": "lt", "params": [0.05]}, {"below", "left", "between"}),
        ({"type": "gt", "params": [0.05]}, {"inside", "right", "above"}),
        ({"type": "within_range", "params": [0.02, 0.6]}, {"between", "at", "inside"}),
        ({"type": "outside_range", "params": [0.02, 0.6]}, {"below", "above"}),
        # Bounds taken in the order given, as threshold.go does: no range lies within 0.6..0.02,
        # and every value is below 0.6 or above 0.02.
        ({"type": "within_range", "params": [0.6, 0.02]}, set()),
        ({"type": "outside_range", "params": [0.6, 0.02]}, {v["f"] for v, _ in BOUNDARIES}),
    ],
    ids=["lt", "gt", "within_range", "outside_range", "within_reversed", "outside_reversed"],
)
def test_thresholds_are_strict_at_their_bounds(
    prometheus: str, evaluator: dict[str, Any], expected: set[str]
) -> None:
    VECTORS["bounds"] = BOUNDARIES
    assert firing(prometheus, "bounds", evaluator) == expected


NON_NUMBERS = [({"f": "nan"}, "NaN"), ({"f": "inf"}, "+Inf"), ({"f": "-inf"}, "-Inf")]
EVERY_THRESHOLD = [
    {"type": "lt", "params": [1.0]},
    {"type": "gt", "params": [1.0]},
    {"type": "within_range", "params": [0.0, 1.0]},
    {"type": "outside_range", "params": [0.0, 1.0]},
]


@pytest.mark.parametrize("evaluator", EVERY_THRESHOLD, ids=lambda e: e["type"])
def test_nan_fires_no_threshold(prometheus: str, evaluator: dict[str, Any]) -> None:
    VECTORS["n"] = [({"f": "nan"}, "NaN")]
    [instance] = preview(group("n", evaluator), "F", prometheus)
    assert not instance.firing
    assert instance.values["C"] == 0.0


@pytest.mark.parametrize(
    ("evaluator", "expected"),
    list(zip(EVERY_THRESHOLD, [{"-inf"}, {"inf"}, set(), {"inf", "-inf"}], strict=True)),
    ids=[e["type"] for e in EVERY_THRESHOLD],
)
def test_strict_mode_keeps_infinities_as_values(
    prometheus: str, evaluator: dict[str, Any], expected: set[str]
) -> None:
    VECTORS["nn"] = NON_NUMBERS
    assert firing(prometheus, "nn", evaluator) == expected


def test_drop_non_numbers_drops_nan_and_infinities(prometheus: str) -> None:
    VECTORS["nn"] = [*NON_NUMBERS, ({"f": "number"}, "0.01")]
    instances = preview(group("nn", {"type": "lt", "params": [1.0]}, "dropNN"), "F", prometheus)
    assert [i.labels["f"] for i in instances] == ["number"]


def test_replace_non_numbers_replaces_nan_and_infinities(prometheus: str) -> None:
    VECTORS["nn"] = NON_NUMBERS
    instances = preview(group("nn", {"type": "lt", "params": [1.0]}, "replaceNN"), "F", prometheus)
    assert {i.labels["f"]: i.values["B"] for i in instances} == {
        "nan": 0.5,
        "inf": 0.5,
        "-inf": 0.5,
    }
    assert all(i.firing for i in instances)


@pytest.mark.parametrize("reducer", ["last", "mean", "min", "max", "sum", "count"])
def test_every_reducer_passes_an_instant_value_through(prometheus: str, reducer: str) -> None:
    VECTORS["p"] = [({"f": "a"}, "0.01"), ({"f": "b"}, "0.5")]
    below = {"type": "lt", "params": [0.05]}
    assert firing(prometheus, "p", below, reducer=reducer) == {"a"}


def test_instances_carry_series_and_rule_labels_and_the_expressions_values(
    prometheus: str,
) -> None:
    VECTORS["p"] = [({"f": "a", "dataset": "d"}, "0.01")]
    [instance] = preview(group("p", {"type": "lt", "params": [0.05]}), "Folder", prometheus)
    assert instance.labels == {
        "f": "a",
        "dataset": "d",
        "routed": "true",
        "alertname": "rule",
        "grafana_folder": "Folder",
    }
    # As Grafana's $values: the expressions' results, not the queries' (A).
    assert instance.values == {"B": 0.01, "C": 1.0}


def test_nan_follows_the_reduce_mode(prometheus: str) -> None:
    VECTORS["n"] = [({"f": "a"}, "NaN")]
    below = {"type": "lt", "params": [1.0]}
    strict = preview(group("n", below), "F", prometheus)
    assert [i.firing for i in strict] == [False]
    assert math.isnan(strict[0].values["B"])
    assert preview(group("n", below, mode="dropNN"), "F", prometheus) == []
    assert firing(prometheus, "n", below, mode="replaceNN") == {"a"}  # replaced by 0.5


def test_prometheus_errors_are_one_clear_line(prometheus: str) -> None:
    with pytest.raises(PreviewError, match="Prometheus refused 'unknown': parse error"):
        preview(group("unknown", {"type": "lt", "params": [1]}), "F", prometheus)
    with pytest.raises(PreviewError, match=r"cannot reach Prometheus at http://127\.0\.0\.1:1"):
        preview(group("p", {"type": "lt", "params": [1]}), "F", "http://127.0.0.1:1")
