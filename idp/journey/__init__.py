"""The login journey: what happens to a person between the authorization request and the code.

ARCHITECTURE.md "idp/journey": plain synchronous functions over the ports (``Journey``) that
return typed results (``Redirect``, ``Page``, ``ErrorPage``). No HTTP objects in: ``idp.web``
parses requests and renders results; the sessions CLI and the revocation watcher call the same
functions without building the web app.
"""

from idp.journey.deps import Journey
from idp.journey.results import ErrorPage, Page, Redirect, Step

__all__ = ["ErrorPage", "Journey", "Page", "Redirect", "Step"]
