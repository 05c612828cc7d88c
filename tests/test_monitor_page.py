"""The status page in real headless Chromium: what a person sees, served by the real monitor."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from conftest import DATA, MonitorServer, running_monitor
from drift import DriftConfig, DriftReport, compare, load_config, read_batch
from drift.publish import run_document, send_run
from drift.report import FeatureResult

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REFERENCE = "control/bike_sharing_dataset_1.csv"
NO_DRIFT = "audit/bike_sharing_dataset_2.csv"
JULY = "audit/bike_sharing_dataset_3.csv.off"
DRIFT = "audit/bike_sharing_dataset_4.csv.off"
FIRST_RUN_AT = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)

# The configured dataset: four daily runs, clean and drifting in turn; the last one drifts.
BIKES = "bike_sharing"
BIKE_BATCHES = [NO_DRIFT, DRIFT, NO_DRIFT, DRIFT]
# No schema (kinds inferred), a column missing from the current batches (two skipped features)
# and a stricter alpha than the default.
INFERRED = "bike_sharing_inferred"
INFERRED_CONFIG = DriftConfig(alpha=0.01)
INFERRED_BATCHES = [NO_DRIFT, JULY]
DROPPED_COLUMN = "casual"
# A dataset and a feature named with the most characters the monitor accepts (drift.document's
# MAX_LABEL_LENGTH, written out): its heading and its row must still fit a phone's screen.
LONG_NAMES = ("bike_sharing_long_names_" * 6)[:128]
LONG_FEATURE = ("temperature_measured_at_the_station_" * 4)[:128]
LONG_BATCHES = [NO_DRIFT, DRIFT]
MIN_SCREENSHOT_BYTES = 10_000


@dataclass(frozen=True)
class Posted:
    """What the monitor received for one dataset: its runs' reports, oldest first."""

    dataset: str
    batches: list[str]
    reports: list[DriftReport]

    @property
    def last(self) -> DriftReport:
        return self.reports[-1]

    @property
    def last_run_at(self) -> datetime:
        return FIRST_RUN_AT + timedelta(days=len(self.reports) - 1)


def bike_reports(batches: list[str]) -> list[DriftReport]:
    config = load_config(DATA / "drift.yaml")
    reference = read_batch(DATA / REFERENCE, config)
    return [compare(reference, read_batch(DATA / b, config), config) for b in batches]


def inferred_reports(batches: list[str]) -> list[DriftReport]:
    reference = read_batch(DATA / REFERENCE)
    return [
        compare(reference, read_batch(DATA / b).drop(columns=[DROPPED_COLUMN]), INFERRED_CONFIG)
        for b in batches
    ]


def long_name_reports(batches: list[str]) -> list[DriftReport]:
    def renamed(batch: str) -> pd.DataFrame:
        return read_batch(DATA / batch).rename(columns={"temp": LONG_FEATURE})

    return [compare(renamed(REFERENCE), renamed(b), DriftConfig()) for b in batches]


def post(
    monitor: MonitorServer, dataset: str, batches: list[str], reports: list[DriftReport]
) -> Posted:
    for day, (batch, report) in enumerate(zip(batches, reports, strict=True)):
        run_at = FIRST_RUN_AT + timedelta(days=day)
        run = run_document(report, dataset, reference=REFERENCE, batch=batch, run_at=run_at)
        assert send_run(run, monitor.url, token=monitor.token)["current"] is True
    return Posted(dataset, batches, reports)


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorServer]:
    """One monitor for the module, holding the runs of two datasets."""
    with running_monitor(tmp_path_factory.mktemp("monitor")) as server:
        yield server


