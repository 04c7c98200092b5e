"""Compact chart specs: one short ``spec:`` in a chart's YAML becomes Superset's ``params``
(what the browser queries with) and ``query_context`` (the stored query behind
``GET /api/v1/chart/<id>/data``), kept in step by construction.

A spec names columns of its dataset and metrics as SQL, label first::

    spec:
      x: plan_hour              # time series: the temporal x-axis ...
      grain: PT1H               # ... and its time grain
      metrics: {General counters: SUM(pooled_counters)}
      groupby: [center_id]
      where: "grain = 'hour'"   # optional SQL filter
      format: ",d"              # number format of the values
      limit: 10000

Supported ``viz_type``: ``echarts_timeseries_line``, ``echarts_timeseries_bar``,
``table`` (aggregate with ``groupby`` + ``metrics``, or raw with ``columns``; ``formats``
maps a column to its number format),
``big_number_total`` (one metric), ``heatmap_v2`` (``x``, ``y``, one metric), ``pie``
(``groupby``, one metric) and ``handlebars`` (``columns`` or ``groupby`` + ``metrics``,
with ``template`` and ``style``). Anything else: write ``params`` and ``query_context``
by hand, as before. Extra Superset params go under ``params:`` and override the spec's.
"""

from __future__ import annotations

import re
from typing import Any

TIMESERIES = ("echarts_timeseries_line", "echarts_timeseries_bar")
SUPPORTED = (*TIMESERIES, "table", "big_number_total", "heatmap_v2", "pie", "handlebars")


class ChartSpecError(ValueError):
    """A chart spec cannot be compiled; the message names the chart file."""


