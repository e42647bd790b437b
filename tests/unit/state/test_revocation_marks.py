"""The RevocationMarks contract (``mark_revoked``, ``any_revoked``), against
the in-process and the Redis store alike: register records that are no longer usable, pushed into
the state store so that the hot path need not read the database (ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.ports import RevocationMarks
from tests.unit.state import records

DECL = "decl:decl-1"
PROF = f"prof:{records.DEZI_NUMMER}"
ORG = "org:90000001"


def test_nothing_is_marked_at_first(store: RevocationMarks) -> None:
    assert store.any_revoked([DECL, PROF, ORG]) is False


def test_no_keys_is_never_revoked(store: RevocationMarks) -> None:
    store.mark_revoked([DECL], ttl=60)
    assert store.any_revoked([]) is False
    assert store.any_revoked(()) is False


def test_any_marked_key_counts(store: RevocationMarks) -> None:
    store.mark_revoked([PROF], ttl=60)
    assert store.any_revoked([PROF]) is True
    assert store.any_revoked([DECL, PROF, ORG]) is True
    assert store.any_revoked([ORG, PROF]) is True
    assert store.any_revoked([DECL, ORG]) is False


def test_several_keys_in_one_call(store: RevocationMarks) -> None:
    store.mark_revoked([DECL, ORG], ttl=60)
    assert store.any_revoked([DECL]) is True
    assert store.any_revoked([ORG]) is True
    assert store.any_revoked([PROF]) is False


def test_marking_nothing_is_harmless(store: RevocationMarks) -> None:
    store.mark_revoked([], ttl=60)
    assert store.any_revoked([DECL]) is False


def test_kinds_of_record_do_not_mix(store: RevocationMarks) -> None:
    store.mark_revoked(["decl:42"], ttl=60)
    assert store.any_revoked(["org:42", "prof:42"]) is False


def test_marks_expire(store: RevocationMarks, elapse: Callable[[float], None]) -> None:
    store.mark_revoked([DECL], ttl=1)
    store.mark_revoked([ORG], ttl=60)
    elapse(1.2)
    assert store.any_revoked([DECL]) is False
    assert store.any_revoked([ORG]) is True


def test_marking_again_restarts_the_ttl(
    store: RevocationMarks, elapse: Callable[[float], None]
) -> None:
    store.mark_revoked([DECL], ttl=1)
    store.mark_revoked([DECL], ttl=60)
    elapse(1.2)
    assert store.any_revoked([DECL]) is True


@pytest.mark.parametrize("ttl", [0, -1])
def test_ttl_must_be_positive(store: RevocationMarks, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.mark_revoked([DECL], ttl=ttl)
    assert store.any_revoked([DECL]) is False


def test_keys_hold_no_identifier(store: RevocationMarks, backend: str) -> None:
    """A mark names a person (``prof:<dezi_nummer>``): only its hash names the entry."""
    store.mark_revoked([PROF], ttl=60)
    if backend == "memory":
        keys = list(getattr(store, "_entries"))  # noqa: B009 - the in-process store's own dict
    else:
        client = getattr(store, "_client")  # noqa: B009
        keys = [k.decode() if isinstance(k, bytes) else k for k in client.keys("*")]
    assert keys and not any(records.DEZI_NUMMER in key for key in keys)
