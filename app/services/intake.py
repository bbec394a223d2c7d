"""Check a raw submission (JSON from a phone) and turn it into a row ready to store."""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from app.errors import Problem, UnknownForm
from app.forms.quality import NO_RULES, QualityRules
from app.forms.registry import FormRegistry
from app.forms.validation import validate_answers
from app.geo.geoshape import read_geoshape
from app.vietnam import VIETNAM_TIME

EARLIEST_COLLECTION = datetime(2000, 1, 1, tzinfo=UTC)
TOP_LEVEL_KEYS = frozenset(
    {
        "id",
        "form_id",
        "form_version",
        "collected_at",
        "finished_at",
        "sent_at",
        "collector",
        "city",
        "location",
        "answers",
        "manual_points",
    }
)
# A phone clock can be wrong by hours, so a survey "collected in the future" is accepted and
# flagged. Before EARLIEST_COLLECTION or more than this ahead, the time cannot be the
# survey's (a cheap phone whose clock battery ran out wakes up in 1980): the survey is still
# stored, flagged, at the time its phone's error gives back, else at its arrival; refused,
# it could never be sent, since the phone keeps the time of its first finish.
LATEST_COLLECTION = timedelta(days=366)
# Nesting allowed anywhere in one survey (answers are values or lists of values; repeats, when
# forms have them, add a few levels). orjson refuses to write deeper than 254 levels.
MAX_DEPTH = 16
MAX_NODES = 20_000
# `manual`: true when the volunteer placed the point by hand on the phone's map.
LOCATION_KEYS = frozenset({"lat", "lon", "accuracy_m", "altitude_m", "manual"})
# `manual_points`: the geopoint answers other than the location that the volunteer placed by
# hand, by name (`repeat[n]/name` inside a repeat, n from 1, as the phone and XPath count).
MAX_MANUAL_POINTS = 100
_REPEAT_STEP = re.compile(r"([^\[\]/]+)\[([1-9][0-9]{0,4})\]")
# Vietnam's extent, to recognise a point whose lat and lon were swapped.
VIETNAM_LAT = (8.0, 24.0)
VIETNAM_LON = (102.0, 110.0)


@dataclass(slots=True)
class PreparedSubmission:
    """A valid submission, normalised, with the hash that decides duplicate vs conflict.

    Not frozen: one is made for every survey, and a frozen dataclass's __init__ (a call of
    object.__setattr__ per field) took ~2 µs, this one ~0.7 µs, of the ~20 µs of checking a
    survey; nothing changes one after prepare_submission (dataclasses.replace makes another)."""

    id: uuid.UUID
    form_id: str
    form_version: str
    collected_at: datetime
    collector: str | None
    city: str | None
    lat: float | None  # None: a survey of a form without a geopoint, sent without a location
    lon: float | None
    accuracy_m: float | None
    altitude_m: float | None
    answers: dict[str, Any]
    flags: list[str] = field(default_factory=list)
    content_hash: str = ""
    location_manual: bool = False
    # The geopoint answers placed by hand (sorted; see MAX_MANUAL_POINTS), [] for none.
    manual_points: list[str] = field(default_factory=list)
    # The area of a form whose location is a geoshape (FormDefinition.shape_question), as
    # WKT (lon lat), closed; None for every other survey. Made from an answer the content
    # hash covers, so it is not hashed itself.
    shape: str | None = None
    # str(id), made once: the key a batch's outcomes are matched by.
    key: str = ""


def _number(raw: dict[str, Any], key: str, where: str, problems: list[Problem]) -> float | None:
    value = raw.get(key)
    if type(value) is float and math.isfinite(value):
        return value  # the usual: what float(value) gives
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(Problem(where, "wrong_type", {"expected": "number"}))
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer past any double (10**400)
        problems.append(Problem(where, "number_too_large"))
        return None
    if not math.isfinite(number):  # JSON's 1e400 is read as infinity (requests.parse_json)
        problems.append(Problem(where, "not_number"))
        return None
    return number


