// The outbox: send finished surveys in batches, then their photos; retry with backoff.
// A retry after a lost response is safe: the server stores each survey id once, and the
// phone resends exactly the content it sent the first time (survey.body, made when the
// survey was finished and never restamped). One sync runs at a time across the app's tabs
// (Web Locks); a sync asked for while one runs runs again right after it.
//
// Every request carries the phone's token (auth.js). Without a live one nothing is sent and
// nothing in the outbox changes: our server's 401 stops the sync until the volunteer signs in
// again.
// A phone may have held several accounts: a survey is sent only with the token of the
// person who made it (surveys made before accounts, with any). A sync is bound to the
// session it started with (`run`: its token and person): each request carries that token
// and goes only while it is still the phone's (auth.apiAs), so a sign-out and another
// person's sign-in while an answer is on its way stop the sync, the rest of the outbox
// waiting for its maker; the sync then starts again as the new person. Corrections of surveys the
// reviewer sent back go one by one with PUT; at the end of each sync the review of the
// volunteer's own surveys is fetched (review.js). Our server's 403 stops the sync (the account may not
// send), except one that names the correction alone (REFUSED_FOR_THE_SURVEY): that one fails,
// and the rest of the outbox goes on.
//
// Only our server's refusal (a 4xx with its JSON error, a `code`) fails a survey, a correction
// or a file. Any other answer (408, 425, 429, a 5xx, a proxy's page) means "not now": the
// sync stops and is retried with the backoff, the surveys waiting as they were sent. A file
// the server refused stays on the phone (never counted as uploaded), shown on its card.
// Only our server's JSON answer is a success (a batch's `results`, a correction's record, a
// file's `filename` and `sha256`): a 200 page of a captive portal or an empty proxy answer,
// a redirect, a 401 or 403 without our JSON error (auth.NotTheServer) mean "not now" too.
// A survey a proxy alone refuses (its 413 page, even sent alone) waits, and the rest of the
// outbox goes on; the sync is then retried with the backoff.
//
// Offline (navigator.onLine false: the browser will not contact the network) nothing is
// claimed and no request is made: the sync says so and no retry is timed; app.js starts
// it again on the `online` event. A claim (the lock: "the server may have it") is released
// only when the server surely has nothing of the request (`nothingStored`): it was never made
// (offline, or the session changed before it left), or our server refused the token or the
// account (its 401 or 403 come before anything is read). A request that was made and got no
// answer (a network error, a timeout), or got anyone else's answer, may have been stored: its
// surveys stay locked until the server confirms them (a resend is a duplicate). Only surveys
// this claim locked are released, never one an earlier request may have delivered.

import * as auth from "./auth.js";
import { localIso } from "./clock.js";
import * as db from "./db.js";
import { handPlacedPoints } from "./form.js";
import { fetchReviews } from "./review.js";

// A sync sends the outbox in batches of up to BATCH_MAX surveys (the server's own limit) and
// BATCH_BYTES of JSON (the server takes 2 MB): one request for a day's work, which the
// server stores far faster than ten small ones. A server that refuses a batch as too large
// (413, or 422 batch_too_large where it takes fewer surveys) gets it again in halves; a
// survey too large alone fails alone.
export const BATCH_MAX = 500;
export const BATCH_BYTES = 512 * 1024;
let batchMax = BATCH_MAX;
const encoder = new TextEncoder();
// Sent surveys stay on the phone for the volunteer to see, then leave it: first their
// answers and photos, then the record.
export const SENT_ANSWERS_DAYS = 7;
export const SENT_RECORD_DAYS = 30;
const LOCK_NAME = "cdfmap-sync";
const REQUEST_TIMEOUT_MS = 120_000; // a hung request must not hold the outbox for ever
const MIN_BACKOFF_MS = 2000;
const MAX_BACKOFF_MS = 5 * 60 * 1000;
const listeners = new Set();
let running = null;
let again = false;
let sendClock = true;
let backoffMs = 0;
let retryTimer = null;
// A request still unanswered after this long is said on screen (slow or lost connection: the
// surveys stay on the phone), while it waits on until REQUEST_TIMEOUT_MS.
const SLOW_AFTER_MS = 15_000;
// 403 codes of a correction that say "not this survey" rather than "not this account": the
// survey was collected by someone else (app/services/review.py, e.g. a shared phone whose
// survey made before accounts, everyone's, goes with the next person's token). No edit or later sync changes
// that. Any other 403 (not_allowed: a role that never sends) stops the sync, as before.
const REFUSED_FOR_THE_SURVEY = new Set(["not_collector"]);
export const state = { running: false, slow: false, last: null };

