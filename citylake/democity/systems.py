"""Delivery into the real source systems, by each source's catalog connector.

``deliver_records(source, records, settings, day=...)`` writes generated records where
``citylake.connectors.source_systems`` says the source lives, in the form its department uses:

- ``sql``: rows appended to ``connector.table`` in PostgreSQL (schema
  ``connector.database`` inside the database of ``CITYLAKE_SOURCE_POSTGRES_URL``),
  MariaDB (database ``connector.database``, utf8mb4) or the embedded SQLite file
  ``sources_root/sql/<database>.sqlite``. The table is created on first delivery with
  column types from the catalog schema; when the declared cursor is an integer column
  the records do not carry, the database assigns it (autoincrement), as a real
  system's serial id would. Undeclared record keys (a department's schema change)
  become added TEXT columns. Values are checked against the declared types before
  anything is written (the same check on every engine, so what passes in the SQLite
  demo also passes in PostgreSQL/MariaDB): dirt belongs in string columns. Bulk
  insert: COPY on PostgreSQL, multi-row executemany on MariaDB and SQLite.
- ``csv_drop`` / ``excel_drop`` / ``ndjson_drop``: one file per day, named
  ``<source_id>_<YYYY-MM-DD>.<ext>`` (or the declared pattern with the date for its
  ``*`` when that name would not match the pattern), in the declared encoding, written
  under a temporary dot-name and renamed into place. Excel workbooks hold the data in
  the declared sheet plus a ``说明`` notes sheet, and are byte-identical for the same
  records (fixed zip and document timestamps).
- ``rest_api``: records appended to the endpoint's JSON-lines store
  (``source_systems.api_store``), which ``citylake.democity.api_server`` serves.
- ``mqtt``: each record published as a JSON message to the topic (``+``/``#`` replaced
  by the record's station id) when ``CITYLAKE_MQTT_URL`` is set, and always also
  written to the NDJSON fallback drop (the embedded demo reads that).

``reset_source`` removes a previous delivery (drops the table, clears the drop folder
or API store), so a rerun of the generator replaces it; ``deliver_records(...,
reset=True)`` does that first.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import threading
import zipfile
from collections import deque
from collections.abc import Sequence
from datetime import date, datetime
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from citylake.catalog import (
    FieldType,
    FileDropConnector,
    MqttConnector,
    RestApiConnector,
    Source,
    SqlConnector,
)
from citylake.connectors.source_systems import api_store, drop_folder
from citylake.democity.deliver import clear_drop
from citylake.democity.delivery_sql import deliver_sql, dispose_engines, reset_sql
from citylake.democity.delivery_values import DeliveryError, Record, as_text, json_line, to_date
from citylake.settings import Settings

__all__ = [
    "NOTES_SHEET",
    "DeliveryError",
    "deliver_records",
    "dispose_engines",
    "file_name_for",
    "reset_source",
]

log = logging.getLogger(__name__)

NOTES_SHEET = "说明"
MQTT_TIMEOUT_SECONDS = 60.0
MQTT_WINDOW = 100  # unacknowledged QoS 1/2 messages in flight
_EXTENSIONS = {"csv_drop": "csv", "excel_drop": "xlsx", "ndjson_drop": "ndjson", "mqtt": "ndjson"}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- files


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def file_name_for(source: Source, day: date) -> str:
    """The delivered file name of ``day``: ``<source_id>_<day>.<ext>`` unless the pattern says otherwise."""
    connector = source.connector
    if not isinstance(connector, (FileDropConnector, MqttConnector)):
        raise TypeError(f"{source.id}: {connector.kind} sources have no drop files")
    name = f"{source.id}_{day.isoformat()}.{_EXTENSIONS[connector.kind]}"
    if fnmatch(name, connector.pattern):
        return name
    if connector.pattern.count("*") == 1 and not re.search(r"[?\[]", connector.pattern):
        name = connector.pattern.replace("*", day.isoformat())
        if fnmatch(name, connector.pattern):
            return name
    raise DeliveryError(
        f"{source.id}: cannot name a file for {day} that matches the declared pattern "
        f"{connector.pattern!r} (tried {source.id}_{day}.{_EXTENSIONS[connector.kind]})"
    )


def _event_field(source: Source) -> str:
    """The field whose date files records by day when the caller does not say the day."""
    candidates = [source.cursor] if source.cursor else []
    candidates += [f.name for f in source.fields if f.type == FieldType.timestamp]
    candidates += [f.name for f in source.fields if f.type == FieldType.date]
    for name in candidates:
        if name and source.field(name).type in (FieldType.timestamp, FieldType.date):
            return name
    raise DeliveryError(f"{source.id}: no date/timestamp field to file records by day; pass day=")


def _by_day(
    source: Source, records: Sequence[Record], day: date | None
) -> dict[date, list[Record]]:
    if day is not None:
        return {day: list(records)}
    name = _event_field(source)
    groups: dict[date, list[Record]] = {}
    for index, record in enumerate(records):
        value = record.get(name)
        try:
            when = to_date(value[:10] if isinstance(value, str) else value)
        except ValueError as exc:
            raise DeliveryError(
                f"{source.id}: record {index}: {name}={value!r} gives no day to file it under "
                f"({exc}); pass day="
            ) from exc
        groups.setdefault(when, []).append(record)
    return dict(sorted(groups.items()))


def _columns(source: Source, records: Sequence[Record]) -> list[str]:
    """Header of a delivered file: declared fields the records carry, then undeclared keys."""
    declared = [f.name for f in source.fields]
    if not records:
        return declared
    seen = dict.fromkeys(key for record in records for key in record)
    return [n for n in declared if n in seen] + [k for k in seen if k not in declared]


def _encode(source: Source, text: str, encoding: str, path: Path) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise DeliveryError(
            f"{source.id}: {path.name}: {bad!r} cannot be written in {encoding} "
            f"(at character {exc.start})"
        ) from exc


def _write_csv(source: Source, path: Path, records: Sequence[Record], encoding: str) -> None:
    columns = _columns(source, records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if (v := record.get(c)) is None else as_text(v) for c in columns])
    _atomic_write(path, _encode(source, buf.getvalue(), encoding, path))


def _write_ndjson(source: Source, path: Path, records: Sequence[Record], encoding: str) -> None:
    text = "".join(f"{json_line(r)}\n" for r in records)
    _atomic_write(path, _encode(source, text, encoding, path))


def _excel_value(ws: object, value: object) -> object:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"  # text that looks like a formula stays text
        return cell
    return value


def _write_excel(source: Source, path: Path, records: Sequence[Record], day: date) -> None:
    from openpyxl import Workbook

    connector = source.connector
    assert isinstance(connector, FileDropConnector)
    columns = _columns(source, records)
    wb = Workbook(write_only=True)
    data = wb.create_sheet(connector.sheet or "Sheet1")
    data.append(columns)
    for record in records:
        data.append([_excel_value(data, record.get(c)) for c in columns])
    notes = wb.create_sheet(NOTES_SHEET)
    described = {f.name: f.description for f in source.fields}
    notes.append(["数据来源", f"{source.department} / {source.system}"])
    notes.append(["数据日期", day.isoformat()])
    notes.append(["记录数", len(records)])
    notes.append(["联系人", source.owner])
    notes.append([])
    notes.append(["字段", "说明"])
    for column in columns:
        notes.append([column, described.get(column, "")])
    moment = datetime(day.year, day.month, day.day)
    wb.properties.creator = source.department
    wb.properties.created = moment
    buf = io.BytesIO()
    wb.save(buf)
    _atomic_write(path, _deterministic_zip(buf.getvalue(), moment))


def _deterministic_zip(data: bytes, moment: datetime) -> bytes:
    """Re-pack an .xlsx with fixed entry times and document dates (openpyxl stamps 'now')."""
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def _deliver_files(
    source: Source,
    connector: FileDropConnector | MqttConnector,
    records: Sequence[Record],
    settings: Settings,
    day: date | None,
    encoding: str | None,
) -> list[str]:
    folder = drop_folder(connector, settings)
    folder.mkdir(parents=True, exist_ok=True)
    declared = connector.encoding if isinstance(connector, FileDropConnector) else "utf-8"
    # "auto" means the department's files come in either encoding; the caller may choose.
    enc = encoding or ("utf-8" if declared == "auto" else declared)
    written = []
    for when, rows in _by_day(source, records, day).items():
        path = folder / file_name_for(source, when)
        if connector.kind == "csv_drop":
            _write_csv(source, path, rows, enc)
        elif connector.kind == "excel_drop":
            _write_excel(source, path, rows, when)
        else:
            _write_ndjson(source, path, rows, enc)
        written.append(str(path))
    return written


# --------------------------------------------------------------------------- REST store


def _deliver_api(
    source: Source, connector: RestApiConnector, records: Sequence[Record], settings: Settings
) -> list[str]:
    """Append to the endpoint's store in one write; the server ignores an unfinished last line."""
    path = api_store(connector.endpoint, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(f"{json_line(r)}\n" for r in records).encode("utf-8")
    with path.open("ab") as fh:
        fh.write(data)
    return [str(path)]


# --------------------------------------------------------------------------- MQTT


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _station_field(source: Source) -> str:
    names = [f.name for f in source.fields]
    if "station_id" in names:
        return "station_id"
    return source.primary_key[0]


def topic_for(connector: MqttConnector, station: object) -> str:
    """The concrete topic of a station: wildcard levels of the declared topic become its id."""
    levels = connector.topic.split("/")
    return "/".join(str(station) if level in ("+", "#") else level for level in levels)


def _acknowledged(info: object, source: Source, where: str) -> None:
    info.wait_for_publish(timeout=MQTT_TIMEOUT_SECONDS)  # type: ignore[attr-defined]
    if not info.is_published():  # type: ignore[attr-defined]
        raise TimeoutError(
            f"{source.id}: the broker at {where} did not acknowledge message "
            f"{info.mid} within {MQTT_TIMEOUT_SECONDS:.0f} s"  # type: ignore[attr-defined]
        )


def publish_records(
    source: Source, connector: MqttConnector, records: Sequence[Record], mqtt_url: str
) -> str:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parts = urlsplit(mqtt_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    where = _redacted(mqtt_url)
    connected = threading.Event()
    refused: list[str] = []

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            refused.append(str(reason_code))
        connected.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"citylake-generator-{source.id}-{os.getpid()}",
        clean_session=True,
    )
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    client.max_inflight_messages_set(MQTT_WINDOW)
    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=60)
    except OSError as exc:
        raise ConnectionError(
            f"{source.id}: cannot reach the MQTT broker at {where}: {exc}"
        ) from exc
    client.loop_start()
    try:
        if not connected.wait(10) or refused:
            raise ConnectionError(
                f"{source.id}: MQTT broker at {where} did not accept the connection "
                f"({refused[0] if refused else 'no CONNACK in 10 s'})"
            )
        station = _station_field(source)
        # A bounded window of unacknowledged messages (also bounds memory): paho slows
        # down with many in flight (measured ~10k msg/s at 100, ~1.4k msg/s at 10,000).
        pending: deque = deque()
        for record in records:
            topic = topic_for(connector, record.get(station))
            info = client.publish(topic, json_line(record).encode("utf-8"), qos=connector.qos)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise ConnectionError(
                    f"{source.id}: publishing to {where}/{topic} failed: {mqtt.error_string(info.rc)}"
                )
            pending.append(info)
            if len(pending) >= MQTT_WINDOW:
                _acknowledged(pending.popleft(), source, where)
        while pending:
            _acknowledged(pending.popleft(), source, where)
    finally:
        client.disconnect()
        client.loop_stop()
    log.info("%s: published %d messages to %s/%s", source.id, len(records), where, connector.topic)
    return f"{where}/{connector.topic} ({len(records)} messages)"


