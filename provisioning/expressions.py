"""Grafana's server-side expressions (grafana/grafana pkg/expr), as an alert rule runs them:
the values passed between queries and expressions, and the reduce, threshold and math
commands. Each rule of behaviour below cites the Grafana file it follows.

Values (pkg/expr/mathexp/types.go): a Number is one labelled value (an instant query's
series), a Series labelled points in time (a range query's series), a Scalar an unlabelled
constant, NoData a query that answered nothing. A value is a float, NaN, an infinity or null
(None)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from provisioning import mathexp

Labels = Mapping[str, str]
NO_LABELS: Labels = MappingProxyType({})
Point = tuple[float, float | None]  # (unix time, value)


@dataclass(frozen=True)
class Number:
    labels: Labels
    value: float | None


@dataclass(frozen=True)
class Series:
    labels: Labels
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Scalar:
    value: float | None
    labels: Labels = field(default_factory=lambda: NO_LABELS)  # never any


@dataclass(frozen=True)
class NoData:
    labels: Labels = field(default_factory=lambda: NO_LABELS)  # never any


Value = Number | Series | Scalar | NoData
TYPE_NAMES = {Number: "numberSet", Series: "seriesSet", Scalar: "scalar", NoData: "noData"}


class ExpressionError(Exception):
    """An expression failed while running: the rule's execution error (execErrState)."""


class QueryError(ExpressionError):
    """A data source query failed (pkg/expr/errors.go QueryError: names the query)."""

    def __init__(self, message: str, ref_id: str, datasource_uid: str) -> None:
        super().__init__(message)
        self.ref_id = ref_id
        self.datasource_uid = datasource_uid


class InvalidExpression(ValueError):
    """An expression model Grafana refuses to build, so it would refuse the rule."""


# --- reduce (pkg/expr/commands.go ReduceCommand, pkg/expr/mathexp/reduce.go) -----------------


def _has_gap(values: Sequence[float | None]) -> bool:
    return any(v is None or math.isnan(v) for v in values)


def _sum(values: Sequence[float | None]) -> float:
    if _has_gap(values):
        return math.nan
    total = 0.0
    for value in values:  # in order, as Go adds (no compensated summation)
        total += value  # type: ignore[operator]
    return total


def _mean(values: Sequence[float | None]) -> float:
    return _sum(values) / len(values) if values else math.nan  # Go: 0/0 is NaN


def _extreme(pick: Callable[..., float]) -> Callable[[Sequence[float | None]], float]:
    def reducer(values: Sequence[float | None]) -> float:
        return math.nan if not values or _has_gap(values) else pick(values)

    return reducer


def _last(values: Sequence[float | None]) -> float | None:
    return values[-1] if values else math.nan  # an empty series' last is NaN, a null one null


def _median(values: Sequence[float | None]) -> float:
    if not values or _has_gap(values):
        return math.nan
    ordered = sorted(values)  # type: ignore[type-var]
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# median is newer than Grafana 11.4 (which has the other six).
REDUCERS: dict[str, Callable[[Sequence[float | None]], float | None]] = {
    "sum": _sum,
    "mean": _mean,
    "min": _extreme(min),
    "max": _extreme(max),
    "count": lambda values: float(len(values)),
    "last": _last,
    "median": _median,
}


