"""``citylake docs serve``: GX Data Docs at ``/quality/`` and dbt docs at ``/dbt/`` on 127.0.0.1.

Stdlib ``http.server``, a thread per connection, files read per request (docs rebuilt
while it runs are served as they are then). Both sites are localized first
(:func:`citylake.serving.docs_site.localize_all`), so docs built before their assets were
vendored render offline too. ``make up`` starts it (``citylake.orchestration.services``).
"""

from __future__ import annotations

import logging
import os
import posixpath
import urllib.parse
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from citylake.serving.docs_site import localize_all
from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

Roots = dict[str, tuple[Path, str]]  # URL prefix -> (folder, title)

_HOME_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>citylake docs</title>
<style>body{{font-family:sans-serif;margin:3em;line-height:1.6}}</style></head><body>
<h1>citylake documentation</h1><ul>{items}</ul></body></html>"""


def site_roots(settings: Settings) -> Roots:
    return {
        "quality": (settings.quality_docs_index.parent, "Great Expectations Data Docs"),
        "dbt": (settings.dbt_docs_index.parent, "dbt docs (models, lineage graph)"),
    }


class _Handler(SimpleHTTPRequestHandler):
    roots: ClassVar[Roots] = {}  # set per server by make_server

    def translate_path(self, path: str) -> str:
        clean = posixpath.normpath(urllib.parse.unquote(urllib.parse.urlsplit(path).path))
        prefix, _, rest = clean.lstrip("/").partition("/")
        if prefix not in self.roots:
            return ""  # no such file: 404
        self.directory = str(self.roots[prefix][0])
        return super().translate_path("/" + rest + ("/" if path.endswith("/") else ""))

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path in {"", "/"}:
            self._home()
        else:
            super().do_GET()

    def _home(self) -> None:
        items = "".join(
            f'<li><a href="/{prefix}/">{title}</a></li>'
            if (folder / "index.html").exists()
            else f"<li>{title}: not built yet (run <code>make demo</code>)</li>"
            for prefix, (folder, title) in self.roots.items()
        )
        body = _HOME_PAGE.format(items=items).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "No index here")

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(roots: Roots, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """``/<prefix>/...`` from each root folder, ``/`` lists the sites (``port`` 0: any free)."""
    handler = type("DocsHandler", (_Handler,), {"roots": dict(roots)})
    first = str(next(iter(roots.values()))[0])
    server = ThreadingHTTPServer((host, port), partial(handler, directory=first))
    server.daemon_threads = True
    return server


def serve(
    settings: Settings | None = None,
    port: int | None = None,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Make both sites offline-ready, then serve them on 127.0.0.1 until interrupted."""
    settings = settings or load_settings()
    localize_all(settings)
    server = make_server(site_roots(settings), settings.docs_port if port is None else port)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    log.info("docs on %s/quality/ and %s/dbt/", url, url)
    if on_ready is not None:
        on_ready(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
