// The widgets of the form renderer: one per question type, each given the question and the
// editor's context (see widgetContext in editor.js).

import * as db from "./db.js";
import { h } from "./dom.js";
import * as gps from "./gps.js";
import { pick, t } from "./i18n.js";

const GPS_WARNING_M = 20;
const PHOTO_MAX_SIDE = 1280;

// ---------------------------------------------------------------- GPS widget

let stopGps = null;

/** Stop the GPS widget's watch (called whenever the screen changes). */
export function releaseGps() {
  if (stopGps) stopGps();
  stopGps = null;
}

/** The GPS widget: watches the position, records the best fix as the survey location. */
export function gpsWidget(ctx) {
  const status = h("p", { class: "gps-status", id: "gps-status", "aria-live": "polite" });
  const accuracy = h("p", { class: "gps-accuracy", id: "gps-accuracy" });
  const warning = h("p", { class: "warning", id: "gps-warning", hidden: true });
  let waiting = false;
  const better = h("button", {
    class: "secondary", id: "gps-better", type: "button",
    onclick: () => {
      waiting = true;
      status.textContent = t("gps_waiting");
      gps.refresh();
    },
  }, t("gps_wait_better"));
  const box = h("div", { class: "gps", dataset: { state: "searching" } }, status, accuracy, warning, better);
  releaseGps();
  stopGps = gps.watch((state) => {
    if (!box.isConnected && !ctx.active()) return;
    const survey = ctx.survey();
    if (!survey) return;
    box.dataset.state = state.status;
    if (state.fix) {
      const current = survey.location;
      const improves = !current || waiting || state.fix.accuracy_m <= (current.accuracy_m ?? Infinity);
      if (improves) {
        survey.location = {
          lat: state.fix.lat, lon: state.fix.lon,
          accuracy_m: state.fix.accuracy_m, altitude_m: state.fix.altitude_m,
        };
        waiting = false;
        ctx.save();
      }
    }
    const location = survey.location;
    const messages = {
      denied: t("gps_denied"), unavailable: t("gps_unavailable"), timeout: t("gps_timeout"),
      unsupported: t("gps_unsupported"), searching: t("gps_searching"),
    };
    if (location) {
      box.dataset.state = state.status === "denied" ? "denied" : "fix";
      status.textContent = waiting ? t("gps_waiting")
        : t("gps_recorded", { lat: location.lat.toFixed(6), lon: location.lon.toFixed(6) });
      accuracy.textContent = t("gps_accuracy", { m: Math.round(location.accuracy_m ?? 0) });
      warning.hidden = !(location.accuracy_m > GPS_WARNING_M);
      warning.textContent = t("gps_poor", { limit: GPS_WARNING_M });
    } else {
      status.textContent = messages[state.status] ?? t("gps_searching");
      status.classList.toggle("error", state.status === "denied" || state.status === "unavailable");
      accuracy.textContent = "";
      warning.hidden = true;
    }
    if (box.isConnected) ctx.refresh();
  });
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

/** The photo widget: camera, resize, keep in IndexedDB; the answer is the file name. */
export function photoWidget(ctx, question) {
  const survey = ctx.survey();
  const name = question.name;
  const preview = h("img", { class: "photo-preview", alt: "", hidden: true });
  const status = h("p", { class: "small muted" });
  const remove = h("button", {
    class: "link danger", type: "button", hidden: !survey.answers[name],
    onclick: async () => {
      const old = survey.answers[name];
      if (old) await db.deletePhoto(survey.id, old).catch(ctx.storageProblem);
      preview.hidden = true;
      remove.hidden = true;
      ctx.answer("");
    },
  }, t("photo_remove"));
  const input = h("input", {
    type: "file", accept: "image/*", capture: "environment", name, id: `q-${name}`, class: "file",
    onchange: async (event) => {
      const file = event.target.files?.[0];
      if (!file) return;
      status.textContent = t("photo_processing");
      try {
        const blob = await resizePhoto(file);
        const filename = `${name}-${Date.now().toString(36)}.jpg`;
        const old = survey.answers[name];
        await db.putPhoto(survey.id, filename, blob);
        if (old) await db.deletePhoto(survey.id, old).catch(() => {}); // a leftover, not an error
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
        remove.hidden = false;
        status.textContent = "";
        ctx.answer(filename);
      } catch (error) {
        if (db.isQuotaError(error)) {
          status.textContent = t("storage_full");
          ctx.storageProblem(error);
        } else {
          status.textContent = t("photo_failed");
        }
      }
    },
  });
  if (survey.answers[name]) {
    db.getPhoto(survey.id, survey.answers[name]).then((blob) => {
      if (blob) {
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
      }
    });
  }
  return h("div", { class: "photo" },
    h("label", { class: "button secondary photo-button", for: `q-${name}` },
      survey.answers[name] ? t("photo_replace") : t("photo_take")),
    input, preview, status, remove);
}

// ---------------------------------------------------------------- every question type

/** The input of one question; `ctx` is the editor's widget context. */
export function widgetFor(question, ctx) {
  const name = question.name;
  const value = ctx.value();
  const labelledBy = ctx.labelledBy;
  switch (question.type) {
    case "select_one":
      return h("div", { class: "choices", role: "radiogroup", "aria-labelledby": labelledBy },
        ctx.choices().map((choice) => h("label", { class: "choice" },
          h("input", {
            type: "radio", name, value: choice.value, checked: value === choice.value,
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
            type: "checkbox", name, value: choice.value, checked: selected.has(choice.value),
            onchange: () => {
              const values = [...group.querySelectorAll("input:checked")].map((i) => i.value);
              ctx.answer(values.join(" "));
            },
          }),
          h("span", {}, pick(choice.label))));
      }
      return group;
    }
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
    case "geopoint":
      return gpsWidget(ctx);
    case "image":
      return photoWidget(ctx, question);
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
