"""Which declarations a person may use, read once per login and carried afterwards.

ARCHITECTURE.md "The hot path" and DECISIONS.md #11: ``read_login_profile`` is the one
register read of a login; ``usable_for`` filters what was read for one client, trusting a
snapshot only while no revocation mark in the state store names it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from idp.journey.deps import Journey
from idp.protocol.models import DeclarationSnapshot, LoginTransaction
from idp.protocol.ports import ClientView
from idp.protocol.snapshots import current_declaration

__all__ = ["read_login_profile", "usable_for"]


def read_login_profile(j: Journey, tx: LoginTransaction, now: int) -> LoginTransaction:
    """The register read of a login: every usable declaration of the person (for any
    client) and the consents she gave."""
    number = tx.dezi_nummer or ""
    found, consented = j.register.login_profile(number, datetime.fromtimestamp(now, UTC))
    consents = tuple(f"{client}|{decl}" for client, decl in consented)
    return replace(
        tx,
        declarations=tuple(DeclarationSnapshot.of(d) for d in found),
        consents=consents,
    )


def usable_for(
    j: Journey, tx: LoginTransaction, client: ClientView | None, now: int
) -> list[DeclarationSnapshot]:
    """The carried declarations usable at this client now: its organisations, the login
    method's limits (a UZI card's URA and role), the validity period, and no revocation mark;
    a marked declaration is read from the register again (DECISIONS.md #11)."""
    organisations = set(client.organisations) if client is not None else set()
    allowed = set(tx.restrict_to)
    candidates = [
        d
        for d in tx.declarations
        if (not organisations or d.abonnee_nummer in organisations)
        and (not allowed or f"{d.abonnee_nummer}:{d.rol_code}" in allowed)
    ]
    if not j.state.any_revoked([k for d in candidates for k in d.revocation_keys()]):
        return [d for d in candidates if d.usable_at(now)]  # one round trip, the usual case
    fresh: list[DeclarationSnapshot] = []
    for d in candidates:
        found = current_declaration(
            d, d.declaration_id, tx.dezi_nummer or "", now, j.state, j.register
        )
        if found is not None:
            fresh.append(
                found if isinstance(found, DeclarationSnapshot) else DeclarationSnapshot.of(found)
            )
    return fresh
