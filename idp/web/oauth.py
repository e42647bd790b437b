"""OAuth/OIDC endpoints over HTTP: discovery, JWKS, token, userinfo.

The adapter reads the body with ``await`` and runs the synchronous core once, inline or in the
threadpool (``idp.web.offload``; ARCHITECTURE.md "idp/web"). Issuer and endpoint URLs come from
configuration, never from the request (RFC 9700 §4.13; Starlette CVE-2026-54282).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.protocol.authorization_code import NO_STORE
from idp.protocol.client_auth import single_valued
from idp.protocol.discovery import oauth_metadata, openid_configuration
from idp.protocol.errors import OAuthError, invalid_request
from idp.web import throttling
from idp.web.common import BadInput, form_pairs, json_response, services
from idp.web.offload import offload
from idp.web.responses import JSONResponse

log = get_logger("idp.oauth")
PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}


async def openid_configuration_endpoint(request: Request) -> Response:
    return JSONResponse(openid_configuration(services(request).config), headers=PUBLIC_CACHE)


async def oauth_metadata_endpoint(request: Request) -> Response:
    return JSONResponse(oauth_metadata(services(request).config), headers=PUBLIC_CACHE)


async def jwks_endpoint(request: Request) -> Response:
    return Response(
        services(request).signer.public_jwks_json(),  # serialised once per key change
        headers=PUBLIC_CACHE,
        media_type="application/jwk-set+json",
    )


def _oauth_error(exc: OAuthError) -> JSONResponse:
    # No WWW-Authenticate here: RFC 6749 §5.2 ties that header to an HTTP authentication scheme
    # the client used, and no client authenticates with one at this endpoint. A ``Bearer``
    # challenge (RFC 6750, resource servers) made openid-client v6 report a challenge error
    # instead of the ``invalid_client`` body (tests/interop/test_openid_client.py).
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=dict(NO_STORE))


async def token_endpoint(request: Request) -> Response:
    """RFC 6749 §3.2, §4.1.3 and §4.4.2; responses per §5.1 and §5.2."""
    svc = services(request)
    try:
        form = single_valued(await form_pairs(request))
    except BadInput as exc:
        return _oauth_error(invalid_request(exc.description))
    except OAuthError as exc:
        return _oauth_error(exc)
    limited = await throttling.admit_token_request(request, svc, form)
    if limited is not None:
        return limited  # 429 before any client authentication work (checklist J7)
    try:
        result = await offload(
            svc, svc.token_endpoint.token, form, request.headers.get("authorization")
        )
    except OAuthError as exc:
        svc.metrics.tokens.labels(exc.error).inc()
        log.info("token_rejected", error=exc.error, detail=exc.log_detail)
        return _oauth_error(exc)
    svc.metrics.tokens.labels("ok").inc()
    log.info("token_issued", client_id=result.grant.client_id, grant=result.grant.grant_id[:8])
    return JSONResponse(result.body, headers=NO_STORE)


def _bearer_challenge(exc: OAuthError | None) -> Response:
    """RFC 6750 §3: 401 with a ``WWW-Authenticate: Bearer`` challenge."""
    if exc is None:
        return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="userinfo"'})
    challenge = f'Bearer error="{exc.error}", error_description="{exc.description}"'
    return JSONResponse(
        exc.body(), status_code=exc.status_code, headers={"WWW-Authenticate": challenge}
    )


async def userinfo_endpoint(request: Request) -> Response:
    """OIDC Core §5.3; the token only in the Authorization header (RFC 9700 §4.3.2)."""
    svc = services(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if "access_token" in request.query_params:
            return _bearer_challenge(invalid_request("Send the access token in the header"))
        return _bearer_challenge(None)
    try:
        result = await offload(svc, svc.userinfo.userinfo, token.strip())
    except OAuthError as exc:
        log.info("userinfo_rejected", error=exc.error, detail=exc.log_detail)
        return _bearer_challenge(exc)
    if result.jwt_body is not None:
        return Response(result.jwt_body, media_type="application/jwt", headers=NO_STORE)
    return json_response(result.json_body or {}, headers=NO_STORE)
