"""The load client shared by ``bench/compare.py`` and ``bench/serve_scale.py``.

One code path for every OpenID provider it drives (zorg-idp and node-oidc-provider): endpoints
from discovery, httpx with a cookie jar per browser, the interop tests' HTML form parser and a
filler for whatever login form the OP shows (``dezi_nummer`` for zorg-idp's ``dev`` method,
``login``/``password`` for node-oidc-provider's development pages), PKCE S256, and
``private_key_jwt`` client assertions signed by joserfc with ``aud`` = the issuer."""

from __future__ import annotations

import secrets
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookiejar import Cookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from bench.procstat import tree_cpu_seconds
from tests.support import Form, parse_forms, pkce_pair

REDIRECT_URI = "https://rp.example/bench/cb"
LOGIN_FIELDS = frozenset({"dezi_nummer", "login", "password"})
MAX_STEPS = 10


class FlowError(Exception):
    """One operation failed; the message (short, without secrets) is what gets counted."""


# ---- HTML forms (parsed by tests/support.py's parser, as the interop tests do) ---------------


def fill_form(form: Form, user: str) -> dict[str, str]:
    """The data a user submits: the login fields filled, first radio, first (approving) button."""
    data = {name: value for name, value in form.fields.items() if name}
    for name in LOGIN_FIELDS & data.keys():
        data[name] = user
    for name, values in form.radios.items():
        data[name] = values[0]
    if form.submits and form.submits[0][0]:
        data[form.submits[0][0]] = form.submits[0][1]
    return data


