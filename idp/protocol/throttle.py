"""Abuse resistance: rate limits and lockouts per login method, account, address and client.

ASVS 5.0 6.1.1 (a documented policy that says how malicious lockout is prevented), 6.3.1 (controls
against brute force and credential stuffing), 6.3.8 (no user enumeration), 2.4.1 (anti-automation);
checklist J7. RFC 6585 §4 and RFC 9126 §2.3 for the 429 answer. The policy, with the defaults of
``idp.settings``:

- **Address**: at most ``login_failures_per_address`` (30) failed logins per client address in a
  fixed window of ``login_failure_window`` (900 s); after that every login attempt from that
  address is refused until the window closes. IPv6 addresses count per /64, the block one host
  usually controls.
- **Account and method**: at most ``login_failures_per_account`` (5) failed attempts per account
  *and login method* per window; the attempt that uses up the budget shows the lockout page, and
  the account is refused for that method alone until the window, opened by the first failure,
  closes. A correct login clears the account's count; it never clears the address's (one known
  account must not buy an attacker more guesses elsewhere).
- **Clients**: at most ``token_requests_per_address`` (1200) requests per address and
  ``token_requests_per_client`` (600) per client *at one address* in ``token_request_window``
  (60 s), at the token endpoint (and at PAR, under its own endpoint name, once it exists).

Why no lockout-DoS on the victim (J7): a lock holds one account for one method for at most one
window, never the account as a whole, and nothing escalates; other methods keep working. A client
is limited per (client, address), so a flood that names a victim's ``client_id`` from elsewhere
spends only its own budget. No sleeping ("progressive delay"): a delay would hold a threadpool
worker and make the limiter a DoS amplifier.

Why nothing reveals an account (ASVS 6.3.8): the account key is a keyed hash of what the attempt
*claims* (the typed identifier), taken before anything is looked up, so an unknown and an existing
account are counted, locked and answered by exactly the same code path, store operations included.
Keys are HMACs under a server secret: the store never holds a Dezi number or an address in clear
(a plain SHA-256 of a nine-digit number is reversed by brute force in minutes).

Counting an attempt *before* the method runs (and clearing on success) makes the account budget
atomic under concurrency: of twenty parallel guesses only ``limit`` reach the method. The address
count is of failures, so it is read before and counted after; parallel requests may overshoot it
by the number in flight, which is bounded by the server's concurrency.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from idp.protocol.jose import JoseRejected, unverified_claims
from idp.protocol.models import HitCount
from idp.protocol.ports import Counters

__all__ = [
    "LoginAttempt",
    "Refusal",
    "Throttle",
    "ThrottlePolicy",
    "address_key",
    "claimed_client_id",
    "normalise_account",
]

RefusalReason = Literal["address", "account", "client"]

_LOGIN_ADDRESS = "login-address"
_LOGIN_ACCOUNT = "login-account"


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The limits (counts) and fixed windows (seconds); defaults live in ``idp.settings``."""

    login_failures_per_address: int
    login_failures_per_account: int
    login_failure_window: int
    token_requests_per_address: int
    token_requests_per_client: int
    token_request_window: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused, and the seconds until it may be tried again (``Retry-After``).

    ``first`` is true for the attempt that reached the limit, so callers log a lockout once per
    window rather than once per refused request.
    """

    reason: RefusalReason
    retry_after: int
    first: bool = False


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """An admitted login attempt, handed back to ``failed`` or ``succeeded``."""

    method: str
    address: str
    account: str | None  # keyed hash of the claimed account; None if the method names none
    account_hits: HitCount = field(default_factory=HitCount)

    @property
    def account_ref(self) -> str | None:
        """A short reference for logs: correlates attempts, reveals nothing."""
        return None if self.account is None else self.account[:12]


def address_key(host: str) -> str:
    """The unit one client controls: an IPv4 address, an IPv6 /64, or the host string as is.

    IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def claimed_client_id(form: Mapping[str, str]) -> str | None:
    """The client a token request names, unauthenticated: ``client_id``, else the ``iss`` of
    its client assertion (RFC 7523 §3). Only ever a rate-limit key, never an identity."""
    if form.get("client_id"):
        return form["client_id"]
    assertion = form.get("client_assertion")
    if not assertion:
        return None
    try:
        iss = unverified_claims(assertion).get("iss")
    except JoseRejected:
        return None
    return iss if isinstance(iss, str) and iss else None


