"""Fixtures for the UZI-pas tests over real TLS: a test PKI, and the nginx + uvicorn stack.

The register is seeded with the demo data and the test relying parties of ``tests/conftest.py``
before the server starts; tests may enrol more people through ``registry.service`` on the same
database (the login path reads the register on every call).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from certs.testca import UziTestPki
from registry.db import create_engine
from tests.conftest import make_settings, seed_deployment
from tests.mtls.stack import Ports, Stack, run_stack
from tests.support import RelyingParty


@dataclass(frozen=True)
class UziDeployment:
    stack: Stack
    rp: RelyingParty  # confidential, private_key_jwt, every demo organisation
    engine: Engine  # the register database, for enrolling extra people

    @property
    def pki(self) -> UziTestPki:
        return self.stack.pki


@pytest.fixture(scope="session")
def uzi_pki() -> UziTestPki:
    return UziTestPki()


@pytest.fixture(scope="package")  # nginx and uvicorn stop when tests/mtls is done
def uzi(tmp_path_factory: pytest.TempPathFactory, uzi_pki: UziTestPki) -> Iterator[UziDeployment]:
    workdir: Path = tmp_path_factory.mktemp("mtls")
    ports = Ports.pick()
    database_url = f"sqlite:///{workdir / 'registry.db'}"
    data_dir = workdir / "data"
    rp, _, _ = seed_deployment(
        make_settings(workdir, issuer=ports.issuer, database_url=database_url, data_dir=data_dir)
    )
    server_settings = {
        "IDP_DATABASE_URL": database_url,
        "IDP_STATE_URL": "memory://",
        "IDP_ENVIRONMENT": "test",
        "IDP_DATA_DIR": str(data_dir),
        "IDP_RSA_KEY_SIZE": "2048",
        "IDP_LOGIN_METHODS": '["uzi"]',
        "IDP_LOG_LEVEL": "info",
    }
    with run_stack(workdir, ports, uzi_pki, server_settings) as stack:
        engine = create_engine(database_url)
        try:
            yield UziDeployment(stack=stack, rp=rp, engine=engine)
        finally:
            engine.dispose()
