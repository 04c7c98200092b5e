"""Pairwise precision, recall and F1 of the crosswalks against the generator's truth.

A mention is matched to the truth's ``record_entities`` by (source, record key, role);
when the truth has no such role for that source (the staging layer named it otherwise),
by (source, record key) where the truth names exactly one citizen (or enterprise) for
that record. Mentions the truth does not know are counted
(``unmatched``) and left out. Over the matched mentions, a *pair* is two mentions in
the same cluster: precision = pairs predicted together that truly are together /
pairs predicted together; recall = the same / pairs truly together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

KINDS = {
    # kind: (crosswalk table, key column, truth id column)
    "citizens": ("int_citizen_crosswalk", "citizen_key", "citizen_id"),
    "enterprises": ("int_enterprise_crosswalk", "enterprise_key", "enterprise_id"),
}


@dataclass(frozen=True)
class PairwiseScore:
    kind: str
    mentions: int
    evaluated: int
    unmatched: int
    true_entities: int
    predicted_entities: int
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


def score(
    con: duckdb.DuckDBPyConnection, kind: str, crosswalk: str, truth_root: Path
) -> PairwiseScore:
    """Score one crosswalk relation (``schema.table`` readable on ``con``)."""
    _table, key, truth_id = KINDS[kind]
    truth = f"read_parquet('{truth_root / 'record_entities.parquet'}')"
    row = con.execute(
        f"""
        with truth as (
            select distinct source_id, record_key, role, {truth_id} as true_id
            from {truth} where {truth_id} is not null
        ),
        roles as (select distinct source_id, role from truth),
        single as (
            select source_id, record_key, min(true_id) as true_id
            from truth group by all having count(distinct true_id) = 1
        ),
        x as (
            select c.mention_id, c.{key} as pred,
                   coalesce(t.true_id, s.true_id) as true_id
            from {crosswalk} c
            left join truth t using (source_id, record_key, role)
            left join single s
                on s.source_id = c.source_id and s.record_key = c.record_key
                and not exists (
                    select 1 from roles r where r.source_id = c.source_id and r.role = c.role
                )
        ),
        ev as (select * from x where true_id is not null),
        pp as (select count(*) n from ev group by pred),
        tp as (select count(*) n from ev group by true_id),
        cp as (select count(*) n from ev group by pred, true_id)
        select
            (select count(*) from x),
            (select count(*) from ev),
            (select count(*) from x where true_id is null),
            (select count(*) from tp),
            (select count(*) from pp),
            (select coalesce(sum(n * (n - 1) / 2), 0) from tp),
            (select coalesce(sum(n * (n - 1) / 2), 0) from pp),
            (select coalesce(sum(n * (n - 1) / 2), 0) from cp)
        """
    ).fetchall()[0]  # fetchall: leaves no unfinished result on the connection
    return PairwiseScore(kind, *(int(v) for v in row))


def evaluate(db_path: Path, truth_root: Path, schema: str = "intermediate") -> list[PairwiseScore]:
    """Scores of both crosswalks in a warehouse file (opened read-only)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return [
            score(con, kind, f"{schema}.{table}", truth_root)
            for kind, (table, _key, _truth) in KINDS.items()
        ]
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
