"""Identifiers and names (identifiers-and-codes.md §1, §5.6; security-checklist.md §2.10)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from registry.errors import InvalidIdentifier
from registry.identifiers import (
    NAME_MAX_LENGTH,
    AgbCode,
    BigNummer,
    Bsn,
    DeziNummer,
    RoleCode,
    Ura,
    keyed_subject_hash,
    normalise_name,
)

ASCII_DIGITS = st.text(alphabet="0123456789", min_size=0, max_size=14)
NUMBERS = [
    (DeziNummer, 9, "dezi_nummer"),
    (Ura, 8, "ura"),
    (BigNummer, 11, "big_nummer"),
    (AgbCode, 8, "agb_code"),
]


@pytest.mark.parametrize(("kind", "length", "field"), NUMBERS)
@given(digits=ASCII_DIGITS)
def test_digit_identifiers_accept_exactly_their_length(
    kind: type[DeziNummer], length: int, field: str, digits: str
) -> None:
    if len(digits) == length:
        assert kind(digits).value == digits
        assert str(kind(digits)) == digits
    else:
        with pytest.raises(InvalidIdentifier) as info:
            kind(digits)
        assert info.value.field == field
        assert info.value.code == "invalid_identifier"


@pytest.mark.parametrize(("kind", "length", "field"), NUMBERS)
@given(text=st.text(max_size=14))
def test_digit_identifiers_refuse_anything_but_ascii_digits(
    kind: type[DeziNummer], length: int, field: str, text: str
) -> None:
    ok = len(text) == length and all(c in "0123456789" for c in text)
    if ok:
        assert kind(text).value == text
    else:
        with pytest.raises(InvalidIdentifier):
            kind(text)


@pytest.mark.parametrize(
    "value",
    [
        "\u0669\u0660\u0660\u0660\u0660\u0660\u0660\u0661\u0669",
        "90000001\uff19",
        " 900000019",
        "900000019\n",
    ],
)
def test_non_ascii_digits_and_whitespace_are_refused(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        DeziNummer(value)


def test_leading_zeros_are_kept() -> None:
    assert Ura("00000010").value == "00000010"
    assert AgbCode("00000000").value == "00000000"


def test_dezi_numbers_have_no_check_digit() -> None:
    # 900022159 (Dezi acceptance) fails the BSN elfproef and must still be accepted.
    assert DeziNummer("900022159").value == "900022159"
    with pytest.raises(InvalidIdentifier):
        Bsn("900022159")


@given(st.from_regex(r"\A[0-9]{2}\.[0-9]{3}\Z"))
def test_role_code_form(code: str) -> None:
    assert RoleCode(code).value == code


@pytest.mark.parametrize(
    "code", ["01015", "1.015", "01.0150", "01.01a", "\u0660\u0661.\u0660\u0661\u0665", "01.015\n"]
)
def test_role_code_refused(code: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        RoleCode(code)
    assert info.value.field == "rol_code"


def _elfproef(value: str) -> bool:
    d = [int(c) for c in value]
    return (sum(d[i] * (9 - i) for i in range(8)) - d[8]) % 11 == 0


@pytest.mark.parametrize("bsn", ["999991772", "958310828", "932763133", "989539817", "982823046"])
def test_valid_bsns_from_the_reference(bsn: str) -> None:
    assert Bsn(bsn).value == bsn


@pytest.mark.parametrize("bsn", ["900020108", "900022868", "900000001", "000000000", "12345678"])
def test_invalid_bsns_from_the_reference(bsn: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Bsn(bsn)
    assert bsn not in info.value.description
    assert bsn not in info.value.log_detail


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_bsn_elfproef_property(value: str) -> None:
    if _elfproef(value) and value != "000000000":
        assert Bsn(value).value == value
    else:
        with pytest.raises(InvalidIdentifier):
            Bsn(value)


def test_bsn_is_redacted_and_hashed_with_a_key() -> None:
    bsn = Bsn("999991772")
    assert "999991772" not in repr(bsn)
    assert "999991772" not in str(bsn)
    key = b"k" * 32
    digest = bsn.keyed_hash(key)
    assert len(digest) == 64 and digest != bsn.keyed_hash(b"x" * 32)
    assert digest == keyed_subject_hash(key, "bsn", "999991772")
    assert digest != keyed_subject_hash(key, "other", "999991772")
    with pytest.raises(ValueError, match="32 bytes"):
        bsn.keyed_hash(b"short")


# -- names --------------------------------------------------------------------------------------

NAMES_KEPT = [
    "IJsbrand van 't Hoff",
    "Müller-Lüdenscheidt",
    "d'Ancona",
    "d’Ancona",  # U+2019
    "<script>alert(1)</script>",
    "Jansen-de Vries",
    "é ë ï ö ü ç ñ ø å ß",
    "Ĳsselstein",  # the ligature is kept as entered (NFC, not NFKC)
    "Zorgverlener 🩺",  # 4-byte character
    "van der",
    "in 't",
]


@pytest.mark.parametrize("name", NAMES_KEPT)
def test_names_are_kept_as_entered(name: str) -> None:
    assert normalise_name(name) == name


def test_nfd_input_is_stored_as_nfc() -> None:
    assert normalise_name("Rene\u0301") == "René"
    assert normalise_name("  Berg  ") == "Berg"


@pytest.mark.parametrize(
    "name",
    [
        "Jan\u200bsen",  # zero-width space
        "Jan\u200dsen",  # zero-width joiner
        "Jan\u202esen",  # right-to-left override
        "Jan\u2066sen",  # left-to-right isolate
        "Jan\nsen",
        "Jan\r\nsen",
        "Jan\x00sen",
        "Jan\x1b[31msen",  # ANSI escape
        "Jan\u2028sen",  # line separator
        "\ufeffJansen",  # BOM
        "",
        "   ",
        "x" * (NAME_MAX_LENGTH + 1),
    ],
)
def test_names_refused(name: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        normalise_name(name, field="achternaam")
    assert info.value.field == "achternaam"


def test_name_length_counts_code_points() -> None:
    assert normalise_name("é" * NAME_MAX_LENGTH) == "é" * NAME_MAX_LENGTH
    assert normalise_name("e\u0301" * NAME_MAX_LENGTH) == "é" * NAME_MAX_LENGTH


@given(st.text(max_size=200))
@example(" \u0301")
@example("\u0301 ")
def test_normalise_name_is_idempotent_and_nfc(value: str) -> None:
    try:
        once = normalise_name(value)
    except InvalidIdentifier:
        return
    assert normalise_name(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert once == once.strip() and 0 < len(once) <= NAME_MAX_LENGTH
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in once)
