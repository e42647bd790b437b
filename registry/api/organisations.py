"""``/organisations``: care providers by URA.

Everyone sees the organisations they administer (a registry administrator all of them); only a
registry administrator enrols one or changes its status (pending → active ⇄ suspended → ended,
``registry.service.set_organisation_status``). Suspending an organisation makes its
declarations unusable at once.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from registry import audit, codes, service
from registry.api import reads
from registry.api.context import answer_response, api_context, json_response
from registry.api.inputs import (
    Body,
    choice,
    json_body,
    page_of,
    path_identifier,
    query_params,
    search_text,
)
from registry.api.problems import forbidden, not_found
from registry.api.views import entity_tag, organisation_view
from registry.api.writes import Answer, idempotency_of, if_match_of, perform
from registry.identifiers import Ura
from registry.models import ORGANISATION_STATUSES, Organisation

__all__ = ["change_status", "create", "get_one", "list_all"]

URA = re.compile(r"[0-9]{8}", re.ASCII)
LIST_PARAMS = frozenset({"status", "naam", "categorie", "limit", "cursor"})
CREATE_MEMBERS = frozenset({"ura", "naam", "categorie", "agb_code", "status"})
STATUS_MEMBERS = frozenset({"status", "reason"})


def _answer(session: Session, ura: str, base: str, *, created: bool = False) -> Answer:
    row = session.exec(select(Organisation).where(Organisation.ura == ura)).one()
    view = organisation_view(row)
    headers = {"ETag": entity_tag(view)}
    if created:
        headers["Location"] = f"{base}/organisations/{ura}"
    return Answer(201 if created else 200, view, headers)


async def list_all(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    params = query_params(request, LIST_PARAMS)
    page = page_of(params)
    status = choice(params, "status", ORGANISATION_STATUSES)
    categorie = choice(params, "categorie", tuple(codes.organisation_types()))
    naam = search_text(params, "naam")
    listing = await context.read(
        lambda s: reads.list_organisations(
            s, principal.scope(), page, status=status, naam=naam, categorie=categorie
        )
    )
    await context.log(
        request,
        principal,
        action="register.search",
        object_type="organisation",
        object_id="*",
        detail={"status": status, "naam": naam, "categorie": categorie},
    )
    return json_response(listing.body())


async def get_one(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    ura = path_identifier(request, "ura", URA)
    row = await context.read(lambda s: reads.find_organisation(s, principal.scope(), ura))
    if row is None:
        raise not_found()
    view = organisation_view(row)
    await context.log(
        request,
        principal,
        action="register.read",
        object_type="organisation",
        object_id=ura,
        uras=(ura,),
    )
    return json_response(view, headers={"ETag": entity_tag(view)})


async def create(request: Request) -> Response:
    """Enrol an organisation (registry administrators); the same data again is a no-op (200)."""
    context = api_context(request)
    principal = await context.principal(request)
    if not principal.registry_admin:
        raise forbidden("Only registry administrators enrol organisations")
    data = await json_body(request)
    idempotency = idempotency_of(request, data)
    body = Body(data, CREATE_MEMBERS)
    ura = body.text("ura", max_length=8)
    naam = body.text("naam", max_length=128)
    categorie = body.text("categorie", max_length=16)
    agb_code = body.optional_text("agb_code", max_length=8)
    status = body.optional_text("status", max_length=16, nullable=False) or "pending"

    def change() -> object:
        return service.enrol_organisation(
            context.engine,
            ura,
            naam,
            categorie,
            agb_code,
            actor=principal.actor,
            status=status,
            source=context.source(request),
            on_behalf_of=principal.on_behalf_of([ura]),
        )

    def answer(session: Session) -> Answer:
        created = bool(audit.appended(session))
        return _answer(session, Ura(ura).value, context.base_path, created=created)

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


async def change_status(request: Request) -> Response:
    """Move the organisation to another status (registry administrators; ``If-Match``)."""
    context = api_context(request)
    principal = await context.principal(request)
    ura = path_identifier(request, "ura", URA)
    visible = await context.read(lambda s: reads.find_organisation(s, principal.scope(), ura))
    if visible is None:
        raise not_found()
    if not principal.registry_admin:
        raise forbidden("Only registry administrators change an organisation's status")
    data = await json_body(request)
    idempotency = idempotency_of(request, data)
    body = Body(data, STATUS_MEMBERS)
    status = body.text("status", max_length=16)
    reason = body.optional_text("reason", max_length=512)
    condition = if_match_of(request)

    def precondition(session: Session) -> None:
        row = session.exec(
            select(Organisation).where(Organisation.ura == ura).with_for_update()
        ).first()
        if row is None:
            raise not_found()
        condition.check(entity_tag(organisation_view(row)))

    def change() -> object:
        return service.set_organisation_status(
            context.engine,
            ura,
            status,
            actor=principal.actor,
            reason=reason,
            source=context.source(request),
            on_behalf_of=principal.on_behalf_of([ura]),
        )

    result = await run_in_threadpool(
        lambda: perform(
            context.engine,
            principal.actor,
            change=change,
            answer=lambda s: _answer(s, ura, context.base_path),
            precondition=precondition,
            idempotency=idempotency,
        )
    )
    return answer_response(result)
