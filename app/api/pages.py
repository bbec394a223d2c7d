"""Server-rendered pages (sign-in, review, admin): fixed Jinja templates, data as context.

Templates come from app/templates only and autoescape everything; no text from data is ever
template source (folium taught us: a ward named `{{ ... }}` ran code).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.geo.web_map import leaflet_texts
from app.i18n import (
    LANGUAGES,
    date_text,
    day_text,
    number_text,
    percent_text,
    translate,
    whole_percent,
)
from app.services.access import Principal
from app.settings import REPO_ROOT
from app.text import isolated

_TEMPLATES = Environment(
    loader=FileSystemLoader(REPO_ROOT / "app" / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.globals["number_text"] = number_text  # figures as the page's language writes them
_TEMPLATES.globals["whole_percent"] = whole_percent  # a share as the maps and prints show it
_TEMPLATES.globals["percent_text"] = percent_text  # a share with decimals, rounded as they are
_TEMPLATES.globals["day_text"] = day_text  # a day without its year: 24/11, 24 Nov
_TEMPLATES.globals["date_text"] = date_text  # a day with its year: 07/12/2026, 7 Dec 2026
_TEMPLATES.globals["leaflet_texts"] = leaflet_texts  # Leaflet's buttons, in the page's language
# A name inside a text where markup cannot go (<option>, <title>): FSI ... PDI (app/text.py).
_TEMPLATES.filters["isolated"] = isolated


class _Texts:
    """`t.key` in a template: the page text `page.key` in the page's language."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __getattr__(self, key: str) -> str:
        return translate(f"page.{key}", self.language)


def render_page(
    request: Request,
    template: str,
    language: str,
    user: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page from a fixed template, with the CSP nonce and the session's CSRF token."""
    csrf = ""
    if user is not None and user.token_id and user.token_kind == "session":
        csrf = request.app.state.auth.csrf_token(user.token_id)
    html = _TEMPLATES.get_template(template).render(
        language=language,
        t=_Texts(language),
        user=user,
        csrf_token=csrf,
        nonce=getattr(request.state, "csp_nonce", ""),
        title=context.pop("title", None) or translate("page.app_name", language),
        language_switch=language_switch(request, "en" if language == "vi" else "vi"),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def safe_next(target: str | None) -> str:
    """A page of this site to go back to after signing in (never another site)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c in target for c in "\r\n\t\\")
    ):
        return "/"
    return target[:2000]


def language_switch(request: Request, language: str) -> str:
    """This page's address in the other language: its query (?ward=, ?surveys=, ?next=...)
    kept, only `lang` replaced."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return "?" + urlencode([*params, ("lang", language)])


def with_language(target: str, language: str | None) -> str:
    """A local path (safe_next's) with `lang` set to `language` (when one was asked for), so
    the page after signing in or out keeps the language the person chose."""
    if language not in LANGUAGES:
        return target
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    query.append(("lang", language))
    return safe_next(urlunsplit(("", "", parts.path, urlencode(query), parts.fragment)))


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn --proxy-headers puts the real one here)."""
    return request.client.host if request.client else "unknown"


def sign_in_first(request: Request) -> RedirectResponse:
    """A page for signed-in people only: to the sign-in page (in the language the page was
    asked in), and back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='/')}"
    language = request.query_params.get("lang")
    if language in LANGUAGES:
        location += f"&lang={language}"
    return RedirectResponse(location, status_code=303)
