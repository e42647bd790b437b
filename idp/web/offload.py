"""One thread hop per HTTP request at most, and none for work without I/O.

ARCHITECTURE.md "idp/web": journey steps are synchronous. With the in-process state store and
warm caches they do no I/O and run inline on the event loop; with Redis (or a step that reads
the register or calls out) they run once in the threadpool.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from idp.web.services import Services

__all__ = ["offload"]

T = TypeVar("T")


async def offload(
    svc: Services, fn: Callable[..., T], *args: Any, thread: bool = False, **kwargs: Any
) -> T:
    """``fn(*args, **kwargs)``: inline, or in the threadpool when the ports block or the step
    is known to do I/O (``thread``: a login method, a register write)."""
    if not thread and not svc.journey.blocking:
        return fn(*args, **kwargs)
    return await run_in_threadpool(functools.partial(fn, *args, **kwargs))
