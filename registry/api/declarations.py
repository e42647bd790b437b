"""``/declarations``: professional × organisation × role (verklaring basis).

An organisation administrator (or HR client) issues, suspends and revokes the declarations of
their own organisations; another organisation's declaration reads as absent (404, K4). A
revocation or suspension takes effect at the next token request (DECISIONS.md #11) and is kept,
with its reason, who and when; it needs ``If-Match`` (RFC 7232 §3.1) like every update.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from registry import service
from registry.api import reads
from registry.api.context import answer_response, api_context, json_response
from registry.api.inputs import (
    Body,
    choice,
    json_body,
    page_of,
    path_declaration_id,
    pattern,
    query_params,
)
from registry.api.principal import Principal
from registry.api.problems import forbidden, not_found
from registry.api.views import declaration_view, entity_tag
from registry.api.writes import Answer, IfMatch, idempotency_of, if_match_of, perform
from registry.audit import appended
from registry.identifiers import Ura
from registry.models import DECLARATION_STATUSES
from registry.staff import AuditContext, suspend_declaration

__all__ = ["create", "get_one", "list_all", "revoke", "suspend"]

DEZI = re.compile(r"[0-9]{9}", re.ASCII)
URA = re.compile(r"[0-9]{8}", re.ASCII)
ROL_CODE = re.compile(r"[0-9]{2}\.[0-9]{3}", re.ASCII)
LIST_PARAMS = frozenset({"ura", "status", "dezi_nummer", "rol_code", "limit", "cursor"})
CREATE_MEMBERS = frozenset(
    {"dezi_nummer", "ura", "rol_code", "valid_from", "valid_until", "personeelsnummer"}
)
REASON_MEMBERS = frozenset({"reason"})


def _answer(
    session: Session, principal: Principal, declaration_id: str, *, created: bool = False
) -> Answer:
    found = reads.find_declaration(session, principal.scope(), declaration_id)
    if found is None:  # pragma: no cover - checked before the change
        raise not_found()
    view = declaration_view(*found)
    return Answer(201 if created else 200, view, {"ETag": entity_tag(view)})


async def list_all(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    params = query_params(request, LIST_PARAMS)
    page = page_of(params)
    ura = pattern(params, "ura", URA, "must be exactly 8 digits")
    status = choice(params, "status", DECLARATION_STATUSES)
    dezi_nummer = pattern(params, "dezi_nummer", DEZI, "must be exactly 9 digits")
    rol_code = pattern(params, "rol_code", ROL_CODE, "must have the form NN.NNN")
    listing = await context.read(
        lambda s: reads.list_declarations(
            s,
            principal.scope(),
            page,
            ura=ura,
            status=status,
            dezi_nummer=dezi_nummer,
            rol_code=rol_code,
        )
    )
    await context.log(
        request,
        principal,
        action="register.search",
        object_type="declaration",
        object_id="*",
        uras=() if ura is None else (ura,),
        detail={"ura": ura, "status": status, "dezi_nummer": dezi_nummer, "rol_code": rol_code},
    )
    return json_response(listing.body())


async def get_one(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    declaration_id = path_declaration_id(request)
    found = await context.read(
        lambda s: reads.find_declaration(s, principal.scope(), declaration_id)
    )
    if found is None:
        raise not_found()
    view = declaration_view(*found)
    await context.log(
        request,
        principal,
        action="register.read",
        object_type="declaration",
        object_id=declaration_id,
        uras=(found[2],),
    )
    return json_response(view, headers={"ETag": entity_tag(view)})


async def create(request: Request) -> Response:
    """Issue a declaration at one of the caller's organisations (201)."""
    context = api_context(request)
    principal = await context.principal(request)
    data = await json_body(request)
    idempotency = idempotency_of(request, data)
    body = Body(data, CREATE_MEMBERS)
    dezi_nummer = body.text("dezi_nummer", max_length=9)
    ura = Ura(body.text("ura", max_length=8)).value  # a 422 before the scope check
    rol_code = body.text("rol_code", max_length=6)
    valid_from = body.timestamp("valid_from")
    valid_until = body.optional_timestamp("valid_until")
    personeelsnummer = body.optional_text("personeelsnummer", max_length=64)
    if not principal.may_administer(ura):
        raise forbidden("Declarations can only be issued at organisations the caller administers")

    def change() -> object:
        return service.add_declaration(
            context.engine,
            dezi_nummer,
            ura,
            rol_code,
            valid_from,
            valid_until,
            actor=principal.actor,
            personeelsnummer=personeelsnummer,
            source=context.source(request),
            on_behalf_of=principal.on_behalf_of([ura]),
        )

    def answer(session: Session) -> Answer:
        added = [r for r in appended(session) if r.action == "declaration.add"]
        declaration_id = added[-1].object_id
        result = _answer(session, principal, declaration_id, created=True)
        location = context.location(f"/declarations/{declaration_id}")
        return Answer(result.status, result.body, {**result.headers, "Location": location})

    result = await run_in_threadpool(
        lambda: perform(
            context.engine,
            principal.actor,
            change=change,
            answer=answer,
            idempotency=idempotency,
        )
    )
    return answer_response(result)


async def revoke(request: Request) -> Response:
    """Revoke for good (kept, with the reason); revoking again is a no-op."""
    return await _status_change(
        request,
        lambda context, principal, declaration_id, reason, ura, source: service.revoke_declaration(
            context.engine,
            declaration_id,
            reason,
            actor=principal.actor,
            source=source,
            on_behalf_of=principal.on_behalf_of([ura]),
        ),
    )


async def suspend(request: Request) -> Response:
    """Suspend (unusable at once, kept); suspending again is a no-op."""
    return await _status_change(
        request,
        lambda context, principal, declaration_id, reason, ura, source: suspend_declaration(
            context.engine,
            declaration_id,
            reason,
            context=AuditContext(
                actor=principal.actor,
                source=source,
                on_behalf_of=principal.on_behalf_of([ura]),
            ),
        ),
    )


StatusChange = Callable[..., object]


async def _status_change(request: Request, run: StatusChange) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    declaration_id = path_declaration_id(request)
    ura = await context.read(
        lambda s: reads.declaration_in_scope(s, principal.scope(), declaration_id)
    )
    if ura is None:
        raise not_found()
    data = await json_body(request)
    idempotency = idempotency_of(request, data)
    reason = Body(data, REASON_MEMBERS).text("reason", max_length=512)
    condition: IfMatch = if_match_of(request)
    source = context.source(request)

    def precondition(session: Session) -> None:
        found = reads.find_declaration(session, principal.scope(), declaration_id, lock=True)
        if found is None:  # pragma: no cover - declarations are never deleted
            raise not_found()
        condition.check(entity_tag(declaration_view(*found)))

    result = await run_in_threadpool(
        lambda: perform(
            context.engine,
            principal.actor,
            change=lambda: run(context, principal, declaration_id, reason, ura, source),
            answer=lambda s: _answer(s, principal, declaration_id),
            precondition=precondition,
            idempotency=idempotency,
        )
    )
    return answer_response(result)
