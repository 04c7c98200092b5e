"""Entity-resolution throughput: mentions linked per second, per scale.

:func:`measure` times the two linkers on the mentions a built warehouse holds
(``intermediate.int_person_mentions`` / ``int_enterprise_mentions``), the same code the
dbt Python models run, and scores the result against that home's truth when it is
there. :func:`markdown` renders a BENCHMARKS.md section. ``make bench`` calls
:func:`measure` in each scale's home after its dbt build; standalone::

    python -m citylake.bench.entities --home /path/scale1 --home /path/scale10
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from citylake.settings import Settings, load_settings


@dataclass(frozen=True)
class EntityBench:
    scale: float | None
    kind: str
    mentions: int
    entities: int
    seconds: float
    f1: float | None

    @property
    def rate(self) -> float:
        return self.mentions / self.seconds if self.seconds else 0.0


def _scale(settings: Settings) -> float | None:
    import json

    manifest = settings.truth_root / "manifest.json"
    if not manifest.exists():
        return None
    return float(json.loads(manifest.read_text()).get("scale", 0)) or None


def _read(db: Path, table: str, schema: str) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"select * from {schema}.{table}").df()
    finally:
        con.close()


def measure(
    settings: Settings | None = None, schema: str = "intermediate", db: Path | None = None
) -> list[EntityBench]:
    """Time link_citizens and link_enterprises on one home's mentions (and score them)."""
    from citylake.entities.citizens import link_citizens
    from citylake.entities.enterprises import link_enterprises
    from citylake.entities.evaluate import score

    settings = settings or load_settings()
    db = db or settings.build_db
    scale = _scale(settings)
    truth = settings.truth_root / "record_entities.parquet"
    out: list[EntityBench] = []
    # The dbt DAG's order: the citizen linker reads the enterprise crosswalk (a licence's
    # representative is found through the enterprise), so enterprises are linked first.
    firms: pd.DataFrame | None = None
    for kind, table, key in (
        ("enterprises", "int_enterprise_mentions", "enterprise_key"),
        ("citizens", "int_person_mentions", "citizen_key"),
    ):
        mentions = _read(db, table, schema)
        clock = time.perf_counter()
        if firms is None:
            crosswalk = firms = link_enterprises(mentions)
        else:
            crosswalk = link_citizens(mentions, firms=firms)
        seconds = time.perf_counter() - clock
        f1 = None
        if truth.exists():
            con = duckdb.connect()
            con.register("crosswalk", crosswalk)
            f1 = score(con, kind, "crosswalk", settings.truth_root).f1
            con.close()
        out.append(EntityBench(scale, kind, len(mentions), crosswalk[key].nunique(), seconds, f1))
    return out


def markdown(results: list[EntityBench]) -> str:
    """A BENCHMARKS.md section: one row per scale and entity kind."""
    lines = [
        "## Entity resolution",
        "",
        "Linking only (mentions already staged): deterministic links plus, for citizens, Splink",
        "training (u by random sampling, m from pairs sharing a valid resident ID) and",
        "prediction on DuckDB; F1 is pairwise against the generator's truth.",
        "",
        "| scale | entities | mentions | unified | seconds | mentions/s | F1 |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        scale = f"{r.scale:g}" if r.scale is not None else "?"
        f1 = f"{r.f1:.4f}" if r.f1 is not None else "n/a"
        lines.append(
            f"| {scale} | {r.kind} | {r.mentions:,} | {r.entities:,} | {r.seconds:.2f} | "
            f"{r.rate:,.0f} | {f1} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", action="append", help="a built CITYLAKE_HOME (repeatable)")
    args = parser.parse_args(argv)
    results: list[EntityBench] = []
    for home in args.home or [None]:
        if home:
            os.environ["CITYLAKE_HOME"] = home
        results += measure(load_settings())
    print(markdown(results))


if __name__ == "__main__":
    main()