# ---- the relying party -----------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """A confidential client with its own RSA key; the same key is registered with every OP."""

    client_id: str
    key: RSAKey

    @classmethod
    def generate(cls, client_id: str) -> Client:
        key = RSAKey.generate_key(2048, private=True)
        key.ensure_kid()
        return cls(client_id, key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.key.as_dict(private=False), "use": "sig", "alg": "PS256"}]}

    def assertion(self, audience: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode({"alg": "PS256", "kid": self.key.kid}, claims, self.key, ["PS256"])


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    userinfo: str
    jwks: str

    @classmethod
    def discover(cls, issuer: str) -> Endpoints:
        with httpx.Client(timeout=10.0) as http:
            meta = http.get(f"{issuer}/.well-known/openid-configuration").raise_for_status().json()
        if meta["issuer"] != issuer:
            raise FlowError(f"discovery: issuer {meta['issuer']!r} is not {issuer!r}")
        return cls(
            issuer,
            meta["authorization_endpoint"],
            meta["token_endpoint"],
            meta["userinfo_endpoint"],
            meta["jwks_uri"],
        )


@dataclass(frozen=True)
class Code:
    code: str
    verifier: str
    client: Client
    forms: int  # forms the browser submitted on the way (0: a silent login)


def snapshot(http: httpx.Client) -> list[Cookie]:
    """The browser's cookies, to give the same session back to a later flow."""
    return list(http.cookies.jar)


def restore(http: httpx.Client, cookies: Iterable[Cookie]) -> None:
    http.cookies.clear()
    for cookie in cookies:
        http.cookies.jar.set_cookie(cookie)


def browser_code(
    http: httpx.Client, op: Endpoints, client: Client, user: str, trace: list[str] | None = None
) -> Code:
    """authorize (PKCE S256, state, nonce) → whatever forms the OP shows → code at the RP.

    ``trace`` (when given) receives the browser's requests as ``GET /path → status``."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = f"{op.authorization}?{urlencode(params)}"
    response = http.get(url)
    forms = 0
    for _ in range(MAX_STEPS):
        if trace is not None:
            path = "/".join(
                p if len(p) < 16 else f"{p[:6]}…" for p in urlsplit(url).path.split("/")
            )
            trace.append(f"{response.request.method} {path} → {response.status_code}")
        if response.status_code in (301, 302, 303, 307):
            location = urljoin(url, response.headers["location"])
            if location.startswith(f"{REDIRECT_URI}?"):
                callback = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                if "code" not in callback or callback.get("state") != state:
                    raise FlowError(f"callback: {callback.get('error', 'no code or state')}")
                if callback.get("iss", op.issuer) != op.issuer:
                    raise FlowError("callback: wrong iss")
                return Code(callback["code"], verifier, client, forms)
            if not location.startswith(op.issuer):
                raise FlowError("browser: redirect elsewhere")
            url = location
            response = http.get(url)
            continue
        posts = [f for f in parse_forms(response.text) if f.method == "post"]
        if response.status_code != 200 or not posts:
            raise FlowError(f"browser: HTTP {response.status_code} without a form")
        url = urljoin(url, posts[0].action)
        response = http.post(url, data=fill_form(posts[0], user))
        forms += 1
    raise FlowError("browser: too many steps")


def redeem(http: httpx.Client, op: Endpoints, code: Code) -> str:
    """The token request with ``private_key_jwt``; returns the access token."""
    response = http.post(
        op.token,
        data={
            "grant_type": "authorization_code",
            "code": code.code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": code.verifier,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": code.client.assertion(op.issuer),
        },
    )
    if response.status_code != 200:
        raise FlowError(f"token: HTTP {response.status_code} {response.text[:100]}")
    body = response.json()
    if not body.get("id_token") or not body.get("access_token"):
        raise FlowError("token: no id_token or access_token")
    return str(body["access_token"])


def userinfo(http: httpx.Client, op: Endpoints, access_token: str) -> None:
    response = http.get(op.userinfo, headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code != 200 or not response.json().get("sub"):
        raise FlowError(f"userinfo: HTTP {response.status_code} {response.text[:100]}")


def get_jwks(http: httpx.Client, op: Endpoints) -> None:
    response = http.get(op.jwks)
    if response.status_code != 200 or not response.json().get("keys"):
        raise FlowError(f"jwks: HTTP {response.status_code}")


# ---- running operations on threads -------------------------------------------------------


@dataclass
class Outcome:
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


Operation = Callable[[httpx.Client, int], None]
_TLS: list[ssl.SSLContext] = []


def new_http() -> httpx.Client:
    """A browser/back-channel client that does not follow redirects. Loopback http only, but
    httpx builds a TLS context per client (milliseconds of load-client CPU): build it once."""
    if not _TLS:
        _TLS.append(ssl.create_default_context())
    return httpx.Client(follow_redirects=False, timeout=30.0, verify=_TLS[0])


def run_ops(op: Operation, count: int, concurrency: int, seconds: float) -> Outcome:
    """Call ``op(http, i)`` for i in 0..count-1 on ``concurrency`` threads, each with its own
    httpx client; no new call starts after ``seconds``. Exceptions are counted, not raised."""
    outcome = Outcome()
    lock = threading.Lock()
    next_index = 0
    deadline = time.monotonic() + seconds

    def worker() -> None:
        nonlocal next_index
        with new_http() as http:
            while True:
                with lock:
                    if next_index >= count or time.monotonic() >= deadline:
                        return
                    index = next_index
                    next_index += 1
                began = time.perf_counter()
                try:
                    op(http, index)
                except FlowError as exc:
                    error = str(exc)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    error = ""
                spent = (time.perf_counter() - began) * 1000
                with lock:
                    if error:
                        outcome.errors[error[:140]] += 1
                    else:
                        outcome.ok += 1
                        outcome.latencies_ms.append(spent)

    threads = [threading.Thread(target=worker, name=f"load-{i}") for i in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.elapsed = time.perf_counter() - began
    return outcome


@dataclass(frozen=True)
class Measured:
    """One measured phase: the outcome and the CPU the server and this process spent in it."""

    outcome: Outcome
    server_cpu: float
    client_cpu: float

    def server_ms_per_op(self) -> float | None:
        return self.server_cpu / self.outcome.ok * 1000 if self.outcome.ok else None

    def client_ms_per_op(self) -> float | None:
        return self.client_cpu / self.outcome.ok * 1000 if self.outcome.ok else None


def measure(pid: int, run: Callable[[], Outcome]) -> Measured:
    """Run ``run`` between two CPU snapshots of the server's process tree and of this process."""
    server_before, client_before = tree_cpu_seconds(pid), time.process_time()
    outcome = run()
    server_after, client_after = tree_cpu_seconds(pid), time.process_time()
    return Measured(outcome, server_after - server_before, client_after - client_before)
