"""An XForm instance as ODK Collect submits it, read into the survey the JSON API takes.

Collect sends the form's primary instance filled in: the root element carries the form's
`id` and `version`, groups are nested elements, a repeat is one element per instance,
`meta/instanceID` is `uuid:...`. The JSON API's survey (app/services/intake.py) keeps groups
transparent (a question's answer sits beside the others), repeats as lists of objects and
the form's first geopoint as `location`; this module gives the same shape, so that both
paths are checked, deduplicated and stored by the same code.

Hostile XML: a first pass of expat refuses any DTD, entity declaration or external
reference, the checks defusedxml makes (so no entity expansion, no billion laughs, nothing
read from disk or the network); only XML without a DTD then reaches ElementTree's C parser,
and such XML has no entity but the five predefined ones. Why not defusedxml's parser itself:
it is ElementTree's pure-Python XMLParser, 100 us for a household survey against 16 us for
the C parser and ~5 us for the guard (a tenth of a Collect submission's CPU).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from app.errors import Problem
from app.forms.definition import FILE_QUESTION_TYPES, FormDefinition, Group, Question
from app.geo.geoshape import DECIMAL
from app.i18n import translate

# More elements than any survey has (a 500-member roster of 20 questions is 10,000).
MAX_ELEMENTS = 50_000
# Elements inside elements: a form's groups and repeats nest a few levels; thousands are an
# attack on whatever reads the tree recursively.
MAX_DEPTH = 100
MAX_NAME = 128
# The same rule as app/services/attachments.SAFE_FILENAME (a stored file's name).
_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
# Metadata Collect fills in beside the questions (the `meta` group and the preloads).
META_ELEMENTS = frozenset(
    {"start", "end", "today", "deviceid", "username", "audit", "email", "simserial"}
    | {"subscriberid", "phonenumber", "instanceName"}
)


class InstanceError(ValueError):
    """XML that is no survey instance: `code` is a message code (`odk_` + code in
    app.i18n), `params` its values; a `problem` param is itself a message code."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def message(self, language: str) -> str:
        """The message Collect shows, in the language."""
        params = dict(self.params)
        if "problem" in params:
            params["problem"] = translate(params["problem"], language)
        return translate("odk_" + self.code, language, **params)


# What expat found wrong, in words a volunteer can pass on (app.i18n `xml_problem.*`); any
# other error is "not well-formed". Never expat's own English text.
_EXPAT_PROBLEMS = {
    expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]: "xml_problem.cut_short",
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN]: "xml_problem.cut_short",
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION]: "xml_problem.cut_short",
    expat.errors.codes[expat.errors.XML_ERROR_PARTIAL_CHAR]: "xml_problem.cut_short",
    expat.errors.codes[expat.errors.XML_ERROR_TAG_MISMATCH]: "xml_problem.tag_mismatch",
    expat.errors.codes[expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]: "xml_problem.after_root",
    expat.errors.codes[expat.errors.XML_ERROR_UNDEFINED_ENTITY]: "xml_problem.undefined_entity",
    expat.errors.codes[expat.errors.XML_ERROR_UNBOUND_PREFIX]: "xml_problem.unbound_prefix",
    expat.errors.codes[
        expat.errors.XML_ERROR_DUPLICATE_ATTRIBUTE
    ]: "xml_problem.duplicate_attribute",
    expat.errors.codes[expat.errors.XML_ERROR_INCORRECT_ENCODING]: "xml_problem.encoding",
    expat.errors.codes[expat.errors.XML_ERROR_UNKNOWN_ENCODING]: "xml_problem.encoding",
}


def _unreadable(code: int | None, line: int | None, offset: int | None) -> InstanceError:
    """`malformed_xml` for an expat error code and position (column counted from 1)."""
    return InstanceError(
        "malformed_xml",
        problem=_EXPAT_PROBLEMS.get(code or 0, "xml_problem.not_well_formed"),
        line=line or 1,
        column=(offset or 0) + 1,
    )


@dataclass(frozen=True)
class InstanceHead:
    """What names the form and the survey, read before the form is looked up."""

    root: ET.Element
    form_id: str
    version: str | None
    instance_id: str
    survey_id: uuid.UUID
    deprecated_id: str | None
    start: str | None
    end: str | None


