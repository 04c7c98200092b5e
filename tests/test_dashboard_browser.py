"""The four dashboards in a real Superset, rendered by Debian's headless Chromium, over the
serving file of the whole city the pipeline test built through Airflow (``pipeline_run``):
its warehouse DAG imported ``dashboards/`` and applied the roles.

Every chart of every dashboard must answer with rows of the pipeline's data (no error, no
empty frame); a planner and two departments see their subsets and are refused the rest;
a dashboard keeps loading while dbt builds and publish swaps the serving file; a
re-import updates in place. Screenshots land in ``test-output/`` (small copies in
``test-output/docs/``, the README's pictures).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from superset_fixture import Client, skip_or_fail

from citylake.serving import superset
from citylake.serving.superset import ServerInfo
from citylake.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip
DEMO_PASSWORD = "Demo-Password-1"
DASHBOARDS_DIR = Path(__file__).resolve().parents[1] / "dashboards"


def dashboards() -> dict[str, list[str]]:
    """slug -> the chart stems on it, from the repository's YAML."""
    out = {}
    for path in sorted(DASHBOARDS_DIR.glob("dashboards/*.yaml")):
        config = yaml.safe_load(path.read_text())
        out[config["slug"]] = [c["chart"] for row in config["layout"] for c in row if "chart" in c]
    return out


def chart_titles() -> dict[str, str]:
    return {
        p.stem: yaml.safe_load(p.read_text())["slice_name"]
        for p in DASHBOARDS_DIR.glob("charts/*.yaml")
    }


@pytest.fixture(scope="module")
def server(pipeline_run: dict) -> Iterator[tuple[Settings, ServerInfo]]:
    settings: Settings = pipeline_run["settings"]
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found (apt-get install chromium)")
    if not (settings.superset_venv / "bin" / "superset").exists():
        skip_or_fail(f"Superset venv {settings.superset_venv} missing (make install)")
    info = superset.start(settings)
    try:
        yield settings, info
    finally:
        superset.stop(settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


VIEWPORT = {"width": 1400, "height": 1000}


class Session:
    """One logged-in browser context; ``open`` returns each chart's data response."""

    def __init__(self, browser: Any, info: ServerInfo, user: str, password: str) -> None:
        self.url = info.url
        self.context = browser.new_context(viewport=VIEWPORT)
        own = re.compile(rf"^{re.escape(info.url)}/")
        # The dashboards must not depend on (or leak to) the internet: refuse other hosts.
        self.context.route(
            re.compile(r"^https?://"),
            lambda route: route.continue_() if own.match(route.request.url) else route.abort(),
        )
        self.page = self.context.new_page()
        self.page.goto(f"{self.url}/login/")
        self.page.fill('[data-test="username-input"]', user)
        self.page.fill('[data-test="password-input"]', password)
        self.page.click('[data-test="login-button"]')
        self.page.wait_for_url(lambda url: "/login" not in url, timeout=120_000)
        # The welcome page loads the same JavaScript bundles as a dashboard: a cold server
        # serves them slowly the first time, which is not the dashboard's own time.
        self.page.wait_for_load_state("networkidle", timeout=180_000)

    def open(
        self, slug: str, charts: int, wait: float = 180, quiet: float | None = None
    ) -> tuple[dict[int, Any], float]:
        """Open a dashboard; wait until every chart's data arrived; (slice id -> response,
        seconds until the last one). With ``quiet``, also stop once no chart query is in
        flight and none has started or ended for that many seconds: a chart refused to
        the user may never query, and waiting ``wait`` for it proves nothing more."""
        found: dict[int, Any] = {}
        flight = {"open": 0, "last": time.monotonic()}

        def chart_query(request: Any) -> bool:
            return "/api/v1/chart/data" in request.url

        def started(request: Any) -> None:
            if chart_query(request):
                flight["open"] += 1
                flight["last"] = time.monotonic()

        def ended(request: Any) -> None:
            if chart_query(request):
                flight["open"] -= 1
                flight["last"] = time.monotonic()

        def seen(response: Any) -> None:
            if not chart_query(response.request):
                return
            form = (response.request.post_data_json or {}).get("form_data") or {}
            if form.get("slice_id"):
                found[int(form["slice_id"])] = response

        listeners = {"request": started, "requestfinished": ended, "requestfailed": ended,
                     "response": seen}  # fmt: skip
        for event, listener in listeners.items():
            self.page.on(event, listener)
        self.page.set_viewport_size(VIEWPORT)
        began = time.monotonic()
        try:
            self.page.goto(f"{self.url}/superset/dashboard/{slug}/")
            deadline = began + wait
            while len(found) < charts and time.monotonic() < deadline:
                # Some chart answered, or the grid holds every chart, so the page's
                # queries have been sent.
                settled = time.monotonic() - flight["last"] > (quiet or math.inf)
                if settled and flight["open"] <= 0 and (found or self._holders() >= charts):
                    break
                self.page.wait_for_timeout(200)
            seconds = time.monotonic() - began
            self.page.wait_for_load_state("networkidle")
        finally:
            for event, listener in listeners.items():
                self.page.remove_listener(event, listener)
        return found, seconds

    def _holders(self) -> int:
        return int(
            self.page.evaluate(
                """() => document.querySelectorAll(
                    '[data-test="dashboard-component-chart-holder"]').length"""
            )
        )

    def fit_to_page(self, charts: int, timeout: float = 60_000) -> None:
        """Make the window as tall as the dashboard and wait until every chart painted.

        Data arriving is not the grid painting it, and a full-page screenshot resizes the
        window as it captures: Superset re-lays its grid on resize (and only mounts charts
        in view), so a capture then can be a blank grid. A window the page's height shows
        every chart at once, and the screenshot is taken of what is already drawn."""
        height = int(self.page.evaluate("() => document.documentElement.scrollHeight"))
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 1000)})
        self.page.wait_for_function(
            """n => document.querySelectorAll('[data-test="chart-container"]').length >= n
                && !document.querySelector('[data-test="loading-indicator"]')""",
            arg=charts,
            timeout=timeout,
        )
        self.page.wait_for_timeout(1500)  # ECharts animates its series in

    def close(self) -> None:
        self.context.close()


