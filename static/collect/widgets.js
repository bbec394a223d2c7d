// The widgets of the form renderer: one per question type, each given the question and the
// editor's context (see widgetContext in editor.js).

import { confirmDialog } from "./account.js";
import * as db from "./db.js";
import { h } from "./dom.js";
import { isLocationQuestion } from "./form.js";
import * as gps from "./gps.js";
import { pick, t } from "./i18n.js";
import { createMap, distanceM } from "./map.js";

const GPS_WARNING_M = 20;
const PHOTO_MAX_SIDE = 1280;
// A walked line or shape takes GPS fixes at least this good, and this far from the last point.
const WALK_ACCURACY_M = 20;
const WALK_STEP_M = 2;

/** The question types widgetFor renders beyond form.js's base ones (registerWidgetTypes). */
export const WIDGET_TYPES = [
  "rank", "range", "acknowledge", "datetime", "time", "barcode", "audio", "file",
  "geotrace", "geoshape",
];

// ---------------------------------------------------------------- GPS widget

let stopGps = null;
const maps = new Set();

/** Stop the GPS widget's watch and drop the maps (called whenever the screen changes). */
export function releaseGps() {
  if (stopGps) stopGps();
  stopGps = null;
  for (const map of maps) map.destroy();
  maps.clear();
}

/** Watch the GPS for a widget, its watch stopped by releaseGps() (one screen at a time). */
function watchGps(listener) {
  const previous = stopGps;
  const stop = gps.watch(listener);
  stopGps = () => {
    previous?.();
    stop();
  };
}

// The last place the GPS gave (kept on the phone): a map with nothing to show yet opens there,
// not on an empty background somewhere else (no tiles offline: a volunteer placing a point
// by hand with the GPS off needs the place they last were, and the points of the survey).
const LAST_PLACE_KEY = "last-place";
let lastPlaceSaved = 0;

function rememberPlace(fix) {
  if (Date.now() - lastPlaceSaved < 60_000) return;
  lastPlaceSaved = Date.now();
  db.setValue(LAST_PLACE_KEY, { lat: fix.lat, lon: fix.lon }).catch(() => {}); // a nicety
}

/** A map under a widget, drawn once Leaflet is loaded; `draw(map)` (re)draws it. */
function mapBox(name, handlers) {
  const element = h("div", { class: "geo-map", id: `map-${name}`, role: "application", "aria-label": t("map_label") });
  const state = { map: null, element };
  createMap(element, handlers).then((map) => {
    state.map = map;
    maps.add(map);
    map.invalidate(); // the element is on the page by now: Leaflet measures it
    db.getValue(LAST_PLACE_KEY).then((place) => {
      if (place && Number.isFinite(place.lat)) map.centreOn(place);
      handlers.ready?.(map);
    }, () => handlers.ready?.(map));
  }).catch(() => {
    element.classList.add("geo-map-missing");
    element.textContent = t("map_unavailable");
  });
  return state;
}

function parsePoint(text) {
  const [lat, lon, altitude, accuracy] = String(text ?? "").trim().split(/\s+/).map(Number);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  return { lat, lon, altitude_m: Number.isFinite(altitude) ? altitude : null, accuracy_m: Number.isFinite(accuracy) ? accuracy : null };
}

function pointText(point) {
  const round = (n, d) => Math.round(n * 10 ** d) / 10 ** d;
  return `${round(point.lat, 7)} ${round(point.lon, 7)} ${round(point.altitude_m ?? 0, 1)} ${round(point.accuracy_m ?? 0, 1)}`;
}

/** A point placed by hand as a geopoint answer: "lat lon", without the altitude and accuracy
 * no GPS measured ("0 0" read as a point measured to 0 m). */
function handPlacedText(point) {
  const round = (n) => Math.round(n * 1e7) / 1e7;
  return `${round(point.lat)} ${round(point.lon)}`;
}

/**
 * Where a geopoint question keeps its point: the survey's location for the form's location
 * question (sent as `location`, with `manual` when placed by hand), else its answer text (a
 * point placed by hand without an accuracy, and marked in `survey.manual_points`, by the
 * widget's id: sent as the body's `manual_points`, sync.js).
 */
function pointStore(ctx) {
  // The editor's context carries the form and the model node (editor.js widgetContext).
  const isLocation = ctx.form && ctx.question ? isLocationQuestion(ctx.form, ctx.question) : true;
  if (isLocation) {
    return {
      isLocation,
      get: () => ctx.survey()?.location ?? null,
      set: (location) => {
        ctx.survey().location = location;
        ctx.save();
        ctx.refresh();
      },
    };
  }
  return {
    isLocation,
    get: () => {
      const point = parsePoint(ctx.value());
      const survey = ctx.survey();
      return point && { ...point, manual: Boolean(survey?.manual_points?.[ctx.id]) };
    },
    set: (location) => {
      const survey = ctx.survey();
      survey.manual_points = { ...survey.manual_points, [ctx.id]: Boolean(location?.manual) };
      ctx.answer(!location ? "" : location.manual ? handPlacedText(location) : pointText(location));
    },
  };
}

