"""Superset roles and row-level security derived from the marts' access policy.

``derive_roles`` (pure) turns ``access_policy.json`` and the districts of
``marts.dim_geography`` into roles: ``dept_<department>`` (the marts the policy lets it
read, its row filters as RLS filters, SQL Lab on exactly those tables), ``district_<code>``
(unconditionally shared marts with ``district_code`` and the marts whose meta says
``district_offices: own_rows``, filtered to the district),
``Planner`` and ``EmergencyManager`` (the unconditionally shared marts of their trade) and
``DataEngineer`` (every served mart, SQL Lab). Each starts from Superset's ``Gamma`` (log
in, dashboards, charts); SQL Lab roles add its ``sql_lab`` set. Data access is only ever
``datasource_access`` per dataset, which SQL Lab also checks per table: never
``database_access``/``schema_access``/``all_datasource_access``.

``converge`` makes Superset match through the REST API: permissions set exactly, RLS
filters named ``citylake:...`` created/updated/deleted (others left alone); roles named
``dept_*``, ``district_*``, Planner, EmergencyManager, DataEngineer belong to citylake.
Idempotent; a mart without a Superset dataset yet is a warning. ``apply_roles`` is the step.
"""

from __future__ import annotations

import fnmatch
import html
import http.cookiejar
import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citylake.serving.access import DISTRICT_COLUMN, AccessPolicy, TablePolicy, load_policy
from citylake.serving.superset import SupersetError
from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

SCHEMA = "marts"
DEPARTMENT_PREFIX, DISTRICT_PREFIX = "dept_", "district_"
PLANNER, EMERGENCY_MANAGER, DATA_ENGINEER = "Planner", "EmergencyManager", "DataEngineer"
# Marts (fnmatch patterns) of the function roles; DataEngineer reads everything served.
PLANNER_MARTS = ("dim_service_center", "dim_matter", "agg_center_*", "fct_center_*",
                 "fct_counter_demand_*", "fct_staffing_*", "fct_service_*")  # fmt: skip
EMERGENCY_MARTS = ("fct_warning_*", "fct_sensor_*", "fct_rain_*", "dim_sensor_station",
                   "dim_geography")  # fmt: skip
RLS_PREFIX = "citylake:"
DEMO_USER_PREFIX = "demo_"
BASE_ROLE, SQLLAB_ROLE = "Gamma", "sql_lab"
# Gamma in Superset 6.1 also holds these, which Superset itself calls admin-only (the user
# registrations API; the shells of the admin pages for users, roles and RLS): left out.
NOT_FROM_GAMMA_VIEWS = {"UserRegistrationsRestAPI"}
NOT_FROM_GAMMA = {("can_read", "security"), ("can_read", "RowLevelSecurity")}
_SAFE_CODE = re.compile(r"[0-9A-Za-z_-]+")


@dataclass(frozen=True)
class RoleSpec:
    name: str
    kind: str  # department | district | function
    marts: tuple[str, ...]  # table names in schema marts
    sqllab: bool


@dataclass(frozen=True)
class RlsSpec:
    name: str  # citylake:<role>[:<mart>]
    role: str
    clause: str
    marts: tuple[str, ...]


@dataclass
class DesiredState:
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    filters: dict[str, RlsSpec] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, name: str, kind: str, grants: Mapping[str, str | None], sqllab: bool) -> None:
        """A role reading ``grants`` (mart -> policy row filter or None)."""
        self.roles[name] = RoleSpec(name, kind, tuple(sorted(grants)), sqllab)
        for mart, clause in sorted(grants.items()):
            if clause:
                spec = RlsSpec(f"{RLS_PREFIX}{name}:{mart}", name, clause, (mart,))
                self.filters[spec.name] = spec


def _outsider_filter(table: TablePolicy) -> tuple[bool, str | None]:
    """May a role outside the departments (district office, planner, emergency manager)
    read ``table``, and under which row filter? Only unconditional marts, and only when
    every non-owner department gets the same filter (or none)."""
    if table.share_class != "unconditional" or not table.row_filters:
        return table.share_class == "unconditional", None
    clauses = {table.row_filters.get(d) for d in table.readers if d != table.owner}
    return (True, clauses.pop()) if len(clauses) == 1 and None not in clauses else (False, None)