def normalise_account(claimed: str) -> str:
    """One spelling per account: NFKC, case-folded, outer whitespace removed."""
    return unicodedata.normalize("NFKC", claimed).strip().casefold()


class Throttle:
    """The policy above over the state store's fixed-window ``Counters``. No framework, no clock:
    every expiry is the store's (a Redis TTL in production, checklist CK4)."""

    def __init__(self, state: Counters, policy: ThrottlePolicy, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the throttle secret must be at least 16 bytes")
        self._state = state
        self._policy = policy
        self._secret = hmac.new(secret, b"zorg-idp throttle v1", hashlib.sha256).digest()

    @property
    def policy(self) -> ThrottlePolicy:
        return self._policy

    def _digest(self, *parts: str) -> str:
        message = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    # ---- logins ------------------------------------------------------------------------------

    def admit_login(self, method: str, host: str, claimed: str | None) -> LoginAttempt | Refusal:
        """Before the method runs: refuse a blocked address or a locked account+method, else
        count the attempt against the account and admit it.

        ``claimed`` is the account the attempt names (``None`` for methods that name none, such
        as a certificate or an external means): whether it exists is never looked at here.
        """
        policy = self._policy
        address = self._digest("address", address_key(host))
        seen = self._state.hit_count(_LOGIN_ADDRESS, address)
        if seen.count >= policy.login_failures_per_address:
            return Refusal("address", max(seen.resets_in, 1))
        account = None if claimed is None else self._digest("account", normalise_account(claimed))
        if account is None:
            return LoginAttempt(method, address, None)
        hits = self._state.count_hit(
            f"{_LOGIN_ACCOUNT}:{method}", account, policy.login_failure_window
        )
        if hits.count > policy.login_failures_per_account:
            # A refused attempt is a failed login of this address too (spraying across locks).
            self._state.count_hit(_LOGIN_ADDRESS, address, policy.login_failure_window)
            return Refusal("account", max(hits.resets_in, 1))
        return LoginAttempt(method, address, account, hits)

    def failed(self, attempt: LoginAttempt) -> Refusal | None:
        """After the method said no: count a failure of the address. Returns the lockout that
        this failure started (account first), or None while attempts remain."""
        policy = self._policy
        seen = self._state.count_hit(_LOGIN_ADDRESS, attempt.address, policy.login_failure_window)
        if attempt.account is not None and (
            attempt.account_hits.count >= policy.login_failures_per_account
        ):
            return Refusal("account", max(attempt.account_hits.resets_in, 1), first=True)
        if seen.count >= policy.login_failures_per_address:
            first = seen.count == policy.login_failures_per_address
            return Refusal("address", max(seen.resets_in, 1), first)
        return None

    def succeeded(self, attempt: LoginAttempt) -> None:
        """A correct login clears the account's count for this method (not the address's)."""
        if attempt.account is not None:
            self._state.clear_hits(f"{_LOGIN_ACCOUNT}:{attempt.method}", attempt.account)

    # ---- clients at the token (and PAR) endpoint ---------------------------------------------

    def admit_client_request(
        self, endpoint: str, host: str, client_id: str | None
    ) -> Refusal | None:
        """Count one request of this address and of this client at this address; refuse past
        either limit. ``client_id`` is what the request claims (unauthenticated): keyed per
        address, so naming someone else's client spends only the sender's own budget."""
        policy = self._policy
        window = policy.token_request_window
        address = self._digest("address", address_key(host))
        per_address = self._state.count_hit(f"{endpoint}-address", address, window)
        if per_address.count > policy.token_requests_per_address:
            first = per_address.count == policy.token_requests_per_address + 1
            return Refusal("address", max(per_address.resets_in, 1), first)
        if not client_id:
            return None
        client = self._digest("client", client_id, address)
        per_client = self._state.count_hit(f"{endpoint}-client", client, window)
        if per_client.count > policy.token_requests_per_client:
            first = per_client.count == policy.token_requests_per_client + 1
            return Refusal("client", max(per_client.resets_in, 1), first)
        return None
