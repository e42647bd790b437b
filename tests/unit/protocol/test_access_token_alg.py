"""Access tokens are ES256 (only this OP verifies them); ID tokens stay PS256 (DECISIONS.md #1).

Every verifier of our access tokens (userinfo, OIDC Core §5.3; the registry API, RFC 9068 §4)
accepts them and refuses one with a broken signature or a ``typ`` other than ``at+jwt``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from idp.keys import KeyRing
from idp.protocol.api_access import ApiTokenValidator
from idp.protocol.config import ProviderConfig
from idp.protocol.errors import OAuthError
from idp.protocol.jose import unverified_header
from idp.protocol.models import Grant
from idp.protocol.tokens import access_token, id_token
from idp.protocol.userinfo import UserInfoEndpoint
from idp.settings import Settings
from idp.state import MemoryStateStore
from tests.unit.protocol.fakes import FakeClient, FakeClients, FakeDeclaration, FakeRegister

ISSUER = "https://idp.example"
CONFIG = ProviderConfig(issuer=ISSUER, pairwise_secret=b"p" * 32)


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(tmp_path_factory.mktemp("keys"), rsa_key_size=2048)


class World:
    def __init__(self, ring: KeyRing, config: ProviderConfig = CONFIG) -> None:
        now = int(time.time())
        self.ring = ring
        self.config = config
        self.state = MemoryStateStore()
        self.grant = Grant(
            grant_id="g-1",
            client_id="console",
            sub="pairwise-sub",
            dezi_nummer="900000019",
            declaration_id="decl-1",
            scope=("openid", "registry"),
            acr="http://eidas.europa.eu/LoA/high",
            auth_time=now,
            issued_at=now,
        )
        self.state.put_grant(self.grant, 60)
        clients = FakeClients()
        clients.add(FakeClient(client_id="console", scopes=("openid", "registry")))
        register = FakeRegister(declarations={"decl-1": FakeDeclaration()})
        self.userinfo = UserInfoEndpoint(config, self.state, clients, register, ring)
        self.api = ApiTokenValidator(config, self.state, ring)

    def token(self) -> str:
        return access_token(self.config, self.ring, self.grant, int(time.time()))[0]


def refused(call: object) -> str:
    with pytest.raises(OAuthError) as info:
        call()  # type: ignore[operator]
    return info.value.error


def test_access_token_is_es256_and_the_id_token_ps256(ring: KeyRing) -> None:
    world = World(ring)
    token = world.token()
    assert unverified_header(token) == {
        "typ": "at+jwt",
        "alg": "ES256",
        "kid": ring.active("EC").kid,
    }
    assert CONFIG.default_signing_alg == "PS256"
    signed = id_token(
        CONFIG,
        ring,
        grant=world.grant,
        nonce=None,
        alg=CONFIG.default_signing_alg,
        access_token_value=token,
        identity={},
        now=int(time.time()),
    )
    assert unverified_header(signed)["alg"] == "PS256"
    assert unverified_header(signed)["kid"] == ring.active("RSA").kid


def test_userinfo_and_the_register_api_accept_it(ring: KeyRing) -> None:
    world = World(ring)
    token = world.token()
    body = world.userinfo.userinfo(token).json_body
    assert body is not None and body["sub"] == "pairwise-sub"
    assert world.api.validate(token).dezi_nummer == "900000019"


def test_a_broken_signature_is_refused(ring: KeyRing) -> None:
    world = World(ring)
    head, payload, sig = world.token().split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    for broken in (f"{head}.{payload}.{flipped}", f"{head}.{payload}.{sig[:-8]}"):
        assert refused(lambda t=broken: world.userinfo.validate_access_token(t)) == "invalid_token"
        assert refused(lambda t=broken: world.api.validate(t)) == "invalid_token"


def test_another_typ_is_refused(ring: KeyRing) -> None:
    world = World(ring)
    claims = {
        "iss": ISSUER,
        "sub": "pairwise-sub",
        "aud": [CONFIG.userinfo_audience, CONFIG.api_audience],
        "client_id": "console",
        "exp": int(time.time()) + 60,
        "scope": "openid registry",
        "gid": "g-1",
    }
    assert world.api.validate(ring.sign(claims, "ES256", typ="at+jwt")).client_id == "console"
    for typ in ("JWT", "logout+jwt"):
        token = ring.sign(claims, "ES256", typ=typ)
        assert refused(lambda t=token: world.userinfo.validate_access_token(t)) == "invalid_token"
        assert refused(lambda t=token: world.api.validate(t)) == "invalid_token"


def test_tokens_of_a_ps256_configuration_stay_valid(ring: KeyRing) -> None:
    """Switching the setting back (or forth) does not cut off tokens already issued."""
    world = World(ring, replace(CONFIG, access_token_signing_alg="PS256"))
    token = world.token()
    assert unverified_header(token)["alg"] == "PS256"
    assert World(ring).api.validate(token).client_id == "console"


@pytest.mark.parametrize("alg", ["none", "HS256", "ES384"])
def test_symmetric_or_unknown_algorithms_are_refused(alg: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        replace(CONFIG, access_token_signing_alg=alg)
    with pytest.raises(ValidationError):
        Settings(access_token_signing_alg=alg, data_dir=tmp_path)
    assert Settings(data_dir=tmp_path).access_token_signing_alg == "ES256"