def derive_roles(
    policy: AccessPolicy, districts: Iterable[str], columns: Mapping[str, Collection[str]]
) -> DesiredState:
    """The roles and RLS filters citylake wants in Superset (no I/O).

    ``districts``: district codes (``marts.dim_geography``); ``columns``: mart -> its
    column names in the serving DB (which marts have ``district_code``).
    """
    state = DesiredState()
    marts = {name.split(".", 1)[1]: t for name, t in policy.tables.items()
             if name.split(".", 1)[0] == SCHEMA}  # fmt: skip
    for department in policy.departments:
        grants = {m: t.row_filters.get(department) for m, t in marts.items()
                  if department in t.readers}  # fmt: skip
        state.add(f"{DEPARTMENT_PREFIX}{department}", "department", grants, sqllab=True)

    outsiders = {m: _outsider_filter(t) for m, t in marts.items()}
    for role, patterns in ((PLANNER, PLANNER_MARTS), (EMERGENCY_MANAGER, EMERGENCY_MARTS)):
        matched = [m for m in marts if any(fnmatch.fnmatchcase(m, p) for p in patterns)]
        grants = {m: outsiders[m][1] for m in matched if outsiders[m][0]}
        for mart in sorted(set(matched) - set(grants)):
            state.warnings.append(
                f"{role}: {SCHEMA}.{mart} is not shared with every department alike "
                f"({marts[mart].share_class}); not granted"
            )
        state.add(role, "function", grants, sqllab=False)
    state.add(DATA_ENGINEER, "function", dict.fromkeys(marts), sqllab=True)

    # Marts opened to district offices by their meta: the district filter below is the whole
    # restriction, unless the mart is also shared under a filter (then both apply).
    local: dict[str, str | None] = {
        m: None for m, t in marts.items()
        if t.district_offices and DISTRICT_COLUMN in columns.get(m, ())}  # fmt: skip
    local |= {m: rf for m, (ok, rf) in outsiders.items()
              if ok and DISTRICT_COLUMN in columns.get(m, ())}  # fmt: skip
    for code in sorted(set(districts)):
        if not _SAFE_CODE.fullmatch(code):
            state.warnings.append(f"district code {code!r} is not a plain code; no role made")
            continue
        name = f"{DISTRICT_PREFIX}{code}"
        state.add(name, "district", local, sqllab=False)
        if local:
            clause = f"{DISTRICT_COLUMN} = '{code}'"
            state.filters[RLS_PREFIX + name] = RlsSpec(
                RLS_PREFIX + name, name, clause, tuple(sorted(local))
            )
    return state


def read_serving(serving_db: Path) -> tuple[list[str], dict[str, set[str]]]:
    """(district codes from marts.dim_geography, mart -> column names) of the serving DB."""
    import duckdb

    with duckdb.connect(str(serving_db), read_only=True) as con:
        columns: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?",
            [SCHEMA],
        ).fetchall():
            columns.setdefault(table, set()).add(column)
        districts: list[str] = []
        if DISTRICT_COLUMN in columns.get("dim_geography", ()):
            districts = [row[0] for row in con.execute(
                f"select distinct {DISTRICT_COLUMN} from {SCHEMA}.dim_geography "
                f"where {DISTRICT_COLUMN} is not null order by 1"
            ).fetchall()]  # fmt: skip
    return districts, columns


class SupersetApi:
    """Superset's REST API as one user: bearer token, session cookie, CSRF token, Referer."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base = base_url.rstrip("/")
        jar = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(jar)
        self.headers: dict[str, str] = {}
        login = {"username": username, "password": password, "provider": "db", "refresh": False}
        token = self.call("POST", "/api/v1/security/login", login)["access_token"]
        self.headers["Authorization"] = f"Bearer {token}"
        csrf = self.call("GET", "/api/v1/security/csrf_token/")["result"]
        self.headers.update({"X-CSRFToken": csrf, "Referer": self.base + "/"})

    def call(self, method: str, path: str, body: Any = None, *, raw: bool = False) -> Any:
        request = urllib.request.Request(self.base + path, method=method, headers=self.headers)
        if body is not None:
            request.data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=120) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise SupersetError(f"Superset {method} {path}: HTTP {exc.code}: {detail}") from exc
        except urllib.error.URLError as exc:
            raise SupersetError(f"Superset at {self.base} unreachable: {exc.reason}") from exc
        return text if raw else json.loads(text) if text.strip() else {}

    def rows(self, path: str, columns: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Every row of a list endpoint (paged)."""
        cols = f"columns:!({','.join(columns)})," if columns else ""
        found: list[dict[str, Any]] = []
        for number in range(10_000):
            page = self.call("GET", f"{path}?q=({cols}page:{number},page_size:100)")
            found += page["result"]
            if not page["result"] or len(found) >= page["count"]:
                break
        return found

    def feature_flags(self) -> dict[str, bool]:
        """The server's feature flags, from the bootstrap data of its login page."""
        page = self.call("GET", "/login/", raw=True)
        match = re.search(r'data-bootstrap="([^"]*)"', page)
        data = json.loads(html.unescape(match.group(1))) if match else {}
        return dict(data.get("common", {}).get("feature_flags", {}))


@dataclass
class RoleOutcome:
    role: str
    kind: str
    datasets: int
    rls_filters: int
    sqllab: bool
    changes: list[str] = field(default_factory=list)


