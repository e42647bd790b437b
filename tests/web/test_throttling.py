"""Throttling through the ASGI app (checklist J7; ASVS 6.1.1, 6.3.1, 6.3.8, 2.4.1).

Deployments of their own with small limits. Each test speaks from its own client address (the
test client's peer), so the per-address counters of one test never reach another. Besides the
``dev`` method, a test-only ``pin`` method with a secret factor is added to the app, so that
"wrong factor for an existing account" can be set against "unknown account".
"""

from __future__ import annotations

import hmac
import re
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import redis
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from idp.app import create_app
from idp.authn.base import FormStep, LoginContext, LoginOutcome, LoginStep
from idp.errors import LoginFailed
from idp.protocol.models import LOA_HIGH
from idp.protocol.ports import Register
from idp.protocol.throttle import ThrottlePolicy
from idp.settings import Settings
from idp.state import MemoryStateStore
from idp.web.throttling import throttle_from_settings
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.support import (
    CARER,
    ORG_ADMIN,
    PHYSICIAN,
    Form,
    RelyingParty,
    login_through_forms,
    parse_forms,
)
from tests.web.test_code_flow import start

PIN = "4711"
WRONG_PIN = "0000"
DUMMY_PIN = "\x00" * 4
UNKNOWN = "999999999"  # well formed, in no register
LIMITS: dict[str, object] = {
    "login_failures_per_account": 3,
    "login_failures_per_address": 10,
    "token_requests_per_client": 5,
    "token_requests_per_address": 9,
}
REDIS_URL = "redis://127.0.0.1:6379/11"  # ours alone; the state tests use 13


@dataclass(frozen=True, slots=True)
class PinLogin:
    """Test only: a Dezi number and a PIN. An unknown number is checked against a dummy PIN, so
    that both paths do the same work (no shortcut for unknown accounts)."""

    register: Register
    pins: Mapping[str, str]
    name: str = "pin"
    label: str = "Dezi number and PIN (test only)"
    acr: str = LOA_HIGH

    def begin(self, context: LoginContext) -> LoginStep:
        return FormStep("login_dev.html", {"dezi_nummer": "", "error": None})

    def claimed_account(self, form: Mapping[str, str]) -> str:
        return form.get("dezi_nummer", "").strip()

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        number = self.claimed_account(form)
        known = self.register.find_professional(number) is not None
        expected = self.pins.get(number, DUMMY_PIN).encode()
        if not hmac.compare_digest(expected, form.get("pin", "").encode()) or not known:
            raise LoginFailed("This Dezi number and PIN do not match.")
        return LoginOutcome(dezi_nummer=number, acr=self.acr, method=self.name)


@dataclass
class Site:
    app: Starlette
    rp: RelyingParty
    public: RelyingParty

    def browser(self, host: str) -> TestClient:
        return TestClient(self.app, base_url=ISSUER, follow_redirects=False, client=(host, 50000))


def build_site(tmp: Path, **overrides: object) -> Site:
    settings = make_settings(tmp, **{**LIMITS, **overrides})
    rp, public, _ = seed_deployment(settings)
    app = create_app(settings)
    services = app.state.services
    pins = dict.fromkeys((CARER, PHYSICIAN, ORG_ADMIN), PIN)
    services.login_methods["pin"] = PinLogin(services.register, pins)
    return Site(app, rp, public)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("throttle"))


def login_form(client: TestClient, rp: RelyingParty, method: str) -> Form:
    url, _, _ = start(rp)
    chooser = client.get(url)
    assert chooser.status_code == 303, chooser.text
    page = client.get(f"{chooser.headers['location']}/{method}")
    assert page.status_code == 200, page.text
    return next(form for form in parse_forms(page.text) if form.method == "post")


def attempt(client: TestClient, form: Form, number: str, **extra: str) -> httpx2.Response:
    data = {**form.fields, "dezi_nummer": number, "action": "login", **extra}
    return client.post(form.action, data=data)


def shown_error(response: httpx2.Response) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert found is not None, response.text
    return found.group(1)


# ---- lockout per account and method -------------------------------------------------------------


def test_n_failures_lock_that_account_and_method_like_an_unknown_one(site: Site) -> None:
    """J7, ASVS 6.3.8: the same failures, then the same lockout page, for an existing account
    with a wrong factor and for an unknown account; a correct PIN changes nothing while locked."""
    with capture_logs() as logs, site.browser("10.1.0.1") as client:
        form = login_form(client, site.rp, "pin")
        existing = [attempt(client, form, CARER, pin=WRONG_PIN) for _ in range(3)]
        unknown = [attempt(client, form, UNKNOWN, pin=WRONG_PIN) for _ in range(3)]
        correct_but_locked = attempt(client, form, CARER, pin=PIN)
        unknown_locked = attempt(client, form, UNKNOWN, pin=PIN)
    for mine, theirs in zip(existing[:2], unknown[:2], strict=True):
        assert mine.status_code == theirs.status_code == 400
        assert mine.text == theirs.text
        assert shown_error(mine) == "This Dezi number and PIN do not match."
    for locked in (existing[2], unknown[2], correct_but_locked, unknown_locked):
        assert locked.status_code == 429
        assert locked.text == existing[2].text
        assert 1 <= int(locked.headers["retry-after"]) <= 900
    assert "with this login method" in shown_error(existing[2])
    assert "Try again in 15 minutes" in shown_error(existing[2])
    locks = [entry for entry in logs if entry["event"] == "login_locked"]
    assert [(e["method"], e["reason"]) for e in locks] == [("pin", "account")] * 2
    assert all(CARER not in str(e) and UNKNOWN not in str(e) for e in locks)