def _rows(response: Any) -> list[dict[str, Any]]:
    return response.json()["result"][0]["data"] if response.status == 200 else []


def _save_screenshots(page: Any, output_dir: Path, slug: str) -> Path:
    from PIL import Image

    shot = output_dir / f"dashboard_{slug}.png"
    page.screenshot(path=str(shot))  # the window already holds the whole page
    small = output_dir / "docs" / f"dashboard_{slug}.png"
    small.parent.mkdir(exist_ok=True)
    with Image.open(shot) as image:
        width = 900
        height = round(image.height * width / image.width)
        image.convert("RGB").resize((width, height), Image.LANCZOS).quantize(colors=128).save(
            small, optimize=True
        )
    return shot


def test_every_dashboard_renders_the_pipelines_data(
    server: tuple[Settings, ServerInfo], browser: Any, output_dir: Path
) -> None:
    settings, info = server
    admin = Client(info.url, settings.admin_user, settings.admin_password)
    ids = {
        c["slice_name"]: c["id"]
        for c in admin.get("/api/v1/chart/?q=(columns:!(id,slice_name),page_size:100)")["result"]
    }
    titles = chart_titles()
    session = Session(browser, info, settings.admin_user, settings.admin_password)
    timings: dict[str, float] = {}
    data: dict[str, list[dict[str, Any]]] = {}
    try:
        for slug, stems in dashboards().items():
            responses, seconds = session.open(slug, len(stems))
            timings[slug] = round(seconds, 1)
            missing = [stem for stem in stems if ids[titles[stem]] not in responses]
            if missing:  # keep what the browser showed, to tell a slow chart from a lost one
                session.page.screenshot(path=str(output_dir / f"failed_{slug}.png"))
            assert not missing, (
                f"{slug}: {missing} sent no query within {seconds:.0f} s; page shows "
                f"{session.page.inner_text('body')[:800]!r}"
            )
            for stem in stems:
                response = responses[ids[titles[stem]]]
                assert response.status == 200, f"{slug}: {stem}: {response.text()[:500]}"
                rows = _rows(response)
                assert rows, f"{slug}: {stem} shows an empty frame"
                data[stem] = rows
            session.fit_to_page(len(stems))
            errors = session.page.locator('[data-test="chart-error"], .alert-danger')
            assert errors.count() == 0, errors.all_inner_texts()[:3]
            shot = _save_screenshots(session.page, output_dir, slug)
            assert shot.stat().st_size > 50_000
    finally:
        session.close()
    (output_dir / "dashboard_timings.json").write_text(json.dumps(timings, indent=1))

    # The numbers are the pipeline's: the serving file holds the same.
    with duckdb.connect(str(settings.serving_db), read_only=True) as con:
        batches = con.execute("select count(*) from marts.fct_landing_batches").fetchone()[0]
        planned = con.execute(
            "select sum(pooled_counter_hours) from marts.fct_staffing_plan_daily"
        ).fetchone()[0]
        by_channel = dict(
            con.execute("select channel, count(*) from marts.fct_application group by 1").fetchall()
        )
        districts = {
            r[0]
            for r in con.execute(
                "select distinct district_name from marts.fct_warning_status"
            ).fetchall()
        }
    assert list(data["ph_batches"][0].values()) == [batches]
    assert list(data["st_general_counter_hours"][0].values()) == [planned]
    assert {r["channel"]: r["Applications"] for r in data["ps_channel_share"]} == by_channel
    assert {r["district_name"] for r in data["wa_district_grid"]} == districts


