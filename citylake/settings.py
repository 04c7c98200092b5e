"""All configuration in one place: environment variables with documented defaults.

The embedded defaults keep everything under ``<project>/.citylake`` (git-ignored):
the lake on local disk, DuckDB warehouse files, SQLite metadata for Airflow and
Superset, Spark in ``local[*]``. Pointing the same code at Postgres metadata, a
Spark cluster or another lake root is a matter of setting the variables below.

| variable | default | meaning |
|---|---|---|
| CITYLAKE_PROJECT_DIR | the repository checkout | where dags/, dbt_project/, dashboards/ live |
| CITYLAKE_HOME | <project>/.citylake | working state of this installation |
| CITYLAKE_LAKE_ROOT | <home>/lake | bronze / quarantine / gold / meta tables |
| CITYLAKE_SOURCES_ROOT | <home>/sources | the demo city's source systems (SQLite files, drop folders) |
| CITYLAKE_TRUTH_ROOT | <home>/truth | generator ground truth; the pipeline never reads it |
| CITYLAKE_WAREHOUSE_DIR | <home>/warehouse | dbt's build file and the published serving file |
| CITYLAKE_SOURCE_POSTGRES_URL | unset | e.g. postgresql+psycopg2://postgres@127.0.0.1:5432/citylake_sources: PostgreSQL-run department databases live there (one schema each); unset = SQLite files |
| CITYLAKE_SOURCE_MARIADB_URL | unset | e.g. mysql+pymysql://root@127.0.0.1:3306: MariaDB-run department databases; unset = SQLite files |
| CITYLAKE_SOURCE_API_URL | http://127.0.0.1:8765 | base URL of the departments' REST API (the generator's server in the demo) |
| CITYLAKE_MQTT_URL | unset | e.g. mqtt://127.0.0.1:1883: sensor streams on the broker; unset = NDJSON drops |
| CITYLAKE_SPARK_MASTER | local[*] | e.g. spark://127.0.0.1:7077 for a standalone cluster |
| CITYLAKE_SPARK_DRIVER_MEMORY | 2g | driver memory of the Spark session |
| CITYLAKE_SPARK_DRIVER_HOST | 127.0.0.1 | address the driver binds and advertises (a reachable one for a remote cluster) |
| CITYLAKE_LAKE_RETENTION_HOURS | 168 | how long files a compaction replaced stay for time travel before vacuum deletes them (`citylake/lake_maintenance.py`) |
| CITYLAKE_COMPACT_MIN_FILES | 8 | a Delta table is compacted once it has this many active files |
| CITYLAKE_VALIDATION_ENGINE | arrow | who computes the landing suites' metrics: arrow (column-wise, `quality/arrow_metrics.py`) or gx (Great Expectations' pandas engine); either way GX's expectations judge them and GX stores and renders the results |
| CITYLAKE_ENTITY_BACKEND | duckdb | where the warehouse build's citizen crosswalk runs Splink: duckdb (in process) or spark (the Spark session, for a city too big for one process) |
| AIRFLOW_HOME | <home>/airflow | Airflow's home (config, logs) |
| CITYLAKE_AIRFLOW_DB_URL | sqlite:///<home>/airflow/airflow.db | Airflow metadata DB (postgresql+psycopg2://... at scale) |
| CITYLAKE_AIRFLOW_PORT | 8080 | Airflow api-server port on 127.0.0.1 |
| CITYLAKE_SUPERSET_VENV | <project>/.venv-superset | Superset's own virtual environment |
| CITYLAKE_SUPERSET_HOME | <home>/superset | Superset's config and SQLite metadata |
| CITYLAKE_SUPERSET_DB_URL | sqlite:///<home>/superset/superset.db | Superset metadata DB |
| CITYLAKE_SUPERSET_PORT | 8088 | Superset port on 127.0.0.1 |
| CITYLAKE_DOCS_PORT | 8090 | port on 127.0.0.1 of ``citylake docs serve`` (GX Data Docs at /quality/, dbt docs at /dbt/) |
| CITYLAKE_ADMIN_USER / CITYLAKE_ADMIN_PASSWORD | admin / admin | admin login created for the local UIs |
| CITYLAKE_DEMO_SEED / CITYLAKE_DEMO_DAYS / CITYLAKE_DEMO_START | 42 / 56 / 2026-09-01 | the embedded demo city |
| CITYLAKE_INGEST_RETRIES / CITYLAKE_RETRY_DELAY_SECONDS / CITYLAKE_MAX_RETRY_DELAY_SECONDS | 3 / 60 / 1800 | ingest task retries, first delay, cap (exponential back-off) |
| CITYLAKE_PSEUDONYM_KEY | unset | HMAC key of ``pseudonym()``; unset = a demo key generated into <home>/secrets (never on production targets) |
| CITYLAKE_STREAM_BATCH_MESSAGES | 500 | stream micro-batch size trigger |
| CITYLAKE_STREAM_MAX_BATCH_MESSAGES | 20000 | under load a due micro-batch takes everything buffered up to this many messages (never fewer than the size trigger) |
| CITYLAKE_STREAM_BATCH_SECONDS | 5 | stream micro-batch age trigger (seconds since its first message) |
| CITYLAKE_STREAM_CLIENT_ID_PREFIX | citylake-stream | MQTT client id = <prefix>-<source id> (stable: it names the session) |
| CITYLAKE_STREAM_TOPIC_PREFIX | (empty) | prepended to the catalog topics (tests, multi-tenant brokers) |
| CITYLAKE_STREAM_SESSION_EXPIRY | 604800 | seconds the broker keeps a disconnected session (7 days) |
| CITYLAKE_STREAM_RECEIVE_MAXIMUM | 65535 | unacknowledged messages the broker may send ahead |
| CITYLAKE_STREAM_DOCS_SECONDS | 300 | how often GX Data Docs are rebuilt while streaming |
| CITYLAKE_STREAM_TEST_PAUSE_BEFORE_ACK | 0 | fault injection for the restart test: sleep between landing and acknowledging |
| CITYLAKE_CRASH_AT | unset | fault injection for the exactly-once test: ``before_commit[@<table path part>]`` kills the process before a Delta commit |
| CITYLAKE_ALERT_WEBHOOKS | (empty) | comma-separated URLs that receive the CAP 1.2 warning messages by POST; empty = messages are queued in the outbox and reported, nothing is sent |
| CITYLAKE_ALERT_OUTBOX | <home>/alerts/outbox.sqlite | the alerts' durable outbox (SQLite; operational state beside the lake, on a local disk SQLite can lock) |
| CITYLAKE_ALERT_RETRY_DELAY_SECONDS / CITYLAKE_ALERT_MAX_RETRY_DELAY_SECONDS | 5 / 600 | back-off of a failed alert delivery: first delay, doubling per attempt, cap |
| CITYLAKE_ALERT_CRASH_AFTER_POST | unset | fault injection for the alert redelivery test: ``1`` SIGKILLs ``Outbox.deliver`` after a 2xx, before it records the delivery |
| CITYLAKE_FEED_RETENTION_DAYS | 7 | days a sensor feed file (``<lake>/feeds/<source>/``: one Parquet file per committed batch, what the warnings stream reads) is kept; only files the stream's checkpoint has committed are deleted |
| CITYLAKE_WARNINGS_TRIGGER_SECONDS | 5 | micro-batch interval of the warnings stream (``citylake warnings stream``) |
| CITYLAKE_WARNINGS_MAX_FILES_PER_TRIGGER | 100 | feed files per source one micro-batch of the warnings stream reads at most |
| CITYLAKE_WARNINGS_WATERMARK | 24 hours | the warnings stream's event-time watermark on ``reading_at`` (a rain gauge's window is 24 h); progress only: late readings are judged by the engine, never dropped |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

PSEUDONYM_KEY_ENV = "CITYLAKE_PSEUDONYM_KEY"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class StreamSettings:
    """The MQTT stream's micro-batching and session (``citylake stream``)."""

    batch_messages: int = 500
    batch_seconds: float = 5.0
    max_batch_messages: int = 20_000
    client_id_prefix: str = "citylake-stream"
    topic_prefix: str = ""
    session_expiry: int = 7 * 24 * 3600
    receive_maximum: int = 65535
    docs_seconds: float = 300.0
    pause_before_ack: float = 0.0


