"""Reading import files: encoding, header, delimiter, line numbers and per-field reasons."""

from __future__ import annotations

import re
from datetime import date

import pytest

from registry.bulk_file import (
    STAFF_COLUMNS,
    OrganisationRow,
    StaffRow,
    UnusableFile,
    parse_import_file,
    validate_organisation,
    validate_staff,
)

STAFF_HEADER = ",".join(STAFF_COLUMNS)
ORG_HEADER = "ura,naam,agb_code,categorie"


def staff(*lines: str, header: str = STAFF_HEADER, end: str = "\n") -> bytes:
    return end.join([header, *lines, ""]).encode("utf-8")


def only_staff_row(line: str) -> StaffRow | list[str]:
    parsed = parse_import_file(staff(line))
    assert parsed.kind == "staff"
    [raw] = parsed.rows
    return validate_staff(raw)


def test_the_header_decides_the_kind() -> None:
    assert parse_import_file(f"{ORG_HEADER}\n".encode()).kind == "organisations"
    assert parse_import_file(staff()).kind == "staff"
    shuffled = "CATEGORIE, naam ,ura,agb_code\n12345678,X,T2,\n"
    parsed = parse_import_file(shuffled.encode())
    assert parsed.kind == "organisations"
    assert parsed.rows[0].cells == {
        "categorie": "12345678",
        "naam": "X",
        "ura": "T2",
        "agb_code": "",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf \r\n\r\n", "empty"),
        (b"ura,naam\n1,2\n", "unknown header"),
        (b"ura,naam,agb_code,categorie,extra\n", "unknown header"),
        (b"ura,ura,naam,agb_code,categorie\n", "unknown header"),
        ("ura,naam,agb_code,categorie\n1,Caf\xe9,,T2\n".encode("latin-1"), "not UTF-8 (line 2"),
        (b"\xff\xfeu\x00r\x00a\x00", "not UTF-8"),
        (b'ura,naam,agb_code,categorie\n12345678,"Open quote,,T2\n', "malformed CSV"),
        (b'ura,naam,agb_code,categorie\n12345678,"a"b,,T2\n', "malformed CSV"),
    ],
)
def test_unusable_files(data: bytes, message: str) -> None:
    with pytest.raises(UnusableFile, match=re.escape(message)) as caught:
        parse_import_file(data)
    assert caught.value.code == "unusable_file"


def test_bom_crlf_and_blank_lines() -> None:
    data = b"\xef\xbb\xbf" + staff(
        "90000101,P1,J.,,Jansen,,86.000,2025-01-01,", "", "90000101,P2,K.,,Smit,,86.000,2025-01-01,"
    ).replace(b"\n", b"\r\n")
    parsed = parse_import_file(data)
    assert [row.line for row in parsed.rows] == [2, 4]
    assert all(isinstance(validate_staff(row), StaffRow) for row in parsed.rows)


def test_semicolon_separated_files_are_detected_from_the_header() -> None:
    data = staff(
        "90000101;P1;J.;van 't;Hoff, de;;86.000;2025-01-01;",
        header=STAFF_HEADER.replace(",", ";"),
        end="\r\n",
    )
    parsed = parse_import_file(data)
    assert parsed.delimiter == ";"
    row = validate_staff(parsed.rows[0])
    assert isinstance(row, StaffRow)
    assert (row.names.voorvoegsel, row.names.achternaam) == ("van 't", "Hoff, de")


def test_quoted_newlines_keep_line_numbers_honest() -> None:
    data = f'{ORG_HEADER}\n12345678,"Twee\nregels",,T2\n87654321,X,,T2\n'.encode()
    parsed = parse_import_file(data)
    assert [row.line for row in parsed.rows] == [2, 4]
    assert validate_organisation(parsed.rows[0]) == [
        "naam: contains an invisible or control character"
    ]


def test_wrong_number_of_fields_is_a_row_problem() -> None:
    parsed = parse_import_file(f"{ORG_HEADER}\n12345678,X,T2\n".encode())
    assert validate_organisation(parsed.rows[0]) == ["expected 4 fields, found 3"]


def test_formula_guard_of_the_export_is_undone() -> None:
    parsed = parse_import_file(f"{ORG_HEADER}\n12345678,'=HYPERLINK(1),,T2\n".encode())
    row = validate_organisation(parsed.rows[0])
    assert isinstance(row, OrganisationRow) and row.naam == "=HYPERLINK(1)"
    kept = parse_import_file(f"{ORG_HEADER}\n12345678,'t Hof,,T2\n".encode())
    assert kept.rows[0].cells["naam"] == "'t Hof"


