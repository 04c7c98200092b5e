"""Pairwise precision, recall and F1 of the crosswalks against the generator's truth.

A mention is matched to the truth by (source, record key, role). The truth is the
generator's ``record_entities`` (every entity a record names, citizens of the city and
the outsiders it also names) plus its ``identity_links`` for sources whose records name a
person only through an identifier (queue tickets: role ``subject``). When the truth has no
such role for that source (the staging layer named it otherwise), by (source, record key)
where the truth names exactly one entity for that record. Mentions the truth still does
not know are counted (``unmatched``) with their source and role, and left out.

Over the matched mentions, a *pair* is two mentions in the same cluster: precision =
pairs predicted together that truly are together / pairs predicted together; recall =
the same / pairs truly together. The breakdown by the mention's identifier state (valid,
invalid checksum, missing) counts the pairs with at least one mention in that state:
whether a dirty mention was joined to the right entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

KINDS = {
    # kind: (crosswalk table, key column, truth id column, mentions table, identifier)
    "citizens": ("int_citizen_crosswalk", "citizen_key", "citizen_id", "int_person_mentions",
                 "resident_id"),
    "enterprises": ("int_enterprise_crosswalk", "enterprise_key", "enterprise_id",
                    "int_enterprise_mentions", "uscc"),
}  # fmt: skip
STATES = ("valid", "invalid", "missing")
# The truth's ids of people who are no citizen of the city (outsiders, newborns): the
# generator's OUTSIDER_PREFIX and NEWBORN_PREFIX, spelled here because the platform never
# imports the demo city (tests/test_departments.py checks that they agree).
NON_CITIZEN_PREFIXES = ("OUT", "NEW")


@dataclass(frozen=True)
class Pairs:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class PairwiseScore(Pairs):
    kind: str = ""
    mentions: int = 0
    evaluated: int = 0
    unmatched: int = 0
    true_entities: int = 0
    predicted_entities: int = 0
    # (source_id, role) -> mentions the truth does not know
    unmatched_by: dict[tuple[str, str], int] = field(default_factory=dict)
    # identifier state -> (mentions in that state, pairs touching one of them)
    by_state: dict[str, tuple[int, Pairs]] = field(default_factory=dict)


def count_pairs(frame: pd.DataFrame) -> Pairs:
    """Pairwise counts of a frame with one row per mention: ``pred`` (its predicted
    cluster) and ``true_id`` (its true entity)."""

    def count(keys: list[str]) -> int:
        n = frame.groupby(keys).size()
        return int((n * (n - 1) // 2).sum())

    return Pairs(count(["true_id"]), count(["pred"]), count(["pred", "true_id"]))


def _minus(a: Pairs, b: Pairs) -> Pairs:
    return Pairs(
        a.true_pairs - b.true_pairs,
        a.predicted_pairs - b.predicted_pairs,
        a.correct_pairs - b.correct_pairs,
    )


def _truth_sql(truth_root: Path, truth_id: str) -> str:
    entities = truth_root / "record_entities.parquet"
    links = truth_root / "identity_links.parquet"
    known = f"select distinct source_id, record_key, role, {truth_id} as true_id " \
            f"from read_parquet('{entities}') where {truth_id} is not null"  # fmt: skip
    if truth_id != "citizen_id" or not links.exists():
        return known
    # Sources that name a person only by an identifier keep it in identity_links.
    return f"""{known}
        union
        select distinct source_id, record_id, 'subject', citizen_id
        from read_parquet('{links}')
        where field = 'resident_id' and citizen_id is not null
          and source_id not in (select source_id from read_parquet('{entities}'))"""


def _state(con: duckdb.DuckDBPyConnection, mentions: str, identifier: str) -> str:
    columns = {r[0] for r in con.execute(f"describe {mentions}").fetchall()}
    valid = f"{identifier}_is_valid"
    if identifier not in columns or valid not in columns:
        return "'unknown'"
    return (
        f"case when m.{identifier} is null then 'missing' "
        f"when m.{valid} then 'valid' else 'invalid' end"
    )


def score(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    crosswalk: str,
    truth_root: Path,
    mentions: str | None = None,
) -> PairwiseScore:
    """Score one crosswalk relation (``schema.table`` readable on ``con``); with
    ``mentions`` (its mentions table) also by identifier state."""
    _table, key, truth_id, _mentions, identifier = KINDS[kind]
    state = _state(con, mentions, identifier) if mentions else "'unknown'"
    join = f"left join {mentions} m on m.mention_id = c.mention_id" if mentions else ""
    frame = con.execute(
        f"""
        with truth as ({_truth_sql(Path(truth_root), truth_id)}),
        roles as (select distinct source_id, role from truth),
        single as (
            select source_id, record_key, min(true_id) as true_id
            from truth group by all having count(distinct true_id) = 1
        )
        select c.mention_id, c.source_id, c.role, c.{key} as pred,
               coalesce(t.true_id, s.true_id) as true_id, {state} as id_state
        from {crosswalk} c
        {join}
        left join truth t
            on t.source_id = c.source_id and t.record_key = c.record_key and t.role = c.role
        left join single s
            on s.source_id = c.source_id and s.record_key = c.record_key
            and not exists (
                select 1 from roles r where r.source_id = c.source_id and r.role = c.role
            )
        """
    ).df()
    known = frame[frame["true_id"].notna()]
    lost = frame[frame["true_id"].isna()]
    everything = count_pairs(known)
    by_state = {}
    for s in sorted(set(known["id_state"]) - {"unknown"}, key=STATES.index):
        inside = known["id_state"] == s
        by_state[s] = (int(inside.sum()), _minus(everything, count_pairs(known[~inside])))
    return PairwiseScore(
        everything.true_pairs,
        everything.predicted_pairs,
        everything.correct_pairs,
        kind=kind,
        mentions=len(frame),
        evaluated=len(known),
        unmatched=len(lost),
        true_entities=int(known["true_id"].nunique()),
        predicted_entities=int(known["pred"].nunique()),
        unmatched_by={
            (str(s), str(r)): int(n)
            for (s, r), n in lost.groupby(["source_id", "role"], dropna=False).size().items()
        },
        by_state=by_state,
    )


@dataclass(frozen=True)
class EntityCount:
    kind: str
    dimension: int  # rows of dim_citizen / dim_enterprise
    true_entities: int  # distinct entities the truth names in landed records
    of_which_outsiders: int  # people the records name who are no citizen yet (or ever)

    @property
    def off(self) -> float:
        return self.dimension / self.true_entities - 1 if self.true_entities else float("nan")


def count_entities(
    con: duckdb.DuckDBPyConnection, kind: str, truth_root: Path, crosswalk: str
) -> EntityCount | None:
    """The dimension's rows against the distinct true entities behind its mentions."""
    dimension = {"citizens": "marts.dim_citizen", "enterprises": "marts.dim_enterprise"}[kind]
    try:
        rows = con.execute(f"select count(*) from {dimension}").fetchone()[0]
    except duckdb.CatalogException:
        return None
    truth_id = KINDS[kind][2]
    ids = con.execute(
        f"""with truth as ({_truth_sql(Path(truth_root), truth_id)})
        select distinct t.true_id from truth t
        join {crosswalk} c using (source_id, record_key, role)"""
    ).df()["true_id"]
    outside = ids.str.startswith(NON_CITIZEN_PREFIXES)
    return EntityCount(kind, int(rows), len(ids), int(outside.sum()))


def evaluate(
    db_path: Path, truth_root: Path, schema: str = "intermediate"
) -> tuple[list[PairwiseScore], list[EntityCount]]:
    """Scores and entity counts of both crosswalks in a warehouse file (read-only)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        scores, counts = [], []
        for kind, (table, _key, _truth, mentions, _identifier) in KINDS.items():
            crosswalk = f"{schema}.{table}"
            scores.append(score(con, kind, crosswalk, truth_root, f"{schema}.{mentions}"))
            found = count_entities(con, kind, truth_root, crosswalk)
            if found is not None:
                counts.append(found)
        return scores, counts
    finally:
        con.close()


def markdown(scores: list[PairwiseScore]) -> str:
    lines = [
        "| entities | mentions | evaluated | true entities | predicted | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(
            f"| {s.kind} | {s.mentions:,} | {s.evaluated:,} | {s.true_entities:,} | "
            f"{s.predicted_entities:,} | {s.precision:.4f} | {s.recall:.4f} | {s.f1:.4f} |"
        )
    return "\n".join(lines)
