"""The admin page of city and national admins: people, roles, phones, cities (publishing, the
priority score's weights) and boundaries.

`GET /admin` is a fixed template; the people come from the people API (which applies the
admin's scope) and are written into the page by static/admin/admin.js with textContent only.
Every change goes through the JSON API (app/api/users.py, app/api/boundaries.py) with the
page's CSRF token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import EngineDep, LanguageDep, OptionalUser, SettingsDep
from app.api.pages import render_page, sign_in_first
from app.i18n import MESSAGES, translate
from app.services import indicators, places
from app.services.access import ROLES, Principal, Role
from app.services.accounts import MIN_PASSWORD
from app.services.cdf_access import CDF_ROLES
from app.settings import Settings

router = APIRouter(include_in_schema=False)
# Roles a city admin gives (a national admin may also make national admins). A treasurer is
# appointed on a savings group by the CDF's staff (app/api/cdf.py), not here.
CITY_ROLES: tuple[Role, ...] = tuple(role for role in ROLES if role != "national_admin")


def page_config(
    user: Principal, cities: list[dict[str, Any]], settings: Settings, language: str
) -> dict[str, Any]:
    """What the page's script needs, written into the page as JSON (never as script)."""
    return {
        "language": language,
        "me": user.user_id,
        "national": user.is_national_admin,
        "cities": [
            {"id": c["id"], "slug": c["slug"], "name": c["name"], "public": c["public_aggregates"]}
            for c in cities
        ],
        # Every role a person may hold, the CDF's included: each in words (the list showed
        # `cdf_staff` and `treasurer`).
        "roles": {
            role: translate(f"page.role.{role}", language)
            for role in dict.fromkeys((*ROLES, *CDF_ROLES))
        },
        "assignable": list(ROLES if user.is_national_admin else CITY_ROLES),
        "max_upload_bytes": settings.max_boundary_upload_bytes,
        "common_weights": indicators.read_weights(settings.priorities_path),
        "texts": {
            **{
                key.removeprefix("page."): translate(key, language)
                for key in MESSAGES
                if key.startswith("page.admin_")
            },
            "invalid_username": translate("invalid_username", language),
            "password_too_short": translate("password_too_short", language, min=MIN_PASSWORD),
            "missing": translate("missing", language),
        },
    }


@router.get("/admin")
async def admin_page(
    request: Request,
    user: OptionalUser,
    engine: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """People the admin manages (roles, phones, passwords), their cities (publishing) and
    boundary imports; for city admins and national admins."""
    if user is None:
        return sign_in_first(request)
    if not user.has_role("city_admin"):
        return render_page(
            request,
            "admin.html",
            language,
            user,
            status_code=403,
            title=translate("page.admin_forbidden_title", language),
            problem={
                "title": translate("page.admin_forbidden_title", language),
                "text": translate("page.admin_forbidden", language),
            },
        )
    cities = await places.managed_cities(engine, user)
    weights = await indicators.weights_by_city(
        engine, [city["id"] for city in cities], settings.priorities_path
    )
    for city in cities:
        city["weights"] = weights[city["id"]]
        city["counts"] = translate(
            "page.admin_city_counts",
            language,
            wards=city["wards"],
            settlements=city["settlements"],
        )
    return render_page(
        request,
        "admin.html",
        language,
        user,
        title=translate("page.admin_title", language),
        cities=cities,
        is_national_admin=user.is_national_admin,
        indicators=[(i.key, i.label[language]) for i in indicators.INDICATORS],
        max_weight=indicators.MAX_WEIGHT,
        config=page_config(user, cities, settings, language),
    )
