// The administration pages' script: fills the server-rendered shells of
// /admin/users, /admin/tokens and /admin/roles from the host's JSON APIs and
// sends changes back through them.
//
// Every call goes through window.trellis.fetch (host/assets/trellis.js), which
// adds the session's CSRF token and same-origin credentials; the host checks
// the permissions. Data is written with textContent and DOM nodes only: user
// names and labels may hold any text, markup included.
(function () {
  "use strict";

  var root = document.querySelector("[data-admin-page]");
  if (!root) return;

  // ---- helpers ----------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  // el("td", {class: "x"}, "text", otherNode): attributes are set with
  // setAttribute and children appended as text nodes or nodes.
  function el(tag, attributes) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === false || value === null || value === undefined) return;
      node.setAttribute(name, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(parent, c); });
    else parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // A time of the APIs (unix milliseconds, or null) as a <time> element in the
  // browser's time zone, or `none` when there is no time.
  function when(ms, none) {
    if (ms === null || ms === undefined) return el("span", { class: "muted" }, none);
    var d = new Date(ms);
    var text = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
               pad(d.getHours()) + ":" + pad(d.getMinutes());
    return el("time", { datetime: d.toISOString(), title: d.toString() }, text);
  }

  var statusBox = $("admin-status");
  var errorBox = $("admin-error");

  // A success message, announced politely; it replaces the previous one.
  function say(text) {
    errorBox.hidden = true;
    statusBox.textContent = text;
  }

  function showError(box, text) {
    box.textContent = text;
    box.hidden = false;
  }

  function hideError(box) {
    box.textContent = "";
    box.hidden = true;
  }

  // Calls an admin API. Resolves with the parsed answer; rejects with an Error
  // whose message is the API's own ("error" of its JSON), or says what failed.
  function api(method, url, body) {
    var options = { method: method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return window.trellis.fetch(url, options).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.ok && data !== null) return data;
        var message = data && typeof data.error === "string" ? data.error
            : method + " " + url + " answered " + res.status + (res.statusText ? " " + res.statusText : "");
        var err = new Error(message);
        err.status = res.status;
        throw err;
      });
    }, function () {
      throw new Error("The server could not be reached (" + method + " " + url + "). Check the connection and try again.");
    });
  }

  // Appends a row to a table body, each cell labelled with its column's
  // heading: on a narrow screen the stylesheet shows rows as stacked cards and
  // writes the label before each value.
  function addRow(tbody, cells) {
    var headings = tbody.parentNode.querySelectorAll("thead th");
    var row = el("tr", {}, cells);
    cells.forEach(function (cell, i) {
      if (headings[i]) cell.setAttribute("data-label", headings[i].textContent);
    });
    tbody.appendChild(row);
    return row;
  }

  // Shows a message in place of a table's rows.
  function tableMessage(tbody, text) {
    clear(tbody);
    var columns = tbody.parentNode.querySelectorAll("thead th").length || 1;
    tbody.appendChild(el("tr", {}, el("td", { colspan: columns, class: "muted" }, text)));
  }

  function loadFailed(what, tbody) {
    return function (err) {
      showError(errorBox, "Could not load " + what + ": " + err.message);
      if (tbody) tableMessage(tbody, "Not loaded.");
    };
  }

  // Role checkboxes named `name`, one per role, the given ones ticked.
  function roleChoices(container, roles, name, checked) {
    clear(container);
    roles.forEach(function (role) {
      var id = name + "-" + role.name.replace(/[^A-Za-z0-9_-]/g, "_");
      var box = el("input", { type: "checkbox", name: name, value: role.name, id: id,
                              checked: checked.indexOf(role.name) >= 0 });
      var lbl = el("label", { for: id }, box, " ", role.name);
      if (role.description) lbl.title = role.description;
      container.appendChild(lbl);
    });
    if (roles.length === 0) container.appendChild(el("span", { class: "muted" }, "No roles are defined."));
  }

  function checkedValues(container) {
    return Array.prototype.map.call(container.querySelectorAll("input[type=checkbox]:checked"),
                                    function (box) { return box.value; });
  }

  function tags(names, none) {
    if (!names || names.length === 0) return el("span", { class: "muted" }, none);
    return names.map(function (n) { return el("span", { class: "tag" }, n); });
  }

  // ---- users -------------------------------------------------------------

  function usersPage() {
    var tbody = document.querySelector("#users-table tbody");
    var addForm = $("add-user-form");
    var addError = $("add-user-error");
    var panel = $("user-panel");
    var panelError = $("user-panel-error");
    var roles = [];
    var users = [];
    var current = null;  // the name of the user the panel manages

    function findUser(name) {
      for (var i = 0; i < users.length; i++) if (users[i].name === name) return users[i];
      return null;
    }

    function manageButton(name) {
      var buttons = tbody.querySelectorAll("button[data-user]");
      for (var i = 0; i < buttons.length; i++) if (buttons[i].getAttribute("data-user") === name) return buttons[i];
      return null;
    }

    function render() {
      clear(tbody);
      if (users.length === 0) return tableMessage(tbody, "No users yet. Add one below.");
      users.forEach(function (u) {
        var status = u.disabled ? el("span", { class: "tag bad" }, "disabled") : el("span", { class: "tag good" }, "active");
        var manage = el("button", { type: "button", class: "secondary", "data-user": u.name,
                                    "aria-label": "Manage " + u.name }, "Manage");
        manage.addEventListener("click", function () { openPanel(u.name); });
        addRow(tbody, [
          el("th", { scope: "row" }, u.name),
          el("td", {}, tags(u.roles, "no role")),
          el("td", {}, status),
          el("td", {}, when(u.created, "—")),
          el("td", {}, when(u.last_login, "never")),
          el("td", {}, manage)]);
      });
    }

    function load() {
      return api("GET", "/api/v1/users").then(function (data) {
        users = data.users || [];
        render();
        if (current) fillPanel();
      }, loadFailed("the users", tbody));
    }

    function fillPanel() {
      var u = findUser(current);
      if (!u) { closePanel(false); return; }
      $("user-panel-name").textContent = u.name;
      $("user-panel-state").textContent = u.disabled
          ? "Disabled: cannot sign in until enabled again."
          : "Active since " + (u.created ? new Date(u.created).toLocaleDateString() : "an unknown date") + ".";
      roleChoices($("user-roles-choices"), roles, "user-role", u.roles || []);
      $("user-toggle-disabled").textContent = u.disabled ? "Enable user" : "Disable user";
    }

    function openPanel(name) {
      current = name;
      hideError(panelError);
      $("user-new-password").value = "";
      fillPanel();
      panel.hidden = false;
      $("user-panel-heading").focus();
    }

    function closePanel(refocus) {
      var name = current;
      current = null;
      panel.hidden = true;
      if (refocus && name) {
        var b = manageButton(name);
        if (b) b.focus();
      }
    }

    // Sends a change of the managed user; on success reloads the table and
    // says `done`, on failure shows the API's message in the panel.
    function change(body, done) {
      var name = current;
      hideError(panelError);
      return api("PATCH", "/api/v1/users/" + encodeURIComponent(name), body).then(function () {
        say(done(name));
        return load();
      }, function (err) {
        showError(panelError, err.message);
        throw err;
      });
    }

    $("user-roles-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var chosen = checkedValues($("user-roles-choices"));
      change({ roles: chosen }, function (name) {
        return "Roles of " + name + " are now: " + (chosen.length ? chosen.join(", ") : "none") + ".";
      }).catch(function () {});
    });

    $("user-toggle-disabled").addEventListener("click", function () {
      var u = findUser(current);
      if (!u) return;
      var disable = !u.disabled;
      change({ disabled: disable }, function (name) {
        return disable ? name + " is disabled and signed out." : name + " is enabled.";
      }).catch(function () {});
    });

    $("user-end-sessions").addEventListener("click", function () {
      change({ end_sessions: true }, function (name) { return "Every session of " + name + " has ended."; })
        .catch(function () {});
    });

    $("user-password-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = $("user-new-password");
      change({ password: input.value }, function (name) { return "The password of " + name + " is changed."; })
        .then(function () { input.value = ""; }, function () { input.focus(); });
    });

    $("user-panel-close").addEventListener("click", function () { closePanel(true); });

    addForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      hideError(addError);
      var name = addForm.elements.name.value.trim();
      var body = { name: name, password: addForm.elements.password.value, roles: checkedValues($("add-user-roles")) };
      var submit = addForm.querySelector("button[type=submit]");
      submit.disabled = true;
      api("POST", "/api/v1/users", body).then(function (user) {
        addForm.reset();
        say("Added " + user.name + (user.roles && user.roles.length ? " with " + user.roles.join(", ") : " without a role") + ".");
        return load().then(function () {
          var b = manageButton(user.name);
          if (b) b.focus();
        });
      }, function (err) {
        showError(addError, err.message);
        // Put the cursor where the fix goes: the password rules name the password.
        (/password/i.test(err.message) ? addForm.elements.password : addForm.elements.name).focus();
      }).then(function () { submit.disabled = false; });
    });

    api("GET", "/api/v1/roles").then(function (data) {
      roles = data.roles || [];
      roleChoices($("add-user-roles"), roles, "add-role", []);
      if (current) fillPanel();
    }, function (err) {
      clear($("add-user-roles"));
      $("add-user-roles").appendChild(el("span", { class: "bad" }, "Could not load the roles: " + err.message));
    });
    load();
  }

  // ---- tokens ------------------------------------------------------------

  function tokensPage() {
    var tbody = document.querySelector("#tokens-table tbody");
    var form = $("create-token-form");
    var formError = $("token-error");
    var secret = $("token-secret");
    var secretValue = $("token-secret-value");

    function revoke(token, button) {
      var label = token.label || token.id;
      if (!window.confirm("Revoke the token \u201c" + label + "\u201d? Programs that use it stop working at once.")) return;
      button.disabled = true;
      api("DELETE", "/api/v1/tokens/" + encodeURIComponent(token.id)).then(function () {
        say("The token \u201c" + label + "\u201d is revoked.");
        return load().then(function () { $("tokens-heading").focus(); });
      }, function (err) {
        button.disabled = false;
        showError(errorBox, "Could not revoke \u201c" + label + "\u201d: " + err.message);
        button.focus();
      });
    }

    function render(tokens) {
      clear(tbody);
      if (tokens.length === 0) return tableMessage(tbody, "No API tokens yet. Create one below.");
      var now = Date.now();
      tokens.forEach(function (t) {
        var status;
        if (t.revoked !== null && t.revoked !== undefined && t.revoked !== false) {
          status = el("span", { class: "tag bad" }, "revoked");
          if (typeof t.revoked === "number") status = [status, " ", when(t.revoked, "")];
        } else if (t.expires !== null && t.expires !== undefined && t.expires <= now) {
          status = el("span", { class: "tag" }, "expired");
        } else {
          status = el("span", { class: "tag good" }, "active");
        }
        var action = null;
        if (!(t.revoked !== null && t.revoked !== undefined && t.revoked !== false)) {
          action = el("button", { type: "button", class: "secondary", "aria-label": "Revoke " + (t.label || t.id) },
                      "Revoke");
          action.addEventListener("click", function () { revoke(t, action); });
        }
        addRow(tbody, [
          el("th", { scope: "row" }, t.label || t.id),
          el("td", {}, t.role ? el("span", { class: "tag" }, t.role) : ""),
          el("td", {}, t.created_by || el("span", { class: "muted" }, "—")),
          el("td", {}, when(t.created, "—")),
          el("td", {}, when(t.expires, "never")),
          el("td", {}, when(t.last_used, "never")),
          el("td", {}, status),
          el("td", {}, action)]);
      });
    }

    function load() {
      return api("GET", "/api/v1/tokens").then(function (data) { render(data.tokens || []); },
                                               loadFailed("the API tokens", tbody));
    }

    function hideSecret() {
      secretValue.value = "";
      secret.hidden = true;
    }

    $("token-secret-copy").addEventListener("click", function () {
      var copied = function () { say("The token is copied to the clipboard."); };
      secretValue.focus();
      secretValue.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(secretValue.value).then(copied, function () {
          say("Copying was refused by the browser: the token is selected, copy it with the keyboard.");
        });
      } else {
        say("The token is selected: copy it with the keyboard.");
      }
    });

    $("token-secret-done").addEventListener("click", function () {
      hideSecret();
      $("token-label").focus();
    });

    // The days field only counts when "After" is chosen.
    function syncExpiry() { $("token-days").disabled = $("token-expiry-never").checked; }
    $("token-expiry-days").addEventListener("change", syncExpiry);
    $("token-expiry-never").addEventListener("change", syncExpiry);
    $("token-days").addEventListener("focus", function () { $("token-expiry-days").checked = true; });

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      hideError(formError);
      hideSecret();
      var days = null;
      if (!$("token-expiry-never").checked) {
        var text = $("token-days").value.trim();
        days = Number(text);
        if (!/^\d+$/.test(text) || days < 1) {
          showError(formError, "Expiry: enter a whole number of days (1 or more), or choose Never.");
          $("token-days").focus();
          return;
        }
      }
      var label = form.elements.label.value.trim();
      var body = { label: label, role: form.elements.role.value, expires_days: days };
      var submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      api("POST", "/api/v1/tokens", body).then(function (created) {
        form.elements.label.value = "";
        $("token-secret-label").textContent = "\u201c" + label + "\u201d";
        secretValue.value = created.token;
        secret.hidden = false;
        secretValue.focus();
        secretValue.select();
        say("Created the token \u201c" + label + "\u201d. Copy it now: it is not shown again.");
        return load();
      }, function (err) {
        showError(formError, err.message);
        form.elements.label.focus();
      }).then(function () { submit.disabled = false; });
    });

    api("GET", "/api/v1/roles").then(function (data) {
      var select = $("token-role");
      clear(select);
      select.appendChild(el("option", { value: "" }, "Choose a role"));
      (data.roles || []).forEach(function (r) { select.appendChild(el("option", { value: r.name }, r.name)); });
    }, function (err) {
      var select = $("token-role");
      clear(select);
      select.appendChild(el("option", { value: "" }, "Roles not loaded"));
      showError(formError, "Could not load the roles: " + err.message);
    });
    load();
  }

  // ---- roles -------------------------------------------------------------

  function rolesPage() {
    var list = $("roles-list");
    var tbody = document.querySelector("#permissions-table tbody");

    api("GET", "/api/v1/roles").then(function (data) {
      var roles = data.roles || [];
      var permissions = data.permissions || [];
      clear(list);
      if (roles.length === 0) list.appendChild(el("p", { class: "muted" }, "No roles are defined."));
      roles.forEach(function (role) {
        var perms = (role.permissions || []).slice().sort();
        list.appendChild(el("section", { class: "card admin-role", "aria-label": "Role " + role.name },
          el("h2", {}, role.name, " ", role.built_in ? el("span", { class: "tag" }, "built-in") : null),
          role.description ? el("p", {}, role.description) : null,
          el("h3", {}, "Includes"),
          el("p", {}, tags(role.includes, "no other role")),
          el("h3", {}, "Effective permissions (" + perms.length + ")"),
          perms.length ? el("ul", { class: "admin-permissions" }, perms.map(function (p) { return el("li", {}, el("code", {}, p)); }))
                       : el("p", { class: "muted" }, "none")));
      });

      clear(tbody);
      if (permissions.length === 0) return tableMessage(tbody, "No permissions are declared.");
      permissions.forEach(function (p) {
        var holders = roles.filter(function (r) { return (r.permissions || []).indexOf(p.name) >= 0; })
                           .map(function (r) { return r.name; });
        addRow(tbody, [
          el("th", { scope: "row" }, el("code", {}, p.name)),
          el("td", {}, p.owner || "—"),
          el("td", {}, p.description || el("span", { class: "muted" }, "—")),
          el("td", {}, tags(holders, "no role"))]);
      });
    }, function (err) {
      clear(list);
      loadFailed("the roles", tbody)(err);
    });
  }

  var pages = { users: usersPage, tokens: tokensPage, roles: rolesPage };
  var start = pages[root.getAttribute("data-admin-page")];
  if (!window.trellis || typeof window.trellis.fetch !== "function") {
    showError(errorBox, "The host's script (/static/trellis.js) did not load; reload the page.");
  } else if (start) {
    start();
  }
})();
