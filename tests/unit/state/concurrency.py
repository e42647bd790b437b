"""Run one call in many threads at once, to test that single use and counting are atomic."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
THREADS = 20


def run_together(call: Callable[[], T], threads: int = THREADS) -> list[T]:
    """Run ``call`` in ``threads`` threads released at the same moment by a barrier."""
    barrier = threading.Barrier(threads)

    def task() -> T:
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(task) for _ in range(threads)]
        return [future.result(timeout=30) for future in futures]
