"""The throttling policy (``idp.protocol.throttle``; ASVS 6.1.1, 6.3.1, 6.3.8, 2.4.1; checklist
J7) over the in-process store with a clock the tests move."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from idp.protocol.models import HitCount
from idp.protocol.throttle import (
    LoginAttempt,
    Refusal,
    Throttle,
    ThrottlePolicy,
    address_key,
    claimed_client_id,
    normalise_account,
)
from idp.state import MemoryStateStore
from tests.support import CARER, RelyingParty

SECRET = b"s" * 32
ADDRESS = "192.0.2.10"
UNKNOWN = "999999999"
POLICY = ThrottlePolicy(
    login_failures_per_address=10,
    login_failures_per_account=3,
    login_failure_window=900,
    token_requests_per_address=8,
    token_requests_per_client=4,
    token_request_window=60,
)


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


class RecordingStore(MemoryStateStore):
    """Remembers every counter operation, to compare the work done for two accounts."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.calls: list[tuple[str, str, str]] = []

    def count_hit(self, scope: str, key: str, window: int) -> HitCount:
        self.calls.append(("count_hit", scope, key))
        return super().count_hit(scope, key, window)

    def hit_count(self, scope: str, key: str) -> HitCount:
        self.calls.append(("hit_count", scope, key))
        return super().hit_count(scope, key)

    def clear_hits(self, scope: str, key: str) -> None:
        self.calls.append(("clear_hits", scope, key))
        super().clear_hits(scope, key)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> RecordingStore:
    return RecordingStore(clock)


@pytest.fixture
def throttle(store: RecordingStore) -> Throttle:
    return Throttle(store, POLICY, SECRET)


def admitted(verdict: LoginAttempt | Refusal) -> LoginAttempt:
    assert isinstance(verdict, LoginAttempt), verdict
    return verdict


def fail(
    throttle: Throttle, account: str | None, method: str = "dev", address: str = ADDRESS
) -> Refusal | None:
    return throttle.failed(admitted(throttle.admit_login(method, address, account)))


# ---- accounts -----------------------------------------------------------------------------------


def test_account_locks_after_the_limit_for_the_window(throttle: Throttle, clock: Clock) -> None:
    assert fail(throttle, CARER) is None
    clock.now += 100
    assert fail(throttle, CARER) is None
    locked = fail(throttle, CARER)
    assert locked == Refusal("account", 800, first=True)  # the window opened with failure 1
    clock.now += 799
    refused = throttle.admit_login("dev", ADDRESS, CARER)  # even a correct attempt
    assert refused == Refusal("account", 1)
    clock.now += 1
    attempt = admitted(throttle.admit_login("dev", ADDRESS, CARER))
    assert attempt.account_hits.count == 1


def test_lock_holds_one_method_only(throttle: Throttle) -> None:
    for _ in range(3):
        fail(throttle, CARER, method="dev")
    assert isinstance(throttle.admit_login("dev", ADDRESS, CARER), Refusal)
    admitted(throttle.admit_login("passkey", ADDRESS, CARER))
    admitted(throttle.admit_login("dev", ADDRESS, "900000019"))


def test_success_clears_the_account_but_not_the_address(
    throttle: Throttle, store: RecordingStore
) -> None:
    fail(throttle, CARER)
    fail(throttle, CARER)
    throttle.succeeded(admitted(throttle.admit_login("dev", ADDRESS, CARER)))
    assert fail(throttle, CARER) is None  # the count started over
    assert fail(throttle, CARER) is None
    assert store.hit_count("login-address", _address_digest(throttle)).count == 4


def test_unknown_and_existing_accounts_do_the_same_work(
    throttle: Throttle, store: RecordingStore
) -> None:
    """ASVS 6.3.8: the policy never asks whether an account exists; the same operations, on the
    same scopes, happen for a registered number and for an unknown one."""

    def trace(account: str) -> list[tuple[str, str]]:
        store.calls.clear()
        for _ in range(4):
            verdict = throttle.admit_login("dev", ADDRESS, account)
            if isinstance(verdict, LoginAttempt):
                throttle.failed(verdict)
        return [(op, scope) for op, scope, _ in store.calls]

    assert trace(CARER) == trace(UNKNOWN)


def test_account_spelling_is_normalised(throttle: Throttle) -> None:
    fail(throttle, "AbC")
    fail(throttle, " abc ")
    fullwidth = "\uff21\uff22\uff23"  # NFKC folds it to "ABC"
    assert fail(throttle, fullwidth) == Refusal("account", 900, first=True)


def test_parallel_guesses_get_only_the_budget(throttle: Throttle) -> None:
    """Counting before the method runs makes the budget atomic: of 20 parallel attempts on one
    account only ``login_failures_per_account`` are admitted."""
    barrier = threading.Barrier(20)

    def attempt() -> bool:
        barrier.wait(timeout=10)
        return isinstance(throttle.admit_login("dev", ADDRESS, CARER), LoginAttempt)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(attempt) for _ in range(20)]]
    assert results.count(True) == POLICY.login_failures_per_account


