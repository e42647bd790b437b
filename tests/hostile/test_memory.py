"""Memory stays bounded under hostile input: a traced run of the heaviest generators.

tracemalloc slows every allocation, so this run is small (200 requests) and the limit generous:
what it catches is a parse that holds megabytes per request (a 1,500-level JSON tree kept, a
100 KB value copied into every error), not the growth of the in-memory state store.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.conftest import Target
from tests.hostile.test_hostile_requests import MAX_URL, assert_healthy, authorize_base

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
]
PEAK_LIMIT = 48 * 1024 * 1024


@pytest.fixture(scope="module")
def traced() -> Iterator[None]:
    tracemalloc.start()
    yield None
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.1f} MB"


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    phases=(Phase.generate,),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.function_scoped_fixture),
)
@given(
    value=st.one_of(hs.deep, hs.claims_json, hs.jwt_garbage),
    name=st.sampled_from(("claims", "state", "nonce", "login_hint", "max_age", "other")),
    where=st.sampled_from(("authorize", "token", "userinfo")),
)
def test_memory_bounded(target: Target, traced: object, value: str, name: str, where: str) -> None:
    if where == "authorize":
        query = hs.encoded([*authorize_base(target, False), (name, value)])
        if len(query) < MAX_URL:
            response = target.client.get(f"/authorize?{query}")
        else:  # httpx refuses a URL over 64 KiB: the same request as a form post
            response = target.client.post(
                "/authorize",
                content=query.encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
    elif where == "token":
        body = hs.encoded(
            [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", hs.JWT_BEARER),
                ("client_assertion", value),
            ]
        )
        response = target.client.post(
            "/token",
            content=body.encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        header = "Bearer " + value if value.isascii() else "Bearer x"
        response = target.client.get("/userinfo", headers={"Authorization": header})
    assert response.status_code < 500


def test_answers_after_the_traced_run(target: Target) -> None:
    assert_healthy(target)
