"""A dashboard's ``layout`` and ``filters`` as Superset's position tree and native filters.

``layout`` is a list of rows; each row a list of cells adding up to at most 12 columns:
``{chart: <file in charts/ without .yaml>, width, height}`` or ``{markdown: <text>,
width, height}`` (links to the docs sites, a legend). Heights are grid units (~8 px).

``filters`` are native filters::

    filters:
      - {name: District, column: district_name, dataset: fct_warning_status}
      - {name: Period, type: time, default: Last quarter}

A select filter takes its options from ``dataset`` and applies to every chart of the
dashboard whose dataset has a column of that name (the others are left out of its scope,
so no chart errors on a column it lacks); a time filter applies to every chart whose
dataset has a temporal column; ``exclude: [chart, ...]`` leaves charts out by hand.
"""

from __future__ import annotations

import re
from typing import Any

GRID_COLUMNS = 12
_TEMPORAL = ("TIMESTAMP", "DATE", "TIME")


class LayoutError(ValueError):
    """A dashboard's layout or filters are invalid; the message names the file."""


def _cells(layout: list[Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    """(row id, cell) of every cell, checking the rows' widths."""
    out = []
    for row_no, row in enumerate(layout, start=1):
        if not isinstance(row, list) or sum(int(c.get("width", 4)) for c in row) > GRID_COLUMNS:
            raise LayoutError(
                f"{where}: layout row {row_no} must be a list of cells with widths "
                f"adding up to at most {GRID_COLUMNS}"
            )
        out += [(f"ROW-{row_no}", cell) for cell in row]
    return out


def expand_layout(
    where: str,
    config: dict[str, Any],
    charts: dict[str, dict[str, Any]],
    chart_ids: dict[str, int],
) -> dict[str, Any]:
    """Superset's position tree for ``config['layout']``."""
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
    markdowns = 0
    for row_id, cell in _cells(config["layout"], where):
        if row_id not in position:
            position["GRID_ID"]["children"].append(row_id)
            position[row_id] = {
                "type": "ROW",
                "id": row_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID"],
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
            }
        parents = ["ROOT_ID", "GRID_ID", row_id]
        width, height = int(cell.get("width", 4)), int(cell.get("height", 50))
        if "markdown" in cell:
            markdowns += 1
            cell_id = f"MARKDOWN-{markdowns}"
            position[cell_id] = {
                "type": "MARKDOWN",
                "id": cell_id,
                "children": [],
                "parents": parents,
                "meta": {"code": str(cell["markdown"]), "width": width, "height": height},
            }
        else:
            stem = cell.get("chart")
            if stem not in charts:
                raise LayoutError(f"{where}: chart {stem!r} is not in charts/")
            cell_id = f"CHART-{stem}"
            position[cell_id] = {
                "type": "CHART",
                "id": cell_id,
                "children": [],
                "parents": parents,
                "meta": {
                    "uuid": str(charts[stem]["uuid"]),
                    # Any id works: the import maps it, and filter scopes, to the real one.
                    "chartId": chart_ids[stem],
                    "sliceName": charts[stem]["slice_name"],
                    "width": width,
                    "height": height,
                },
            }
        position[row_id]["children"].append(cell_id)
    return position


def _filter_id(name: str) -> str:
    return "NATIVE_FILTER-" + (re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_") or "filter")


def expand_filters(
    where: str,
    filters: list[dict[str, Any]],
    layout: list[Any],
    assets: Any,
    chart_ids: dict[str, int],
) -> list[dict[str, Any]]:
    """Superset's ``native_filter_configuration`` for ``filters``."""
    by_table = {d["table_name"]: d for d in assets.datasets.values()}
    by_uuid = {str(d["uuid"]): d for d in assets.datasets.values()}
    on_board = [cell["chart"] for _, cell in _cells(layout, where) if "chart" in cell]

    def columns_of(stem: str) -> dict[str, str]:
        dataset = (
            by_uuid[str(assets.charts[stem]["dataset_uuid"])]
            if assets.charts[stem].get("dataset_uuid")
            else by_table[str(assets.charts[stem]["dataset"])]
        )
        return {c["column_name"]: str(c.get("type") or "") for c in dataset["columns"]}

    out = []
    for spec in filters:
        name = str(spec.get("name") or "")
        if not name:
            raise LayoutError(f"{where}: every filter needs a name")
        kind = spec.get("type", "select")
        if kind == "time":
            applies = [
                s
                for s in on_board
                if any(t.upper().startswith(_TEMPORAL) for t in columns_of(s).values())
            ]
            default = spec.get("default", "No filter")
            entry: dict[str, Any] = {
                "filterType": "filter_time",
                "targets": [{}],
                "controlValues": {"enableEmptyFilter": False},
                "defaultDataMask": {
                    "extraFormData": {"time_range": default},
                    "filterState": {"value": default},
                    "ownState": {},
                },
            }
        elif kind == "select":
            column, table = spec.get("column"), spec.get("dataset")
            if table not in by_table:
                raise LayoutError(f"{where}: filter {name!r}: dataset {table!r} is not a mart")
            if column not in {c["column_name"] for c in by_table[table]["columns"]}:
                raise LayoutError(f"{where}: filter {name!r}: {table} has no column {column!r}")
            applies = [s for s in on_board if column in columns_of(s)]
            default = spec.get("default")
            mask: dict[str, Any] = {"extraFormData": {}, "filterState": {}, "ownState": {}}
            if default is not None:
                values = default if isinstance(default, list) else [default]
                mask = {
                    "extraFormData": {"filters": [{"col": column, "op": "IN", "val": values}]},
                    "filterState": {"value": values, "label": ", ".join(map(str, values))},
                    "ownState": {},
                }
            entry = {
                "filterType": "filter_select",
                "targets": [
                    {"datasetUuid": str(by_table[table]["uuid"]), "column": {"name": column}}
                ],
                "controlValues": {
                    "enableEmptyFilter": False,
                    "defaultToFirstItem": False,
                    "multiSelect": bool(spec.get("multi", True)),
                    "searchAllOptions": False,
                    "inverseSelection": False,
                },
                "defaultDataMask": mask,
            }
        else:
            raise LayoutError(f"{where}: filter {name!r}: type must be select or time")
        unknown = set(spec.get("exclude") or []) - set(on_board)
        if unknown:
            raise LayoutError(
                f"{where}: filter {name!r} excludes charts not on it: {sorted(unknown)}"
            )
        applies = [s for s in applies if s not in set(spec.get("exclude") or [])]
        excluded = sorted(chart_ids[s] for s in on_board if s not in applies)
        out.append(
            {
                "id": _filter_id(name),
                "name": name,
                "type": "NATIVE_FILTER",
                "description": str(spec.get("description", "")),
                "cascadeParentIds": [],
                "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
                **entry,
            }
        )
    return out
