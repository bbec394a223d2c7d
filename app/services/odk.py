"""Use case: ODK Collect's OpenRosa API: form list, form and media download, submissions.

A submission becomes the same survey the JSON API stores (app/forms/instance_xml.py maps it;
app/services/intake.py checks it; app/services/submissions.py stores it once), so that both
paths share the idempotency key: the survey id is the instance's `meta/instanceID`.

The contract of `submit` (OpenRosa, as ODK Central keeps it):
- a new instanceID: the survey is checked and stored (`created`);
- the same instanceID with byte-identical XML (or XML of the same survey content): a resend
  or the next part of a split submission; its new files are stored (`created` when it brought
  any, else `duplicate`);
- the same instanceID with other content: `Conflict`; nothing changes;
- `meta/deprecatedID` names an instance sent before: an edit. It replaces that survey's
  content, the earlier content kept as a version (app/services/review.correct); the survey
  keeps its id, and the edit's own instanceID becomes another name of it (the next edit's
  deprecatedID), taken in the correction's transaction, and never the id of a new survey
  (by Collect or by the JSON API, whose insert leaves it out). So an edit's instanceID must be
  new: the id of a stored survey (the edited one included) or an instanceID sent before
  with other XML is a `Conflict`, and nothing changes; the same edit again (byte-identical
  XML), even while its first sending is still being stored, is `duplicate`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import mimetypes
import unicodedata
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from xml.sax.saxutils import escape

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import odk as queries
from app.db.pool import StatementPool
from app.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Problem,
    UnknownForm,
    UnsupportedMediaType,
)
from app.forms.definition import FormDefinition, find_beside
from app.forms.instance_xml import MAX_NAME, InstanceHead, instance_uuid, local, map_instance
from app.forms.quality import NO_RULES, QualityRules
from app.forms.registry import FormRegistry
from app.geo.export_writers import NOT_XML
from app.services import attachments, review, submissions
from app.services.access import Principal
from app.services.check_runner import CheckRunner
from app.services.intake import PreparedSubmission, prepare_submission

log = logging.getLogger(__name__)
XFORMS_LIST = "http://openrosa.org/xforms/xformsList"
XFORMS_MANIFEST = "http://openrosa.org/xforms/xformsManifest"
OPENROSA_RESPONSE = "http://openrosa.org/http/response"
# A media file's name as a manifest gives it: one plain file name of letters of any script
# (`ảnh mặt tiền.jpg` stays as the form names it), digits, spaces, `.`, `-`, `_`, `(`, `)`;
# never a path (`/`, `\`, `..`), a hidden file, a control or format character, and at most
# what a file system takes (255 bytes).
_MEDIA_PUNCTUATION = frozenset(" ._-()")
MAX_MEDIA_NAME_BYTES = 255
# md5 of each media file by (path, modification time, size): a manifest is asked for by every
# phone of a team, and a video label is megabytes read again at each request without it.
_MEDIA_MD5: dict[tuple[str, int, int], str] = {}
_MEDIA_MD5_ENTRIES = 1024


def _xml(text: str) -> str:
    # What XML 1.0 cannot hold becomes U+FFFD: a message naming a path or query with a
    # control character in it was no XML for Collect.
    return escape(NOT_XML.sub("\ufffd", text), {'"': "&quot;"})


def visible_forms(forms: FormRegistry, principal: Principal) -> list[FormDefinition]:
    """The forms a person may fill in Collect: every current form for those who send
    surveys (volunteers of a ward or city, ward leaders, admins), none for readers."""
    return forms.all_current() if principal.can_submit() else []


def safe_media_name(name: str) -> bool:
    """Whether a name the XForm refers to may be served as a media file (see above)."""
    if not name or len(name.encode("utf-8", "surrogatepass")) > MAX_MEDIA_NAME_BYTES:
        return False
    if ".." in name or not name[0].isalnum() or name[-1] in " .":
        return False
    return all(
        char.isalnum()
        or char in _MEDIA_PUNCTUATION
        or unicodedata.category(char) in ("Mn", "Mc")  # a decomposed accent (NFD)
        for char in name
    )


def media_files(form: FormDefinition, forms_dir: Path) -> list[tuple[str, Path]]:
    """The files the form's XForm refers to (label images, audio and video, CSV and XML
    choice lists), each once, found where the form's choices were read from
    (FormDefinition.file_beside): beside its file, and for an old version in forms/versions/
    without its own copy, in forms/ (`forms_dir`, also the place of a form that names no
    folders). A name that is no safe plain name or a link out of its folder is left out."""
    found = []
    for name in form.media_references:
        if not safe_media_name(name):
            continue
        path = form.file_beside(name) if form.folders else find_beside((forms_dir,), name)
        if path is not None and path.resolve().parent == path.parent.resolve():
            found.append((name, path))
    return found


def media_md5(path: Path) -> str:
    """The hex md5 of a media file, read again only when it changed."""
    status = path.stat()
    key = (str(path), status.st_mtime_ns, status.st_size)
    digest = _MEDIA_MD5.get(key)
    if digest is None:
        hasher = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as file:
            while chunk := file.read(1024 * 1024):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        if len(_MEDIA_MD5) >= _MEDIA_MD5_ENTRIES:
            _MEDIA_MD5.clear()
        _MEDIA_MD5[key] = digest
    return digest


def form_list_xml(
    forms: Sequence[FormDefinition], base_url: str, forms_dir: Path, only: str | None = None
) -> bytes:
    """The OpenRosa form list (`xformsList`): id, name, version, md5 of the bytes served at
    downloadUrl, manifestUrl when the form has media files. Both name the version listed:
    the download is that version's bytes (the hash's) whichever server process answers it,
    even one that has not yet seen a form file changed a moment ago."""
    rows = []
    for form in forms:
        if only is not None and form.form_id != only:
            continue
        version = f"?version={quote(form.version, safe='')}" if form.version else ""
        form_url = f"{base_url}/forms/{quote(form.form_id, safe='')}"
        name = form.title.get(form.default_language or "", "") or next(
            iter(form.title.values()), form.form_id
        )
        row = (
            f"<xform><formID>{_xml(form.form_id)}</formID><name>{_xml(name)}</name>"
            f"<version>{_xml(form.version)}</version><hash>md5:{form.md5}</hash>"
            f"<downloadUrl>{_xml(f'{form_url}.xml{version}')}</downloadUrl>"
        )
        if media_files(form, forms_dir):
            row += f"<manifestUrl>{_xml(f'{form_url}/manifest{version}')}</manifestUrl>"
        rows.append(row + "</xform>")
    body = f'<?xml version="1.0" encoding="UTF-8"?><xforms xmlns="{XFORMS_LIST}">'
    return (body + "".join(rows) + "</xforms>").encode("utf-8")


def manifest_xml(
    form: FormDefinition, base_url: str, forms_dir: Path, version: str | None = None
) -> bytes:
    """The form's manifest: each media file once, with its md5 and where to get it (reads
    the files it has not hashed yet: call it off the event loop). With `version` (the
    manifest of a version asked for by `?version=`), each download asks for that version's
    file too: an old version's copy in forms/versions/ may differ from the current one."""
    form_url = f"{base_url}/forms/{quote(form.form_id, safe='')}"
    query = f"?version={quote(version, safe='')}" if version is not None else ""
    rows = []
    for name, path in media_files(form, forms_dir):
        digest = media_md5(path)
        rows.append(
            f"<mediaFile><filename>{_xml(name)}</filename><hash>md5:{digest}</hash>"
            f"<downloadUrl>{_xml(form_url)}/media/{quote(name, safe='')}{_xml(query)}"
            "</downloadUrl></mediaFile>"
        )
    body = f'<?xml version="1.0" encoding="UTF-8"?><manifest xmlns="{XFORMS_MANIFEST}">'
    return (body + "".join(rows) + "</manifest>").encode("utf-8")


