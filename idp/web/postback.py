"""A cross-site POST relayed to a same-site GET: how a SAML IdP's answer gets back in.

SAML Bindings §3.5 (HTTP-POST): the IdP's page posts ``SAMLResponse`` and ``RelayState`` to
our ACS URL from the IdP's origin. The browser-binding cookie is ``SameSite=Lax``
(``idp.web.browser``), so browsers do not send it with that POST, and the login transaction
cannot be matched to this browser there. ``POST /authn/{method}/acs`` therefore only keeps the
form under a random one-time ticket and answers 303 to
``/login/{RelayState}/{method}/return?ticket=…``: a top-level GET, which does carry Lax cookies,
where the method's ``complete`` runs with the cookie checked as for every other step.

The kept form is sealed (AES-256-GCM) under a key derived from the ticket and stored under the
ticket's SHA-256 (``idp.state._keys``): the state store never holds a SAML response, which
carries a BSN, in clear, and only the holder of the ticket can open it. A ticket works once
(``take_postback`` is atomic) and for ``POSTBACK_TTL`` seconds. The same sealed one-time
hand-off keeps a pending identity link (``idp.web.linking``); a ``kind`` keeps the uses apart.

No CSRF token or Origin check on the ACS: the POST comes from another site by design, and it
changes nothing but this relay. What it carries is verified in ``complete``, for the browser
whose cookie matches the transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.protocol.tokens import new_id
from idp.web.common import BadInput, error_page, form_pairs, see_other, services
from idp.web.services import Services

log = get_logger("idp.postback")

RELAYED_FIELDS = ("SAMLResponse", "RelayState")  # only ever accepted through this relay
POSTBACK_TTL = 120
KIND_POSTBACK = "postback"
TX_ID = re.compile(r"[A-Za-z0-9_-]{20,100}")
TICKET = re.compile(r"[A-Za-z0-9_-]{43}")
REFUSED_TEXT = (
    "The answer from the login service could not be used. Go back to the application and log "
    "in again."
)


@runtime_checkable
class PublishesSamlMetadata(Protocol):
    """A SAML method (``idp.authn.digid``): it has SP metadata and an ACS."""

    def metadata_xml(self) -> str: ...


async def relay(request: Request) -> Response:
    """``POST /authn/{method}/acs``: keep the form, send the browser on with a ticket."""
    svc = services(request)
    name = request.path_params["method"]
    if not isinstance(svc.login_methods.get(name), PublishesSamlMetadata):
        return error_page(request, "Unknown login method", "Choose a login method.", 404)
    try:
        form = dict(await form_pairs(request))
    except BadInput:
        log.warning("postback_refused", method=name, reason="unreadable_form")
        return error_page(request, "Login failed", REFUSED_TEXT, 400)
    tx_id = form.get("RelayState", "")
    if TX_ID.fullmatch(tx_id) is None or not form.get("SAMLResponse"):
        log.warning("postback_refused", method=name, reason="relay_state")
        return error_page(request, "Login failed", REFUSED_TEXT, 400)
    fields = {key: form[key] for key in RELAYED_FIELDS}
    ticket = await stash(svc, KIND_POSTBACK, fields, POSTBACK_TTL)
    log.info("postback_relayed", method=name, tx=tx_id[:8])
    return see_other(f"/login/{tx_id}/{name}/return?ticket={ticket}")


async def resolve(svc: Services, params: dict[str, str]) -> dict[str, str] | None:
    """The parameters ``complete`` gets on ``/login/{tx}/{method}/return``: with a ticket, the
    relayed form alone (``None`` when the ticket is unknown, used or expired); without one, the
    query minus the relayed fields, which never count when they come in a URL."""
    ticket = params.get("ticket")
    if ticket is None:
        return {k: v for k, v in params.items() if k not in RELAYED_FIELDS}
    relayed = await take(svc, KIND_POSTBACK, ticket)
    if relayed is None:
        log.warning("postback_refused", reason="ticket_unknown_used_or_expired")
    return relayed


async def stash(svc: Services, kind: str, fields: dict[str, str], ttl: int) -> str:
    """Seal ``fields`` and keep them once, for ``ttl`` seconds; return the ticket."""
    ticket = new_id()
    sealed = _seal(ticket, json.dumps({"kind": kind, "fields": fields}))
    await run_in_threadpool(svc.state.stash_postback, ticket, sealed, ttl)
    return ticket


async def take(svc: Services, kind: str, ticket: str) -> dict[str, str] | None:
    """The fields kept under ``ticket`` for ``kind``, once; ``None`` otherwise."""
    if TICKET.fullmatch(ticket) is None:
        return None
    sealed = await run_in_threadpool(svc.state.take_postback, ticket)
    if sealed is None:
        return None
    opened = _open(ticket, sealed)
    if opened is None:
        return None
    content = json.loads(opened)
    if not isinstance(content, dict) or content.get("kind") != kind:
        return None  # a ticket of one use is worthless for another
    fields = content.get("fields")
    if not isinstance(fields, dict):
        return None
    return {str(k): str(v) for k, v in fields.items()}


async def sp_metadata(request: Request) -> Response:
    """``GET /authn/{method}/metadata``: the SAML SP metadata of a method, for the IdP's
    operator (SAML Metadata §2.4.4; media type per §4.1.1)."""
    method = services(request).login_methods.get(request.path_params["method"])
    if not isinstance(method, PublishesSamlMetadata):
        return error_page(request, "Page not found", "There is no such page.", 404)
    xml = await run_in_threadpool(method.metadata_xml)
    return Response(xml, media_type="application/samlmetadata+xml")


def _key(ticket: str) -> bytes:
    # Not the plain SHA-256 of the ticket: that names the stored entry.
    return hmac.new(ticket.encode(), b"zorg-idp postback seal", hashlib.sha256).digest()


def _seal(ticket: str, plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(ticket)).encrypt(nonce, plaintext.encode("utf-8"), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _open(ticket: str, sealed: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        return AESGCM(_key(ticket)).decrypt(raw[:12], raw[12:], None).decode("utf-8")
    except (InvalidTag, ValueError, binascii.Error):
        return None


__all__ = ["POSTBACK_TTL", "RELAYED_FIELDS", "relay", "resolve", "sp_metadata", "stash", "take"]