def test_a_lock_holds_one_method_only(site: Site) -> None:
    with site.browser("10.1.0.2") as client:
        form = login_form(client, site.rp, "pin")
        for _ in range(3):
            attempt(client, form, PHYSICIAN, pin=WRONG_PIN)
        assert attempt(client, form, PHYSICIAN, pin=PIN).status_code == 429
        url, _, _ = start(site.rp)
        final = login_through_forms(client, url, PHYSICIAN)  # the chooser's first: dev
    assert final.status_code == 303
    assert final.headers["location"].startswith(site.rp.redirect_uri)


def test_a_correct_login_clears_the_account_count(site: Site) -> None:
    with site.browser("10.1.0.3") as client:
        form = login_form(client, site.rp, "pin")
        assert attempt(client, form, ORG_ADMIN, pin=WRONG_PIN).status_code == 400
        assert attempt(client, form, ORG_ADMIN, pin=WRONG_PIN).status_code == 400
        assert attempt(client, form, ORG_ADMIN, pin=PIN).status_code == 303
    with site.browser("10.1.0.3") as fresh:  # no SSO session: a login form again
        form = login_form(fresh, site.rp, "pin")
        assert attempt(fresh, form, ORG_ADMIN, pin=WRONG_PIN).status_code == 400
        assert attempt(fresh, form, ORG_ADMIN, pin=WRONG_PIN).status_code == 400


def test_a_correct_login_after_the_window_works(tmp_path: Path) -> None:
    short = build_site(tmp_path, login_failure_window=1)
    with short.browser("10.1.0.4") as client:
        form = login_form(client, short.rp, "pin")
        statuses = [attempt(client, form, CARER, pin=WRONG_PIN).status_code for _ in range(3)]
        assert statuses == [400, 400, 429]
        assert attempt(client, form, CARER, pin=PIN).status_code == 429
        time.sleep(1.1)
        after = attempt(client, form, CARER, pin=PIN)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/select/")


# ---- the address --------------------------------------------------------------------------------


def login_as(site: Site, host: str, number: str) -> httpx2.Response:
    """A whole dev login in a new browser (no SSO session) from ``host``."""
    with site.browser(host) as client:
        url, _, _ = start(site.rp)
        final: httpx2.Response = login_through_forms(client, url, number)
    return final


def test_other_accounts_work_until_the_address_limit(site: Site) -> None:
    with site.browser("10.1.0.5") as client:
        form = login_form(client, site.rp, "dev")
        for n in range(9):
            assert attempt(client, form, f"99999{n:04d}").status_code == 400
        assert login_as(site, "10.1.0.5", CARER).status_code == 303
        blocked = attempt(client, form, "999990009")
    assert blocked.status_code == 429
    assert "from your network" in shown_error(blocked)
    refused = login_as(site, "10.1.0.5", CARER)
    assert refused.status_code == 429
    assert refused.text == blocked.text
    assert login_as(site, "10.1.0.6", CARER).status_code == 303


def test_forwarded_for_from_an_untrusted_peer_is_ignored(site: Site) -> None:
    """The address is the TCP peer unless that peer is a trusted proxy (idp.web.proxy)."""
    with site.browser("10.1.0.7") as client:
        form = login_form(client, site.rp, "dev")
        for n in range(10):
            forged = {"X-Forwarded-For": f"198.51.100.{n}"}
            data = {**form.fields, "dezi_nummer": f"99998{n:04d}", "action": "login"}
            client.post(form.action, data=data, headers=forged)
        assert attempt(client, form, CARER).status_code == 429


# ---- the token endpoint -------------------------------------------------------------------------


def token_request(client: TestClient, client_id: str) -> httpx2.Response:
    return client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": "not-a-code",
            "redirect_uri": "https://public.example/cb",
            "code_verifier": "v" * 43,
        },
    )


def assert_rate_limited(response: httpx2.Response, window: int = 60) -> None:
    assert response.status_code == 429
    assert response.json()["error"] == "temporarily_unavailable"
    assert 1 <= int(response.headers["retry-after"]) <= window
    assert response.headers["cache-control"] == "no-store"


def test_token_endpoint_429_after_the_per_client_limit(site: Site) -> None:
    with site.browser("10.1.0.8") as client:
        statuses = [token_request(client, site.public.client_id).status_code for _ in range(5)]
        assert statuses == [400] * 5  # invalid_grant: counted all the same
        assert_rate_limited(token_request(client, site.public.client_id))
    with site.browser("10.1.0.9") as elsewhere:  # naming the client from elsewhere: own budget
        assert token_request(elsewhere, site.public.client_id).status_code == 400


