"""The run document, defined once: one drift run as the engine reports it, plus its names. The
DAG's client (drift.publish) builds every document it sends with these models, and the monitor
validates every request with them (monitor.schema), so a run the monitor would refuse is refused
before it is sent. Light imports only: pydantic, drift.labels, drift.config (no pandas, scipy or
FastAPI)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from drift.config import Correction, drifted
from drift.labels import (
    LABEL_VALUE_PATTERN,
    MAX_FEATURES,
    MAX_LABEL_LENGTH,
    dataset_name_problem,
)

FUTURE_TOLERANCE = timedelta(days=1)
MAX_STALE_AFTER_SECONDS = 366 * 86400  # a schedule longer than a year is a mistake
MAX_COUNT = 2**53  # counts are exposed as float64 samples: larger ones overflow or lose digits
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")

# Label values end up in Prometheus series and HTML (the rule is drift.labels', which the DAG
# checks too).
LabelValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_LABEL_LENGTH, pattern=LABEL_VALUE_PATTERN),
]
# Validation context for runs read back from the database: one stored before a rule existed
# still loads (Run.model_validate_json(body, context=STORED)).
STORED = {"stored": True}
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


def _reachable_dataset(name: str, info: ValidationInfo) -> str:
    problem = dataset_name_problem(name)
    if problem and not (info.context or {}).get("stored"):
        raise ValueError(f"a dataset name {problem}")
    return name


DatasetName = Annotated[
    LabelValue,
    AfterValidator(_reachable_dataset),
    Field(
        description="Up to 128 characters, no control characters, no '/', not '.' or '..': "
        "the dataset is read and deleted at /api/v1/datasets/{dataset}"
    ),
]


def _rfc3339(value: object) -> object:
    """The documented format only: no Unix times, numeric strings or date-only values."""
    if isinstance(value, datetime) or (isinstance(value, str) and RFC3339.fullmatch(value)):
        return value
    raise ValueError("must be an RFC 3339 date-time with a zone, e.g. 2026-01-02T03:04:05+00:00")


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Settings(Strict):
    alpha: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
    correction: Correction


class Summary(Strict):
    features_tested: Count
    # Optional for clients (and runs stored) from before it existed: Run counts it then.
    features_skipped: Count | None = Field(
        None, description="Features that could not be tested; counted from features if omitted"
    )
    features_drifted: Count
    share_drifted: Share
    drifted: bool


class Feature(Strict):
    feature: LabelValue
    kind: LabelValue
    test: LabelValue | None
    statistic: Finite | None
    p_value: Share | None
    p_value_adjusted: Share | None
    effect_size: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    n_reference: Count
    n_current: Count
    missing_share_reference: Share | None
    missing_share_current: Share | None
    drifted: bool
    status: Literal["tested", "skipped"]
    reason: Annotated[str, StringConstraints(max_length=500)] | None
    # Optional for clients (and runs stored) from before material drift: see _p_value_only.
    effect_size_threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        None,
        description="The effect size a tested feature had to reach, besides its adjusted "
        "p-value below alpha, to have drifted; 0 if omitted (drift by p-values alone)",
    )
    ks_error_bound: Share | None = Field(
        None,
        description="A sketched numeric feature: how far the exact KS statistic may be above "
        "the statistic sent; null when computed exactly (and from clients before it existed)",
    )

    @model_validator(mode="before")
    @classmethod
    def _p_value_only(cls, data: Any) -> Any:
        """A tested feature without a threshold was decided by its p-value alone, as every run
        was before material drift: its threshold is 0, which any effect size reaches."""
        if (
            isinstance(data, dict)
            and data.get("status") == "tested"
            and data.get("effect_size_threshold") is None
        ):
            return {**data, "effect_size_threshold": 0.0}
        return data

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if self.status == "tested" and (self.p_value is None or self.p_value_adjusted is None):
            raise ValueError("a tested feature needs p_value and p_value_adjusted")
        if self.status == "skipped" and self.drifted:
            raise ValueError("a skipped feature cannot have drifted")
        # Accepted before this rule: a stored run with one elsewhere still loads.
        misplaced = self.ks_error_bound is not None and not (
            self.status == "tested" and self.test == "ks"
        )
        if misplaced and not (info.context or {}).get("stored"):
            raise ValueError("ks_error_bound is for a feature tested with ks only: send null")
        return self


class Run(Strict):
    """One drift run: the current batch of a dataset compared with its reference."""

    dataset: DatasetName
    batch: LabelValue
    reference: LabelValue
    run_at: Annotated[
        AwareDatetime,
        BeforeValidator(_rfc3339),
        # As sent before the model built the document: UTC as +00:00, not Z.
        PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
        Field(strict=False, description="RFC 3339, with a zone"),
    ]
    stale_after_seconds: (
        Annotated[float, Field(gt=0, le=MAX_STALE_AFTER_SECONDS, allow_inf_nan=False)] | None
    ) = Field(
        None,
        description="Set by a scheduled DAG: how long the dataset may go without a run before "
        "it is stale. Absent (runs by hand): it never goes stale",
    )
    settings: Settings
    summary: Summary
    features: Annotated[list[Feature], Field(max_length=MAX_FEATURES)]

    @model_validator(mode="before")
    @classmethod
    def _count_skipped(cls, data: Any) -> Any:
        """A summary without features_skipped gets it counted from the features."""
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            return data
        summary = data.get("summary")
        if isinstance(summary, Summary):
            summary = summary.model_dump()
        if not isinstance(summary, dict) or summary.get("features_skipped") is not None:
            return data
        skipped = sum(
            (f.get("status") if isinstance(f, dict) else getattr(f, "status", None)) == "skipped"
            for f in data["features"]
        )
        return {**data, "summary": {**summary, "features_skipped": skipped}}

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        names = [f.feature for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        if self.run_at > datetime.now(UTC) + FUTURE_TOLERANCE:
            raise ValueError("run_at is in the future")
        tested = sum(f.status == "tested" for f in self.features)
        skipped = len(self.features) - tested
        drifted = sum(f.drifted for f in self.features)
        summary = self.summary
        counts = (summary.features_tested, summary.features_skipped, summary.features_drifted)
        if counts != (tested, skipped, drifted):
            raise ValueError(
                f"summary says {counts[0]} tested, {counts[1]} skipped and {counts[2]} drifted, "
                f"the features say {tested}, {skipped} and {drifted}"
            )
        if summary.drifted != (drifted > 0):
            raise ValueError("summary.drifted disagrees with the features")
        if not (info.context or {}).get("stored"):
            self._decided_by_the_condition()
        return self

    def _decided_by_the_condition(self) -> None:
        """Each tested feature's drifted flag is the material-drift condition
        (drift.config.drifted) on its published numbers: the alert rules compute it from them,
        so a flag that says otherwise would show a page and metrics the alerts contradict."""
        alpha = self.settings.alpha
        for f in self.features:
            if f.status != "tested":
                continue  # a skipped one is never drifted (Feature._consistent)
            assert f.p_value_adjusted is not None and f.effect_size_threshold is not None
            expected = drifted(f.p_value_adjusted, f.effect_size, alpha, f.effect_size_threshold)
            if f.drifted != expected:
                raise ValueError(
                    f"feature {f.feature!r} says drifted {str(f.drifted).lower()}, but its "
                    # repr, not rounded: 0.0499999999 shown as 0.05 would contradict itself
                    f"adjusted p-value {f.p_value_adjusted!r} (alpha {alpha!r}) and effect size "
                    f"{'unknown' if f.effect_size is None else repr(f.effect_size)} "
                    f"(threshold {f.effect_size_threshold!r}) make it "
                    f"{str(expected).lower()}: a feature drifts when its adjusted p-value is "
                    "below alpha and its effect size reaches its threshold"
                )