function publish() {
  for (const listener of listeners) listener(state);
}

/** Listen to sync progress ({running, last}). */
export function onSync(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Time the next try; none while offline (the `online` event starts the sync, app.js). */
function scheduleRetry() {
  clearTimeout(retryTimer);
  if (!navigator.onLine) return null;
  backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, backoffMs * 2));
  retryTimer = setTimeout(() => syncNow(), backoffMs + Math.floor(Math.random() * 500));
  return Math.round(backoffMs / 1000);
}

/** The content of one survey as POST /api/v1/submissions takes it (kept as survey.body). */
export function submissionBody(survey) {
  const body = {
    id: survey.id,
    form_id: survey.form_id,
    form_version: survey.form_version,
    collected_at: survey.collected_at,
    answers: survey.payload,
  };
  // Finished again after the first time (reopened): the form's today() and now() read the
  // last finish, on the server as on the phone; collected_at stays the first.
  if (survey.finished_at && survey.finished_at !== survey.collected_at) body.finished_at = survey.finished_at;
  // A form without a geopoint question has no location: the survey is sent without one.
  const where = survey.location;
  if (where && Number.isFinite(where.lat) && Number.isFinite(where.lon)) {
    const location = { lat: where.lat, lon: where.lon };
    for (const key of ["accuracy_m", "altitude_m", "manual"]) {
      if (where[key] !== null && where[key] !== undefined) location[key] = where[key];
    }
    body.location = location;
  }
  // Other geopoint answers placed by hand on the map (each without an accuracy).
  const placed = handPlacedPoints(survey.payload, survey.manual_points);
  if (placed.length) body.manual_points = placed;
  if (survey.collector) body.collector = survey.collector;
  // A correction names the version it was made on (the one the phone last synced): a retry
  // after a lost answer is then a resend for the server, even once the reviewer has sent the
  // survey back again, rather than a confirmation that would undo that send-back.
  const base = survey.review?.version;
  if (survey.correction && Number.isInteger(base) && base >= 1) body.base_version = base;
  return body;
}

function timeout() {
  return typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : undefined;
}

/** `pending` (one request, or one exchange), said to be slow on screen while it has gone
 * unanswered for SLOW_AFTER_MS; no longer once it is answered (or fails). */
async function watched(pending) {
  const timer = setTimeout(() => {
    state.slow = true;
    publish();
  }, SLOW_AFTER_MS);
  try {
    return await pending;
  } finally {
    clearTimeout(timer);
    if (state.slow) {
      state.slow = false;
      publish();
    }
  }
}

/** Thrown instead of making a request while the phone is offline: nothing was sent. */
class Offline extends Error {
  constructor() {
    super("offline");
    this.name = "Offline";
  }
}

/** A request of the sync `run`, with its token: it gives up after REQUEST_TIMEOUT_MS, says
 * so after SLOW_AFTER_MS. Not made at all while the phone is offline (Offline). */
async function request(run, url, options) {
  if (!navigator.onLine) throw new Offline();
  return watched(auth.apiAs(run.token, url, { ...options, signal: timeout() }));
}

/** True when `error` proves the server stored nothing of the request it ended: the request
 * was never made (offline; the session changed, checked right before it leaves), or our
 * server refused its token or account (its JSON 401 or 403, answered before the body is read:
 * app/api/deps.py submitter). A network error or a timeout proves nothing: the request may
 * have reached the server and its answer been lost. */
