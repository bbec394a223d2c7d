"""ODK Collect's server API (OpenRosa 1.0): form list, form download, submissions.

Collect's server URL is `https://<server>/odk` (with a username and a password: HTTP Digest
or Basic, see app/services/odk_auth.py) or `https://<server>/odk/key/<phone token>` (nothing
to type: what the settings QR code holds). Every answer, errors included, carries the
OpenRosa headers; errors are OpenRosaResponse XML whose message Collect shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CurrentUser, EngineDep
from app.api.errors import STATUS_CODES, request_language
from app.api.health import PROXY_HEADERS
from app.api.multipart import MultipartError, Part, boundary_of, read_parts
from app.api.requests import json_object
from app.api.responses import JSON
from app.api.schemas import WRITE_ERRORS, model_body
from app.db import accounts as account_queries
from app.db.odk import InstanceWriter
from app.errors import DomainError, InvalidInput, NotFound, UnknownForm
from app.forms.instance_xml import InstanceError, parse_instance
from app.i18n import translate
from app.services import accounts, odk
from app.services.access import Principal
from app.services.attachments import AttachmentLimits
from app.services.enrolment import qr_svg
from app.services.odk_auth import OdkAuthenticator

log = logging.getLogger(__name__)
router = APIRouter(tags=["odk"])
# The submission POSTs, Collect's hot path: app.main puts them right after the JSON API's
# survey routes (a route near the end of the app's ~100 is matched after all the others,
# ~0.1 ms of CPU per request).
submission_router = APIRouter(tags=["odk"])
PREFIXES = ("/odk", "/odk/key/{token}")
# The submission's path, for the body size limit (app.main): Collect sends photos with it.
SUBMISSION_PATH = r"/odk(/key/[^/]+)?/submission"
MIB = 1024 * 1024
# Addresses Basic is taken from without HTTPS (the machine itself, tests).
LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})


def accept_length(request: Request) -> int:
    """The largest submission body we take (X-OpenRosa-Accept-Content-Length): the files of
    one survey and its XML. Collect splits a larger one into several POSTs."""
    return _accepted(int(request.app.state.settings.max_attachment_bytes_per_survey))


def _accepted(max_attachment_bytes_per_survey: int) -> int:
    return max_attachment_bytes_per_survey + MIB


def submission_limit(max_attachment_bytes_per_survey: int) -> int:
    """The body size limit of the middleware for submissions: above what we announce, so
    that the route itself answers 413 in OpenRosa XML."""
    return 2 * (max_attachment_bytes_per_survey + MIB)


def too_large(max_attachment_bytes_per_survey: int) -> Callable[[str], tuple[bytes, Any]]:
    """The body size limit's 413 for a submission (app.main), as Collect reads it: OpenRosa
    XML naming what we take, not the JSON every other client gets."""
    accept = _accepted(max_attachment_bytes_per_survey)

    def answer(language: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        text = translate("odk_too_large", language, max_mb=round(accept / MIB, 1))
        return odk.openrosa_response(text, "error"), [
            (b"content-type", b"text/xml; charset=utf-8"),
            (b"x-openrosa-version", b"1.0"),
            (b"x-openrosa-accept-content-length", str(accept).encode()),
        ]

    return answer


def _headers(request: Request) -> dict[str, str]:
    return {
        "X-OpenRosa-Version": "1.0",
        "X-OpenRosa-Accept-Content-Length": str(accept_length(request)),
        "Date": formatdate(usegmt=True),
    }


def _xml(request: Request, body: bytes, status: int = 200) -> Response:
    return Response(
        body, status_code=status, media_type="text/xml; charset=utf-8", headers=_headers(request)
    )


def _message(
    request: Request, code: str, status: int, nature: str = "error", **params: Any
) -> Response:
    text = translate(code, request_language(request), **params)
    return _xml(request, odk.openrosa_response(text, nature), status)


def _error(request: Request, exc: DomainError) -> Response:
    language = request_language(request)
    if isinstance(exc, InvalidInput):
        text = translate("odk_invalid_survey", language) + " " + _why(exc, language)
        return _xml(request, odk.openrosa_response(text, "error"), 400)
    status = next((s for t, s in STATUS_CODES.items() if isinstance(exc, t)), 400)
    if isinstance(exc, UnknownForm):
        status = 404
    return _xml(request, odk.openrosa_response(_why(exc, language), "error"), status)


def odk_authenticator(request: Request) -> OdkAuthenticator:
    """The app's Collect authenticator (made on first use, beside the app's Authenticator)."""
    state = request.app.state
    found: OdkAuthenticator | None = getattr(state, "odk_auth", None)
    if found is None:
        found = OdkAuthenticator(state.auth, state.engine)
        state.odk_auth = found
    return found


def instance_writer(request: Request) -> InstanceWriter:
    """The app's writer of instance XML (made on first use, on the ingest pool)."""
    state = request.app.state
    found: InstanceWriter | None = getattr(state, "odk_instances", None)
    if found is None:
        found = InstanceWriter(state.ingest_pool)
        state.odk_instances = found
    return found


