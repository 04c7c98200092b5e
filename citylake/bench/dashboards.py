"""Dashboard speed: seconds until every chart of a dashboard has its data, cold and warm.

Superset (its own venv) serves the home's published serving file; Debian's headless
Chromium logs in once and opens each dashboard twice: *cold* (the first visit after the
server started: Superset's metadata and the DuckDB file not yet in any cache) and *warm*
(the next visit; the serving DuckDB is opened per query and Superset keeps no data cache,
so warm mostly measures the browser's assets and Superset's metadata caches). The clock
stops when the last chart's data arrived (``/api/v1/chart/data`` answered for each chart
on the dashboard).

``python -m citylake.bench.dashboards`` measures the current home (after ``make demo``).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip


@dataclass(frozen=True)
class DashboardTiming:
    slug: str
    charts: int
    cold_seconds: float
    warm_seconds: float


def _charts(dashboards_dir: Path) -> dict[str, int]:
    out = {}
    for path in sorted(dashboards_dir.glob("dashboards/*.yaml")):
        config = yaml.safe_load(path.read_text())
        cells = [c for row in config.get("layout") or [] for c in row if "chart" in c]
        out[config["slug"]] = len(cells)
    return out


def _open(page: Any, url: str, slug: str, charts: int) -> float:
    found: set[int] = set()

    def seen(response: Any) -> None:
        if "/api/v1/chart/data" in response.url and response.status == 200:
            form = (response.request.post_data_json or {}).get("form_data") or {}
            if form.get("slice_id"):
                found.add(int(form["slice_id"]))

    page.on("response", seen)
    began = time.monotonic()
    try:
        page.goto(f"{url}/superset/dashboard/{slug}/")
        while len(found) < charts:
            if time.monotonic() - began > 300:
                raise TimeoutError(f"{slug}: {len(found)} of {charts} charts after 300 s")
            page.wait_for_timeout(50)
        return time.monotonic() - began
    finally:
        page.remove_listener("response", seen)


def measure(settings: Any | None = None) -> list[DashboardTiming]:
    """Start Superset on the home's serving file, time every dashboard, stop it."""
    from playwright.sync_api import sync_playwright

    from citylake.serving import superset
    from citylake.settings import load_settings

    settings = settings or load_settings()
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found (make test installs Debian's chromium)")
    was_running = superset.is_running(settings)
    if was_running:
        superset.stop(settings)  # cold means a server that has served nothing yet
    info = superset.start(settings)
    out = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            own = re.compile(rf"^{re.escape(info.url)}/")
            context.route(
                re.compile(r"^https?://"),
                lambda route: route.continue_() if own.match(route.request.url) else route.abort(),
            )
            page = context.new_page()
            page.goto(f"{info.url}/login/")
            page.fill('[data-test="username-input"]', settings.admin_user)
            page.fill('[data-test="password-input"]', settings.admin_password)
            page.click('[data-test="login-button"]')
            page.wait_for_url(lambda url: "/login" not in url, timeout=120_000)
            charts = _charts(settings.dashboards_dir)
            cold = {slug: _open(page, info.url, slug, n) for slug, n in charts.items()}
            warm = {slug: _open(page, info.url, slug, n) for slug, n in charts.items()}
            browser.close()
        out = [
            DashboardTiming(slug, n, round(cold[slug], 2), round(warm[slug], 2))
            for slug, n in charts.items()
        ]
    finally:
        superset.stop(settings)
        if was_running:
            superset.start(settings)
    return out


def markdown(rows: list[DashboardTiming]) -> list[str]:
    lines = [
        "",
        "## Dashboards: seconds until every chart has its data (headless Chromium)",
        "",
        "| dashboard | charts | cold | warm |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r.slug} | {r.charts} | {r.cold_seconds:.1f} | {r.warm_seconds:.1f} |" for r in rows
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(markdown(measure())), flush=True)
    sys.exit(0)