def _non_number(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


@dataclass(frozen=True)
class DropNonNumbers:
    """Mode "dropNN" (DropNonNumber): null, NaN and infinite points are left out; a reduced
    NaN (nothing left) becomes null."""

    def map_input(self, value: float | None) -> float | None:
        return None if _non_number(value) else value

    def map_output(self, value: float) -> float | None:
        return None if math.isnan(value) else value


@dataclass(frozen=True)
class ReplaceNonNumbers:
    """Mode "replaceNN" (ReplaceNonNumberWithValue): null, NaN and infinite points become
    the replacement, and so does a reduced NaN."""

    replacement: float

    def map_input(self, value: float | None) -> float | None:
        return self.replacement if _non_number(value) else value

    def map_output(self, value: float) -> float | None:
        return self.replacement if math.isnan(value) else value


Mapper = DropNonNumbers | ReplaceNonNumbers


@dataclass(frozen=True)
class Reduce:
    source: str
    reducer: str
    mapper: Mapper | None

    @property
    def needs(self) -> tuple[str, ...]:
        return (self.source,)

    def execute(self, variables: Mapping[str, Sequence[Value]]) -> list[Value]:
        reduced: list[Value] = []
        for value in variables[self.source]:
            match value:
                case Series(labels, points):
                    reduced.append(Number(labels, self._series(points)))
                case Number(labels, number):
                    # Already one value: the reducer is not applied, only the mode's input map;
                    # a dropped number is left out of the results altogether.
                    if self.mapper is not None:
                        number = self.mapper.map_input(number)
                        if number is None:
                            continue
                    reduced.append(Number(labels, number))
                case NoData():
                    reduced.append(NoData())
                case _:
                    kind = TYPE_NAMES[type(value)]
                    raise ExpressionError(f"can only reduce type series, got type {kind}")
        return reduced

    def _series(self, points: Sequence[Point]) -> float | None:
        values = [value for _, value in points]
        if self.mapper is not None:
            mapped = (self.mapper.map_input(value) for value in values)
            values = [value for value in mapped if value is not None]
        result = REDUCERS[self.reducer](values)
        if result is not None and self.mapper is not None:
            result = self.mapper.map_output(result)
        return result


# --- threshold (pkg/expr/threshold.go) ---------------------------------------------------------

# Grafana's threshold evaluators in its order (supportedThresholdFuncs): the one table that
# preview, the definitions' operators (model/rules.py) and the Prometheus translation derive from.
# A comparison holds where ``f <op> value``, a range where ``f <low> left <join> f <high> right``,
# as threshold.go's predicates write them. Since Grafana 11.1 (grafana/grafana #86062)
# thresholds are these predicates; before, a math expression whose NaN made the instance
# Alerting. eq, ne, gte, lte and the *_included ranges came after 11.4 (grafana/grafana #99516).
COMPARISONS: Mapping[str, str] = MappingProxyType(
    {"gt": ">", "lt": "<", "eq": "==", "ne": "!=", "gte": ">=", "lte": "<="}
)
RANGES: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "within_range": (">", "<", "and"),
        "outside_range": ("<", ">", "or"),
        "within_range_included": (">=", "<=", "and"),
        "outside_range_included": ("<=", ">=", "or"),
    }
)
EVALUATORS = (*COMPARISONS, *RANGES)
# Python compares floats as Go does (IEEE 754): false for NaN, except "!=" (NaN differs from all).
_COMPARE: Mapping[str, Callable[[float, float], bool]] = MappingProxyType(
    {
        ">": operator.gt,
        "<": operator.lt,
        "==": operator.eq,
        "!=": operator.ne,
        ">=": operator.ge,
        "<=": operator.le,
    }
)


def holds(kind: str, value: float, params: Sequence[float]) -> bool:
    """Whether evaluator ``kind`` with ``params`` holds for ``value``."""
    if kind in COMPARISONS:
        return _COMPARE[COMPARISONS[kind]](value, params[0])
    low, high, join = RANGES[kind]
    low_side = _COMPARE[low](value, params[0])
    high_side = _COMPARE[high](value, params[1])
    return low_side and high_side if join == "and" else low_side or high_side


@dataclass(frozen=True)
class Threshold:
    """The condition's evaluator. An "unloadEvaluator" (recovery threshold) is not read: Grafana
    applies it only to instances already firing (pkg/expr/hysteresis.go), and a preview has no
    previous state, which is also Grafana's first evaluation."""

    source: str
    kind: str
    params: tuple[float, ...]

    @property
    def needs(self) -> tuple[str, ...]:
        return (self.source,)

    def passes(self, value: float | None) -> float | None:
        if value is None:
            return None
        return 1.0 if holds(self.kind, value, self.params) else 0.0

    def execute(self, variables: Mapping[str, Sequence[Value]]) -> list[Value]:
        return [_per_value(value, self.passes) for value in variables[self.source]]


def _per_value(value: Value, function: Callable[[float | None], float | None]) -> Value:
    """``function`` applied to a Number's or Scalar's value or to each point of a Series."""
    match value:
        case Number(labels, number):
            return Number(labels, function(number))
        case Scalar(number):
            return Scalar(function(number))
        case Series(labels, points):
            return Series(labels, tuple((t, function(v)) for t, v in points))
    return NoData()


# --- math (pkg/expr/mathexp/exp.go, funcs.go) ----------------------------------------------------


def _go_division(a: float, b: float) -> float:
    if b == 0:  # IEEE division, as Go's: x/0 is an infinity signed by both sides, 0/0 NaN
        return math.nan if a == 0 else math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def _go_modulo(a: float, b: float) -> float:
    if math.isinf(a) or b == 0:
        return math.nan
    return a if math.isinf(b) else math.fmod(a, b)