def _forwarded_scheme(request: Request) -> str:
    """The scheme the client used, as a proxy in front says it (X-Forwarded-Proto or
    Forwarded's proto), lowercase; empty when it says none."""
    scheme = request.headers.get("x-forwarded-proto", "").split(",")[0]
    if not scheme.strip():
        first = request.headers.get("forwarded", "").split(",")[0]
        scheme = next(
            (
                p.split("=", 1)[1]
                for p in first.split(";")
                if p.strip().lower().startswith("proto=")
            ),
            "",
        )
    return scheme.strip().strip('"').lower()


def _basic_allowed(request: Request) -> bool:
    """Basic sends the password itself: only over HTTPS, or from this machine. A request a
    proxy on this machine forwarded (uvicorn run without --proxy-headers) came from elsewhere:
    HTTPS only, as the proxy says."""
    if request.url.scheme == "https":
        return True
    client = request.client.host if request.client else ""
    if client not in LOCAL_CLIENTS:
        return False
    if any(request.headers.get(header) for header in PROXY_HEADERS):
        return _forwarded_scheme(request) == "https"
    return True


def _challenge(request: Request, stale: bool = False, code: str = "odk_sign_in") -> Response:
    response = _message(request, code, 401)
    for value in odk_authenticator(request).challenges(_basic_allowed(request), stale):
        response.headers.append("WWW-Authenticate", value)
    return response


async def _who(request: Request) -> Principal | Response:
    """The person behind the request, or the 401 that asks Collect for credentials."""
    checker = odk_authenticator(request)
    token = request.path_params.get("token")
    if token is not None:
        principal = await checker.from_url_token(token)
        if principal is None:
            # A revoked or unknown phone token: no password helps, the QR code must be new.
            return _message(request, "odk_token_revoked", 401)
        return principal
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.partition(" ")
    scheme = scheme.lower()
    found: Principal | str | None = None
    if scheme == "digest":
        found = await checker.digest(rest, request.method, request.url.path)
    elif scheme == "basic":
        if not _basic_allowed(request):
            # The password is not checked (nor should it have travelled in clear): say so,
            # and offer Digest, which works over plain HTTP.
            return _challenge(request, code="odk_basic_needs_https")
        address = request.client.host if request.client else ""
        found = await checker.basic(rest, address)
    elif scheme == "bearer":
        found = await checker.auth.principal(rest.strip())
    if found == "stale":
        return _challenge(request, stale=True)
    if not isinstance(found, Principal):
        return _challenge(request, code="odk_sign_in" if not header else "odk_bad_credentials")
    return found


Handler = Callable[[Request], Awaitable[Response]]


def _route(path: str, methods: list[str], on: APIRouter = router) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for prefix in PREFIXES:
            on.add_api_route(prefix + path, handler, methods=methods, include_in_schema=False)
        return handler

    return register


def _base_url(request: Request) -> str:
    """This request's server URL prefix (`.../odk` or `.../odk/key/<token>`)."""
    path = request.url.path
    for marker in ("/formList", "/forms/", "/submission"):
        if marker in path:
            path = path[: path.index(marker)]
            break
    return str(request.base_url).rstrip("/") + path


@_route("/formList", ["GET"])
async def form_list(request: Request) -> Response:
    """The forms this person may fill (`?formID=` for one)."""
    who = await _who(request)
    if isinstance(who, Response):
        return who
    forms = await request.app.state.forms.current()
    body = odk.form_list_xml(
        odk.visible_forms(forms, who),
        _base_url(request),
        request.app.state.settings.forms_dir,
        request.query_params.get("formID"),
    )
    return _xml(request, body)


async def _form(request: Request, who: Principal) -> Any:
    form_id = request.path_params["form_id"]
    version = request.query_params.get("version")
    # The version the form list gave (maybe another server process's, seconds newer).
    forms = await request.app.state.forms.having(form_id, version or None)
    for form in odk.visible_forms(forms, who):
        if form.form_id == form_id:
            return forms.get(form_id, version) if version else form
    raise NotFound("odk_form_not_found", form=form_id[:80])


