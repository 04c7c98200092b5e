"""Delivery into the departments' databases: PostgreSQL (COPY), MariaDB and SQLite
(multi-row inserts), tables created from the catalog schema (see ``systems``)."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from pymysql.converters import escape_string
from sqlalchemy.pool import NullPool

from citylake.catalog import FieldType, Source, SqlConnector
from citylake.connectors.source_systems import SqlLocation, sql_location
from citylake.democity.delivery_values import DeliveryError, Record, as_text
from citylake.landing.casting import cast_values
from citylake.settings import Settings

log = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 100_000
INSERT_CHUNK_ROWS = 50_000


_ENGINES: dict[str, sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()
_PG_DATABASES_SEEN: set[str] = set()


def _engine(location: SqlLocation) -> sa.Engine:
    """Pooled engines for the servers (reused across days); a fresh one per call for SQLite files."""
    if location.engine == "sqlite":
        return sa.create_engine(location.url, poolclass=NullPool)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(location.url)
        if engine is None:
            engine = sa.create_engine(location.url, pool_pre_ping=True)
            _ENGINES[location.url] = engine
        return engine


def dispose_engines() -> None:
    """Close pooled connections to the source databases (the generator calls it when done)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


def _ensure_container(location: SqlLocation, connector: SqlConnector, settings: Settings) -> None:
    """Create the PostgreSQL database and schema / MariaDB database / SQLite folder if missing."""
    if location.engine == "sqlite":
        url = sa.engine.make_url(location.url)
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    elif location.engine == "postgresql":
        url = sa.engine.make_url(location.url)
        if location.url not in _PG_DATABASES_SEEN and url.database:
            admin = sa.create_engine(
                url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
            )
            try:
                with admin.connect() as conn:
                    exists = conn.execute(
                        sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}
                    ).first()
                    if not exists:
                        quoted = admin.dialect.identifier_preparer.quote(url.database)
                        conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
            finally:
                admin.dispose()
            _PG_DATABASES_SEEN.add(location.url)
        with _engine(location).begin() as conn:
            quoted = conn.dialect.identifier_preparer.quote(location.schema or "public")
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
    else:
        assert settings.source_mariadb_url
        server = sa.create_engine(settings.source_mariadb_url, poolclass=NullPool)
        try:
            with server.begin() as conn:
                quoted = conn.dialect.identifier_preparer.quote(connector.database)
                conn.exec_driver_sql(
                    f"CREATE DATABASE IF NOT EXISTS {quoted} "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
        finally:
            server.dispose()


def _column_type(source: Source, ftype: FieldType, engine: str, keyed: bool) -> sa.types.TypeEngine:
    if engine == "sqlite" and ftype in (FieldType.date, FieldType.timestamp):
        return sa.Text()  # SQLite has no date type; ISO text sorts and compares correctly
    if ftype == FieldType.string:
        if not keyed:
            return sa.Text()
        # Cursor strings compare by code point, like the ledger's cursor state does.
        if engine == "postgresql":
            return sa.Text(collation="C")
        if engine == "mariadb":
            return sa.String(255, collation="utf8mb4_bin")
        return sa.Text()
    if ftype == FieldType.timestamp and engine == "mariadb":
        from sqlalchemy.dialects.mysql import DATETIME

        return DATETIME(fsp=6)
    return {
        FieldType.integer: sa.BigInteger(),
        FieldType.double: sa.Double(),
        FieldType.boolean: sa.Boolean(),
        FieldType.date: sa.Date(),
        FieldType.timestamp: sa.DateTime(),
    }[ftype]


def _cursor_is_assigned(source: Source, records: Sequence[Record]) -> bool:
    """True when the database must number rows: an integer cursor the records leave empty."""
    cursor = source.cursor
    if not cursor or source.field(cursor).type != FieldType.integer:
        return False
    return all(r.get(cursor) is None for r in records)


def _table(source: Source, location: SqlLocation, records: Sequence[Record]) -> sa.Table:
    assigned = _cursor_is_assigned(source, records)
    columns = []
    for f in source.fields:
        if assigned and f.name == source.cursor:
            kind = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
            columns.append(sa.Column(f.name, kind, primary_key=True, autoincrement=True))
            continue
        kind = _column_type(source, f.type, location.engine, keyed=f.name == source.cursor)
        columns.append(sa.Column(f.name, kind, nullable=True))
    table = sa.Table(location.table, sa.MetaData(schema=location.schema), *columns)
    if source.cursor and not assigned:
        sa.Index(f"ix_{location.table}_{source.cursor}"[:60], table.c[source.cursor])
    return table


def _existing_columns(conn: sa.Connection, location: SqlLocation) -> list[str] | None:
    inspector = sa.inspect(conn)
    if not inspector.has_table(location.table, schema=location.schema):
        return None
    return [c["name"] for c in inspector.get_columns(location.table, schema=location.schema)]


def _qualified(dialect: sa.Dialect, location: SqlLocation) -> str:
    quote = dialect.identifier_preparer.quote
    table = quote(location.table)
    return f"{quote(location.schema)}.{table}" if location.schema else table


_PY_TYPE: dict[FieldType, type] = {
    FieldType.string: str,
    FieldType.integer: int,
    FieldType.double: float,
    FieldType.boolean: bool,
    FieldType.date: date,
    FieldType.timestamp: datetime,
}


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


# COPY ... (FORMAT csv) text per declared type; an unquoted empty field is NULL, so
# strings are always quoted (an empty string stays an empty string).
_COPY_TEXT: dict[FieldType, Callable[[object], str]] = {
    FieldType.string: _quoted,  # type: ignore[dict-item]
    FieldType.integer: str,
    FieldType.double: repr,
    FieldType.boolean: lambda v: "t" if v else "f",
    FieldType.date: lambda v: v.isoformat(),  # type: ignore[attr-defined]
    FieldType.timestamp: lambda v: v.isoformat(sep=" "),  # type: ignore[attr-defined]
}


def _mysql_string(value: str) -> str:
    return "'" + escape_string(value) + "'"


# MariaDB literals per declared type, for multi-row INSERT statements built column-wise
# (several times faster than the driver escaping each parameter).
_MYSQL_TEXT: dict[FieldType, Callable[[object], str]] = {
    FieldType.string: _mysql_string,  # type: ignore[dict-item]
    FieldType.integer: str,
    FieldType.double: repr,
    FieldType.boolean: lambda v: "1" if v else "0",
    FieldType.date: lambda v: "'" + v.isoformat() + "'",  # type: ignore[attr-defined]
    FieldType.timestamp: lambda v: "'" + v.isoformat(sep=" ") + "'",  # type: ignore[attr-defined]
}
MYSQL_STATEMENT_BYTES = 4 << 20


def _coerced_columns(
    source: Source, columns: list[str], records: Sequence[Record], offset: int
) -> list[tuple[FieldType, list[object]]]:
    """Column-wise values in their declared Python types (only misfits are converted)."""
    declared = {f.name: f.type for f in source.fields}
    out = []
    for column in columns:
        ftype = declared.get(column, FieldType.string)
        expected = _PY_TYPE[ftype]
        values = [r.get(column) for r in records]
        misfits = [i for i, v in enumerate(values) if v is not None and type(v) is not expected]
        if misfits and ftype == FieldType.string:
            for i in misfits:
                values[i] = as_text(values[i])
        elif misfits:
            # The platform's own casting: a SQL column holds only what landing would accept.
            cast, bad = cast_values([values[i] for i in misfits], ftype)
            if bad:
                i = misfits[bad[0]]
                raise DeliveryError(
                    f"{source.id}: record {offset + i}: {column}={values[i]!r} is not a valid "
                    f"{ftype.value}; a SQL column holds its declared type"
                )
            for i, value in zip(misfits, cast, strict=True):
                values[i] = value
        out.append((ftype, values))
    return out


def _insert(
    conn: sa.Connection,
    location: SqlLocation,
    source: Source,
    columns: list[str],
    records: Sequence[Record],
) -> int:
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    target = _qualified(dialect, location)
    names = ", ".join(quote(c) for c in columns)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    pg = location.engine == "postgresql"
    size = COPY_CHUNK_ROWS if pg else INSERT_CHUNK_ROWS
    statement = (
        f"COPY {target} ({names}) FROM STDIN WITH (FORMAT csv)"
        if pg
        else f"INSERT INTO {target} ({names}) VALUES ({', '.join(['?'] * len(columns))})"
    )
    try:
        for offset in range(0, len(records), size):
            chunk = records[offset : offset + size]
            typed = _coerced_columns(source, columns, chunk, offset)
            if pg:
                texts = [
                    ["" if v is None else fmt(v) for v in values]
                    for fmt, values in ((_COPY_TEXT[t], values) for t, values in typed)
                ]
                buf = io.StringIO()
                buf.write("\n".join(map(",".join, zip(*texts, strict=True))))
                buf.write("\n")
                buf.seek(0)
                cursor.copy_expert(statement, buf)
            elif location.engine == "mariadb":
                texts = [
                    ["NULL" if v is None else fmt(v) for v in values]
                    for fmt, values in ((_MYSQL_TEXT[t], values) for t, values in typed)
                ]
                head = f"INSERT INTO {target} ({names}) VALUES "
                parts: list[str] = []
                length = 0
                for row in zip(*texts, strict=True):
                    tuple_text = "(" + ",".join(row) + ")"
                    parts.append(tuple_text)
                    length += len(tuple_text) + 1
                    if length >= MYSQL_STATEMENT_BYTES:
                        cursor.execute(head + ",".join(parts))
                        parts, length = [], 0
                if parts:
                    cursor.execute(head + ",".join(parts))
            else:
                if location.engine == "sqlite":
                    # SQLite keeps dates/timestamps as ISO text (see _column_type).
                    typed = [
                        (t, [None if v is None else as_text(v) for v in values])
                        if t in (FieldType.date, FieldType.timestamp)
                        else (t, values)
                        for t, values in typed
                    ]
                cursor.executemany(statement, list(zip(*(v for _, v in typed), strict=True)))
    finally:
        cursor.close()
    return len(records)


def deliver_sql(
    source: Source, connector: SqlConnector, records: Sequence[Record], settings: Settings
) -> list[str]:
    location = sql_location(connector, settings)
    _ensure_container(location, connector, settings)
    engine = _engine(location)
    where = f"{location.engine}:{connector.database}.{location.table}"
    try:
        with engine.begin() as conn:
            existing = _existing_columns(conn, location)
            if existing is None:
                _table(source, location, records).create(conn)
                existing = [f.name for f in source.fields]
            present = dict.fromkeys(key for record in records for key in record)
            added = [k for k in present if k not in existing]
            for name in added:
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
                    raise DeliveryError(f"{source.id}: {name!r} cannot be a column name")
                quote = conn.dialect.identifier_preparer.quote
                conn.exec_driver_sql(
                    f"ALTER TABLE {_qualified(conn.dialect, location)} ADD COLUMN {quote(name)} TEXT"
                )
                log.info("%s: %s gained column %s (not in the catalog)", source.id, where, name)
            if not records:
                return [where]
            if not present:
                raise DeliveryError(f"{source.id}: the records carry no fields")
            columns = [c for c in [*existing, *added] if c in present]
            count = _insert(conn, location, source, columns, records)
    except sa.exc.DBAPIError as exc:
        raise DeliveryError(f"{source.id}: writing {where} failed: {exc.orig}") from exc
    finally:
        if location.engine == "sqlite":
            engine.dispose()
    log.info("%s: inserted %d rows into %s", source.id, count, where)
    return [where]


def reset_sql(source: Source, connector: SqlConnector, settings: Settings) -> None:
    location = sql_location(connector, settings)
    if location.engine == "sqlite":
        url = sa.engine.make_url(location.url)
        if not Path(url.database or "").exists():
            return
    _ensure_container(location, connector, settings)
    engine = _engine(location)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_qualified(conn.dialect, location)}")
    finally:
        if location.engine == "sqlite":
            engine.dispose()
