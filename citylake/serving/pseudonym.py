"""The pseudonymization key and the SQL function that applies it, on DuckDB and on Spark.

A pseudonym is HMAC-SHA256(key, normalized value), hex. The key comes from the
environment (``CITYLAKE_PSEUDONYM_KEY``) and never enters the repository, dbt's compiled
SQL, the manifest or the docs: dbt models call ``citylake_pseudonym(value)`` (macro
``pseudonym``), a session-level function that each engine defines when it connects
(DuckDB: a temporary macro created by the dbt-duckdb plugin ``citylake.warehouse.duckdb_plugin``;
Spark: a temporary SQL function created by ``citylake.warehouse.spark_target``). Neither engine has an
HMAC function, so the function is the textbook construction on each engine's SHA-256:
``sha256((K ^ opad) || sha256((K ^ ipad) || m))`` with the padded keys computed here.

Without a key the demo/test home gets a generated one (``<home>/secrets/pseudonym.key``,
logged); a production target never generates one: a new key would change every pseudonym
and break joins with earlier publications.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from citylake.settings import PSEUDONYM_KEY_ENV, load_settings

log = logging.getLogger(__name__)

KEY_ENV = PSEUDONYM_KEY_ENV
FUNCTION = "citylake_pseudonym"
PRODUCTION_TARGETS = frozenset({"prod"})
_BLOCK = 64  # SHA-256 block size in bytes


class PseudonymKeyError(RuntimeError):
    """No pseudonymization key where one is required."""


@dataclass(frozen=True)
class PaddedKey:
    ipad: bytes
    opad: bytes


def padded_key(key: str) -> PaddedKey:
    """RFC 2104 inner/outer keys for ``key`` (its UTF-8 bytes)."""
    raw = key.encode("utf-8")
    if len(raw) > _BLOCK:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(_BLOCK, b"\0")
    return PaddedKey(ipad=bytes(b ^ 0x36 for b in raw), opad=bytes(b ^ 0x5C for b in raw))


def pseudonym(key: str, value: str) -> str:
    """The reference implementation (Python's hmac) the SQL functions must agree with."""
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def key_file(home: Path) -> Path:
    return home / "secrets" / "pseudonym.key"


def ensure_key(home: Path, target: str) -> str:
    """The key for a dbt run: the environment's, else (not in production) the home's.

    Generates ``<home>/secrets/pseudonym.key`` (mode 600) on first use and says so.
    """
    key = load_settings().pseudonym_key
    if key:
        return key
    if target in PRODUCTION_TARGETS:
        raise PseudonymKeyError(
            f"{KEY_ENV} is not set: target {target!r} is a production target, which never "
            "generates a key (a new key changes every pseudonym). Set it from the secret store."
        )
    path = key_file(home)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.warning("%s not set: generated a demo key into %s", KEY_ENV, path)
    return key


def key_from_env() -> str:
    key = load_settings().pseudonym_key
    if not key:
        raise PseudonymKeyError(
            f"{KEY_ENV} is not set: the warehouse cannot pseudonymize identifiers. "
            "Run dbt through citylake (`citylake build`), which provides the key, or export it."
        )
    return key


def duckdb_function_sql(key: str) -> str:
    """A DuckDB temporary macro computing the pseudonym (connection-scoped, like the key)."""
    pad = padded_key(key)
    return (
        f"create or replace temp macro {FUNCTION}(v) as "
        f"case when v is null then null else lower(sha256(unhex('{pad.opad.hex()}') || "
        f"unhex(sha256(unhex('{pad.ipad.hex()}') || encode(cast(v as varchar)))))) end"
    )


def spark_function_sql(key: str) -> str:
    """The same function as a Spark temporary SQL function."""
    pad = padded_key(key)
    return (
        f"create or replace temporary function {FUNCTION}(v string) returns string return "
        f"case when v is null then null else sha2(concat(unhex('{pad.opad.hex()}'), "
        f"unhex(sha2(concat(unhex('{pad.ipad.hex()}'), encode(v, 'UTF-8')), 256))), 256) end"
    )
