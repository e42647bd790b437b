"""Short-lived protocol state behind :class:`idp.protocol.ports.StateStore`.

Login transactions, authorization codes, replay caches, grants and SSO sessions, each with a TTL,
single use atomic. In-process for one worker and tests; Redis for several workers or hosts.
"""

from idp.state.factory import create_state_store
from idp.state.memory import MemoryStateStore
from idp.state.redis import RedisStateStore

__all__ = ["MemoryStateStore", "RedisStateStore", "create_state_store"]
