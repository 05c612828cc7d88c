"""The status page: plain server-rendered HTML, no external assets (the stack runs offline)."""

from __future__ import annotations

import math
from datetime import datetime
from html import escape

from monitor.schema import Feature
from monitor.store import Store, StoredRun

HISTORY_RUNS = 20
LOG_FLOOR = -10  # sparklines show log10(p) down to 1e-10
ALPHA_AT = 0.4  # where the alpha line sits, as a share of the sparkline's height from the top

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#f7f8fa}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin:0}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:1rem 1.25rem;
margin:1rem 0}
.meta{color:#5b6474;margin:.25rem 0 .75rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eef0f3;white-space:nowrap;
vertical-align:middle}
td svg{display:block}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.drift{color:#b3261e;font-weight:600}.ok{color:#1e7d32}.skipped{color:#8a8f98}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:4px;font-weight:600}
.badge.drift{background:#fde7e6}.badge.ok{background:#e6f4ea}
svg .line{fill:none;stroke:#3b6fd8;stroke-width:1.5}svg .alpha{stroke:#b3261e;
stroke-dasharray:3 2}svg .dot{fill:#3b6fd8}svg .zone{fill:#fdf0ef}
.empty{color:#5b6474}
"""


def render_page(store: Store) -> str:
    datasets = sorted(store.current.items())
    body = "".join(_dataset(store, stored) for _, stored in datasets) or (
        '<p class="empty">No drift run has been received yet. Run the DAG '
        "<code>simple_detector</code> to send one.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="30">'
        '<link rel="icon" href="data:,">'  # no icon: the browser asks for no /favicon.ico
        "<title>Drift monitor</title>"
        f"<style>{STYLE}</style></head><body><h1>Drift monitor</h1>{body}</body></html>"
    )


def _dataset(store: Store, stored: StoredRun) -> str:
    run = stored.run
    history = list(reversed(store.history(run.dataset, HISTORY_RUNS)))
    p_values = {
        f.feature: [_p_of(past.run.features, f.feature) for past in history] for f in run.features
    }
    verdict = "drift" if run.summary.drifted else "ok"
    rows = "".join(_feature_row(f, p_values[f.feature], run.settings.alpha) for f in run.features)
    return (
        f'<section id="dataset-{escape(run.dataset)}"><h2>{escape(run.dataset)} '
        f'<span class="badge {verdict}">{"DRIFT" if run.summary.drifted else "no drift"}</span>'
        "</h2>"
        f'<p class="meta">Last run {_time(run.run_at)}: batch <b>{escape(run.batch)}</b> '
        f"compared with <b>{escape(run.reference)}</b>. "
        f"{run.summary.features_drifted} of {run.summary.features_tested} features drifted "
        f"({run.summary.share_drifted:.0%}) at alpha {run.settings.alpha:g}, "
        f"{escape(run.settings.correction)} correction.</p>"
        "<table><thead><tr><th>feature</th><th>kind</th><th>test</th><th>p-value</th>"
        "<th>adjusted p-value</th><th>effect size</th><th>missing (ref / cur)</th>"
        f"<th>status</th><th>adjusted p-value, last {HISTORY_RUNS} runs</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _feature_row(f: Feature, history: list[float | None], alpha: float) -> str:
    if f.status == "tested":
        mark = (
            '<span class="drift">✗ drifted</span>' if f.drifted else '<span class="ok">✓ ok</span>'
        )
    else:
        mark = f'<span class="skipped">skipped: {escape(f.reason or "")}</span>'
    return (
        f"<tr><td>{escape(f.feature)}</td><td>{escape(f.kind)}</td>"
        f"<td>{escape(f.test or '-')}</td>"
        f'<td class="num">{_number(f.p_value)}</td>'
        f'<td class="num">{_number(f.p_value_adjusted)}</td>'
        f'<td class="num">{_number(f.effect_size)}</td>'
        f'<td class="num">{_share(f.missing_share_reference)} / '
        f"{_share(f.missing_share_current)}</td>"
        f"<td>{mark}</td><td>{_sparkline(history, alpha)}</td></tr>"
    )


def _sparkline(
    history: list[float | None], alpha: float, width: int = 120, height: int = 28
) -> str:
    """The adjusted p-value (what the drifted mark is decided on) over the recent runs,
    with the alpha line above a shaded zone: lower means stronger drift. Log scales: 1 to
    alpha above the line, alpha to 1e-10 (and below) under it, so that runs without drift
    do not all sit on the line."""
    points = [(i, p) for i, p in enumerate(history) if p is not None]
    if not points:
        return ""
    step = width / max(len(history) - 1, 1)
    log_alpha = min(math.log10(alpha), -1e-3)

    def y(p: float) -> float:
        log_p = max(math.log10(p) if p > 0 else LOG_FLOOR, LOG_FLOOR)
        if log_p >= log_alpha:
            return height * ALPHA_AT * log_p / log_alpha
        below = (log_p - log_alpha) / min(LOG_FLOOR - log_alpha, -1e-3)
        return height * (ALPHA_AT + (1 - ALPHA_AT) * min(below, 1.0))

    coords = " ".join(f"{i * step:.1f},{y(p):.1f}" for i, p in points)
    last_x, last_y = coords.split()[-1].split(",")
    title = ", ".join(_number(p) for _, p in points)
    return (
        f'<svg width="{width + 4}" height="{height + 4}" viewBox="-2 -2 {width + 4} {height + 4}" '
        f'role="img" aria-label="adjusted p-values: {title}">'
        f"<title>adjusted p-values: {title}</title>"
        f'<rect class="zone" x="0" y="{y(alpha):.1f}" width="{width}" '
        f'height="{height - y(alpha):.1f}"/>'
        f'<line class="alpha" x1="0" x2="{width}" y1="{y(alpha):.1f}" y2="{y(alpha):.1f}"/>'
        f'<polyline class="line" points="{coords}"/>'
        f'<circle class="dot" cx="{last_x}" cy="{last_y}" r="2.5"/></svg>'
    )


def _p_of(features: list[Feature], name: str) -> float | None:
    return next((f.p_value_adjusted for f in features if f.feature == name), None)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _time(moment: datetime) -> str:
    return escape(moment.strftime("%Y-%m-%d %H:%M:%S %Z"))
