"""Superset roles and row-level security from the access policy (citylake.serving.superset_roles).

Unit tests of the derivation on a hand-made policy, then one real Superset for the module
(temp home, free port) over a small serving DuckDB whose marts are imported as datasets
with a chart each: apply, apply again, take a grant away; log in as demo users and check
what the API, chart data and SQL Lab give each of them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from superset_fixture import Client, running_superset

from citylake.serving import superset
from citylake.serving.access import AccessPolicy, TablePolicy, policy_path
from citylake.serving.superset import ServerInfo
from citylake.serving.superset_roles import (
    DesiredState,
    RlsSpec,
    apply_roles,
    demo_username,
    derive_roles,
)
from citylake.settings import Settings, load_settings

DEPARTMENTS = [
    "administrative_service_center",
    "civil_affairs",
    "data_bureau",
    "emergency_management",
    "hotline_12345",
    "market_supervision",
    "urban_management",
]
DISTRICTS = ["339902", "339903", "339904"]
HIGH = "urgency = 'high'"
ACTIVE = "status = 'active'"


def table(name: str, owner: str, share_class: str, readers: list[str] | None = None,
          row_filters: dict[str, str] | None = None,
          district_offices: bool = False) -> TablePolicy:  # fmt: skip
    readers = readers or (DEPARTMENTS if share_class == "unconditional" else [owner])
    return TablePolicy(f"marts.{name}", owner, share_class, sorted(readers), [],
                       row_filters or {}, district_offices)  # fmt: skip


def make_policy(*, complaint_readers: tuple[str, ...] = ("urban_management",)) -> AccessPolicy:
    """The fixture city's policy: what access.build_policy makes of the marts' meta."""
    licence_filters = {d: ACTIVE for d in DEPARTMENTS if d != "market_supervision"}
    complaint_filters = (
        {"urban_management": HIGH} if "urban_management" in complaint_readers else {}
    )
    tables = [
        table("dim_geography", "civil_affairs", "unconditional"),
        table("fct_center_hourly_arrivals", "administrative_service_center", "unconditional"),
        # The hotline's work orders: district offices handle their own district's.
        table("fct_complaint", "hotline_12345", "conditional",
              ["hotline_12345", "data_bureau", *complaint_readers], complaint_filters,
              district_offices=True),
        table("fct_licence", "market_supervision", "unconditional", row_filters=licence_filters),
        table("fct_source_quality", "data_bureau", "not_shared"),
        table("fct_warning_status", "emergency_management", "unconditional"),
        # In the policy, not served yet (a Spark output): no Superset dataset.
        table("fct_staffing_plan", "data_bureau", "unconditional"),
    ]  # fmt: skip
    return AccessPolicy(DEPARTMENTS, {t.table: t for t in tables})


# The serving DB: table -> (columns, rows). Values are simple so counts are checkable.
URGENCIES = ("high", "low", "low")
STATUSES = ("active", "active", "revoked")
MARTS: dict[str, tuple[dict[str, str], list[tuple[Any, ...]]]] = {
    "dim_geography": (
        {"geography_code": "VARCHAR", "geography_level": "VARCHAR", "district_code": "VARCHAR",
         "district_name": "VARCHAR"},
        [(d, "district", d, f"District {d}") for d in DISTRICTS]
        + [(f"{d}00{s}", "street", d, f"District {d}") for d in DISTRICTS for s in (1, 2)],
    ),
    "fct_center_hourly_arrivals": (
        {"center_id": "VARCHAR", "arrival_hour": "INTEGER", "arrivals": "BIGINT"},
        [(c, h, 3 * h + len(c)) for c in ("C01", "C02") for h in range(8, 14)],
    ),
    "fct_complaint": (
        {"complaint_id": "VARCHAR", "district_code": "VARCHAR", "urgency": "VARCHAR",
         "category": "VARCHAR"},
        [(f"Q{n:03d}", DISTRICTS[n % 3], URGENCIES[n % 7 % 3], "noise") for n in range(40)],
    ),
    "fct_licence": (
        {"licence_no": "VARCHAR", "district_code": "VARCHAR", "status": "VARCHAR"},
        [(f"L{n:03d}", DISTRICTS[n % 3], STATUSES[n % 5 % 3]) for n in range(30)],
    ),
    "fct_source_quality": (
        {"source_id": "VARCHAR", "department": "VARCHAR", "rows_landed": "BIGINT"},
        [(f"src_{n}", DEPARTMENTS[n % 7], 100 * n) for n in range(5)],
    ),
    "fct_warning_status": (
        {"hazard": "VARCHAR", "district_code": "VARCHAR", "active_level": "VARCHAR"},
        [(h, d, "blue") for h in ("rainstorm", "heat", "flood") for d in DISTRICTS],
    ),
}  # fmt: skip
SERVED_MARTS = sorted(MARTS)


def make_serving_db(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    with duckdb.connect(str(tmp)) as con:
        con.execute("CREATE SCHEMA marts")
        for name, (columns, rows) in MARTS.items():
            cols = ", ".join(f"{c} {t}" for c, t in columns.items())
            con.execute(f"CREATE TABLE marts.{name} ({cols})")
            con.executemany(
                f"INSERT INTO marts.{name} VALUES ({', '.join('?' * len(columns))})", rows
            )
    os.replace(tmp, path)
    return path


def count(serving_db: Path, sql: str) -> int:
    with duckdb.connect(str(serving_db), read_only=True) as con:
        return int(con.execute(sql).fetchone()[0])


def make_manifest(target_dir: Path) -> Path:
    """dbt's manifest as the bundle reads it: the served marts and their contract columns."""
    nodes = {
        f"model.citylake.{name}": {
            "resource_type": "model", "schema": "marts", "name": name, "alias": name,
            "columns": {c: {"name": c, "data_type": t.lower()} for c, t in columns.items()},
        }
        for name, (columns, _rows) in MARTS.items()
    }  # fmt: skip
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def make_dashboards_dir(target: Path, repository_dashboards: Path) -> Path:
    """The repository's database definition, plus one dataset and one chart per mart."""
    shutil.copytree(repository_dashboards / "databases", target / "databases")
    (database,) = [yaml.safe_load(p.read_text()) for p in (target / "databases").glob("*.yaml")]
    layout = []
    for n, (name, (columns, _rows)) in enumerate(sorted(MARTS.items()), start=1):
        dataset_uuid, chart_uuid = (
            f"0e5c0000-0000-4000-8000-{n:012d}",
            f"0e5c0000-0000-4000-9000-{n:012d}",
        )
        dataset = {
            "table_name": name, "schema": "marts", "uuid": dataset_uuid,
            "database_uuid": database["uuid"],
            "columns": [{"column_name": c, "type": t, "is_dttm": False, "groupby": True,
                         "filterable": True, "is_active": True} for c, t in columns.items()],
            "metrics": [{"metric_name": "count", "expression": "COUNT(*)"}],
        }  # fmt: skip
        chart = {
            "slice_name": f"Rows of {name}", "viz_type": "big_number_total", "uuid": chart_uuid,
            "dataset_uuid": dataset_uuid, "params": {"metric": "count", "adhoc_filters": []},
            "query_context": {"queries": [{"columns": [], "metrics": ["count"], "filters": []}]},
        }  # fmt: skip
        for kind, config in (("datasets", dataset), ("charts", chart)):
            (target / kind).mkdir(exist_ok=True)
            (target / kind / f"{name}.yaml").write_text(yaml.safe_dump(config))
        layout.append([{"chart": name, "width": 4, "height": 30}])
    dashboard = {"dashboard_title": "Roles fixture", "slug": "roles-fixture",
                 "uuid": "0e5c0000-0000-4000-a000-000000000001", "published": True,
                 "layout": layout}  # fmt: skip
    (target / "dashboards").mkdir()
    (target / "dashboards" / "roles_fixture.yaml").write_text(yaml.safe_dump(dashboard))
    return target


