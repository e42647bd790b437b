"""The register's REST API (``/api/v1``): organisations, professionals, declarations, clients.

Mounted by the deployment (``idp/app.py``) with an ``Authenticate`` callable that turns a request
into a ``Principal``; the register itself never imports the IdP (ARCHITECTURE.md).
"""

from registry.api.app import DEFAULT_BASE_PATH, create_api, routes
from registry.api.openapi import document
from registry.api.principal import Authenticate, Principal

__all__ = ["DEFAULT_BASE_PATH", "Authenticate", "Principal", "create_api", "document", "routes"]