function nothingStored(error) {
  if (error?.afterAnAnswer) return false; // an earlier request of the exchange was answered
  return error instanceof Offline || error instanceof auth.SessionChanged
    || error instanceof auth.SignInRequired || error instanceof auth.NotAllowed;
}

/** Unlock the surveys of `claimed` that this claim locked (`lockedBefore`: the ids locked
 * before it, which an earlier request may have delivered, stay locked): the server has
 * nothing of them (nothingStored), so they may be edited again. */
async function release(claimed, lockedBefore) {
  const outcomes = claimed.filter((s) => !lockedBefore.has(s.id))
    .map((s) => ({ id: s.id, rev: s.rev, status: "pending", errors: s.errors ?? [], locked: false }));
  if (!outcomes.length) return;
  try {
    await db.settle(outcomes, new Date().toISOString());
  } catch (error) {
    // Locked a little longer: the next sync sends them (safe, only not editable meanwhile).
    if (!db.isQuotaError(error)) throw error;
  }
}

async function answerOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, body };
}

async function postBatch(run, surveys, withClock) {
  // sent_at is the phone's clock at this request: the server compares it with its own to
  // flag a wrong clock. It is not part of the survey's content (a resend is a duplicate).
  const sentAt = localIso();
  const items = surveys.map((s) => (withClock ? { ...s.body, sent_at: sentAt } : s.body));
  const response = await request(run, "/api/v1/submissions/batch", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ submissions: items }),
  });
  return answerOf(response);
}

