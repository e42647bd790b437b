"""A deployment of its own for the hostile-input layer: its throttles and stored transactions
fill up here, not in the shared ``deployment`` the other web tests use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.support import RelyingParty


@dataclass
class Target:
    client: TestClient
    rp: RelyingParty
    public_rp: RelyingParty


@pytest.fixture(scope="package")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    settings = make_settings(tmp_path_factory.mktemp("hostile"))
    rp, public, _ = seed_deployment(settings)
    app = create_app(settings)
    # A 5xx must come back as a response (the Edge answers it), not as a raised exception, so
    # the assertion sees the status the attacker would see.
    with TestClient(
        app, base_url=ISSUER, follow_redirects=False, raise_server_exceptions=False
    ) as client:
        yield Target(client, rp, public)
