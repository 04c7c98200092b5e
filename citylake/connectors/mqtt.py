"""MQTT sensor streams, for batch ingestion: the stream's NDJSON fallback drop.

The generator always writes every published message to the stream's fallback folder
as well (``generate.systems``), one JSON object per line and file per day, so the
embedded demo (no broker) and batch backfills read the same records. The drop is read
exactly like an ``ndjson_drop`` (``connectors.files``): each new file version is one
batch, unparseable lines become row errors. The continuous broker subscriber is a
separate service: ``citylake stream`` (``citylake.connectors.streaming``).
"""

from __future__ import annotations

from collections.abc import Iterator

from citylake.catalog import FileDropConnector, MqttConnector, Source
from citylake.connectors.base import RawBatch, SourceState
from citylake.connectors.files import extract_files
from citylake.connectors.source_systems import drop_folder
from citylake.settings import Settings


def fallback_drop(connector: MqttConnector, settings: Settings) -> FileDropConnector:
    """The stream's fallback folder as the NDJSON drop it is."""
    return FileDropConnector(
        kind="ndjson_drop",
        path=str(drop_folder(connector, settings)),
        pattern=connector.pattern,
        encoding="utf-8",
    )


def extract_mqtt(
    source: Source, connector: MqttConnector, settings: Settings, state: SourceState
) -> Iterator[RawBatch]:
    yield from extract_files(source, fallback_drop(connector, settings), settings, state)