/** The GPS widget: watches the position, records the best fix as the point; on a map, the
 * volunteer may place the point by hand when the GPS is poor or off (recorded as manual). */
export function gpsWidget(ctx, question = { name: "location" }) {
  const store = pointStore(ctx);
  // The location question's elements keep their plain ids; any other geopoint's get its name.
  const suffix = store.isLocation ? "" : `-${question.name}`;
  const status = h("p", { class: "gps-status", id: `gps-status${suffix}`, "aria-live": "polite" });
  const accuracy = h("p", { class: "gps-accuracy", id: `gps-accuracy${suffix}` });
  const warning = h("p", { class: "warning", id: `gps-warning${suffix}`, hidden: true });
  const manualNote = h("p", { class: "notice small", id: `gps-manual-note${suffix}`, hidden: true });
  let waiting = false;
  let placing = false; // the volunteer is placing the point by hand
  // A point recorded before this screen was shown (a survey reopened, a correction, Back to
  // this screen) is the household's: kept wherever the volunteer stands now, replaced only
  // when they ask (wait for a better fix, or place it by hand). A reopened survey left
  // unchanged then stays as it was (a waiting one waits again, not a draft). Before, any fix
  // as accurate moved the point to where the volunteer was.
  let kept = Boolean(store.get());
  let lastState = gps.state;
  const better = h("button", {
    class: "secondary", id: `gps-better${suffix}`, type: "button",
    onclick: () => {
      waiting = true;
      status.textContent = t("gps_waiting");
      gps.refresh();
    },
  }, t("gps_wait_better"));
  const place = h("button", {
    class: "secondary", id: `gps-place${suffix}`, type: "button", hidden: true,
    onclick: () => {
      placing = true;
      update();
    },
  }, t("gps_place_by_hand"));
  const useGps = h("button", {
    class: "link", id: `gps-use-gps${suffix}`, type: "button", hidden: true,
    onclick: () => {
      placing = false;
      kept = false; // asked for: the GPS records it from now on
      const fix = lastState.fix;
      store.set(fix ? fromFix(fix) : null);
      update();
    },
  }, t("gps_use_gps"));
  const setByHand = ({ lat, lon }) => {
    if ((!placing && !store.get()?.manual) || ctx.readonly?.()) return;
    placing = false;
    store.set({ lat, lon, accuracy_m: null, altitude_m: null, manual: true });
    update();
  };
  const mapState = mapBox(question.name, { onTap: setByHand, onDrag: setByHand, ready: () => update() });
  const box = h("div", { class: "gps", dataset: { state: "searching", location: store.isLocation ? "yes" : "no" } },
    status, accuracy, warning, better, mapState.element, manualNote, place, useGps);

  function fromFix(fix) {
    return { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m, altitude_m: fix.altitude_m };
  }

  function gpsPoor(state) {
    return !state.fix || state.fix.accuracy_m > GPS_WARNING_M || ["denied", "unavailable", "timeout", "unsupported"].includes(state.status);
  }

  function update() {
    const state = lastState;
    const location = store.get();
    const manual = Boolean(location?.manual);
    const messages = {
      denied: t("gps_denied"), unavailable: t("gps_unavailable"), timeout: t("gps_timeout"),
      unsupported: t("gps_unsupported"), searching: t("gps_searching"),
    };
    box.dataset.manual = manual ? "yes" : "no";
    if (location) {
      box.dataset.state = manual ? "manual" : state.status === "denied" ? "denied" : "fix";
      status.classList.remove("error");
      status.textContent = waiting ? t("gps_waiting")
        : t(manual ? "gps_recorded_manual" : "gps_recorded", { lat: location.lat.toFixed(6), lon: location.lon.toFixed(6) });
      accuracy.textContent = manual ? t("gps_manual") : t("gps_accuracy", { m: Math.round(location.accuracy_m ?? 0) });
      warning.hidden = manual || !(location.accuracy_m > GPS_WARNING_M);
      warning.textContent = t("gps_poor", { limit: GPS_WARNING_M });
    } else {
      box.dataset.state = state.status;
      status.textContent = messages[state.status] ?? t("gps_searching");
      status.classList.toggle("error", state.status === "denied" || state.status === "unavailable");
      accuracy.textContent = "";
      warning.hidden = true;
    }
    // By hand only when the GPS cannot do better: poor (over the limit) or off.
    place.hidden = placing || manual || !gpsPoor(state);
    better.hidden = placing || manual;
    useGps.hidden = !(manual || placing) || !state.fix;
    manualNote.hidden = !(placing || manual);
    manualNote.textContent = placing ? t("gps_tap_map") : t("gps_drag_point");
    mapState.element.classList.toggle("placing", placing);
    mapState.map?.show({
      point: location, accuracy_m: manual ? null : location?.accuracy_m,
      gps: manual && state.fix ? state.fix : null, draggable: manual,
    });
    if (box.isConnected) ctx.refresh();
  }

  watchGps((state) => {
    if (!box.isConnected && !ctx.active()) return;
    if (!ctx.survey()) return;
    lastState = { ...state };
    if (state.fix) rememberPlace(state.fix);
    const current = store.get();
    if (state.fix && !current?.manual && !placing) {
      // While it is being recorded here, each better fix replaces it.
      const improves = !current || waiting || (!kept && state.fix.accuracy_m <= (current.accuracy_m ?? Infinity));
      if (improves) {
        waiting = false;
        kept = false; // recorded on this screen now: later better fixes improve it
        store.set(fromFix(state.fix));
      }
    }
    update();
  });
  return box;
}

