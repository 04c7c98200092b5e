"""Dashboards as code: build Superset's import bundle from the YAML under ``dashboards/``.

The YAML is meant for humans (see dashboards/README.md); this module turns it into the
ZIP layout ``superset import-dashboards`` and the REST import endpoints accept:
one top folder holding ``metadata.yaml``, ``databases/``, ``datasets/<db>/``,
``charts/`` and ``dashboards/``. Pure file work: nothing here imports Superset, so it
runs in the platform venv and in tests without a server.

Conveniences over Superset's native export format (native keys still work):
- ``${name}`` in any string is filled from settings (``serving_db``), so the database
  URI is never a hard-coded path in the repository;
- every served mart is a dataset: its columns, types and descriptions come from dbt's
  manifest (the marts' contracts, ``mart_columns``); a ``datasets/<mart>.yaml`` adds
  labels (``column_overrides``), metrics and a fixed uuid, and a mart without one gets a
  dataset with a uuid derived from its name;
- a chart names its dataset by mart (``dataset: fct_staffing_plan``) or uuid, and a
  compact ``spec`` becomes both ``params`` and ``query_context`` (``chart_specs``);
- dashboard ``layout`` (rows of charts and markdown) and ``filters`` (native filters)
  are expanded into Superset's ``position`` tree and filter configuration
  (``dashboard_layout``).
"""

from __future__ import annotations

import copy
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from citylake.serving.chart_specs import ChartSpecError, compile_spec, referenced_columns
from citylake.serving.dashboard_layout import LayoutError, expand_filters, expand_layout
from citylake.serving.mart_columns import SERVING_SCHEMA, Mart, served_marts
from citylake.settings import Settings, load_settings

# Datasets made for marts without a YAML of their own get uuid5(this, "marts.<mart>").
_DATASET_NAMESPACE = uuid.UUID("5b0f7c7e-2d1e-4c55-9a59-6d6f1c6c1a11")

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
    marts: dict[str, Mart] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # column name -> label, every dataset

    def uuids(self, kind: str) -> dict[str, str]:
        """uuid -> file stem for one kind."""
        return {str(cfg["uuid"]): stem for stem, cfg in getattr(self, kind).items()}