def _go_power(a: float, b: float) -> float:
    odd = b.is_integer() and int(b) % 2 == 1
    try:
        return math.pow(a, b)
    except OverflowError:
        return -math.inf if a < 0 and odd else math.inf
    except ValueError:  # 0 to a negative power, or a negative base to a fraction
        return math.copysign(math.inf, a) if a == 0 and odd else (math.inf if a == 0 else math.nan)


def _truth(condition: bool) -> float:
    return 1.0 if condition else 0.0


ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _go_division,
    "%": _go_modulo,
    "**": _go_power,
    "==": lambda a, b: _truth(a == b),
    "!=": lambda a, b: _truth(a != b),
    ">": lambda a, b: _truth(a > b),
    "<": lambda a, b: _truth(a < b),
    ">=": lambda a, b: _truth(a >= b),
    "<=": lambda a, b: _truth(a <= b),
    "||": lambda a, b: _truth(a != 0 or b != 0),
    "&&": lambda a, b: _truth(a != 0 and b != 0),
}


def binary_op(op: str, a: float, b: float) -> float:
    """exp.go binaryOp: "||" and "&&" decide on a non-zero (so NaN) or zero left side first;
    otherwise a NaN on either side gives NaN, comparisons included."""
    if op == "||" and a != 0:
        return 1.0
    if op == "&&" and a == 0:
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return ARITHMETIC[op](a, b)


def unary_op(op: str, a: float) -> float:
    if math.isnan(a):
        return math.nan
    return -a if op == "-" else _truth(a == 0)


def _go_log(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.nan if x < 0 or math.isnan(x) else math.log(x)


def _go_round(x: float) -> float:
    """Go's math.Round: halves away from zero (Python's round() goes to even)."""
    if not math.isfinite(x):
        return x
    whole = math.trunc(x)
    return float(whole + math.copysign(1, x)) if abs(x - whole) >= 0.5 else float(whole)


def _whole(rounding: Callable[[float], int]) -> Callable[[float], float]:
    return lambda x: x if not math.isfinite(x) else float(rounding(x))


# funcs.go: these map each non-null value (a null gives NaN) ...
PER_FLOAT: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "log": _go_log,
    "round": _go_round,
    "ceil": _whole(math.ceil),
    "floor": _whole(math.floor),
    "is_nan": lambda x: _truth(math.isnan(x)),
    "is_inf": lambda x: _truth(math.isinf(x)),
}
# ... these see nulls too ...
PER_NULLABLE: dict[str, Callable[[float | None], float | None]] = {
    "is_null": lambda x: _truth(x is None),
    "is_number": lambda x: _truth(x is not None and math.isfinite(x)),
}
# ... and these take no argument.
CONSTANTS: dict[str, float | None] = {
    "nan": math.nan,
    "inf": math.inf,
    "infn": -math.inf,
    "null": None,
}
ARITY = {name: 1 for name in [*PER_FLOAT, *PER_NULLABLE]} | {name: 0 for name in CONSTANTS}


@dataclass(frozen=True)
class Math:
    expression: str
    tree: mathexp.Node

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(mathexp.variables(self.tree)))

    def execute(self, variables: Mapping[str, Sequence[Value]]) -> list[Value]:
        return list(_walk(self.tree, variables))


def _walk(node: mathexp.Node, variables: Mapping[str, Sequence[Value]]) -> Sequence[Value]:
    match node:
        case mathexp.Constant(value):
            return [Scalar(value)]
        case mathexp.Var(name):
            return variables[name]
        case mathexp.Unary(op, arg):

            def apply(x: float | None) -> float | None:
                return None if x is None else unary_op(op, x)

            return [_per_value(v, apply) for v in _walk(arg, variables)]
        case mathexp.Binary(op, left, right):
            return _binary(op, _walk(left, variables), _walk(right, variables))
    return _call(node, variables)  # type: ignore[arg-type]  # the parser checked the rest


def _call(node: mathexp.Call, variables: Mapping[str, Sequence[Value]]) -> Sequence[Value]:
    if node.name in CONSTANTS:
        return [Scalar(CONSTANTS[node.name])]
    values = _walk(node.args[0], variables)
    if node.name in PER_NULLABLE:
        return [_per_value(v, PER_NULLABLE[node.name]) for v in values]
    floats = PER_FLOAT[node.name]
    return [_per_value(v, lambda x: math.nan if x is None else floats(x)) for v in values]


def contains(labels: Labels, other: Labels) -> bool:
    """data.Labels.Contains: every pair of ``other`` is in ``labels``."""
    return len(other) <= len(labels) and all(labels.get(k) == v for k, v in other.items())


