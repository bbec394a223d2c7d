// The treasurer's meeting and the server: its opening, records and close sent through the
// meetings API, and the server's books for it read back (docs/cdf.md, "Treasurer"). What is
// kept on the phone, and how, is treasurer_sheet.js's; this sends it and takes the answers.

import * as auth from "./auth.js";
import { tt } from "./treasurer_i18n.js";
import { isRecord, same, saveMeeting, takeServerClose } from "./treasurer_sheet.js";

/** The server's books for the meeting (GET /api/v1/cdf/meetings/{id}) with `token`: its
 * JSON, or null when the answer is not the server's (no network, a captive portal's page);
 * throws SessionChanged once the phone's session is no longer `token`'s. */
export async function readMeeting(meeting, token) {
  let response;
  try {
    response = await auth.apiAs(token, `/api/v1/cdf/meetings/${encodeURIComponent(meeting.id)}`, {
      headers: { accept: "application/json" },
    });
  } catch (error) {
    if (error instanceof auth.SessionChanged) throw error;
    return null;
  }
  const body = await bodyOf(response);
  const ok = response.ok && !response.redirected && String(body.id) === meeting.id
    && (body.status === "open" || body.status === "closed")
    && Number.isSafeInteger(body.cash_in_books) && Array.isArray(body.record_ids);
  return ok ? body : null;
}

/**
 * Bring the meeting up to the server's books (readMeeting): while open, the cash they hold
 * and the ids of every phone's records (`books`); closed by another phone, that close
 * (takeServerClose). Resolves with "open", "closed" or null (no answer of the server's).
 */
export async function refreshBooks(meeting, token) {
  if (!meeting.opened || meeting.closed) return null;
  const id = meeting.id;
  const seen = await readMeeting(meeting, token);
  if (!seen || meeting.closed || meeting.id !== id) return null;
  if (seen.status === "closed") {
    takeServerClose(meeting, seen);
    await saveMeeting(meeting);
    return "closed";
  }
  meeting.books = {
    cash: seen.cash_in_books,
    meeting_cash: Number.isSafeInteger(seen.cash_of_meeting) ? seen.cash_of_meeting : null,
    record_ids: seen.record_ids.map(String),
    at: new Date().toISOString(),
  };
  await saveMeeting(meeting);
  return "open";
}

// ---------------------------------------------------------------- sync

