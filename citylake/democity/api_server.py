"""The departments' REST API on loopback: serves every ``rest_api`` source's store.

``GET <endpoint>?page=N&page_size=M[&updated_since=V]`` answers
``{"items": [...], "page": N, "page_size": M, "total": T, "next_page": N+1 | null}``
(pages from 1; ``page_size`` defaults to the catalog's and is capped at
``MAX_PAGE_SIZE``). Items come in a deterministic order: by (cursor, primary key) when
the source has a cursor column (``connectors.rest.rest_cursor_column``: the catalog
cursor, else ``updated_at``), else in delivery order; ``updated_since`` keeps items
whose cursor is >= V. ``GET /health`` lists the endpoints.

The store (``source_systems.api_store``, appended by ``generate.systems``) is re-read
when it changes; an unfinished last line is ignored. For tests, ``inject_failures``
makes the next K data requests fail with 503 or 429 (+ ``Retry-After``).

``serve(settings)`` starts a threaded server and returns a handle (``.url``,
``.stop()``, a context manager); ``serve_command`` is the ``citylake sources serve``
CLI entry.
"""

from __future__ import annotations

import bisect
import errno
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import typer

from citylake.catalog import RestApiConnector, Source, default_catalog
from citylake.connectors.rest import (
    OrderKey,
    SortValue,
    cursor_sort_value,
    order_key,
    rest_cursor_column,
)
from citylake.connectors.source_systems import api_store
from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 10_000


@dataclass
class _Loaded:
    signature: tuple[int, int]
    items: list[dict]
    cursors: list[SortValue]  # cursor sort value per item, ascending (empty without a cursor)


