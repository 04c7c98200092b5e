"""Dashboards as code: build Superset's import bundle from the YAML under ``dashboards/``.

The YAML is meant for humans (see dashboards/README.md); this module turns it into the
ZIP layout ``superset import-dashboards`` and the REST import endpoints accept:
one top folder holding ``metadata.yaml``, ``databases/``, ``datasets/<db>/``,
``charts/`` and ``dashboards/``. Pure file work: nothing here imports Superset, so it
runs in the platform venv and in tests without a server.

Conveniences over Superset's native export format (native keys still work):
- ``${name}`` in any string is filled from settings (``serving_db``), so the database
  URI is never a hard-coded path in the repository;
- dataset ``columns`` are generated from :data:`MART_TABLES` (the one place that lists
  the marts' columns); ``column_overrides`` adds labels;
- chart ``query_context`` is written as YAML and gets ``form_data`` from ``params``;
- dashboard ``layout`` (rows of charts) is expanded into Superset's ``position`` tree.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from citylake.settings import Settings, load_settings

# The serving DB's marts as dbt publishes them: table -> column -> DuckDB type.
# Change columns here; dataset YAML, the bundle and the test fixture follow.
SERVING_SCHEMA = "marts"
MART_TABLES: dict[str, dict[str, str]] = {
    "fct_center_hourly_arrivals": {
        "center_id": "VARCHAR",
        "center_name": "VARCHAR",
        "service_category": "VARCHAR",
        "arrival_hour": "TIMESTAMP",
        "arrivals": "BIGINT",
        "mean_wait_minutes": "DOUBLE",
        "mean_handle_minutes": "DOUBLE",
    },
    "fct_counter_demand_forecast": {
        "center_id": "VARCHAR",
        "service_category": "VARCHAR",
        "forecast_hour": "TIMESTAMP",
        "expected_arrivals": "DOUBLE",
        "mean_handle_minutes": "DOUBLE",
        "counters_needed": "INTEGER",
        "method": "VARCHAR",
    },
}

BUNDLE_ROOT = "citylake_dashboards"
ASSET_VERSION = "1.0.0"
_KINDS = ("databases", "datasets", "charts", "dashboards")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TEMPORAL_TYPES = ("TIMESTAMP", "DATE", "TIME")
_GRID_COLUMNS = 12


class DashboardAssetError(ValueError):
    """An asset under dashboards/ is invalid; the message names the file."""


@dataclass
class Assets:
    """The parsed YAML, per kind, keyed by file stem (``charts/total_arrivals.yaml`` ->
    ``total_arrivals``)."""

    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)

    def uuids(self, kind: str) -> dict[str, str]:
        """uuid -> file stem for one kind."""
        return {str(cfg["uuid"]): stem for stem, cfg in getattr(self, kind).items()}


def template_variables(settings: Settings) -> dict[str, str]:
    """What ``${name}`` may refer to in the YAML."""
    return {"serving_db": str(settings.serving_db.resolve())}


def load_assets(dashboards_dir: Path) -> Assets:
    """Read every ``<kind>/*.yaml`` under ``dashboards_dir`` (no templating yet)."""
    if not dashboards_dir.is_dir():
        raise DashboardAssetError(f"{dashboards_dir}: dashboards directory not found")
    assets = Assets()
    for kind in _KINDS:
        for path in sorted((dashboards_dir / kind).glob("*.y*ml")):
            try:
                config = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise DashboardAssetError(f"{path}: not valid YAML: {exc}") from exc
            if not isinstance(config, dict) or "uuid" not in config:
                raise DashboardAssetError(f"{path}: expected a mapping with a `uuid`")
            getattr(assets, kind)[path.stem] = config
    if not assets.dashboards:
        raise DashboardAssetError(f"{dashboards_dir}: no dashboards/*.yaml found")
    return assets


def _fill(value: Any, variables: dict[str, str], where: str) -> Any:
    """Replace ``${name}`` in every string; an unknown name is an error, a bare ``$``
    (d3 currency formats, SQL) is left alone."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                known = ", ".join(sorted(variables))
                raise DashboardAssetError(f"{where}: unknown variable ${{{name}}} (known: {known})")
            return variables[name]

        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, dict):
        return {k: _fill(v, variables, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, variables, where) for v in value]
    return value


def _dataset_columns(stem: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Superset column entries from MART_TABLES, merged with ``column_overrides``."""
    table = config["table_name"]
    if table not in MART_TABLES:
        raise DashboardAssetError(
            f"datasets/{stem}.yaml: table {table!r} is not in citylake.serving.dashboards.MART_TABLES"
        )
    overrides = config.get("column_overrides") or {}
    unknown = set(overrides) - set(MART_TABLES[table])
    if unknown:
        raise DashboardAssetError(
            f"datasets/{stem}.yaml: column_overrides for unknown columns {sorted(unknown)}"
        )
    columns = []
    for name, sql_type in MART_TABLES[table].items():
        column = {
            "column_name": name,
            "type": sql_type,
            "is_dttm": sql_type.upper().startswith(_TEMPORAL_TYPES),
            "is_active": True,
            "groupby": True,
            "filterable": True,
            "expression": None,
            "verbose_name": None,
            "description": None,
            "python_date_format": None,
        }
        column.update(overrides.get(name) or {})
        columns.append(column)
    return columns


def _chart_columns(params: dict[str, Any]) -> set[str]:
    """Physical column names a chart's params refer to (for early, clear errors)."""
    names: set[str] = set()
    for key in ("x_axis", "granularity_sqla"):
        if isinstance(params.get(key), str):
            names.add(params[key])
    for key in ("groupby", "columns", "all_columns", "series_columns"):
        names.update(c for c in params.get(key) or [] if isinstance(c, str))
    return names


def _build_chart(stem: str, config: dict[str, Any], assets: Assets) -> dict[str, Any]:
    where = f"charts/{stem}.yaml"
    dataset_stem = assets.uuids("datasets").get(str(config.get("dataset_uuid")))
    if dataset_stem is None:
        raise DashboardAssetError(f"{where}: dataset_uuid matches no datasets/*.yaml")
    dataset = assets.datasets[dataset_stem]
    known = {c["column_name"] for c in dataset["columns"]}
    missing = _chart_columns(config.get("params") or {}) - known
    if missing:
        raise DashboardAssetError(
            f"{where}: columns {sorted(missing)} not in dataset {dataset['table_name']}"
        )
    chart = dict(config)
    chart.setdefault("version", ASSET_VERSION)
    params = dict(chart.get("params") or {})
    params["viz_type"] = chart["viz_type"]
    chart["params"] = params
    query_context = chart.get("query_context")
    if isinstance(query_context, dict):
        # Superset stores query_context as a JSON string; the import rewrites the
        # datasource ids, so placeholders are fine here.
        full = {
            "datasource": {"id": 0, "type": "table"},
            "force": False,
            "result_format": "json",
            "result_type": "full",
            **query_context,
        }
        full.setdefault("form_data", {**params, "datasource": "0__table"})
        chart["query_context"] = json.dumps(full, sort_keys=True)
    elif query_context is None:
        raise DashboardAssetError(
            f"{where}: needs a query_context (without it GET chart data answers 400)"
        )
    return chart


def _expand_layout(stem: str, config: dict[str, Any], assets: Assets) -> dict[str, Any]:
    """Turn ``layout`` (rows of {chart, width, height}) into Superset's position tree."""
    where = f"dashboards/{stem}.yaml"
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {
            "type": "HEADER",
            "id": "HEADER_ID",
            "meta": {"text": config["dashboard_title"]},
        },
    }
    chart_ids = {chart_stem: n for n, chart_stem in enumerate(sorted(assets.charts), start=1)}
    for row_no, row in enumerate(config["layout"], start=1):
        row_id = f"ROW-{row_no}"
        if not isinstance(row, list) or sum(int(c.get("width", 4)) for c in row) > _GRID_COLUMNS:
            raise DashboardAssetError(
                f"{where}: layout row {row_no} must be a list of charts with widths "
                f"adding up to at most {_GRID_COLUMNS}"
            )
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for cell in row:
            chart_stem = cell.get("chart")
            if chart_stem not in assets.charts:
                raise DashboardAssetError(f"{where}: chart {chart_stem!r} is not in charts/")
            chart = assets.charts[chart_stem]
            chart_id = f"CHART-{chart_stem}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "uuid": str(chart["uuid"]),
                    # Any id works: the import maps uuid -> the chart's real id.
                    "chartId": chart_ids[chart_stem],
                    "sliceName": chart["slice_name"],
                    "width": int(cell.get("width", 4)),
                    "height": int(cell.get("height", 50)),
                },
            }
    return position


def _build_dashboard(stem: str, config: dict[str, Any], assets: Assets) -> dict[str, Any]:
    dashboard = {k: v for k, v in config.items() if k != "layout"}
    dashboard.setdefault("version", ASSET_VERSION)
    if "position" not in dashboard:
        if "layout" not in config:
            raise DashboardAssetError(f"dashboards/{stem}.yaml: needs `layout` or `position`")
        dashboard["position"] = _expand_layout(stem, config, assets)
    dashboard["metadata"] = {
        "color_scheme": "supersetColors",
        "refresh_frequency": 0,
        "native_filter_configuration": [],
        "expanded_slices": {},
        "timed_refresh_immune_slices": [],
        "label_colors": {},
        "shared_label_colors": [],
        "color_scheme_domain": [],
        **(config.get("metadata") or {}),
    }
    return dashboard


def bundle_files(
    settings: Settings | None = None, dashboards_dir: Path | None = None
) -> dict[str, str]:
    """The bundle's files (path inside the top folder -> YAML text), templated."""
    settings = settings or load_settings()
    dashboards_dir = dashboards_dir or settings.dashboards_dir
    assets = load_assets(dashboards_dir)
    variables = template_variables(settings)
    for kind in _KINDS:
        configs = getattr(assets, kind)
        for stem in configs:
            configs[stem] = _fill(copy.deepcopy(configs[stem]), variables, f"{kind}/{stem}.yaml")

    files: dict[str, str] = {}
    databases = assets.uuids("databases")
    for stem, config in assets.databases.items():
        database = {**config, "version": config.get("version", ASSET_VERSION)}
        files[f"databases/{stem}.yaml"] = _dump(database)
    for stem, config in assets.datasets.items():
        db_stem = databases.get(str(config.get("database_uuid")))
        if db_stem is None:
            raise DashboardAssetError(
                f"datasets/{stem}.yaml: database_uuid matches no databases/*.yaml"
            )
        if "columns" not in config:
            config["columns"] = _dataset_columns(stem, config)
        dataset = {k: v for k, v in config.items() if k != "column_overrides"}
        dataset.setdefault("version", ASSET_VERSION)
        files[f"datasets/{db_stem}/{stem}.yaml"] = _dump(dataset)
    for stem, config in assets.charts.items():
        files[f"charts/{stem}.yaml"] = _dump(_build_chart(stem, config, assets))
    for stem, config in assets.dashboards.items():
        files[f"dashboards/{stem}.yaml"] = _dump(_build_dashboard(stem, config, assets))
    files["metadata.yaml"] = _dump(
        {
            "version": ASSET_VERSION,
            "type": "Dashboard",
            "timestamp": datetime.now(UTC).isoformat(),
        }
    )
    return files


def build_bundle(
    settings: Settings | None = None,
    *,
    dashboards_dir: Path | None = None,
    output: Path | None = None,
) -> Path:
    """Write the import ZIP (default ``<superset_home>/bundles/citylake_dashboards.zip``)."""
    settings = settings or load_settings()
    output = output or settings.superset_home / "bundles" / f"{BUNDLE_ROOT}.zip"
    files = bundle_files(settings, dashboards_dir)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in sorted(files.items()):
            bundle.writestr(f"{BUNDLE_ROOT}/{name}", text)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename so a concurrent import never reads half a ZIP.
    tmp = output.with_suffix(".zip.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(output)
    return output


def serving_db_mismatches(path: Path) -> list[str]:
    """How a serving DuckDB file differs from MART_TABLES (empty list: it matches)."""
    import duckdb  # the platform venv has it; imported late to keep this module light

    problems: list[str] = []
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ?",
            [SERVING_SCHEMA],
        ).fetchall()
    actual: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        actual.setdefault(table, {})[column] = data_type
    for table, columns in MART_TABLES.items():
        if table not in actual:
            problems.append(f"{SERVING_SCHEMA}.{table} is missing")
            continue
        for column, sql_type in columns.items():
            found = actual[table].get(column)
            if found is None:
                problems.append(f"{SERVING_SCHEMA}.{table}.{column} is missing")
            elif found.upper() != sql_type.upper():
                problems.append(f"{SERVING_SCHEMA}.{table}.{column} is {found}, not {sql_type}")
    return problems


def _dump(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
