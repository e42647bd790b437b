"""The demo data of INTERFACES.md ("Demo data"), created through the service layer.

Idempotent: every step is either a no-op service call or guarded by a lookup, so a second run
changes nothing and writes no audit record. The people and organisations are fictional.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry import service
from registry.db import read_session
from registry.models import Declaration, Organisation, Professional

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_HOME_CARE",
    "DEMO_ORGANISATIONS",
    "DEMO_PROFESSIONALS",
    "SEED_ACTOR",
    "demo_uras",
    "seed_demo",
]

SEED_ACTOR = "system:seed"
DEMO_CLIENT_ID = "demo-epd"
_VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)

GP_PRACTICE = "90000001"
# Fifteen home-care organisations (categorie T2) for the carer with many employers; names are
# made up, some with the diacritics and apostrophes real Dutch names carry.
DEMO_HOME_CARE: tuple[tuple[str, str], ...] = (
    ("90000101", "Thuiszorg De Linde"),
    ("90000102", "Thuiszorg Het Wâldhûs"),
    ("90000103", "Wijkverpleging Mariënweide"),
    ("90000104", "Thuiszorg Coöperatie Westland"),
    ("90000105", "Thuiszorg 't Kruispunt"),
    ("90000106", "Zorg aan Huis Groenewoud"),
    ("90000107", "Thuiszorg IJsselvallei"),
    ("90000108", "Thuiszorg Noorderlicht"),
    ("90000109", "Wijkzorg Oranjehof"),
    ("90000110", "Thuiszorg Zuid-Limburg"),
    ("90000111", "Thuiszorg De Vaart"),
    ("90000112", "Thuiszorg Duinzicht"),
    ("90000113", "Thuiszorg Reünie Hoeksche Waard"),
    ("90000114", "Thuiszorg Belvédère"),
    ("90000115", "Thuiszorg Eikenhorst"),
)
DEMO_ORGANISATIONS: tuple[tuple[str, str, str], ...] = (
    (GP_PRACTICE, "Huisartsenpraktijk Het Spaarne", "H1"),
    *((ura, naam, "T2") for ura, naam in DEMO_HOME_CARE),
)

# dezi_nummer -> (voorletters, voorvoegsel, achternaam, big_nummer)
DEMO_PROFESSIONALS: dict[str, tuple[str, str | None, str, str | None]] = {
    "900000019": ("A.M.", None, "Jansen", "19022222201"),  # physician (huisarts)
    "900000027": ("J.", "van der", "Berg", None),  # verzorgende IG at 15 organisations
    "900000035": ("S.", "van 't", "Hoff", "39022222230"),  # nurse, declaration revoked
    "900000043": ("K.", "de", "Groot", None),  # registry administrator
    "900000051": ("L.", None, "Müller-Lüdenscheidt", None),  # administrator of 90000101
}

# (dezi_nummer, ura, rol_code, revoked)
_DEMO_DECLARATIONS: tuple[tuple[str, str, str, bool], ...] = (
    ("900000019", GP_PRACTICE, "01.015", False),
    *(("900000027", ura, "86.000", False) for ura, _ in DEMO_HOME_CARE),
    ("900000035", GP_PRACTICE, "30.000", True),
    ("900000051", "90000101", "99.000", False),
)


def demo_uras() -> tuple[str, ...]:
    return tuple(ura for ura, _, _ in DEMO_ORGANISATIONS)


def _declared(engine: Engine, dezi_nummer: str, ura: str, rol_code: str) -> bool:
    """Whether any declaration (in any status) of this triple exists: the seed never re-adds
    a declaration that was revoked later."""
    with read_session(engine) as session:
        statement = (
            select(Declaration.id)
            .join(Professional, col(Professional.id) == col(Declaration.professional_id))
            .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
            .where(
                Professional.dezi_nummer == dezi_nummer,
                Organisation.ura == ura,
                Declaration.rol_code == rol_code,
            )
        )
        return session.exec(statement).first() is not None


def seed_demo(engine: Engine, demo_client: dict[str, Any] | None = None) -> None:
    """Create the demo organisations, people, declarations and admin rights, and register
    ``demo_client`` (keyword arguments of ``register_client``) for every demo organisation
    unless it names its own."""
    for ura, naam, categorie in DEMO_ORGANISATIONS:
        service.enrol_organisation(engine, ura, naam, categorie, actor=SEED_ACTOR)
    for dezi_nummer, (initials, prefix, surname, big) in DEMO_PROFESSIONALS.items():
        service.enrol_professional(
            engine, initials, prefix, surname, big, dezi_nummer, actor=SEED_ACTOR
        )
    for dezi_nummer, ura, rol_code, revoked in _DEMO_DECLARATIONS:
        if _declared(engine, dezi_nummer, ura, rol_code):
            continue
        record = service.add_declaration(
            engine, dezi_nummer, ura, rol_code, _VALID_FROM, actor=SEED_ACTOR
        )
        if revoked:
            service.revoke_declaration(
                engine, record.declaration_id, "Uit dienst (demo)", actor=SEED_ACTOR
            )
    service.grant_admin(engine, "900000043", "registry_admin", actor=SEED_ACTOR)
    service.grant_admin(engine, "900000051", "org_admin", "90000101", actor=SEED_ACTOR)
    if demo_client is not None:
        arguments = {"client_id": DEMO_CLIENT_ID, "organisations": demo_uras(), **demo_client}
        service.register_client(engine, actor=SEED_ACTOR, **arguments)