// ---------------------------------------------------------------- line and shape widget

function parsePoints(text) {
  return String(text ?? "").split(";").map(parsePoint).filter(Boolean);
}

/** The geotrace / geoshape widget: walk (each good GPS fix adds a point) or tap the map. */
export function traceWidget(ctx, question) {
  const shape = question.type === "geoshape";
  const minimum = shape ? 3 : 2;
  const name = question.name;
  const survey = ctx.survey();
  // The points so far; fewer than the minimum are kept with the draft, not as the answer.
  let points = parsePoints(ctx.value());
  if (shape && points.length > 1 && distanceM(points[0], points.at(-1)) < 0.01) points.pop();
  if (!points.length && survey.geo_drafts?.[name]) points = survey.geo_drafts[name].map((p) => ({ ...p }));
  let walking = false;
  let walked = false; // paused: the button resumes
  let lastFix = null;
  const count = h("p", { class: "geo-count", id: `geo-count-${name}`, "aria-live": "polite" });
  const gpsLine = h("p", { class: "small muted", id: `geo-gps-${name}` });
  const walk = h("button", { class: "primary", id: `geo-walk-${name}`, type: "button", onclick: () => toggleWalk() }, t("geo_walk_start"));
  const undo = h("button", { class: "secondary", id: `geo-undo-${name}`, type: "button", onclick: () => { points.pop(); changed(); } }, t("geo_undo"));
  const clear = h("button", {
    class: "link danger", id: `geo-clear-${name}`, type: "button",
    onclick: async () => {
      if (!(await confirmDialog(t("geo_clear_confirm"), t("geo_clear")))) return;
      points = [];
      mapState.map?.recentre();
      changed();
    },
  }, t("geo_clear"));
  const mapState = mapBox(name, {
    onTap: ({ lat, lon }) => {
      if (walking || ctx.readonly?.()) return;
      points.push({ lat, lon, altitude_m: null, accuracy_m: null });
      changed();
    },
    ready: () => draw(),
  });

  function answerText() {
    const distinct = new Set(points.map((p) => `${p.lat} ${p.lon}`)).size;
    if (distinct < minimum) return "";
    // A walk that ends where it began closes on its first point, not on a second copy of it.
    const open = shape && points.length > minimum && distanceM(points.at(-1), points[0]) < WALK_STEP_M
      ? points.slice(0, -1) : points;
    const all = shape ? [...open, open[0]] : open;
    return all.map(pointText).join(";");
  }

  function draw() {
    const distinct = new Set(points.map((p) => `${p.lat} ${p.lon}`)).size;
    count.textContent = distinct >= minimum
      ? t(shape ? "geo_shape_points" : "geo_trace_points", { n: points.length })
      : t("geo_need_points", { n: points.length, min: minimum });
    undo.disabled = !points.length;
    clear.hidden = !points.length;
    walk.textContent = walking ? t("geo_walk_pause") : t(walked ? "geo_walk_resume" : "geo_walk_start");
    walk.classList.toggle("walking", walking);
    mapState.map?.show({ points, closed: shape, gps: walking ? lastFix : null });
  }

  function changed() {
    const drafts = { ...survey.geo_drafts };
    if (points.length) drafts[name] = points.map((p) => ({ ...p }));
    else delete drafts[name];
    survey.geo_drafts = drafts;
    draw();
    const text = answerText();
    if (text !== (ctx.value() ?? "")) ctx.answer(text);
    else ctx.save();
  }

  function onFix(state) {
    if (!walking) return;
    const fix = state.fix;
    if (!fix) {
      gpsLine.textContent = t("gps_searching");
      return;
    }
    lastFix = fix;
    gpsLine.textContent = t("gps_accuracy", { m: Math.round(fix.accuracy_m ?? 0) });
    if (fix.accuracy_m > WALK_ACCURACY_M) {
      gpsLine.textContent += ` · ${t("gps_poor", { limit: WALK_ACCURACY_M })}`;
      draw();
      return;
    }
    const last = points.at(-1);
    if (last && distanceM(last, fix) < WALK_STEP_M) {
      draw();
      return;
    }
    points.push({ lat: fix.lat, lon: fix.lon, altitude_m: fix.altitude_m, accuracy_m: fix.accuracy_m });
    changed();
  }

  function toggleWalk() {
    walking = !walking;
    walked = true;
    if (walking) {
      watchOnce(onFix);
    } else {
      releaseWalk();
      gpsLine.textContent = "";
      mapState.map?.recentre(); // paused: the whole line or shape in view
    }
    draw();
  }

  let walkListener = null;
  function releaseWalk() {
    if (walkListener) gps.release(walkListener);
    walkListener = null;
  }
  // One listener per widget, so that pausing this one leaves the others' watches alone.
  const watchOnce = (listener) => {
    releaseWalk();
    walkListener = (state) => {
      if (!box.isConnected && !ctx.active()) return;
      listener(state);
    };
    gps.watch(walkListener);
    const previous = stopGps;
    stopGps = () => {
      previous?.();
      releaseWalk();
    };
  };
  const box = h("div", { class: "geo", dataset: { kind: question.type } },
    h("p", { class: "hint" }, t(shape ? "geo_shape_hint" : "geo_trace_hint")),
    mapState.element, count, gpsLine,
    h("div", { class: "geo-actions" }, walk, undo, clear));
  draw();
  return box;
}
// ---------------------------------------------------------------- photo widget

