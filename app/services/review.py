"""Use case: review surveys (approve, send back, reject), corrections, and their history.

States: received -> approved | needs_correction (with a comment the volunteer sees on the
phone) | rejected (with a reason); a correction sends the survey back to received. A reviewer
may change a decision later (an error found after approval); every change is on record in
the audit log, and a correction keeps the content it replaces as an earlier version.
"""

from __future__ import annotations

import dataclasses
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import accounts as audit_queries
from app.db import places as place_queries
from app.db import review_stats
from app.db import submissions as queries
from app.db.engine import driver_in_transaction, snapshot
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from app.forms.registry import FormRegistry
from app.i18n import translate
from app.services.access import Principal
from app.services.intake import LATE_UPLOAD, PreparedSubmission, with_lateness
from app.services.submissions import redact, submission_row

Decision = Literal["approved", "needs_correction", "rejected"]
DECISIONS: tuple[Decision, ...] = ("approved", "needs_correction", "rejected")
# A survey's review status: waiting for review, or a decision.
STATUSES: tuple[str, ...] = ("received", *DECISIONS)
MAX_COMMENT = 1000


class DecidedMeanwhile(Conflict):
    """Conflict `review_status_changed`: the survey is no longer in the status the reviewer
    was shown. `decided_by_you` when its decision now is the reviewer's own: a tap of theirs
    whose answer was lost (a timeout, the network dropped after the server stored it) and
    which the page made usable again. Said as such, not as someone else's decision; the
    refusal carries nothing the reviewer may not read (the survey's status, and whether the
    decision is theirs, never who else took it)."""

    def __init__(
        self, survey_id: uuid.UUID, status: str, seen: str, *, decided_by_you: bool
    ) -> None:
        super().__init__("review_status_changed", id=str(survey_id), status=status, seen=seen)
        self.decided_by_you = decided_by_you

    def message(self, language: str) -> str:
        """The message in the given language: the reviewer's own decision said as theirs."""
        code = "review_status_changed_yours" if self.decided_by_you else self.code
        return translate(code, language, **self.params)

    def fields(self) -> dict[str, Any]:
        """What the refusal's body tells a client besides its message."""
        return {
            "status": self.params["status"],
            "seen": self.params["seen"],
            "decided_by_you": self.decided_by_you,
        }


def _readable(text_: str) -> bool:
    """Whether a comment shows anything: not only spaces and invisible marks (zero-width
    spaces and joiners, direction marks: Unicode's format characters)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text_)


def _comment(decision: str, comment: Any) -> str | None:
    """The reviewer's comment: required to send back or reject (the volunteer reads it)."""
    problems = []
    if decision not in DECISIONS:
        problems.append(
            Problem(
                "decision", "invalid_choice", {"value": decision, "allowed": ", ".join(DECISIONS)}
            )
        )
    if comment is not None and not isinstance(comment, str):
        problems.append(Problem("comment", "not_text"))
        comment = None
    text_ = (comment or "").strip()
    if len(text_) > MAX_COMMENT:
        problems.append(Problem("comment", "text_too_long", {"max": MAX_COMMENT}))
    if "\x00" in text_:
        problems.append(Problem("comment", "nul_character"))
    if decision in ("needs_correction", "rejected") and not _readable(text_):
        problems.append(Problem("comment", "comment_required"))
    if problems:
        raise InvalidInput(problems)
    return text_ or None


