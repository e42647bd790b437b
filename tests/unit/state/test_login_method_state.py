"""The LoginMethodState contract, against the in-process and the Redis store alike: the
one-time scratch state of login methods, each kept once and taken once, gone after its TTL.

- WebAuthn ceremony challenges (W3C WebAuthn L2 §13.4.3; ``idp.authn.passkey``).
- Upstream OIDC logins (``idp.authn.oidc_upstream``): what the login needs when the browser comes
  back, under the request's ``state``.
- SAML (``idp.authn.digid``, ``idp.web.postback``): relayed post-backs under a one-time ticket,
  and the request each login waits on (SAML Profiles §4.1.4.3).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.models import UpstreamLogin
from idp.protocol.ports import LoginMethodState
from tests.unit.state.concurrency import THREADS, run_together

STATE = "tx-1.Xk3Vb9pQ2wLmN8rT5yZa1cD4eF7gH0jK6sU"


def login(tx_id: str = "tx-1") -> UpstreamLogin:
    return UpstreamLogin(
        tx_id=tx_id,
        method="broker",
        nonce="n-0S6_WzA2Mj",
        code_verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        created_at=1_700_000_000,
    )


# -- WebAuthn challenges ---------------------------------------------------------------------------


def test_challenge_is_taken_once(store: LoginMethodState) -> None:
    store.put_challenge("login:tx-1", "c-1", ttl=60)
    store.put_challenge("login:tx-2", "c-2", ttl=60)
    assert store.take_challenge("login:tx-1") == "c-1"
    assert store.take_challenge("login:tx-1") is None
    assert store.take_challenge("login:tx-2") == "c-2"
    assert store.take_challenge("never-put") is None


def test_a_new_challenge_replaces_the_old(store: LoginMethodState) -> None:
    store.put_challenge("register:sid", "old", ttl=60)
    store.put_challenge("register:sid", "new", ttl=60)
    assert store.take_challenge("register:sid") == "new"
    assert store.take_challenge("register:sid") is None


def test_challenge_expires(store: LoginMethodState, elapse: Callable[[float], None]) -> None:
    store.put_challenge("login:tx", "c", ttl=1)
    elapse(1.2)
    assert store.take_challenge("login:tx") is None


def test_challenge_ttl_must_be_positive(store: LoginMethodState) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_challenge("login:tx", "c", ttl=0)
    assert store.take_challenge("login:tx") is None


# -- upstream OIDC logins --------------------------------------------------------------------------


def test_upstream_login_round_trip_once(store: LoginMethodState) -> None:
    store.put_upstream_login(STATE, login(), ttl=60)
    assert store.take_upstream_login(STATE) == login()
    assert store.take_upstream_login(STATE) is None  # a replayed state finds nothing


def test_upstream_states_are_independent(store: LoginMethodState) -> None:
    store.put_upstream_login(STATE, login(), ttl=60)
    store.put_upstream_login("other-state", login("tx-2"), ttl=60)
    assert store.take_upstream_login("other-state") == login("tx-2")
    assert store.take_upstream_login(STATE) == login()
    assert store.take_upstream_login("never-issued") is None


def test_long_hostile_upstream_state_is_harmless(store: LoginMethodState) -> None:
    assert store.take_upstream_login("x" * 10_000 + "\u202e") is None


def test_upstream_login_expires(store: LoginMethodState, elapse: Callable[[float], None]) -> None:
    store.put_upstream_login(STATE, login(), ttl=1)
    elapse(1.2)
    assert store.take_upstream_login(STATE) is None


@pytest.mark.parametrize("ttl", [0, -1])
def test_upstream_login_ttl_must_be_positive(store: LoginMethodState, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_upstream_login(STATE, login(), ttl=ttl)


def test_concurrent_take_upstream_login_has_one_winner(store: LoginMethodState) -> None:
    store.put_upstream_login(STATE, login(), ttl=60)
    results = run_together(lambda: store.take_upstream_login(STATE))
    assert results.count(login()) == 1
    assert results.count(None) == THREADS - 1


# -- SAML post-backs and requests ------------------------------------------------------------------


def test_postback_is_taken_once(store: LoginMethodState) -> None:
    store.stash_postback("ticket-1", "sealed-1", ttl=60)
    store.stash_postback("ticket-2", "sealed-2", ttl=60)
    assert store.take_postback("ticket-1") == "sealed-1"
    assert store.take_postback("ticket-1") is None
    assert store.take_postback("ticket-2") == "sealed-2"
    assert store.take_postback("never-stashed") is None


def test_saml_request_is_taken_once(store: LoginMethodState) -> None:
    store.put_saml_request("tx-1", "id-request-1", ttl=60)
    assert store.take_saml_request("tx-1") == "id-request-1"
    assert store.take_saml_request("tx-1") is None
    assert store.take_saml_request("tx-2") is None


def test_a_new_saml_request_replaces_the_old(store: LoginMethodState) -> None:
    """A person who starts DigiD again in one login waits for the newest request only."""
    store.put_saml_request("tx-1", "id-old", ttl=60)
    store.put_saml_request("tx-1", "id-new", ttl=60)
    assert store.take_saml_request("tx-1") == "id-new"
    assert store.take_saml_request("tx-1") is None


def test_the_two_kinds_do_not_mix(store: LoginMethodState) -> None:
    store.stash_postback("same", "payload", ttl=60)
    assert store.take_saml_request("same") is None
    assert store.take_postback("same") == "payload"


def test_postback_and_request_expire(
    store: LoginMethodState, elapse: Callable[[float], None]
) -> None:
    store.stash_postback("ticket", "sealed", ttl=1)
    store.put_saml_request("tx", "id-request", ttl=1)
    elapse(1.2)
    assert store.take_postback("ticket") is None
    assert store.take_saml_request("tx") is None


def test_saml_ttl_must_be_positive(store: LoginMethodState) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.stash_postback("ticket", "sealed", ttl=0)
    with pytest.raises(ValueError, match="ttl"):
        store.put_saml_request("tx", "id-request", ttl=0)
    assert store.take_postback("ticket") is None
    assert store.take_saml_request("tx") is None


def test_concurrent_take_postback_has_one_winner(store: LoginMethodState) -> None:
    store.stash_postback("race", "sealed", ttl=60)
    results = run_together(lambda: store.take_postback("race"))
    assert results.count("sealed") == 1
    assert results.count(None) == THREADS - 1


def test_concurrent_take_saml_request_has_one_winner(store: LoginMethodState) -> None:
    store.put_saml_request("tx-race", "id-request", ttl=60)
    results = run_together(lambda: store.take_saml_request("tx-race"))
    assert results.count("id-request") == 1
    assert results.count(None) == THREADS - 1


def test_keys_hold_no_ticket_or_transaction_id(store: LoginMethodState, backend: str) -> None:
    """The ticket travels in a URL and opens the sealed form: only its hash names the entry."""
    store.stash_postback("ticket-in-clear", "x", ttl=60)
    if backend == "memory":
        keys = list(getattr(store, "_entries"))  # noqa: B009 - the in-process store's own dict
    else:
        client = getattr(store, "_client")  # noqa: B009
        keys = [k.decode() if isinstance(k, bytes) else k for k in client.keys("*")]
    assert keys and not any("ticket-in-clear" in key for key in keys)