# --- derivation (no Superset) ---------------------------------------------------------

COLUMNS = {name: set(columns) for name, (columns, _rows) in MARTS.items()}
ALL_DEPARTMENTS_READ = ["dim_geography", "fct_center_hourly_arrivals", "fct_licence",
                        "fct_staffing_plan", "fct_warning_status"]  # fmt: skip


def derive(policy: AccessPolicy | None = None, districts: list[str] = DISTRICTS) -> DesiredState:
    return derive_roles(policy or make_policy(), districts, COLUMNS)


def test_department_roles_follow_the_share_classes() -> None:
    state = derive()
    assert sorted(r for r in state.roles if r.startswith("dept_")) == [
        f"dept_{d}" for d in DEPARTMENTS
    ]
    marts = {name: list(role.marts) for name, role in state.roles.items()}
    assert marts["dept_civil_affairs"] == ALL_DEPARTMENTS_READ  # no conditional, no not_shared
    # Conditional: the owner and the departments named; not_shared: the owner only.
    assert marts["dept_urban_management"] == sorted([*ALL_DEPARTMENTS_READ, "fct_complaint"])
    assert marts["dept_hotline_12345"] == sorted([*ALL_DEPARTMENTS_READ, "fct_complaint"])
    assert marts["dept_data_bureau"] == sorted(
        [*ALL_DEPARTMENTS_READ, "fct_complaint", "fct_source_quality"]
    )
    assert all(state.roles[f"dept_{d}"].sqllab for d in DEPARTMENTS)
    assert state.warnings == []