@dataclass(frozen=True)
class AlertSettings:
    """CAP warning delivery (``citylake.alerts``): receivers, outbox, back-off."""

    webhooks: tuple[str, ...] = ()
    outbox_path: Path | None = None  # None: <home>/alerts/outbox.sqlite
    retry_delay_seconds: float = 5.0
    max_retry_delay_seconds: float = 600.0
    crash_after_post: bool = False


@dataclass(frozen=True)
class WarningStreamSettings:
    """The warnings stream (``transforms/warnings_stream.py``) and the feed files it reads."""

    feed_retention_days: float = 7.0
    trigger_seconds: float = 5.0
    max_files_per_trigger: int = 100
    watermark: str = "24 hours"


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    home: Path
    lake_root: Path
    sources_root: Path
    truth_root: Path
    warehouse_dir: Path
    source_postgres_url: str | None
    source_mariadb_url: str | None
    source_api_url: str
    mqtt_url: str | None
    spark_master: str
    spark_driver_memory: str
    spark_driver_host: str
    entity_backend: str
    lake_retention_hours: int  # whole hours: delta-rs vacuums by the hour
    compact_min_files: int
    airflow_home: Path
    airflow_db_url: str
    airflow_port: int
    superset_venv: Path
    superset_home: Path
    superset_db_url: str
    superset_port: int
    admin_user: str
    admin_password: str
    demo_seed: int
    demo_days: int
    demo_start: date
    ingest_retries: int = 3
    retry_delay_seconds: float = 60.0
    max_retry_delay_seconds: float = 1800.0
    pseudonym_key: str | None = None
    docs_port: int = 8090
    stream: StreamSettings = field(default_factory=StreamSettings)
    crash_at: str = ""
    alerts: AlertSettings = field(default_factory=AlertSettings)
    warnings_stream: WarningStreamSettings = field(default_factory=WarningStreamSettings)
    extra: dict[str, str] = field(default_factory=dict)

    # Derived locations: one definition so every layer agrees on them.
    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target folder (manifest.json, run_results.json) of the DuckDB build."""
        return self.home / "dbt" / "target"

    @property
    def dags_dir(self) -> Path:
        return self.project_dir / "dags"

    @property
    def dashboards_dir(self) -> Path:
        return self.project_dir / "dashboards"

    @property
    def build_db(self) -> Path:
        """The DuckDB file dbt writes. Nobody else opens it."""
        return self.warehouse_dir / "build.duckdb"

    @property
    def serving_db(self) -> Path:
        """The published, read-only DuckDB file Superset and departments query."""
        return self.warehouse_dir / "serving.duckdb"

    @property
    def gold_dir(self) -> Path:
        return self.lake_root / "gold"

    @property
    def quality_home(self) -> Path:
        """Great Expectations' project root (it adds gx/ beneath)."""
        return self.home / "quality"

    @property
    def quality_docs_index(self) -> Path:
        return self.quality_home / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"

    @property
    def dbt_docs_index(self) -> Path:
        """dbt's static documentation page (``citylake docs``)."""
        return self.home / "docs" / "dbt" / "index.html"

    @property
    def docs_assets_dir(self) -> Path:
        """The documentation pages' CSS/JS, pinned in docs_assets/ and installed by ``make install``."""
        return self.project_dir / "docs_assets" / "node_modules"

    def bronze_path(self, source_id: str) -> Path:
        return self.lake_root / "bronze" / source_id

    def quarantine_path(self, source_id: str) -> Path:
        return self.lake_root / "quarantine" / source_id

    @property
    def ledger_path(self) -> Path:
        return self.lake_root / "meta" / "ingest_ledger"

    @property
    def feeds_dir(self) -> Path:
        """Landed sensor batches as files a Spark file stream can read (one folder per source)."""
        return self.lake_root / "feeds"

    def feed_path(self, source_id: str) -> Path:
        return self.feeds_dir / source_id

    @property
    def warnings_checkpoint(self) -> Path:
        """The warnings stream's Spark checkpoint (offsets, engine state, commits)."""
        return self.home / "spark" / "checkpoints" / "warnings"

    @property
    def alerts_outbox(self) -> Path:
        """The alerts' SQLite outbox: operational state, not a lake table."""
        return self.alerts.outbox_path or self.home / "alerts" / "outbox.sqlite"


