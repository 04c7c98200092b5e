"""Check characters and validators for Chinese identity numbers and mobile phones.

Pure functions on strings, standard library only: they run inside Great Expectations
custom expectations, dbt Python models and the generator, so they must be cheap to
import and must not read a clock (``is_valid_resident_id`` takes an explicit ``as_of``).

Decisions, so every layer agrees:

* Resident identity numbers (GB 11643-1999) are validated **strictly**: the check
  character must be an upper-case ``X``. The standard prints the Roman numeral ten as
  ``X``; a lower-case ``x`` is a keying variant, not a different number, so staging
  calls :func:`normalize_resident_id` (trim, upper-case) *before* validating. Keeping
  the validator strict lets quality reports count un-normalized deliveries.
* The 6-digit division code must be digits with a known province-level prefix
  (GB/T 2260, plus 83 used by residence permits for Hong Kong, Macao and Taiwan
  residents); we do not check county codes because they change every year and old IDs
  keep the code valid at issue time.
* Unified social credit codes (GB 32100-2015) are validated on length, alphabet
  (no I, O, S, V, Z) and check character, as the standard defines; the embedded 9-char
  organization code has its own GB 11714 check, offered separately.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

RESIDENT_ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK_CHARS = "10X98765432"  # indexed by S mod 11
PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 symbols; value = index
USCC_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}

ORG_CODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # A=10 ... Z=35

_DIGITS17 = re.compile(r"[0-9]{17}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_STRICT_MOBILE = re.compile(r"(?:\+86)?1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


# ---------------------------------------------------------------- resident identity


def resident_id_check_char(first17: str) -> str:
    """The check character for the first 17 digits: ``"10X98765432"[S mod 11]``."""
    if not isinstance(first17, str) or not _DIGITS17.fullmatch(first17):
        raise ValueError(f"need 17 digits, got {first17!r}")
    s = sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK_CHARS[s % 11]


def normalize_resident_id(value: str | None) -> str | None:
    """Trim, fold full-width characters and upper-case a trailing ``x``; None stays None."""
    if value is None:
        return None
    return unicodedata.normalize("NFKC", value).strip().upper()


def _birth_date(s: str) -> date | None:
    try:
        return date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None


def is_valid_resident_id(s: object, *, as_of: date | None = None) -> bool:
    """True for an 18-char resident identity number that passes every structural check.

    Checks: 17 digits + check char (strict upper-case X), known province prefix, a real
    calendar birth date in 1900..2099 (not after ``as_of`` when given), and the check
    character. No clock is read: pass ``as_of`` to reject births in the future.
    """
    if not isinstance(s, str) or len(s) != 18 or not _DIGITS17.fullmatch(s[:17]):
        return False
    if s[:2] not in PROVINCE_PREFIXES:
        return False
    born = _birth_date(s)
    if born is None or not 1900 <= born.year <= 2099:
        return False
    if as_of is not None and born > as_of:
        return False
    return s[17] == resident_id_check_char(s[:17])


def birth_date_from_resident_id(s: str) -> date:
    """Birth date encoded in positions 7-14; ValueError when it is not a calendar date."""
    if not isinstance(s, str) or len(s) != 18 or not s[6:14].isdigit():
        raise ValueError(f"not an 18-char resident identity number: {s!r}")
    born = _birth_date(s)
    if born is None:
        raise ValueError(f"birth date {s[6:14]} in {s!r} is not a calendar date")
    return born


def gender_from_resident_id(s: str) -> str:
    """``"M"`` when the 3-digit sequence (positions 15-17) is odd, else ``"F"``."""
    if not isinstance(s, str) or len(s) != 18 or not s[16].isdigit():
        raise ValueError(f"not an 18-char resident identity number: {s!r}")
    return "M" if int(s[16]) % 2 == 1 else "F"


def make_resident_id(division: str, born: date, sequence: int) -> str:
    """Assemble a valid number from its parts (sequence 0..999, parity = gender)."""
    if len(division) != 6 or not division.isdigit() or not 0 <= sequence <= 999:
        raise ValueError(f"bad parts: division={division!r} sequence={sequence}")
    first17 = f"{division}{born:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def resident_id_from_legacy15(s: str) -> str:
    """Upgrade a first-generation 15-digit number (YYMMDD, all 19xx) to 18 chars."""
    if not isinstance(s, str) or len(s) != 15 or not s.isdigit():
        raise ValueError(f"not a 15-digit legacy resident identity number: {s!r}")
    first17 = s[:6] + "19" + s[6:]
    return first17 + resident_id_check_char(first17)


# ---------------------------------------------------------------- unified social credit code


def uscc_check_char(first17: str) -> str:
    """The check character: value (31 - Σ value×weight mod 31) mod 31 in the USCC alphabet."""
    if not isinstance(first17, str) or len(first17) != 17:
        raise ValueError(f"need 17 characters, got {first17!r}")
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the USCC alphabet ({first17!r})") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(s: object) -> bool:
    """18 chars over ``0-9A-HJ-NP-RTUW-Y`` (upper case) with a matching check character."""
    if not isinstance(s, str) or len(s) != 18 or any(c not in _USCC_VALUE for c in s):
        return False
    return s[17] == uscc_check_char(s[:17])


def organization_code_check_char(first8: str) -> str:
    """GB 11714 check char of a 9-char organization code (positions 9-17 of a USCC)."""
    if not isinstance(first8, str) or len(first8) != 8 or not first8.isalnum():
        raise ValueError(f"need 8 alphanumeric characters, got {first8!r}")
    total = sum(
        _ORG_ALPHABET.index(c) * w for c, w in zip(first8.upper(), ORG_CODE_WEIGHTS, strict=True)
    )
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_uscc(first17: str) -> str:
    """Append the check character to 17 USCC characters."""
    return first17 + uscc_check_char(first17)


# ---------------------------------------------------------------- phones


def normalize_phone(value: object) -> str | None:
    """The 11-digit mainland mobile number in ``value``, or None when there is none.

    Accepts the ways people key numbers: spaces, dashes, dots, brackets, full-width
    digits, and a ``+86`` / ``0086`` / ``86`` country prefix. Landlines and foreign
    numbers give None (they are not mobile identities).
    """
    if not isinstance(value, str):
        return None
    text = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif len(text) == 13 and text.startswith("86"):
        text = text[2:]
    return text if _MOBILE.fullmatch(text) else None


def is_valid_mobile(value: object) -> bool:
    """Strict form check: ``1[3-9]`` + 9 digits, optionally prefixed by ``+86``, nothing else."""
    return isinstance(value, str) and _STRICT_MOBILE.fullmatch(value) is not None
