/* The admin page's forms (GET /api/v1/forms, in the page's language): the forms in use, each
 * by its title in the page's language, form id and version; then every form file the server
 * refused, with its problems as the server says them (each names the sheet, the row or rows
 * and the column). File names, titles and messages quote the forms as written: they reach the
 * DOM through textContent only. */
(function () {
  "use strict";

  var admin = window.cdfmapAdmin;
  var texts = admin.texts;
  var language = admin.language;
  var say = admin.say;
  var el = admin.el;

  var status = document.getElementById("forms-status");
  var lists = document.getElementById("forms-lists");
  var formsList = document.getElementById("forms");
  var allUsed = document.getElementById("forms-all-used");
  var problemsPart = document.getElementById("form-problems-part");
  var problemsList = document.getElementById("form-problems");

  /** A form's title in the page's language, else Vietnamese, else any, else its id. */
  function title(form) {
    var titles = form.title && typeof form.title === "object" ? form.title : {};
    var any = Object.keys(titles).map(function (key) {
      return titles[key];
    });
    return titles[language] || titles.vi || any[0] || form.form_id;
  }

  function renderForm(form) {
    var item = el("li", "form");
    item.appendChild(el("strong", "form-title", title(form)));
    var id = say("admin_form_version", { form_id: form.form_id, version: form.version });
    item.appendChild(el("span", "form-id muted", id));
    return item;
  }

  function renderFile(name, problems) {
    var item = el("li", "form-file");
    item.appendChild(el("strong", "form-file-name", name));
    var lines = el("ul", "form-problems");
    problems.forEach(function (problem) {
      lines.appendChild(el("li", "form-problem", problem.message));
    });
    item.appendChild(lines);
    return item;
  }

  function render(listing) {
    var forms = listing.forms || [];
    var problems = listing.problems || {};
    var files = Object.keys(problems).sort();
    formsList.replaceChildren.apply(
      formsList,
      forms.length ? forms.map(renderForm) : [el("li", "muted", texts.admin_forms_none)]
    );
    problemsList.replaceChildren.apply(
      problemsList,
      files.map(function (name) {
        return renderFile(name, problems[name]);
      })
    );
    problemsPart.hidden = files.length === 0;
    allUsed.hidden = files.length !== 0;
    lists.hidden = false;
    status.hidden = true;
  }

  admin
    .api("GET", "/api/v1/forms")
    .then(render)
    .catch(function (error) {
      status.textContent = error.message;
      status.classList.add("error");
      status.hidden = false;
    });
})();
