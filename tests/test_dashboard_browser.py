"""Superset end to end: real server, real import, real headless Chromium.

One Superset per module (init ~40 s, start ~8 s, import ~10 s), in a temporary
CITYLAKE_HOME, on a free port, over a small deterministic serving DuckDB. Swap
:func:`make_fixture_serving_db` for the real pipeline's output when it exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from conftest import IN_CI

from citylake.serving import superset
from citylake.serving.dashboards import MART_TABLES, SERVING_SCHEMA, serving_db_mismatches
from citylake.serving.superset import ServerInfo
from citylake.settings import Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip
SLUG = "service-center-demand"
CHART_UUIDS = {
    "line": "6106d28e-72ee-4750-8004-b4fc03a9297a",
    "total": "83d14735-54f3-47e5-b4ff-a7d8fcfba6f2",
    "table": "16301e43-913b-485e-b2c4-250ef9cb1905",
}

# The fixture city: two centers, two service categories, six hours of arrivals and
# four forecast hours. Values are simple formulas so expectations are computable.
CENTERS = {"C01": "Northside", "C02": "Harbor"}
CATEGORIES = ("permits", "registrations")
ARRIVALS_FROM, ARRIVAL_HOURS = datetime(2026, 9, 1, 8), 6
FORECAST_FROM, FORECAST_HOURS = datetime(2026, 9, 2, 8), 4


def arrival_rows(scale: int = 1) -> list[tuple[Any, ...]]:
    return [
        (cid, name, cat, ARRIVALS_FROM + timedelta(hours=h), scale * ((c + 1) * 3 + h + 2 * k),
         5.0 + h, 7.5)
        for c, (cid, name) in enumerate(CENTERS.items())
        for k, cat in enumerate(CATEGORIES)
        for h in range(ARRIVAL_HOURS)
    ]  # fmt: skip


def forecast_rows() -> list[tuple[Any, ...]]:
    return [
        (cid, cat, FORECAST_FROM + timedelta(hours=h), 4.0 + h + c, 7.5, 1 + (h + c + k) % 3,
         "seasonal_naive")
        for c, cid in enumerate(CENTERS)
        for k, cat in enumerate(CATEGORIES)
        for h in range(FORECAST_HOURS)
    ]  # fmt: skip


def make_fixture_serving_db(path: Path, *, scale: int = 1) -> Path:
    """Write the two marts (columns from MART_TABLES) and publish them at ``path`` by
    atomic rename, as the pipeline does. ``scale`` multiplies arrivals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    with duckdb.connect(str(tmp)) as con:
        con.execute(f"CREATE SCHEMA {SERVING_SCHEMA}")
        for table, columns in MART_TABLES.items():
            cols = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
            con.execute(f"CREATE TABLE {SERVING_SCHEMA}.{table} ({cols})")
        for table, rows in (
            ("fct_center_hourly_arrivals", arrival_rows(scale)),
            ("fct_counter_demand_forecast", forecast_rows()),
        ):
            marks = ", ".join("?" * len(MART_TABLES[table]))
            con.executemany(f"INSERT INTO {SERVING_SCHEMA}.{table} VALUES ({marks})", rows)
    os.replace(tmp, path)
    return path


def epoch_ms(moment: datetime) -> float:
    """Superset's JSON timestamps: naive DuckDB TIMESTAMPs read as UTC, in ms."""
    return moment.replace(tzinfo=UTC).timestamp() * 1000


def expected_line(scale: int = 1) -> dict[float, dict[str, float]]:
    out: dict[float, dict[str, float]] = {}
    for _cid, name, _cat, hour, arrivals, *_ in arrival_rows(scale):
        per_hour = out.setdefault(epoch_ms(hour), {})
        per_hour[name] = per_hour.get(name, 0) + arrivals
    return out


def expected_total(scale: int = 1) -> int:
    return sum(row[4] for row in arrival_rows(scale))


def expected_counters() -> dict[tuple[float, str], int]:
    out: dict[tuple[float, str], int] = {}
    for cid, _cat, hour, _exp, _handle, counters, _method in forecast_rows():
        key = (epoch_ms(hour), cid)
        out[key] = out.get(key, 0) + counters
    return out


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI must provide it")
    print(f"SKIP: {reason}")
    pytest.skip(reason)