async def review(
    engine: AsyncEngine,
    reviewer: Principal,
    survey_id: uuid.UUID,
    decision: str,
    comment: Any = None,
    version: int | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Record a decision on one survey; the same decision again changes nothing. Conflict
    (`own_survey`) for a survey the reviewer collected, whatever their role: another leader
    or the city's admin reviews it (four eyes).

    A decision may name the survey as the reviewer was shown it, and nothing changes when
    the survey is no longer so: `version`, Conflict (`review_version_changed`) when it is
    at another (its volunteer corrected it meanwhile); `status`, Conflict
    (`review_status_changed`, DecidedMeanwhile) when it is in another (someone decided it
    meanwhile, or the reviewer did in a tap whose answer was lost: it says which). A
    decision naming a version and no status was taken on the survey waiting for review
    (`received`), as a bulk approval's surveys seen are: a decision does not change the
    version, so the version alone did not tell that another reviewer had decided. The
    status is not compared when the survey is already as the decision would leave it (a
    retry after a lost answer: nothing changes)."""
    text_ = _comment(decision, comment)
    seen_status = status if status is not None else "received" if version is not None else None
    async with engine.begin() as connection:
        raw = await driver_in_transaction(connection)
        current = await queries.lock_for_change(raw, survey_id)
        if current is None or not reviewer.can_read_survey(current):
            raise NotFound("survey_not_found", id=str(survey_id))
        if not reviewer.can_review(current):
            raise Forbidden("not_allowed")
        if reviewer.collected(current):
            raise Conflict("own_survey", id=str(survey_id))
        if version is not None and version != current["version"]:
            raise Conflict(
                "review_version_changed",
                id=str(survey_id),
                version=version,
                current=current["version"],
            )
        old = {"status": current["status"], "comment": current["review_comment"]}
        new = {"status": decision, "comment": text_}
        if seen_status is not None and seen_status != current["status"] and old != new:
            raise DecidedMeanwhile(
                survey_id,
                current["status"],
                seen_status,
                decided_by_you=current["reviewed_by"] == reviewer.user_id,
            )
        if old != new:
            await queries.set_review(raw, survey_id, decision, text_, reviewer.user_id)
            await audit_queries.audit(
                connection,
                actor_id=reviewer.user_id,
                actor=reviewer.username,
                action="survey.review",
                entity="survey",
                entity_id=str(survey_id),
                old=old,
                new=new,
            )
    return {"id": str(survey_id), "status": decision, "review_comment": text_}


async def approve_settlement(
    engine: AsyncEngine,
    reviewer: Principal,
    settlement_id: int,
    only_unflagged: bool = False,
    ward_id: int | None = None,
    seen: dict[uuid.UUID, int] | None = None,
) -> dict[str, Any]:
    """Approve the received surveys of a settlement that the reviewer may review one by one
    (a ward leader those of their wards, a city admin all), each decision on record;
    `only_unflagged` leaves flagged surveys for a closer look, `ward_id` takes only that
    ward's (what its review page counted).

    `seen` (version by survey id) limits the approval to what the reviewer was shown: those
    of them still at that version and waiting (still in this settlement, ward, without
    flags when asked). The others are left as they are and counted apart (`changed`, their
    ids in `changed_ids`: corrected since, decided by someone else, or not of this
    settlement or this reviewer).

    The reviewer's own surveys (they collected them) are never approved by them, whatever
    their role: those that would have been are left waiting and counted apart (`own`, their
    ids in `own_ids`; not in `changed`) for another leader or the city's admin.

    A settlement may straddle wards and each survey is in the ward of its own point: the
    leader of a ward holding some of its surveys approves those, whichever ward the
    settlement is drawn in. NotFound for a settlement the reviewer cannot read (nor holding
    a survey of their wards) and for a ward they may not review, Forbidden for a settlement
    they read but may not review (a planner), as for one survey."""
    async with engine.begin() as connection:
        place = await place_queries.settlement_by_id(connection, settlement_id)
        led = reviewer.wards_as("ward_leader")
        if place is not None and led:
            led &= await review_stats.settlement_survey_wards(connection, settlement_id)
        if place is None or not (reviewer.can_read_area(place["city_id"], place["ward_id"]) or led):
            raise NotFound("settlement_not_found", id=settlement_id)
        if not (reviewer.can_review(place) or led):
            raise Forbidden("not_allowed")
        if ward_id is not None:
            ward = await place_queries.ward_by_id(connection, ward_id)
            if ward is None or not reviewer.can_review(
                {"city_id": ward["city_id"], "ward_id": ward_id}
            ):
                raise NotFound("ward_not_found", id=ward_id)
        approved, own = await queries.approve_received_ids(
            connection,
            settlement_id,
            reviewer.user_id,
            reviewer.username,
            only_unflagged,
            scope=reviewer.review_filter(),
            ward_id=ward_id,
            seen=seen,
        )
    taken = set(approved) | set(own)
    changed = sorted(str(survey_id) for survey_id in seen or {} if str(survey_id) not in taken)
    return {
        "settlement_id": settlement_id,
        "approved": len(approved),
        "changed": len(changed),
        "changed_ids": changed,
        "own": len(own),
        "own_ids": sorted(own),
    }


async def correct(
    engine: AsyncEngine,
    collector: Principal,
    survey_id: uuid.UUID,
    prepared: PreparedSubmission,
    claim: Callable[[Any], Awaitable[None]] | None = None,
    base_version: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """A volunteer's correction of their own survey, until it is approved or rejected:
    ("unchanged" | "corrected", the stored record). The content it replaces is kept.

    A survey sent back and sent again with the same content is "corrected" too: the
    volunteer checked it and confirms it, so it waits for review again, on record and as a
    new version (the earlier one kept with the same content and the comment it answered),
    so that a retry of the confirmation names an older version; otherwise the same content
    again (a resend after a lost answer) is "unchanged" and changes nothing. NotFound for a
    survey the person cannot read, Forbidden for one they read but did not collect (a
    reviewer sends it back instead), Conflict for their own reviewed survey or a correction
    in another form than the survey's.

    `base_version` is the version the correction was made on (the one the phone last
    synced), when the client names it. Older than the survey's version, the correction was
    taken before: with the content the survey has now it is a resend ("unchanged", even
    if the reviewer sent the survey back again since: a retry must not undo that), with
    other content a Conflict (`correction_outdated`: the survey changed since the phone
    saw it). Newer than the survey's, a Conflict (`correction_version_unknown`). Equal, or
    not named (other clients, older phones, ODK edits), the rules above.

    `claim` runs in the same transaction (on its asyncpg connection) once the survey is
    locked and found correctable, before anything changes: what it writes is kept with the
    correction, and what it raises leaves everything as it was (an ODK edit's instanceID).

    A survey's lateness (`late_upload`) is about its first sending: the correction keeps the
    flag as the survey has it, and never adds it (`prepared`'s own is not read)."""
    if prepared.id != survey_id:
        raise InvalidInput([Problem("id", "id_mismatch", {"id": str(survey_id)})])
    async with engine.begin() as connection:
        raw = await driver_in_transaction(connection)
        # Placed again below, by boundaries no import may change until this commits (an
        # import waits for it, or it for the import): taken before the survey's lock.
        await queries.hold_boundaries(raw)
        current = await queries.lock_for_change(raw, survey_id)
        if current is None or not collector.can_read_survey(current):
            raise NotFound("survey_not_found", id=str(survey_id))
        if current["collector_user_id"] != collector.user_id:
            raise Forbidden("not_collector")
        # A correction is of the survey's own form (another version of it may be newer): an
        # ODK edit naming another form's survey would have turned it into that form.
        if current["form_id"] != prepared.form_id:
            raise Conflict(
                "correction_other_form",
                id=str(survey_id),
                form=current["form_id"],
                sent=prepared.form_id,
            )
        same = current["content_hash"] == prepared.content_hash
        if base_version is not None and base_version > current["version"]:
            raise Conflict(
                "correction_version_unknown",
                id=str(survey_id),
                version=base_version,
                current=current["version"],
            )
        # Made on an earlier version: this correction (or another) was taken since.
        taken_before = base_version is not None and base_version < current["version"]
        if same and (taken_before or current["status"] != "needs_correction"):
            outcome = "unchanged"
        elif not collector.can_correct(current):
            raise Conflict("not_correctable", status=current["status"])
        elif taken_before:
            raise Conflict(
                "correction_outdated",
                id=str(survey_id),
                version=base_version,
                current=current["version"],
            )
        else:
            outcome = "corrected"
        if claim is not None:
            await claim(raw)
        if outcome == "corrected":
            # A confirmation is a new version too (the same content, the status and comment
            # it answered kept with the earlier one): a retry of it names an older version.
            await queries.keep_version(raw, current, collector.user_id)
            if same:
                await queries.resubmit(raw, survey_id)
            else:
                late = LATE_UPLOAD in (current["flags"] or ())
                kept = dataclasses.replace(prepared, flags=with_lateness(prepared.flags, late))
                await queries.replace_content(
                    raw,
                    submission_row(kept, current["collector_user_id"], collector.assignment()),
                )
            version = current["version"] + 1
            await audit_queries.audit(
                connection,
                actor_id=collector.user_id,
                actor=collector.username,
                action="survey.correct",
                entity="survey",
                entity_id=str(survey_id),
                old={"version": current["version"], "status": current["status"]},
                new={"version": version, "status": "received"},
            )
        records = await queries.fetch_records(connection, [survey_id], with_answers=True)
    return outcome, records[str(survey_id)]


# What a survey's audit entry may hold that is personal: a reviewer's comment is free text
# about the household, a file's name may be a photo's.
_PERSONAL_IN_CHANGES = frozenset({"comment", "file"})


def _without_personal(change: dict[str, Any]) -> dict[str, Any]:
    """An audit entry of a survey without the reviewer's comment (and a file's name) in its
    old and new values."""
    out = dict(change)
    for key in ("old", "new"):
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k not in _PERSONAL_IN_CHANGES}
    return out


async def history(
    engine: AsyncEngine, forms: FormRegistry, reader: Principal, survey_id: uuid.UUID
) -> dict[str, Any]:
    """Who changed the survey, when and how; its earlier versions (personal answers only
    for those who may see them)."""
    # One snapshot: a review or a correction committed between the reads would otherwise
    # show a status beside changes (or earlier versions) of another moment.
    async with snapshot(engine) as connection:
        records = await queries.fetch_records(connection, [survey_id])
        record = records.get(str(survey_id))
        if record is None or not reader.can_read_survey(record):
            raise NotFound("survey_not_found", id=str(survey_id))
        changes = await audit_queries.history(connection, "survey", str(survey_id))
        earlier = await queries.versions(connection, survey_id)
    # A reviewer's comment is free text about the household ("Chị Hoa, 0912..., wrong name"):
    # personal, as the answers are.
    personal = reader.can_see_personal(record)
    if not personal:
        changes = [_without_personal(change) for change in changes]
    shown = []
    for version in earlier:
        content = dict(version["content"])
        # Redacted as the survey is (its place and collector decide), by the form the
        # earlier version was written in.
        as_record = {
            **record,
            "form_id": content.get("form_id"),
            "form_version": content.get("form_version"),
            "answers": content.get("answers") or {},
        }
        content["answers"] = redact(as_record, forms, reader)["answers"]
        if not personal:
            content.pop("review_comment", None)
        shown.append(
            {
                "version": version["version"],
                "replaced_at": version["replaced_at"],
                "content_hash": version["content_hash"],
                "content": content,
            }
        )
    return {
        "id": str(survey_id),
        "version": record["version"],
        "status": record["status"],
        "changes": changes,
        "versions": shown,
    }


async def own_surveys(
    engine: AsyncEngine,
    collector: Principal,
    since: datetime | None,
    limit: int = 500,
    after: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """A volunteer's surveys changed since a time (after a survey changed at that very time,
    for the next page): what the phone shows of their review."""
    async with engine.connect() as connection:
        return await queries.own_changes(connection, collector.user_id, since, limit, after)


async def reviewable_wards(engine: AsyncEngine, reviewer: Principal) -> list[dict[str, Any]]:
    """The wards whose surveys this person may review: a ward leader's wards, every ward of a
    city admin's cities (of every city for a national admin)."""
    wards = reviewer.wards_as("ward_leader")
    cities = reviewer.cities_as("city_admin")
    if not (reviewer.is_national_admin or wards or cities):
        return []
    async with engine.connect() as connection:
        return await review_stats.wards_in(connection, reviewer.is_national_admin, wards, cities)


async def ward_review_counts(
    engine: AsyncEngine, reader: Principal, ward_id: int
) -> dict[str, Any]:
    """A ward's surveys by review status per volunteer (with their flags) and per settlement
    (what a bulk approval would take, and of it the reader's own, which it leaves), for those
    who may read the ward's surveys."""
    async with engine.connect() as connection:
        ward = await place_queries.ward_by_id(connection, ward_id)
        if ward is None or not reader.can_read_ward(ward["city_id"], ward_id):
            raise NotFound("ward_not_found", id=ward_id)
        volunteers = await review_stats.volunteer_counts(connection, ward_id)
        settlements = await review_stats.settlement_counts(connection, ward_id, reader.user_id)
        unplaced = await review_stats.unplaced_received(connection, ward_id)
    return {
        "ward": {"id": ward["id"], "code": ward["code"], "name": ward["name"]},
        "volunteers": [
            {
                "name": row["display_name"] or row["collector"] or "",
                "username": row["username"],
                **{
                    key: row[key]
                    for key in (
                        "total",
                        "received",
                        "approved",
                        "needs_correction",
                        "rejected",
                        "flagged",
                        "flags",
                    )
                },
            }
            for row in volunteers
        ],
        "settlements": settlements,
        "received_outside_settlements": unplaced,
    }
