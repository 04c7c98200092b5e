"""Where complaints recur beyond what size explains: weekly hotspots of communities and firms.

Communities: each (community, category, ISO week) count ``n`` is compared with what the
community's residents would give at that week's city-wide rate for the category,
``expected = residents x (complaints of the category that week / residents of the city)``.
Under "nothing special here", ``n`` is Poisson(expected); the statistic is the upper-tail
p-value ``P(N >= n)``. A cell is a hotspot when ``n >= MIN_COMPLAINTS`` and the p-value is
below ``ALPHA`` divided by the week's number of cells (Bonferroni: across ~1,000 cells a
week, one chance finding a month at most).

Firms: a complaint names a firm when the firm's registered name appears in its summary.
The exposure is the firms complaints name at all over the period (shops, restaurants,
bars: most registered firms are never the subject of a call), so
``expected = named complaints that week / firms ever named``, tested the same way with
``MIN_FIRM_COMPLAINTS`` and the Bonferroni share of ``ALPHA`` over those firms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

MIN_COMPLAINTS = 4
MIN_FIRM_COMPLAINTS = 3
ALPHA = 0.05
# Registered names shorter than this are too generic to find in free text.
MIN_NAME_CHARS = 6


def week_of(received_at: pd.Series) -> pd.Series:
    """Monday of the ISO week, as a date."""
    day = pd.to_datetime(received_at).dt.normalize()
    return (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.date


def _poisson_test(frame: pd.DataFrame, cells_per_week: pd.Series, minimum: int) -> pd.DataFrame:
    from scipy.stats import poisson

    out = frame.copy()
    out["p_value"] = poisson.sf(out["complaints"] - 1, out["expected"].clip(lower=1e-9))
    out["threshold"] = ALPHA / out["week"].map(cells_per_week).clip(lower=1)
    out["is_hotspot"] = (out["complaints"] >= minimum) & (out["p_value"] < out["threshold"])
    out["ratio"] = out["complaints"] / out["expected"].clip(lower=1e-9)
    return out


def community_hotspots(complaints: pd.DataFrame, residents: pd.Series) -> pd.DataFrame:
    """``complaints``: complaint_id, received_at, community_code, inferred_category;
    ``residents``: residents per community_code. One row per observed cell."""
    known = complaints[complaints["community_code"].isin(residents.index)].copy()
    known["week"] = week_of(known["received_at"])
    counts = (
        known.groupby(["week", "inferred_category", "community_code"])
        .size()
        .rename("complaints")
        .reset_index()
    )
    per_category = known.groupby(["week", "inferred_category"]).size().rename("city_complaints")
    counts = counts.join(per_category, on=["week", "inferred_category"])
    counts["residents"] = counts["community_code"].map(residents).astype(float)
    counts["expected"] = counts["residents"] * counts["city_complaints"] / float(residents.sum())
    cells = pd.Series(
        len(residents) * known["inferred_category"].nunique(), index=counts["week"].unique()
    )
    return _poisson_test(counts, cells, MIN_COMPLAINTS).rename(
        columns={"inferred_category": "category"}
    )


def name_matcher(names: Iterable[tuple[str, str]]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex of every usable firm name (longest first) and name -> firm key."""
    by_name: dict[str, str] = {}
    for key, name in names:
        if isinstance(name, str) and len(name) >= MIN_NAME_CHARS:
            by_name.setdefault(name, key)
    ordered = sorted(by_name, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in ordered)) if ordered else re.compile("$^")
    return pattern, by_name


def link_firms(summaries: pd.Series, firms: pd.DataFrame) -> pd.Series:
    """The firm key named in each summary (``firms``: enterprise_key, enterprise_name)."""
    pattern, by_name = name_matcher(
        zip(firms["enterprise_key"], firms["enterprise_name"], strict=True)
    )

    def first(text: object) -> str | None:
        found = pattern.search(text) if isinstance(text, str) else None
        return by_name[found.group(0)] if found else None

    return summaries.map(first)


def firm_hotspots(complaints: pd.DataFrame) -> pd.DataFrame:
    """``complaints``: received_at, enterprise_key (the named firm, or null)."""
    named = complaints[complaints["enterprise_key"].notna()].copy()
    firms = max(int(named["enterprise_key"].nunique()), 1)
    named["week"] = week_of(named["received_at"])
    counts = named.groupby(["week", "enterprise_key"]).size().rename("complaints").reset_index()
    per_week = named.groupby("week").size()
    counts["expected"] = counts["week"].map(per_week) / firms
    cells = pd.Series(firms, index=counts["week"].unique())
    return _poisson_test(counts, cells, MIN_FIRM_COMPLAINTS)


COLUMNS = (
    "kind", "week", "category", "community_code", "enterprise_key", "uscc", "complaints",
    "expected", "ratio", "p_value", "threshold", "is_hotspot",
)  # fmt: skip


def weekly_hotspots(
    complaints: pd.DataFrame, residents: pd.Series, firms: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """Every observed community and firm cell, tested; and the firm each complaint names.

    ``complaints``: complaint_id, received_at, community_code, inferred_category, summary;
    ``firms``: enterprise_key, enterprise_name, uscc.
    """
    links = link_firms(complaints["summary"], firms)
    communities = community_hotspots(complaints, residents).assign(kind="community")
    named = complaints.assign(enterprise_key=links)
    firm_cells = firm_hotspots(named).assign(kind="firm")
    firm_cells["uscc"] = firm_cells["enterprise_key"].map(firms.set_index("enterprise_key")["uscc"])
    cells = pd.concat([communities, firm_cells], ignore_index=True)
    for column in COLUMNS:
        if column not in cells.columns:
            cells[column] = None
    return cells[list(COLUMNS)], links