def _wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    """Just enough of Superset's REST API (bearer token; GETs need no CSRF token)."""

    def __init__(self, settings: Settings, info: ServerInfo) -> None:
        self.base = info.url
        body = {"username": settings.admin_user, "password": settings.admin_password,
                "provider": "db", "refresh": False}  # fmt: skip
        status, answer = self.call("POST", "/api/v1/security/login", body)
        assert status == 200, answer
        self.token = answer["access_token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, method=method)
        if body is not None:
            # Only with a body: Flask answers 400 to a GET declaring a JSON body.
            request.data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        if getattr(self, "token", None):
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def get(self, path: str) -> Any:
        status, answer = self.call("GET", path)
        assert status == 200, f"GET {path}: {status} {answer}"
        return answer

    def chart_ids(self) -> dict[str, int]:
        """Chart uuid -> id."""
        listing = self.get("/api/v1/chart/?q=(columns:!(id,uuid,slice_name),page_size:100)")
        return {row["uuid"]: row["id"] for row in listing["result"]}

    def chart_data(self, chart_id: int) -> dict[str, Any]:
        """The stored query_context's result (what reports and cache warm-up use)."""
        return self.get(f"/api/v1/chart/{chart_id}/data/?force=true")["result"][0]


@pytest.fixture(scope="session")
def fixture_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse dir whose serving.duckdb holds the fixture marts."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    make_fixture_serving_db(warehouse / "serving.duckdb")
    return warehouse


@pytest.fixture(scope="module")
def superset_server(
    tmp_path_factory: pytest.TempPathFactory, fixture_warehouse: Path, output_dir: Path
) -> Iterator[tuple[Settings, ServerInfo]]:
    """Initialised Superset with the dashboards imported, running on a free port."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYLAKE_HOME", str(tmp_path_factory.mktemp("citylake_home")))
        env.setenv("CITYLAKE_WAREHOUSE_DIR", str(fixture_warehouse))
        env.setenv("CITYLAKE_SUPERSET_PORT", str(_free_port()))
        for name in ("CITYLAKE_SUPERSET_HOME", "CITYLAKE_SUPERSET_DB_URL"):
            env.delenv(name, raising=False)
        settings = load_settings()
        if not (settings.superset_venv / "bin" / "superset").exists():
            _skip_or_fail(f"Superset venv {settings.superset_venv} missing (make install)")
        assert serving_db_mismatches(settings.serving_db) == []
        began = time.monotonic()
        superset.ensure_initialized(settings)
        initialised = time.monotonic()
        superset.import_dashboards(settings)
        imported = time.monotonic()
        info = superset.start(settings)
        timings = {"init": initialised - began, "import": imported - initialised,
                   "start": time.monotonic() - imported}  # fmt: skip
        try:
            yield settings, info
        finally:
            superset.stop(settings)
            timings = {step: round(seconds, 1) for step, seconds in timings.items()}
            print(f"Superset timings (s): {timings}")
            (output_dir / "superset_timings.json").write_text(json.dumps(timings))


def test_dashboard_renders_in_browser(
    superset_server: tuple[Settings, ServerInfo], output_dir: Path
) -> None:
    if not CHROMIUM.exists():
        _skip_or_fail(f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import Response, sync_playwright

    settings, info = superset_server
    api = Api(settings, info)
    chart_ids = api.chart_ids()
    slice_to_chart = {chart_ids[uuid]: name for name, uuid in CHART_UUIDS.items()}
    responses: list[Response] = []
    began = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            # The test must not depend on (or leak to) the internet: refuse other hosts.
            own = re.compile(rf"^{re.escape(info.url)}/")
            context.route(re.compile(r"^https?://"), lambda route: route.continue_()
                          if own.match(route.request.url) else route.abort())  # fmt: skip
            page = context.new_page()
            page.on("response", lambda r: responses.append(r) if "/api/v1/chart/data" in r.url
                    else None)  # fmt: skip

            login = page.goto(f"{info.url}/login/")
            assert login is not None
            # No telemetry: the CSP written by write_config() lacks Scarf's pixel host.
            csp = login.headers.get("content-security-policy", "")
            assert "img-src" in csp and "scarf" not in csp, csp
            page.fill('[data-test="username-input"]', settings.admin_user)
            page.fill('[data-test="password-input"]', settings.admin_password)
            page.click('[data-test="login-button"]')
            page.wait_for_url(lambda url: "/login" not in url)

            page.goto(f"{info.url}/superset/dashboard/{SLUG}/")
            deadline = time.monotonic() + 60
            while len(responses) < len(CHART_UUIDS) and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert len(responses) == len(CHART_UUIDS), [r.url for r in responses]
            page.wait_for_load_state("networkidle")
            # Titles, the big number and table cells are DOM text; the line chart is
            # drawn by ECharts on a canvas, so check that one exists.
            for text in ("Hourly arrivals per center", "Counters needed per center and hour",
                         str(expected_total()), "C01", "C02"):  # fmt: skip
                page.get_by_text(text, exact=True).first.wait_for(state="visible")
            page.locator("canvas").first.wait_for(state="visible")
            page.wait_for_timeout(1500)  # ECharts animates lines in for ~1 s
            shot = output_dir / "dashboard_service_center_demand.png"
            page.screenshot(path=str(shot), full_page=True)

            results: dict[str, list[dict[str, Any]]] = {}
            for response in responses:
                assert response.status == 200, response.text()
                form_data = response.request.post_data_json["form_data"]
                name = slice_to_chart[form_data["slice_id"]]
                results[name] = response.json()["result"][0]["data"]
        finally:
            browser.close()
    print(f"browser: login, dashboard and screenshot in {time.monotonic() - began:.1f} s")

    assert shot.stat().st_size > 20_000
    line = {r["arrival_hour"]: {k: v for k, v in r.items() if k != "arrival_hour"}
            for r in results["line"]}  # fmt: skip
    assert line == expected_line()
    assert results["total"] == [{"arrivals": expected_total()}]
    table = {(r["forecast_hour"], r["center_id"]): r["counters_needed"] for r in results["table"]}
    assert table == expected_counters()
    # The stored query_context (GET chart data: reports, API) must agree with the browser.
    for name, rows in results.items():
        stored = api.chart_data(chart_ids[CHART_UUIDS[name]])["data"]
        assert sorted(map(repr, stored)) == sorted(map(repr, rows)), name


def test_reimport_updates_and_does_not_duplicate(
    superset_server: tuple[Settings, ServerInfo], tmp_path: Path
) -> None:
    settings, info = superset_server
    assert superset.ensure_initialized(settings) is False  # once per home; now a no-op
    assert superset.is_running(settings)
    assert superset.start(settings) == info  # already running: start() is idempotent
    edited = tmp_path / "dashboards"
    shutil.copytree(settings.dashboards_dir, edited)
    chart_file = edited / "charts" / "total_arrivals.yaml"
    chart = yaml.safe_load(chart_file.read_text())
    chart["slice_name"] = "Total arrivals (edited)"
    chart_file.write_text(yaml.safe_dump(chart))

    summary = superset.import_dashboards(settings, dashboards_dir=edited)  # second import
    assert {kind: part["rows"] for kind, part in summary.items()} == {
        "databases": 1, "datasets": 2, "charts": 3, "dashboards": 1,
    }  # fmt: skip
    api = Api(settings, info)
    dashboards = api.get("/api/v1/dashboard/?q=(page_size:100)")
    assert [d["slug"] for d in dashboards["result"]] == [SLUG]
    charts = api.get("/api/v1/chart/?q=(columns:!(id,uuid,slice_name),page_size:100)")
    assert sorted(c["uuid"] for c in charts["result"]) == sorted(CHART_UUIDS.values())
    names = {c["uuid"]: c["slice_name"] for c in charts["result"]}
    assert names[CHART_UUIDS["total"]] == "Total arrivals (edited)"  # updated, not skipped
    assert api.get("/api/v1/dataset/?q=(page_size:100)")["count"] == 2
    assert api.get("/api/v1/database/?q=(page_size:100)")["count"] == 1
    on_dashboard = api.get(f"/api/v1/dashboard/{SLUG}/charts")["result"]
    assert len(on_dashboard) == len(CHART_UUIDS)

    superset.import_dashboards(settings)  # back to the repository's version for later tests
    names = {c["uuid"]: c["slice_name"] for c in api.get(
        "/api/v1/chart/?q=(columns:!(id,uuid,slice_name),page_size:100)")["result"]}  # fmt: skip
    assert names[CHART_UUIDS["total"]] == "Total arrivals"
    assert len(names) == len(CHART_UUIDS)


# Runs in a separate process (the platform venv's python): holds a write connection on
# the build file for its whole life, and on "publish" writes a fresh copy next to the
# serving file and os.replace()s it in, like the pipeline's publish step.
WRITER = """
import os, sys, duckdb
build, serving = sys.argv[1], sys.argv[2]
con = duckdb.connect(build)
con.execute("ATTACH ? AS src (READ_ONLY)", [serving])
con.execute("COPY FROM DATABASE src TO build")
con.execute("DETACH src")
con.execute("UPDATE marts.fct_center_hourly_arrivals SET arrivals = arrivals * 10")
con.execute("CHECKPOINT")
print("ready", flush=True)
sys.stdin.readline()
tmp = serving + ".publishing"
con.execute("ATTACH ? AS pub", [tmp])
con.execute("COPY FROM DATABASE build TO pub")
con.execute("DETACH pub")
os.replace(tmp, serving)
print("published", flush=True)
sys.stdin.readline()
con.close()
"""


def test_queries_survive_build_writer_and_publish(
    superset_server: tuple[Settings, ServerInfo],
) -> None:
    settings, info = superset_server
    api = Api(settings, info)
    ids = api.chart_ids()
    total_id, line_id = ids[CHART_UUIDS["total"]], ids[CHART_UUIDS["line"]]
    settings.build_db.unlink(missing_ok=True)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(settings.build_db), str(settings.serving_db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdin is not None and writer.stdout is not None
    seen: list[Any] = []
    stop_hammer = threading.Event()

    def hammer() -> None:
        # Queries keep running while the serving file is swapped underneath them.
        while not stop_hammer.is_set():
            for chart_id in (total_id, line_id):
                status, answer = api.call("GET", f"/api/v1/chart/{chart_id}/data/?force=true")
                seen.append(answer["result"][0]["data"] if status == 200 else (status, answer))

    try:
        assert writer.stdout.readline().strip() == "ready"
        # Between queries: the build file is open for writing in another process.
        assert api.chart_data(total_id)["data"] == [{"arrivals": expected_total()}]
        thread = threading.Thread(target=hammer, daemon=True)
        thread.start()
        _wait_until(lambda: len(seen) >= 4)  # queries are running ...
        writer.stdin.write("publish\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "published"  # ... while the file moves
        published_at = len(seen)
        _wait_until(lambda: len(seen) >= published_at + 4)
        stop_hammer.set()
        thread.join(timeout=60)
        # After the swap new queries see the new file (no stale cached instance).
        assert api.chart_data(total_id)["data"] == [{"arrivals": expected_total(10)}]
        line = api.chart_data(line_id)["data"]
        assert {row["arrival_hour"]: row["Harbor"] for row in line} == {
            hour: values["Harbor"] for hour, values in expected_line(10).items()
        }
    finally:
        stop_hammer.set()
        writer.stdin.write("exit\n")
        writer.stdin.close()
        writer.wait(timeout=30)
        make_fixture_serving_db(settings.serving_db)  # restore for other tests

    failures = [entry for entry in seen if isinstance(entry, tuple)]
    assert failures == [] and len(seen) >= 4, failures[:3]
    totals = [entry[0]["arrivals"] for entry in seen if "arrivals" in entry[0]]
    # Old numbers, then new ones: no query saw a broken or half-written file.
    assert totals[0] == expected_total() and totals[-1] == expected_total(10)
    assert set(totals) == {expected_total(), expected_total(10)}
    assert writer.returncode == 0
