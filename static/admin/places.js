/* The admin page's places: publishing a city (PATCH /api/v1/cities/{slug}) and importing
 * its ward and settlement boundaries (POST /api/v1/cities/{slug}/boundaries) with the
 * upload's progress (XMLHttpRequest: fetch cannot report it), then an honest "importing"
 * state while the server checks and stores the files, then its summary or every problem. */
(function () {
  "use strict";

  var admin = window.cdfmapAdmin;
  var config = admin.config;
  var texts = admin.texts;
  var say = admin.say;
  var el = admin.el;
  var cityName = admin.cityName;
  var failure = admin.failure;
  var withLanguage = admin.withLanguage;
  var csrf = admin.csrf;
  var api = admin.api;
  var SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;

  // --- cities ---------------------------------------------------------------------------------

  document.querySelectorAll("li.city").forEach(function (item) {
    var slug = item.dataset.slug;
    var box = item.querySelector("input.publish");
    var status = item.querySelector(".publish-status");
    box.addEventListener("change", function () {
      var wanted = box.checked;
      box.disabled = true;
      api("PATCH", "/api/v1/cities/" + encodeURIComponent(slug), { public_aggregates: wanted })
        .then(function (answer) {
          box.disabled = false;
          box.checked = answer.public_aggregates;
          var done = answer.public_aggregates ? "admin_published" : "admin_unpublished";
          status.className = "publish-status done";
          status.textContent = say(done, { city: cityName(slug) });
        })
        .catch(function (error) {
          box.disabled = false;
          box.checked = !wanted;
          status.className = "publish-status error";
          status.textContent = error.message;
        });
    });
  });

  // --- the priority score's weights (PATCH /api/v1/cities/{slug}, priority_weights) ----------

  document.querySelectorAll("li.city").forEach(function (item) {
    var slug = item.dataset.slug;
    var form = item.querySelector("form.weights-form");
    var source = item.querySelector(".weights-source");
    var status = item.querySelector(".weights-status");
    var buttons = form.querySelectorAll("button");
    var inputs = form.querySelectorAll("input");

    function send(weights, done) {
      buttons.forEach(function (b) {
        b.disabled = true;
      });
      status.className = "weights-status";
      status.textContent = "";
      api("PATCH", "/api/v1/cities/" + encodeURIComponent(slug), { priority_weights: weights })
        .then(function (answer) {
          var own = answer.priority_weights;
          var shown = own || config.common_weights;
          inputs.forEach(function (input) {
            input.value = String(shown[input.name]);
          });
          source.textContent = own ? texts.admin_weights_own : texts.admin_weights_common;
          status.className = "weights-status done";
          status.textContent = say(done, { city: cityName(slug) });
        })
        .catch(function (error) {
          status.className = "weights-status error";
          status.textContent = error.message;
        })
        .then(function () {
          buttons.forEach(function (b) {
            b.disabled = false;
          });
        });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var weights = {};
      inputs.forEach(function (input) {
        // An empty or unreadable box goes as null: the server names it, in the page's language.
        var value = input.value.trim() === "" ? NaN : Number(input.value);
        weights[input.name] = isFinite(value) ? value : null;
      });
      send(weights, "admin_weights_saved");
    });
    form.querySelector("button.weights-common").addEventListener("click", function () {
      send(null, "admin_weights_reset_done");
    });
  });

  // --- boundaries -----------------------------------------------------------------------------

  var boundaryForm = document.getElementById("boundaries-form");
  var citySelect = document.getElementById("boundary-city");
  var newCity = document.getElementById("new-city-fields");
  var importButton = document.getElementById("import-button");
  var progress = document.getElementById("import-progress");
  var progressBar = document.getElementById("import-bar");
  var progressState = document.getElementById("import-state");
  var result = document.getElementById("import-result");
  var OPTIONS = [
    "crs",
    "wards_layer",
    "wards_code_field",
    "wards_name_field",
    "settlements_layer",
    "settlements_code_field",
    "settlements_name_field",
    "settlements_ward_field",
  ];

  function showNewCity() {
    newCity.hidden = citySelect.value !== "";
  }
  citySelect.addEventListener("change", showNewCity);
  showNewCity();

  function showResult(kind, heading, lines) {
    result.replaceChildren();
    result.className = "import-result " + kind;
    result.appendChild(el("p", "result-heading", heading));
    if (lines && lines.length) {
      var list = el("ul", "result-lines");
      lines.forEach(function (line) {
        list.appendChild(el("li", null, line));
      });
      result.appendChild(list);
    }
  }

  function imported(summary, name) {
    var heading = say("admin_imported", {
      city: name,
      wards: summary.wards,
      settlements: summary.settlements,
      households: summary.households_placed_again,
    });
    var lines = [];
    Object.keys(summary.crs || {}).forEach(function (layer) {
      var label = layer === "wards" ? texts.admin_wards_options : texts.admin_settlements_options;
      lines.push(label + ": " + summary.crs[layer]);
    });
    showResult("done", heading, lines);
    if (summary.warnings && summary.warnings.length) {
      result.appendChild(el("p", "result-heading warning", texts.admin_warnings));
      var list = el("ul", "result-lines warnings");
      summary.warnings.forEach(function (warning) {
        list.appendChild(el("li", null, warning.message));
      });
      result.appendChild(list);
    }
    if (summary.created) {
      config.cities.push({ id: null, slug: summary.city, name: name, public: false });
      var option = el("option", null, name + " (" + summary.city + ")");
      option.value = summary.city;
      citySelect.insertBefore(option, citySelect.lastElementChild);
      citySelect.value = summary.city;
      showNewCity();
    }
  }

  boundaryForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var elements = boundaryForm.elements;
    var wards = elements.wards.files[0];
    var settlements = elements.settlements.files[0];
    var creating = citySelect.value === "";
    var slug = creating ? document.getElementById("new-city-slug").value.trim() : citySelect.value;
    var name = creating ? elements.name.value.trim() : cityName(slug);
    var problem = "";
    if (creating && !SLUG.test(slug)) problem = texts.admin_city_slug_hint;
    else if (creating && !name) problem = texts.admin_city_name + ": " + texts.missing;
    else if (!wards) problem = texts.admin_choose_file;
    else if (wards.size + (settlements ? settlements.size : 0) > config.max_upload_bytes) {
      problem = say("admin_files_too_large", { mb: Math.floor(config.max_upload_bytes / 1048576) });
    }
    if (problem) {
      showResult("error", problem, []);
      return;
    }
    var data = new FormData();
    data.append("wards", wards, wards.name);
    if (settlements) data.append("settlements", settlements, settlements.name);
    if (creating) {
      data.append("name", name);
      if (elements.province.value.trim()) data.append("province", elements.province.value.trim());
    }
    OPTIONS.forEach(function (field) {
      var value = elements[field].value.trim();
      if (value) data.append(field, value);
    });

    var request = new XMLHttpRequest();
    request.open("POST", withLanguage("/api/v1/cities/" + encodeURIComponent(slug) + "/boundaries"));
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRF-Token", csrf);
    importButton.disabled = true;
    result.replaceChildren();
    progress.hidden = false;
    progressBar.value = 0;
    progressState.textContent = say("admin_uploading", { percent: 0 });
    request.upload.addEventListener("progress", function (upload) {
      if (!upload.lengthComputable) return;
      var percent = Math.floor((100 * upload.loaded) / Math.max(upload.total, 1));
      progressBar.value = percent;
      progressState.textContent = say("admin_uploading", { percent: percent });
    });
    request.upload.addEventListener("load", function () {
      progressBar.removeAttribute("value"); // the server is at work: no percent to show
      progressState.textContent = texts.admin_importing;
    });
    request.addEventListener("load", function () {
      importButton.disabled = false;
      progress.hidden = true;
      var data = null;
      try {
        data = request.responseText ? JSON.parse(request.responseText) : null;
      } catch (ignored) {
        data = null;
      }
      if (request.status === 200 || request.status === 201) {
        imported(data, name);
        return;
      }
      var error = failure(request.status, data);
      if (request.status === 422 && error.problems.length) {
        showResult("error", texts.admin_import_refused, error.problems);
      } else {
        showResult("error", error.message, []);
      }
    });
    request.addEventListener("error", function () {
      importButton.disabled = false;
      progress.hidden = true;
      showResult("error", texts.admin_network_error, []);
    });
    request.send(data);
  });
})();
