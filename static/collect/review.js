// The reviewer's word on the volunteer's own surveys, fetched at the end of each sync:
// GET /api/v1/me/surveys?since=<time> answers the surveys changed since then, oldest change
// first (at most `limit`), each with its status (received, approved, needs_correction,
// rejected) and comment, which is noted on the phone's copy (db.applyReview).
//
// `since` is the server's clock, never the phone's (a phone clock hours off would skip
// reviews): the last change seen (`updated_at`), less a margin for a review committed after
// a later one was seen. Seeing a review twice changes nothing.

import * as auth from "./auth.js";
import * as db from "./db.js";

const SINCE_KEY = "review-since";
const OVERLAP_MS = 5 * 60 * 1000;
const PAGE = 500;
const MAX_PAGES = 20;
const TIMEOUT_MS = 60_000;

async function page(since, token) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (since) query.set("since", since);
  const signal = typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(TIMEOUT_MS) : undefined;
  const response = await auth.apiAs(token, `/api/v1/me/surveys?${query}`, { headers: { accept: "application/json" }, signal });
  if (!response.ok) return null;
  const body = await response.json().catch(() => null);
  return Array.isArray(body?.items) ? body.items : null;
}

/** Fetch and note the review of `user`'s surveys with their `token` (never another person's:
 * auth.apiAs); resolves with the number changed. */
export async function fetchReviews(user, token) {
  const kept = await db.getValue(SINCE_KEY).catch(() => null);
  let since = kept && kept.user_id === user?.id ? kept.since : null;
  let newest = null;
  let changed = 0;
  for (let count = 0; count < MAX_PAGES; count += 1) {
    let items;
    try {
      items = await page(since, token);
    } catch (error) {
      if (error instanceof auth.SignInRequired || error instanceof auth.SessionChanged) throw error;
      items = null; // offline, or a role with no surveys of its own: nothing to learn now
    }
    if (!items) break;
    changed += await db.applyReview(items, user?.id ?? null, new Date().toISOString());
    const last = items.at(-1)?.updated_at;
    if (last) newest = last;
    if (items.length < PAGE || !last || last === since) break;
    since = last; // the next page
  }
  if (newest) {
    const time = Date.parse(newest);
    const next = Number.isNaN(time) ? newest : new Date(time - OVERLAP_MS).toISOString();
    await db.setValue(SINCE_KEY, { user_id: user?.id ?? null, since: next }).catch(() => {});
  }
  return changed;
}
