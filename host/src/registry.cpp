#include "trellis/host/registry.hpp"

namespace trellis::host {
namespace {

void destroy(callback_data& cb) {
  if (cb.destroy != nullptr) cb.destroy(cb.user_data);
  cb = {};
}

template <class Map, class Pred>
void erase_if_release(Map& map, Pred pred, void (*release)(typename Map::mapped_type&)) {
  for (auto it = map.begin(); it != map.end();) {
    if (pred(it->second)) {
      release(it->second);
      it = map.erase(it);
    } else {
      ++it;
    }
  }
}

void release_command(command_entry& e) { destroy(e.cb); }
void release_asset(asset_entry&) {}
void release_query(query_entry&) {}
void release_page(page_entry& e) { destroy(e.cb); }
void release_viz(visualization_entry& e) { destroy(e.cb); }
void release_source(data_source_entry& e) {
  callback_data cb{e.desc.user_data, e.desc.destroy};
  destroy(cb);
  e.desc.user_data = nullptr;
  e.desc.destroy = nullptr;
}

template <class Map, class Value = typename Map::mapped_type>
const Value* find_in(const Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

std::string page_key(std::string_view method, std::string_view mounted_path) {
  return std::string(method) + " " + std::string(mounted_path);
}

std::map<contribution_kind, std::vector<std::string>> contribution_set::declared_names() const {
  std::map<contribution_kind, std::vector<std::string>> out;
  for (const auto& [name, e] : commands) out[contribution_kind::command].push_back(name);
  for (const auto& [key, e] : pages) out[contribution_kind::page].push_back(e.method + " " + e.path);
  for (const auto& [name, e] : data_sources) out[contribution_kind::data_source].push_back(name);
  for (const auto& [name, e] : visualizations) out[contribution_kind::visualization].push_back(name);
  for (const auto& [key, e] : queries) out[contribution_kind::query].push_back(e.name);
  return out;
}

void contribution_set::release() {
  auto all = [](const auto&) { return true; };
  erase_if_release(commands, all, &release_command);
  erase_if_release(pages, all, &release_page);
  erase_if_release(data_sources, all, &release_source);
  erase_if_release(visualizations, all, &release_viz);
  erase_if_release(assets, all, &release_asset);
  erase_if_release(queries, all, &release_query);
}

bool contribution_set::empty() const {
  return commands.empty() && pages.empty() && data_sources.empty() && visualizations.empty() && assets.empty() &&
         queries.empty();
}

registry::~registry() { all_.release(); }

const command_entry* registry::find_command(std::string_view name) const {
  return find_in(all_.commands, name);
}
const page_entry* registry::find_page(std::string_view method, std::string_view mounted_path) const {
  return find_in(all_.pages, page_key(method, mounted_path));
}
const data_source_entry* registry::find_data_source(std::string_view name) const {
  return find_in(all_.data_sources, name);
}
const query_entry* registry::find_query(std::string_view key) const { return find_in(all_.queries, key); }
const visualization_entry* registry::find_visualization(std::string_view name) const {
  return find_in(all_.visualizations, name);
}
const asset_entry* registry::find_asset(std::string_view plugin_id, std::string_view path) const {
  return find_in(all_.assets, std::string(plugin_id) + "/" + std::string(path));
}

std::optional<std::string> registry::owner(contribution_kind kind, std::string_view key) const {
  const std::string* id = nullptr;
  switch (kind) {
    case contribution_kind::command:
      if (auto* e = find_in(all_.commands, key)) id = &e->plugin_id;
      break;
    case contribution_kind::page:
      if (auto* e = find_in(all_.pages, key)) id = &e->plugin_id;
      break;
    case contribution_kind::data_source:
      if (auto* e = find_in(all_.data_sources, key)) id = &e->plugin_id;
      break;
    case contribution_kind::visualization:
      if (auto* e = find_in(all_.visualizations, key)) id = &e->plugin_id;
      break;
    case contribution_kind::query:
      if (auto* e = find_in(all_.queries, key)) id = &e->plugin_id;
      break;
  }
  if (id == nullptr) return std::nullopt;
  return *id;
}

void registry::commit(contribution_set&& staged) {
  all_.commands.merge(staged.commands);
  all_.pages.merge(staged.pages);
  all_.data_sources.merge(staged.data_sources);
  all_.visualizations.merge(staged.visualizations);
  all_.assets.merge(staged.assets);
  all_.queries.merge(staged.queries);
  // Keys were checked when staged, so nothing is left behind; if something
  // were, release it rather than leak the plugin's user_data.
  staged.release();
}

void registry::release_plugin(std::string_view plugin_id) {
  auto mine = [&](const auto& e) { return e.plugin_id == plugin_id; };
  erase_if_release(all_.commands, mine, &release_command);
  erase_if_release(all_.pages, mine, &release_page);
  erase_if_release(all_.data_sources, mine, &release_source);
  erase_if_release(all_.visualizations, mine, &release_viz);
  erase_if_release(all_.assets, mine, &release_asset);
  erase_if_release(all_.queries, mine, &release_query);
}

}  // namespace trellis::host