@dataclass
class RolesReport:
    roles: list[RoleOutcome]
    removed: list[str]  # citylake RLS filters deleted, stale roles emptied
    warnings: list[str]
    dry_run: bool = False
    demo_password: str | None = None  # set when demo users were created in this run

    @property
    def changed(self) -> bool:
        return bool(self.removed or any(r.changes for r in self.roles))


def _datasets(api: SupersetApi) -> dict[str, list[tuple[int, str]]]:
    """Physical datasets in schema marts: table -> [(dataset id, datasource perm)]."""
    found: dict[str, list[tuple[int, str]]] = {}
    columns = ("id", "table_name", "schema", "kind", "sql", "database.database_name")
    for row in api.rows("/api/v1/dataset/", columns):
        if row["schema"] == SCHEMA and row["kind"] == "physical" and not row.get("sql"):
            perm = f"[{row['database']['database_name']}].[{row['table_name']}](id:{row['id']})"
            found.setdefault(row["table_name"], []).append((row["id"], perm))
    return found


def _role_permissions(api: SupersetApi, role_id: int) -> dict[tuple[str, str], int]:
    rows = api.call("GET", f"/api/v1/security/roles/{role_id}/permissions/")["result"]
    return {(p["permission_name"], p["view_menu_name"]): p["id"] for p in rows}


def converge(
    api: SupersetApi,
    desired: DesiredState,
    *,
    dry_run: bool = False,
    users: str = "none",
    demo_password: str | None = None,
) -> RolesReport:
    """Make Superset's roles, permissions and citylake RLS filters match ``desired``;
    ``users="demo"`` also makes one demo user per role."""
    if users not in ("none", "demo"):
        raise ValueError(f"users must be 'none' or 'demo', not {users!r}")
    warnings = list(desired.warnings)
    datasets = _datasets(api)
    for mart in sorted({m for r in desired.roles.values() for m in r.marts} - set(datasets)):
        warnings.append(f"{SCHEMA}.{mart} has no Superset dataset yet: not granted to anyone")
    pvms = {(p["permission"]["name"], p["view_menu"]["name"]): p["id"]
            for p in api.rows("/api/v1/security/permissions-resources/")}  # fmt: skip
    roles = {r["name"]: r["id"] for r in api.rows("/api/v1/security/roles/")}
    if missing := {BASE_ROLE, SQLLAB_ROLE} - set(roles):
        raise SupersetError(f"Superset lacks the roles {sorted(missing)}: run `superset init`")
    base = {pv: i for pv, i in _role_permissions(api, roles[BASE_ROLE]).items()
            if pv not in NOT_FROM_GAMMA and pv[1] not in NOT_FROM_GAMMA_VIEWS}  # fmt: skip
    sqllab = _role_permissions(api, roles[SQLLAB_ROLE])
    rls_in_sqllab = bool(api.feature_flags().get("RLS_IN_SQLLAB"))
    filtered_roles = {f.role for f in desired.filters.values()}

    outcomes: dict[str, RoleOutcome] = {}
    wanted: dict[str, set[int]] = {}
    for spec in desired.roles.values():
        perms = set(base.values())
        granted = [ds for m in spec.marts for ds in datasets.get(m, [])]
        for _id, perm in granted:
            if ("datasource_access", perm) in pvms:
                perms.add(pvms[("datasource_access", perm)])
            else:
                warnings.append(f"{spec.name}: Superset has no datasource_access on {perm}")
        use_sqllab = spec.sqllab and (rls_in_sqllab or spec.name not in filtered_roles)
        if spec.sqllab and not use_sqllab:
            warnings.append(f"{spec.name}: no SQL Lab, its row filters would not apply there "
                            "(enable Superset's RLS_IN_SQLLAB feature flag)")  # fmt: skip
        perms |= set(sqllab.values()) if use_sqllab else set()
        wanted[spec.name] = perms
        outcomes[spec.name] = RoleOutcome(spec.name, spec.kind, len(granted), 0, use_sqllab)

    for name in sorted(set(desired.roles) - set(roles)):
        outcomes[name].changes.append("created")
        if not dry_run:
            roles[name] = api.call("POST", "/api/v1/security/roles/", {"name": name})["id"]

    # Filters before grants, so a filtered mart is never readable unfiltered in between.
    removed: list[str] = []
    existing = {f["name"]: f for f in api.rows("/api/v1/rowlevelsecurity/")
                if f["name"].startswith(RLS_PREFIX)}  # fmt: skip
    stale_filters = set(existing) - set(desired.filters)
    for spec in desired.filters.values():
        table_ids = sorted(i for m in spec.marts for i, _ in datasets.get(m, []))
        if not table_ids:
            stale_filters |= {spec.name} & set(existing)
            continue
        outcomes[spec.role].rls_filters += 1
        body = {"name": spec.name, "filter_type": "Regular", "clause": spec.clause,
                "tables": table_ids, "roles": [roles.get(spec.role, -1)], "group_key": None,
                "description": "made by `citylake dashboards roles`; changes here are overwritten"}  # fmt: skip
        now = existing.get(spec.name)
        if now is None:
            outcomes[spec.role].changes.append(f"RLS {spec.name} created")
            if not dry_run:
                api.call("POST", "/api/v1/rowlevelsecurity/", body)
            continue
        current = (now["filter_type"], now["clause"], sorted(t["id"] for t in now["tables"]),
                   [r["id"] for r in now["roles"]], now.get("group_key") or None)  # fmt: skip
        if current != ("Regular", spec.clause, table_ids, body["roles"], None):
            outcomes[spec.role].changes.append(f"RLS {spec.name} updated")
            if not dry_run:
                api.call("PUT", f"/api/v1/rowlevelsecurity/{now['id']}", body)

    for name, perms in wanted.items():
        current = set(_role_permissions(api, roles[name]).values()) if name in roles else set()
        if current != perms:
            if name in roles:
                outcomes[name].changes.append(f"permissions +{len(perms - current)} "
                                              f"-{len(current - perms)}")  # fmt: skip
            if not dry_run:
                api.call("POST", f"/api/v1/security/roles/{roles[name]}/permissions",
                         {"permission_view_menu_ids": sorted(perms)})  # fmt: skip

    for name in sorted(stale_filters):
        removed.append(f"RLS {name} deleted")
        if not dry_run:
            api.call("DELETE", f"/api/v1/rowlevelsecurity/{existing[name]['id']}")
    stale = set(roles) - set(desired.roles)
    for name in sorted(r for r in stale if r.startswith((DEPARTMENT_PREFIX, DISTRICT_PREFIX))):
        if _role_permissions(api, roles[name]):
            removed.append(f"role {name} no longer derived: permissions removed (delete it later)")
            if not dry_run:
                api.call("POST", f"/api/v1/security/roles/{roles[name]}/permissions",
                         {"permission_view_menu_ids": []})  # fmt: skip

    password = None
    if users == "demo":
        password = _demo_users(api, desired, roles, outcomes, dry_run, demo_password)
    return RolesReport(sorted(outcomes.values(), key=lambda o: (o.kind, o.role)), removed,
                       warnings, dry_run, password)  # fmt: skip


