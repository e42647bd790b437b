"""Shared fixtures: a seeded app on a temporary SQLite file and the in-process state store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from idp.app import create_app
from idp.clients import ClientRegistration, register_client
from idp.settings import Settings
from tests.support import RelyingParty

# CI runs the generated tests (tests/hostile, the identifier properties) derandomized, so a run
# is reproducible and a red CI is never luck; local runs keep exploring new examples.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

ISSUER = "http://127.0.0.1:8000"
ALL_DEMO_URAS = ("90000001", *(f"900001{n:02d}" for n in range(1, 16)))


@dataclass
class Deployment:
    settings: Settings
    app: Starlette
    rp: RelyingParty  # confidential, private_key_jwt, PS256, every demo organisation
    public_rp: RelyingParty  # Dezi profile, public client (none), no nonce needed
    restricted_rp: RelyingParty  # only URA 90000103

    def client(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER, follow_redirects=False)


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "issuer": ISSUER,
        "database_url": f"sqlite:///{tmp / 'registry.db'}",
        "state_url": "memory://",
        "environment": "test",
        "data_dir": tmp / "data",
        "rsa_key_size": 2048,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed_deployment(settings: Settings) -> tuple[RelyingParty, RelyingParty, RelyingParty]:
    from registry.db import create_engine, upgrade
    from registry.seed import seed_demo

    engine = create_engine(settings.database_url)
    upgrade(engine)
    seed_demo(engine)
    engine.dispose()
    rp = RelyingParty.confidential("epd-confidential", settings.issuer)
    register_client(
        settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            jwks=rp.jwks(),
            organisations=ALL_DEMO_URAS,
            name="Test EPD",
        ),
    )
    public = RelyingParty("epd-public", "https://public.example/cb", settings.issuer)
    register_client(
        settings,
        ClientRegistration(
            client_id=public.client_id,
            redirect_uris=(public.redirect_uri,),
            auth_method="none",
            organisations=ALL_DEMO_URAS,
            profile="dezi",
            name="Dezi EPD",
        ),
    )
    restricted = RelyingParty.confidential("epd-restricted", settings.issuer)
    register_client(
        settings,
        ClientRegistration(
            client_id=restricted.client_id,
            redirect_uris=(restricted.redirect_uri,),
            jwks=restricted.jwks(),
            organisations=("90000103",),
            name="Restricted EPD",
        ),
    )
    return rp, public, restricted


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("deployment")
    settings = make_settings(tmp)
    rp, public, restricted = seed_deployment(settings)
    app = create_app(settings)
    yield Deployment(settings, app, rp, public, restricted)


@pytest.fixture
def client(deployment: Deployment) -> Iterator[TestClient]:
    with deployment.client() as test_client:
        yield test_client
