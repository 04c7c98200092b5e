"""Where each source system lives, from the catalog declaration plus settings.

The catalog says what a department runs (PostgreSQL, MariaDB, a drop folder, an API, a
broker); settings say where those are. Unset service URLs mean the embedded demo:
SQLite files and NDJSON drops under sources_root. Generator and connectors both ask
here, so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from citylake.catalog import FileDropConnector, MqttConnector, SqlConnector
from citylake.settings import Settings


@dataclass(frozen=True)
class SqlLocation:
    url: str  # SQLAlchemy URL
    schema: str | None  # PostgreSQL schema holding the department's tables
    table: str
    engine: str  # what actually serves it: postgresql / mariadb / sqlite


def sql_location(connector: SqlConnector, settings: Settings) -> SqlLocation:
    if connector.system == "postgresql" and settings.source_postgres_url:
        return SqlLocation(
            settings.source_postgres_url, connector.database, connector.table, "postgresql"
        )
    if connector.system == "mariadb" and settings.source_mariadb_url:
        base = settings.source_mariadb_url.rstrip("/")
        return SqlLocation(
            f"{base}/{connector.database}?charset=utf8mb4", None, connector.table, "mariadb"
        )
    path = settings.sources_root / "sql" / f"{connector.database}.sqlite"
    return SqlLocation(f"sqlite:///{path}", None, connector.table, "sqlite")


def drop_folder(connector: FileDropConnector | MqttConnector, settings: Settings) -> Path:
    """The drop folder of a file source, or the NDJSON fallback folder of an MQTT stream."""
    raw = connector.fallback_path if isinstance(connector, MqttConnector) else connector.path
    path = Path(raw)
    return path if path.is_absolute() else settings.sources_root / path


def api_url(endpoint: str, settings: Settings) -> str:
    return settings.source_api_url.rstrip("/") + endpoint


def api_store(endpoint: str, settings: Settings) -> Path:
    """The JSON-lines store behind a REST endpoint: the generator appends, the API server serves it."""
    return settings.sources_root / "api" / f"{endpoint.strip('/')}.ndjson"