@pytest.fixture(scope="module")
def posted(monitor: MonitorServer) -> dict[str, Posted]:
    return {
        BIKES: post(monitor, BIKES, BIKE_BATCHES, bike_reports(BIKE_BATCHES)),
        INFERRED: post(monitor, INFERRED, INFERRED_BATCHES, inferred_reports(INFERRED_BATCHES)),
        LONG_NAMES: post(monitor, LONG_NAMES, LONG_BATCHES, long_name_reports(LONG_BATCHES)),
    }


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium from the Debian package, driven by its own chromedriver (so Selenium
    Manager never downloads anything), with a fresh profile and the network log on."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium_profile')}",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=CHROMEDRIVER, log_output=str(log))
    )
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: WebDriver, monitor: MonitorServer, posted: dict[str, Posted]) -> WebDriver:
    """The status page with the runs in, freshly loaded (other tests open other monitors);
    the network log holds only this load."""
    browser.get_log("performance")  # drop what came before
    browser.get(monitor.url + "/")
    return browser


def section_of(browser: WebDriver, dataset: str) -> WebElement:
    """The dataset's section, found by the name a person reads in its heading."""
    for section in browser.find_elements(By.TAG_NAME, "section"):
        heading = section.find_element(By.TAG_NAME, "h2")
        name = heading.text
        for badge in reversed(heading.find_elements(By.CLASS_NAME, "badge")):
            name = name.removesuffix(badge.text).strip()
        if name == dataset:
            return section
    raise AssertionError(
        f"no section for {dataset!r} in:\n{browser.find_element(By.TAG_NAME, 'body').text}"
    )


def rows_of(section: WebElement) -> dict[str, WebElement]:
    """The feature table's rows by feature name (the first cell's text)."""
    rows = section.find_elements(By.CSS_SELECTOR, "tbody tr")
    return {row.find_element(By.TAG_NAME, "td").text: row for row in rows}


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def expected_cells(f: FeatureResult) -> list[str]:
    """The row's text as a person reads it, but for the chart's cell: the status second,
    so that it is on screen on a phone too."""
    if f.status == "tested":
        mark = "✗ drifted" if f.drifted else "✓ ok"
    else:
        mark = f"⚠ skipped: {f.reason}"
    return [
        f.feature, mark, f.kind, f.test or "-", number(f.p_value), number(f.p_value_adjusted),
        number(f.effect_size), number(f.effect_size_threshold),
        f"{share(f.missing_share_reference)} / {share(f.missing_share_current)}",
    ]  # fmt: skip


def skipped_of(report: DriftReport) -> int:
    return sum(f.status == "skipped" for f in report.features)


def polyline_points(row: WebElement) -> list[tuple[float, float]]:
    [polyline] = row.find_elements(By.TAG_NAME, "polyline")
    pairs = (pair.split(",") for pair in polyline.get_attribute("points").split())
    return [(float(x), float(y)) for x, y in pairs]


def test_each_dataset_shows_its_last_run_its_batches_and_its_verdict(
    page: WebDriver, posted: dict[str, Posted]
) -> None:
    assert page.title == "Drift monitor"
    headings = [h.text for h in page.find_elements(By.TAG_NAME, "h2")]
    # The inferred dataset's date column and dropped column are not tested.
    assert headings == [
        f"{BIKES} DRIFT", f"{INFERRED} DRIFT ⚠ 2 skipped", f"{LONG_NAMES} DRIFT ⚠ 1 skipped"
    ]  # fmt: skip
    for dataset, run in posted.items():
        meta = section_of(page, dataset).find_element(By.CLASS_NAME, "meta").text
        report = run.last
        skipped = skipped_of(report)
        assert meta == (
            f"Last run {run.last_run_at:%Y-%m-%d %H:%M:%S} UTC: batch {run.batches[-1]} "
            f"compared with {REFERENCE}. {report.features_drifted} of {report.features_tested} "
            f"features drifted ({report.share_drifted:.0%}): a feature drifts when its adjusted "
            f"p-value is below alpha {report.alpha:g} (bh correction) and its effect size "
            "reaches its min effect."
            + (f" ⚠ {skipped} feature{'s' * (skipped > 1)} skipped, not tested." if skipped else "")
        )
    bikes = section_of(page, BIKES).find_element(By.CLASS_NAME, "meta").text
    # The bundled yearly drift, as documented: weathersit's p-value is below alpha, but its
    # effect (Cramer's V 0.03) is not material.
    assert "6 of 13 features drifted (46%)" in bikes