def union(left: Sequence[Value], right: Sequence[Value]) -> list[tuple[Labels, Value, Value]]:
    """exp.go union: the pairs a binary operation combines, with the labels of each result.
    Values pair when their labels are equal, when either side has none, or when one side's
    labels contain the other's (the result takes the larger set); others are dropped, except
    that one value on each side always pairs, and then the result has no labels."""
    if not left or not right:
        return []
    if (len(left) == 1 or len(right) == 1) and NoData in (type(left[0]), type(right[0])):
        return [(NO_LABELS, left[0], right[0])]
    pairs = []
    for a in left:
        for b in right:
            if a.labels == b.labels or not a.labels or not b.labels:
                labels = a.labels or b.labels
            elif len(a.labels) == len(b.labels):
                continue
            elif contains(a.labels, b.labels):
                labels = a.labels
            elif contains(b.labels, a.labels):
                labels = b.labels
            else:
                continue
            pairs.append((labels, a, b))
    if not pairs and len(left) == 1 and len(right) == 1:
        pairs.append((NO_LABELS, left[0], right[0]))
    return pairs


def _binary(op: str, left: Sequence[Value], right: Sequence[Value]) -> list[Value]:
    return [_combine(op, labels, a, b) for labels, a, b in union(left, right)]


def _combine(op: str, labels: Labels, a: Value, b: Value) -> Value:
    """walkBinary for one pair: a NoData side wins; a null on either side gives null; two
    Series combine at their common times only."""
    if isinstance(a, NoData):
        return a
    if isinstance(b, NoData):
        return b

    def apply(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else binary_op(op, x, y)

    match a, b:
        case Scalar(x), Scalar(y):
            return Scalar(apply(x, y))
        case Series(), Series():
            by_time = dict(b.points)
            points = tuple((t, apply(x, by_time[t])) for t, x in a.points if t in by_time)
            return Series(labels, points)
        case Series(_, points), (Number(_, y) | Scalar(y)):
            return Series(labels, tuple((t, apply(x, y)) for t, x in points))
        case ((Number(_, x) | Scalar(x)), Series(_, points)):
            return Series(labels, tuple((t, apply(x, y)) for t, y in points))
    return Number(labels, apply(a.value, b.value))  # type: ignore[union-attr]


# --- building commands from a rule's expression models (pkg/expr/nodes.go buildCMDNode) -------


Command = Reduce | Threshold | Math


def build(model: Mapping[str, Any]) -> Command:
    kind = model.get("type")
    if kind == "reduce":
        return _reduce(model)
    if kind == "threshold":
        return _threshold(model)
    if kind == "math":
        try:
            return Math(model["expression"], mathexp.parse(model["expression"], ARITY))
        except mathexp.MathSyntaxError as exc:
            raise InvalidExpression(f"invalid math command: expr: {exc}") from None
    raise InvalidExpression(f"the preview does not evaluate {kind!r} expressions")


def _reduce(model: Mapping[str, Any]) -> Reduce:
    reducer = str(model.get("reducer", "")).lower()
    if reducer not in REDUCERS:
        raise InvalidExpression(f"reduction {reducer} not implemented")
    settings = model.get("settings") or {}
    mode = settings.get("mode", "")
    mapper: Mapper | None = None
    if mode == "dropNN":
        mapper = DropNonNumbers()
    elif mode == "replaceNN":
        replacement = settings.get("replaceWithValue")
        if isinstance(replacement, bool) or not isinstance(replacement, int | float):
            raise InvalidExpression("setting replaceWithValue must be a number for 'replaceNN'")
        mapper = ReplaceNonNumbers(float(replacement))
    elif mode:
        raise InvalidExpression(f"reducer mode '{mode}' is not supported: only dropNN, replaceNN")
    return Reduce(str(model.get("expression", "")).removeprefix("$"), reducer, mapper)


def _threshold(model: Mapping[str, Any]) -> Threshold:
    conditions = model.get("conditions") or []
    if len(conditions) != 1:
        raise InvalidExpression("threshold expression requires exactly one condition")
    evaluator = conditions[0].get("evaluator") or {}
    kind, params = evaluator.get("type"), evaluator.get("params") or []
    if kind not in EVALUATORS:
        raise InvalidExpression(f"expected threshold function to be one of {', '.join(EVALUATORS)}")
    if len(params) < (1 if kind in COMPARISONS else 2):
        raise InvalidExpression(f"incorrect number of arguments for threshold function '{kind}'")
    return Threshold(str(model.get("expression", "")), kind, tuple(float(p) for p in params))
