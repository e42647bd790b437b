"""The registry's exception tree: one base class, the machine code carried as data.

STYLE.md principles 4 and 5: every error has a machine-readable ``code``, a public
``description`` that is safe to show to the caller, and a private ``log_detail`` for the log
only. Descriptions never echo a BSN or other secret input.
"""

from __future__ import annotations

from typing import ClassVar


class RegistryError(Exception):
    """Base of every error the registry raises on purpose."""

    code: ClassVar[str] = "registry_error"

    def __init__(self, description: str, *, log_detail: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.log_detail = log_detail if log_detail is not None else description

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, description={self.description!r})"


class InvalidIdentifier(RegistryError):
    """An identifier, code or name does not have the required form."""

    code: ClassVar[str] = "invalid_identifier"

    def __init__(self, field: str, message: str, *, log_detail: str | None = None) -> None:
        super().__init__(f"{field}: {message}", log_detail=log_detail)
        self.field = field
        self.message = message


class NotFound(RegistryError):
    """The object a request names does not exist."""

    code: ClassVar[str] = "not_found"

    def __init__(self, object_type: str, key: str, *, log_detail: str | None = None) -> None:
        super().__init__(f"{object_type} {key} not found", log_detail=log_detail)
        self.object_type = object_type
        self.key = key


class Conflict(RegistryError):
    """The change collides with an existing object (a natural key is taken)."""

    code: ClassVar[str] = "conflict"


class InvariantViolation(RegistryError):
    """The change would break a rule of the register (e.g. a BIG role without a BIG number)."""

    code: ClassVar[str] = "invariant_violation"