def _location(raw: Any, problems: list[Problem]) -> tuple[float, float, float | None, float | None]:
    if not isinstance(raw, dict):
        code = "missing" if raw is None else "wrong_type"
        problems.append(Problem("location", code, {"expected": "{lat, lon}"}))
        return math.nan, math.nan, None, None
    for key in raw:
        if key not in LOCATION_KEYS:
            problems.append(Problem(f"location.{key}", "unknown_field", {"name": key}))
    before = len(problems)
    lat = _number(raw, "lat", "location.lat", problems)
    lon = _number(raw, "lon", "location.lon", problems)
    accuracy = _number(raw, "accuracy_m", "location.accuracy_m", problems)
    altitude = _number(raw, "altitude_m", "location.altitude_m", problems)
    if lat is None and "lat" not in raw:
        problems.append(Problem("location.lat", "missing"))
    if lon is None and "lon" not in raw:
        problems.append(Problem("location.lon", "missing"))
    if len(problems) > before or lat is None or lon is None:
        return math.nan, math.nan, accuracy, altitude
    if VIETNAM_LON[0] <= lat <= VIETNAM_LON[1] and VIETNAM_LAT[0] <= lon <= VIETNAM_LAT[1]:
        problems.append(Problem("location", "lat_lon_swapped", {"lat": lat, "lon": lon}))
    elif not -90 <= lat <= 90:
        problems.append(Problem("location.lat", "lat_range", {"value": lat}))
    elif not -180 <= lon <= 180:
        problems.append(Problem("location.lon", "lon_range", {"value": lon}))
    elif lat == 0 and lon == 0:
        problems.append(Problem("location", "null_island"))
    if accuracy is not None and accuracy < 0:
        problems.append(Problem("location.accuracy_m", "accuracy_negative", {"value": accuracy}))
    return lat, lon, accuracy, altitude


def _location_manual(raw: Any, problems: list[Problem]) -> bool:
    """Whether the point was placed by hand (`location.manual`, a JSON boolean)."""
    if not isinstance(raw, dict) or raw.get("manual") is None:
        return False
    if type(raw["manual"]) is not bool:
        problems.append(Problem("location.manual", "wrong_type", {"expected": "true/false"}))
        return False
    return bool(raw["manual"])


def _manual_points(raw: Any, problems: list[Problem]) -> list[str]:
    """The geopoint answers the volunteer placed by hand (`manual_points`, a list of answer
    names), sorted and each once; [] when none."""
    if raw is None:
        return []
    if (
        not isinstance(raw, list)
        or len(raw) > MAX_MANUAL_POINTS
        or not all(type(item) is str and 0 < len(item) <= 200 for item in raw)
    ):
        problems.append(Problem("manual_points", "wrong_type", {"expected": "[answer names]"}))
        return []
    return sorted(set(raw))


def _point_answered(answers: dict[str, Any], path: str, names: Container[str]) -> bool:
    """Whether `path` (`name`, or `repeat[n]/name` inside repeats) is an answer of one of the
    geopoint questions `names` in the normalised `answers`."""
    *steps, name = path.split("/")
    scope: Any = answers
    for step in steps:
        match = _REPEAT_STEP.fullmatch(step)
        items = scope.get(match[1]) if match is not None else None
        index = int(match[2]) - 1 if match is not None else 0
        if not isinstance(items, list) or index >= len(items) or not isinstance(items[index], dict):
            return False
        scope = items[index]
    value = scope.get(name)
    return name in names and isinstance(value, str) and bool(value.strip())


def parse_time(text: str) -> datetime:
    """An ISO 8601 time, Vietnam time when it has no offset (phones here are on Vietnam
    time); ValueError when it is no time, or none a database can hold once moved to UTC
    (`9999-12-31T23:59-14:00` is past the last representable instant)."""
    return _parse_time(text)[0]


def _parse_time(text: str) -> tuple[datetime, datetime]:
    """parse_time's value, and the same instant in UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=VIETNAM_TIME)
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(str(exc)) from exc
    return value, utc


def _timestamp(raw: Any, where: str, problems: list[Problem]) -> tuple[datetime, datetime] | None:
    """A phone's ISO 8601 time and the same in UTC, or a problem."""
    try:
        if not isinstance(raw, str) or len(raw) > 40:
            raise ValueError
        return _parse_time(raw)
    except ValueError:
        problems.append(Problem(where, "invalid_datetime"))
        return None


def _collected_at(raw: Any, now: datetime, problems: list[Problem]) -> tuple[datetime, datetime]:
    """The collection time as sent and in UTC (`now` for both when missing or invalid).

    Compared in UTC: two datetimes with different offsets take ~0.5 µs to compare, the same
    offset ~20 ns; the verdicts are the same (aware datetimes compare as instants)."""
    if raw is None:
        problems.append(Problem("collected_at", "missing"))
        return now, now
    parsed = _timestamp(raw, "collected_at", problems)
    if parsed is None:
        return now, now
    return parsed


def _plausible(moment: datetime, now: datetime) -> bool:
    """Whether a time (UTC) can be a survey's collection time."""
    return EARLIEST_COLLECTION <= moment <= now + LATEST_COLLECTION


