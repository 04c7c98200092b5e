"""A throwaway dbt project holding the real access macros, to run them through real dbt.

The main project is large and changes under parallel work; this one compiles in seconds
and exercises exactly the macros (and the engines' pseudonym function) on each target.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"

# Values the checks compare with Python: (id, raw value).
VALUES = [
    (1, "11010519491231002X"),
    (2, " 11010519491231002x "),
    (3, "张三丰"),
    (4, "13812345678"),
    (5, "+86 138-1234-5678"),
    (6, "12345"),
    (7, None),
]

MODEL = """
{{ config(materialized='table') }}
with v as (
    {% for id, value in var('values') %}
    select {{ id }} as id, {{ "cast(null as " ~ dbt.type_string() ~ ")" if value is none
        else "'" ~ value ~ "'" }} as v
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)
select
    id,
    v,
    {{ pseudonym('v') }} as p,
    {{ mask_name('v') }} as name_masked,
    {{ mask_phone('v') }} as phone_masked
from v
"""


def make_project(root: Path) -> Path:
    """A dbt project at ``root`` with the access and cross-db macros and one model."""
    (root / "models").mkdir(parents=True)
    shutil.copytree(PROJECT / "macros" / "access", root / "macros" / "access")
    shutil.copy(PROJECT / "macros" / "normalize" / "_cross_db.sql", root / "macros")
    shutil.copy(PROJECT / "profiles.yml", root / "profiles.yml")
    values = ", ".join(f"[{i}, {'null' if v is None else repr(v)}]" for i, v in VALUES)
    (root / "dbt_project.yml").write_text(
        "name: citylake\nversion: '0.1.0'\nconfig-version: 2\nprofile: citylake\n"
        f"vars:\n  values: [{values}]\n"
    )
    (root / "models" / "access_macros.sql").write_text(MODEL)
    return root


def expected(key: str) -> dict[int, tuple[str | None, str | None, str | None]]:
    """id -> (pseudonym, masked name, masked phone) computed in Python."""
    import re

    from citylake.serving.pseudonym import pseudonym

    out: dict[int, tuple[str | None, str | None, str | None]] = {}
    for id_, value in VALUES:
        if value is None:
            out[id_] = (None, None, None)
            continue
        text = value.strip()
        digits = re.sub(r"[^0-9]", "", value)
        phone = (
            "*" * len(digits)
            if len(digits) < 8
            else digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
        )
        out[id_] = (pseudonym(key, text.upper()), text[0] + "*" * (len(text) - 1), phone)
    return out
