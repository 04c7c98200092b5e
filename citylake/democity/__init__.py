"""The deterministic demo city: source systems to ingest plus the ground truth behind them.

``generate_city`` builds the shared city (geography, then residents) and runs every
module in ``SOURCE_MODULES``; each returns its delivered record count, the files it
wrote and its truth tables (:class:`~citylake.democity.context.SourceResult`). Adding
a source is a new module with ``SOURCE_ID`` and ``run(ctx, sources_root)`` appended
to that list; list order matters only when a module reacts to another's
``ctx.disruptions`` (complaints follow rainstorms, so sensors run first) or follows
another's records (the hotline's work orders follow its complaints).

Same arguments give byte-identical files: every module draws from its own named RNG
stream, rows are written in a sorted order, and nothing records wall-clock time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from citylake.democity import (
    complaints,
    sensors,
    sensors_air,
    sensors_manhole,
    sensors_river,
    sensors_traffic,
    sensors_weather,
    service_demand,
    truth,
)
from citylake.democity.context import CityContext, SourceResult
from citylake.democity.geography import build_geography
from citylake.democity.population import generate_population
from citylake.settings import Settings, load_settings

__all__ = ["SOURCE_MODULES", "GenerationReport", "generate_city"]

SourceRun = Callable[[CityContext, Path], SourceResult]
SOURCE_MODULES: tuple[tuple[str, SourceRun], ...] = (
    (service_demand.SOURCE_ID, service_demand.run),
    (sensors.SOURCE_ID, sensors.run),
    (sensors_river.SOURCE_ID, sensors_river.run),
    (sensors_weather.SOURCE_ID, sensors_weather.run),
    (sensors_air.SOURCE_ID, sensors_air.run),
    (sensors_manhole.SOURCE_ID, sensors_manhole.run),
    (sensors_traffic.SOURCE_ID, sensors_traffic.run),
    (complaints.SOURCE_ID, complaints.run),
    (complaints.ORDERS_SOURCE_ID, complaints.run_work_orders),
)


@dataclass
class GenerationReport:
    seed: int
    days: int
    start: date
    scale: float
    records: dict[str, int] = field(default_factory=dict)  # delivered records per source id
    files: dict[str, list[Path]] = field(default_factory=dict)  # per source id, and "truth"
    truth_records: dict[str, int] = field(default_factory=dict)  # rows per truth table
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def files_written(self) -> int:
        return sum(len(v) for v in self.files.values())


def generate_city(
    sources_root: Path,
    truth_root: Path,
    *,
    seed: int,
    days: int,
    start: date,
    scale: float = 1.0,
    settings: Settings | None = None,
) -> GenerationReport:
    """Generate the city into ``sources_root`` (source systems) and ``truth_root`` (truth).

    ``settings`` says where database, API and broker sources go (PostgreSQL / MariaDB /
    Mosquitto when their URLs are set; SQLite files and drops under ``sources_root``
    otherwise); its own sources/truth roots are replaced by the arguments.
    """
    if days < 1 or scale <= 0:
        raise ValueError(f"need days >= 1 and scale > 0, got days={days} scale={scale}")
    clock = time.perf_counter()
    sources_root, truth_root = Path(sources_root), Path(truth_root)
    report = GenerationReport(seed=seed, days=days, start=start, scale=scale)
    ctx = CityContext(seed=seed, start=start, days=days, scale=scale)
    settings = replace(
        settings or load_settings(), sources_root=sources_root, truth_root=truth_root
    )

    def timed(name: str, step: Callable[[], object]) -> object:
        t = time.perf_counter()
        out = step()
        report.step_seconds[name] = round(time.perf_counter() - t, 3)
        return out

    ctx.geography = build_geography()
    ctx.population = timed("population", lambda: generate_population(ctx))  # type: ignore[assignment]
    truth.clear_truth(truth_root)
    tables: dict[str, list[dict[str, object]]] = {
        "geography": ctx.geography.rows(),
        "citizens": ctx.population.truth_rows(ctx.geography),
        "calendar": [
            {
                "date": c.day,
                "working": c.working,
                "holiday": c.holiday,
                "makeup_workday": c.makeup_workday,
            }
            for c in ctx.calendar
        ],
    }
    for source_id, run in SOURCE_MODULES:
        result: SourceResult = timed(source_id, lambda run=run: run(ctx, sources_root))  # type: ignore[assignment]
        report.records[source_id] = result.records
        report.files[source_id] = result.files
        for name, rows in result.truth.items():
            tables.setdefault(name, []).extend(rows)
    timed("services", lambda: _mirror_embedded_tables(settings))
    timed("departments", lambda: _deliver_departments(ctx, settings, report, tables))
    # Several sources contribute identity links; one stable order for the file.
    tables["identity_links"].sort(
        key=lambda r: (str(r["source_id"]), str(r["record_id"]), str(r["field"]))
    )
    report.truth_records = {name: len(rows) for name, rows in sorted(tables.items())}
    from citylake.democity.departments import TRUTH_SCHEMAS as DEPARTMENT_TRUTH

    truth_files = timed("truth", lambda: truth.write_truth(truth_root, tables, DEPARTMENT_TRUTH))
    manifest = truth.write_manifest(
        truth_root,
        {
            "seed": seed,
            "days": days,
            "start": start.isoformat(),
            "scale": scale,
            "records": report.records,
            "truth_records": report.truth_records,
        },
    )
    report.files["truth"] = [*truth_files, manifest]  # type: ignore[misc]
    report.seconds = round(time.perf_counter() - clock, 3)
    return report


def _deliver_departments(
    ctx: CityContext,
    settings: Settings,
    report: GenerationReport,
    tables: dict[str, list[dict[str, object]]],
) -> None:
    """The department sources: records from :mod:`.departments`, delivered as the catalog says."""
    from citylake.catalog import default_catalog
    from citylake.democity import departments, systems

    catalog = default_catalog()
    outputs = departments.generate_all(ctx)
    try:
        for source_id, output in outputs.items():
            source = catalog[source_id]
            clock = time.perf_counter()
            systems.reset_source(source, settings)
            written: list[str] = []
            for day, records in output.deliveries:
                written += systems.deliver_records(source, records, settings, day=day)
            report.records[source_id] = len(output.records)
            report.files[source_id] = [Path(w) for w in written]
            report.step_seconds[source_id] = round(time.perf_counter() - clock, 3)
    finally:
        systems.dispose_engines()
    for name, rows in departments.truth_tables(outputs, departments.ensure_world(ctx)).items():
        tables.setdefault(name, []).extend(rows)


def _mirror_embedded_tables(settings: Settings) -> None:
    """Modules that write their table into the embedded SQLite stand-in (the queue system)
    also deliver it into the declared database server when one is configured."""
    import sqlite3

    from citylake.catalog import SqlConnector, default_catalog
    from citylake.connectors.source_systems import sql_location
    from citylake.democity import systems

    for source_id, _ in SOURCE_MODULES:
        source = default_catalog().get(source_id)
        if source is None or not isinstance(source.connector, SqlConnector):
            continue
        if sql_location(source.connector, settings).engine == "sqlite":
            continue
        embedded = settings.sources_root / "sql" / f"{source.connector.database}.sqlite"
        with sqlite3.connect(embedded) as con:
            con.row_factory = sqlite3.Row
            rows = [dict(r) for r in con.execute(f"select * from {source.connector.table}")]
        systems.deliver_records(source, rows, settings, reset=True)
    systems.dispose_engines()
