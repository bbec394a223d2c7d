"""Use case: store a survey's file (photo, sound recording, document) once, on disk and as a
row, idempotently."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import accounts as audit_queries
from app.db import attachments as queries
from app.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Problem,
    UnknownForm,
    UnsupportedMediaType,
)
from app.forms.definition import Question
from app.forms.registry import FormRegistry
from app.services.access import Principal

# Letters, digits, dot, dash, underscore; starts with a letter or digit (no "..", no "/").
SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch
# Question types whose answer names a file the phone sends after the survey.
FILE_TYPES = frozenset({"image", "audio", "video", "file", "background-audio"})
MIB = 1024 * 1024


def _plain_text(data: bytes) -> bool:
    """UTF-8 text without NUL (a CSV or a note), not a binary file under a text type."""
    if b"\x00" in data[:65536]:
        return False
    try:
        data[:65536].decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the 64 KiB mark is still text
        return exc.start >= 65536 - 4
    return True


def _iso_media(data: bytes) -> bool:
    return data[4:8] == b"ftyp"  # MP4 / M4A / 3GP


_ZIP = (b"PK\x03\x04",)  # DOCX, XLSX, ODT, ZIP
# Media type -> (the file name extensions it goes with, what its bytes start with).
_JPEG = (("jpg", "jpeg"), lambda data: data.startswith(b"\xff\xd8\xff"))
_PNG = (("png",), lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"))
Signature = Callable[[bytes], bool]
IMAGE_TYPES: dict[str, tuple[tuple[str, ...], Signature]] = {
    "image/jpeg": _JPEG,
    "image/png": _PNG,
    "image/webp": (("webp",), lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP"),
}
AUDIO_TYPES: dict[str, tuple[tuple[str, ...], Signature]] = {
    "audio/webm": (("webm", "weba"), lambda data: data.startswith(b"\x1a\x45\xdf\xa3")),
    "audio/ogg": (("ogg", "oga", "opus"), lambda data: data.startswith(b"OggS")),
    "audio/mp4": (("m4a", "mp4"), _iso_media),
    "audio/x-m4a": (("m4a",), _iso_media),
    "audio/3gpp": (("3gp", "3gpp"), _iso_media),
    "audio/mpeg": (
        ("mp3",),
        lambda data: data.startswith(b"ID3") or (data[:1] == b"\xff" and data[1:2] >= b"\xe0"),
    ),
    "audio/aac": (("aac",), lambda data: data[:1] == b"\xff" and data[1:2] >= b"\xf0"),
    "audio/amr": (("amr",), lambda data: data.startswith(b"#!AMR")),
    "audio/wav": (("wav",), lambda data: data[:4] == b"RIFF" and data[8:12] == b"WAVE"),
    "audio/x-wav": (("wav",), lambda data: data[:4] == b"RIFF" and data[8:12] == b"WAVE"),
}
DOCUMENT_TYPES: dict[str, tuple[tuple[str, ...], Signature]] = {
    "application/pdf": (("pdf",), lambda data: data.startswith(b"%PDF-")),
    "text/plain": (("txt",), _plain_text),
    "text/csv": (("csv",), _plain_text),
    "application/zip": (("zip",), lambda data: data.startswith(_ZIP)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        ("docx",),
        lambda data: data.startswith(_ZIP),
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        ("xlsx",),
        lambda data: data.startswith(_ZIP),
    ),
    "application/vnd.oasis.opendocument.text": (("odt",), lambda data: data.startswith(_ZIP)),
    "image/jpeg": _JPEG,
    "image/png": _PNG,
}


@dataclass(frozen=True)
class FileKind:
    """What the answer of one kind of question may be sent as: its media types (each with
    its extensions and first bytes) and the largest file."""

    name: str
    types: dict[str, tuple[tuple[str, ...], Signature]]
    max_bytes: int


# A photo is shrunk on the web phone to 1280 px (~0.3 MB), but ODK Collect sends the camera's
# (3 to 6 MB) unless the form sets max-pixels: a photo may be as large as all of a survey's
# files together (AttachmentLimits.max_total_bytes, 10 MB by default). A recording is Opus /
# AAC (8 MB is about half an hour); a document is a form or a letter, photographed or exported.
# ODK Collect's audit log (a form's `audit` metadata: audit.csv, a line per event, with a
# location per event when the form asks) is a CSV of tens of kB; 5 MB is days of events.
AUDIT_KIND = "audit"
AUDIT_TYPE = "text/csv"
KINDS = {
    "image": FileKind("image", IMAGE_TYPES, 10 * MIB),
    "audio": FileKind("audio", AUDIO_TYPES, 8 * MIB),
    "file": FileKind("file", DOCUMENT_TYPES, 5 * MIB),
    AUDIT_KIND: FileKind(AUDIT_KIND, {AUDIT_TYPE: (("csv",), _plain_text)}, 5 * MIB),
}
KIND_OF_QUESTION = {
    "image": "image",
    "audio": "audio",
    "background-audio": "audio",
    "file": "file",
    AUDIT_KIND: AUDIT_KIND,
}
# The largest body the upload route reads (app.main lifts the general body limit for it, to
# the survey's attachment limit when that is larger).
MAX_UPLOAD_BYTES = max(kind.max_bytes for kind in KINDS.values())
ALLOWED_TYPES = frozenset(media for kind in KINDS.values() for media in kind.types)
_KIND_EXTENSIONS = {
    kind.name: frozenset(e for extensions, _signature in kind.types.values() for e in extensions)
    for kind in KINDS.values()
}
_ALL_EXTENSIONS = frozenset().union(*_KIND_EXTENSIONS.values())
_SIGNATURES = {
    media: signature
    for kind in KINDS.values()
    for media, (_extensions, signature) in kind.types.items()
}


@dataclass(frozen=True)
class AttachmentLimits:
    """How many files, and how many bytes in all, one survey may have (the largest photo
    too)."""

    max_files: int = 20
    max_total_bytes: int = 10 * 1024 * 1024


def _texts(value: Any) -> list[str]:
    """Every text among the answers, those of repeats included."""
    if type(value) is str:
        return [value]
    if type(value) is dict:
        return [text for item in value.values() for text in _texts(item)]
    if type(value) is list:
        return [text for item in value for text in _texts(item)]
    return []


def expected_files(forms: FormRegistry, survey: dict[str, Any]) -> dict[str, str | None]:
    """The file names a stored survey gives as answers to its file questions (photo, audio,
    file; inside repeats too), each with its question's type (None when the form version is
    gone)."""
    answers = survey["answers"] or {}
    try:
        form = forms.get(survey["form_id"], survey["form_version"])
    except UnknownForm:  # a version no longer on the server: any answer that names a file
        return {v: None for v in _texts(answers) if SAFE_FILENAME.fullmatch(v)}
    found: dict[str, str | None] = {}

    def walk(children: tuple[Any, ...], scope: Any) -> None:
        # As the answers nest: a group's questions beside the others, a repeat's in a list.
        if type(scope) is not dict:
            return
        for child in children:
            if isinstance(child, Question):
                value = scope.get(child.name)
                if child.type in FILE_TYPES and type(value) is str and value:
                    found.setdefault(value, child.type)
            elif child.kind == "repeat":
                items = scope.get(child.name)
                for item in items if type(items) is list else ():
                    walk(child.children, item)
            else:
                walk(child.children, scope)

    walk(form.root.children, answers)
    return found


def check_kind(
    filename: str,
    question_type: str | None,
    content_type: str,
    size: int,
    max_image_bytes: int = 10 * MIB,
) -> None:
    """Raise UnsupportedMediaType when the file's type is not one its question takes (a
    recording for a photo question), InvalidInput when its name's extension is another
    kind's, PayloadTooLarge (naming the file) when it is larger than that kind's limit (a
    photo's is `max_image_bytes`)."""
    kind = KINDS.get(KIND_OF_QUESTION.get(question_type or "", ""))
    if question_type is not None and (kind is None or content_type not in kind.types):
        allowed = ", ".join(sorted(kind.types)) if kind else "-"
        raise UnsupportedMediaType(allowed=allowed)
    # The name's extension is one of its kind's (a photo may be a PNG named .jpg, as older
    # phones sent them), never one of another kind's: a name says what the file is. A name
    # without an extension is left alone.
    extensions = _KIND_EXTENSIONS[kind.name] if kind else _ALL_EXTENSIONS
    extension = filename.rsplit(".", 1)[1].lower() if "." in filename else None
    if extension is not None and extension not in extensions:
        raise InvalidInput(
            [
                Problem(
                    "filename",
                    "extension_mismatch",
                    {"filename": filename, "extensions": ", ".join(sorted(extensions))},
                )
            ]
        )
    if kind is None:  # the form is gone: any accepted type, within the largest limit
        return
    largest = max_image_bytes if kind.name == "image" else kind.max_bytes
    if size > largest:
        raise PayloadTooLarge(
            "attachment_too_large",
            filename=filename,
            size_mb=_megabytes(size),
            max_mb=_megabytes(largest),
        )


def _megabytes(size: int) -> str:
    """A size in MB for a message, to a hundredth (10 MB, 3.52 MB)."""
    return f"{size / MIB:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class StoredAttachment:
    """The outcome of an upload: `created` or `unchanged` (same bytes sent again)."""

    outcome: Literal["created", "unchanged"]
    record: dict[str, Any]


def media_type(content_type: str | None) -> str | None:
    """The bare media type of a Content-Type header when it is an accepted type."""
    bare = (content_type or "").split(";")[0].strip().lower()
    return bare if bare in ALLOWED_TYPES else None


def check_upload(filename: str, content_type: str, data: bytes) -> None:
    """Raise InvalidInput when the name is unsafe, the body empty or not of the announced
    type."""
    problems = []
    # fullmatch: with match() and `$`, "a.jpg\n" passed (a `$` also matches before a final \n).
    if not SAFE_FILENAME.fullmatch(filename) or ".." in filename:
        problems.append(Problem("filename", "invalid_filename", {"filename": filename[:140]}))
    if not data:
        problems.append(Problem("body", "empty_upload"))
    if problems:
        raise InvalidInput(problems)


def check_content(content_type: str, data: bytes) -> None:
    """Raise InvalidInput when the bytes are not of the announced type."""
    if not _SIGNATURES[content_type](data):
        code = "image_mismatch" if content_type.startswith("image/") else "content_mismatch"
        raise InvalidInput([Problem("body", code, {"type": content_type})])


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


async def store_attachment(
    engine: AsyncEngine,
    forms: FormRegistry,
    sender: Principal,
    media_dir: Path,
    submission_id: uuid.UUID,
    filename: str,
    content_type: str,
    data: bytes,
    limits: AttachmentLimits | None = None,
    also_expected: dict[str, str] | None = None,
) -> StoredAttachment:
    """Store a file under media_dir/<survey id>/<filename>; same bytes again change nothing.

    Only the files a survey names in its answers are taken (and `also_expected`: the files
    its instance names elsewhere, each with its kind: Collect's audit log), each of a type
    its question takes (UnsupportedMediaType otherwise), within `limits`. Raises NotFound
    for an unknown survey, InvalidInput for a file it does not name, one too many or too large, and
    Conflict when other bytes are stored under the same name (a stored photo is never
    replaced).
    """
    limits = limits or AttachmentLimits()
    check_upload(filename, content_type, data)
    digest = hashlib.sha256(data).hexdigest()
    path = media_dir / str(submission_id) / filename
    async with engine.begin() as connection:
        # Locked so that parallel uploads to one survey are counted one after the other.
        survey = await queries.survey_for_files(connection, submission_id, lock=True)
        # Its collector sends a survey's photos (a reviewer may too); for anyone else the
        # survey does not exist.
        if survey is None or not (
            survey["collector_user_id"] == sender.user_id or sender.can_review(survey)
        ):
            raise NotFound("survey_not_found", id=str(submission_id))
        existing = await queries.get_attachment(connection, submission_id, filename)
        if existing is None:
            expected = {**(also_expected or {}), **expected_files(forms, survey)}
            if filename not in expected:
                raise InvalidInput(
                    [Problem("filename", "attachment_not_in_survey", {"filename": filename})]
                )
            # The question's kind first: a recording sent for a photo is the wrong type (415)
            # whatever its bytes.
            check_kind(
                filename, expected[filename], content_type, len(data), limits.max_total_bytes
            )
            check_content(content_type, data)
            count, total = await queries.attachment_totals(connection, submission_id)
            if count >= limits.max_files:
                raise InvalidInput(
                    [Problem("filename", "too_many_attachments", {"max": limits.max_files})]
                )
            if total + len(data) > limits.max_total_bytes:
                max_mb = round(limits.max_total_bytes / 1024 / 1024, 1)
                raise InvalidInput([Problem("body", "attachments_too_large", {"max_mb": max_mb})])
            inserted = await queries.insert_attachment(
                connection, submission_id, filename, content_type, len(data), digest
            )
            if inserted is not None:
                # On record: who added which file, at which stage of review (a reviewer may
                # send a survey's photo; a phone's upload may come after the decision).
                await audit_queries.audit(
                    connection,
                    actor_id=sender.user_id,
                    actor=sender.username,
                    action="survey.attachment",
                    entity="survey",
                    entity_id=str(submission_id),
                    new={
                        "file": filename,
                        "bytes": len(data),
                        "sha256": digest,
                        "status": survey["status"],
                    },
                )
                # Written inside the transaction: a failed write rolls the row back.
                await asyncio.to_thread(_write_atomically, path, data)
                return StoredAttachment("created", inserted)
            existing = await queries.get_attachment(connection, submission_id, filename)
    if existing is None or existing["sha256"] != digest:
        raise Conflict("attachment_conflict", filename=filename, id=str(submission_id))
    if not path.is_file():  # the media folder was lost or restored without this file
        await asyncio.to_thread(_write_atomically, path, data)
    return StoredAttachment("unchanged", existing)


async def stored_photo(
    engine: AsyncEngine,
    media_dir: Path,
    submission_id: uuid.UUID,
    filename: str,
    reader: Principal,
) -> tuple[Path, str]:
    """A survey's stored file (path, media type), for a reader who may see personal fields;
    NotFound for anyone else, as for a file that does not exist."""
    if not SAFE_FILENAME.fullmatch(filename) or ".." in filename:
        raise NotFound("file_not_found", filename=filename[:140])
    async with engine.connect() as connection:
        survey = await queries.survey_for_files(connection, submission_id)
        if survey is None or not reader.can_see_personal(survey):
            raise NotFound("file_not_found", filename=filename)
        row = await queries.get_attachment(connection, submission_id, filename)
    path = media_dir / str(submission_id) / filename
    if row is None or row["content_type"] not in ALLOWED_TYPES or not path.is_file():
        raise NotFound("file_not_found", filename=filename)
    return path, str(row["content_type"])