def _slug(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_") or "m"


def adhoc_metric(label: str, sql: str) -> dict[str, Any]:
    return {
        "expressionType": "SQL",
        "sqlExpression": sql,
        "label": label,
        "hasCustomLabel": True,
        "optionName": f"metric_{_slug(label)}",
    }


def _metrics(spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    raw = spec.get("metrics") or {}
    if not isinstance(raw, dict):
        raise ChartSpecError(f"{where}: spec.metrics must map a label to its SQL")
    return [adhoc_metric(str(label), str(sql)) for label, sql in raw.items()]


def _filters(spec: dict[str, Any], temporal: str | None) -> tuple[list[dict], list[dict], str]:
    """(adhoc_filters for params, filters for the query, the SQL where)."""
    adhoc: list[dict[str, Any]] = []
    query: list[dict[str, Any]] = []
    if temporal:
        adhoc.append(
            {
                "clause": "WHERE",
                "expressionType": "SIMPLE",
                "operator": "TEMPORAL_RANGE",
                "subject": temporal,
                "comparator": "No filter",
            }
        )
        query.append({"col": temporal, "op": "TEMPORAL_RANGE", "val": "No filter"})
    where = str(spec.get("where") or "")
    if where:
        adhoc.append(
            {
                "clause": "WHERE",
                "expressionType": "SQL",
                "sqlExpression": where,
                "filterOptionName": f"filter_{_slug(where)[:40]}",
            }
        )
    return adhoc, query, f"({where})" if where else ""


def _query(
    columns: list[Any],
    metrics: list[dict[str, Any]],
    filters: list[dict[str, Any]],
    where: str,
    spec: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    order = spec.get("order")
    orderby: list[list[Any]] = []
    if order:
        label, direction = (order, "desc") if isinstance(order, str) else order
        target: Any = next((m for m in metrics if m["label"] == label), label)
        orderby = [[target, str(direction).lower() == "asc"]]
    elif metrics:
        orderby = [[metrics[0], False]]
    return {
        "columns": columns,
        "metrics": metrics,
        "filters": filters,
        "extras": {"having": "", "where": where, **extra.pop("extras", {})},
        "applied_time_extras": {},
        "orderby": orderby,
        "annotation_layers": [],
        "row_limit": int(spec.get("limit", 10000)),
        "series_limit": 0,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "time_offsets": [],
        "post_processing": extra.pop("post_processing", []),
        **extra,
    }


def _timeseries(viz: str, spec: dict[str, Any], where: str) -> tuple[dict, dict]:
    x, grain = spec.get("x"), spec.get("grain", "PT1H")
    if not x:
        raise ChartSpecError(f"{where}: a time series needs spec.x (the temporal column)")
    metrics = _metrics(spec, where)
    groupby = list(spec.get("groupby") or [])
    adhoc, filters, sql_where = _filters(spec, x)
    annotations = [
        {
            "name": str(label),
            "annotationType": "FORMULA",
            "sourceType": "",
            "value": str(value),
            "show": True,
            "showLabel": True,
            "showMarkers": False,
            "hideLine": False,
            "overrides": {},
            "style": "dashed",
            "opacity": "",
            "width": 1,
            "color": None,
            "titleColumn": "",
            "descriptionColumns": [],
            "timeColumn": "",
            "intervalEndColumn": "",
        }
        for label, value in (spec.get("lines") or {}).items()
    ]
    params = {
        "x_axis": x,
        "time_grain_sqla": grain,
        "x_axis_sort_asc": True,
        "metrics": metrics,
        "groupby": groupby,
        "adhoc_filters": adhoc,
        "row_limit": int(spec.get("limit", 10000)),
        "truncate_metric": True,
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "top",
        "rich_tooltip": True,
        "tooltipTimeFormat": "smart_date",
        "x_axis_time_format": "smart_date",
        "y_axis_format": spec.get("format", "SMART_NUMBER"),
        "y_axis_title": spec.get("y_title", ""),
        "y_axis_title_margin": 30 if spec.get("y_title") else 0,
        "y_axis_title_position": "Left",
        "color_scheme": "supersetColors",
        "only_total": True,
        "annotation_layers": annotations,
        "extra_form_data": {},
    }
    if viz == "echarts_timeseries_bar":
        params |= {"orientation": "vertical", "stack": spec.get("stack", False)}
    else:
        params |= {"markerEnabled": False, "markerSize": 6, "seriesType": "line"}
    base = {
        "columnType": "BASE_AXIS",
        "expressionType": "SQL",
        "label": x,
        "sqlExpression": x,
        "timeGrain": grain,
        "isColumnReference": True,
    }
    labels = [m["label"] for m in metrics]
    post = [
        {
            "operation": "pivot",
            "options": {
                "index": [x],
                "columns": groupby,
                "aggregates": {label: {"operator": "mean"} for label in labels},
                "drop_missing_columns": False,
            },
        },
        {"operation": "flatten"},
    ]
    if groupby and len(labels) == 1:
        post.insert(
            1,
            {
                "operation": "rename",
                "options": {"columns": {labels[0]: None}, "level": 0, "inplace": True},
            },
        )
    query = _query(
        [base, *groupby],
        metrics,
        filters,
        sql_where,
        spec,
        extras={"time_grain_sqla": grain},
        series_columns=groupby,
        post_processing=post,
    )
    return params, query


def _table(spec: dict[str, Any], where: str) -> tuple[dict, dict]:
    adhoc, filters, sql_where = _filters(spec, None)
    raw = spec.get("columns")
    metrics = [] if raw else _metrics(spec, where)
    groupby = [] if raw else list(spec.get("groupby") or [])
    fmt = spec.get("format")
    params: dict[str, Any] = {
        "query_mode": "raw" if raw else "aggregate",
        "groupby": groupby,
        "metrics": metrics,
        "all_columns": list(raw or []),
        "percent_metrics": [],
        "adhoc_filters": adhoc,
        "order_by_cols": [],
        "row_limit": int(spec.get("limit", 1000)),
        "server_page_length": int(spec.get("page", 20)),
        "order_desc": True,
        "table_timestamp_format": "%Y-%m-%d %H:%M",
        "show_cell_bars": bool(spec.get("bars", not raw)),
        "color_pn": True,
        "allow_render_html": False,
        "column_config": {
            **({m["label"]: {"d3NumberFormat": fmt} for m in metrics} if fmt else {}),
            **{str(c): {"d3NumberFormat": str(f)} for c, f in (spec.get("formats") or {}).items()},
        },
        "extra_form_data": {},
    }
    if raw and spec.get("order"):
        column, direction = spec["order"]
        params["order_by_cols"] = [f'["{column}", {str(direction == "asc").lower()}]']
    query = _query(list(raw or groupby), metrics, filters, sql_where, spec)
    if raw and spec.get("order"):
        column, direction = spec["order"]
        query["orderby"] = [[column, direction == "asc"]]
    return params, query


def _single_metric(spec: dict[str, Any], where: str) -> dict[str, Any]:
    metrics = _metrics(spec, where)
    if len(metrics) != 1:
        raise ChartSpecError(f"{where}: this chart type needs exactly one metric")
    return metrics[0]


def compile_spec(viz: str, spec: dict[str, Any], where: str) -> tuple[dict, dict]:
    """(params, query_context without datasource/form_data) for one chart."""
    if viz not in SUPPORTED:
        raise ChartSpecError(f"{where}: spec does not support viz_type {viz!r}; use {SUPPORTED}")
    if viz in TIMESERIES:
        params, query = _timeseries(viz, spec, where)
    elif viz == "table":
        params, query = _table(spec, where)
    elif viz == "big_number_total":
        metric = _single_metric(spec, where)
        adhoc, filters, sql_where = _filters(spec, None)
        params = {
            "metric": metric,
            "adhoc_filters": adhoc,
            "header_font_size": 0.4,
            "subheader": spec.get("subheader", ""),
            "subheader_font_size": 0.15,
            "y_axis_format": spec.get("format", "SMART_NUMBER"),
            "time_format": "smart_date",
            "extra_form_data": {},
        }
        query = _query([], [metric], filters, sql_where, spec)
    elif viz == "heatmap_v2":
        metric = _single_metric(spec, where)
        x, y = spec.get("x"), spec.get("y")
        if not x or not y:
            raise ChartSpecError(f"{where}: a heatmap needs spec.x and spec.y")
        adhoc, filters, sql_where = _filters(spec, None)
        params = {
            "x_axis": x,
            "groupby": y,
            "metric": metric,
            "adhoc_filters": adhoc,
            "row_limit": int(spec.get("limit", 10000)),
            "sort_x_axis": "alpha_asc",
            "sort_y_axis": "alpha_asc",
            "normalize_across": "heatmap",
            "linear_color_scheme": spec.get("colors", "superset_seq_1"),
            "xscale_interval": -1,
            "yscale_interval": -1,
            "left_margin": "auto",
            "bottom_margin": "auto",
            "value_bounds": [None, None],
            "y_axis_format": spec.get("format", "SMART_NUMBER"),
            "x_axis_time_format": "smart_date",
            "show_legend": True,
            "show_percentage": False,
            "show_values": True,
            "extra_form_data": {},
        }
        query = _query([x, y], [metric], filters, sql_where, spec)
    elif viz == "pie":
        metric = _single_metric(spec, where)
        adhoc, filters, sql_where = _filters(spec, None)
        groupby = list(spec.get("groupby") or [])
        params = {
            "groupby": groupby,
            "metric": metric,
            "adhoc_filters": adhoc,
            "row_limit": int(spec.get("limit", 100)),
            "sort_by_metric": True,
            "color_scheme": "supersetColors",
            "show_labels": True,
            "labels_outside": True,
            "label_type": "key_percent",
            "number_format": spec.get("format", "SMART_NUMBER"),
            "show_legend": True,
            "legendType": "scroll",
            "legendOrientation": "top",
            "donut": True,
            "innerRadius": 30,
            "outerRadius": 70,
            "extra_form_data": {},
        }
        query = _query(groupby, [metric], filters, sql_where, spec)
    else:  # handlebars
        adhoc, filters, sql_where = _filters(spec, None)
        raw = spec.get("columns")
        metrics = [] if raw else _metrics(spec, where)
        groupby = [] if raw else list(spec.get("groupby") or [])
        params = {
            "query_mode": "raw" if raw else "aggregate",
            "all_columns": list(raw or []),
            "groupby": groupby,
            "metrics": metrics,
            "adhoc_filters": adhoc,
            "row_limit": int(spec.get("limit", 1000)),
            "order_desc": True,
            "handlebarsTemplate": spec.get("template", ""),
            "styleTemplate": spec.get("style", ""),
            "extra_form_data": {},
        }
        query = _query(list(raw or groupby), metrics, filters, sql_where, spec)
    return params, {"queries": [query]}


def referenced_columns(viz: str, spec: dict[str, Any]) -> set[str]:
    """Physical columns a spec names (checked against the dataset when the bundle builds)."""
    names = {str(spec[k]) for k in ("x", "y") if spec.get(k)}
    names.update(str(c) for c in spec.get("groupby") or [])
    names.update(str(c) for c in spec.get("columns") or [])
    return names
