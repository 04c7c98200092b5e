"""Enterprises: every enterprise mention to one unified enterprise, deterministically.

Rules, in order (the first that applies wins; ``match_rule`` says which):

1. ``uscc``: a valid unified social credit code (GB 32100 checksum) is the enterprise.
2. ``registration_no``: a valid legacy 15-digit registration number (ISO 7064
   MOD 11,10) known next to exactly one credit code somewhere (the market supervision
   register carries both) is that code's enterprise; known next to none, it is an
   enterprise of its own (``REG:<number>``), shared by every mention carrying it.
3. ``taxpayer_id``: the tax bureau's 15-character taxpayer number of a firm without a
   credit code (6-digit district + 9-char organization code) is positions 3-17 of the
   credit code issued later: linked when exactly one known code contains it.
4. ``name``: the normalized name (full-width folded, traditional to simplified, spaces
   and brackets removed) of exactly one known enterprise (or one in the same district
   when the name is ambiguous city-wide).
5. ``name_only``: mentions with nothing above that share a normalized name form one
   enterprise (``NAME:<name>``); ``unlinked`` when the mention has no name either.

A registration number or name never merges two different valid credit codes: they
only attach mentions that lack a valid code.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from functools import cache

import pandas as pd

log = logging.getLogger(__name__)

CROSSWALK_COLUMNS = [
    "mention_id",
    "source_id",
    "record_key",
    "role",
    "enterprise_key",
    "match_rule",
    "match_probability",
]
_NOISE = re.compile(r"[\s()（）\[\]【】·.,，、\-]")


def is_valid_registration_no(value: object) -> bool:
    """15 ASCII digits whose last one is the ISO 7064 MOD 11,10 check digit."""
    if not isinstance(value, str) or len(value) != 15 or not value.isascii() or not value.isdigit():
        return False
    p = 10
    for ch in value[:14]:
        s = (p + int(ch)) % 10 or 10
        p = (2 * s) % 11
    return value[14] == str((11 - p) % 10)


def _t2s(text: str) -> str:
    try:
        from opencc import OpenCC
    except ImportError:  # pragma: no cover - opencc ships with the project's venv
        return text
    return _converter(OpenCC).convert(text)


_CONVERTERS: dict[type, object] = {}


def _converter(cls: type) -> object:
    if cls not in _CONVERTERS:
        _CONVERTERS[cls] = cls("t2s")
    return _CONVERTERS[cls]


def normalize_name(name: object) -> str | None:
    """Comparable enterprise name: NFKC, simplified characters, no spaces or brackets."""
    if not isinstance(name, str):
        return None
    return _normalize_name(name)


@cache
def _normalize_name(name: str) -> str | None:  # names repeat across mentions: convert once
    return _NOISE.sub("", _t2s(unicodedata.normalize("NFKC", name))) or None


def link_enterprises(mentions: pd.DataFrame) -> pd.DataFrame:
    """The enterprise crosswalk (:data:`CROSSWALK_COLUMNS`) for enterprise mentions."""
    m = mentions.drop_duplicates("mention_id").reset_index(drop=True)
    uscc = m["uscc"].where(m["uscc_is_valid"].fillna(False).astype(bool))
    reg = m["registration_no"].where(m["registration_no"].map(is_valid_registration_no))
    names = m["enterprise_name"].map(normalize_name)
    district = m["district_code"]

    # Legacy numbers and taxpayer numbers -> the credit codes they appear with.
    reg_to_uscc: dict[str, set[str]] = defaultdict(set)
    for r, u in zip(reg, uscc, strict=True):
        if isinstance(r, str) and isinstance(u, str):
            reg_to_uscc[r].add(u)
    known = set(uscc.dropna())
    tax_to_uscc: dict[str, set[str]] = defaultdict(set)
    for u in known:
        tax_to_uscc[u[2:17]].add(u)

    keys: list[str | None] = [None] * len(m)
    rules: list[str] = ["unlinked"] * len(m)
    for i in range(len(m)):
        u, r, raw = uscc[i], reg[i], m.at[i, "uscc"]
        if isinstance(u, str):
            keys[i], rules[i] = u, "uscc"
        elif isinstance(r, str):
            codes = reg_to_uscc.get(r, set())
            if len(codes) == 1:
                keys[i], rules[i] = next(iter(codes)), "registration_no"
            elif not codes:
                keys[i], rules[i] = f"REG:{r}", "registration_no"
        elif isinstance(raw, str) and len(raw) == 15 and len(tax_to_uscc.get(raw, ())) == 1:
            keys[i], rules[i] = next(iter(tax_to_uscc[raw])), "taxpayer_id"

    # Names of the enterprises found so far (with their districts) for rule 4.
    by_name: dict[str, set[str]] = defaultdict(set)
    by_name_district: dict[tuple[str, object], set[str]] = defaultdict(set)
    for i, k in enumerate(keys):
        if k is not None and isinstance(names[i], str):
            by_name[names[i]].add(k)
            by_name_district[(names[i], district[i])].add(k)
    for i in range(len(m)):
        if keys[i] is not None or not isinstance(names[i], str):
            continue
        candidates = by_name.get(names[i], set())
        if len(candidates) > 1:
            candidates = by_name_district.get((names[i], district[i]), set())
        if len(candidates) == 1:
            keys[i], rules[i] = next(iter(candidates)), "name"
        elif not candidates:
            keys[i], rules[i] = f"NAME:{names[i]}", "name_only"
    for i in range(len(m)):
        if keys[i] is None:
            keys[i] = f"U:{m.at[i, 'mention_id']}"
            rules[i] = "unlinked" if rules[i] == "unlinked" else rules[i]

    out = m[["mention_id", "source_id", "record_key", "role"]].copy()
    out["enterprise_key"] = keys
    out["match_rule"] = rules
    out["match_probability"] = 1.0
    log.info(
        "enterprises: %d mentions -> %d enterprises (%s)",
        len(out),
        out["enterprise_key"].nunique(),
        out["match_rule"].value_counts().to_dict(),
    )
    return out[CROSSWALK_COLUMNS]