# --------------------------------------------------------------------------- public API


def reset_source(source: Source, settings: Settings) -> None:
    """Remove the previous delivery of ``source``, so the next one replaces it."""
    connector = source.connector
    if isinstance(connector, SqlConnector):
        reset_sql(source, connector, settings)
    elif isinstance(connector, (FileDropConnector, MqttConnector)):
        clear_drop(drop_folder(connector, settings), connector.pattern)
    elif isinstance(connector, RestApiConnector):
        api_store(connector.endpoint, settings).unlink(missing_ok=True)
    # Messages already on the broker cannot be recalled; consumers dedupe by key.


def deliver_records(
    source: Source,
    records: list[dict],
    settings: Settings,
    *,
    day: date | None = None,
    reset: bool = False,
    encoding: str | None = None,
) -> list[str]:
    """Write ``records`` into ``source``'s system; returns what was written (paths or tables).

    ``day`` names the drop file (without it, records are filed by the date of their
    cursor / first timestamp field). ``reset`` removes the previous delivery first.
    ``encoding`` overrides the declared one for this delivery (for ``encoding: auto``
    sources whose files come in either encoding).
    """
    if reset:
        reset_source(source, settings)
    connector = source.connector
    if isinstance(connector, SqlConnector):
        return deliver_sql(source, connector, records, settings)
    if isinstance(connector, FileDropConnector):
        return _deliver_files(source, connector, records, settings, day, encoding)
    if isinstance(connector, RestApiConnector):
        return _deliver_api(source, connector, records, settings)
    if isinstance(connector, MqttConnector):
        written = []
        if settings.mqtt_url:
            written.append(publish_records(source, connector, records, settings.mqtt_url))
        written += _deliver_files(source, connector, records, settings, day, encoding)
        return written
    raise TypeError(f"{source.id}: unknown connector {connector!r}")  # pragma: no cover