def test_row_filters_become_rls_filters_of_the_readers_only() -> None:
    state = derive()
    complaint = state.filters["citylake:dept_urban_management:fct_complaint"]
    assert complaint == RlsSpec(complaint.name, "dept_urban_management", HIGH, ("fct_complaint",))
    # A string row_filter applies to every reader but the owner.
    licence = {f.role for f in state.filters.values() if f.marts == ("fct_licence",)}
    others = {f"dept_{d}" for d in DEPARTMENTS if d != "market_supervision"}
    assert licence == others | {f"district_{d}" for d in DISTRICTS}
    assert {f.clause for f in state.filters.values() if f.marts == ("fct_licence",)} == {ACTIVE}
    assert not any(f.role == "dept_hotline_12345" and "fct_complaint" in f.marts
                   for f in state.filters.values())  # fmt: skip
    assert all(name.startswith("citylake:") for name in state.filters)


def test_district_offices_read_shared_marts_with_a_district_code() -> None:
    state = derive(districts=[*DISTRICTS, "33'; drop table x; --"])
    assert sorted(r for r in state.roles if r.startswith("district_")) == [
        f"district_{d}" for d in DISTRICTS
    ]
    assert any("not a plain code" in w for w in state.warnings)
    for code in DISTRICTS:
        role = state.roles[f"district_{code}"]
        # fct_complaint is conditional but opened to district offices (their own rows);
        # fct_center_hourly_arrivals has no district_code.
        assert role.marts == ("dim_geography", "fct_complaint", "fct_licence",
                              "fct_warning_status")  # fmt: skip
        assert not role.sqllab
        local = state.filters[f"citylake:district_{code}"]
        assert (local.clause, local.marts) == (f"district_code = '{code}'", role.marts)


def test_planner_emergency_manager_and_data_engineer() -> None:
    policy = make_policy()
    extra = [
        table("fct_center_appointments", "administrative_service_center", "conditional",
              ["administrative_service_center", "data_bureau"]),
        # Unconditional, but each department gets a different filter: no rule for outsiders.
        table("fct_sensor_reading_hourly", "emergency_management", "unconditional",
              row_filters={d: f"station_id = '{d}'" for d in DEPARTMENTS
                           if d != "emergency_management"}),
    ]  # fmt: skip
    policy.tables.update({t.table: t for t in extra})
    state = derive(policy)
    assert state.roles["Planner"].marts == ("fct_center_hourly_arrivals", "fct_staffing_plan")
    assert state.roles["EmergencyManager"].marts == ("dim_geography", "fct_warning_status")
    assert not state.roles["Planner"].sqllab and not state.roles["EmergencyManager"].sqllab
    assert sorted(state.warnings) == [
        "EmergencyManager: marts.fct_sensor_reading_hourly is not shared with every department "
        "alike (unconditional); not granted",
        "Planner: marts.fct_center_appointments is not shared with every department alike "
        "(conditional); not granted",
    ]
    engineer = state.roles["DataEngineer"]
    assert engineer.marts == tuple(sorted(t.split(".")[1] for t in policy.tables))
    assert engineer.sqllab
    assert not [f for f in state.filters.values() if f.role in ("Planner", "DataEngineer")]


def test_a_grant_taken_away_disappears_from_the_derivation() -> None:
    state = derive(make_policy(complaint_readers=()))
    assert "fct_complaint" not in state.roles["dept_urban_management"].marts
    assert "citylake:dept_urban_management:fct_complaint" not in state.filters


# --- a real Superset ------------------------------------------------------------------

pytestmark = pytest.mark.timeout(600)

PASSWORD = "demo-roles-test"
FORBIDDEN_PERMISSIONS = {"database_access", "schema_access", "catalog_access",
                         "all_datasource_access", "all_database_access"}  # fmt: skip
