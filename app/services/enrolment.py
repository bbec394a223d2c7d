"""Phone enrolment links and QR codes (an admin shows one; the volunteer's phone scans it)."""

from __future__ import annotations

from urllib.parse import quote


def enrolment_url(base_url: str, code: str) -> str:
    """The link that enrols a phone: the app with the one-time code in the fragment, which
    browsers never send to a server (nor write to its logs or a proxy's)."""
    return f"{base_url.rstrip('/')}/collect/#enrol={quote(code, safe='')}"


def qr_svg(text: str) -> str:
    """An SVG QR code of a text (a link), for an admin page; only a URL we made goes in."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
    return buffer.getvalue().decode()
