"""Headers every HTTP response carries: no caching, no sniffing, a content policy.

Responses carry SIP passwords, tokens and personal data: ``Cache-Control:
no-store`` keeps them out of browser and proxy caches, and
``X-Content-Type-Options: nosniff`` stops a browser from running a download
as a script. HTML pages get a ``Content-Security-Policy``: the console's pages
load nothing but their own files; the API documentation page
(``/api/docs``, FastAPI's Swagger UI) loads its script and style sheet from
the jsDelivr CDN and starts them with an inline script, so its policy allows
those and nothing else.

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``): it only
rewrites the start of each response, so streamed responses (live views,
recordings) stream as before.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DOCS_POLICY", "PAGE_POLICY", "SecurityHeaders"]

PAGE_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The content security policy of every HTML page but the API documentation."""

_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'none'; script-src 'unsafe-inline' {_CDN}; style-src 'unsafe-inline' {_CDN}; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The policy of the Swagger UI page: its CDN, its inline start-up script."""


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response.

    Args:
        app: the application to wrap.
        docs_path: the path of the API documentation page.
    """

    def __init__(self, app: ASGIApp, docs_path: str | None = None) -> None:
        self._app = app
        self._docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] == self._docs_path else PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = policy
            await send(message)

        await self._app(scope, receive, send_with_headers)
