"""Role codes and care-provider categories, loaded as data from ``config/codelists/``.

The lists are versioned with the code and never copied into Python literals
(``config/codelists/README.md``). ``role_codes.json`` is the UZI-register table (CPS UZI-register
v10.2 Annex 3, Dutch names from the UZI proof of concept); ``organisation_types.json`` is a
partial zorgaanbiedercategorie list (RoleCodeNL OID 2.16.840.1.113883.2.4.15.1060).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from registry.errors import InvalidIdentifier
from registry.identifiers import RoleCode

__all__ = [
    "CODELISTS_DIR",
    "ROL_CODE_BRON_BIG",
    "OrganisationType",
    "Role",
    "organisation_type",
    "organisation_types",
    "rol_code_bron",
    "rol_naam",
    "role",
    "roles",
]

# The repository root holds config/; an editable install imports this very file from the
# checkout, so the same relative path works there too.
CODELISTS_DIR = Path(__file__).resolve().parents[1] / "config" / "codelists"

# dezi-interface.md (claim table): the Dezi v0.7 spec value for roles from the BIG register.
ROL_CODE_BRON_BIG = "http://www.dezi.nl/rol_code_bron/big"

# Dezi does not publish source URIs for roles outside the BIG register
# (identifiers-and-codes.md §2.2, "[unverified]"). These are this product's own, derived from
# the legal basis in role_codes.json; replace them if Dezi ever publishes its values.
_ROL_CODE_BRON_BY_BASIS = {
    "Wet BIG art. 3": ROL_CODE_BRON_BIG,
    "Wet BIG art. 34": "http://www.dezi.nl/rol_code_bron/wet_big_art34",
    "Wet BIG art. 36a": "http://www.dezi.nl/rol_code_bron/wet_big_art36a",
    "Wabvpz": "http://www.dezi.nl/rol_code_bron/wabvpz",
}


@dataclass(frozen=True)
class Role:
    """One row of ``role_codes.json``."""

    code: str
    name: str | None
    name_en: str
    big_registered: bool
    basis: str | None

    @property
    def declarable(self) -> bool:
        """Whether a declaration may carry this role: ``00.000`` (no profession, the role on
        N, M and S cards) has no legal basis and is not a care-provider role."""
        return self.basis is not None


@dataclass(frozen=True)
class OrganisationType:
    """One care-provider category (zorgaanbiedercategorie)."""

    code: str
    name: str
    name_en: str


def _load(name: str) -> Any:
    with (CODELISTS_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@cache
def roles() -> dict[str, Role]:
    """All role codes by code. Checked once: every code well-formed, every basis known."""
    table: dict[str, Role] = {}
    for entry in _load("role_codes.json"):
        item = Role(
            code=RoleCode(entry["code"]).value,
            name=entry["name"],
            name_en=entry["name_en"],
            big_registered=bool(entry["big_registered"]),
            basis=entry["basis"],
        )
        if item.basis is not None and item.basis not in _ROL_CODE_BRON_BY_BASIS:
            raise ValueError(f"role_codes.json: {item.code} has unknown basis {item.basis!r}")
        table[item.code] = item
    return table


@cache
def organisation_types() -> dict[str, OrganisationType]:
    """Care-provider categories by code (partial list, see the README beside it)."""
    data = _load("organisation_types.json")
    return {
        entry["code"]: OrganisationType(code=entry["code"], name=entry["name"], name_en=entry["en"])
        for entry in data["codes"]
    }


def role(code: str) -> Role:
    """The role for ``code``; ``InvalidIdentifier`` when it is malformed or not in the list."""
    checked = RoleCode(code).value
    found = roles().get(checked)
    if found is None:
        raise InvalidIdentifier("rol_code", "unknown role code")
    return found


def organisation_type(code: str) -> OrganisationType:
    """The category for ``code``; ``InvalidIdentifier`` when it is not in the list."""
    found = organisation_types().get(code) if isinstance(code, str) else None
    if found is None:
        raise InvalidIdentifier("categorie", "unknown care-provider category")
    return found


def _as_role(value: Role | str) -> Role:
    return value if isinstance(value, Role) else role(value)


def rol_code_bron(value: Role | str) -> str:
    """The ``rol_code_bron`` claim of the verklaring for a role (dezi-interface.md).

    BIG-registered roles (article 3 professions and the article 36a registrations entered in
    the BIG register) get the Dezi spec URI; the others get this product's URI for their basis.
    """
    item = _as_role(value)
    if item.big_registered:
        return ROL_CODE_BRON_BIG
    if item.basis is None:
        raise InvalidIdentifier("rol_code", "not a care-provider role")
    return _ROL_CODE_BRON_BY_BASIS[item.basis]


def rol_naam(value: Role | str) -> str:
    """The ``rol_naam`` claim: the Dutch name, else the English name (``30.076``)."""
    item = _as_role(value)
    return item.name if item.name else item.name_en