def _time_of_wrong_clock(raw: dict[str, Any], collected_utc: datetime, now: datetime) -> datetime:
    """The collection time of a survey whose phone clock was far off: moved by the clock's
    error measured when it was sent (`sent_at` against our time), when that gives a
    plausible time no later than now; else the time it arrived."""
    sent = _timestamp(raw.get("sent_at"), "sent_at", []) if raw.get("sent_at") else None
    if sent is not None:
        try:
            corrected = collected_utc + (now - sent[1])
        except OverflowError:
            return now
        if EARLIEST_COLLECTION <= corrected <= now:
            return corrected
    return now


def _clock_skewed(
    raw: dict[str, Any],
    collected_utc: datetime,
    now: datetime,
    tolerance: timedelta,
    problems: list[Problem],
) -> bool:
    """Whether the phone's clock is off: its time at sending (`sent_at`) against ours, or,
    without it, a survey collected in the future."""
    if raw.get("sent_at") is not None:
        sent_at = _timestamp(raw["sent_at"], "sent_at", problems)
        return sent_at is not None and abs(sent_at[1] - now) > tolerance
    return collected_utc > now + tolerance


def item_problems(raw: Any) -> list[Problem]:
    """Values no survey can hold, anywhere in it: too deep or too many nested values, text
    PostgreSQL cannot store (NUL) or UTF-8 cannot encode (a lone surrogate).

    Checked first so that one such survey is reported on its own and never reaches the
    hashing, the database or an error message.
    """
    # The usual survey has none of these: orjson writes it (it refuses a lone surrogate and
    # nesting past 254 levels) without a NUL escape. A few microseconds instead of a walk in
    # Python over every value (~30 us); the walk below then names what is wrong. Nesting
    # under 254 levels that passes here is refused by the answer check (no answer nests).
    try:
        if b"\\u0000" not in orjson.dumps(raw):
            return []
    except (TypeError, orjson.JSONEncodeError):
        pass
    problems: list[Problem] = []
    nodes = 0
    stack: list[tuple[Any, str, int]] = [(raw, "", 0)]
    while stack and len(problems) < 10:
        value, where, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            problems.append(Problem(where, "too_many_values", {"max": MAX_NODES}))
            break
        if type(value) is str:
            problems.extend(_text_problems(value, where))
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                problems.append(Problem(where, "too_deep", {"max": MAX_DEPTH}))
                continue
            if nodes + len(stack) + len(value) > MAX_NODES:
                # Counted before a child is stacked: a list of a million zeros was walked
                # (a path made for each) before the count stopped it, ~0.4 s on the loop.
                problems.append(Problem(where, "too_many_values", {"max": MAX_NODES}))
                break
            if isinstance(value, dict):
                for key, child in value.items():
                    key_problems = _text_problems(key, where)
                    problems.extend(key_problems)
                    path = f"{where}.{key}" if where else key
                    stack.append((child, where if key_problems else path, depth + 1))
            else:
                stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(value))
    return problems


def all_clean(items: list[Any]) -> bool:
    """Whether item_problems finds nothing in any of the items: its fast path, once for a
    whole batch (one write of 500 surveys costs less than 500 writes of one)."""
    try:
        return b"\\u0000" not in orjson.dumps(items)
    except (TypeError, orjson.JSONEncodeError):
        return False


def _text_problems(value: str, where: str) -> list[Problem]:
    if "\x00" in value:
        return [Problem(where, "nul_character")]
    if value.isascii():
        return []
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return [Problem(where, "invalid_unicode")]
    return []


def _short_text(
    raw: dict[str, Any], key: str, problems: list[Problem], limit: int = 64
) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(key, "wrong_type", {"expected": "text"}))
        return None
    if len(value) > limit:
        problems.append(Problem(key, "text_too_long", {"max": limit}))
        return None
    return value.strip()


# A survey id as phones write it (crypto.randomUUID(): lowercase, with hyphens), whose
# str(UUID(...)) is itself; anything else goes through uuid.UUID (braces, urn:uuid:, capitals).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _survey_id(value: Any) -> tuple[uuid.UUID, str]:
    """A survey id and its canonical text; ValueError when it is no UUID.

    The usual (canonical) id is built without uuid.UUID's parsing and formatting (~3 µs of
    the ~30 of checking a survey), as UUID.__init__ builds it: the same object."""
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        made = object.__new__(uuid.UUID)
        object.__setattr__(made, "int", int(value.replace("-", ""), 16))
        object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
        return made, value
    parsed = uuid.UUID(str(value))
    return parsed, str(parsed)