@_route("/forms/{form_id}.xml", ["GET"])
async def form_xml(request: Request) -> Response:
    """The XForm pyxform made of the XLSForm: the bytes whose md5 the form list gives."""
    who = await _who(request)
    if isinstance(who, Response):
        return who
    try:
        form = await _form(request, who)
    except DomainError as exc:
        return _error(request, exc)
    return _xml(request, form.xform.encode("utf-8"))


@_route("/forms/{form_id}/manifest", ["GET"])
async def manifest(request: Request) -> Response:
    """The form's media files (label images, audio, video; choice lists from CSV or XML
    files), each with its md5."""
    who = await _who(request)
    if isinstance(who, Response):
        return who
    try:
        form = await _form(request, who)
    except DomainError as exc:
        return _error(request, exc)
    forms_dir = request.app.state.settings.forms_dir
    # A file not hashed yet (a video) is read whole: off the event loop.
    version = request.query_params.get("version")
    body = await asyncio.to_thread(odk.manifest_xml, form, _base_url(request), forms_dir, version)
    return _xml(request, body)


@_route("/forms/{form_id}/media/{filename}", ["GET"])
async def media(request: Request) -> Response:
    """One media file of a form (streamed from disk: a video label can be large)."""
    who = await _who(request)
    if isinstance(who, Response):
        return who
    try:
        form = await _form(request, who)
        path = odk.media_file(
            form, request.app.state.settings.forms_dir, request.path_params["filename"]
        )
    except DomainError as exc:
        return _error(request, exc)
    return FileResponse(path, media_type=odk.media_type(path), headers=_headers(request))


@_route("/submission", ["HEAD", "GET"])
async def submission_head(request: Request) -> Response:
    """204 with the OpenRosa headers (Collect asks before it sends)."""
    who = await _who(request)
    if isinstance(who, Response):
        return who
    return Response(status_code=204, headers=_headers(request))


@_route("/submission", ["POST"], on=submission_router)
async def submission(request: Request) -> Response:
    """One survey (or the next part of a split one) as multipart: `xml_submission_file` and
    its files. 201 stored (or new files of it), 202 sent before, 400 malformed or invalid,
    404 unknown form or version, 409 other content under the same instanceID, 413 too large."""
    who = await _who(request)
    if isinstance(who, Response):
        return who
    if not who.can_submit():
        return _message(request, "odk_not_allowed", 403)
    limit = accept_length(request)
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _message(request, "odk_too_large", 413, max_mb=round(limit / MIB, 1))
    boundary = boundary_of(request.headers.get("content-type", ""))
    if boundary is None:
        return _message(request, "odk_multipart_required", 400)
    body = await request.body()
    if len(body) > limit:
        return _message(request, "odk_too_large", 413, max_mb=round(limit / MIB, 1))
    try:
        parts = read_parts(body, boundary)
    except MultipartError as exc:  # a broken body: the client's, not a bug
        log.info("unreadable multipart submission: %s", exc)
        return _message(request, "odk_multipart_required", 400)
    twice = _repeated_part(parts)
    if twice is not None:
        # Which one is the survey, or the photo? Refused whole: nothing is stored.
        return _message(request, "odk_part_twice", 400, name=twice[:140])
    xml_part = next((p for p in parts if p.name == "xml_submission_file"), None)
    if xml_part is None or (xml_part.filename is None and not xml_part.data.strip()):
        return _message(request, "odk_xml_missing", 400)
    xml = xml_part.data
    # Other fields (*isIncomplete*) say nothing we need; every file is one of the survey's.
    files = [
        odk.UploadedFile(part.filename or part.name, part.content_type, part.data)
        for part in parts
        if part is not xml_part and part.filename is not None
    ]
    try:
        # Off the event loop: expat reads up to MAX_ELEMENTS elements of a body of megabytes.
        head = await asyncio.to_thread(parse_instance, xml)
    except InstanceError as exc:
        text = exc.message(request_language(request))
        return _xml(request, odk.openrosa_response(text, "error"), 400)
    state = request.app.state
    settings = state.settings
    policy = odk.SubmitPolicy(
        media_dir=settings.media_dir,
        future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
        low_accuracy_m=settings.gps_warning_accuracy_m,
        late_after=timedelta(days=settings.late_upload_days),
        limits=AttachmentLimits(
            settings.max_attachments_per_survey,
            settings.max_attachment_bytes_per_survey,
        ),
        quality=state.quality,
        checks=state.check_runner,
    )
    try:
        result = await odk.submit(
            state.ingest_pool,
            state.engine,
            await state.forms.having(head.form_id, head.version),
            who,
            head,
            xml,
            files,
            policy,
            datetime.now(UTC),
            instance_writer(request),
        )
    except DomainError as exc:
        return _error(request, exc)
    code, status = (
        ("odk_already_received", 202) if result.outcome == "duplicate" else ("odk_received", 201)
    )
    if result.files_refused:
        # Stored, and said so (Collect marks it sent, and shows why each file was not kept).
        language = request_language(request)
        text = " ".join(
            [
                translate(code, language),
                translate("odk_files_refused", language),
                *(f"{name}: {_why(exc, language)}" for name, exc in result.files_refused),
            ]
        )
        return _xml(request, odk.openrosa_response(text, ""), status)
    return _message(request, code, status, nature="")


