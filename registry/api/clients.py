"""``/relying-parties``: registered clients, read-only, for registry administrators.

Registering and changing clients stays with the CLI (``zorg-idp client add``) for now
(DECISIONS.md #4: a governance decision, not self-service).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from registry.api import reads
from registry.api.context import api_context, json_response
from registry.api.inputs import page_of, path_identifier, query_params
from registry.api.problems import forbidden, not_found
from registry.api.views import entity_tag

__all__ = ["get_one", "list_all"]

CLIENT_ID = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
LIST_PARAMS = frozenset({"limit", "cursor"})


async def list_all(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    if not principal.registry_admin:
        raise forbidden("Only registry administrators see the relying parties")
    page = page_of(query_params(request, LIST_PARAMS))
    listing = await context.read(lambda s: reads.list_clients(s, page))
    await context.log(
        request, principal, action="register.search", object_type="client", object_id="*"
    )
    return json_response(listing.body())


async def get_one(request: Request) -> Response:
    context = api_context(request)
    principal = await context.principal(request)
    if not principal.registry_admin:
        raise forbidden("Only registry administrators see the relying parties")
    client_id = path_identifier(request, "client_id", CLIENT_ID)
    view = await context.read(lambda s: reads.find_client(s, client_id))
    if view is None:
        raise not_found()
    await context.log(
        request, principal, action="register.read", object_type="client", object_id=client_id
    )
    return json_response(view, headers={"ETag": entity_tag(view)})
