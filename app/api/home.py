"""The start page: what the signed-in person can do, by role (or how to sign in)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import EngineDep, LanguageDep, OptionalUser
from app.api.pages import render_page
from app.i18n import translate
from app.services import places
from app.services.access import ROLES
from app.services.cdf_access import CDF_ROLES, can_read_city_books

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(
    request: Request, user: OptionalUser, engine: EngineDep, language: LanguageDep
) -> HTMLResponse:
    """Links to the phone app, the maps a person may open, review and admin pages."""
    cities = await places.cities_for_home(engine, user)
    readable = [c for c in cities if c["readable"]]
    # The role line names the ward of every ward grant (a volunteer's too); the led ones
    # also get their map's link.
    granted = await places.granted_wards(engine, user) if user else []
    led = user.wards_as("ward_leader") if user else frozenset()
    wards = [w for w in granted if w["id"] in led]
    return render_page(
        request,
        "home.html",
        language,
        user,
        cities=readable,
        wards=wards,
        city_names={c["id"]: c["name"] for c in cities},
        ward_names={w["id"]: w["name"] for w in granted},
        role_names={
            role: translate(f"page.role.{role}", language)
            for role in dict.fromkeys((*ROLES, *CDF_ROLES))
        },
        cdf_cities=[c for c in cities if user and can_read_city_books(user, c["id"])],
        can_review=bool(user and user.has_role("ward_leader", "city_admin")),
        can_admin=bool(user and user.has_role("city_admin")),
    )