def _hashed_location(
    lat: float | None,
    lon: float | None,
    accuracy: float | None,
    altitude: float | None,
    manual: bool,
) -> list[float | bool | None]:
    """The location as hashed; `manual` only when true, so that the hash of every survey
    stored before the flag existed stays the same."""
    location: list[float | bool | None] = [lat, lon, accuracy, altitude]
    if manual:
        location.append(True)
    return location


def _content_hash(
    form_id: str,
    form_version: str,
    collected_at: datetime,
    collector: str | None,
    city: str | None,
    location: list[float | bool | None],
    answers: dict[str, Any],
    manual_points: list[str],
) -> str:
    canonical: dict[str, Any] = {
        "form_id": form_id,
        "form_version": form_version,
        # orjson writes a UTC datetime as the JSON string of its isoformat() (tested in
        # tests/unit/test_intake.py), at a sixth of the cost.
        "collected_at": collected_at.astimezone(UTC),
        "collector": collector,
        "city": city,
        "location": location,
        "answers": answers,
    }
    if manual_points:  # only then: the hash of every survey stored before stays the same
        canonical["manual_points"] = manual_points
    digest = _SHA256.copy()  # hashlib.sha256() looks its algorithm up each time (~1 µs)
    digest.update(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


_SHA256 = hashlib.sha256()


LATE_UPLOAD = "late_upload"
# The flags prepare_submission writes before `late_upload`, when it writes it.
_FLAGS_BEFORE_LATE = frozenset({"low_gps_accuracy", "clock_skew"})


def with_lateness(flags: list[str], late: bool) -> list[str]:
    """Intake's flags with `late_upload` when `late`, without it otherwise, in the place
    prepare_submission gives it."""
    kept = [flag for flag in flags if flag != LATE_UPLOAD]
    if late:
        kept.insert(sum(flag in _FLAGS_BEFORE_LATE for flag in kept), LATE_UPLOAD)
    return kept


def prepare_submission(
    raw: Any,
    forms: FormRegistry,
    now: datetime,
    *,
    future_tolerance: timedelta = timedelta(minutes=10),
    low_accuracy_m: float = 20.0,
    known_cities: Container[str] | None = None,
    quality: QualityRules = NO_RULES,
    late_after: timedelta | None = None,
    clean: bool = False,
    evaluated_at: datetime | None = None,
) -> tuple[PreparedSubmission | None, list[Problem]]:
    """Validate one submission; return it normalised, or the problems naming each bad field.

    `known_cities` holds the slugs a survey's `city` may name (None: not checked here).
    Flags (for the reviewer, never a refusal): GPS accuracy worse than `low_accuracy_m`, a
    phone clock off, sent more than `late_after` after it was collected, answers that break
    a quality rule. `clean`: item_problems(raw) is known to be empty (all_clean, checked
    once for a whole batch).

    The form's expressions (`today()`, `now()`) read the time the phone last finished the
    survey, when it sends one (`finished_at`: reopened and finished again, possibly after
    midnight, though `collected_at` stays the first finish), as the phone's verdict was
    given then; else `evaluated_at`: None for a survey sent for the first time, whose
    expressions read its collection time (the verdict the phone gave when it was finished,
    however late it is sent); a correction's own time (the request's) for a correction,
    which the phone checks on its clock while it is edited.
    """
    if not isinstance(raw, dict):
        return None, [Problem("", "wrong_type", {"expected": "object"})]
    problems = [] if clean else item_problems(raw)
    if problems:
        return None, problems
    for key in () if TOP_LEVEL_KEYS.issuperset(raw) else raw:
        if key not in TOP_LEVEL_KEYS:
            problems.append(Problem(key, "unknown_field", {"name": key}))
    submission_id: uuid.UUID | None = None
    key = ""
    if raw.get("id") is None:
        problems.append(Problem("id", "missing"))
    else:
        try:
            submission_id, key = _survey_id(raw["id"])
        except ValueError:
            problems.append(Problem("id", "invalid_uuid"))
    form_id = _short_text(raw, "form_id", problems)
    if raw.get("form_id") is None:  # left out or null (null read as no problem at all)
        problems.append(Problem("form_id", "missing"))
    version = raw.get("form_version")
    version = str(version) if isinstance(version, int | str) and str(version) else None
    collected_at, collected_utc = _collected_at(raw.get("collected_at"), now, problems)
    finished = raw.get("finished_at")
    finished_at = _timestamp(finished, "finished_at", problems) if finished is not None else None
    clock_skew = _clock_skewed(raw, collected_utc, now, future_tolerance, problems)
    stored_at = collected_at
    if not _plausible(collected_utc, now):
        clock_skew = True
        stored_at = _time_of_wrong_clock(raw, collected_utc, now)
    collector = _short_text(raw, "collector", problems)
    city = _short_text(raw, "city", problems)
    raw_location = raw.get("location")
    lat: float | None = None
    lon: float | None = None
    accuracy: float | None = None
    altitude: float | None = None
    if raw_location is not None:
        lat, lon, accuracy, altitude = _location(raw_location, problems)
    manual = _location_manual(raw.get("location"), problems)
    manual_points = _manual_points(raw.get("manual_points"), problems)
    answers = raw.get("answers")
    if not isinstance(answers, dict):
        problems.append(
            Problem(
                "answers", "missing" if answers is None else "wrong_type", {"expected": "object"}
            )
        )
        answers = {}

    form = None
    if form_id is not None:
        try:
            form = forms.get(form_id, version)
        except UnknownForm as exc:
            field = "form_version" if exc.code == "unknown_form_version" else "form_id"
            problems.append(Problem(field, exc.code, exc.params))
    normalised: dict[str, Any] = {}
    answer_problems: list[Problem] = []
    if form is not None:
        point_question = form.geopoint_question
        # The survey's location travels beside the answers and is the form's geopoint (a bad
        # location is reported above, as location.*); it is stored as the geometry.
        given = None
        if point_question is not None and lat is not None:
            compiled = form.compiled
            if compiled.flat is not None and point_question.name not in compiled.flat_reads:
                # Read by no expression (and dropped below): its text (~1 µs) is not needed.
                given = {point_question.name: ""}
            else:
                given = {point_question.name: f"{lat} {lon} {altitude or 0} {accuracy or 0}"}
        normalised, answer_problems = validate_answers(
            form,
            answers,
            given=given,
            now=finished_at[0] if finished_at else evaluated_at or collected_at,
        )
        if point_question is not None:
            normalised.pop(point_question.name, None)
        if manual_points:
            # The location's own mark is `location.manual`: its name here answers nothing.
            points = {q.name for q in form.all_questions if q.type == "geopoint"}
            answer_problems.extend(
                Problem("manual_points", "manual_point_unknown", {"name": path})
                for path in manual_points
                if not _point_answered(normalised, path, points)
            )
    if raw_location is None and (form is None or form.geopoint_question is not None):
        # Only a form without a geopoint question takes a survey without a location. One
        # whose geopoint was sent among the answers and refused there (ODK Collect's, not a
        # point) is told that, not also that its location is missing.
        point = form.geopoint_question if form is not None else None
        sent_and_refused = (
            point is not None
            and point.name in answers
            and any(problem.field == f"answers.{point.name}" for problem in answer_problems)
        )
        if not sent_and_refused:
            problems.append(Problem("location", "missing", {"expected": "{lat, lon}"}))
    problems.extend(answer_problems)
    if city is not None and known_cities is not None and city not in known_cities:
        problems.append(Problem("city", "unknown_city", {"city": city}))
    if problems or submission_id is None or form is None:
        return None, problems
    flags = []
    if accuracy is not None and accuracy > low_accuracy_m:
        flags.append("low_gps_accuracy")
    if clock_skew:
        flags.append("clock_skew")
    elif late_after is not None and now - collected_utc > late_after:
        flags.append(LATE_UPLOAD)
    if quality.broken(form.form_id, normalised):
        flags.append("contradiction")
    shape = None
    shape_question = form.shape_question
    if shape_question is not None and normalised.get(shape_question.name):
        # Checked by validate_answers (refused when it is no polygon), read there already.
        area = read_geoshape(normalised[shape_question.name])
        shape = area.wkt
        if area.self_intersects:
            flags.append("shape_self_intersects")
    location = _hashed_location(lat, lon, accuracy, altitude, manual)
    digest = _content_hash(
        form.form_id,
        form.version,
        collected_utc,
        collector,
        city,
        location,
        normalised,
        manual_points,
    )
    prepared = PreparedSubmission(
        id=submission_id,
        form_id=form.form_id,
        form_version=form.version,
        collected_at=stored_at,
        collector=collector,
        city=city,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        altitude_m=altitude,
        answers=normalised,
        flags=flags,
        content_hash=digest,
        location_manual=manual,
        manual_points=manual_points,
        shape=shape,
        key=key,
    )
    return prepared, []
