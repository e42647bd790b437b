"""The register of care organisations, professionals and their declarations.

Never imports ``idp``: the IdP reads the register through ``SqlRegister``, which satisfies its
ports structurally (ARCHITECTURE.md). What other packages may use is listed in ``__all__``.
"""

from registry.audit import verify as verify_audit
from registry.bulk import Importer, ImportReport, RowResult, UnusableFile, run_import
from registry.bulk_file import load_import_file, parse_import_file
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
from registry.staff import AuditContext, link_staff_number, suspend_declaration

__all__ = [
    "AgbCode",
    "AuditContext",
    "BigNummer",
    "Bsn",
    "ClientRecord",
    "Conflict",
    "DeclarationRecord",
    "DeziNummer",
    "ImportReport",
    "Importer",
    "InvalidIdentifier",
    "InvariantViolation",
    "NotFound",
    "OrganisationRecord",
    "ProfessionalRecord",
    "RegistryError",
    "Role",
    "RoleCode",
    "RowResult",
    "SqlRegister",
    "UnusableFile",
    "Ura",
    "add_declaration",
    "bind_identity",
    "create_engine",
    "enrol_organisation",
    "enrol_professional",
    "grant_admin",
    "keyed_subject_hash",
    "link_staff_number",
    "load_import_file",
    "normalise_name",
    "parse_import_file",
    "read_session",
    "register_client",
    "revoke_admin",
    "revoke_declaration",
    "rol_code_bron",
    "rol_naam",
    "role",
    "run_import",
    "seed_demo",
    "session_scope",
    "set_organisation_status",
    "suspend_declaration",
    "upgrade",
    "verify_audit",
]