def template_variables(settings: Settings) -> dict[str, str]:
    """What ``${name}`` may refer to in the YAML."""
    docs_port = getattr(settings, "docs_port", 8090)
    return {
        "serving_db": str(settings.serving_db.resolve()),
        "docs_url": f"http://127.0.0.1:{docs_port}",
        "airflow_url": f"http://127.0.0.1:{settings.airflow_port}",
    }


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
    labels = dashboards_dir / "labels.yaml"
    if labels.exists():
        loaded = yaml.safe_load(labels.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise DashboardAssetError(f"{labels}: expected column: label pairs")
        assets.labels = {str(k): str(v) for k, v in loaded.items()}
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


def _dataset_columns(
    stem: str, config: dict[str, Any], marts: dict[str, Mart], labels: dict[str, str]
) -> list[dict]:
    """Superset column entries from the mart's contract, labelled from ``labels.yaml``,
    merged with the dataset's own ``column_overrides``."""
    table = config["table_name"]
    mart = marts.get(table)
    if mart is None:
        raise DashboardAssetError(
            f"datasets/{stem}.yaml: table {table!r} is not a served mart in dbt's manifest "
            f"(known: {', '.join(sorted(marts))})"
        )
    overrides = config.get("column_overrides") or {}
    unknown = set(overrides) - set(mart.columns)
    if unknown:
        raise DashboardAssetError(
            f"datasets/{stem}.yaml: column_overrides for unknown columns {sorted(unknown)}"
        )
    columns = []
    for name, sql_type in mart.columns.items():
        column = {
            "column_name": name,
            "type": sql_type,
            "is_dttm": sql_type.upper().startswith(_TEMPORAL_TYPES),
            "is_active": True,
            "groupby": True,
            "filterable": True,
            "expression": None,
            "verbose_name": None,
            "description": mart.column_descriptions.get(name),
            "python_date_format": None,
        }
        if name in labels:
            column["verbose_name"] = labels[name]
        column.update(overrides.get(name) or {})
        columns.append(column)
    return columns


def _auto_dataset(mart: Mart, database_uuid: str) -> dict[str, Any]:
    """A dataset for a mart nobody wrote a YAML for: every column, a row count metric."""
    temporal = [c for c, t in mart.columns.items() if t.upper().startswith(_TEMPORAL_TYPES)]
    dataset: dict[str, Any] = {
        "table_name": mart.name,
        "schema": SERVING_SCHEMA,
        "uuid": str(uuid.uuid5(_DATASET_NAMESPACE, f"{SERVING_SCHEMA}.{mart.name}")),
        "database_uuid": database_uuid,
        "description": mart.description or None,
        "metrics": [{"metric_name": "count", "verbose_name": "Rows", "expression": "COUNT(*)"}],
    }
    if temporal:
        dataset["main_dttm_col"] = temporal[0]
    return dataset


def _chart_columns(params: dict[str, Any]) -> set[str]:
    """Physical column names a chart's params refer to (for early, clear errors)."""
    names: set[str] = set()
    for key in ("x_axis", "granularity_sqla"):
        if isinstance(params.get(key), str):
            names.add(params[key])
    for key in ("groupby", "columns", "all_columns", "series_columns"):
        names.update(c for c in params.get(key) or [] if isinstance(c, str))
    return names


def _dataset_of(stem: str, config: dict[str, Any], assets: Assets) -> dict[str, Any]:
    where = f"charts/{stem}.yaml"
    if config.get("dataset"):
        by_table = {d["table_name"]: d for d in assets.datasets.values()}
        dataset = by_table.get(str(config["dataset"]))
        if dataset is None:
            raise DashboardAssetError(
                f"{where}: dataset {config['dataset']!r} is not a served mart"
            )
        return dataset
    dataset_stem = assets.uuids("datasets").get(str(config.get("dataset_uuid")))
    if dataset_stem is None:
        raise DashboardAssetError(f"{where}: dataset_uuid matches no datasets/*.yaml")
    return assets.datasets[dataset_stem]


def _build_chart(stem: str, config: dict[str, Any], assets: Assets) -> dict[str, Any]:
    where = f"charts/{stem}.yaml"
    dataset = _dataset_of(stem, config, assets)
    chart = {k: v for k, v in config.items() if k not in ("spec", "dataset")}
    chart["dataset_uuid"] = str(dataset["uuid"])
    if "spec" in config:
        try:
            params, query_context = compile_spec(chart["viz_type"], config["spec"] or {}, where)
        except ChartSpecError as error:
            raise DashboardAssetError(str(error)) from error
        chart["params"] = {**params, **(config.get("params") or {})}
        chart["query_context"] = query_context
        used = referenced_columns(chart["viz_type"], config["spec"] or {})
    else:
        used = _chart_columns(config.get("params") or {})
    known = {c["column_name"] for c in dataset["columns"]}
    missing = used - known
    if missing:
        raise DashboardAssetError(
            f"{where}: columns {sorted(missing)} not in dataset {dataset['table_name']}"
        )
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


def _build_dashboard(stem: str, config: dict[str, Any], assets: Assets) -> dict[str, Any]:
    where = f"dashboards/{stem}.yaml"
    dashboard = {k: v for k, v in config.items() if k not in ("layout", "filters")}
    dashboard.setdefault("version", ASSET_VERSION)
    chart_ids = {chart_stem: n for n, chart_stem in enumerate(sorted(assets.charts), start=1)}
    try:
        if "position" not in dashboard:
            if "layout" not in config:
                raise DashboardAssetError(f"{where}: needs `layout` or `position`")
            dashboard["position"] = expand_layout(where, config, assets.charts, chart_ids)
        filters = expand_filters(
            where, config.get("filters") or [], config.get("layout") or [], assets, chart_ids
        )
    except LayoutError as error:
        raise DashboardAssetError(str(error)) from error
    dashboard["metadata"] = {
        "color_scheme": "supersetColors",
        "refresh_frequency": 0,
        "native_filter_configuration": filters,
        "expanded_slices": {},
        "timed_refresh_immune_slices": [],
        "label_colors": {},
        "shared_label_colors": [],
        "color_scheme_domain": [],
        "cross_filters_enabled": False,
        **(config.get("metadata") or {}),
    }
    return dashboard


def load_marts(settings: Settings) -> dict[str, Mart]:
    """The served marts from the DuckDB build's dbt manifest."""
    return served_marts(settings.dbt_target_dir / "manifest.json")


def bundle_files(
    settings: Settings | None = None,
    dashboards_dir: Path | None = None,
    marts: dict[str, Mart] | None = None,
) -> dict[str, str]:
    """The bundle's files (path inside the top folder -> YAML text), templated."""
    settings = settings or load_settings()
    dashboards_dir = dashboards_dir or settings.dashboards_dir
    assets = load_assets(dashboards_dir)
    assets.marts = marts if marts is not None else load_marts(settings)
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
    if len(assets.databases) != 1:
        raise DashboardAssetError(
            f"{dashboards_dir}/databases: expected exactly one database (the serving file)"
        )
    serving_uuid = str(next(iter(assets.databases.values()))["uuid"])
    written = {d["table_name"] for d in assets.datasets.values()}
    for mart in assets.marts.values():
        if mart.name not in written:
            assets.datasets[mart.name] = _auto_dataset(mart, serving_uuid)
    for stem, config in assets.datasets.items():
        db_stem = databases.get(str(config.get("database_uuid")))
        if db_stem is None:
            raise DashboardAssetError(
                f"datasets/{stem}.yaml: database_uuid matches no databases/*.yaml"
            )
        if "columns" not in config:
            config["columns"] = _dataset_columns(stem, config, assets.marts, assets.labels)
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
    marts: dict[str, Mart] | None = None,
) -> Path:
    """Write the import ZIP (default ``<superset_home>/bundles/citylake_dashboards.zip``)."""
    settings = settings or load_settings()
    output = output or settings.superset_home / "bundles" / f"{BUNDLE_ROOT}.zip"
    files = bundle_files(settings, dashboards_dir, marts)
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


def serving_db_mismatches(path: Path, marts: dict[str, Mart]) -> list[str]:
    """How a serving DuckDB file differs from the marts dbt declares (empty: it matches)."""
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
    for table, mart in marts.items():
        if table not in actual:
            problems.append(f"{SERVING_SCHEMA}.{table} is missing")
            continue
        for column, sql_type in mart.columns.items():
            found = actual[table].get(column)
            if found is None:
                problems.append(f"{SERVING_SCHEMA}.{table}.{column} is missing")
            elif found.upper() != sql_type.upper():
                problems.append(f"{SERVING_SCHEMA}.{table}.{column} is {found}, not {sql_type}")
    return problems


def _dump(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
