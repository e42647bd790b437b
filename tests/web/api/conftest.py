"""A deployment of its own for the registry API tests: the demo data, plus API clients.

- ``hr``: an HR system (client credentials, private_key_jwt) for URA 90000101;
  ``hr_multi`` for 90000102 and 90000103; ``hr_none`` registered for no organisation.
- ``console``: an administrators' tool (code flow) registered for the ``registry`` scope.
- The physician 900000019 is made registry administrator here, so that one can log in (the demo
  registry administrator 900000043 has no declaration, which the login path requires).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from idp.app import create_app
from idp.settings import Settings
from registry import db, service
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.support import (
    ORG_ADMIN,
    PHYSICIAN,
    RelyingParty,
    login_through_forms,
    pkce_pair,
    query_of,
)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REGISTRY_ADMIN_USER = PHYSICIAN  # given registry_admin rights in this deployment
ORG_ADMIN_USER = ORG_ADMIN  # organisation administrator of 90000101 (demo data)
HOME_URA = "90000101"


@dataclass
class ApiDeployment:
    settings: Settings
    app: Starlette
    engine: Engine
    epd: RelyingParty  # code flow, not registered for the registry scope
    console: RelyingParty  # code flow with the registry scope
    hr: RelyingParty
    hr_multi: RelyingParty
    hr_none: RelyingParty

    def client(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER, follow_redirects=False)

    def client_credentials(self, rp: RelyingParty, **form: str) -> httpx2.Response:
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": rp.assertion(),
            **form,
        }
        with self.client() as http:
            return http.post("/token", data=data)

    def client_token(self, rp: RelyingParty) -> str:
        response = self.client_credentials(rp)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def user_tokens(
        self, dezi_nummer: str, rp: RelyingParty | None = None, scope: str = "openid registry"
    ) -> dict[str, Any]:
        """Log in through the browser forms (a fresh browser: no OP session) and redeem."""
        rp = rp or self.console
        verifier, challenge = pkce_pair()
        params = rp.authorize_params(code_challenge=challenge, scope=scope)
        with self.client() as browser:
            final = login_through_forms(browser, f"/authorize?{urlencode(params)}", dezi_nummer)
            assert final.status_code == 303, final.text
            code = query_of(final.headers["location"])["code"]
            response = browser.post("/token", data=rp.token_form(code, verifier))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def user_token(self, dezi_nummer: str, rp: RelyingParty | None = None) -> str:
        token: str = self.user_tokens(dezi_nummer, rp)["access_token"]
        return token


def _api_client(engine: Engine, rp: RelyingParty, organisations: tuple[str, ...]) -> None:
    service.register_client(
        engine,
        client_id=rp.client_id,
        redirect_uris=(),
        auth_method="private_key_jwt",
        jwks=rp.jwks(),
        organisations=organisations,
        grant_types=("client_credentials",),
        scopes=("registry",),
        actor="test:setup",
    )


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiDeployment]:
    settings = make_settings(tmp_path_factory.mktemp("api"))
    epd, _public, _restricted = seed_deployment(settings)
    engine = db.create_engine(settings.database_url)
    service.grant_admin(engine, REGISTRY_ADMIN_USER, "registry_admin", actor="test:setup")
    console = RelyingParty.confidential("admin-console", settings.issuer)
    service.register_client(
        engine,
        client_id=console.client_id,
        redirect_uris=(console.redirect_uri,),
        auth_method="private_key_jwt",
        jwks=console.jwks(),
        scopes=("openid", "registry"),
        actor="test:setup",
    )
    hr = RelyingParty.confidential("hr-linde", settings.issuer)
    hr_multi = RelyingParty.confidential("hr-multi", settings.issuer, alg="ES256")
    hr_none = RelyingParty.confidential("hr-none", settings.issuer)
    _api_client(engine, hr, (HOME_URA,))
    _api_client(engine, hr_multi, ("90000102", "90000103"))
    _api_client(engine, hr_none, ())
    app = create_app(settings)
    yield ApiDeployment(settings, app, engine, epd, console, hr, hr_multi, hr_none)
    engine.dispose()


@pytest.fixture(scope="session")
def admin_token(api: ApiDeployment) -> str:
    """A registry administrator's token, through the code flow with scope registry."""
    return api.user_token(REGISTRY_ADMIN_USER)


@pytest.fixture(scope="session")
def org_admin_token(api: ApiDeployment) -> str:
    return api.user_token(ORG_ADMIN_USER)


@pytest.fixture(scope="session")
def hr_token(api: ApiDeployment) -> str:
    return api.client_token(api.hr)


@pytest.fixture
def http(api: ApiDeployment) -> Iterator[TestClient]:
    with api.client() as client:
        yield client


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}