def test_a_clean_last_run_shows_no_drift(browser: WebDriver, monitor_server: MonitorServer) -> None:
    post(monitor_server, BIKES, [DRIFT, NO_DRIFT], bike_reports([DRIFT, NO_DRIFT]))
    browser.get(monitor_server.url + "/")
    badge = section_of(browser, BIKES).find_element(By.CLASS_NAME, "badge")
    assert badge.text == "no drift"
    meta = section_of(browser, BIKES).find_element(By.CLASS_NAME, "meta").text
    assert f"batch {NO_DRIFT} compared with {REFERENCE}. 0 of 13 features drifted (0%)" in meta


def test_the_feature_table_has_the_columns_a_person_needs(page: WebDriver) -> None:
    headers = [th.text for th in section_of(page, BIKES).find_elements(By.TAG_NAME, "th")]
    for needed in ("feature", "p-value", "adjusted p-value", "effect size", "min effect", "status"):
        assert needed in headers
    assert headers[-1].startswith("adjusted p-value, last")


def test_every_feature_row_shows_its_values_and_a_drifted_or_ok_mark(
    page: WebDriver, posted: dict[str, Posted]
) -> None:
    for dataset, run in posted.items():
        rows = rows_of(section_of(page, dataset))
        assert list(rows) == [f.feature for f in run.last.features]  # the engine's order
        for f in run.last.features:
            cells = [td.text for td in rows[f.feature].find_elements(By.TAG_NAME, "td")]
            assert len(cells) == 10 and cells[:9] == expected_cells(f), f.feature
            assert cells[9] == "", f.feature  # the chart, drawn, not written


def hand_feature(feature: str, kind: str, test: str | None, **values: object) -> dict[str, object]:
    """One feature of a run document written out by hand: tested with ``test``, or skipped
    (``test`` None, no numbers)."""
    numbers = ("statistic", "p_value", "p_value_adjusted", "effect_size", "effect_size_threshold")
    return {
        "feature": feature, "kind": kind, "test": test, "n_reference": 1000, "n_current": 800,
        "missing_share_reference": None, "missing_share_current": None, "drifted": False,
        "status": "tested" if test else "skipped", "reason": None, "ks_error_bound": None,
        **dict.fromkeys(numbers), **values,
    }  # fmt: skip


def test_a_hand_written_run_reads_as_written_out_by_hand(
    browser: WebDriver, monitor_server: MonitorServer
) -> None:
    """The cells' text pinned by literals, not by a copy of the page's formatting: three
    significant digits (scientific notation below 1e-4), shares as percentages with one
    decimal, '-' for a number a feature does not have."""
    features = [
        hand_feature(
            "x", "numeric", "ks", statistic=0.312, p_value=0.000123, p_value_adjusted=0.0016,
            effect_size=0.312, effect_size_threshold=0.07, missing_share_reference=0.025,
            missing_share_current=0.0, drifted=True,
        ),
        hand_feature(
            "y", "categorical", "chi2", statistic=21.5, p_value=0.0000314159,
            p_value_adjusted=0.061234, effect_size=0.0123456, effect_size_threshold=0.1,
            missing_share_reference=0.12346, missing_share_current=1.0,
        ),
        hand_feature("z", "datetime", None, reason="a date column, not tested"),
    ]  # fmt: skip
    run = {
        "dataset": "hand_written", "batch": "cur.csv", "reference": "ref.csv",
        "run_at": "2026-01-05T06:00:00+00:00",
        "settings": {"alpha": 0.05, "correction": "bh"},
        "summary": {
            "features_tested": 2, "features_skipped": 1, "features_drifted": 1,
            "share_drifted": 0.5, "drifted": True,
        },
        "features": features,
    }  # fmt: skip
    assert send_run(run, monitor_server.url, token=monitor_server.token)["current"] is True

    browser.get(monitor_server.url + "/")
    rows = rows_of(section_of(browser, "hand_written"))
    cells = {
        name: [td.text for td in row.find_elements(By.TAG_NAME, "td")][:9]
        for name, row in rows.items()
    }
    assert cells == {
        "x": [
            "x", "✗ drifted", "numeric", "ks", "0.000123", "0.0016", "0.312", "0.07",
            "2.5% / 0.0%",
        ],
        "y": [
            "y", "✓ ok", "categorical", "chi2", "3.14e-05", "0.0612", "0.0123", "0.1",
            "12.3% / 100.0%",
        ],
        "z": ["z", "⚠ skipped: a date column, not tested", "datetime", "-", "-", "-", "-", "-",
              "- / -"],
    }  # fmt: skip


