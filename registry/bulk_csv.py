"""Splitting a bulk import file into rows, streamed: encoding, header, delimiter, quoting.

The formats are INTERFACES.md "Bulk import files": UTF-8 CSV with a header row, and the header
decides the kind. What is accepted beyond the letter of that page, each on purpose:

- a UTF-8 byte order mark (Excel writes one) and CRLF line ends;
- semicolon-separated files (Excel's CSV in a Dutch locale): the delimiter is DETECTED from the
  header line, which must then be exactly one of the two headers split by ``;``;
- header names in any order and any case, with spaces around them;
- blank lines (skipped);
- a leading ``'`` before ``= + - @`` in a cell, which ``registry.export`` adds against formula
  injection (security-checklist.md K3, ASVS 1.2.10), is removed again so that an export
  re-imports unchanged.

The file is never held whole: it is decoded block by block and split by ``csv`` as it goes, so a
file of a million rows costs no more memory than one of a thousand. Anything that makes the WHOLE
file unusable (not UTF-8, no header, an unknown header, broken quoting) raises ``UnusableFile``:
the header at once (``open_import_file``), the rest while the rows are read, which the import
does into a temporary staging table before it changes anything (``registry.bulk``), so an
unusable file still changes nothing, without a separate first pass over the file.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar, Literal

from registry.errors import RegistryError

__all__ = [
    "FORMULA_PREFIXES",
    "MAX_FILE_BYTES",
    "ORGANISATION_COLUMNS",
    "STAFF_COLUMNS",
    "ImportFile",
    "ImportSource",
    "Kind",
    "RawRow",
    "UnusableFile",
    "load_import_file",
    "open_import_file",
    "parse_import_file",
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
# Streamed, so size costs time, not memory; the limit only stops an obvious mistake (a disk
# image instead of a CSV). Ten million staff rows are about 700 MiB.
MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024
# security-checklist.md K3: cells starting with these are formulas to a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@")
_FIELD_LIMIT = 64 * 1024
_BLOCK = 1 << 20
_BOM = b"\xef\xbb\xbf"


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
    """A file read whole from bytes (small files, tests, the admin upload)."""

    kind: Kind
    delimiter: str
    rows: list[RawRow]

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def iter_rows(self) -> Iterator[RawRow]:
        return iter(self.rows)


@dataclass(frozen=True)
class ImportSource:
    """A file on disk whose header has been read; ``iter_rows`` streams its rows. Problems
    further down (a byte that is not UTF-8, broken quoting) raise ``UnusableFile`` while the
    rows are read, which ``registry.bulk`` does into its staging table, before it writes
    anything to the register."""

    path: Path
    kind: Kind
    delimiter: str

    def iter_rows(self) -> Iterator[RawRow]:
        with self.path.open("rb") as handle:
            kind, delimiter, rows = _split(handle)
            if (kind, delimiter) != (self.kind, self.delimiter):
                raise UnusableFile(f"{self.path}: the file changed while it was imported")
            yield from rows


def _expected() -> str:
    return f"expected '{','.join(ORGANISATION_COLUMNS)}' or '{','.join(STAFF_COLUMNS)}'"


def _lines(handle: BinaryIO) -> Iterator[str]:
    """Decoded lines with their line ends, split like ``io.StringIO(text, newline="")`` splits
    (on CR, LF and CRLF only, so a stray U+2028 in a cell does not shift line numbers)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines = 0  # LF bytes in the blocks before this one, for the error's line number
    pending = ""
    first = True
    while True:
        block = handle.read(_BLOCK)
        if first and block.startswith(_BOM):
            block = block[len(_BOM) :]
        first = False
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            line = newlines + exc.object[: exc.start].count(b"\n") + 1
            raise UnusableFile(
                f"not UTF-8 (line {line}, byte 0x{exc.object[exc.start]:02x});"
                " save the file as UTF-8"
            ) from None
        newlines += block.count(b"\n")
        text = pending + text
        if not block:
            if text:
                yield text
            return
        pieces = io.StringIO(text, newline="").readlines()
        # The last piece may be cut off, or be a CR whose LF is in the next block.
        pending = pieces.pop() if pieces and not pieces[-1].endswith("\n") else ""
        yield from pieces


def _header_kind(header: list[str]) -> Kind | None:
    names = [name.strip().casefold() for name in header]
    if len(set(names)) != len(names):
        return None
    return _KINDS.get(frozenset(names))


def _unescape(cell: str) -> str:
    """Undo ``registry.export``'s guard: ``'=x`` was exported for ``=x`` (K3)."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def _split(handle: BinaryIO) -> tuple[Kind, str, Iterator[RawRow]]:
    """The kind and delimiter from the header, and the data rows (read lazily). Errors in the
    header raise at once; errors further down raise while the rows are read."""
    lines = _lines(handle)
    peeked: list[str] = []
    first_line = ""
    for line in lines:  # up to the first line with something on it
        peeked.append(line)
        if not first_line and line.strip("\r\n"):
            first_line = line.rstrip("\r\n")
        if line.strip():
            break
    else:
        raise UnusableFile("the file is empty; " + _expected())
    delimiter = ","
    if ";" in first_line and _header_kind(next(csv.reader([first_line]))) is None:
        delimiter = ";"
    source: Iterable[str] = itertools.chain(peeked, lines)
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    kind: Kind | None = None
    end = 0
    with _field_limit():
        try:
            for cells in reader:
                start, end = end + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                header = [name.strip().casefold() for name in cells]
                kind = _header_kind(cells)
                if kind is None:
                    raise UnusableFile(f"line {start}: unknown header; " + _expected())
                break
        except csv.Error as exc:
            raise UnusableFile(f"line {end + 1}: malformed CSV ({exc})") from None
    if header is None or kind is None:
        raise UnusableFile("the file has no header; " + _expected())
    return kind, delimiter, _rows(reader, header, end)


@contextmanager
def _field_limit() -> Iterator[None]:
    """``csv``'s field size limit is process-wide: raise it for the read, then restore it."""
    previous = csv.field_size_limit(_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _rows(reader: _csv.Reader, header: list[str], end: int) -> Iterator[RawRow]:
    width = len(header)
    with _field_limit():
        try:
            for cells in reader:
                start, end = end + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != width:
                    yield RawRow(start, {}, f"expected {width} fields, found {len(cells)}")
                    continue
                yield RawRow(start, dict(zip(header, map(_unescape, cells), strict=True)))
        except csv.Error as exc:
            raise UnusableFile(f"line {end + 1}: malformed CSV ({exc})") from None


def parse_import_file(data: bytes) -> ImportFile:
    """Split ``data`` into rows of the kind its header names; see the module docstring."""
    kind, delimiter, rows = _split(io.BytesIO(data))
    return ImportFile(kind=kind, delimiter=delimiter, rows=list(rows))


def open_import_file(path: Path) -> ImportSource:
    """Read ``path``'s header (the kind and the delimiter); ``UnusableFile`` when it cannot be
    read or has no usable header."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnusableFile(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB; split it")
        with path.open("rb") as handle:
            kind, delimiter, _rows = _split(handle)
    except OSError as exc:
        raise UnusableFile(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return ImportSource(path=path, kind=kind, delimiter=delimiter)


def load_import_file(path: Path) -> ImportSource:
    """``open_import_file``, under the name earlier callers know."""
    return open_import_file(path)