def _repeated_part(parts: list[Part]) -> str | None:
    """The name of a part sent twice: two `xml_submission_file` parts, or two files of one
    file name (Collect sends each once); None when there is none."""
    seen: set[str] = set()
    xml_parts = 0
    for part in parts:
        if part.name == "xml_submission_file":
            xml_parts += 1
            if xml_parts > 1:
                return part.name
        elif part.filename is not None:
            filename = part.filename or part.name  # the name it is kept under (below)
            if filename in seen:
                return filename
            seen.add(filename)
    return None


def _why(exc: DomainError, language: str) -> str:
    """What was wrong, in the phone's language: each field's problem for invalid input."""
    if isinstance(exc, InvalidInput):
        return odk.problems_text(exc.problems, language)
    return exc.message(language)


# --- setting up a phone (admins) ------------------------------------------------------------


class PhoneSetupIn(BaseModel):
    """A phone to set up for ODK Collect."""

    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    device_name: Annotated[str, Field(min_length=1, max_length=80)] = "ODK Collect"
    mode: Literal["key", "digest"] = Field(
        default="key",
        description="key: the phone token in the server URL (works over plain HTTP); "
        "digest: the server URL with the username and the phone token as password.",
    )


@router.post(
    "/api/v1/odk/setup",
    status_code=201,
    tags=["odk"],
    responses=WRITE_ERRORS,
    openapi_extra=model_body(PhoneSetupIn),
)
async def phone_setup(request: Request, user: CurrentUser, engine: EngineDep) -> JSON:
    """The person's phone token (their admin only) and the ODK Collect settings QR code that
    carries it (JSON, zlib, base64, as ODK Central makes it): a new token, or the person's
    live one again (`reused`), so that a person never has two and a phone set up before
    keeps working. Revoke it with DELETE /api/v1/devices/{token_id}; the next setup then
    makes a new one."""
    body = PhoneSetupIn.model_validate(await json_object(request, PhoneSetupIn))
    await accounts.devices(engine, user, body.user_id)  # NotFound unless the admin's person
    async with engine.connect() as connection:
        person = await account_queries.user_by_id(connection, body.user_id)
    if person is None or not person["is_active"]:
        raise NotFound("user_not_found", id=body.user_id)
    name = " ".join(body.device_name.replace("\x00", "").split())[:80] or "ODK Collect"
    checker = odk_authenticator(request)
    issued = await checker.setup_phone_token(body.user_id, f"ODK Collect: {name}")
    token, token_id, expires_at = issued.token, issued.token_id, issued.expires_at
    async with engine.begin() as connection:
        await account_queries.audit(
            connection,
            actor_id=user.user_id,
            actor=user.username,
            action="device.odk_token",
            entity="user",
            entity_id=str(body.user_id),
            new={"token_id": str(token_id), "device_name": name, "reused": not issued.created},
        )
    base = str(request.base_url).rstrip("/") + "/odk"
    if body.mode == "key":
        server_url, username, password = f"{base}/key/{token}", "", ""
    else:
        server_url, username, password = base, str(person["username"]), token
    payload = odk.settings_qr_payload(server_url, username, password, "CDF map")
    return JSON(
        {
            "token_id": str(token_id),
            "user_id": body.user_id,
            "username": person["username"],
            "server_url": server_url,
            "password": password or None,
            "expires_at": expires_at.isoformat(),
            "reused": not issued.created,
            "settings_payload": payload,
            "qr_svg": qr_svg(payload),
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},  # it holds the phone's credential
    )
