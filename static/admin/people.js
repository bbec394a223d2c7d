/* The admin page's people: the list (GET /api/v1/users), adding a person, their roles, their
 * phones (an enrolment QR code, revoking) and their account (password, disable/enable). The
 * enrolment QR code is our server's own SVG, shown as an <img> from a data: URL, never
 * inserted as markup; every name reaches the DOM through textContent. */
(function () {
  "use strict";

  var admin = window.cdfmapAdmin;
  var config = admin.config;
  var texts = admin.texts;
  var say = admin.say;
  var el = admin.el;
  var button = admin.button;
  var labelled = admin.labelled;
  var when = admin.when;
  var plain = admin.plain;
  var roleLabel = admin.roleLabel;
  var managesCity = admin.managesCity;
  var api = admin.api;
  var showToast = admin.showToast;
  var confirmAction = admin.confirmAction;
  var USERNAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;
  var MIN_PASSWORD = 8;

  var peopleList = document.getElementById("people");
  var peopleStatus = document.getElementById("people-status");
  var filterInput = document.getElementById("people-filter");

  var state = {
    people: [], // as GET /api/v1/users answers, plus people added here who have no role yet
    added: new Map(), // id -> person added on this page (a city admin's list omits them until
    // they get a role in the city)
    open: new Set(), // ids of people whose details are open
    wards: new Map(), // city slug -> Promise of its wards
  };

  /** The message line of a person's card: an error (alert) or a done (status). */
  function tell(item, message, isError) {
    var line = item.querySelector(".person-message");
    line.textContent = message;
    line.className = "person-message " + (isError ? "error" : "done");
    line.setAttribute("role", isError ? "alert" : "status");
    line.hidden = !message;
  }

  // --- people -----------------------------------------------------------------------------

  function loadPeople() {
    return api("GET", "/api/v1/users")
      .then(function (people) {
        var listed = new Set(
          people.map(function (p) {
            return p.id;
          })
        );
        var extra = Array.from(state.added.values()).filter(function (p) {
          return !listed.has(p.id);
        });
        state.people = extra.concat(people);
        renderPeople();
      })
      .catch(function (error) {
        peopleStatus.textContent = error.message;
        peopleStatus.hidden = false;
      });
  }

  function renderPeople() {
    var query = plain(filterInput.value.trim());
    peopleList.replaceChildren();
    var shown = 0;
    state.people.forEach(function (person) {
      var item = renderPerson(person);
      var matches =
        !query ||
        plain(person.display_name).indexOf(query) >= 0 ||
        plain(person.username).indexOf(query) >= 0;
      item.hidden = !matches;
      if (matches) shown += 1;
      peopleList.appendChild(item);
    });
    peopleStatus.textContent = state.people.length ? "" : texts.admin_no_people;
    peopleStatus.hidden = shown > 0;
  }

  /** Read the people again and redraw one person's card (others keep what is typed). */
  function refreshPerson(personId) {
    return api("GET", "/api/v1/users").then(function (people) {
      var fresh = people.find(function (p) {
        return p.id === personId;
      });
      if (!fresh) fresh = state.added.get(personId);
      if (!fresh) return;
      if (state.added.has(personId)) state.added.set(personId, fresh);
      state.people = state.people.map(function (p) {
        return p.id === personId ? fresh : p;
      });
      var old = peopleList.querySelector('li.person[data-id="' + personId + '"]');
      if (old) old.replaceWith(renderPerson(fresh));
    });
  }

  function renderPerson(person) {
    var item = el("li", "person" + (person.is_active ? "" : " inactive"));
    item.dataset.id = String(person.id);
    var details = el("details");
    details.open = state.open.has(person.id);
    var summary = el("summary", "person-summary");
    var who = el("span", "who");
    who.appendChild(el("strong", "person-name", person.display_name));
    if (person.id === config.me) who.appendChild(el("span", "you muted", " " + texts.admin_you));
    who.appendChild(el("span", "username muted", person.username));
    summary.appendChild(who);
    var badges = el("span", "badges");
    if (!person.is_active) badges.appendChild(el("span", "badge off", texts.admin_disabled));
    (person.grants || []).forEach(function (grant) {
      badges.appendChild(el("span", "badge role", roleLabel(grant)));
    });
    badges.appendChild(
      el("span", "badge phones", say("admin_phones_count", { n: person.devices || 0 }))
    );
    summary.appendChild(badges);
    details.appendChild(summary);

    var body = el("div", "person-body");
    body.appendChild(rolesPart(person, item));
    body.appendChild(phonesPart(person, item));
    body.appendChild(accountPart(person, item));
    var message = el("p", "person-message");
    message.hidden = true;
    body.appendChild(message);
    details.appendChild(body);
    details.addEventListener("toggle", function () {
      if (details.open) {
        state.open.add(person.id);
        loadDevices(person, item);
      } else {
        state.open.delete(person.id);
      }
    });
    if (details.open) loadDevices(person, item);
    item.appendChild(details);
    return item;
  }

  // --- roles ----------------------------------------------------------------------------------

  function wardsOf(slug) {
    if (!state.wards.has(slug)) {
      var loading = api("GET", "/api/v1/cities/" + encodeURIComponent(slug) + "/wards");
      loading.catch(function () {
        state.wards.delete(slug);
      });
      state.wards.set(slug, loading);
    }
    return state.wards.get(slug);
  }

  function rolesPart(person, item) {
    var part = el("section", "part roles-part");
    part.appendChild(el("h3", null, texts.admin_roles));
    var list = el("ul", "grants");
    var grants = person.grants || [];
    if (!grants.length) list.appendChild(el("li", "muted", texts.admin_no_roles));
    grants.forEach(function (grant) {
      var row = el("li", "grant");
      row.dataset.grant = String(grant.id);
      row.appendChild(el("span", "grant-label", roleLabel(grant)));
      var mine =
        config.national || (grant.role !== "national_admin" && managesCity(grant.city_id));
      if (mine) {
        row.appendChild(
          button(texts.admin_remove_role, "secondary small remove-role", function (event) {
            var control = event.currentTarget;
            control.disabled = true;
            api("DELETE", "/api/v1/users/" + person.id + "/roles/" + grant.id)
              .then(function () {
                showToast(say("admin_role_removed", { role: roleLabel(grant) }));
                return refreshPerson(person.id);
              })
              .catch(function (error) {
                control.disabled = false;
                tell(item, error.message, true);
              });
          })
        );
      }
      list.appendChild(row);
    });
    part.appendChild(list);
    part.appendChild(grantForm(person, item));
    return part;
  }

  function grantForm(person, item) {
    var prefix = "p" + person.id + "-";
    var form = el("form", "grant-form");
    form.noValidate = true;
    var role = el("select", "grant-role");
    config.assignable.forEach(function (name) {
      var option = el("option", null, config.roles[name]);
      option.value = name;
      role.appendChild(option);
    });
    var city = el("select", "grant-city");
    config.cities.forEach(function (c) {
      var option = el("option", null, c.name);
      option.value = c.slug;
      city.appendChild(option);
    });
    var ward = el("select", "grant-ward");
    var cityField = labelled(prefix + "city", texts.admin_city, city);
    var wardField = labelled(prefix + "ward", texts.admin_ward, ward);

    function fillWards() {
      var wantsWard = role.value === "volunteer" || role.value === "ward_leader";
      wardField.hidden = !wantsWard || !city.value;
      cityField.hidden = role.value === "national_admin" || !config.cities.length;
      if (wardField.hidden) return;
      var chosen = ward.value;
      ward.replaceChildren();
      if (role.value === "volunteer") {
        var whole = el("option", null, texts.admin_whole_city);
        whole.value = "";
        ward.appendChild(whole);
      }
      wardsOf(city.value)
        .then(function (wards) {
          wards.forEach(function (w) {
            var option = el("option", null, w.name + " (" + w.code + ")");
            option.value = String(w.id);
            ward.appendChild(option);
          });
          if (chosen) ward.value = chosen;
        })
        .catch(function (error) {
          tell(item, error.message, true);
        });
    }

    role.addEventListener("change", fillWards);
    city.addEventListener("change", fillWards);
    form.appendChild(labelled(prefix + "role", texts.admin_role, role));
    form.appendChild(cityField);
    form.appendChild(wardField);
    var submit = el("button", "give-role", texts.admin_give_role);
    submit.type = "submit";
    form.appendChild(submit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { role: role.value };
      if (role.value !== "national_admin") {
        body.city = city.value;
        if (!wardField.hidden && ward.value) body.ward_id = Number(ward.value);
        if (role.value === "ward_leader" && !ward.value) {
          tell(item, texts.admin_ward_required, true);
          return;
        }
      }
      submit.disabled = true;
      api("POST", "/api/v1/users/" + person.id + "/roles", body)
        .then(function () {
          showToast(say("admin_role_given", { role: config.roles[body.role] }));
          return refreshPerson(person.id);
        })
        .catch(function (error) {
          submit.disabled = false;
          tell(item, error.message, true);
        });
    });
    fillWards();
    return form;
  }

  // --- phones ---------------------------------------------------------------------------------

  /** An <img> of our server's SVG QR code from a data: URL (never parsed into the page). */
  function qrImage(svg, name) {
    var bytes = new TextEncoder().encode(svg);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    var image = el("img", "qr");
    image.alt = say("admin_qr_alt", { name: name });
    image.src = "data:image/svg+xml;base64," + btoa(binary);
    return image;
  }

  function phonesPart(person, item) {
    var prefix = "p" + person.id + "-";
    var part = el("section", "part phones-part");
    part.appendChild(el("h3", null, texts.admin_phones));
    var device = el("input", "device-name");
    device.maxLength = 80;
    device.placeholder = texts.admin_device_placeholder;
    part.appendChild(labelled(prefix + "device", texts.admin_device_name, device));
    var enrolment = el("div", "enrolment");
    enrolment.hidden = true;
    var make = button(texts.admin_make_qr, "make-qr", function () {
      make.disabled = true;
      var body = { device_name: device.value.trim() || "phone" };
      api("POST", "/api/v1/users/" + person.id + "/enrolments", body)
        .then(function (answer) {
          make.disabled = false;
          enrolment.replaceChildren();
          enrolment.appendChild(qrImage(answer.qr_svg, person.display_name));
          var link = el("a", "enrol-link", answer.url);
          link.href = answer.url;
          link.rel = "noopener noreferrer";
          link.target = "_blank";
          enrolment.appendChild(link);
          enrolment.appendChild(el("p", "hint", say("admin_qr_hint", { time: when(answer.expires_at) })));
          enrolment.hidden = false;
        })
        .catch(function (error) {
          make.disabled = false;
          tell(item, error.message, true);
        });
    });
    part.appendChild(make);
    part.appendChild(enrolment);
    var heading = el("div", "devices-head");
    heading.appendChild(
      button(texts.admin_refresh, "secondary small refresh-phones", function () {
        loadDevices(person, item);
      })
    );
    part.appendChild(heading);
    part.appendChild(el("ul", "devices"));
    return part;
  }

  function loadDevices(person, item) {
    var list = item.querySelector("ul.devices");
    if (!list) return;
    api("GET", "/api/v1/users/" + person.id + "/devices")
      .then(function (devices) {
        list.replaceChildren();
        if (!devices.length) list.appendChild(el("li", "muted", texts.admin_no_phones));
        var now = Date.now();
        devices.forEach(function (device) {
          var row = el("li", "device");
          row.dataset.id = device.id;
          var status = device.revoked_at
            ? "revoked"
            : new Date(device.expires_at).getTime() < now
              ? "expired"
              : "active";
          row.dataset.status = status;
          var about = el("div", "device-about");
          about.appendChild(el("strong", "device-name", device.name || "—"));
          about.appendChild(el("span", "badge " + status, texts["admin_phone_" + status]));
          var times = [say("admin_phone_added", { time: when(device.created_at) })];
          times.push(
            device.last_used_at
              ? say("admin_phone_used", { time: when(device.last_used_at) })
              : texts.admin_phone_never_used
          );
          about.appendChild(el("span", "muted device-times", times.join(" · ")));
          row.appendChild(about);
          if (status === "active") {
            row.appendChild(
              button(texts.admin_revoke, "danger small revoke", function (event) {
                revokeDevice(person, item, device, event.currentTarget);
              })
            );
          }
          list.appendChild(row);
        });
      })
      .catch(function (error) {
        tell(item, error.message, true);
      });
  }

  function revokeDevice(person, item, device, control) {
    var name = device.name || "—";
    confirmAction(say("admin_revoke_confirm", { name: name })).then(function (yes) {
      if (!yes) return;
      control.disabled = true;
      api("DELETE", "/api/v1/devices/" + encodeURIComponent(device.id))
        .then(function () {
          showToast(say("admin_revoked", { name: name }));
          return refreshPerson(person.id);
        })
        .catch(function (error) {
          control.disabled = false;
          tell(item, error.message, true);
        });
    });
  }

  // --- account --------------------------------------------------------------------------------

  function accountPart(person, item) {
    var prefix = "p" + person.id + "-";
    var part = el("section", "part account-part");
    part.appendChild(el("h3", null, texts.admin_account));
    var form = el("form", "password-form");
    form.noValidate = true;
    var password = el("input", "new-password");
    password.type = "password";
    password.autocomplete = "new-password";
    password.maxLength = 256;
    form.appendChild(labelled(prefix + "password", texts.admin_new_password, password));
    var save = el("button", "secondary set-password", texts.admin_set_password);
    save.type = "submit";
    form.appendChild(save);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (password.value.length < MIN_PASSWORD) {
        tell(item, texts.password_too_short, true);
        return;
      }
      save.disabled = true;
      api("PATCH", "/api/v1/users/" + person.id, { password: password.value })
        .then(function () {
          save.disabled = false;
          password.value = "";
          tell(item, texts.admin_password_set, false);
        })
        .catch(function (error) {
          save.disabled = false;
          tell(item, error.message, true);
        });
    });
    part.appendChild(form);
    if (person.id !== config.me) {
      var active = person.is_active;
      var toggle = button(
        active ? texts.admin_disable : texts.admin_enable,
        (active ? "danger" : "secondary") + " toggle-active",
        function () {
          var ask = active
            ? confirmAction(say("admin_disable_confirm", { name: person.display_name }))
            : Promise.resolve(true);
          ask.then(function (yes) {
            if (!yes) return;
            toggle.disabled = true;
            api("PATCH", "/api/v1/users/" + person.id, { is_active: !active })
              .then(function () {
                var done = active ? "admin_disabled_done" : "admin_enabled_done";
                showToast(say(done, { name: person.display_name }));
                return refreshPerson(person.id);
              })
              .catch(function (error) {
                toggle.disabled = false;
                tell(item, error.message, true);
              });
          });
        }
      );
      part.appendChild(toggle);
    }
    return part;
  }

  // --- adding a person ----------------------------------------------------------------------

  var addForm = document.getElementById("add-person");
  addForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var error = addForm.querySelector(".error");
    var username = addForm.elements.username.value.trim().toLowerCase();
    var displayName = addForm.elements.display_name.value.trim();
    var password = addForm.elements.password.value;
    var problem = !USERNAME.test(username)
      ? texts.invalid_username
      : !displayName
        ? texts.missing
        : password && password.length < MIN_PASSWORD
          ? texts.password_too_short
          : "";
    error.textContent = problem;
    error.hidden = !problem;
    if (problem) return;
    var body = { username: username, display_name: displayName };
    if (password) body.password = password;
    var submit = addForm.querySelector("button[type=submit]");
    submit.disabled = true;
    api("POST", "/api/v1/users", body)
      .then(function (created) {
        submit.disabled = false;
        addForm.reset();
        document.getElementById("add-person-box").open = false;
        var person = {
          id: created.id,
          username: created.username,
          display_name: created.display_name,
          is_active: true,
          grants: [],
          devices: 0,
        };
        state.added.set(person.id, person);
        state.open.add(person.id);
        showToast(say("admin_added", { name: person.display_name }));
        filterInput.value = "";
        return loadPeople().then(function () {
          var item = peopleList.querySelector('li.person[data-id="' + person.id + '"]');
          if (item) {
            item.scrollIntoView({ block: "start" });
            item.querySelector(".grant-role").focus();
          }
        });
      })
      .catch(function (failed) {
        submit.disabled = false;
        error.textContent = failed.message;
        error.hidden = false;
      });
  });

  filterInput.addEventListener("input", renderPeople);

  loadPeople();
})();
