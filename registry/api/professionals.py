"""``/professionals``: care workers by Dezi number.

An organisation administrator (or HR client) sees the professionals with a declaration or a
staff number at their organisations, and enrols new ones: the register issues the Dezi number,
and the next step is a declaration (``/declarations``). Only a registry administrator may enrol
someone under a given Dezi number (e.g. an existing UZI number). Names are stored as entered
(NFC), ``<script>`` included, and returned as JSON text (security-checklist.md K2).
"""

from __future__ import annotations

import re

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from registry import audit, service
from registry.api import reads
from registry.api.context import answer_response, api_context, json_response
from registry.api.inputs import (
    Body,
    json_body,
    page_of,
    path_identifier,
    pattern,
    query_params,
    search_text,
)
from registry.api.problems import forbidden, not_found
from registry.api.views import entity_tag, professional_view
from registry.api.writes import Answer, idempotency_of, perform
from registry.identifiers import DeziNummer
from registry.models import Professional

__all__ = ["create", "get_one", "list_all"]

DEZI = re.compile(r"[0-9]{9}", re.ASCII)
BIG = re.compile(r"[0-9]{11}", re.ASCII)
URA = re.compile(r"[0-9]{8}", re.ASCII)
LIST_PARAMS = frozenset({"achternaam", "dezi_nummer", "big_nummer", "ura", "limit", "cursor"})
CREATE_MEMBERS = frozenset(
    {"voorletters", "voorvoegsel", "achternaam", "big_nummer", "dezi_nummer"}
)


async def list_all(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    params = query_params(request, LIST_PARAMS)
    page = page_of(params)
    achternaam = search_text(params, "achternaam")
    dezi_nummer = pattern(params, "dezi_nummer", DEZI, "must be exactly 9 digits")
    big_nummer = pattern(params, "big_nummer", BIG, "must be exactly 11 digits")
    ura = pattern(params, "ura", URA, "must be exactly 8 digits")
    listing = await context.read(
        lambda s: reads.list_professionals(
            s,
            principal.scope(),
            page,
            achternaam=achternaam,
            dezi_nummer=dezi_nummer,
            big_nummer=big_nummer,
            ura=ura,
        )
    )
    await context.log(
        request,
        principal,
        action="register.search",
        object_type="professional",
        object_id="*",
        uras=() if ura is None else (ura,),
        detail={
            "achternaam": achternaam,
            "dezi_nummer": dezi_nummer,
            "big_nummer": big_nummer,
            "ura": ura,
        },
    )
    return json_response(listing.body())


async def get_one(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    dezi_nummer = path_identifier(request, "dezi_nummer", DEZI)
    row = await context.read(lambda s: reads.find_professional(s, principal.scope(), dezi_nummer))
    if row is None:
        raise not_found()
    view = professional_view(row)
    await context.log(
        request,
        principal,
        action="register.read",
        object_type="professional",
        object_id=dezi_nummer,
    )
    return json_response(view, headers={"ETag": entity_tag(view)})


async def create(request: Request) -> Response:
    """Enrol a professional; 201 with the issued Dezi number."""
    context = api_context(request)
    principal = await context.principal(request)
    if not principal.registry_admin and not principal.organisations:
        raise forbidden("The caller administers no organisation")
    data = await json_body(request)
    idempotency = idempotency_of(request, data)
    body = Body(data, CREATE_MEMBERS)
    voorletters = body.text("voorletters", max_length=128)
    voorvoegsel = body.optional_text("voorvoegsel", max_length=128)
    achternaam = body.text("achternaam", max_length=128)
    big_nummer = body.optional_text("big_nummer", max_length=11)
    given = body.optional_text("dezi_nummer", max_length=9)
    if given is not None and not principal.registry_admin:
        raise forbidden("Only registry administrators enrol under a given Dezi number")

    def change() -> object:
        return service.enrol_professional(
            context.engine,
            voorletters,
            voorvoegsel,
            achternaam,
            big_nummer,
            given,
            actor=principal.actor,
            source=context.source(request),
            on_behalf_of=principal.on_behalf_of(),
        )

    def answer(session: Session) -> Answer:
        enrolled = [r for r in audit.appended(session) if r.object_type == "professional"]
        number = enrolled[-1].object_id if enrolled else DeziNummer(str(given)).value
        row = session.exec(select(Professional).where(Professional.dezi_nummer == number)).one()
        view = professional_view(row)
        headers = {"ETag": entity_tag(view)}
        if enrolled:
            headers["Location"] = context.location(f"/professionals/{number}")
        return Answer(201 if enrolled else 200, view, headers)

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