async function resizePhoto(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close?.();
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("toBlob"))), "image/jpeg", 0.8);
  });
}

/** The start of a file's name: the editor's `fileStem` (the key made safe: `voices-1-voice`),
 * in the letters the server takes (A-Z a-z 0-9 . _ -), short enough for its 128. */
function fileBase(ctx, name) {
  return String(ctx.fileStem ?? name).replace(/[^A-Za-z0-9_-]/g, "-").replace(/^[-_]+/, "").slice(0, 80) || "file";
}

/** Keep a file on the phone as the question's answer-to-be; the file it replaces goes. */
async function keepFile(ctx, survey, filename, blob) {
  const old = ctx.value();
  await db.putPhoto(survey.id, filename, blob);
  if (old) await db.deletePhoto(survey.id, old).catch(() => {}); // a leftover, not an error
}

/** Say why a file was not kept: the phone's storage is full, or `failed` (a message key). */
function fileNotKept(ctx, status, error, failed) {
  if (db.isQuotaError(error)) {
    status.textContent = t("storage_full");
    ctx.storageProblem(error);
  } else {
    status.textContent = t(failed);
  }
}

/** Work the survey must wait for before it is finished or left (the editor's `track`). */
function track(ctx, promise) {
  return ctx.track ? ctx.track(promise) : promise;
}

/** The photo widget: camera, resize, keep in IndexedDB; the answer is the file name. */
export function photoWidget(ctx, question) {
  const survey = ctx.survey();
  const name = question.name;
  const preview = h("img", { class: "photo-preview", alt: "", hidden: true });
  const status = h("p", { class: "small muted" });
  const remove = h("button", {
    class: "link danger", type: "button", hidden: !ctx.value(),
    onclick: async () => {
      const old = ctx.value();
      if (old) await db.deletePhoto(survey.id, old).catch(ctx.storageProblem);
      preview.hidden = true;
      remove.hidden = true;
      ctx.answer("");
    },
  }, t("photo_remove"));
  const input = h("input", {
    type: "file", accept: "image/*", capture: "environment", name, id: `q-${name}`, class: "file",
    // Tracked: finishing or leaving the survey waits until the photo is shrunk and kept.
    onchange: (event) => track(ctx, takePhoto(event)),
  });
  async function takePhoto(event) {
    const file = event.target.files?.[0];
    if (!file) return;
    status.textContent = t("photo_processing");
    try {
      const blob = await resizePhoto(file);
      const filename = `${fileBase(ctx, name)}-${Date.now().toString(36)}.jpg`;
      await keepFile(ctx, survey, filename, blob);
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
      remove.hidden = false;
      status.textContent = "";
      ctx.answer(filename);
    } catch (error) {
      fileNotKept(ctx, status, error, "photo_failed");
    }
  }
  if (ctx.value()) {
    db.getPhoto(survey.id, ctx.value()).then((blob) => {
      if (blob) {
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
      }
    });
  }
  return h("div", { class: "photo" },
    h("label", { class: "button secondary photo-button", for: `q-${name}` },
      ctx.value() ? t("photo_replace") : t("photo_take")),
    input, preview, status, remove);
}

// ---------------------------------------------------------------- audio and file widgets

