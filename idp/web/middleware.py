"""Moved: the middleware stack is one pure-ASGI class now, ``idp.web.edge.Edge``.

Only ``DEFAULT_CSP`` is re-exported here, for code written against the old module; import it
from ``idp.web.edge``.
"""

from idp.web.edge import DEFAULT_CSP

__all__ = ["DEFAULT_CSP"]
