"""A refusal as a small HTML page when a browser navigated to it (a mistyped address, a sign-out
form whose session expired, a file too large): a person reads a sentence in their language,
not JSON. Machine clients (the API, ODK Collect, OGC API Features, vector tiles) keep the JSON
shape of app.api.errors whatever they accept."""

from __future__ import annotations

from app.geo.web_map import not_found_page
from app.i18n import translate

# Paths whose clients read JSON (or ODK's XML) even when they also accept text/html.
MACHINE_PATHS = ("/api", "/odk", "/ogc", "/tiles")
# Elements of an Accept header read: enough for any browser's, a bound on a hostile one.
MAX_MEDIA_RANGES = 32


def _accepts_html(accept: str) -> bool:
    """Whether an Accept header names text/html (not refused with q=0): a browser's
    navigation does; fetch() and API clients send */* or application/json."""
    for element in accept.split(",", MAX_MEDIA_RANGES)[:MAX_MEDIA_RANGES]:
        media, *parameters = element.split(";")
        if media.strip().lower() != "text/html":
            continue
        for parameter in parameters:
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def wants_page(path: str, accept: str | None) -> bool:
    """A browser asked for this path as a page (and it is not a machine client's path)."""
    if any(path == prefix or path.startswith(prefix + "/") for prefix in MACHINE_PATHS):
        return False
    return _accepts_html(accept or "")


def error_page(status: int, message: str, language: str) -> str:
    """The page of a refusal: its status, its sentence and a link to the start page."""
    heading = translate("page.error_title", language, status=status)
    home = translate("page.error_home", language)
    return not_found_page(heading, message, language, home=home)
