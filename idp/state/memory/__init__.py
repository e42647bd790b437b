"""In-process state store: the embedded default and the reference for the contract tests.

One lock guards one dict (``_base``); each module here implements one port of
``idp.protocol.ports`` over it, and :class:`MemoryStateStore` composes them. Only for a single
process: several workers need :class:`idp.state.RedisStateStore`.
"""

from __future__ import annotations

from idp.state.memory.codes import MemoryCodes
from idp.state.memory.counters import MemoryCounters
from idp.state.memory.grants import MemoryGrants
from idp.state.memory.login_methods import MemoryLoginMethodState
from idp.state.memory.replay import MemoryReplayCache
from idp.state.memory.revocations import MemoryRevocationMarks
from idp.state.memory.sessions import MemorySessions
from idp.state.memory.transactions import MemoryTransactions

__all__ = ["MemoryStateStore"]


class MemoryStateStore(
    MemoryTransactions,
    MemoryCodes,
    MemoryGrants,
    MemorySessions,
    MemoryReplayCache,
    MemoryCounters,
    MemoryLoginMethodState,
    MemoryRevocationMarks,
):
    """:class:`idp.protocol.ports.StateStore` in a dict, thread-safe under one lock.

    ``clock`` returns seconds on a monotonic scale (injected by tests to move time);
    ``sweep_every`` bounds how many writes may pass between sweeps of expired entries.
    """

    # -- Health ------------------------------------------------------------------------------------

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release. Entries stay: an app's lifespan can run more than once in one
        process (test clients), and the entries expire on their own."""
