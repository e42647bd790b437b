"""Reading a bulk import file: encoding, header, rows, and the checks of every field.

The formats are INTERFACES.md "Bulk import files": UTF-8 CSV with a header row, and the header
decides the kind (organisations or staff with declarations). What this module accepts beyond
the letter of that page, each on purpose:

- a UTF-8 byte order mark (Excel writes one) and CRLF line ends;
- semicolon-separated files (Excel's CSV in a Dutch locale): the delimiter is DETECTED from the
  header line, which must then be exactly one of the two headers split by ``;``;
- header names in any order and any case, with spaces around them;
- blank lines (skipped);
- a leading ``'`` before ``= + - @`` in a cell, which ``registry.export`` adds against formula
  injection (security-checklist.md K3, ASVS 1.2.10), is removed again so that an export
  re-imports unchanged.

Anything that makes the whole file unusable (not UTF-8, no header, an unknown header, broken
quoting) raises ``UnusableFile`` before a single row is applied. Row-level problems are
reasons on that row, per field, with the line number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar, Literal, TypeVar

from registry import codes
from registry.errors import InvalidIdentifier, RegistryError
from registry.identifiers import AgbCode, BigNummer, Ura, normalise_name
from registry.staff import Names, normalise_staff_number

__all__ = [
    "FORMULA_PREFIXES",
    "MAX_FILE_BYTES",
    "ORGANISATION_COLUMNS",
    "STAFF_COLUMNS",
    "ImportFile",
    "Kind",
    "OrganisationRow",
    "RawRow",
    "StaffRow",
    "UnusableFile",
    "load_import_file",
    "parse_day",
    "parse_import_file",
    "validate_organisation",
    "validate_staff",
]

Kind = Literal["organisations", "staff"]
ORGANISATION_COLUMNS = ("ura", "naam", "agb_code", "categorie")
STAFF_COLUMNS = (
    "ura",
    "personeelsnummer",
    "voorletters",
    "voorvoegsel",
    "achternaam",
    "big_nummer",
    "rol_code",
    "geldig_vanaf",
    "geldig_tot",
)
_KINDS: dict[frozenset[str], Kind] = {
    frozenset(ORGANISATION_COLUMNS): "organisations",
    frozenset(STAFF_COLUMNS): "staff",
}
# The whole file is held in memory (a 100,000-row staff file is about 8 MB); past this size
# split it.
MAX_FILE_BYTES = 512 * 1024 * 1024
# security-checklist.md K3: cells starting with these are formulas to a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_FIELD_LIMIT = 64 * 1024


class UnusableFile(RegistryError):
    """The file cannot be imported at all (exit code 2)."""

    code: ClassVar[str] = "unusable_file"


@dataclass(frozen=True)
class RawRow:
    """One data row as read: its first physical line, and the cells by column name (or the
    reason it could not be split into the header's columns)."""

    line: int
    cells: dict[str, str]
    problem: str | None = None


@dataclass(frozen=True)
class ImportFile:
    kind: Kind
    delimiter: str
    rows: list[RawRow]


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


def load_import_file(path: Path) -> ImportFile:
    """Read and split ``path``; ``UnusableFile`` when it cannot be read or used."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnusableFile(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB; split it")
        data = path.read_bytes()
    except OSError as exc:
        raise UnusableFile(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_import_file(data)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnusableFile(
            f"not UTF-8 (line {line}, byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def _header_kind(header: list[str]) -> Kind | None:
    names = [name.strip().casefold() for name in header]
    if len(set(names)) != len(names):
        return None
    return _KINDS.get(frozenset(names))


def _expected() -> str:
    return f"expected '{','.join(ORGANISATION_COLUMNS)}' or '{','.join(STAFF_COLUMNS)}'"


def parse_import_file(data: bytes) -> ImportFile:
    """Split ``data`` into rows of the kind its header names; see the module docstring."""
    text = _decode(data)
    if not text.strip():
        raise UnusableFile("the file is empty; " + _expected())
    first_line = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    delimiter = ","
    if ";" in first_line and _header_kind(next(csv.reader([first_line]))) is None:
        delimiter = ";"
    previous_limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header: list[str] | None = None
        kind: Kind | None = None
        rows: list[RawRow] = []
        end = 0
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [name.strip().casefold() for name in cells]
                kind = _header_kind(cells)
                if kind is None:
                    raise UnusableFile(f"line {start}: unknown header; " + _expected())
                continue
            if len(cells) != len(header):
                rows.append(RawRow(start, {}, f"expected {len(header)} fields, found {len(cells)}"))
                continue
            rows.append(RawRow(start, dict(zip(header, map(_unescape, cells), strict=True))))
    except csv.Error as exc:
        raise UnusableFile(f"line {end + 1}: malformed CSV ({exc})") from None
    finally:
        csv.field_size_limit(previous_limit)
    if header is None or kind is None:
        raise UnusableFile("the file has no header; " + _expected())
    return ImportFile(kind=kind, delimiter=delimiter, rows=rows)


def _unescape(cell: str) -> str:
    """Undo ``registry.export``'s guard: ``'=x`` was exported for ``=x`` (K3)."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


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


def _date(field: str) -> Callable[[str], date]:
    return lambda value: parse_day(field, value)


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
    ura = _checked(reasons, _stripped(lambda v: Ura(v).value), cells["ura"])
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
    ura = _checked(reasons, _stripped(lambda v: Ura(v).value), cells["ura"])
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
