"""Identity numbers and phones: the checksums must be exactly those of the standards."""

from __future__ import annotations

from datetime import date

import pytest

from citylake.identity import (
    birth_date_from_resident_id,
    gender_from_resident_id,
    is_valid_mobile,
    is_valid_resident_id,
    is_valid_uscc,
    make_resident_id,
    normalize_phone,
    normalize_resident_id,
    organization_code_check_char,
    resident_id_check_char,
    resident_id_from_legacy15,
    uscc_check_char,
)

# GB 11643-1999's own example. By hand with the BRIEF's weights:
#   digits   1  1  0  1  0  5  1  9  4  9  1  2  3  1  0  0  2
#   weights  7  9 10  5  8  4  2  1  6  3  7  9 10  5  8  4  2
#   products 7  9  0  5  0 20  2  9 24 27  7 18 30  5  0  0  4   S = 167
#   167 mod 11 = 2 -> "10X98765432"[2] = "X"
STANDARD_EXAMPLE = "11010519491231002X"
# Computed by hand the same way:
#   digits   4  4  0  5  2  4  1  9  8  0  0  1  0  1  0  0  1
#   products 28 36 0 25 16 16  2  9 48  0  0  9  0  5  0  0  2   S = 196
#   196 mod 11 = 9 -> "10X98765432"[9] = "3"
HAND_COMPUTED = "440524198001010013"
# Real unified social credit codes from public business registrations.
# 91350100M000100Y43, by hand (values: M=21, Y=30 in 0-9A-HJ-NP-RTUW-Y):
#   values   9  1  3  5  0  1  0  0 21  0  0  0  1  0  0 30  4
#   weights  1  3  9 27 19 26 16 17 20 29 25 13  8 24 10 30 28
#   products 9  3 27 135 0 26  0  0 420 0  0  0  8  0  0 900 112   Σ = 1640
#   1640 mod 31 = 28 -> (31 - 28) mod 31 = 3 -> "3"
REAL_USCCS = (
    "91350100M000100Y43",
    "914403001922038216",
    "91440300708461136T",
    "91110000802100433B",
)


def test_standard_and_hand_computed_resident_ids() -> None:
    assert resident_id_check_char(STANDARD_EXAMPLE[:17]) == "X"
    assert resident_id_check_char(HAND_COMPUTED[:17]) == "3"
    assert is_valid_resident_id(STANDARD_EXAMPLE)
    assert is_valid_resident_id(HAND_COMPUTED)
    assert birth_date_from_resident_id(STANDARD_EXAMPLE) == date(1949, 12, 31)
    assert gender_from_resident_id(STANDARD_EXAMPLE) == "F"  # sequence 002: even
    assert gender_from_resident_id(HAND_COMPUTED) == "M"  # sequence 001: odd


def test_every_wrong_check_char_is_rejected() -> None:
    for good in (STANDARD_EXAMPLE, HAND_COMPUTED):
        wrong = [good[:17] + c for c in "0123456789X" if c != good[17]]
        assert len(wrong) == 10
        assert not any(is_valid_resident_id(w) for w in wrong)


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002x",  # lower-case x: strict, normalize first
        "11010519491231002",  # 17 chars
        "1101051949123100201",  # 19 chars
        "110105194902300025",  # 30 February
        "A10105194912310024",
        "00010519491231002X",  # no province 00
        " 11010519491231002X",
        None,
        110105194912310020,
    ],
)
def test_malformed_resident_ids_are_rejected(value: object) -> None:
    assert not is_valid_resident_id(value)


def test_birth_date_validity_and_as_of() -> None:
    feb30 = "11010519490230002"  # a correct check char does not make 30 February a date
    assert not is_valid_resident_id(feb30 + resident_id_check_char(feb30))
    future = make_resident_id("110105", date(2030, 1, 1), 3)
    assert is_valid_resident_id(future)
    assert not is_valid_resident_id(future, as_of=date(2026, 9, 1))
    with pytest.raises(ValueError):
        birth_date_from_resident_id(feb30 + "0")


