"""Warning criteria per hazard, in exact integer units so a boundary is never a float.

Readings are converted once to integers in the unit the criterion is stated in (rain in
tenths of a mm, as gauges tip; temperature in tenths of a degree; river stage in cm; AQI
as the integer index), so ``50.0 mm`` reaches the blue signal and ``49.9 mm`` does not,
whatever the sum's float rounding would have said.

* **rainstorm** (China Meteorological Administration's rainstorm signals, each "will reach,
  or has reached and rain may continue"): blue 50 mm within 12 h, yellow 50 mm within 6 h,
  orange 50 mm within 3 h, red 100 mm within 3 h.
* **heat** (high-temperature signals, three levels): yellow when the daily maximum reaches
  35 °C three days running, orange 37 °C within 24 h, red 40 °C within 24 h.
* **flood** (hydrological warnings on a river's stage): yellow above the station's warning
  level (超警戒), red above its guaranteed level (超保证); each station carries its own.
* **air_quality** (the AQI bands 0-50, 51-100, 101-150, 151-200, 201-300, > 300): yellow
  when the hourly AQI exceeds 200 (heavy pollution, 重度污染: everyone is told to cut
  outdoor activity, the first band where the advice is for the whole public, not only
  sensitive groups), orange when it exceeds 300 (severe, 严重污染). Bands up to 200 are
  reported on the dashboards but warn nobody: a warning at 150 would fire on ordinary
  autumn days and teach people to ignore them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

COLOURS = ("blue", "yellow", "orange", "red")
HAZARDS = ("rainstorm", "heat", "flood", "air_quality")
# The feed each hazard is judged from, the metric it reads and its integer unit.
FEEDS = {
    "rainstorm": ("rain_gauge", "rain_mm", 10),
    "heat": ("weather_station", "temperature_c", 10),
    "flood": ("river_stage", "stage_m", 100),
    "air_quality": ("air_quality", "aqi", 1),
}
# The step between evaluations (minutes): the feeds' own cadence.
STEP_MINUTES = {"rainstorm": 5, "heat": 60, "flood": 5, "air_quality": 60}


def rank(colour: str | None) -> int:
    """0 for no warning, 1..4 for blue..red."""
    return 0 if colour is None else COLOURS.index(colour) + 1


def colour(level: int) -> str | None:
    return None if level == 0 else COLOURS[level - 1]


def to_units(value: float, hazard: str) -> int:
    """A reading in the criterion's integer unit (rounded half away from zero)."""
    scaled = value * FEEDS[hazard][2]
    return math.floor(abs(scaled) + 0.5) * (1 if scaled >= 0 else -1)


@dataclass(frozen=True)
class RainSignal:
    colour: str
    window_steps: int  # 5-minute intervals
    threshold: int  # tenths of a mm


# Highest first: the first one reached is the level.
RAIN_SIGNALS = (
    RainSignal("red", 36, 1000),
    RainSignal("orange", 36, 500),
    RainSignal("yellow", 72, 500),
    RainSignal("blue", 144, 500),
)
RAIN_WINDOWS = (36, 72, 144)


def rain_level(sums: dict[int, int]) -> int:
    """Level reached by trailing sums (window in 5-min steps -> tenths of a mm)."""
    for signal in RAIN_SIGNALS:
        if sums.get(signal.window_steps, 0) >= signal.threshold:
            return rank(signal.colour)
    return 0


HEAT_YELLOW, HEAT_ORANGE, HEAT_RED = 350, 370, 400  # tenths of a degree
HEAT_YELLOW_DAYS = 3


def heat_level(max_24h: int, daily_maxima: list[int]) -> int:
    """Level from the maximum of the last 24 h and the last days' maxima (oldest first,
    today last). Yellow needs ``HEAT_YELLOW_DAYS`` consecutive days at 35 °C or more."""
    if max_24h >= HEAT_RED:
        return rank("red")
    if max_24h >= HEAT_ORANGE:
        return rank("orange")
    recent = daily_maxima[-HEAT_YELLOW_DAYS:]
    if len(recent) == HEAT_YELLOW_DAYS and all(m >= HEAT_YELLOW for m in recent):
        return rank("yellow")
    return 0


def flood_level(stage_cm: int, warning_cm: int, guaranteed_cm: int) -> int:
    """Yellow above the warning level, red above the guaranteed level (at it does not count:
    the levels are the highest stage the banks are rated to hold)."""
    if stage_cm > guaranteed_cm:
        return rank("red")
    if stage_cm > warning_cm:
        return rank("yellow")
    return 0


AQI_YELLOW, AQI_ORANGE = 200, 300


def air_level(aqi: int) -> int:
    if aqi > AQI_ORANGE:
        return rank("orange")
    if aqi > AQI_YELLOW:
        return rank("yellow")
    return 0


def aqi_band(aqi: int) -> str:
    """The AQI band's name (the national standard HJ 633-2012)."""
    for top, name in (
        (50, "good"),
        (100, "moderate"),
        (150, "unhealthy_sensitive"),
        (200, "unhealthy"),
        (300, "heavy"),
    ):
        if aqi <= top:
            return name
    return "severe"