/** POST with the token the sync started with (SessionChanged once it is not the phone's). */
async function postJson(token, url, body) {
  return auth.apiAs(token, url, {
    method: "POST", headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
}

/** The sync stops here when the phone's session is no longer the one it started with: what
 * it has not taken for sending stays as it is (editable) for its treasurer. */
function stillSignedIn(token) {
  if (auth.session()?.token !== token) throw new auth.SessionChanged();
}

function messageOf(result) {
  if (result.problems?.length) return result.problems.map((p) => p.message ?? p.code).join("; ");
  return result.error?.detail ?? result.outcome;
}

async function bodyOf(response) {
  const body = await response.json().catch(() => ({}));
  return body !== null && typeof body === "object" ? body : {};
}

// The order of a batch by kind (stable within a kind): deposits 0, then these.
const SEND_ORDER = { withdrawal: 1, remittance: 2 };

// Answers that say "not now" rather than "no" (as the survey outbox's, sync.js): a request
// timeout, too early, too many requests.
const TRANSIENT = new Set([408, 425, 429]);

/** True when `response` is a refusal by our server: a 4xx with its JSON error body (a `code`,
 * app/api/errors.py), not redirected. Anything else that is not the answer asked for (a 5xx,
 * a proxy's 502-504, a captive portal's HTML page, an empty 200) is sent again later. */
function refusedByServer(response, body) {
  return !response.redirected && response.status >= 400 && response.status < 500
    && !TRANSIENT.has(response.status) && typeof body.code === "string" && body.code !== "";
}

/** True when `body` is the server's answer to the opening or the close of `meeting`: a
 * middlebox's 200 (a captive portal's page, a proxy's empty answer) is none, and the meeting
 * stays unsent on the phone. */
function meetingAnswer(response, body, meeting) {
  return response.ok && !response.redirected
    && (body.outcome === "created" || body.outcome === "duplicate")
    && body.meeting !== null && typeof body.meeting === "object"
    && String(body.meeting.id ?? meeting.id) === meeting.id;
}

/** What is said of an answer that is not the one asked for. */
function failureOf(response, body) {
  if (refusedByServer(response, body) || (!response.redirected && typeof body.detail === "string" && body.detail)) {
    return body.detail || String(response.status);
  }
  return tt("bad_answer", { status: response.status });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `body` is the server's answer that the group's meeting of the day was opened by
 * another phone and is still open ("joined"): that meeting, the one this phone records into. */
function joinedAnswer(response, body, meeting) {
  return response.ok && !response.redirected && body.outcome === "joined"
    && body.meeting !== null && typeof body.meeting === "object"
    && typeof body.meeting.id === "string" && UUID.test(body.meeting.id)
    && String(body.meeting.group_id) === String(meeting.group_id)
    && String(body.meeting.held_on) === meeting.date && body.meeting.status === "open";
}

/** The meeting's opening on the server (idempotent on its id): true once the server has it.
 * When another phone opened the group's meeting of the day first, this meeting takes the
 * server's id: what it holds is sent there. */
async function openOnServer(meeting, token, outcome) {
  const response = await postJson(token, `/api/v1/cdf/groups/${meeting.group_id}/meetings`, {
    id: meeting.id, date: meeting.date,
  });
  const body = await bodyOf(response);
  if (joinedAnswer(response, body, meeting)) {
    // No record left under the id made here (records go once the opening is answered; a
    // batch to a meeting the server does not have posts nothing): every one goes, with its
    // own id, to the meeting the server holds.
    meeting.joined_from = meeting.id;
    meeting.id = body.meeting.id;
    meeting.opened = true;
    meeting.open_error = null;
    await saveMeeting(meeting);
    return true;
  }
  if (!meetingAnswer(response, body, meeting)) {
    outcome.error = failureOf(response, body);
    outcome.retry = !refusedByServer(response, body);
    meeting.open_error = outcome.error;
    await saveMeeting(meeting);
    return false;
  }
  meeting.opened = true;
  meeting.open_error = null;
  await saveMeeting(meeting);
  return true;
}

/** The server says the meeting is not there (never opened, though the phone thought so). */
function meetingMissing(response, body) {
  return response.status === 404 && !response.redirected
    && (body.code === "not_found" || body.code === "cdf_meeting_not_found");
}

/**
 * Send the meeting's records waiting (one batch). Resolves with "done" (answered, each record
 * with its outcome), "missing" (the server has no such meeting) or "failed" (outcome.error).
 */
async function sendRecords(meeting, token, outcome) {
  const waiting = Object.values(meeting.entries)
    .filter((e) => e.state === "sending" || (e.state === "draft" && e.ready !== false && isRecord(e)));
  if (!waiting.length) return "done";
  // The server posts a batch in order, each record checked against the books as they stand:
  // the money coming in first (savings, mutual aid, fines, repayments), then withdrawals (of
  // savings perhaps paid in at this very meeting, out of the cash in the box), and the
  // remittance to the CDF last, after the day's money came in.
  waiting.sort((a, b) => (SEND_ORDER[a.kind] ?? 0) - (SEND_ORDER[b.kind] ?? 0));
  stillSignedIn(token);
  for (const entry of waiting) entry.state = "sending";
  await saveMeeting(meeting); // from here on these ids are the ones the server may hold
  const records = waiting.map((e) => ({
    client_id: e.client_id, kind: e.kind, amount: e.amount,
    ...(e.member_id !== null && e.member_id !== undefined ? { member_id: e.member_id } : {}),
    ...(e.loan_id ? { loan_id: e.loan_id } : {}),
  }));
  const response = await postJson(token, `/api/v1/cdf/meetings/${meeting.id}/records`, { records });
  const body = await bodyOf(response);
  if (meetingMissing(response, body)) {
    outcome.error = body.detail || String(response.status);
    return "missing";
  }
  if (!response.ok || response.redirected || !Array.isArray(body.results)) {
    outcome.error = failureOf(response, body);
    outcome.retry = !refusedByServer(response, body);
    return "failed"; // they stay "sending": the same ids go again
  }
  for (const result of body.results) {
    const entry = waiting[result?.index];
    if (!entry) continue;
    if (result.outcome === "created" || result.outcome === "duplicate") {
      entry.state = "posted";
      entry.error = null;
      outcome.sent += 1;
    } else {
      entry.state = "failed";
      entry.error = messageOf(result);
      if (result.error?.code === "cdf_meeting_closed") {
        // Closed by another phone meanwhile: not this record's fault (syncMeeting takes the
        // close from the server and keeps the record for a new meeting).
        entry.refused_closed = true;
        meeting.server_closed = true;
      } else outcome.failed += 1;
    }
  }
  await saveMeeting(meeting);
  return "done";
}

/**
 * Send what waits of a meeting with `token`, its treasurer's: its opening, its records (one
 * batch), then its close once every record is posted. Each step is kept on the phone before
 * and after it is sent. Resolves with {sent, failed, closed, error, retry} (retry: the answer
 * was not the server's, a network's or a server's error, and the same is sent again later);
 * throws SessionChanged (nothing more sent) once the phone's session is no longer `token`'s.
 *
 * A meeting the server says it does not have (its opening was answered by a middlebox, on an
 * older version that took any 200 for the server's) is opened again: the server's opening is
 * idempotent on the meeting's id.
 */
export async function syncMeeting(meeting, token) {
  const outcome = { sent: 0, failed: 0, closed: false, error: null, retry: false };
  if (meeting.server_closed) {
    await takeCloseOf(meeting, token, outcome); // said closed, its figures not read yet
    return outcome;
  }
  for (let attempt = 0; ; attempt += 1) {
    if (!meeting.opened && !(await openOnServer(meeting, token, outcome))) return outcome;
    const step = await sendRecords(meeting, token, outcome);
    if (step === "done") break;
    if (step === "missing" && attempt === 0) {
      meeting.opened = false; // opened again, then the same records with the same ids
      await saveMeeting(meeting);
      outcome.error = null;
      continue;
    }
    if (step === "missing") outcome.retry = true; // opened, yet not found: tried again later
    return outcome;
  }
  if (meeting.server_closed) {
    await takeCloseOf(meeting, token, outcome);
    return outcome;
  }
  const unsettled = Object.values(meeting.entries).some((e) => e.state !== "posted");
  if (meeting.close && !meeting.closed && !unsettled) {
    const response = await postJson(token, `/api/v1/cdf/meetings/${meeting.id}/close`, {
      cash_counted: meeting.close.cash_counted,
      ...(meeting.close.attendance !== null ? { attendance: meeting.close.attendance } : {}),
      note: meeting.close.note,
    });
    const body = await bodyOf(response);
    if (meetingAnswer(response, body, meeting)) {
      meeting.closed = true;
      // A close sent again answers "duplicate" with the figures of the one kept.
      const inLedger = body.meeting.cash_in_ledger ?? null;
      const counted = body.meeting.cash_counted ?? meeting.close.cash_counted;
      const difference = body.difference ?? (inLedger === null ? null : counted - inLedger);
      meeting.result = { difference, cash_in_ledger: inLedger };
      meeting.close.error = null;
      outcome.closed = true;
    } else if (refusedByServer(response, body) && body.code === "cdf_meeting_closed") {
      // Another phone closed the meeting with its own count: that close is the meeting's.
      meeting.server_closed = true;
      await saveMeeting(meeting);
      await takeCloseOf(meeting, token, outcome);
      return outcome;
    } else if (refusedByServer(response, body)) {
      const problems = body.errors?.map((e) => e.message ?? e.detail ?? e.code).join("; ");
      meeting.close.error = problems || body.detail || String(response.status);
      outcome.error = meeting.close.error;
    } else {
      // Not the server's answer (a captive portal's page, a proxy's empty 200, a 502): the
      // count stays on the phone, unsent, and goes again.
      meeting.close.error = failureOf(response, body);
      outcome.error = meeting.close.error;
      outcome.retry = true;
    }
    await saveMeeting(meeting);
  }
  // What the books hold of the meeting now, every phone's records in it: the cash expected.
  if (!meeting.closed && (await refreshBooks(meeting, token)) === "closed") outcome.closed = true;
  return outcome;
}

/** The server said the meeting is closed: its close, read from the server, becomes this
 * meeting's (takeServerClose). False when it could not be read (tried again later). */
async function takeCloseOf(meeting, token, outcome) {
  const seen = await readMeeting(meeting, token);
  if (!seen || seen.status !== "closed") {
    outcome.error = outcome.error ?? tt("closed_unread");
    outcome.retry = true;
    return false;
  }
  takeServerClose(meeting, seen);
  await saveMeeting(meeting);
  outcome.closed = true;
  outcome.error = null;
  return true;
}