def test_drifted_marks_are_red_and_ok_marks_green(
    page: WebDriver, posted: dict[str, Posted]
) -> None:
    rows = rows_of(section_of(page, BIKES))
    colours: dict[bool, set[str]] = {}
    for f in posted[BIKES].last.features:
        mark = rows[f.feature].find_elements(By.TAG_NAME, "td")[1].find_element(By.TAG_NAME, "span")
        colours.setdefault(f.drifted, set()).add(mark.value_of_css_property("color"))
    assert colours == {True: {"rgba(179, 38, 30, 1)"}, False: {"rgba(30, 125, 50, 1)"}}


def test_a_skipped_feature_shows_its_reason_and_no_chart(page: WebDriver) -> None:
    rows = rows_of(section_of(page, INFERRED))
    for feature, reason in (
        ("dteday", "a date column, not tested"),
        (DROPPED_COLUMN, "absent from the current batch"),
    ):
        status = rows[feature].find_elements(By.TAG_NAME, "td")[1]
        assert status.text == f"⚠ skipped: {reason}"
        assert rows[feature].find_elements(By.TAG_NAME, "svg") == []


def test_a_run_with_skipped_features_is_flagged_and_one_without_is_not(
    page: WebDriver, posted: dict[str, Posted]
) -> None:
    """A feed that lost a column stands out: a badge by the dataset's name, the count in
    its summary line, and marks in a colour of their own, neither grey nor green."""
    inferred, bikes = section_of(page, INFERRED), section_of(page, BIKES)
    skipped = skipped_of(posted[INFERRED].last)
    assert skipped == 2 and skipped_of(posted[BIKES].last) == 0
    [flag] = inferred.find_elements(By.CSS_SELECTOR, "h2 .badge.skipped")
    assert flag.text == f"⚠ {skipped} skipped"
    assert bikes.find_elements(By.CSS_SELECTOR, "h2 .badge.skipped") == []
    assert f"⚠ {skipped} features skipped" in inferred.find_element(By.CLASS_NAME, "meta").text
    assert "skipped" not in bikes.find_element(By.CLASS_NAME, "meta").text

    rows = rows_of(inferred)
    colour = rows[DROPPED_COLUMN].find_element(By.CSS_SELECTOR, "td span").value_of_css_property
    ok_colours = {
        row.find_element(By.CSS_SELECTOR, "td span").value_of_css_property("color")
        for row in rows.values()
        if row.find_elements(By.TAG_NAME, "td")[1].text == "✓ ok"
    }
    assert ok_colours and colour("color") not in ok_colours
    assert colour("color") != page.find_element(By.CLASS_NAME, "meta").value_of_css_property(
        "color"
    )  # not the grey of secondary text
    assert colour("font-weight") == "600"


