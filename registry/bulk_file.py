"""The checks of every field of a bulk import row, and the typed rows they give.

Reading the file (encoding, header, delimiter, quoting) is ``registry.bulk_csv``, re-exported
here. Row-level problems are reasons on that row, per field, with the line number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TypeVar

from registry import codes
from registry.bulk_csv import (
    FORMULA_PREFIXES,
    MAX_FILE_BYTES,
    ORGANISATION_COLUMNS,
    STAFF_COLUMNS,
    ImportFile,
    ImportSource,
    Kind,
    RawRow,
    UnusableFile,
    load_import_file,
    open_import_file,
    parse_import_file,
)
from registry.errors import InvalidIdentifier
from registry.identifiers import AgbCode, BigNummer, Ura, normalise_name
from registry.staff import Names, normalise_staff_number

__all__ = [
    "FORMULA_PREFIXES",
    "MAX_FILE_BYTES",
    "ORGANISATION_COLUMNS",
    "STAFF_COLUMNS",
    "ImportFile",
    "ImportSource",
    "Kind",
    "OrganisationRow",
    "RawRow",
    "StaffRow",
    "UnusableFile",
    "load_import_file",
    "open_import_file",
    "parse_day",
    "parse_import_file",
    "validate_organisation",
    "validate_staff",
]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


@dataclass(frozen=True)
class OrganisationRow:
    line: int
    ura: str
    naam: str
    agb_code: str | None
    categorie: str


@dataclass(frozen=True)
class StaffRow:
    """One staff row: one declaration (professional x organisation x role).

    ``geldig_tot`` is the LAST day of validity, inclusive, as HR systems give an end date
    (``registry.bulk_rows`` stores the start of the next day as ``valid_until``).
    """

    line: int
    ura: str
    personeelsnummer: str
    names: Names
    big_nummer: str | None
    role: codes.Role
    geldig_vanaf: date
    geldig_tot: date | None


# -- field checks ---------------------------------------------------------------------------

_T = TypeVar("_T")
_FIRST_DAY = date(1900, 1, 1)
_LAST_DAY = date(2999, 12, 31)


def _checked(reasons: list[str], parse: Callable[[str], _T], value: str) -> _T | None:
    """``parse(value)``, or None with the field's reason added to ``reasons``."""
    try:
        return parse(value)
    except InvalidIdentifier as exc:
        reasons.append(exc.description)
        return None


def _stripped(build: Callable[[str], _T]) -> Callable[[str], _T]:
    return lambda value: build(value.strip())


def _optional(value: str, parse: Callable[[str], _T], reasons: list[str]) -> _T | None:
    return None if not value.strip() else _checked(reasons, parse, value)


def _name(field: str) -> Callable[[str], str]:
    return lambda value: normalise_name(value, field=field)


def parse_day(field: str, value: str) -> date:
    """An ISO 8601 calendar date ``YYYY-MM-DD`` between 1900 and 2999."""
    value = value.strip()
    try:
        if _ISO_DATE.fullmatch(value) is None:
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidIdentifier(field, "must be a date YYYY-MM-DD") from None
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise InvalidIdentifier(field, "must be between 1900-01-01 and 2999-12-31")
    return day


# The checks below are pure, and a file repeats the same URAs, roles and dates on every row:
# remembering the values that passed saves most of the checking of a large file (a value that
# fails raises, and nothing is remembered for it).
_cached = lru_cache(maxsize=16384)


@_cached
def _ura(value: str) -> str:
    return Ura(value.strip()).value


@_cached
def _day(field: str, value: str) -> date:
    return parse_day(field, value)


def _date(field: str) -> Callable[[str], date]:
    return lambda value: _day(field, value)


@_cached
def _role(value: str) -> codes.Role:
    found = codes.role(value)
    if not found.declarable:
        raise InvalidIdentifier("rol_code", "not a care-provider role")
    return found


def validate_organisation(raw: RawRow) -> OrganisationRow | list[str]:
    """The typed row, or the reasons (one per field) it is rejected."""
    if raw.problem is not None:
        return [raw.problem]
    reasons: list[str] = []
    cells = raw.cells
    ura = _checked(reasons, _ura, cells["ura"])
    naam = _checked(reasons, _name("naam"), cells["naam"])
    agb = _optional(cells["agb_code"], _stripped(lambda v: AgbCode(v).value), reasons)
    categorie = _checked(
        reasons, _stripped(lambda v: codes.organisation_type(v).code), cells["categorie"]
    )
    if reasons or ura is None or naam is None or categorie is None:
        return reasons
    return OrganisationRow(raw.line, ura, naam, agb, categorie)


def validate_staff(raw: RawRow) -> StaffRow | list[str]:
    """The typed row, or the reasons (one per field) it is rejected. Whether a BIG role has a
    BIG number is checked against the register too (``registry.bulk_rows``): the professional
    may be registered with one already."""
    if raw.problem is not None:
        return [raw.problem]
    reasons: list[str] = []
    cells = raw.cells
    ura = _checked(reasons, _ura, cells["ura"])
    staff_number = _checked(reasons, normalise_staff_number, cells["personeelsnummer"])
    initials = _checked(reasons, _name("voorletters"), cells["voorletters"])
    prefix = _optional(cells["voorvoegsel"], _name("voorvoegsel"), reasons)
    surname = _checked(reasons, _name("achternaam"), cells["achternaam"])
    big = _optional(cells["big_nummer"], _stripped(lambda v: BigNummer(v).value), reasons)
    role = _checked(reasons, _stripped(_role), cells["rol_code"])
    start = _checked(reasons, _date("geldig_vanaf"), cells["geldig_vanaf"])
    end = _optional(cells["geldig_tot"], _date("geldig_tot"), reasons)
    if start is not None and end is not None and end < start:
        reasons.append("geldig_tot: must not be before geldig_vanaf")
    if (
        reasons
        or ura is None
        or staff_number is None
        or initials is None
        or surname is None
        or role is None
        or start is None
    ):
        return reasons
    return StaffRow(
        line=raw.line,
        ura=ura,
        personeelsnummer=staff_number,
        names=Names(initials, prefix, surname),
        big_nummer=big,
        role=role,
        geldig_vanaf=start,
        geldig_tot=end,
    )
