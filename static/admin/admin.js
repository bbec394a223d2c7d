/* The admin page's shared pieces (static/admin/people.js and places.js use them): its
 * configuration, texts, the JSON API with the page's CSRF token, a toast and a confirmation.
 * Everything that comes from data (names, usernames, ward and city names, file names, the
 * server's messages) reaches the DOM through textContent, never as HTML. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("admin-config").textContent);
  var texts = config.texts;
  var language = config.language;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var TOAST_SECONDS = 8;
  var toast = document.getElementById("toast");
  var confirmDialog = document.getElementById("confirm");
  var state = { toastTimer: null };

  // --- text ---------------------------------------------------------------------------------

  /** A page text with {placeholders} filled (a function replacement: `$&` in data stays). */
  function say(key, params) {
    var template = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return params && Object.prototype.hasOwnProperty.call(params, name)
        ? String(params[name])
        : whole;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(label, className, onClick) {
    var node = el("button", className, label);
    node.type = "button";
    if (onClick) node.addEventListener("click", onClick);
    return node;
  }

  function labelled(id, text, control) {
    var wrap = el("div", "field");
    var label = el("label", null, text);
    label.htmlFor = id;
    control.id = id;
    wrap.appendChild(label);
    wrap.appendChild(control);
    return wrap;
  }

  var timeFormat = new Intl.DateTimeFormat(language === "vi" ? "vi-VN" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "Asia/Ho_Chi_Minh",
  });

  function when(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : timeFormat.format(date);
  }

  /** Lower case without Vietnamese diacritics: "Hòa" is found by "hoa". */
  function plain(text) {
    return String(text || "")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/đ/g, "d")
      .replace(/Đ/g, "d")
      .toLowerCase();
  }

  function cityName(slug) {
    var city = config.cities.find(function (c) {
      return c.slug === slug;
    });
    return city ? city.name : slug;
  }

  function roleLabel(grant) {
    var parts = [config.roles[grant.role] || grant.role];
    if (grant.city) parts.push(cityName(grant.city));
    if (grant.ward) parts.push(grant.ward);
    return parts.join(" · ");
  }

  function managesCity(cityId) {
    return (
      config.national ||
      config.cities.some(function (c) {
        return c.id === cityId;
      })
    );
  }

  // --- the server -------------------------------------------------------------------------

  /** The error of a failed request, with a message the admin can read. */
  function failure(status, data) {
    if (status === 401) {
      var signedOut = new Error(texts.admin_signed_out);
      signedOut.status = 401;
      return signedOut;
    }
    var message = data && typeof data.detail === "string" ? data.detail : "";
    var details = data && Array.isArray(data.errors) ? data.errors : [];
    var specific = details
      .map(function (problem) {
        return problem && typeof problem.message === "string" ? problem.message : "";
      })
      .filter(Boolean);
    var error = new Error(specific.join(" ") || message || say("admin_error", { status: status }));
    error.status = status;
    error.problems = specific;
    error.detail = message;
    return error;
  }

  function withLanguage(path) {
    return path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(language);
  }

  /** A JSON request to the API: the parsed answer, or an Error the admin can read. */
  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    var options = { method: method, headers: headers, credentials: "same-origin" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(withLanguage(path), options).then(
      function (response) {
        return response.text().then(function (raw) {
          var data = null;
          try {
            data = raw ? JSON.parse(raw) : null;
          } catch (ignored) {
            data = null;
          }
          if (response.ok) return data;
          throw failure(response.status, data);
        });
      },
      function () {
        throw new Error(texts.admin_network_error);
      }
    );
  }

  // --- toast and confirmation ---------------------------------------------------------------

  function showToast(message) {
    clearTimeout(state.toastTimer);
    toast.textContent = message;
    toast.hidden = false;
    state.toastTimer = setTimeout(function () {
      toast.hidden = true;
    }, TOAST_SECONDS * 1000);
  }

  function confirmAction(message) {
    document.getElementById("confirm-text").textContent = message;
    return new Promise(function (resolve) {
      confirmDialog.returnValue = "";
      confirmDialog.addEventListener(
        "close",
        function () {
          resolve(confirmDialog.returnValue === "confirm");
        },
        { once: true }
      );
      confirmDialog.showModal();
      document.getElementById("confirm-yes").focus();
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !toast.hidden) toast.hidden = true;
  });

  window.cdfmapAdmin = {
    config: config,
    texts: texts,
    language: language,
    csrf: csrf,
    say: say,
    el: el,
    button: button,
    labelled: labelled,
    when: when,
    plain: plain,
    cityName: cityName,
    roleLabel: roleLabel,
    managesCity: managesCity,
    failure: failure,
    withLanguage: withLanguage,
    api: api,
    showToast: showToast,
    confirmAction: confirmAction,
  };
})();
