"""One line and an exit code for every error a ``zorg-idp`` command meets.

Commands turn the errors they expect into ``error: …`` and an exit code themselves; this is the
net under them, so an error nobody expected (a database that went away, a directory the user
may not write) is still one line on stderr, not a few hundred lines of traceback. The traceback
is there for whoever asks: ``zorg-idp --debug COMMAND`` or ``IDP_DEBUG=1``.

Exit codes, as ``registry.cli``: 1 refused or failed, 2 unusable input (settings, a file, a
directory, the wrong database), 3 the database could not be used.
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from idp.cli_database import DatabaseUnusable

__all__ = ["DEBUG_HINT", "OneLineErrors", "describe"]

DEBUG_HINT = "zorg-idp --debug … (or IDP_DEBUG=1) shows the traceback"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else ""


def describe(exc: Exception) -> tuple[str, int]:
    """The one line (without ``error: ``) and the exit code for ``exc``."""
    if isinstance(exc, DatabaseUnusable):
        return str(exc), exc.exit_code
    if isinstance(exc, SQLAlchemyError):
        detail = _first_line(str(getattr(exc, "orig", None) or exc)) or type(exc).__name__
        return f"database: {detail}", 3
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or exc}", 2
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or _first_line(str(exc)) or type(exc).__name__}", 2
    if isinstance(exc, ValidationError):
        return f"invalid settings: {exc.errors()[0]['msg']}", 2
    detail = _first_line(str(exc))
    name = type(exc).__name__
    return f"{name}: {detail} ({DEBUG_HINT})" if detail else f"{name} ({DEBUG_HINT})", 1


class OneLineErrors(TyperGroup):
    """The root command group: runs the command, and turns what escapes it into one line."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt, BrokenPipeError):
            # A closed pipe (``… | head``) is typer's to end quietly, as before.
            raise
        except Exception as exc:
            # Click's own errors (usage, bad option values) already print one line.
            if _is_click_error(exc) or ctx.params.get("debug"):
                raise
            message, code = describe(exc)
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(code) from None


def _is_click_error(exc: Exception) -> bool:
    from typer._click.exceptions import ClickException

    return isinstance(exc, ClickException)
