"""Access control: pseudonyms and masks, the policy from dbt meta, and department queries.

The query checks run against a real DuckDB serving file with a real policy; the PII scan
runs over every shared mart of a city built by dbt (``built_city`` in conftest).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import macro_project
import pyarrow.parquet as pq
import pytest

from citylake.serving import access, pseudonym
from citylake.serving.access import AccessDenied, AccessPolicyError, build_policy
from citylake.serving.sql_guard import QueryRejected, check_query, run_query
from citylake.settings import Settings

PROJECT = Path(__file__).resolve().parents[1]
DEPARTMENTS = ["data_bureau", "health", "hotline_12345", "public_security", "urban_management"]


# --- pseudonym and masks -------------------------------------------------------------


@pytest.mark.parametrize("key", ["k", "x" * 64, "a much longer key " * 8, "密钥"])
def test_duckdb_pseudonym_is_hmac_sha256(key: str) -> None:
    values = ["11010519491231002X", "张三", "13812345678", "", "9132010" * 3]
    con = duckdb.connect()
    con.execute(pseudonym.duckdb_function_sql(key))
    for value in values:
        got = con.execute(f"select {pseudonym.FUNCTION}(?)", [value]).fetchone()[0]
        assert got == hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
    assert con.execute(f"select {pseudonym.FUNCTION}(null)").fetchone()[0] is None


def test_access_macros_through_dbt_on_duckdb(tmp_path: Path) -> None:
    """pseudonym / mask_name / mask_phone compiled by dbt-duckdb equal the Python reference."""
    import os

    from citylake.warehouse.dbt import dbt_executable

    root = macro_project.make_project(tmp_path / "project")
    key = "macro-test-key"
    env = {
        **os.environ,
        pseudonym.KEY_ENV: key,
        "CITYLAKE_BUILD_DB": str(tmp_path / "macros.duckdb"),
        "DBT_PROFILES_DIR": str(root),
        "DBT_PROJECT_DIR": str(root),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    proc = subprocess.run(
        [dbt_executable(), "run"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    with duckdb.connect(str(tmp_path / "macros.duckdb"), read_only=True) as con:
        got = {
            r[0]: tuple(r[1:])
            for r in con.execute(
                "select id, p, name_masked, phone_masked from main.access_macros"
            ).fetchall()
        }
    assert got == macro_project.expected(key)
    # The key is in no file dbt wrote (compiled SQL, manifest, logs).
    for path in [*(tmp_path / "target").rglob("*"), *(tmp_path / "logs").rglob("*")]:
        if path.is_file():
            assert key not in path.read_text(errors="replace"), path
    assert pseudonym.padded_key(key).ipad.hex() not in proc.stdout


def test_key_generated_for_demo_never_for_prod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(pseudonym.KEY_ENV, raising=False)
    with pytest.raises(pseudonym.PseudonymKeyError, match="production"):
        pseudonym.ensure_key(tmp_path, "prod")
    key = pseudonym.ensure_key(tmp_path, "duckdb")
    path = pseudonym.key_file(tmp_path)
    assert path.read_text().strip() == key and len(key) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert pseudonym.ensure_key(tmp_path, "duckdb") == key  # stable across builds
    monkeypatch.setenv(pseudonym.KEY_ENV, "from-the-secret-store")
    assert pseudonym.ensure_key(tmp_path, "prod") == "from-the-secret-store"


def test_dbt_plugin_refuses_to_connect_without_key(tmp_path: Path) -> None:
    script = tmp_path / "plugin.py"
    script.write_text(
        "from citylake.warehouse.duckdb_plugin import Plugin\n"
        "try:\n"
        "    Plugin(name='p', plugin_config={})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != pseudonym.KEY_ENV}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("PseudonymKeyError") and pseudonym.KEY_ENV in out


# --- the policy from dbt meta --------------------------------------------------------


def node(name: str, schema: str = "marts", columns: tuple[str, ...] = (), **meta: object) -> dict:
    return {
        "resource_type": "model",
        "name": name,
        "alias": name,
        "schema": schema,
        "original_file_path": f"models/{name}.sql",
        "config": {"meta": meta},
        "columns": {c: {"name": c} for c in columns},
    }


def manifest(*nodes: dict) -> dict:
    return {"nodes": {f"model.citylake.{n['name']}": n for n in nodes}}


POLICY_MANIFEST = manifest(
    node("open_t", owner="health", share_class="unconditional", columns=("id", "district")),
    node(
        "cond_t",
        owner="hotline_12345",
        share_class="conditional",
        allowed_departments=["urban_management"],
        pii=["person_key"],
        district_offices="own_rows",
        columns=("id", "person_key", "district_code"),
    ),
    node("secret_t", owner="public_security", share_class="not_shared", columns=("id",)),
    node(
        "filtered_t",
        owner="health",
        share_class="unconditional",
        row_filter={"urban_management": "district = 'a'"},
        columns=("id", "district"),
    ),
    node("raw_ids", schema="restricted", columns=("resident_id",)),
    node("stg_x", schema="staging"),
)


@pytest.fixture(scope="module")
def policy() -> access.AccessPolicy:
    return build_policy(POLICY_MANIFEST, DEPARTMENTS)


def test_policy_readers_follow_share_class(policy: access.AccessPolicy) -> None:
    assert policy.tables["marts.open_t"].readers == DEPARTMENTS
    assert policy.tables["marts.cond_t"].readers == ["hotline_12345", "urban_management"]
    assert policy.tables["marts.secret_t"].readers == ["public_security"]
    assert policy.restricted == ["restricted.raw_ids"]
    assert "staging.stg_x" not in policy.tables
    assert set(policy.readable("health")) == {"marts.open_t", "marts.filtered_t"}
    assert policy.readable("urban_management")["marts.filtered_t"] == "district = 'a'"
    assert policy.readable("health")["marts.filtered_t"] is None
    assert policy.tables["marts.cond_t"].district_offices
    assert not policy.tables["marts.open_t"].district_offices
    roundtrip = access.AccessPolicy.from_json(json.loads(json.dumps(policy.to_json())))
    assert roundtrip.tables == policy.tables


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (node("m", share_class="unconditional"), "meta.owner is missing"),
        (node("m", owner="nobody", share_class="unconditional"), "not a department id"),
        (node("m", owner="health", share_class="public"), "is not one of"),
        (node("m", owner="health", share_class="conditional"), "needs meta.allowed_departments"),
        (
            node("m", owner="health", share_class="unconditional", allowed_departments=["x"]),
            "only applies to conditional",
        ),
        (node("m", owner="health", share_class="not_shared", pii_columns=[]), "unknown meta"),
        (
            node("m", columns=("a",), owner="health", share_class="not_shared", pii=["b"]),
            "does not document",
        ),
        (
            node("m", owner="health", share_class="unconditional", row_filter="id in (select 1)"),
            "may not contain queries",
        ),
        (
            node("m", owner="health", share_class="not_shared", district_offices="all"),
            "must be 'own_rows'",
        ),
        (
            node(
                "m",
                columns=("a",),
                owner="health",
                share_class="not_shared",
                district_offices="own_rows",
            ),
            "needs a documented district_code",
        ),
    ],
)
def test_policy_rejects_bad_meta(bad: dict, message: str) -> None:
    with pytest.raises(AccessPolicyError, match=message) as caught:
        build_policy(manifest(bad), DEPARTMENTS)
    assert "model m (models/m.sql)" in str(caught.value)


# --- department queries --------------------------------------------------------------


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serving") / "serving.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema restricted")
        con.execute(
            "create table marts.open_t as select * from (values (1, 'a'), (2, 'b')) t(id, district)"
        )
        con.execute("create table marts.cond_t as select 1 as id, 'p1' as person_key")
        con.execute("create table marts.secret_t as select 1 as id")
        con.execute(
            "create table marts.filtered_t as select * from (values (1, 'a'), (2, 'b')) t(id, district)"
        )
        con.execute("create table restricted.raw_ids as select '11010519491231002X' as resident_id")
    (tmp_path_factory.getbasetemp() / "probe.csv").write_text("x\n1\n")
    return path


def rows(sql: str, department: str, policy: access.AccessPolicy, serving: Path) -> list:
    return run_query(sql, department, policy, serving)[1]


def test_department_reads_what_it_may(policy: access.AccessPolicy, serving: Path) -> None:
    assert rows("select id from open_t order by id", "health", policy, serving) == [(1,), (2,)]
    # Quoted and mixed-case names resolve the way DuckDB resolves them.
    assert len(rows('select * from "MARTS"."Open_T"', "health", policy, serving)) == 2
    assert len(rows("select * from serving.marts.open_t", "health", policy, serving)) == 2
    # A CTE of the same name as a forbidden table is just a CTE.
    assert rows(
        "with secret_t as (select 7 as id) select id from secret_t", "health", policy, serving
    ) == [(7,)]
    # Joins, subqueries and set operations over readable tables.
    sql = (
        "select o.id from marts.open_t o join (select id from filtered_t) f on o.id = f.id "
        "union all select id from open_t where id in (select id from open_t) order by 1"
    )
    assert rows(sql, "health", policy, serving) == [(1,), (1,), (2,), (2,)]


def test_conditional_table_only_for_named_departments(
    policy: access.AccessPolicy, serving: Path
) -> None:
    assert rows("select id from cond_t", "urban_management", policy, serving) == [(1,)]
    assert rows("select id from cond_t", "hotline_12345", policy, serving) == [(1,)]
    with pytest.raises(
        AccessDenied, match=r"marts\.cond_t is conditional and not readable by department health"
    ):
        check_query("select * from cond_t", "health", policy)


def test_not_shared_table_only_for_its_owner(policy: access.AccessPolicy, serving: Path) -> None:
    assert rows("select id from secret_t", "public_security", policy, serving) == [(1,)]
    for department in ("health", "data_bureau", "urban_management"):
        with pytest.raises(AccessDenied, match="not_shared"):
            check_query("select * from secret_t", department, policy)


def test_row_filter_applies_to_named_department(policy: access.AccessPolicy, serving: Path) -> None:
    sql = "select f.id, district from filtered_t f order by f.id"
    assert rows(sql, "urban_management", policy, serving) == [(1, "a")]
    assert rows(sql, "health", policy, serving) == [(1, "a"), (2, "b")]
    # The filter holds through a CTE, a join and an unaliased schema-qualified reference.
    sql = "with x as (select * from marts.filtered_t) select count(*) from x join open_t using (id)"
    assert rows(sql, "urban_management", policy, serving) == [(1,)]


@pytest.mark.parametrize(
    ("sql", "error", "message"),
    [
        ("select * from open_t; drop table marts.open_t", QueryRejected, "exactly one statement"),
        ("select 1; select * from restricted.raw_ids", QueryRejected, "exactly one statement"),
        ("select * from open_t /* ; */ ; attach 'x.db' as x", QueryRejected, "exactly one"),
        (
            "select * from open_t -- harmless\n union select * from restricted.raw_ids",
            AccessDenied,
            "restricted.raw_ids",
        ),
        (
            "select id, district from open_t union all select resident_id, resident_id from restricted.raw_ids",
            AccessDenied,
            "restricted.raw_ids",
        ),
        (
            "with open_t as (select * from restricted.raw_ids) select * from open_t",
            AccessDenied,
            "restricted.raw_ids",
        ),
        (
            "with a as (select 1) select * from (select * from secret_t) s, a",
            AccessDenied,
            "marts.secret_t",
        ),
        (
            "select * from (with secret_t as (select 1) select * from secret_t) x, secret_t",
            AccessDenied,
            "marts.secret_t",
        ),
        ('select * from "RESTRICTED"."RAW_IDS"', AccessDenied, "restricted.raw_ids"),
        ('select * from "restricted".raw_ids', AccessDenied, "restricted.raw_ids"),
        ("select * from Restricted.Raw_Ids", AccessDenied, "restricted.raw_ids"),
        ("select * from other.marts.open_t", AccessDenied, "not the serving warehouse"),
        ("select * from bronze.hotline_complaints", AccessDenied, "not shared"),
        ("select * from staging.stg_x", AccessDenied, "not shared"),
        ("select * from information_schema.tables", AccessDenied, "not shared"),
        (
            "select * from read_parquet('/tmp/x.parquet')",
            QueryRejected,
            "table functions|read_parquet",
        ),
        ("select * from read_csv('/etc/passwd')", QueryRejected, "read_csv"),
        ("select * from query_table('restricted.raw_ids')", QueryRejected, "query_table"),
        (
            "select * from open_t where id in (select 1 from read_text('/etc/passwd'))",
            QueryRejected,
            "read_text",
        ),
        ("select getenv('HOME')", QueryRejected, "getenv"),
        ("select current_setting('threads')", QueryRejected, "current_setting"),
        ("select * from duckdb_tables()", QueryRejected, "duckdb_tables"),
        ("pragma show_tables", QueryRejected, "only SELECT"),
        ("PRAGMA database_list", QueryRejected, "only SELECT"),
        ("attach '/tmp/x.db' as x", QueryRejected, "only SELECT"),
        ("copy (select * from open_t) to '/tmp/x.csv'", QueryRejected, "only SELECT"),
        ("insert into marts.open_t values (3, 'c')", QueryRejected, "only SELECT"),
        ("create table marts.x as select 1", QueryRejected, "only SELECT"),
        ("install httpfs", QueryRejected, "only SELECT|not valid"),
        ("set enable_external_access = true", QueryRejected, "only SELECT"),
        ("select * into newt from open_t", QueryRejected, "INTO|only SELECT"),
        ("select * from 'restricted_dump.parquet'", AccessDenied, "not shared"),
    ],
)
def test_injection_attempts_are_refused(
    sql: str, error: type[Exception], message: str, policy: access.AccessPolicy
) -> None:
    with pytest.raises(error, match=message):
        check_query(sql, "health", policy)


def test_unknown_department_is_refused(policy: access.AccessPolicy) -> None:
    with pytest.raises(AccessDenied, match="unknown department 'mayor'"):
        check_query("select 1", "mayor", policy)


def test_connection_itself_cannot_read_files(serving: Path) -> None:
    """Defence in depth: even SQL that slipped past the checks cannot reach the filesystem."""
    from citylake.serving.sql_guard import connect_serving

    con = connect_serving(serving)
    try:
        with pytest.raises(duckdb.Error):
            con.execute(f"select * from read_csv('{serving.parent.parent / 'probe.csv'}')")
        with pytest.raises(duckdb.Error):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("create table marts.x as select 1")
    finally:
        con.close()


# --- a built city: no raw identifier in any shared mart -------------------------------


def test_no_raw_identifier_in_any_shared_mart(built_city: Settings) -> None:
    settings = built_city
    policy = access.load_policy(settings.serving_db)
    shared = {n: t for n, t in policy.tables.items() if t.share_class != "not_shared"}
    assert shared, "the built city publishes no shared mart"
    citizens = pq.read_table(settings.truth_root / "citizens.parquet").to_pandas()
    raw = {
        "resident_id": {str(v).upper() for v in citizens["resident_id"].dropna()},
        "name": {str(v) for v in citizens["name"].dropna()},
        "phone": {str(v) for v in citizens["phone"].dropna()},
    }
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    scanned = 0
    try:
        for table in sorted(shared):
            columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
            for column in columns:
                values = {
                    str(r[0]).strip()
                    for r in con.execute(
                        f'select distinct cast("{column}" as varchar) from {table} '
                        f'where "{column}" is not null'
                    ).fetchall()
                }
                scanned += 1
                for kind, truth in raw.items():
                    probe = {v.upper() for v in values} if kind == "resident_id" else values
                    leaked = probe & truth
                    assert not leaked, (
                        f"{table}.{column} holds raw {kind}s, e.g. {sorted(leaked)[:3]}"
                    )
    finally:
        con.close()
    print(f"scanned {scanned} columns of {len(shared)} shared marts")
    assert scanned > 0
