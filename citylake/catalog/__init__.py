"""The source catalog: one YAML declaration per source, validated into typed models.

A declaration says everything downstream needs (connector, schema, identity fields,
PII tags, cadence, share class, owner, landing expectations), so DAGs, landing
validation and staging follow from it. A bad declaration fails with the file and
field named.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CATALOG_DIR = Path(__file__).resolve().parent.parent / "sources"

SOURCE_ID_PATTERN = r"^[a-z][a-z0-9_]{2,62}$"


class CatalogError(ValueError):
    """A source declaration is invalid; the message names file and field."""


class FieldType(StrEnum):
    string = "string"
    integer = "integer"
    double = "double"
    boolean = "boolean"
    date = "date"
    timestamp = "timestamp"


class PiiTag(StrEnum):
    direct = "direct_identifier"
    quasi = "quasi_identifier"
    none = "none"


class IdentityKind(StrEnum):
    resident_id = "resident_id"
    uscc = "uscc"
    legacy_registration = "legacy_registration"
    phone = "phone"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchemaField(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    type: FieldType
    nullable: bool = True
    pii: PiiTag = PiiTag.none
    description: str = ""
    # Landing expectations on this column (validated per batch by Great Expectations).
    allowed_values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    regex: str | None = None
    identity: IdentityKind | None = None
    # Names this column was delivered under before a rename (schema drift): landing maps
    # them to this name and records the rename; bronze keeps one column.
    renamed_from: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = Field(
        default_factory=list
    )
    # On a birth date column: the resident-ID column whose encoded birth date (positions
    # 7-14) it must equal. A column named ``birth_date`` next to one named ``resident_id``
    # gets this pairing without declaring it (Source.birth_date_pairs).
    birth_date_of: str | None = None


class SqlConnector(_Strict):
    """A table in a department's relational database.

    ``system`` says which engine the department runs in production. Where it lives is
    configuration (citylake.settings): PostgreSQL / MariaDB on their URLs when
    configured, otherwise one SQLite file per ``database`` under sources_root (the
    embedded demo). The same SQLAlchemy connector reads all three.
    """

    kind: Literal["sql"]
    system: Literal["postgresql", "mariadb", "sqlite"] = "sqlite"
    database: Annotated[
        str, Field(pattern=r"^[a-z][a-z0-9_]*$")
    ]  # PG schema / MariaDB database / SQLite file
    table: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    batch_rows: int = 50_000


class FileDropConnector(_Strict):
    """A folder a department drops files into (relative to sources_root unless absolute)."""

    kind: Literal["csv_drop", "ndjson_drop", "excel_drop"]
    path: str
    # A file-name glob inside ``path``: no folders, so it cannot reach outside the drop.
    pattern: Annotated[str, Field(pattern=r"^[^/\\]+$")] = "*"
    # "auto" detects UTF-8 / GB18030 (a GBK superset) per file.
    encoding: str = "utf-8"
    sheet: str | None = None  # excel_drop: the data sheet (others are reported, not read)


class RestApiConnector(_Strict):
    """A paginated JSON API (base URL from settings: CITYLAKE_SOURCE_API_URL)."""

    kind: Literal["rest_api"]
    endpoint: Annotated[str, Field(pattern=r"^/[A-Za-z0-9_/\-]+$")]
    page_size: int = 500


class MqttConnector(_Strict):
    """A sensor stream on the MQTT broker; ``fallback_path`` is its NDJSON drop in the embedded demo."""

    kind: Literal["mqtt"]
    topic: str
    qos: Literal[0, 1, 2] = 1
    fallback_path: str
    pattern: str = "*.ndjson"


Connector = Annotated[
    SqlConnector | FileDropConnector | RestApiConnector | MqttConnector, Field(discriminator="kind")
]


class ShareClass(_Strict):
    kind: Literal["unconditional", "conditional", "not_shared"]
    departments: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _departments_only_when_conditional(self) -> ShareClass:
        if self.kind == "conditional" and not self.departments:
            raise ValueError("conditional sharing needs the departments allowed")
        if self.kind != "conditional" and self.departments:
            raise ValueError(
                f"departments are only meaningful for conditional sharing, not {self.kind}"
            )
        return self


class Landing(_Strict):
    # Share of rows failing row-level expectations above which the whole batch is held.
    max_failure_rate: Annotated[float, Field(ge=0, le=1)] = 0.2
    # ...but only once at least this many rows failed: one bad row in a three-row daily
    # file is a row to quarantine, not a broken delivery.
    min_failed_rows: Annotated[int, Field(ge=1)] = 5


class Staging(_Strict):
    """Where the dbt project reads the source: ``source('<group>', '<table>')``, declared
    in ``models/staging/<group>/_<group>__sources.yml`` (generated from this catalog by
    ``citylake catalog dbt-sources``), and how its staging model keys records."""

    group: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    table: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    # normalized: the key is clerk-typed text (normalize_text: trimmed, half-width, upper);
    # as_delivered: a system-issued key, cast to text (several key columns joined by '|').
    key: Literal["normalized", "as_delivered"] = "normalized"


class Source(_Strict):
    id: Annotated[str, Field(pattern=SOURCE_ID_PATTERN)]
    department: str
    system: str
    description: str = ""
    kind: Literal["department", "sensor"] = "department"
    connector: Connector
    cadence: str  # cron expression or Airflow preset such as "@daily"
    primary_key: list[str]
    cursor: str | None = None
    schema_: Annotated[list[SchemaField], Field(alias="schema", min_length=1)]
    share: ShareClass
    owner: str
    landing: Landing = Landing()
    staging: Staging

    @model_validator(mode="after")
    def _columns_exist(self) -> Source:
        names = [f.name for f in self.schema_]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"schema declares {duplicates} more than once")
        for key in [*self.primary_key, *([self.cursor] if self.cursor else [])]:
            if key not in names:
                raise ValueError(f"key/cursor column {key!r} is not in the schema")
        if isinstance(self.connector, SqlConnector) and not self.cursor:
            raise ValueError("a sql source needs an incremental cursor column")
        old_names = [old for f in self.schema_ for old in f.renamed_from]
        clash = sorted({n for n in old_names if n in names or old_names.count(n) > 1})
        if clash:
            raise ValueError(
                f"renamed_from {clash}: an old name must be neither a declared column "
                "nor the old name of two columns"
            )
        by_name = {f.name: f for f in self.schema_}
        for f in self.schema_:
            if f.birth_date_of is None:
                continue
            target = by_name.get(f.birth_date_of)
            if target is None or target.identity != IdentityKind.resident_id:
                raise ValueError(
                    f"{f.name}.birth_date_of: {f.birth_date_of!r} is not a column "
                    "declared with identity: resident_id"
                )
            if f.type not in (FieldType.date, FieldType.string):
                raise ValueError(f"{f.name}.birth_date_of: a birth date is a date or a string")
        return self

    @property
    def fields(self) -> list[SchemaField]:
        return list(self.schema_)

    def field(self, name: str) -> SchemaField:
        for f in self.schema_:
            if f.name == name:
                return f
        raise KeyError(f"{self.id} has no field {name!r}")

    @property
    def identity_fields(self) -> list[SchemaField]:
        return [f for f in self.schema_ if f.identity is not None]

    @property
    def renames(self) -> dict[str, str]:
        """Old delivered name -> declared name, for every declared rename."""
        return {old: f.name for f in self.schema_ for old in f.renamed_from}

    @property
    def birth_date_pairs(self) -> list[tuple[str, str]]:
        """(birth date column, resident-ID column) pairs landing checks for consistency.

        Declared with ``birth_date_of``; a ``birth_date`` column beside a ``resident_id``
        column (identity resident_id) is the same person's and pairs implicitly.
        """
        pairs = [(f.name, f.birth_date_of) for f in self.schema_ if f.birth_date_of]
        names = {f.name: f for f in self.schema_}
        rid = names.get("resident_id")
        born = names.get("birth_date")
        if (
            born is not None
            and born.birth_date_of is None
            and rid is not None
            and rid.identity == IdentityKind.resident_id
            and born.type in (FieldType.date, FieldType.string)
        ):
            pairs.append(("birth_date", "resident_id"))
        return pairs


def cadence_period(cadence: str) -> timedelta:
    """Typical time between two runs of a cron expression or preset (monthly ~ 30 days)."""
    from croniter import croniter

    it = croniter(cadence, datetime(2026, 1, 1))
    fires = [it.get_next(datetime) for _ in range(13)]
    gaps = [b - a for a, b in pairwise(fires)]
    return sum(gaps, timedelta()) / len(gaps)


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid source declaration"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"  field {where}: {err['msg']}")
    return "\n".join(lines)


# libyaml's safe loader reads the same documents as PyYAML's (the same resolver), 8x faster:
# every DAG task, CLI call and landing child loads the whole catalog.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_source(path: Path) -> Source:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: expected a mapping at the top level")
    try:
        source = Source.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(_format_error(path, exc)) from exc
    if source.id != path.stem:
        raise CatalogError(
            f"{path}: field id: {source.id!r} must match the file name {path.stem!r}"
        )
    return source


def load_catalog(directory: Path = CATALOG_DIR) -> dict[str, Source]:
    """All sources declared in ``directory``, keyed by id, in id order."""
    sources = [load_source(p) for p in sorted(directory.glob("*.yaml"))]
    if not sources:
        raise CatalogError(f"{directory}: no source declarations (*.yaml)")
    return {s.id: s for s in sources}


@cache
def default_catalog() -> dict[str, Source]:
    return load_catalog(CATALOG_DIR)
