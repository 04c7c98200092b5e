"""SQL database tables, incrementally by cursor (SQLite in the demo; PostgreSQL/MariaDB by URL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa

from citylake.catalog import FieldType, Source, SqlConnector
from citylake.connectors.base import (
    RawBatch,
    SourceState,
    SourceUnavailableError,
    make_batch_id,
    text_column,
)
from citylake.connectors.source_systems import sql_location
from citylake.settings import Settings

log = logging.getLogger(__name__)


def _cursor_value(source: Source, raw: str) -> object:
    kind = source.field(source.cursor or "").type
    return int(raw) if kind == FieldType.integer else raw


def _as_raw(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def extract_sql(
    source: Source, connector: SqlConnector, settings: Settings, state: SourceState
) -> Iterator[RawBatch]:
    assert source.cursor is not None  # the catalog requires it for sql sources
    location = sql_location(connector, settings)
    engine = sa.create_engine(location.url, pool_pre_ping=True)
    try:
        metadata = sa.MetaData(schema=location.schema)
        try:
            table = sa.Table(location.table, metadata, autoload_with=engine)
        except (sa.exc.OperationalError, sa.exc.NoSuchTableError) as exc:
            # Name the source and where it lives: a driver error alone names neither.
            where = engine.url.render_as_string(hide_password=True)
            missing = isinstance(exc, sa.exc.NoSuchTableError)
            problem = f"has no table {location.table}" if missing else "unreachable"
            raise SourceUnavailableError(
                f"{source.id}: {location.engine} source database {where} {problem}: "
                f"{getattr(exc, 'orig', None) or exc}"
            ) from exc
        for column in table.columns:
            # MariaDB DOUBLE reflects as a 10-place Decimal, which would rewrite the raw value.
            if isinstance(column.type, sa.Float):
                column.type.asdecimal = False
        cursor_col = table.c[source.cursor]
        low = state.cursor_high
        declared = [f.name for f in source.fields]
        extra = [c.name for c in table.columns if c.name not in declared]
        missing = [name for name in declared if name not in table.c]
        while True:
            query = sa.select(table).order_by(cursor_col).limit(connector.batch_rows)
            if low is not None:
                query = query.where(cursor_col > _cursor_value(source, low))
            with engine.connect() as conn:
                result = conn.execute(query)
                columns = list(result.keys())
                records = result.fetchall()
            if not records:
                return
            frame = pd.DataFrame(
                {
                    name: text_column(values, _as_raw)
                    for name, values in zip(columns, zip(*records, strict=True), strict=True)
                },
                columns=columns,
            )
            for name in missing:
                frame[name] = None
            high = frame[source.cursor].iloc[-1]
            frame.insert(0, "_row_number", range(1, len(frame) + 1))
            ref = f"{connector.table}.{source.cursor} in ({low or '-inf'}, {high}]"
            log.info("%s: extracted %d rows, %s", source.id, len(frame), ref)
            yield RawBatch(
                source_id=source.id,
                batch_id=make_batch_id(source.id, "cursor", low or "", high),
                ref=ref,
                frame=frame,
                cursor_lo=low,
                cursor_hi=high,
                extra_columns=extra,
                missing_columns=missing,
            )
            low = high
    finally:
        engine.dispose()