class _Endpoint:
    """One source's store, parsed and ordered, cached until the file changes."""

    def __init__(self, source: Source, path: Path) -> None:
        self.source = source
        self.path = path
        self.column = rest_cursor_column(source)
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def items(self) -> _Loaded:
        try:
            stat = self.path.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            signature = (0, 0)
        with self._lock:
            if self._loaded is None or self._loaded.signature != signature:
                self._loaded = self._load(signature)
            return self._loaded

    def _load(self, signature: tuple[int, int]) -> _Loaded:
        items: list[dict] = []
        if signature != (0, 0):
            data = self.path.read_bytes()
            data = data[: data.rfind(b"\n") + 1]  # a delivery still being appended
            for number, line in enumerate(data.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    log.warning(
                        "%s: store line %d is not JSON (%s); not served", self.path, number, exc
                    )
        if self.column is None:
            return _Loaded(signature, items, [])
        keyed: list[tuple[OrderKey, int]] = [
            (order_key(self.source, item), i) for i, item in enumerate(items)
        ]
        keyed.sort()
        return _Loaded(signature, [items[i] for _, i in keyed], [key[0] for key, _ in keyed])

    def since_value(self, raw: str) -> SortValue:
        assert self.column is not None
        return cursor_sort_value(raw, self.source.field(self.column).type)


class _Failures:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.remaining = 0
        self.status = 503
        self.retry_after: float | None = 1

    def take(self) -> tuple[int, float | None] | None:
        with self.lock:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
            return self.status, self.retry_after


class ApiServer:
    """A running API server: ``url``, ``stop()``, ``inject_failures()``, ``requests``."""

    def __init__(self, endpoints: dict[str, _Endpoint], host: str, port: int) -> None:
        self.endpoints = endpoints
        self.failures = _Failures()
        self.requests = 0  # data requests answered (including injected failures)
        self._count_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self.host = host
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"citylake-api-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def inject_failures(self, count: int, status: int = 503, retry_after: float | None = 1) -> None:
        """Make the next ``count`` data requests fail with ``status`` (and Retry-After unless None)."""
        with self.failures.lock:
            self.failures.remaining = count
            self.failures.status = status
            self.failures.retry_after = retry_after

    def count_request(self) -> None:
        with self._count_lock:
            self.requests += 1

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "citylake-departments-api/1"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/") or "/"
            if path in ("/", "/health"):
                self._send(200, {"status": "ok", "endpoints": sorted(server.endpoints)})
                return
            endpoint = server.endpoints.get(path)
            if endpoint is None:
                self._send(404, {"error": f"no such endpoint {path}"})
                return
            server.count_request()
            failure = server.failures.take()
            if failure is not None:
                status, retry_after = failure
                headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
                self._send(status, {"error": HTTPStatus(status).phrase, "injected": True}, headers)
                return
            try:
                self._send(200, _page(endpoint, parse_qs(parts.query)))
            except ValueError as exc:
                self._send(400, {"error": str(exc)})

    return Handler


def _int_param(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, [str(default)])[-1]
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _page(endpoint: _Endpoint, query: dict[str, list[str]]) -> dict:
    connector = endpoint.source.connector
    assert isinstance(connector, RestApiConnector)
    page = _int_param(query, "page", 1, 1, 10**9)
    size = _int_param(query, "page_size", connector.page_size, 1, MAX_PAGE_SIZE)
    loaded = endpoint.items()
    start = 0
    since = query.get("updated_since", [None])[-1]
    if since is not None:
        if endpoint.column is None:
            raise ValueError(
                f"{endpoint.source.id} has no cursor column to filter by updated_since"
            )
        start = bisect.bisect_left(loaded.cursors, endpoint.since_value(since))
    total = len(loaded.items) - start
    first = start + (page - 1) * size
    items = loaded.items[first : first + size]
    more = first + size < len(loaded.items)
    return {
        "items": items,
        "page": page,
        "page_size": size,
        "total": total,
        "next_page": page + 1 if more else None,
    }


def rest_sources(catalog: dict[str, Source] | None = None) -> list[Source]:
    return [
        s
        for s in (catalog or default_catalog()).values()
        if isinstance(s.connector, RestApiConnector)
    ]


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    sources: Iterable[Source] | None = None,
    fail_first: int = 0,
    fail_status: int = 503,
    retry_after: float | None = 1,
) -> ApiServer:
    """Start serving ``sources`` (default: the catalog's rest_api sources); returns the running server.

    ``port=None`` takes the port of ``settings.source_api_url``; ``port=0`` picks a free one.
    """
    if port is None:
        port = urlsplit(settings.source_api_url).port or 8765
    endpoints: dict[str, _Endpoint] = {}
    for source in rest_sources() if sources is None else sources:
        connector = source.connector
        if not isinstance(connector, RestApiConnector):
            raise TypeError(f"{source.id} is not a rest_api source")
        path = connector.endpoint.rstrip("/")
        if path in endpoints:
            raise ValueError(f"{source.id} and {endpoints[path].source.id} both declare {path}")
        endpoints[path] = _Endpoint(source, api_store(connector.endpoint, settings))
    try:
        server = ApiServer(endpoints, host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise RuntimeError(
            f"cannot serve the departments' API on {host}:{port}: the port is taken. Is "
            "`citylake sources serve` (or `make up`) already running? Stop it (`make down`) "
            "or set CITYLAKE_SOURCE_API_URL to another port."
        ) from exc
    if fail_first:
        server.inject_failures(fail_first, fail_status, retry_after)
    log.info("departments' API on %s serving %s", server.url, sorted(endpoints))
    return server


def serve_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(help="port (default: the port of CITYLAKE_SOURCE_API_URL, 8765)"),
    ] = None,
) -> None:
    """Serve the departments' REST APIs (every rest_api source's store) until interrupted."""
    settings = load_settings()
    server = serve(settings, host, port)
    typer.echo(f"Serving the departments' API on {server.url} (Ctrl-C stops)")
    for path, endpoint in sorted(server.endpoints.items()):
        typer.echo(f"  {server.url}{path}  ({endpoint.source.id}, store {endpoint.path})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        server.stop()
