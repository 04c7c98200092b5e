"""Rainstorm warning lifecycle on hand-made 5-minute gauge series (one day, 00:05..17:00)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from transforms.rain_warnings import rain_warnings, warning_states

DAY = datetime(2026, 7, 10)
SCHEMA = "station_id string, district string, ts timestamp, rain_mm double"


def at(hhmm: str) -> pd.Timestamp:
    hours, minutes = map(int, hhmm.split(":"))
    return pd.Timestamp(DAY + timedelta(hours=hours, minutes=minutes))


def series(station: str, rain: Callable[[pd.Timestamp], float | None]) -> list[dict[str, Any]]:
    rows = []
    for step in range(1, 17 * 12 + 1):
        ts = pd.Timestamp(DAY + timedelta(minutes=5 * step))
        mm = rain(ts)
        if mm is not None:  # None: the gauge sent nothing
            rows.append({"station_id": station, "district": "Xihu", "ts": ts, "rain_mm": mm})
    return rows


def orange_storm(ts: pd.Timestamp) -> float:
    # 12 mm/h from 01:00, 36 mm/h from 04:30 to 05:30, then dry: 78 mm in all.
    if at("01:00") < ts <= at("04:30"):
        return 1.0
    if at("04:30") < ts <= at("05:30"):
        return 3.0
    return 0.0


def red_storm(ts: pd.Timestamp) -> float:
    # 48 mm/h for 2.5 h from 01:00: 120 mm.
    return 4.0 if at("01:00") < ts <= at("03:30") else 0.0


def light_rain(ts: pd.Timestamp) -> float:
    return 0.2  # 2.4 mm/h all day: 28.8 mm in any 12 h


def gappy(ts: pd.Timestamp) -> float | None:
    # 24 mm in 01:00-02:00, no readings 02:00-05:00, 26 mm in 05:00-06:00. Within 3 h of
    # the end there are only 26 mm, although the last 25 rows hold 50 mm.
    if at("02:00") < ts < at("05:00"):
        return None
    return 2.0 if at("01:00") < ts <= at("06:00") else 0.0


@pytest.fixture(scope="module")
def readings(spark: Any) -> Any:
    rows = (
        series("ORANGE", orange_storm)
        + series("RED", red_storm)
        + series("LIGHT", light_rain)
        + series("GAP", gappy)
    )
    return spark.createDataFrame(pd.DataFrame(rows), SCHEMA)


def events_by_station(frame: Any) -> dict[str, list[tuple[Any, ...]]]:
    table = frame.toPandas().sort_values(["station_id", "at"])
    return {
        station: [
            (r.level, r.action, r.at, r.basis, round(r.accumulation_mm, 6), r.window_hours)
            for r in group.itertuples()
        ]
        for station, group in table.groupby("station_id")
    }


@pytest.fixture(scope="module")
def forecast_events(readings: Any) -> dict[str, list[tuple[Any, ...]]]:
    return events_by_station(rain_warnings(readings, lookahead_minutes=60))


@pytest.fixture(scope="module")
def observed_events(readings: Any) -> dict[str, list[tuple[Any, ...]]]:
    return events_by_station(rain_warnings(readings, lookahead_minutes=0))


def test_output_schema(readings: Any) -> None:
    fields = rain_warnings(readings).schema.fields
    assert [(f.name, f.dataType.simpleString()) for f in fields] == [
        ("station_id", "string"),
        ("district", "string"),
        ("level", "string"),
        ("action", "string"),
        ("at", "timestamp"),
        ("basis", "string"),
        ("accumulation_mm", "double"),
        ("window_hours", "int"),
    ]


def test_orange_storm_is_warned_before_crossing_then_lifted(
    readings: Any, forecast_events: dict[str, list[tuple[Any, ...]]]
) -> None:
    states = warning_states(readings.where("station_id = 'ORANGE'")).toPandas()
    crossed = states.loc[states["obs_3h"] >= 50, "ts"].min()
    assert crossed == at("05:05")  # 29 mm at 12 mm/h + 21 mm at 36 mm/h

    assert forecast_events["ORANGE"] == [
        # 38 mm in 5 h + 12 mm expected in the next hour reach 50 mm in 6 h.
        ("yellow", "issued", at("04:10"), "forecast", 50.0, 6),
        # 32 mm in 2 h + 20 mm/h for one more hour reach 50 mm in 3 h, 15 min early.
        ("orange", "upgraded", at("04:50"), "forecast", 52.0, 3),
        # 78 mm fall below 50 mm in 12 h after 15:20; one quiet hour later it is lifted.
        ("orange", "lifted", at("16:20"), "observed", 0.0, 3),
    ]


def test_red_storm(
    forecast_events: dict[str, list[tuple[Any, ...]]],
    observed_events: dict[str, list[tuple[Any, ...]]],
) -> None:
    warned = forecast_events["RED"]
    assert warned[:2] == [
        ("orange", "issued", at("01:35"), "forecast", 56.0, 3),
        # 52 mm in 2 h + 48 mm/h: 100 mm in 3 h, an hour before it is observed.
        ("red", "upgraded", at("02:05"), "forecast", 100.0, 3),
    ]
    assert warned[2][:2] == ("red", "lifted")
    # Without lookahead the same storm is only signalled once observed: 100 mm at 03:05.
    assert observed_events["RED"][:2] == [
        ("orange", "issued", at("02:05"), "observed", 52.0, 3),
        ("red", "upgraded", at("03:05"), "observed", 100.0, 3),
    ]


def test_light_rain_gives_no_warning(
    forecast_events: dict[str, list[tuple[Any, ...]]],
    observed_events: dict[str, list[tuple[Any, ...]]],
) -> None:
    assert "LIGHT" not in forecast_events
    assert "LIGHT" not in observed_events


def test_gaps_are_windows_of_time_not_rows(
    observed_events: dict[str, list[tuple[Any, ...]]],
) -> None:
    levels = {event[0] for event in observed_events["GAP"]}
    assert levels == {"yellow"}  # 50 mm within 6 h, never 50 mm within 3 h


def test_lookahead_must_fit_the_shortest_window(readings: Any) -> None:
    with pytest.raises(ValueError, match="lookahead_minutes"):
        rain_warnings(readings, lookahead_minutes=180)
