"""Authorization request validation: RFC 6749 §4.1.1, OIDC Core §3.1.2.1-2, NL GOV OIDC §2.3.

Order matters (RFC 6749 §4.1.2.1): until the client and its redirect URI are established, errors
are shown to the user and never redirected; afterwards they go back to the client with ``state``
and ``iss`` (RFC 9207).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from idp.protocol import claims_request, pkce
from idp.protocol.errors import AuthorizationError, OAuthError, invalid_request, named
from idp.protocol.models import AuthorizationRequest
from idp.protocol.ports import ClientStore, ClientView
from idp.protocol.redirect import matches

# ``registry``: the access token is also for the registry API (``api_access``); granted only to
# clients registered for it (RFC 7591 §2 "scope"), since there is no consent step.
SUPPORTED_SCOPES = ("openid", "registry")
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
MAX_PARAM = 2048
MAX_CLAIMS = 4096
MAX_STATE = 512
MAX_NONCE = 512
MAX_LOGIN_HINT = 256
MAX_NAME = 64
DIGITS = re.compile(r"[0-9]{1,9}")
# RFC 6749 Appendix A.5: state = 1*VSCHAR (%x20-7E).
STATE = re.compile(rf"[\x20-\x7e]{{1,{MAX_STATE}}}")
KNOWN_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "acr_values",
        "login_hint",
        "claims",
        "display",
        "ui_locales",
        "response_mode",
        "request",
        "request_uri",
        "id_token_hint",
        "claims_locales",
    }
)


def valid_state(state: str) -> bool:
    return STATE.fullmatch(state) is not None


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    return values[0]


def validate_authorization_request(
    pairs: Sequence[tuple[str, str]], clients: ClientStore
) -> tuple[AuthorizationRequest, ClientView]:
    """Validate the parameters of ``GET`` or ``POST /authorize``."""
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)

    # --- Phase 1: errors shown to the user (no trustworthy redirect URI yet). ---------------
    for name in ("client_id", "redirect_uri"):
        if len(params.get(name, [])) > 1:
            raise AuthorizationError(invalid_request(f"Parameter {name} is repeated"))
    client_id = _single(params, "client_id")
    if not client_id or len(client_id) > 256:
        raise AuthorizationError(invalid_request("Missing or invalid client_id"))
    client = clients.get_client(client_id)
    if client is None or not client.active:
        raise AuthorizationError(
            invalid_request("Unknown client", log_detail=f"unknown client {client_id[:64]!r}")
        )
    redirect_uri = _single(params, "redirect_uri")
    if not redirect_uri:
        # Required even with one registered URI (RFC 9700 §2.1; checklist B3).
        raise AuthorizationError(invalid_request("Missing redirect_uri"))
    if not matches(redirect_uri, client.redirect_uris):
        raise AuthorizationError(
            invalid_request(
                "The redirect_uri is not registered for this client",
                log_detail=f"unregistered redirect_uri for {client_id}",
            )
        )

    # --- Phase 2: errors redirected to the client. ------------------------------------------
    raw_state = params.get("state", [])
    # RFC 6749 §4.1.2.1 echoes the state the client sent. A state that fails validation (too
    # long, outside VSCHAR, repeated) is not echoed: the error still goes to the verified
    # redirect URI, without it, so nothing the request carried is reflected.
    state = raw_state[0] if len(raw_state) == 1 and valid_state(raw_state[0]) else None

    def fail(error: str, description: str) -> AuthorizationError:
        return AuthorizationError(
            OAuthError(error, description), redirect_uri=redirect_uri, state=state
        )

    for name, values in params.items():
        if len(values) > 1:
            raise fail("invalid_request", f"Parameter {named(name)} is repeated")
        # Unknown parameters are ignored (OIDC Core §3.1.2.1) but still bounded: nothing the
        # request carries is unbounded, whether we read it or not.
        if len(name) > MAX_NAME:
            raise fail("invalid_request", "A parameter name is too long")
        limit = MAX_CLAIMS if name == "claims" else MAX_PARAM
        if len(values[0]) > limit:
            raise fail("invalid_request", f"Parameter {named(name)} is too long")
    if raw_state and state is None:
        raise fail("invalid_request", "The state parameter is invalid")
    if "request" in params:
        raise fail("request_not_supported", "Request objects are not supported")
    if "request_uri" in params:
        raise fail("request_uri_not_supported", "request_uri is not supported")

    response_type = _single(params, "response_type")
    if response_type != "code":
        # Authorization code flow only (NL GOV OIDC; RFC 9700 §2.1.2).
        raise fail("unsupported_response_type", "Only response_type=code is supported")
    response_mode = _single(params, "response_mode")
    if response_mode not in (None, "query"):
        raise fail("invalid_request", "Only response_mode=query is supported")

    scopes = tuple((_single(params, "scope") or "").split())
    if "openid" not in scopes:
        raise fail("invalid_scope", "The scope must contain openid")
    # OIDC Core §3.1.2.1: scope values that are not understood are ignored.
    granted = tuple(
        s for s in SUPPORTED_SCOPES if s in scopes and (s == "openid" or s in client.scopes)
    )

    challenge = _single(params, "code_challenge")
    method = _single(params, "code_challenge_method")
    if not challenge:
        raise fail("invalid_request", "code_challenge is required (PKCE)")
    if method != pkce.S256:
        raise fail("invalid_request", "code_challenge_method must be S256")
    if not pkce.valid_challenge(challenge):
        raise fail("invalid_request", "code_challenge is malformed")

    nonce = _single(params, "nonce")
    if nonce is not None and (not nonce or len(nonce) > MAX_NONCE):
        raise fail("invalid_request", "nonce is invalid")
    if nonce is None and client.profile != "dezi":
        # NL GOV OIDC: nonce REQUIRED; the Dezi v0.7 profile makes it optional (DECISIONS #2).
        raise fail("invalid_request", "nonce is required")

    prompt = tuple((_single(params, "prompt") or "").split())
    if any(p not in PROMPT_VALUES for p in prompt):
        raise fail("invalid_request", "Unsupported prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise fail("invalid_request", "prompt=none cannot be combined with other values")

    max_age_raw = _single(params, "max_age")
    max_age: int | None = None
    if max_age_raw is not None:
        # ASCII digits only: str.isdigit() accepts "²", which int() then refuses.
        if not DIGITS.fullmatch(max_age_raw):
            raise fail("invalid_request", "max_age must be a non-negative integer")
        max_age = int(max_age_raw)

    acr_values = tuple((_single(params, "acr_values") or "").split())

    claims = _single(params, "claims")
    if claims is not None:
        try:
            claims_request.parse(claims)
        except claims_request.MalformedClaims as exc:
            raise fail("invalid_request", exc.reason) from None

    login_hint = _single(params, "login_hint")
    if login_hint is not None and len(login_hint) > MAX_LOGIN_HINT:
        raise fail("invalid_request", "login_hint is too long")

    return (
        AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=granted,
            state=state,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method=method,
            prompt=prompt,
            max_age=max_age,
            acr_values=acr_values,
            login_hint=login_hint,
            claims=claims,
        ),
        client,
    )
