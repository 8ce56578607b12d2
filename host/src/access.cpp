#include "trellis/host/access.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "trellis/host/config.hpp"
#include "trellis/host/plugin_host.hpp"

namespace trellis::host {

const std::vector<declared_permission>& host_permissions() {
  static const std::vector<declared_permission> list = {
      {"trellis.pages:view", "trellis", "Open plugin pages that name no permission of their own, and plugins' static files",
       {"viewer"}},
      {"trellis.queries:run", "trellis", "Run named queries over HTTP that name no permission of their own", {"viewer"}},
      {"trellis.viz:render", "trellis", "List visualization types and render data with them over HTTP", {"viewer"}},
      {"trellis.sources:read", "trellis", "List the data sources and read their schemas", {"editor"}},
      {"trellis.sql:execute", "trellis", "Run any SQL statement on a data source", {"editor"}},
      {"trellis.alerts:read", "trellis", "Read the alert rules and their states", {"editor"}},
      {"trellis.metrics:read", "trellis", "Read /metrics and the metric history", {}},
      {"trellis.plugins:read", "trellis", "Read the plugin list, manifests and the route table", {}},
      {"trellis.logging:read", "trellis", "Read the log levels", {}},
      {"trellis.logging:write", "trellis", "Change log levels on the running server", {}},
      {"trellis.users:manage", "trellis", "Add, change and disable users", {}},
      {"trellis.tokens:manage", "trellis", "Create, list and revoke API tokens", {}},
      {"trellis.roles:read", "trellis", "Read roles and the permissions they hold", {}},
      {"trellis.audit:read", "trellis", "Read and export the audit log", {}},
  };
  return list;
}

bool valid_permission_name(std::string_view text) {
  const std::size_t dot = text.find('.');
  const std::size_t colon = text.find(':');
  if (dot == std::string_view::npos || colon == std::string_view::npos || dot == 0 || colon < dot + 2 ||
      colon + 1 == text.size() || text.size() > 200) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == ':' ||
           c == '-' || c == '_';
  });
}

access_policy::access_policy(std::vector<declared_permission> declared, const std::vector<role_config>& roles,
                             std::vector<std::string>& warnings)
    : declared_(std::move(declared)) {
  for (const auto& p : declared_) declared_names_.insert(p.name);

  for (std::string_view b : builtin_roles) roles_[std::string(b)] = role_info{std::string(b), {}, true, {}, {}};
  roles_["viewer"].description = "Reads pages, charts and named queries";
  roles_["editor"].description = "Everything a viewer does, and writes SQL and reads sources and alerts";
  roles_["editor"].includes = {"viewer"};
  roles_["admin"].description = "Holds every declared permission";

  std::map<std::string, std::vector<std::string>, std::less<>> own;  // role -> permissions it lists itself
  for (const auto& r : roles) {
    if (roles_.contains(r.name)) throw std::invalid_argument("role '" + r.name + "' is built in and cannot be redefined");
    roles_[r.name] = role_info{r.name, r.description, false, r.includes, {}};
    for (const auto& perm : r.permissions) {
      if (declared_names_.contains(perm)) {
        own[r.name].push_back(perm);
      } else {
        warnings.push_back("role '" + r.name + "' lists permission '" + perm +
                           "', which no loaded plugin declares; the role does not hold it");
      }
    }
  }
  for (const auto& p : declared_) {
    for (const auto& g : p.grants) {
      if (roles_.contains(g)) {
        own[g].push_back(p.name);
      } else {
        warnings.push_back("permission '" + p.name + "' of '" + p.owner + "' is granted to role '" + g +
                           "', which does not exist");
      }
    }
  }
  for (const auto& [name, info] : roles_) {
    for (const auto& inc : info.includes) {
      if (!roles_.contains(inc)) {
        throw std::invalid_argument("role '" + name + "' includes role '" + inc + "', which does not exist");
      }
    }
  }

  // Effective permissions: a role's own, and those of every role it includes,
  // transitively. An include cycle is a configuration error.
  std::map<std::string, int, std::less<>> mark;  // 1 visiting, 2 done
  std::function<void(const std::string&, std::vector<std::string>&)> resolve =
      [&](const std::string& name, std::vector<std::string>& path) {
        if (mark[name] == 2) return;
        if (mark[name] == 1) {
          std::string cycle;
          for (auto it = std::find(path.begin(), path.end(), name); it != path.end(); ++it) cycle += *it + " -> ";
          throw std::invalid_argument("roles include each other in a cycle: " + cycle + name);
        }
        mark[name] = 1;
        path.push_back(name);
        role_info& info = roles_[name];
        for (const auto& inc : info.includes) {
          resolve(inc, path);
          const auto& theirs = roles_[inc].permissions;
          info.permissions.insert(theirs.begin(), theirs.end());
        }
        if (auto it = own.find(name); it != own.end()) info.permissions.insert(it->second.begin(), it->second.end());
        path.pop_back();
        mark[name] = 2;
      };
  for (const auto& [name, info] : roles_) {
    std::vector<std::string> path;
    resolve(name, path);
  }
  roles_["admin"].permissions.insert(declared_names_.begin(), declared_names_.end());
}

access_policy access_policy::from(const plugin_host& plugins, const host_config& config,
                                  std::vector<std::string>& warnings) {
  std::vector<declared_permission> declared = host_permissions();
  for (const auto& rec : plugins.plugins()) {
    if (rec.state != plugin_state::loaded || !rec.info) continue;
    for (const auto& p : rec.info->permissions) declared.push_back({p.name, rec.info->id, p.description, p.grants});
  }
  return access_policy(std::move(declared), config.roles, warnings);
}

bool access_policy::declared(std::string_view permission) const { return declared_names_.contains(permission); }

bool access_policy::role_exists(std::string_view role) const { return roles_.contains(role); }

bool access_policy::role_allows(std::string_view role, std::string_view permission) const {
  auto it = roles_.find(role);
  return it != roles_.end() && it->second.permissions.contains(std::string(permission));
}

bool access_policy::allowed(const principal& who, std::string_view permission) const {
  if (!declared(permission)) return false;
  return std::any_of(who.roles.begin(), who.roles.end(),
                     [&](const std::string& role) { return role_allows(role, permission); });
}

}  // namespace trellis::host
