// The outbox: send finished surveys in batches, then their photos; retry with backoff.
// A retry after a lost response is safe: the server stores each survey id once.

import * as db from "./db.js";
import { language } from "./i18n.js";

export const BATCH_SIZE = 50;
const MIN_BACKOFF_MS = 2000;
const MAX_BACKOFF_MS = 5 * 60 * 1000;
const listeners = new Set();
let running = null;
let backoffMs = 0;
let retryTimer = null;
export const state = { running: false, last: null };

function publish() {
  for (const listener of listeners) listener(state);
}

/** Listen to sync progress ({running, last}). */
export function onSync(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function scheduleRetry() {
  backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, backoffMs * 2));
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => syncNow(), backoffMs + Math.floor(Math.random() * 500));
  return Math.round(backoffMs / 1000);
}

/** The JSON body of one survey, as POST /api/v1/submissions takes it. */
export function submissionBody(survey) {
  const location = { lat: survey.location.lat, lon: survey.location.lon };
  if (survey.location.accuracy_m !== null && survey.location.accuracy_m !== undefined) {
    location.accuracy_m = survey.location.accuracy_m;
  }
  if (survey.location.altitude_m !== null && survey.location.altitude_m !== undefined) {
    location.altitude_m = survey.location.altitude_m;
  }
  const body = {
    id: survey.id,
    form_id: survey.form_id,
    form_version: survey.form_version,
    collected_at: survey.collected_at,
    location,
    answers: survey.payload,
  };
  if (survey.collector) body.collector = survey.collector;
  return body;
}

async function postBatch(surveys) {
  const response = await fetch("/api/v1/submissions/batch", {
    method: "POST",
    headers: { "content-type": "application/json", "accept-language": language() },
    body: JSON.stringify({ submissions: surveys.map(submissionBody) }),
    cache: "no-store",
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, body };
}

async function uploadPhotos(surveys) {
  for (const survey of surveys) {
    const waiting = (survey.photos ?? []).filter((name) => !(survey.uploaded ?? []).includes(name));
    for (const filename of waiting) {
      const blob = await db.getPhoto(survey.id, filename);
      if (!blob) continue;
      const url = `/api/v1/submissions/${survey.id}/attachments/${encodeURIComponent(filename)}`;
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": blob.type || "image/jpeg", "accept-language": language() },
        body: blob,
        cache: "no-store",
      });
      if (response.status >= 500) throw new Error(`server ${response.status}`);
      survey.uploaded = [...(survey.uploaded ?? []), filename];
      if (response.status >= 400) {
        const body = await response.json().catch(() => ({}));
        survey.photo_errors = [...(survey.photo_errors ?? []), body.detail ?? String(response.status)];
      }
      await db.putSurvey(survey);
    }
  }
}

async function run() {
  state.running = true;
  publish();
  const result = { sent: 0, failed: 0, error: null, retryIn: null, status: null };
  try {
    const all = await db.allSurveys();
    const pending = all.filter((s) => s.status === "pending");
    pending.sort((a, b) => String(a.collected_at).localeCompare(String(b.collected_at)));
    for (let start = 0; start < pending.length; start += BATCH_SIZE) {
      const chunk = pending.slice(start, start + BATCH_SIZE);
      let answer;
      try {
        answer = await postBatch(chunk);
      } catch {
        result.error = "network";
        break;
      }
      if (answer.status >= 500 || answer.status === 0 || (answer.status === 200 && !answer.body)) {
        result.error = "server";
        result.status = answer.status;
        break;
      }
      const attempted = new Date().toISOString();
      if (answer.status !== 200) {
        // The whole batch was refused (e.g. too large): report it on every survey.
        for (const survey of chunk) {
          survey.status = "failed";
          survey.errors = [{ field: "", code: answer.body?.code ?? "", message: answer.body?.detail ?? String(answer.status) }];
          survey.attempted_at = attempted;
        }
        result.failed += chunk.length;
        await db.putSurveys(chunk);
        continue;
      }
      for (const item of answer.body.results) {
        const survey = chunk[item.index];
        survey.attempted_at = attempted;
        if (item.outcome === "created" || item.outcome === "duplicate") {
          survey.status = "sent";
          survey.sent_at = attempted;
          survey.errors = [];
          result.sent += 1;
        } else {
          survey.status = "failed";
          survey.errors = item.errors ?? [];
          result.failed += 1;
        }
      }
      await db.putSurveys(chunk);
    }
    if (!result.error) {
      try {
        const sent = (await db.allSurveys()).filter((s) => s.status === "sent");
        await uploadPhotos(sent);
      } catch {
        result.error = "network";
      }
    }
  } finally {
    if (result.error) {
      result.retryIn = scheduleRetry();
    } else {
      backoffMs = 0;
      clearTimeout(retryTimer);
    }
    state.running = false;
    state.last = result;
    publish();
  }
  return result;
}

/** Send every pending survey now; concurrent calls share one run. */
export function syncNow() {
  if (!running) running = run().finally(() => (running = null));
  return running;
}

/** Resolves when no sync is running (at once when idle). */
export async function idle() {
  while (running) {
    try {
      await running;
    } catch {
      // the run reported its own failure
    }
  }
}