def test_each_tested_feature_has_a_p_value_chart_with_one_point_per_run(
    page: WebDriver, posted: dict[str, Posted]
) -> None:
    for dataset, run in posted.items():
        rows = rows_of(section_of(page, dataset))
        charts = 0
        for f in run.last.features:
            if f.p_value is None:
                continue
            charts += 1
            svg = rows[f.feature].find_element(By.TAG_NAME, "svg")
            assert svg.is_displayed() and svg.size["width"] >= 100 and svg.size["height"] >= 20
            points = polyline_points(rows[f.feature])
            assert len(points) == len(run.reports), f.feature
            assert [x for x, _ in points] == sorted(x for x, _ in points)  # oldest run left
            # Lower means stronger drift: the runs' order of heights follows their p-values.
            p_values = [
                next(g.p_value_adjusted for g in r.features if g.feature == f.feature)
                for r in run.reports
            ]
            # Below the alpha line (in the shaded zone) exactly when p < alpha.
            line = float(svg.find_element(By.CLASS_NAME, "alpha").get_attribute("y1"))
            below = [y > line for _, y in points]
            assert below == [p < run.last.alpha for p in p_values], (f.feature, points, line)
            # A person hovering (or a screen reader) gets the values themselves.
            label = "adjusted p-values: " + ", ".join(number(p) for p in p_values)
            assert svg.get_attribute("aria-label") == label
            pairs = pairwise(zip(p_values, (y for _, y in points), strict=True))
            for (p1, y1), (p2, y2) in pairs:
                if p1 < p2:
                    assert y1 >= y2, (f.feature, points, p_values)
                elif p1 > p2:
                    assert y1 <= y2, (f.feature, points, p_values)
        assert len(section_of(page, dataset).find_elements(By.TAG_NAME, "svg")) == charts
    assert charts > 0


PHONE_WIDTH = 420  # CSS pixels
# For each row of the page: the feature's and the status's cell, each scrolled into view
# vertically only, must lie within the window and be what a person sees at its centre
# (not clipped by the table's box or covered). The rows that fail, with their cells' edges.
OFF_SCREEN_CELLS = """
const width = window.innerWidth, failures = [];
for (const row of document.querySelectorAll('tbody tr')) {
  for (const cell of [row.cells[0], row.cells[1]]) {
    window.scrollTo(0, window.scrollY + cell.getBoundingClientRect().top - 100);
    const r = cell.getBoundingClientRect();
    const seen = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    if (!(r.left >= 0 && r.right <= width && seen && cell.contains(seen))) {
      failures.push([row.cells[0].textContent, cell.textContent, r.left, r.right]);
    }
  }
}
return failures;
"""


@pytest.fixture
def phone(page: WebDriver) -> Iterator[WebDriver]:
    """The page on a phone's screen, PHONE_WIDTH wide (a mobile viewport: the page's
    viewport tag decides its layout width, as on a real phone)."""
    metrics = {"width": PHONE_WIDTH, "height": 800, "deviceScaleFactor": 1, "mobile": True}
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        page.refresh()
        yield page
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_on_a_420_pixel_phone_every_features_name_and_status_are_in_view(
    phone: WebDriver, posted: dict[str, Posted]
) -> None:
    assert phone.execute_script("return window.innerWidth") == PHONE_WIDTH
    # The page does not scroll sideways as a whole; only a table may, inside its box.
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
    rows = sum(len(rows_of(section_of(phone, dataset))) for dataset in posted)
    assert rows == sum(len(run.last.features) for run in posted.values())
    assert phone.execute_script(OFF_SCREEN_CELLS) == []
    for dataset in posted:  # the verdict too
        badge = section_of(phone, dataset).find_element(By.CLASS_NAME, "badge")
        assert badge.rect["x"] >= 0 and badge.rect["x"] + badge.rect["width"] <= PHONE_WIDTH


def test_the_page_loads_nothing_but_itself(page: WebDriver, monitor: MonitorServer) -> None:
    """No script, style sheet, font or image from anywhere: the stack runs offline."""
    resources = page.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert resources == []
    requested = [
        event["params"]["request"]["url"]
        for event in (
            json.loads(entry["message"])["message"] for entry in page.get_log("performance")
        )
        if event["method"] == "Network.requestWillBeSent"
    ]
    assert monitor.url + "/" in requested  # the log works: it saw the page itself
    # chrome:// pages of the browser's own (a new tab) are not network requests.
    network = [url for url in requested if urlsplit(url).scheme not in ("chrome", "data")]
    assert [url for url in network if not url.startswith(monitor.url + "/")] == []