async function putCorrection(run, survey, withClock) {
  const body = withClock ? { ...survey.body, sent_at: localIso() } : survey.body;
  const response = await request(run, `/api/v1/submissions/${encodeURIComponent(survey.id)}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return answerOf(response);
}

function onlyClockRefused(errors) {
  return Boolean(errors?.length) && errors.every((e) => e.field === "sent_at" && e.code === "unknown_field");
}

function refusesClock(item) {
  return item.outcome === "invalid" && onlyClockRefused(item.errors);
}

async function post(run, surveys) {
  let answer = await postBatch(run, surveys, sendClock);
  if (sendClock && answer.status === 200 && answer.body?.results?.some(refusesClock)) {
    sendClock = false; // a server older than the sent_at field (e.g. rolled back)
    try {
      answer = await postBatch(run, surveys, false);
    } catch (error) {
      // The first request stored the surveys that took the clock: none of them is released.
      if (error && typeof error === "object") error.afterAnAnswer = true;
      throw error;
    }
  }
  return answer;
}

// Answers that say "not now" rather than "no": a request timeout (408), too early (425), too
// many requests (429), and any server error (5xx, among them a proxy's 502-504). The same
// request is sent again later with the backoff; the surveys stay waiting, locked as sent.
const TRANSIENT = new Set([408, 425, 429]);

/** True when `answer` is a refusal by our server: a 4xx with its JSON error body (a `code`,
 * app/api/errors.py). Anything else that is not a success (a proxy's 408/429/502-504, a 413
 * from a proxy's body limit, an HTML page in between) is tried again later. */
export function refusedByServer(answer) {
  return answer.status >= 400 && answer.status < 500 && !TRANSIENT.has(answer.status)
    && typeof answer.body?.code === "string" && answer.body.code !== "";
}

/** True when `answer` is neither a success nor our server's refusal: retried with the backoff. */
export function transient(answer) {
  return answer.status < 200 || answer.status >= 300 ? !refusedByServer(answer) : false;
}

/** The server's reasons of a refusal (its per-field errors, else its sentence). */
function reasonsOf(answer) {
  const body = answer.body ?? {};
  if (Array.isArray(body.errors) && body.errors.length) return body.errors;
  return [{ field: "", code: body.code ?? String(answer.status), message: body.detail ?? String(answer.status) }];
}

function outcomesOf(batch, answer) {
  if (answer.status !== 200) {
    // The whole batch was refused by the server, with its reasons: nothing was stored.
    const errors = reasonsOf(answer);
    return batch.map((s) => ({ id: s.id, rev: s.rev, status: "failed", errors, locked: false }));
  }
  return answer.body.results.map((item) => {
    const survey = batch[item.index];
    if (item.outcome === "created" || item.outcome === "duplicate") {
      return { id: survey.id, rev: survey.rev, status: "sent", errors: [], locked: true };
    }
    // invalid: the server kept nothing, the survey may be corrected; conflict: the server
    // keeps another content under this id, which no edit on the phone can change.
    return { id: survey.id, rev: survey.rev, status: "failed", errors: item.errors ?? [], locked: item.outcome === "conflict" };
  });
}

/** True when `survey` is sent with the token of `user` (its maker, or anyone for old ones). */
export const sentBy = db.madeBy;

async function claim(surveys, result) {
  try {
    return await db.claimForSending(surveys.map((s) => s.id), new Date().toISOString(), submissionBody);
  } catch (error) {
    if (!db.isQuotaError(error)) throw error;
    // A full disk cannot note the send: send all the same, the server keeps each id once.
    result.storageFull = true;
    return surveys.map((s) => ({ ...s, body: s.body ?? submissionBody(s) }));
  }
}

async function settle(outcomes, result) {
  let changed;
  try {
    changed = new Set(await db.settle(outcomes, new Date().toISOString()));
  } catch (error) {
    if (!db.isQuotaError(error)) throw error;
    result.storageFull = true; // noted next time: the resend is a duplicate
    changed = new Set(outcomes.map((o) => o.id));
  }
  for (const outcome of outcomes) {
    if (!changed.has(outcome.id)) continue;
    if (outcome.status === "sent") result.sent += 1;
    else result.failed += 1;
  }
}

/** True for a request that never got an answer: no connection, or it timed out. */
export function isNetworkFailure(error) {
  if (!navigator.onLine) return true;
  if (error?.name === "AbortError" || error?.name === "TimeoutError") return true;
  // fetch() rejects with a TypeError only when the request could not be made or answered.
  return error?.name === "TypeError" && /fetch|network|load failed/i.test(error?.message ?? "");
}

/** An answer that is not the server's to this request (5xx, a busy proxy, a 200 page of a
 * captive portal: `foreign`): retried later. */
class ServerTrouble extends Error {
  constructor(status, foreign = false) {
    super(`server ${status}`);
    this.name = "ServerTrouble";
    this.status = status;
    this.foreign = foreign;
  }
}

/** Note a "not now" answer (`foreign`: not our server's, e.g. a Wi-Fi login page). */
function notNow(result, status, foreign = false) {
  result.error = "server";
  result.status = status;
  result.foreign = foreign;
}

/** Note why a request failed: "no connection" only when it was one, else what it was. */
function requestFailed(error, result) {
  if (error instanceof auth.SignInRequired || error instanceof auth.NotAllowed || error instanceof auth.SessionChanged) {
    throw error;
  }
  if (error instanceof Offline) {
    result.error = "offline";
  } else if (error instanceof ServerTrouble) {
    notNow(result, error.status, error.foreign);
  } else if (error instanceof auth.NotTheServer) {
    notNow(result, error.status, true);
  } else if (isNetworkFailure(error)) {
    result.error = "network";
  } else {
    result.error = "phone";
    result.detail = String(error?.message ?? error);
  }
}

/** The bytes of a survey's JSON as it will be sent. */
function bodyBytes(survey) {
  try {
    return encoder.encode(JSON.stringify(survey.body ?? submissionBody(survey))).length;
  } catch {
    return 0; // the claim fails it on its own, with the reason
  }
}

/** The surveys in order, in batches of at most `batchMax` surveys and BATCH_BYTES of JSON
 * (a survey larger than that alone). */
export function batchesOf(surveys, bytesOf) {
  const batches = [];
  let batch = [];
  let bytes = 0;
  for (const survey of surveys) {
    const size = bytesOf(survey);
    if (batch.length && (batch.length >= batchMax || bytes + size > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(survey);
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

/** The server refused a whole batch for its size (nothing of it stored). */
function tooLarge(answer) {
  return answer.status === 413 || (answer.status === 422 && answer.body?.code === "batch_too_large");
}

/** The sync `run` stops here when the phone's session is no longer its own (nothing of the
 * next batch is taken for sending, so it stays editable for its maker). */
function stillSignedIn(run) {
  if (auth.session()?.token !== run.token) throw new auth.SessionChanged();
}

async function sendWaiting(result, run) {
  const waiting = (await db.allSurveys()).filter((s) => s.status === "pending" && sentBy(s, run.user));
  waiting.sort((a, b) => String(a.collected_at).localeCompare(String(b.collected_at)));
  // Read inside the sync's lock (one sync at a time across tabs): locked here means an
  // earlier request may have delivered it.
  const lockedBefore = new Set(waiting.filter((s) => s.locked).map((s) => s.id));
  const pending = waiting.filter((s) => !s.correction);
  const queue = batchesOf(pending, bodyBytes);
  while (queue.length) {
    stillSignedIn(run);
    if (!navigator.onLine) throw new Offline(); // nothing claimed
    const batch = await claim(queue.shift(), result);
    if (!batch.length) continue; // reopened or sent meanwhile, by this tab or another
    let answer;
    try {
      answer = await post(run, batch);
    } catch (error) {
      if (nothingStored(error)) await release(batch, lockedBefore);
      requestFailed(error, result);
      return;
    }
    if (batch.length > 1 && tooLarge(answer)) {
      // Nothing of it was stored: the same surveys again, half at a time.
      const half = Math.ceil(batch.length / 2);
      if (answer.status === 422) batchMax = Math.min(batchMax, half);
      queue.unshift(batch.slice(0, half), batch.slice(half));
      continue;
    }
    const taken = answer.status === 200 && Array.isArray(answer.body?.results);
    if (!taken && batch.length === 1 && answer.status === 413 && !refusedByServer(answer)) {
      // A proxy's body limit refuses this survey alone: it waits (locked) for the next try,
      // and the others go on (one survey must not hold the whole outbox).
      result.heldBack = { status: 413 };
      continue;
    }
    if (!taken && !refusedByServer(answer)) {
      // Not an answer of the server to these surveys: they wait (locked) for the next try.
      notNow(result, answer.status, answer.status < 300);
      return;
    }
    await settle(outcomesOf(batch, answer), result);
  }
  for (const correction of waiting.filter((s) => s.correction)) {
    if (!(await sendCorrection(run, correction, result, lockedBefore))) return;
  }
}

function correctionOutcome(survey, answer) {
  const base = { id: survey.id, rev: survey.rev };
  if (answer.status === 200) {
    // The new content replaced the one under review: it waits for review again. Or it was
    // taken before (a retry): the server's record says where it is now (sent back again,
    // say: the next review fetch brings the comment).
    const review = { status: typeof answer.body?.status === "string" ? answer.body.status : "received" };
    if (Number.isInteger(answer.body?.version)) review.version = answer.body.version;
    return { ...base, status: "sent", errors: [], locked: true, corrected: true, review };
  }
  const body = answer.body ?? {};
  const errors = body.errors?.length && answer.status === 422
    ? body.errors
    : [{ field: "", code: body.code ?? String(answer.status), message: body.detail ?? String(answer.status) }];
  // (Only our server's refusals come here: anything else waits for the next try.)
  // 409: the reviewer decided meanwhile (approved or rejected), no change is taken any more;
  // 403: the survey is someone else's (REFUSED_FOR_THE_SURVEY), no edit of it is taken either;
  // 404 (the server's not_found): the server has no survey of this id for this person (another
  // volunteer's, as a volunteer sees it, or one removed), whatever the answers.
  // Any other refusal changed nothing on the server: the correction can be edited again.
  const final = answer.status === 409 || answer.status === 403
    || (answer.status === 404 && body.code === "not_found");
  return { ...base, status: "failed", errors, locked: final };
}

/** True for our server's record of a correction it took (app/api/schemas.py record_out). */
function correctionTaken(survey, answer) {
  const body = answer.body;
  return answer.status === 200 && body?.id === survey.id && typeof body.status === "string"
    && body.status !== "" && Number.isInteger(body.version);
}

/** The answer of a 403 that refuses this correction alone, or null (the sync stops). */
function refusedForTheSurvey(error) {
  if (!(error instanceof auth.NotAllowed) || !REFUSED_FOR_THE_SURVEY.has(error.code)) return null;
  return { status: 403, body: { code: error.code, detail: error.message } };
}

/** Send one correction with PUT; false when the sync must stop (no network, server down). */
async function sendCorrection(run, survey, result, lockedBefore) {
  stillSignedIn(run);
  if (!navigator.onLine) throw new Offline(); // nothing claimed
  const [claimed] = await claim([survey], result);
  if (!claimed) return true;
  let answer;
  try {
    answer = await putCorrection(run, claimed, sendClock);
    if (sendClock && answer.status === 422 && onlyClockRefused(answer.body?.errors)) {
      sendClock = false;
      answer = await putCorrection(run, claimed, false);
    }
  } catch (error) {
    answer = refusedForTheSurvey(error);
    if (!answer) {
      // (After a first PUT refused for its clock alone, 422: nothing of it was stored.)
      if (nothingStored(error)) await release([claimed], lockedBefore);
      requestFailed(error, result);
      return false;
    }
  }
  if (!correctionTaken(claimed, answer) && !refusedByServer(answer)) {
    // A 200 page of a captive portal, a proxy's answer: the correction waits for the next try.
    notNow(result, answer.status, answer.status < 300);
    return false;
  }
  await settle([correctionOutcome(claimed, answer)], result);
  return true;
}

async function uploadPhotos(result, run) {
  const sent = (await db.allSurveys()).filter((s) => s.status === "sent" && sentBy(s, run.user));
  for (let survey of sent) {
    if (survey.photo_errors) {
      await db.unmarkRefusedUploads(survey.id);
      survey = (await db.getSurvey(survey.id)) ?? survey;
    }
    // A file the server refused (with its reason) is not sent again: the same bytes would be
    // refused again. It stays on the phone, its reason on the survey's card.
    const waiting = db.photosToSend(survey);
    for (const filename of waiting) {
      const blob = await db.getPhoto(survey.id, filename);
      let accepted = false;
      let refusal = null;
      if (blob) {
        const url = `/api/v1/submissions/${survey.id}/attachments/${encodeURIComponent(filename)}`;
        const response = await request(run, url, {
          method: "POST",
          headers: { "content-type": blob.type || "image/jpeg" },
          body: blob,
        });
        const answer = await answerOf(response);
        // Our server's record of the file; a captive portal's 200 page, an empty answer is not.
        accepted = response.ok && typeof answer.body?.filename === "string"
          && typeof answer.body?.sha256 === "string" && answer.body.sha256 !== "";
        // A busy proxy (429, 408, its own 413), a server error, a page in between: the file
        // waits for the next try.
        if (!accepted && !refusedByServer(answer)) throw new ServerTrouble(answer.status, response.ok);
        if (!accepted) refusal = { code: answer.body.code, message: answer.body.detail ?? String(answer.status) };
      } else {
        refusal = { code: "missing_on_phone", message: "" };
      }
      try {
        await db.photoDone(survey.id, filename, accepted, refusal);
      } catch (failure) {
        if (!db.isQuotaError(failure)) throw failure;
        result.storageFull = true;
        if (accepted) await db.deletePhoto(survey.id, filename); // frees space; sent again is a no-op
      }
    }
  }
}

/** Let sent surveys leave the phone by age (never an unsent one). */
export async function tidy() {
  try {
    // The lists on screen follow (they were drawn before, with the answers still there).
    if (await db.purgeSent(new Date(), SENT_ANSWERS_DAYS, SENT_RECORD_DAYS)) publish();
  } catch (error) {
    console.warn("sent surveys not tidied", error);
  }
}

async function runOnce() {
  const result = { sent: 0, failed: 0, error: null, status: null, storageFull: false, reviewed: 0 };
  // Read from the phone, not memory: another tab may have signed in (or out) meanwhile.
  const session = await auth.loadSession();
  if (!session?.token || session.expired) {
    result.error = "signin";
    await tidy();
    return result;
  }
  if (!navigator.onLine) {
    // Nothing can reach the server: nothing is claimed, no request made (not even /me).
    result.error = "offline";
    await tidy();
    return result;
  }
  try {
    // A sign-in whose /me got no answer does not know whose the token is: nothing is sent
    // (a survey goes only with its maker's token) until the server says who it is.
    if (!(await auth.ensureUser())) {
      result.error = "whoami";
      await tidy();
      return result;
    }
    // The session (token and person, known together) every request of this run goes with.
    const run = { token: auth.session().token, user: auth.user() };
    await sendWaiting(result, run);
    if (!result.error) {
      try {
        await uploadPhotos(result, run);
      } catch (error) {
        if (db.isQuotaError(error)) result.storageFull = true;
        else requestFailed(error, result);
      }
    }
    if (!result.error) result.reviewed = await watched(fetchReviews(run.user, run.token));
    // A survey a proxy refused waits: the sync is tried again with the backoff.
    if (!result.error && result.heldBack) notNow(result, result.heldBack.status);
    await tidy();
  } catch (error) {
    if (error instanceof auth.SessionChanged) {
      result.error = "account"; // runUntilDone starts again as whoever is signed in now
    } else if (error instanceof Offline) {
      result.error = "offline";
    } else if (error instanceof auth.SignInRequired) {
      result.error = "signin";
    } else if (error instanceof auth.NotAllowed) {
      result.error = "forbidden";
      result.detail = error.message;
    } else if (db.isQuotaError(error)) {
      result.storageFull = true;
    } else {
      result.error = "phone";
      result.detail = String(error?.message ?? error);
    }
  }
  return result;
}

function exclusive(task) {
  // Without Web Locks two tabs may send at once: the server keeps each id once and settle()
  // counts and changes only what this tab changed, so that stays safe.
  if (navigator.locks?.request) return navigator.locks.request(LOCK_NAME, task);
  return task();
}

async function runUntilDone() {
  state.running = true;
  state.slow = false;
  publish();
  const total = { sent: 0, failed: 0, error: null, retryIn: null, status: null, storageFull: false, reviewed: 0 };
  try {
    while (again) {
      again = false;
      const result = await exclusive(runOnce);
      if (result.error === "account") {
        // Another person signed in (or nobody is): what is said next is of their sync alone.
        Object.assign(total, { sent: 0, failed: 0, reviewed: 0 });
        again = true;
        continue;
      }
      total.sent += result.sent;
      total.failed += result.failed;
      total.storageFull ||= result.storageFull;
      total.reviewed += result.reviewed;
      Object.assign(total, { error: result.error, status: result.status, detail: result.detail, foreign: result.foreign });
    }
  } finally {
    if (total.error === "signin" || total.error === "forbidden") {
      // No retry would help: sending resumes when someone signs in (app.js asks for a sync).
      backoffMs = 0;
      clearTimeout(retryTimer);
    } else if (total.error && !navigator.onLine) {
      // Offline now, whatever stopped it: no timer spins offline, app.js starts the sync
      // again on the `online` event.
      total.error = "offline";
      clearTimeout(retryTimer);
    } else if (total.error) {
      total.retryIn = scheduleRetry();
    } else {
      backoffMs = 0;
      clearTimeout(retryTimer);
    }
    state.running = false;
    state.slow = false;
    state.last = total;
    publish();
  }
  return total;
}

/** Send every waiting survey now; asked while a sync runs, it runs once more after it. */
export function syncNow() {
  again = true;
  if (!running) running = runUntilDone().finally(() => (running = null));
  return running;
}
