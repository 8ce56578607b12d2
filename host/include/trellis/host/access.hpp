// Role-based access control: which permissions exist, which roles hold them,
// and whether a principal may do something.
//
// Permissions are "<owner>.<resource>:<action>". The host declares its own
// ("trellis.sql:execute", ...); each plugin declares its own in its manifest,
// with default grants to the built-in roles. Built-in roles: viewer, editor
// (everything viewer has, and more) and admin (every declared permission).
// Deployers add roles in [roles.NAME]. A permission nobody declared is never
// granted, whatever a role lists.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "trellis/host/principal.hpp"

namespace trellis::host {

class plugin_host;
struct host_config;

struct declared_permission {
  std::string name;         ///< "trellis.sql:execute"
  std::string owner;        ///< "trellis" or the declaring plugin's id
  std::string description;
  std::vector<std::string> grants;  ///< roles that hold it by default
};

/// One [roles.NAME] table.
struct role_config {
  std::string name;
  std::string description;
  std::vector<std::string> includes;     ///< roles whose permissions this one also holds
  std::vector<std::string> permissions;  ///< permissions it holds itself
};

inline constexpr std::string_view builtin_roles[] = {"viewer", "editor", "admin"};

/// The permissions the host itself declares (docs/security.md lists them).
const std::vector<declared_permission>& host_permissions();

/// Whether `text` has the shape "<owner>.<resource>:<action>".
bool valid_permission_name(std::string_view text);

struct role_info {
  std::string name;
  std::string description;
  bool built_in = false;
  std::vector<std::string> includes;
  std::set<std::string> permissions;  ///< effective, declared ones only
};

class access_policy {
 public:
  /// Throws std::invalid_argument naming the role for an include cycle or an
  /// included role that does not exist. A role listing a permission nobody
  /// declared gets a warning (the plugin may be disabled), and not the permission.
  access_policy(std::vector<declared_permission> declared, const std::vector<role_config>& roles,
                std::vector<std::string>& warnings);

  /// From the host's permissions, the loaded plugins' manifests and [roles.*].
  static access_policy from(const plugin_host& plugins, const host_config& config, std::vector<std::string>& warnings);

  bool declared(std::string_view permission) const;
  bool role_exists(std::string_view role) const;
  /// Undeclared permission, unknown role, nobody: false.
  bool allowed(const principal& who, std::string_view permission) const;
  bool role_allows(std::string_view role, std::string_view permission) const;

  const std::vector<declared_permission>& permissions() const { return declared_; }
  const std::map<std::string, role_info, std::less<>>& roles() const { return roles_; }

 private:
  std::vector<declared_permission> declared_;
  std::set<std::string, std::less<>> declared_names_;
  std::map<std::string, role_info, std::less<>> roles_;
};

}  // namespace trellis::host