def load_settings() -> Settings:
    """Read settings from the environment (cheap; call it where needed, never cache I/O)."""
    project_dir = _env_path("CITYLAKE_PROJECT_DIR", _PACKAGE_DIR.parent)
    home = _env_path("CITYLAKE_HOME", project_dir / ".citylake")
    airflow_home = _env_path("AIRFLOW_HOME", home / "airflow")
    superset_home = _env_path("CITYLAKE_SUPERSET_HOME", home / "superset")
    env = os.environ.get
    return Settings(
        project_dir=project_dir,
        home=home,
        lake_root=_env_path("CITYLAKE_LAKE_ROOT", home / "lake"),
        sources_root=_env_path("CITYLAKE_SOURCES_ROOT", home / "sources"),
        truth_root=_env_path("CITYLAKE_TRUTH_ROOT", home / "truth"),
        warehouse_dir=_env_path("CITYLAKE_WAREHOUSE_DIR", home / "warehouse"),
        source_postgres_url=env("CITYLAKE_SOURCE_POSTGRES_URL") or None,
        source_mariadb_url=env("CITYLAKE_SOURCE_MARIADB_URL") or None,
        source_api_url=env("CITYLAKE_SOURCE_API_URL", "http://127.0.0.1:8765"),
        mqtt_url=env("CITYLAKE_MQTT_URL") or None,
        spark_master=env("CITYLAKE_SPARK_MASTER", "local[*]"),
        spark_driver_memory=env("CITYLAKE_SPARK_DRIVER_MEMORY", "2g"),
        spark_driver_host=env("CITYLAKE_SPARK_DRIVER_HOST", "127.0.0.1"),
        entity_backend=env("CITYLAKE_ENTITY_BACKEND", "duckdb"),
        lake_retention_hours=int(env("CITYLAKE_LAKE_RETENTION_HOURS", "168")),
        compact_min_files=int(env("CITYLAKE_COMPACT_MIN_FILES", "8")),
        airflow_home=airflow_home,
        airflow_db_url=env("CITYLAKE_AIRFLOW_DB_URL", f"sqlite:///{airflow_home / 'airflow.db'}"),
        airflow_port=int(env("CITYLAKE_AIRFLOW_PORT", "8080")),
        superset_venv=_env_path("CITYLAKE_SUPERSET_VENV", project_dir / ".venv-superset"),
        superset_home=superset_home,
        superset_db_url=env(
            "CITYLAKE_SUPERSET_DB_URL", f"sqlite:///{superset_home / 'superset.db'}"
        ),
        superset_port=int(env("CITYLAKE_SUPERSET_PORT", "8088")),
        admin_user=env("CITYLAKE_ADMIN_USER", "admin"),
        admin_password=env("CITYLAKE_ADMIN_PASSWORD", "admin"),
        demo_seed=int(env("CITYLAKE_DEMO_SEED", "42")),
        demo_days=int(env("CITYLAKE_DEMO_DAYS", "56")),
        demo_start=date.fromisoformat(env("CITYLAKE_DEMO_START", "2026-09-01")),
        ingest_retries=int(env("CITYLAKE_INGEST_RETRIES", "3")),
        retry_delay_seconds=float(env("CITYLAKE_RETRY_DELAY_SECONDS", "60")),
        max_retry_delay_seconds=float(env("CITYLAKE_MAX_RETRY_DELAY_SECONDS", "1800")),
        pseudonym_key=env(PSEUDONYM_KEY_ENV, "").strip() or None,
        docs_port=int(env("CITYLAKE_DOCS_PORT", "8090")),
        stream=StreamSettings(
            batch_messages=int(env("CITYLAKE_STREAM_BATCH_MESSAGES", "500")),
            batch_seconds=float(env("CITYLAKE_STREAM_BATCH_SECONDS", "5")),
            max_batch_messages=int(env("CITYLAKE_STREAM_MAX_BATCH_MESSAGES", "20000")),
            client_id_prefix=env("CITYLAKE_STREAM_CLIENT_ID_PREFIX", "citylake-stream"),
            topic_prefix=env("CITYLAKE_STREAM_TOPIC_PREFIX", ""),
            session_expiry=int(env("CITYLAKE_STREAM_SESSION_EXPIRY", str(7 * 24 * 3600))),
            receive_maximum=int(env("CITYLAKE_STREAM_RECEIVE_MAXIMUM", "65535")),
            docs_seconds=float(env("CITYLAKE_STREAM_DOCS_SECONDS", "300")),
            pause_before_ack=float(env("CITYLAKE_STREAM_TEST_PAUSE_BEFORE_ACK", "0")),
        ),
        crash_at=env("CITYLAKE_CRASH_AT", ""),
        alerts=AlertSettings(
            webhooks=tuple(
                url.strip() for url in env("CITYLAKE_ALERT_WEBHOOKS", "").split(",") if url.strip()
            ),
            outbox_path=_env_path("CITYLAKE_ALERT_OUTBOX", home / "alerts" / "outbox.sqlite"),
            retry_delay_seconds=float(env("CITYLAKE_ALERT_RETRY_DELAY_SECONDS", "5")),
            max_retry_delay_seconds=float(env("CITYLAKE_ALERT_MAX_RETRY_DELAY_SECONDS", "600")),
            crash_after_post=env("CITYLAKE_ALERT_CRASH_AFTER_POST", "").strip().lower()
            in {"1", "true", "yes"},
        ),
        warnings_stream=WarningStreamSettings(
            feed_retention_days=float(env("CITYLAKE_FEED_RETENTION_DAYS", "7")),
            trigger_seconds=float(env("CITYLAKE_WARNINGS_TRIGGER_SECONDS", "5")),
            max_files_per_trigger=int(env("CITYLAKE_WARNINGS_MAX_FILES_PER_TRIGGER", "100")),
            watermark=env("CITYLAKE_WARNINGS_WATERMARK", "24 hours"),
        ),
    )
