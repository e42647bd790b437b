"""Short-lived protocol state behind the state ports of :mod:`idp.protocol.ports`.

Login transactions, authorization codes, grants, SSO sessions, replay caches, counters, login
methods' one-time state and revocation marks, each with a TTL, single use atomic; each store
implements all of them (:class:`idp.protocol.ports.StateStore`). In-process for one worker and
tests; Redis for several workers or hosts.
"""

from idp.state.factory import create_state_store
from idp.state.memory import MemoryStateStore
from idp.state.redis import RedisStateStore

__all__ = ["MemoryStateStore", "RedisStateStore", "create_state_store"]