def test_keys_are_keyed_hashes(store: RecordingStore) -> None:
    one = Throttle(store, POLICY, SECRET)
    fail(one, CARER)
    keys = {key for _, _, key in store.calls}
    assert all(CARER not in key and ADDRESS not in key for key in keys)
    store.calls.clear()
    fail(Throttle(store, POLICY, b"t" * 32), CARER)
    assert keys.isdisjoint(key for _, _, key in store.calls)  # another secret, other keys


def test_short_secret_is_refused(store: RecordingStore) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Throttle(store, POLICY, b"short")


def test_account_ref_is_short_and_absent_without_account(throttle: Throttle) -> None:
    attempt = admitted(throttle.admit_login("dev", ADDRESS, CARER))
    assert attempt.account_ref is not None and len(attempt.account_ref) == 12
    assert CARER not in attempt.account_ref
    assert admitted(throttle.admit_login("uzi", ADDRESS, None)).account_ref is None


# ---- addresses ----------------------------------------------------------------------------------


def _address_digest(throttle: Throttle, host: str = ADDRESS) -> str:
    return throttle._digest("address", address_key(host))


def test_address_blocks_every_account_after_its_limit(throttle: Throttle) -> None:
    results = [fail(throttle, f"90000{n:04d}") for n in range(9)]
    assert results == [None] * 9  # nine accounts, one failure each: no account lock
    admitted(throttle.admit_login("dev", ADDRESS, CARER))  # others still work until the limit
    blocked = fail(throttle, "900009999")
    assert blocked == Refusal("address", 900, first=True)
    assert throttle.admit_login("dev", ADDRESS, CARER) == Refusal("address", 900)
    assert throttle.admit_login("uzi", ADDRESS, None) == Refusal("address", 900)
    admitted(throttle.admit_login("dev", "192.0.2.11", CARER))  # another address is not blocked


def test_methods_without_an_account_count_against_the_address(throttle: Throttle) -> None:
    for _ in range(9):
        assert fail(throttle, None, method="uzi") is None
    assert fail(throttle, None, method="uzi") == Refusal("address", 900, first=True)


def test_refused_attempts_count_against_the_address(
    throttle: Throttle, store: RecordingStore
) -> None:
    for _ in range(3):
        fail(throttle, CARER)
    for _ in range(4):
        assert isinstance(throttle.admit_login("dev", ADDRESS, CARER), Refusal)
    assert store.hit_count("login-address", _address_digest(throttle)).count == 7


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("testclient", "testclient"),
    ],
)
def test_address_key(host: str, key: str) -> None:
    assert address_key(host) == key


def test_ipv6_hosts_share_their_64(throttle: Throttle) -> None:
    for n in range(10):
        fail(throttle, None, method="uzi", address=f"2001:db8::{n + 1:x}")
    assert isinstance(throttle.admit_login("uzi", "2001:db8::ffff", None), Refusal)
    admitted(throttle.admit_login("uzi", "2001:db8:0:1::1", None))


def test_normalise_account() -> None:
    assert normalise_account("  \uff21\uff22\uff23\t") == "abc"


# ---- clients at the token endpoint --------------------------------------------------------------


def test_client_limit_per_address(throttle: Throttle, clock: Clock) -> None:
    for _ in range(4):
        assert throttle.admit_client_request("token", ADDRESS, "epd") is None
    assert throttle.admit_client_request("token", ADDRESS, "epd") == Refusal("client", 60, True)
    assert throttle.admit_client_request("token", ADDRESS, "epd") == Refusal("client", 60, False)
    # The same client_id from elsewhere has its own budget: no DoS by naming a victim client.
    assert throttle.admit_client_request("token", "192.0.2.99", "epd") is None
    assert throttle.admit_client_request("token", ADDRESS, "other") is None
    assert throttle.admit_client_request("par", ADDRESS, "epd") is None  # its own endpoint
    clock.now += 60
    assert throttle.admit_client_request("token", ADDRESS, "epd") is None


def test_address_limit_at_the_token_endpoint(throttle: Throttle) -> None:
    for n in range(8):
        assert throttle.admit_client_request("token", ADDRESS, f"client-{n}") is None
    assert throttle.admit_client_request("token", ADDRESS, "new") == Refusal("address", 60, True)
    assert throttle.admit_client_request("token", ADDRESS, None) == Refusal("address", 60, False)


def test_request_without_client_counts_per_address_only(throttle: Throttle) -> None:
    for _ in range(8):
        assert throttle.admit_client_request("token", ADDRESS, None) is None
    assert isinstance(throttle.admit_client_request("token", ADDRESS, None), Refusal)


def test_claimed_client_id() -> None:
    rp = RelyingParty.confidential("epd-x", "https://idp.example", alg="ES256")
    assert claimed_client_id({"client_id": "epd-a"}) == "epd-a"
    assert claimed_client_id({"client_assertion": rp.assertion()}) == "epd-x"
    assert claimed_client_id({"client_assertion": "not-a-jwt"}) is None
    assert claimed_client_id({"client_assertion": rp.assertion(iss=None)}) is None
    assert claimed_client_id({}) is None
