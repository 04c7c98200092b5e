"""The dbt project's bronze sources, written from the catalog: one declaration, no retyping.

Each catalog source's ``staging`` block names its dbt source group and table; this writes
``models/staging/<group>/_<group>__sources.yml`` with the bronze Delta path, freshness
from the cadence, and the primary key, cursor and key mode that the ``latest_delivery``
macro reads (``macros/staging/_catalog_sources.sql``, generated too). ``citylake catalog dbt-sources --check`` (and a
test) fail when the committed files drift from the catalog.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from citylake.catalog import Source, cadence_period

HEADER = (
    "# Generated from the source catalog (citylake/sources/*.yaml) by\n"
    "# `citylake catalog dbt-sources`: edit the catalog, not this file.\n"
)
LAKE_ROOT = "{{ env_var('CITYLAKE_LAKE_ROOT', '../.citylake/lake') }}"


def freshness(cadence: str) -> dict[str, Any]:
    """Warn after about one and a half missed deliveries, error after several."""
    period = cadence_period(cadence)
    if period <= timedelta(hours=1):
        warn, error = (3, "hour"), (24, "hour")
    elif period <= timedelta(days=1):
        warn, error = (36, "hour"), (7, "day")
    elif period <= timedelta(days=7):
        warn, error = (8, "day"), (15, "day")
    else:
        warn, error = (32, "day"), (62, "day")
    return {
        "warn_after": {"count": warn[0], "period": warn[1]},
        "error_after": {"count": error[0], "period": error[1]},
    }


def _table(source: Source) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "delta_table_path": f"{LAKE_ROOT}/bronze/{source.id}",
        "catalog_source": source.id,
        "primary_key": list(source.primary_key),
        "key": source.staging.key,
    }
    if source.cursor:
        meta["cursor"] = source.cursor
    return {
        "name": source.staging.table,
        "identifier": source.id,
        "description": (
            f"Catalog source {source.id} ({source.department}): {source.system}; "
            f"cadence {source.cadence}. {source.description}"
        ).strip(),
        "config": {"freshness": freshness(source.cadence)},
        "meta": meta,
    }


def render(catalog: dict[str, Source]) -> dict[str, str]:
    """``{relative path under models/: YAML text}``, one file per staging group."""
    groups: dict[str, list[Source]] = defaultdict(list)
    for source in catalog.values():
        groups[source.staging.group].append(source)
    files: dict[str, str] = {}
    for group, sources in sorted(groups.items()):
        sources.sort(key=lambda s: s.staging.table)
        departments = sorted({s.department for s in sources})
        document = {
            "version": 2,
            "sources": [
                {
                    "name": group,
                    "description": (
                        f"Bronze Delta tables of {', '.join(s.id for s in sources)} "
                        f"({', '.join(departments)}), landed by citylake."
                    ),
                    "schema": "bronze",
                    # A table, not a view: each build reads one consistent snapshot of bronze.
                    "meta": {"plugin": "delta", "materialization": "table"},
                    "config": {"loaded_at_field": "_loaded_at"},
                    "tables": [_table(s) for s in sources],
                }
            ],
        }
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)
        files[f"staging/{group}/_{group}__sources.yml"] = HEADER + text
    return files


MACRO_PATH = "macros/staging/_catalog_sources.sql"


def render_macro(catalog: dict[str, Source]) -> str:
    """The catalog's keys as a dbt macro, read by ``latest_delivery`` when it compiles
    (also in dbt unit tests, whose context has no graph of sources)."""
    entries = {}
    for source in sorted(catalog.values(), key=lambda s: (s.staging.group, s.staging.table)):
        entry: dict[str, Any] = {
            "catalog_source": source.id,
            "primary_key": list(source.primary_key),
            "key": source.staging.key,
        }
        if source.cursor:
            entry["cursor"] = source.cursor
        entries[f"{source.staging.group}.{source.staging.table}"] = entry
    body = ",\n".join(
        f"        {json.dumps(name)}: {json.dumps(entry, ensure_ascii=False)}"
        for name, entry in entries.items()
    )
    return (
        "{#- " + HEADER.replace("# ", "").strip() + " -#}\n"
        "{% macro catalog_sources() -%}\n"
        "    {{- return({\n" + body + "\n    }) -}}\n"
        "{%- endmacro %}\n"
    )


def write_sources(catalog: dict[str, Source], models_dir: Path) -> list[Path]:
    written = []
    for path, text in _expected(catalog, models_dir).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale_files(catalog: dict[str, Source], models_dir: Path) -> list[Path]:
    """Generated files missing or different from what the catalog says; and leftovers."""
    expected = _expected(catalog, models_dir)
    stale = [
        path
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    for path in sorted(models_dir.glob("staging/*/_*__sources.yml")):
        if path not in expected:
            stale.append(path)
    return stale


def _expected(catalog: dict[str, Source], models_dir: Path) -> dict[Path, str]:
    """Every generated file: the sources YAMLs under models/, the macro beside them."""
    files = {models_dir / rel: text for rel, text in render(catalog).items()}
    files[models_dir.parent / MACRO_PATH] = render_macro(catalog)
    return files
