// The administration pages: users, API tokens and roles. Each page is a
// server-rendered shell (headings, empty tables, forms); assets/admin.js
// fills it from the host's JSON APIs (/api/v1/users, /api/v1/tokens,
// /api/v1/roles) and sends changes back through them. The plugin never reaches
// the user store: the host checks each API call against the caller's
// permissions and CSRF token, so these pages can do no more than the signed-in
// user could with the APIs.
#include <trellis/html.hpp>
#include <trellis/sdk.hpp>

#include <string>
#include <string_view>

#include "admin_assets.hpp"

namespace {

using namespace trellis::html;

constexpr std::string_view view_permission = "admin.console:view";

// The page a tab names, for the tab list and the script's dispatch.
enum class tab { users, tokens, roles };

node tab_link(tab self, tab current, std::string_view href, std::string_view title) {
  attrs a{{"href", href}};
  if (self == current) a.add("aria-current", "page");
  return trellis::html::a(a, title);
}

// What every admin page starts with: the heading, the tabs between the three
// pages, the message for browsers without script, and the two live regions the
// script writes to (successes politely, failures as alerts).
node page_top(tab current, std::string_view heading, std::string_view intro) {
  return fragment(
      h1(heading),
      nav(attrs{{"class", "admin-tabs"}, {"aria-label", "Administration"}},
          tab_link(tab::users, current, "/admin/users", "Users"),
          tab_link(tab::tokens, current, "/admin/tokens", "API tokens"),
          tab_link(tab::roles, current, "/admin/roles", "Roles")),
      p(attrs{{"class", "muted"}}, intro),
      element("noscript", attrs{},
                 p(attrs{{"class", "admin-notice"}},
                   "These pages need JavaScript: they read and change users, tokens and roles through the "
                   "host's JSON APIs (",
                   code("/api/v1/users"), ", ", code("/api/v1/tokens"), ", ", code("/api/v1/roles"),
                   "), which also accept an API token from scripts. Enable JavaScript for this site, or use ",
                   code("trellis users"), " on the server.")),
      p(attrs{{"id", "admin-status"}, {"class", "admin-status"}, {"role", "status"}, {"tabindex", "-1"}}),
      p(attrs{{"id", "admin-error"}, {"class", "admin-error"}, {"role", "alert"}, {"hidden", ""}}));
}

// A table whose body the script fills; until then it says it is loading.
node data_table(std::string_view id, std::string_view caption, std::initializer_list<std::string_view> headings) {
  node head;
  for (auto h : headings) head += th(attrs{{"scope", "col"}}, h);
  return div(attrs{{"class", "table-wrap"}},
             table(attrs{{"id", id}, {"class", "admin-table"}},
                   element("caption", attrs{{"class", "admin-sr-only"}}, caption),
                   thead(tr(head)),
                   tbody(tr(td(attrs{{"colspan", std::to_string(headings.size())}, {"class", "muted"}},
                               "Loading…")))));
}

node field(std::string_view id, std::string_view label_text, const attrs& input_attrs) {
  return div(attrs{{"class", "admin-field"}}, label(attrs{{"for", id}}, label_text), input(input_attrs));
}

node fieldset(std::string_view legend, const node& inner) {
  return element("fieldset", attrs{{"class", "admin-fieldset"}}, element("legend", attrs{}, legend), inner);
}

node alert(std::string_view id) {
  return p(attrs{{"id", id}, {"class", "admin-error"}, {"role", "alert"}, {"hidden", ""}});
}

node root(std::string_view page, const node& content) {
  return div(attrs{{"class", "admin"}, {"data-admin-page", page}}, content);
}

void users_page(trellis::response& res) {
  node manage = section(
      attrs{{"id", "user-panel"}, {"class", "card admin-panel"}, {"aria-labelledby", "user-panel-heading"},
            {"hidden", ""}},
      h2(attrs{{"id", "user-panel-heading"}, {"tabindex", "-1"}}, "Manage ", span(attrs{{"id", "user-panel-name"}})),
      p(attrs{{"id", "user-panel-state"}, {"class", "muted"}}), alert("user-panel-error"),
      form(attrs{{"id", "user-roles-form"}},
           fieldset("Roles", div(attrs{{"id", "user-roles-choices"}, {"class", "admin-choices"}})),
           button(attrs{{"type", "submit"}}, "Save roles")),
      form(attrs{{"id", "user-password-form"}, {"class", "admin-inline-form"}},
           field("user-new-password", "New password",
                 attrs{{"id", "user-new-password"}, {"name", "password"}, {"type", "password"},
                       {"autocomplete", "new-password"}, {"required", ""}}),
           button(attrs{{"type", "submit"}}, "Set password")),
      div(attrs{{"class", "admin-actions"}},
          button(attrs{{"type", "button"}, {"id", "user-toggle-disabled"}}, "Disable user"),
          button(attrs{{"type", "button"}, {"id", "user-end-sessions"}, {"class", "secondary"}}, "End sessions"),
          button(attrs{{"type", "button"}, {"id", "user-panel-close"}, {"class", "secondary"}}, "Close")));

  node add = section(
      attrs{{"class", "card"}, {"aria-labelledby", "add-user-heading"}}, h2(attrs{{"id", "add-user-heading"}}, "Add a user"),
      form(attrs{{"id", "add-user-form"}},
           field("add-user-name", "Name",
                 attrs{{"id", "add-user-name"}, {"name", "name"}, {"autocomplete", "off"}, {"required", ""},
                       {"spellcheck", "false"}}),
           field("add-user-password", "Password",
                 attrs{{"id", "add-user-password"}, {"name", "password"}, {"type", "password"},
                       {"autocomplete", "new-password"}, {"required", ""}}),
           fieldset("Roles", div(attrs{{"id", "add-user-roles"}, {"class", "admin-choices"}},
                                 span(attrs{{"class", "muted"}}, "Loading roles…"))),
           alert("add-user-error"), button(attrs{{"type", "submit"}}, "Add user")));

  res.asset("/admin/static/admin.css").asset("/admin/static/admin.js");
  res.page("Users", root("users", fragment(page_top(tab::users, "Users",
                                                    "Who can sign in, with which roles. Disabling a user or "
                                                    "ending their sessions signs them out at once."),
                                           section(attrs{{"class", "card"}, {"aria-labelledby", "users-heading"}},
                                                   h2(attrs{{"id", "users-heading"}}, "Accounts"),
                                                   data_table("users-table", "Users",
                                                              {"Name", "Roles", "Status", "Created", "Last sign-in",
                                                               "Actions"})),
                                           manage, add)));
}

void tokens_page(trellis::response& res) {
  node secret = section(
      attrs{{"id", "token-secret"}, {"class", "card admin-secret"}, {"aria-labelledby", "token-secret-heading"},
            {"hidden", ""}},
      h2(attrs{{"id", "token-secret-heading"}, {"tabindex", "-1"}}, "Copy the new token now"),
      p(attrs{{"class", "admin-warning"}},
        strong("This is the only time the token is shown."),
        " Trellis keeps only a hash of it. Store it where the program that uses it reads its secrets; if it "
        "is lost, revoke it and create another."),
      div(attrs{{"class", "admin-field"}},
          label(attrs{{"for", "token-secret-value"}}, "Token ", span(attrs{{"id", "token-secret-label"}})),
          div(attrs{{"class", "admin-copy"}},
              input(attrs{{"id", "token-secret-value"}, {"readonly", ""}, {"spellcheck", "false"},
                          {"autocomplete", "off"}, {"class", "admin-mono"}}),
              button(attrs{{"type", "button"}, {"id", "token-secret-copy"}}, "Copy"))),
      button(attrs{{"type", "button"}, {"id", "token-secret-done"}, {"class", "secondary"}},
             "I have stored it: hide the token"));

  node expiry = fieldset(
      "Expires",
      div(attrs{{"class", "admin-choices"}},
          div(attrs{{"class", "admin-expiry-days"}},
              label(input(attrs{{"type", "radio"}, {"name", "expiry"}, {"value", "days"}, {"id", "token-expiry-days"},
                                {"checked", ""}}),
                    " After"),
              input(attrs{{"type", "number"}, {"id", "token-days"}, {"name", "expires_days"}, {"min", "1"},
                          {"step", "1"}, {"value", "90"}, {"inputmode", "numeric"},
                          {"aria-label", "Days until the token expires"}}),
              span("days")),
          label(input(attrs{{"type", "radio"}, {"name", "expiry"}, {"value", "never"}, {"id", "token-expiry-never"}}),
                " Never")));

  node create = section(
      attrs{{"class", "card"}, {"aria-labelledby", "create-token-heading"}},
      h2(attrs{{"id", "create-token-heading"}}, "Create a token"),
      form(attrs{{"id", "create-token-form"}},
           field("token-label", "Label",
                 attrs{{"id", "token-label"}, {"name", "label"}, {"autocomplete", "off"}, {"required", ""}}),
           div(attrs{{"class", "admin-field"}}, label(attrs{{"for", "token-role"}}, "Role"),
               select(attrs{{"id", "token-role"}, {"name", "role"}, {"required", ""}},
                      option(attrs{{"value", ""}}, "Loading roles…"))),
           expiry, alert("token-error"), button(attrs{{"type", "submit"}}, "Create token")));

  res.asset("/admin/static/admin.css").asset("/admin/static/admin.js");
  res.page("API tokens",
           root("tokens", fragment(page_top(tab::tokens, "API tokens",
                                            "Tokens let scripts and other programs call the JSON APIs with a role, "
                                            "sent as Authorization: Bearer <token>. Revoking one stops it at once."),
                                   secret,
                                   section(attrs{{"class", "card"}, {"aria-labelledby", "tokens-heading"}},
                                           h2(attrs{{"id", "tokens-heading"}, {"tabindex", "-1"}}, "Tokens"),
                                           data_table("tokens-table", "API tokens",
                                                      {"Label", "Role", "Created by", "Created", "Expires",
                                                       "Last used", "Status", "Actions"})),
                                   create)));
}

void roles_page(trellis::response& res) {
  res.asset("/admin/static/admin.css").asset("/admin/static/admin.js");
  res.page("Roles",
           root("roles",
                fragment(page_top(tab::roles, "Roles",
                                  "What each role may do. Built-in roles come with the host; plugins declare "
                                  "their permissions and the roles that get them. Give users roles on the Users "
                                  "page."),
                         div(attrs{{"id", "roles-list"}, {"class", "grid admin-roles"}},
                             p(attrs{{"class", "muted"}}, "Loading…")),
                         section(attrs{{"class", "card"}, {"aria-labelledby", "permissions-heading"}},
                                 h2(attrs{{"id", "permissions-heading"}}, "Declared permissions"),
                                 data_table("permissions-table", "Declared permissions",
                                            {"Permission", "Declared by", "Description", "Roles with it"})))));
}

void register_asset(trellis::plugin& p, std::string_view name) {
  auto asset = trellis::admin::assets::find(name);
  if (!asset) throw trellis::error("asset " + std::string(name) + " is missing from the build");
  p.add_asset(name, asset->second, asset->first);
}

void setup(trellis::plugin& p) {
  register_asset(p, "admin.js");
  register_asset(p, "admin.css");
  const std::string perm(view_permission);
  // /admin/ has no content of its own: the users page is where one starts.
  p.add_page({.path = "/", .permission = perm}, [](trellis::request&, trellis::response& res) {
    res.status(303).header("Location", "/admin/users").text("See /admin/users\n");
  });
  p.add_page({.path = "/users", .permission = perm, .menu = "Admin", .menu_order = 95},
             [](trellis::request&, trellis::response& res) { users_page(res); });
  p.add_page({.path = "/tokens", .permission = perm},
             [](trellis::request&, trellis::response& res) { tokens_page(res); });
  p.add_page({.path = "/roles", .permission = perm},
             [](trellis::request&, trellis::response& res) { roles_page(res); });
}

}  // namespace

TRELLIS_PLUGIN(R"({
  "id": "admin", "version": "0.1.0", "name": "Administration",
  "description": "Pages to manage users, their roles and API tokens, through the host's admin APIs",
  "contributions": {"pages": ["GET /", "GET /users", "GET /tokens", "GET /roles"]},
  "permissions": {
    "admin.console:view": {"description": "Open the administration pages; each change also needs the host permission for it", "grants": ["admin"]}
  }
})", setup)