def demo_username(role: str) -> str:
    return DEMO_USER_PREFIX + role.lower()


def _demo_users(api: SupersetApi, desired: DesiredState, roles: dict[str, int],
                outcomes: dict[str, RoleOutcome], dry_run: bool, password: str | None) -> str | None:  # fmt: skip
    """One demo user per derived role (holding only that role). Returns the password when
    users were created; existing users keep theirs."""
    existing = {u["username"]: u for u in api.rows("/api/v1/security/users/",
                                                    ("id", "username", "roles.id"))}  # fmt: skip
    password = password or secrets.token_urlsafe(12)
    created = False
    for name in sorted(desired.roles):
        username, role_ids = demo_username(name), [roles.get(name, -1)]
        user = existing.get(username)
        if user is None:
            outcomes[name].changes.append(f"user {username} created")
            created = True
            if not dry_run:
                api.call("POST", "/api/v1/security/users/", {
                    "username": username, "first_name": "Demo", "last_name": name,
                    "email": f"{username}@citylake.invalid", "active": True,
                    "roles": role_ids, "password": password})  # fmt: skip
        elif sorted(r["id"] for r in user["roles"]) != role_ids:
            outcomes[name].changes.append(f"user {username}'s roles reset")
            if not dry_run:
                api.call("PUT", f"/api/v1/security/users/{user['id']}", {"roles": role_ids})
    return password if created and not dry_run else None


def apply_roles(
    settings: Settings | None = None,
    *,
    dry_run: bool = False,
    users: str = "none",
    demo_password: str | None = None,
) -> RolesReport:
    """Derive the roles from the published policy and converge Superset to them. Uses the
    running Superset, or starts one for the run (and stops it again)."""
    from citylake.serving import superset

    settings = settings or load_settings()
    districts, columns = read_serving(settings.serving_db)
    desired = derive_roles(load_policy(settings.serving_db), districts, columns)
    info = superset.server_info(settings)
    started = info is None
    info = info or superset.start(settings)
    try:
        api = SupersetApi(info.url, settings.admin_user, settings.admin_password)
        report = converge(api, desired, dry_run=dry_run, users=users, demo_password=demo_password)
    finally:
        if started:
            superset.stop(settings)
    for warning in report.warnings:
        log.warning("Superset roles: %s", warning)
    return report
