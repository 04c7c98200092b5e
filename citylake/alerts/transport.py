"""POSTing one CAP message to one webhook (urllib: no dependency beyond the standard library).

A redirect is a failure (urllib would re-send a redirected POST as a GET without the body);
a loopback endpoint is never reached through an environment proxy; every other answer is
returned, never raised, so the outbox records it.
"""

from __future__ import annotations

import http.client
import ipaddress
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["CONTENT_TYPE", "Outcome", "post"]

CONTENT_TYPE = "application/cap+xml"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None  # None: no HTTP answer at all (refused, timeout, reset)
    error: str | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the body: count it as a failure.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener(endpoint: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    host = urlsplit(endpoint).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        handlers.append(urllib.request.ProxyHandler({}))  # a proxy cannot reach our loopback
    return urllib.request.build_opener(*handlers)


def post(endpoint: str, identifier: str, xml: bytes, timeout: float) -> Outcome:
    request = urllib.request.Request(
        endpoint,
        data=xml,
        method="POST",
        headers={"Content-Type": CONTENT_TYPE, "Idempotency-Key": identifier},
    )
    try:
        with _opener(endpoint).open(request, timeout=timeout) as response:
            response.read()
            return Outcome(True, response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Outcome(False, exc.code, f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Outcome(False, None, f"{type(exc).__name__}: {reason}")
