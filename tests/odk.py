"""ODK Collect on the wire, for tests and the benchmark: instance XML as Collect writes it,
its multipart body, and the client side of HTTP Digest (RFC 7616, MD5, qop=auth)."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

# What ODK Collect (JavaRosa) writes on the root of an instance: the form's id and version
# and the namespaces of the XForm's head.
NAMESPACES = (
    'xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa" '
    'xmlns:odk="http://www.opendatakit.org/xforms" xmlns:orx="http://openrosa.org/xforms" '
    'xmlns:ev="http://www.w3.org/2001/xml-events" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
)
HOUSEHOLD_VERSION = "2026112801"
# Collect's geopoint: latitude, longitude, altitude, accuracy (the sample city's ward W03).
GEOPOINT = "15.571 108.474 12.0 6.5"
HOUSEHOLD_GROUPS: dict[str, dict[str, str]] = {
    "g_household": {
        "head_name": "Nguyễn Thị Hoa",
        "head_phone": "0905123456",
        "household_size": "4",
        "poverty_status": "poor",
    },
    "g_housing": {"tenure": "papers_only", "house_condition": "temporary", "eviction_threat": "no"},
    "g_services": {
        "water_source": "shared_tap",
        "sanitation": "shared_toilet",
        "electricity": "neighbour_meter",
        "flooding": "often",
        "waste": "dumped",
    },
    "g_access": {"lane_access": "motorbike", "lane_width_m": "1.8", "lane_paved": ""},
    "g_community": {
        "savings_group": "yes",
        "cdf_loan": "no",
        "priority_needs": "drainage lane",
        "needs_notes": "",
        "photo": "",
    },
}


def household_xml(
    instance_id: str | None = None,
    *,
    geopoint: str = GEOPOINT,
    photo: str = "",
    deprecated_id: str | None = None,
    start: str = "2026-11-26T09:10:00.000+07:00",
    end: str = "2026-11-26T09:30:00.000+07:00",
    version: str = HOUSEHOLD_VERSION,
    form_id: str = "household",
    **answers: str,
) -> bytes:
    """A household instance as Collect saves it (groups nested, empty answers as empty
    elements, `meta/instanceID` as `uuid:...`)."""
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    groups = []
    for group, questions in HOUSEHOLD_GROUPS.items():
        values = dict(questions)
        for name in values:
            if name in answers:
                values[name] = answers[name]
        if group == "g_community":
            values["photo"] = photo
        inner = "".join(
            f"<{name}>{escape(value)}</{name}>" if value else f"<{name}/>"
            for name, value in values.items()
        )
        groups.append(f"<{group}>{inner}</{group}>")
    meta = f"<instanceID>{escape(instance_id)}</instanceID>"
    if deprecated_id:
        meta += f"<deprecatedID>{escape(deprecated_id)}</deprecatedID>"
    return (
        f'<?xml version=\'1.0\' ?><data id="{escape(form_id)}" version="{escape(version)}" '
        f"{NAMESPACES}><start>{start}</start><end>{end}</end>"
        f"<g_location><location>{geopoint}</location></g_location>"
        + "".join(groups)
        + f"<meta>{meta}<instanceName/></meta></data>"
    ).encode("utf-8")


def multipart(
    xml: bytes, files: list[tuple[str, bytes, str]] | None = None, incomplete: bool = False
) -> tuple[bytes, str]:
    """The body Collect posts (`xml_submission_file`, then each file under its own name,
    UTF-8 file names as Collect's HTTP client writes them) and its Content-Type."""
    boundary = "----odkcollect" + uuid.uuid4().hex
    parts = [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
            f'filename="submission.xml"\r\nContent-Type: text/xml\r\n\r\n'
        ).encode()
        + xml
        + b"\r\n"
    ]
    for name, data, content_type in files or []:
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    if incomplete:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="*isIncomplete*"\r\n\r\n'
            "yes\r\n".encode()
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def challenge_fields(header: str) -> dict[str, str]:
    """The parameters of a WWW-Authenticate Digest challenge."""
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header)
    }


class DigestClient:
    """The client side of Digest as Collect's HTTP client does it: one nonce, nc counting up."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.fields: dict[str, Any] = {}
        self.nc = 0

    def take_challenge(self, header: str) -> None:
        """Remember a challenge (a 401's Digest WWW-Authenticate)."""
        self.fields = challenge_fields(header)
        self.nc = 0

    def authorization(self, method: str, uri: str) -> str:
        """The Authorization header of the next request."""
        self.nc += 1
        realm, nonce = self.fields["realm"], self.fields["nonce"]
        nc = f"{self.nc:08x}"
        cnonce = os.urandom(8).hex()
        ha1 = md5(f"{self.username}:{realm}:{self.password}")
        ha2 = md5(f"{method}:{uri}")
        response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        return (
            f'Digest username="{self.username}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}", '
            f'algorithm=MD5, opaque="{self.fields.get("opaque", "")}"'
        )


def md5(text: str) -> str:
    """Hex MD5 of UTF-8 text."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()