def test_organisation_fields() -> None:
    parsed = parse_import_file(
        f"{ORG_HEADER}\n 90000101 ,Thuiszorg 't Hof,,T2\n1234,,12,ZZ\n".encode()
    )
    good, bad = (validate_organisation(row) for row in parsed.rows)
    assert good == OrganisationRow(2, "90000101", "Thuiszorg 't Hof", None, "T2")
    assert bad == [
        "ura: must be exactly 8 digits",
        "naam: must not be empty",
        "agb_code: must be exactly 8 digits",
        "categorie: unknown care-provider category",
    ]


@pytest.mark.parametrize(
    ("line", "reasons"),
    [
        ("9000010,P1,J.,,Jansen,,86.000,2025-01-01,", ["ura: must be exactly 8 digits"]),
        ("90000101,,J.,,Jansen,,86.000,2025-01-01,", ["personeelsnummer: must not be empty"]),
        (
            "90000101,P1,J.,,Jansen,1234567890,86.000,2025-01-01,",
            ["big_nummer: must be exactly 11 digits"],
        ),
        ("90000101,P1,J.,,Jansen,,99.999,2025-01-01,", ["rol_code: unknown role code"]),
        ("90000101,P1,J.,,Jansen,,86,2025-01-01,", ["rol_code: must have the form NN.NNN"]),
        ("90000101,P1,J.,,Jansen,,00.000,2025-01-01,", ["rol_code: not a care-provider role"]),
        ("90000101,P1,J.,,Jansen,,86.000,01-01-2025,", ["geldig_vanaf: must be a date YYYY-MM-DD"]),
        ("90000101,P1,J.,,Jansen,,86.000,2025-02-30,", ["geldig_vanaf: must be a date YYYY-MM-DD"]),
        ("90000101,P1,J.,,Jansen,,86.000,,", ["geldig_vanaf: must be a date YYYY-MM-DD"]),
        (
            "90000101,P1,J.,,Jansen,,86.000,2025-01-02,2025-01-01",
            ["geldig_tot: must not be before geldig_vanaf"],
        ),
        (
            "90000101,P1,J.,,Jansen,,86.000,1899-12-31,",
            ["geldig_vanaf: must be between 1900-01-01 and 2999-12-31"],
        ),
        (
            "90000101,P1,J.,,Jan\u202esen,,86.000,2025-01-01,",
            ["achternaam: contains an invisible or control character"],
        ),
        (
            "90000101,P1,J.,,Jansen,,86.000,2025-01-01,x",
            ["geldig_tot: must be a date YYYY-MM-DD"],
        ),
        (
            "1,,,,,x,y,z,",
            [
                "ura: must be exactly 8 digits",
                "personeelsnummer: must not be empty",
                "voorletters: must not be empty",
                "achternaam: must not be empty",
                "big_nummer: must be exactly 11 digits",
                "rol_code: must have the form NN.NNN",
                "geldig_vanaf: must be a date YYYY-MM-DD",
            ],
        ),
    ],
)
def test_staff_fields_are_checked_one_by_one(line: str, reasons: list[str]) -> None:
    assert only_staff_row(line) == reasons


@pytest.mark.parametrize(
    ("voorletters", "voorvoegsel", "achternaam"),
    [
        ("I.", "van 't", "Hoff"),
        ("IJsbrand", "van 't", "Hoff"),
        ("A.", None, "Müller-Lüdenscheidt"),
        ("M.", "d'", "Ancona"),
        ("<script>alert(1)</script>", None, '"><img src=x onerror=alert(1)>'),
        ("E.", None, "D\u2019Ancona"),
        ("=cmd", None, "@SUM(1)"),
    ],
)
def test_names_are_kept_as_entered(
    voorletters: str, voorvoegsel: str | None, achternaam: str
) -> None:
    def cell(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    row = only_staff_row(
        f"90000101,P1,{cell(voorletters)},{cell(voorvoegsel)},{cell(achternaam)},,86.000,2025-01-01,"
    )
    assert isinstance(row, StaffRow)
    assert (row.names.voorletters, row.names.voorvoegsel, row.names.achternaam) == (
        voorletters,
        voorvoegsel,
        achternaam,
    )


def test_names_are_nfc_normalised_and_dates_parsed() -> None:
    row = only_staff_row("90000101, P-7 ,J.,,Mu\u0308ller,,01.015,2025-01-01,2026-12-31")
    assert isinstance(row, StaffRow)
    assert row.names.achternaam == "Müller"
    assert row.personeelsnummer == "P-7"
    assert (row.geldig_vanaf, row.geldig_tot) == (date(2025, 1, 1), date(2026, 12, 31))
    assert row.role.big_registered
