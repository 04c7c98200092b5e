"""Extraction: each connector kind turns a source system's new data into raw batches.

A raw batch holds the values as delivered (strings or None), one row per record, with
``_row_number`` naming the record's place in its file or cursor range, plus the rows
that could not even be parsed (kept for quarantine, never dropped). The MQTT subscriber
(``streaming``) buffers messages and ``stream_messages`` turns them into raw batches; what
lands them is composed in ``citylake.orchestration.stream``. May import only the core.
"""

from __future__ import annotations

from collections.abc import Iterator

from citylake.catalog import (
    FileDropConnector,
    MqttConnector,
    RestApiConnector,
    Source,
    SqlConnector,
)
from citylake.connectors.base import RawBatch, RowError, SourceState
from citylake.settings import Settings

__all__ = ["RawBatch", "RowError", "SourceState", "extract"]


def extract(source: Source, settings: Settings, state: SourceState) -> Iterator[RawBatch]:
    """New batches of ``source`` since ``state`` (what the ledger says already landed)."""
    connector = source.connector
    if isinstance(connector, SqlConnector):
        from citylake.connectors.sql import extract_sql

        yield from extract_sql(source, connector, settings, state)
    elif isinstance(connector, FileDropConnector) and connector.kind == "excel_drop":
        from citylake.connectors.excel import extract_excel

        yield from extract_excel(source, connector, settings, state)
    elif isinstance(connector, FileDropConnector):
        from citylake.connectors.files import extract_files

        yield from extract_files(source, connector, settings, state)
    elif isinstance(connector, RestApiConnector):
        from citylake.connectors.rest import extract_rest

        yield from extract_rest(source, connector, settings, state)
    elif isinstance(connector, MqttConnector):
        from citylake.connectors.mqtt import extract_mqtt

        yield from extract_mqtt(source, connector, settings, state)
    else:  # pragma: no cover - the catalog's discriminated union makes this unreachable
        raise TypeError(f"{source.id}: unknown connector {connector!r}")