def media_file(form: FormDefinition, forms_dir: Path, name: str) -> Path:
    """One media file of the form, or NotFound."""
    for found, path in media_files(form, forms_dir):
        if found == name:
            return path
    raise NotFound("file_not_found", filename=name[:140])


def media_type(path: Path) -> str:
    """The Content-Type a media file is served with."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "text/csv"
    if suffix == ".xml":
        return "text/xml"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def openrosa_response(message: str, nature: str = "") -> bytes:
    """An OpenRosaResponse envelope with one message (Collect shows it)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><OpenRosaResponse xmlns="{OPENROSA_RESPONSE}">'
        f'<message nature="{_xml(nature)}">{_xml(message)}</message></OpenRosaResponse>'
    ).encode()


def settings_qr_payload(server_url: str, username: str, password: str, project: str) -> str:
    """Collect's settings QR payload: JSON zlib-compressed, then base64 (as ODK Central's
    app users get it)."""
    settings = {
        "general": {
            "server_url": server_url,
            "username": username,
            "password": password,
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "admin": {},
        "project": {"name": project, "icon": "🏠", "color": "#2e7d32"},
    }
    return base64.b64encode(zlib.compress(orjson.dumps(settings))).decode("ascii")


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a submission: the name Collect gave it, its type and bytes."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class SubmitPolicy:
    """What a submission is checked against (from settings)."""

    media_dir: Path
    future_tolerance: timedelta
    low_accuracy_m: float
    late_after: timedelta
    limits: attachments.AttachmentLimits
    quality: QualityRules = NO_RULES
    # Where surveys of a form the whole engine checks are checked (app.services.check_runner);
    # None: here, on the event loop.
    checks: CheckRunner | None = None


@dataclass(frozen=True)
class SubmitResult:
    """What happened: the survey's id, whether it is new, corrected or sent before, and how
    many of the files were new."""

    survey_id: uuid.UUID
    outcome: Literal["created", "corrected", "duplicate"]
    files_stored: int
    # The files not kept, each with why (empty, not an image of its type, over the survey's
    # limits, other bytes under a stored name): the survey is stored all the same.
    files_refused: tuple[tuple[str, DomainError], ...] = ()


def _form_of(forms: FormRegistry, head: InstanceHead) -> FormDefinition:
    """The form version of an instance, by its root's `id` and `version` (as ODK Central
    finds it); NotFound for none. A root without `version` is the current version's, but
    `version=""` names the empty version, which only a form without a version has (pyxform
    then writes no version attribute): for a form with a version it is an unknown version.
    A root whose name is not the form's instance root is another form under the same id:
    refused (InvalidInput), as its answers would be read against questions it never had."""
    try:
        form = forms.get(head.form_id, head.version)
    except UnknownForm as exc:
        code = (
            "odk_form_version_not_found"
            if exc.code == "unknown_form_version"
            else "odk_form_not_found"
        )
        raise NotFound(code, **exc.params) from exc
    root = local(head.root.tag)
    if root != form.root.name:
        problem = Problem(
            "",
            "odk_root_mismatch",
            {
                "root": root[:MAX_NAME],
                "expected": form.root.name,
                "form": form.form_id,
                "version": form.version,
            },
        )
        raise InvalidInput([problem])
    return form


def _content_type(upload: UploadedFile) -> str:
    declared = attachments.media_type(upload.content_type)
    if declared is not None:
        return declared
    guessed = mimetypes.guess_type(upload.filename)[0]
    return (attachments.media_type(guessed) or guessed or "application/octet-stream").lower()


async def submit(
    pool: StatementPool,
    engine: AsyncEngine,
    forms: FormRegistry,
    sender: Principal,
    head: InstanceHead,
    xml: bytes,
    files: Sequence[UploadedFile],
    policy: SubmitPolicy,
    now: datetime | None = None,
    writer: queries.InstanceWriter | None = None,
) -> SubmitResult:
    """Store one Collect submission (see the module's contract). Raises NotFound (unknown
    form or version, edit of an unknown survey), InvalidInput (a root element not the form's;
    an element the form does not have there, or one sent twice; the survey fails its checks,
    naming each field), Conflict (other XML under a stored
    instanceID, an edit of a reviewed survey, other bytes under a stored file name)."""
    now = now or datetime.now(UTC)
    writer = writer or queries.InstanceWriter(pool)
    form = _form_of(forms, head)
    mapped = map_instance(head, form, sender.username, now.isoformat())
    if mapped.problems:
        # An element the form does not have where it is, or sent twice: refused whole, as
        # an unknown question is, rather than stored without it.
        raise InvalidInput(mapped.problems[:20])
    digest = hashlib.sha256(xml).hexdigest()
    outcome: Literal["created", "corrected", "duplicate"]
    survey_id = head.survey_id

    async def prepared_survey() -> PreparedSubmission:
        def check() -> tuple[PreparedSubmission | None, list[Problem]]:
            return prepare_submission(
                mapped.raw,
                forms,
                now,
                future_tolerance=policy.future_tolerance,
                low_accuracy_m=policy.low_accuracy_m,
                quality=policy.quality,
                # Lateness is the first sending's: an edit keeps the flag the survey has
                # (review.correct) and never adds it.
                late_after=None if head.deprecated_id else policy.late_after,
                # An edit's expressions read the time of the edit (Collect checks it on its
                # clock while it is edited), a first sending's its collection time.
                evaluated_at=now if head.deprecated_id else None,
            )

        if policy.checks is not None and form.compiled.flat is None:
            prepared, problems = await policy.checks.run(check)
        else:
            prepared, problems = check()
        if prepared is None:
            raise InvalidInput(problems)
        return prepared

    def instance_row() -> dict[str, Any]:
        return {
            "instance_id": head.instance_id,
            "survey_id": survey_id,
            "deprecated_id": head.deprecated_id,
            "form_id": form.form_id,
            "form_version": form.version,
            "xml_sha256": digest,
            "xml": xml.decode("utf-8", "replace"),
            "user_id": sender.user_id,
        }

    async def remember() -> None:
        # Waited for only when a later request needs the row (see InstanceWriter).
        await writer.write(instance_row(), wait=not (head.end or head.start))

    async def claim(raw: Any) -> None:
        # In the correction's transaction, its survey locked: the edit's instanceID becomes
        # the survey's, or nothing changes.
        stored = await queries.claim_instance(raw, instance_row())
        if stored is not None:
            if stored["xml_sha256"] == digest:
                raise _SentBefore(uuid.UUID(str(stored["survey_id"])))
            raise Conflict("odk_instance_conflict", id=head.instance_id)
        if await queries.survey_exists(raw, head.survey_id):
            raise Conflict("odk_instance_conflict", id=head.instance_id)

    if head.deprecated_id:
        # An edit is stored under the survey it replaces: its own instanceID says whether
        # this edit came before.
        sent = await queries.sent_instance(pool, head.instance_id)
        if sent is not None:
            if sent["xml_sha256"] != digest:
                raise Conflict("odk_instance_conflict", id=head.instance_id)
            survey_id, outcome = sent["survey_id"], "duplicate"
        else:
            prepared = await prepared_survey()
            survey_id = await _edited_survey(pool, head.deprecated_id)
            try:
                changed, _record = await review.correct(
                    engine,
                    sender,
                    survey_id,
                    replace(prepared, id=survey_id, key=str(survey_id)),
                    claim,
                )
            except _SentBefore as sent_before:  # the same edit, sent at the same moment
                survey_id, outcome = sent_before.survey_id, "duplicate"
            else:
                outcome = "corrected" if changed == "corrected" else "duplicate"
    else:
        # The hot path: one statement stores a new survey (or finds it sent before, with the
        # same content); the XML sent before is read only when the content differs. An
        # instanceID an edit took is another name of the survey it edited: never a new one.
        prepared = await prepared_survey()
        taken = await queries.sent_instance(pool, head.instance_id)
        if taken is not None and taken["survey_id"] != survey_id:
            if taken["xml_sha256"] != digest:
                raise Conflict("odk_instance_conflict", id=head.instance_id)
            survey_id, outcome = taken["survey_id"], "duplicate"
        else:
            try:
                result = await submissions.ingest_one(
                    pool, prepared, [], sender.user_id, sender.assignment()
                )
            except Conflict:
                sent = await queries.sent_instance(pool, head.instance_id)
                if sent is None or sent["xml_sha256"] != digest:
                    raise Conflict("odk_instance_conflict", id=head.instance_id) from None
                survey_id, outcome = sent["survey_id"], "duplicate"
            else:
                outcome = "created" if result.outcome == "created" else "duplicate"
                await remember()
    stored = 0
    refused: list[tuple[str, DomainError]] = []
    for upload in files:
        name = mapped.files.get(upload.filename)
        if name is None:
            # A file the survey does not name: not kept, and said so (ODK Central drops it
            # without a word; the volunteer would believe it sent).
            problem = Problem("", "attachment_not_in_survey", {"filename": upload.filename[:140]})
            refused.append((upload.filename, InvalidInput([problem])))
            continue
        # The form's audit log is the survey's file as a photo is (and as personal: who
        # filled it in where and when), a CSV whatever type the phone gave it.
        audit = name == mapped.audit
        try:
            kept = await attachments.store_attachment(
                engine,
                forms,
                sender,
                policy.media_dir,
                survey_id,
                name,
                attachments.AUDIT_TYPE if audit else _content_type(upload),
                upload.data,
                policy.limits,
                also_expected={name: attachments.AUDIT_KIND} if audit else None,
            )
        except (InvalidInput, Conflict, UnsupportedMediaType) as exc:
            # The survey is stored: a refusal of the whole sending would have Collect send
            # it again for ever, told each time that the survey is not valid.
            log.warning("survey %s: file %r not kept: %s", survey_id, upload.filename[:80], exc)
            refused.append((upload.filename, exc))
            continue
        stored += kept.outcome == "created"
    if outcome == "duplicate" and stored:
        outcome = "created"  # the next part of a split submission
    return SubmitResult(survey_id, outcome, stored, tuple(refused))


class _SentBefore(Exception):
    """The edit's instanceID was taken by this same edit (a concurrent resend)."""

    def __init__(self, survey_id: uuid.UUID) -> None:
        super().__init__(str(survey_id))
        self.survey_id = survey_id


async def _edited_survey(pool: StatementPool, deprecated_id: str) -> uuid.UUID:
    """The survey an edit replaces: the one its deprecatedID became (an instanceID is
    stored as `uuid:` and the UUID's canonical text, however the phone spelled it)."""
    try:
        named = instance_uuid(deprecated_id)
    except ValueError as exc:
        raise InvalidInput(
            [Problem("meta.deprecatedID", "instance_id_invalid", {"value": deprecated_id[:80]})]
        ) from exc
    sent = await queries.sent_instance(pool, f"uuid:{named}")
    return named if sent is None else uuid.UUID(str(sent["survey_id"]))


def problems_text(problems: list[Problem], language: str) -> str:
    """The problems of a refused survey as one message Collect can show."""
    return "; ".join(
        f"{p.field.removeprefix('answers.')}: {p.message(language)}"
        if p.field
        else p.message(language)
        for p in problems[:10]
    )


def as_dict(result: SubmitResult) -> dict[str, Any]:
    """JSON shape of a result (tests, logs)."""
    return {"id": str(result.survey_id), "outcome": result.outcome, "files": result.files_stored}
