"""Code lists loaded as data (config/codelists/), and the verklaring's role claims."""

from __future__ import annotations

import json

import pytest

from registry import codes
from registry.errors import InvalidIdentifier


def test_every_role_of_the_json_file_is_loaded() -> None:
    raw = json.loads((codes.CODELISTS_DIR / "role_codes.json").read_text(encoding="utf-8"))
    assert len(codes.roles()) == len(raw) == 84


def test_big_registered_role() -> None:
    huisarts = codes.role("01.015")
    assert huisarts.big_registered and huisarts.name == "Huisarts"
    assert codes.rol_naam("01.015") == "Huisarts"
    assert codes.rol_code_bron(huisarts) == "http://www.dezi.nl/rol_code_bron/big"


@pytest.mark.parametrize(
    ("code", "bron"),
    [
        ("86.000", "http://www.dezi.nl/rol_code_bron/wet_big_art34"),
        ("92.000", "http://www.dezi.nl/rol_code_bron/wet_big_art34"),
        ("99.000", "http://www.dezi.nl/rol_code_bron/wabvpz"),
        # Article 36a registrations are entered in the BIG register (codelists README).
        ("79.000", "http://www.dezi.nl/rol_code_bron/big"),
    ],
)
def test_rol_code_bron_follows_the_basis(code: str, bron: str) -> None:
    assert codes.rol_code_bron(code) == bron


def test_rol_naam_falls_back_to_english() -> None:
    assert codes.role("30.076").name is None
    assert codes.rol_naam("30.076") == codes.role("30.076").name_en


def test_no_profession_role_is_not_declarable() -> None:
    assert not codes.role("00.000").declarable
    with pytest.raises(InvalidIdentifier):
        codes.rol_code_bron("00.000")


@pytest.mark.parametrize("code", ["12.345", "01.001", "1.015"])
def test_unknown_or_malformed_role(code: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        codes.role(code)
    assert info.value.field == "rol_code"


def test_organisation_types() -> None:
    assert codes.organisation_type("T2").name == "Thuiszorg"
    assert set(codes.organisation_types()) >= {"A1", "G5", "H1", "L1", "T2", "V4", "V6", "X3"}
    with pytest.raises(InvalidIdentifier) as info:
        codes.organisation_type("Z9")
    assert info.value.field == "categorie"


def test_codelists_dir_is_the_repository_copy() -> None:
    assert codes.CODELISTS_DIR.is_dir()
    assert codes.CODELISTS_DIR.parent.name == "config"
