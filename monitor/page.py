"""The status page: plain server-rendered HTML, no external assets (the stack runs offline)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from datetime import datetime
from html import escape

from drift.config import too_coarse
from monitor.schema import Feature, Run
from monitor.store import PValues, Store, StoredRun

HISTORY_RUNS = 20
SectionKey = tuple[int, tuple[int, ...]]  # the current run's id, the history's ids
LOG_FLOOR = -10  # sparklines show log10(p) down to 1e-10
ALPHA_AT = 0.4  # where the alpha line sits, as a share of the sparkline's height from the top

# On a narrow screen the page keeps its width: feature and status come first, a long
# feature or dataset name wraps (up to 128 characters, no spaces), and the table scrolls
# sideways inside its section for the rest.
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#f7f8fa}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin:0;overflow-wrap:anywhere}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:1rem 1.25rem;
margin:1rem 0}
.meta{color:#5b6474;margin:.25rem 0 .75rem}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eef0f3;white-space:nowrap;
vertical-align:middle}
td.status{white-space:normal;min-width:7rem}
td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:6rem;max-width:12rem}
td svg{display:block}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.drift{color:#b3261e;font-weight:600}.ok{color:#1e7d32}.skipped,.sketch{color:#8a5a00;font-weight:600}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:4px;font-weight:600}
.badge.drift{background:#fde7e6}.badge.ok{background:#e6f4ea}.badge.skipped{background:#fdf1d6}
@media (max-width:600px){body{margin:.5rem}section{padding:.75rem .5rem}
th,td{padding:.3rem .4rem}}
svg .line{fill:none;stroke:#3b6fd8;stroke-width:1.5}svg .alpha{stroke:#b3261e;
stroke-dasharray:3 2}svg .dot{fill:#3b6fd8}svg .zone{fill:#fdf0ef}
.empty{color:#5b6474}
"""


class StatusPage:
    """The page, UTF-8. Each dataset's section is rendered once per change of its history
    and kept, and so are each shown run's adjusted p-values by feature and the whole page:
    a view after no write costs one small query per dataset, and one after a new run parses
    nothing (the current run is in memory), so the cost is linear in the features and paid
    once per write."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()  # one render at a time: the caches stay consistent
        self._sections: dict[str, tuple[SectionKey, str]] = {}  # dataset -> (key, html)
        self._p_values: dict[int, PValues] = {}  # run id -> adjusted p-value by feature
        self._page: tuple[list[SectionKey], bytes] | None = None  # every section's key, page

    def render(self) -> bytes:
        with self._lock:
            sections = {}
            for dataset, current in sorted(self._store.current.items()):
                # The current run with the history's ids: a write between the two reads
                # changes the key of the next view, which renders the section again.
                key = (current.id, self._store.history_ids(dataset, HISTORY_RUNS))
                cached = self._sections.get(dataset)
                sections[dataset] = (
                    cached if cached and cached[0] == key else (key, self._section(current, key[1]))
                )
            self._sections = sections
            shown = {run_id for (_, ids), _ in sections.values() for run_id in ids}
            self._p_values = {i: p for i, p in self._p_values.items() if i in shown}
            keys = [key for key, _ in sections.values()]
            if self._page is None or self._page[0] != keys:
                self._page = (keys, _page(html for _, html in sections.values()).encode())
            return self._page[1]

    def _section(self, current: StoredRun, ids: tuple[int, ...]) -> str:
        """The dataset's section; ``ids`` are its history's, newest first."""
        self._p_values.setdefault(current.id, _p_values(current.run))
        missing = [run_id for run_id in ids if run_id not in self._p_values]
        self._p_values.update(self._store.p_values(missing))
        # Each past run is a dict by feature: one lookup per feature and run.
        history = [self._p_values.get(run_id, {}) for run_id in reversed(ids)]
        return _dataset(current.run, history)


def _page(sections: Iterable[str]) -> str:
    body = "".join(sections) or (
        '<p class="empty">No drift run has been received yet. Run the DAG '
        "<code>simple_detector</code> to send one.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="refresh" content="30">'
        '<link rel="icon" href="data:,">'  # no icon: the browser asks for no /favicon.ico
        "<title>Drift monitor</title>"
        f"<style>{STYLE}</style></head><body><h1>Drift monitor</h1>{body}</body></html>"
    )


def _p_values(run: Run) -> PValues:
    return {f.feature: f.p_value_adjusted for f in run.features}


def _dataset(run: Run, history: list[PValues]) -> str:
    """The dataset's section: its current run, and its history (oldest first) in charts."""
    verdict = "drift" if run.summary.drifted else "ok"
    rows = "".join(
        _feature_row(f, [past.get(f.feature) for past in history], run.settings.alpha)
        for f in run.features
    )
    # A feature the run could not test (e.g. a column the feed lost) is flagged, not quiet.
    skipped = run.summary.features_skipped
    flag, note = "", ""
    if skipped:
        flag = f' <span class="badge skipped">⚠ {skipped} skipped</span>'
        note = f' <span class="skipped">⚠ {_count(skipped, "feature")} skipped, not tested.</span>'
    return (
        f'<section id="dataset-{escape(run.dataset)}"><h2>{escape(run.dataset)} '
        f'<span class="badge {verdict}">{"DRIFT" if run.summary.drifted else "no drift"}</span>'
        f"{flag}</h2>"
        f'<p class="meta">Last run {_time(run.run_at)}: batch <b>{escape(run.batch)}</b> '
        f"compared with <b>{escape(run.reference)}</b>. "
        f"{run.summary.features_drifted} of {run.summary.features_tested} features drifted "
        f"({run.summary.share_drifted:.0%}): a feature drifts when its adjusted p-value is "
        f"below alpha {run.settings.alpha:g} ({escape(run.settings.correction)} correction) "
        f"and its effect size reaches its min effect.{note}</p>"
        '<div class="table"><table><thead><tr><th>feature</th><th>status</th><th>kind</th>'
        "<th>test</th><th>p-value</th><th>adjusted p-value</th><th>effect size</th>"
        "<th>min effect</th><th>missing (ref / cur)</th>"
        f"<th>adjusted p-value, last {HISTORY_RUNS} runs</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def _feature_row(f: Feature, history: list[float | None], alpha: float) -> str:
    if f.status == "tested":
        mark = (
            '<span class="drift">✗ drifted</span>' if f.drifted else '<span class="ok">✓ ok</span>'
        )
    else:
        mark = f'<span class="skipped">⚠ skipped: {escape(f.reason or "")}</span>'
    if too_coarse(f.ks_error_bound):  # said where the decision is read, as the CLI warns
        mark += (
            f'<br><span class="sketch">⚠ sketched: its KS statistic may be up to '
            f"{f.ks_error_bound:.2g} higher</span>"
        )
    return (
        f'<tr><td>{escape(f.feature)}</td><td class="status">{mark}</td><td>{escape(f.kind)}</td>'
        f"<td>{escape(f.test or '-')}</td>"
        f'<td class="num">{_number(f.p_value)}</td>'
        f'<td class="num">{_number(f.p_value_adjusted)}</td>'
        f'<td class="num">{_number(f.effect_size)}</td>'
        f'<td class="num">{_number(f.effect_size_threshold)}</td>'
        f'<td class="num">{_share(f.missing_share_reference)} / '
        f"{_share(f.missing_share_current)}</td>"
        f"<td>{_sparkline(history, alpha)}</td></tr>"
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


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _time(moment: datetime) -> str:
    return escape(moment.strftime("%Y-%m-%d %H:%M:%S %Z"))
