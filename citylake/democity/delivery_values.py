"""Values as the demo city's source systems hold them: export text and JSON lines. The
typed values a SQL column needs come from the platform's casting (``landing.casting``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime

Record = Mapping[str, object]


class DeliveryError(ValueError):
    """Records cannot be delivered as the catalog declares (the message names source and value)."""


def as_text(value: object) -> str:
    """A value as the text a department's export would carry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _json_default(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return as_text(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_line(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, default=_json_default)


def to_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise ValueError("not a date")