# What each demo user may read through charts: mart -> SQL predicate (None: every row).
URBAN = {"dim_geography": None, "fct_center_hourly_arrivals": None, "fct_complaint": HIGH,
         "fct_licence": ACTIVE, "fct_warning_status": None}  # fmt: skip
SEES = {
    "dept_urban_management": URBAN,
    "dept_civil_affairs": {m: f for m, f in URBAN.items() if m != "fct_complaint"},
    "Planner": {"fct_center_hourly_arrivals": None},
    "district_339902": {
        "dim_geography": "district_code = '339902'",
        "fct_complaint": "district_code = '339902'",
        "fct_licence": f"{ACTIVE} and district_code = '339902'",
        "fct_warning_status": "district_code = '339902'",
    },
    "DataEngineer": dict.fromkeys(MARTS),
}
COUNT = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, ServerInfo]]:
    """Superset with the fixture marts imported, RLS_IN_SQLLAB on (as env, for this start)."""
    home, warehouse = tmp_path_factory.mktemp("roles_home"), tmp_path_factory.mktemp("roles_wh")
    serving = make_serving_db(warehouse / "serving.duckdb")
    policy_path(serving).write_text(json.dumps(make_policy().to_json()))
    make_manifest(home / "dbt" / "target")
    dashboards = make_dashboards_dir(
        tmp_path_factory.mktemp("roles_dash"), load_settings().dashboards_dir
    )
    env = {"SUPERSET_FEATURE_RLS_IN_SQLLAB": "true"}
    with running_superset(home, warehouse, dashboards, env) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: tuple[Settings, ServerInfo]) -> Client:
    settings, info = server
    return Client(info.url, settings.admin_user, settings.admin_password)


def ids(admin: Client) -> tuple[dict[str, int], int]:
    """Dataset ids by mart, and the serving database's id."""
    datasets = admin.get("/api/v1/dataset/?q=(columns:!(id,table_name),page_size:100)")
    (database,) = admin.get("/api/v1/database/?q=(page_size:100)")["result"]
    return {d["table_name"]: d["id"] for d in datasets["result"]}, database["id"]


def user(server: tuple[Settings, ServerInfo], role: str) -> Client:
    return Client(server[1].url, demo_username(role), PASSWORD)


def chart_count(client: Client, dataset_id: int) -> tuple[int, Any]:
    body = {"datasource": {"id": dataset_id, "type": "table"}, "result_type": "full",
            "result_format": "json", "queries": [{"metrics": [COUNT], "columns": []}]}  # fmt: skip
    status, answer = client.call("POST", "/api/v1/chart/data", body)
    return status, answer["result"][0]["data"][0]["n"] if status == 200 else answer


def sql_lab(client: Client, database_id: int, sql: str) -> tuple[int, Any]:
    body = {"database_id": database_id, "sql": sql, "schema": "marts", "runAsync": False,
            "client_id": uuid.uuid4().hex[:10]}  # fmt: skip
    return client.call("POST", "/api/v1/sqllab/execute/", body)


def expected_count(settings: Settings, mart: str, predicate: str | None) -> int:
    where = f" where {predicate}" if predicate else ""
    return count(settings.serving_db, f"select count(*) from marts.{mart}{where}")


