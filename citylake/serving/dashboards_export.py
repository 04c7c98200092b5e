"""``citylake dashboards export``: what users changed in Superset's UI, written back as the
repository's YAML, so clicking and committing meet.

Superset exports every dashboard with its charts (its own ZIP format, run in Superset's
venv: no server needed). Each exported chart is compared with what ``dashboards/`` builds
for the same uuid: unchanged charts keep their file as it is (a compact ``spec`` stays a
spec); a chart changed in the UI gets its title, description, ``params`` and
``query_context`` written back natively (the UI's version wins, the spec is dropped); a
chart made in the UI gets a new file. A dashboard whose layout or native filters changed
gets its native ``position`` / ``metadata`` written back in place of ``layout`` / ``filters``.
Datasets are not exported: their columns come from dbt's manifest.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from citylake.serving.dashboards import bundle_files, load_assets
from citylake.serving.superset import run_script
from citylake.settings import Settings, load_settings

EXPORT_SCRIPT = """\
import sys, zipfile
from superset.app import create_app

out, username = sys.argv[1], sys.argv[2]
with create_app().app_context():
    from superset import db, security_manager
    from superset.commands.dashboard.export import ExportDashboardsCommand
    from superset.models.dashboard import Dashboard
    from superset.utils.core import override_user

    user = security_manager.find_user(username=username)
    with override_user(user):
        ids = [row.id for row in db.session.query(Dashboard.id)]
        with zipfile.ZipFile(out, "w") as bundle:
            for name, content in ExportDashboardsCommand(ids).run():
                bundle.writestr(name, content() if callable(content) else content)
print("CITYLAKE_EXPORT " + str(len(ids)))
"""
# Params Superset adds or renumbers on its own: not a user's change.
_VOLATILE = {"datasource", "slice_id", "dashboards", "url_params", "extra_form_data", "viz_type"}


@dataclass
class ExportReport:
    changed_charts: list[str] = field(default_factory=list)
    new_charts: list[str] = field(default_factory=list)
    changed_dashboards: list[str] = field(default_factory=list)
    unchanged: int = 0


def _stem(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9a-z]+", "_", title.lower()).strip("_") or "chart"
    stem, n = base, 2
    while stem in taken:
        stem, n = f"{base}_{n}", n + 1
    return stem


def _params(params: Any) -> dict[str, Any]:
    """Params as a user set them: Superset's own keys and empty defaults left out."""
    found = json.loads(params) if isinstance(params, str) else dict(params or {})
    return {k: v for k, v in found.items() if k not in _VOLATILE and v not in (None, [], {}, "")}


def _layout_shape(position: dict[str, Any]) -> list[list[tuple[Any, ...]]]:
    """Rows of (kind, chart uuid or markdown text, width, height): ids left out."""
    rows = []
    for row_id in position.get("GRID_ID", {}).get("children", []):
        cells = []
        for cell_id in position.get(row_id, {}).get("children", []):
            cell = position.get(cell_id, {})
            meta = cell.get("meta", {})
            what = meta.get("uuid") if cell.get("type") == "CHART" else meta.get("code")
            cells.append((cell.get("type"), what, meta.get("width"), meta.get("height")))
        rows.append(cells)
    return rows