def _refused(seen: tuple[int, list, str] | None) -> bool:
    """No data: the chart never queried, or its query was refused."""
    if seen is None:
        return True
    status, rows, text = seen
    refusal = status in (403, 404) or (status >= 400 and "ACCESS" in text.upper())
    return refusal and not rows


def test_roles_see_their_subsets_in_the_browser(
    server: tuple[Settings, ServerInfo], browser: Any
) -> None:
    from citylake.serving.superset_roles import apply_roles, demo_username

    settings, info = server
    report = apply_roles(settings, users="demo", demo_password=DEMO_PASSWORD)
    roles = {r.role for r in report.roles}
    assert {"Planner", "EmergencyManager", "DataEngineer"} <= roles
    admin = Client(info.url, settings.admin_user, settings.admin_password)
    ids = {
        c["slice_name"]: c["id"]
        for c in admin.get("/api/v1/chart/?q=(columns:!(id,slice_name),page_size:100)")["result"]
    }
    titles = chart_titles()
    boards = dashboards()

    def visit(user: str, slug: str) -> dict[str, tuple[int, list, str] | None]:
        session = Session(browser, info, user, DEMO_PASSWORD)
        try:
            # A refused chart may never query: stop once the page has gone quiet.
            responses, _ = session.open(slug, len(boards[slug]), wait=60, quiet=8)
            out: dict[str, tuple[int, list, str] | None] = {}
            for stem in boards[slug]:
                response = responses.get(ids[titles[stem]])
                out[stem] = (
                    None
                    if response is None
                    else (response.status, _rows(response), response.text()[:2000])
                )
            return out
        finally:
            session.close()

    def shown(seen: tuple[int, list, str] | None) -> bool:
        return seen is not None and seen[0] == 200 and bool(seen[1])

    # A planner: every staffing chart with data; the warnings' tables are not theirs.
    staffing = visit(demo_username("Planner"), "staffing")
    assert all(shown(seen) for seen in staffing.values()), staffing
    warnings = visit(demo_username("Planner"), "warnings")
    assert all(_refused(seen) for seen in warnings.values())

    # Two departments on the public-service dashboard: fct_application is shared with
    # taxation but not with water resources; fct_complaint with neither.
    on_applications = {"ps_applications_by_channel", "ps_channel_share", "ps_one_visit_rate"}
    on_complaints = {"ps_complaints_by_category", "ps_hotspots"}
    taxation = visit(demo_username("dept_taxation"), "public-service")
    water = visit(demo_username("dept_water_resources"), "public-service")
    for stem in on_applications:
        assert shown(taxation[stem]), stem
        assert _refused(water[stem]), stem
    for stem in on_complaints:
        assert _refused(taxation[stem]) and _refused(water[stem]), stem
    # Both read the unconditionally shared matters table.
    assert shown(taxation["ps_matters"]) and shown(water["ps_matters"])