@pytest.mark.slow
def test_apply_creates_roles_filters_and_users_then_changes_nothing(
    server: tuple[Settings, ServerInfo], admin: Client
) -> None:
    settings, _info = server
    assert apply_roles(settings, dry_run=True).changed  # nothing there yet
    assert admin.get("/api/v1/rowlevelsecurity/?q=(page_size:100)")["count"] == 0
    began = time.monotonic()
    first = apply_roles(settings, users="demo", demo_password=PASSWORD)
    print(f"first apply {time.monotonic() - began:.1f} s")
    assert first.changed and first.demo_password == PASSWORD
    assert all("created" in o.changes for o in first.roles)
    assert (
        "marts.fct_staffing_plan has no Superset dataset yet: not granted to anyone"
        in first.warnings
    )

    # A filter someone made by hand is not citylake's: left alone.
    dataset_ids, _db = ids(admin)
    manual = {"name": "hand-made", "filter_type": "Regular", "clause": "1 = 1", "roles": [],
              "tables": [dataset_ids["fct_licence"]]}  # fmt: skip
    assert admin.call("POST", "/api/v1/rowlevelsecurity/", manual)[0] == 201
    began = time.monotonic()
    second = apply_roles(settings, users="demo")
    print(f"second apply {time.monotonic() - began:.1f} s")
    assert not second.changed, [(o.role, o.changes) for o in second.roles if o.changes]
    assert second.demo_password is None and second.removed == []
    filters = admin.get("/api/v1/rowlevelsecurity/?q=(page_size:100)")["result"]
    desired = derive_roles(make_policy(), DISTRICTS, COLUMNS)
    assert sorted(f["name"] for f in filters) == sorted([*desired.filters, "hand-made"])

    roles = {
        r["name"]: r["id"] for r in admin.get("/api/v1/security/roles/?q=(page_size:100)")["result"]
    }
    for name, spec in desired.roles.items():
        perms = admin.get(f"/api/v1/security/roles/{roles[name]}/permissions/")["result"]
        names = {p["permission_name"] for p in perms}
        assert not names & FORBIDDEN_PERMISSIONS, name
        readable = {p["view_menu_name"].split("].[")[1].split("]")[0] for p in perms
                    if p["permission_name"] == "datasource_access"}  # fmt: skip
        assert readable == set(spec.marts) - {"fct_staffing_plan"}, name
        assert (("can_execute_sql_query", "SQLLab") in {
            (p["permission_name"], p["view_menu_name"]) for p in perms}) is spec.sqllab  # fmt: skip
        assert ("can_read", "Dashboard") in {
            (p["permission_name"], p["view_menu_name"]) for p in perms
        }


