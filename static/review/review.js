/* The review page: the queue of a ward's received surveys, one map, decisions, bulk approval
 * and counts per volunteer. Everything that comes from data (names, answers, comments,
 * settlement names) reaches the DOM through textContent, never as HTML. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("review-config").textContent);
  var page = window.cdfmapPage(config, "review");
  var texts = page.texts;
  var language = page.language;
  var say = page.say;
  var el = page.el;
  var when = page.when;
  var api = page.api;
  var isolate = page.isolate;
  var sayNames = page.sayNames;
  var confirmAction = page.confirmAction;
  var wardId = config.ward.id;
  var DECISIONS = ["approved", "needs_correction", "rejected"];
  var ACTION_TEXT = {
    approved: "review_approve",
    needs_correction: "review_send_back",
    rejected: "review_reject",
  };
  var ACTION_CLASS = { approved: "approve", needs_correction: "secondary", rejected: "danger" };
  var TOAST_SECONDS = 10;

  var queue = document.getElementById("queue");
  var queueTitle = document.getElementById("queue-title");
  var bulkTitle = document.getElementById("bulk-title");
  var queueStatus = document.getElementById("queue-status");
  var queueCount = document.getElementById("queue-count");
  var loadMore = document.getElementById("load-more");
  var toast = document.getElementById("toast");
  var toastText = document.getElementById("toast-text");
  var toastChange = document.getElementById("toast-change");

  var state = {
    surveys: new Map(), // id -> survey record from the API
    total: 0, // received surveys of the ward on the server
    pending: 0, // cards in the queue still waiting for a decision
    after: null, // the server's cursor of the page after the last one read (null: none yet)
    selected: null,
    toastTimer: null,
  };

  var numberFormat = new Intl.NumberFormat(language === "vi" ? "vi-VN" : "en-GB");

  /** How the page shows a survey of this form: its title, the question a card is titled
   * by and the questions listed (from the forms the server knows; a form it no longer knows
   * is named by its id and lists its answers by their names). */
  function formOf(survey) {
    var known = config.forms[survey.form_id];
    if (known) return known;
    var answers = survey.answers || {};
    return {
      title: survey.form_id,
      title_question: null,
      title_label: "",
      untitled: null,
      questions: Object.keys(answers),
      answers: {},
    };
  }

  /** The text a survey is named by (its head of household, its settlement's name...). */
  function titleOf(survey) {
    var form = formOf(survey);
    var answers = survey.answers || {};
    var value = form.title_question ? answers[form.title_question] : null;
    if (value !== null && value !== undefined && value !== "") return String(value);
    return null;
  }

  function answerText(form, name, value) {
    var known = form.answers[name];
    var choices = (known && known.choices) || {};
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "string" && Object.keys(choices).length) {
      return value
        .split(" ")
        .map(function (part) {
          return Object.prototype.hasOwnProperty.call(choices, part) ? choices[part] : part;
        })
        .join(", ");
    }
    if (typeof value === "number") return numberFormat.format(value);
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  /** Whether the reviewer collected this survey: nobody reviews their own (four eyes), so
   * its card has no decision and its settlement's bulk approval leaves it. */
  function isOwn(survey) {
    return config.user_id !== null && config.user_id !== undefined
      && survey.collector_user_id === config.user_id;
  }

  function flagLabel(flag) {
    return Object.prototype.hasOwnProperty.call(config.flags, flag) ? config.flags[flag] : flag;
  }

  // --- the map ----------------------------------------------------------------------------

  var map = null;
  var outlineLayer = null;
  var settlementShapes = new Map(); // settlement id -> Leaflet layer
  var pointsLayer = null;
  var dots = new Map(); // survey id -> circle marker
  var selectedLayer = null;
  var mapCaption = document.getElementById("map-caption");
  var SETTLEMENT_STYLE = { color: "#1b6e3c", weight: 1.5, fillColor: "#1b6e3c", fillOpacity: 0.08 };
  var SETTLEMENT_SELECTED = { color: "#0b4f8a", weight: 3, fillColor: "#0b4f8a", fillOpacity: 0.18 };
  var DOT_STYLE = { radius: 5, color: "#ffffff", weight: 1, fillColor: "#5b6b60", fillOpacity: 0.9 };

  function startMap() {
    if (!window.L) return;
    map = L.map("review-map", {
      zoomControl: false,
      zoomSnap: 0.25,
      attributionControl: false,
    });
    // Leaflet's own words in the page's language (the page's leaflet-texts meta element, from
    // the catalogue; the map pages set them with static/maps/leaflet-texts.js).
    var meta = document.querySelector('meta[name="leaflet-texts"]');
    var words = meta ? JSON.parse(meta.content) : {};
    L.control
      .zoom({ zoomInTitle: words.zoomIn || "Zoom in", zoomOutTitle: words.zoomOut || "Zoom out" })
      .addTo(map);
    if (config.basemap) {
      var prefix = L.Control.Attribution.prototype.options.prefix;
      if (words.leaflet && typeof prefix === "string") {
        var title = words.leaflet.replace(/[&<>"']/g, function (c) {
          return "&#" + c.charCodeAt(0) + ";";
        });
        prefix = prefix.replace(/title="[^"]*"/, 'title="' + title + '"');
      }
      L.control.attribution({ prefix: prefix }).addTo(map);
    }
    if (config.basemap) {
      L.tileLayer(config.basemap.url, {
        maxZoom: 19,
        attribution: config.basemap.attribution,
      }).addTo(map);
    }
    map.setView([15.57, 108.47], 13);
    pointsLayer = L.layerGroup().addTo(map);
    api("GET", "/api/v1/wards/" + wardId + "/outline")
      .then(function (outline) {
        outlineLayer = L.geoJSON(outline, {
          interactive: false,
          style: function (feature) {
            return feature.properties.kind === "ward"
              ? { color: "#1d2a22", weight: 3, fill: false, dashArray: "6 4" }
              : SETTLEMENT_STYLE;
          },
          onEachFeature: function (feature, layer) {
            if (feature.properties.kind === "settlement") {
              settlementShapes.set(feature.properties.id, layer);
            }
          },
        }).addTo(map);
        outlineLayer.bringToBack();
        if (outline.bbox) {
          map.fitBounds(
            [
              [outline.bbox[1], outline.bbox[0]],
              [outline.bbox[3], outline.bbox[2]],
            ],
            { padding: [8, 8] }
          );
        }
        if (state.selected) showOnMap(state.surveys.get(state.selected), false);
      })
      .catch(function (error) {
        mapCaption.textContent = error.message;
      });
  }

  function addDot(survey) {
    // A survey of a form that asks no point (a settlement profile) has none to show.
    if (!map || !survey.location || dots.has(survey.id)) return;
    var dot = L.circleMarker([survey.location.lat, survey.location.lon], DOT_STYLE);
    dot.on("click", function () {
      select(survey.id, true);
    });
    dot.addTo(pointsLayer);
    dots.set(survey.id, dot);
  }

  function removeDot(id) {
    var dot = dots.get(id);
    if (dot) {
      pointsLayer.removeLayer(dot);
      dots.delete(id);
    }
  }

  function showOnMap(survey, move) {
    if (!map) return;
    if (selectedLayer) map.removeLayer(selectedLayer);
    settlementShapes.forEach(function (layer) {
      layer.setStyle(SETTLEMENT_STYLE);
    });
    selectedLayer = null;
    if (!survey) {
      mapCaption.textContent = "";
      return;
    }
    var shape = survey.settlement ? settlementShapes.get(survey.settlement.id) : null;
    if (shape) shape.setStyle(SETTLEMENT_SELECTED);
    // The settlement's name in its own <bdi>: its letters cannot reorder the caption.
    mapCaption.textContent = "";
    mapCaption.appendChild(
      survey.settlement
        ? isolate(survey.settlement.name)
        : document.createTextNode(texts.review_no_settlement)
    );
    var caption = "";
    if (!survey.location) {
      mapCaption.appendChild(document.createTextNode(" · " + texts.review_no_location));
      return;
    }
    var point = [survey.location.lat, survey.location.lon];
    var accuracy = survey.location.accuracy_m;
    selectedLayer = L.layerGroup();
    if (accuracy) {
      L.circle(point, {
        radius: accuracy,
        color: "#b3261e",
        weight: 1,
        fillOpacity: 0.1,
        interactive: false,
      }).addTo(selectedLayer);
    }
    L.circleMarker(point, {
      radius: 9,
      color: "#ffffff",
      weight: 3,
      fillColor: "#b3261e",
      fillOpacity: 1,
      interactive: false,
    }).addTo(selectedLayer);
    selectedLayer.addTo(map);
    if (move) map.setView(point, Math.max(map.getZoom(), 16));
    // A point the volunteer placed by hand (GPS poor or off) has no GPS accuracy to show.
    if (survey.location.manual) caption += " · " + say("review_manual");
    else if (accuracy) caption += " · " + say("review_gps", { m: Math.round(accuracy) });
    mapCaption.appendChild(document.createTextNode(caption));
  }

  // --- the queue --------------------------------------------------------------------------

  function setCount() {
    queueCount.textContent = "(" + say("review_waiting_count", { n: state.total }) + ")";
  }

  function showQueueStatus(message, retry) {
    queueStatus.textContent = "";
    if (!message) {
      queueStatus.hidden = true;
      return;
    }
    queueStatus.hidden = false;
    queueStatus.appendChild(el("span", null, message));
    if (retry) {
      var again = el("button", "secondary", texts.review_retry);
      again.type = "button";
      again.addEventListener("click", retry);
      queueStatus.appendChild(again);
    }
  }

  function updateEmpty() {
    if (!queue.querySelector("li.survey")) {
      showQueueStatus(texts.review_empty);
    } else if (queueStatus.textContent === texts.review_empty) {
      showQueueStatus("");
    }
    loadMore.hidden = state.after === null && state.pending >= state.total;
  }

  function card(survey) {
    var item = el("li", "survey");
    item.dataset.id = survey.id;
    var answers = survey.answers || {};
    var form = formOf(survey);

    var summary = el("button", "survey-summary");
    summary.type = "button";
    summary.setAttribute("aria-pressed", "false");
    summary.title = texts.review_show_on_map;
    var name = el("span", "head-name");
    if (form.title_question) {
      name.appendChild(el("span", "label", form.title_label + ": "));
      name.appendChild(el("strong", null, titleOf(survey) || form.untitled || "—"));
    } else {
      name.appendChild(el("strong", null, form.title));
    }
    summary.appendChild(name);
    var meta = el("span", "meta");
    meta.appendChild(el("span", "form-title", form.title));
    meta.appendChild(el("span", "settlement", survey.settlement ? survey.settlement.name : texts.review_no_settlement));
    meta.appendChild(el("span", "collected", texts.review_collected + ": " + when(survey.collected_at)));
    meta.appendChild(el("span", "collector", texts.review_collector + ": " + (survey.collector || "—")));
    summary.appendChild(meta);
    summary.addEventListener("click", function () {
      select(survey.id, true);
    });
    item.appendChild(summary);

    if (survey.flags && survey.flags.length) {
      var flags = el("ul", "flags");
      flags.setAttribute("aria-label", texts.review_flags);
      survey.flags.forEach(function (flag) {
        var chip = el("li", "flag", flagLabel(flag));
        chip.dataset.flag = flag;
        flags.appendChild(chip);
      });
      item.appendChild(flags);
    }

    var list = el("dl", "answers");
    form.questions.forEach(function (question) {
      if (!Object.prototype.hasOwnProperty.call(answers, question)) return;
      var known = form.answers[question];
      var row = el("div", "answer");
      row.appendChild(el("dt", null, known ? known.label : question));
      var text = answerText(form, question, answers[question]);
      // A point the volunteer placed by hand (GPS poor or off): no GPS measured it.
      if ((survey.manual_points || []).indexOf(question) >= 0) text += " · " + say("review_manual");
      row.appendChild(el("dd", null, text));
      list.appendChild(row);
    });
    item.appendChild(list);

    var current = el("p", "current-decision");
    current.hidden = true;
    item.appendChild(current);

    if (isOwn(survey)) {
      // Another leader or the city admin reviews it: no comment, no decision here.
      item.dataset.own = "true";
      item.classList.add("own");
      item.appendChild(el("p", "own-note", texts.review_own));
      item.addEventListener("click", function (event) {
        if (event.target.closest("button, a")) return;
        select(survey.id, false);
      });
      return item;
    }

    var commentId = "comment-" + survey.id;
    var label = el("label", null, texts.review_comment);
    label.htmlFor = commentId;
    var comment = document.createElement("textarea");
    comment.id = commentId;
    comment.className = "comment";
    comment.rows = 2;
    comment.maxLength = 1000;
    item.appendChild(label);
    item.appendChild(comment);

    var actions = el("div", "actions");
    DECISIONS.forEach(function (decision) {
      var button = el("button", "decide " + ACTION_CLASS[decision], texts[ACTION_TEXT[decision]]);
      button.type = "button";
      button.dataset.decision = decision;
      button.addEventListener("click", function () {
        decide(survey.id, decision);
      });
      actions.appendChild(button);
    });
    var keep = el("button", "keep secondary", texts.review_keep);
    keep.type = "button";
    keep.hidden = true;
    keep.addEventListener("click", function () {
      removeCard(survey.id);
    });
    actions.appendChild(keep);
    item.appendChild(actions);

    var error = el("p", "error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    item.appendChild(error);

    item.addEventListener("click", function (event) {
      if (event.target.closest("button, textarea, label, a")) return;
      select(survey.id, false);
    });
    return item;
  }

  function cardOf(id) {
    return queue.querySelector('li.survey[data-id="' + CSS.escape(id) + '"]');
  }

  /** Select a survey: its card is marked (and scrolled to), the map shows its point (and
   * moves there unless `stay`). */
  function select(id, scroll, stay) {
    var previous = state.selected ? cardOf(state.selected) : null;
    if (previous) {
      previous.classList.remove("selected");
      previous.querySelector(".survey-summary").setAttribute("aria-pressed", "false");
    }
    state.selected = id;
    var item = id ? cardOf(id) : null;
    if (item) {
      item.classList.add("selected");
      item.querySelector(".survey-summary").setAttribute("aria-pressed", "true");
      if (scroll && !isVisible(item)) item.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
    dots.forEach(function (dot, dotId) {
      dot.setStyle({ fillColor: dotId === id ? "#b3261e" : DOT_STYLE.fillColor });
    });
    showOnMap(id ? state.surveys.get(id) : null, !stay);
  }

  function isVisible(node) {
    var box = node.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  }

  /** Add the surveys not shown yet (a card already in the queue stays as it is); how many
   * were added. */
  function addSurveys(items) {
    var added = 0;
    items.forEach(function (survey) {
      if (state.surveys.has(survey.id) && cardOf(survey.id)) return;
      state.surveys.set(survey.id, survey);
      queue.appendChild(card(survey));
      addDot(survey);
      state.pending += 1;
      added += 1;
    });
    return added;
  }

  /** Read the queue on from the last page read, by the server's cursor (the collected time
   * and id of the last survey read: a survey decided or sent meanwhile moves no other one),
   * until some survey not shown yet is found. At the end of the queue it is read once more
   * from its start, whole: that counts it again and finds the surveys sent since the page
   * opened (new ones are the newest, at its start), or decided elsewhere. */
  function readQueue(whole, fromStart, added) {
    // whole: read on to the queue's end; fromStart: these reads began at the queue's start.
    var path =
      "/api/v1/submissions?ward=" + wardId + "&status=received&limit=" + config.page_size;
    if (state.after) path += "&after=" + encodeURIComponent(state.after);
    return api("GET", path).then(function (page) {
      if (page.total !== null && page.total !== undefined) state.total = page.total;
      added += addSurveys(page.items);
      state.after = page.next || null;
      if (state.after) {
        if (added && !whole) return added;
        return readQueue(whole, fromStart, added);
      }
      if (fromStart) return added;
      return readQueue(true, true, added); // state.after is null: from the start
    });
  }

  function loadQueue(reset) {
    if (reset) {
      queue.textContent = "";
      state.surveys.clear();
      state.pending = 0;
      state.after = null;
      dots.forEach(function (dot, id) {
        removeDot(id);
      });
      select(null, false);
    }
    showQueueStatus(texts.review_loading);
    loadMore.disabled = true;
    return readQueue(false, state.after === null, 0)
      .then(function () {
        setCount();
        showQueueStatus("");
        var first = queue.querySelector("li.survey");
        if (!state.selected && first) select(first.dataset.id, false, true);
        updateEmpty();
      })
      .catch(function (error) {
        showQueueStatus(error.message, function () {
          loadQueue(false);
        });
      })
      .then(function () {
        loadMore.disabled = false;
      });
  }

  // --- decisions --------------------------------------------------------------------------

  function showError(item, message) {
    var error = item.querySelector(".error");
    error.textContent = message || "";
    error.hidden = !message;
  }

  function setBusy(item, busy) {
    item.classList.toggle("busy", busy);
    item.querySelectorAll("button.decide, button.keep").forEach(function (button) {
      button.disabled = busy || button.dataset.decision === item.dataset.decided;
    });
  }

  /** Whether the reviewer's focus is in this card, or lost (on the body: the button tapped
   * was disabled while its decision was sent). Only then does the page move it: never away
   * from where the reviewer put it meanwhile (another card's comment...). */
  function focusIn(item) {
    var active = document.activeElement;
    return !active || active === document.body || item.contains(active);
  }

  /** Focus a card's heading (its summary button, named by the survey: what a screen reader
   * reads first, and no decision a second tap or Enter would take by mistake); with no card
   * left, "load more" when there are more, else the queue's heading. */
  function focusCard(item) {
    if (item && item.isConnected) {
      item.querySelector(".survey-summary").focus();
    } else if (!loadMore.hidden) {
      loadMore.focus();
    } else {
      queueTitle.focus();
    }
  }

  /** Take a card out of the queue; the reviewer's focus, when it was in it, moves to the
   * card that takes its place (the next, else the one before), else to the queue. */
  function removeCard(id) {
    var item = cardOf(id);
    if (!item) return;
    var next = item.nextElementSibling || item.previousElementSibling;
    var moveFocus = focusIn(item);
    if (!item.dataset.decided) {
      state.pending -= 1;
      state.total = Math.max(0, state.total - 1);
    }
    item.remove();
    removeDot(id);
    setCount();
    if (state.selected === id) select(next ? next.dataset.id : null, false);
    updateEmpty();
    if (moveFocus) focusCard(next);
  }

  function decide(id, decision) {
    var item = cardOf(id);
    if (!item) return;
    var comment = item.querySelector("textarea.comment");
    var text = comment.value.trim();
    if (decision !== "approved" && !text) {
      showError(item, texts.comment_required);
      comment.focus();
      return;
    }
    showError(item, "");
    setBusy(item, true);
    var survey = state.surveys.get(id);
    var body = { decision: decision, comment: text || null };
    // The survey as this page last had it from the server (waiting, or the decision taken
    // here, to be changed): the server refuses the decision if the volunteer corrected it
    // meanwhile (409 review_version_changed) or someone decided it (review_status_changed).
    if (survey && Number.isInteger(survey.version)) {
      body.version = survey.version;
      if (survey.status) body.status = survey.status;
    }
    api("POST", "/api/v1/submissions/" + encodeURIComponent(id) + "/review", body)
      .then(function (result) {
        var position = Array.prototype.indexOf.call(queue.children, item);
        setBusy(item, false);
        removeCard(id);
        var survey = state.surveys.get(id);
        if (survey) survey.status = result.status; // as the server has it now
        var done = document.createDocumentFragment();
        done.appendChild(document.createTextNode(texts["review_done_" + result.status] + ": "));
        done.appendChild(isolate(toastName(survey)));
        showToast(
          done,
          function () {
            restoreCard(survey, result.status, text, position);
          }
        );
        loadCounts();
      })
      .catch(function (error) {
        setBusy(item, false);
        if (error.code === "review_version_changed" || error.code === "review_status_changed") {
          reloadSurvey(id, text, error.code, error.data);
          return;
        }
        if (error.status === 404 && error.code === "not_found") { // our server's, not a proxy's
          // Deleted (or moved out of the reviewer's area) meanwhile: nothing left to decide,
          // so the card leaves the queue instead of offering its buttons for ever.
          var gone = toastName(state.surveys.get(id));
          removeCard(id);
          showToast(sayNames("review_survey_gone", { name: gone }, ["name"]));
          loadCounts();
          return;
        }
        showError(item, error.message);
        // The card stays: focus back on the button tapped (lost while it was disabled).
        var tapped = item.querySelector('button.decide[data-decision="' + decision + '"]');
        if (item.isConnected && focusIn(item) && tapped && !tapped.disabled) tapped.focus();
      });
  }

  /** The survey changed while the reviewer looked at it: its card shows it as it is now
   * (with the comment being written), and says why; one no longer waiting leaves the queue
   * (`why`: the server's code, review_status_changed when it was decided meanwhile;
   * `refusal`: the server's answer, whose `decided_by_you` says the decision is the
   * reviewer's own, taken by an earlier tap whose answer was lost). */
  function reloadSurvey(id, comment, why, refusal) {
    var item = cardOf(id);
    var yours = why === "review_status_changed" && !!refusal && refusal.decided_by_you === true;
    api("GET", "/api/v1/submissions/" + encodeURIComponent(id))
      .then(function (survey) {
        item = cardOf(id);
        if (!item) return;
        var moveFocus = focusIn(item);
        if (survey.status !== "received") {
          var old = state.surveys.get(id);
          var name = toastName(old || survey);
          var position = Array.prototype.indexOf.call(queue.children, item);
          removeCard(id);
          var decided = texts["review_done_" + survey.status];
          if (yours && decided) {
            // The reviewer's own decision stands: said so, and theirs to change (the card
            // comes back as the server has it, with the comment of the later tap).
            state.surveys.set(id, survey);
            showToast(
              sayNames("review_decided_yours", { name: name, decision: decided }, ["name"]),
              function () {
                restoreCard(survey, survey.status, comment, position);
              }
            );
          } else {
            showToast(
              why === "review_status_changed" && decided
                ? sayNames("review_decided_gone", { name: name, decision: decided }, ["name"])
                : sayNames("review_changed_gone", { name: name }, ["name"])
            );
          }
          loadCounts();
          return;
        }
        state.surveys.set(id, survey);
        var fresh = card(survey);
        if (item.dataset.decided) {
          // A decided card put back to change its decision: decided it stays.
          fresh.dataset.decided = item.dataset.decided;
          fresh.classList.add("decided");
          var current = item.querySelector(".current-decision");
          var shown = fresh.querySelector(".current-decision");
          shown.textContent = current.textContent;
          shown.hidden = current.hidden;
          fresh.querySelector("button.keep").hidden = false;
        }
        fresh.querySelector("textarea.comment").value = comment || "";
        queue.replaceChild(fresh, item);
        setBusy(fresh, false);
        removeDot(id);
        addDot(survey);
        if (state.selected === id) select(id, false, true);
        showError(fresh, say("review_changed", { version: survey.version }));
        // Its new content is to be read before deciding: focus on the card's heading.
        if (moveFocus) focusCard(fresh);
        loadCounts();
      })
      .catch(function (error) {
        item = cardOf(id);
        if (item) showError(item, error.message);
      });
  }

  /** What the toast names a decided survey by: its title, else what its form says of a
   * survey without one (a household's "(no name)"), else its form's title. */
  function toastName(survey) {
    if (!survey) return "";
    var form = formOf(survey);
    return titleOf(survey) || form.untitled || form.title;
  }

  /** Put a decided survey back in the queue to change its decision (it stays decided on the
   * server until another decision is taken: nothing is undone behind the reviewer's back). */
  function restoreCard(survey, decision, comment, position) {
    if (!survey || cardOf(survey.id)) return;
    var item = card(survey);
    item.dataset.decided = decision;
    item.classList.add("decided");
    var current = item.querySelector(".current-decision");
    current.textContent = say("review_current", { decision: texts["review_done_" + decision] });
    current.hidden = false;
    item.querySelector("textarea.comment").value = comment || "";
    item.querySelector("button.keep").hidden = false;
    setBusy(item, false);
    var before = queue.children[position] || null;
    queue.insertBefore(item, before);
    addDot(survey);
    hideToast();
    select(survey.id, true);
    item.querySelector(".actions button:not([disabled])").focus();
    updateEmpty();
  }

  // --- the toast --------------------------------------------------------------------------

  function showToast(message, change) {
    clearTimeout(state.toastTimer);
    // A text, or nodes made with text only (names in <bdi>).
    toastText.textContent = "";
    toastText.appendChild(typeof message === "string" ? document.createTextNode(message) : message);
    toastChange.hidden = !change;
    toastChange.onclick = change || null;
    toast.hidden = false;
    state.toastTimer = setTimeout(hideToast, TOAST_SECONDS * 1000);
  }

  function hideToast() {
    clearTimeout(state.toastTimer);
    toast.hidden = true;
    toastChange.onclick = null;
  }

  // --- settlements and volunteers ---------------------------------------------------------

  /** The surveys of a settlement this page shows waiting, without flags, with the versions
   * shown: what its bulk approval approves (the reviewer saw them). */
  function shownOf(settlement) {
    var shown = [];
    queue.querySelectorAll("li.survey").forEach(function (item) {
      var survey = state.surveys.get(item.dataset.id);
      if (!survey || item.dataset.decided || isOwn(survey)) return;
      if (!survey.settlement || survey.settlement.id !== settlement.id) return;
      if ((survey.flags && survey.flags.length) || !Number.isInteger(survey.version)) return;
      shown.push({ id: survey.id, version: survey.version });
    });
    return shown;
  }

  function approveSettlement(settlement, button) {
    var error = button.parentNode.querySelector(".error");
    error.hidden = true;
    var shown = shownOf(settlement);
    if (!shown.length) {
      error.textContent = texts.review_bulk_none_shown;
      error.hidden = false;
      return;
    }
    var message = sayNames(
      "review_bulk_confirm",
      { n: shown.length, settlement: settlement.name },
      ["settlement"]
    );
    var unseen = approvable(settlement) - shown.length;
    if (unseen > 0) {
      message.appendChild(document.createTextNode(" " + say("review_bulk_unseen", { n: unseen })));
    }
    confirmAction(message).then(function (yes) {
      if (!yes) return;
      button.disabled = true;
      // This ward's surveys only (a settlement may reach into another ward, whose surveys
      // this page neither counted nor showed), and of them only those shown, at the version
      // shown: one corrected meanwhile is left for another look.
      api("POST", "/api/v1/settlements/" + settlement.id + "/review", {
        only_unflagged: true,
        ward_id: wardId,
        surveys: shown,
      })
        .then(function (result) {
          var done = sayNames(
            "review_bulk_done",
            { n: result.approved, settlement: settlement.name },
            ["settlement"]
          );
          var more = "";
          if (result.changed) more += " " + say("review_bulk_changed", { n: result.changed });
          if (result.own) more += " " + say("review_bulk_own", { n: result.own });
          if (more) done.appendChild(document.createTextNode(more));
          showToast(done);
          // The button tapped (disabled while sent) is drawn again or gone: the focus, when
          // it was there or lost, goes back to the settlement's button, else the section.
          var lost = focusLost(button);
          loadQueue(true);
          loadCounts().then(function () {
            if (!lost || !focusLost(button)) return;
            var again = document.querySelector(
              '#settlements li[data-id="' + settlement.id + '"] button.bulk'
            );
            if (again && !again.disabled) again.focus();
            else bulkTitle.focus();
          });
        })
        .catch(function (problem) {
          button.disabled = false;
          error.textContent = problem.message;
          error.hidden = false;
        });
    });
  }

  /** Whether the focus is on `element`, gone with it, or lost on the page's body. */
  function focusLost(element) {
    var active = document.activeElement;
    return !active || active === document.body || active === element || !active.isConnected;
  }

  /** How many of a settlement's waiting surveys without flags this reviewer may approve:
   * not those they collected. */
  function approvable(settlement) {
    return Math.max(0, settlement.received_unflagged - (settlement.own_unflagged || 0));
  }

  function renderSettlements(counts) {
    var list = document.getElementById("settlements");
    list.textContent = "";
    var waiting = counts.settlements.filter(function (s) {
      return s.received > 0;
    });
    if (!waiting.length) list.appendChild(el("li", "muted", texts.review_bulk_none));
    waiting.forEach(function (settlement) {
      var item = el("li", "bulk-settlement");
      item.dataset.id = settlement.id;
      item.appendChild(el("strong", "settlement-name", settlement.name));
      item.appendChild(
        el(
          "span",
          "muted",
          say("review_bulk_waiting", {
            received: settlement.received,
            unflagged: settlement.received_unflagged,
          })
        )
      );
      var button = el("button", "bulk", say("review_bulk_button", { n: approvable(settlement) }));
      button.type = "button";
      button.disabled = approvable(settlement) === 0;
      button.addEventListener("click", function () {
        approveSettlement(settlement, button);
      });
      item.appendChild(button);
      var error = el("p", "error");
      error.setAttribute("role", "alert");
      error.hidden = true;
      item.appendChild(error);
      list.appendChild(item);
    });
    var outside = document.getElementById("outside-settlements");
    outside.hidden = !counts.received_outside_settlements;
    outside.textContent = say("review_outside_settlements", {
      n: counts.received_outside_settlements,
    });
  }

  function renderVolunteers(counts) {
    var body = document.querySelector("#volunteers tbody");
    body.textContent = "";
    if (!counts.volunteers.length) {
      var empty = el("tr");
      var cell = el("td", "muted", texts.review_no_volunteers);
      cell.colSpan = 6;
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    counts.volunteers.forEach(function (person) {
      var row = el("tr");
      var who = el("th");
      who.scope = "row";
      who.appendChild(el("span", "volunteer-name", person.name || "—"));
      if (person.username && person.username !== person.name) {
        who.appendChild(el("span", "muted username", person.username));
      }
      row.appendChild(who);
      ["received", "approved", "needs_correction", "rejected"].forEach(function (key) {
        row.appendChild(el("td", "num " + key, numberFormat.format(person[key])));
      });
      var flagged = el("td", "num flagged", numberFormat.format(person.flagged));
      var kinds = Object.keys(person.flags || {});
      if (kinds.length) {
        var detail = el("ul", "flag-counts");
        kinds.forEach(function (flag) {
          detail.appendChild(el("li", "flag", flagLabel(flag) + " × " + person.flags[flag]));
        });
        flagged.appendChild(detail);
      }
      row.appendChild(flagged);
      body.appendChild(row);
    });
  }

  function loadCounts() {
    return api("GET", "/api/v1/wards/" + wardId + "/review-counts")
      .then(function (counts) {
        renderSettlements(counts);
        renderVolunteers(counts);
      })
      .catch(function (error) {
        var list = document.getElementById("settlements");
        list.textContent = "";
        list.appendChild(el("li", "error", error.message));
      });
  }

  // --- start ------------------------------------------------------------------------------

  // The header's language link keeps the ward that is open.
  document.querySelectorAll('header a[href^="?lang="]').forEach(function (link) {
    link.href = link.getAttribute("href") + "&ward=" + encodeURIComponent(wardId);
  });
  loadMore.addEventListener("click", function () {
    loadQueue(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !toast.hidden) hideToast();
  });
  startMap();
  loadQueue(false);
  loadCounts();
})();
