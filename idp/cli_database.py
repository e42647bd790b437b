"""The CLI's database rule: only ``demo`` and ``database init`` create a database.

Every other command opens the database the settings name (``idp.settings_paths``) and refuses,
in one line, a SQLite file that does not exist or a database without the register's tables:
either means the command is pointed at the wrong place, and creating an empty register there
would hide that (a client registered where no server reads it).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from idp.settings import Settings
from idp.settings_paths import display_url, sqlite_file

__all__ = ["DatabaseUnusable", "check_database", "init_database"]

# Alembic's bookkeeping table: present once `upgrade` ran, i.e. the register exists there.
_MIGRATED_MARK = "alembic_version"
_POINT_ELSEWHERE = "point at yours with --config FILE or IDP_DATABASE_URL"


class DatabaseUnusable(Exception):
    """The configured database is missing, empty or unreachable; ``str()`` is the one line."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def check_database(settings: Settings) -> None:
    """Raise ``DatabaseUnusable`` unless the settings' database exists and holds the register.

    Exit codes as ``registry.cli``: 2 when the command is pointed at the wrong place (no such
    file, no register there), 3 when the database could not be reached."""
    url = settings.database_url
    shown = display_url(url)
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseUnusable(
            f"no database at {path} ({_source(settings)}); run `zorg-idp database init` to "
            f"create one there, or {_POINT_ELSEWHERE}",
            2,
        )
    from registry.db import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            migrated = sa.inspect(connection).has_table(_MIGRATED_MARK)
    except SQLAlchemyError as exc:
        raise DatabaseUnusable(f"database {shown}: {_first_line(exc)}", 3) from None
    finally:
        engine.dispose()
    if not migrated:
        raise DatabaseUnusable(
            f"database {shown} holds no register (empty or not migrated); run "
            f"`zorg-idp database init` to create its tables, or {_POINT_ELSEWHERE}",
            2,
        )


def init_database(settings: Settings) -> None:
    """Create (SQLite: the file and its folder) and migrate the settings' database."""
    from registry.db import create_engine, upgrade

    path = sqlite_file(settings.database_url)
    if path is not None:
        # 0700 like data_dir: the register holds personal data.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_engine(settings.database_url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        raise DatabaseUnusable(
            f"database {display_url(settings.database_url)}: {_first_line(exc)}", 3
        ) from None
    finally:
        engine.dispose()


def _source(settings: Settings) -> str:
    """Where the database URL came from, so the message says what to change."""
    import os

    if os.environ.get("IDP_DATABASE_URL"):
        return "from IDP_DATABASE_URL"
    if settings.config_file is not None:
        return f"from {settings.config_file}, or demo.db in its data_dir"
    return "the default: demo.db in IDP_DATA_DIR, else in ./var"