def test_normalize_and_legacy() -> None:
    assert normalize_resident_id(" 11010519491231002x ") == STANDARD_EXAMPLE
    assert normalize_resident_id(None) is None
    # 15-digit first-generation number of the same person: century 19 inserted, check added.
    assert resident_id_from_legacy15("110105491231002") == STANDARD_EXAMPLE


def test_make_resident_id_round_trip() -> None:
    rid = make_resident_id("339902", date(1990, 2, 28), 517)
    assert is_valid_resident_id(rid)
    assert birth_date_from_resident_id(rid) == date(1990, 2, 28)
    assert gender_from_resident_id(rid) == "M"


def test_real_world_usccs() -> None:
    assert uscc_check_char(REAL_USCCS[0][:17]) == "3"
    for code in REAL_USCCS:
        assert is_valid_uscc(code), code
        # Their embedded organization codes pass GB 11714 too.
        assert organization_code_check_char(code[8:16]) == code[16]


def test_corrupted_usccs_are_rejected() -> None:
    code = REAL_USCCS[0]
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert not any(is_valid_uscc(code[:17] + c) for c in alphabet if c != code[17])
    assert not is_valid_uscc(code.lower())
    assert not is_valid_uscc("91350100I000100Y43")  # I is not in the alphabet
    assert not is_valid_uscc(code[:17])
    assert not is_valid_uscc(None)
    # Swapping two adjacent characters changes the weighted sum: detected.
    assert not is_valid_uscc(code[:8] + code[9] + code[8] + code[10:])  # M0 -> 0M
    with pytest.raises(ValueError):
        uscc_check_char("91350100O000100Y4")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("12812345678", None),  # 12x is not a mobile prefix
        ("0571-88886666", None),  # landline
        ("1381234567", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_phone(raw: object, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_is_valid_mobile_is_strict_about_form() -> None:
    assert is_valid_mobile("19912345678")
    assert is_valid_mobile("+8613812345678")
    assert not is_valid_mobile("+86 138 1234 5678")
    assert not is_valid_mobile("12812345678")
    assert not is_valid_mobile(13812345678)


def test_column_checks_equal_the_value_checks() -> None:
    """identity_columns (numpy over whole columns) says what identity says, value by value."""
    import random

    import numpy as np
    import pyarrow as pa

    from citylake import identity
    from citylake.identity_columns import valid_resident_ids, valid_usccs

    rng = random.Random(5)
    prefixes = [*sorted(identity.PROVINCE_PREFIXES), "00", "99"]
    ids: list[str | None] = []
    for _ in range(50_000):
        born = f"{rng.randint(1880, 2110):04d}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
        first = f"{rng.choice(prefixes)}{rng.randint(0, 9999):04d}{born}{rng.randint(0, 999):03d}"
        ids.append(first + rng.choice([identity.resident_id_check_char(first), "X", "0", "x"]))
    ids += [None, "", "11010519491231002X", " 11010519491231002X", "11010519491231002X\n"]
    ids += ["1101051949123100２X", "110105200002290027", "110105190002290027", "１" * 18]
    got = valid_resident_ids(pa.array(ids, pa.string()))
    expected = np.array([v is not None and identity.is_valid_resident_id(v) for v in ids])
    assert (got == expected).all() and 1_000 < expected.sum() < len(ids) - 1_000

    codes: list[str | None] = []
    for _ in range(20_000):
        first = "".join(rng.choice(identity.USCC_ALPHABET) for _ in range(17))
        codes.append(first + rng.choice([identity.uscc_check_char(first), rng.choice("0AIOZ")]))
    codes += [None, "", "91110000600037341l", "9111000060003734１L"]
    got = valid_usccs(pa.array(codes, pa.string()))
    expected = np.array([v is not None and identity.is_valid_uscc(v) for v in codes])
    assert (got == expected).all() and 1_000 < expected.sum() < len(codes) - 1_000