def test_a_screenshot_of_the_page_is_saved(
    page: WebDriver, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The whole page, not only the window, for a person to look at."""
    size = page.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = page.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    png = base64.b64decode(shot["data"])
    paths = [tmp_path_factory.mktemp("screenshots") / "status_page.png"]
    if os.environ.get("SCREENSHOT_DIR"):
        paths.append(Path(os.environ["SCREENSHOT_DIR"]) / "status_page.png")
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > MIN_SCREENSHOT_BYTES, path
    print(f"screenshot: {', '.join(map(str, paths))}")


def test_an_empty_monitor_says_no_run_has_been_received(
    browser: WebDriver, monitor_server: MonitorServer
) -> None:
    browser.get(monitor_server.url + "/")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert body.startswith("Drift monitor\nNo drift run has been received yet."), body
    assert browser.find_elements(By.TAG_NAME, "section") == []


def test_names_are_shown_as_text_never_run_as_html(
    browser: WebDriver, monitor_server: MonitorServer
) -> None:
    dataset = "<script>alert(1)"  # no "/": a dataset name cannot have one
    feature = '<img src=x onerror="alert(2)">'
    batch = '"><b onmouseover=alert(3)>batch'
    config = load_config(DATA / "drift.yaml")
    reference = read_batch(DATA / REFERENCE, config)
    current = read_batch(DATA / DRIFT, config)
    columns = {
        feature if name == "temp" else name: kind for name, kind in (config.columns or {}).items()
    }
    report = compare(
        reference.rename(columns={"temp": feature}),
        current.rename(columns={"temp": feature}),
        DriftConfig(config.alpha, config.correction, columns),
    )
    run = run_document(report, dataset, reference=REFERENCE, batch=batch, run_at=FIRST_RUN_AT)
    assert send_run(run, monitor_server.url, token=monitor_server.token)["current"] is True

    browser.get(monitor_server.url + "/")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what looks for an alert
    section = section_of(browser, dataset)
    assert feature in rows_of(section)
    assert f"batch {batch} compared with" in section.find_element(By.CLASS_NAME, "meta").text
    for tag in ("script", "img", "b"):
        # The page's own markup has <b> only around the two batch names.
        found = browser.find_elements(By.TAG_NAME, tag)
        assert len(found) == (2 if tag == "b" else 0), tag


def test_a_feature_whose_sketch_may_be_off_is_marked_and_a_fine_one_is_not(
    browser: WebDriver, monitor_server: MonitorServer
) -> None:
    """Sketched (40,000 distinct values, max_distinct 10,000): epoch-millisecond timestamps
    packed in a week are too coarse for a 12-bit sketch; uniform values in [0, 1) are not."""
    rng = np.random.default_rng(0)
    n = 20_000

    def batch(offset: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "t": np.round(1.7e12 + offset + rng.uniform(0, 7 * 86_400_000, n)),
                "x": rng.uniform(0, 1, n),
            }
        )

    report = compare(batch(0), batch(3_600_000), DriftConfig(max_distinct=10_000))
    bounds = {f.feature: f.ks_error_bound for f in report.features}
    assert bounds["t"] > 0.5 and bounds["x"] < 0.01  # far on each side of the 0.01 limit
    run = run_document(report, "sketched", reference="ref", batch="cur", run_at=FIRST_RUN_AT)
    assert send_run(run, monitor_server.url, token=monitor_server.token)["current"] is True

    browser.get(monitor_server.url + "/")
    rows = rows_of(section_of(browser, "sketched"))
    status = {name: row.find_element(By.CLASS_NAME, "status").text for name, row in rows.items()}
    assert status["t"].splitlines()[1:] == ["⚠ sketched: its KS statistic may be up to 0.89 higher"]
    assert "sketched" not in status["x"]
