/* The admin page's shared pieces (static/admin/people.js and places.js use them): its
 * configuration, texts, the JSON API with the page's CSRF token, a toast and a confirmation.
 * Everything that comes from data (names, usernames, ward and city names, file names, the
 * server's messages) reaches the DOM through textContent, never as HTML. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("admin-config").textContent);
  var page = window.cdfmapPage(config, "admin");
  var texts = page.texts;
  var language = page.language;
  var say = page.say;
  var el = page.el;
  var TOAST_SECONDS = 8;
  var toast = document.getElementById("toast");
  var state = { toastTimer: null };

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

  // --- toast and confirmation ---------------------------------------------------------------

  function showToast(message) {
    clearTimeout(state.toastTimer);
    toast.textContent = message;
    toast.hidden = false;
    state.toastTimer = setTimeout(function () {
      toast.hidden = true;
    }, TOAST_SECONDS * 1000);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !toast.hidden) toast.hidden = true;
  });

  window.cdfmapAdmin = {
    config: config,
    texts: texts,
    language: language,
    csrf: page.csrf,
    say: say,
    el: el,
    button: button,
    labelled: labelled,
    when: page.when,
    plain: plain,
    cityName: cityName,
    roleLabel: roleLabel,
    managesCity: managesCity,
    failure: page.failure,
    withLanguage: page.withLanguage,
    api: page.api,
    showToast: showToast,
    confirmAction: page.confirmAction,
  };
})();
