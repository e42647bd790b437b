"""The declaration a login carries, checked at each use (DECISIONS.md #11; ARCHITECTURE.md
"The hot path").

A login reads the register once and carries what it read (``DeclarationSnapshot``) in the
session, the code and the grant. At each use the snapshot is trusted only while it is inside its
validity period and no revocation mark names it; otherwise the register is read again: a
revoked or suspended declaration is gone, while one that merely changed (a renamed person or
organisation, a validity period moved) comes back as it is now. One rule for the silent
login, the token endpoint and userinfo.
"""

from __future__ import annotations

from datetime import UTC, datetime

from idp.protocol.models import DeclarationSnapshot
from idp.protocol.ports import DeclarationView, Register, RevocationMarks

__all__ = ["current_declaration"]


def current_declaration(
    snapshot: DeclarationSnapshot | None,
    declaration_id: str | None,
    dezi_nummer: str,
    now: int,
    marks: RevocationMarks,
    register: Register,
) -> DeclarationView | None:
    """The declaration as it stands at ``now`` for this person, or ``None`` when it is no
    longer usable. Without a snapshot (a record from before snapshots), the register decides."""
    if (
        snapshot is not None
        and snapshot.dezi_nummer == dezi_nummer
        and snapshot.usable_at(now)
        and not marks.any_revoked(snapshot.revocation_keys())
    ):
        return snapshot
    if not declaration_id:
        return None
    found = register.usable_declaration(declaration_id, datetime.fromtimestamp(now, UTC))
    return found if found is not None and found.dezi_nummer == dezi_nummer else None
