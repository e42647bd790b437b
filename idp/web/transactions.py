"""The login transaction as the browser sees it: the path's transaction id and the browser's
binding cookie, handed to ``idp.journey.transactions.with_tx`` with a posted form."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response

from idp.journey.results import Step
from idp.journey.transactions import with_tx
from idp.protocol.models import LoginTransaction
from idp.web import browser
from idp.web.common import services
from idp.web.steps import offload, posted, respond

__all__ = ["tx_step"]

TxStep = Callable[[LoginTransaction, str, Mapping[str, str] | None], Step]


async def tx_step(request: Request, step: TxStep, *, thread: bool = False) -> Response:
    """Run ``step`` for this URL's transaction (a POST's form verified first), in one hop at
    most (``thread``: the step does I/O of its own, see ``idp.web.steps.offload``)."""
    svc = services(request)
    form = await posted(request, svc) if request.method == "POST" else None
    binding = browser.binding_value(request, svc.settings)
    result = await offload(
        svc, with_tx, svc.journey, request.path_params["tx_id"], binding, form, step, thread=thread
    )
    return respond(request, svc, result)