def test_token_endpoint_429_after_the_per_address_limit(site: Site) -> None:
    with site.browser("10.1.0.10") as client:
        for n in range(9):
            assert token_request(client, f"nobody-{n}").status_code == 401
        assert_rate_limited(token_request(client, "nobody-else"))


@pytest.mark.redis
def test_token_limit_is_shared_by_workers_through_redis(tmp_path: Path) -> None:
    """Two app instances (two workers) on one Redis count against one budget."""
    flush = redis.Redis.from_url(REDIS_URL)
    assert flush.connection_pool.connection_kwargs["db"] == 11
    flush.flushdb()
    try:
        settings = make_settings(tmp_path, state_url=REDIS_URL, **LIMITS)
        _, public, _ = seed_deployment(settings)
        workers = [create_app(settings), create_app(settings)]
        clients = [
            TestClient(app, base_url=ISSUER, follow_redirects=False, client=("10.1.0.11", 1))
            for app in workers
        ]
        with clients[0] as first, clients[1] as second:
            statuses = [token_request((first, second)[n % 2], public.client_id) for n in range(5)]
            assert [r.status_code for r in statuses] == [400] * 5
            assert_rate_limited(token_request(first, public.client_id))
            assert_rate_limited(token_request(second, public.client_id))
        keys = flush.keys("zorg:hits:*")
        assert keys and all(flush.ttl(key) > 0 for key in keys)
    finally:
        flush.flushdb()
        flush.close()


# ---- no enumeration: same status, text and time -------------------------------------------------

RUNS = 50


@pytest.fixture(scope="module")
def roomy(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Limits far above the runs below: only the answers are compared, never a lockout."""
    return build_site(
        tmp_path_factory.mktemp("roomy"),
        login_failures_per_account=10_000,
        login_failures_per_address=10_000,
    )


def timed(
    client: TestClient, form: Form, cases: Mapping[str, Mapping[str, str]]
) -> dict[str, tuple[float, set[tuple[int, str]]]]:
    """Post each case ``RUNS`` times, interleaved so drift hits all alike; per case the median
    time and the set of (status, page) seen."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    pages: dict[str, set[tuple[int, str]]] = {name: set() for name in cases}
    for data in cases.values():  # warm-up
        client.post(form.action, data={**form.fields, "action": "login", **data})
    for _ in range(RUNS):
        for name, data in cases.items():
            began = time.perf_counter()
            response = client.post(form.action, data={**form.fields, "action": "login", **data})
            times[name].append(time.perf_counter() - began)
            pages[name].add((response.status_code, response.text))
    return {name: (statistics.median(times[name]), pages[name]) for name in cases}


def assert_alike(
    a: tuple[float, set[tuple[int, str]]], b: tuple[float, set[tuple[int, str]]]
) -> None:
    (time_a, pages_a), (time_b, pages_b) = a, b
    assert len(pages_a) == 1 and pages_a == pages_b  # one answer, byte for byte the same
    assert next(iter(pages_a))[0] == 400
    # Generous: loopback noise stays well inside it; a skipped hash or look-up of several
    # milliseconds, or an added delay, does not.
    assert abs(time_a - time_b) <= 0.25 * max(time_a, time_b) + 0.002, (time_a, time_b)


def test_unknown_account_and_wrong_factor_look_and_time_the_same(roomy: Site) -> None:
    """J7 ("unknown user" vs "wrong factor"), ASVS 6.3.8."""
    with roomy.browser("10.2.0.1") as client:
        form = login_form(client, roomy.rp, "pin")
        result = timed(
            client,
            form,
            {
                "wrong_factor": {"dezi_nummer": CARER, "pin": WRONG_PIN},
                "unknown": {"dezi_nummer": UNKNOWN, "pin": WRONG_PIN},
            },
        )
    assert_alike(result["wrong_factor"], result["unknown"])


def test_unknown_and_malformed_numbers_look_and_time_the_same(roomy: Site) -> None:
    """The dev method: an unknown and a malformed number give one answer (ASVS 6.3.8)."""
    with roomy.browser("10.2.0.2") as client:
        form = login_form(client, roomy.rp, "dev")
        result = timed(
            client, form, {"unknown": {"dezi_nummer": UNKNOWN}, "malformed": {"dezi_nummer": "12"}}
        )
    assert_alike(result["unknown"], result["malformed"])
    assert "cannot log in here" in next(iter(result["unknown"][1]))[1]


# ---- settings -----------------------------------------------------------------------------------


def test_settings_defaults_and_bounds(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    policy = throttle_from_settings(settings, MemoryStateStore(), b"s" * 32).policy
    assert policy == ThrottlePolicy(
        login_failures_per_address=30,
        login_failures_per_account=5,
        login_failure_window=900,
        token_requests_per_address=1200,
        token_requests_per_client=600,
        token_request_window=60,
    )
    with pytest.raises(ValidationError, match="login_failures_per_account"):
        Settings(data_dir=tmp_path, login_failures_per_account=0)
    with pytest.raises(ValidationError, match="token_request_window"):
        Settings(data_dir=tmp_path, token_request_window=7200)
