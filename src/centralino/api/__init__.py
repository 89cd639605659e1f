"""Centralino's REST API (FastAPI): thin routes over the admin use-cases.

``create_api(services)`` returns the ASGI application; the composition root
mounts it. See ``centralino.api.app``.
"""

from centralino.api.app import create_api

__all__ = ["create_api"]
