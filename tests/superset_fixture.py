"""A real Superset for a test module: temp home, free port, a given serving DuckDB.

Shared by the Superset tests (import it; it defines no fixtures, so nothing is collected
twice). ``running_superset`` initialises (~40 s), imports a dashboards directory (~10 s)
and starts the server (~10 s); ``Client`` speaks the REST API as any user, with the
bearer token, the session cookie, the CSRF token and a Referer, as a browser-less
client must for Superset's POSTs.
"""

from __future__ import annotations

import http.cookiejar
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import IN_CI

from citylake.serving import superset
from citylake.serving.superset import ServerInfo
from citylake.settings import Settings, load_settings


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI must provide it")
    print(f"SKIP: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client:
    """Superset's REST API as one user. ``call`` never raises on HTTP errors: it returns
    (status, parsed JSON or text) so tests can assert refusals."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = ""
        self.csrf = ""
        body = {"username": username, "password": password, "provider": "db", "refresh": False}
        status, answer = self.call("POST", "/api/v1/security/login", body)
        assert status == 200, f"login as {username}: {status} {answer}"
        self.token = answer["access_token"]
        self.csrf = self.get("/api/v1/security/csrf_token/")["result"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, method=method)
        if body is not None:
            request.data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if self.csrf:
            request.add_header("X-CSRFToken", self.csrf)
            request.add_header("Referer", self.base + "/")
        try:
            with self.opener.open(request, timeout=120) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> Any:
        status, answer = self.call("GET", path)
        assert status == 200, f"GET {path}: {status} {answer}"
        return answer


@contextmanager
def running_superset(
    home: Path, warehouse: Path, dashboards_dir: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[Settings, ServerInfo]]:
    """Superset initialised in ``home``, ``dashboards_dir`` imported over
    ``warehouse/serving.duckdb``, running on a free port; stopped on exit.

    ``env``: extra environment for Superset (e.g. ``SUPERSET_FEATURE_<FLAG>``); the
    environment is restored afterwards, the server keeps what it started with.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITYLAKE_HOME", str(home))
        patch.setenv("CITYLAKE_WAREHOUSE_DIR", str(warehouse))
        patch.setenv("CITYLAKE_SUPERSET_PORT", str(free_port()))
        for name in ("CITYLAKE_SUPERSET_HOME", "CITYLAKE_SUPERSET_DB_URL"):
            patch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        settings = load_settings()
        if not (settings.superset_venv / "bin" / "superset").exists():
            skip_or_fail(f"Superset venv {settings.superset_venv} missing (make install)")
        began = time.monotonic()
        superset.ensure_initialized(settings)
        initialised = time.monotonic()
        superset.import_dashboards(settings, dashboards_dir=dashboards_dir)
        imported = time.monotonic()
        info = superset.start(settings)
        print(
            f"Superset: init {initialised - began:.1f} s, import {imported - initialised:.1f} s, "
            f"start {time.monotonic() - imported:.1f} s"
        )
    try:
        yield settings, info
    finally:
        superset.stop(settings)