@dataclass
class MappedInstance:
    """The survey as the JSON API takes it, and the files it names (the name Collect gave
    each -> the name it is stored under): its answers' and its audit log's (`audit`: the
    stored name of the file `meta/audit` names, when the form has an `audit` row).
    `problems`: elements the form does not have where they are, or sent twice (the survey
    is refused with them)."""

    raw: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    audit: str | None = None


def local(tag: str) -> str:
    """An element's name without its namespace (Collect may write `orx:meta`)."""
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if local(c.tag) == name), None)


def instance_uuid(instance_id: str) -> uuid.UUID:
    """The survey id of an instanceID (`uuid:` + a UUID); ValueError for any other."""
    text = instance_id.strip()
    if text.lower().startswith("uuid:"):
        text = text[5:]
    return uuid.UUID(text)


class _Forbidden(Exception):
    """A DTD, an entity declaration or an external reference in the XML."""


class _TooDeep(Exception):
    """Elements nested deeper than MAX_DEPTH."""


class _TooLarge(Exception):
    """More than MAX_ELEMENTS elements and attributes."""


def _refuse(*_args: Any) -> int:
    raise _Forbidden


class _NotUtf8(Exception):
    """The XML declares an encoding other than UTF-8."""


# Collect and Enketo write UTF-8. An instance in another encoding is refused: its text would be
# kept garbled (UTF-16 read as UTF-8 is full of NUL characters, which PostgreSQL refuses), and
# an encoding Python does not know (or one that is no text encoding: rot13, hex) was a 500.
# The names of UTF-8 (and its subset) expat reads itself (any other is looked up in Python).
_UTF8_NAMES = frozenset({"utf-8", "us-ascii"})
_OTHER_BYTE_ORDER_MARKS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def _declared(_version: str | None, encoding: str | None, _standalone: int) -> None:
    if encoding is not None and encoding.strip().lower() not in _UTF8_NAMES:
        raise _NotUtf8(encoding)


