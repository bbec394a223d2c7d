"""The API's documentation page (Swagger UI), served with its assets from this server.

FastAPI's default /docs loads Swagger UI from a CDN and is blank offline; ward offices and
field teams are often offline, so the bundle is vendored in static/vendor
(scripts/vendor-assets.sh) and the page's one inline script carries the request's CSP nonce.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_UI = "/static/vendor/swagger-ui-5.32.0"
router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for /openapi.json, working offline."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} – API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
    )
    nonce = html.escape(getattr(request.state, "csp_nonce", ""), quote=True)
    body = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(body)