@pytest.mark.slow
def test_cli_prints_the_roles_and_no_change(
    server: tuple[Settings, ServerInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from citylake.cli.main import app

    settings, info = server
    monkeypatch.setenv("CITYLAKE_HOME", str(settings.home))
    monkeypatch.setenv("CITYLAKE_WAREHOUSE_DIR", str(settings.warehouse_dir))
    monkeypatch.setenv("CITYLAKE_SUPERSET_PORT", str(info.port))
    monkeypatch.setenv("COLUMNS", "160")
    for name in ("CITYLAKE_SUPERSET_HOME", "CITYLAKE_SUPERSET_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["dashboards", "roles", "--dry-run", "--users", "demo"])
    assert result.exit_code == 0, result.output
    for role in ("dept_urban_management", "district_339903", "Planner", "DataEngineer"):
        assert role in result.output
    assert "Superset roles (dry run)" in result.output and "no changes" in result.output
    assert "fct_staffing_plan has no Superset dataset yet" in result.output


@pytest.mark.slow
def test_each_user_lists_only_its_datasets_and_charts(server: tuple[Settings, ServerInfo]) -> None:
    for role, marts in SEES.items():
        client = user(server, role)
        datasets = client.get("/api/v1/dataset/?q=(columns:!(id,table_name),page_size:100)")
        assert sorted(d["table_name"] for d in datasets["result"]) == sorted(marts), role
        charts = client.get("/api/v1/chart/?q=(columns:!(slice_name),page_size:100)")
        assert sorted(c["slice_name"] for c in charts["result"]) == [
            f"Rows of {m}" for m in sorted(marts)
        ]
        if role != "DataEngineer":
            assert client.call("GET", "/api/v1/rowlevelsecurity/")[0] == 403
            assert client.call("GET", "/api/v1/security/roles/")[0] == 403


@pytest.mark.slow
def test_chart_data_is_refused_or_filtered(
    server: tuple[Settings, ServerInfo], admin: Client
) -> None:
    settings, _info = server
    dataset_ids, _db = ids(admin)
    for role, marts in SEES.items():
        client = user(server, role)
        for mart, dataset_id in dataset_ids.items():
            status, answer = chart_count(client, dataset_id)
            if mart in marts:
                assert (status, answer) == (200, expected_count(settings, mart, marts[mart])), (
                    role,
                    mart,
                )
            else:
                assert status in (403, 404), (role, mart, status, answer)
                assert (
                    "DATASOURCE_SECURITY_ACCESS_ERROR" in json.dumps(answer)
                    and "data" not in answer
                )
    # The filters really cut rows (the fixture is made so they do).
    assert expected_count(settings, "fct_complaint", HIGH) < expected_count(
        settings, "fct_complaint", None
    )


@pytest.mark.slow
def test_sql_lab_reads_allowed_tables_only_filtered_and_never_writes(
    server: tuple[Settings, ServerInfo], admin: Client
) -> None:
    settings, _info = server
    _ids, database_id = ids(admin)
    urban = user(server, "dept_urban_management")

    def n(client: Client, sql: str) -> int:
        status, answer = sql_lab(client, database_id, sql)
        assert status == 200, (sql, status, answer)
        return int(answer["data"][0]["n"])

    # RLS applies in SQL Lab too (RLS_IN_SQLLAB): only the urgent complaints.
    assert n(urban, "select count(*) as n from marts.fct_complaint") == expected_count(
        settings, "fct_complaint", HIGH
    )
    refused = [
        "select count(*) as n from marts.fct_source_quality",  # not_shared, not its own
        "select count(*) as n from query_table('marts.fct_source_quality')",  # table function
        "select count(*) as n from serving.marts.fct_source_quality",  # catalog-qualified
        "with x as (select * from marts.fct_source_quality) select count(*) as n from x",
    ]
    for sql in refused:
        status, answer = sql_lab(urban, database_id, sql)
        assert status >= 400 and "data" not in answer, (sql, status, answer)
        assert "TABLE_SECURITY_ACCESS_ERROR" in json.dumps(answer), (sql, answer)
    status, answer = sql_lab(urban, database_id, "delete from marts.fct_complaint")
    assert status >= 400 and "DML_NOT_ALLOWED_ERROR" in json.dumps(answer), answer
    status, answer = sql_lab(urban, database_id, "select * from read_csv('/etc/hostname')")
    assert status >= 400 and "data" not in answer, answer
    assert expected_count(settings, "fct_complaint", None) == 40  # nothing was deleted

    engineer = user(server, "DataEngineer")
    assert n(engineer, "select count(*) as n from marts.fct_source_quality") == len(
        MARTS["fct_source_quality"][1]
    )
    for role in ("Planner", "district_339902"):  # dashboards only, no SQL Lab
        status, _answer = sql_lab(user(server, role), database_id, "select 1 as n")
        assert status == 403, role


@pytest.mark.slow
def test_a_grant_removed_from_the_policy_disappears(
    server: tuple[Settings, ServerInfo], admin: Client
) -> None:
    settings, _info = server
    dataset_ids, _db = ids(admin)
    policy_file = policy_path(settings.serving_db)
    policy_file.write_text(json.dumps(make_policy(complaint_readers=()).to_json()))
    try:
        report = apply_roles(settings)
        changed = {o.role: o.changes for o in report.roles if o.changes}
        assert changed == {"dept_urban_management": ["permissions +0 -1"]}
        assert report.removed == ["RLS citylake:dept_urban_management:fct_complaint deleted"]
        urban = user(server, "dept_urban_management")
        datasets = urban.get("/api/v1/dataset/?q=(columns:!(table_name),page_size:100)")
        assert "fct_complaint" not in {d["table_name"] for d in datasets["result"]}
        assert chart_count(urban, dataset_ids["fct_complaint"])[0] == 403
        assert not apply_roles(settings).changed
    finally:
        policy_file.write_text(json.dumps(make_policy().to_json()))
    assert apply_roles(settings).changed  # back, for the tests after this one
    assert chart_count(urban, dataset_ids["fct_complaint"]) == (
        200,
        expected_count(settings, "fct_complaint", HIGH),
    )


@pytest.mark.slow
def test_without_rls_in_sql_lab_filtered_roles_lose_sql_lab(
    server: tuple[Settings, ServerInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Superset skips RLS in SQL Lab unless RLS_IN_SQLLAB is on: then a role with row
    filters must not have SQL Lab at all (its analysts would read unfiltered rows)."""
    settings, _info = server
    superset.stop(settings)
    monkeypatch.setenv("SUPERSET_FEATURE_RLS_IN_SQLLAB", "false")
    info = superset.start(settings)  # this time without RLS in SQL Lab
    report = apply_roles(settings)
    sqllab = {o.role: o.sqllab for o in report.roles}
    assert not sqllab["dept_urban_management"] and not sqllab["dept_civil_affairs"]
    assert sqllab["dept_market_supervision"] and sqllab["DataEngineer"]  # no filters
    assert any("RLS_IN_SQLLAB" in w for w in report.warnings)
    _ids, database_id = ids(Client(info.url, settings.admin_user, settings.admin_password))
    status, _answer = sql_lab(user(server, "dept_urban_management"), database_id, "select 1 as n")
    assert status == 403
    status, answer = sql_lab(user(server, "dept_market_supervision"), database_id,
                             "select count(*) as n from marts.fct_licence")  # fmt: skip
    assert status == 200 and answer["data"] == [{"n": 30}]
