/* What the server-rendered pages with scripts (review, admin) share: their texts, elements
 * made with text only, times, the JSON API with the page's CSRF token and language, and a
 * confirmation dialog. `cdfmapPage(config, prefix)`: `prefix` names the page's own messages
 * (`<prefix>_signed_out`, `<prefix>_error`, `<prefix>_network_error`). */
(function () {
  "use strict";

  window.cdfmapPage = function (config, prefix) {
    var texts = config.texts;
    var language = config.language;
    var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

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

    /** A time as the page's language writes it (static/pages/dates.js): 07/12/2026 10:05. */
    function when(iso) {
      return window.cdfmapDates.time(iso, language) || String(iso);
    }

    /** The error of a failed request, with a message the user can read. */
    function failure(status, data) {
      if (status === 401) {
        var signedOut = new Error(texts[prefix + "_signed_out"]);
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
      var error = new Error(
        specific.join(" ") || message || say(prefix + "_error", { status: status })
      );
      error.status = status;
      error.code = data && typeof data.code === "string" ? data.code : "";
      error.problems = specific;
      error.detail = message;
      // The whole answer too: a refusal may say more than its message (the state it found).
      error.data = data && typeof data === "object" ? data : {};
      return error;
    }

    function withLanguage(path) {
      return path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(language);
    }

    /** A page text with {placeholders} filled, as DOM nodes: the params named in `names`
     * (a settlement's, a person's name...) each in its own <bdi> element, so right-to-left
     * letters or bidi controls in a name cannot reorder the sentence around it. Text only:
     * every value reaches the DOM through textContent, never as HTML. */
    function sayNames(key, params, names) {
      var template = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
      var fragment = document.createDocumentFragment();
      var pattern = /\{(\w+)\}/g;
      var last = 0;
      var match;
      var plain = "";
      while ((match = pattern.exec(template)) !== null) {
        var name = match[1];
        plain += template.slice(last, match.index);
        last = pattern.lastIndex;
        if (!params || !Object.prototype.hasOwnProperty.call(params, name)) {
          plain += match[0];
        } else if (names && names.indexOf(name) >= 0) {
          if (plain) fragment.appendChild(document.createTextNode(plain));
          plain = "";
          fragment.appendChild(isolate(params[name]));
        } else {
          plain += String(params[name]);
        }
      }
      plain += template.slice(last);
      if (plain) fragment.appendChild(document.createTextNode(plain));
      return fragment;
    }

    /** A name isolated from the sentence it is put in: a <bdi> with it as its text. */
    function isolate(value) {
      return el("bdi", null, value === null || value === undefined ? "" : value);
    }

    // A request that gets no answer is given up after this long: the page says so (its
    // network error) and the user can try again, rather than wait for ever.
    var REQUEST_TIMEOUT_MS = 25000;

    /** A JSON request to the API: the parsed answer, or an Error the user can read. */
    function api(method, path, body) {
      var headers = { Accept: "application/json" };
      var options = { method: method, headers: headers, credentials: "same-origin" };
      var controller = typeof AbortController === "function" ? new AbortController() : null;
      var timer = null;
      if (controller) {
        options.signal = controller.signal;
        timer = setTimeout(function () {
          controller.abort();
        }, REQUEST_TIMEOUT_MS);
      }
      function done() {
        clearTimeout(timer);
      }
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
          throw new Error(texts[prefix + "_network_error"]);
        }
      ).then(
        function (data) {
          done();
          return data;
        },
        function (error) {
          done();
          // The body cut off by the timeout is a network error too, not a status.
          if (error && error.name === "AbortError") {
            throw new Error(texts[prefix + "_network_error"]);
          }
          throw error;
        }
      );
    }

    /** The page's own confirmation dialog (#confirm): resolves true when confirmed. The
     * message: a text, or nodes (sayNames). */
    function confirmAction(message) {
      var dialog = document.getElementById("confirm");
      var shown = document.getElementById("confirm-text");
      // A message is text, or nodes made with text only (sayNames: names in <bdi>).
      if (message instanceof Node) {
        shown.textContent = "";
        shown.appendChild(message);
      } else {
        shown.textContent = message;
      }
      return new Promise(function (resolve) {
        dialog.returnValue = "";
        dialog.addEventListener(
          "close",
          function () {
            resolve(dialog.returnValue === "confirm");
          },
          { once: true }
        );
        dialog.showModal();
        document.getElementById("confirm-yes").focus();
      });
    }

    return {
      texts: texts,
      language: language,
      csrf: csrf,
      say: say,
      el: el,
      when: when,
      failure: failure,
      sayNames: sayNames,
      isolate: isolate,
      withLanguage: withLanguage,
      api: api,
      confirmAction: confirmAction,
    };
  };
})();
