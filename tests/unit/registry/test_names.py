"""Dutch names through the register and back (security-checklist.md §2.10, UN1-UN8)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from registry import service
from registry.errors import InvalidIdentifier
from registry.models import Professional
from registry.repository import SqlRegister

from .factories import ACTOR, count, make_organisation

CASES = [
    ("I.", None, "IJsbrand van 't Hoff"),
    ("H.", None, "Müller-Lüdenscheidt"),
    ("J.", None, "d'Ancona"),
    ("J.", "d’", "Ancona"),
    ("A.", None, "<script>alert(1)</script>"),
    ("E.", "van der", "Berg"),
    ("C.", "in 't", "Veld"),
    ("K.", "op de", "Beek"),
    ("Ø.", None, "Ærøskøbing-Sørensen"),
    ("P.", None, "Dupont 🩺"),
    ("R.", None, '{"achternaam": "x"}'),
]


@pytest.mark.parametrize(("voorletters", "voorvoegsel", "achternaam"), CASES)
def test_names_are_stored_as_entered(
    engine: Engine, voorletters: str, voorvoegsel: str | None, achternaam: str
) -> None:
    issued = service.enrol_professional(engine, voorletters, voorvoegsel, achternaam, actor=ACTOR)
    found = SqlRegister(engine).find_professional(issued.dezi_nummer)
    assert found is not None
    assert (found.voorletters, found.voorvoegsel, found.achternaam) == (
        voorletters,
        voorvoegsel,
        achternaam,
    )


def test_nfd_input_comes_back_nfc(engine: Engine) -> None:
    issued = service.enrol_professional(engine, "R.", None, "Rene\u0301e", actor=ACTOR)
    found = SqlRegister(engine).find_professional(issued.dezi_nummer)
    assert found is not None and found.achternaam == "Renée"


@pytest.mark.parametrize("achternaam", ["Jan\u200bsen", "Jan\u202esen", "Jan\r\nsen"])
def test_invisible_characters_are_refused(engine: Engine, achternaam: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        service.enrol_professional(engine, "J.", None, achternaam, actor=ACTOR)
    assert info.value.field == "achternaam"
    assert count(engine, Professional) == 0


def test_organisation_names_too(engine: Engine) -> None:
    record = make_organisation(engine, "90000001", "Zorggroep 't Höfke")
    assert record.naam == "Zorggroep 't Höfke"
    with pytest.raises(InvalidIdentifier):
        make_organisation(engine, "90000002", "Zorg\u200dgroep")
