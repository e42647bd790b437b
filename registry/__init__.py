"""The register of care organisations, professionals and their declarations.

Never imports ``idp``: the IdP reads the register through ``SqlRegister``, which satisfies its
ports structurally (ARCHITECTURE.md). What other packages may use is listed in ``__all__``.
"""

from registry.audit import verify as verify_audit
from registry.codes import Role, rol_code_bron, rol_naam, role
from registry.db import create_engine, read_session, session_scope, upgrade
from registry.errors import (
    Conflict,
    InvalidIdentifier,
    InvariantViolation,
    NotFound,
    RegistryError,
)
from registry.identifiers import (
    AgbCode,
    BigNummer,
    Bsn,
    DeziNummer,
    RoleCode,
    Ura,
    keyed_subject_hash,
    normalise_name,
)
from registry.records import ClientRecord, DeclarationRecord, OrganisationRecord, ProfessionalRecord
from registry.repository import SqlRegister
from registry.seed import seed_demo
from registry.service import (
    add_declaration,
    bind_identity,
    enrol_organisation,
    enrol_professional,
    grant_admin,
    register_client,
    revoke_admin,
    revoke_declaration,
    set_organisation_status,
)

__all__ = [
    "AgbCode",
    "BigNummer",
    "Bsn",
    "ClientRecord",
    "Conflict",
    "DeclarationRecord",
    "DeziNummer",
    "InvalidIdentifier",
    "InvariantViolation",
    "NotFound",
    "OrganisationRecord",
    "ProfessionalRecord",
    "RegistryError",
    "Role",
    "RoleCode",
    "SqlRegister",
    "Ura",
    "add_declaration",
    "bind_identity",
    "create_engine",
    "enrol_organisation",
    "enrol_professional",
    "grant_admin",
    "keyed_subject_hash",
    "normalise_name",
    "read_session",
    "register_client",
    "revoke_admin",
    "revoke_declaration",
    "rol_code_bron",
    "rol_naam",
    "role",
    "seed_demo",
    "session_scope",
    "set_organisation_status",
    "upgrade",
    "verify_audit",
]