// What the server takes for each kind (app/services/attachments.py): media type -> extension.
const FILE_KINDS = {
  audio: {
    maxBytes: 8 * 1024 * 1024,
    accept: "audio/*",
    types: {
      "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/x-m4a": "m4a",
      "audio/3gpp": "3gp", "audio/mpeg": "mp3", "audio/aac": "aac", "audio/amr": "amr",
      "audio/wav": "wav", "audio/x-wav": "wav",
    },
  },
  file: {
    maxBytes: 5 * 1024 * 1024,
    accept: ".pdf,.txt,.csv,.zip,.docx,.xlsx,.odt,.jpg,.jpeg,.png",
    types: {
      "application/pdf": "pdf", "text/plain": "txt", "text/csv": "csv", "application/zip": "zip",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
      "application/vnd.oasis.opendocument.text": "odt", "image/jpeg": "jpg", "image/png": "png",
    },
  },
};
// A picked file's type when the phone gives none (some Android file pickers): by its name.
const TYPE_BY_EXTENSION = {
  webm: "audio/webm", ogg: "audio/ogg", oga: "audio/ogg", opus: "audio/ogg", m4a: "audio/mp4",
  "3gp": "audio/3gpp", mp3: "audio/mpeg", aac: "audio/aac", amr: "audio/amr", wav: "audio/wav",
  pdf: "application/pdf", txt: "text/plain", csv: "text/csv", zip: "application/zip",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt: "application/vnd.oasis.opendocument.text", jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png",
};

