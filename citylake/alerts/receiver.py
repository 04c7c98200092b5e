"""A tiny CAP webhook receiver on loopback, for tests and the demo (standard library only).

It does what a real receiver must do with the outbox's at-least-once delivery: keep each
message once by its ``Idempotency-Key`` and answer a repeat with 2xx (so the sender marks
it delivered) while counting it as a duplicate. ``wire`` records every request as it
arrived, failures and duplicates included. For tests it can fail the next N requests
(``fail_next``, 503 by default) or every request (``fail_always``).

    python -m citylake.alerts.receiver --port 8099 --out DIR

serves ``POST /`` (any path) until interrupted and writes each unique message to
``DIR/<identifier>.xml``; messages already in DIR count as received, so a restarted
receiver still drops repeats. ``GET /health`` answers the counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["CapReceiver", "main"]

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def file_name(identifier: str) -> str:
    """``<identifier>.xml``; citylake identifiers need no escaping, others are made safe."""
    return _UNSAFE.sub("_", identifier) + ".xml"


class CapReceiver:
    """A running receiver: ``url``, ``messages`` (unique, by key, arrival order), ``stop()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        out_dir: Path | None = None,
        fail_first: int = 0,
        fail_always: bool = False,
    ) -> None:
        self.out_dir = out_dir
        self.messages: dict[str, bytes] = {}
        self.wire: list[str] = []  # Idempotency-Key of every request, in arrival order
        self.duplicates = 0
        self.failed = 0
        self.fail_always = fail_always
        self.fail_status = 503
        self._fail_remaining = fail_first
        self._lock = threading.Lock()
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(out_dir.glob("*.xml")):
                self.messages[path.stem] = path.read_bytes()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns promptly (tests start many)
            name=f"cap-receiver-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/cap"

    @property
    def order(self) -> list[str]:
        """Identifiers of the unique messages in the order they first arrived."""
        with self._lock:
            return list(self.messages)

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._fail_remaining = count
            self.fail_status = status

    def receive(self, key: str | None, content_type: str, body: bytes) -> tuple[int, dict]:
        """Decide the answer to one POST (the handler only does HTTP)."""
        with self._lock:
            self.wire.append(key or "")
            if self.fail_always or self._fail_remaining > 0:
                self._fail_remaining = max(self._fail_remaining - 1, 0)
                self.failed += 1
                return self.fail_status, {"error": "failure injected"}
            if not key:
                return 400, {"error": "Idempotency-Key header missing"}
            if content_type.split(";")[0].strip().lower() != "application/cap+xml":
                return 415, {"error": f"expected application/cap+xml, got {content_type!r}"}
            if key in self.messages:
                self.duplicates += 1
                return 200, {"identifier": key, "duplicate": True}
            if self.out_dir is not None:
                # Write then rename: a crash never leaves a half message that counts as received.
                target = self.out_dir / file_name(key)
                partial = target.with_suffix(".partial")
                partial.write_bytes(body)
                os.replace(partial, target)
            self.messages[key] = body
            return 201, {"identifier": key, "duplicate": False}

    def health(self) -> dict:
        with self._lock:
            return {
                "messages": len(self.messages),
                "requests": len(self.wire),
                "duplicates": self.duplicates,
                "failed": self.failed,
            }

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def wait(self) -> None:
        """Block until the server stops (``main``: until SIGINT / SIGTERM)."""
        self._thread.join()

    def __enter__(self) -> CapReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(receiver: CapReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "citylake-cap-receiver/1"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, answer = receiver.receive(
                self.headers.get("Idempotency-Key"), self.headers.get("Content-Type", ""), body
            )
            self._send(status, answer)

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("", "/health"):
                self._send(200, receiver.health())
            else:
                self._send(404, {"error": f"no such path {self.path}"})

    return Handler


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m citylake.alerts.receiver", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099, help="0 picks a free port")
    parser.add_argument("--out", type=Path, required=True, help="folder for <identifier>.xml")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 503 to the first N")
    parser.add_argument("--fail-always", action="store_true", help="answer 503 to every POST")
    args = parser.parse_args(argv)
    receiver = CapReceiver(args.host, args.port, args.out, args.fail_first, args.fail_always)

    def stop(signum: int, frame: object) -> None:
        # shutdown() blocks until serve_forever returns: run it off the signal handler's thread.
        threading.Thread(target=receiver.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"CAP receiver on {receiver.url} writing to {args.out}", flush=True)
    receiver.wait()
    print(json.dumps(receiver.health()), flush=True)


if __name__ == "__main__":
    main()
