"""Typed value objects for the identifiers the register holds, and name normalisation.

Formats follow ``reference/identifiers-and-codes.md`` §1: every number is a string of ASCII
digits (leading zeros matter), and only the BSN has a documented check digit (the elfproef).
Python's ``\\d`` also matches non-ASCII digits, so every pattern here is compiled with
``re.ASCII``.

Names follow §5.6 and ``security-checklist.md`` §2.10 (UN1-UN9): stored as entered, NFC-normalised
(DECISIONS.md #12), with invisible and line-breaking characters rejected.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from typing import ClassVar

from registry.errors import InvalidIdentifier

__all__ = [
    "NAME_MAX_LENGTH",
    "AgbCode",
    "BigNummer",
    "Bsn",
    "DeziNummer",
    "RoleCode",
    "Ura",
    "keyed_subject_hash",
    "normalise_name",
]

NAME_MAX_LENGTH = 128


@dataclass(frozen=True)
class _Identifier:
    """A string identifier checked against ``pattern`` when it is built."""

    value: str
    field_name: ClassVar[str] = "identifier"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r".+", re.ASCII)
    rule: ClassVar[str] = "is not valid"

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or self.pattern.fullmatch(self.value) is None:
            raise InvalidIdentifier(self.field_name, self.rule)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class DeziNummer(_Identifier):
    """Dezi number (= UZI number, zorgverlener-id): 9 digits.

    No check digit is documented and real numbers fail the BSN elfproef (``900022159``), so
    none is applied (identifiers-and-codes.md §1).
    """

    field_name: ClassVar[str] = "dezi_nummer"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[0-9]{9}", re.ASCII)
    rule: ClassVar[str] = "must be exactly 9 digits"


@dataclass(frozen=True)
class Ura(_Identifier):
    """URA (UZI-register abonneenummer, the organisation's number): 8 digits, zeros kept."""

    field_name: ClassVar[str] = "ura"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[0-9]{8}", re.ASCII)
    rule: ClassVar[str] = "must be exactly 8 digits"


@dataclass(frozen=True)
class BigNummer(_Identifier):
    """BIG registration number: the personal 11-digit number (NORA; §1)."""

    field_name: ClassVar[str] = "big_nummer"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[0-9]{11}", re.ASCII)
    rule: ClassVar[str] = "must be exactly 11 digits"


@dataclass(frozen=True)
class AgbCode(_Identifier):
    """AGB code: 8 digits; the first two are the Vektis zorgsoort (COD016)."""

    field_name: ClassVar[str] = "agb_code"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[0-9]{8}", re.ASCII)
    rule: ClassVar[str] = "must be exactly 8 digits"


@dataclass(frozen=True)
class RoleCode(_Identifier):
    """Role code (rolcode) ``beroep.specialisme``, ``^\\d{2}\\.\\d{3}$`` (§1, §2).

    Only the form is checked here; whether the code exists is ``registry.codes.role``.
    """

    field_name: ClassVar[str] = "rol_code"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[0-9]{2}\.[0-9]{3}", re.ASCII)
    rule: ClassVar[str] = "must have the form NN.NNN"


_BSN = re.compile(r"[0-9]{9}", re.ASCII)


@dataclass(frozen=True)
class Bsn:
    """Burgerservicenummer, checked with the elfproef (identifiers-and-codes.md §1).

    Exists only to be hashed for identity binding: DECISIONS.md #12 keeps the BSN out of the
    register in clear. ``repr`` and ``str`` are redacted, and errors never echo the value.
    """

    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or _BSN.fullmatch(self.value) is None:
            raise InvalidIdentifier("bsn", "must be exactly 9 digits")
        digits = [int(c) for c in self.value]
        total = sum(d * (9 - i) for i, d in enumerate(digits[:8])) - digits[8]
        if total % 11 != 0 or self.value == "000000000":
            raise InvalidIdentifier("bsn", "fails the elfproef")

    def __str__(self) -> str:
        return "*********"

    def keyed_hash(self, key: bytes) -> str:
        """The value to store in ``IdentityBinding.subject_hash``."""
        return keyed_subject_hash(key, "bsn", self.value)


def keyed_subject_hash(key: bytes, kind: str, subject: str) -> str:
    """HMAC-SHA-256 of ``kind`` and ``subject`` under ``key``, as lowercase hex.

    Keyed, so that a leaked table cannot be reversed by hashing every possible BSN (there are
    only 10^9). ``kind`` separates domains, so the same string under two kinds never collides.
    """
    if len(key) < 32:
        raise ValueError("the subject-hash key must be at least 32 bytes")
    message = kind.encode("utf-8") + b"\x00" + subject.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# Unicode general categories refused in names: controls (Cc, including NUL, CR, LF and ANSI
# escapes), format characters (Cf: zero-width space/joiners, bidi embeddings and overrides,
# soft hyphen, BOM), surrogates (Cs), private use (Co), and the line/paragraph separators
# U+2028/U+2029 (Zl, Zp). security-checklist.md UN7, K7.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def normalise_name(value: str, *, field: str = "name", max_length: int = NAME_MAX_LENGTH) -> str:
    """Return ``value`` NFC-normalised and stripped, or raise ``InvalidIdentifier``.

    Everything else is kept as entered: case, apostrophes (U+0027 and U+2019), prefixes,
    hyphens, HTML-looking text (escaping is the renderer's job) and 4-byte characters (UN1-UN8).
    The length limit counts code points after normalisation (UN9).
    """
    if not isinstance(value, str):
        raise InvalidIdentifier(field, "must be text")
    if value.isascii() and value.isprintable():
        # Printable ASCII is NFC already and holds none of the refused categories (only
        # U+0000-U+001F and U+007F are, and isprintable() excludes them): the bulk import
        # checks millions of names, almost all of this kind.
        text = value.strip()
        if not text:
            raise InvalidIdentifier(field, "must not be empty")
        if len(text) > max_length:
            raise InvalidIdentifier(field, f"must be at most {max_length} characters")
        return text
    text = unicodedata.normalize("NFC", value).strip()
    # Stripping can expose a combining mark at the start; normalise until stable.
    while not unicodedata.is_normalized("NFC", text) or text != text.strip():
        text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise InvalidIdentifier(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidIdentifier(field, f"must be at most {max_length} characters")
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise InvalidIdentifier(
                field,
                "contains an invisible or control character",
                log_detail=f"{field}: refused character U+{ord(char):04X}",
            )
    return text
