"""The state operations of the SAML login (``idp.authn.digid``, ``idp.web.postback``), against
the in-process and the Redis store alike: kept once, taken once, gone after their TTL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.ports import StateStore
from tests.unit.state.concurrency import THREADS, run_together


def test_postback_is_taken_once(store: StateStore) -> None:
    store.stash_postback("ticket-1", "sealed-1", ttl=60)
    store.stash_postback("ticket-2", "sealed-2", ttl=60)
    assert store.take_postback("ticket-1") == "sealed-1"
    assert store.take_postback("ticket-1") is None
    assert store.take_postback("ticket-2") == "sealed-2"
    assert store.take_postback("never-stashed") is None


def test_saml_request_is_taken_once(store: StateStore) -> None:
    store.put_saml_request("tx-1", "id-request-1", ttl=60)
    assert store.take_saml_request("tx-1") == "id-request-1"
    assert store.take_saml_request("tx-1") is None
    assert store.take_saml_request("tx-2") is None


def test_a_new_saml_request_replaces_the_old(store: StateStore) -> None:
    """A person who starts DigiD again in one login waits for the newest request only."""
    store.put_saml_request("tx-1", "id-old", ttl=60)
    store.put_saml_request("tx-1", "id-new", ttl=60)
    assert store.take_saml_request("tx-1") == "id-new"
    assert store.take_saml_request("tx-1") is None


def test_the_two_kinds_do_not_mix(store: StateStore) -> None:
    store.stash_postback("same", "payload", ttl=60)
    assert store.take_saml_request("same") is None
    assert store.take_postback("same") == "payload"


def test_postback_and_request_expire(store: StateStore, elapse: Callable[[float], None]) -> None:
    store.stash_postback("ticket", "sealed", ttl=1)
    store.put_saml_request("tx", "id-request", ttl=1)
    elapse(1.2)
    assert store.take_postback("ticket") is None
    assert store.take_saml_request("tx") is None


def test_ttl_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.stash_postback("ticket", "sealed", ttl=0)
    with pytest.raises(ValueError, match="ttl"):
        store.put_saml_request("tx", "id-request", ttl=0)
    assert store.take_postback("ticket") is None
    assert store.take_saml_request("tx") is None


def test_concurrent_take_postback_has_one_winner(store: StateStore) -> None:
    store.stash_postback("race", "sealed", ttl=60)
    results = run_together(lambda: store.take_postback("race"))
    assert results.count("sealed") == 1
    assert results.count(None) == THREADS - 1


def test_concurrent_take_saml_request_has_one_winner(store: StateStore) -> None:
    store.put_saml_request("tx-race", "id-request", ttl=60)
    results = run_together(lambda: store.take_saml_request("tx-race"))
    assert results.count("id-request") == 1
    assert results.count(None) == THREADS - 1


def test_keys_hold_no_ticket_or_transaction_id(store: StateStore, backend: str) -> None:
    """The ticket travels in a URL and opens the sealed form: only its hash names the entry."""
    store.stash_postback("ticket-in-clear", "x", ttl=60)
    if backend == "memory":
        keys = list(getattr(store, "_entries"))  # noqa: B009 - the in-process store's own dict
    else:
        client = getattr(store, "_client")  # noqa: B009
        keys = [k.decode() if isinstance(k, bytes) else k for k in client.keys("*")]
    assert keys and not any("ticket-in-clear" in key for key in keys)