def guard(data: bytes) -> None:
    """Raise InstanceError `xml_declarations` when the XML has a DTD, declares an entity or
    refers to anything outside itself, `instance_too_deep` when its elements nest deeper than
    MAX_DEPTH, `instance_too_large` past MAX_ELEMENTS elements and attributes (counted here,
    as expat reads them: ElementTree built 2.6 million elements of a 10 MB instance, ~2 s,
    before the count after it), `xml_encoding` when it is not UTF-8, `malformed_xml` when it
    is no XML."""
    if data.startswith(_OTHER_BYTE_ORDER_MARKS):
        raise InstanceError("xml_encoding", encoding="UTF-16/UTF-32")
    # Read as UTF-8 whatever it declares (no codec is looked up); a declaration of another
    # encoding is refused.
    parser = expat.ParserCreate("utf-8")
    parser.XmlDeclHandler = _declared
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    depth = 0
    items = 0

    def start(_name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, items
        depth += 1
        items += 1 + len(attributes)
        if depth > MAX_DEPTH:
            raise _TooDeep
        if items > MAX_ELEMENTS:
            raise _TooLarge

    def end(*_args: Any) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _Forbidden as exc:
        raise InstanceError("xml_declarations") from exc
    except _TooDeep as exc:
        raise InstanceError("instance_too_deep", max=MAX_DEPTH) from exc
    except _TooLarge as exc:
        raise InstanceError("instance_too_large", max=MAX_ELEMENTS) from exc
    except _NotUtf8 as exc:
        raise InstanceError("xml_encoding", encoding=str(exc)[:40]) from exc
    except expat.ExpatError as exc:
        raise _unreadable(exc.code, exc.lineno, exc.offset) from exc


def parse_instance(data: bytes) -> InstanceHead:
    """Parse the instance XML safely and read its form id, version and ids.

    Raises InstanceError: `malformed_xml` (not XML), `xml_encoding` (not UTF-8),
    `xml_declarations` (a DTD or an entity), `instance_too_deep`, `instance_too_large`,
    `instance_id_missing`, `instance_id_invalid`, `form_id_missing`.
    """
    guard(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, offset = exc.position
        raise _unreadable(exc.code, line, offset) from exc
    for count, _ in enumerate(root.iter(), 1):
        if count > MAX_ELEMENTS:
            raise InstanceError("instance_too_large", max=MAX_ELEMENTS)
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise InstanceError("form_id_missing")
    version = root.get("version")
    meta = _child(root, "meta")
    instance_id = _text(_child(meta, "instanceID")) if meta is not None else None
    if instance_id is None:
        raise InstanceError("instance_id_missing")
    try:
        survey_id = instance_uuid(instance_id)
    except ValueError as exc:
        raise InstanceError("instance_id_invalid", value=instance_id[:80]) from exc
    deprecated = _text(_child(meta, "deprecatedID")) if meta is not None else None
    if deprecated is not None:
        # As the instanceID: `uuid:` and the UUID's own text (uuid.UUID also reads braces,
        # `urn:uuid:`, hyphens anywhere: kept as sent, it outgrew its column). One that is no
        # UUID is kept as sent, and refused as such with the edit.
        with contextlib.suppress(ValueError):
            deprecated = f"uuid:{instance_uuid(deprecated)}"
    return InstanceHead(
        root=root,
        form_id=form_id[:MAX_NAME],
        version=version.strip() if version is not None else None,
        instance_id=f"uuid:{survey_id}",
        survey_id=survey_id,
        deprecated_id=deprecated,
        start=_text(_child(root, "start")),
        end=_text(_child(root, "end")),
    )


def stored_filename(name: str) -> str:
    """The name a file is stored under: Collect's own when it is a safe name (letters,
    digits, `.`, `-`, `_`), else an ASCII form of it with a short hash of the original, so
    that `ảnh nhà.jpg` becomes `anh-nha-1a2b3c4d.jpg` and two names never meet."""
    if _SAFE_FILENAME.fullmatch(name) and ".." not in name:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    folded = unicodedata.normalize("NFKD", stem.replace("đ", "d").replace("Đ", "D"))
    ascii_stem = _UNSAFE_RUN.sub("-", folded.encode("ascii", "ignore").decode()).strip("-._")
    ascii_stem = _DOTS.sub(".", ascii_stem)  # never `..`, which no file name answer may hold
    ascii_extension = _UNSAFE_RUN.sub("", extension)[:10].lower()
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    safe = f"{ascii_stem[:80]}-{digest}" if ascii_stem else f"file-{digest}"
    return f"{safe}.{ascii_extension}" if ascii_extension else safe


# The attribute of a repeat's template (older pyxform forms): no instance of the repeat.
_JR_TEMPLATE = "{http://openrosa.org/javarosa}template"


@dataclass
class _Reading:
    """What reading an instance against its form gathers beside the answers."""

    form: FormDefinition
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Beside a repeat's questions: the metadata the form puts there; never the `meta` block.
    in_repeat: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.in_repeat = frozenset(self.form.meta)

    def unknown(self, where: str, name: str) -> None:
        self.problems.append(
            Problem(
                where + name[:MAX_NAME],
                "unknown_question",
                {"form": self.form.form_id, "name": name[:MAX_NAME]},
            )
        )


def _read(
    group: Group,
    element: ET.Element,
    scope: dict[str, Any],
    where: str,
    reading: _Reading,
    skipped: frozenset[str],
) -> None:
    """Fill `scope` with the answers under `element`, as the JSON API nests them. Every
    element is the form's, and once (a repeat's once per instance): an element the form does
    not have there, or a question or group sent twice, is a problem naming where it is
    (`where`: the elements' path so far, groups included, `answers.g.member[2].`), never
    dropped (which answer would be the one?). `skipped`: the metadata elements Collect
    writes beside the questions at this level."""
    nodes = group.by_name
    groups: set[str] = set()
    for child in element:
        tag = child.tag
        name = local(tag) if tag[:1] == "{" else tag
        node = nodes.get(name)
        if node is None:
            if name not in skipped:
                reading.unknown(where, name)
        elif isinstance(node, Question):
            # Names are unique in a form: one already in the scope was sent before.
            if name in scope:
                reading.problems.append(Problem(where + name, "element_twice", {"name": name}))
                continue
            if len(child):  # a question holds its answer, no element
                for inside in child:
                    reading.unknown(f"{where}{name}.", local(inside.tag))
            value = _text(child)
            if value is None:
                # Sent empty: no answer, which a default does not fill (Collect filled the
                # default when the survey was made; the volunteer cleared it).
                scope[name] = ""
            elif node.type in FILE_QUESTION_TYPES:
                stored = stored_filename(value)
                reading.files[value] = stored
                scope[name] = stored
            else:
                scope[name] = value
        elif node.kind == "repeat":
            if child.get(_JR_TEMPLATE) is not None:
                continue  # the repeat's template (older forms), no instance
            items = scope.setdefault(name, [])
            item: dict[str, Any] = {}
            inner = f"{where}{name}[{len(items) + 1}]."
            _read(node, child, item, inner, reading, reading.in_repeat)
            items.append(item)
        elif name in groups:
            reading.problems.append(Problem(where + name, "element_twice", {"name": name}))
        else:  # a group: its questions sit beside the others
            groups.add(name)
            _read(node, child, scope, f"{where}{name}.", reading, skipped)


def _meta_time(root: ET.Element, form: FormDefinition, kind: str) -> str | None:
    """The value of the form's `start` or `end` metadata, whatever the form names it."""
    for name, meta_kind in form.meta.items():
        if meta_kind == kind:
            for element in root.iter():
                if local(element.tag) == name and not len(element):
                    return _text(element)
    return None


def _geopoint(text: str) -> dict[str, Any] | None:
    """`lat lon altitude accuracy` -> the JSON API's location; None when it is no point."""
    parts = text.split()
    # ASCII decimals, as the answers' own check reads them (float() also takes "1_5.5", "NaN"
    # and other scripts' digits).
    if not 2 <= len(parts) <= 4 or not all(DECIMAL.match(part) for part in parts):
        return None
    numbers = [float(p) for p in parts]
    location: dict[str, Any] = {"lat": numbers[0], "lon": numbers[1]}
    if len(numbers) > 2:
        location["altitude_m"] = numbers[2]
    if len(numbers) > 3:
        location["accuracy_m"] = numbers[3]
    return location


def audit_meta(form: FormDefinition) -> str | None:
    """The name of the form's `audit` metadata (XLSForm type `audit`: Collect then logs how
    the survey was filled in and sends the log, `audit.csv`, named by `meta/audit`); None
    when it has none. pyxform puts it in the `meta` block, which the form's tree leaves out."""
    for item in form.source.get("children") or ():
        if item.get("name") == "meta" and item.get("type") == "group":
            for child in item.get("children") or ():
                if child.get("type") == "audit":
                    return str(child.get("name") or "audit")
    return None


def map_instance(
    head: InstanceHead, form: FormDefinition, collector: str | None, received_at: str
) -> MappedInstance:
    """The survey of one instance: id from `meta/instanceID`, the form's first geopoint as
    `location` (latitude first in the XML), `collected_at` from the `end` (else `start`)
    metadata, whatever the form names it, or `received_at`; every other answer as text,
    read by the form's own types."""
    answers: dict[str, Any] = {}
    reading = _Reading(form)
    # Beside the questions: the `meta` block and the metadata Collect fills in (the form's,
    # under its own names, and any other: an older version's `start`).
    skipped = META_ELEMENTS | form.meta.keys() | {"meta"}
    _read(form.root, head.root, answers, "answers.", reading, skipped)
    files = reading.files
    audit = None
    audit_name = audit_meta(form)
    meta = _child(head.root, "meta")
    log_name = _text(_child(meta, audit_name)) if meta is not None and audit_name else None
    if log_name is not None:
        audit = files[log_name] = stored_filename(log_name)
    # An `<end>` or `<start>` the form does not declare as metadata: another form's metadata,
    # unless it is a question of this form so named (its answer, no time).
    questions = form.compiled.top_level
    end = _meta_time(head.root, form, "end") or (None if "end" in questions else head.end)
    start = _meta_time(head.root, form, "start") or (None if "start" in questions else head.start)
    raw: dict[str, Any] = {
        "id": str(head.survey_id),
        "form_id": form.form_id,
        "form_version": form.version,
        "collected_at": end or start or received_at,
        "answers": answers,
    }
    if collector:
        raw["collector"] = collector
    point = form.geopoint_question
    if point is not None and point.name in answers:
        text = str(answers.pop(point.name))
        location = _geopoint(text) if text else None
        if location is None:
            # Left among the answers: the form's own check names the question.
            answers[point.name] = text
        else:
            raw["location"] = location
    return MappedInstance(raw, files, reading.problems, audit)