function sizeText(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} kB`;
}

/** The audio and file widgets: like photos, kept on the phone, sent after the survey. */
export function fileWidget(ctx, question) {
  const kind = FILE_KINDS[question.type];
  const survey = ctx.survey();
  const name = question.name;
  const status = h("p", { class: "small muted", id: `file-status-${name}`, "aria-live": "polite" });
  const player = question.type === "audio" ? h("audio", { controls: true, class: "audio-preview", hidden: true }) : null;
  const remove = h("button", {
    class: "link danger", type: "button", id: `file-remove-${name}`, hidden: !ctx.value(),
    onclick: async () => {
      const old = ctx.value();
      if (old) await db.deletePhoto(survey.id, old).catch(ctx.storageProblem);
      if (player) player.hidden = true;
      remove.hidden = true;
      status.textContent = "";
      ctx.answer("");
    },
  }, t("file_remove"));
  const show = (blob, filename) => {
    status.textContent = t("file_kept", { name: filename, size: sizeText(blob.size) });
    if (player) {
      player.src = URL.createObjectURL(blob);
      player.hidden = false;
    }
  };
  /** Keep a file (picked, or recorded here) of media type `type` as the answer. */
  async function keep(data, type) {
    if (!kind.types[type]) {
      status.textContent = t(question.type === "audio" ? "audio_wrong_type" : "file_wrong_type");
      return;
    }
    if (data.size > kind.maxBytes) {
      status.textContent = t("file_too_large", { max: sizeText(kind.maxBytes) });
      return;
    }
    if (!data.size) {
      status.textContent = t("file_empty");
      return;
    }
    try {
      // The server checks the type again: the blob keeps it (sent as Content-Type).
      const blob = data.type === type ? data : new Blob([await data.arrayBuffer()], { type });
      const filename = `${fileBase(ctx, name)}-${Date.now().toString(36)}.${kind.types[type]}`;
      await keepFile(ctx, survey, filename, blob);
      show(blob, filename);
      remove.hidden = false;
      ctx.answer(filename);
    } catch (error) {
      fileNotKept(ctx, status, error, "file_failed");
    }
  }
  const input = h("input", {
    type: "file", accept: kind.accept, capture: question.type === "audio" ? "user" : null,
    name, id: `q-${name}`, class: "file",
    onchange: (event) => {
      const file = event.target.files?.[0];
      event.target.value = "";
      if (!file) return;
      const extension = (/\.([A-Za-z0-9]{1,5})$/.exec(file.name)?.[1] ?? "").toLowerCase();
      track(ctx, keep(file, (file.type || TYPE_BY_EXTENSION[extension] || "").split(";")[0].toLowerCase()));
    },
  });
  if (ctx.value()) {
    db.getPhoto(survey.id, ctx.value()).then((blob) => {
      if (blob) show(blob, ctx.value());
    });
  }
  const buttonText = question.type === "audio"
    ? (ctx.value() ? t("audio_replace") : t("audio_record"))
    : (ctx.value() ? t("file_replace") : t("file_choose"));
  // A recording is work the survey waits for, from its start: finishing or leaving stops it
  // (stopRecordings) and goes on once it is kept.
  const recorder = question.type === "audio"
    ? recorderButton(name, status, keep, (promise) => track(ctx, promise))
    : null;
  return h("div", { class: "photo file-widget" },
    recorder,
    h("label", { class: "button secondary photo-button", for: `q-${name}` }, buttonText),
    input, player, status, remove);
}

// A recording made in the page stops by itself after this long (about 4 MB of Opus).
const RECORDING_MAX_MS = 15 * 60 * 1000;

// The recordings running in the page.
const recorders = new Set();

/** Stop every recording (each is then kept as its question's answer). */
export function stopRecordings() {
  for (const recorder of recorders) {
    if (recorder.state !== "inactive") recorder.stop();
  }
}

/** Record in the page where the browser can (MediaRecorder); `keep(blob, type)` takes it, and
 * `track(promise)` is given a promise that settles once a recording is kept (or refused). */
function recorderButton(name, status, keep, track) {
  if (typeof MediaRecorder !== "function" || !navigator.mediaDevices?.getUserMedia) return null;
  const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"]
    .find((candidate) => MediaRecorder.isTypeSupported(candidate));
  if (!type) return null;
  let recording = null;
  const button = h("button", {
    class: "primary", type: "button", id: `record-${name}`,
    onclick: async () => {
      if (recording) {
        recording.stop();
        return;
      }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch {
        status.textContent = t("audio_no_microphone");
        return;
      }
      const chunks = [];
      const recorder = new MediaRecorder(stream, { mimeType: type });
      const started = Date.now();
      const tick = setInterval(() => {
        const seconds = Math.floor((Date.now() - started) / 1000);
        status.textContent = t("audio_recording", { time: `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}` });
        // Leaving the screen, or too long: stop and keep what was recorded.
        if (!button.isConnected || Date.now() - started > RECORDING_MAX_MS) recorder.stop();
      }, 500);
      recorder.ondataavailable = (event) => {
        if (event.data.size) chunks.push(event.data);
      };
      let kept;
      track(new Promise((resolve) => { kept = resolve; }));
      recorder.onstop = async () => {
        clearInterval(tick);
        recorders.delete(recorder);
        stream.getTracks().forEach((each) => each.stop());
        recording = null;
        button.textContent = t("audio_record_now");
        button.classList.remove("recording");
        const bare = type.split(";")[0];
        try {
          await keep(new Blob(chunks, { type: bare }), bare);
        } finally {
          kept();
        }
      };
      try {
        recorder.start(1000);
      } catch {
        clearInterval(tick);
        stream.getTracks().forEach((each) => each.stop());
        kept();
        status.textContent = t("audio_no_microphone");
        return;
      }
      recorders.add(recorder);
      recording = recorder;
      button.textContent = t("audio_stop");
      button.classList.add("recording");
      status.textContent = t("audio_recording", { time: "0:00" });
    },
  }, t("audio_record_now"));
  return button;
}

// ---------------------------------------------------------------- rank, range, times, barcode

function choiceValue(choice) {
  return choice.value ?? choice.name;
}

/** Rank: every choice in order, moved with up / down buttons; the answer is all in order. */
function rankWidget(ctx, question) {
  const choices = ctx.choices();
  const byValue = new Map(choices.map((c) => [choiceValue(c), c]));
  const given = String(ctx.value() ?? "").split(/\s+/).filter((v) => byValue.has(v));
  const order = [...given, ...choices.map(choiceValue).filter((v) => !given.includes(v))];
  const list = h("ol", { class: "rank", "aria-labelledby": ctx.labelledBy, id: ctx.id });
  const keep = h("button", {
    class: "secondary", type: "button", id: `rank-keep-${question.name}`,
    onclick: () => {
      ctx.answer(order.join(" "));
      draw();
    },
  }, t("rank_keep"));
  const move = (index, by) => {
    const target = index + by;
    if (target < 0 || target >= order.length) return;
    [order[index], order[target]] = [order[target], order[index]];
    ctx.answer(order.join(" "));
    draw();
    list.querySelectorAll("li")[target]?.querySelector(by < 0 ? ".rank-up" : ".rank-down")?.focus();
  };
  function draw() {
    // "Keep this order" until every choice is ranked (a default may rank only some).
    const ranked = String(ctx.value() ?? "").split(/\s+/).filter((v) => byValue.has(v));
    keep.hidden = ranked.length === choices.length;
    list.replaceChildren(...order.map((value, index) => {
      const label = pick(byValue.get(value)?.label) || value;
      return h("li", { class: "rank-item", dataset: { value } },
        h("span", { class: "rank-position" }, `${index + 1}.`),
        h("span", { class: "rank-label" }, label),
        h("button", {
          class: "rank-up icon", type: "button", disabled: index === 0,
          "aria-label": t("rank_up", { label }), onclick: () => move(index, -1),
        }, "▲"),
        h("button", {
          class: "rank-down icon", type: "button", disabled: index === order.length - 1,
          "aria-label": t("rank_down", { label }), onclick: () => move(index, 1),
        }, "▼"));
    }));
  }
  draw();
  return h("div", { class: "rank-widget" }, h("p", { class: "hint" }, t("rank_hint")), list, keep);
}

function numberParameter(parameters, key, fallback) {
  const value = Number(parameters?.[key]);
  return Number.isFinite(value) ? value : fallback;
}

/** Range: a slider from `start` to `end` by `step`, its value shown beside it. */
function rangeWidget(ctx, question) {
  const start = numberParameter(question.parameters, "start", 1);
  const end = numberParameter(question.parameters, "end", 10);
  const step = Math.abs(numberParameter(question.parameters, "step", 1)) || 1;
  const decimals = (String(question.parameters?.step ?? "1").split(".")[1] ?? "").length;
  const value = ctx.value();
  const shown = h("output", { class: "range-value", id: `range-value-${question.name}`, for: ctx.id },
    value === undefined || value === null || value === "" ? t("range_unset") : String(value));
  const slider = h("input", {
    type: "range", name: question.name, id: ctx.id, "aria-labelledby": ctx.labelledBy,
    min: Math.min(start, end), max: Math.max(start, end), step,
    value: value ?? Math.min(start, end),
    class: value === undefined || value === null || value === "" ? "unset" : null,
    oninput: (event) => {
      const number = Number(event.target.value);
      const text = decimals ? number.toFixed(decimals).replace(/\.?0+$/, "") || "0" : String(Math.round(number));
      shown.textContent = text;
      slider.classList.remove("unset");
      ctx.answer(text);
    },
  });
  const clear = h("button", {
    class: "link", type: "button", id: `range-clear-${question.name}`,
    onclick: () => {
      shown.textContent = t("range_unset");
      slider.classList.add("unset");
      ctx.answer("");
    },
  }, t("range_clear"));
  return h("div", { class: "range" },
    h("div", { class: "range-row" }, h("span", { class: "small muted" }, String(start)), slider,
      h("span", { class: "small muted" }, String(end))),
    h("div", { class: "range-shown" }, shown, clear));
}

function offsetText(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  return `${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** A local date and time as ISO 8601 with the phone's offset, to the millisecond. */
export function isoWithOffset(date) {
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T`
    + `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
    + offsetText(date);
}

function localInputValue(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Date and time: the phone's picker; the answer is ISO 8601 with the phone's offset. */
function datetimeWidget(ctx, question) {
  const input = h("input", {
    type: "datetime-local", name: question.name, id: ctx.id, "aria-labelledby": ctx.labelledBy,
    value: ctx.value() ? localInputValue(ctx.value()) : "",
    onchange: (event) => {
      const text = event.target.value; // "YYYY-MM-DDTHH:MM" in the phone's time
      if (!text) return ctx.answer("");
      const date = new Date(text); // a local time without offset is read as the phone's
      return ctx.answer(Number.isNaN(date.getTime()) ? "" : isoWithOffset(date));
    },
  });
  const now = h("button", {
    class: "link", type: "button", id: `now-${question.name}`,
    onclick: () => {
      const date = new Date();
      input.value = localInputValue(date.toISOString());
      ctx.answer(isoWithOffset(date));
    },
  }, t("time_now"));
  return h("div", { class: "datetime" }, input, now);
}

/** Time of day: `HH:MM:SS.sss+07:00`, with the phone's offset (ODK's format). */
function timeWidget(ctx, question) {
  const value = ctx.value();
  const input = h("input", {
    type: "time", name: question.name, id: ctx.id, "aria-labelledby": ctx.labelledBy,
    value: value ? String(value).slice(0, 5) : "",
    onchange: (event) => {
      const text = event.target.value; // "HH:MM" or "HH:MM:SS"
      if (!/^\d{2}:\d{2}/.test(text)) return ctx.answer("");
      const [hours, minutes, seconds = "00"] = text.split(":");
      const today = new Date();
      today.setHours(Number(hours), Number(minutes), Number(seconds), 0);
      return ctx.answer(`${hours}:${minutes}:${seconds.slice(0, 2).padStart(2, "0")}.000${offsetText(today)}`);
    },
  });
  return h("div", { class: "time" }, input);
}

/** Barcode: the camera reads it where the browser can (BarcodeDetector); typing always works. */
function barcodeWidget(ctx, question) {
  const input = h("input", {
    type: "text", name: question.name, id: ctx.id, "aria-labelledby": ctx.labelledBy,
    autocomplete: "off", value: ctx.value() ?? "",
    oninput: (event) => ctx.answer(event.target.value.trim()),
  });
  const status = h("p", { class: "small muted", id: `barcode-status-${question.name}`, "aria-live": "polite" });
  const canScan = "BarcodeDetector" in window && navigator.mediaDevices?.getUserMedia;
  if (!canScan) {
    status.textContent = t("barcode_type_it");
    return h("div", { class: "barcode" }, input, status);
  }
  const video = h("video", { class: "barcode-video", playsinline: true, muted: true, hidden: true });
  let stream = null;
  let timer = null;
  const stop = () => {
    clearInterval(timer);
    timer = null;
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
    scan.textContent = t("barcode_scan");
  };
  const scan = h("button", {
    class: "secondary", type: "button", id: `barcode-scan-${question.name}`,
    onclick: async () => {
      if (stream) return stop();
      try {
        const detector = new window.BarcodeDetector();
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        scan.textContent = t("barcode_stop");
        status.textContent = t("barcode_point");
        timer = setInterval(async () => {
          if (!video.isConnected) return stop();
          const found = await detector.detect(video).catch(() => []);
          if (found.length) {
            input.value = found[0].rawValue;
            ctx.answer(found[0].rawValue);
            status.textContent = t("barcode_read");
            stop();
          }
        }, 300);
      } catch {
        stop();
        status.textContent = t("barcode_no_camera");
      }
    },
  }, t("barcode_scan"));
  return h("div", { class: "barcode" }, input, scan, video, status);
}

// ---------------------------------------------------------------- every question type

/** The input of one question; `ctx` is the editor's widget context. A read-only question
 * (the form's `readonly`) shows its answer with every control disabled. */
export function widgetFor(question, ctx) {
  const element = buildWidget(question, ctx);
  if (ctx.readonly?.()) {
    element.classList.add("readonly");
    for (const control of element.querySelectorAll("input, select, textarea, button")) control.disabled = true;
    if (element.matches("input, select, textarea, button")) element.disabled = true;
  }
  return element;
}

function buildWidget(question, ctx) {
  const name = question.name;
  const value = ctx.value();
  const labelledBy = ctx.labelledBy;
  switch (question.type) {
    case "select_one":
      if (question.appearance === "minimal" || /\bminimal\b/.test(question.appearance ?? "")) {
        return h("select", {
          name, id: ctx.id, "aria-labelledby": labelledBy, class: "dropdown",
          onchange: (event) => ctx.answer(event.target.value),
        },
        h("option", { value: "", selected: !value }, t("dropdown_choose")),
        ctx.choices().map((choice) => h("option", {
          value: choiceValue(choice), selected: value === choiceValue(choice),
        }, pick(choice.label) || choiceValue(choice))));
      }
      return h("div", { class: "choices", role: "radiogroup", "aria-labelledby": labelledBy },
        ctx.choices().map((choice) => h("label", { class: "choice" },
          h("input", {
            type: "radio", name, value: choiceValue(choice), checked: value === choiceValue(choice),
            onchange: (event) => ctx.answer(event.target.value),
          }),
          h("span", {}, pick(choice.label)))));
    case "select_multiple": {
      const group = h("div", { class: "choices", role: "group", "aria-labelledby": labelledBy });
      const selected = new Set(String(value ?? "").split(/\s+/).filter(Boolean));
      group.append(h("p", { class: "hint" }, t("select_hint")));
      for (const choice of ctx.choices()) {
        group.append(h("label", { class: "choice" },
          h("input", {
            type: "checkbox", name, value: choiceValue(choice), checked: selected.has(choiceValue(choice)),
            onchange: () => {
              const values = [...group.querySelectorAll("input:checked")].map((i) => i.value);
              ctx.answer(values.join(" "));
            },
          }),
          h("span", {}, pick(choice.label))));
      }
      return group;
    }
    case "rank":
      return rankWidget(ctx, question);
    case "range":
      return rangeWidget(ctx, question);
    case "integer":
    case "decimal":
      return h("input", {
        type: "text", name, id: ctx.id, "aria-labelledby": labelledBy,
        inputmode: question.type === "integer" ? "numeric" : "decimal",
        value: value ?? "",
        oninput: (event) => ctx.answer(event.target.value.trim()),
      });
    case "date":
      return h("input", {
        type: "date", name, id: ctx.id, "aria-labelledby": labelledBy, value: value ?? "",
        onchange: (event) => ctx.answer(event.target.value),
      });
    case "datetime":
      return datetimeWidget(ctx, question);
    case "time":
      return timeWidget(ctx, question);
    case "barcode":
      return barcodeWidget(ctx, question);
    case "acknowledge":
      return h("label", { class: "choice acknowledge" },
        h("input", {
          type: "checkbox", name, id: ctx.id, "aria-labelledby": labelledBy, checked: value === "OK",
          onchange: (event) => ctx.answer(event.target.checked ? "OK" : ""),
        }),
        h("span", {}, t("acknowledge_ok")));
    case "geopoint":
      return gpsWidget(ctx, question);
    case "geotrace":
    case "geoshape":
      return traceWidget(ctx, question);
    case "image":
      return photoWidget(ctx, question);
    case "audio":
    case "file":
      return fileWidget(ctx, question);
    case "note":
      return h("span");
    default: {
      const multiline = question.appearance === "multiline";
      return h(multiline ? "textarea" : "input", {
        type: multiline ? null : "text", name, id: ctx.id, "aria-labelledby": labelledBy,
        inputmode: /phone/.test(name) ? "tel" : null,
        value: multiline ? null : value ?? "",
        oninput: (event) => ctx.answer(event.target.value),
      }, multiline ? value ?? "" : null);
    }
  }
}
