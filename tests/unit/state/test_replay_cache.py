"""The ReplayCache contract, against the in-process and the Redis store alike: ``first_use`` is
true exactly once per (namespace, key) within its TTL, also under concurrency (client-assertion
``jti``, RFC 7523 §3; logout tokens; SAML assertion ids)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.ports import ReplayCache
from tests.unit.state.concurrency import THREADS, run_together


def test_first_use(store: ReplayCache) -> None:
    assert store.first_use("jti", "abc", ttl=60) is True
    assert store.first_use("jti", "abc", ttl=60) is False
    assert store.first_use("jti", "other", ttl=60) is True
    assert store.first_use("logout", "abc", ttl=60) is True  # namespaces are separate


def test_concurrent_first_use_has_one_winner(store: ReplayCache) -> None:
    results = run_together(lambda: store.first_use("jti", "assertion-1", ttl=60))
    assert results.count(True) == 1
    assert results.count(False) == THREADS - 1


def test_first_use_expires(store: ReplayCache, elapse: Callable[[float], None]) -> None:
    assert store.first_use("jti", "abc", ttl=1) is True
    elapse(1.2)
    assert store.first_use("jti", "abc", ttl=1) is True


@pytest.mark.parametrize("ttl", [0, -1])
def test_first_use_ttl_must_be_positive(store: ReplayCache, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.first_use("jti", "abc", ttl=ttl)
