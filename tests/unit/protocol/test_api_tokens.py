"""The client credentials grant (RFC 6749 §4.4), the token endpoint's dispatch (§3.2, §5.2) and
the registry API's token check (RFC 9068 §4), without HTTP."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from idp.keys import KeyRing
from idp.protocol.api_access import (
    ApiTokenValidator,
    audience_includes,
    token_audience,
)
from idp.protocol.authorization_code import TokenResponse
from idp.protocol.client_auth import JWT_BEARER, ClientAuthenticator, ClientKeyCache
from idp.protocol.client_credentials import ClientCredentialsGrant
from idp.protocol.config import ProviderConfig
from idp.protocol.errors import OAuthError
from idp.protocol.models import Grant
from idp.protocol.ports import ClientView
from idp.protocol.token_endpoint import TokenEndpoint
from idp.protocol.tokens import access_token
from idp.state import MemoryStateStore
from tests.support import RelyingParty
from tests.unit.protocol.fakes import FakeClient, FakeClients

ISSUER = "https://idp.example"
CONFIG = ProviderConfig(issuer=ISSUER, pairwise_secret=b"p" * 32)
API = f"{ISSUER}/api/v1"
USERINFO = f"{ISSUER}/userinfo"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(tmp_path_factory.mktemp("keys"), rsa_key_size=2048)


@pytest.fixture(scope="module")
def rp() -> RelyingParty:
    return RelyingParty.confidential("hr", ISSUER)


class Setup:
    def __init__(self, rp: RelyingParty, signer: KeyRing) -> None:
        self.rp = rp
        self.state = MemoryStateStore()
        self.clients = FakeClients()
        hr = FakeClient(
            client_id="hr",
            jwks=rp.jwks(),
            grant_types=("client_credentials",),
            scopes=("registry",),
            organisations=("90000101",),
        )
        self.clients.add(hr)
        self.clients.add(replace(hr, client_id="epd", grant_types=("authorization_code",)))
        self.clients.add(replace(hr, client_id="noscope", scopes=("openid",)))
        self.clients.add(FakeClient(client_id="public", auth_method="none"))
        self.grant = ClientCredentialsGrant(CONFIG, self.state, signer)
        self.endpoint = TokenEndpoint(
            authenticator=ClientAuthenticator(
                issuer=ISSUER,
                clients=self.clients,
                state=self.state,
                keys=ClientKeyCache(lambda url: {}),
            ),
            grants={"client_credentials": self.grant},
        )
        self.validator = ApiTokenValidator(CONFIG, self.state, signer)

    def form(self, client_id: str = "hr", **extra: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": self.rp.assertion(iss=client_id, sub=client_id),
            **extra,
        }

    def token(self, **extra: str) -> TokenResponse:
        return self.endpoint.token(self.form(**extra), None)


@pytest.fixture
def setup(rp: RelyingParty, signer: KeyRing) -> Setup:
    return Setup(rp, signer)


def error_of(call: Any) -> OAuthError:
    with pytest.raises(OAuthError) as info:
        call()
    return info.value


# -- audiences ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aud", "ok"),
    [
        (API, True),
        ([USERINFO, API], True),
        ([API], True),
        (USERINFO, False),
        ([USERINFO], False),
        ([], False),
        ([API, 5], False),
        (None, False),
        ({"aud": API}, False),
        (API + "/", False),
    ],
)
def test_audience_includes(aud: object, ok: bool) -> None:
    assert audience_includes(aud, API) is ok


def test_token_audience() -> None:
    assert token_audience(CONFIG, ("openid",)) == USERINFO
    assert token_audience(CONFIG, ("openid", "registry")) == [USERINFO, API]


# -- the grant and the dispatcher ----------------------------------------------------------------


def test_issues_an_api_token(setup: Setup) -> None:
    result = setup.token()
    assert result.body["scope"] == "registry" and "refresh_token" not in result.body
    access = setup.validator.validate(result.body["access_token"])
    assert access.client_id == "hr" and access.dezi_nummer is None
    assert access.grant.grant_id == result.grant.grant_id


def test_lifetime_is_capped_at_an_hour(rp: RelyingParty, signer: KeyRing) -> None:
    long = replace(CONFIG, access_token_ttl=7200)
    grant = ClientCredentialsGrant(long, MemoryStateStore(), signer)
    client = FakeClient(client_id="hr", grant_types=("client_credentials",), scopes=("registry",))
    assert grant.exchange({}, client).body["expires_in"] == 3600


@pytest.mark.parametrize(
    ("client_id", "error"),
    [("epd", "unauthorized_client"), ("noscope", "invalid_scope")],
)
def test_refused_clients(setup: Setup, client_id: str, error: str) -> None:
    assert error_of(lambda: setup.endpoint.token(setup.form(client_id), None)).error == error


def test_public_client_is_unauthorized(setup: Setup) -> None:
    form = {"grant_type": "client_credentials", "client_id": "public"}
    assert error_of(lambda: setup.endpoint.token(form, None)).error == "unauthorized_client"
    client: ClientView = FakeClient(
        client_id="odd", auth_method="none", grant_types=("client_credentials",)
    )
    assert error_of(lambda: setup.grant.exchange({}, client)).error == "unauthorized_client"


def test_dispatch_errors(setup: Setup) -> None:
    assert error_of(lambda: setup.endpoint.token({}, None)).error == "invalid_request"
    unknown = setup.form(grant_type="password")
    assert error_of(lambda: setup.endpoint.token(unknown, None)).error == "unsupported_grant_type"
    # The client is authenticated first: a bad assertion says nothing about grant types.
    anonymous = {"grant_type": "password", "client_id": "nobody"}
    assert error_of(lambda: setup.endpoint.token(anonymous, None)).error == "invalid_client"


@pytest.mark.parametrize("scope", ["openid", "registry x", "", "r" * 300])
def test_scope_must_be_registry(setup: Setup, scope: str) -> None:
    assert error_of(lambda: setup.token(scope=scope)).error == "invalid_scope"


# -- what the API accepts -----------------------------------------------------------------------


def user_grant(scope: tuple[str, ...]) -> Grant:
    now = int(time.time())
    return Grant(
        grant_id=f"g-{'-'.join(scope)}",
        client_id="console",
        sub="pairwise-sub",
        dezi_nummer="900000019",
        declaration_id="d-1",
        scope=scope,
        acr="http://eidas.europa.eu/LoA/high",
        auth_time=now,
        issued_at=now,
    )


def test_user_token_with_registry_scope(setup: Setup, signer: KeyRing) -> None:
    grant = user_grant(("openid", "registry"))
    setup.state.put_grant(grant, 60)
    token, claims = access_token(CONFIG, signer, grant, int(time.time()))
    assert claims["aud"] == [USERINFO, API]
    access = setup.validator.validate(token)
    assert access.dezi_nummer == "900000019" and access.client_id == "console"


def test_userinfo_token_is_refused(setup: Setup, signer: KeyRing) -> None:
    grant = user_grant(("openid",))
    setup.state.put_grant(grant, 60)
    token, _ = access_token(CONFIG, signer, grant, int(time.time()))
    assert error_of(lambda: setup.validator.validate(token)).error == "invalid_token"


def test_scope_is_checked_against_the_grant(setup: Setup, signer: KeyRing) -> None:
    issued = user_grant(("openid", "registry"))
    token, _ = access_token(CONFIG, signer, issued, int(time.time()))
    setup.state.put_grant(replace(issued, scope=("openid",)), 60)
    failure = error_of(lambda: setup.validator.validate(token))
    assert (failure.error, failure.status_code) == ("insufficient_scope", 403)


def test_expired_wrong_issuer_and_typ(setup: Setup, signer: KeyRing) -> None:
    token = setup.token().body["access_token"]
    later = ApiTokenValidator(CONFIG, setup.state, signer, clock=lambda: time.time() + 4000)
    assert error_of(lambda: later.validate(token)).error == "invalid_token"
    elsewhere = ApiTokenValidator(
        replace(CONFIG, issuer="https://other.example"), setup.state, signer
    )
    assert error_of(lambda: elsewhere.validate(token)).error == "invalid_token"
    plain_jwt = signer.sign({"iss": ISSUER, "aud": API, "exp": int(time.time()) + 60}, "PS256")
    assert error_of(lambda: setup.validator.validate(plain_jwt)).error == "invalid_token"


def test_revoked_grant_is_refused(setup: Setup) -> None:
    result = setup.token()
    setup.state.revoke_grant(result.grant.grant_id)
    assert error_of(lambda: setup.validator.validate(result.body["access_token"])).error == (
        "invalid_token"
    )