def _filters_shape(metadata: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = []
    for f in metadata.get("native_filter_configuration") or []:
        targets = [t.get("column", {}).get("name") for t in f.get("targets") or []]
        default = (f.get("defaultDataMask") or {}).get("filterState", {}).get("value")
        out.append(
            (f.get("name"), f.get("filterType"), tuple(filter(None, targets)), json.dumps(default))
        )
    return out


def _read_zip(path: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(path) as bundle:
        for name in bundle.namelist():
            # Superset's command yields kind/file names; its API adds a top folder.
            parts = name.split("/")
            kinds = [p for p in parts[:-1] if p in ("charts", "dashboards", "datasets")]
            if kinds and name.endswith(".yaml"):
                found[f"/{kinds[0]}/{parts[-1]}"] = yaml.safe_load(bundle.read(name))
    return found


def export_dashboards(
    settings: Settings | None = None, dashboards_dir: Path | None = None
) -> ExportReport:
    """Write UI changes from Superset back into ``dashboards_dir`` (default: the repo's)."""
    settings = settings or load_settings()
    dashboards_dir = dashboards_dir or settings.dashboards_dir
    with tempfile.TemporaryDirectory(prefix="citylake-export-") as tmp:
        exported = Path(tmp) / "export.zip"
        run_script(settings, EXPORT_SCRIPT, [str(exported), settings.admin_user], "export")
        files = _read_zip(exported)
    built = {k: yaml.safe_load(v) for k, v in bundle_files(settings, dashboards_dir).items()}
    repo = load_assets(dashboards_dir)
    chart_files = {str(c["uuid"]): stem for stem, c in repo.charts.items()}
    dash_files = {str(d["uuid"]): stem for stem, d in repo.dashboards.items()}
    built_charts = {str(v["uuid"]): v for k, v in built.items() if k.startswith("charts/")}
    built_dashes = {str(v["uuid"]): v for k, v in built.items() if k.startswith("dashboards/")}
    tables = {str(v["uuid"]): v["table_name"] for k, v in files.items() if "/datasets/" in k}
    report = ExportReport()
    for name, chart in ((k, v) for k, v in files.items() if "/charts/" in k):
        uid = str(chart["uuid"])
        mine = built_charts.get(uid)
        same = mine is not None and (
            mine["slice_name"] == chart["slice_name"]
            and mine.get("description") == chart.get("description")
            and mine["viz_type"] == chart["viz_type"]
            and _params(mine["params"]) == _params(chart["params"])
        )
        if same:
            report.unchanged += 1
            continue
        stem = chart_files.get(uid) or _stem(chart["slice_name"], set(chart_files.values()))
        query = json.loads(chart["query_context"]) if chart.get("query_context") else None
        if isinstance(query, dict):
            query = {
                k: v for k, v in query.items() if k in ("queries", "result_format", "result_type")
            }
        body = {
            "slice_name": chart["slice_name"],
            "viz_type": chart["viz_type"],
            "uuid": uid,
            "dataset": tables.get(str(chart.get("dataset_uuid")), chart.get("dataset_uuid")),
            "description": chart.get("description"),
            "params": _params(chart["params"]),
            "query_context": query,
        }
        header = f"# Written back from Superset by `citylake dashboards export` ({name}).\n"
        (dashboards_dir / "charts" / f"{stem}.yaml").write_text(
            header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        (report.changed_charts if uid in chart_files else report.new_charts).append(stem)
        chart_files[uid] = stem
    for name, dash in ((k, v) for k, v in files.items() if "/dashboards/" in k):
        uid = str(dash["uuid"])
        stem = dash_files.get(uid)
        mine = built_dashes.get(uid)
        if stem is None or mine is None:
            continue  # dashboards are made in the repository, not in the UI
        layout_changed = _layout_shape(mine["position"]) != _layout_shape(
            dash.get("position") or {}
        )
        filters_changed = _filters_shape(mine["metadata"]) != _filters_shape(
            dash.get("metadata") or {}
        )
        title_changed = mine["dashboard_title"] != dash["dashboard_title"]
        if not (layout_changed or filters_changed or title_changed):
            report.unchanged += 1
            continue
        path = dashboards_dir / "dashboards" / f"{stem}.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["dashboard_title"] = dash["dashboard_title"]
        if layout_changed:
            config.pop("layout", None)
            config["position"] = dash["position"]
        if filters_changed:
            config.pop("filters", None)
            config["metadata"] = {
                **(config.get("metadata") or {}),
                "native_filter_configuration": dash["metadata"]["native_filter_configuration"],
            }
        path.write_text(
            f"# Written back from Superset by `citylake dashboards export` ({name}).\n"
            + yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
        report.changed_dashboards.append(stem)
    return report
