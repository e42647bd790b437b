"""Where the settings' files are: one rule, applied once when the settings are built.

Before this rule a relative path (the default ``sqlite:///var/demo.db`` above all) was resolved
by whichever process opened it, against whatever directory it ran in: a command run from another
directory opened, or created, another database. Now:

- a relative ``data_dir`` or SQLite path in the TOML file is relative to that file's directory;
- one from an ``IDP_*`` variable, an argument or the default is relative to the directory the
  command starts in, and is made absolute at once, so every later use (and every error message)
  names the same file;
- without a ``database_url`` the database is ``sqlite:///<data_dir>/demo.db``: with the default
  ``data_dir`` of ``./var`` that is INTERFACES.md's ``sqlite:///var/demo.db``, and setting only
  ``IDP_DATA_DIR`` moves the keys and the database together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = [
    "DEFAULT_DATABASE_NAME",
    "DEFAULT_DATA_DIR",
    "display_url",
    "fill_defaults",
    "resolve_paths",
    "sqlite_file",
]

DEFAULT_DATA_DIR = Path("var")
DEFAULT_DATABASE_NAME = "demo.db"


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL; None for other databases and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def display_url(url: str) -> str:
    """The URL for messages: the password hidden (security-checklist.md: never print a secret)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def _absolute_sqlite(url: str, base: Path) -> str:
    path = sqlite_file(url)
    if path is None or path.is_absolute():
        return url
    parsed = make_url(url).set(database=str(base / path))
    return parsed.render_as_string(hide_password=False)


def resolve_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """``values`` with a relative ``data_dir`` and SQLite path taken relative to ``base``."""
    resolved = dict(values)
    if resolved.get("data_dir") not in (None, ""):
        resolved["data_dir"] = base / Path(resolved["data_dir"])
    if isinstance(resolved.get("database_url"), str) and resolved["database_url"]:
        resolved["database_url"] = _absolute_sqlite(resolved["database_url"], base)
    return resolved


def fill_defaults(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """The last step: defaults filled in, everything relative made absolute against ``base``
    (the starting directory), the database beside the keys when none is named."""
    resolved = resolve_paths(values, base)
    data_dir = Path(resolved.get("data_dir") or base / DEFAULT_DATA_DIR)
    resolved["data_dir"] = data_dir
    if not resolved.get("database_url"):
        resolved["database_url"] = f"sqlite:///{data_dir / DEFAULT_DATABASE_NAME}"
    return resolved
