"""Paginated JSON REST APIs, incrementally by cursor, with retries on 5xx and 429.

The API (the generator's server in the demo, ``citylake.democity.api_server``) answers
``GET <endpoint>?page=N&page_size=M[&updated_since=V]`` with
``{"items": [...], "page": N, "page_size": M, "total": T, "next_page": N+1 | null}``,
items ordered by (cursor, primary key) and ``updated_since`` inclusive.

The cursor column is the catalog's ``cursor`` if declared, else ``updated_at`` when the
schema has it (``rest_cursor_column``). The incremental state is the highest
(cursor, key) seen: ``"<cursor>\\t<key>..."`` (just the value for an integer cursor, as
the ledger compares those numerically), so records sharing the last cursor value are
neither lost nor read twice. Without a cursor every run reads everything; batch ids
then come from the page contents, so a rerun lands nothing new.

Transient failures (HTTP 429 and 5xx, connection errors) are retried with exponential
back-off, honouring ``Retry-After``, up to ``MAX_ATTEMPTS``; then the source fails with
its id, the URL and the last status in the message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pandas as pd

from citylake.catalog import FieldType, RestApiConnector, Source
from citylake.connectors.base import RawBatch, RowError, SourceState, make_batch_id, text_column
from citylake.connectors.ndjson_reader import raw_text
from citylake.connectors.source_systems import api_url
from citylake.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = 0.5  # first wait; doubles per attempt
MAX_WAIT_SECONDS = 60.0
TIMEOUT_SECONDS = 30.0
BATCH_ROWS = 50_000  # pages are gathered into batches of about this many records
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
CURSOR_SEPARATOR = "\t"

SortValue = tuple[int, float | int, str]
OrderKey = tuple[SortValue, tuple[str, ...]]


class RestSourceError(RuntimeError):
    """The API of a source failed for good (after retries, or with a non-retryable answer)."""


# ----------------------------------------------------------------- ordering contract


def rest_cursor_column(source: Source) -> str | None:
    """The column the API orders and filters by (shared with the API server)."""
    if source.cursor:
        return source.cursor
    return "updated_at" if any(f.name == "updated_at" for f in source.fields) else None


def cursor_sort_value(value: object, ftype: FieldType) -> SortValue:
    """A total order on cursor values: missing first, numbers numerically, the rest as text."""
    if value is None:
        return (0, 0, "")
    if ftype in (FieldType.integer, FieldType.double) and not isinstance(value, bool):
        try:
            return (1, int(value) if ftype == FieldType.integer else float(value), "")  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return (2, 0, str(value))
    return (1, 0, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def order_key(source: Source, record: Mapping[str, object]) -> OrderKey:
    """The (cursor, primary key) position of a record: the API's order and the state's unit."""
    column = rest_cursor_column(source)
    cursor = (
        cursor_sort_value(record.get(column), source.field(column).type) if column else (0, 0, "")
    )
    keys = tuple("" if (v := record.get(k)) is None else str(v) for k in source.primary_key)
    return cursor, keys


def _cursor_text(record: Mapping[str, object], column: str) -> str:
    value = record.get(column)
    return "" if value is None else str(value)


def encode_state(source: Source, record: Mapping[str, object]) -> str:
    column = rest_cursor_column(source)
    assert column is not None
    value = _cursor_text(record, column)
    if source.field(column).type == FieldType.integer:
        return value
    keys = ["" if (v := record.get(k)) is None else str(v) for k in source.primary_key]
    return CURSOR_SEPARATOR.join([value, *keys])


def decode_state(source: Source, state: str) -> tuple[str, OrderKey]:
    """(the value to send as ``updated_since``, the order key records must exceed)."""
    column = rest_cursor_column(source)
    assert column is not None
    ftype = source.field(column).type
    if ftype == FieldType.integer:
        # One record per integer value: anything not above it was seen; the max key excludes ties.
        return state, (cursor_sort_value(state, ftype), ("\U0010ffff",))
    value, *keys = state.split(CURSOR_SEPARATOR)
    return value, (cursor_sort_value(value, ftype), tuple(keys))


# ----------------------------------------------------------------- HTTP


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def get_page(client: httpx.Client, source: Source, url: str, params: Mapping[str, object]) -> dict:
    """One page, retried on 429/5xx/connection errors with back-off; RestSourceError when it gives up."""
    problem = ""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = BACKOFF_SECONDS * 2 ** (attempt - 1)
        try:
            response = client.get(url, params=dict(params))
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            status = response.status_code
            if status == 200:
                try:
                    body = response.json()
                except ValueError as exc:
                    raise RestSourceError(
                        f"{source.id}: GET {response.url} returned HTTP 200 but not JSON: {exc}"
                    ) from exc
                if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                    raise RestSourceError(
                        f"{source.id}: GET {response.url} returned JSON without an 'items' list"
                    )
                return body
            if status not in RETRY_STATUSES and status < 500:
                raise RestSourceError(
                    f"{source.id}: GET {response.url} returned HTTP {status}: {response.text[:300]}"
                )
            problem = f"HTTP {status}"
            told = _retry_after(response)
            if told is not None:
                wait = told
                problem += f" (Retry-After {response.headers['Retry-After']})"
        if attempt == MAX_ATTEMPTS:
            break
        wait = min(wait, MAX_WAIT_SECONDS)
        log.warning(
            "%s: GET %s %s failed (%s); attempt %d of %d in %.1fs",
            source.id,
            url,
            dict(params),
            problem,
            attempt + 1,
            MAX_ATTEMPTS,
            wait,
        )
        time.sleep(wait)
    raise RestSourceError(
        f"{source.id}: GET {url} {dict(params)} failed {MAX_ATTEMPTS} times; last: {problem}"
    )


# ----------------------------------------------------------------- extraction


def _frame(source: Source, rows: list[tuple[int, dict]]) -> tuple[pd.DataFrame, list[str]]:
    declared = [f.name for f in source.fields]
    seen = dict.fromkeys(k for _, record in rows for k in record)
    columns = [*declared, *[k for k in seen if k not in declared]]
    frame = pd.DataFrame(
        {
            "_row_number": pd.Series([n for n, _ in rows], dtype=object),
            **{c: text_column([r.get(c) for _, r in rows], raw_text) for c in columns},
        },
        columns=["_row_number", *columns],
    )
    missing = [c for c in declared if c not in seen] if rows else []
    return frame, missing


def extract_rest(
    source: Source,
    connector: RestApiConnector,
    settings: Settings,
    state: SourceState,
    *,
    client: httpx.Client | None = None,
) -> Iterator[RawBatch]:
    url = api_url(connector.endpoint, settings)
    column = rest_cursor_column(source)
    since: str | None = None
    floor: OrderKey | None = None
    if column and state.cursor_high is not None:
        since, floor = decode_state(source, state.cursor_high)
    own_client = client is None
    client = client or httpx.Client(timeout=TIMEOUT_SECONDS)
    declared = {f.name for f in source.fields}
    try:
        page: int | None = 1
        low = state.cursor_high if column else None
        while page is not None:
            first_page = page
            rows: list[tuple[int, dict]] = []
            errors: list[RowError] = []
            digest = hashlib.sha256()
            while page is not None and len(rows) < BATCH_ROWS:
                params: dict[str, object] = {"page": page, "page_size": connector.page_size}
                if since is not None:
                    params["updated_since"] = since
                body = get_page(client, source, url, params)
                offset = (page - 1) * connector.page_size
                for index, item in enumerate(body["items"], start=offset + 1):
                    if not isinstance(item, dict):
                        text = json.dumps(item, ensure_ascii=False)
                        errors.append(RowError(index, text[:2000], "not a JSON object"))
                        digest.update(text.encode())
                        continue
                    if floor is not None and order_key(source, item) <= floor:
                        continue  # the last cursor value again: seen in an earlier run
                    rows.append((index, item))
                    digest.update(json.dumps(item, ensure_ascii=False, sort_keys=True).encode())
                last_page = page
                next_page = body.get("next_page")
                page = int(next_page) if next_page else None
            if not rows and not errors:
                continue
            frame, missing = _frame(source, rows)
            extra = [c for c in frame.columns if c != "_row_number" and c not in declared]
            if column:
                newest = max((r for _, r in rows), key=lambda r: order_key(source, r), default=None)
                high = encode_state(source, newest) if newest is not None else low
                ref = f"{connector.endpoint} pages {first_page}-{last_page}, cursor ({low or '-inf'}, {high}]"
                batch_id = make_batch_id(
                    source.id, "api", low or "", high or "", digest.hexdigest()
                )
            else:
                high = None
                ref = f"{connector.endpoint} pages {first_page}-{last_page} ({len(rows)} records)"
                batch_id = make_batch_id(source.id, "api", ref, digest.hexdigest())
            log.info("%s: extracted %d records, %s", source.id, len(rows), ref)
            yield RawBatch(
                source_id=source.id,
                batch_id=batch_id,
                ref=ref,
                frame=frame,
                row_errors=errors,
                cursor_lo=low,
                cursor_hi=high,
                extra_columns=extra,
                missing_columns=missing,
            )
            if high is not None:
                low = high
    finally:
        if own_client:
            client.close()