def test_dashboard_keeps_loading_while_dbt_builds_and_publish_swaps(
    server: tuple[Settings, ServerInfo],
) -> None:
    from citylake import warehouse

    settings, info = server
    admin = Client(info.url, settings.admin_user, settings.admin_password)
    charts = {
        c["slice_name"]: c["id"]
        for c in admin.get("/api/v1/chart/?q=(columns:!(id,slice_name),page_size:100)")["result"]
    }
    titles = chart_titles()
    watched = [charts[titles["ph_batches"]], charts[titles["st_general_counter_hours"]]]
    seen: list[Any] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            for chart_id in watched:
                status, answer = admin.call("GET", f"/api/v1/chart/{chart_id}/data/?force=true")
                seen.append(answer["result"][0]["data"] if status == 200 else (status, answer))

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        # The build file is written by dbt while the dashboards read the serving file,
        # then publish swaps a new serving file in underneath the running queries.
        warehouse.run_dbt(["build", "--select", "fct_source_quality fct_landing_batches"], settings)
        before_publish = len(seen)
        warehouse.publish(settings)
        deadline = time.monotonic() + 60
        while len(seen) < before_publish + 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=60)
    failures = [entry for entry in seen if isinstance(entry, tuple)]
    assert failures == [] and len(seen) >= 4, failures[:3]
    assert all(entry for entry in seen), "a query saw an empty result"


def test_reimport_updates_in_place(server: tuple[Settings, ServerInfo], tmp_path: Path) -> None:
    settings, info = server
    admin = Client(info.url, settings.admin_user, settings.admin_password)

    def listing() -> dict[str, str]:
        found = admin.get("/api/v1/chart/?q=(columns:!(uuid,slice_name),page_size:100)")
        return {c["uuid"]: c["slice_name"] for c in found["result"]}

    before = listing()
    slugs_before = {d["slug"] for d in admin.get("/api/v1/dashboard/?q=(page_size:100)")["result"]}
    edited = tmp_path / "dashboards"
    shutil.copytree(settings.dashboards_dir, edited)
    chart_file = edited / "charts" / "ph_batches.yaml"
    chart = yaml.safe_load(chart_file.read_text())
    chart["slice_name"] = "Batches landed (edited)"
    chart_file.write_text(yaml.safe_dump(chart, allow_unicode=True))
    try:
        superset.import_dashboards(settings, dashboards_dir=edited)
        after = listing()
        assert set(after) == set(before)  # nothing added: matched by uuid
        assert after[str(chart["uuid"])] == "Batches landed (edited)"
        slugs = {d["slug"] for d in admin.get("/api/v1/dashboard/?q=(page_size:100)")["result"]}
        assert slugs == slugs_before and set(dashboards()) <= slugs
    finally:
        superset.import_dashboards(settings)
    assert listing() == before


def test_export_writes_ui_changes_back_as_yaml(
    server: tuple[Settings, ServerInfo], tmp_path: Path
) -> None:
    from citylake.serving.dashboards_export import export_dashboards

    settings, info = server
    admin = Client(info.url, settings.admin_user, settings.admin_password)
    target = tmp_path / "dashboards"
    shutil.copytree(settings.dashboards_dir, target)
    untouched = export_dashboards(settings, target)
    assert not untouched.changed_charts and not untouched.changed_dashboards

    # A planner renames a chart and switches its number format in the UI.
    chart_file = target / "charts" / "st_peak_general_counters.yaml"
    chart = yaml.safe_load(chart_file.read_text())
    listing = admin.get("/api/v1/chart/?q=(columns:!(id,uuid),page_size:100)")["result"]
    chart_id = next(c["id"] for c in listing if c["uuid"] == str(chart["uuid"]))
    params = json.loads(admin.get(f"/api/v1/chart/{chart_id}")["result"]["params"])
    params["y_axis_format"] = ",.1f"
    status, answer = admin.call(
        "PUT",
        f"/api/v1/chart/{chart_id}",
        {"slice_name": "Busiest hour's general counters", "params": json.dumps(params)},
    )
    assert status == 200, answer
    try:
        report = export_dashboards(settings, target)
        assert report.changed_charts == ["st_peak_general_counters"]
        written = yaml.safe_load(chart_file.read_text())
        assert written["slice_name"] == "Busiest hour's general counters"
        assert written["params"]["y_axis_format"] == ",.1f" and "spec" not in written
        assert written["dataset"] == "fct_staffing_plan"
        # The written-back YAML imports as it is.
        superset.import_dashboards(settings, dashboards_dir=target)
    finally:
        superset.import_dashboards(settings)
