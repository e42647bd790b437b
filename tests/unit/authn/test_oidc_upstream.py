"""The upstream OIDC login method without a web stack, against an OP in memory.

What it sends (OIDC Core §3.1.2.1, RFC 7636, RFC 7523), what it accepts (OIDC Core §3.1.3.7,
RFC 9207), the level it reports (never above what the upstream proved), and how it refuses.
Mapping to a professional is in ``test_oidc_upstream_mapping.py``.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import ECKey, RSAKey
from structlog.testing import capture_logs

from idp.authn.oidc_upstream import CANCELLED, EXPIRED, UNAVAILABLE
from idp.authn.upstream_key import public_jwks
from idp.errors import LoginFailed
from idp.protocol.models import LOA_HIGH, LOA_LOW, LOA_SUBSTANTIAL
from idp.protocol.pkce import s256_challenge
from tests.unit.authn.upstream_fakes import CLIENT_ID, ISSUER, new_rsa_key
from tests.unit.authn.upstream_rig import OUR_ISSUER, PHYSICIAN, TX, Rig, make_rig, sub_hash


@pytest.fixture
def rig() -> Rig:
    made = make_rig()
    made.bind(sub_hash())
    return made


# -- the authorization request ---------------------------------------------------------------


def test_begin_sends_pkce_state_nonce_and_the_fixed_return_uri(rig: Rig) -> None:
    url = rig.start()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{OUR_ISSUER}/upstream/broker/return"
    assert query["scope"] == "openid"
    assert query["code_challenge_method"] == "S256"
    assert query["acr_values"] == LOA_SUBSTANTIAL
    assert query["prompt"] == "login"
    assert "claims" not in query
    tx_id, _, random = query["state"].partition(".")
    assert tx_id == TX and len(random) >= 43  # 256 bits besides the transaction id
    assert len(query["nonce"]) >= 43
    assert rig.method.transaction_id({"state": query["state"]}) == TX
    record = rig.store.take_upstream_login(query["state"])
    assert record is not None and record.tx_id == TX and record.method == "broker"
    assert record.nonce == query["nonce"]
    assert s256_challenge(record.code_verifier) == query["code_challenge"]


def test_each_begin_is_fresh(rig: Rig) -> None:
    first, second = (parse_qs(urlsplit(rig.start()).query) for _ in range(2))
    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]


def test_options_shape_the_request() -> None:
    rig = make_rig(
        scopes=["openid", "profile"],
        acr_values=[],
        reauthenticate=False,
        claim={"name": "dezi_nummer", "maps_to": "dezi_nummer"},
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(rig.start()).query).items()}
    assert query["scope"] == "openid profile"
    assert "acr_values" not in query and "prompt" not in query
    assert json.loads(query["claims"]) == {"id_token": {"dezi_nummer": {"essential": True}}}


@pytest.mark.parametrize(
    "state", [None, "", "no-dot", ".random-only", "tx.", "x" * 101 + ".random"]
)
def test_transaction_id_only_from_a_well_formed_state(rig: Rig, state: str | None) -> None:
    params = {} if state is None else {"state": state}
    assert rig.method.transaction_id(params) is None


def test_discovery_is_cached(rig: Rig) -> None:
    rig.start()
    rig.start()
    assert rig.op.fetched.count(f"{ISSUER}/.well-known/openid-configuration") == 1


# -- success ---------------------------------------------------------------------------------


def test_a_bound_subject_logs_in(rig: Rig) -> None:
    with capture_logs() as logs:
        outcome = rig.login()
    assert outcome.dezi_nummer == PHYSICIAN
    assert outcome.method == "broker"
    assert outcome.restrict_to == ()
    assert any(e["event"] == "upstream_login_accepted" for e in logs)
    (assertion,) = rig.op.assertions
    assert assertion["aud"] == ISSUER and assertion["iss"] == CLIENT_ID


def test_level_is_the_lower_of_declared_and_proved(rig: Rig) -> None:
    rig.op.acr = LOA_HIGH  # more than declared: the login still gets what we declare
    assert rig.login().acr == LOA_SUBSTANTIAL
    rig.op.acr = LOA_SUBSTANTIAL
    assert rig.login().acr == LOA_SUBSTANTIAL


def test_high_when_declared_and_proved() -> None:
    rig = make_rig(acr="high")
    rig.bind(sub_hash())
    assert rig.login().acr == LOA_HIGH


@pytest.mark.parametrize("proved", [LOA_LOW, None, "urn:unknown:level", 3])
def test_less_than_declared_is_refused(rig: Rig, proved: object) -> None:
    rig.op.spoil = {"acr": proved}
    with capture_logs() as logs:
        text = rig.refusal()
    assert "lower level of assurance" in text and "substantial" in text
    assert logs[-1]["reason"] == "acr"


def test_acr_map_names_a_brokers_own_values() -> None:
    rig = make_rig(acr_map={"urn:broker:loa:3": "substantial", "urn:broker:loa:2": "low"})
    rig.bind(sub_hash())
    rig.op.acr = "urn:broker:loa:3"
    assert rig.login().acr == LOA_SUBSTANTIAL
    rig.op.acr = "urn:broker:loa:2"
    assert "lower level" in rig.refusal()


def test_unknown_kid_refetches_the_jwks_once(rig: Rig) -> None:
    rig.login()
    rig.op.signing_key = new_rsa_key()  # the upstream rotated its key
    assert rig.login().dezi_nummer == PHYSICIAN
    assert rig.op.fetched.count(f"{ISSUER}/jwks") == 2


def test_es256_upstream_and_client_key() -> None:
    rig = make_rig(signing_alg="ES256")
    client_key = ECKey.generate_key("P-256", private=True)
    client_key.ensure_kid()
    rig.op.client_key = public_jwks(client_key)["keys"][0]
    object.__setattr__(rig.method, "key", client_key)
    rig.op.signing_key = ECKey.generate_key("P-256", private=True)
    rig.op.signing_key.ensure_kid()
    rig.op.alg = "ES256"
    rig.bind(sub_hash())
    assert rig.login().dezi_nummer == PHYSICIAN


# -- the ID token: OIDC Core §3.1.3.7 --------------------------------------------------------


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"iss": "https://evil.test"}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"aud": [CLIENT_ID, "someone-else"]}, "aud"),
        ({"azp": "someone-else"}, "azp"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": None}, "exp"),
        ({"iat": int(time.time()) - 3600}, "iat"),
        ({"iat": int(time.time()) + 3600}, "iat"),
        ({"nbf": int(time.time()) + 3600}, "nbf"),
        ({"nonce": "another-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
        ({"auth_time": int(time.time()) - 3600}, "auth_time"),
    ],
)
def test_a_bad_id_token_is_refused(rig: Rig, spoil: dict[str, Any], reason: str) -> None:
    rig.op.spoil = spoil
    with capture_logs() as logs:
        text = rig.refusal()
    assert text == "The login with Test Broker could not be completed. Go back to the " + (
        "application and start again."
    )
    (refused,) = [e for e in logs if e["event"] == "upstream_login_refused"]
    assert refused["reason"] == reason and refused["provider"] == "broker"
    assert refused["log_level"] == "warning"


def test_aud_as_a_one_element_list_is_fine(rig: Rig) -> None:
    rig.op.spoil = {"aud": [CLIENT_ID]}
    assert rig.login().dezi_nummer == PHYSICIAN


@pytest.mark.parametrize("alg", ["RS256"])
def test_algorithms_outside_the_providers_list_are_refused(rig: Rig, alg: str) -> None:
    rig.op.alg = alg
    with capture_logs() as logs:
        rig.refusal()
    assert logs[-1]["reason"] == "signature"


def test_rs256_when_listed() -> None:
    rig = make_rig(id_token_algs=["RS256"])
    rig.bind(sub_hash())
    rig.op.alg = "RS256"
    assert rig.login().dezi_nummer == PHYSICIAN


def test_a_token_signed_by_another_key_is_refused(rig: Rig) -> None:
    rig.login()  # caches the real JWKS
    impostor = RSAKey.generate_key(2048, private=True).as_dict(private=True)
    impostor["kid"] = str(rig.op.signing_key.kid)  # the real key's kid, another key
    rig.op.signing_key = RSAKey.import_key(impostor)
    with capture_logs() as logs:
        rig.refusal()
    assert logs[-1]["reason"] == "signature" and logs[-1]["detail"] == "bad signature"


# -- the authorization response --------------------------------------------------------------


def test_a_replayed_state_is_refused(rig: Rig) -> None:
    params = rig.op.authorize(rig.start())
    assert rig.finish(params).dezi_nummer == PHYSICIAN
    with capture_logs() as logs:
        assert rig.refusal(params) == EXPIRED.replace("{label}", "Test Broker")
    assert logs[-1]["reason"] == "state"


def test_a_state_of_another_transaction_or_method_is_refused(rig: Rig) -> None:
    params = rig.op.authorize(rig.start())
    rig.refusal(params, tx="tx-other")
    assert rig.store.take_upstream_login(params["state"]) is None  # used up by the attempt


@pytest.mark.parametrize("state", ["", "unknown.state", "x" * 600])
def test_unknown_states_are_refused(rig: Rig, state: str) -> None:
    assert "expired" in rig.refusal({"state": state, "code": "c", "iss": ISSUER})


def test_mix_up_iss_is_refused(rig: Rig) -> None:
    """RFC 9207 §2.4: the response names another issuer."""
    params = rig.op.authorize(rig.start(), iss="https://other-op.test")
    with capture_logs() as logs:
        rig.refusal(params)
    assert logs[-1]["reason"] == "iss_parameter"
    assert rig.op.assertions == []  # the code never went anywhere


def test_missing_iss_when_advertised_is_refused(rig: Rig) -> None:
    with capture_logs() as logs:
        rig.refusal(rig.op.authorize(rig.start(), iss=None))
    assert logs[-1]["reason"] == "iss_parameter"


def test_missing_iss_when_not_advertised_is_fine(rig: Rig) -> None:
    rig.op.discovery_overrides = {"authorization_response_iss_parameter_supported": False}
    assert rig.finish(rig.op.authorize(rig.start(), iss=None)).dezi_nummer == PHYSICIAN


def test_an_upstream_error_says_cancelled(rig: Rig) -> None:
    state = parse_qs(urlsplit(rig.start()).query)["state"][0]
    text = rig.refusal({"error": "access_denied", "state": state, "iss": ISSUER})
    assert text == CANCELLED.replace("{label}", "Test Broker")


def test_no_code_is_refused(rig: Rig) -> None:
    state = parse_qs(urlsplit(rig.start()).query)["state"][0]
    assert "could not be completed" in rig.refusal({"state": state, "iss": ISSUER})


def test_a_token_endpoint_error_is_refused(rig: Rig) -> None:
    rig.op.token_error = "invalid_client"
    with capture_logs() as logs:
        assert "could not be completed" in rig.refusal()
    assert logs[-1]["reason"] == "token_error" and "invalid_client" in logs[-1]["detail"]


def test_an_unreachable_upstream(rig: Rig) -> None:
    rig.op.down = True
    with pytest.raises(LoginFailed) as caught:
        rig.start()
    assert caught.value.description == UNAVAILABLE.replace("{label}", "Test Broker")


@pytest.mark.parametrize(
    "overrides",
    [
        {"issuer": "https://impostor.test"},
        {"token_endpoint": "http://broker.test/token"},
        {"code_challenge_methods_supported": ["plain"]},
        {"token_endpoint_auth_methods_supported": ["client_secret_basic"]},
        {"authorization_endpoint": None},
    ],
)
def test_unusable_discovery_is_refused(rig: Rig, overrides: dict[str, Any]) -> None:
    rig.op.discovery_overrides = overrides
    with capture_logs() as logs, pytest.raises(LoginFailed):
        rig.start()
    assert logs[-1]["reason"] == "discovery"
