"""Warnings as CAP 1.2 through the durable outbox: valid messages, ordered, never lost.

The receivers are real HTTP servers on 127.0.0.1 (``citylake.alerts.receiver``); time in
the outbox is a fake clock (``now=``), so back-off is stepped through without sleeping.
The crash is real: a child process is SIGKILLed between a 2xx and marking it delivered.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from citylake.alerts import (
    CapValidationError,
    Outbox,
    WarningChange,
    cap_identifier,
    render_chain,
    to_cap,
    validate,
)
from citylake.alerts.cap import CAP_NS
from citylake.alerts.outbox import backoff
from citylake.alerts.receiver import CapReceiver

ROOT = Path(__file__).resolve().parents[1]
NS = {"cap": CAP_NS}
SENDER = "citylake@data-bureau.example"
T0 = datetime(2026, 9, 21, 6, 0, tzinfo=UTC)
WARNING = "rainstorm-339903-20260921T1350"


def change(
    sequence: int,
    level: str,
    action: str,
    at: datetime,
    warning_id: str = WARNING,
    hazard: str = "rainstorm",
    predicted: bool = False,
) -> WarningChange:
    return WarningChange(
        warning_id=warning_id,
        sequence=sequence,
        hazard=hazard,
        district_code="339903",
        district_name="青山区",
        level=level,
        action=action,
        at=at,
        expires=at + timedelta(hours=6) if action != "lifted" else at,
        headline=f"青山区{action}",
        description="过去3小时青山站累计雨量52.5毫米",
        evidence={"stations": ["QS01", "QS02"], "mm_3h": 52.5, "nowcast_at": at},
        predicted=predicted,
    )


def lifecycle(warning_id: str = WARNING, start: datetime = datetime(2026, 9, 21, 13, 50)):
    return [
        change(0, "blue", "issued", start, warning_id, predicted=True),
        change(1, "orange", "upgraded", start + timedelta(minutes=30), warning_id),
        change(2, "yellow", "downgraded", start + timedelta(hours=2), warning_id),
        change(3, "yellow", "lifted", start + timedelta(hours=4), warning_id),
    ]


def text(root: etree._Element, path: str) -> str:
    return root.findtext(path, namespaces=NS) or ""


def parameters(root: etree._Element) -> dict[str, str]:
    return {
        text(p, "cap:valueName"): text(p, "cap:value")
        for p in root.iterfind("cap:info/cap:parameter", NS)
    }


@pytest.fixture(autouse=True)
def _alert_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CITYLAKE_ALERT_WEBHOOKS", "CITYLAKE_ALERT_CRASH_AFTER_POST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path / "home"))


@pytest.fixture()
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite")


@pytest.fixture()
def receiver():
    with CapReceiver() as running:
        yield running


def test_a_lifecycle_is_valid_cap_with_references_to_every_earlier_message() -> None:
    rendered = render_chain(lifecycle())
    roots = [etree.fromstring(xml) for _, xml in rendered]
    for _, xml in rendered:
        validate(xml)
        assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')

    assert [text(r, "cap:msgType") for r in roots] == ["Alert", "Update", "Update", "Cancel"]
    sent = [text(r, "cap:sent") for r in roots]
    assert sent[0] == "2026-09-21T13:50:00+08:00"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", s) for s in sent)
    for n, root in enumerate(roots):
        earlier = [
            f"{text(r, 'cap:sender')},{text(r, 'cap:identifier')},{text(r, 'cap:sent')}"
            for r in roots[:n]
        ]
        refs = root.find("cap:references", NS)
        assert (refs.text.split() if refs is not None else []) == earlier
        assert text(root, "cap:incidents") == WARNING

    info = [r.find("cap:info", NS) for r in roots]
    assert [text(i, "cap:severity") for i in info] == ["Minor", "Severe", "Moderate", "Moderate"]
    assert [text(i, "cap:urgency") for i in info] == ["Expected", "Immediate", "Immediate", "Past"]
    assert [text(i, "cap:certainty") for i in info] == [
        "Likely",
        "Observed",
        "Observed",
        "Observed",
    ]
    assert [text(i, "cap:responseType") for i in info] == [
        "Monitor",
        "Prepare",
        "Prepare",
        "AllClear",
    ]
    assert [text(i, "cap:event") for i in info] == [
        "暴雨蓝色预警",
        "暴雨橙色预警",
        "暴雨黄色预警",
        "暴雨黄色预警",
    ]
    first = roots[0]
    assert text(first, "cap:info/cap:language") == "zh-CN"
    assert text(first, "cap:info/cap:category") == "Met"
    assert text(first, "cap:info/cap:effective") == "2026-09-21T13:50:00+08:00"
    assert text(first, "cap:info/cap:expires") == "2026-09-21T19:50:00+08:00"
    assert text(first, "cap:info/cap:area/cap:areaDesc") == "青山区"
    assert text(first, "cap:info/cap:area/cap:geocode/cap:valueName") == "districtCode"
    assert text(first, "cap:info/cap:area/cap:geocode/cap:value") == "339903"
    params = parameters(first)
    assert (params["level"], params["action"], params["predicted"]) == ("blue", "issued", "true")
    evidence = json.loads(params["evidence"])
    assert evidence == {
        "mm_3h": 52.5,
        "nowcast_at": "2026-09-21T13:50:00",
        "stations": ["QS01", "QS02"],
    }
    assert " " not in params["evidence"]  # compact

    # Deterministic: the same change re-derived is the same message with the same id.
    again = render_chain(lifecycle())
    assert [xml for _, xml in again] == [xml for _, xml in rendered]
    ids = [cap_identifier(c) for c, _ in rendered]
    assert len(set(ids)) == 4
    assert all(re.fullmatch(r"[^\s,<&]+", i) for i in ids)


def test_air_quality_is_env_and_red_is_extreme() -> None:
    smog = change(0, "red", "issued", datetime(2026, 9, 3, 8, 0), "aq-339903-1", "air_quality")
    info = etree.fromstring(to_cap(smog, [])).find("cap:info", NS)
    assert (text(info, "cap:category"), text(info, "cap:severity")) == ("Env", "Extreme")
    assert text(info, "cap:event") == "空气重污染红色预警"


@pytest.mark.parametrize(
    ("mangle", "complaint"),
    [
        (lambda x: x.replace(b"<scope>Public</scope>", b"<scope>Everyone</scope>"), "scope"),
        (
            lambda x: x.replace(
                b"<status>Actual</status>\n  <msgType>Alert</msgType>",
                b"<msgType>Alert</msgType>\n  <status>Actual</status>",
            ),
            "msgType",
        ),
        (lambda x: x.replace(b"+08:00</sent>", b"</sent>"), "sent"),
    ],
    ids=["scope", "order", "offset"],
)
def test_the_schema_refuses_what_cap_forbids(mangle, complaint: str) -> None:
    good = to_cap(lifecycle()[0], [])
    bad = mangle(good)
    assert bad != good
    with pytest.raises(CapValidationError) as caught:
        validate(bad)
    assert caught.value.identifier == f"citylake-{WARNING}-0"
    assert f"citylake-{WARNING}-0" in str(caught.value)
    assert any(complaint in e for e in caught.value.errors), caught.value.errors


def test_changes_and_chains_are_checked() -> None:
    chain = lifecycle()
    with pytest.raises(ValueError, match="previous must be sequences"):
        to_cap(chain[2], [chain[0]])  # would drop a reference
    with pytest.raises(ValueError, match="previous changes of"):
        to_cap(chain[1], [lifecycle("heat-1-x")[0]])
    with pytest.raises(ValueError, match="sequence 0 must be the issue"):
        change(1, "blue", "issued", datetime(2026, 9, 21, 14, 0))
    with pytest.raises(ValueError, match="printable ASCII"):
        change(0, "blue", "issued", datetime(2026, 9, 21, 14, 0), warning_id="rain 1,2")
    with pytest.raises(ValueError, match="level"):
        change(0, "purple", "issued", datetime(2026, 9, 21, 14, 0))
    with pytest.raises(CapValidationError):
        validate(b"<alert>")


def test_backoff_doubles_from_five_seconds_and_caps_at_ten_minutes() -> None:
    assert [backoff(n) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 600, 600]
    assert backoff(10_000) == 600


def test_enqueue_is_idempotent_and_keeps_each_warning_in_order(outbox: Outbox) -> None:
    rendered = render_chain(lifecycle())
    url = "http://127.0.0.1:9/cap"
    assert outbox.enqueue(rendered[:2], [url]) == 2
    assert outbox.enqueue(rendered, [url]) == 2  # the batch re-derived with two more
    assert outbox.enqueue(rendered, [url]) == 0
    assert outbox.enqueue(reversed(rendered), [url]) == 0
    assert [p.sequence for p in outbox.pending()] == [0, 1, 2, 3]
    status = outbox.status()
    assert (status.messages, status.by_endpoint[url].pending) == (4, 4)

    # A gap would let a later message out before its predecessor: refused, nothing queued.
    later = render_chain(lifecycle("rainstorm-339904-x"))
    with pytest.raises(ValueError, match="sequence 2 enqueued before 0"):
        outbox.enqueue(later[2:], [url])
    assert outbox.status().messages == 4
    with pytest.raises(CapValidationError):
        outbox.enqueue([(later[0][0], later[0][1].replace(b"Public", b"Everyone"))], [url])


def test_failing_receiver_gets_everything_in_order_exactly_once_after_backoff(
    outbox: Outbox, receiver: CapReceiver
) -> None:
    rendered = render_chain(lifecycle())
    outbox.enqueue(rendered, [receiver.url])
    receiver.fail_next(3)
    ids = [cap_identifier(c) for c, _ in rendered]

    # Each failure pushes the next attempt out by 5, 10, 20 s; the Updates wait behind it.
    for offset, attempts in ((0, 1), (5, 2), (15, 3)):
        report = outbox.deliver([receiver.url], now=T0 + timedelta(seconds=offset))
        assert (report.delivered, report.failed, report.waiting) == (0, 1, 3)
        head = outbox.pending()[0]
        assert (head.identifier, head.attempts, head.last_status) == (ids[0], attempts, 503)
        assert head.next_attempt_at == T0 + timedelta(seconds=offset + backoff(attempts))
        # Not due yet: nothing goes on the wire.
        before = len(receiver.wire)
        later = T0 + timedelta(seconds=offset + backoff(attempts) - 1)
        report = outbox.deliver([receiver.url], now=later)
        assert (report.failed, report.waiting, len(receiver.wire)) == (0, 4, before)

    report = outbox.deliver([receiver.url], now=T0 + timedelta(seconds=35))
    assert (report.delivered, report.failed, report.waiting, report.complete) == (4, 0, 0, True)
    assert receiver.order == ids
    assert receiver.wire == [ids[0]] * 4 + ids[1:]
    assert receiver.duplicates == 0
    assert outbox.pending() == []
    assert outbox.status().by_endpoint[receiver.url].delivered == 4
    assert outbox.deliver([receiver.url], now=T0 + timedelta(hours=1)).delivered == 0


def test_a_refused_warning_does_not_hold_up_another(outbox: Outbox, receiver: CapReceiver) -> None:
    rain = render_chain(lifecycle())
    heat = render_chain(
        [change(0, "orange", "issued", datetime(2026, 9, 21, 14, 0), "heat-1", "heat")]
    )
    outbox.enqueue(rain + heat, [receiver.url])
    receiver.fail_next(1)
    report = outbox.deliver([receiver.url], now=T0)
    assert (report.delivered, report.failed, report.waiting) == (1, 1, 3)
    outbox.deliver([receiver.url], now=T0 + timedelta(seconds=5))
    rain_ids = [cap_identifier(c) for c, _ in rain]
    assert receiver.order == [cap_identifier(heat[0][0]), *rain_ids]


def test_receiver_down_loses_nothing_and_pending_says_why(outbox: Outbox) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/cap"
    rendered = render_chain(lifecycle())
    outbox.enqueue(rendered, [closed])
    for offset in (0, 5, 15):
        report = outbox.deliver([closed], now=T0 + timedelta(seconds=offset), timeout=2)
        # Unreachable: one attempt per run, the rest wait rather than time out one by one.
        assert (report.failed, report.waiting) == (1, 3)
        assert "refused" in report.by_endpoint[closed].errors[0].lower()
    pending = outbox.pending()
    assert [p.identifier for p in pending] == [cap_identifier(c) for c, _ in rendered]
    assert [p.attempts for p in pending] == [3, 0, 0, 0]
    assert pending[0].last_status is None
    assert "refused" in (pending[0].last_error or "").lower()
    assert pending[0].next_attempt_at == T0 + timedelta(seconds=15 + 20)
    status = outbox.status().by_endpoint[closed]
    assert (status.delivered, status.pending, status.retrying) == (0, 4, 1)


def test_without_endpoints_messages_queue_and_a_later_receiver_catches_up(
    outbox: Outbox, receiver: CapReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = render_chain(lifecycle())
    outbox.enqueue(rendered)  # CITYLAKE_ALERT_WEBHOOKS unset
    report = outbox.deliver(now=T0)
    assert (report.delivered, report.unrouted, report.complete) == (0, 4, False)
    assert {p.endpoint for p in outbox.pending()} == {None}
    assert outbox.status().unrouted == 4

    monkeypatch.setenv("CITYLAKE_ALERT_WEBHOOKS", f" {receiver.url} ,")
    report = Outbox(outbox.path).deliver(now=T0)
    assert (report.delivered, report.unrouted) == (4, 0)
    assert receiver.order == [cap_identifier(c) for c, _ in rendered]


CHILD = "import sys; from citylake.alerts import Outbox; Outbox(sys.argv[1]).deliver([sys.argv[2]])"


def test_crash_between_post_and_mark_redelivers_and_the_receiver_keeps_one(
    outbox: Outbox, receiver: CapReceiver
) -> None:
    rendered = render_chain(lifecycle())
    outbox.enqueue(rendered, [receiver.url])
    first = cap_identifier(rendered[0][0])

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(outbox.path), receiver.url],
        env={**os.environ, "CITYLAKE_ALERT_CRASH_AFTER_POST": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert receiver.wire == [first]  # the POST got its 2xx, the mark never happened
    head = outbox.pending()[0]
    assert (head.identifier, head.attempts) == (first, 1)

    report = outbox.deliver([receiver.url], now=T0)
    assert (report.delivered, report.complete) == (4, True)
    assert receiver.wire.count(first) == 2  # twice on the wire ...
    assert receiver.order == [cap_identifier(c) for c, _ in rendered]  # ... stored once
    assert receiver.duplicates == 1
    assert outbox.pending() == []


def test_receiver_command_writes_each_unique_message_once(outbox: Outbox, tmp_path: Path) -> None:
    out = tmp_path / "received"
    proc = subprocess.Popen(
        [sys.executable, "-m", "citylake.alerts.receiver", "--port", "0", "--out", str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        found = re.search(r"(http://\S+)", line)
        assert found, line
        url = found.group(1)
        rendered = render_chain(lifecycle())
        outbox.enqueue(rendered, [url])
        assert outbox.deliver([url], now=T0).delivered == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{cap_identifier(c)}.xml" for c, _ in rendered
    )
    for c, xml in rendered:
        assert (out / f"{cap_identifier(c)}.xml").read_bytes() == xml
    # A restarted receiver remembers what it stored and keeps repeats out.
    with CapReceiver(out_dir=out) as again:
        assert len(again.order) == 4
