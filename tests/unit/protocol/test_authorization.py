"""Authorization request validation (RFC 6749 §4.1.1, §4.1.2.1; OIDC Core §3.1.2; checklist B)."""

from __future__ import annotations

import pytest

from idp.protocol.authorization import validate_authorization_request
from idp.protocol.errors import AuthorizationError
from tests.unit.protocol.fakes import FakeClient, FakeClients
from tests.unit.protocol.test_pkce import APPENDIX_B_CHALLENGE

REDIRECT = "https://rp.example/cb"


@pytest.fixture
def clients() -> FakeClients:
    store = FakeClients()
    store.add(FakeClient())
    store.add(FakeClient(client_id="dezi", profile="dezi", auth_method="none"))
    store.add(FakeClient(client_id="gone", active=False))
    return store


def params(**overrides: str | None) -> list[tuple[str, str]]:
    values: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "rp",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": APPENDIX_B_CHALLENGE,
        "code_challenge_method": "S256",
    }
    values.update(overrides)
    return [(k, v) for k, v in values.items() if v is not None]


def reject(clients: FakeClients, pairs: list[tuple[str, str]]) -> AuthorizationError:
    with pytest.raises(AuthorizationError) as info:
        validate_authorization_request(pairs, clients)
    return info.value


def test_valid_request(clients: FakeClients) -> None:
    request, client = validate_authorization_request(params(prompt="login", max_age="0"), clients)
    assert client.client_id == "rp"
    assert request.scope == ("openid",)
    assert request.prompt == ("login",)
    assert request.max_age == 0


def test_unknown_scopes_are_ignored(clients: FakeClients) -> None:
    request, _ = validate_authorization_request(params(scope="openid profile email"), clients)
    assert request.scope == ("openid",)


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": None},
        {"client_id": "nobody"},
        {"client_id": "gone"},
        {"redirect_uri": None},
        {"redirect_uri": REDIRECT + "/"},
        {"redirect_uri": REDIRECT.upper()},
        {"redirect_uri": REDIRECT + "?foo=bar"},
        {"redirect_uri": REDIRECT + "#frag"},
        {"redirect_uri": "http://rp.example/cb"},
        {"redirect_uri": "https://rp.example:443/cb"},
        {"redirect_uri": "https://rp.example%2Fcb"},
        {"redirect_uri": "https://rp.example@evil.example/cb"},
        {"redirect_uri": "https://rp.example.evil.example/cb"},
    ],
)
def test_errors_before_redirect_uri_is_trusted_are_never_redirected(
    clients: FakeClients, overrides: dict[str, str | None]
) -> None:
    """Checklist B1: every variant of a wrong redirect URI gives an error page."""
    error = reject(clients, params(**overrides))
    assert error.redirect_uri is None


def test_repeated_client_id_is_an_error_page(clients: FakeClients) -> None:
    error = reject(clients, [*params(), ("client_id", "rp")])
    assert error.redirect_uri is None


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "tooshort"}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"nonce": ""}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "ten"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": "[1]"}, "invalid_request"),
        ({"request": "eyJ.x.y"}, "request_not_supported"),
        ({"request_uri": "urn:x"}, "request_uri_not_supported"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"state": "s" * 600}, "invalid_request"),
        ({"login_hint": "h" * 300}, "invalid_request"),
    ],
)
def test_errors_after_redirect_uri_go_back_to_the_client(
    clients: FakeClients, overrides: dict[str, str | None], code: str
) -> None:
    error = reject(clients, params(**overrides))
    assert error.redirect_uri == REDIRECT
    assert error.oauth.error == code
    if overrides.get("state") is None and "state" not in overrides:
        assert error.state == "s1"
    else:
        assert error.state is None  # an invalid state is never echoed


@pytest.mark.parametrize("state", ["s" * 513, "caf\u00e9", "a\nb", "", "s" * 100_000])
def test_invalid_state_is_not_echoed(clients: FakeClients, state: str) -> None:
    """RFC 6749 Appendix A.5 (1*VSCHAR) and §4.1.2.1: only a valid state goes back."""
    error = reject(clients, params(state=state))
    assert error.redirect_uri == REDIRECT
    assert error.oauth.error == "invalid_request"
    assert error.state is None


@pytest.mark.parametrize("max_age", ["\u00b2", "\u0661", "1\u00b2", "0x1", " 1", "1" * 10])
def test_max_age_must_be_ascii_digits(clients: FakeClients, max_age: str) -> None:
    error = reject(clients, params(max_age=max_age))
    assert error.oauth.error == "invalid_request"


def test_repeated_parameter_after_client_is_redirected(clients: FakeClients) -> None:
    error = reject(clients, [*params(), ("scope", "openid")])
    assert error.redirect_uri == REDIRECT
    assert error.oauth.error == "invalid_request"


def test_oversized_parameter_is_rejected(clients: FakeClients) -> None:
    error = reject(clients, params(acr_values="x" * 5000))
    assert error.oauth.error == "invalid_request"


def test_dezi_profile_may_omit_nonce(clients: FakeClients) -> None:
    request, _ = validate_authorization_request(params(client_id="dezi", nonce=None), clients)
    assert request.nonce is None


def test_error_redirect_parameters_carry_state_and_iss(clients: FakeClients) -> None:
    error = reject(clients, params(code_challenge=None))
    pairs = dict(error.oauth.redirect_params(error.state, "https://idp.example"))
    assert pairs == {
        "error": "invalid_request",
        "error_description": "code_challenge is required (PKCE)",
        "state": "s1",
        "iss": "https://idp.example",
    }
