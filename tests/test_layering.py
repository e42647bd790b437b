"""The import rules of ARCHITECTURE.md, enforced by walking every module's imports.

- ``idp/protocol`` imports no web framework, Redis, SQL or HTTP client code.
- ``idp/state`` and ``idp/authn`` import no web framework.
- ``idp/journey`` (the login state machine) imports no web framework, Redis, SQL or HTTP client
  code, and nothing of ``idp.web``: it works over the ports only.
- ``registry`` imports nothing from ``idp``.
- ``certs`` imports nothing of ours.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "idp/protocol": (
        "starlette",
        "uvicorn",
        "redis",
        "sqlmodel",
        "sqlalchemy",
        "httpx",
        "idp.web",
        "idp.state",
        "idp.app",
        "registry",
        "jinja2",
        "psycopg",
    ),
    "idp/journey": (
        "starlette",
        "uvicorn",
        "redis",
        "sqlmodel",
        "sqlalchemy",
        "httpx",
        "idp.web",
        "idp.state",
        "idp.app",
        "registry",
        "jinja2",
    ),
    "idp/state": ("starlette", "uvicorn", "sqlmodel", "sqlalchemy", "idp.web", "registry"),
    "idp/authn": ("starlette", "uvicorn", "idp.web"),
    "registry": ("idp",),
    "certs": ("idp", "registry"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = sorted(
            name
            for name in imported_modules(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layering(package: str) -> None:
    assert (ROOT / package).is_dir()
    assert violations(package, FORBIDDEN[package]) == {}


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import starlette.requests\nfrom redis import Redis\n", encoding="utf-8")
    assert imported_modules(bad) == {"starlette.requests", "redis"}
